/*
 * dnsbl: DNS lists as Postfix writes them. Three pure pieces:
 *
 *   parsing    "domain[=filter][*weight]" items into struct dnsbl_site,
 *              with errors that quote the bad text (sanitised, bounded);
 *   query names the reversed client address or "name.domain", built in
 *              the caller's buffer and refused when they cannot be a DNS
 *              name (an empty label, a label over 63 or a name over 253
 *              bytes), so a bad name never reaches the resolver;
 *   classifying a list's answer to an A query: listed, not listed, a
 *              list error (127.255.255.0/24 or an answer outside
 *              127.0.0.0/8) or TEMP, with a short detail naming the
 *              addresses.
 *
 * Not the lookups themselves (dns/resolver.c), nor what a listing means
 * for a message (policy/).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnsbl.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

/* Longest query name (RFC 1035 limits a name to 255 bytes on the wire,
 * which is 253 in text without the final dot) and label. */
#define DNSBL_NAME_MAX 253
#define DNSBL_LABEL_MAX 63
/* How much of a bad input an error message quotes. */
#define DNSBL_QUOTEMAX 80
/* |weight| at most this, so that summing the weights of many lists
 * cannot overflow an int. */
#define DNSBL_WEIGHT_MAX 1000000

/* src, sanitised and cut to DNSBL_QUOTEMAX bytes with "..." after. */
static const char *
dnsbl_quote(char *buf, size_t len, const char *src)
{
	str_sanitize(buf, len, src);
	if (strlen(src) >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}

/* Write a printf result into detail (len bytes), when there is room. */
static void __attribute__((format(printf, 3, 4)))
dnsbl_detail(char *detail, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (detail == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, len, fmt, ap);
	va_end(ap);
}

/* Filters. */

static void
dnsbl_filter_set(unsigned char set[32], unsigned lo, unsigned hi)
{
	for (unsigned v = lo; v <= hi; v++)
		set[v / 8] |= (unsigned char)(1u << (v % 8));
}

static bool
dnsbl_filter_has(const unsigned char set[32], unsigned v)
{
	return (set[v / 8] & (1u << (v % 8))) != 0;
}

/* A decimal number 0..255 at *pp; advances *pp past its digits. */
static int
dnsbl_filter_number(const char **pp, unsigned *v_r, char *why, size_t whylen)
{
	const char *p = *pp;
	unsigned long v = 0;

	if (*p < '0' || *p > '9') {
		if (*p == '\0')
			snprintf(why, whylen, "a number is missing at the end");
		else
			snprintf(why, whylen, "a number is expected at \"%.10s\"", p);
		return -1;
	}
	for (; *p >= '0' && *p <= '9'; p++)
		if (v <= 255)
			v = v * 10 + (unsigned long)(*p - '0');
	if (v > 255) {
		snprintf(why, whylen, "%.*s is over 255",
		         (int)(p - *pp > 10 ? 10 : p - *pp), *pp);
		return -1;
	}
	*v_r = (unsigned)v;
	*pp = p;
	return 0;
}

/* One member of a bracketed set: "n" or "lo..hi". */
static int
dnsbl_filter_member(const char **pp, unsigned char set[32], char *why, size_t whylen)
{
	unsigned lo, hi;

	if (dnsbl_filter_number(pp, &lo, why, whylen) < 0)
		return -1;
	hi = lo;
	if (strncmp(*pp, "..", 2) == 0) {
		*pp += 2;
		if (dnsbl_filter_number(pp, &hi, why, whylen) < 0)
			return -1;
		if (hi < lo) {
			snprintf(why, whylen, "range %u..%u goes backwards", lo, hi);
			return -1;
		}
	}
	dnsbl_filter_set(set, lo, hi);
	return 0;
}

/* One octet: a number, or "[" members separated by ';' "]". */
static int
dnsbl_filter_octet(const char **pp, unsigned char set[32], char *why, size_t whylen)
{
	unsigned v;

	if (**pp != '[') {
		if (dnsbl_filter_number(pp, &v, why, whylen) < 0)
			return -1;
		dnsbl_filter_set(set, v, v);
		return 0;
	}
	(*pp)++;
	for (;;) {
		if (dnsbl_filter_member(pp, set, why, whylen) < 0)
			return -1;
		if (**pp == ']') {
			(*pp)++;
			return 0;
		}
		if (**pp == '\0') {
			snprintf(why, whylen, "missing ']'");
			return -1;
		}
		if (**pp != ';') {
			snprintf(why, whylen, "';' or ']' expected at \"%.10s\"", *pp);
			return -1;
		}
		(*pp)++;
	}
}

/* What follows octet i (0..3) when it is not what should: a '.' after
 * the first three, the end after the fourth. */
static void
dnsbl_filter_junk(int i, const char *p, char *why, size_t whylen)
{
	if ((*p == '\0' && i < 3) || (*p == '.' && i == 3))
		snprintf(why, whylen, "need four octets");
	else
		snprintf(why, whylen, "octet %d: \"%.10s\" after the number", i + 1, p);
}

/* The four octets of text into f; a reason in why on error. */
static int
dnsbl_filter_octets(const char *text, struct dnsbl_filter *f, char *why, size_t whylen)
{
	const char *p = text;
	char reason[64];

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 4; i++) {
		if (dnsbl_filter_octet(&p, f->bits[i], reason, sizeof(reason)) < 0) {
			snprintf(why, whylen, "octet %d: %s", i + 1, reason);
			return -1;
		}
		if (*p != (i < 3 ? '.' : '\0')) {
			dnsbl_filter_junk(i, p, why, whylen);
			return -1;
		}
		if (i < 3)
			p++;
	}
	return 0;
}

int
dnsbl_filter_parse(const char *text, struct dnsbl_filter *f_r, char **error_r)
{
	char why[128], quote[DNSBL_QUOTEMAX + 1];

	if (*text == '\0')
		snprintf(why, sizeof(why), "empty filter");
	else if (dnsbl_filter_octets(text, f_r, why, sizeof(why)) == 0)
		return 0;
	memset(f_r, 0, sizeof(*f_r));
	str_sanitize(why, sizeof(why), why);
	*error_r = xasprintf("bad filter \"%s\": %s",
	                     dnsbl_quote(quote, sizeof(quote), text), why);
	return -1;
}

bool
dnsbl_filter_match(const struct dnsbl_filter *f, const struct ipaddr *a)
{
	if (a->family != AF_INET)
		return false;
	for (int i = 0; i < 4; i++)
		if (!dnsbl_filter_has(f->bits[i], a->a[i]))
			return false;
	return true;
}

/* Sites. */

static bool
dnsbl_is_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Is domain (no final dot) a list's name? NULL, or why it is not. */
static const char *
dnsbl_domain_check(const char *domain)
{
	size_t label = 0, n = strlen(domain);

	if (n == 0)
		return "empty domain";
	if (n > DNSBL_NAME_MAX)
		return "domain over 253 bytes";
	for (const char *p = domain; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return "empty label in domain";
			label = 0;
		} else if (!dnsbl_is_label_char(*p)) {
			return "bad character in domain";
		} else if (++label > DNSBL_LABEL_MAX) {
			return "domain label over 63 bytes";
		}
	}
	return label == 0 ? "empty label in domain" : NULL;
}

/* "-5", "10": an integer of at most DNSBL_WEIGHT_MAX either way. */
static const char *
dnsbl_weight_parse(const char *text, int *weight_r)
{
	const char *p = text;
	bool neg = *p == '-';
	long v = 0;

	if (neg)
		p++;
	if (*p == '\0')
		return "weight is not a number";
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return "weight is not a number";
		if (v <= DNSBL_WEIGHT_MAX)
			v = v * 10 + (*p - '0');
	}
	if (v > DNSBL_WEIGHT_MAX)
		return "weight out of range";
	*weight_r = (int)(neg ? -v : v);
	return NULL;
}

/* The parts of "domain[=filter][*weight]" into s: NULL, or why not. A
 * bad filter writes its own malloc'd message into *fail_r and returns "". */
static const char *
dnsbl_site_parts(const char *text, bool with_weight, struct dnsbl_site *s, char **fail_r)
{
	const char *star = strchr(text, '*'), *eq = strchr(text, '=');
	const char *end = text + strlen(text), *why;
	char *filter;
	size_t n;
	int rc;

	if (eq != NULL && star != NULL && eq > star)
		eq = NULL; /* an '=' in the weight: a bad weight */
	if (star != NULL) {
		if (!with_weight)
			return "a weight is not allowed here";
		if ((why = dnsbl_weight_parse(star + 1, &s->weight)) != NULL)
			return why;
		end = star;
	}
	n = (size_t)((eq != NULL ? eq : end) - text);
	s->domain = str_lower(xstrndup(text, n));
	if (n > 0 && s->domain[n - 1] == '.')
		s->domain[n - 1] = '\0';
	if ((why = dnsbl_domain_check(s->domain)) != NULL)
		return why;
	if (eq == NULL)
		return NULL;
	filter = xstrndup(eq + 1, (size_t)(end - eq - 1));
	rc = dnsbl_filter_parse(filter, &s->filter, fail_r);
	free(filter);
	s->has_filter = rc == 0;
	return rc == 0 ? NULL : "";
}

int
dnsbl_site_parse(const char *text, bool with_weight, struct dnsbl_site *s_r,
                 char **error_r)
{
	struct dnsbl_site s = {.weight = 1};
	char quote[DNSBL_QUOTEMAX + 1], *fail = NULL;
	const char *why = dnsbl_site_parts(text, with_weight, &s, &fail);

	if (why == NULL) {
		s.text = xstrdup(text);
		*s_r = s;
		return 0;
	}
	dnsbl_quote(quote, sizeof(quote), text);
	*error_r = xasprintf("bad DNS list \"%s\": %s", quote, fail != NULL ? fail : why);
	free(fail);
	dnsbl_site_free(&s);
	memset(s_r, 0, sizeof(*s_r));
	return -1;
}

void
dnsbl_site_free(struct dnsbl_site *s)
{
	if (s == NULL)
		return;
	free(s->domain);
	free(s->text);
	s->domain = NULL;
	s->text = NULL;
}

int
dnsbl_sites_parse(const char *text, struct dnsbl_site **v_r, size_t *n_r, char **error_r)
{
	char *copy = xstrdup(text), *cursor = copy, *tok;
	struct dnsbl_site *v = NULL;
	size_t n = 0, cap = 0;

	while ((tok = str_next_token(&cursor)) != NULL) {
		v = xgrow(v, &cap, n + 1, sizeof(*v));
		if (dnsbl_site_parse(tok, true, &v[n], error_r) < 0) {
			dnsbl_sites_free(v, n);
			free(copy);
			*v_r = NULL;
			*n_r = 0;
			return -1;
		}
		n++;
	}
	free(copy);
	*v_r = v;
	*n_r = n;
	return 0;
}

void
dnsbl_sites_free(struct dnsbl_site *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dnsbl_site_free(&v[i]);
	free(v);
}

/* Query names. */

/* Can name be asked: labels of 1..63 bytes, at most 253 in all? */
static bool
dnsbl_query_name_ok(const char *name)
{
	size_t label = 0, n = strlen(name);

	if (n == 0 || n > DNSBL_NAME_MAX)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if (*p != '.')
			label++;
		else if (label == 0)
			return false;
		else
			label = 0;
		if (label > DNSBL_LABEL_MAX)
			return false;
	}
	return label > 0;
}

/* Copy name to buf when it is a query name and fits; else NULL. */
static char *
dnsbl_query_copy(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	if (!dnsbl_query_name_ok(name) || n >= len)
		return NULL;
	memcpy(buf, name, n + 1);
	return buf;
}

char *
dnsbl_reverse_name(const struct ipaddr *ip, const char *domain, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char name[DNSBL_NAME_MAX + 2], rev[4 * 16 + 1];
	const char *suffix = domain;
	int n;

	if (ip->family == AF_INET) {
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u", ip->a[3], ip->a[2], ip->a[1],
		         ip->a[0]);
		if (suffix == NULL)
			suffix = "in-addr.arpa";
	} else if (ip->family == AF_INET6) {
		for (int i = 0; i < 16; i++) {
			rev[4 * i] = hex[ip->a[15 - i] & 0xf];
			rev[4 * i + 1] = '.';
			rev[4 * i + 2] = hex[ip->a[15 - i] >> 4];
			rev[4 * i + 3] = '.';
		}
		rev[4 * 16 - 1] = '\0';
		if (suffix == NULL)
			suffix = "ip6.arpa";
	} else {
		return NULL;
	}
	n = snprintf(name, sizeof(name), "%s%s%s", rev, *suffix != '\0' ? "." : "",
	             suffix);
	if (n < 0 || (size_t)n >= sizeof(name))
		return NULL;
	return dnsbl_query_copy(name, buf, len);
}

char *
dnsbl_name_query(const char *name, const char *domain, char *buf, size_t len)
{
	char query[DNSBL_NAME_MAX + 2];
	size_t n = strlen(name);
	int rc;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNSBL_NAME_MAX)
		return NULL;
	rc = snprintf(query, sizeof(query), "%.*s.%s", (int)n, name, domain);
	if (rc < 0 || (size_t)rc >= sizeof(query))
		return NULL;
	return dnsbl_query_copy(query, buf, len);
}

/* Answers. */

/* What one A record says, worst first. */
enum dnsbl_verdict {
	DNSBL_V_REFUSED,      /* 127.255.255.0/24 */
	DNSBL_V_NOT_LOOPBACK, /* outside 127.0.0.0/8 */
	DNSBL_V_OUTSIDE,      /* in 127/8 but not in the filter */
	DNSBL_V_LISTED,
	DNSBL_V_COUNT,
};

static enum dnsbl_verdict
dnsbl_judge(const struct dnsbl_site *s, const struct ipaddr *a)
{
	if (a->a[0] != 127)
		return DNSBL_V_NOT_LOOPBACK;
	if (a->a[1] == 255 && a->a[2] == 255)
		return DNSBL_V_REFUSED;
	if (s->has_filter && !dnsbl_filter_match(&s->filter, a))
		return DNSBL_V_OUTSIDE;
	return DNSBL_V_LISTED;
}

/* The A records of a DNS_OK answer: the first record of each verdict. */
static enum dnsbl_result
dnsbl_classify_records(const struct dnsbl_site *s, const struct dns_answer *a,
                       struct ipaddr *match_r, char *detail, size_t len)
{
	const struct ipaddr *first[DNSBL_V_COUNT] = {NULL};
	const struct ipaddr *err;
	char text[IPADDR_STRLEN];

	for (size_t i = 0; i < a->nrr; i++) {
		const struct dns_rr *rr = &a->rr[i];
		enum dnsbl_verdict v;

		if (rr->type != DNS_T_A || rr->addr.family != AF_INET)
			continue;
		v = dnsbl_judge(s, &rr->addr);
		if (first[v] == NULL)
			first[v] = &rr->addr;
	}
	if (first[DNSBL_V_LISTED] != NULL) {
		if (match_r != NULL)
			*match_r = *first[DNSBL_V_LISTED];
		ipaddr_format(first[DNSBL_V_LISTED], text, sizeof(text));
		dnsbl_detail(detail, len, "%s", text);
		return DNSBL_LISTED;
	}
	err = first[DNSBL_V_REFUSED] != NULL ? first[DNSBL_V_REFUSED]
	                                     : first[DNSBL_V_NOT_LOOPBACK];
	if (err != NULL) {
		ipaddr_format(err, text, sizeof(text));
		dnsbl_detail(detail, len, "%s: %s", text,
		             err == first[DNSBL_V_REFUSED]
		                 ? "the list refuses our queries"
		                 : "answer outside 127.0.0.0/8");
		return DNSBL_LIST_ERROR;
	}
	if (first[DNSBL_V_OUTSIDE] != NULL) {
		ipaddr_format(first[DNSBL_V_OUTSIDE], text, sizeof(text));
		dnsbl_detail(detail, len, "%s outside the filter", text);
		return DNSBL_NOT_LISTED;
	}
	dnsbl_detail(detail, len, "not listed");
	return DNSBL_NOT_LISTED;
}

enum dnsbl_result
dnsbl_classify(const struct dnsbl_site *s, const struct dns_answer *a,
               struct ipaddr *match_r, char *detail, size_t len)
{
	if (match_r != NULL)
		memset(match_r, 0, sizeof(*match_r));
	switch (a->status) {
	case DNS_OK:
		return dnsbl_classify_records(s, a, match_r, detail, len);
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		dnsbl_detail(detail, len, "not listed");
		return DNSBL_NOT_LISTED;
	case DNS_TEMP:
		break;
	}
	if (a->status == DNS_TEMP && a->reason[0] != '\0')
		dnsbl_detail(detail, len, "%.*s", (int)sizeof(a->reason), a->reason);
	else
		dnsbl_detail(detail, len, "DNS lookup failed");
	return DNSBL_TEMP;
}
