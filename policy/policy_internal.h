/*
 * policy_internal: what the restriction functions of policy/ share with
 * the engine in policy.c. Not for the milter adapter.
 */
#ifndef POSTERN_POLICY_INTERNAL_H
#define POSTERN_POLICY_INTERNAL_H

#include "policy/policy.h"
#include "policy/reply.h"

struct dns_batch;

/* What a restriction function gets and fills. */
struct eval {
	struct policy_ctx *ctx;
	const struct restriction *r;
	enum rlist list;
	enum stage stage;
	struct verdict *v;
	int warn;      /* the check asked to warn (access map WARN) */
	bool quiet;    /* an answer given before in this message: no new row
	                * unless it refuses */
	double dns_ms; /* DNS time behind the answer, when prefetched */
	char detail[1400];
};

typedef enum check_result restriction_fn(struct eval *e);

/* Queue the lookups a restriction will need, into the stage's batch. */
typedef void prefetch_fn(struct policy_ctx *ctx, const struct restriction *r,
                         struct dns_batch *b);

enum arg_kind {
	ARG_NONE,
	ARG_MAP,  /* check_*_access TYPE:/path */
	ARG_SITE, /* reject_rbl_client domain[=filter] */
};

struct restriction_def {
	const char *name;
	enum arg_kind arg;
	restriction_fn *fn;
	int what;              /* access checks: enum access_what */
	enum stage object;     /* the stage whose facts it looks at */
	prefetch_fn *prefetch; /* may be NULL */
};

/* The object of each list, for reply texts. */
extern const enum reply_object policy_list_object[RL__COUNT];

/* Append to e->detail ("; " between parts). */
void eval_detail(struct eval *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Report a check row of its own (a check that made two evaluations). */
void policy_report_row(struct policy_ctx *ctx, enum stage stage, const char *name,
                       enum check_result result, const char *action, const char *detail,
                       double ms);

/* policy/spfcheck.c */
restriction_fn r_check_spf;

/* policy/greylist.c, policy/errlimit.c */
restriction_fn r_check_greylist, r_client_error_limit;

/* policy/envelope.c: syntax checks (no DNS). */
restriction_fn r_invalid_helo, r_non_fqdn_helo, r_helo_is_us, r_non_fqdn_sender,
    r_non_fqdn_recipient, r_multi_recipient_bounce;

/* policy/dnscheck.c: DNS checks. */
restriction_fn r_unknown_reverse_client, r_unknown_client, r_rbl_client, r_dnswl_client,
    r_rhsbl_client, r_rhsbl_reverse_client, r_dnsbl_score, r_unknown_helo, r_rhsbl_helo,
    r_unknown_sender_domain, r_unknown_recipient_domain, r_rhsbl_sender,
    r_rhsbl_recipient;
/* p_host: A, AAAA and MX of the HELO name or of a mail domain. */
prefetch_fn p_client_names, p_client_list, p_dnsbl_score, p_host, p_rhsbl;

#endif
