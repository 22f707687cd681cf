/*
 * sign: DKIM signatures (RFC 6376, RFC 8463) made by postern itself, with
 * keys parsed once when the key table is loaded.
 *
 * libopendkim 2.11 parses the private key again for every signature
 * (PEM decoding costs more than an RSA-2048 signature on OpenSSL 3) and
 * never frees what it allocates for an Ed25519 signature. So signing is
 * done here: canonicalization (simple and relaxed, section 3.4), the body
 * hash streamed as the body comes, the header hash over the fields the
 * configuration names, and the signature with OpenSSL. Verifying stays
 * with libopendkim; the tests verify these signatures with libopendkim,
 * dkimpy, Mail::DKIM and OpenDKIM.
 *
 * This module never logs and never exits.
 */
#ifndef POSTERN_DKIM_SIGN_H
#define POSTERN_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct dkim_key;
struct dkim_made;

/* A body canonicalizer: feed chunks, then finish. The output goes to
 * put(arg, bytes, len). */
struct dkim_canon_body {
	bool relaxed;
	bool cr;      /* the last byte was a CR not yet known to end a line */
	bool wsp;     /* relaxed: white space waiting for more text */
	bool content; /* the current line has text */
	bool any;     /* something was written */
	size_t empty; /* empty lines not yet written */
	void (*put)(void *arg, const void *p, size_t len);
	void *arg;
};
void dkim_canon_body_init(struct dkim_canon_body *c, bool relaxed,
                          void (*put)(void *, const void *, size_t), void *arg);
void dkim_canon_body_add(struct dkim_canon_body *c, const unsigned char *p, size_t len);
void dkim_canon_body_finish(struct dkim_canon_body *c);

/* One header field "Name: value" (folded with CRLF) in canonical form,
 * with its CRLF, into buf (at least len + 3 bytes). Returns its length. */
size_t dkim_canon_header(const char *field, size_t len, size_t name_len, bool relaxed,
                         char *buf);

struct dkim_sign_field {
	const char *text; /* "Name: value", folded with CRLF */
	size_t len, name_len;
};

struct dkim_signer;

/* A signer for keys[0..n) (active keys with their parsed pkey). */
struct dkim_signer *dkim_signer_new(const struct dkim_key *const *keys, size_t n,
                                    bool hdr_relaxed, bool body_relaxed,
                                    const char *const *signed_headers,
                                    const char *const *oversigned_headers);
void dkim_signer_body(struct dkim_signer *s, const unsigned char *p, size_t len);
/* Make one signature per key over fields[0..nfields), at time now, into
 * made[0..n). Values are folded with LF and TAB, without CR. */
void dkim_signer_finish(struct dkim_signer *s, const struct dkim_sign_field *fields,
                        size_t nfields, time_t now, struct dkim_made *made);
void dkim_signer_free(struct dkim_signer *s);

#endif
