/*
 * message: DKIM for one message, as the milter sees it. Header fields are
 * kept until the end of the header (so the signature screen knows how
 * many fields the message has, and the signing table sees From:), then
 * handed to libopendkim once; body chunks go straight through.
 *
 * Mail from outside is verified: every DKIM-Signature is screened
 * (screen.h), at most max_signatures of those that pass are verified by
 * libopendkim (the body hash by postern itself unless a signature has l=:
 * the library canonicalizes a byte at a time), and each signature gets a
 * result with RFC 8301 applied:
 * rsa-sha1, RSA keys under min_rsa_bits and (unless allow_l) an l= tag
 * are "policy", never "pass". Mail from inside is signed with each key
 * given, one signature per key.
 *
 * This module never logs and never exits.
 */
#ifndef POSTERN_DKIM_MESSAGE_H
#define POSTERN_DKIM_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim/dkim.h"
#include "dkim/screen.h"

struct dkim_engine;
struct dkim_key;
struct dkim_msg;

/* Fields kept before the end of the header; more is a permerror for
 * every signature (and no signing). */
#define DKIM_MSG_HEADERS_MAX 1000
#define DKIM_MSG_HEADER_BYTES_MAX (1024 * 1024)

struct dkim_msg *dkim_msg_new(struct dkim_engine *e, const char *id);
void dkim_msg_free(struct dkim_msg *m);

/* One header field as the milter got it without SMFIP_HDR_LEADSPC: the
 * MTA took away the space after the colon, and it is put back ("Name:
 * value"). The value may be folded with LF or CRLF. */
void dkim_msg_header(struct dkim_msg *m, const char *name, const char *value);

/* The address of the first mailbox of the From: field ("user@example.com",
 * lower case domain), or NULL when there is none or it has no '@'. Valid
 * after the header fields are in. */
const char *dkim_msg_from(struct dkim_msg *m);

/* What a verified signature came to. */
struct dkim_sig_result {
	enum dkim_result result;
	struct dkim_sig_info info; /* d, s, i, a, b8 as the signature says */
	unsigned bits;             /* key size, 0 when not known */
	char reason[200];          /* "" for pass */
};

struct dkim_verify_opts {
	unsigned max_signatures;
	unsigned min_rsa_bits;
	bool allow_l;
};

/* At the end of the header: start verifying. */
void dkim_msg_verify_start(struct dkim_msg *m, const struct dkim_verify_opts *o);

/* dkim_verify_opts.max_signatures of a message being verified (0 for
 * NULL): for the engine's prescreen hook. */
unsigned dkim_msg_max_signatures(const struct dkim_msg *m);

/* At the end of the header: start signing with keys[0..n) (active keys
 * of the signing table), with the engine's canonicalization and header
 * lists. Returns 0, or -1 with a reason in why. */
int dkim_msg_sign_start(struct dkim_msg *m, const struct dkim_key *const *keys, size_t n,
                        char *why, size_t whylen);

/* A body chunk (after the end of the header). */
void dkim_msg_body(struct dkim_msg *m, const unsigned char *chunk, size_t len);

/* Whether the body hashes of the signatures being verified are postern's
 * own (every signature without l=) rather than libopendkim's: for tests
 * and benchmarks. */
bool dkim_msg_hashes_body(const struct dkim_msg *m);

/* At the end of the message: the result of each signature, in header
 * order (none: zero results). The array belongs to m. */
size_t dkim_msg_verify_finish(struct dkim_msg *m, const struct dkim_sig_result **res_r);

/* A signature made at the end of the message. */
struct dkim_made {
	char d[254], s[64], a[16];
	char *value; /* DKIM-Signature value, folded with LF + TAB (no CR);
	              * NULL when signing failed */
	char reason[200];
};
/* At the end of the message: the signatures, one per key, in key order.
 * The array belongs to m. */
size_t dkim_msg_sign_finish(struct dkim_msg *m, const struct dkim_made **made_r);

#endif
