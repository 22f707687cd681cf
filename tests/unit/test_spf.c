/*
 * test_spf: spf/. The record screen (valid records and the text libspf2
 * gets; invalid ones and their reasons), then whole evaluations through
 * the resolver's test seam: the guards spf.h promises (loopback clients
 * checked, ::ffff: as IPv4, lookup and void limits across includes,
 * loops, no exp= lookup, the deadline, identities refused before any
 * lookup), the term named as deciding, the prefetch (what it asks
 * ahead of the walk, never past the limits), and the Received-SPF
 * quoting.
 * Each group is a table.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "dns/resolver.h"
#include "lib/ipaddr.h"
#include "lib/strbuf.h"
#include "spf/record.h"
#include "spf/spf.h"
#include "tests/spf/zone.h"
#include "tests/unit/testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The text libspf2 gets for a client: 192.0.2.1 unless said otherwise;
 * nmech is the number of mechanisms it must find in it. */
static void
test_record_valid(void **state)
{
	static const struct {
		const char *record, *client, *text;
		size_t nmech;
	} cases[] = {
	    {"v=spf1", NULL, "v=spf1", 0},
	    {"V=SPF1 -ALL", NULL, "v=spf1 -all", 1},
	    {"v=spf1 a mx/24//64 -all", NULL, "v=spf1 +a +mx/24//64 -all", 3},
	    {"v=spf1 a:example.com/0 -all", NULL, "v=spf1 +a:example.com/32 -all", 2},
	    /* ip4 and ip6: only a term that matches, as the client itself. */
	    {"v=spf1 ip4:192.0.2.0/24 ~all", NULL, "v=spf1 +ip4:192.0.2.1 ~all", 2},
	    {"v=spf1 ip4:198.51.100.0/24 -ip4:192.0.2.1 ~all", NULL,
	     "v=spf1 -ip4:192.0.2.1 ~all", 2},
	    {"v=spf1 ip4:192.0.2.1/0", NULL, "v=spf1 +ip4:192.0.2.1", 1},
	    {"v=spf1 ip6:2001:db8::/0 ip4:192.0.2.1", NULL, "v=spf1 +ip4:192.0.2.1", 1},
	    {"v=spf1 ip6:2001:db8::/32 ip4:192.0.2.1", "2001:db8::25",
	     "v=spf1 +ip6:2001:db8::25", 1},
	    /* exp= and unknown modifiers never reach libspf2. */
	    {"v=spf1 -all exp=explain.%{d}", NULL, "v=spf1 -all", 1},
	    {"v=spf1 foo=%{c}bar -all", NULL, "v=spf1 -all", 1},
	    /* redirect= goes last, and away when there is an all. */
	    {"v=spf1 redirect=_spf.example.com a", NULL,
	     "v=spf1 +a redirect=_spf.example.com", 2},
	    {"v=spf1 redirect=example.com ~all", NULL, "v=spf1 ~all", 1},
	    /* Digit transformers: at most 128 labels. */
	    {"v=spf1 exists:%{d999r}.x.example.com", NULL,
	     "v=spf1 +exists:%{d128r}.x.example.com", 1},
	    {"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}", NULL,
	     "v=spf1 +exists:%{ir}.%{l1r+-}._spf.%{d}", 1},
	    {"v=spf1 a:example.com. -all", NULL, "v=spf1 +a:example.com. -all", 2},
	    {"v=spf1 include:%{d}%%%_%-.example.com", NULL,
	     "v=spf1 +include:%{d}%%%_%-.example.com", 1},
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct spf_record rec;
		struct ipaddr client;
		size_t nmech;
		char why[200] = "";
		if (spf_record_parse(cases[i].record, strlen(cases[i].record), &rec, why,
		                     sizeof(why)) != 0)
			testutil_fail(__FILE__, __LINE__, "\"%s\" refused: %s",
			              cases[i].record, why);
		assert_int_equal(
		    ipaddr_parse(cases[i].client ? cases[i].client : "192.0.2.1",
		                 &client),
		    0);
		char *text = spf_record_text(&rec, &client, &nmech);
		if (strcmp(text, cases[i].text) != 0 || nmech != cases[i].nmech)
			testutil_fail(__FILE__, __LINE__,
			              "\"%s\" gave \"%s\" (%zu), want \"%s\" (%zu)",
			              cases[i].record, text, nmech, cases[i].text,
			              cases[i].nmech);
		free(text);
		spf_record_free(&rec);
	}
}

static void
test_record_invalid(void **state)
{
	static const struct {
		const char *record, *why;
	} cases[] = {
	    {"v=spf10 -all", "not an SPF record"},
	    {"v=spf1 -all.", "unknown mechanism"},
	    {"v=spf1 -all:foo", "all takes no argument"},
	    {"v=spf1 a:foo", "top-level label"},
	    {"v=spf1 a:1.2.3.4", "valid top-level label"},
	    {"v=spf1 a:example.-com", "valid top-level label"},
	    {"v=spf1 a/33", "IPv4 CIDR"},
	    {"v=spf1 a//129", "IPv6 CIDR"},
	    {"v=spf1 a/024", "IPv4 CIDR"},
	    {"v=spf1 ip4:192.0.2.01", "bad address"},
	    {"v=spf1 ip4:192.0.2.1/33", "bad CIDR"},
	    {"v=spf1 ip6:2001:db8::zz", "bad address"},
	    {"v=spf1 include", "needs"},
	    {"v=spf1 exists:%{x}.example.com", "unknown macro letter"},
	    {"v=spf1 exists:%{c}.example.com", "only in explanation"},
	    {"v=spf1 exists:%{d0}.example.com", "zero labels"},
	    {"v=spf1 exists:%{d", "unterminated"},
	    {"v=spf1 exists:foo%", "at the end"},
	    {"v=spf1 exists:%x.example.com", "is not a macro"},
	    {"v=spf1 -redirect=example.com", "has a qualifier"},
	    {"v=spf1 redirect=a.example.com redirect=b.example.com", "twice"},
	    {"v=spf1 exp=a.example.com exp=b.example.com", "twice"},
	    {"v=spf1 foo:bar", "unknown mechanism"},
	    {"v=spf1 ip4:192.0.2.1\n-all", "byte 0x0a"},
	    {"v=spf1 a:ex\x7f"
	     "ample.com",
	     "byte 0x7f"},
	    {"v=spf1 a:\xc3\xa9.example.com", "byte 0xc3"},
	    {"v=spf1 1all", "unknown mechanism"},
	    {"v=spf1 exists:%{l1,}.example.com", "macro delimiter ','"},
	    {"v=spf1 exists:%{l/}.example.com", "macro delimiter '/'"},
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct spf_record rec;
		char why[200] = "";
		if (spf_record_parse(cases[i].record, strlen(cases[i].record), &rec, why,
		                     sizeof(why)) == 0) {
			spf_record_free(&rec);
			testutil_fail(__FILE__, __LINE__, "\"%s\" accepted",
			              cases[i].record);
		}
		if (strstr(why, cases[i].why) == NULL)
			testutil_fail(__FILE__, __LINE__,
			              "\"%s\": reason \"%s\", want \"%s\"",
			              cases[i].record, why, cases[i].why);
	}
}

static void
test_record_limits(void **state)
{
	char big[SPF_RECORD_MAX + 64];
	struct spf_record rec;
	char why[200];
	(void)state;

	/* 2048 bytes pass; one more byte does not. */
	strcpy(big, "v=spf1");
	while (strlen(big) + 17 <= SPF_RECORD_MAX)
		strcat(big, " ip4:192.0.2.1/32");
	while (strlen(big) < SPF_RECORD_MAX)
		strcat(big, " ");
	assert_int_equal(spf_record_parse(big, strlen(big), &rec, why, sizeof(why)), 0);
	spf_record_free(&rec);
	strcat(big, " ");
	assert_int_equal(spf_record_parse(big, strlen(big), &rec, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "record of 2049 bytes"));

	/* 128 terms pass, 129 do not. */
	strcpy(big, "v=spf1");
	for (int i = 0; i < 128; i++)
		strcat(big, " a");
	assert_int_equal(spf_record_parse(big, strlen(big), &rec, why, sizeof(why)), 0);
	spf_record_free(&rec);
	strcat(big, " a");
	assert_int_equal(spf_record_parse(big, strlen(big), &rec, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "more than 128 terms"));

	/* A term of 256 bytes. */
	strcpy(big, "v=spf1 exists:");
	size_t used = strlen(big);
	/* "exists:" + 245 letters + ".com" */
	memset(big + used, 'a', 245);
	strcpy(big + used + 245, ".com");
	assert_int_equal(spf_record_parse(big, strlen(big), &rec, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "a term of 256 bytes"));
}

static void
test_domain_ok(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
	    {"example.com", true},
	    {"example.com.", true},
	    {"_spf.example.com", true},
	    {"com", false},
	    {"", false},
	    {"a..example.com", false},
	    {".example.com", false},
	    {"[192.0.2.1]", false},
	    {"exa mple.com", false},
	    {"ex\xc3\xa9.com", false},
	    {"a123456789012345678901234567890123456789012345678901234567890123.com",
	     false},
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++)
		if (spf_domain_ok(cases[i].name) != cases[i].ok)
			testutil_fail(__FILE__, __LINE__, "\"%s\": want %s",
			              cases[i].name, cases[i].ok ? "ok" : "refused");
}

/* The zone of tests/spf/zone.h behind the seam, from "name TYPE value"
 * lines; it also counts TXT queries for "exp." names and may answer
 * slowly. */
struct seam {
	struct zone *z;
	unsigned asked_txt_exp;
	unsigned delay_ms;
	char asked[64][96]; /* "TYPE name" of each query, in order */
	unsigned nasked;
};

static struct dns_answer *
seam_answer(void *arg, const char *name, uint16_t type)
{
	struct seam *s = arg;

	if (s->delay_ms > 0) {
		struct timespec ts = {0, (long)s->delay_ms * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (type == DNS_T_TXT && strncmp(name, "exp.", 4) == 0)
		s->asked_txt_exp++;
	if (s->nasked < N_ELEMS(s->asked)) {
		char tn[16];
		snprintf(s->asked[s->nasked], sizeof(s->asked[0]), "%s %s",
		         dns_type_name(type, tn, sizeof(tn)), name);
	}
	s->nasked++;
	return zone_answer(s->z, name, type);
}

/* A resolver whose queries the lines answer; free s->z and it after. */
static struct dns_resolver *
seam_resolver(struct seam *s, const char *const *lines)
{
	struct dns_resolver *r = dns_resolver_new(NULL, 0, 1000);

	s->z = zone_new();
	for (const char *const *l = lines; *l != NULL; l++) {
		char n[256], t[16], why[200];
		int off = 0;
		if (sscanf(*l, "%255s %15s %n", n, t, &off) < 2 ||
		    zone_add(s->z, n, t, *l + off, strlen(*l + off), why, sizeof(why)) !=
		        0)
			testutil_fail(__FILE__, __LINE__, "zone line \"%s\"", *l);
	}
	dns_resolver_set_answerer(r, seam_answer, s);
	return r;
}

static const char *const zone_lines[] = {
    "example.com TXT v=spf1 ip4:192.0.2.0/24 include:inc.example.com -all",
    "inc.example.com TXT v=spf1 ip4:198.51.100.7 ~all",
    "redir.example.com TXT v=spf1 redirect=example.com",
    "lo.example.com TXT v=spf1 -all",
    "noexp.example.com TXT v=spf1 -all exp=exp.noexp.example.com",
    "exp.noexp.example.com TXT %{l1r+-}%{L}%{d999}",
    /* 11 lookup terms in a chain of includes, each one with ~all. */
    "deep.example.com TXT v=spf1 include:d1.example.com -all",
    "d1.example.com TXT v=spf1 include:d2.example.com ~all",
    "d2.example.com TXT v=spf1 include:d3.example.com ~all",
    "d3.example.com TXT v=spf1 include:d4.example.com ~all",
    "d4.example.com TXT v=spf1 include:d5.example.com ~all",
    "d5.example.com TXT v=spf1 include:d6.example.com ~all",
    "d6.example.com TXT v=spf1 include:d7.example.com ~all",
    "d7.example.com TXT v=spf1 include:d8.example.com ~all",
    "d8.example.com TXT v=spf1 include:d9.example.com ~all",
    "d9.example.com TXT v=spf1 a:x1.example.com a:x2.example.com ~all",
    "x1.example.com A 203.0.113.1",
    "x2.example.com A 203.0.113.2",
    /* Ten terms exactly: a pass. */
    "ten.example.com TXT v=spf1 include:d2.example.com ip4:192.0.2.9 -all",
    "loop1.example.com TXT v=spf1 include:loop2.example.com -all",
    "loop2.example.com TXT v=spf1 include:loop1.example.com -all",
    "void.example.com TXT v=spf1 a:v1.example.com a:v2.example.com a:v3.example.com -all",
    "void2.example.com TXT v=spf1 a:v1.example.com a:v2.example.com ip4:192.0.2.1 -all",
    "two.example.com TXT v=spf1 -all",
    "two.example.com TXT v=spf1 +all",
    "bad.example.com TXT v=spf1 a:%{q}.example.com -all",
    "slow.example.com TXT v=spf1 include:d1.example.com -all",
    "tmo.example.com TIMEOUT",
    "inctmo.example.com TXT v=spf1 include:tmo.example.com -all",
    "mx.example.com TXT v=spf1 mx -all",
    "mx.example.com MX 0 mail.mx.example.com",
    "mail.mx.example.com A 192.0.2.25",
    /* An include that fails on its first MX name leaves nine unused;
     * the a: terms of the same names after it are terms of their own. */
    "pend.example.com TXT v=spf1 include:pinc.example.com a:h2.example.com "
    "a:h3.example.com a:h4.example.com a:h5.example.com a:h6.example.com "
    "a:h7.example.com a:h8.example.com a:h9.example.com a:h10.example.com -all",
    "pinc.example.com TXT v=spf1 -mx",
    "pinc.example.com MX 0 h1.example.com",
    "pinc.example.com MX 0 h2.example.com",
    "pinc.example.com MX 0 h3.example.com",
    "pinc.example.com MX 0 h4.example.com",
    "pinc.example.com MX 0 h5.example.com",
    "pinc.example.com MX 0 h6.example.com",
    "pinc.example.com MX 0 h7.example.com",
    "pinc.example.com MX 0 h8.example.com",
    "pinc.example.com MX 0 h9.example.com",
    "pinc.example.com MX 0 h10.example.com",
    "h1.example.com A 203.0.113.50",
    "h2.example.com A 203.0.113.102",
    "h3.example.com A 203.0.113.103",
    "h4.example.com A 203.0.113.104",
    "h5.example.com A 203.0.113.105",
    "h6.example.com A 203.0.113.106",
    "h7.example.com A 203.0.113.107",
    "h8.example.com A 203.0.113.108",
    "h9.example.com A 203.0.113.109",
    "h10.example.com A 203.0.113.110",
    /* An include whose record redirects. */
    "ir.example.com TXT v=spf1 include:ira.example.com -all",
    "ira.example.com TXT v=spf1 redirect=irb.example.com",
    "irb.example.com TXT v=spf1 ip4:203.0.113.60 -all",
    /* A macro that makes an include target no name can be. */
    "badinc.example.com TXT v=spf1 include:%{l}.x.example.com -all",
    NULL,
};

static void
test_evaluate(void **state)
{
	static const struct {
		const char *client, *sender, *helo;
		enum spf_identity id;
		const char *result, *mechanism, *reason;
		unsigned lookups;
	} cases[] = {
	    {"192.0.2.1", "a@example.com", NULL, SPF_ID_MAILFROM, "pass",
	     "ip4:192.0.2.0/24", "", 0},
	    {"198.51.100.7", "a@example.com", NULL, SPF_ID_MAILFROM, "pass",
	     "include:inc.example.com", "", 1},
	    {"203.0.113.9", "a@example.com", NULL, SPF_ID_MAILFROM, "fail", "-all", "",
	     1},
	    {"198.51.100.7", "a@redir.example.com", NULL, SPF_ID_MAILFROM, "pass",
	     "include:inc.example.com", "", 2},
	    /* libspf2 alone passes every 127/8 client. */
	    {"127.0.0.1", "a@lo.example.com", NULL, SPF_ID_MAILFROM, "fail", "-all", "",
	     0},
	    {"::1", "a@lo.example.com", NULL, SPF_ID_MAILFROM, "fail", "-all", "", 0},
	    {"::ffff:192.0.2.1", "a@example.com", NULL, SPF_ID_MAILFROM, "pass",
	     "ip4:192.0.2.0/24", "", 0},
	    {"203.0.113.9", "a@noexp.example.com", NULL, SPF_ID_MAILFROM, "fail", "-all",
	     "", 0},
	    {"203.0.113.9", "a@deep.example.com", NULL, SPF_ID_MAILFROM, "permerror", "",
	     "more than 10 DNS lookup terms", 11},
	    {"192.0.2.9", "a@ten.example.com", NULL, SPF_ID_MAILFROM, "pass",
	     "ip4:192.0.2.9", "", 10},
	    {"203.0.113.9", "a@loop1.example.com", NULL, SPF_ID_MAILFROM, "permerror", "",
	     "more than 10 DNS lookup terms", 11},
	    {"203.0.113.9", "a@void.example.com", NULL, SPF_ID_MAILFROM, "permerror", "",
	     "more than 2 void DNS lookups", 3},
	    {"192.0.2.1", "a@void2.example.com", NULL, SPF_ID_MAILFROM, "pass",
	     "ip4:192.0.2.1", "", 2},
	    {"192.0.2.1", "a@two.example.com", NULL, SPF_ID_MAILFROM, "permerror", "",
	     "2 SPF records", 0},
	    {"192.0.2.1", "a@bad.example.com", NULL, SPF_ID_MAILFROM, "permerror", "",
	     "unknown macro letter", 0},
	    {"192.0.2.1", "a@nowhere.example.com", NULL, SPF_ID_MAILFROM, "none", "",
	     "no such domain", 0},
	    {"192.0.2.1", "a@tmo.example.com", NULL, SPF_ID_MAILFROM, "temperror", "",
	     "looking up TXT tmo.example.com", 0},
	    {"192.0.2.1", "a@inctmo.example.com", NULL, SPF_ID_MAILFROM, "temperror", "",
	     "looking up TXT tmo.example.com", 1},
	    {"192.0.2.25", "a@mx.example.com", NULL, SPF_ID_MAILFROM, "pass", "mx", "",
	     1},
	    {"203.0.113.50", "a@pend.example.com", NULL, SPF_ID_MAILFROM, "permerror", "",
	     "more than 10 DNS lookup terms", 11},
	    {"203.0.113.60", "a@ir.example.com", NULL, SPF_ID_MAILFROM, "pass",
	     "include:ira.example.com", "", 2},
	    {"203.0.113.60", "a.@badinc.example.com", NULL, SPF_ID_MAILFROM, "permerror",
	     "", "is not a domain", 1},
	    /* The null sender: postmaster@HELO. */
	    {"192.0.2.1", "", "example.com", SPF_ID_MAILFROM, "pass", "ip4:192.0.2.0/24",
	     "", 0},
	    {"192.0.2.1", "a@lo.example.com", "example.com", SPF_ID_HELO, "pass",
	     "ip4:192.0.2.0/24", "", 0},
	    /* Refused before any lookup. */
	    {"192.0.2.1", "", "localhost", SPF_ID_HELO, "none", "", "not a domain", 0},
	    {"192.0.2.1", "a@[192.0.2.1]", NULL, SPF_ID_MAILFROM, "none", "",
	     "not a domain", 0},
	    {"192.0.2.1", "\xc3\xa9@example.com", NULL, SPF_ID_MAILFROM, "none", "",
	     "local-part", 0},
	};
	struct seam z = {0};
	struct dns_resolver *r = seam_resolver(&z, zone_lines);
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct spf_request q = {.identity = cases[i].id,
		                        .sender = cases[i].sender,
		                        .helo = cases[i].helo,
		                        .receiver = "mx.example.org"};
		struct spf_outcome o;
		assert_int_equal(ipaddr_parse(cases[i].client, &q.client), 0);
		spf_check(r, &q, &o);
		if (strcmp(spf_result_name(o.result), cases[i].result) != 0 ||
		    strcmp(o.mechanism, cases[i].mechanism) != 0 ||
		    strstr(o.reason, cases[i].reason) == NULL ||
		    o.lookups != cases[i].lookups)
			testutil_fail(
			    __FILE__, __LINE__,
			    "case %zu (%s from %s): got %s \"%s\" \"%s\" lookups %u; "
			    "want %s \"%s\" \"%s\" lookups %u",
			    i, cases[i].sender, cases[i].client,
			    spf_result_name(o.result), o.mechanism, o.reason, o.lookups,
			    cases[i].result, cases[i].mechanism, cases[i].reason,
			    cases[i].lookups);
	}
	/* The path says how the mechanism was reached. */
	{
		struct spf_request q = {.identity = SPF_ID_MAILFROM,
		                        .sender = "a@redir.example.com"};
		struct spf_outcome o;
		ipaddr_parse("198.51.100.7", &q.client);
		spf_check(r, &q, &o);
		assert_string_equal(
		    o.path,
		    "redirect=example.com > include:inc.example.com > ip4:198.51.100.7");
		q.sender = "a@example.com";
		ipaddr_parse("192.0.2.1", &q.client);
		spf_check(r, &q, &o);
		assert_string_equal(o.path, "");
	}
	/* The explanation was never asked for. */
	assert_int_equal(z.asked_txt_exp, 0);
	dns_resolver_free(r);
	zone_free(z.z);
}

/* libspf2 keeps 511 bytes of compiled mechanisms and drops the rest
 * silently: a record of 120 ip4 terms must still end in its -all. */
static void
test_big_record(void **state)
{
	static const struct {
		const char *client, *result, *mechanism;
	} cases[] = {
	    {"203.0.113.1", "fail", "-all"},
	    {"192.0.0.1", "pass", "ip4:192.0.0.1"},
	    {"192.0.0.120", "pass", "ip4:192.0.0.120"},
	    {"2001:db8::1", "softfail", "~ip6:2001:db8::/32"},
	};
	static char line[4096];
	const char *const lines[] = {line, NULL};
	struct seam z = {0};
	(void)state;

	strcpy(line, "big.example.com TXT v=spf1");
	for (int i = 1; i <= 120; i++)
		sprintf(line + strlen(line), " ip4:192.0.0.%d", i);
	strcat(line, " ~ip6:2001:db8::/32 -all");
	struct dns_resolver *r = seam_resolver(&z, lines);
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct spf_request q = {.identity = SPF_ID_MAILFROM,
		                        .sender = "a@big.example.com"};
		struct spf_outcome o;
		ipaddr_parse(cases[i].client, &q.client);
		spf_check(r, &q, &o);
		if (strcmp(spf_result_name(o.result), cases[i].result) != 0 ||
		    strcmp(o.mechanism, cases[i].mechanism) != 0)
			testutil_fail(
			    __FILE__, __LINE__, "%s: got %s \"%s\" (%s), want %s \"%s\"",
			    cases[i].client, spf_result_name(o.result), o.mechanism,
			    o.reason, cases[i].result, cases[i].mechanism);
	}
	dns_resolver_free(r);
	zone_free(z.z);
}

static void
test_deadline(void **state)
{
	struct seam z = {.delay_ms = 20};
	struct dns_resolver *r = seam_resolver(&z, zone_lines);
	struct spf_request q = {.identity = SPF_ID_MAILFROM,
	                        .sender = "a@slow.example.com",
	                        .deadline_ms = 90};
	struct spf_outcome o;
	(void)state;

	ipaddr_parse("203.0.113.9", &q.client);
	spf_check(r, &q, &o);
	assert_string_equal(spf_result_name(o.result), "temperror");
	assert_non_null(strstr(o.reason, "deadline"));
	assert_true(o.queries <= 6);
	dns_resolver_free(r);
	zone_free(z.z);
}

/* The prefetch: what it asks ahead of the walk, and what it never asks. */
static const char *const prefetch_lines[] = {
    /* Every lookup needed: two includes, each with its own a and mx,
     * then mx, a and the client's ip4. */
    "pw.example.com TXT v=spf1 include:pa.example.com include:pb.example.com "
    "mx a ip4:198.51.100.20 -all",
    "pw.example.com A 192.0.2.1",
    "pw.example.com MX 10 mx1.pw.example.com",
    "pw.example.com MX 20 mx2.pw.example.com",
    "mx1.pw.example.com A 192.0.2.2",
    "mx2.pw.example.com A 192.0.2.3",
    "pa.example.com TXT v=spf1 a:outa.example.com mx:pa.example.com -all",
    "outa.example.com A 192.0.2.10",
    "pa.example.com MX 10 mx1.pa.example.com",
    "mx1.pa.example.com A 192.0.2.11",
    "pb.example.com TXT v=spf1 a:outb.example.com mx:pb.example.com -all",
    "outb.example.com A 192.0.2.20",
    "pb.example.com MX 10 mx1.pb.example.com",
    "mx1.pb.example.com A 192.0.2.21",
    /* The first term matches. */
    "pe.example.com TXT v=spf1 a include:pa.example.com include:pb.example.com "
    "mx -all",
    "pe.example.com A 198.51.100.20",
    "pe.example.com MX 10 mx1.pw.example.com",
    /* Twelve lookup terms in one record. */
    "pflat.example.com TXT v=spf1 a:f1.example.com a:f2.example.com "
    "a:f3.example.com a:f4.example.com a:f5.example.com a:f6.example.com "
    "a:f7.example.com a:f8.example.com a:f9.example.com a:f10.example.com "
    "a:f11.example.com a:f12.example.com -all",
    /* The eleventh term after an include of nine: counted in evaluation
     * order, across records. */
    "ptree.example.com TXT v=spf1 include:pt1.example.com a:f12.example.com -all",
    "pt1.example.com TXT v=spf1 a:f1.example.com a:f2.example.com "
    "a:f3.example.com a:f4.example.com a:f5.example.com a:f6.example.com "
    "a:f7.example.com a:f8.example.com a:f9.example.com ~all",
    "f1.example.com A 192.0.2.101",
    "f2.example.com A 192.0.2.102",
    "f3.example.com A 192.0.2.103",
    "f4.example.com A 192.0.2.104",
    "f5.example.com A 192.0.2.105",
    "f6.example.com A 192.0.2.106",
    "f7.example.com A 192.0.2.107",
    "f8.example.com A 192.0.2.108",
    "f9.example.com A 192.0.2.109",
    "f10.example.com A 192.0.2.110",
    "f11.example.com A 192.0.2.111",
    "f12.example.com A 192.0.2.112",
    /* Twelve MX names: ten looked at, then a permerror. */
    "pmx.example.com TXT v=spf1 mx -all",
    "pmx.example.com MX 1 f1.example.com",
    "pmx.example.com MX 2 f2.example.com",
    "pmx.example.com MX 3 f3.example.com",
    "pmx.example.com MX 4 f4.example.com",
    "pmx.example.com MX 5 f5.example.com",
    "pmx.example.com MX 6 f6.example.com",
    "pmx.example.com MX 7 f7.example.com",
    "pmx.example.com MX 8 f8.example.com",
    "pmx.example.com MX 9 f9.example.com",
    "pmx.example.com MX 10 f10.example.com",
    "pmx.example.com MX 11 f11.example.com",
    "pmx.example.com MX 12 f12.example.com",
    /* A lookup that fails during the prefetch. */
    "tmo.example.com TIMEOUT",
    "pok.example.com TXT v=spf1 a:f1.example.com include:tmo.example.com -all",
    "ptmo.example.com TXT v=spf1 include:tmo.example.com a:f1.example.com -all",
    /* Never asked ahead: ptr, exists, macros, and what follows a macro. */
    "pmac.example.com TXT v=spf1 ptr a:%{d} exists:f3.example.com -all",
    "pmac.example.com A 192.0.2.200",
    NULL,
};

static bool
was_asked(const struct seam *z, const char *what)
{
	for (unsigned i = 0; i < z->nasked && i < N_ELEMS(z->asked); i++)
		if (strcmp(z->asked[i], what) == 0)
			return true;
	return false;
}

static void
test_prefetch(void **state)
{
	static const struct {
		const char *client, *sender, *result, *mechanism;
		unsigned asked;      /* queries that reached the seam */
		unsigned prefetched; /* of them, sent by the prefetch */
		const char *never;   /* queries never sent, ";" between */
	} cases[] = {
	    /* The walk's 13 lookups, all but the top record's asked ahead. */
	    {"198.51.100.20", "a@pw.example.com", "pass", "ip4:198.51.100.20", 13, 12,
	     NULL},
	    {"198.51.100.99", "a@pw.example.com", "fail", "-all", 13, 12, NULL},
	    /* The first level, up to the first include (how many terms its
	     * record holds is not known yet): nothing deeper. */
	    {"198.51.100.20", "a@pe.example.com", "pass", "a", 3, 2,
	     "A outa.example.com;TXT pb.example.com;MX pe.example.com"},
	    /* Ten terms asked, as the walk would; never the eleventh. */
	    {"203.0.113.9", "a@pflat.example.com", "permerror", "", 11, 10,
	     "A f11.example.com;A f12.example.com"},
	    {"203.0.113.9", "a@ptree.example.com", "permerror", "", 11, 10,
	     "A f12.example.com"},
	    {"203.0.113.9", "a@pmx.example.com", "permerror", "", 12, 11,
	     "A f11.example.com;A f12.example.com"},
	    /* A failure ahead decides nothing: the walk asks again if it
	     * needs the answer. */
	    {"192.0.2.101", "a@pok.example.com", "pass", "a:f1.example.com", 3, 2, NULL},
	    {"192.0.2.101", "a@ptmo.example.com", "temperror", "", 3, 1, NULL},
	    {"192.0.2.102", "a@pmac.example.com", "pass", "exists:f3.example.com", 4, 0,
	     NULL},
	};
	struct seam z = {0};
	struct dns_resolver *r = seam_resolver(&z, prefetch_lines);
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct spf_request q = {.identity = SPF_ID_MAILFROM,
		                        .sender = cases[i].sender};
		struct spf_outcome o;
		assert_int_equal(ipaddr_parse(cases[i].client, &q.client), 0);
		z.nasked = 0;
		spf_check(r, &q, &o);
		if (strcmp(spf_result_name(o.result), cases[i].result) != 0 ||
		    strcmp(o.mechanism, cases[i].mechanism) != 0 ||
		    z.nasked != cases[i].asked || o.prefetched != cases[i].prefetched)
			testutil_fail(__FILE__, __LINE__,
			              "case %zu (%s from %s): got %s \"%s\" (%s), %u "
			              "asked, %u ahead; want %s \"%s\", %u, %u",
			              i, cases[i].sender, cases[i].client,
			              spf_result_name(o.result), o.mechanism, o.reason,
			              z.nasked, o.prefetched, cases[i].result,
			              cases[i].mechanism, cases[i].asked,
			              cases[i].prefetched);
		for (const char *n = cases[i].never; n != NULL && *n != '\0';) {
			size_t len = strcspn(n, ";");
			char what[96];
			snprintf(what, sizeof(what), "%.*s", (int)len, n);
			if (was_asked(&z, what))
				testutil_fail(__FILE__, __LINE__, "case %zu: asked %s", i,
				              what);
			n += len + (n[len] == ';');
		}
	}
	dns_resolver_free(r);
	zone_free(z.z);
}

static void
test_received_spf(void **state)
{
	static const struct {
		const char *client, *sender, *helo;
		enum spf_identity id;
		enum spf_result result;
		const char *mechanism, *reason, *want;
	} cases[] = {
	    {"192.0.2.1", "alice@example.com", "mail.example.com", SPF_ID_MAILFROM,
	     SPF_R_PASS, "ip4:192.0.2.0/24", "",
	     "pass (mx.example.org: domain of alice@example.com designates 192.0.2.1 as "
	     "permitted "
	     "sender)\n\tclient-ip=192.0.2.1;\n\tenvelope-from=\"alice@example.com\";"
	     "\n\thelo=mail.example.com;\n\treceiver=mx.example.org;\n\tidentity="
	     "mailfrom;"
	     "\n\tmechanism=\"ip4:192.0.2.0/24\""},
	    {"2001:db8::1", "\"odd (name)\"@example.com", "[2001:db8::1]",
	     SPF_ID_MAILFROM, SPF_R_PERMERROR, "",
	     "invalid SPF record at example.com: \"x\"",
	     "permerror (mx.example.org: permanent error in processing domain of "
	     "\"odd \\(name\\)\"@example.com)\n\tclient-ip=\"2001:db8::1\";"
	     "\n\tenvelope-from=\"\\\"odd "
	     "(name)\\\"@example.com\";\n\thelo=\"[2001:db8::1]\";"
	     "\n\treceiver=mx.example.org;\n\tidentity=mailfrom;"
	     "\n\tproblem=\"invalid SPF record at example.com: \\\"x\\\"\""},
	    {"192.0.2.1", NULL, "mail.example.com", SPF_ID_HELO, SPF_R_NEUTRAL, "default",
	     "",
	     "neutral (mx.example.org: 192.0.2.1 is neither permitted nor denied by "
	     "domain of "
	     "mail.example.com)\n\tclient-ip=192.0.2.1;\n\thelo=mail.example.com;"
	     "\n\treceiver=mx.example.org;\n\tidentity=helo;\n\tmechanism=default"},
	    {"192.0.2.1", NULL, "mail.example.com", SPF_ID_HELO, SPF_R_NONE, "", "",
	     "none (mx.example.org: domain of mail.example.com does not designate "
	     "permitted "
	     "sender hosts)\n\tclient-ip=192.0.2.1;\n\thelo=mail.example.com;"
	     "\n\treceiver=mx.example.org;\n\tidentity=helo"},
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct spf_request q = {.identity = cases[i].id,
		                        .sender = cases[i].sender,
		                        .helo = cases[i].helo,
		                        .receiver = "mx.example.org"};
		struct spf_outcome o = {.result = cases[i].result};
		ipaddr_parse(cases[i].client, &q.client);
		if (cases[i].id == SPF_ID_HELO) {
			snprintf(o.domain, sizeof(o.domain), "%s", cases[i].helo);
		} else {
			snprintf(o.sender, sizeof(o.sender), "%s", cases[i].sender);
			snprintf(o.domain, sizeof(o.domain), "example.com");
		}
		snprintf(o.mechanism, sizeof(o.mechanism), "%s", cases[i].mechanism);
		snprintf(o.reason, sizeof(o.reason), "%s", cases[i].reason);
		char *v = spf_received_spf(&q, &o);
		if (strcmp(v, cases[i].want) != 0)
			testutil_fail(__FILE__, __LINE__, "case %zu:\n got %s\nwant %s",
			              i, v, cases[i].want);
		free(v);
	}
}

/* Header parameter values (lib/strbuf), as Received-SPF and the
 * Authentication-Results methods write them. */
static void
test_header_value(void **state)
{
	static const struct {
		const char *in;
		bool address;
		const char *out;
	} cases[] = {
	    {"mail.example.com", false, "mail.example.com"},
	    {"alice@example.com", false, "\"alice@example.com\""},
	    {"alice@example.com", true, "alice@example.com"},
	    {"a.b+tag@example.com", true, "a.b+tag@example.com"},
	    {"a..b@example.com", true, "\"a..b@example.com\""},
	    {"postmaster@a@b", true, "\"postmaster@a@b\""},
	    {"@example.com", true, "\"@example.com\""},
	    {"example.com.", false, "\"example.com.\""},
	    {"2001:db8::1", false, "\"2001:db8::1\""},
	    {"\"odd\\name\"@x", true, "\"\\\"odd\\\\name\\\"@x\""},
	    {"", false, "\"\""},
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct strbuf b = {0};
		strbuf_value(&b, cases[i].in, cases[i].address);
		if (strcmp(b.s, cases[i].out) != 0)
			testutil_fail(__FILE__, __LINE__, "%s: got %s, want %s",
			              cases[i].in, b.s, cases[i].out);
		free(b.s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_valid),  cmocka_unit_test(test_record_invalid),
	    cmocka_unit_test(test_record_limits), cmocka_unit_test(test_domain_ok),
	    cmocka_unit_test(test_evaluate),      cmocka_unit_test(test_big_record),
	    cmocka_unit_test(test_deadline),      cmocka_unit_test(test_prefetch),
	    cmocka_unit_test(test_received_spf),  cmocka_unit_test(test_header_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
