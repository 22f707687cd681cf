/*
 * db: opening postern's SQLite database and keeping its schema current.
 *
 * Every connection to the database is opened here, so every one gets
 * WAL mode, synchronous=NORMAL and a busy timeout. The schema is
 * versioned with PRAGMA user_version; the migrations below are an
 * ordered table of SQL steps, and the pending ones run in a single
 * write transaction at open, so a database is either at the old version
 * or at the new one, and two processes that start together do not
 * migrate twice. A database that a newer postern has migrated is
 * refused rather than guessed at.
 *
 * To change the schema, append a step; never edit one that has shipped.
 *
 * This file also hands out row ids (db_new_id). It is not the log
 * writer (log.c) and it never logs or exits.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_internal.h"
#include "lib/xalloc.h"

struct migration {
	int version;
	const char *sql;
};

/* Times are TEXT in db_format_time()'s format. Ids of connections and
 * messages come from db_new_id(); checks get SQLite's rowid. */
static const char migration_1[] =
    "CREATE TABLE connections ("
    " id INTEGER PRIMARY KEY,"
    " time TEXT NOT NULL,"
    " client_addr TEXT,"
    " client_port INTEGER,"
    " client_name TEXT,"
    " daemon_name TEXT,"
    " bypass TEXT);"
    "CREATE INDEX connections_client_addr ON connections(client_addr);"
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " conn_id INTEGER,"
    " time TEXT NOT NULL,"
    " queue_id TEXT,"
    " helo TEXT,"
    " sender TEXT,"
    " recipients TEXT,"
    " rejected_recipients TEXT,"
    " auth TEXT,"
    " size INTEGER,"
    " action TEXT,"
    " reply TEXT,"
    " stage TEXT,"
    " ms INTEGER);"
    "CREATE INDEX messages_queue_id ON messages(queue_id);"
    "CREATE INDEX messages_conn_id ON messages(conn_id);"
    "CREATE INDEX messages_time ON messages(time);"
    "CREATE TABLE checks ("
    " id INTEGER PRIMARY KEY,"
    " conn_id INTEGER,"
    " msg_id INTEGER,"
    " time TEXT NOT NULL,"
    " stage TEXT,"
    " name TEXT,"
    " result TEXT,"
    " action TEXT,"
    " detail TEXT,"
    " ms REAL);"
    "CREATE INDEX checks_conn_id ON checks(conn_id);"
    "CREATE INDEX checks_msg_id ON checks(msg_id);"
    "CREATE INDEX checks_time ON checks(time);"
    "CREATE INDEX checks_name_result ON checks(name, result);";

/* 2: the reverse DNS of each connection (issue 3). */
static const char migration_2[] = "ALTER TABLE connections ADD COLUMN ptr_name TEXT;"
                                  "ALTER TABLE connections ADD COLUMN iprev TEXT;";

/* 3: the DKIM key store (db/keys.c, "posternctl keys"): keys with their
 * state, the signing rules, and which pending keys a rotation started. */
static const char migration_3[] = "CREATE TABLE dkim_keys ("
                                  " id INTEGER PRIMARY KEY,"
                                  " domain TEXT NOT NULL,"
                                  " selector TEXT NOT NULL,"
                                  " algorithm TEXT NOT NULL,"
                                  " bits INTEGER NOT NULL,"
                                  " path TEXT NOT NULL,"
                                  " public_key TEXT NOT NULL,"
                                  " state TEXT NOT NULL,"
                                  " created INTEGER NOT NULL,"
                                  " state_since INTEGER NOT NULL,"
                                  " UNIQUE (domain, selector));"
                                  "CREATE TABLE dkim_signing ("
                                  " id INTEGER PRIMARY KEY,"
                                  " pattern TEXT NOT NULL,"
                                  " domain TEXT NOT NULL,"
                                  " UNIQUE (pattern, domain));"
                                  "CREATE TABLE dkim_rotations ("
                                  " key_id INTEGER PRIMARY KEY,"
                                  " started INTEGER NOT NULL);";

/* 4: greylisting and client bans (db/greylist.c, "posternctl greylist"
 * and "posternctl bans"). Times are unix seconds. A greylist client is
 * a network ("192.0.2.0/24", "2001:db8::/64") or, when SPF passed, the
 * verified sender domain ("example.com"). */
static const char migration_4[] =
    "CREATE TABLE greylist ("
    " client TEXT NOT NULL,"
    " sender TEXT NOT NULL,"
    " rcpt TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " passed INTEGER,"
    " attempts INTEGER NOT NULL DEFAULT 1,"
    " PRIMARY KEY (client, sender, rcpt)"
    ") WITHOUT ROWID;"
    "CREATE INDEX greylist_last_seen ON greylist(last_seen);"
    "CREATE INDEX greylist_pending ON greylist(last_seen)"
    " WHERE passed IS NULL;"
    "CREATE TABLE greylist_clients ("
    " client TEXT PRIMARY KEY,"
    " deliveries INTEGER NOT NULL DEFAULT 0,"
    " last_counted INTEGER,"
    " allowed INTEGER,"
    " allowed_by TEXT,"
    " last_seen INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX greylist_clients_last_seen"
    " ON greylist_clients(last_seen);"
    "CREATE TABLE client_bans ("
    " addr TEXT PRIMARY KEY,"
    " since INTEGER NOT NULL,"
    " until INTEGER NOT NULL,"
    " errors INTEGER NOT NULL,"
    " reason TEXT"
    ") WITHOUT ROWID;";

/* 5: which check decided a refused message (posternctl log). */
static const char migration_5[] = "ALTER TABLE messages ADD COLUMN decided_by TEXT;";

static const struct migration migrations[] = {
    {1, migration_1}, {2, migration_2}, {3, migration_3},
    {4, migration_4}, {5, migration_5},
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DB_SCHEMA_VERSION,
               "one migration step per schema version");

int
db_error_is_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		return 1;
	default:
		return 0;
	}
}

void
db_format_time(const struct timespec *t, char buf_r[DB_TIME_LEN])
{
	time_t sec = t->tv_sec;
	long ms = t->tv_nsec / 1000000;
	struct tm tm;
	size_t n;

	if (ms < 0 || ms > 999)
		ms = 0;
	if (gmtime_r(&sec, &tm) == NULL ||
	    (n = strftime(buf_r, DB_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		strcpy(buf_r, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(buf_r + n, DB_TIME_LEN - n, ".%03ldZ", ms);
}

int
db_fail(sqlite3 *db, const char *path, const char *what, char **error_r)
{
	*error_r = xasprintf("%s: %s: %s", path, what, sqlite3_errmsg(db));
	return -1;
}

sqlite3_stmt *
db_prepare(sqlite3 *db, const char *path, const char *sql, char **error_r)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, path, "preparing a statement", error_r);
		return NULL;
	}
	return st;
}

static int
db_user_version(sqlite3 *db, int *version_r)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version_r = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
db_set_wal(sqlite3 *db, const char *path, char **error_r)
{
	sqlite3_stmt *st;
	const char *mode;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, path, "setting WAL mode", error_r);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_fail(db, path, "setting WAL mode", error_r);
		sqlite3_finalize(st);
		return -1;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		*error_r = xasprintf("%s: cannot use WAL mode (journal mode stays %s)",
		                     path, mode ? mode : "unknown");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* Run the steps after `from`, inside the caller's transaction. */
static int
db_run_migrations(sqlite3 *db, const char *path, int from, char **error_r)
{
	char sql[64];

	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		const struct migration *m = &migrations[i];

		if (m->version <= from)
			continue;
		if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
			*error_r = xasprintf("%s: migrating to schema version %d: %s",
			                     path, m->version, sqlite3_errmsg(db));
			return -1;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", m->version);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return db_fail(db, path, "setting user_version", error_r);
	}
	return 0;
}

static int
db_migrate_open(sqlite3 *db, const char *path, char **error_r)
{
	int version = 0;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, path, "starting the migration", error_r);
	if (db_user_version(db, &version) != SQLITE_OK) {
		db_fail(db, path, "reading user_version", error_r);
		goto rollback;
	}
	if (version > DB_SCHEMA_VERSION) {
		*error_r = xasprintf("%s: schema version %d is newer than this postern "
		                     "knows (%d): refusing to use the database "
		                     "(was it written by a newer postern?)",
		                     path, version, DB_SCHEMA_VERSION);
		goto rollback;
	}
	if (version < 0) {
		*error_r = xasprintf("%s: invalid schema version %d", path, version);
		goto rollback;
	}
	if (db_run_migrations(db, path, version, error_r) < 0)
		goto rollback;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, path, "committing the migration", error_r);
		goto rollback;
	}
	return 0;
rollback:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
db_open(const char *path, int busy_timeout_ms, sqlite3 **db_r, char **error_r)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path,
		                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, DB_OPEN_BUSY_TIMEOUT_MS);
	if (db_set_wal(db, path, error_r) < 0)
		goto fail;
	/* journal_size_limit: a WAL that grew during a long read shrinks
	 * back at the next checkpoint instead of keeping its largest size. */
	if (sqlite3_exec(db,
	                 "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=67108864",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, path, "setting pragmas", error_r);
		goto fail;
	}
	if (db_migrate_open(db, path, error_r) < 0)
		goto fail;
	sqlite3_busy_timeout(db, busy_timeout_ms);
	*db_r = db;
	return 0;
fail:
	sqlite3_close(db);
	return -1;
}

int
db_open_current(const char *path, int busy_timeout_ms, sqlite3 **db_r, char **error_r)
{
	sqlite3 *db = NULL;
	int rc, version = 0;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path,
		                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, busy_timeout_ms);
	if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) !=
	        SQLITE_OK ||
	    db_user_version(db, &version) != SQLITE_OK) {
		db_fail(db, path, "opening", error_r);
		sqlite3_close(db);
		return -1;
	}
	if (version != DB_SCHEMA_VERSION) {
		*error_r = xasprintf("%s: schema version %d, not %d: restart postern to "
		                     "migrate it",
		                     path, version, DB_SCHEMA_VERSION);
		sqlite3_close(db);
		return -1;
	}
	*db_r = db;
	return 0;
}

int
db_migrate(const char *path, char **error_r)
{
	sqlite3 *db;

	if (db_open(path, DB_OPEN_BUSY_TIMEOUT_MS, &db, error_r) < 0)
		return -1;
	sqlite3_close(db);
	return 0;
}

/*
 * Ids: milliseconds since the epoch at the first call, shifted left by
 * 12 bits, then counted up by one. Unique across restarts as long as the
 * clock does not step back and the process does not hand out more than
 * 4096 ids per millisecond on average; fits int64 for thousands of
 * years. The real clock on purpose, not the test seam of lib/clock.
 */
static _Atomic int64_t next_id;

int64_t
db_new_id(void)
{
	if (atomic_load_explicit(&next_id, memory_order_relaxed) == 0) {
		struct timespec now;
		int64_t expected = 0;

		clock_gettime(CLOCK_REALTIME, &now);
		atomic_compare_exchange_strong(
		    &next_id, &expected,
		    ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000) << 12);
	}
	return atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
}
