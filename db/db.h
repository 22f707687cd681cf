/*
 * db: the SQLite database of postern (one file, WAL mode). This header
 * is the verdict log; the greylist and key stores get their own headers.
 *
 * The verdict log is a queue plus one writer thread: callers hand over a
 * row (copied at once, so the caller's memory can go) and return without
 * touching the disk; the writer commits rows in batched transactions. A
 * row the writer cannot store after retries is counted as lost, never
 * silently dropped. db_log_stop() writes every queued row before it
 * returns.
 *
 * This module never logs and never exits: problems come back as return
 * values, error strings and counters.
 */
#ifndef POSTERN_DB_H
#define POSTERN_DB_H

#include <stdint.h>
#include <time.h>

/* The schema version this build writes (PRAGMA user_version). */
#define DB_SCHEMA_VERSION 5

/* Create the database file if needed, set WAL mode and run every pending
 * migration. Safe to call on an up-to-date database. Returns 0, or -1
 * with a malloc'd reason in *error_r. */
int db_migrate(const char *path, char **error_r);

/* A fresh id for a connection or message row: unique within this
 * database across restarts (time-based, then counted). Thread-safe. */
int64_t db_new_id(void);

struct db_connection_row {
	int64_t id;
	struct timespec time;
	const char *client_addr; /* "192.0.2.1" or "" */
	int client_port;
	const char *client_name; /* as the MTA gave it */
	const char *daemon_name; /* {daemon_name}, may be NULL */
	const char *bypass;      /* "internal", "authenticated", "local", or NULL */
	const char *ptr_name;    /* first valid PTR name, or NULL */
	const char *iprev;       /* pass, fail, temperror, or NULL (not looked up) */
};

struct db_message_row {
	int64_t id;
	int64_t conn_id;
	struct timespec time;            /* when MAIL FROM came */
	const char *queue_id;            /* may be NULL */
	const char *helo;                /* may be NULL */
	const char *sender;              /* "" for the null sender */
	const char *recipients;          /* accepted ones, comma separated */
	const char *rejected_recipients; /* comma separated, may be "" */
	const char *auth;                /* {auth_authen}, may be NULL */
	int64_t size;                    /* body bytes seen */
	const char *action;              /* accept, reject, defer, discard, aborted */
	const char *reply;               /* "554 5.7.1 ..." or NULL */
	const char *stage;               /* stage of the deciding verdict */
	int64_t ms;                      /* from MAIL FROM to the end */
	const char *decided_by;          /* the check behind reply, or NULL */
};

struct db_check_row {
	int64_t conn_id;
	int64_t msg_id; /* 0 when the check belongs to the connection only */
	struct timespec time;
	const char *stage;  /* connect, helo, mail, rcpt, data, eom */
	const char *name;   /* restriction name, e.g. check_client_access */
	const char *result; /* pass, fail, temp, skip */
	const char *action; /* permit, reject, defer, dunno, warn, none */
	const char *detail; /* free text, may be NULL */
	double ms;
};

struct db_log;

/* Called by the writer thread, not under any lock of the caller, when
 * rows could not be stored: lost is the running total, reason the last
 * SQLite error. Must be thread-safe and must not call db_log_*. */
typedef void db_log_report_fn(void *arg, uint64_t lost, const char *reason);

struct db_log_options {
	unsigned batch_max; /* rows per transaction, default 256 */
	unsigned queue_max; /* rows queued before new ones are lost, default 100000 */
	db_log_report_fn *report; /* may be NULL */
	void *report_arg;
};

/* Open the database (migrating it) and start the writer thread. opt may
 * be NULL for the defaults. Returns NULL with a malloc'd *error_r when
 * the database cannot be opened or migrated. */
struct db_log *db_log_start(const char *path, const struct db_log_options *opt,
                            char **error_r);

/* Queue one row. The strings are copied; the call never blocks on I/O. */
void db_log_connection(struct db_log *log, const struct db_connection_row *row);
void db_log_message(struct db_log *log, const struct db_message_row *row);
void db_log_check(struct db_log *log, const struct db_check_row *row);

struct db_log_stats {
	uint64_t queued;  /* rows accepted by db_log_* */
	uint64_t written; /* rows committed */
	uint64_t lost;    /* rows given up on (queue full or write failed) */
};
void db_log_get_stats(struct db_log *log, struct db_log_stats *stats_r);

/* Wait until every row queued before this call is committed or counted
 * as lost. */
void db_log_flush(struct db_log *log);

/* Flush, stop the writer thread, close the database and free everything.
 * NULL is allowed. */
void db_log_stop(struct db_log *log);

#endif
