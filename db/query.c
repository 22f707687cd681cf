/*
 * query: the read-only questions of "posternctl log", "explain" and
 * "stats" over the verdict log (see query.h). Plain SELECTs over one
 * connection opened by db_open, each answer read inside one deferred
 * transaction (BEGIN ... ROLLBACK), so the daemon's writer can go on
 * committing and the answer still comes from one snapshot.
 *
 * The SQL leans on the indexes of schema version 1: messages(time),
 * messages(queue_id), messages(conn_id), connections(client_addr),
 * checks(time), checks(conn_id), checks(msg_id). A connection refused
 * before MAIL FROM is found from its checks rows (by time), not by
 * scanning connections, which have no time index.
 *
 * It is not the log writer (log.c) and decides nothing about what the
 * admin typed: posternctl turns that into the forms stored here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db/db_internal.h"
#include "db/query.h"
#include "lib/arena.h"
#include "lib/xalloc.h"

struct query {
	sqlite3 *db;
	char *path;
};

static int
q_fail(struct query *q, const char *what, char **error_r)
{
	return db_fail(q->db, q->path, what, error_r);
}

int
query_open(const char *path, struct query **q_r, char **error_r)
{
	struct query *q;
	sqlite3 *db;

	if (db_open(path, DB_OPEN_BUSY_TIMEOUT_MS, &db, error_r) < 0)
		return -1;
	q = xcalloc(1, sizeof(*q));
	q->db = db;
	q->path = xstrdup(path);
	*q_r = q;
	return 0;
}

void
query_close(struct query *q)
{
	if (q == NULL)
		return;
	sqlite3_close(q->db);
	free(q->path);
	free(q);
}

/* ---- statements and transactions ---- */

static sqlite3_stmt *
prepare(struct query *q, const char *sql, char **error_r)
{
	return db_prepare(q->db, q->path, sql, error_r);
}

static int
read_begin(struct query *q, char **error_r)
{
	if (sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return q_fail(q, "starting a read transaction", error_r);
	return 0;
}

/* End the read transaction and return rc. */
static int
read_end(struct query *q, int rc)
{
	if (!sqlite3_get_autocommit(q->db))
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* A text column copied into the arena, or NULL. */
static const char *
col_str(struct arena *a, sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);

	return t ? arena_strdup(a, (const char *)t) : NULL;
}

static uint64_t
col_count(sqlite3_stmt *st, int c)
{
	sqlite3_int64 v = sqlite3_column_int64(st, c);

	return v < 0 ? 0 : (uint64_t)v;
}

/* Reads the current row of st into row (size bytes, zeroed). */
typedef void read_row_fn(struct arena *a, sqlite3_stmt *st, void *row);

/* Step st to its end, reading each row with read into a new array in
 * the arena (NULL when there are none; *n_r counts them). Finalizes st.
 * Returns 0, or -1 with *error_r. */
static int
collect(struct query *q, struct arena *a, sqlite3_stmt *st, size_t size,
        read_row_fn *read, const char *what, void **rows_r, size_t *n_r, char **error_r)
{
	char *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = xgrow(rows, &cap, n + 1, size);
		memset(rows + n * size, 0, size);
		read(a, st, rows + n * size);
		n++;
	}
	sqlite3_finalize(st);
	*rows_r = NULL;
	*n_r = 0;
	if (rc != SQLITE_DONE) {
		free(rows);
		return q_fail(q, what, error_r);
	}
	if (n > 0) {
		*rows_r = arena_alloc(a, n * size);
		memcpy(*rows_r, rows, n * size);
	}
	free(rows);
	*n_r = n;
	return 0;
}

/* Reverse an array of n elements of size bytes. */
static void
reverse(void *rows, size_t n, size_t size)
{
	char *p = rows, *tmp = xmalloc(size ? size : 1);

	for (size_t i = 0; i < n / 2; i++) {
		memcpy(tmp, p + i * size, size);
		memcpy(p + i * size, p + (n - 1 - i) * size, size);
		memcpy(p + (n - 1 - i) * size, tmp, size);
	}
	free(tmp);
}

/* Binds the parameters of a statement from arg. */
typedef void bind_fn(sqlite3_stmt *st, const void *arg);

/* Run the query sql, bound by bind from arg, in a read transaction, and
 * collect its rows as collect() does. */
static int
select_rows(struct query *q, struct arena *a, const char *sql, bind_fn *bind,
            const void *arg, size_t size, read_row_fn *read, const char *what,
            void **rows_r, size_t *n_r, char **error_r)
{
	sqlite3_stmt *st = NULL;
	int rc = read_begin(q, error_r);

	*rows_r = NULL;
	*n_r = 0;
	if (rc == 0 && (st = prepare(q, sql, error_r)) == NULL)
		rc = -1;
	if (rc == 0) {
		bind(st, arg);
		rc = collect(q, a, st, size, read, what, rows_r, n_r, error_r);
	}
	return read_end(q, rc);
}

/* The limit of a query: -1 for none. */
static sqlite3_int64
sql_limit(unsigned limit)
{
	return limit ? (sqlite3_int64)limit : -1;
}

/* ---- log lines ---- */

/* The conditions on a checks row k that refused its connection before
 * MAIL FROM; the last such row of a connection without messages makes
 * its log line. */
#define EARLY_REFUSAL                                                                    \
	"k.msg_id IS NULL AND k.stage IN ('connect', 'helo')"                            \
	" AND k.action IN ('reject', 'defer')"
#define EARLY_LINE                                                                       \
	EARLY_REFUSAL                                                                    \
	" AND k.id = (SELECT max(k2.id) FROM checks k2 WHERE k2.conn_id = k.conn_id"     \
	" AND k2.msg_id IS NULL AND k2.stage IN ('connect', 'helo')"                     \
	" AND k2.action IN ('reject', 'defer'))"                                         \
	" AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conn_id = k.conn_id)"

/* The columns of a line, as read_line reads them. */
#define MESSAGE_COLUMNS                                                                  \
	"m.conn_id, m.id, m.time, c.client_addr, c.client_name, c.ptr_name,"             \
	" m.queue_id, m.helo, m.sender, m.recipients, m.rejected_recipients, m.auth,"    \
	" m.action, m.reply, m.stage, m.decided_by, m.size, m.ms"
#define EARLY_COLUMNS                                                                    \
	"k.conn_id, 0, k.time, c.client_addr, c.client_name, c.ptr_name,"                \
	" NULL, NULL, NULL, NULL, NULL, NULL,"                                           \
	" k.action, NULL, k.stage, k.name, -1, -1"

static void
read_line(struct arena *a, sqlite3_stmt *st, void *row)
{
	struct query_line *l = row;
	int c = 0;

	l->conn_id = sqlite3_column_int64(st, c++);
	l->msg_id = sqlite3_column_int64(st, c++);
	l->time = col_str(a, st, c++);
	l->client_addr = col_str(a, st, c++);
	l->client_name = col_str(a, st, c++);
	l->ptr_name = col_str(a, st, c++);
	l->queue_id = col_str(a, st, c++);
	l->helo = col_str(a, st, c++);
	l->sender = col_str(a, st, c++);
	l->recipients = col_str(a, st, c++);
	l->rejected_recipients = col_str(a, st, c++);
	l->auth = col_str(a, st, c++);
	l->action = col_str(a, st, c++);
	l->reply = col_str(a, st, c++);
	l->stage = col_str(a, st, c++);
	l->decided_by = col_str(a, st, c++);
	l->size =
	    sqlite3_column_type(st, c) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, c);
	c++;
	l->ms =
	    sqlite3_column_type(st, c) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, c);
}

/* The parameters of the filter in the SQL of log_sql. */
enum { P_SINCE = 1, P_CLIENT, P_SENDER, P_ACTION, P_CHECK, P_DECIDED, P_QID, P_LIMIT };

/* The conditions of the message arm (m, c). */
static char *
message_conditions(const struct query_filter *f)
{
	const char *sender = "";

	if (f->sender != NULL)
		sender = f->sender[0] == '@'
		             ? " AND lower(substr(m.sender, -length(?3))) = lower(?3)"
		             : " AND lower(m.sender) = lower(?3)";
	return xasprintf(
	    "%s%s%s%s%s%s%s", f->since ? " AND m.time >= ?1" : "",
	    f->client ? " AND c.client_addr = ?2" : "", sender,
	    f->action ? " AND m.action = ?4" : "",
	    f->check ? " AND (EXISTS (SELECT 1 FROM checks k WHERE k.msg_id = m.id"
	               " AND k.name = ?5) OR EXISTS (SELECT 1 FROM checks k"
	               " WHERE k.conn_id = m.conn_id AND k.msg_id IS NULL"
	               " AND k.name = ?5))"
	             : "",
	    f->decided_by ? " AND m.decided_by = ?6" : "",
	    f->queue_id ? " AND m.queue_id = ?7" : "");
}

/* The conditions of the arm of connections refused early (k, c). */
static char *
early_conditions(const struct query_filter *f)
{
	return xasprintf("%s%s%s%s%s", f->since ? " AND k.time >= ?1" : "",
	                 f->client ? " AND c.client_addr = ?2" : "",
	                 f->action ? " AND k.action = ?4" : "",
	                 f->check ? " AND EXISTS (SELECT 1 FROM checks k3"
	                            " WHERE k3.conn_id = k.conn_id"
	                            " AND k3.msg_id IS NULL AND k3.name = ?5)"
	                          : "",
	                 f->decided_by ? " AND k.name = ?6" : "");
}

/* Connection lines can pass the filter: they have no sender, queue id
 * or accepted action. */
static bool
early_can_match(const struct query_filter *f)
{
	return f->sender == NULL && f->queue_id == NULL &&
	       (f->action == NULL || strcmp(f->action, "reject") == 0 ||
	        strcmp(f->action, "defer") == 0);
}

/* The newest lines first; each arm is limited on its own, so that the
 * time index serves it. */
static char *
log_sql(const struct query_filter *f)
{
	char *mc = message_conditions(f), *ec = NULL, *early = NULL, *sql;

	if (early_can_match(f)) {
		ec = early_conditions(f);
		early =
		    xasprintf(" UNION ALL SELECT * FROM (SELECT " EARLY_COLUMNS
		              " FROM checks k LEFT JOIN connections c ON c.id = k.conn_id"
		              " WHERE " EARLY_LINE "%s"
		              " ORDER BY k.time DESC, k.id DESC LIMIT ?8)",
		              ec);
	}
	sql = xasprintf("SELECT * FROM (SELECT " MESSAGE_COLUMNS
	                " FROM messages m LEFT JOIN connections c ON c.id = m.conn_id"
	                " WHERE 1%s ORDER BY m.time DESC, m.id DESC LIMIT ?8)%s"
	                " ORDER BY 3 DESC, 1 DESC, 2 DESC LIMIT ?8",
	                mc, early ? early : "");
	free(mc);
	free(ec);
	free(early);
	return sql;
}

static void
bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static void
bind_filter(sqlite3_stmt *st, const void *arg)
{
	const struct query_filter *f = arg;

	bind_opt(st, P_SINCE, f->since);
	bind_opt(st, P_CLIENT, f->client);
	bind_opt(st, P_SENDER, f->sender);
	bind_opt(st, P_ACTION, f->action);
	bind_opt(st, P_CHECK, f->check);
	bind_opt(st, P_DECIDED, f->decided_by);
	bind_opt(st, P_QID, f->queue_id);
	sqlite3_bind_int64(st, P_LIMIT, sql_limit(f->limit));
}

int
query_log(struct query *q, const struct query_filter *f, struct query_lines *lines_r,
          char **error_r)
{
	char *sql = log_sql(f);
	void *rows;
	int rc;

	memset(lines_r, 0, sizeof(*lines_r));
	lines_r->arena = arena_new();
	rc =
	    select_rows(q, lines_r->arena, sql, bind_filter, f, sizeof(struct query_line),
	                read_line, "reading the log", &rows, &lines_r->n, error_r);
	free(sql);
	lines_r->v = rows;
	if (rc < 0)
		query_lines_free(lines_r);
	reverse(lines_r->v, lines_r->n, sizeof(struct query_line));
	return rc;
}

void
query_lines_free(struct query_lines *lines)
{
	arena_free(lines->arena);
	memset(lines, 0, sizeof(*lines));
}

/* ---- explain ---- */

#define CHECK_COLUMNS "id, msg_id, time, stage, name, result, action, detail, ms"

static void
read_check(struct arena *a, sqlite3_stmt *st, void *row)
{
	struct query_check *k = row;

	k->id = sqlite3_column_int64(st, 0);
	k->msg_id = sqlite3_column_int64(st, 1);
	k->time = col_str(a, st, 2);
	k->stage = col_str(a, st, 3);
	k->name = col_str(a, st, 4);
	k->result = col_str(a, st, 5);
	k->action = col_str(a, st, 6);
	k->detail = col_str(a, st, 7);
	k->ms = sqlite3_column_double(st, 8);
}

/* The checks rows where column = id (and, for a connection, without a
 * message), in time order. */
static int
load_checks(struct query *q, struct arena *a, const char *where, int64_t id,
            struct query_check **checks_r, size_t *n_r, char **error_r)
{
	char *sql = xasprintf("SELECT " CHECK_COLUMNS " FROM checks WHERE %s"
	                      " ORDER BY time, id",
	                      where);
	sqlite3_stmt *st = prepare(q, sql, error_r);
	void *rows;
	int rc;

	free(sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = collect(q, a, st, sizeof(struct query_check), read_check, "reading checks",
	             &rows, n_r, error_r);
	*checks_r = rows;
	return rc;
}

/* One message: its row (when logged) and its checks. */
static int
load_message(struct query *q, struct arena *a, int64_t conn_id, int64_t id,
             struct query_message *msg, char **error_r)
{
	sqlite3_stmt *st = prepare(q,
	                           "SELECT " MESSAGE_COLUMNS " FROM messages m"
	                           " LEFT JOIN connections c ON c.id = m.conn_id"
	                           " WHERE m.id = ?1",
	                           error_r);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	msg->logged = rc == SQLITE_ROW;
	if (msg->logged)
		read_line(a, st, &msg->m);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return q_fail(q, "reading a message", error_r);
	if (!msg->logged) {
		msg->m.conn_id = conn_id;
		msg->m.msg_id = id;
		msg->m.size = msg->m.ms = -1;
	}
	return load_checks(q, a, "msg_id = ?1", id, &msg->checks, &msg->nchecks, error_r);
}

/* The ids of every message of a connection, logged or only named by
 * checks rows, in time order. */
static int
connection_message_ids(struct query *q, int64_t conn_id, int64_t **ids_r, size_t *n_r,
                       char **error_r)
{
	sqlite3_stmt *st =
	    prepare(q,
	            "SELECT id FROM (SELECT id, time FROM messages WHERE conn_id = ?1"
	            " UNION ALL SELECT msg_id, time FROM checks WHERE conn_id = ?1"
	            " AND msg_id IS NOT NULL) GROUP BY id ORDER BY min(time), id",
	            error_r);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, conn_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids = xgrow(ids, &cap, n + 1, sizeof(*ids));
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	*ids_r = ids;
	*n_r = n;
	if (rc != SQLITE_DONE)
		return q_fail(q, "reading the messages of a connection", error_r);
	return 0;
}

static int
load_connection_row(struct query *q, struct arena *a, struct query_connection *c,
                    char **error_r)
{
	sqlite3_stmt *st =
	    prepare(q,
	            "SELECT time, client_addr, client_port, client_name, daemon_name,"
	            " bypass, ptr_name, iprev, (SELECT helo FROM messages"
	            " WHERE conn_id = ?1 AND helo IS NOT NULL ORDER BY time, id LIMIT 1)"
	            " FROM connections WHERE id = ?1",
	            error_r);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	rc = sqlite3_step(st);
	c->logged = rc == SQLITE_ROW;
	if (c->logged) {
		c->time = col_str(a, st, 0);
		c->client_addr = col_str(a, st, 1);
		c->client_port = sqlite3_column_int(st, 2);
		c->client_name = col_str(a, st, 3);
		c->daemon_name = col_str(a, st, 4);
		c->bypass = col_str(a, st, 5);
		c->ptr_name = col_str(a, st, 6);
		c->iprev = col_str(a, st, 7);
		c->helo = col_str(a, st, 8);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return q_fail(q, "reading a connection", error_r);
	return 0;
}

/* A connection with the messages of ids (n of them), or with all its
 * messages when ids is NULL. */
static int
load_connection(struct query *q, struct arena *a, int64_t conn_id, const int64_t *ids,
                size_t n, struct query_connection *c, char **error_r)
{
	int64_t *all = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	c->id = conn_id;
	if (load_connection_row(q, a, c, error_r) < 0 ||
	    load_checks(q, a, "conn_id = ?1 AND msg_id IS NULL", conn_id, &c->checks,
	                &c->nchecks, error_r) < 0)
		return -1;
	if (ids == NULL) {
		if (connection_message_ids(q, conn_id, &all, &n, error_r) < 0)
			return -1;
		ids = all;
	}
	c->messages = n ? arena_alloc(a, n * sizeof(*c->messages)) : NULL;
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = load_message(q, a, conn_id, ids[i], &c->messages[i], error_r);
	c->nmessages = n;
	free(all);
	return rc;
}

/* The (message id, connection id) pairs of a query whose ?1 is the id
 * as text (queue id) or number, in time order. */
static int
find_pairs(struct query *q, const char *sql, const char *text, int64_t number,
           int64_t **pairs_r, size_t *n_r, char **error_r)
{
	sqlite3_stmt *st = prepare(q, sql, error_r);
	int64_t *pairs = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*pairs_r = NULL;
	*n_r = 0;
	if (st == NULL)
		return -1;
	if (text != NULL)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(st, 1, number);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		pairs = xgrow(pairs, &cap, 2 * (n + 1), sizeof(*pairs));
		pairs[2 * n] = sqlite3_column_int64(st, 0);
		pairs[2 * n + 1] = sqlite3_column_int64(st, 1);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(pairs);
		return q_fail(q, "looking the id up", error_r);
	}
	*pairs_r = pairs;
	*n_r = n;
	return 0;
}

/* id as a positive decimal int64, or 0. */
static int64_t
parse_id(const char *id)
{
	char *end;
	long long v;

	if (*id < '0' || *id > '9')
		return 0;
	errno = 0;
	v = strtoll(id, &end, 10);
	return errno == 0 && *end == '\0' && v > 0 ? (int64_t)v : 0;
}

/* The messages the id names, as (message, connection) pairs in time
 * order, tried as each kind of id in turn: a queue id (its ?1 as text),
 * a message id, a connection id (one pair: 0 and the connection). */
static const char *const resolve_sql[] = {
    [QUERY_ID_QUEUE] = "SELECT id, conn_id FROM messages WHERE queue_id = ?1"
                       " ORDER BY time, id",
    [QUERY_ID_MESSAGE] = "SELECT ?1, conn_id FROM (SELECT conn_id FROM messages"
                         " WHERE id = ?1 UNION ALL SELECT conn_id FROM checks"
                         " WHERE msg_id = ?1) LIMIT 1",
    [QUERY_ID_CONNECTION] = "SELECT 0, ?1 WHERE EXISTS (SELECT 1 FROM connections"
                            " WHERE id = ?1) OR EXISTS (SELECT 1 FROM messages"
                            " WHERE conn_id = ?1) OR EXISTS (SELECT 1 FROM checks"
                            " WHERE conn_id = ?1)",
};

static int
resolve_id(struct query *q, const char *id, enum query_id_kind *kind_r, int64_t **pairs_r,
           size_t *n_r, char **error_r)
{
	int64_t number = parse_id(id);

	for (int k = QUERY_ID_QUEUE; k <= QUERY_ID_CONNECTION; k++) {
		if (k != QUERY_ID_QUEUE && number == 0)
			break;
		if (find_pairs(q, resolve_sql[k], k == QUERY_ID_QUEUE ? id : NULL, number,
		               pairs_r, n_r, error_r) < 0)
			return -1;
		if (*n_r > 0) {
			*kind_r = (enum query_id_kind)k;
			return 0;
		}
		free(*pairs_r);
		*pairs_r = NULL;
	}
	return 0;
}

/* Build the story of the pairs: one connection per distinct connection
 * id, in the order of its first pair, with the messages of its pairs. */
static int
load_story(struct query *q, struct query_story *s, const int64_t *pairs, size_t n,
           char **error_r)
{
	int64_t *ids = xcalloc(n ? n : 1, sizeof(*ids));
	int rc = 0;

	s->conns = arena_alloc(s->arena, n * sizeof(*s->conns));
	for (size_t i = 0; i < n && rc == 0; i++) {
		int64_t conn = pairs[2 * i + 1];
		size_t nids = 0;
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen = seen || pairs[2 * j + 1] == conn;
		if (seen)
			continue;
		for (size_t j = i; j < n; j++)
			if (pairs[2 * j + 1] == conn)
				ids[nids++] = pairs[2 * j];
		rc = load_connection(q, s->arena, conn,
		                     s->kind == QUERY_ID_CONNECTION ? NULL : ids, nids,
		                     &s->conns[s->n++], error_r);
	}
	free(ids);
	return rc;
}

int
query_explain(struct query *q, const char *id, struct query_story *story_r,
              char **error_r)
{
	int64_t *pairs = NULL;
	size_t n = 0;
	int rc;

	memset(story_r, 0, sizeof(*story_r));
	story_r->arena = arena_new();
	rc = read_begin(q, error_r);
	if (rc == 0)
		rc = resolve_id(q, id, &story_r->kind, &pairs, &n, error_r);
	if (rc == 0 && n == 0)
		rc = 1;
	else if (rc == 0)
		rc = load_story(q, story_r, pairs, n, error_r);
	free(pairs);
	rc = read_end(q, rc);
	if (rc < 0)
		query_story_free(story_r);
	return rc;
}

void
query_story_free(struct query_story *story)
{
	arena_free(story->arena);
	memset(story, 0, sizeof(*story));
}

/* ---- statistics ---- */

/* The log lines at or after ?1 (when since), as a common table. */
static char *
lines_cte(bool since)
{
	return xasprintf(
	    "WITH lines AS (SELECT m.time AS time, m.conn_id AS conn_id,"
	    " m.action AS action, m.decided_by AS decided_by"
	    " FROM messages m%s UNION ALL SELECT k.time, k.conn_id, k.action,"
	    " k.name FROM checks k WHERE " EARLY_LINE "%s)",
	    since ? " WHERE m.time >= ?1" : "", since ? " AND k.time >= ?1" : "");
}

#define LINE_ACTIONS                                                                     \
	" sum(l.action = 'accept'), sum(l.action = 'reject'),"                           \
	" sum(l.action = 'defer'), sum(l.action = 'aborted')"

static void
read_actions(sqlite3_stmt *st, int c, struct query_stat *s)
{
	s->accept = col_count(st, c);
	s->reject = col_count(st, c + 1);
	s->defer = col_count(st, c + 2);
	s->aborted = col_count(st, c + 3);
}

static void
read_by_action(struct arena *a, sqlite3_stmt *st, void *row)
{
	struct query_stat *s = row;

	s->key = col_str(a, st, 0);
	s->lines = col_count(st, 1);
}

static void
read_by_client(struct arena *a, sqlite3_stmt *st, void *row)
{
	struct query_stat *s = row;

	read_by_action(a, st, row);
	read_actions(st, 2, s);
	s->connections = col_count(st, 6);
}

static void
read_by_hour(struct arena *a, sqlite3_stmt *st, void *row)
{
	read_by_action(a, st, row);
	read_actions(st, 2, row);
}

static void
read_by_check(struct arena *a, sqlite3_stmt *st, void *row)
{
	struct query_stat *s = row;

	s->key = col_str(a, st, 0);
	s->runs = col_count(st, 1);
	s->pass = col_count(st, 2);
	s->fail = col_count(st, 3);
	s->temp = col_count(st, 4);
	s->skip = col_count(st, 5);
	s->rejects = col_count(st, 6);
	s->defers = col_count(st, 7);
	s->warns = col_count(st, 8);
	s->decided = col_count(st, 9);
	s->ms = sqlite3_column_double(st, 10);
}

/* One way to count: the query after the lines table, in three parts:
 * head, the condition on time when there is a since (of the
 * connections or checks it reads beside the lines), tail; and its
 * reader. */
struct stats_kind {
	const char *head, *since, *tail;
	read_row_fn *read;
	bool newest_first; /* the query's order, to be reversed */
};

static const struct stats_kind stats_kinds[] = {
    [QUERY_BY_ACTION] = {" SELECT action, count(*) FROM lines GROUP BY action"
                         " ORDER BY count(*) DESC, action LIMIT ?2",
                         "", "", read_by_action, false},
    [QUERY_BY_CLIENT] = {" SELECT c.client_addr, count(*)," LINE_ACTIONS
                         ", (SELECT count(*) FROM connections c2"
                         " WHERE c2.client_addr = c.client_addr",
                         " AND c2.time >= ?1",
                         ") FROM lines l LEFT JOIN connections c ON c.id = l.conn_id"
                         " GROUP BY c.client_addr ORDER BY count(*) DESC,"
                         " sum(l.action IN ('reject', 'defer')) DESC, c.client_addr"
                         " LIMIT ?2",
                         read_by_client, false},
    [QUERY_BY_HOUR] = {" SELECT substr(l.time, 1, 13), count(*)," LINE_ACTIONS
                       " FROM lines l GROUP BY 1 ORDER BY 1 DESC LIMIT ?2",
                       "", "", read_by_hour, true},
    [QUERY_BY_CHECK] = {", decided AS (SELECT decided_by AS name, count(*) AS n"
                        " FROM lines WHERE decided_by IS NOT NULL GROUP BY decided_by)"
                        " SELECT k.name, count(*), sum(k.result = 'pass'),"
                        " sum(k.result = 'fail'), sum(k.result = 'temp'),"
                        " sum(k.result = 'skip'), sum(k.action = 'reject'),"
                        " sum(k.action = 'defer'), sum(k.action = 'warn'),"
                        " coalesce((SELECT n FROM decided d WHERE d.name = k.name), 0),"
                        " total(k.ms) FROM checks k",
                        " WHERE k.time >= ?1",
                        " GROUP BY k.name ORDER BY sum(k.action IN ('reject', 'defer'))"
                        " DESC, count(*) DESC, k.name LIMIT ?2",
                        read_by_check, false},
};

static char *
stats_sql(enum query_by by, bool since)
{
	const struct stats_kind *k = &stats_kinds[by];
	char *cte = lines_cte(since);
	char *sql = xasprintf("%s%s%s%s", cte, k->head, since ? k->since : "", k->tail);

	free(cte);
	return sql;
}

struct stats_args {
	const char *since;
	unsigned limit;
};

static void
bind_stats(sqlite3_stmt *st, const void *arg)
{
	const struct stats_args *sa = arg;

	bind_opt(st, 1, sa->since);
	sqlite3_bind_int64(st, 2, sql_limit(sa->limit));
}

int
query_stats(struct query *q, enum query_by by, const char *since, unsigned limit,
            struct query_stats *stats_r, char **error_r)
{
	struct stats_args sa = {since, limit};
	char *sql = stats_sql(by, since != NULL);
	void *rows;
	int rc;

	memset(stats_r, 0, sizeof(*stats_r));
	stats_r->arena = arena_new();
	rc = select_rows(q, stats_r->arena, sql, bind_stats, &sa,
	                 sizeof(struct query_stat), stats_kinds[by].read, "counting",
	                 &rows, &stats_r->n, error_r);
	free(sql);
	stats_r->v = rows;
	if (rc < 0)
		query_stats_free(stats_r);
	if (stats_kinds[by].newest_first)
		reverse(stats_r->v, stats_r->n, sizeof(struct query_stat));
	return rc;
}

void
query_stats_free(struct query_stats *stats)
{
	arena_free(stats->arena);
	memset(stats, 0, sizeof(*stats));
}
