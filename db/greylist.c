/*
 * greylist: the greylist and client-ban store (see greylist.h).
 *
 * A decision reads the client's row and the triplet's row, works out the
 * outcome and what to write, and writes only when something changed:
 * the usual answer for a known sender is a read and nothing else. A
 * write re-reads inside BEGIN IMMEDIATE, so two threads deciding the
 * same triplet at once cannot undo each other's count. last_seen is
 * refreshed at most once a minute per row (TOUCH_SECONDS), which keeps
 * busy triplets from writing on every recipient.
 *
 * Connections are pooled: a call takes one (opening a new one when the
 * pool is empty) and gives it back; at most POOL_MAX idle ones are kept.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db/db_internal.h"
#include "db/greylist.h"
#include "lib/xalloc.h"

#define POOL_MAX 64
#define TOUCH_SECONDS 60
#define COUNT_EVERY_SECONDS 3600

enum {
	ST_GET_CLIENT,
	ST_GET_TRIPLET,
	ST_PUT_CLIENT,
	ST_PUT_TRIPLET,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_BAN_GET,
	ST_BAN_PUT,
	ST_CLEAN_OLD,
	ST_CLEAN_PENDING,
	ST_CLEAN_CLIENTS,
	ST_CLEAN_BANS,
	ST_GET_ALLOWED,
	ST__COUNT
};

static const char *const sql[ST__COUNT] = {
    [ST_GET_CLIENT] = "SELECT deliveries, last_counted, allowed, allowed_by, last_seen"
                      " FROM greylist_clients WHERE client = ?1",
    [ST_GET_TRIPLET] = "SELECT first_seen, last_seen, passed, attempts FROM greylist"
                       " WHERE client = ?1 AND sender = ?2 AND rcpt = ?3",
    [ST_PUT_CLIENT] =
        "INSERT INTO greylist_clients"
        " (client, deliveries, last_counted, allowed, allowed_by, last_seen)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (client) DO UPDATE SET"
        " deliveries = excluded.deliveries, last_counted = excluded.last_counted,"
        " allowed = excluded.allowed, allowed_by = excluded.allowed_by,"
        " last_seen = excluded.last_seen",
    [ST_PUT_TRIPLET] = "INSERT INTO greylist"
                       " (client, sender, rcpt, first_seen, last_seen, passed, attempts)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                       " ON CONFLICT (client, sender, rcpt) DO UPDATE SET"
                       " first_seen = excluded.first_seen,"
                       " last_seen = excluded.last_seen, passed = excluded.passed,"
                       " attempts = excluded.attempts",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_BAN_GET] = "SELECT since, until, errors, reason FROM client_bans"
                   " WHERE addr = ?1 AND until > ?2",
    [ST_BAN_PUT] = "INSERT OR REPLACE INTO client_bans (addr, since, until, errors,"
                   " reason) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_CLEAN_OLD] = "DELETE FROM greylist WHERE (client, sender, rcpt) IN"
                     " (SELECT client, sender, rcpt FROM greylist"
                     " WHERE last_seen < ?1 LIMIT ?2)",
    [ST_CLEAN_PENDING] = "DELETE FROM greylist WHERE (client, sender, rcpt) IN"
                         " (SELECT client, sender, rcpt FROM greylist"
                         " WHERE passed IS NULL AND last_seen < ?1 LIMIT ?2)",
    [ST_CLEAN_CLIENTS] = "DELETE FROM greylist_clients WHERE client IN"
                         " (SELECT client FROM greylist_clients WHERE last_seen < ?1"
                         " AND allowed_by IS NOT 'admin' LIMIT ?2)",
    [ST_CLEAN_BANS] = "DELETE FROM client_bans WHERE addr IN"
                      " (SELECT addr FROM client_bans WHERE until < ?1 LIMIT ?2)",
    [ST_GET_ALLOWED] = "SELECT allowed_by FROM greylist_clients WHERE client = ?1"
                       " AND allowed IS NOT NULL"
                       " AND (allowed_by = 'admin' OR last_seen >= ?2)",
};

struct gl_conn {
	struct gl_conn *next;
	sqlite3 *db;
	unsigned timeout_ms; /* the busy timeout set on db */
	sqlite3_stmt *st[ST__COUNT];
};

struct gl_store {
	char *path;
	atomic_uint timeout_ms;
	pthread_mutex_t lock;
	/* Writers of this process take turns here rather than in SQLite's
	 * busy handler, which sleeps up to 100 ms at a time and keeps no
	 * queue: under load some waiters overslept their timeout. */
	pthread_mutex_t write_lock;
	struct gl_conn *idle;
	unsigned nidle;
};

const char *
gl_outcome_name(enum gl_outcome o)
{
	static const char *const names[] = {"new",   "early",   "passed",
	                                    "known", "allowed", "known-domain"};
	return names[o];
}

static void
conn_close(struct gl_conn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

/* A connection; migrate is for the first, at start. The others open
 * without any lock, so a busy database costs a callback no more than
 * the store's timeout. */
static struct gl_conn *
conn_open(const struct gl_store *store, bool migrate, char **error_r)
{
	struct gl_conn *c = xcalloc(1, sizeof(*c));
	int rc;

	c->timeout_ms = atomic_load(&store->timeout_ms);
	rc = migrate ? db_open(store->path, (int)c->timeout_ms, &c->db, error_r)
	             : db_open_current(store->path, (int)c->timeout_ms, &c->db, error_r);
	if (rc < 0) {
		free(c);
		return NULL;
	}
	/* Leave checkpoints to the verdict log's writer thread, which
	 * commits at least as often, so that a callback's commit seldom
	 * copies the WAL into the database; this is only a backstop. */
	sqlite3_exec(c->db, "PRAGMA wal_autocheckpoint=8000", NULL, NULL, NULL);
	for (int i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                       &c->st[i], NULL) != SQLITE_OK) {
			*error_r = xasprintf("%s: preparing \"%s\": %s", store->path,
			                     sql[i], sqlite3_errmsg(c->db));
			conn_close(c);
			return NULL;
		}
	}
	return c;
}

static struct gl_conn *
conn_take(struct gl_store *store, char *why, size_t whylen)
{
	struct gl_conn *c;
	char *error = NULL;

	pthread_mutex_lock(&store->lock);
	if ((c = store->idle) != NULL) {
		store->idle = c->next;
		store->nidle--;
	}
	pthread_mutex_unlock(&store->lock);
	if (c == NULL && (c = conn_open(store, false, &error)) == NULL) {
		snprintf(why, whylen, "%s", error);
		free(error);
	}
	if (c != NULL && c->timeout_ms != atomic_load(&store->timeout_ms)) {
		c->timeout_ms = atomic_load(&store->timeout_ms);
		sqlite3_busy_timeout(c->db, (int)c->timeout_ms);
	}
	return c;
}

static void
conn_give(struct gl_store *store, struct gl_conn *c)
{
	pthread_mutex_lock(&store->lock);
	if (store->nidle < POOL_MAX) {
		c->next = store->idle;
		store->idle = c;
		store->nidle++;
		c = NULL;
	}
	pthread_mutex_unlock(&store->lock);
	conn_close(c);
}

int
gl_store_open(const char *path, unsigned timeout_ms, struct gl_store **store_r,
              char **error_r)
{
	struct gl_store *store = xcalloc(1, sizeof(*store));
	struct gl_conn *c;

	store->path = xstrdup(path);
	atomic_init(&store->timeout_ms, timeout_ms);
	pthread_mutex_init(&store->lock, NULL);
	pthread_mutex_init(&store->write_lock, NULL);
	/* Open one connection now, so that a bad path fails at start. */
	if ((c = conn_open(store, true, error_r)) == NULL) {
		gl_store_close(store);
		return -1;
	}
	conn_give(store, c);
	*store_r = store;
	return 0;
}

void
gl_store_set_timeout(struct gl_store *store, unsigned timeout_ms)
{
	atomic_store(&store->timeout_ms, timeout_ms);
}

void
gl_store_close(struct gl_store *store)
{
	if (store == NULL)
		return;
	while (store->idle != NULL) {
		struct gl_conn *c = store->idle;
		store->idle = c->next;
		conn_close(c);
	}
	pthread_mutex_destroy(&store->lock);
	pthread_mutex_destroy(&store->write_lock);
	free(store->path);
	free(store);
}

/* Take the store's write turn, waiting at most its timeout. */
static bool
write_turn(struct gl_store *store, char *why, size_t whylen)
{
	unsigned ms = atomic_load(&store->timeout_ms);
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)(ms / 1000);
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_timedlock(&store->write_lock, &deadline) == 0)
		return true;
	snprintf(why, whylen, "waiting for the other greylist writers: timed out");
	return false;
}

/* Step a statement that returns no rows and reset it. */
static int
exec_st(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
fail(struct gl_conn *c, int rc, const char *what, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s: %s", what,
	         rc == SQLITE_BUSY ? "database is locked" : sqlite3_errmsg(c->db));
	return -1;
}

/* Nullable integers of a row. */
struct opt_int {
	bool set;
	int64_t v;
};

static struct opt_int
col_opt(sqlite3_stmt *st, int i)
{
	struct opt_int o = {false, 0};

	if (sqlite3_column_type(st, i) != SQLITE_NULL) {
		o.set = true;
		o.v = sqlite3_column_int64(st, i);
	}
	return o;
}

static int
bind_opt(sqlite3_stmt *st, int i, struct opt_int o)
{
	return o.set ? sqlite3_bind_int64(st, i, o.v) : sqlite3_bind_null(st, i);
}

struct client_row {
	bool exists;
	int64_t deliveries;
	struct opt_int last_counted, allowed;
	char allowed_by[8];
	int64_t last_seen;
};

struct triplet_row {
	bool exists;
	int64_t first_seen, last_seen;
	struct opt_int passed;
	int64_t attempts;
};

static int
read_rows(struct gl_conn *c, const char *client, const char *sender, const char *rcpt,
          struct client_row *cr, struct triplet_row *tr)
{
	sqlite3_stmt *st = c->st[ST_GET_CLIENT];
	int rc;

	memset(cr, 0, sizeof(*cr));
	memset(tr, 0, sizeof(*tr));
	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *by = sqlite3_column_text(st, 3);
		cr->exists = true;
		cr->deliveries = sqlite3_column_int64(st, 0);
		cr->last_counted = col_opt(st, 1);
		cr->allowed = col_opt(st, 2);
		snprintf(cr->allowed_by, sizeof(cr->allowed_by), "%s",
		         by ? (const char *)by : "");
		cr->last_seen = sqlite3_column_int64(st, 4);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return rc;

	st = c->st[ST_GET_TRIPLET];
	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rcpt, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		tr->exists = true;
		tr->first_seen = sqlite3_column_int64(st, 0);
		tr->last_seen = sqlite3_column_int64(st, 1);
		tr->passed = col_opt(st, 2);
		tr->attempts = sqlite3_column_int64(st, 3);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Count a delivery of the client: at most one an hour, and allow the
 * client once it has enough. Returns whether the row changed. */
static bool
count_delivery(struct client_row *cr, const struct gl_params *p, struct gl_decision *d)
{
	bool changed = false;
	int64_t now = p->now;

	if (!cr->exists) {
		cr->exists = true;
		cr->last_seen = now;
		changed = true;
	}
	if (!cr->last_counted.set || now - cr->last_counted.v >= COUNT_EVERY_SECONDS) {
		cr->deliveries++;
		cr->last_counted.set = true;
		cr->last_counted.v = now;
		changed = true;
	}
	if (p->auto_allow > 0 && cr->deliveries >= p->auto_allow && !cr->allowed.set) {
		cr->allowed.set = true;
		cr->allowed.v = now;
		snprintf(cr->allowed_by, sizeof(cr->allowed_by), "auto");
		d->auto_allowed_now = true;
		changed = true;
	}
	if (now - cr->last_seen >= TOUCH_SECONDS) {
		cr->last_seen = now;
		changed = true;
	}
	d->deliveries = (unsigned)cr->deliveries;
	return changed;
}

/* Work out the outcome from the rows, and update the rows to what they
 * should become; *write_client_r and *write_triplet_r say what changed. */
static void
compute(struct client_row *cr, struct triplet_row *tr, const struct gl_params *p,
        struct gl_decision *d, bool *write_client_r, bool *write_triplet_r)
{
	int64_t now = p->now;
	bool admin = cr->exists && strcmp(cr->allowed_by, "admin") == 0;

	memset(d, 0, sizeof(*d));
	*write_client_r = *write_triplet_r = false;
	/* A client row unseen for max_age starts over (admin allows stay). */
	if (cr->exists && !admin && now - cr->last_seen > (int64_t)p->max_age)
		memset(cr, 0, sizeof(*cr));
	if (tr->exists && now - tr->last_seen > (int64_t)p->max_age)
		memset(tr, 0, sizeof(*tr));

	if (cr->exists && cr->allowed.set) {
		d->outcome = GL_ALLOWED;
		snprintf(d->allowed_by, sizeof(d->allowed_by), "%s", cr->allowed_by);
		d->deliveries = (unsigned)cr->deliveries;
		if (now - cr->last_seen >= TOUCH_SECONDS) {
			cr->last_seen = now;
			*write_client_r = true;
		}
		return;
	}
	if (p->known_domain_passes && cr->exists && cr->deliveries >= 1) {
		d->outcome = GL_DOMAIN_KNOWN;
		*write_client_r = count_delivery(cr, p, d);
		return;
	}
	if (tr->exists && tr->passed.set) {
		d->outcome = GL_KNOWN;
		d->first_seen = tr->first_seen;
		d->attempts = (unsigned)tr->attempts;
		if (now - tr->last_seen >= TOUCH_SECONDS) {
			tr->last_seen = now;
			*write_triplet_r = true;
		}
		*write_client_r = count_delivery(cr, p, d);
		return;
	}
	if (tr->exists && now - tr->first_seen <= (int64_t)p->retry_window) {
		tr->attempts++;
		tr->last_seen = now;
		*write_triplet_r = true;
		d->first_seen = tr->first_seen;
		d->attempts = (unsigned)tr->attempts;
		if (now - tr->first_seen >= (int64_t)p->delay) {
			d->outcome = GL_PASSED;
			d->delayed = now - tr->first_seen;
			tr->passed.set = true;
			tr->passed.v = now;
			*write_client_r = count_delivery(cr, p, d);
		} else {
			d->outcome = GL_EARLY;
			d->wait = (int64_t)p->delay - (now - tr->first_seen);
		}
		return;
	}
	/* New, expired, or pending past its retry window: start over. */
	tr->exists = true;
	tr->first_seen = tr->last_seen = now;
	tr->passed.set = false;
	tr->attempts = 1;
	*write_triplet_r = true;
	d->outcome = GL_NEW;
	d->first_seen = now;
	d->attempts = 1;
	d->wait = p->delay;
	d->deliveries = (unsigned)cr->deliveries;
}

static int
write_rows(struct gl_conn *c, const char *client, const char *sender, const char *rcpt,
           const struct client_row *cr, const struct triplet_row *tr, bool wc, bool wt)
{
	int rc;

	if (wt) {
		sqlite3_stmt *st = c->st[ST_PUT_TRIPLET];
		sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, rcpt, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, tr->first_seen);
		sqlite3_bind_int64(st, 5, tr->last_seen);
		bind_opt(st, 6, tr->passed);
		sqlite3_bind_int64(st, 7, tr->attempts);
		if ((rc = exec_st(st)) != SQLITE_OK)
			return rc;
	}
	if (wc) {
		sqlite3_stmt *st = c->st[ST_PUT_CLIENT];
		sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, cr->deliveries);
		bind_opt(st, 3, cr->last_counted);
		bind_opt(st, 4, cr->allowed);
		if (cr->allowed_by[0] != '\0')
			sqlite3_bind_text(st, 5, cr->allowed_by, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int64(st, 6, cr->last_seen);
		if ((rc = exec_st(st)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

int
gl_decide(struct gl_store *store, const char *client, const char *sender,
          const char *rcpt, const struct gl_params *p, struct gl_decision *d_r, char *why,
          size_t whylen)
{
	struct gl_conn *c = conn_take(store, why, whylen);
	struct client_row cr;
	struct triplet_row tr;
	bool wc, wt;
	int rc;

	if (c == NULL)
		return -1;
	/* Keyed by an SPF domain: the client's network may be allowed. */
	if (p->network != NULL) {
		sqlite3_stmt *st = c->st[ST_GET_ALLOWED];
		bool allowed = false;

		sqlite3_bind_text(st, 1, p->network, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, p->now - (int64_t)p->max_age);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const unsigned char *by = sqlite3_column_text(st, 0);
			memset(d_r, 0, sizeof(*d_r));
			d_r->outcome = GL_ALLOWED;
			d_r->network_allowed = allowed = true;
			snprintf(d_r->allowed_by, sizeof(d_r->allowed_by), "%s",
			         by ? (const char *)by : "");
			rc = SQLITE_DONE;
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			fail(c, rc, "reading the greylist", why, whylen);
		if (rc != SQLITE_DONE || allowed) {
			conn_give(store, c);
			return rc == SQLITE_DONE ? 0 : -1;
		}
	}
	if ((rc = read_rows(c, client, sender, rcpt, &cr, &tr)) != SQLITE_OK) {
		fail(c, rc, "reading the greylist", why, whylen);
		conn_give(store, c);
		return -1;
	}
	compute(&cr, &tr, p, d_r, &wc, &wt);
	if (!wc && !wt) {
		conn_give(store, c);
		return 0;
	}
	/* Something to write: decide again under the write lock. */
	if (!write_turn(store, why, whylen)) {
		conn_give(store, c);
		return -1;
	}
	if ((rc = exec_st(c->st[ST_BEGIN])) != SQLITE_OK) {
		pthread_mutex_unlock(&store->write_lock);
		fail(c, rc, "locking the greylist", why, whylen);
		conn_give(store, c);
		return -1;
	}
	if ((rc = read_rows(c, client, sender, rcpt, &cr, &tr)) == SQLITE_OK) {
		compute(&cr, &tr, p, d_r, &wc, &wt);
		rc = write_rows(c, client, sender, rcpt, &cr, &tr, wc, wt);
	}
	if (rc == SQLITE_OK)
		rc = exec_st(c->st[ST_COMMIT]);
	if (rc != SQLITE_OK) {
		fail(c, rc, "writing the greylist", why, whylen);
		if (!sqlite3_get_autocommit(c->db))
			exec_st(c->st[ST_ROLLBACK]);
		pthread_mutex_unlock(&store->write_lock);
		/* Never pool a connection still inside a transaction. */
		if (!sqlite3_get_autocommit(c->db))
			conn_close(c);
		else
			conn_give(store, c);
		return -1;
	}
	pthread_mutex_unlock(&store->write_lock);
	conn_give(store, c);
	return 0;
}

/* One chunked DELETE; returns the rows deleted or -1. */
static int
clean_step(struct gl_conn *c, int which, int64_t cut, unsigned limit)
{
	sqlite3_stmt *st = c->st[which];

	sqlite3_bind_int64(st, 1, cut);
	sqlite3_bind_int64(st, 2, limit);
	if (exec_st(st) != SQLITE_OK)
		return -1;
	return sqlite3_changes(c->db);
}

int
gl_cleanup(struct gl_store *store, int64_t now, unsigned max_age, unsigned retry_window,
           unsigned limit, char *why, size_t whylen)
{
	struct gl_conn *c = conn_take(store, why, whylen);
	static const int steps[] = {ST_CLEAN_OLD, ST_CLEAN_PENDING, ST_CLEAN_CLIENTS,
	                            ST_CLEAN_BANS};
	int64_t cuts[] = {now - (int64_t)max_age, now - (int64_t)retry_window,
	                  now - (int64_t)max_age, now - (int64_t)max_age};
	int total = 0;

	if (c == NULL)
		return -1;
	for (size_t i = 0;
	     i < sizeof(steps) / sizeof(steps[0]) && (unsigned)total < limit; i++) {
		if (!write_turn(store, why, whylen)) {
			conn_give(store, c);
			return -1;
		}
		int n = clean_step(c, steps[i], cuts[i], limit - (unsigned)total);
		pthread_mutex_unlock(&store->write_lock);
		if (n < 0) {
			fail(c, sqlite3_errcode(c->db), "expiring greylist entries", why,
			     whylen);
			conn_give(store, c);
			return -1;
		}
		total += n;
	}
	conn_give(store, c);
	return total;
}

int
gl_ban_lookup(struct gl_store *store, const char *addr, int64_t now, struct gl_ban *ban_r,
              char *why, size_t whylen)
{
	struct gl_conn *c = conn_take(store, why, whylen);
	sqlite3_stmt *st;
	int rc, found = 0;

	if (c == NULL)
		return -1;
	st = c->st[ST_BAN_GET];
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		if (ban_r != NULL) {
			const unsigned char *reason = sqlite3_column_text(st, 3);
			ban_r->since = sqlite3_column_int64(st, 0);
			ban_r->until = sqlite3_column_int64(st, 1);
			ban_r->errors = (unsigned)sqlite3_column_int64(st, 2);
			snprintf(ban_r->reason, sizeof(ban_r->reason), "%s",
			         reason ? (const char *)reason : "");
		}
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		found = fail(c, rc, "reading the client bans", why, whylen);
	conn_give(store, c);
	return found;
}

int
gl_ban_add(struct gl_store *store, const char *addr, int64_t now, int64_t until,
           unsigned errors, const char *reason, char *why, size_t whylen)
{
	struct gl_conn *c = conn_take(store, why, whylen);
	sqlite3_stmt *st;
	int rc;

	if (c == NULL)
		return -1;
	st = c->st[ST_BAN_PUT];
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, until);
	sqlite3_bind_int64(st, 4, errors);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	if (!write_turn(store, why, whylen)) {
		conn_give(store, c);
		return -1;
	}
	rc = exec_st(st);
	pthread_mutex_unlock(&store->write_lock);
	if (rc != SQLITE_OK)
		fail(c, rc, "writing a client ban", why, whylen);
	conn_give(store, c);
	return rc == SQLITE_OK ? 0 : -1;
}
