/*
 * db_internal: what the files of db/ share and the rest of postern does
 * not see: opening a connection the way every store of this database
 * must (WAL, synchronous=NORMAL, busy timeout, migrations), the time
 * format of the TEXT time columns, and the tuning knobs of the verdict
 * log writer that tests turn down to milliseconds.
 */
#ifndef POSTERN_DB_INTERNAL_H
#define POSTERN_DB_INTERNAL_H

#include <sqlite3.h>
#include <time.h>

#include "db/db.h"

/* How long a connection waits for another writer's lock while it opens
 * and migrates the database. */
#define DB_OPEN_BUSY_TIMEOUT_MS 5000

/* Open (creating it if needed) the database at path, set WAL mode,
 * synchronous=NORMAL and a busy timeout of busy_timeout_ms, and run
 * every pending migration in one transaction. A database whose
 * user_version is newer than DB_SCHEMA_VERSION is refused. Returns 0 and
 * the connection in *db_r (the caller closes it with sqlite3_close), or
 * -1 with a malloc'd reason that names the file in *error_r. */
int db_open(const char *path, int busy_timeout_ms, sqlite3 **db_r, char **error_r);

/* Open a database that db_open has already migrated, without taking
 * any lock: synchronous=NORMAL and the busy timeout are set, and the
 * schema version must be this build's. For the connections a store adds
 * while the daemon runs, whose first wait must be busy_timeout_ms.
 * Returns 0, or -1 with a malloc'd reason in *error_r. */
int db_open_current(const char *path, int busy_timeout_ms, sqlite3 **db_r,
                    char **error_r);

/* "PATH: WHAT: SQLite's message" into a malloc'd *error_r; returns -1. */
int db_fail(sqlite3 *db, const char *path, const char *what, char **error_r);
/* A prepared statement, or NULL with db_fail's reason. */
sqlite3_stmt *db_prepare(sqlite3 *db, const char *path, const char *sql, char **error_r);

/* True for the errors after which the same transaction may succeed
 * later: busy or locked database, I/O error, disk full, read-only. */
int db_error_is_transient(int rc);

/* "2026-11-21T10:00:00.123Z": ISO 8601, UTC, milliseconds; the format of
 * every time column, so that text order is time order. */
#define DB_TIME_LEN 40
void db_format_time(const struct timespec *t, char buf_r[DB_TIME_LEN]);

/* The INSERT of each verdict row, and the binding of a row's columns to
 * it (time_buf must live until the step): SQLITE_OK, or something else
 * when a bind failed. The log's writer uses them; so does logbench's
 * INSERT-per-call peer. */
extern const char db_insert_connection_sql[];
extern const char db_insert_message_sql[];
extern const char db_insert_check_sql[];
int db_bind_connection(sqlite3_stmt *st, const struct db_connection_row *c,
                       char time_buf[DB_TIME_LEN]);
int db_bind_message(sqlite3_stmt *st, const struct db_message_row *m,
                    char time_buf[DB_TIME_LEN]);
int db_bind_check(sqlite3_stmt *st, const struct db_check_row *k,
                  char time_buf[DB_TIME_LEN]);

/* The writer's patience with a database it cannot write: each try of a
 * batch waits up to busy_timeout_ms for a lock; after a failed try it
 * sleeps backoff_ms (doubled after each retry) and tries again, at most
 * retries times, before the batch is counted as lost. */
struct db_log_tuning {
	int busy_timeout_ms;
	unsigned retries;
	unsigned backoff_ms;
};
#define DB_LOG_BUSY_TIMEOUT_MS 1000
#define DB_LOG_RETRIES 3
#define DB_LOG_BACKOFF_MS 50
#define DB_LOG_BATCH_MAX 256
#define DB_LOG_QUEUE_MAX 100000

/* db_log_start() with explicit tuning (tests); tune may be NULL for the
 * defaults above. */
struct db_log *db_log_start_tuned(const char *path, const struct db_log_options *opt,
                                  const struct db_log_tuning *tune, char **error_r);

#endif
