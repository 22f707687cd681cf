/*
 * keys: the DKIM key store (see keys.h). Plain statements over one
 * connection opened by db_open, so the schema is current and the busy
 * timeout is the same as everywhere; changes that must go together
 * (activate and retire) run in one transaction.
 *
 * It does not read key files or DNS: posternctl does, and hands rows in.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db/db_internal.h"
#include "db/keys.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

struct db_keys {
	sqlite3 *db;
	char *path;
};

static int
ks_fail(struct db_keys *ks, const char *what, char **error_r)
{
	*error_r = xasprintf("%s: %s: %s", ks->path, what, sqlite3_errmsg(ks->db));
	return -1;
}

int
db_keys_open(const char *path, struct db_keys **ks_r, char **error_r)
{
	struct db_keys *ks;
	sqlite3 *db;

	if (db_open(path, DB_OPEN_BUSY_TIMEOUT_MS, &db, error_r) < 0)
		return -1;
	ks = xcalloc(1, sizeof(*ks));
	ks->db = db;
	ks->path = xstrdup(path);
	*ks_r = ks;
	return 0;
}

void
db_keys_close(struct db_keys *ks)
{
	if (ks == NULL)
		return;
	sqlite3_close(ks->db);
	free(ks->path);
	free(ks);
}

static int
ks_exec(struct db_keys *ks, const char *sql, const char *what, char **error_r)
{
	if (sqlite3_exec(ks->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ks_fail(ks, what, error_r);
	return 0;
}

int
db_keys_begin(struct db_keys *ks, char **error_r)
{
	return ks_exec(ks, "BEGIN IMMEDIATE", "starting a transaction", error_r);
}

int
db_keys_commit(struct db_keys *ks, char **error_r)
{
	return ks_exec(ks, "COMMIT", "committing", error_r);
}

void
db_keys_rollback(struct db_keys *ks)
{
	if (!sqlite3_get_autocommit(ks->db))
		sqlite3_exec(ks->db, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3_stmt *
prepare(struct db_keys *ks, const char *sql, char **error_r)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(ks->db, sql, -1, &st, NULL) != SQLITE_OK) {
		ks_fail(ks, "preparing a statement", error_r);
		return NULL;
	}
	return st;
}

/* Step a statement that returns no rows, and finalize it. */
static int
step_done(struct db_keys *ks, sqlite3_stmt *st, const char *what, char **error_r)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ks_fail(ks, what, error_r);
	return 0;
}

/* step_done for an INSERT: 1 (and no error) when the row would repeat a
 * unique key, which the caller words. */
static int
step_insert(struct db_keys *ks, sqlite3_stmt *st, const char *what, char **error_r)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return 1;
	if (rc != SQLITE_DONE)
		return ks_fail(ks, what, error_r);
	return 0;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* ---- keys ---- */

static const char key_columns[] =
    "k.id, k.domain, k.selector, k.algorithm, k.bits, k.path, k.public_key, k.state,"
    " k.created, k.state_since, r.key_id IS NOT NULL"
    " FROM dkim_keys k LEFT JOIN dkim_rotations r ON r.key_id = k.id";

static char *
col_dup(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	return xstrdup(t ? (const char *)t : "");
}

static void
read_key_row(sqlite3_stmt *st, struct db_key_row *row)
{
	const unsigned char *state = sqlite3_column_text(st, 7);
	const unsigned char *alg = sqlite3_column_text(st, 3);

	memset(row, 0, sizeof(*row));
	row->id = sqlite3_column_int64(st, 0);
	row->domain = col_dup(st, 1);
	row->selector = col_dup(st, 2);
	row->alg = alg && strcmp((const char *)alg, "ed25519") == 0 ? DKIM_ALG_ED25519
	                                                            : DKIM_ALG_RSA;
	row->bits = (unsigned)sqlite3_column_int(st, 4);
	row->path = col_dup(st, 5);
	row->public_key = col_dup(st, 6);
	if (state == NULL || dkim_key_state_parse((const char *)state, &row->state) < 0)
		row->state = DKIM_KEY_RETIRED;
	row->created = sqlite3_column_int64(st, 8);
	row->state_since = sqlite3_column_int64(st, 9);
	row->rotation = sqlite3_column_int(st, 10) != 0;
}

void
db_key_row_clear(struct db_key_row *row)
{
	free(row->domain);
	free(row->selector);
	free(row->path);
	free(row->public_key);
	memset(row, 0, sizeof(*row));
}

void
db_key_rows_free(struct db_key_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		db_key_row_clear(&rows[i]);
	free(rows);
}

static int
insert_rotation(struct db_keys *ks, int64_t id, int64_t now, char **error_r)
{
	sqlite3_stmt *st = prepare(
	    ks, "INSERT INTO dkim_rotations (key_id, started) VALUES (?, ?)", error_r);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return step_done(ks, st, "marking the rotation", error_r);
}

static int
insert_key(struct db_keys *ks, struct db_key_row *row, char **error_r)
{
	sqlite3_stmt *st =
	    prepare(ks,
	            "INSERT INTO dkim_keys (domain, selector, algorithm, bits,"
	            " path, public_key, state, created, state_since)"
	            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	            error_r);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, row->domain);
	bind_text(st, 2, row->selector);
	bind_text(st, 3, dkim_key_alg_name(row->alg));
	sqlite3_bind_int(st, 4, (int)row->bits);
	bind_text(st, 5, row->path);
	bind_text(st, 6, row->public_key);
	bind_text(st, 7, dkim_key_state_name(row->state));
	sqlite3_bind_int64(st, 8, row->created);
	sqlite3_bind_int64(st, 9, row->state_since);
	rc = step_insert(ks, st, "adding a key", error_r);
	if (rc > 0)
		*error_r =
		    xasprintf("key %s._domainkey.%s exists", row->selector, row->domain);
	if (rc != 0)
		return -1;
	row->id = sqlite3_last_insert_rowid(ks->db);
	return 0;
}

int
db_keys_add(struct db_keys *ks, struct db_key_row *row, char **error_r)
{
	bool own = sqlite3_get_autocommit(ks->db) != 0;

	str_lower(row->domain);
	if (own && db_keys_begin(ks, error_r) < 0)
		return -1;
	if (insert_key(ks, row, error_r) < 0 ||
	    (row->rotation && insert_rotation(ks, row->id, row->created, error_r) < 0) ||
	    (own && db_keys_commit(ks, error_r) < 0)) {
		if (own)
			db_keys_rollback(ks);
		return -1;
	}
	return 0;
}

int
db_keys_list(struct db_keys *ks, const char *domain, struct db_key_row **rows_r,
             size_t *n_r, char **error_r)
{
	char *sql = xasprintf("SELECT %s%s ORDER BY k.domain, k.id", key_columns,
	                      domain ? " WHERE k.domain = lower(?)" : "");
	sqlite3_stmt *st = prepare(ks, sql, error_r);
	struct db_key_row *rows = NULL;
	size_t n = 0;
	int rc;

	free(sql);
	if (st == NULL)
		return -1;
	if (domain != NULL)
		bind_text(st, 1, domain);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		read_key_row(st, &rows[n++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_key_rows_free(rows, n);
		return ks_fail(ks, "listing keys", error_r);
	}
	*rows_r = rows;
	*n_r = n;
	return 0;
}

int
db_keys_get(struct db_keys *ks, const char *domain, const char *selector,
            struct db_key_row *row_r, char **error_r)
{
	char *sql = xasprintf("SELECT %s WHERE k.domain = lower(?) AND k.selector = ?",
	                      key_columns);
	sqlite3_stmt *st = prepare(ks, sql, error_r);
	int rc;

	free(sql);
	if (st == NULL)
		return -1;
	bind_text(st, 1, domain);
	bind_text(st, 2, selector);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_key_row(st, row_r);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return ks_fail(ks, "reading a key", error_r);
}

static int
delete_rotation(struct db_keys *ks, int64_t id, char **error_r)
{
	sqlite3_stmt *st =
	    prepare(ks, "DELETE FROM dkim_rotations WHERE key_id = ?", error_r);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return step_done(ks, st, "ending the rotation", error_r);
}

static int
update_state(struct db_keys *ks, int64_t id, enum dkim_key_state state, int64_t now,
             char **error_r)
{
	sqlite3_stmt *st = prepare(
	    ks, "UPDATE dkim_keys SET state = ?, state_since = ? WHERE id = ?", error_r);

	if (st == NULL)
		return -1;
	bind_text(st, 1, dkim_key_state_name(state));
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, id);
	if (step_done(ks, st, "changing a key's state", error_r) < 0)
		return -1;
	if (state != DKIM_KEY_PENDING)
		return delete_rotation(ks, id, error_r);
	return 0;
}

/* End the transaction begun by the caller: commit when rc is 0, else
 * roll back. */
static int
in_transaction(struct db_keys *ks, int rc, char **error_r)
{
	if (rc == 0 && db_keys_commit(ks, error_r) == 0)
		return 0;
	db_keys_rollback(ks);
	return -1;
}

int
db_keys_set_state(struct db_keys *ks, int64_t id, enum dkim_key_state state, int64_t now,
                  char **error_r)
{
	if (db_keys_begin(ks, error_r) < 0)
		return -1;
	return in_transaction(ks, update_state(ks, id, state, now, error_r), error_r);
}

static int
retire_others(struct db_keys *ks, int64_t id, int64_t now, size_t *n_r, char **error_r)
{
	sqlite3_stmt *st =
	    prepare(ks,
	            "UPDATE dkim_keys SET state = 'retired', state_since = ?1"
	            " WHERE state = 'active' AND id != ?2"
	            " AND domain = (SELECT domain FROM dkim_keys WHERE id = ?2)"
	            " AND algorithm ="
	            " (SELECT algorithm FROM dkim_keys WHERE id = ?2)",
	            error_r);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	if (step_done(ks, st, "retiring the old keys", error_r) < 0)
		return -1;
	if (n_r != NULL)
		*n_r = (size_t)sqlite3_changes(ks->db);
	return 0;
}

int
db_keys_activate(struct db_keys *ks, int64_t id, bool retire, int64_t now,
                 size_t *nretired_r, char **error_r)
{
	int rc;

	if (nretired_r != NULL)
		*nretired_r = 0;
	if (db_keys_begin(ks, error_r) < 0)
		return -1;
	rc = update_state(ks, id, DKIM_KEY_ACTIVE, now, error_r);
	if (rc == 0 && retire)
		rc = retire_others(ks, id, now, nretired_r, error_r);
	return in_transaction(ks, rc, error_r);
}

static int
delete_key(struct db_keys *ks, int64_t id, char **error_r)
{
	sqlite3_stmt *st = prepare(ks, "DELETE FROM dkim_keys WHERE id = ?", error_r);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return step_done(ks, st, "removing a key", error_r);
}

int
db_keys_remove(struct db_keys *ks, int64_t id, char **error_r)
{
	int rc;

	if (db_keys_begin(ks, error_r) < 0)
		return -1;
	rc = delete_rotation(ks, id, error_r);
	if (rc == 0)
		rc = delete_key(ks, id, error_r);
	return in_transaction(ks, rc, error_r);
}

/* ---- signing rules ---- */

int
db_signing_add(struct db_keys *ks, const char *pattern, const char *domain,
               char **error_r)
{
	sqlite3_stmt *st =
	    prepare(ks, "INSERT INTO dkim_signing (pattern, domain) VALUES (?, lower(?))",
	            error_r);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, pattern);
	bind_text(st, 2, domain);
	rc = step_insert(ks, st, "adding a signing rule", error_r);
	if (rc > 0)
		*error_r = xasprintf("%s already signs with %s's keys", pattern, domain);
	return rc == 0 ? 0 : -1;
}

int
db_signing_remove(struct db_keys *ks, const char *pattern, const char *domain,
                  char **error_r)
{
	sqlite3_stmt *st = prepare(
	    ks, "DELETE FROM dkim_signing WHERE pattern = ? AND domain = lower(?)",
	    error_r);

	if (st == NULL)
		return -1;
	bind_text(st, 1, pattern);
	bind_text(st, 2, domain);
	if (step_done(ks, st, "removing a signing rule", error_r) < 0)
		return -1;
	return sqlite3_changes(ks->db) == 0 ? 1 : 0;
}

int
db_signing_list(struct db_keys *ks, struct db_signing_row **rows_r, size_t *n_r,
                char **error_r)
{
	sqlite3_stmt *st = prepare(
	    ks, "SELECT id, pattern, domain FROM dkim_signing ORDER BY id", error_r);
	struct db_signing_row *rows = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n].id = sqlite3_column_int64(st, 0);
		rows[n].pattern = col_dup(st, 1);
		rows[n].domain = col_dup(st, 2);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_signing_rows_free(rows, n);
		return ks_fail(ks, "listing signing rules", error_r);
	}
	*rows_r = rows;
	*n_r = n;
	return 0;
}

void
db_signing_rows_free(struct db_signing_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].pattern);
		free(rows[i].domain);
	}
	free(rows);
}
