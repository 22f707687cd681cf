/*
 * test_db: the database schema and migrations (db/db.c) and the verdict
 * log writer (db/log.c). Each test runs in its own temporary directory,
 * removed afterwards, and reads what was written through a second,
 * independent SQLite connection, as an admin would.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_internal.h"
#include "lib/xalloc.h"

/* 2026-11-21T10:00:00.123Z */
static const struct timespec fixed_time = {1795255200, 123456789};

/* Milliseconds: small enough that a locked database gives up quickly. */
static const struct db_log_tuning fast_tuning = {10, 3, 5};

struct tmp {
	char dir[64];
	char *path;
};

static int
tmp_setup(void **state)
{
	struct tmp *t = xcalloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/postern-test-db.XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	t->path = xasprintf("%s/postern.db", t->dir);
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp *t = *state;
	DIR *d = opendir(t->dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d != NULL)
		closedir(d);
	rmdir(t->dir);
	free(t->path);
	free(t);
	return 0;
}

/* ---- reading the database as an admin would ---- */

static sqlite3 *
admin_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	                 SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t
q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t
q_int_path(const char *path, const char *sql)
{
	sqlite3 *db = admin_open(path);
	int64_t v = q_int(db, sql);

	sqlite3_close(db);
	return v;
}

/* The text of the first column of the first row (NULL for SQL NULL),
 * malloc'd, with its length in *len_r. */
static char *
q_text(sqlite3 *db, const char *sql, size_t *len_r)
{
	sqlite3_stmt *st;
	const unsigned char *s;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	s = sqlite3_column_text(st, 0);
	if (s != NULL) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		v = xmalloc(n + 1);
		memcpy(v, s, n + 1);
		if (len_r != NULL)
			*len_r = n;
	}
	sqlite3_finalize(st);
	return v;
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
}

/* ---- the report callback ---- */

struct report_log {
	pthread_mutex_t lock;
	unsigned calls;
	uint64_t last_lost;
	char last_reason[256];
	int from_caller_thread;
	pthread_t caller;
};

static void
report_init(struct report_log *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->caller = pthread_self();
}

static void
report_cb(void *arg, uint64_t lost, const char *reason)
{
	struct report_log *r = arg;

	pthread_mutex_lock(&r->lock);
	r->calls++;
	r->last_lost = lost;
	snprintf(r->last_reason, sizeof(r->last_reason), "%s", reason);
	if (pthread_equal(pthread_self(), r->caller))
		r->from_caller_thread = 1;
	pthread_mutex_unlock(&r->lock);
}

static void
log_checks(struct db_log *log, int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		struct db_check_row row = {
		    .conn_id = 1,
		    .time = fixed_time,
		    .stage = "rcpt",
		    .name = name,
		    .result = "pass",
		    .action = "dunno",
		    .ms = 0.5,
		};
		db_log_check(log, &row);
	}
}

/* ---- migrations ---- */

static const char *const schema_columns[] = {
    "connections:id",
    "connections:time",
    "connections:client_addr",
    "connections:client_port",
    "connections:client_name",
    "connections:daemon_name",
    "connections:bypass",
    "messages:id",
    "messages:conn_id",
    "messages:time",
    "messages:queue_id",
    "messages:helo",
    "messages:sender",
    "messages:recipients",
    "messages:rejected_recipients",
    "messages:auth",
    "messages:size",
    "messages:action",
    "messages:reply",
    "messages:stage",
    "messages:ms",
    "checks:id",
    "checks:conn_id",
    "checks:msg_id",
    "checks:time",
    "checks:stage",
    "checks:name",
    "checks:result",
    "checks:action",
    "checks:detail",
    "checks:ms",
};

/* The admins' questions, and the index each one must use. */
static const struct {
	const char *sql;
	const char *index;
} admin_queries[] = {
    {"SELECT * FROM messages WHERE queue_id = '4XyZ1234'", "messages_queue_id"},
    {"SELECT * FROM connections WHERE client_addr = '192.0.2.1'",
     "connections_client_addr"},
    {"SELECT * FROM messages WHERE conn_id = 42", "messages_conn_id"},
    {"SELECT * FROM checks WHERE conn_id = 42", "checks_conn_id"},
    {"SELECT * FROM checks WHERE msg_id = 42", "checks_msg_id"},
    /* Bounded on both sides: with "time >= X" alone the planner prefers
     * scanning checks_name_result to save the GROUP BY sort. */
    {"SELECT name, count(*) FROM checks WHERE time >= '2026-11-14'"
     " AND time < '2026-11-21' AND action = 'reject' GROUP BY name ORDER BY 2 DESC",
     "checks_time"},
    {"SELECT count(*) FROM checks WHERE name = 'reject_rbl_client' AND result = 'fail'",
     "checks_name_result"},
};

static void
assert_plan_uses(sqlite3 *db, const char *sql, const char *index)
{
	char *explain = xasprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st;
	int found = 0;

	assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);

		if (detail != NULL && strstr(detail, index) != NULL)
			found = 1;
	}
	sqlite3_finalize(st);
	if (!found)
		fail_msg("%s does not use %s", sql, index);
	free(explain);
}

static void
assert_schema_v1(const char *path)
{
	sqlite3 *db = admin_open(path);
	char *mode;

	assert_int_equal(q_int(db, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	mode = q_text(db, "PRAGMA journal_mode", NULL);
	assert_string_equal(mode, "wal");
	free(mode);
	for (size_t i = 0; i < sizeof(schema_columns) / sizeof(schema_columns[0]); i++) {
		const char *colon = strchr(schema_columns[i], ':');
		char *sql = xasprintf("SELECT count(*) FROM pragma_table_info('%.*s')"
		                      " WHERE name = '%s'",
		                      (int)(colon - schema_columns[i]), schema_columns[i],
		                      colon + 1);

		if (q_int(db, sql) != 1)
			fail_msg("column %s missing", schema_columns[i]);
		free(sql);
	}
	for (size_t i = 0; i < sizeof(admin_queries) / sizeof(admin_queries[0]); i++)
		assert_plan_uses(db, admin_queries[i].sql, admin_queries[i].index);
	sqlite3_close(db);
}

static void
test_migrate_new(void **state)
{
	struct tmp *t = *state;
	char *error = NULL;

	assert_int_equal(db_migrate(t->path, &error), 0);
	assert_null(error);
	assert_schema_v1(t->path);
}

/* Every connection of db/ gets the same settings. */
static void
test_open_settings(void **state)
{
	struct tmp *t = *state;
	char *error = NULL;
	sqlite3 *db = NULL;

	assert_int_equal(db_open(t->path, 1234, &db, &error), 0);
	assert_null(error);
	assert_int_equal(q_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
	assert_int_equal(q_int(db, "PRAGMA busy_timeout"), 1234);
	assert_int_equal(q_int(db, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	sqlite3_close(db);
}

static void
test_migrate_twice(void **state)
{
	struct tmp *t = *state;
	char *error = NULL;
	struct db_log *log;
	sqlite3 *db;

	assert_int_equal(db_migrate(t->path, &error), 0);
	db = admin_open(t->path);
	exec_ok(db, "INSERT INTO connections (id, time, client_addr)"
	            " VALUES (7, '2026-01-01T00:00:00.000Z', '192.0.2.7')");
	sqlite3_close(db);

	assert_int_equal(db_migrate(t->path, &error), 0);
	assert_null(error);
	log = db_log_start(t->path, NULL, &error);
	assert_non_null(log);
	db_log_stop(log);

	assert_schema_v1(t->path);
	assert_int_equal(q_int_path(t->path,
	                            "SELECT count(*) FROM connections"
	                            " WHERE id = 7 AND client_addr = '192.0.2.7'"),
	                 1);
}

static void
test_future_version_refused(void **state)
{
	struct tmp *t = *state;
	char *error = NULL;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	exec_ok(db, "PRAGMA user_version = 99");
	sqlite3_close(db);

	assert_int_equal(db_migrate(t->path, &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, t->path));
	assert_non_null(strstr(error, "schema version 99 is newer"));
	free(error);
	error = NULL;

	assert_null(db_log_start(t->path, NULL, &error));
	assert_non_null(error);
	assert_non_null(strstr(error, "newer"));
	free(error);

	/* Refused means untouched. */
	assert_int_equal(q_int_path(t->path, "PRAGMA user_version"), 99);
	assert_int_equal(q_int_path(t->path, "SELECT count(*) FROM sqlite_master"), 0);
}

static void
test_open_errors(void **state)
{
	struct tmp *t = *state;
	char *error = NULL;
	char *missing = xasprintf("%s/no/such/dir/postern.db", t->dir);
	FILE *f;

	assert_null(db_log_start(missing, NULL, &error));
	assert_non_null(error);
	assert_non_null(strstr(error, missing));
	free(error);
	free(missing);

	f = fopen(t->path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database. ", f);
	fclose(f);
	error = NULL;
	assert_int_equal(db_migrate(t->path, &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, t->path));
	free(error);

	db_log_stop(NULL);
}

/* ---- the writer ---- */

#define N_THREADS 4
#define CHECKS_PER_THREAD 2500
#define CONNS_PER_THREAD 25

struct writer_arg {
	struct db_log *log;
	int n;
};

static void *
writer_thread(void *arg)
{
	struct writer_arg *w = arg;

	for (int c = 0; c < CONNS_PER_THREAD; c++) {
		int64_t conn_id = db_new_id(), msg_id = db_new_id();
		struct db_connection_row conn = {
		    .id = conn_id,
		    .time = fixed_time,
		    .client_addr = "192.0.2.1",
		    .client_port = 25000 + c,
		    .client_name = "mx.example.org",
		};
		struct db_message_row msg = {
		    .id = msg_id,
		    .conn_id = conn_id,
		    .time = fixed_time,
		    .queue_id = "4XyZ1234",
		    .sender = "a@example.org",
		    .recipients = "b@example.net",
		    .rejected_recipients = "",
		    .action = "accept",
		    .stage = "eom",
		};

		db_log_connection(w->log, &conn);
		for (int i = 0; i < CHECKS_PER_THREAD / CONNS_PER_THREAD; i++) {
			char detail[64];
			struct db_check_row row = {
			    .conn_id = conn_id,
			    .msg_id = i % 2 ? msg_id : 0,
			    .time = fixed_time,
			    .stage = "rcpt",
			    .name = "reject_rbl_client",
			    .result = "pass",
			    .action = "dunno",
			    .detail = detail,
			    .ms = i,
			};

			snprintf(detail, sizeof(detail), "thread %d conn %d check %d",
			         w->n, c, i);
			db_log_check(w->log, &row);
		}
		db_log_message(w->log, &msg);
	}
	return NULL;
}

static void
test_threads_no_loss(void **state)
{
	struct tmp *t = *state;
	struct report_log rep;
	struct db_log_options opt = {.report = report_cb, .report_arg = &rep};
	struct writer_arg args[N_THREADS];
	pthread_t threads[N_THREADS];
	struct db_log_stats stats;
	const int64_t checks = N_THREADS * CHECKS_PER_THREAD;
	const int64_t conns = N_THREADS * CONNS_PER_THREAD;
	char *error = NULL;
	struct db_log *log;
	sqlite3 *db;

	report_init(&rep);
	log = db_log_start(t->path, &opt, &error);
	assert_non_null(log);
	for (int i = 0; i < N_THREADS; i++) {
		args[i] = (struct writer_arg){log, i};
		assert_int_equal(
		    pthread_create(&threads[i], NULL, writer_thread, &args[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(threads[i], NULL);
	db_log_flush(log);
	db_log_get_stats(log, &stats);
	db_log_stop(log);

	assert_int_equal(stats.queued, checks + 2 * conns);
	assert_int_equal(stats.written, stats.queued);
	assert_int_equal(stats.lost, 0);
	assert_int_equal(rep.calls, 0);

	db = admin_open(t->path);
	assert_int_equal(q_int(db, "SELECT count(*) FROM checks"), checks);
	assert_int_equal(q_int(db, "SELECT count(DISTINCT detail) FROM checks"), checks);
	assert_int_equal(q_int(db, "SELECT count(*) FROM checks WHERE msg_id IS NULL"),
	                 checks / 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM connections"), conns);
	assert_int_equal(q_int(db, "SELECT count(*) FROM messages"), conns);
	/* Every message and check points at a logged connection. */
	assert_int_equal(q_int(db, "SELECT count(*) FROM messages m JOIN connections c"
	                           " ON m.conn_id = c.id"),
	                 conns);
	assert_int_equal(q_int(db, "SELECT count(*) FROM checks k JOIN connections c"
	                           " ON k.conn_id = c.id"),
	                 checks);
	assert_int_equal(q_int(db, "SELECT count(*) FROM checks k JOIN messages m"
	                           " ON k.msg_id = m.id"),
	                 checks / 2);
	sqlite3_close(db);
	pthread_mutex_destroy(&rep.lock);
}

static char *
make_binary(void)
{
	char *s = xmalloc(256);

	for (int i = 1; i < 256; i++)
		s[i - 1] = (char)i;
	s[255] = '\0';
	return s;
}

static void
assert_column(sqlite3 *db, const char *sql, const char *want)
{
	size_t len = 0;
	char *got = q_text(db, sql, &len);

	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
	free(got);
}

static void
test_strings_survive(void **state)
{
	struct tmp *t = *state;
	const char *quoted = "it's \"quoted\"; DROP TABLE checks; -- \\ %s %n";
	char *binary = make_binary();
	char *big = xmalloc(10 * 1024 + 1);
	char *scratch;
	char *error = NULL;
	struct db_log *log;
	sqlite3 *db;

	for (size_t i = 0; i < 10 * 1024; i++)
		big[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
	big[10 * 1024] = '\0';
	log = db_log_start(t->path, NULL, &error);
	assert_non_null(log);

	/* The caller's memory may go as soon as the call returns. */
	scratch = xstrdup(quoted);
	{
		struct db_connection_row conn = {
		    .id = 1001,
		    .time = fixed_time,
		    .client_addr = "2001:db8::1",
		    .client_port = 65535,
		    .client_name = scratch,
		    .daemon_name = NULL,
		    .bypass = "authenticated",
		};
		db_log_connection(log, &conn);
	}
	memset(scratch, 'x', strlen(scratch));
	free(scratch);
	{
		struct db_message_row msg = {
		    .id = 2002,
		    .conn_id = 1001,
		    .time = fixed_time,
		    .queue_id = NULL,
		    .helo = binary,
		    .sender = "",
		    .recipients = "a@example.org,b@example.org",
		    .rejected_recipients = "",
		    .auth = quoted,
		    .size = 5000000000LL,
		    .action = "reject",
		    .reply = "554 5.7.1 Service unavailable; Client host [192.0.2.1] "
		             "blocked",
		    .stage = "rcpt",
		    .ms = 1234,
		    .decided_by = "reject_rbl_client",
		};
		db_log_message(log, &msg);
	}
	{
		struct db_check_row check = {
		    .conn_id = 1001,
		    .msg_id = 0,
		    .time = fixed_time,
		    .stage = "connect",
		    .name = quoted,
		    .result = "fail",
		    .action = "reject",
		    .detail = big,
		    .ms = 1.25,
		};
		db_log_check(log, &check);
		check.msg_id = 2002;
		check.detail = binary;
		check.name = "check_spf";
		db_log_check(log, &check);
	}
	db_log_stop(log);

	db = admin_open(t->path);
	assert_column(db, "SELECT client_name FROM connections WHERE id = 1001", quoted);
	assert_column(db, "SELECT client_addr FROM connections", "2001:db8::1");
	assert_column(db, "SELECT daemon_name FROM connections", NULL);
	assert_column(db, "SELECT bypass FROM connections", "authenticated");
	assert_column(db, "SELECT time FROM connections", "2026-11-21T10:00:00.123Z");
	assert_int_equal(q_int(db, "SELECT client_port FROM connections"), 65535);

	assert_column(db, "SELECT helo FROM messages WHERE id = 2002", binary);
	assert_column(db, "SELECT queue_id FROM messages", NULL);
	assert_column(db, "SELECT sender FROM messages", "");
	assert_column(db, "SELECT auth FROM messages", quoted);
	assert_column(db, "SELECT reply FROM messages",
	              "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked");
	assert_int_equal(q_int(db, "SELECT size FROM messages"), 5000000000LL);
	assert_int_equal(q_int(db, "SELECT ms FROM messages"), 1234);
	assert_column(db, "SELECT decided_by FROM messages", "reject_rbl_client");
	assert_int_equal(q_int(db, "SELECT conn_id FROM messages"), 1001);

	assert_column(db, "SELECT detail FROM checks WHERE msg_id IS NULL", big);
	assert_column(db, "SELECT name FROM checks WHERE msg_id IS NULL", quoted);
	assert_column(db, "SELECT detail FROM checks WHERE msg_id = 2002", binary);
	assert_int_equal(q_int(db, "SELECT count(*) FROM checks WHERE ms = 1.25"), 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM checks"
	                           " WHERE time = '2026-11-21T10:00:00.123Z'"),
	                 2);
	sqlite3_close(db);
	free(binary);
	free(big);
}

static void
test_time_format(void **state)
{
	static const struct {
		struct timespec t;
		const char *want;
	} cases[] = {
	    {{0, 0}, "1970-01-01T00:00:00.000Z"},
	    {{1795255200, 123456789}, "2026-11-21T10:00:00.123Z"},
	    {{1795255200, 999999999}, "2026-11-21T10:00:00.999Z"},
	    {{951782400, 1000000}, "2000-02-29T00:00:00.001Z"},
	    {{253402300799, 0}, "9999-12-31T23:59:59.000Z"},
	};
	char buf[DB_TIME_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		db_format_time(&cases[i].t, buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void
test_flush_makes_rows_visible(void **state)
{
	struct tmp *t = *state;
	char *error = NULL;
	struct db_log *log;
	sqlite3 *reader;
	int64_t total = 0;

	log = db_log_start(t->path, NULL, &error);
	assert_non_null(log);
	reader = admin_open(t->path);
	for (int round = 1; round <= 20; round++) {
		log_checks(log, round * 37, "flush");
		total += round * 37;
		db_log_flush(log);
		assert_int_equal(q_int(reader, "SELECT count(*) FROM checks"), total);
	}
	db_log_flush(log); /* with nothing queued: returns at once */
	sqlite3_close(reader);
	db_log_stop(log);
}

static void
test_locked_database_loses_and_recovers(void **state)
{
	struct tmp *t = *state;
	struct report_log rep;
	struct db_log_options opt = {.report = report_cb, .report_arg = &rep};
	struct db_log_stats stats;
	char *error = NULL;
	struct db_log *log;
	sqlite3 *locker;

	report_init(&rep);
	log = db_log_start_tuned(t->path, &opt, &fast_tuning, &error);
	assert_non_null(log);
	log_checks(log, 1, "before");
	db_log_flush(log);

	locker = admin_open(t->path);
	exec_ok(locker, "BEGIN EXCLUSIVE");
	log_checks(log, 50, "while locked");
	db_log_flush(log); /* returns: the rows are counted lost */
	db_log_get_stats(log, &stats);
	assert_int_equal(stats.queued, 51);
	assert_int_equal(stats.written, 1);
	assert_int_equal(stats.lost, 50);
	pthread_mutex_lock(&rep.lock);
	assert_true(rep.calls >= 1);
	assert_int_equal(rep.last_lost, 50);
	assert_non_null(strstr(rep.last_reason, "locked"));
	assert_false(rep.from_caller_thread);
	pthread_mutex_unlock(&rep.lock);
	exec_ok(locker, "ROLLBACK");

	log_checks(log, 30, "after");
	db_log_flush(log);
	db_log_get_stats(log, &stats);
	assert_int_equal(stats.written, 31);
	assert_int_equal(stats.lost, 50);
	assert_int_equal(q_int(locker, "SELECT count(*) FROM checks"), 31);
	assert_int_equal(
	    q_int(locker, "SELECT count(*) FROM checks WHERE name = 'after'"), 30);
	sqlite3_close(locker);
	db_log_stop(log);
	pthread_mutex_destroy(&rep.lock);
}

static void
test_queue_full(void **state)
{
	/* Patient enough that the batch in flight outlives the lock. */
	static const struct db_log_tuning patient = {10, 5, 20};
	struct tmp *t = *state;
	struct report_log rep;
	struct db_log_options opt = {
	    .batch_max = 5, .queue_max = 10, .report = report_cb, .report_arg = &rep};
	struct db_log_stats stats;
	char *error = NULL;
	struct db_log *log;
	sqlite3 *locker;

	report_init(&rep);
	log = db_log_start_tuned(t->path, &opt, &patient, &error);
	assert_non_null(log);
	locker = admin_open(t->path);
	exec_ok(locker, "BEGIN EXCLUSIVE");
	log_checks(log, 100, "flood");
	exec_ok(locker, "ROLLBACK");
	db_log_flush(log);
	db_log_get_stats(log, &stats);

	assert_int_equal(stats.queued, 100);
	assert_true(stats.lost >= 100 - 10 - 5);
	assert_int_equal(stats.written + stats.lost, 100);
	assert_int_equal(q_int(locker, "SELECT count(*) FROM checks"), stats.written);
	pthread_mutex_lock(&rep.lock);
	assert_true(rep.calls >= 1);
	assert_int_equal(rep.last_lost, stats.lost);
	assert_string_equal(rep.last_reason, "verdict log queue full");
	pthread_mutex_unlock(&rep.lock);
	sqlite3_close(locker);
	db_log_stop(log);
	pthread_mutex_destroy(&rep.lock);
}

static void
test_refused_row_alone(void **state)
{
	struct tmp *t = *state;
	struct report_log rep;
	struct db_log_options opt = {.report = report_cb, .report_arg = &rep};
	struct db_connection_row conn = {.id = 77, .time = fixed_time, .client_addr = ""};
	struct db_log_stats stats;
	char *error = NULL;
	struct db_log *log;

	report_init(&rep);
	log = db_log_start(t->path, &opt, &error);
	assert_non_null(log);
	/* Hold the writer back so that all rows land in one batch. */
	sqlite3 *locker = admin_open(t->path);
	exec_ok(locker, "BEGIN EXCLUSIVE");
	log_checks(log, 3, "x");
	db_log_connection(log, &conn);
	db_log_connection(log, &conn); /* the same id twice */
	log_checks(log, 3, "y");
	exec_ok(locker, "ROLLBACK");
	sqlite3_close(locker);
	db_log_flush(log);
	db_log_get_stats(log, &stats);
	assert_int_equal(stats.written, 7);
	assert_int_equal(stats.lost, 1);
	assert_int_equal(rep.calls, 1);
	assert_int_equal(rep.last_lost, 1);
	assert_non_null(strstr(rep.last_reason, "UNIQUE"));
	db_log_stop(log);
	assert_int_equal(q_int_path(t->path, "SELECT count(*) FROM checks"), 6);
	assert_int_equal(q_int_path(t->path, "SELECT count(*) FROM connections"), 1);
	pthread_mutex_destroy(&rep.lock);
}

static void
test_stop_gives_up_on_locked_database(void **state)
{
	static const struct db_log_tuning tune = {10, 2, 20};
	struct tmp *t = *state;
	struct report_log rep;
	struct db_log_options opt = {
	    .batch_max = 5, .report = report_cb, .report_arg = &rep};
	char *error = NULL;
	struct db_log *log;
	sqlite3 *locker;

	report_init(&rep);
	log = db_log_start_tuned(t->path, &opt, &tune, &error);
	assert_non_null(log);
	locker = admin_open(t->path);
	exec_ok(locker, "BEGIN EXCLUSIVE");
	log_checks(log, 40, "doomed");
	db_log_stop(log);
	/* Not one report per batch of 5: after the first failed batch the
	 * rest of the queue goes at once. */
	assert_true(rep.calls >= 1 && rep.calls <= 2);
	assert_int_equal(rep.last_lost, 40);
	assert_non_null(strstr(rep.last_reason, "locked"));
	exec_ok(locker, "ROLLBACK");
	assert_int_equal(q_int(locker, "SELECT count(*) FROM checks"), 0);
	sqlite3_close(locker);
	pthread_mutex_destroy(&rep.lock);
}

/* ---- ids ---- */

#define IDS_PER_THREAD 50000

static void *
id_thread(void *arg)
{
	int64_t *ids = arg;

	for (int i = 0; i < IDS_PER_THREAD; i++)
		ids[i] = db_new_id();
	return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
test_new_id_unique(void **state)
{
	int64_t *ids = xcalloc(N_THREADS * IDS_PER_THREAD, sizeof(*ids));
	pthread_t threads[N_THREADS];
	struct timespec now;
	int64_t now_ms;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, id_thread,
		                                ids + i * IDS_PER_THREAD),
		                 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < N_THREADS; i++)
		for (int j = 1; j < IDS_PER_THREAD; j++)
			assert_true(ids[i * IDS_PER_THREAD + j] >
			            ids[i * IDS_PER_THREAD + j - 1]);
	qsort(ids, N_THREADS * IDS_PER_THREAD, sizeof(*ids), cmp_id);
	for (int i = 1; i < N_THREADS * IDS_PER_THREAD; i++)
		assert_true(ids[i] > ids[i - 1]);
	/* Time-based: the first id was made within a day of now. */
	assert_true(ids[0] > 0);
	assert_true(llabs((ids[0] >> 12) - now_ms) < 86400000LL);
	free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migrate_new, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_open_settings, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_twice, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_future_version_refused, tmp_setup,
	                                    tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_threads_no_loss, tmp_setup,
	                                    tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_strings_survive, tmp_setup,
	                                    tmp_teardown),
	    cmocka_unit_test(test_time_format),
	    cmocka_unit_test_setup_teardown(test_flush_makes_rows_visible, tmp_setup,
	                                    tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_locked_database_loses_and_recovers,
	                                    tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_queue_full, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_refused_row_alone, tmp_setup,
	                                    tmp_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_gives_up_on_locked_database,
	                                    tmp_setup, tmp_teardown),
	    cmocka_unit_test(test_new_id_unique),
	};

	return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
