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
}

void
dkim_msg_body(struct dkim_msg *m, const unsigned char *chunk, size_t len)
{
	if (m->verifier != NULL)
		(void)dkim_body(m->verifier, (u_char *)chunk, len);
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

/* What libopendkim said about one signature, in RFC 8601 terms. */
static void
map_result(struct dkim_msg *m, DKIM_SIGINFO *sig, struct dkim_sig_result *r,
           const struct dkim_dns_scope *scope)
{
	unsigned flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig), bh = dkim_sig_getbh(sig);
	unsigned int bits = 0;
	char name[DKIM_SIG_NAMEMAX * 2 + 16], why[200];
	bool scope_says;

	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		r->bits = bits;
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
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	_Bool testkey = 0;
	size_t next = 0;

	*res_r = m->results;
	if (m->verifier == NULL)
		return m->nsigs;
	dkim_dns_scope_enter(&m->scope);
	(void)dkim_eom(m->verifier, &testkey);
	dkim_dns_scope_leave();
	if (dkim_getsiglist(m->verifier, &sigs, &nsigs) != DKIM_STAT_OK)
		nsigs = 0;
	for (size_t i = 0; i < m->nsigs; i++) {
		struct dkim_sig_result *r = &m->results[i];
		int found = -1;
		if (!m->fed[i])
			continue;
		/* The library lists signatures in header order; match by
		 * domain and selector from where the last one was. */
		for (size_t j = next; j < (size_t)nsigs; j++) {
			if (same_name(dkim_sig_getdomain(sigs[j]), r->info.d) &&
			    same_name(dkim_sig_getselector(sigs[j]), r->info.s)) {
				found = (int)j;
				break;
			}
		}
		if (found < 0) {
			set_result(r, DKIM_R_PERMERROR,
			           "libopendkim did not take the signature");
			continue;
		}
		next = (size_t)found + 1;
		map_result(m, sigs[found], r, &m->scope);
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
