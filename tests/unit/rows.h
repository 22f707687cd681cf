/*
 * rows: the check rows a policy run reports, kept as text lines for the
 * unit tests to search: "stage name result action detail" ("-" for no
 * detail). Include it after "policy/policy.h".
 */
#ifndef POSTERN_TEST_ROWS_H
#define POSTERN_TEST_ROWS_H

#include <stdio.h>

#define ROWS_MAX 32

struct rows {
	size_t n;
	char line[ROWS_MAX][700];
};

/* A policy_report_fn: arg is a struct rows. Rows past ROWS_MAX are
 * dropped. */
static __attribute__((unused)) void
collect(void *arg, const struct check_report *r)
{
	struct rows *rows = arg;

	if (rows->n < ROWS_MAX)
		snprintf(rows->line[rows->n++], sizeof(rows->line[0]), "%s %s %s %s %s",
		         stage_name(r->stage), r->name, check_result_name(r->result),
		         r->action, r->detail ? r->detail : "-");
}

#endif
