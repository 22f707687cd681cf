/*
 * keytable_sqlite: the key table backend over the database's dkim_keys
 * and dkim_signing tables (written by "posternctl keys"; schema in
 * db/db.c). Both tables are read in one read transaction, so a table
 * never mixes two states of the database.
 *
 * The connection stays open, read-only, for dkim_keytable_changed: PRAGMA
 * data_version moves whenever another connection commits, which the
 * verdict log does all the time, so a moved version only leads to a
 * hash of the key rows being compared with the one taken at load.
 *
 * It does not create or migrate the database (the daemon's db_migrate
 * does) and never writes to it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "dkim/keytable.h"
#include "dkim/keytable_internal.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

#define BUSY_TIMEOUT_MS 2000

struct sqlite_priv {
	sqlite3 *db;
	int64_t data_version;
	uint64_t hash; /* of the rows read at load */
};

static const char keys_sql[] =
    "SELECT id, domain, selector, algorithm, bits, path, state, created, state_since"
    " FROM dkim_keys ORDER BY id";
static const char rules_sql[] = "SELECT pattern, domain FROM dkim_signing ORDER BY id";

/* FNV-1a over the text of every column, with a separator after each. */
static uint64_t
hash_add(uint64_t h, const unsigned char *s, int n)
{
	for (int i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff;
	return h * 0x100000001b3ULL;
}

static uint64_t
hash_row(uint64_t h, sqlite3_stmt *st)
{
	for (int c = 0; c < sqlite3_column_count(st); c++) {
		const unsigned char *t = sqlite3_column_text(st, c);
		h = hash_add(h, t ? t : (const unsigned char *)"",
		             sqlite3_column_bytes(st, c));
	}
	return h;
}

static int
sql_fail(sqlite3 *db, const char *path, const char *what, char **error_r)
{
	*error_r = xasprintf("%s: %s: %s", path, what, sqlite3_errmsg(db));
	return -1;
}

static int
data_version(sqlite3 *db, int64_t *v_r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v_r = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static const char *
column(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	return t ? (const char *)t : "";
}

/* One dkim_keys row into a new key of kt (when kt is not NULL). */
static int
key_row(struct dkim_keytable *kt, sqlite3_stmt *st, const char *path, char **error_r)
{
	struct dkim_key *k;
	const char *alg = column(st, 3), *state = column(st, 6);
	enum dkim_key_state s;

	if (dkim_key_state_parse(state, &s) < 0) {
		*error_r = xasprintf("%s: dkim_keys row %lld: unknown state \"%s\"", path,
		                     (long long)sqlite3_column_int64(st, 0), state);
		return -1;
	}
	if (strcmp(alg, "rsa") != 0 && strcmp(alg, "ed25519") != 0) {
		*error_r = xasprintf("%s: dkim_keys row %lld: unknown algorithm \"%s\"",
		                     path, (long long)sqlite3_column_int64(st, 0), alg);
		return -1;
	}
	k = keytable_add_key(kt);
	k->domain = str_lower(xstrdup(column(st, 1)));
	k->selector = xstrdup(column(st, 2));
	k->name = xasprintf("%s._domainkey.%s", k->selector, k->domain);
	k->alg = strcmp(alg, "rsa") == 0 ? DKIM_ALG_RSA : DKIM_ALG_ED25519;
	k->bits = (unsigned)sqlite3_column_int(st, 4);
	k->path = xstrdup(column(st, 5));
	k->state = s;
	k->created = sqlite3_column_int64(st, 7);
	k->state_since = sqlite3_column_int64(st, 8);
	return 0;
}

static void
rule_row(struct dkim_keytable *kt, sqlite3_stmt *st)
{
	struct dkim_sign_rule *r = keytable_add_rule(kt);

	r->pattern = xstrdup(column(st, 0));
	r->domain = str_lower(xstrdup(column(st, 1)));
	r->glob = strchr(r->pattern, '*') != NULL;
}

/* Run one query; each row goes into the hash and, when kt is not NULL,
 * into the table. */
static int
read_rows(sqlite3 *db, const char *sql, struct dkim_keytable *kt, bool keys,
          const char *path, uint64_t *hash, char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return sql_fail(db, path,
		                keys ? "reading dkim_keys" : "reading dkim_signing",
		                error_r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*hash = hash_row(*hash, st);
		if (kt == NULL)
			continue;
		if (!keys)
			rule_row(kt, st);
		else if (key_row(kt, st, path, error_r) < 0) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_fail(db, path,
		                keys ? "reading dkim_keys" : "reading dkim_signing",
		                error_r);
	*hash = hash_add(*hash, (const unsigned char *)"|", 1);
	return 0;
}

/* Both tables in one read transaction. */
static int
read_tables(sqlite3 *db, struct dkim_keytable *kt, const char *path, uint64_t *hash_r,
            char **error_r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int rc;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return sql_fail(db, path, "starting a read", error_r);
	rc = read_rows(db, keys_sql, kt, true, path, &h, error_r);
	if (rc == 0)
		rc = read_rows(db, rules_sql, kt, false, path, &h, error_r);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	*hash_r = h;
	return rc;
}

static int
sqlite_load(struct dkim_keytable *kt, const char *arg, const char *database,
            char **error_r)
{
	struct sqlite_priv *p;
	sqlite3 *db = NULL;
	int rc;

	if (arg != NULL && *arg != '\0')
		database = arg;
	if (database == NULL || *database == '\0') {
		*error_r = xstrdup("key table sqlite: no database named");
		return -1;
	}
	rc = sqlite3_open_v2(database, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", database,
		                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	p = xcalloc(1, sizeof(*p));
	p->db = db;
	kt->priv = p;
	if (data_version(db, &p->data_version) < 0)
		return sql_fail(db, database, "reading data_version", error_r);
	kt->data_version = p->data_version;
	return read_tables(db, kt, database, &p->hash, error_r);
}

static int
sqlite_changed(const struct dkim_keytable *kt)
{
	struct sqlite_priv *p = kt->priv;
	const char *path = kt->source + strlen("sqlite:");
	int64_t v;
	uint64_t h;
	char *error = NULL;

	if (data_version(p->db, &v) < 0)
		return -1;
	if (v == p->data_version)
		return 0;
	if (read_tables(p->db, NULL, path, &h, &error) < 0) {
		free(error);
		return -1;
	}
	if (h != p->hash)
		return 1;
	p->data_version = v;
	return 0;
}

static void
sqlite_free_priv(void *priv)
{
	struct sqlite_priv *p = priv;

	sqlite3_close(p->db);
	free(p);
}

const struct keytable_backend keytable_sqlite_backend = {
    "sqlite",
    sqlite_load,
    sqlite_changed,
    sqlite_free_priv,
};
