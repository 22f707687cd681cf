/*
 * keytable_internal: what keytable.c shares with its backends
 * (keytable_sqlite.c, keytable_opendkim.c) and nobody else sees: the
 * backend table's row and the helpers that build a table.
 */
#ifndef POSTERN_DKIM_KEYTABLE_INTERNAL_H
#define POSTERN_DKIM_KEYTABLE_INTERNAL_H

#include "dkim/keytable.h"

/* One backend. load fills the keys and rules of kt (empty, source set)
 * from arg (what follows "name:" in the spec, or NULL) and sets kt->priv;
 * it does not load private keys (keytable.c does, for active keys).
 * changed and free_priv get kt->priv back. */
struct keytable_backend {
	const char *name;
	int (*load)(struct dkim_keytable *kt, const char *arg, const char *database,
	            char **error_r);
	int (*changed)(const struct dkim_keytable *kt);
	void (*free_priv)(void *priv);
};

extern const struct keytable_backend keytable_sqlite_backend;
extern const struct keytable_backend keytable_opendkim_backend;

/* An empty table named source (copied). */
struct dkim_keytable *keytable_new(const char *source);
/* Append a zeroed key or rule to kt and return it. */
struct dkim_key *keytable_add_key(struct dkim_keytable *kt);
struct dkim_sign_rule *keytable_add_rule(struct dkim_keytable *kt);
/* The key named name, or NULL. */
const struct dkim_key *keytable_find_key(const struct dkim_keytable *kt,
                                         const char *name);

#endif
