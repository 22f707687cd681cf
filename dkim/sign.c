/*
 * sign: canonicalization and signing (see sign.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "dkim/keytable.h"
#include "dkim/message.h"
#include "dkim/sign.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* ---- Body (RFC 6376 section 3.4.3 and 3.4.4) ----------------------------------- */

void
dkim_canon_body_init(struct dkim_canon_body *c, bool relaxed,
                     void (*put)(void *, const void *, size_t), void *arg)
{
	memset(c, 0, sizeof(*c));
	c->relaxed = relaxed;
	c->put = put;
	c->arg = arg;
}

/* Output is gathered here and handed to put() in blocks: a call per line
 * costs more than the hashing of it. */
struct emit {
	struct dkim_canon_body *c;
	size_t n;
	unsigned char buf[4096];
};

static void
emit_flush(struct emit *e)
{
	if (e->n > 0)
		e->c->put(e->c->arg, e->buf, e->n);
	e->n = 0;
}

static void
emit(struct emit *e, const void *p, size_t len)
{
	if (len > sizeof(e->buf) - e->n) {
		emit_flush(e);
		if (len >= sizeof(e->buf)) {
			e->c->put(e->c->arg, p, len);
			return;
		}
	}
	memcpy(e->buf + e->n, p, len);
	e->n += len;
}

/* Text on the current line: first the empty lines it ends. */
static void
body_text(struct emit *e, const unsigned char *p, size_t len)
{
	struct dkim_canon_body *c = e->c;

	for (; c->empty > 0; c->empty--)
		emit(e, "\r\n", 2);
	if (c->wsp) {
		emit(e, " ", 1);
		c->wsp = false;
	}
	emit(e, p, len);
	c->content = c->any = true;
}

static void
body_eol(struct emit *e)
{
	struct dkim_canon_body *c = e->c;

	c->wsp = false; /* relaxed: no white space at the end of a line */
	if (c->content)
		emit(e, "\r\n", 2);
	else
		c->empty++;
	c->content = false;
}

/* The bytes that end a run of plain text. */
static const bool simple_stop[256] = {['\r'] = true, ['\n'] = true};
static const bool relaxed_stop[256] = {
    ['\r'] = true, ['\n'] = true, [' '] = true, ['\t'] = true};

/* Bytes of a body the slow way: runs of text, one byte of anything
 * else at a time. */
static void
body_bytes(struct emit *e, const unsigned char *p, size_t len)
{
	struct dkim_canon_body *c = e->c;
	const bool *stop = c->relaxed ? relaxed_stop : simple_stop;
	size_t i = 0;

	while (i < len) {
		if (!c->cr) {
			size_t j = i;
			for (; j < len; j++) {
				if (!stop[p[j]])
					continue;
				/* Relaxed: one SP between two bytes of text in the
				 * run stays as it is. */
				if (p[j] == ' ' && c->relaxed && j > i && j + 1 < len &&
				    !relaxed_stop[p[j + 1]])
					continue;
				break;
			}
			if (j > i)
				body_text(e, p + i, j - i);
			if (j == len)
				break;
			i = j;
		}
		unsigned char ch = p[i++];
		if (c->cr) {
			c->cr = false;
			if (ch == '\n') {
				body_eol(e);
				continue;
			}
			body_text(e, (const unsigned char *)"\r",
			          1); /* a lone CR is text */
		}
		if (ch == '\r')
			c->cr = true;
		else if (ch == '\n')
			body_eol(
			    e); /* a bare LF ends a line, as the MTA will write CRLF */
		else if (c->relaxed && (ch == ' ' || ch == '\t'))
			c->wsp = true;
		else
			body_text(e, &ch, 1);
	}
}

/* 0x80 in each byte of v that is zero, 0 in the others (exact, unlike
 * the shorter test that may flag a byte above a zero one). */
static inline uint64_t
zero_bytes(uint64_t v)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((v & low7) + low7) | v | low7);
}

/* Whether p[0..n) has an HTAB or two SPs in a row: eight bytes at a
 * time, as this runs over nearly every byte of a relaxed body. */
static bool
tab_or_two_sp(const unsigned char *p, size_t n)
{
	const uint64_t sp8 = 0x2020202020202020ULL, tab8 = 0x0909090909090909ULL;
	bool prev_sp = false; /* the byte before p[k] is SP */
	size_t k = 0;

	for (; k + 8 <= n; k += 8) {
		uint64_t w, sp;
		memcpy(&w, p + k, 8);
		if (zero_bytes(w ^ tab8) != 0)
			return true;
		sp = zero_bytes(w ^ sp8);
		/* Two neighbours in the word, whatever the byte order; then the
		 * pair across the words. */
		if ((sp & (sp << 8)) != 0 || (prev_sp && p[k] == ' '))
			return true;
		prev_sp = p[k + 7] == ' ';
	}
	for (; k < n; k++) {
		if (p[k] == '\t' || (p[k] == ' ' && prev_sp))
			return true;
		prev_sp = p[k] == ' ';
	}
	return false;
}

/* Whether the whole line p[0..n) (its LF last) canonicalizes to itself:
 * text, then CRLF, no other CR; relaxed, no HTAB, no two SPs in a row and
 * no SP at the end. */
static bool
line_same(const unsigned char *p, size_t n, bool relaxed)
{
	if (n < 3 || p[n - 2] != '\r' || memchr(p, '\r', n - 2) != NULL)
		return false;
	if (!relaxed)
		return true;
	return p[n - 3] != ' ' && !tab_or_two_sp(p, n - 2);
}

void
dkim_canon_body_add(struct dkim_canon_body *c, const unsigned char *p, size_t len)
{
	struct emit e = {.c = c, .n = 0};
	size_t i = 0;

	while (i < len) {
		const unsigned char *nl;
		/* At the start of a line: lines that canonicalize to themselves
		 * (nearly all of them) go out together, as they are. */
		if (!c->cr && !c->content && !c->wsp) {
			size_t start = i;
			while ((nl = memchr(p + i, '\n', len - i)) != NULL &&
			       line_same(p + i, (size_t)(nl - p) + 1 - i, c->relaxed))
				i = (size_t)(nl - p) + 1;
			if (i > start) {
				for (; c->empty > 0; c->empty--)
					emit(&e, "\r\n", 2);
				emit(&e, p + start, i - start);
				c->any = true;
				continue;
			}
		}
		/* One line, or what this chunk has of it, the slow way. */
		nl = memchr(p + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - p) + 1 : len;
		body_bytes(&e, p + i, end - i);
		i = end;
	}
	emit_flush(&e);
}

void
dkim_canon_body_finish(struct dkim_canon_body *c)
{
	struct emit e = {.c = c, .n = 0};

	if (c->cr) {
		c->cr = false;
		body_text(&e, (const unsigned char *)"\r", 1);
	}
	if (c->content) {
		c->wsp = false;
		emit(&e, "\r\n", 2);
		c->content = false;
	}
	/* An empty body is one CRLF for simple, nothing for relaxed. */
	if (!c->any && !c->relaxed)
		emit(&e, "\r\n", 2);
	emit_flush(&e);
}

/* ---- Header fields (section 3.4.1 and 3.4.2) ----------------------------------- */

size_t
dkim_canon_header(const char *field, size_t len, size_t name_len, bool relaxed, char *buf)
{
	size_t o = 0, i;
	bool wsp = false;

	if (!relaxed) {
		memcpy(buf, field, len);
		memcpy(buf + len, "\r\n", 2);
		return len + 2;
	}
	for (i = 0; i < name_len; i++)
		if (field[i] != ' ' && field[i] != '\t')
			buf[o++] = (char)tolower((unsigned char)field[i]);
	buf[o++] = ':';
	size_t value_start = o;
	for (i = name_len + 1; i < len; i++) {
		char ch = field[i];
		if (ch == '\r' || ch == '\n')
			continue; /* unfold */
		if (ch == ' ' || ch == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && o > value_start) /* no white space at the start */
			buf[o++] = ' ';
		wsp = false;
		buf[o++] = ch;
	}
	memcpy(buf + o, "\r\n", 2);
	return o + 2;
}

/* ---- Signing -------------------------------------------------------------------- */

struct dkim_signer {
	const struct dkim_key **keys;
	size_t n;
	bool hdr_relaxed, body_relaxed;
	const char *const *signed_headers;
	const char *const *oversigned;
	EVP_MD_CTX *body_hash;
	struct dkim_canon_body canon;
	bool failed;
};

static void
hash_put(void *arg, const void *p, size_t len)
{
	struct dkim_signer *s = arg;

	if (EVP_DigestUpdate(s->body_hash, p, len) != 1)
		s->failed = true;
}

struct dkim_signer *
dkim_signer_new(const struct dkim_key *const *keys, size_t n, bool hdr_relaxed,
                bool body_relaxed, const char *const *signed_headers,
                const char *const *oversigned_headers)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));

	s->keys = xcalloc(n, sizeof(*s->keys));
	memcpy(s->keys, keys, n * sizeof(*keys));
	s->n = n;
	s->hdr_relaxed = hdr_relaxed;
	s->body_relaxed = body_relaxed;
	s->signed_headers = signed_headers;
	s->oversigned = oversigned_headers;
	s->body_hash = EVP_MD_CTX_new();
	if (s->body_hash == NULL ||
	    EVP_DigestInit_ex(s->body_hash, EVP_sha256(), NULL) != 1)
		s->failed = true;
	dkim_canon_body_init(&s->canon, body_relaxed, hash_put, s);
	return s;
}

void
dkim_signer_body(struct dkim_signer *s, const unsigned char *p, size_t len)
{
	dkim_canon_body_add(&s->canon, p, len);
}

void
dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->body_hash);
	free(s->keys);
	free(s);
}

static bool
listed(const char *const *names, const char *name, size_t len)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
			return true;
	return false;
}

/* Append text to b, with "\r\n\t " before it when the line would grow
 * past 76 characters. *col is the length of the current line. */
static void
fold_add(struct strbuf *b, size_t *col, const char *text, size_t len)
{
	if (*col + len > 76 && *col > 1) {
		strbuf_puts(b, "\r\n\t ");
		*col = 2;
	}
	strbuf_add(b, text, len);
	*col += len;
}

/* The signature header value without the b= value. */
static void
build_value(struct dkim_signer *s, const struct dkim_key *k, const char *bh, time_t now,
            const struct dkim_sign_field *f, size_t nf, struct strbuf *v)
{
	char head[600];
	size_t col;

	snprintf(head, sizeof(head),
	         "v=1; a=%s; c=%s/%s; d=%s; s=%s;\r\n\tt=%lld; bh=%s;\r\n\th=",
	         k->alg == DKIM_ALG_ED25519 ? "ed25519-sha256" : "rsa-sha256",
	         s->hdr_relaxed ? "relaxed" : "simple",
	         s->body_relaxed ? "relaxed" : "simple", k->domain, k->selector,
	         (long long)now, bh);
	strbuf_puts(v, head);
	col = 3;
	bool first = true;
	for (size_t i = 0; i < nf; i++) {
		if (!listed(s->signed_headers, f[i].text, f[i].name_len))
			continue;
		if (!first)
			fold_add(v, &col, ":", 1);
		fold_add(v, &col, f[i].text, f[i].name_len);
		first = false;
	}
	for (size_t i = 0; s->oversigned != NULL && s->oversigned[i] != NULL; i++) {
		if (!first)
			fold_add(v, &col, ":", 1);
		fold_add(v, &col, s->oversigned[i], strlen(s->oversigned[i]));
		first = false;
	}
	strbuf_puts(v, ";\r\n\tb=");
}

/* The names of h= (the value between "\th=" and ";", as build_value
 * writes it: "bh=" must not be taken for it), split at ':'. */
static size_t
h_names(const char *v, const char **name, size_t *nlen, size_t max)
{
	const char *p = strstr(v, "\th=") + 3, *end = strchr(p, ';');
	size_t n = 0;

	while (p < end && n < max) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		const char *q = p;
		while (q < end && *q != ':' && *q != ' ' && *q != '\t' && *q != '\r')
			q++;
		if (q > p) {
			name[n] = p;
			nlen[n++] = (size_t)(q - p);
		}
		p = q;
		while (p < end && *p != ':')
			p++;
		p++;
	}
	return n;
}

/* The data the signature covers: the fields h= names, each the last one
 * not yet used (section 5.4.2), then the signature field itself. */
static void
header_data(struct dkim_signer *s, const struct dkim_sign_field *f, size_t nf,
            const char *value, struct strbuf *data)
{
	const char *name[200];
	size_t nlen[200], nn = h_names(value, name, nlen, 200);
	bool *used = xcalloc(nf + 1, sizeof(bool));
	size_t cap = 0;
	char *buf = NULL;

	for (size_t k = 0; k < nn; k++) {
		for (size_t i = nf; i > 0; i--) {
			const struct dkim_sign_field *x = &f[i - 1];
			if (used[i - 1] || x->name_len != nlen[k] ||
			    strncasecmp(x->text, name[k], nlen[k]) != 0)
				continue;
			used[i - 1] = true;
			buf = xgrow(buf, &cap, x->len + 3, 1);
			strbuf_add(data, buf,
			           dkim_canon_header(x->text, x->len, x->name_len,
			                             s->hdr_relaxed, buf));
			break;
		}
	}
	/* The signature field, b= empty, without its CRLF. */
	struct strbuf sig = {0};
	strbuf_puts(&sig, "DKIM-Signature: ");
	strbuf_puts(&sig, value);
	buf = xgrow(buf, &cap, sig.len + 3, 1);
	size_t len = dkim_canon_header(sig.s, sig.len, strlen("DKIM-Signature"),
	                               s->hdr_relaxed, buf);
	strbuf_add(data, buf, len - 2);
	free(sig.s);
	free(buf);
	free(used);
}

static int
sign_data(const struct dkim_key *k, const struct strbuf *data, unsigned char *sig,
          size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	if (ctx == NULL)
		return -1;
	if (k->alg == DKIM_ALG_ED25519) {
		/* RFC 8463: Ed25519 signs the SHA-256 hash of the data. */
		unsigned char hash[32];
		unsigned int hl = 0;
		ok = EVP_Digest(data->s, data->len, hash, &hl, EVP_sha256(), NULL) == 1 &&
		     EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
		     EVP_DigestSign(ctx, sig, siglen, hash, hl) == 1;
	} else {
		ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		     EVP_DigestSignUpdate(ctx, data->s, data->len) == 1 &&
		     EVP_DigestSignFinal(ctx, sig, siglen) == 1;
	}
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

void
dkim_signer_finish(struct dkim_signer *s, const struct dkim_sign_field *fields,
                   size_t nfields, time_t now, struct dkim_made *made)
{
	unsigned char bh[EVP_MAX_MD_SIZE], sig[1024];
	char bh64[64], sig64[1400];
	unsigned int bhlen = 0;

	dkim_canon_body_finish(&s->canon);
	if (!s->failed && EVP_DigestFinal_ex(s->body_hash, bh, &bhlen) != 1)
		s->failed = true;
	if (!s->failed)
		EVP_EncodeBlock((unsigned char *)bh64, bh, (int)bhlen);
	for (size_t k = 0; k < s->n; k++) {
		const struct dkim_key *key = s->keys[k];
		struct dkim_made *m = &made[k];
		struct strbuf v = {0}, data = {0};
		size_t siglen = sizeof(sig);

		memset(m, 0, sizeof(*m));
		snprintf(m->d, sizeof(m->d), "%s", key->domain);
		snprintf(m->s, sizeof(m->s), "%s", key->selector);
		snprintf(m->a, sizeof(m->a), "%s",
		         key->alg == DKIM_ALG_ED25519 ? "ed25519-sha256" : "rsa-sha256");
		if (s->failed || key->pkey == NULL) {
			snprintf(m->reason, sizeof(m->reason), "%s",
			         s->failed ? "hashing the body failed"
			                   : "the key is not loaded");
			continue;
		}
		build_value(s, key, bh64, now, fields, nfields, &v);
		header_data(s, fields, nfields, v.s, &data);
		if (sign_data(key, &data, sig, &siglen) < 0 || siglen > sizeof(sig)) {
			snprintf(m->reason, sizeof(m->reason), "OpenSSL could not sign");
			free(v.s);
			free(data.s);
			continue;
		}
		EVP_EncodeBlock((unsigned char *)sig64, sig, (int)siglen);
		/* b= folded in lines of 72, then LF instead of CRLF. */
		size_t slen = strlen(sig64), col = 4;
		for (size_t off = 0; off < slen;) {
			size_t room = col >= 76 ? 0 : 76 - col,
			       take = slen - off < room ? slen - off : room;
			if (take == 0) {
				strbuf_puts(&v, "\r\n\t ");
				col = 2;
				continue;
			}
			strbuf_add(&v, sig64 + off, take);
			off += take;
			col += take;
		}
		char *out = xmalloc(v.len + 1), *o = out;
		for (size_t i = 0; i < v.len; i++)
			if (v.s[i] != '\r')
				*o++ = v.s[i];
		*o = '\0';
		m->value = out;
		free(v.s);
		free(data.s);
	}
}
