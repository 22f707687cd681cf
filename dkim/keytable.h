/*
 * keytable: the DKIM keys postern signs with and the signing table that
 * says which mail each key signs. One interface, two backends:
 *
 *   "sqlite"        the keys and rules of the database (dkim_keys and
 *                   dkim_signing, managed by "posternctl keys"); the
 *                   default;
 *   "opendkim:KT,ST" OpenDKIM's KeyTable and SigningTable files read as
 *                   they are ("refile:" in front of ST is allowed).
 *
 * OpenDKIM files, as postern reads them. The two paths are split at the
 * first comma; "file:" in front of either and "refile:" in front of ST
 * are allowed. '#' starts a comment, blank lines are skipped.
 *
 *   KeyTable       "KEYNAME DOMAIN:SELECTOR:/ABSOLUTE/KEY/PATH": one key
 *                  per name (a name given twice is an error). Refused,
 *                  with the file and line: DOMAIN "%" (the From: domain;
 *                  name the domain instead), inline key data (a KEYPATH
 *                  that does not start with '/'), a missing field.
 *   SigningTable   "PATTERN KEYNAME [SIGNER]": the key must be a name of
 *                  the KeyTable (else an error with file:line); KEYNAME
 *                  "%" is refused; SIGNER (OpenDKIM's i=) is ignored.
 *     refile:      every PATTERN is a glob over the whole address, only
 *                  '*' is special, rows are tried in file order (as
 *                  OpenDKIM's regular-expression file).
 *     plain file   OpenDKIM looks the address up in a fixed order, not in
 *                  file order: "user@host.example.com", "host.example.com",
 *                  then for each parent "user@.example.com",
 *                  ".example.com", then "user@.com", ".com", then "user@*",
 *                  "*". postern keeps the rows in that order (most
 *                  specific first, file order among equals), so that the
 *                  first match is OpenDKIM's. Any other pattern with '*'
 *                  is refused: OpenDKIM would never match it.
 * Every KeyTable key is active and loaded; created and state_since are 0.
 *
 * A loaded table is an immutable snapshot: the daemon swaps it whole when
 * the database changes (PRAGMA data_version) or on SIGHUP, and a message
 * keeps the snapshot it started with.
 *
 * Loading reads every private key that can sign (state active) and
 * refuses the table when one is unsafe (not a regular file, readable or
 * writable by group or others, owned by another user than the process's
 * or root) or does not parse, with the file and the reason.
 *
 * This module never logs and never exits.
 */
#ifndef POSTERN_DKIM_KEYTABLE_H
#define POSTERN_DKIM_KEYTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum dkim_key_alg { DKIM_ALG_RSA, DKIM_ALG_ED25519 };
/* "rsa", "ed25519" */
const char *dkim_key_alg_name(enum dkim_key_alg a);

/* A key's life: generated and waiting for its DNS record to be seen
 * (published-pending), signing (active), no longer signing (retired).
 * Keys of an OpenDKIM key table are always active. */
enum dkim_key_state { DKIM_KEY_PENDING, DKIM_KEY_ACTIVE, DKIM_KEY_RETIRED };
/* "published-pending", "active", "retired" */
const char *dkim_key_state_name(enum dkim_key_state s);
/* Parse a state name; returns 0, or -1 when unknown. */
int dkim_key_state_parse(const char *name, enum dkim_key_state *s_r);

struct dkim_key {
	char *name;     /* OpenDKIM key name, or "selector._domainkey.domain" */
	char *domain;   /* d=, lower case */
	char *selector; /* s= */
	char *path;     /* the private key file */
	enum dkim_key_alg alg;
	unsigned bits; /* RSA modulus bits; 256 for Ed25519 */
	enum dkim_key_state state;
	int64_t created;     /* unix time; 0 when unknown (OpenDKIM files) */
	int64_t state_since; /* unix time of the last state change */
	/* Loaded for active keys only (NULL otherwise): the parsed key (an
	 * EVP_PKEY *) that dkim/sign.c signs with, parsed once. */
	void *pkey;
};

/* One signing-table rule: mail whose From: address matches pattern is
 * signed by key (OpenDKIM: the key named in the row) or by every active
 * key of domain (sqlite: "posternctl keys sign-for PATTERN DOMAIN").
 * A pattern with '*' is a glob over the whole address, as OpenDKIM's
 * refile: tables ("*@example.com", "*@*.example.com", "*"); one without
 * is an address ("user@example.com") or a domain ("example.com") that
 * matches every address of that domain. A domain with a leading dot
 * (".example.com", "user@.example.com") matches the names below it but
 * not the domain itself, as in OpenDKIM. Matching ignores case. In an
 * OpenDKIM refile: table every pattern is a glob (glob is set), so one
 * without '*' is one address. */
struct dkim_sign_rule {
	char *pattern;
	char *domain;   /* sqlite backend, or NULL */
	char *key_name; /* opendkim backend, or NULL */
	bool glob;      /* match pattern as a glob over the whole address */
};

struct dkim_keytable {
	struct dkim_key *keys;
	size_t nkeys;
	struct dkim_sign_rule *rules; /* in the order they are tried */
	size_t nrules;
	char *source; /* "sqlite:/var/lib/postern/postern.db" or "opendkim:KT,ST" */
	int64_t data_version; /* sqlite: PRAGMA data_version at load time */
	void *priv;           /* the backend's: what dkim_keytable_changed needs */
};

/* Load the table named by spec ("sqlite" or "opendkim:KT,ST"); database
 * is the SQLite file for "sqlite". Returns 0, or -1 with a malloc'd
 * *error_r that names the file, line or key and the reason. */
int dkim_keytable_load(const char *spec, const char *database,
                       struct dkim_keytable **kt_r, char **error_r);
void dkim_keytable_free(struct dkim_keytable *kt);

/* Has the table's source changed since it was loaded? Returns 1 when it
 * has, 0 when not. For sqlite, PRAGMA data_version on a connection kept
 * open for this; when it moved (any commit, the verdict log's too), a
 * hash of the rows of dkim_keys and dkim_signing tells whether they
 * changed. For OpenDKIM files, their inode, mtime and size. Call it from
 * one thread only. Never blocks for long; -1 when it cannot tell. */
int dkim_keytable_changed(const struct dkim_keytable *kt);

/* The active keys that sign mail from this From: address
 * ("user@example.com"), at most max, in table order without duplicates.
 * The sqlite backend gives every active key of the first matching rule's
 * domain (so RSA and Ed25519 sign side by side); the OpenDKIM backend
 * gives the key of the first matching row, as OpenDKIM does without
 * MultipleSignatures. Returns how many were stored. */
size_t dkim_keytable_match(const struct dkim_keytable *kt, const char *from_addr,
                           const struct dkim_key **keys_r, size_t max);

/* Read and check one private key file: safe permissions, parses, RSA of
 * 1024 to 4096 bits or Ed25519. Fills alg, bits and pkey of *k. Returns 0, or -1 with a
 * malloc'd *error_r
 * ("/path: readable by group or others (mode 0644); chmod 600 it"). */
int dkim_key_load_private(struct dkim_key *k, char **error_r);

/* Besides root, the user that may own key files; by default the
 * process's effective user (when this was never called). The daemon,
 * which loads keys as root before it drops to its user, names that user
 * here. Call before loading; not thread-safe. */
void dkim_key_set_owner(uid_t uid);

/* The parsing half of dkim_key_load_private, without the file checks:
 * text (len bytes, PEM) must hold an RSA key of 1024 to 4096 bits or an
 * Ed25519 key. Fills alg, bits and pkey of *k. k->path names the key in *error_r. */
int dkim_key_parse_private(struct dkim_key *k, const char *text, size_t len,
                           char **error_r);

/* Free what a key holds (not k itself). */
void dkim_key_clear(struct dkim_key *k);

/* Read an OpenDKIM KeyTable and SigningTable ("KT,ST" as after
 * "opendkim:") without reading any key file: keys have name, domain,
 * selector, path and state active, and no pkey. For "posternctl keys
 * import-opendkim". Returns 0, or -1 with a malloc'd *error_r. */
int dkim_keytable_parse_opendkim(const char *files, struct dkim_keytable **kt_r,
                                 char **error_r);

/* Does from_addr match rule r (see struct dkim_sign_rule)? */
bool dkim_rule_match(const struct dkim_sign_rule *r, const char *from_addr);

#endif
