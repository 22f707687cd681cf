/*
 * wire: DNS packets in and out, with ldns. A reply is checked against
 * the query it claims to answer (id, QR, opcode, question) before it is
 * used, and turned into a struct dns_answer: the records of the asked
 * type at the end of any CNAME chain, or NXDOMAIN, NODATA, or the reason
 * it cannot be used.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dns/dns_internal.h"
#include "lib/xalloc.h"

static const char *const status_names[] = {"ok", "nxdomain", "nodata", "temp"};

const char *
dns_status_name(enum dns_status s)
{
	return status_names[s];
}

const char *
dns_type_name(uint16_t type, char *buf, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {{DNS_T_A, "A"},     {DNS_T_NS, "NS"},    {DNS_T_CNAME, "CNAME"},
	             {DNS_T_SOA, "SOA"}, {DNS_T_PTR, "PTR"},  {DNS_T_MX, "MX"},
	             {DNS_T_TXT, "TXT"}, {DNS_T_AAAA, "AAAA"}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

int
dns_name_normalise(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name), o = 0, label = 0, total = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		/* No controls or 8-bit bytes: never in a name we look up. */
		if (c < ' ' || c >= 0x7f)
			return -1;
		if (c == '.') {
			if (label == 0 || label > 63 || o + 1 >= len)
				return -1;
			buf[o++] = '.';
			label = 0;
			total++;
			continue;
		}
		label++;
		total++;
		/* \DDD: a name in our text form already (an MX or PTR target
		 * asked about again). */
		if (c == '\\' && i + 3 < n && isdigit((unsigned char)name[i + 1]) &&
		    isdigit((unsigned char)name[i + 2]) &&
		    isdigit((unsigned char)name[i + 3]) &&
		    (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 +
		            (name[i + 3] - '0') <
		        256) {
			unsigned v =
			    (unsigned)((name[i + 1] - '0') * 100 +
			               (name[i + 2] - '0') * 10 + (name[i + 3] - '0'));
			if (v < ' ' || v >= 0x7f || o + 4 >= len)
				return -1;
			if (isalnum((int)v) || v == '-' || v == '_' || v == '.') {
				/* Not a byte we escape: an escaped dot would be
				 * inside a label, which our text form never has. */
				if (v == '.' || o + 1 >= len)
					return -1;
				buf[o++] = (char)tolower((int)v);
			} else {
				memcpy(buf + o, name + i, 4);
				o += 4;
			}
			i += 3;
			continue;
		}
		if (isalnum(c) || c == '-' || c == '_') {
			if (o + 1 >= len)
				return -1;
			buf[o++] = (char)tolower(c);
		} else {
			/* Blanks, quotes, backslashes, ...: escaped for ldns. */
			if (o + 4 >= len)
				return -1;
			o += (size_t)snprintf(buf + o, 5, "\\%03u", c);
		}
	}
	if (label == 0 || label > 63 || total > DNS_NAME_MAX)
		return -1;
	buf[o] = '\0';
	return 0;
}

int
dns_wire_query(const char *name, uint16_t type, uint16_t id, uint8_t **buf_r,
               size_t *len_r)
{
	ldns_rdf *dname = ldns_dname_new_frm_str(name);
	ldns_pkt *pkt;
	ldns_status st;

	if (dname == NULL)
		return -1;
	pkt = ldns_pkt_query_new(dname, (ldns_rr_type)type, LDNS_RR_CLASS_IN, LDNS_RD);
	if (pkt == NULL)
		return -1;
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_edns_udp_size(pkt, DNS_EDNS_SIZE);
	st = ldns_pkt2wire(buf_r, pkt, len_r);
	ldns_pkt_free(pkt);
	return st == LDNS_STATUS_OK ? 0 : -1;
}

/* A domain name rdf as text: lower case, no final dot, "" for the root;
 * bytes that cannot be in a host name become \DDD, so such a name never
 * passes a host name check. */
static char *
dname_text(const ldns_rdf *rdf)
{
	const uint8_t *d = ldns_rdf_data(rdf);
	size_t size = ldns_rdf_size(rdf), pos = 0;
	char out[DNS_NAME_TEXT_MAX + 16];
	size_t o = 0;

	if (ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return xstrdup("");
	while (pos < size && d[pos] != 0) {
		size_t lablen = d[pos++];
		if (pos + lablen > size)
			break;
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < lablen && o < sizeof(out) - 5; i++) {
			unsigned char c = d[pos + i];
			if (isalnum(c) || c == '-' || c == '_')
				out[o++] = (char)tolower(c);
			else
				o += (size_t)snprintf(out + o, 5, "\\%03u", c);
		}
		pos += lablen;
	}
	out[o] = '\0';
	return xstrdup(out);
}

static bool
owner_is(const ldns_rr *rr, const char *name)
{
	char *owner = dname_text(ldns_rr_owner(rr));
	bool same = strcmp(owner, name) == 0;
	free(owner);
	return same;
}

/* TXT: the character-strings concatenated; a NUL byte becomes DEL (0x7f),
 * which no record grammar we parse accepts. */
static char *
txt_text(const ldns_rr *rr)
{
	size_t total = 0, o = 0;
	char *out;

	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++)
		total += ldns_rdf_size(ldns_rr_rdf(rr, i));
	out = xmalloc(total + 1);
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(rdf);
		size_t size = ldns_rdf_size(rdf);
		if (size == 0)
			continue;
		size_t n = d[0] < size ? d[0] : size - 1;
		for (size_t k = 0; k < n; k++)
			out[o++] = d[1 + k] ? (char)d[1 + k] : '\x7f';
	}
	out[o] = '\0';
	return out;
}

/* Fill one record; -1 when its data is not what its type says. */
static int
take_rr(const ldns_rr *rr, uint16_t type, struct dns_rr *out)
{
	const ldns_rdf *rdf;

	memset(out, 0, sizeof(*out));
	out->type = type;
	out->ttl = ldns_rr_ttl(rr);
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		size_t want = type == DNS_T_A ? 4 : 16;
		if (ldns_rr_rd_count(rr) != 1 ||
		    ldns_rdf_size(rdf = ldns_rr_rdf(rr, 0)) != want)
			return -1;
		out->addr.family = type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(out->addr.a, ldns_rdf_data(rdf), want);
		return 0;
	}
	case DNS_T_MX:
		if (ldns_rr_rd_count(rr) != 2 || ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 2)
			return -1;
		out->pref = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
		out->text = dname_text(ldns_rr_rdf(rr, 1));
		return 0;
	case DNS_T_PTR:
	case DNS_T_NS:
	case DNS_T_CNAME:
		if (ldns_rr_rd_count(rr) != 1)
			return -1;
		out->text = dname_text(ldns_rr_rdf(rr, 0));
		return 0;
	case DNS_T_TXT:
		out->text = txt_text(rr);
		return 0;
	default:
		out->text = xstrdup("");
		return 0;
	}
}

struct dns_answer *
dns_answer_new(const char *qname, uint16_t qtype, enum dns_status status)
{
	struct dns_answer *a = xcalloc(1, sizeof(*a));

	a->qname = xstrdup(qname);
	a->qtype = qtype;
	a->status = status;
	return a;
}

struct dns_answer *
dns_answer_temp(const char *qname, uint16_t qtype, const char *fmt, ...)
{
	struct dns_answer *a = dns_answer_new(qname, qtype, DNS_TEMP);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->reason, sizeof(a->reason), fmt, ap);
	va_end(ap);
	return a;
}

void
dns_answer_free(struct dns_answer *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nrr; i++)
		free(a->rr[i].text);
	free(a->rr);
	free(a->qname);
	free(a->cname);
	free(a);
}

struct dns_answer *
dns_answer_copy(const struct dns_answer *a)
{
	struct dns_answer *c = xmalloc(sizeof(*c));

	*c = *a;
	c->qname = xstrdup(a->qname);
	c->cname = a->cname ? xstrdup(a->cname) : NULL;
	c->rr = a->nrr ? xcalloc(a->nrr, sizeof(*c->rr)) : NULL;
	for (size_t i = 0; i < a->nrr; i++) {
		c->rr[i] = a->rr[i];
		c->rr[i].text = a->rr[i].text ? xstrdup(a->rr[i].text) : NULL;
	}
	return c;
}

/* How long a negative answer may be kept: the SOA's TTL capped by its
 * MINIMUM field (RFC 2308), or 0 without a SOA. */
static uint32_t
negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = ldns_pkt_authority(pkt);

	for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) != 7)
			continue;
		uint32_t min = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
		return ldns_rr_ttl(rr) < min ? ldns_rr_ttl(rr) : min;
	}
	return 0;
}

static bool
question_matches(const ldns_pkt *pkt, const char *name, uint16_t type)
{
	const ldns_rr_list *q = ldns_pkt_question(pkt);
	const ldns_rr *rr;

	if (ldns_pkt_qdcount(pkt) != 1 || q == NULL || ldns_rr_list_rr_count(q) != 1)
		return false;
	rr = ldns_rr_list_rr(q, 0);
	return ldns_rr_get_type(rr) == type &&
	       ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN && owner_is(rr, name);
}

static void
set_why(struct reply *r, enum reply_kind kind, const char *why)
{
	r->kind = kind;
	snprintf(r->why, sizeof(r->why), "%s", why);
}

/* Collect the records of `type` owned by the end of the CNAME chain. */
static void
collect(const ldns_pkt *pkt, const char *name, uint16_t type, const char *orig_name,
        struct reply *r)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t count = an ? ldns_rr_list_rr_count(an) : 0;
	char *cur = xstrdup(name);
	uint32_t ttl = UINT32_MAX;
	bool moved = true;

	/* Follow CNAMEs inside this reply. */
	while (moved) {
		moved = false;
		for (size_t i = 0; i < count; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(an, i);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
			    type == DNS_T_CNAME || !owner_is(rr, cur) ||
			    ldns_rr_rd_count(rr) != 1)
				continue;
			if (++r->chain > DNS_CNAME_MAX) {
				free(cur);
				set_why(r, REPLY_MALFORMED, "CNAME chain too long");
				r->final = true;
				return;
			}
			free(cur);
			cur = dname_text(ldns_rr_rdf(rr, 0));
			if (ldns_rr_ttl(rr) < ttl)
				ttl = ldns_rr_ttl(rr);
			moved = true;
			break;
		}
	}
	struct dns_answer *a = dns_answer_new(orig_name, type, DNS_OK);
	size_t cap = 0;
	for (size_t i = 0; i < count; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != type ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !owner_is(rr, cur))
			continue;
		a->rr = xgrow(a->rr, &cap, a->nrr + 1, sizeof(*a->rr));
		if (take_rr(rr, type, &a->rr[a->nrr]) != 0) {
			dns_answer_free(a);
			free(cur);
			set_why(r, REPLY_MALFORMED, "malformed answer: bad record data");
			return;
		}
		if (a->rr[a->nrr].ttl < ttl)
			ttl = a->rr[a->nrr].ttl;
		a->nrr++;
	}
	if (strcmp(cur, orig_name) != 0)
		a->cname = xstrdup(cur);
	if (a->nrr > 0) {
		a->ttl = ttl;
	} else if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN) {
		a->status = DNS_NXDOMAIN;
		a->ttl = negative_ttl(pkt);
	} else if (strcmp(cur, name) != 0) {
		/* The chain leaves what this server told us: ask for its end. */
		dns_answer_free(a);
		r->kind = REPLY_FOLLOW;
		r->follow = cur;
		return;
	} else {
		a->status = DNS_NODATA;
		a->ttl = negative_ttl(pkt);
	}
	free(cur);
	r->kind = REPLY_FINAL;
	r->answer = a;
}

/* Step over a name in wire form (a pointer ends it). */
static int
skip_name(const uint8_t *buf, size_t end, size_t *pos)
{
	size_t p = *pos;

	for (int labels = 0; labels < 128; labels++) {
		if (p >= end)
			return -1;
		uint8_t c = buf[p];
		if (c == 0) {
			*pos = p + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= end)
				return -1;
			*pos = p + 2;
			return 0;
		}
		if (c & 0xc0)
			return -1;
		p += 1u + c;
	}
	return -1;
}

/* ldns reads what a record type needs and skips the rest of its data:
 * check that each answer record we use (the asked type, CNAME) is exactly
 * as long as its type holds, so trailing bytes are not taken at face
 * value. */
static int
check_rdlengths(const uint8_t *buf, size_t len, uint16_t qtype)
{
	size_t pos = 12;
	unsigned qd = (unsigned)(buf[4] << 8 | buf[5]),
	         an = (unsigned)(buf[6] << 8 | buf[7]);

	for (unsigned i = 0; i < qd; i++) {
		if (skip_name(buf, len, &pos) != 0 || (pos += 4) > len)
			return -1;
	}
	for (unsigned i = 0; i < an; i++) {
		if (skip_name(buf, len, &pos) != 0 || pos + 10 > len)
			return -1;
		unsigned type = (unsigned)(buf[pos] << 8 | buf[pos + 1]);
		size_t rdlen = (size_t)(buf[pos + 8] << 8 | buf[pos + 9]),
		       start = pos + 10;
		size_t end = start + rdlen, p = start;
		if (end > len)
			return -1;
		if (type != qtype && type != DNS_T_CNAME)
			type = 0; /* not used: not checked */
		switch (type) {
		case DNS_T_A:
			if (rdlen != 4)
				return -1;
			break;
		case DNS_T_AAAA:
			if (rdlen != 16)
				return -1;
			break;
		case DNS_T_MX:
			p += 2;
			/* fall through */
		case DNS_T_NS:
		case DNS_T_CNAME:
		case DNS_T_PTR:
			if (skip_name(buf, end, &p) != 0 || p != end)
				return -1;
			break;
		default:
			break;
		}
		pos = end;
	}
	return 0;
}

void
dns_wire_reply(const uint8_t *buf, size_t len, uint16_t id, const char *name,
               uint16_t type, const char *orig_name, struct reply *r)
{
	ldns_pkt *pkt = NULL;

	memset(r, 0, sizeof(*r));
	/* Someone else's id (or too short to have one): not ours. */
	if (len < 2 || (uint16_t)((buf[0] << 8) | buf[1]) != id) {
		r->kind = REPLY_IGNORE;
		return;
	}
	if (len < 12) {
		set_why(r, REPLY_MALFORMED, "malformed answer: shorter than a header");
		return;
	}
	if (ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK) {
		set_why(r, REPLY_MALFORMED, "malformed answer: cannot be parsed");
		return;
	}
	if (!ldns_pkt_qr(pkt) || ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) {
		set_why(r, REPLY_MALFORMED, "malformed answer: not a query response");
	} else if (check_rdlengths(buf, len, type) != 0) {
		set_why(r, REPLY_MALFORMED, "malformed answer: bad record data");
	} else if (ldns_pkt_tc(pkt)) {
		r->kind = REPLY_TRUNCATED;
	} else if (!question_matches(pkt, name, type)) {
		/* Right id, wrong question: a spoofing attempt or a broken
		 * server. Either way not the answer. */
		r->kind = REPLY_IGNORE;
	} else {
		switch (ldns_pkt_get_rcode(pkt)) {
		case LDNS_RCODE_NOERROR:
		case LDNS_RCODE_NXDOMAIN:
			collect(pkt, name, type, orig_name, r);
			break;
		case LDNS_RCODE_SERVFAIL:
			set_why(r, REPLY_RCODE, "SERVFAIL");
			break;
		case LDNS_RCODE_REFUSED:
			set_why(r, REPLY_RCODE, "REFUSED");
			break;
		case LDNS_RCODE_FORMERR:
			set_why(r, REPLY_RCODE, "FORMERR");
			break;
		case LDNS_RCODE_NOTIMPL:
			set_why(r, REPLY_RCODE, "NOTIMP");
			break;
		default:
			snprintf(r->why, sizeof(r->why), "rcode %u",
			         (unsigned)ldns_pkt_get_rcode(pkt));
			r->kind = REPLY_RCODE;
			break;
		}
	}
	ldns_pkt_free(pkt);
}

void
dns_answer_add(struct dns_answer *a, const struct dns_rr *rr)
{
	a->rr = xrealloc(a->rr, (a->nrr + 1) * sizeof(*a->rr));
	a->rr[a->nrr] = *rr;
	a->rr[a->nrr].text = rr->text ? xstrdup(rr->text) : NULL;
	a->nrr++;
}

bool
dns_name_ok(const char *name)
{
	char buf[DNS_NAME_TEXT_MAX + 1];

	return dns_name_normalise(name, buf, sizeof(buf)) == 0;
}

int
dns_name_text(const char *name, char *buf, size_t len)
{
	return dns_name_normalise(name, buf, len);
}
