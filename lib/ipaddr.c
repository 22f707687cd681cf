/*
 * ipaddr: IPv4 and IPv6 addresses and CIDR networks. Text goes through
 * inet_pton/inet_ntop; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 * stored as the IPv4 address it carries, so a rule written for IPv4 also
 * matches a client that reached us over a dual-stack socket. A network
 * whose host bits are set ("192.0.2.1/24") is refused, as Postfix's cidr
 * tables do, because it is almost always a typo for something else.
 *
 * Errors are written into the caller's buffer and quote the bad text;
 * nothing here logs, allocates on a lookup, or touches the network.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipaddr.h"
#include "lib/xalloc.h"

/* Longest address text inet_pton can accept, with room for brackets. */
#define IPADDR_TEXTMAX 64
/* How much of a bad input an error message quotes. */
#define IPADDR_QUOTEMAX 80

/* ::ffff:0:0/96, the IPv4-mapped prefix. */
static const uint8_t ipaddr_v4mapped_prefix[12] = {[10] = 0xff, [11] = 0xff};

static unsigned
ipaddr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Write '"text": reason' into err, quoting at most IPADDR_QUOTEMAX bytes
 * of text so that a huge input still leaves room for the reason. */
static void __attribute__((format(printf, 4, 5)))
ipaddr_err(char *err, size_t errlen, const char *text, const char *fmt, ...)
{
	size_t tlen = strnlen(text, IPADDR_QUOTEMAX + 1);
	const char *more = tlen > IPADDR_QUOTEMAX ? "..." : "";
	int n;
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	if (tlen > IPADDR_QUOTEMAX)
		tlen = IPADDR_QUOTEMAX;
	n = snprintf(err, errlen, "\"%.*s%s\": ", (int)tlen, text, more);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A v4-mapped IPv6 address becomes the IPv4 address it carries. */
static void
ipaddr_normalise(struct ipaddr *ip)
{
	if (ip->family != AF_INET6 ||
	    memcmp(ip->a, ipaddr_v4mapped_prefix, sizeof(ipaddr_v4mapped_prefix)) != 0)
		return;
	memmove(ip->a, ip->a + 12, 4);
	memset(ip->a + 4, 0, 12);
	ip->family = AF_INET;
}

/* Parse len bytes of text, optionally in brackets, without normalising. */
static int
ipaddr_parse_raw(const char *text, size_t len, struct ipaddr *ip_r)
{
	char buf[IPADDR_TEXTMAX];

	memset(ip_r, 0, sizeof(*ip_r));
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, ip_r->a) == 1) {
		ip_r->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, ip_r->a) == 1) {
		ip_r->family = AF_INET6;
		return 0;
	}
	memset(ip_r, 0, sizeof(*ip_r));
	return -1;
}

/* On failure *ip_r is left as "no address" (family 0). */
int
ipaddr_parse(const char *text, struct ipaddr *ip_r)
{
	memset(ip_r, 0, sizeof(*ip_r));
	if (text == NULL ||
	    ipaddr_parse_raw(text, strnlen(text, IPADDR_TEXTMAX), ip_r) < 0)
		return -1;
	ipaddr_normalise(ip_r);
	return 0;
}

int
ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *ip_r)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	if (sa == NULL)
		return -1;
	memset(ip_r, 0, sizeof(*ip_r));
	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		memcpy(ip_r->a, &sin.sin_addr, 4);
		ip_r->family = AF_INET;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(ip_r->a, &sin6.sin6_addr, 16);
		ip_r->family = AF_INET6;
		ipaddr_normalise(ip_r);
		return 0;
	}
	return -1;
}

/* Returns buf, always NUL-terminated when len > 0. An ipaddr without an
 * address, or a buffer too small, gives the empty string; len == 0 gives
 * a static empty string, so the result can always be printed. */
const char *
ipaddr_format(const struct ipaddr *ip, char *buf, size_t len)
{
	if (len == 0)
		return "";
	buf[0] = '\0';
	if (ip->family != AF_INET && ip->family != AF_INET6)
		return buf;
	if (len > (size_t)INT32_MAX)
		len = INT32_MAX;
	if (inet_ntop(ip->family, ip->a, buf, (socklen_t)len) == NULL)
		buf[0] = '\0';
	return buf;
}

bool
ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family != AF_INET && a->family != AF_INET6)
		return true;
	return memcmp(a->a, b->a, ipaddr_bits(a->family) / 8) == 0;
}

/* Do the first `prefix` bits of x and y agree? */
static bool
ipaddr_prefix_equal(const uint8_t *x, const uint8_t *y, unsigned prefix)
{
	unsigned bytes = prefix / 8, rest = prefix % 8;
	uint8_t mask;

	if (memcmp(x, y, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return ((x[bytes] ^ y[bytes]) & mask) == 0;
}

/* Clear every bit after the first `prefix`. */
static void
ipaddr_mask(struct ipaddr *ip, unsigned prefix)
{
	unsigned bytes = prefix / 8, rest = prefix % 8;

	if (rest != 0)
		ip->a[bytes++] &= (uint8_t)(0xff << (8 - rest));
	memset(ip->a + bytes, 0, sizeof(ip->a) - bytes);
}

/* "24" into *prefix_r: decimal digits only, at most `max`. */
static int
cidr_parse_prefix(const char *s, unsigned max, unsigned *prefix_r)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*prefix_r = (unsigned)v;
	return 0;
}

/* A v4-mapped network of /96 or longer is the IPv4 network it carries,
 * to agree with ipaddr_parse's normalisation of the addresses. */
static void
cidr_normalise(struct cidr *c)
{
	if (c->net.family != AF_INET6 || c->prefix < 96)
		return;
	ipaddr_normalise(&c->net);
	if (c->net.family == AF_INET)
		c->prefix -= 96;
}

/* Refuse a network whose host bits are set, naming the one meant. */
static int
cidr_check_host_bits(const struct cidr *c, const char *text, char *err, size_t errlen)
{
	struct ipaddr masked = c->net;
	char net[IPADDR_STRLEN];

	ipaddr_mask(&masked, c->prefix);
	if (memcmp(masked.a, c->net.a, sizeof(masked.a)) == 0)
		return 0;
	ipaddr_format(&masked, net, sizeof(net));
	ipaddr_err(err, errlen, text, "host bits set (network is %s/%u)", net, c->prefix);
	return -1;
}

int
cidr_parse(const char *text, struct cidr *c_r, char *err, size_t errlen)
{
	const char *slash = strrchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	struct cidr c;

	if (ipaddr_parse_raw(text, alen, &c.net) < 0) {
		ipaddr_err(err, errlen, text, "bad network address");
		return -1;
	}
	c.prefix = ipaddr_bits(c.net.family);
	if (slash != NULL &&
	    cidr_parse_prefix(slash + 1, ipaddr_bits(c.net.family), &c.prefix) < 0) {
		ipaddr_err(err, errlen, text, "bad prefix length");
		return -1;
	}
	if (cidr_check_host_bits(&c, text, err, errlen) < 0)
		return -1;
	cidr_normalise(&c);
	*c_r = c;
	return 0;
}

bool
cidr_match(const struct cidr *c, const struct ipaddr *ip)
{
	if (ip->family != c->net.family || ip->family == 0)
		return false;
	return ipaddr_prefix_equal(c->net.a, ip->a, c->prefix);
}

const char *
ipaddr_network_text(const struct ipaddr *ip, unsigned prefix, char *buf, size_t len)
{
	struct ipaddr net = *ip;
	unsigned bits = ip->family == AF_INET ? 32 : 128;
	char addr[IPADDR_STRLEN];

	if (prefix > bits)
		prefix = bits;
	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
		if (keep < 8)
			net.a[i] &= (uint8_t)(0xff00u >> keep);
	}
	snprintf(buf, len, "%s/%u", ipaddr_format(&net, addr, sizeof(addr)), prefix);
	return buf;
}

static bool
cidr_list_is_sep(char ch)
{
	return ch == ',' || isspace((unsigned char)ch);
}

int
cidr_list_parse(const char *text, struct cidr_list *list_r, char *err, size_t errlen)
{
	struct cidr_list list = {NULL, 0};
	size_t cap = 0;
	const char *p = text;

	while (*p != '\0') {
		size_t len;
		char *elem;
		int rc;

		while (cidr_list_is_sep(*p))
			p++;
		for (len = 0; p[len] != '\0' && !cidr_list_is_sep(p[len]); len++)
			;
		if (len == 0)
			break;
		list.v = xgrow(list.v, &cap, list.n + 1, sizeof(*list.v));
		elem = xstrndup(p, len);
		rc = cidr_parse(elem, &list.v[list.n], err, errlen);
		free(elem);
		if (rc < 0) {
			cidr_list_free(&list);
			*list_r = list;
			return -1;
		}
		list.n++;
		p += len;
	}
	*list_r = list;
	return 0;
}

bool
cidr_list_match(const struct cidr_list *list, const struct ipaddr *ip)
{
	for (size_t i = 0; i < list->n; i++)
		if (cidr_match(&list->v[i], ip))
			return true;
	return false;
}

void
cidr_list_free(struct cidr_list *list)
{
	if (list == NULL)
		return;
	free(list->v);
	list->v = NULL;
	list->n = 0;
}
