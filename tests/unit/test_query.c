/*
 * test_query: the admin's read-only queries over the verdict log
 * (db/query.c). The group seeds one database through the real log
 * writer (db_log_*), as the daemon writes it: messages accepted and
 * refused, connections refused at connect and at HELO, a message still
 * in progress (checks rows only), a message whose connection row is
 * missing, a queue id used twice. The tests ask their questions of it
 * and compare the answers, written out as short strings, with tables of
 * expectations; a last test checks that nothing was written.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/query.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "testutil.h"

/* 2026-11-21T10:00:00Z */
#define T0 1795255200
#define DAY 86400

static char *db_path;
static int data_version; /* of the watching connection, before the queries */

/* T0 + ms milliseconds. */
static struct timespec
at(int64_t ms)
{
	struct timespec t = {.tv_sec = T0 + ms / 1000,
	                     .tv_nsec = (long)(ms % 1000) * 1000000};
	return t;
}

/* ---- the seed ---- */

static void
seed_conn(struct db_log *log, int64_t id, int64_t ms, const char *addr, const char *name)
{
	struct db_connection_row r = {.id = id,
	                              .time = at(ms),
	                              .client_addr = addr,
	                              .client_port = 25,
	                              .client_name = name,
	                              .daemon_name = "test",
	                              .ptr_name = name,
	                              .iprev = "pass"};
	db_log_connection(log, &r);
}

static void
seed_check(struct db_log *log, int64_t conn, int64_t msg, int64_t ms, const char *stage,
           const char *name, const char *result, const char *action, double took)
{
	struct db_check_row r = {conn,   msg,    at(ms), stage, name,
	                         result, action, "why",  took};
	db_log_check(log, &r);
}

struct seed_msg {
	int64_t id, conn, ms;
	const char *qid, *sender, *rcpts, *rejected, *action, *reply, *stage, *decided;
};

static const struct seed_msg seed_msgs[] = {
    {1001, 1000, 1000, "Q1", "alice@example.org", "bob@example.test", "", "accept", NULL,
     "eom", NULL},
    {1002, 1000, 2000, "Q2", "spammer@example.com", "", "bob@example.test", "reject",
     "554 5.7.1 nope", "mail", "check_sender_access"},
    {4001, 4000, 31000, NULL, "", "postmaster@example.test", "", "accept", NULL, "eom",
     NULL},
    {7001, 7000, DAY * 1000LL, "Q1", "carol@example.net", "", "dave@example.test",
     "defer", "450 4.7.1 greylisted", "rcpt", "check_greylist"},
};

static void
seed_messages(struct db_log *log)
{
	for (size_t i = 0; i < sizeof(seed_msgs) / sizeof(seed_msgs[0]); i++) {
		const struct seed_msg *m = &seed_msgs[i];
		struct db_message_row r = {.id = m->id,
		                           .conn_id = m->conn,
		                           .time = at(m->ms),
		                           .queue_id = m->qid,
		                           .helo = "helo.example",
		                           .sender = m->sender,
		                           .recipients = m->rcpts,
		                           .rejected_recipients = m->rejected,
		                           .size = 500,
		                           .action = m->action,
		                           .reply = m->reply,
		                           .stage = m->stage,
		                           .ms = 12,
		                           .decided_by = m->decided};
		db_log_message(log, &r);
	}
}

/*
 * 1000: 192.0.2.1, two messages (1001 accepted, 1002 refused at MAIL).
 * 2000: 192.0.2.2, refused at connect.
 * 3000: 2001:db8::3, deferred then rejected at HELO.
 * 4000: 192.0.2.1 again, deferred at HELO, then a message 4001.
 * 5000: 192.0.2.5, passed its connect check and left: no line.
 * 6000: 192.0.2.6, message 6001 in progress: checks rows only.
 * 7000: no connection row; its message 7001 (queue id Q1 again) a day later.
 */
static void
seed_rows(struct db_log *log)
{
	seed_check(log, 1000, 0, 1, "connect", "check_client_access", "pass", "dunno",
	           0.1);
	seed_conn(log, 1000, 2, "192.0.2.1", "mx1.example");
	seed_check(log, 1000, 0, 3, "helo", "check_helo_access", "pass", "dunno", 0.1);
	seed_check(log, 1000, 1001, 1001, "mail", "check_sender_access", "pass", "dunno",
	           0.1);
	seed_check(log, 1000, 1001, 1002, "rcpt", "check_recipient_access", "pass",
	           "dunno", 0.1);
	seed_check(log, 1000, 1001, 1003, "data", "check_spf", "temp", "none", 1.5);
	seed_check(log, 1000, 1002, 2001, "mail", "check_sender_access", "fail", "reject",
	           0.1);
	seed_check(log, 2000, 0, 10000, "connect", "check_client_access", "fail",
	           "reject", 0.2);
	seed_conn(log, 2000, 10001, "192.0.2.2", "unknown");
	seed_conn(log, 3000, 20000, "2001:db8::3", "[2001:db8::3]");
	seed_check(log, 3000, 0, 20100, "helo", "check_helo_access", "fail", "defer",
	           0.1);
	seed_check(log, 3000, 0, 20200, "helo", "check_helo_access", "fail", "reject",
	           0.1);
	seed_conn(log, 4000, 30000, "192.0.2.1", "mx1.example");
	seed_check(log, 4000, 0, 30100, "helo", "check_helo_access", "fail", "defer",
	           0.1);
	seed_check(log, 4000, 4001, 31001, "rcpt", "check_recipient_access", "pass",
	           "dunno", 0.1);
	seed_check(log, 4000, 4001, 31002, "data", "check_spf", "skip", "none", 0.0);
	seed_conn(log, 5000, 40000, "192.0.2.5", "mx5.example");
	seed_check(log, 5000, 0, 40001, "connect", "check_client_access", "pass", "dunno",
	           0.1);
	seed_conn(log, 6000, 50000, "192.0.2.6", "mx6.example");
	seed_check(log, 6000, 6001, 50600, "mail", "check_sender_access", "pass", "dunno",
	           0.1);
	seed_check(log, 7000, 7001, DAY * 1000LL + 500, "rcpt", "check_greylist", "fail",
	           "defer", 2.5);
	seed_messages(log);
}

/* PRAGMA data_version of the watching connection: it changes when
 * another connection commits a change. */
static sqlite3 *watch;

static int
db_data_version(void)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(watch, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
		testutil_fail(__FILE__, __LINE__, "%s: %s", db_path,
		              sqlite3_errmsg(watch));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
group_setup(void **state)
{
	struct db_log *log;
	char *error = NULL;

	testutil_dir_setup(state);
	db_path = testutil_printf("%s/postern.db", testutil_dir);
	if ((log = db_log_start(db_path, NULL, &error)) == NULL)
		testutil_fail(__FILE__, __LINE__, "db_log_start: %s", error);
	seed_rows(log);
	db_log_stop(log);
	if (sqlite3_open(db_path, &watch) != SQLITE_OK)
		testutil_fail(__FILE__, __LINE__, "sqlite3_open %s", db_path);
	return 0;
}

static int
group_teardown(void **state)
{
	sqlite3_close(watch);
	free(db_path);
	return testutil_dir_teardown(state);
}

static struct query *
open_q(void)
{
	struct query *q = NULL;
	char *error = NULL;

	if (query_open(db_path, &q, &error) < 0)
		testutil_fail(__FILE__, __LINE__, "query_open: %s", error);
	return q;
}

/* ---- log ---- */

/* The lines as "1001 1002 c2000 ...": message ids, "c" and the
 * connection id for a connection line. */
static char *
lines_text(const struct query_lines *l)
{
	struct strbuf b = {0};
	char buf[64];

	for (size_t i = 0; i < l->n; i++) {
		snprintf(buf, sizeof(buf), "%s%s%lld", i ? " " : "",
		         l->v[i].msg_id ? "" : "c",
		         (long long)(l->v[i].msg_id ? l->v[i].msg_id : l->v[i].conn_id));
		strbuf_puts(&b, buf);
	}
	return b.s ? b.s : xstrdup("");
}

static void
test_log_filters(void **state)
{
	static const struct {
		struct query_filter f;
		const char *expect;
	} cases[] = {
	    {{0}, "1001 1002 c2000 c3000 4001 7001"},
	    {{.since = "2026-11-21T10:00:02.000Z"}, "1002 c2000 c3000 4001 7001"},
	    /* A connection line is as old as its refusal: 10:00:20.200. */
	    {{.since = "2026-11-21T10:00:20.200Z"}, "c3000 4001 7001"},
	    {{.since = "2026-11-21T10:00:20.201Z"}, "4001 7001"},
	    {{.since = "2026-11-23"}, ""},
	    {{.client = "192.0.2.1"}, "1001 1002 4001"},
	    {{.client = "192.0.2.2"}, "c2000"},
	    {{.client = "192.0.2.5"}, ""},
	    {{.sender = "SPAMMER@Example.COM"}, "1002"},
	    {{.sender = ""}, "4001"},
	    {{.sender = "@example.org"}, "1001"},
	    {{.sender = "@example"}, ""},
	    {{.action = "reject"}, "1002 c2000 c3000"},
	    {{.action = "defer"}, "7001"},
	    {{.action = "accept"}, "1001 4001"},
	    {{.action = "aborted"}, ""},
	    {{.check = "check_helo_access"}, "1001 1002 c3000 4001"},
	    {{.check = "check_client_access"}, "1001 1002 c2000"},
	    {{.check = "check_sender_access"}, "1001 1002"},
	    {{.check = "check_spf"}, "1001 4001"},
	    {{.decided_by = "check_sender_access"}, "1002"},
	    {{.decided_by = "check_helo_access"}, "c3000"},
	    {{.queue_id = "Q1"}, "1001 7001"},
	    {{.limit = 2}, "4001 7001"},
	    {{.client = "192.0.2.1", .limit = 1}, "4001"},
	    {{.action = "reject", .client = "2001:db8::3"}, "c3000"},
	    {{.action = "reject", .sender = "spammer@example.com"}, "1002"},
	    {{.check = "check_helo_access", .action = "reject", .limit = 1}, "c3000"},
	};
	struct query *q = open_q();
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct query_lines l;
		char *error = NULL, *got;

		assert_int_equal(query_log(q, &cases[i].f, &l, &error), 0);
		got = lines_text(&l);
		if (strcmp(got, cases[i].expect) != 0)
			testutil_fail(__FILE__, __LINE__,
			              "case %zu: got \"%s\", want \"%s\"", i, got,
			              cases[i].expect);
		free(got);
		query_lines_free(&l);
	}
	query_close(q);
}

static void
test_log_fields(void **state)
{
	struct query_filter f = {0};
	struct query_lines l;
	struct query *q = open_q();
	char *error = NULL;
	(void)state;

	assert_int_equal(query_log(q, &f, &l, &error), 0);
	assert_int_equal(l.n, 6);
	/* A refused message, with its connection's client. */
	assert_int_equal(l.v[1].conn_id, 1000);
	assert_string_equal(l.v[1].time, "2026-11-21T10:00:02.000Z");
	assert_string_equal(l.v[1].client_addr, "192.0.2.1");
	assert_string_equal(l.v[1].client_name, "mx1.example");
	assert_string_equal(l.v[1].queue_id, "Q2");
	assert_string_equal(l.v[1].sender, "spammer@example.com");
	assert_string_equal(l.v[1].recipients, "");
	assert_string_equal(l.v[1].rejected_recipients, "bob@example.test");
	assert_null(l.v[1].auth);
	assert_string_equal(l.v[1].action, "reject");
	assert_string_equal(l.v[1].reply, "554 5.7.1 nope");
	assert_string_equal(l.v[1].stage, "mail");
	assert_string_equal(l.v[1].decided_by, "check_sender_access");
	assert_int_equal(l.v[1].size, 500);
	assert_int_equal(l.v[1].ms, 12);
	/* A connection refused at HELO: its last refusal. */
	assert_int_equal(l.v[3].msg_id, 0);
	assert_int_equal(l.v[3].conn_id, 3000);
	assert_string_equal(l.v[3].time, "2026-11-21T10:00:20.200Z");
	assert_string_equal(l.v[3].client_addr, "2001:db8::3");
	assert_null(l.v[3].sender);
	assert_null(l.v[3].queue_id);
	assert_null(l.v[3].reply);
	assert_string_equal(l.v[3].action, "reject");
	assert_string_equal(l.v[3].stage, "helo");
	assert_string_equal(l.v[3].decided_by, "check_helo_access");
	assert_int_equal(l.v[3].size, -1);
	assert_int_equal(l.v[3].ms, -1);
	/* A message without a connection row. */
	assert_int_equal(l.v[5].msg_id, 7001);
	assert_null(l.v[5].client_addr);
	assert_string_equal(l.v[5].time, "2026-11-22T10:00:00.000Z");
	query_lines_free(&l);
	query_lines_free(&l); /* harmless */
	query_close(q);
}

/* ---- explain ---- */

/* A story as "KIND conn 1000 [checks a,b] msgs 1001 [c,d]; ...": the
 * connections and messages not logged marked with "?". */
static char *
story_text(const struct query_story *s)
{
	static const char *const kinds[] = {"queue", "message", "connection"};
	struct strbuf b = {0};
	char buf[64];

	strbuf_puts(&b, kinds[s->kind]);
	for (size_t i = 0; i < s->n; i++) {
		const struct query_connection *c = &s->conns[i];

		snprintf(buf, sizeof(buf), "%s conn %lld%s [", i ? ";" : "",
		         (long long)c->id, c->logged ? "" : "?");
		strbuf_puts(&b, buf);
		for (size_t k = 0; k < c->nchecks; k++) {
			strbuf_puts(&b, k ? "," : "");
			strbuf_puts(&b, c->checks[k].stage);
		}
		strbuf_puts(&b, "] msgs");
		for (size_t m = 0; m < c->nmessages; m++) {
			const struct query_message *msg = &c->messages[m];

			snprintf(buf, sizeof(buf), " %lld%s [", (long long)msg->m.msg_id,
			         msg->logged ? "" : "?");
			strbuf_puts(&b, buf);
			for (size_t k = 0; k < msg->nchecks; k++) {
				strbuf_puts(&b, k ? "," : "");
				strbuf_puts(&b, msg->checks[k].name);
			}
			strbuf_puts(&b, "]");
		}
	}
	return b.s;
}

static void
test_explain(void **state)
{
	static const struct {
		const char *id;
		int rc;
		const char *expect;
	} cases[] = {
	    {"Q1", 0,
	     "queue conn 1000 [connect,helo] msgs 1001 [check_sender_access,"
	     "check_recipient_access,check_spf]; conn 7000? [] msgs 7001 "
	     "[check_greylist]"},
	    {"Q2", 0, "queue conn 1000 [connect,helo] msgs 1002 [check_sender_access]"},
	    {"1002", 0,
	     "message conn 1000 [connect,helo] msgs 1002 [check_sender_access]"},
	    {"1000", 0,
	     "connection conn 1000 [connect,helo] msgs 1001 [check_sender_access,"
	     "check_recipient_access,check_spf] 1002 [check_sender_access]"},
	    {"3000", 0, "connection conn 3000 [helo,helo] msgs"},
	    {"4001", 0,
	     "message conn 4000 [helo] msgs 4001 [check_recipient_access,check_spf]"},
	    {"6001", 0, "message conn 6000 [] msgs 6001? [check_sender_access]"},
	    {"6000", 0, "connection conn 6000 [] msgs 6001? [check_sender_access]"},
	    {"7000", 0, "connection conn 7000? [] msgs 7001 [check_greylist]"},
	    {"nope", 1, NULL},
	    {"999", 1, NULL},
	    {"-1000", 1, NULL},
	    {"99999999999999999999", 1, NULL},
	};
	struct query *q = open_q();
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct query_story s;
		char *error = NULL, *got;
		int rc = query_explain(q, cases[i].id, &s, &error);

		if (rc != cases[i].rc)
			testutil_fail(__FILE__, __LINE__, "%s: returned %d", cases[i].id,
			              rc);
		if (rc == 0) {
			got = story_text(&s);
			if (strcmp(got, cases[i].expect) != 0)
				testutil_fail(__FILE__, __LINE__,
				              "%s: got \"%s\", want \"%s\"", cases[i].id,
				              got, cases[i].expect);
			free(got);
		}
		query_story_free(&s);
	}
	query_close(q);
}

static void
test_explain_fields(void **state)
{
	struct query_story s;
	struct query *q = open_q();
	char *error = NULL;
	(void)state;

	assert_int_equal(query_explain(q, "Q2", &s, &error), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.conns[0].time, "2026-11-21T10:00:00.002Z");
	assert_string_equal(s.conns[0].client_addr, "192.0.2.1");
	assert_int_equal(s.conns[0].client_port, 25);
	assert_string_equal(s.conns[0].ptr_name, "mx1.example");
	assert_string_equal(s.conns[0].iprev, "pass");
	assert_string_equal(s.conns[0].daemon_name, "test");
	assert_null(s.conns[0].bypass);
	assert_string_equal(s.conns[0].helo, "helo.example");
	/* The connect check came before the connection row: time order. */
	assert_string_equal(s.conns[0].checks[0].time, "2026-11-21T10:00:00.001Z");
	assert_int_equal(s.conns[0].checks[0].msg_id, 0);
	assert_string_equal(s.conns[0].messages[0].m.decided_by, "check_sender_access");
	assert_string_equal(s.conns[0].messages[0].checks[0].result, "fail");
	assert_string_equal(s.conns[0].messages[0].checks[0].action, "reject");
	assert_string_equal(s.conns[0].messages[0].checks[0].detail, "why");
	assert_true(s.conns[0].messages[0].checks[0].ms > 0.09);
	query_story_free(&s);
	query_close(q);
}

/* ---- stats ---- */

/* The rows as "key=a/b/c ..." with the fields that by counts. */
static char *
stats_text(enum query_by by, const struct query_stats *st)
{
	struct strbuf b = {0};
	char buf[160];

	for (size_t i = 0; i < st->n; i++) {
		const struct query_stat *s = &st->v[i];
		const char *key = s->key ? s->key : "-";

		if (by == QUERY_BY_ACTION)
			snprintf(buf, sizeof(buf), "%s=%llu", key,
			         (unsigned long long)s->lines);
		else if (by == QUERY_BY_CHECK)
			snprintf(
			    buf, sizeof(buf),
			    "%s=%llu/%llu/%llu/%llu/%llu/%llu/%llu/%llu/%llu/%.1f", key,
			    (unsigned long long)s->runs, (unsigned long long)s->pass,
			    (unsigned long long)s->fail, (unsigned long long)s->temp,
			    (unsigned long long)s->skip, (unsigned long long)s->rejects,
			    (unsigned long long)s->defers, (unsigned long long)s->warns,
			    (unsigned long long)s->decided, s->ms);
		else
			snprintf(
			    buf, sizeof(buf), "%s=%llu/%llu/%llu/%llu/%llu/%llu", key,
			    (unsigned long long)s->lines, (unsigned long long)s->accept,
			    (unsigned long long)s->reject, (unsigned long long)s->defer,
			    (unsigned long long)s->aborted,
			    (unsigned long long)s->connections);
		strbuf_puts(&b, i ? " " : "");
		strbuf_puts(&b, buf);
	}
	return b.s ? b.s : xstrdup("");
}

static void
test_stats(void **state)
{
	static const struct {
		enum query_by by;
		const char *since;
		unsigned limit;
		const char *expect;
	} cases[] = {
	    {QUERY_BY_ACTION, NULL, 0, "reject=3 accept=2 defer=1"},
	    {QUERY_BY_ACTION, "2026-11-21T12:00:00.000Z", 0, "defer=1"},
	    {QUERY_BY_ACTION, "2026-11-23", 0, ""},
	    {QUERY_BY_ACTION, NULL, 1, "reject=3"},
	    /* By client: lines, accept, reject, defer, aborted, connections;
	     * the line without a connection row has no client. */
	    {QUERY_BY_CLIENT, NULL, 0,
	     "192.0.2.1=3/2/1/0/0/2 -=1/0/0/1/0/0 192.0.2.2=1/0/1/0/0/1 "
	     "2001:db8::3=1/0/1/0/0/1"},
	    {QUERY_BY_CLIENT, NULL, 1, "192.0.2.1=3/2/1/0/0/2"},
	    {QUERY_BY_CLIENT, "2026-11-21T10:00:30.000Z", 0,
	     "-=1/0/0/1/0/0 192.0.2.1=1/1/0/0/0/1"},
	    /* By hour, oldest first; with a limit, the newest hours. */
	    {QUERY_BY_HOUR, NULL, 0,
	     "2026-11-21T10=5/2/3/0/0/0 2026-11-22T10=1/0/0/1/0/0"},
	    {QUERY_BY_HOUR, NULL, 1, "2026-11-22T10=1/0/0/1/0/0"},
	    /* By check: runs, pass, fail, temp, skip, rejects, defers, warns,
	     * decided, ms; the most refusals first. */
	    {QUERY_BY_CHECK, NULL, 0,
	     "check_helo_access=4/1/3/0/0/1/2/0/1/0.4 "
	     "check_client_access=3/2/1/0/0/1/0/0/1/0.4 "
	     "check_sender_access=3/2/1/0/0/1/0/0/1/0.3 "
	     "check_greylist=1/0/1/0/0/0/1/0/1/2.5 "
	     "check_recipient_access=2/2/0/0/0/0/0/0/0/0.2 "
	     "check_spf=2/0/0/1/1/0/0/0/0/1.5"},
	    {QUERY_BY_CHECK, "2026-11-21T10:00:20.000Z", 2,
	     "check_helo_access=3/0/3/0/0/1/2/0/1/0.3 "
	     "check_greylist=1/0/1/0/0/0/1/0/1/2.5"},
	};
	struct query *q = open_q();
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct query_stats st;
		char *error = NULL, *got;

		assert_int_equal(query_stats(q, cases[i].by, cases[i].since,
		                             cases[i].limit, &st, &error),
		                 0);
		got = stats_text(cases[i].by, &st);
		if (strcmp(got, cases[i].expect) != 0)
			testutil_fail(__FILE__, __LINE__,
			              "case %zu: got \"%s\", want \"%s\"", i, got,
			              cases[i].expect);
		free(got);
		query_stats_free(&st);
	}
	query_close(q);
}

/* ---- errors, and nothing written ---- */

static void
test_open_error(void **state)
{
	struct query *q = NULL;
	char *error = NULL, *path = testutil_printf("%s/no/such/dir/x.db", testutil_dir);
	(void)state;

	assert_int_equal(query_open(path, &q, &error), -1);
	assert_null(q);
	assert_non_null(strstr(error, path));
	free(error);
	free(path);
	query_close(NULL);
}

/* A database whose tables are gone: every query fails with a reason
 * and leaves nothing to free. */
static void
test_query_errors(void **state)
{
	char *path = testutil_printf("%s/broken.db", testutil_dir), *error = NULL;
	struct query_filter f = {0};
	struct query_lines l;
	struct query_story s;
	struct query_stats st;
	struct query *q;
	sqlite3 *db;
	(void)state;

	if (query_open(path, &q, &error) < 0)
		testutil_fail(__FILE__, __LINE__, "query_open: %s", error);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE checks", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(query_log(q, &f, &l, &error), -1);
	assert_non_null(strstr(error, "no such table"));
	assert_null(l.arena);
	free(error);
	/* An id that is no queue id is looked for in checks. */
	assert_int_equal(query_explain(q, "123", &s, &error), -1);
	assert_null(s.arena);
	free(error);
	assert_int_equal(query_stats(q, QUERY_BY_CHECK, NULL, 0, &st, &error), -1);
	assert_null(st.arena);
	free(error);
	query_close(q);
	free(path);
}

/* Runs last: no query of this group wrote to the database. */
static void
test_nothing_written(void **state)
{
	(void)state;
	assert_int_equal(db_data_version(), data_version);
}

static int
note_version(void **state)
{
	(void)state;
	data_version = db_data_version();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_log_filters, note_version),
	    cmocka_unit_test(test_log_fields),
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test(test_explain_fields),
	    cmocka_unit_test(test_stats),
	    cmocka_unit_test(test_open_error),
	    cmocka_unit_test(test_nothing_written),
	    cmocka_unit_test(test_query_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
