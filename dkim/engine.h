/*
 * engine: one libopendkim library handle per configuration snapshot,
 * with its options and its DNS hooks bridged to postern's resolver, and
 * the signing options (dkim/sign.c signs without the library).
 *
 * libopendkim asks for a key with dkim_dns_set_query_start and friends:
 * the bridge answers each question through dns/ (the cache, the
 * configured servers, the same deadline as every other lookup) and
 * writes the answer back as the DNS reply packet libopendkim parses. A
 * lookup that times out or fails (SERVFAIL) is an error in transit for
 * the library (a temperror), never "no key". A key record longer than
 * DKIM_KEY_TXT_MAX bytes is never handed over (libopendkim reads past
 * its buffer on those): it is answered as "no record", and the verifier
 * reports why.
 *
 * This module never logs and never exits.
 */
#ifndef POSTERN_DKIM_ENGINE_H
#define POSTERN_DKIM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_KEY_TXT_MAX 8192

struct dns_resolver;
struct dns_answer;
struct dkim_engine;

/* The header lists are not copied: they belong to the configuration
 * snapshot that owns the engine. */
struct dkim_engine_opts {
	unsigned min_rsa_bits;             /* RFC 8301: 1024 */
	unsigned timeout_s;                /* key lookups */
	const char *const *signed_headers; /* NULL-terminated, lower case */
	const char *const *oversigned_headers;
	bool hdr_canon, body_canon; /* relaxed (else simple), for signing */
};

/* A new engine over resolver r (not owned; it must outlive the engine,
 * as must the lists of o).
 * Returns NULL with a malloc'd *error_r when libopendkim refuses. */
struct dkim_engine *dkim_engine_new(struct dns_resolver *r,
                                    const struct dkim_engine_opts *o, char **error_r);
void dkim_engine_free(struct dkim_engine *e);

/* For the verifier and the signer. */
void *dkim_engine_lib(const struct dkim_engine *e); /* DKIM_LIB * */
struct dns_resolver *dkim_engine_resolver(const struct dkim_engine *e);
const struct dkim_engine_opts *dkim_engine_opts(const struct dkim_engine *e);

/* Answers looked up ahead (all keys of a message at once) that the bridge
 * uses instead of asking again, and what it noticed, for the calling
 * thread while libopendkim runs. */
struct dkim_dns_scope {
	struct dns_answer **answers; /* by name; NULL entries allowed */
	size_t nanswers;
	char why_name[300]; /* the last key name refused or failed, and why */
	char why[160];
};
void dkim_dns_scope_enter(struct dkim_dns_scope *s);
void dkim_dns_scope_leave(void);

#endif
