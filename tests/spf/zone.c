/*
 * zone: an in-memory zone behind the resolver's test seam, with the DNS
 * rules of the RFC 7208 test suite (see zone.h). Records are kept in the
 * order they were added, in one array searched from the start: the zones
 * of the suite and of the fuzzers have tens of records, not thousands.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xalloc.h"
#include "tests/spf/zone.h"

#define T_TIMEOUT 0 /* the TIMEOUT marker */
#define ZONE_TTL 300

struct zrec {
	char *name; /* lower case, no final dot */
	struct dns_rr rr;
};

struct zone {
	struct zrec *v;
	size_t n, cap;
};

static const struct {
	const char *name;
	uint16_t type;
} zone_types[] = {
    {"A", DNS_T_A},      {"AAAA", DNS_T_AAAA},   {"MX", DNS_T_MX},
    {"PTR", DNS_T_PTR},  {"CNAME", DNS_T_CNAME}, {"TXT", DNS_T_TXT},
    {"SPF", ZONE_T_SPF}, {"TIMEOUT", T_TIMEOUT},
};

struct zone *
zone_new(void)
{
	return xcalloc(1, sizeof(struct zone));
}

int
zone_add_line(struct zone *z, const char *line, size_t len)
{
	const char *sp1 = memchr(line, ' ', len);
	if (sp1 == NULL || sp1 == line)
		return -1;
	const char *type = sp1 + 1;
	const char *sp2 = memchr(type, ' ', len - (size_t)(type - line));
	size_t tlen = sp2 ? (size_t)(sp2 - type) : len - (size_t)(type - line);
	const char *value = sp2 ? sp2 + 1 : line + len;
	char name[300], tname[16], why[128];

	if ((size_t)(sp1 - line) >= sizeof(name) || tlen >= sizeof(tname))
		return -1;
	memcpy(name, line, (size_t)(sp1 - line));
	name[sp1 - line] = '\0';
	memcpy(tname, type, tlen);
	tname[tlen] = '\0';
	return zone_add(z, name, tname, value, len - (size_t)(value - line), why, sizeof(why));
}

void
zone_clear(struct zone *z)
{
	for (size_t i = 0; i < z->n; i++) {
		free(z->v[i].name);
		free(z->v[i].rr.text);
	}
	z->n = 0;
}

void
zone_free(struct zone *z)
{
	if (z == NULL)
		return;
	zone_clear(z);
	free(z->v);
	free(z);
}

/* A name as the resolver hands it to the seam: its text form (lower
 * case, no final dot, odd bytes as \DDD); as it is when it has none. */
static char *
zone_name(const char *s, size_t len)
{
	char *raw = xstrndup(s, len);
	char buf[4 * 253 + 1];

	if (dns_name_text(raw, buf, sizeof(buf)) == 0) {
		free(raw);
		return xstrdup(buf);
	}
	if (len > 0 && raw[len - 1] == '.')
		raw[len - 1] = '\0';
	for (char *p = raw; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return raw;
}

static int
zone_type(const char *name, uint16_t *type_r)
{
	for (size_t i = 0; i < sizeof(zone_types) / sizeof(zone_types[0]); i++)
		if (strcasecmp(name, zone_types[i].name) == 0) {
			*type_r = zone_types[i].type;
			return 0;
		}
	return -1;
}

/* Fill rr from value (a NUL-terminated copy of the record data). */
static int
zone_rdata(struct dns_rr *rr, char *value, char *why, size_t whylen)
{
	char *end;

	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		rr->addr.family = rr->type == DNS_T_A ? AF_INET : AF_INET6;
		if (inet_pton(rr->addr.family, value, rr->addr.a) != 1) {
			snprintf(why, whylen, "\"%s\" is not an address", value);
			return -1;
		}
		return 0;
	case DNS_T_MX:
		rr->pref = (uint16_t)strtoul(value, &end, 10);
		if (end == value || *end != ' ') {
			snprintf(why, whylen, "MX \"%s\": want PREF NAME", value);
			return -1;
		}
		rr->text = zone_name(end + 1, strlen(end + 1));
		return 0;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		rr->text = zone_name(value, strlen(value));
		return 0;
	default:
		return 0;
	}
}

int
zone_add(struct zone *z, const char *name, const char *type, const char *value,
         size_t vlen, char *why, size_t whylen)
{
	struct zrec rec = {0};

	if (zone_type(type, &rec.rr.type) != 0) {
		snprintf(why, whylen, "unknown record type \"%s\"", type);
		return -1;
	}
	rec.rr.ttl = ZONE_TTL;
	if (rec.rr.type == DNS_T_TXT || rec.rr.type == ZONE_T_SPF) {
		rec.rr.text = xmalloc(vlen + 1);
		for (size_t i = 0; i < vlen; i++)
			rec.rr.text[i] = value[i] != '\0' ? value[i] : '\x7f';
		rec.rr.text[vlen] = '\0';
	} else if (rec.rr.type != T_TIMEOUT) {
		char *copy = xstrndup(value, vlen);
		int rc = zone_rdata(&rec.rr, copy, why, whylen);
		free(copy);
		if (rc != 0)
			return -1;
	}
	rec.name = zone_name(name, strlen(name));
	z->v = xgrow(z->v, &z->cap, z->n + 1, sizeof(*z->v));
	z->v[z->n++] = rec;
	return 0;
}

static struct dns_answer *zone_lookup(const struct zone *z, const char *name,
                                      uint16_t type, unsigned depth);

/* A CNAME at depth 0: the target's records of the asked type go into a.
 * Returns -1 when the target times out. */
static int
zone_follow(const struct zone *z, const char *target, uint16_t type, struct dns_answer *a,
            bool *nxdomain_r)
{
	struct dns_answer *t = zone_lookup(z, target, type, 1);

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < t->nrr; i++)
		dns_answer_add(a, &t->rr[i]);
	if (a->cname == NULL)
		a->cname = xstrdup(target);
	*nxdomain_r = t->status == DNS_NXDOMAIN;
	dns_answer_free(t);
	return 0;
}

/* The answer for name/type, or NULL for a timeout. */
static struct dns_answer *
zone_lookup(const struct zone *z, const char *name, uint16_t type, unsigned depth)
{
	struct dns_answer *a = dns_answer_new(name, type, DNS_NODATA);
	bool present = false, seen = false, nxdomain = false;

	for (size_t i = 0; i < z->n; i++) {
		const struct zrec *r = &z->v[i];
		if (strcasecmp(r->name, name) != 0)
			continue;
		present = true;
		if (r->rr.type == T_TIMEOUT) {
			if (seen)
				break;
			goto timeout;
		}
		if (r->rr.type == type) {
			seen = true;
			dns_answer_add(a, &r->rr);
		} else if (r->rr.type == DNS_T_CNAME && depth == 0 &&
		           zone_follow(z, r->rr.text, type, a, &nxdomain) != 0) {
			goto timeout;
		}
	}
	if (!present && strncasecmp(name, "error.", 6) == 0)
		goto timeout;
	if (!present || (a->nrr == 0 && nxdomain))
		a->status = DNS_NXDOMAIN;
	else if (a->nrr > 0)
		a->status = DNS_OK;
	a->ttl = ZONE_TTL;
	return a;
timeout:
	dns_answer_free(a);
	return NULL;
}

struct dns_answer *
zone_answer(void *arg, const char *name, uint16_t type)
{
	return zone_lookup(arg, name, type, 0);
}
