/*
 * greylist_admin: the admin's queries over the greylist and client-ban
 * tables (see greylist_admin.h). Plain statements over one connection
 * opened by db_open, so the schema is current and the busy timeout is
 * the same as everywhere; changes that must go together (allow, remove)
 * run in one transaction.
 *
 * It is not the daemon's store (db/greylist.c): it decides nothing, and
 * it does not normalise what it is given; posternctl does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db/db_internal.h"
#include "db/greylist_admin.h"
#include "lib/xalloc.h"

struct gl_admin {
	sqlite3 *db;
	char *path;
};

static int
ga_fail(struct gl_admin *ga, const char *what, char **error_r)
{
	return db_fail(ga->db, ga->path, what, error_r);
}

int
gl_admin_open(const char *path, struct gl_admin **ga_r, char **error_r)
{
	struct gl_admin *ga;
	sqlite3 *db;

	if (db_open(path, DB_OPEN_BUSY_TIMEOUT_MS, &db, error_r) < 0)
		return -1;
	ga = xcalloc(1, sizeof(*ga));
	ga->db = db;
	ga->path = xstrdup(path);
	*ga_r = ga;
	return 0;
}

void
gl_admin_close(struct gl_admin *ga)
{
	if (ga == NULL)
		return;
	sqlite3_close(ga->db);
	free(ga->path);
	free(ga);
}

/* ---- statements ---- */

static sqlite3_stmt *
prepare(struct gl_admin *ga, const char *sql, char **error_r)
{
	return db_prepare(ga->db, ga->path, sql, error_r);
}

/* Step a statement that returns no rows, and finalize it. *changes_r
 * (may be NULL) gets the rows it changed. */
static int
step_done(struct gl_admin *ga, sqlite3_stmt *st, const char *what, size_t *changes_r,
          char **error_r)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ga_fail(ga, what, error_r);
	if (changes_r != NULL)
		*changes_r = (size_t)sqlite3_changes(ga->db);
	return 0;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static char *
col_dup(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	return xstrdup(t ? (const char *)t : "");
}

static unsigned
col_unsigned(sqlite3_stmt *st, int c)
{
	sqlite3_int64 v = sqlite3_column_int64(st, c);
	return v < 0 ? 0 : v > 0xffffffff ? 0xffffffffu : (unsigned)v;
}

static int
begin(struct gl_admin *ga, char **error_r)
{
	if (sqlite3_exec(ga->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return ga_fail(ga, "starting a transaction", error_r);
	return 0;
}

/* End the transaction begun by the caller: commit when rc is 0 or 1 (and
 * return rc), else roll back (and return -1). */
static int
end(struct gl_admin *ga, int rc, char **error_r)
{
	if (rc >= 0 && sqlite3_exec(ga->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return rc;
	if (rc >= 0)
		ga_fail(ga, "committing", error_r);
	if (!sqlite3_get_autocommit(ga->db))
		sqlite3_exec(ga->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* The rows of a query, read one by one by read into a new array of
 * elements of size bytes (NULL when there are none; *n_r counts them).
 * On an error, the rows read so far are freed with free_rows and *ok_r
 * is -1. Finalizes st. */
typedef void read_row_fn(sqlite3_stmt *st, void *row);
typedef void free_rows_fn(void *rows, size_t n);

static void *
collect(struct gl_admin *ga, sqlite3_stmt *st, size_t size, read_row_fn *read,
        free_rows_fn *free_rows, const char *what, size_t *n_r, int *ok_r, char **error_r)
{
	char *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = xgrow(rows, &cap, n + 1, size);
		memset(rows + n * size, 0, size);
		read(st, rows + n * size);
		n++;
	}
	sqlite3_finalize(st);
	*n_r = 0;
	*ok_r = 0;
	if (rc != SQLITE_DONE) {
		free_rows(rows, n);
		*ok_r = ga_fail(ga, what, error_r);
		return NULL;
	}
	*n_r = n;
	return rows;
}

/* ---- triplets ---- */

static void
read_triplet(sqlite3_stmt *st, void *p)
{
	struct gl_admin_triplet *t = p;

	t->client = col_dup(st, 0);
	t->sender = col_dup(st, 1);
	t->rcpt = col_dup(st, 2);
	t->first_seen = sqlite3_column_int64(st, 3);
	t->last_seen = sqlite3_column_int64(st, 4);
	t->passed = sqlite3_column_int64(st, 5); /* NULL reads as 0 */
	t->attempts = col_unsigned(st, 6);
}

void
gl_admin_triplets_free(struct gl_admin_triplet *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].client);
		free(rows[i].sender);
		free(rows[i].rcpt);
	}
	free(rows);
}

static void
free_triplets(void *rows, size_t n)
{
	gl_admin_triplets_free(rows, n);
}

/* Bind the filter's client (?1, when the statement has it) and limit
 * (?2; -1 is no limit). */
static void
bind_filter(sqlite3_stmt *st, const struct gl_admin_filter *f)
{
	if (f->client != NULL)
		bind_text(st, 1, f->client);
	sqlite3_bind_int64(st, 2, f->limit ? (sqlite3_int64)f->limit : -1);
}

int
gl_admin_list(struct gl_admin *ga, const struct gl_admin_filter *f,
              struct gl_admin_triplet **rows_r, size_t *n_r, char **error_r)
{
	static const char *const state_cond[] = {
	    [GL_ADMIN_ANY] = "",
	    [GL_ADMIN_PENDING] = " AND passed IS NULL",
	    [GL_ADMIN_PASSED] = " AND passed IS NOT NULL",
	};
	char *sql =
	    xasprintf("SELECT client, sender, rcpt, first_seen, last_seen, passed,"
	              " attempts FROM greylist WHERE 1%s%s"
	              " ORDER BY last_seen DESC, client, sender, rcpt LIMIT ?2",
	              state_cond[f->state], f->client ? " AND client = ?1" : "");
	sqlite3_stmt *st = prepare(ga, sql, error_r);
	int ok;

	free(sql);
	if (st == NULL)
		return -1;
	bind_filter(st, f);
	*rows_r = collect(ga, st, sizeof(**rows_r), read_triplet, free_triplets,
	                  "listing the greylist", n_r, &ok, error_r);
	return ok;
}

/* ---- clients ---- */

static void
read_client(sqlite3_stmt *st, void *p)
{
	struct gl_admin_client *c = p;

	c->client = col_dup(st, 0);
	c->allowed_by = col_dup(st, 1);
	c->deliveries = col_unsigned(st, 2);
	c->allowed = sqlite3_column_int64(st, 3);
	c->last_seen = sqlite3_column_int64(st, 4);
}

void
gl_admin_clients_free(struct gl_admin_client *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].client);
		free(rows[i].allowed_by);
	}
	free(rows);
}

static void
free_clients(void *rows, size_t n)
{
	gl_admin_clients_free(rows, n);
}

int
gl_admin_list_allowed(struct gl_admin *ga, const struct gl_admin_filter *f,
                      struct gl_admin_client **rows_r, size_t *n_r, char **error_r)
{
	char *sql = xasprintf("SELECT client, allowed_by, deliveries, allowed, last_seen"
	                      " FROM greylist_clients WHERE allowed IS NOT NULL%s"
	                      " ORDER BY allowed DESC, client LIMIT ?2",
	                      f->client ? " AND client = ?1" : "");
	sqlite3_stmt *st = prepare(ga, sql, error_r);
	int ok;

	free(sql);
	if (st == NULL)
		return -1;
	bind_filter(st, f);
	*rows_r = collect(ga, st, sizeof(**rows_r), read_client, free_clients,
	                  "listing the allowed clients", n_r, &ok, error_r);
	return ok;
}

/* Who allowed client so far ("" for nobody), into was (GL_ADMIN_BY_LEN). */
static int
allowed_by(struct gl_admin *ga, const char *client, char *was, char **error_r)
{
	sqlite3_stmt *st = prepare(ga,
	                           "SELECT allowed_by FROM greylist_clients"
	                           " WHERE client = ? AND allowed IS NOT NULL",
	                           error_r);
	const unsigned char *by;
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, client);
	was[0] = '\0';
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (by = sqlite3_column_text(st, 0)) != NULL)
		snprintf(was, GL_ADMIN_BY_LEN, "%s", (const char *)by);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ga_fail(ga, "reading the client", error_r);
	return 0;
}

static int
upsert_allow(struct gl_admin *ga, const char *client, int64_t now, char **error_r)
{
	sqlite3_stmt *st =
	    prepare(ga,
	            "INSERT INTO greylist_clients"
	            " (client, deliveries, allowed, allowed_by, last_seen)"
	            " VALUES (?1, 0, ?2, 'admin', ?2)"
	            " ON CONFLICT (client) DO UPDATE SET"
	            " allowed = CASE WHEN allowed_by = 'admin' AND allowed IS NOT NULL"
	            " THEN allowed ELSE excluded.allowed END,"
	            " allowed_by = 'admin'",
	            error_r);

	if (st == NULL)
		return -1;
	bind_text(st, 1, client);
	sqlite3_bind_int64(st, 2, now);
	return step_done(ga, st, "allowing the client", NULL, error_r);
}

int
gl_admin_allow(struct gl_admin *ga, const char *client, int64_t now, char *was_r,
               char **error_r)
{
	char was[GL_ADMIN_BY_LEN];
	int rc;

	if (begin(ga, error_r) < 0)
		return -1;
	rc = allowed_by(ga, client, was, error_r);
	if (rc == 0)
		rc = upsert_allow(ga, client, now, error_r);
	if ((rc = end(ga, rc, error_r)) == 0 && was_r != NULL)
		memcpy(was_r, was, sizeof(was));
	return rc;
}

/* ---- remove and purge ---- */

static int
delete_triplets(struct gl_admin *ga, const char *client, const char *sender,
                const char *rcpt, size_t *n_r, char **error_r)
{
	char *sql =
	    xasprintf("DELETE FROM greylist WHERE client = ?1%s%s",
	              sender ? " AND sender = ?2" : "", rcpt ? " AND rcpt = ?3" : "");
	sqlite3_stmt *st = prepare(ga, sql, error_r);

	free(sql);
	if (st == NULL)
		return -1;
	bind_text(st, 1, client);
	if (sender != NULL)
		bind_text(st, 2, sender);
	if (rcpt != NULL)
		bind_text(st, 3, rcpt);
	return step_done(ga, st, "removing triplets", n_r, error_r);
}

static int
delete_client(struct gl_admin *ga, const char *client, size_t *n_r, char **error_r)
{
	sqlite3_stmt *st =
	    prepare(ga, "DELETE FROM greylist_clients WHERE client = ?", error_r);

	if (st == NULL)
		return -1;
	bind_text(st, 1, client);
	return step_done(ga, st, "removing the client", n_r, error_r);
}

int
gl_admin_remove(struct gl_admin *ga, const char *client, const char *sender,
                const char *rcpt, struct gl_admin_counts *counts_r, char **error_r)
{
	struct gl_admin_counts n = {0};
	int rc;

	memset(counts_r, 0, sizeof(*counts_r));
	if (begin(ga, error_r) < 0)
		return -1;
	rc = delete_triplets(ga, client, sender, rcpt, &n.triplets, error_r);
	if (rc == 0 && sender == NULL && rcpt == NULL)
		rc = delete_client(ga, client, &n.clients, error_r);
	if (rc == 0 && n.triplets == 0 && n.clients == 0)
		rc = 1;
	if ((rc = end(ga, rc, error_r)) >= 0)
		*counts_r = n;
	return rc;
}

/* Run a DELETE whose ?1 is the cutoff and ?2 the chunk size until it
 * deletes less than a chunk, adding the rows deleted to *n_r. */
static int
delete_chunks(struct gl_admin *ga, const char *sql, int64_t cutoff, const char *what,
              size_t *n_r, char **error_r)
{
	size_t changes = 0;

	do {
		sqlite3_stmt *st = prepare(ga, sql, error_r);

		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, cutoff);
		sqlite3_bind_int(st, 2, GL_ADMIN_PURGE_CHUNK);
		if (step_done(ga, st, what, &changes, error_r) < 0)
			return -1;
		*n_r += changes;
	} while (changes >= GL_ADMIN_PURGE_CHUNK);
	return 0;
}

int
gl_admin_purge(struct gl_admin *ga, int64_t now, unsigned older_than,
               struct gl_admin_counts *counts_r, char **error_r)
{
	int64_t cutoff = now - (int64_t)older_than;

	memset(counts_r, 0, sizeof(*counts_r));
	if (delete_chunks(ga,
	                  "DELETE FROM greylist WHERE (client, sender, rcpt) IN"
	                  " (SELECT client, sender, rcpt FROM greylist"
	                  " WHERE last_seen < ?1 LIMIT ?2)",
	                  cutoff, "purging triplets", &counts_r->triplets, error_r) < 0)
		return -1;
	return delete_chunks(ga,
	                     "DELETE FROM greylist_clients WHERE client IN"
	                     " (SELECT client FROM greylist_clients WHERE last_seen < ?1"
	                     " AND coalesce(allowed_by, '') != 'admin' LIMIT ?2)",
	                     cutoff, "purging clients", &counts_r->clients, error_r);
}

/* ---- statistics ---- */

static uint64_t
col_count(sqlite3_stmt *st, int c)
{
	sqlite3_int64 v = sqlite3_column_int64(st, c);
	return v < 0 ? 0 : (uint64_t)v;
}

int
gl_admin_stats(struct gl_admin *ga, int64_t now, struct gl_admin_stats *stats_r,
               char **error_r)
{
	/* One statement: one read transaction, so the counts agree. */
	sqlite3_stmt *st =
	    prepare(ga,
	            "SELECT (SELECT count(*) FROM greylist),"
	            " (SELECT count(*) FROM greylist WHERE passed IS NULL),"
	            " (SELECT min(first_seen) FROM greylist),"
	            " (SELECT count(*) FROM greylist_clients),"
	            " (SELECT count(*) FROM greylist_clients"
	            "  WHERE allowed IS NOT NULL AND allowed_by = 'auto'),"
	            " (SELECT count(*) FROM greylist_clients"
	            "  WHERE allowed IS NOT NULL AND allowed_by = 'admin'),"
	            " (SELECT count(*) FROM client_bans WHERE until > ?1)",
	            error_r);
	struct gl_admin_stats *s = stats_r;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	memset(s, 0, sizeof(*s));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->triplets = col_count(st, 0);
		s->pending = col_count(st, 1);
		s->passed =
		    s->triplets - (s->pending < s->triplets ? s->pending : s->triplets);
		s->oldest = sqlite3_column_int64(st, 2); /* NULL reads as 0 */
		s->clients = col_count(st, 3);
		s->auto_allowed = col_count(st, 4);
		s->admin_allowed = col_count(st, 5);
		s->active_bans = col_count(st, 6);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return ga_fail(ga, "counting", error_r);
	return 0;
}

/* ---- client bans ---- */

static void
read_ban(sqlite3_stmt *st, void *p)
{
	struct gl_admin_ban *b = p;

	b->addr = col_dup(st, 0);
	b->since = sqlite3_column_int64(st, 1);
	b->until = sqlite3_column_int64(st, 2);
	b->errors = col_unsigned(st, 3);
	b->reason = col_dup(st, 4);
	b->active = sqlite3_column_int(st, 5) != 0;
}

void
gl_admin_bans_free(struct gl_admin_ban *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].addr);
		free(rows[i].reason);
	}
	free(rows);
}

static void
free_bans(void *rows, size_t n)
{
	gl_admin_bans_free(rows, n);
}

int
gl_admin_bans(struct gl_admin *ga, int64_t now, bool all, struct gl_admin_ban **rows_r,
              size_t *n_r, char **error_r)
{
	char *sql = xasprintf("SELECT addr, since, until, errors, reason, until > ?1"
	                      " FROM client_bans%s ORDER BY since DESC, addr",
	                      all ? "" : " WHERE until > ?1");
	sqlite3_stmt *st = prepare(ga, sql, error_r);
	int ok;

	free(sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	*rows_r = collect(ga, st, sizeof(**rows_r), read_ban, free_bans, "listing bans",
	                  n_r, &ok, error_r);
	return ok;
}

int
gl_admin_lift(struct gl_admin *ga, const char *addr, int64_t now, char **error_r)
{
	sqlite3_stmt *st = prepare(
	    ga, "DELETE FROM client_bans WHERE addr = ?1 AND until > ?2", error_r);
	size_t n = 0;

	if (st == NULL)
		return -1;
	bind_text(st, 1, addr);
	sqlite3_bind_int64(st, 2, now);
	if (step_done(ga, st, "lifting the ban", &n, error_r) < 0)
		return -1;
	return n == 0 ? 1 : 0;
}
