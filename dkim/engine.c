/*
 * engine: the libopendkim handle and the DNS bridge (see engine.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <opendkim/dkim.h>

#include "dkim/engine.h"
#include "dkim/message.h"
#include "dns/resolver.h"
#include "lib/xalloc.h"

struct dkim_engine {
	DKIM_LIB *lib;
	struct dns_resolver *resolver;
	struct dkim_engine_opts opts;
};

/* A query of the bridge: the reply is written at once, in query_start. */
struct bridge_query {
	int status; /* DKIM_DNS_SUCCESS or DKIM_DNS_ERROR */
	size_t len;
};

static _Thread_local struct dkim_dns_scope *tl_scope;

void
dkim_dns_scope_enter(struct dkim_dns_scope *s)
{
	tl_scope = s;
}

void
dkim_dns_scope_leave(void)
{
	tl_scope = NULL;
}

/* Remember why the key of name was not handed over as found. */
static void
scope_note(const char *name, const char *why)
{
	if (tl_scope == NULL)
		return;
	snprintf(tl_scope->why_name, sizeof(tl_scope->why_name), "%s", name);
	snprintf(tl_scope->why, sizeof(tl_scope->why), "%s", why);
}

/* Append the name in DNS wire form. Returns the new length, or 0 when
 * the name does not fit or is not a name. */
static size_t
put_name(unsigned char *buf, size_t pos, size_t cap, const char *name)
{
	const char *label = name;

	while (*label != '\0') {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);
		if (len == 0 || len > 63 || pos + 1 + len >= cap)
			return 0;
		buf[pos++] = (unsigned char)len;
		memcpy(buf + pos, label, len);
		pos += len;
		label += len;
		if (*label == '.')
			label++;
	}
	if (pos + 1 > cap)
		return 0;
	buf[pos++] = 0;
	return pos;
}

static size_t
put16(unsigned char *buf, size_t pos, unsigned v)
{
	buf[pos] = (unsigned char)(v >> 8);
	buf[pos + 1] = (unsigned char)v;
	return pos + 2;
}

/* The reply packet for answer a to "name TXT": header, question, and one
 * TXT record per record of a (its text cut into strings of 255 bytes).
 * Returns its length, or 0 when it does not fit. */
static size_t
write_reply(unsigned char *buf, size_t cap, const char *name, const struct dns_answer *a,
            size_t nrr)
{
	size_t pos = 12;

	if (cap < 12)
		return 0;
	memset(buf, 0, 12);
	buf[2] = 0x81;                                       /* QR, RD */
	buf[3] = 0x80 | (a->status == DNS_NXDOMAIN ? 3 : 0); /* RA, RCODE */
	put16(buf, 4, 1);
	put16(buf, 6, (unsigned)nrr);
	if ((pos = put_name(buf, pos, cap, name)) == 0 || pos + 4 > cap)
		return 0;
	pos = put16(buf, pos, DNS_T_TXT);
	pos = put16(buf, pos, 1);
	for (size_t i = 0; i < nrr; i++) {
		const char *text = a->rr[i].text ? a->rr[i].text : "";
		size_t tlen = strlen(text), rdlen = tlen + (tlen + 254) / 255;
		if (tlen == 0)
			rdlen = 1;
		if (pos + 12 + rdlen > cap)
			return 0;
		pos = put16(buf, pos, 0xc00c); /* the question's name */
		pos = put16(buf, pos, DNS_T_TXT);
		pos = put16(buf, pos, 1);
		pos = put16(buf, pos, a->rr[i].ttl >> 16);
		pos = put16(buf, pos, a->rr[i].ttl & 0xffff);
		pos = put16(buf, pos, (unsigned)rdlen);
		if (tlen == 0)
			buf[pos++] = 0;
		for (size_t off = 0; off < tlen; off += 255) {
			size_t n = tlen - off > 255 ? 255 : tlen - off;
			buf[pos++] = (unsigned char)n;
			memcpy(buf + pos, text + off, n);
			pos += n;
		}
	}
	return pos;
}

static const struct dns_answer *
scope_answer(const char *name)
{
	if (tl_scope == NULL)
		return NULL;
	for (size_t i = 0; i < tl_scope->nanswers; i++) {
		const struct dns_answer *a = tl_scope->answers[i];
		if (a != NULL && a->qname != NULL && strcasecmp(a->qname, name) == 0)
			return a;
	}
	return NULL;
}

static int
bridge_start(void *srv, int type, unsigned char *query, unsigned char *buf, size_t buflen,
             void **qh)
{
	struct dns_resolver *r = srv;
	const char *name = (const char *)query;
	struct dns_answer *own = NULL;
	const struct dns_answer *a;
	struct bridge_query *q;
	size_t nrr = 0, total = 0;
	char why[160];

	if (type != DNS_T_TXT || !dns_name_ok(name))
		return -1;
	a = scope_answer(name);
	if (a == NULL)
		a = own = dns_lookup(r, name, DNS_T_TXT, 0);
	q = xcalloc(1, sizeof(*q));
	q->status = DKIM_DNS_SUCCESS;
	if (a->status == DNS_TEMP) {
		snprintf(why, sizeof(why), "key lookup failed: %s", a->reason);
		scope_note(name, why);
		q->status = DKIM_DNS_ERROR;
	} else {
		if (a->status == DNS_OK)
			nrr = a->nrr;
		for (size_t i = 0; i < nrr; i++)
			total += a->rr[i].text ? strlen(a->rr[i].text) : 0;
		if (total > DKIM_KEY_TXT_MAX) {
			snprintf(why, sizeof(why), "key record of %zu bytes, over %d",
			         total, DKIM_KEY_TXT_MAX);
			scope_note(name, why);
			nrr = 0;
		}
		q->len = write_reply(buf, buflen, name, a, nrr);
		if (q->len == 0) {
			snprintf(why, sizeof(why),
			         "key reply of %zu records does not fit", nrr);
			scope_note(name, why);
			q->len = write_reply(buf, buflen, name, a, 0);
			if (q->len == 0)
				q->status = DKIM_DNS_ERROR;
		}
	}
	dns_answer_free(own);
	*qh = q;
	return 0;
}

static int
bridge_wait(void *srv, void *qh, struct timeval *timeout, size_t *bytes, int *error,
            int *dnssec)
{
	struct bridge_query *q = qh;

	(void)srv;
	(void)timeout;
	if (bytes != NULL)
		*bytes = q->len;
	if (error != NULL)
		*error = q->status == DKIM_DNS_SUCCESS ? 0 : -1;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return q->status;
}

static int
bridge_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return 0;
}

static int
bridge_init(void **srv)
{
	(void)srv;
	return 0;
}

static void
bridge_close(void *srv)
{
	(void)srv;
}

/* libopendkim's prescreen hook sees the signatures before it verifies
 * any. It sees only those the screen passed, at most max_signatures of
 * them (dkim/message.c hands over no others); this is a second line
 * behind that, should the library ever find more. */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	unsigned max = dkim_msg_max_signatures(dkim_get_user_context(dkim));

	for (int i = 0; i < nsigs; i++)
		if ((unsigned)i >= max)
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

struct dkim_engine *
dkim_engine_new(struct dns_resolver *r, const struct dkim_engine_opts *o, char **error_r)
{
	struct dkim_engine *e = xcalloc(1, sizeof(*e));
	unsigned flags = DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned bits = o->min_rsa_bits, timeout = o->timeout_s;
	const char *step = NULL;

	e->resolver = r;
	e->opts = *o;
	e->lib = dkim_init(NULL, NULL);
	if (e->lib == NULL) {
		*error_r = xstrdup("libopendkim: dkim_init failed");
		free(e);
		return NULL;
	}
	if (dkim_options(e->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	                 sizeof(flags)) != DKIM_STAT_OK)
		step = "flags";
	else if (dkim_options(e->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits,
	                      sizeof(bits)) != DKIM_STAT_OK)
		step = "minimum key bits";
	else if (dkim_options(e->lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout,
	                      sizeof(timeout)) != DKIM_STAT_OK)
		step = "timeout";
	if (step != NULL) {
		char buf[160];
		snprintf(buf, sizeof(buf), "libopendkim refused the %s option", step);
		*error_r = xstrdup(buf);
		dkim_engine_free(e);
		return NULL;
	}
	(void)dkim_set_prescreen(e->lib, prescreen);
	dkim_dns_set_query_service(e->lib, r);
	dkim_dns_set_query_start(e->lib, bridge_start);
	dkim_dns_set_query_waitreply(e->lib, bridge_wait);
	dkim_dns_set_query_cancel(e->lib, bridge_cancel);
	dkim_dns_set_init(e->lib, bridge_init);
	dkim_dns_set_close(e->lib, bridge_close);
	return e;
}

void
dkim_engine_free(struct dkim_engine *e)
{
	if (e == NULL)
		return;
	if (e->lib != NULL)
		dkim_close(e->lib);
	free(e);
}

void *
dkim_engine_lib(const struct dkim_engine *e)
{
	return e->lib;
}

struct dns_resolver *
dkim_engine_resolver(const struct dkim_engine *e)
{
	return e->resolver;
}

const struct dkim_engine_opts *
dkim_engine_opts(const struct dkim_engine *e)
{
	return &e->opts;
}
