/*
 * keyfile: the key material of "posternctl keys": making a key, writing
 * it as a private file, its public half as DKIM publishes it (RFC 6376
 * p= for RSA: the DER SubjectPublicKeyInfo; RFC 8463 for Ed25519: the 32
 * raw bytes), the DNS record, and checking a record against a key.
 * Errors come back as malloc'd strings; nothing here prints.
 */
#ifndef POSTERN_CTL_KEYFILE_H
#define POSTERN_CTL_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dkim/keytable.h"

/* A new key (an EVP_PKEY *): RSA of bits bits, or Ed25519. */
void *keyfile_generate(enum dkim_key_alg alg, unsigned bits, char **error_r);
void keyfile_free_pkey(void *pkey);

/* Write pkey as PEM (PKCS#8) to path, mode 0600, atomically: a temporary
 * file in the same directory opened O_EXCL, written, fsync'd, then
 * linked to path, which must not exist. With uid != (uid_t)-1 the file
 * is given to uid:gid first. */
int keyfile_write(const char *path, void *pkey, uid_t uid, gid_t gid, char **error_r);

/* Write text (the PEM of another file: import) the same way. */
int keyfile_write_text(const char *path, const char *text, size_t len, uid_t uid,
                       gid_t gid, char **error_r);

/* Make dir (mode 0700, and its parents 0755) if missing; with uid !=
 * (uid_t)-1, a dir made here is given to uid:gid. */
int keyfile_mkdir(const char *dir, uid_t uid, gid_t gid, char **error_r);

/* The p= value of pkey: base64, malloc'd. */
char *keyfile_public_b64(void *pkey);

/* The zone-file line "SEL._domainkey.DOMAIN. IN TXT ( "v=DKIM1; k=...;
 * p=..." "..." )", each string at most 255 bytes. Malloc'd. */
char *keyfile_dns_record(const char *domain, const char *selector, enum dkim_key_alg alg,
                         const char *p_b64);

/* What a published record says about our key. */
enum keycheck {
	KC_OK,        /* the record publishes this key */
	KC_NO_RECORD, /* no such name, no TXT, or no DKIM key record */
	KC_DIFFERS,   /* another key, another algorithm, or a broken record */
	KC_REVOKED,   /* p= is empty */
	KC_TEMP,      /* DNS could not tell (timeout, SERVFAIL) */
};
/* "ok", "no-record", "differs", "revoked", "temp" */
const char *keycheck_name(enum keycheck r);

/* Compare the TXT records found at the key's name (texts, ntexts) with
 * our key (alg, p_b64). *detail_r gets a malloc'd sentence. */
enum keycheck keycheck_records(const char *const *texts, size_t ntexts,
                               enum dkim_key_alg alg, const char *p_b64, char **detail_r);

#endif
