/*
 * message: verifying and signing one message with libopendkim (see
 * message.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <opendkim/dkim.h>

#include "dkim/engine.h"
#include "dkim/keytable.h"
#include "dkim/message.h"
#include "dkim/sign.h"
#include "dns/resolver.h"
#include "lib/xalloc.h"

#define SIGNATURE_FIELD "DKIM-Signature"

struct field {
	char *text; /* "Name:value" */
	size_t len;
	size_t name_len;
	int sig; /* index among the DKIM-Signature fields, or -1 */
};

/* A body hash for verifying: the body canonicalized as one or more
 * signatures ask (c=) and digested (a=). */
struct body_hash {
	bool relaxed, sha1;
	EVP_MD_CTX *md;
	struct dkim_canon_body canon;
	bool failed;
	char b64[EVP_MAX_MD_SIZE * 2]; /* the digest in base64, at the end */
};

struct dkim_msg {
	struct dkim_engine *engine;
	char *id;
	struct field *fields;
	size_t nfields, cap, bytes;
	size_t nsigs;  /* DKIM-Signature fields, kept or not */
	bool overflow; /* more fields than we keep */
	bool from_done;
	char *from;

	/* Verifying. */
	DKIM *verifier;
	struct dkim_verify_opts vopts;
	struct dkim_sig_result *results; /* one per signature field */
	bool *fed;                       /* by signature: handed to libopendkim */

	/* The body hashes postern computes itself (see own_body_start). */
	bool own_body;
	struct body_hash hashes[4]; /* one per body canonicalization and digest */
	size_t nhashes;
	int *hash_of;        /* by signature: index in hashes, or -1 */
	DKIM_SIGINFO **lsig; /* by signature: the library's, NULL if it did not take it */

	struct dkim_dns_scope scope; /* the keys, looked up at once */
	struct dns_answer **answers;
	size_t nanswers;

	/* Signing. */
	struct dkim_signer *signer;
	size_t nkeys;
	struct dkim_made *made;
};

struct dkim_msg *
dkim_msg_new(struct dkim_engine *e, const char *id)
{
	struct dkim_msg *m = xcalloc(1, sizeof(*m));

	m->engine = e;
	m->id = xstrdup(id != NULL && *id != '\0' ? id : "postern");
	return m;
}

void
dkim_msg_free(struct dkim_msg *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nfields; i++)
		free(m->fields[i].text);
	free(m->fields);
	if (m->verifier != NULL)
		dkim_free(m->verifier);
	dkim_signer_free(m->signer);
	for (size_t i = 0; m->made != NULL && i < m->nkeys; i++)
		free(m->made[i].value);
	free(m->made);
	free(m->results);
	free(m->fed);
	for (size_t i = 0; i < m->nhashes; i++)
		EVP_MD_CTX_free(m->hashes[i].md);
	free(m->hash_of);
	free(m->lsig);
	for (size_t i = 0; i < m->nanswers; i++)
		dns_answer_free(m->answers[i]);
	free(m->answers);
	free(m->from);
	free(m->id);
	free(m);
}

void
dkim_msg_header(struct dkim_msg *m, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), lfs = 0;
	bool is_sig = strcasecmp(name, SIGNATURE_FIELD) == 0;

	if (is_sig)
		m->nsigs++;
	for (size_t i = 0; i < vlen; i++)
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			lfs++;
	if (m->overflow || m->nfields >= DKIM_MSG_HEADERS_MAX ||
	    m->bytes + nlen + vlen + lfs + 2 > DKIM_MSG_HEADER_BYTES_MAX) {
		m->overflow = true;
		return;
	}
	m->fields = xgrow(m->fields, &m->cap, m->nfields + 1, sizeof(*m->fields));
	struct field *f = &m->fields[m->nfields++];
	/* "Name: value", folded with CRLF as on the wire: the MTA hands
	 * folded values over with LF alone. */
	f->len = nlen + 2 + vlen + lfs;
	f->text = xmalloc(f->len + 1);
	memcpy(f->text, name, nlen);
	memcpy(f->text + nlen, ": ", 2);
	char *o = f->text + nlen + 2;
	for (size_t i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			*o++ = '\r';
		*o++ = value[i];
	}
	*o = '\0';
	f->name_len = nlen;
	f->sig = is_sig ? (int)m->nsigs - 1 : -1;
	m->bytes += f->len;
}

/* ---- From: ----------------------------------------------------------------- */

/* The first mailbox of an address list: the addr-spec inside <> when
 * there is one, else the first word; comments and quoted strings are
 * skipped. */
static char *
first_address(const char *v)
{
	char buf[512];
	size_t n = 0;
	int depth = 0;
	bool quoted = false, angle = false, have_angle = false;

	for (const char *p = v; *p != '\0'; p++) {
		char c = *p;
		if (quoted) {
			if (c == '\\' && p[1] != '\0')
				p++;
			else if (c == '"')
				quoted = false;
			if (angle && n < sizeof(buf) - 1)
				buf[n++] = c;
			continue;
		}
		if (depth > 0) {
			if (c == '\\' && p[1] != '\0')
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '(') {
			depth = 1;
		} else if (c == '"') {
			quoted = true;
			if (angle && n < sizeof(buf) - 1)
				buf[n++] = c;
		} else if (c == '<' && !have_angle) {
			angle = have_angle = true;
			n = 0;
		} else if (c == '>' && angle) {
			break;
		} else if (c == ',' && !angle) {
			break;
		} else if (!isspace((unsigned char)c) && (angle || !have_angle)) {
			if (n < sizeof(buf) - 1)
				buf[n++] = c;
		}
	}
	buf[n] = '\0';
	char *at = strrchr(buf, '@');
	if (at == NULL || at == buf || at[1] == '\0')
		return NULL;
	for (char *d = at + 1; *d; d++)
		*d = (char)tolower((unsigned char)*d);
	return xstrdup(buf);
}

const char *
dkim_msg_from(struct dkim_msg *m)
{
	if (m->from_done)
		return m->from;
	m->from_done = true;
	for (size_t i = 0; i < m->nfields; i++) {
		struct field *f = &m->fields[i];
		if (f->name_len == 4 && strncasecmp(f->text, "from", 4) == 0) {
			m->from = first_address(f->text + 6);
			break;
		}
	}
	return m->from;
}

/* ---- Verifying -------------------------------------------------------------- */

static void
set_result(struct dkim_sig_result *r, enum dkim_result res, const char *reason)
{
	r->result = res;
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
}

static void prefetch_keys(struct dkim_msg *m);
static void library_sigs(struct dkim_msg *m, DKIM_SIGINFO **lsig);
static void own_body_start(struct dkim_msg *m);

/* The field postern adds, unsigned, after the message's own ones. */
#define PAD_FIELD "X-Postern-Unsigned-Pad"

/* Screen every kept signature. libopendkim overflows its heap when an h=
 * list names more fields than it has seen, which oversigning (naming
 * absent fields, so that none can be added) does legitimately: the
 * library is shown enough padding fields after the message's own that
 * no h= list can outnumber them, and the screen counts those too. A
 * signature that names the padding field itself is refused. */
static void
screen_all(struct dkim_msg *m)
{
	size_t n = m->nfields + DKIM_SIG_HMAX;

	for (size_t i = 0; i < m->nfields; i++) {
		struct field *f = &m->fields[i];
		struct dkim_sig_result *r;
		char why[160];
		if (f->sig < 0 || !m->fed[f->sig])
			continue;
		r = &m->results[f->sig];
		const char *value = f->text + f->name_len + 2;
		if (dkim_sig_screen(value, strlen(value), n, &r->info, why, sizeof(why)) <
		    0) {
			set_result(r, DKIM_R_PERMERROR, why);
			m->fed[f->sig] = false;
		} else if (strcasestr(value, PAD_FIELD) != NULL) {
			set_result(r, DKIM_R_PERMERROR,
			           "h= names postern's own padding field");
			m->fed[f->sig] = false;
		}
	}
}

/* Padding fields for the library: one more than the longest h= list it
 * will see. */
static void
feed_padding(struct dkim_msg *m)
{
	static const char pad[] = PAD_FIELD ": 0";
	unsigned most = 0;

	for (size_t i = 0; i < m->nsigs; i++)
		if (m->fed[i] && m->results[i].info.nh > most)
			most = m->results[i].info.nh;
	for (unsigned i = 0; i <= most; i++)
		(void)dkim_header(m->verifier, (u_char *)pad, sizeof(pad) - 1);
}

unsigned
dkim_msg_max_signatures(const struct dkim_msg *m)
{
	return m != NULL ? m->vopts.max_signatures : 0;
}

void
dkim_msg_verify_start(struct dkim_msg *m, const struct dkim_verify_opts *o)
{
	DKIM_LIB *lib = dkim_engine_lib(m->engine);
	DKIM_STAT st;
	size_t nfed = 0;

	m->vopts = *o;
	if (m->nsigs == 0)
		return;
	m->results = xcalloc(m->nsigs, sizeof(*m->results));
	m->fed = xcalloc(m->nsigs, sizeof(bool));
	for (size_t i = 0; i < m->nsigs; i++)
		set_result(&m->results[i], DKIM_R_PERMERROR,
		           "header over the limits postern keeps (1000 fields, 1 MB)");
	if (m->overflow) /* the library would not see the whole header */
		return;
	for (size_t i = 0; i < m->nfields; i++)
		if (m->fields[i].sig >= 0) {
			m->fed[m->fields[i].sig] = true;
		}
	screen_all(m);
	/* Beyond max_signatures: not checked. */
	for (size_t i = 0; i < m->nsigs; i++) {
		if (!m->fed[i])
			continue;
		if (nfed >= o->max_signatures) {
			char why[120];
			snprintf(why, sizeof(why),
			         "not checked: over dkim_max_signatures (%u)",
			         o->max_signatures);
			set_result(&m->results[i], DKIM_R_NEUTRAL, why);
			m->fed[i] = false;
			continue;
		}
		nfed++;
	}
	if (nfed == 0)
		return;
	m->verifier = dkim_verify(lib, (const unsigned char *)m->id, NULL, &st);
	if (m->verifier == NULL) {
		for (size_t i = 0; i < m->nsigs; i++)
			if (m->fed[i]) {
				set_result(&m->results[i], DKIM_R_TEMPERROR,
				           "libopendkim could not start verifying");
				m->fed[i] = false;
			}
		return;
	}
	dkim_set_user_context(m->verifier, m);
	for (size_t i = 0; i < m->nfields; i++) {
		struct field *f = &m->fields[i];
		if (f->sig >= 0 && !m->fed[f->sig])
			continue;
		(void)dkim_header(m->verifier, (u_char *)f->text, f->len);
	}
	feed_padding(m);
	/* libopendkim looks the keys up at the end of the header. */
	prefetch_keys(m);
	dkim_dns_scope_enter(&m->scope);
	(void)dkim_eoh(m->verifier);
	dkim_dns_scope_leave();
	/* The library makes its list of signatures at the end of the header. */
	m->lsig = xcalloc(m->nsigs, sizeof(*m->lsig));
	library_sigs(m, m->lsig);
	own_body_start(m);
}

void
dkim_msg_body(struct dkim_msg *m, const unsigned char *chunk, size_t len)
{
	if (m->verifier != NULL && m->own_body) {
		for (size_t i = 0; i < m->nhashes; i++)
			dkim_canon_body_add(&m->hashes[i].canon, chunk, len);
	} else if (m->verifier != NULL) {
		(void)dkim_body(m->verifier, (u_char *)chunk, len);
	}
	if (m->signer != NULL)
		dkim_signer_body(m->signer, chunk, len);
}

static void
prefetch_done(struct dns_batch *b, void *arg, struct dns_answer *a)
{
	struct dkim_msg *m = arg;

	(void)b;
	m->answers[m->nanswers++] = a;
}

/* Look up the keys of every signature handed over at once, so that the
 * library's lookups, one after another, find them ready. */
static void
prefetch_keys(struct dkim_msg *m)
{
	struct dns_batch *b = dns_batch_new(dkim_engine_resolver(m->engine));
	char name[DKIM_SIG_NAMEMAX * 2 + 16];

	m->answers = xcalloc(m->nsigs, sizeof(*m->answers));
	for (size_t i = 0; i < m->nsigs; i++) {
		const struct dkim_sig_info *in = &m->results[i].info;
		if (!m->fed[i])
			continue;
		snprintf(name, sizeof(name), "%s._domainkey.%s", in->s, in->d);
		dns_batch_add(b, name, DNS_T_TXT, prefetch_done, m);
	}
	dns_batch_run(b, 0);
	dns_batch_free(b);
	m->scope.answers = m->answers;
	m->scope.nanswers = m->nanswers;
}

static bool
same_name(const unsigned char *a, const char *b)
{
	return a != NULL && strcasecmp((const char *)a, b) == 0;
}

/* The library's record of each signature handed over, into lsig[i] (NULL
 * when it did not take signature i). It lists them in header order:
 * matched by domain and selector from where the last one was. */
static void
library_sigs(struct dkim_msg *m, DKIM_SIGINFO **lsig)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	size_t next = 0;

	if (dkim_getsiglist(m->verifier, &sigs, &nsigs) != DKIM_STAT_OK)
		nsigs = 0;
	for (size_t i = 0; i < m->nsigs; i++) {
		const struct dkim_sig_info *in = &m->results[i].info;
		lsig[i] = NULL;
		if (!m->fed[i])
			continue;
		for (size_t j = next; j < (size_t)nsigs; j++) {
			if (same_name(dkim_sig_getdomain(sigs[j]), in->d) &&
			    same_name(dkim_sig_getselector(sigs[j]), in->s)) {
				lsig[i] = sigs[j];
				next = j + 1;
				break;
			}
		}
	}
}

static void
body_hash_put(void *arg, const void *p, size_t len)
{
	struct body_hash *h = arg;

	if (EVP_DigestUpdate(h->md, p, len) != 1)
		h->failed = true;
}

/* The hash for body canonicalization bc and algorithm alg, made on first
 * use; NULL when the pair is not one postern hashes. */
static struct body_hash *
body_hash_for(struct dkim_msg *m, dkim_canon_t bc, dkim_alg_t alg)
{
	bool relaxed = bc == DKIM_CANON_RELAXED, sha1 = alg == DKIM_SIGN_RSASHA1;
	struct body_hash *h;

	if ((!relaxed && bc != DKIM_CANON_SIMPLE) ||
	    (!sha1 && alg != DKIM_SIGN_RSASHA256 && alg != DKIM_SIGN_ED25519SHA256))
		return NULL;
	for (size_t i = 0; i < m->nhashes; i++)
		if (m->hashes[i].relaxed == relaxed && m->hashes[i].sha1 == sha1)
			return &m->hashes[i];
	h = &m->hashes[m->nhashes++]; /* at most 2 x 2 pairs */
	h->relaxed = relaxed;
	h->sha1 = sha1;
	h->md = EVP_MD_CTX_new();
	if (h->md == NULL ||
	    EVP_DigestInit_ex(h->md, sha1 ? EVP_sha1() : EVP_sha256(), NULL) != 1)
		h->failed = true;
	dkim_canon_body_init(&h->canon, relaxed, body_hash_put, h);
	return h;
}

/* libopendkim canonicalizes the body a byte at a time into a growing
 * string: most of the CPU a large message costs. The body hash is all it
 * needs the body for, so postern hashes the body itself, with the
 * canonicalization it signs with, once per (c=, a=) pair, and the library
 * verifies the header signature only: it never sees the body, and what it
 * says of the body hash is replaced by ours (map_result). Not when a
 * signature has l= (the library checks that length against the body) or
 * when the library did not take every signature: then it gets the body. */
static void
own_body_start(struct dkim_msg *m)
{
	DKIM_SIGINFO **lsig = m->lsig;
	bool ok = true;

	m->hash_of = xcalloc(m->nsigs, sizeof(*m->hash_of));
	for (size_t i = 0; i < m->nsigs; i++) {
		m->hash_of[i] = -1;
		if (m->fed[i] && (lsig[i] == NULL || m->results[i].info.has_l))
			ok = false;
	}
	for (size_t i = 0; ok && i < m->nsigs; i++) {
		dkim_canon_t hc, bc;
		dkim_alg_t alg;
		struct body_hash *h;
		if (!m->fed[i] || dkim_sig_getcanons(lsig[i], &hc, &bc) != DKIM_STAT_OK ||
		    dkim_sig_getsignalg(lsig[i], &alg) != DKIM_STAT_OK)
			continue; /* the library will not pass it either */
		h = body_hash_for(m, bc, alg);
		if (h == NULL)
			continue;
		if (h->failed)
			ok = false;
		m->hash_of[i] = (int)(h - m->hashes);
	}
	m->own_body = ok;
	if (!ok)
		for (size_t i = 0; i < m->nsigs; i++)
			m->hash_of[i] = -1;
}

/* Whether our hash for signature i matches its bh= (1) or not (0); -1
 * when the library had the body. */
static int
own_body_says(struct dkim_msg *m, size_t i, DKIM_SIGINFO *sig)
{
	const unsigned char *bh;
	const char *want;

	if (!m->own_body || m->hash_of[i] < 0)
		return -1;
	struct body_hash *h = &m->hashes[m->hash_of[i]];
	bh = dkim_sig_gettagvalue(sig, 0, (u_char *)"bh");
	if (h->failed || bh == NULL)
		return 0;
	want = h->b64;
	for (const unsigned char *p = bh; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue; /* folding white space */
		if (*p != (unsigned char)*want)
			return 0;
		want++;
	}
	return *want == '\0';
}

bool
dkim_msg_hashes_body(const struct dkim_msg *m)
{
	return m != NULL && m->verifier != NULL && m->own_body;
}

static void
own_body_finish(struct dkim_msg *m)
{
	for (size_t i = 0; m->own_body && i < m->nhashes; i++) {
		struct body_hash *h = &m->hashes[i];
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		dkim_canon_body_finish(&h->canon);
		if (h->failed || EVP_DigestFinal_ex(h->md, md, &n) != 1) {
			h->failed = true;
			continue;
		}
		EVP_EncodeBlock((unsigned char *)h->b64, md, (int)n);
	}
}

/* What libopendkim said about one signature, in RFC 8601 terms. */
static void
map_result(struct dkim_msg *m, DKIM_SIGINFO *sig, struct dkim_sig_result *r,
           const struct dkim_dns_scope *scope, int own_bh)
{
	unsigned flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig), bh = dkim_sig_getbh(sig);
	unsigned int bits = 0;
	char name[DKIM_SIG_NAMEMAX * 2 + 16], why[200];
	bool scope_says;

	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		r->bits = bits;
	if (own_bh >= 0 && (flags & DKIM_SIGFLAG_PASSED) &&
	    (err == DKIM_SIGERROR_OK || err == DKIM_SIGERROR_BADSIG)) {
		/* The header signature verified (a bad one never sets PASSED):
		 * the library's BADSIG, if any, is its hash of the body it never
		 * saw. It checks the key size only after a matching body hash;
		 * so do we. */
		bh = own_bh ? DKIM_SIGBH_MATCH : DKIM_SIGBH_MISMATCH;
		err = DKIM_SIGERROR_OK;
		if (own_bh && strncmp(r->info.a, "rsa-", 4) == 0 && bits > 0 &&
		    bits < m->vopts.min_rsa_bits)
			err = DKIM_SIGERROR_KEYTOOSMALL;
	}
	snprintf(name, sizeof(name), "%s._domainkey.%s", r->info.s, r->info.d);
	scope_says = scope->why[0] != '\0' && strcasecmp(scope->why_name, name) == 0;
	if (flags & DKIM_SIGFLAG_IGNORE) {
		set_result(r, DKIM_R_NEUTRAL, "not checked");
	} else if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH &&
	           err == DKIM_SIGERROR_OK) {
		bool rsa = strncmp(r->info.a, "rsa-", 4) == 0;
		if (strcmp(r->info.a, "rsa-sha1") == 0)
			set_result(r, DKIM_R_POLICY,
			           "rsa-sha1 is not acceptable (RFC 8301)");
		else if (rsa && r->bits < m->vopts.min_rsa_bits) {
			snprintf(why, sizeof(why),
			         "RSA key of %u bits, under %u (RFC 8301)", r->bits,
			         m->vopts.min_rsa_bits);
			set_result(r, DKIM_R_POLICY, why);
		} else if (r->info.has_l && !m->vopts.allow_l)
			set_result(
			    r, DKIM_R_POLICY,
			    "l= tag: the body is signed only in part (dkim_allow_l_tag)");
		else
			set_result(r, DKIM_R_PASS, NULL);
	} else if (err == DKIM_SIGERROR_KEYFAIL) {
		set_result(r, DKIM_R_TEMPERROR,
		           scope_says ? scope->why : "key lookup failed");
	} else if (err == DKIM_SIGERROR_KEYTOOSMALL) {
		snprintf(why, sizeof(why), "RSA key of %u bits, under %u (RFC 8301)",
		         r->bits, m->vopts.min_rsa_bits);
		set_result(r, DKIM_R_POLICY, why);
	} else if (err == DKIM_SIGERROR_NOKEY) {
		set_result(r, DKIM_R_PERMERROR,
		           scope_says ? scope->why : "no key record");
	} else if (err == DKIM_SIGERROR_OK || err == DKIM_SIGERROR_BADSIG) {
		if (bh == DKIM_SIGBH_MISMATCH)
			set_result(r, DKIM_R_FAIL, "body hash did not verify");
		else if (!(flags & DKIM_SIGFLAG_PROCESSED))
			set_result(r, DKIM_R_PERMERROR, "not processed");
		else
			set_result(r, DKIM_R_FAIL, "signature did not verify");
	} else {
		const char *s = dkim_sig_geterrorstr(err);
		set_result(r, DKIM_R_PERMERROR, s != NULL ? s : "unknown error");
	}
}

size_t
dkim_msg_verify_finish(struct dkim_msg *m, const struct dkim_sig_result **res_r)
{
	_Bool testkey = 0;

	*res_r = m->results;
	if (m->verifier == NULL)
		return m->nsigs;
	own_body_finish(m);
	dkim_dns_scope_enter(&m->scope);
	(void)dkim_eom(m->verifier, &testkey);
	dkim_dns_scope_leave();
	for (size_t i = 0; i < m->nsigs; i++) {
		struct dkim_sig_result *r = &m->results[i];
		if (!m->fed[i])
			continue;
		if (m->lsig[i] == NULL) {
			set_result(r, DKIM_R_PERMERROR,
			           "libopendkim did not take the signature");
			continue;
		}
		map_result(m, m->lsig[i], r, &m->scope, own_body_says(m, i, m->lsig[i]));
	}
	return m->nsigs;
}

/* ---- Signing ---------------------------------------------------------------- */

int
dkim_msg_sign_start(struct dkim_msg *m, const struct dkim_key *const *keys, size_t n,
                    char *why, size_t whylen)
{
	const struct dkim_engine_opts *o = dkim_engine_opts(m->engine);

	if (m->overflow) {
		snprintf(why, whylen, "header over the limits postern keeps");
		return -1;
	}
	m->signer = dkim_signer_new(keys, n, o->hdr_canon, o->body_canon,
	                            o->signed_headers, o->oversigned_headers);
	m->nkeys = n;
	return 0;
}

size_t
dkim_msg_sign_finish(struct dkim_msg *m, const struct dkim_made **made_r)
{
	struct dkim_sign_field *f = xcalloc(m->nfields + 1, sizeof(*f));

	for (size_t i = 0; i < m->nfields; i++) {
		f[i].text = m->fields[i].text;
		f[i].len = m->fields[i].len;
		f[i].name_len = m->fields[i].name_len;
	}
	m->made = xcalloc(m->nkeys + 1, sizeof(*m->made));
	if (m->signer != NULL)
		dkim_signer_finish(m->signer, f, m->nfields, time(NULL), m->made);
	free(f);
	*made_r = m->made;
	return m->nkeys;
}
