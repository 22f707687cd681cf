/*
 * log: the verdict log writer. Callers (milter threads) copy a row into
 * one heap record and append it to a queue under a mutex; they never
 * wait for the disk. One writer thread takes up to batch_max records at
 * a time (waiting a millisecond for more when fewer are queued) and
 * inserts them in one BEGIN IMMEDIATE ... COMMIT. When the
 * database is busy, full, read-only or failing, the batch is rolled
 * back and tried again a few times with a growing pause; after that its
 * rows are counted as lost, the report callback hears about it, and the
 * writer goes on with the next batch, so mail keeps flowing while the
 * disk is full and the log resumes when it is not. At shutdown, once a
 * batch has failed so, the rest of the queue is counted lost at once:
 * retrying it batch by batch could keep the daemon from exiting for
 * minutes. A row that SQLite refuses for itself (a duplicate id, say) is
 * lost alone; the rest of its batch is written.
 *
 * Sequence numbers make flushing exact: every queued row has a place in
 * the order (enqueued), the writer advances `finished` past each batch
 * it has committed or given up, and db_log_flush() waits until
 * `finished` reaches the count it saw on entry. The writer calls the
 * report callback before it advances `finished`, so when a flush
 * returns, every loss before it has been reported.
 *
 * This is not the schema (db.c) and not a general SQLite wrapper. It
 * never logs and never exits.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_internal.h"
#include "lib/xalloc.h"

enum rec_kind { REC_CONNECTION, REC_MESSAGE, REC_CHECK, REC_NKINDS };

/* How long the writer waits for more rows before a batch that is not
 * full. */
#define LOG_GATHER_MS 1

/* One queued row, its strings in the same allocation after it. */
struct rec {
	struct rec *next;
	enum rec_kind kind;
	union {
		struct db_connection_row conn;
		struct db_message_row msg;
		struct db_check_row check;
	} row;
	char strings[];
};

struct db_log {
	sqlite3 *db;
	sqlite3_stmt *insert[REC_NKINDS];
	sqlite3_stmt *begin, *commit, *rollback;
	struct db_log_tuning tune;
	unsigned batch_max, queue_max;
	db_log_report_fn *report;
	void *report_arg;
	pthread_t thread;

	/* Under lock. */
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* the writer: rows queued, or stopping */
	pthread_cond_t progress; /* flushers: `finished` moved */
	struct rec *head, **tailp;
	unsigned count;    /* rows in the queue, not those being written */
	uint64_t enqueued; /* rows that ever entered the queue */
	uint64_t finished; /* of those, rows committed or counted lost */
	int stopping;
	struct db_log_stats stats;
	uint64_t lost_reported; /* stats.lost at the last report */

	/* The writer thread's own. */
	char reason[256]; /* the last error */
};

struct rec_kind_info {
	const char *sql;
	size_t row_size;
	const size_t *strings; /* offsets of the row's const char * fields */
	size_t nstrings;
};

static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Ids: 0 means "none" and is stored as NULL. */
static int
bind_id(sqlite3_stmt *st, int i, int64_t id)
{
	if (id == 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_int64(st, i, id);
}

static int
bind_time(sqlite3_stmt *st, int i, const struct timespec *t, char buf[DB_TIME_LEN])
{
	db_format_time(t, buf);
	return sqlite3_bind_text(st, i, buf, -1, SQLITE_STATIC);
}

static const size_t conn_strings[] = {
    offsetof(struct db_connection_row, client_addr),
    offsetof(struct db_connection_row, client_name),
    offsetof(struct db_connection_row, daemon_name),
    offsetof(struct db_connection_row, bypass),
    offsetof(struct db_connection_row, ptr_name),
    offsetof(struct db_connection_row, iprev),
};

int
db_bind_connection(sqlite3_stmt *st, const struct db_connection_row *c,
                   char time_buf[DB_TIME_LEN])
{
	int rc = SQLITE_OK;

	rc |= bind_id(st, 1, c->id);
	rc |= bind_time(st, 2, &c->time, time_buf);
	rc |= bind_text(st, 3, c->client_addr);
	rc |= sqlite3_bind_int(st, 4, c->client_port);
	rc |= bind_text(st, 5, c->client_name);
	rc |= bind_text(st, 6, c->daemon_name);
	rc |= bind_text(st, 7, c->bypass);
	rc |= bind_text(st, 8, c->ptr_name);
	rc |= bind_text(st, 9, c->iprev);
	return rc;
}

static const size_t msg_strings[] = {
    offsetof(struct db_message_row, queue_id),
    offsetof(struct db_message_row, helo),
    offsetof(struct db_message_row, sender),
    offsetof(struct db_message_row, recipients),
    offsetof(struct db_message_row, rejected_recipients),
    offsetof(struct db_message_row, auth),
    offsetof(struct db_message_row, action),
    offsetof(struct db_message_row, reply),
    offsetof(struct db_message_row, stage),
    offsetof(struct db_message_row, decided_by),
};

int
db_bind_message(sqlite3_stmt *st, const struct db_message_row *m,
                char time_buf[DB_TIME_LEN])
{
	int rc = SQLITE_OK;

	rc |= bind_id(st, 1, m->id);
	rc |= bind_id(st, 2, m->conn_id);
	rc |= bind_time(st, 3, &m->time, time_buf);
	rc |= bind_text(st, 4, m->queue_id);
	rc |= bind_text(st, 5, m->helo);
	rc |= bind_text(st, 6, m->sender);
	rc |= bind_text(st, 7, m->recipients);
	rc |= bind_text(st, 8, m->rejected_recipients);
	rc |= bind_text(st, 9, m->auth);
	rc |= sqlite3_bind_int64(st, 10, m->size);
	rc |= bind_text(st, 11, m->action);
	rc |= bind_text(st, 12, m->reply);
	rc |= bind_text(st, 13, m->stage);
	rc |= sqlite3_bind_int64(st, 14, m->ms);
	rc |= bind_text(st, 15, m->decided_by);
	return rc;
}

static const size_t check_strings[] = {
    offsetof(struct db_check_row, stage),  offsetof(struct db_check_row, name),
    offsetof(struct db_check_row, result), offsetof(struct db_check_row, action),
    offsetof(struct db_check_row, detail),
};

int
db_bind_check(sqlite3_stmt *st, const struct db_check_row *k, char time_buf[DB_TIME_LEN])
{
	int rc = SQLITE_OK;

	rc |= bind_id(st, 1, k->conn_id);
	rc |= bind_id(st, 2, k->msg_id);
	rc |= bind_time(st, 3, &k->time, time_buf);
	rc |= bind_text(st, 4, k->stage);
	rc |= bind_text(st, 5, k->name);
	rc |= bind_text(st, 6, k->result);
	rc |= bind_text(st, 7, k->action);
	rc |= bind_text(st, 8, k->detail);
	rc |= sqlite3_bind_double(st, 9, k->ms);
	return rc;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char db_insert_connection_sql[] =
    "INSERT INTO connections (id, time, client_addr, client_port,"
    " client_name, daemon_name, bypass, ptr_name, iprev)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const char db_insert_message_sql[] =
    "INSERT INTO messages (id, conn_id, time, queue_id, helo, sender,"
    " recipients, rejected_recipients, auth, size, action, reply,"
    " stage, ms, decided_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const char db_insert_check_sql[] =
    "INSERT INTO checks (conn_id, msg_id, time, stage, name,"
    " result, action, detail, ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const struct rec_kind_info kinds[REC_NKINDS] = {
    [REC_CONNECTION] = {db_insert_connection_sql, sizeof(struct db_connection_row),
                        conn_strings, NELEM(conn_strings)},
    [REC_MESSAGE] = {db_insert_message_sql, sizeof(struct db_message_row), msg_strings,
                     NELEM(msg_strings)},
    [REC_CHECK] = {db_insert_check_sql, sizeof(struct db_check_row), check_strings,
                   NELEM(check_strings)},
};

/* Copy a row and its strings into one allocation. */
static struct rec *
rec_new(enum rec_kind kind, const void *row)
{
	const struct rec_kind_info *k = &kinds[kind];
	size_t len[NELEM(msg_strings)], total = 0;
	struct rec *r;
	const char *s;
	char *p;

	for (size_t i = 0; i < k->nstrings; i++) {
		memcpy(&s, (const char *)row + k->strings[i], sizeof(s));
		len[i] = s ? strlen(s) + 1 : 0;
		total += len[i];
	}
	r = xmalloc(sizeof(*r) + total);
	r->next = NULL;
	r->kind = kind;
	memcpy(&r->row, row, k->row_size);
	p = r->strings;
	for (size_t i = 0; i < k->nstrings; i++) {
		char *field = (char *)&r->row + k->strings[i];

		if (len[i] == 0)
			continue;
		memcpy(&s, field, sizeof(s));
		memcpy(p, s, len[i]);
		s = p;
		memcpy(field, &s, sizeof(s));
		p += len[i];
	}
	return r;
}

static void
rec_free_list(struct rec *r)
{
	while (r != NULL) {
		struct rec *next = r->next;

		free(r);
		r = next;
	}
}

static void
log_enqueue(struct db_log *log, struct rec *r)
{
	pthread_mutex_lock(&log->lock);
	log->stats.queued++;
	if (log->count >= log->queue_max) {
		log->stats.lost++;
		pthread_mutex_unlock(&log->lock);
		free(r);
		return;
	}
	*log->tailp = r;
	log->tailp = &r->next;
	log->count++;
	log->enqueued++;
	pthread_cond_signal(&log->wake);
	pthread_mutex_unlock(&log->lock);
}

void
db_log_connection(struct db_log *log, const struct db_connection_row *row)
{
	log_enqueue(log, rec_new(REC_CONNECTION, row));
}

void
db_log_message(struct db_log *log, const struct db_message_row *row)
{
	log_enqueue(log, rec_new(REC_MESSAGE, row));
}

void
db_log_check(struct db_log *log, const struct db_check_row *row)
{
	log_enqueue(log, rec_new(REC_CHECK, row));
}

/* Under lock: detach up to max rows from the head of the queue. */
static struct rec *
log_take(struct db_log *log, unsigned max, unsigned *n_r)
{
	struct rec *batch = log->head, **pp = &log->head;
	unsigned n = 0;

	while (*pp != NULL && n < max) {
		pp = &(*pp)->next;
		n++;
	}
	log->head = *pp;
	*pp = NULL;
	if (log->head == NULL)
		log->tailp = &log->head;
	log->count -= n;
	*n_r = n;
	return batch;
}

/* Writer: step a prepared statement that returns no rows. */
static int
log_exec(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void
log_note_error(struct db_log *log)
{
	snprintf(log->reason, sizeof(log->reason), "%s", sqlite3_errmsg(log->db));
}

static int
log_insert(struct db_log *log, const struct rec *r)
{
	sqlite3_stmt *st = log->insert[r->kind];
	char time_buf[DB_TIME_LEN];
	int rc;

	/* A value SQLite cannot bind (too big) refuses this row alone. */
	switch (r->kind) {
	case REC_CONNECTION:
		rc = db_bind_connection(st, &r->row.conn, time_buf);
		break;
	case REC_MESSAGE:
		rc = db_bind_message(st, &r->row.msg, time_buf);
		break;
	default:
		rc = db_bind_check(st, &r->row.check, time_buf);
		break;
	}
	if (rc != SQLITE_OK)
		rc = SQLITE_TOOBIG;
	else
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		log_note_error(log);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One try at a batch. Returns SQLITE_OK when it is committed, with the
 * rows SQLite refused one by one in *refused_r; otherwise the
 * transaction is rolled back and the error returned. */
static int
log_try_batch(struct db_log *log, const struct rec *batch, unsigned *refused_r)
{
	int rc;

	*refused_r = 0;
	rc = log_exec(log->begin);
	if (rc != SQLITE_OK) {
		log_note_error(log);
		return rc;
	}
	for (const struct rec *r = batch; r != NULL; r = r->next) {
		rc = log_insert(log, r);
		if (rc == SQLITE_OK)
			continue;
		if (db_error_is_transient(rc))
			goto rollback;
		(*refused_r)++;
	}
	rc = log_exec(log->commit);
	if (rc == SQLITE_OK)
		return SQLITE_OK;
	log_note_error(log);
rollback:
	if (!sqlite3_get_autocommit(log->db))
		log_exec(log->rollback);
	return rc;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* Write a batch of n rows, retrying transient failures. Returns the rows
 * committed; the rest of the n are lost. *failed_r tells whether the
 * database, rather than single rows, refused. */
static unsigned
log_write_batch(struct db_log *log, const struct rec *batch, unsigned n, int *failed_r)
{
	unsigned pause = log->tune.backoff_ms, refused;
	int rc;

	*failed_r = 0;
	for (unsigned try = 0;; try++) {
		rc = log_try_batch(log, batch, &refused);
		if (rc == SQLITE_OK)
			return n - refused;
		if (!db_error_is_transient(rc) || try >= log->tune.retries)
			break;
		sleep_ms(pause);
		pause *= 2;
	}
	*failed_r = 1;
	return 0;
}

/* Under lock, returns with it held: tell the report callback about rows
 * lost since the last report, without holding the lock while it runs. */
static void
log_report(struct db_log *log, const char *reason)
{
	uint64_t lost = log->stats.lost;

	if (lost == log->lost_reported)
		return;
	log->lost_reported = lost;
	if (log->report == NULL)
		return;
	pthread_mutex_unlock(&log->lock);
	log->report(log->report_arg, lost, reason);
	pthread_mutex_lock(&log->lock);
}

static void *
log_writer(void *arg)
{
	struct db_log *log = arg;
	int failed = 0;

	pthread_mutex_lock(&log->lock);
	for (;;) {
		struct rec *batch;
		unsigned n, written = 0;
		int give_up;

		while (log->head == NULL && !log->stopping)
			pthread_cond_wait(&log->wake, &log->lock);
		if (log->head == NULL)
			break;
		/* Gather. A row seldom comes alone (a message brings a dozen,
		 * from several threads), and a transaction of one or two rows
		 * costs the writer three times the CPU per row of a full batch
		 * (tests/bench/run-log). Waiting a millisecond for the rest
		 * delays no callback: they never wait for the writer. */
		if (!log->stopping && log->count < log->batch_max) {
			pthread_mutex_unlock(&log->lock);
			sleep_ms(LOG_GATHER_MS);
			pthread_mutex_lock(&log->lock);
		}
		/* Stopping with a database that has just refused a whole
		 * batch: do not retry the rest batch by batch. */
		give_up = log->stopping && failed;
		batch = log_take(log, give_up ? UINT_MAX : log->batch_max, &n);
		pthread_mutex_unlock(&log->lock);

		if (!give_up)
			written = log_write_batch(log, batch, n, &failed);
		rec_free_list(batch);

		pthread_mutex_lock(&log->lock);
		log->stats.written += written;
		log->stats.lost += n - written;
		log_report(log, written < n ? log->reason : "verdict log queue full");
		log->finished += n;
		pthread_cond_broadcast(&log->progress);
	}
	pthread_mutex_unlock(&log->lock);
	return NULL;
}

static int
log_prepare(struct db_log *log, const char *path, char **error_r)
{
	static const char *const control[] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
	sqlite3_stmt **control_st[] = {&log->begin, &log->commit, &log->rollback};

	for (size_t i = 0; i < REC_NKINDS + NELEM(control); i++) {
		const char *sql = i < REC_NKINDS ? kinds[i].sql : control[i - REC_NKINDS];
		sqlite3_stmt **st =
		    i < REC_NKINDS ? &log->insert[i] : control_st[i - REC_NKINDS];

		if (sqlite3_prepare_v3(log->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
		                       NULL) != SQLITE_OK) {
			*error_r = xasprintf("%s: preparing \"%s\": %s", path, sql,
			                     sqlite3_errmsg(log->db));
			return -1;
		}
	}
	return 0;
}

/* Finalize the statements, close the database, free the log. */
static void
log_free(struct db_log *log)
{
	for (size_t i = 0; i < REC_NKINDS; i++)
		sqlite3_finalize(log->insert[i]);
	sqlite3_finalize(log->begin);
	sqlite3_finalize(log->commit);
	sqlite3_finalize(log->rollback);
	sqlite3_close(log->db);
	rec_free_list(log->head);
	pthread_cond_destroy(&log->progress);
	pthread_cond_destroy(&log->wake);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

/* Start the writer with every signal blocked, so that process signals
 * go to the threads that wait for them. */
static int
log_start_thread(struct db_log *log, char **error_r)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&log->thread, NULL, log_writer, log);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		*error_r =
		    xasprintf("starting the verdict log writer: %s", strerror(err));
		return -1;
	}
	return 0;
}

struct db_log *
db_log_start_tuned(const char *path, const struct db_log_options *opt,
                   const struct db_log_tuning *tune, char **error_r)
{
	static const struct db_log_tuning default_tune = {
	    DB_LOG_BUSY_TIMEOUT_MS, DB_LOG_RETRIES, DB_LOG_BACKOFF_MS};
	struct db_log *log = xcalloc(1, sizeof(*log));

	log->tune = tune ? *tune : default_tune;
	log->batch_max = opt && opt->batch_max ? opt->batch_max : DB_LOG_BATCH_MAX;
	log->queue_max = opt && opt->queue_max ? opt->queue_max : DB_LOG_QUEUE_MAX;
	log->report = opt ? opt->report : NULL;
	log->report_arg = opt ? opt->report_arg : NULL;
	log->tailp = &log->head;
	pthread_mutex_init(&log->lock, NULL);
	pthread_cond_init(&log->wake, NULL);
	pthread_cond_init(&log->progress, NULL);

	if (db_open(path, log->tune.busy_timeout_ms, &log->db, error_r) < 0 ||
	    log_prepare(log, path, error_r) < 0 || log_start_thread(log, error_r) < 0) {
		log_free(log);
		return NULL;
	}
	return log;
}

struct db_log *
db_log_start(const char *path, const struct db_log_options *opt, char **error_r)
{
	return db_log_start_tuned(path, opt, NULL, error_r);
}

void
db_log_get_stats(struct db_log *log, struct db_log_stats *stats_r)
{
	pthread_mutex_lock(&log->lock);
	*stats_r = log->stats;
	pthread_mutex_unlock(&log->lock);
}

void
db_log_flush(struct db_log *log)
{
	pthread_mutex_lock(&log->lock);
	for (uint64_t until = log->enqueued; log->finished < until;)
		pthread_cond_wait(&log->progress, &log->lock);
	pthread_mutex_unlock(&log->lock);
}

void
db_log_stop(struct db_log *log)
{
	if (log == NULL)
		return;
	pthread_mutex_lock(&log->lock);
	log->stopping = 1;
	pthread_cond_signal(&log->wake);
	pthread_mutex_unlock(&log->lock);
	pthread_join(log->thread, NULL);
	log_free(log);
}
