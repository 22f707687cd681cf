/*
 * keys: the DKIM key store of the database, for "posternctl keys": the
 * rows of dkim_keys (one per key: domain, selector, algorithm, the
 * private key's file, the public key as published, its state) and of
 * dkim_signing (which From: addresses sign with which domain's keys),
 * and dkim_rotations (the pending keys that "keys rotate" made; when one
 * is activated, the domain's other active keys of its algorithm retire).
 *
 * The daemon reads these tables through dkim/keytable_sqlite.c; this
 * module writes them. Every function returns 0, or -1 with a malloc'd
 * *error_r; none logs or exits.
 */
#ifndef POSTERN_DB_KEYS_H
#define POSTERN_DB_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim/keytable.h"

struct db_keys;

struct db_key_row {
	int64_t id;
	char *domain; /* lower case */
	char *selector;
	enum dkim_key_alg alg;
	unsigned bits;
	char *path;
	char *public_key; /* base64, the p= value */
	enum dkim_key_state state;
	int64_t created;     /* unix time */
	int64_t state_since; /* unix time */
	bool rotation;       /* pending and made by a rotation */
};

struct db_signing_row {
	int64_t id;
	char *pattern;
	char *domain;
};

/* Open the database at path, creating and migrating it as the daemon
 * would. Close with db_keys_close (NULL is allowed). */
int db_keys_open(const char *path, struct db_keys **ks_r, char **error_r);
void db_keys_close(struct db_keys *ks);

/* Group several changes into one transaction (import). */
int db_keys_begin(struct db_keys *ks, char **error_r);
int db_keys_commit(struct db_keys *ks, char **error_r);
void db_keys_rollback(struct db_keys *ks);

/* Insert a key; row->id is ignored and set. A key with the same domain
 * and selector is an error ("key SEL._domainkey.DOMAIN exists"). With
 * row->rotation, the key is marked as made by a rotation. */
int db_keys_add(struct db_keys *ks, struct db_key_row *row, char **error_r);

/* The keys of domain (NULL: all), ordered by domain, then id. The rows
 * are the caller's: free with db_key_rows_free. */
int db_keys_list(struct db_keys *ks, const char *domain, struct db_key_row **rows_r,
                 size_t *n_r, char **error_r);
void db_key_rows_free(struct db_key_row *rows, size_t n);

/* One key. Returns 0 and fills *row_r (free with db_key_row_clear), 1
 * when there is no such key, -1 on error. */
int db_keys_get(struct db_keys *ks, const char *domain, const char *selector,
                struct db_key_row *row_r, char **error_r);
void db_key_row_clear(struct db_key_row *row);

/* Set a key's state and state_since = now; leaving published-pending
 * ends a rotation mark. */
int db_keys_set_state(struct db_keys *ks, int64_t id, enum dkim_key_state state,
                      int64_t now, char **error_r);

/* Activate key id (state_since = now); with retire_others, the other
 * active keys of its domain and algorithm become retired, all in one
 * transaction. *nretired_r counts them (may be NULL). */
int db_keys_activate(struct db_keys *ks, int64_t id, bool retire_others, int64_t now,
                     size_t *nretired_r, char **error_r);

/* Remove key id (and its rotation mark). */
int db_keys_remove(struct db_keys *ks, int64_t id, char **error_r);

/* Signing rules. Adding an existing (pattern, domain) is an error;
 * removing a missing one returns 1. The list is in id order, the order
 * in which the daemon tries them. */
int db_signing_add(struct db_keys *ks, const char *pattern, const char *domain,
                   char **error_r);
int db_signing_remove(struct db_keys *ks, const char *pattern, const char *domain,
                      char **error_r);
int db_signing_list(struct db_keys *ks, struct db_signing_row **rows_r, size_t *n_r,
                    char **error_r);
void db_signing_rows_free(struct db_signing_row *rows, size_t n);

#endif
