/*
 * test_dnswire: dns/wire. Replies are built by hand, byte by byte, by a
 * small packet builder (header, question, records, name compression) and
 * fed to dns_wire_reply: answers of each type we ask for, TTLs, NXDOMAIN
 * and NODATA with their negative TTLs, CNAME chains inside a reply and
 * out of it, loops, replies to another query, rcodes, truncation, and
 * broken packets (short, cut, pointer loops, bad record data). Also the
 * query packet, name normalisation and answer copies. Each group of cases
 * is a table.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dns/dns_internal.h"
#include "lib/ipaddr.h"
#include "tests/unit/testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The id of every query in these tests. */
#define QID 0x1234

/* Header flags (RFC 1035 4.1.1). */
#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080
#define F_OPCODE(n) ((n) << 11)
/* A usual reply: QR, RD, RA. */
#define F_REPLY (F_QR | F_RD | F_RA)

enum { RC_NOERROR, RC_FORMERR, RC_SERVFAIL, RC_NXDOMAIN, RC_NOTIMP, RC_REFUSED };

/*
 * The packet builder. Names are written label by label; "@" stands for a
 * compression pointer to the question name (offset 12), and a name ending
 * in ".@" is its labels followed by that pointer. "." and "" are the root.
 */
struct pkt {
	uint8_t b[2048];
	size_t len;
};

static void
put8(struct pkt *p, unsigned v)
{
	if (p->len + 1 > sizeof(p->b))
		testutil_fail(__FILE__, __LINE__, "test packet too long");
	p->b[p->len++] = (uint8_t)v;
}

static void
put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void
put_bytes(struct pkt *p, const void *data, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(p, ((const uint8_t *)data)[i]);
}

static void
put_name(struct pkt *p, const char *name)
{
	const char *s = name;

	while (*s != '\0' && strcmp(s, ".") != 0) {
		if (strcmp(s, "@") == 0) {
			put16(p, 0xc000 | 12);
			return;
		}
		size_t n = strcspn(s, ".");
		if (n == 0 || n > 63)
			testutil_fail(__FILE__, __LINE__, "bad test name \"%s\"", name);
		put8(p, (unsigned)n);
		put_bytes(p, s, n);
		s += n;
		if (*s == '.')
			s++;
	}
	put8(p, 0);
}

static void
put_header(struct pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
           unsigned ns, unsigned ar)
{
	p->len = 0;
	put16(p, id);
	put16(p, flags);
	put16(p, qd);
	put16(p, an);
	put16(p, ns);
	put16(p, ar);
}

static void
put_question(struct pkt *p, const char *name, unsigned type, unsigned class)
{
	put_name(p, name);
	put16(p, type);
	put16(p, class);
}

/* One resource record of a test reply. The rdata is written from data by
 * type (A/AAAA: the address; MX: "pref target"; PTR, CNAME, NS: the
 * target; TXT: character-strings separated by '|'; SOA: "mname rname
 * serial refresh retry expire minimum"), or taken as is from raw. */
struct rrspec {
	const char *owner; /* NULL ends a list */
	uint16_t type;
	uint32_t ttl;
	const char *data;
	const char *raw;
	size_t rawlen;
	uint16_t class; /* 0: IN */
};

#define RR(o, t, ttl_, d)                                                                \
	{                                                                                \
		.owner = (o), .type = (t), .ttl = (ttl_), .data = (d)                    \
	}
#define RRC(o, t, ttl_, d, c)                                                            \
	{                                                                                \
		.owner = (o), .type = (t), .ttl = (ttl_), .data = (d), .class = (c)      \
	}
/* Raw rdata from a string literal, which may hold NUL bytes. */
#define RAWRR(o, t, ttl_, bytes)                                                         \
	{                                                                                \
		.owner = (o), .type = (t), .ttl = (ttl_), .raw = (bytes),                \
		.rawlen = sizeof(bytes) - 1                                              \
	}

static void
put_rdata(struct pkt *p, const struct rrspec *rr)
{
	char host[256], host2[256];
	unsigned pref;
	uint32_t soa[5];
	uint8_t addr[16];

	if (rr->raw != NULL) {
		put_bytes(p, rr->raw, rr->rawlen);
		return;
	}
	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		int af = rr->type == DNS_T_A ? AF_INET : AF_INET6;
		if (inet_pton(af, rr->data, addr) != 1)
			testutil_fail(__FILE__, __LINE__, "bad test address %s",
			              rr->data);
		put_bytes(p, addr, af == AF_INET ? 4 : 16);
		break;
	}
	case DNS_T_MX:
		if (sscanf(rr->data, "%u %255s", &pref, host) != 2)
			testutil_fail(__FILE__, __LINE__, "bad test MX %s", rr->data);
		put16(p, pref);
		put_name(p, host);
		break;
	case DNS_T_PTR:
	case DNS_T_CNAME:
	case DNS_T_NS:
		put_name(p, rr->data);
		break;
	case DNS_T_TXT:
		for (const char *s = rr->data;;) {
			size_t n = strcspn(s, "|");
			put8(p, (unsigned)n);
			put_bytes(p, s, n);
			if (s[n] == '\0')
				break;
			s += n + 1;
		}
		break;
	case DNS_T_SOA:
		if (sscanf(rr->data, "%255s %255s %u %u %u %u %u", host, host2, &soa[0],
		           &soa[1], &soa[2], &soa[3], &soa[4]) != 7)
			testutil_fail(__FILE__, __LINE__, "bad test SOA %s", rr->data);
		put_name(p, host);
		put_name(p, host2);
		for (size_t i = 0; i < 5; i++)
			put32(p, soa[i]);
		break;
	default:
		testutil_fail(__FILE__, __LINE__, "no rdata for test type %u", rr->type);
	}
}

static void
put_rr(struct pkt *p, const struct rrspec *rr)
{
	size_t rdlen_at;

	put_name(p, rr->owner);
	put16(p, rr->type);
	put16(p, rr->class ? rr->class : 1);
	put32(p, rr->ttl);
	rdlen_at = p->len;
	put16(p, 0);
	put_rdata(p, rr);
	p->b[rdlen_at] = (uint8_t)((p->len - rdlen_at - 2) >> 8);
	p->b[rdlen_at + 1] = (uint8_t)((p->len - rdlen_at - 2) & 0xff);
}

static unsigned
count_rrs(const struct rrspec *v, size_t max)
{
	unsigned n = 0;

	while (n < max && v[n].owner != NULL)
		n++;
	return n;
}

/* A dns_wire_reply case: the reply to build, what was asked, and what
 * must come out. */
struct reply_case {
	const char *what;
	/* The reply. */
	unsigned id;    /* 0: QID */
	unsigned flags; /* 0: F_REPLY */
	unsigned rcode;
	int questions;        /* 0: one; -1: none; 2: two */
	const char *qname;    /* NULL: ask */
	uint16_t qtype;       /* 0: type */
	uint16_t qclass;      /* 0: IN */
	struct rrspec an[12]; /* answer section */
	struct rrspec ns[3];  /* authority section */
	/* The query. */
	const char *ask;  /* NULL: "www.example.com" */
	uint16_t type;    /* asked type */
	const char *orig; /* NULL: ask */
	/* Expected. */
	enum reply_kind kind;
	const char *why; /* substring of r.why, or NULL for "" */
	enum dns_status status;
	const char *records; /* the records as text, joined by ',' */
	uint32_t ttl;
	const char *cname;  /* NULL: none */
	const char *follow; /* NULL: none */
	unsigned chain;
};

static void
build_reply(const struct reply_case *c, struct pkt *p)
{
	const char *ask = c->ask ? c->ask : "www.example.com";
	unsigned nq = c->questions == 0 ? 1 : c->questions < 0 ? 0 : 2;
	unsigned nan = count_rrs(c->an, N_ELEMS(c->an));
	unsigned nns = count_rrs(c->ns, N_ELEMS(c->ns));

	put_header(p, c->id ? c->id : QID, (c->flags ? c->flags : F_REPLY) | c->rcode, nq,
	           nan, nns, 0);
	for (unsigned i = 0; i < nq; i++)
		put_question(p, c->qname ? c->qname : ask, c->qtype ? c->qtype : c->type,
		             c->qclass ? c->qclass : 1);
	for (unsigned i = 0; i < nan; i++)
		put_rr(p, &c->an[i]);
	for (unsigned i = 0; i < nns; i++)
		put_rr(p, &c->ns[i]);
}

/* The records of an answer as "192.0.2.1,10 mx.example.com,..." */
static char *
records_text(const struct dns_answer *a)
{
	char *out = testutil_printf("%s", ""), *next;

	for (size_t i = 0; i < a->nrr; i++) {
		const struct dns_rr *rr = &a->rr[i];
		char addr[IPADDR_STRLEN], one[600];

		if (rr->type != a->qtype)
			snprintf(one, sizeof(one), "(a record of type %u)", rr->type);
		else if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA)
			snprintf(one, sizeof(one), "%s",
			         ipaddr_format(&rr->addr, addr, sizeof(addr)));
		else if (rr->type == DNS_T_MX)
			snprintf(one, sizeof(one), "%u %s", rr->pref, rr->text);
		else
			snprintf(one, sizeof(one), "%s", rr->text);
		next = testutil_printf("%s%s%s", out, i > 0 ? "," : "", one);
		free(out);
		out = next;
	}
	return out;
}

static const char *
kind_name(enum reply_kind k)
{
	static const char *const names[] = {"IGNORE", "MALFORMED", "TRUNCATED",
	                                    "RCODE",  "FOLLOW",    "FINAL"};

	return k <= REPLY_FINAL ? names[k] : "(bad kind)";
}

static void
free_reply(struct reply *r)
{
	dns_answer_free(r->answer);
	free(r->follow);
	r->answer = NULL;
	r->follow = NULL;
}

/* NULL when r is what c expects, else a malloc'd description of the
 * difference. */
static char *
check_reply(const struct reply_case *c, const struct reply *r)
{
	const char *ask = c->ask ? c->ask : "www.example.com";

	if (r->kind != c->kind)
		return testutil_printf("%s: %s, want %s (why \"%s\")", c->what,
		                       kind_name(r->kind), kind_name(c->kind), r->why);
	if (c->why != NULL && strstr(r->why, c->why) == NULL)
		return testutil_printf("%s: why \"%s\" lacks \"%s\"", c->what, r->why,
		                       c->why);
	if (c->kind != REPLY_MALFORMED && c->kind != REPLY_RCODE && r->why[0] != '\0')
		return testutil_printf("%s: why \"%s\" for kind %d", c->what, r->why,
		                       r->kind);
	if (c->follow == NULL && r->follow != NULL)
		return testutil_printf("%s: follow \"%s\"", c->what, r->follow);
	if (c->follow != NULL && (r->follow == NULL || strcmp(r->follow, c->follow) != 0))
		return testutil_printf("%s: follow \"%s\", want \"%s\"", c->what,
		                       r->follow ? r->follow : "(null)", c->follow);
	if (c->kind == REPLY_FOLLOW || c->kind == REPLY_FINAL || c->chain > 0)
		if (r->chain != c->chain)
			return testutil_printf("%s: chain %u, want %u", c->what, r->chain,
			                       c->chain);
	if (c->kind != REPLY_FINAL) {
		if (r->answer != NULL)
			return testutil_printf("%s: an answer with kind %d", c->what,
			                       r->kind);
		return NULL;
	}

	const struct dns_answer *a = r->answer;
	if (a == NULL)
		return testutil_printf("%s: FINAL without an answer", c->what);
	if (a->status != c->status)
		return testutil_printf("%s: status %s, want %s", c->what,
		                       dns_status_name(a->status),
		                       dns_status_name(c->status));
	if (strcmp(a->qname, c->orig ? c->orig : ask) != 0 || a->qtype != c->type)
		return testutil_printf("%s: answer for %s/%u", c->what, a->qname,
		                       a->qtype);
	if (a->ttl != c->ttl)
		return testutil_printf("%s: ttl %u, want %u", c->what, a->ttl, c->ttl);
	if ((c->cname == NULL) != (a->cname == NULL) ||
	    (c->cname != NULL && strcmp(c->cname, a->cname) != 0))
		return testutil_printf("%s: cname \"%s\", want \"%s\"", c->what,
		                       a->cname ? a->cname : "(null)",
		                       c->cname ? c->cname : "(null)");
	if (a->cached || a->reason[0] != '\0')
		return testutil_printf("%s: cached or reason set", c->what);

	char *recs = records_text(a), *diff = NULL;
	if (strcmp(recs, c->records ? c->records : "") != 0)
		diff = testutil_printf("%s: records \"%s\", want \"%s\"", c->what, recs,
		                       c->records ? c->records : "");
	free(recs);
	return diff;
}

static void
run_reply_cases(const struct reply_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct reply_case *c = &cases[i];
		const char *ask = c->ask ? c->ask : "www.example.com";
		struct pkt p;
		struct reply r;

		build_reply(c, &p);
		memset(&r, 0x5a, sizeof(r)); /* dns_wire_reply must reset it */
		dns_wire_reply(p.b, p.len, QID, ask, c->type, c->orig ? c->orig : ask,
		               &r);
		char *diff = check_reply(c, &r);
		free_reply(&r); /* before failing, so a failure leaks nothing */
		if (diff != NULL) {
			print_error("%s\n", diff);
			free(diff);
			fail();
		}
	}
}

#define SOA_300 "ns.example.com hostmaster.example.com 1 3600 600 86400 300"

static void
test_reply_answers(void **state)
{
	static const struct reply_case cases[] = {
	    {.what = "A, two records, TTL the smaller",
	     .type = DNS_T_A,
	     .an = {RR("www.example.com", DNS_T_A, 300, "192.0.2.1"),
	            RR("www.example.com", DNS_T_A, 120, "192.0.2.2")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.1,192.0.2.2",
	     .ttl = 120},
	    {.what = "A, owner compressed",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_A, 3600, "192.0.2.1")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.1",
	     .ttl = 3600},
	    {.what = "A, TTL 0",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_A, 0, "192.0.2.1"), RR("@", DNS_T_A, 60, "192.0.2.3")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.1,192.0.2.3",
	     .ttl = 0},
	    {.what = "A, largest TTL",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_A, 0x7fffffff, "192.0.2.1")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.1",
	     .ttl = 0x7fffffff},
	    {.what = "A, AA set",
	     .type = DNS_T_A,
	     .flags = F_REPLY | F_AA,
	     .an = {RR("@", DNS_T_A, 60, "198.51.100.7")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "198.51.100.7",
	     .ttl = 60},
	    {.what = "AAAA",
	     .type = DNS_T_AAAA,
	     .an = {RR("@", DNS_T_AAAA, 600, "2001:db8::1"),
	            RR("@", DNS_T_AAAA, 900, "2001:db8:0:0:1:0:0:2")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "2001:db8::1,2001:db8::1:0:0:2",
	     .ttl = 600},
	    {.what = "MX, targets lower-cased and compressed",
	     .ask = "example.com",
	     .type = DNS_T_MX,
	     .an = {RR("@", DNS_T_MX, 300, "10 MX1.Example.COM"),
	            RR("@", DNS_T_MX, 300, "20 mx2.@"),
	            RR("example.com", DNS_T_MX, 200, "65535 backup.example.net.")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "10 mx1.example.com,20 mx2.example.com,65535 backup.example.net",
	     .ttl = 200},
	    {.what = "null MX",
	     .ask = "example.com",
	     .type = DNS_T_MX,
	     .an = {RR("@", DNS_T_MX, 300, "0 .")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "0 ",
	     .ttl = 300},
	    {.what = "PTR",
	     .ask = "1.2.0.192.in-addr.arpa",
	     .type = DNS_T_PTR,
	     .an = {RR("@", DNS_T_PTR, 86400, "Host.Example.com"),
	            RR("@", DNS_T_PTR, 3600, "alias.example.org.")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "host.example.com,alias.example.org",
	     .ttl = 3600},
	    {.what = "PTR, a byte that is not a host name character",
	     .ask = "1.2.0.192.in-addr.arpa",
	     .type = DNS_T_PTR,
	     .an = {RAWRR("@", DNS_T_PTR, 60,
	                  "\x05h st!\x07"
	                  "example\0")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "h\\032st\\033.example",
	     .ttl = 60},
	    {.what = "NS",
	     .ask = "example.com",
	     .type = DNS_T_NS,
	     .an = {RR("@", DNS_T_NS, 172800, "ns1.@")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "ns1.example.com",
	     .ttl = 172800},
	    {.what = "TXT, character-strings concatenated",
	     .ask = "example.com",
	     .type = DNS_T_TXT,
	     .an = {RR("@", DNS_T_TXT, 300,
	               "v=spf1 ip4:192.0.2.0/24 |include:_spf.example.net| -all"),
	            RR("@", DNS_T_TXT, 300, "second")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all,second",
	     .ttl = 300},
	    {.what = "TXT, empty strings",
	     .ask = "example.com",
	     .type = DNS_T_TXT,
	     .an = {RR("@", DNS_T_TXT, 300, "a||b|"), RR("@", DNS_T_TXT, 300, "")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "ab,",
	     .ttl = 300},
	    {.what = "TXT, a NUL byte becomes DEL (0x7f), which no grammar accepts",
	     .ask = "example.com",
	     .type = DNS_T_TXT,
	     .an = {RAWRR("@", DNS_T_TXT, 300,
	                  "\x03"
	                  "a\0b\x02"
	                  "\0c")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "a\x7f"
	                "b\x7f"
	                "c",
	     .ttl = 300},
	    {.what = "CNAME asked for is not followed",
	     .type = DNS_T_CNAME,
	     .an = {RR("@", DNS_T_CNAME, 300, "target.example.net"),
	            RR("target.example.net", DNS_T_CNAME, 300, "other.example.net")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "target.example.net",
	     .ttl = 300},
	    {.what = "owner in upper case",
	     .type = DNS_T_A,
	     .an = {RR("WWW.EXAMPLE.COM", DNS_T_A, 300, "192.0.2.1"),
	            RR("Www.Example.Com", DNS_T_A, 300, "192.0.2.2")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.1,192.0.2.2",
	     .ttl = 300},
	    {.what = "question in upper case",
	     .type = DNS_T_A,
	     .qname = "WWW.EXAMPLE.COM",
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.1",
	     .ttl = 300},
	    {.what = "records of another type, owner or class ignored",
	     .type = DNS_T_A,
	     .an = {RR("other.example.com", DNS_T_A, 10, "192.0.2.9"),
	            RR("@", DNS_T_AAAA, 10, "2001:db8::9"),
	            RR("@", DNS_T_TXT, 10, "text"), RR("@", DNS_T_A, 300, "192.0.2.1"),
	            RR("www.example.com.evil", DNS_T_A, 10, "192.0.2.10"),
	            RR("ww.example.com", DNS_T_A, 10, "192.0.2.11"),
	            RRC("@", DNS_T_A, 10, "192.0.2.12", 3)},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.1",
	     .ttl = 300},
	    {.what = "second query of a chain: qname is the original name",
	     .ask = "b.example.org",
	     .orig = "www.example.com",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.7")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.7",
	     .ttl = 300,
	     .cname = "b.example.org"},
	};
	(void)state;
	run_reply_cases(cases, N_ELEMS(cases));
}

static void
test_reply_negative(void **state)
{
	static const struct reply_case cases[] = {
	    {.what = "NXDOMAIN, TTL the SOA minimum",
	     .type = DNS_T_A,
	     .rcode = RC_NXDOMAIN,
	     .ns = {RR("example.com", DNS_T_SOA, 3600, SOA_300)},
	     .kind = REPLY_FINAL,
	     .status = DNS_NXDOMAIN,
	     .ttl = 300},
	    {.what = "NXDOMAIN, TTL the SOA's own TTL",
	     .type = DNS_T_A,
	     .rcode = RC_NXDOMAIN,
	     .ns = {RR("example.com", DNS_T_SOA, 60, SOA_300)},
	     .kind = REPLY_FINAL,
	     .status = DNS_NXDOMAIN,
	     .ttl = 60},
	    {.what = "NXDOMAIN, compressed SOA names",
	     .ask = "nx.example.com",
	     .type = DNS_T_MX,
	     .rcode = RC_NXDOMAIN,
	     .ns = {RR("example.com", DNS_T_SOA, 900, "ns.@ hostmaster.@ 7 1 1 1 450")},
	     .kind = REPLY_FINAL,
	     .status = DNS_NXDOMAIN,
	     .ttl = 450},
	    {.what = "NXDOMAIN without SOA: TTL 0",
	     .type = DNS_T_A,
	     .rcode = RC_NXDOMAIN,
	     .kind = REPLY_FINAL,
	     .status = DNS_NXDOMAIN,
	     .ttl = 0},
	    {.what = "NXDOMAIN, NS before SOA in authority",
	     .type = DNS_T_A,
	     .rcode = RC_NXDOMAIN,
	     .ns = {RR("example.com", DNS_T_NS, 5, "ns.example.com"),
	            RR("example.com", DNS_T_SOA, 3600, SOA_300)},
	     .kind = REPLY_FINAL,
	     .status = DNS_NXDOMAIN,
	     .ttl = 300},
	    {.what = "NODATA with SOA",
	     .type = DNS_T_AAAA,
	     .ns = {RR("example.com", DNS_T_SOA, 120, SOA_300)},
	     .kind = REPLY_FINAL,
	     .status = DNS_NODATA,
	     .ttl = 120},
	    {.what = "NODATA without SOA",
	     .type = DNS_T_MX,
	     .kind = REPLY_FINAL,
	     .status = DNS_NODATA,
	     .ttl = 0},
	    {.what = "NODATA: only records of another type",
	     .type = DNS_T_AAAA,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .ns = {RR("example.com", DNS_T_SOA, 3600, SOA_300)},
	     .kind = REPLY_FINAL,
	     .status = DNS_NODATA,
	     .ttl = 300},
	    {.what = "NODATA: only records of another owner",
	     .type = DNS_T_A,
	     .an = {RR("mail.example.com", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_FINAL,
	     .status = DNS_NODATA,
	     .ttl = 0},
	};
	(void)state;
	run_reply_cases(cases, N_ELEMS(cases));
}

static void
test_reply_cname(void **state)
{
	static const struct reply_case cases[] = {
	    {.what = "CNAME chain answered in the reply",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_CNAME, 600, "a.example.net"),
	            RR("a.example.net", DNS_T_CNAME, 60, "B.Example.ORG"),
	            RR("b.example.org", DNS_T_A, 300, "192.0.2.7"),
	            RR("b.example.org", DNS_T_A, 300, "192.0.2.8")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.7,192.0.2.8",
	     .ttl = 60,
	     .cname = "b.example.org",
	     .chain = 2},
	    {.what = "CNAME chain in reverse order, compressed targets",
	     .type = DNS_T_AAAA,
	     .an = {RR("b.example.org", DNS_T_AAAA, 30, "2001:db8::7"),
	            RR("a.@", DNS_T_CNAME, 600, "b.example.org"),
	            RR("@", DNS_T_CNAME, 600, "a.@")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "2001:db8::7",
	     .ttl = 30,
	     .cname = "b.example.org",
	     .chain = 2},
	    {.what = "records of the first name beside a CNAME are ignored",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.99"),
	            RR("@", DNS_T_CNAME, 300, "b.example.org"),
	            RR("b.example.org", DNS_T_A, 300, "192.0.2.7")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.7",
	     .ttl = 300,
	     .cname = "b.example.org",
	     .chain = 1},
	    {.what = "CNAME to a name not answered: follow it",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_CNAME, 300, "Target.Example.NET."),
	            RR("other.example.net", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_FOLLOW,
	     .follow = "target.example.net",
	     .chain = 1},
	    {.what = "CNAME chain leaving the reply after two steps",
	     .type = DNS_T_MX,
	     .ask = "example.com",
	     .an = {RR("@", DNS_T_CNAME, 300, "a.example.net"),
	            RR("a.example.net", DNS_T_CNAME, 300, "b.example.net")},
	     .kind = REPLY_FOLLOW,
	     .follow = "b.example.net",
	     .chain = 2},
	    {.what = "CNAME, end of chain NXDOMAIN",
	     .type = DNS_T_A,
	     .rcode = RC_NXDOMAIN,
	     .an = {RR("@", DNS_T_CNAME, 300, "gone.example.net")},
	     .ns = {RR("example.net", DNS_T_SOA, 3600, SOA_300)},
	     .kind = REPLY_FINAL,
	     .status = DNS_NXDOMAIN,
	     .ttl = 300,
	     .cname = "gone.example.net",
	     .chain = 1},
	    {.what = "CNAME, end of chain NODATA (SOA of its zone)",
	     .type = DNS_T_AAAA,
	     .an = {RR("@", DNS_T_CNAME, 300, "v4only.example.net"),
	            RR("v4only.example.net", DNS_T_A, 300, "192.0.2.1")},
	     .ns = {RR("example.net", DNS_T_SOA, 3600, SOA_300)},
	     .kind = REPLY_FOLLOW,
	     .follow = "v4only.example.net",
	     .chain = 1},
	    {.what = "CNAME chain of 8: the longest allowed",
	     .type = DNS_T_A,
	     .ask = "c0.example",
	     .an = {RR("c0.example", DNS_T_CNAME, 300, "c1.example"),
	            RR("c1.example", DNS_T_CNAME, 300, "c2.example"),
	            RR("c2.example", DNS_T_CNAME, 300, "c3.example"),
	            RR("c3.example", DNS_T_CNAME, 300, "c4.example"),
	            RR("c4.example", DNS_T_CNAME, 300, "c5.example"),
	            RR("c5.example", DNS_T_CNAME, 300, "c6.example"),
	            RR("c6.example", DNS_T_CNAME, 300, "c7.example"),
	            RR("c7.example", DNS_T_CNAME, 300, "c8.example"),
	            RR("c8.example", DNS_T_A, 300, "192.0.2.8")},
	     .kind = REPLY_FINAL,
	     .status = DNS_OK,
	     .records = "192.0.2.8",
	     .ttl = 300,
	     .cname = "c8.example",
	     .chain = 8},
	    {.what = "CNAME chain of 9: too long",
	     .type = DNS_T_A,
	     .ask = "c0.example",
	     .an = {RR("c0.example", DNS_T_CNAME, 300, "c1.example"),
	            RR("c1.example", DNS_T_CNAME, 300, "c2.example"),
	            RR("c2.example", DNS_T_CNAME, 300, "c3.example"),
	            RR("c3.example", DNS_T_CNAME, 300, "c4.example"),
	            RR("c4.example", DNS_T_CNAME, 300, "c5.example"),
	            RR("c5.example", DNS_T_CNAME, 300, "c6.example"),
	            RR("c6.example", DNS_T_CNAME, 300, "c7.example"),
	            RR("c7.example", DNS_T_CNAME, 300, "c8.example"),
	            RR("c8.example", DNS_T_CNAME, 300, "c9.example"),
	            RR("c9.example", DNS_T_A, 300, "192.0.2.9")},
	     .kind = REPLY_MALFORMED,
	     .why = "CNAME chain too long",
	     .chain = 9},
	    {.what = "CNAME loop of two",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_CNAME, 300, "loop.example.net"),
	            RR("loop.example.net", DNS_T_CNAME, 300, "www.example.com")},
	     .kind = REPLY_MALFORMED,
	     .why = "CNAME chain too long",
	     .chain = 9},
	    {.what = "CNAME to itself",
	     .type = DNS_T_TXT,
	     .an = {RR("@", DNS_T_CNAME, 300, "@")},
	     .kind = REPLY_MALFORMED,
	     .why = "CNAME chain too long",
	     .chain = 9},
	};
	(void)state;
	run_reply_cases(cases, N_ELEMS(cases));
}

static void
test_reply_not_ours(void **state)
{
	static const struct reply_case cases[] = {
	    {.what = "wrong id",
	     .id = 0x4321,
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_IGNORE},
	    {.what = "id with the bytes swapped",
	     .id = 0x3412,
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_IGNORE},
	    {.what = "other question name",
	     .type = DNS_T_A,
	     .qname = "www.example.net",
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_IGNORE},
	    {.what = "question name a suffix of ours",
	     .type = DNS_T_A,
	     .qname = "example.com",
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_IGNORE},
	    {.what = "other question type",
	     .type = DNS_T_A,
	     .qtype = DNS_T_AAAA,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_IGNORE},
	    {.what = "other question class",
	     .type = DNS_T_A,
	     .qclass = 3,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_IGNORE},
	    {.what = "no question",
	     .type = DNS_T_A,
	     .questions = -1,
	     .an = {RR("www.example.com", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_IGNORE},
	    {.what = "two questions",
	     .type = DNS_T_A,
	     .questions = 2,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_IGNORE},
	    {.what = "other question and SERVFAIL",
	     .type = DNS_T_A,
	     .qname = "www.example.net",
	     .rcode = RC_SERVFAIL,
	     .kind = REPLY_IGNORE},
	};
	(void)state;
	run_reply_cases(cases, N_ELEMS(cases));
}

static void
test_reply_rcode_and_flags(void **state)
{
	static const struct reply_case cases[] = {
	    {.what = "QR clear",
	     .type = DNS_T_A,
	     .flags = F_RD,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_MALFORMED,
	     .why = "not a query response"},
	    {.what = "opcode STATUS",
	     .type = DNS_T_A,
	     .flags = F_REPLY | F_OPCODE(2),
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_MALFORMED,
	     .why = "not a query response"},
	    {.what = "TC set",
	     .type = DNS_T_A,
	     .flags = F_REPLY | F_TC,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_TRUNCATED},
	    {.what = "TC set, no records",
	     .type = DNS_T_TXT,
	     .flags = F_REPLY | F_TC,
	     .kind = REPLY_TRUNCATED},
	    {.what = "SERVFAIL",
	     .type = DNS_T_A,
	     .rcode = RC_SERVFAIL,
	     .kind = REPLY_RCODE,
	     .why = "SERVFAIL"},
	    {.what = "REFUSED",
	     .type = DNS_T_MX,
	     .rcode = RC_REFUSED,
	     .kind = REPLY_RCODE,
	     .why = "REFUSED"},
	    {.what = "FORMERR",
	     .type = DNS_T_A,
	     .rcode = RC_FORMERR,
	     .kind = REPLY_RCODE,
	     .why = "FORMERR"},
	    {.what = "NOTIMP",
	     .type = DNS_T_A,
	     .rcode = RC_NOTIMP,
	     .kind = REPLY_RCODE,
	     .why = "NOTIMP"},
	    {.what = "rcode 9",
	     .type = DNS_T_A,
	     .rcode = 9,
	     .kind = REPLY_RCODE,
	     .why = "rcode 9"},
	    {.what = "SERVFAIL with records",
	     .type = DNS_T_A,
	     .rcode = RC_SERVFAIL,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_RCODE,
	     .why = "SERVFAIL"},
	};
	(void)state;
	run_reply_cases(cases, N_ELEMS(cases));
}

/* Record data that does not fit its type. Data too short for the type
 * is refused by ldns's parser ("cannot be parsed"); data that ldns reads
 * but that is not what the type says is refused by wire.c ("bad record
 * data"). Both are MALFORMED. */
static void
test_reply_bad_record_data(void **state)
{
	static const struct reply_case cases[] = {
	    {.what = "A with rdlength 3",
	     .type = DNS_T_A,
	     .an = {RAWRR("@", DNS_T_A, 300, "\xc0\x00\x02")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer: cannot be parsed"},
	    {.what = "A with rdlength 3, another record after it",
	     .type = DNS_T_A,
	     .an = {RAWRR("@", DNS_T_A, 300, "\xc0\x00\x02"),
	            RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer"},
	    {.what = "A with rdlength 3 of another owner: the packet is broken",
	     .type = DNS_T_A,
	     .an = {RAWRR("other.example.com", DNS_T_A, 300, "\xc0\x00\x02"),
	            RR("@", DNS_T_A, 300, "192.0.2.1")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer"},
	    {.what = "A with rdlength 0",
	     .type = DNS_T_A,
	     .an = {RAWRR("@", DNS_T_A, 300, "")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer: bad record data"},
	    {.what = "A with rdlength 0 after a good one",
	     .type = DNS_T_A,
	     .an = {RR("@", DNS_T_A, 300, "192.0.2.1"), RAWRR("@", DNS_T_A, 300, "")},
	     .kind = REPLY_MALFORMED,
	     .why = "bad record data"},
	    {.what = "AAAA with 4 bytes",
	     .type = DNS_T_AAAA,
	     .an = {RAWRR("@", DNS_T_AAAA, 300, "\xc0\x00\x02\x01")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer"},
	    {.what = "AAAA with rdlength 0",
	     .type = DNS_T_AAAA,
	     .an = {RAWRR("@", DNS_T_AAAA, 300, "")},
	     .kind = REPLY_MALFORMED,
	     .why = "bad record data"},
	    {.what = "MX with only a preference",
	     .ask = "example.com",
	     .type = DNS_T_MX,
	     .an = {RAWRR("@", DNS_T_MX, 300, "\x00\x0a")},
	     .kind = REPLY_MALFORMED,
	     .why = "bad record data"},
	    {.what = "MX with a one-byte preference",
	     .ask = "example.com",
	     .type = DNS_T_MX,
	     .an = {RAWRR("@", DNS_T_MX, 300, "\x00")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer"},
	    {.what = "PTR with rdlength 0",
	     .ask = "1.2.0.192.in-addr.arpa",
	     .type = DNS_T_PTR,
	     .an = {RAWRR("@", DNS_T_PTR, 300, "")},
	     .kind = REPLY_MALFORMED,
	     .why = "bad record data"},
	    {.what = "TXT string longer than the record",
	     .ask = "example.com",
	     .type = DNS_T_TXT,
	     .an = {RAWRR("@", DNS_T_TXT, 300,
	                  "\x05"
	                  "a")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer"},
	    {.what = "bad A record of a type not asked for",
	     .type = DNS_T_AAAA,
	     .an = {RAWRR("@", DNS_T_A, 300, "")},
	     .kind = REPLY_FINAL,
	     .status = DNS_NODATA},
	};
	(void)state;
	run_reply_cases(cases, N_ELEMS(cases));
}

/* Record data longer than its type: the bytes past the address or the
 * name are not part of any record, so the record is not what its type
 * says. ldns's parser stops after the fields the type has and drops the
 * rest, so wire.c checks each used record's length itself. */
static void
test_reply_rdata_too_long(void **state)
{
	static const struct reply_case cases[] = {
	    {.what = "A with rdlength 5",
	     .type = DNS_T_A,
	     .an = {RAWRR("@", DNS_T_A, 300, "\xc0\x00\x02\x01\x01")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer"},
	    {.what = "AAAA with rdlength 17",
	     .type = DNS_T_AAAA,
	     .an = {RAWRR("@", DNS_T_AAAA, 300, "0123456789abcdefX")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer"},
	    {.what = "PTR with bytes after the name",
	     .ask = "1.2.0.192.in-addr.arpa",
	     .type = DNS_T_PTR,
	     .an = {RAWRR("@", DNS_T_PTR, 300,
	                  "\x01"
	                  "a\x00\x01\x02")},
	     .kind = REPLY_MALFORMED,
	     .why = "malformed answer"},
	};
	(void)state;
	run_reply_cases(cases, N_ELEMS(cases));
}

/* Packets that are broken below the level of records, written out byte
 * by byte: a header (id QID, QR RD RA) with qdcount and ancount, the
 * question www.example.com/A, and the part of an A record after its
 * owner. */
#define RAW(s) s, sizeof(s) - 1
#define HDR_Q1 "\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00"
#define HDR_Q1_A1 "\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
#define QWWW                                                                             \
	"\x03www\x07"                                                                    \
	"example\x03"                                                                    \
	"com\x00\x00\x01\x00\x01"
#define A_RR_TAIL "\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc0\x00\x02\x01"

static void
test_reply_broken_packets(void **state)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
		enum reply_kind kind;
		const char *why;
	} cases[] = {
	    {"empty", RAW(""), REPLY_IGNORE, NULL},
	    {"11 bytes", RAW("\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00"),
	     REPLY_MALFORMED, "shorter than a header"},
	    {"1 byte", RAW("\x12"), REPLY_IGNORE, NULL},
	    {"header only, no question",
	     RAW("\x12\x34\x81\x80\x00\x00\x00\x00\x00\x00\x00\x00"), REPLY_IGNORE, NULL},
	    {"header claims a question that is missing",
	     RAW("\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00"), REPLY_MALFORMED,
	     "cannot be parsed"},
	    {"header claims an answer that is missing", RAW(HDR_Q1_A1 QWWW),
	     REPLY_MALFORMED, "cannot be parsed"},
	    {"question name: pointer to itself", RAW(HDR_Q1 "\xc0\x0c\x00\x01\x00\x01"),
	     REPLY_MALFORMED, NULL},
	    {"question name: label then pointer back to it",
	     RAW(HDR_Q1 "\x03www\xc0\x0c\x00\x01\x00\x01"), REPLY_MALFORMED, NULL},
	    {"question name: pointer forward to itself",
	     RAW(HDR_Q1 "\xc0\x0e\xc0\x0c\x00\x01\x00\x01"), REPLY_MALFORMED, NULL},
	    {"answer owner: two pointers to each other",
	     RAW(HDR_Q1_A1 QWWW "\xc0\x23\xc0\x21" A_RR_TAIL), REPLY_MALFORMED, NULL},
	    {"answer owner: pointer past the end",
	     RAW(HDR_Q1_A1 QWWW "\xc0\xff" A_RR_TAIL), REPLY_MALFORMED, NULL},
	    {"question name: pointer past the end",
	     RAW(HDR_Q1 "\xc0\xff\x00\x01\x00\x01"), REPLY_MALFORMED, NULL},
	    {"label running past the end", RAW(HDR_Q1 "\x3fwww"), REPLY_MALFORMED, NULL},
	    {"label type 01 (extended)", RAW(HDR_Q1 "\x43www\x00\x00\x01\x00\x01"),
	     REPLY_MALFORMED, NULL},
	    {"label type 10 (reserved)", RAW(HDR_Q1 "\x83www\x00\x00\x01\x00\x01"),
	     REPLY_MALFORMED, NULL},
	    {"question without type and class", RAW(HDR_Q1 "\x03www\x00"),
	     REPLY_MALFORMED, NULL},
	    {"answer rdlength past the end",
	     RAW(HDR_Q1_A1 QWWW
	         "\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x01\x00\xc0\x00\x02\x01"),
	     REPLY_MALFORMED, NULL},
	    {"answer cut inside its TTL",
	     RAW(HDR_Q1_A1 QWWW "\xc0\x0c\x00\x01\x00\x01\x00\x00"), REPLY_MALFORMED,
	     NULL},
	    {"wrong id, broken", RAW("\x43\x21\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00"),
	     REPLY_IGNORE, NULL},
	    {"good: the same packet with a plain owner",
	     RAW(HDR_Q1_A1 QWWW "\xc0\x0c" A_RR_TAIL), REPLY_FINAL, NULL},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct reply r;
		/* A copy of exactly len bytes, so ASan sees any over-read. */
		uint8_t *copy = malloc(cases[i].len ? cases[i].len : 1);

		assert_non_null(copy);
		memcpy(copy, cases[i].bytes, cases[i].len);
		dns_wire_reply(copy, cases[i].len, QID, "www.example.com", DNS_T_A,
		               "www.example.com", &r);
		bool follow = r.follow != NULL;
		free_reply(&r);
		free(copy);
		if (r.kind != cases[i].kind)
			testutil_fail(__FILE__, __LINE__, "%s: %s, want %s (\"%s\")",
			              cases[i].what, kind_name(r.kind),
			              kind_name(cases[i].kind), r.why);
		if (cases[i].kind == REPLY_MALFORMED)
			assert_substring(r.why, "malformed answer");
		if (cases[i].why != NULL)
			assert_substring(r.why, cases[i].why);
		assert_false(follow);
	}
}

/* A good reply cut short anywhere after its id is MALFORMED (never read
 * past len). */
static void
test_reply_every_cut(void **state)
{
	static const struct reply_case good = {
	    .type = DNS_T_MX,
	    .ask = "example.com",
	    .an = {RR("@", DNS_T_CNAME, 300, "mail.example.net"),
	           RR("mail.example.net", DNS_T_MX, 300, "10 mx.@"),
	           RR("mail.example.net", DNS_T_MX, 300, "20 mx2.example.net")},
	    .ns = {RR("example.net", DNS_T_SOA, 3600, SOA_300)},
	};
	struct pkt p;
	(void)state;

	build_reply(&good, &p);
	for (size_t len = 0; len <= p.len; len++) {
		uint8_t *copy =
		    malloc(len ? len : 1); /* exactly len: ASan sees over-reads */
		struct reply r;

		assert_non_null(copy);
		memcpy(copy, p.b, len);
		dns_wire_reply(copy, len, QID, "example.com", DNS_T_MX, "example.com",
		               &r);
		free_reply(&r);
		free(copy);
		if (len < 2)
			assert_int_equal(r.kind, REPLY_IGNORE);
		else if (len < p.len)
			assert_int_equal(r.kind, REPLY_MALFORMED);
		else
			assert_int_equal(r.kind, REPLY_FINAL);
	}
}

/* Any single corrupted byte: no crash, no leak, and an answer exactly
 * when the kind is FINAL. */
static void
test_reply_corrupted_bytes(void **state)
{
	static const struct reply_case good = {
	    .type = DNS_T_A,
	    .an = {RR("@", DNS_T_CNAME, 300, "a.example.net"),
	           RR("a.example.net", DNS_T_A, 300, "192.0.2.1"),
	           RR("a.example.net", DNS_T_A, 300, "192.0.2.2")},
	    .ns = {RR("example.net", DNS_T_SOA, 3600, "ns.@ host.@ 1 2 3 4 5")},
	};
	static const uint8_t values[] = {0x00, 0x01, 0x3f, 0x40, 0x80, 0xc0, 0xc1, 0xff};
	struct pkt p;
	(void)state;

	build_reply(&good, &p);
	for (size_t pos = 0; pos < p.len; pos++) {
		for (size_t v = 0; v < N_ELEMS(values); v++) {
			uint8_t *copy = malloc(p.len);
			struct reply r;

			assert_non_null(copy);
			memcpy(copy, p.b, p.len);
			copy[pos] = values[v];
			dns_wire_reply(copy, p.len, QID, "www.example.com", DNS_T_A,
			               "www.example.com", &r);
			bool answer = r.answer != NULL, follow = r.follow != NULL;
			free_reply(&r);
			free(copy);
			assert_true(r.kind >= REPLY_IGNORE && r.kind <= REPLY_FINAL);
			assert_int_equal(answer, r.kind == REPLY_FINAL);
			assert_int_equal(follow, r.kind == REPLY_FOLLOW);
		}
	}
}

/* The expected query packet: header, question, OPT with 1232. */
static void
expected_query(struct pkt *p, const char *name, uint16_t type, uint16_t id)
{
	put_header(p, id, F_RD, 1, 0, 0, 1);
	put_question(p, name, type, 1);
	put8(p, 0);     /* OPT owner: the root */
	put16(p, 41);   /* OPT */
	put16(p, 1232); /* UDP payload size */
	put32(p, 0);    /* extended rcode, version 0, no DO */
	put16(p, 0);    /* no options */
}

static void
test_query(void **state)
{
	static const struct {
		const char *name;
		uint16_t type, id;
		const char *wire_name; /* NULL: name */
	} cases[] = {
	    {"www.example.com", DNS_T_A, 0x1234, NULL},
	    {"example.com", DNS_T_MX, 0x0000, NULL},
	    {"example.com.", DNS_T_TXT, 0xffff, "example.com"},
	    {"2.0.0.127.zen.example", DNS_T_A, 0x8001, NULL},
	    {"1.2.0.192.in-addr.arpa", DNS_T_PTR, 0x00ff, NULL},
	    {"mx.example.net", DNS_T_AAAA, 0xff00, NULL},
	    {"_dmarc.example.org", 99, 7, NULL},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct pkt want;
		uint8_t *buf = NULL;
		size_t len = 0;
		struct reply r;

		expected_query(&want,
		               cases[i].wire_name ? cases[i].wire_name : cases[i].name,
		               cases[i].type, cases[i].id);
		assert_int_equal(
		    dns_wire_query(cases[i].name, cases[i].type, cases[i].id, &buf, &len),
		    0);
		assert_non_null(buf);
		if (len != want.len || memcmp(buf, want.b, len) != 0) {
			char hex[3 * sizeof(want.b) + 1];
			for (size_t k = 0; k < len && k < sizeof(want.b); k++)
				snprintf(hex + 3 * k, 4, "%02x ", buf[k]);
			testutil_fail(__FILE__, __LINE__, "%s: query %zu bytes: %s",
			              cases[i].name, len, len ? hex : "");
		}
		/* Our own query read as a reply: QR is clear. */
		dns_wire_reply(buf, len, cases[i].id, "x", DNS_T_A, "x", &r);
		assert_int_equal(r.kind, REPLY_MALFORMED);
		assert_substring(r.why, "not a query response");
		free(buf);
	}
}

static void
test_query_bad_name(void **state)
{
	char *label64 = testutil_repeat('a', 64);
	char *name = testutil_printf("%s.example", label64);
	uint8_t *buf = NULL;
	size_t len = 0;
	(void)state;

	assert_int_equal(dns_wire_query(name, DNS_T_A, 1, &buf, &len), -1);
	assert_null(buf);
	free(name);
	free(label64);
}

static void
test_name_normalise(void **state)
{
	char *l63 = testutil_repeat('a', 63), *l64 = testutil_repeat('b', 64);
	/* 4 labels of 63 plus 3 dots = 255; trimmed to 253 and 254 below. */
	char *n253 = testutil_printf("%s.%s.%s.%.61s", l63, l63, l63, l63);
	char *n254 = testutil_printf("%s.%s.%s.%.62s", l63, l63, l63, l63);
	char *n253dot = testutil_printf("%s.", n253);
	char *n254dot = testutil_printf("%s.", n254);
	char *lab63 = testutil_printf("%s.example", l63);
	char *lab64 = testutil_printf("%s.example", l64);
	const struct {
		const char *in;
		const char *out; /* NULL: rejected */
	} cases[] = {
	    {"example.com", "example.com"},
	    {"Example.COM", "example.com"},
	    {"WWW.EXAMPLE.COM.", "www.example.com"},
	    {"a", "a"},
	    {"a.", "a"},
	    {"_dmarc.Example.org", "_dmarc.example.org"},
	    {"xn--bcher-kva.example", "xn--bcher-kva.example"},
	    {"2.0.0.127.zen.example", "2.0.0.127.zen.example"},
	    {"*.example.com", "\\042.example.com"},
	    {n253, n253},
	    {n253dot, n253},
	    {lab63, lab63},
	    {"", NULL},
	    {".", NULL},
	    {"..", NULL},
	    {"example.com..", NULL},
	    {".example.com", NULL},
	    {"a..b", NULL},
	    {n254, NULL},
	    {n254dot, NULL},
	    {lab64, NULL},
	    {"exa mple.com", "exa\\032mple.com"},
	    {" example.com", "\\032example.com"},
	    {"example.com ", "example.com\\032"},
	    {"exa\\mple.com", "exa\\092mple.com"},
	    {"exa\\.mple.com", "exa\\092.mple.com"},
	    {"example.com\\.", "example.com\\092"},
	    {"exa\tmple.com", NULL},
	    {"exa\x01mple.com", NULL},
	    {"example.com\n", NULL},
	    {"exa\x7fmple.com", NULL},
	    {"caf\xc3\xa9.example", NULL},
	    {"\xff.example", NULL},
	    {"exa\"mple.com", "exa\\034mple.com"},
	    {"exa(mple).com", "exa\\040mple\\041.com"},
	    {"exa;mple.com", "exa\\059mple.com"},
	    /* Our text form is read back as it is written. */
	    {"exa\\032mple.com", "exa\\032mple.com"},
	    {"foo\\058bar\\047baz.example.com", "foo\\058bar\\047baz.example.com"},
	    {"\\065bc.example.com", "abc.example.com"},
	    {"a\\046b.example.com", NULL},
	    {"a\\000b.example.com", NULL},
	    {"a\\300b.example.com", "a\\092300b.example.com"},
	};
	(void)state;

	assert_int_equal(strlen(n253), 253);
	assert_int_equal(strlen(n254), 254);
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char buf[DNS_NAME_TEXT_MAX + 1];
		int rc = dns_name_normalise(cases[i].in, buf, sizeof(buf));

		if (cases[i].out == NULL && rc != -1)
			testutil_fail(__FILE__, __LINE__, "\"%s\" accepted as \"%s\"",
			              cases[i].in, buf);
		if (cases[i].out != NULL && rc != 0)
			testutil_fail(__FILE__, __LINE__, "\"%s\" rejected", cases[i].in);
		if (cases[i].out != NULL)
			assert_string_equal(buf, cases[i].out);
	}

	/* The buffer must hold the name and its NUL. */
	char small[12];
	assert_int_equal(dns_name_normalise("example.com", small, 11), -1);
	assert_int_equal(dns_name_normalise("example.com.", small, 12), 0);
	assert_string_equal(small, "example.com");

	free(l63);
	free(l64);
	free(n253);
	free(n254);
	free(n253dot);
	free(n254dot);
	free(lab63);
	free(lab64);
}

static void
test_answer_copy(void **state)
{
	struct dns_answer *a = dns_answer_new("example.com", DNS_T_MX, DNS_OK);
	struct dns_answer *c, *empty, *ce, *t;
	(void)state;

	a->cname = strdup("mail.example.net");
	a->ttl = 123;
	a->ms = 4.5;
	a->cached = true;
	a->nrr = 3;
	a->rr = calloc(3, sizeof(*a->rr));
	assert_non_null(a->rr);
	a->rr[0] = (struct dns_rr){
	    .type = DNS_T_MX, .ttl = 5, .pref = 10, .text = strdup("mx1.example.net")};
	a->rr[1] =
	    (struct dns_rr){.type = DNS_T_MX, .ttl = 6, .pref = 0, .text = strdup("")};
	a->rr[2] = (struct dns_rr){.type = DNS_T_A, .ttl = 7};
	assert_int_equal(ipaddr_parse("192.0.2.1", &a->rr[2].addr), 0);

	c = dns_answer_copy(a);
	assert_ptr_not_equal(c, a);
	assert_ptr_not_equal(c->qname, a->qname);
	assert_ptr_not_equal(c->cname, a->cname);
	assert_ptr_not_equal(c->rr, a->rr);
	assert_ptr_not_equal(c->rr[0].text, a->rr[0].text);
	dns_answer_free(a); /* the copy must not share anything with it */

	assert_int_equal(c->status, DNS_OK);
	assert_string_equal(c->qname, "example.com");
	assert_int_equal(c->qtype, DNS_T_MX);
	assert_string_equal(c->cname, "mail.example.net");
	assert_int_equal(c->ttl, 123);
	assert_true(c->cached);
	assert_true(c->ms == 4.5);
	assert_int_equal(c->nrr, 3);
	assert_int_equal(c->rr[0].pref, 10);
	assert_int_equal(c->rr[0].ttl, 5);
	assert_string_equal(c->rr[0].text, "mx1.example.net");
	assert_string_equal(c->rr[1].text, "");
	assert_null(c->rr[2].text);
	char buf[IPADDR_STRLEN];
	assert_string_equal(ipaddr_format(&c->rr[2].addr, buf, sizeof(buf)), "192.0.2.1");
	dns_answer_free(c);

	empty = dns_answer_new("nx.example.com", DNS_T_A, DNS_NXDOMAIN);
	empty->ttl = 300;
	ce = dns_answer_copy(empty);
	assert_int_equal(ce->status, DNS_NXDOMAIN);
	assert_null(ce->rr);
	assert_null(ce->cname);
	assert_int_equal(ce->nrr, 0);
	assert_int_equal(ce->ttl, 300);
	dns_answer_free(empty);
	dns_answer_free(ce);

	t = dns_answer_temp("x.example", DNS_T_TXT, "SERVFAIL from %s:%u", "127.0.0.1",
	                    53);
	c = dns_answer_copy(t);
	dns_answer_free(t);
	assert_int_equal(c->status, DNS_TEMP);
	assert_string_equal(c->reason, "SERVFAIL from 127.0.0.1:53");
	assert_string_equal(c->qname, "x.example");
	dns_answer_free(c);

	/* A reason longer than the field is cut, not overrun. */
	char *longer = testutil_repeat('r', 300);
	t = dns_answer_temp("x.example", DNS_T_A, "%s", longer);
	assert_int_equal(strlen(t->reason), sizeof(t->reason) - 1);
	dns_answer_free(t);
	free(longer);

	dns_answer_free(NULL);
}

/* A FINAL answer from dns_wire_reply copied and freed in either order. */
static void
test_answer_copy_of_reply(void **state)
{
	static const struct reply_case c = {
	    .type = DNS_T_TXT,
	    .an = {RR("@", DNS_T_CNAME, 300, "t.example.net"),
	           RR("t.example.net", DNS_T_TXT, 300, "one|two"),
	           RR("t.example.net", DNS_T_TXT, 100, "three")},
	};
	struct pkt p;
	struct reply r;
	struct dns_answer *copy;
	(void)state;

	build_reply(&c, &p);
	dns_wire_reply(p.b, p.len, QID, "www.example.com", DNS_T_TXT, "www.example.com",
	               &r);
	assert_int_equal(r.kind, REPLY_FINAL);
	copy = dns_answer_copy(r.answer);
	free_reply(&r);
	char *recs = records_text(copy);
	assert_string_equal(recs, "onetwo,three");
	assert_string_equal(copy->cname, "t.example.net");
	assert_int_equal(copy->ttl, 100);
	free(recs);
	dns_answer_free(copy);
}

static void
test_names(void **state)
{
	static const struct {
		uint16_t type;
		const char *name;
	} types[] = {
	    {DNS_T_A, "A"},     {DNS_T_NS, "NS"},     {DNS_T_CNAME, "CNAME"},
	    {DNS_T_SOA, "SOA"}, {DNS_T_PTR, "PTR"},   {DNS_T_MX, "MX"},
	    {DNS_T_TXT, "TXT"}, {DNS_T_AAAA, "AAAA"}, {99, "TYPE99"},
	    {0, "TYPE0"},       {65535, "TYPE65535"},
	};
	static const struct {
		enum dns_status s;
		const char *name;
	} statuses[] = {
	    {DNS_OK, "ok"},
	    {DNS_NXDOMAIN, "nxdomain"},
	    {DNS_NODATA, "nodata"},
	    {DNS_TEMP, "temp"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(types); i++) {
		char buf[16];
		assert_string_equal(dns_type_name(types[i].type, buf, sizeof(buf)),
		                    types[i].name);
	}
	for (size_t i = 0; i < N_ELEMS(statuses); i++)
		assert_string_equal(dns_status_name(statuses[i].s), statuses[i].name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply_answers),
	    cmocka_unit_test(test_reply_negative),
	    cmocka_unit_test(test_reply_cname),
	    cmocka_unit_test(test_reply_not_ours),
	    cmocka_unit_test(test_reply_rcode_and_flags),
	    cmocka_unit_test(test_reply_bad_record_data),
	    cmocka_unit_test(test_reply_rdata_too_long),
	    cmocka_unit_test(test_reply_broken_packets),
	    cmocka_unit_test(test_reply_every_cut),
	    cmocka_unit_test(test_reply_corrupted_bytes),
	    cmocka_unit_test(test_query),
	    cmocka_unit_test(test_query_bad_name),
	    cmocka_unit_test(test_name_normalise),
	    cmocka_unit_test(test_answer_copy),
	    cmocka_unit_test(test_answer_copy_of_reply),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
