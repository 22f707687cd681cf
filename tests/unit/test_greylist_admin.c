/*
 * test_greylist_admin: the admin's queries over the greylist and
 * client-ban tables (db/greylist_admin.c). Each test gets a fresh
 * database in a scratch directory, seeds it with plain SQL through a
 * second SQLite connection, as the daemon would have written it, calls
 * the admin functions, and reads the rows back through that connection.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "db/greylist_admin.h"
#include "lib/xalloc.h"
#include "testutil.h"

/* 2026-11-21T10:00:00Z */
#define NOW 1795255200
#define DAY 86400

struct fixture {
	char *dir;
	char *path;
	struct gl_admin *ga; /* the module under test */
	sqlite3 *db;         /* the seeding and checking connection */
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *error = NULL;

	f->dir = testutil_mkdtemp();
	f->path = testutil_printf("%s/postern.db", f->dir);
	if (gl_admin_open(f->path, &f->ga, &error) < 0)
		testutil_fail(__FILE__, __LINE__, "gl_admin_open: %s", error);
	if (sqlite3_open(f->path, &f->db) != SQLITE_OK)
		testutil_fail(__FILE__, __LINE__, "sqlite3_open %s", f->path);
	sqlite3_busy_timeout(f->db, 5000);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	gl_admin_close(f->ga);
	sqlite3_close(f->db);
	testutil_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static void
exec_sql(struct fixture *f, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(f->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		testutil_fail(__FILE__, __LINE__, "%s: %s", sql, msg);
}

/* The rows of a query as "a|b|c" lines joined by "\n" (NULL as "-"). */
static char *
query(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st;
	char *out = xstrdup(""), *next;
	int rc;

	if (sqlite3_prepare_v2(f->db, sql, -1, &st, NULL) != SQLITE_OK)
		testutil_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(f->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			next = xasprintf("%s%s%s", out, i ? "|" : (*out ? "\n" : ""),
			                 t ? (const char *)t : "-");
			free(out);
			out = next;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		testutil_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(f->db));
	return out;
}

#define assert_query(f, sql, expected)                                                   \
	do {                                                                             \
		char *got_ = query((f), (sql));                                          \
		assert_string_equal(got_, (expected));                                   \
		free(got_);                                                              \
	} while (0)

/* Three triplets of 192.0.2.0/24 (two pending, one passed), one of an
 * SPF domain (passed, the null sender), one of an IPv6 network. */
static const char seed_triplets[] =
    "INSERT INTO greylist VALUES"
    " ('192.0.2.0/24', 'alice@example.org', 'bob@example.test',"
    "  1795255200 - 600, 1795255200 - 600, NULL, 1),"
    " ('192.0.2.0/24', 'alice@example.org', 'carol@example.test',"
    "  1795255200 - 900, 1795255200 - 100, NULL, 3),"
    " ('192.0.2.0/24', 'dave@example.org', 'bob@example.test',"
    "  1795255200 - 7200, 1795255200 - 6000, 1795255200 - 6000, 2),"
    " ('example.com', '', 'bob@example.test',"
    "  1795255200 - 86400, 1795255200 - 50, 1795255200 - 80000, 7),"
    " ('2001:db8:1:2::/64', 'eve@example.net', 'bob@example.test',"
    "  1795255200 - 300, 1795255200 - 300, NULL, 1);";

/* Clients: auto-allowed, admin-allowed, counting but not allowed. */
static const char seed_clients[] =
    "INSERT INTO greylist_clients VALUES"
    " ('192.0.2.0/24', 6, 1795255200 - 3600, 1795255200 - 7200, 'auto',"
    "  1795255200 - 100),"
    " ('example.com', 0, NULL, 1795255200 - 86400, 'admin', 1795255200 - 86400),"
    " ('198.51.100.0/24', 2, 1795255200 - 4000, NULL, NULL, 1795255200 - 4000);";

/* ---- list ---- */

static void
test_list(void **state)
{
	static const struct {
		enum gl_admin_state st;
		const char *client;
		unsigned limit;
		const char *expect; /* "client sender rcpt," in order */
	} cases[] = {
	    {GL_ADMIN_ANY, NULL, 0,
	     "example.com  bob@example.test,"
	     "192.0.2.0/24 alice@example.org carol@example.test,"
	     "2001:db8:1:2::/64 eve@example.net bob@example.test,"
	     "192.0.2.0/24 alice@example.org bob@example.test,"
	     "192.0.2.0/24 dave@example.org bob@example.test,"},
	    {GL_ADMIN_PENDING, NULL, 0,
	     "192.0.2.0/24 alice@example.org carol@example.test,"
	     "2001:db8:1:2::/64 eve@example.net bob@example.test,"
	     "192.0.2.0/24 alice@example.org bob@example.test,"},
	    {GL_ADMIN_PASSED, NULL, 0,
	     "example.com  bob@example.test,"
	     "192.0.2.0/24 dave@example.org bob@example.test,"},
	    {GL_ADMIN_ANY, "192.0.2.0/24", 0,
	     "192.0.2.0/24 alice@example.org carol@example.test,"
	     "192.0.2.0/24 alice@example.org bob@example.test,"
	     "192.0.2.0/24 dave@example.org bob@example.test,"},
	    {GL_ADMIN_PENDING, "192.0.2.0/24", 1,
	     "192.0.2.0/24 alice@example.org carol@example.test,"},
	    {GL_ADMIN_ANY, NULL, 2,
	     "example.com  bob@example.test,"
	     "192.0.2.0/24 alice@example.org carol@example.test,"},
	    {GL_ADMIN_ANY, "203.0.113.0/24", 0, ""},
	};
	struct fixture *f = *state;

	exec_sql(f, seed_triplets);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gl_admin_filter flt = {cases[i].st, cases[i].client,
		                              cases[i].limit};
		struct gl_admin_triplet *rows = NULL;
		size_t n = 99;
		char *error = NULL, *got = xstrdup(""), *next;

		assert_int_equal(gl_admin_list(f->ga, &flt, &rows, &n, &error), 0);
		for (size_t k = 0; k < n; k++) {
			next = xasprintf("%s%s %s %s,", got, rows[k].client,
			                 rows[k].sender, rows[k].rcpt);
			free(got);
			got = next;
		}
		assert_string_equal(got, cases[i].expect);
		free(got);
		gl_admin_triplets_free(rows, n);
	}
}

static void
test_list_fields(void **state)
{
	struct fixture *f = *state;
	struct gl_admin_filter flt = {GL_ADMIN_ANY, "example.com", 0};
	struct gl_admin_triplet *rows = NULL;
	size_t n = 0;
	char *error = NULL;

	exec_sql(f, seed_triplets);
	assert_int_equal(gl_admin_list(f->ga, &flt, &rows, &n, &error), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].sender, "");
	assert_int_equal(rows[0].first_seen, NOW - DAY);
	assert_int_equal(rows[0].last_seen, NOW - 50);
	assert_int_equal(rows[0].passed, NOW - 80000);
	assert_int_equal(rows[0].attempts, 7);
	gl_admin_triplets_free(rows, n);

	flt.client = "2001:db8:1:2::/64";
	assert_int_equal(gl_admin_list(f->ga, &flt, &rows, &n, &error), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].passed, 0); /* pending */
	gl_admin_triplets_free(rows, n);
}

static void
test_list_allowed(void **state)
{
	struct fixture *f = *state;
	struct gl_admin_filter flt = {0};
	struct gl_admin_client *rows = NULL;
	size_t n = 0;
	char *error = NULL;

	exec_sql(f, seed_clients);
	assert_int_equal(gl_admin_list_allowed(f->ga, &flt, &rows, &n, &error), 0);
	assert_int_equal(n, 2); /* not 198.51.100.0/24, which is not allowed */
	assert_string_equal(rows[0].client, "192.0.2.0/24");
	assert_string_equal(rows[0].allowed_by, "auto");
	assert_int_equal(rows[0].deliveries, 6);
	assert_int_equal(rows[0].allowed, NOW - 7200);
	assert_int_equal(rows[0].last_seen, NOW - 100);
	assert_string_equal(rows[1].client, "example.com");
	assert_string_equal(rows[1].allowed_by, "admin");
	gl_admin_clients_free(rows, n);

	flt.client = "example.com";
	assert_int_equal(gl_admin_list_allowed(f->ga, &flt, &rows, &n, &error), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].client, "example.com");
	gl_admin_clients_free(rows, n);

	flt.client = NULL;
	flt.limit = 1;
	assert_int_equal(gl_admin_list_allowed(f->ga, &flt, &rows, &n, &error), 0);
	assert_int_equal(n, 1);
	gl_admin_clients_free(rows, n);
}

/* ---- allow ---- */

static void
test_allow(void **state)
{
	static const char q[] =
	    "SELECT client, deliveries, allowed, allowed_by, last_seen"
	    " FROM greylist_clients ORDER BY client";
	struct fixture *f = *state;
	char was[GL_ADMIN_BY_LEN], *error = NULL;

	exec_sql(f, seed_clients);
	/* a new client: a row of its own */
	assert_int_equal(gl_admin_allow(f->ga, "203.0.113.0/24", NOW, was, &error), 0);
	assert_string_equal(was, "");
	/* a counting client: keeps its deliveries and last_seen */
	assert_int_equal(gl_admin_allow(f->ga, "198.51.100.0/24", NOW, was, &error), 0);
	assert_string_equal(was, "");
	/* an auto-allowed client: the admin takes over */
	assert_int_equal(gl_admin_allow(f->ga, "192.0.2.0/24", NOW, was, &error), 0);
	assert_string_equal(was, "auto");
	/* an admin-allowed one: unchanged, with its first time */
	assert_int_equal(gl_admin_allow(f->ga, "example.com", NOW, was, &error), 0);
	assert_string_equal(was, "admin");
	assert_query(f, q,
	             "192.0.2.0/24|6|1795255200|admin|1795255100\n"
	             "198.51.100.0/24|2|1795255200|admin|1795251200\n"
	             "203.0.113.0/24|0|1795255200|admin|1795255200\n"
	             "example.com|0|1795168800|admin|1795168800");
	/* was_r may be NULL */
	assert_int_equal(gl_admin_allow(f->ga, "example.net", NOW, NULL, &error), 0);
	assert_query(
	    f, "SELECT count(*) FROM greylist_clients WHERE allowed_by = 'admin'", "5");
}

/* ---- remove ---- */

static void
test_remove(void **state)
{
	static const struct {
		const char *client, *sender, *rcpt;
		int rc;
		size_t triplets, clients;
		const char *left; /* the triplets left, "client sender rcpt" */
	} cases[] = {
	    /* only the triplets of a sender: the client row stays */
	    {"192.0.2.0/24", "alice@example.org", NULL, 0, 2, 0,
	     "192.0.2.0/24|dave@example.org|bob@example.test\n"
	     "2001:db8:1:2::/64|eve@example.net|bob@example.test\n"
	     "example.com||bob@example.test"},
	    {"192.0.2.0/24", "alice@example.org", NULL, 1, 0, 0, NULL},
	    /* the null sender and a recipient */
	    {"example.com", "", "carol@example.test", 1, 0, 0, NULL},
	    {"example.com", "", "bob@example.test", 0, 1, 0,
	     "192.0.2.0/24|dave@example.org|bob@example.test\n"
	     "2001:db8:1:2::/64|eve@example.net|bob@example.test"},
	    /* a whole client: its triplets and its row */
	    {"192.0.2.0/24", NULL, NULL, 0, 1, 1,
	     "2001:db8:1:2::/64|eve@example.net|bob@example.test"},
	    /* a client with a row and no triplets; an admin's allow goes too */
	    {"example.com", NULL, NULL, 0, 0, 1, NULL},
	    /* nothing */
	    {"203.0.113.0/24", NULL, NULL, 1, 0, 0, NULL},
	    {"2001:db8:1:2::/64", NULL, "nobody@example.test", 1, 0, 0, NULL},
	};
	struct fixture *f = *state;

	exec_sql(f, seed_triplets);
	exec_sql(f, seed_clients);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gl_admin_counts n = {99, 99};
		char *error = NULL;

		assert_int_equal(gl_admin_remove(f->ga, cases[i].client, cases[i].sender,
		                                 cases[i].rcpt, &n, &error),
		                 cases[i].rc);
		assert_int_equal(n.triplets, cases[i].triplets);
		assert_int_equal(n.clients, cases[i].clients);
		if (cases[i].left != NULL)
			assert_query(f,
			             "SELECT client, sender, rcpt FROM greylist"
			             " ORDER BY client, sender, rcpt",
			             cases[i].left);
	}
	assert_query(f, "SELECT client FROM greylist_clients", "198.51.100.0/24");
}

/* ---- purge ---- */

static void
test_purge(void **state)
{
	struct fixture *f = *state;
	struct gl_admin_counts n;
	char *error = NULL;

	exec_sql(f, seed_triplets);
	exec_sql(f, seed_clients);
	/* older than one hour: dave's triplet; the counting 198.51.100.0/24
	 * row; not example.com's row, which an admin allowed */
	assert_int_equal(gl_admin_purge(f->ga, NOW, 3600, &n, &error), 0);
	assert_int_equal(n.triplets, 1);
	assert_int_equal(n.clients, 1);
	assert_query(f, "SELECT count(*) FROM greylist WHERE sender = 'dave@example.org'",
	             "0");
	assert_query(f, "SELECT client FROM greylist_clients ORDER BY client",
	             "192.0.2.0/24\nexample.com");
	/* again: nothing left that old */
	assert_int_equal(gl_admin_purge(f->ga, NOW, 3600, &n, &error), 0);
	assert_int_equal(n.triplets, 0);
	assert_int_equal(n.clients, 0);
	/* older than 0 s: everything but the admin's row */
	assert_int_equal(gl_admin_purge(f->ga, NOW, 0, &n, &error), 0);
	assert_int_equal(n.triplets, 4);
	assert_int_equal(n.clients, 1);
	assert_query(f, "SELECT client FROM greylist_clients", "example.com");
}

static void
test_purge_chunks(void **state)
{
	struct fixture *f = *state;
	struct gl_admin_counts n;
	char *error = NULL;
	size_t old = 2 * GL_ADMIN_PURGE_CHUNK + 17;
	char *sql = testutil_printf(
	    "WITH RECURSIVE i(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM i WHERE k < "
	    "%zu)"
	    " INSERT INTO greylist SELECT '192.0.2.0/24', 's' || k || '@example.org',"
	    " 'r@example.test', %d, %d + (k %% 2) * %d, NULL, 1 FROM i",
	    2 * old, NOW - 10 * DAY, NOW - 10 * DAY, 9 * DAY);

	/* every second row was last seen 10 days ago, the others 1 day ago */
	exec_sql(f, sql);
	free(sql);
	assert_int_equal(gl_admin_purge(f->ga, NOW, 5 * DAY, &n, &error), 0);
	assert_int_equal(n.triplets, old);
	assert_int_equal(n.clients, 0);
	sql = testutil_printf("%zu", old);
	assert_query(f, "SELECT count(*) FROM greylist", sql);
	free(sql);
}

/* ---- stats ---- */

static void
test_stats(void **state)
{
	struct fixture *f = *state;
	struct gl_admin_stats s;
	char *error = NULL;

	assert_int_equal(gl_admin_stats(f->ga, NOW, &s, &error), 0);
	assert_int_equal(s.triplets, 0);
	assert_int_equal(s.oldest, 0);
	assert_int_equal(s.active_bans, 0);

	exec_sql(f, seed_triplets);
	exec_sql(f, seed_clients);
	exec_sql(f, "INSERT INTO client_bans VALUES"
	            " ('192.0.2.7', 1795255200 - 60, 1795255200 + 3540, 11, 'r'),"
	            " ('192.0.2.8', 1795255200 - 7200, 1795255200 - 3600, 11, 'r');");
	assert_int_equal(gl_admin_stats(f->ga, NOW, &s, &error), 0);
	assert_int_equal(s.triplets, 5);
	assert_int_equal(s.pending, 3);
	assert_int_equal(s.passed, 2);
	assert_int_equal(s.oldest, NOW - DAY);
	assert_int_equal(s.clients, 3);
	assert_int_equal(s.auto_allowed, 1);
	assert_int_equal(s.admin_allowed, 1);
	assert_int_equal(s.active_bans, 1);
	/* an hour later, no ban is active */
	assert_int_equal(gl_admin_stats(f->ga, NOW + 3600, &s, &error), 0);
	assert_int_equal(s.active_bans, 0);
}

/* ---- bans ---- */

static const char seed_bans[] =
    "INSERT INTO client_bans VALUES"
    " ('192.0.2.7', 1795255200 - 60, 1795255200 + 3540, 11, 'too many errors'),"
    " ('2001:db8::7', 1795255200 - 30, 1795255200 + 3570, 12, NULL),"
    " ('192.0.2.8', 1795255200 - 7200, 1795255200 - 3600, 11, 'old');";

static void
test_bans(void **state)
{
	struct fixture *f = *state;
	struct gl_admin_ban *rows = NULL;
	size_t n = 0;
	char *error = NULL;

	exec_sql(f, seed_bans);
	assert_int_equal(gl_admin_bans(f->ga, NOW, false, &rows, &n, &error), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].addr, "2001:db8::7"); /* the most recent first */
	assert_string_equal(rows[0].reason, "");
	assert_int_equal(rows[0].errors, 12);
	assert_true(rows[0].active);
	assert_string_equal(rows[1].addr, "192.0.2.7");
	assert_string_equal(rows[1].reason, "too many errors");
	assert_int_equal(rows[1].since, NOW - 60);
	assert_int_equal(rows[1].until, NOW + 3540);
	gl_admin_bans_free(rows, n);

	assert_int_equal(gl_admin_bans(f->ga, NOW, true, &rows, &n, &error), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[2].addr, "192.0.2.8");
	assert_false(rows[2].active);
	gl_admin_bans_free(rows, n);

	/* lift: an active ban goes; an expired or missing one is "not banned" */
	assert_int_equal(gl_admin_lift(f->ga, "192.0.2.7", NOW, &error), 0);
	assert_int_equal(gl_admin_lift(f->ga, "192.0.2.7", NOW, &error), 1);
	assert_int_equal(gl_admin_lift(f->ga, "192.0.2.8", NOW, &error), 1);
	assert_int_equal(gl_admin_lift(f->ga, "203.0.113.1", NOW, &error), 1);
	assert_query(f, "SELECT addr FROM client_bans ORDER BY addr",
	             "192.0.2.8\n2001:db8::7");
}

/* ---- errors ---- */

static void
test_errors(void **state)
{
	struct fixture *f = *state;
	struct gl_admin *ga = NULL;
	struct gl_admin_filter flt = {0};
	struct gl_admin_triplet *rows = NULL;
	struct gl_admin_counts n;
	struct gl_admin_stats s;
	size_t nrows = 0;
	char *error = NULL, *bad;

	/* a database that cannot be made */
	bad = testutil_printf("%s/no/such/dir/postern.db", f->dir);
	assert_int_equal(gl_admin_open(bad, &ga, &error), -1);
	assert_null(ga);
	assert_substring(error, bad);
	free(error);
	free(bad);

	/* a table that went missing: the reason names the file and the step */
	exec_sql(f, "DROP TABLE greylist; DROP TABLE greylist_clients;");
	error = NULL;
	assert_int_equal(gl_admin_list(f->ga, &flt, &rows, &nrows, &error), -1);
	assert_substring(error, f->path);
	assert_substring(error, "no such table");
	free(error);
	error = NULL;
	assert_int_equal(gl_admin_allow(f->ga, "example.com", NOW, NULL, &error), -1);
	assert_substring(error, "greylist_clients");
	free(error);
	error = NULL;
	assert_int_equal(gl_admin_remove(f->ga, "example.com", NULL, NULL, &n, &error),
	                 -1);
	assert_non_null(error);
	free(error);
	error = NULL;
	assert_int_equal(gl_admin_purge(f->ga, NOW, 0, &n, &error), -1);
	assert_non_null(error);
	free(error);
	error = NULL;
	assert_int_equal(gl_admin_stats(f->ga, NOW, &s, &error), -1);
	assert_non_null(error);
	free(error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_allowed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_allow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge_chunks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bans, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
