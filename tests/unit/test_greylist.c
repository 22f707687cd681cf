/*
 * test_greylist: greylisting and the client error limit, with the clock
 * fixed through lib/clock's seam and a real SQLite file: sender
 * normalisation; the store's decisions (new, early, passed, known,
 * retry window, expiry, auto-allow at most one delivery an hour, SPF
 * domains, admin allows, a locked database, cleanup); check_greylist
 * through the policy engine (replies, rows, X-Greylist, allow-lists,
 * the null sender at DATA, failing open); error counts and bans.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_internal.h"
#include "db/greylist.h"
#include "lib/clock.h"
#include "policy/conf.h"
#include "policy/greylist.h"
#include "policy/policy.h"
#include "rows.h"
#include "testutil.h"

#define dir testutil_dir
#define T0 1795000000 /* 2026-11-18 */

static unsigned db_serial;

/* A fresh database file and a store on it. */
static struct gl_store *
new_store(char **path_r)
{
	char *path = testutil_printf("%s/gl%u.db", dir, db_serial++), *err = NULL;
	struct gl_store *store = NULL;

	if (gl_store_open(path, 1000, &store, &err) != 0)
		fail_msg("gl_store_open: %s", err);
	*path_r = path;
	return store;
}

static void
sql(const char *path, const char *stmt)
{
	sqlite3 *db;
	char *err = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, stmt, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", stmt, err);
	sqlite3_close(db);
}

static long long
sql_int(const char *path, const char *query)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, query, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL
		        ? -2
		        : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static const struct gl_params base = {
    .now = T0,
    .delay = 300,
    .retry_window = 2 * 86400,
    .max_age = 35 * 86400,
    .auto_allow = 5,
};

static struct gl_decision
decide_at(struct gl_store *s, const char *client, const char *sender, const char *rcpt,
          int64_t now, bool known_domain)
{
	struct gl_params p = base;
	struct gl_decision d;
	char why[300];

	p.now = now;
	p.known_domain_passes = known_domain;
	if (gl_decide(s, client, sender, rcpt, &p, &d, why, sizeof(why)) != 0)
		fail_msg("gl_decide: %s", why);
	return d;
}

static void
test_normalize_sender(void **state)
{
	static const char *const cases[][2] = {
	    {"User@Example.COM", "user@example.com"},
	    {"prvs=1234abcdef=bob@example.com", "bob@example.com"},
	    {"msprvs1=18123abc=bob@example.com", "bob@example.com"},
	    {"btv1==123abc==bob@example.com", "bob@example.com"},
	    {"SRS0=HHH=TT=orig.example=alice@fwd.example", "alice@orig.example"},
	    {"srs0+hhh=tt=orig.example=alice@fwd.example", "alice@orig.example"},
	    {"SRS1=HHH=fwd1.example==HHH=TT=orig.example=alice@fwd2.example",
	     "alice@orig.example"},
	    {"bounce-12345-67@lists.example", "bounce-#-#@lists.example"},
	    {"list+bounces-99@x.example", "list@x.example"},
	    {"user123@x.example", "user123@x.example"},
	    {"12@x.example", "#@x.example"},
	    {"srs0=broken@fwd.example", "srs0=broken@fwd.example"},
	    {"prvs=@x.example", "prvs=@x.example"},
	    {"", ""},
	    {"nodomain", "nodomain"},
	};
	char out[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
		    greylist_normalize_sender(cases[i][0], out, sizeof(out)),
		    cases[i][1]);
}

static void
test_store_cycle(void **state)
{
	char *path;
	struct gl_store *s = new_store(&path);
	const char *c = "192.0.2.0/24", *from = "a@example.com", *to = "b@example.org";
	struct gl_decision d;

	(void)state;
	d = decide_at(s, c, from, to, T0, false);
	assert_int_equal(d.outcome, GL_NEW);
	assert_int_equal(d.wait, 300);
	assert_int_equal(sql_int(path, "SELECT passed FROM greylist"), -2);
	d = decide_at(s, c, from, to, T0 + 100, false);
	assert_int_equal(d.outcome, GL_EARLY);
	assert_int_equal(d.attempts, 2);
	assert_int_equal(d.wait, 200);
	d = decide_at(s, c, from, to, T0 + 301, false);
	assert_int_equal(d.outcome, GL_PASSED);
	assert_int_equal(d.delayed, 301);
	assert_int_equal(d.attempts, 3);
	assert_int_equal(d.deliveries, 1);
	assert_int_equal(sql_int(path, "SELECT passed FROM greylist"), T0 + 301);
	d = decide_at(s, c, from, to, T0 + 400, false);
	assert_int_equal(d.outcome, GL_KNOWN);
	/* Another recipient is another triplet. */
	assert_int_equal(decide_at(s, c, from, "c@example.org", T0 + 400, false).outcome,
	                 GL_NEW);
	/* Unseen for max_age: it starts over. */
	d = decide_at(s, c, from, to, T0 + 400 + 35 * 86400 + 1, false);
	assert_int_equal(d.outcome, GL_NEW);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM greylist"), 2);
	gl_store_close(s);
	free(path);
}

static void
test_store_retry_window(void **state)
{
	char *path;
	struct gl_store *s = new_store(&path);

	(void)state;
	assert_int_equal(decide_at(s, "n", "a@x", "b@y", T0, false).outcome, GL_NEW);
	/* Past the retry window a pending triplet starts over. */
	struct gl_decision d = decide_at(s, "n", "a@x", "b@y", T0 + 2 * 86400 + 1, false);
	assert_int_equal(d.outcome, GL_NEW);
	assert_int_equal(d.first_seen, T0 + 2 * 86400 + 1);
	assert_int_equal(sql_int(path, "SELECT attempts FROM greylist"), 1);
	gl_store_close(s);
	free(path);
}

static void
test_store_auto_allow(void **state)
{
	char *path;
	struct gl_store *s = new_store(&path);
	const char *net = "198.51.100.0/24";
	int64_t t = T0;
	struct gl_decision d;
	char rcpt[64];

	(void)state;
	/* Five deliveries an hour apart; within an hour only one counts. */
	for (int i = 0; i < 5; i++) {
		snprintf(rcpt, sizeof(rcpt), "r%d@example.org", i);
		assert_int_equal(decide_at(s, net, "a@x", rcpt, t, false).outcome,
		                 GL_NEW);
		d = decide_at(s, net, "a@x", rcpt, t + 300, false);
		assert_int_equal(d.outcome, GL_PASSED);
		assert_int_equal(d.deliveries, (unsigned)i + 1);
		assert_int_equal(d.auto_allowed_now, i == 4);
		/* A second delivery in the same hour is not counted; after
		 * the fifth the client is allowed. */
		d = decide_at(s, net, "a@x", rcpt, t + 400, false);
		assert_int_equal(d.outcome, i < 4 ? GL_KNOWN : GL_ALLOWED);
		assert_int_equal(d.deliveries, (unsigned)i + 1);
		t += 3600;
	}
	d = decide_at(s, net, "new@x", "new@example.org", t, false);
	assert_int_equal(d.outcome, GL_ALLOWED);
	assert_string_equal(d.allowed_by, "auto");
	assert_int_equal(
	    sql_int(path,
	            "SELECT count(*) FROM greylist_clients WHERE allowed_by='auto'"),
	    1);
	/* An auto-allowed client unseen for max_age is greylisted again. */
	d = decide_at(s, net, "new2@x", "new@example.org", t + 36 * 86400, false);
	assert_int_equal(d.outcome, GL_NEW);
	gl_store_close(s);
	free(path);
}

static void
test_store_known_domain_and_admin(void **state)
{
	char *path;
	struct gl_store *s = new_store(&path);

	(void)state;
	assert_int_equal(
	    decide_at(s, "example.com", "a@example.com", "b@y", T0, true).outcome,
	    GL_NEW);
	assert_int_equal(
	    decide_at(s, "example.com", "a@example.com", "b@y", T0 + 300, true).outcome,
	    GL_PASSED);
	/* Another sender and recipient of the same SPF domain: through. */
	assert_int_equal(
	    decide_at(s, "example.com", "z@example.com", "q@y", T0 + 400, true).outcome,
	    GL_DOMAIN_KNOWN);
	/* Without greylist_allow_spf_known it is a triplet like another. */
	assert_int_equal(
	    decide_at(s, "example.com", "z@example.com", "q@y", T0 + 400, false).outcome,
	    GL_NEW);
	/* An admin allow; it does not expire. */
	sql(path, "INSERT INTO greylist_clients (client, deliveries, allowed, allowed_by,"
	          " last_seen) VALUES ('203.0.113.0/24', 0, 1, 'admin', 1)");
	struct gl_decision d = decide_at(s, "203.0.113.0/24", "a@x", "b@y", T0, false);
	assert_int_equal(d.outcome, GL_ALLOWED);
	assert_string_equal(d.allowed_by, "admin");
	/* Keyed by an SPF domain, the client's allowed network still counts. */
	struct gl_params p = base;
	char why[300];
	p.known_domain_passes = true;
	p.network = "203.0.113.0/24";
	assert_int_equal(gl_decide(s, "other.example", "a@other.example", "b@y", &p, &d,
	                           why, sizeof(why)),
	                 0);
	assert_int_equal(d.outcome, GL_ALLOWED);
	assert_true(d.network_allowed);
	p.network = "198.51.100.0/24";
	assert_int_equal(gl_decide(s, "other.example", "a@other.example", "b@y", &p, &d,
	                           why, sizeof(why)),
	                 0);
	assert_int_equal(d.outcome, GL_NEW);
	gl_store_close(s);
	free(path);
}

static void
test_store_locked_and_cleanup(void **state)
{
	char *path;
	struct gl_store *s = new_store(&path);
	struct gl_params p = base;
	struct gl_decision d;
	char why[300];
	sqlite3 *other;

	(void)state;
	decide_at(s, "n", "a@x", "b@y", T0, false);
	decide_at(s, "n", "a@x", "b@y", T0 + 300, false);
	/* Another process holds the write lock. */
	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
	                 SQLITE_OK);
	gl_store_set_timeout(s, 50);
	p.now = T0 + 310;
	/* A known triplet needs no write: still answered. */
	assert_int_equal(gl_decide(s, "n", "a@x", "b@y", &p, &d, why, sizeof(why)), 0);
	assert_int_equal(d.outcome, GL_KNOWN);
	/* A new one cannot be recorded: the caller fails open. */
	assert_int_equal(gl_decide(s, "n", "c@x", "b@y", &p, &d, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "locked"));
	/* A connection the pool adds now takes no lock to open, so it
	 * waits no longer than the store's timeout. */
	sqlite3 *extra = NULL;
	char *err = NULL;
	assert_int_equal(db_open_current(path, 50, &extra, &err), 0);
	sqlite3_close(extra);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	gl_store_set_timeout(s, 1000);

	/* Cleanup: a pending triplet past its window, then everything. */
	decide_at(s, "n", "p@x", "b@y", T0 + 320, false);
	assert_int_equal(
	    gl_cleanup(s, T0 + 3 * 86400, 35 * 86400, 2 * 86400, 1000, why, sizeof(why)),
	    1);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM greylist"), 1);
	assert_int_equal(
	    gl_cleanup(s, T0 + 40 * 86400, 35 * 86400, 2 * 86400, 1000, why, sizeof(why)),
	    2); /* the triplet and its client row */
	assert_int_equal(sql_int(path, "SELECT count(*) FROM greylist"), 0);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM greylist_clients"), 0);
	gl_store_close(s);
	free(path);
}

/* The policy engine with a store. */

struct run {
	struct config *cfg;
	struct facts f;
	struct policy_state st;
	struct rows rows;
	struct policy_services svc;
	struct policy_ctx ctx;
};

static void
run_start(struct run *r, struct gl_store *store, const char *conf, const char *addr,
          const char *name)
{
	char *path = testutil_write_file(dir, "g.conf", conf), *err = NULL;

	memset(r, 0, sizeof(*r));
	r->cfg = config_load(path, &err);
	free(path);
	if (r->cfg == NULL)
		fail_msg("config: %s", err);
	assert_int_equal(ipaddr_parse(addr, &r->f.client_ip), 0);
	snprintf(r->f.client_addr, sizeof(r->f.client_addr), "%s", addr);
	r->f.client_name = name;
	r->svc.store = store;
	r->svc.errors = errlimit_new();
	r->ctx =
	    (struct policy_ctx){r->cfg, &r->f, &r->st, collect, &r->rows, false, &r->svc};
}

static void
run_end(struct run *r)
{
	policy_state_free(&r->st);
	errlimit_free(r->svc.errors);
	config_unref(r->cfg);
}

static void
at(int64_t t)
{
	clock_set_fixed((struct timespec){(time_t)t, 0});
}

/* MAIL FROM then one RCPT per recipient; the last RCPT's verdict. */
static struct verdict
mail(struct run *r, const char *from, const char *const *rcpts)
{
	struct verdict v;

	r->f.sender = from;
	policy_new_message(&r->st);
	policy_stage(&r->ctx, STAGE_MAIL, &v);
	for (; *rcpts != NULL; rcpts++) {
		r->f.rcpt = *rcpts;
		policy_stage(&r->ctx, STAGE_RCPT, &v);
	}
	return v;
}

static const char *
last_row(struct run *r)
{
	return r->rows.n ? r->rows.line[r->rows.n - 1] : "";
}

#define CONF_GL                                                                          \
	"recipient_restrictions = check_greylist\n"                                      \
	"myhostname = mx.example.org\n"                                                  \
	"dkim_verify = no\n"                                                             \
	"greylist_allow_clients = 192.0.2.99 /^relay[0-9]+\\.partner\\.example$$/\n"

static void
test_check_greylist(void **state)
{
	char *path;
	struct gl_store *store = new_store(&path);
	const char *bob[] = {"Bob@Example.org", NULL};
	struct run r;
	struct verdict v;
	char hdr[300];

	(void)state;
	run_start(&r, store, CONF_GL, "192.0.2.10", NULL);
	at(T0);
	v = mail(&r, "alice@example.com", bob);
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_int_equal(v.code, 450);
	assert_string_equal(v.xcode, "4.7.1");
	assert_string_equal(v.text, "<Bob@Example.org>: Recipient address rejected: "
	                            "Greylisted, please try again in 300 seconds");
	assert_non_null(strstr(last_row(&r),
	                       "rcpt check_greylist fail defer new: "
	                       "client=192.0.2.0/24 sender=<alice@example.com> "
	                       "rcpt=<bob@example.org>"));
	at(T0 + 60);
	v = mail(&r, "alice@example.com", bob);
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_non_null(strstr(v.text, "try again in 240 seconds"));
	assert_non_null(strstr(last_row(&r), "fail defer early: "));
	assert_false(greylist_header(&r.ctx, hdr, sizeof(hdr)));
	/* After the delay, from another address of the /24. */
	at(T0 + 330);
	snprintf(r.f.client_addr, sizeof(r.f.client_addr), "192.0.2.77");
	assert_int_equal(ipaddr_parse("192.0.2.77", &r.f.client_ip), 0);
	v = mail(&r, "alice@example.com", bob);
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_non_null(strstr(last_row(&r), "rcpt check_greylist pass dunno passed: "
	                                     "delayed 330s, attempt 3"));
	assert_true(greylist_header(&r.ctx, hdr, sizeof(hdr)));
	assert_string_equal(hdr, "delayed 330 seconds by postern at mx.example.org; "
	                         "Wed, 18 Nov 2026 11:12:10 +0000");
	/* The next message of the triplet: known, no header. */
	v = mail(&r, "alice@example.com", bob);
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_non_null(strstr(last_row(&r), "pass dunno known: "));
	assert_false(greylist_header(&r.ctx, hdr, sizeof(hdr)));
	/* postmaster@ is never greylisted (the default allow-list). */
	const char *pm[] = {"postmaster@example.org", NULL};
	assert_int_equal(mail(&r, "new@example.com", pm).kind, VERDICT_DUNNO);
	assert_non_null(strstr(last_row(&r),
	                       "skip dunno recipient postmaster@example.org "
	                       "is in greylist_allow_recipients"));
	run_end(&r);

	/* Allow-listed clients: an address, and a regexp on the verified name. */
	run_start(&r, store, CONF_GL, "192.0.2.99", NULL);
	assert_int_equal(mail(&r, "x@example.com", bob).kind, VERDICT_DUNNO);
	assert_non_null(strstr(last_row(&r), "skip dunno client 192.0.2.99 is in "
	                                     "greylist_allow_clients"));
	run_end(&r);
	run_start(&r, store, CONF_GL, "203.0.113.5", "RELAY12.partner.example");
	assert_int_equal(mail(&r, "x@example.com", bob).kind, VERDICT_DUNNO);
	assert_non_null(strstr(last_row(&r), "greylist_allow_clients"));
	run_end(&r);
	/* The same name unverified (no client_name) is greylisted. */
	run_start(&r, store, CONF_GL, "203.0.113.5", NULL);
	assert_int_equal(mail(&r, "x@example.com", bob).kind, VERDICT_DEFER);
	run_end(&r);
	/* Internal clients bypass every list. */
	run_start(&r, store, CONF_GL, "127.0.0.1", NULL);
	assert_int_equal(mail(&r, "y@example.com", bob).kind, VERDICT_DUNNO);
	assert_non_null(strstr(r.rows.line[0], "bypass skip"));
	run_end(&r);
	clock_set_fixed((struct timespec){0, 0});
	gl_store_close(store);
	free(path);
}

static void
test_null_sender_at_data(void **state)
{
	char *path;
	struct gl_store *store = new_store(&path);
	const char *two[] = {"a@example.org", "b@example.org", NULL};
	struct run r;
	struct verdict v;

	(void)state;
	run_start(&r, store, CONF_GL, "192.0.2.10", NULL);
	at(T0);
	/* Both recipients get through RCPT (callouts stop there)... */
	r.f.sender = "";
	policy_new_message(&r.st);
	policy_stage(&r.ctx, STAGE_MAIL, &v);
	for (size_t i = 0; i < 2; i++) {
		r.f.rcpt = two[i];
		policy_stage(&r.ctx, STAGE_RCPT, &v);
		assert_int_equal(v.kind, VERDICT_DUNNO);
		assert_non_null(strstr(last_row(&r), "null sender: decided at DATA"));
	}
	/* ... and the message is deferred at DATA. */
	r.f.rcpt = NULL;
	policy_stage(&r.ctx, STAGE_DATA, &v);
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_string_equal(v.xcode, "4.7.1");
	assert_string_equal(v.text, "<DATA>: Data command rejected: Greylisted, please "
	                            "try again in 300 seconds");
	assert_string_equal(v.check, "check_greylist");
	assert_non_null(
	    strstr(last_row(&r), "data check_greylist fail defer null sender: "));
	/* The retry passes. */
	at(T0 + 300);
	mail(&r, "", two);
	r.f.rcpt = NULL;
	policy_stage(&r.ctx, STAGE_DATA, &v);
	assert_int_equal(v.kind, VERDICT_DUNNO);
	run_end(&r);

	/* No store: TEMP and through. */
	run_start(&r, NULL, CONF_GL, "192.0.2.10", NULL);
	v = mail(&r, "z@example.com", two);
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_non_null(strstr(last_row(&r), "check_greylist temp dunno"));
	assert_non_null(strstr(last_row(&r), "fail open"));
	run_end(&r);
	/* warn_if_reject: a row that says what would have happened. */
	run_start(
	    &r, store,
	    "recipient_restrictions = warn_if_reject check_greylist\ndkim_verify = no\n",
	    "192.0.2.10", NULL);
	const char *c[] = {"c@example.org", NULL};
	assert_int_equal(mail(&r, "w@example.com", c).kind, VERDICT_DUNNO);
	assert_non_null(strstr(last_row(&r), "fail warn new: "));
	run_end(&r);
	clock_set_fixed((struct timespec){0, 0});
	gl_store_close(store);
	free(path);
}

static void
test_error_limit(void **state)
{
	char *path;
	struct gl_store *store = new_store(&path);
	struct errlimit *el = errlimit_new();
	struct run r;
	struct verdict v, rej = {.kind = VERDICT_REJECT,
	                         .code = 554,
	                         .xcode = "5.7.1",
	                         .check = "check_client_access",
	                         .stage = STAGE_RCPT};

	(void)state;
	/* Counting: a sliding window; past the limit the count starts over. */
	assert_int_equal(errlimit_count(el, "a", 100, 60, 2), 1);
	assert_int_equal(errlimit_count(el, "a", 110, 60, 2), 2);
	assert_int_equal(errlimit_count(el, "b", 110, 60, 2), 1);
	assert_int_equal(errlimit_count(el, "a", 200, 60, 2), 1); /* window moved */
	assert_int_equal(errlimit_count(el, "a", 201, 60, 2), 2);
	assert_int_equal(errlimit_count(el, "a", 202, 60, 2), 3); /* over: ban */
	assert_int_equal(errlimit_count(el, "a", 203, 60, 2), 1);
	errlimit_free(el);

	run_start(&r, store,
	          "client_restrictions = check_client_error_limit\n"
	          "client_error_limit = 2\nclient_error_window = 1m\n"
	          "client_ban_time = 1h\nerror_sleep_time = 0\ndkim_verify = no\n",
	          "198.51.100.20", NULL);
	at(T0);
	policy_stage(&r.ctx, STAGE_CONNECT, &v);
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_non_null(strstr(last_row(&r), "connect check_client_error_limit pass"));
	/* Greylisting's deferrals do not count. */
	struct verdict grey = rej;
	grey.kind = VERDICT_DEFER;
	grey.check = "check_greylist";
	for (int i = 0; i < 5; i++)
		assert_int_equal(errlimit_note_reply(&r.ctx, &grey), 0);
	/* Nor does our own temporary failure, nor a client-list refusal
	 * that delay_reject repeats at each RCPT of one message. */
	struct verdict temp = rej, rep = rej;
	temp.temp = true;
	rep.repeats = true;
	rep.check = "reject_unknown_client_hostname";
	for (int i = 0; i < 5; i++)
		errlimit_note_reply(&r.ctx, &temp);
	policy_new_message(&r.st);
	for (int i = 0; i < 5; i++)
		errlimit_note_reply(&r.ctx, &rep); /* counts 1 */
	assert_int_equal(sql_int(path, "SELECT count(*) FROM client_bans"), 0);
	policy_new_message(&r.st);
	errlimit_note_reply(&r.ctx, &rep); /* 2: another message */
	assert_int_equal(sql_int(path, "SELECT count(*) FROM client_bans"), 0);
	errlimit_note_reply(&r.ctx, &rej); /* 3: past the limit of 2 */
	assert_non_null(strstr(last_row(&r),
	                       "rcpt check_client_error_limit fail none ban: "
	                       "3 rejections within 60s"));
	assert_int_equal(sql_int(path, "SELECT until FROM client_bans WHERE "
	                               "addr='198.51.100.20'"),
	                 T0 + 3600);
	policy_stage(&r.ctx, STAGE_CONNECT, &v);
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_int_equal(v.code, 421);
	assert_string_equal(v.xcode, "4.7.0");
	assert_string_equal(v.text,
	                    "Too many errors from [198.51.100.20]; try again later");
	assert_non_null(
	    strstr(last_row(&r), "connect check_client_error_limit fail defer"));
	/* The ban ends with client_ban_time. */
	at(T0 + 3601);
	policy_stage(&r.ctx, STAGE_CONNECT, &v);
	assert_int_equal(v.kind, VERDICT_DUNNO);
	run_end(&r);
	/* error_sleep_time is what the reply waits for. */
	run_start(&r, store,
	          "client_restrictions = check_client_error_limit\n"
	          "error_sleep_time = 2s\ndkim_verify = no\n",
	          "198.51.100.21", NULL);
	assert_int_equal(errlimit_note_reply(&r.ctx, &rej), 2);
	run_end(&r);
	/* Without check_client_error_limit nothing is counted or delayed. */
	run_start(&r, store, "dkim_verify = no\n", "198.51.100.21", NULL);
	assert_int_equal(errlimit_note_reply(&r.ctx, &rej), 0);
	run_end(&r);
	clock_set_fixed((struct timespec){0, 0});
	gl_store_close(store);
	free(path);
}

/* Bad values of the new keys: refused with the file, line and key. */
static void
test_config_errors(void **state)
{
	static const char *const cases[][2] = {
	    {"greylist_ipv4_prefix = 33\n",
	     "line 1: greylist_ipv4_prefix: must be at most 32"},
	    {"greylist_ipv6_prefix = 129\n", "greylist_ipv6_prefix: must be at most 128"},
	    {"greylist_delay = 3d\n",
	     "greylist_retry_window: must be longer than greylist_delay"},
	    {"greylist_allow_clients = /a(/\n", "greylist_allow_clients: \"/a(/\": "},
	    {"greylist_allow_recipients = postmaster\n",
	     "greylist_allow_recipients: \"postmaster\" is not local@, @domain or "
	     "local@domain"},
	    {"greylist_allow_clients = /^a$/\n",
	     "greylist_allow_clients: bad $name reference"},
	    {"client_error_limit = 0\n", "client_error_limit: must be at least 1"},
	    {"error_sleep_time = 21s\n", "error_sleep_time: must be at most 20s"},
	    {"greylist_db_timeout = 0\n", "greylist_db_timeout: must be at least 1s"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = testutil_write_file(dir, "bad.conf", cases[i][0]),
		     *err = NULL;
		struct config *cfg = config_load(path, &err);
		if (cfg != NULL)
			fail_msg("accepted: %s", cases[i][0]);
		if (strstr(err, cases[i][1]) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i][0], err,
			         cases[i][1]);
		free(err);
		free(path);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize_sender),
	    cmocka_unit_test(test_store_cycle),
	    cmocka_unit_test(test_store_retry_window),
	    cmocka_unit_test(test_store_auto_allow),
	    cmocka_unit_test(test_store_known_domain_and_admin),
	    cmocka_unit_test(test_store_locked_and_cleanup),
	    cmocka_unit_test(test_check_greylist),
	    cmocka_unit_test(test_null_sender_at_data),
	    cmocka_unit_test(test_error_limit),
	    cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, testutil_dir_setup, testutil_dir_teardown);
}
