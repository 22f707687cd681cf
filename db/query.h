/*
 * query: the admin's read-only questions to the verdict log (tables
 * connections, messages and checks), for "posternctl log", "posternctl
 * explain" and "posternctl stats": what happened to a message, what a
 * client got, which check refuses most.
 *
 * A "log line" is a message (a messages row), or a connection that was
 * refused before any MAIL FROM: one whose connect or HELO checks (checks
 * rows without a message) refused it with reject or defer and which has
 * no messages row. Such a line has no sender, recipients or reply (the
 * database keeps no reply for a connection); its action, stage and
 * deciding check are those of the last refusing check row.
 *
 * Every function reads in one read transaction over a connection of its
 * own, opened by db_open as every store's is (so the schema is current),
 * and never writes. Times are the database's text ("2026-11-21T10:00:
 * 00.123Z", UTC), compared as text. Results live in an arena that the
 * matching _free function releases in one go (after -1 there is nothing
 * to free, and freeing again is harmless); their strings are NULL where
 * the column is NULL. Every function returns 0 (or 1 where it says so),
 * or -1 with a malloc'd reason in *error_r; none logs or exits.
 */
#ifndef POSTERN_DB_QUERY_H
#define POSTERN_DB_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct query;

/* Open the database at path, creating and migrating it as the daemon
 * would. Close with query_close (NULL is allowed). */
int query_open(const char *path, struct query **q_r, char **error_r);
void query_close(struct query *q);

/* ---- the log ---- */

/* Which lines query_log returns: those that pass every field that is
 * not NULL (or 0). */
struct query_filter {
	const char *since;      /* a database time: lines at or after it */
	const char *client;     /* client_addr as stored (canonical text) */
	const char *sender;     /* ignoring case; "" is the null sender, and
	                         * "@example.com" any sender of that domain;
	                         * connection lines never match */
	const char *action;     /* accept, reject, defer, aborted */
	const char *check;      /* a check of this name ran for the message or
	                         * its connection (any result) */
	const char *decided_by; /* the deciding check */
	const char *queue_id;   /* connection lines never match */
	unsigned limit;         /* only the newest this many lines */
};

struct query_line {
	int64_t conn_id;
	int64_t msg_id;   /* 0 for a connection refused before MAIL FROM */
	const char *time; /* of MAIL FROM, or of the refusal */
	const char *client_addr;
	const char *client_name; /* as the MTA gave it */
	const char *ptr_name;
	const char *queue_id;
	const char *helo;
	const char *sender;              /* "" for the null sender */
	const char *recipients;          /* the accepted ones, comma separated */
	const char *rejected_recipients; /* comma separated */
	const char *auth;
	const char *action;
	const char *reply;
	const char *stage;      /* of the decision */
	const char *decided_by; /* the check that refused; NULL when none did */
	int64_t size;           /* -1 when unknown (connection lines) */
	int64_t ms;             /* -1 when unknown (connection lines) */
};

struct query_lines {
	struct query_line *v;
	size_t n;
	struct arena *arena;
};

/* The lines that pass the filter, oldest first (by time, then id); with
 * a limit, the newest ones. Free with query_lines_free. */
int query_log(struct query *q, const struct query_filter *f, struct query_lines *lines_r,
              char **error_r);
void query_lines_free(struct query_lines *lines);

/* ---- one message's story ---- */

struct query_check {
	int64_t id;
	int64_t msg_id; /* 0 for a check of the connection (connect, HELO) */
	const char *time;
	const char *stage;
	const char *name;
	const char *result;
	const char *action;
	const char *detail;
	double ms;
};

struct query_message {
	/* Its fields as a log line. */
	struct query_line m;
	/* False when only checks rows name it: the message has not ended
	 * yet, or its row was lost. */
	bool logged;
	struct query_check *checks; /* in time order, then by row id */
	size_t nchecks;
};

struct query_connection {
	int64_t id;
	bool logged; /* false: only check or message rows name it */
	const char *time;
	const char *client_addr;
	int client_port;
	const char *client_name;
	const char *daemon_name;
	const char *bypass;
	const char *ptr_name;
	const char *iprev;
	const char *helo;           /* of its first message, else NULL */
	struct query_check *checks; /* its own (no message), in order */
	size_t nchecks;
	struct query_message *messages; /* in time order */
	size_t nmessages;
};

/* How query_explain understood the id it was given. */
enum query_id_kind { QUERY_ID_QUEUE, QUERY_ID_MESSAGE, QUERY_ID_CONNECTION };

struct query_story {
	enum query_id_kind kind;
	struct query_connection *conns; /* in time order */
	size_t n;
	struct arena *arena;
};

/* Everything the log knows about id, tried in this order: a queue id
 * (every message with it, each with its connection); a message id (the
 * message and its connection); a connection id (the connection and all
 * its messages). A connection comes with its own checks; a message with
 * its checks. Returns 0, 1 when nothing has that id, or -1. Free with
 * query_story_free (also after 1). */
int query_explain(struct query *q, const char *id, struct query_story *story_r,
                  char **error_r);
void query_story_free(struct query_story *story);

/* ---- statistics ---- */

enum query_by { QUERY_BY_ACTION, QUERY_BY_CHECK, QUERY_BY_CLIENT, QUERY_BY_HOUR };

/* One row of statistics. By action, client and hour, the counts are of
 * log lines; by check, of check rows (a check's refusal is counted once
 * per evaluation). */
struct query_stat {
	/* The action, check name, client address, or hour ("2026-11-21T10"). */
	const char *key;
	uint64_t lines;                          /* action, client, hour */
	uint64_t accept, reject, defer, aborted; /* client, hour */
	uint64_t connections;                  /* client: its connections in the period */
	uint64_t runs, pass, fail, temp, skip; /* check */
	uint64_t rejects, defers, warns;       /* check: its actions */
	uint64_t decided;                      /* check: log lines it decided */
	double ms;                             /* check: time spent in all runs */
};

struct query_stats {
	struct query_stat *v;
	size_t n;
	struct arena *arena;
};

/* The statistics of the lines (and, by check, the check rows) at or
 * after since (NULL: all). Ordered: by action, the most lines first; by
 * check, the most refusals (rejects and defers), then the most runs; by
 * client, the most lines, then the most refusals (at most limit rows, 0:
 * all); by hour, oldest first. Free with query_stats_free. */
int query_stats(struct query *q, enum query_by by, const char *since, unsigned limit,
                struct query_stats *stats_r, char **error_r);
void query_stats_free(struct query_stats *stats);

#endif
