/*
 * test_dnsbl: dns/dnsbl. Postfix filters (sets, ranges, every malformed
 * shape and its message), list items with filters and weights, lists of
 * them, reversed-address and name query names at their length limits,
 * and the classification of hand-built answers: listed, outside the
 * filter, 127.255.255.0/24 and answers outside 127.0.0.0/8, TEMP. Each
 * group of cases is a table.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>

#include "dns/dnsbl.h"
#include "lib/ipaddr.h"
#include "tests/unit/testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct ipaddr
addr(const char *text)
{
	struct ipaddr ip;

	if (ipaddr_parse(text, &ip) != 0)
		testutil_fail(__FILE__, __LINE__, "\"%s\" is not an address", text);
	return ip;
}

static void
test_filter_match(void **state)
{
	static const struct {
		const char *filter, *addr;
		bool match;
	} cases[] = {
	    {"127.0.0.2", "127.0.0.2", true},
	    {"127.0.0.2", "127.0.0.3", false},
	    {"127.0.0.2", "127.0.1.2", false},
	    {"127.0.0.2", "128.0.0.2", false},
	    {"127.0.0.2", "::ffff:127.0.0.2", true},
	    {"127.0.0.[2..11]", "127.0.0.2", true},
	    {"127.0.0.[2..11]", "127.0.0.11", true},
	    {"127.0.0.[2..11]", "127.0.0.7", true},
	    {"127.0.0.[2..11]", "127.0.0.1", false},
	    {"127.0.0.[2..11]", "127.0.0.12", false},
	    {"127.0.[0;1].[2;4..6]", "127.0.0.2", true},
	    {"127.0.[0;1].[2;4..6]", "127.0.1.4", true},
	    {"127.0.[0;1].[2;4..6]", "127.0.1.6", true},
	    {"127.0.[0;1].[2;4..6]", "127.0.0.3", false},
	    {"127.0.[0;1].[2;4..6]", "127.0.0.7", false},
	    {"127.0.[0;1].[2;4..6]", "127.0.2.4", false},
	    {"127.0.0.[8..15]", "127.0.0.7", false},
	    {"127.0.0.[8..15]", "127.0.0.8", true},
	    {"127.0.0.[8..15]", "127.0.0.15", true},
	    {"127.0.0.[8..15]", "127.0.0.16", false},
	    {"127.0.0.[7..7]", "127.0.0.7", true},
	    {"127.0.0.[7..7]", "127.0.0.6", false},
	    {"127.0.0.[1;1;3]", "127.0.0.3", true},
	    {"127.0.0.[1;1;3]", "127.0.0.2", false},
	    {"127.0.0.[0..255]", "127.0.0.0", true},
	    {"127.0.0.[0..255]", "127.0.0.255", true},
	    {"127.0.0.[0..255]", "127.0.1.0", false},
	    {"127.0.0.002", "127.0.0.2", true},
	    {"[0..255].[0..255].[0..255].[0..255]", "0.0.0.0", true},
	    {"[0..255].[0..255].[0..255].[0..255]", "255.255.255.255", true},
	    {"[0..255].[0..255].[0..255].[0..255]", "::1", false},
	    {"[0..255].[0..255].[0..255].[0..255]", "2001:db8::1", false},
	    {"0.0.0.0", "0.0.0.0", true},
	    {"0.0.0.0", "::", false},
	    {"255.255.255.255", "255.255.255.255", true},
	    {"255.255.255.255", "255.255.255.254", false},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dnsbl_filter f;
		struct ipaddr ip = addr(cases[i].addr);
		char *error = NULL;

		if (dnsbl_filter_parse(cases[i].filter, &f, &error) != 0)
			testutil_fail(__FILE__, __LINE__, "%s", error);
		if (dnsbl_filter_match(&f, &ip) != cases[i].match)
			testutil_fail(__FILE__, __LINE__, "%s in %s should be %d",
			              cases[i].addr, cases[i].filter, cases[i].match);
	}
}

static void
test_filter_match_no_address(void **state)
{
	struct dnsbl_filter f;
	struct ipaddr none = {0};
	char *error = NULL;

	(void)state;
	assert_int_equal(
	    dnsbl_filter_parse("[0..255].[0..255].[0..255].[0..255]", &f, &error), 0);
	assert_false(dnsbl_filter_match(&f, &none));
}

static void
test_filter_parse_bad(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"127.0.0", "bad filter \"127.0.0\": need four octets"},
	    {"127", "bad filter \"127\": need four octets"},
	    {"127.0.0.1.5", "bad filter \"127.0.0.1.5\": need four octets"},
	    {"127.0.0.1.", "bad filter \"127.0.0.1.\": need four octets"},
	    {"", "bad filter \"\": empty filter"},
	    {"127.0.0.[5..2]",
	     "bad filter \"127.0.0.[5..2]\": octet 4: range 5..2 goes backwards"},
	    {"127.0.[9..8].1",
	     "bad filter \"127.0.[9..8].1\": octet 3: range 9..8 goes backwards"},
	    {"127.0.0.[",
	     "bad filter \"127.0.0.[\": octet 4: a number is missing at the end"},
	    {"127.0.0.",
	     "bad filter \"127.0.0.\": octet 4: a number is missing at the end"},
	    {"127.0.0.[2", "bad filter \"127.0.0.[2\": octet 4: missing ']'"},
	    {"127.0.0.[2..5", "bad filter \"127.0.0.[2..5\": octet 4: missing ']'"},
	    {"127.0.0.[2..]",
	     "bad filter \"127.0.0.[2..]\": octet 4: a number is expected at \"]\""},
	    {"127.0.0.[]",
	     "bad filter \"127.0.0.[]\": octet 4: a number is expected at \"]\""},
	    {"127.0.0.[1;]",
	     "bad filter \"127.0.0.[1;]\": octet 4: a number is expected at \"]\""},
	    {"127.0.0.[;1]",
	     "bad filter \"127.0.0.[;1]\": octet 4: a number is expected at \";1]\""},
	    {"127.0.0.[1,2]",
	     "bad filter \"127.0.0.[1,2]\": octet 4: ';' or ']' expected at \",2]\""},
	    {"127.0.0.[1..2..3]", "bad filter \"127.0.0.[1..2..3]\": octet 4: ';' or ']' "
	                          "expected at \"..3]\""},
	    {"127.0.0.[1.2]",
	     "bad filter \"127.0.0.[1.2]\": octet 4: ';' or ']' expected at \".2]\""},
	    {"127.0.0.[[1]]",
	     "bad filter \"127.0.0.[[1]]\": octet 4: a number is expected at \"[1]]\""},
	    {"127.0.0.256", "bad filter \"127.0.0.256\": octet 4: 256 is over 255"},
	    {"256.0.0.1", "bad filter \"256.0.0.1\": octet 1: 256 is over 255"},
	    {"127.0.0.[1..256]",
	     "bad filter \"127.0.0.[1..256]\": octet 4: 256 is over 255"},
	    {"127.0.0.99999999999999999999",
	     "bad filter \"127.0.0.99999999999999999999\": octet 4: 9999999999 is over "
	     "255"},
	    {"127.0.0.x",
	     "bad filter \"127.0.0.x\": octet 4: a number is expected at \"x\""},
	    {"127.0.0.-1",
	     "bad filter \"127.0.0.-1\": octet 4: a number is expected at \"-1\""},
	    {"127..0.1",
	     "bad filter \"127..0.1\": octet 2: a number is expected at \".0.1\""},
	    {".127.0.0",
	     "bad filter \".127.0.0\": octet 1: a number is expected at \".127.0.0\""},
	    {"127.0.0.1x", "bad filter \"127.0.0.1x\": octet 4: \"x\" after the number"},
	    {"127.0.0.1 ", "bad filter \"127.0.0.1 \": octet 4: \" \" after the number"},
	    {" 127.0.0.1", "bad filter \" 127.0.0.1\": octet 1: a number is expected at "
	                   "\" 127.0.0.1\""},
	    {"127.0x0.0.1",
	     "bad filter \"127.0x0.0.1\": octet 2: \"x0.0.1\" after the number"},
	    {"127.0.0.[2]x",
	     "bad filter \"127.0.0.[2]x\": octet 4: \"x\" after the number"},
	    {"127.0.0.\xff",
	     "bad filter \"127.0.0.?\": octet 4: a number is expected at \"?\""},
	    {"127.0.0.\x01",
	     "bad filter \"127.0.0.?\": octet 4: a number is expected at \"?\""},
	    {"127.0.0.2\n", "bad filter \"127.0.0.2?\": octet 4: \"?\" after the number"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dnsbl_filter f;
		char *error = NULL;

		memset(&f, 0xff, sizeof(f));
		if (dnsbl_filter_parse(cases[i].text, &f, &error) != -1)
			testutil_fail(__FILE__, __LINE__, "\"%s\" parsed", cases[i].text);
		assert_non_null(error);
		assert_string_equal(error, cases[i].error);
		for (size_t j = 0; j < sizeof(f.bits); j++)
			assert_int_equal(((unsigned char *)f.bits)[j], 0);
		free(error);
	}
}

static void
test_filter_parse_huge(void **state)
{
	char *huge = testutil_repeat('1', 10 * 1024);
	struct dnsbl_filter f;
	char *error = NULL;

	(void)state;
	assert_int_equal(dnsbl_filter_parse(huge, &f, &error), -1);
	assert_true(strlen(error) < 200);
	assert_substring(error, "...\": octet 1: 1111111111 is over 255");
	assert_int_equal(strncmp(error, "bad filter \"1111", 16), 0);
	free(error);
	free(huge);
}

static void
test_site_parse_good(void **state)
{
	static const struct {
		const char *text;
		bool with_weight;
		const char *domain;
		bool has_filter;
		int weight;
		const char *probe; /* an address to try against the filter */
		bool probe_match;
	} cases[] = {
	    {"zen.example", false, "zen.example", false, 1, NULL, false},
	    {"zen.example", true, "zen.example", false, 1, NULL, false},
	    {"ZEN.Example.", false, "zen.example", false, 1, NULL, false},
	    {"localhost", false, "localhost", false, 1, NULL, false},
	    {"a_b-c.9x.example", false, "a_b-c.9x.example", false, 1, NULL, false},
	    {"zen.example=127.0.0.[2..11]", false, "zen.example", true, 1, "127.0.0.4",
	     true},
	    {"zen.example=127.0.0.[2..11]", false, "zen.example", true, 1, "127.0.0.1",
	     false},
	    {"zen.example.=127.0.0.2", false, "zen.example", true, 1, "127.0.0.2", true},
	    {"list.dnswl.test=127.0.[0..255].[1..3]*-5", true, "list.dnswl.test", true,
	     -5, "127.0.9.3", true},
	    {"list.dnswl.test=127.0.[0..255].[1..3]*-5", true, "list.dnswl.test", true,
	     -5, "127.0.9.4", false},
	    {"bl.example*3", true, "bl.example", false, 3, NULL, false},
	    {"bl.example*0", true, "bl.example", false, 0, NULL, false},
	    {"bl.example*-0", true, "bl.example", false, 0, NULL, false},
	    {"bl.example*007", true, "bl.example", false, 7, NULL, false},
	    {"bl.example*1000000", true, "bl.example", false, 1000000, NULL, false},
	    {"bl.example*-1000000", true, "bl.example", false, -1000000, NULL, false},
	    {"BL.example=127.0.0.2*2", true, "bl.example", true, 2, "127.0.0.2", true},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dnsbl_site s;
		char *error = NULL;

		if (dnsbl_site_parse(cases[i].text, cases[i].with_weight, &s, &error) !=
		    0)
			testutil_fail(__FILE__, __LINE__, "%s", error);
		assert_string_equal(s.domain, cases[i].domain);
		assert_string_equal(s.text, cases[i].text);
		assert_int_equal(s.has_filter, cases[i].has_filter);
		assert_int_equal(s.weight, cases[i].weight);
		if (cases[i].probe != NULL) {
			struct ipaddr ip = addr(cases[i].probe);

			if (dnsbl_filter_match(&s.filter, &ip) != cases[i].probe_match)
				testutil_fail(__FILE__, __LINE__, "%s in %s should be %d",
				              cases[i].probe, cases[i].text,
				              cases[i].probe_match);
		}
		dnsbl_site_free(&s);
		assert_null(s.domain);
		assert_null(s.text);
		dnsbl_site_free(&s);
	}
	dnsbl_site_free(NULL);
}

static void
test_site_parse_bad(void **state)
{
	static const struct {
		const char *text;
		bool with_weight;
		const char *error;
	} cases[] = {
	    {"bl.example*2", false,
	     "bad DNS list \"bl.example*2\": a weight is not allowed here"},
	    {"bl.example*x", true,
	     "bad DNS list \"bl.example*x\": weight is not a number"},
	    {"bl.example*", true, "bad DNS list \"bl.example*\": weight is not a number"},
	    {"bl.example*-", true,
	     "bad DNS list \"bl.example*-\": weight is not a number"},
	    {"bl.example*+5", true,
	     "bad DNS list \"bl.example*+5\": weight is not a number"},
	    {"bl.example*5x", true,
	     "bad DNS list \"bl.example*5x\": weight is not a number"},
	    {"bl.example* 5", true,
	     "bad DNS list \"bl.example* 5\": weight is not a number"},
	    {"bl.example*2*3", true,
	     "bad DNS list \"bl.example*2*3\": weight is not a number"},
	    {"bl.example*5=127.0.0.2", true,
	     "bad DNS list \"bl.example*5=127.0.0.2\": weight is not a number"},
	    {"bl.example*99999999999", true,
	     "bad DNS list \"bl.example*99999999999\": weight out of range"},
	    {"bl.example*-99999999999", true,
	     "bad DNS list \"bl.example*-99999999999\": weight out of range"},
	    {"bl.example*1000001", true,
	     "bad DNS list \"bl.example*1000001\": weight out of range"},
	    {"bl.example=127.0.0", false,
	     "bad DNS list \"bl.example=127.0.0\": bad filter \"127.0.0\": need four "
	     "octets"},
	    {"bl.example=127.0.0.[5..2]*2", true,
	     "bad DNS list \"bl.example=127.0.0.[5..2]*2\": bad filter "
	     "\"127.0.0.[5..2]\": octet 4: range 5..2 goes backwards"},
	    {"bl.example=", false,
	     "bad DNS list \"bl.example=\": bad filter \"\": empty filter"},
	    {"bl.example=127.0.0.2=127.0.0.3", false,
	     "bad DNS list \"bl.example=127.0.0.2=127.0.0.3\": bad filter "
	     "\"127.0.0.2=127.0.0.3\": octet 4: \"=127.0.0.3\" after the number"},
	    {"", false, "bad DNS list \"\": empty domain"},
	    {".", false, "bad DNS list \".\": empty domain"},
	    {"=127.0.0.2", false, "bad DNS list \"=127.0.0.2\": empty domain"},
	    {"*5", true, "bad DNS list \"*5\": empty domain"},
	    {"bl..example", false, "bad DNS list \"bl..example\": empty label in domain"},
	    {".bl.example", false, "bad DNS list \".bl.example\": empty label in domain"},
	    {"bl.example..", false,
	     "bad DNS list \"bl.example..\": empty label in domain"},
	    {"bl example", false, "bad DNS list \"bl example\": bad character in domain"},
	    {"bl/example", false, "bad DNS list \"bl/example\": bad character in domain"},
	    {"bl.ex\xc3\xa9mple", false,
	     "bad DNS list \"bl.ex??mple\": bad character in domain"},
	    {"bl.ex\tample", false,
	     "bad DNS list \"bl.ex?ample\": bad character in domain"},
	    {"bl.example\x7f", false,
	     "bad DNS list \"bl.example?\": bad character in domain"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dnsbl_site s;
		char *error = NULL;

		memset(&s, 0xff, sizeof(s));
		if (dnsbl_site_parse(cases[i].text, cases[i].with_weight, &s, &error) !=
		    -1)
			testutil_fail(__FILE__, __LINE__, "\"%s\" parsed", cases[i].text);
		assert_non_null(error);
		assert_string_equal(error, cases[i].error);
		assert_null(s.domain);
		assert_null(s.text);
		dnsbl_site_free(&s);
		free(error);
	}
}

static void
test_site_parse_lengths(void **state)
{
	static const struct {
		size_t label, total;
		const char *why; /* NULL: parses */
	} cases[] = {
	    {63, 63, NULL},                         /* one full label */
	    {64, 64, "domain label over 63 bytes"}, /* a label of 64 bytes */
	    {63, 253, NULL},                        /* the longest name */
	    {63, 254, "domain over 253 bytes"},     /* one byte too many */
	    {1, 253, NULL},                         /* 127 labels of one byte */
	    {63, 4000, "domain over 253 bytes"},    /* far too long */
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *name = testutil_name(cases[i].label, cases[i].total);
		char *dotted = testutil_printf("%s.", name);
		struct dnsbl_site s;
		char *error = NULL;
		int rc = dnsbl_site_parse(name, false, &s, &error);

		if (cases[i].why == NULL) {
			if (rc != 0)
				testutil_fail(__FILE__, __LINE__, "%s", error);
			assert_string_equal(s.domain, name);
			dnsbl_site_free(&s);
			/* A final dot is not counted. */
			assert_int_equal(dnsbl_site_parse(dotted, false, &s, &error), 0);
			assert_string_equal(s.domain, name);
			dnsbl_site_free(&s);
		} else {
			assert_int_equal(rc, -1);
			assert_substring(error, cases[i].why);
			assert_true(strlen(error) < 200);
			free(error);
		}
		free(name);
		free(dotted);
	}
}

static void
test_sites_parse(void **state)
{
	static const struct {
		const char *domain;
		bool has_filter;
		int weight;
	} want[] = {
	    {"zen.example", false, 1},
	    {"bl.example", true, 3},
	    {"list.dnswl.test", true, -5},
	    {"last.example", false, 1},
	};
	static const char text[] = " zen.example, bl.example=127.0.0.2*3\t,,"
	                           "list.dnswl.test=127.0.[0..255].[1..3]*-5\n\r "
	                           "last.example,";
	struct dnsbl_site *v = NULL;
	size_t n = 99;
	char *error = NULL;

	(void)state;
	if (dnsbl_sites_parse(text, &v, &n, &error) != 0)
		testutil_fail(__FILE__, __LINE__, "%s", error);
	assert_int_equal(n, N_ELEMS(want));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].domain, want[i].domain);
		assert_int_equal(v[i].has_filter, want[i].has_filter);
		assert_int_equal(v[i].weight, want[i].weight);
	}
	assert_string_equal(v[1].text, "bl.example=127.0.0.2*3");
	dnsbl_sites_free(v, n);
}

static void
test_sites_parse_empty(void **state)
{
	static const char *const cases[] = {"", " ", ",", " , ,\t\r\n"};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dnsbl_site *v = NULL;
		size_t n = 99;
		char *error = NULL;

		assert_int_equal(dnsbl_sites_parse(cases[i], &v, &n, &error), 0);
		assert_int_equal(n, 0);
		assert_null(error);
		dnsbl_sites_free(v, n);
	}
}

static void
test_sites_parse_bad(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"a.example, b..example, c.example",
	     "bad DNS list \"b..example\": empty label in domain"},
	    {"a.example=127.0.0.[2..11] a.example=127.0.0",
	     "bad DNS list \"a.example=127.0.0\": bad filter \"127.0.0\": need four "
	     "octets"},
	    {"a.example*x", "bad DNS list \"a.example*x\": weight is not a number"},
	    {"a.example b.example*99999999999",
	     "bad DNS list \"b.example*99999999999\": weight out of range"},
	    {"=127.0.0.2", "bad DNS list \"=127.0.0.2\": empty domain"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		static struct dnsbl_site sentinel;
		struct dnsbl_site *v = &sentinel;
		size_t n = 99;
		char *error = NULL;

		assert_int_equal(dnsbl_sites_parse(cases[i].text, &v, &n, &error), -1);
		assert_string_equal(error, cases[i].error);
		assert_null(v);
		assert_int_equal(n, 0);
		free(error);
	}
}

static void
test_sites_parse_many(void **state)
{
	char *text = testutil_printf("%s", ""), *next, *error = NULL;
	struct dnsbl_site *v = NULL;
	size_t n = 0;

	(void)state;
	for (unsigned i = 0; i < 200; i++) {
		next = testutil_printf("%s list%u.example=127.0.0.[2..%u]*%d,", text, i,
		                       2 + i % 200, (int)i - 100);
		free(text);
		text = next;
	}
	if (dnsbl_sites_parse(text, &v, &n, &error) != 0)
		testutil_fail(__FILE__, __LINE__, "%s", error);
	assert_int_equal(n, 200);
	assert_string_equal(v[199].domain, "list199.example");
	assert_int_equal(v[199].weight, 99);
	assert_int_equal(v[0].weight, -100);
	dnsbl_sites_free(v, n);
	free(text);
}

static void
test_reverse_name(void **state)
{
	static const struct {
		const char *addr, *domain, *name;
	} cases[] = {
	    {"192.0.2.1", "zen.example", "1.2.0.192.zen.example"},
	    {"127.0.0.2", "zen.example", "2.0.0.127.zen.example"},
	    {"127.0.0.2", NULL, "2.0.0.127.in-addr.arpa"},
	    {"255.255.255.255", NULL, "255.255.255.255.in-addr.arpa"},
	    {"0.0.0.0", "bl.example", "0.0.0.0.bl.example"},
	    {"::ffff:192.0.2.1", "zen.example", "1.2.0.192.zen.example"},
	    {"192.0.2.1", "", "1.2.0.192"},
	    {"2001:db8::1", NULL,
	     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"},
	    {"2001:DB8::ABCD:EF01", "zen.example",
	     "1.0.f.e.d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen."
	     "example"},
	    {"::", "bl.example",
	     "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl."
	     "example"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "x",
	     "f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.x"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct ipaddr ip = addr(cases[i].addr);
		char buf[512];
		size_t need = strlen(cases[i].name) + 1;

		memset(buf, 'z', sizeof(buf));
		assert_ptr_equal(
		    dnsbl_reverse_name(&ip, cases[i].domain, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].name);
		/* Exactly enough room, and one byte short. */
		assert_ptr_equal(dnsbl_reverse_name(&ip, cases[i].domain, buf, need),
		                 buf);
		assert_string_equal(buf, cases[i].name);
		assert_null(dnsbl_reverse_name(&ip, cases[i].domain, buf, need - 1));
	}
}

static void
test_reverse_name_refused(void **state)
{
	static const struct {
		const char *addr;
		size_t label, total; /* the domain, from make_name */
		bool ok;
	} cases[] = {
	    /* 11 bytes of reversed IPv4 address and a dot */
	    {"192.0.2.111", 63, 241, true},
	    {"192.0.2.111", 63, 242, false},
	    /* 64 bytes of nibbles and a dot */
	    {"2001:db8::1", 63, 189, true},
	    {"2001:db8::1", 63, 190, false},
	    {"2001:db8::1", 63, 4000, false},
	    {"192.0.2.1", 64, 64, false},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct ipaddr ip = addr(cases[i].addr);
		char *domain = testutil_name(cases[i].label, cases[i].total);
		char buf[1024];
		char *r = dnsbl_reverse_name(&ip, domain, buf, sizeof(buf));

		if ((r != NULL) != cases[i].ok)
			testutil_fail(__FILE__, __LINE__, "%s with a domain of %zu: %s",
			              cases[i].addr, cases[i].total, r ? r : "NULL");
		if (r != NULL)
			assert_int_equal(strlen(r), 253);
		free(domain);
	}
}

static void
test_reverse_name_bad(void **state)
{
	static const char *const domains[] = {".", "bl..example", ".bl.example",
	                                      "bl.example.."};
	struct ipaddr none = {0}, ip = addr("192.0.2.1");
	char buf[512];

	(void)state;
	assert_null(dnsbl_reverse_name(&none, "bl.example", buf, sizeof(buf)));
	assert_null(dnsbl_reverse_name(&none, NULL, buf, sizeof(buf)));
	assert_null(dnsbl_reverse_name(&ip, "bl.example", buf, 0));
	for (size_t i = 0; i < N_ELEMS(domains); i++)
		if (dnsbl_reverse_name(&ip, domains[i], buf, sizeof(buf)) != NULL)
			testutil_fail(__FILE__, __LINE__, "\"%s\" gave %s", domains[i],
			              buf);
}

static void
test_name_query(void **state)
{
	static const struct {
		const char *name, *domain, *query; /* NULL: refused */
	} cases[] = {
	    {"example.com", "dbl.example", "example.com.dbl.example"},
	    {"example.com.", "dbl.example", "example.com.dbl.example"},
	    {"Mail.Example.COM", "dbl.example", "Mail.Example.COM.dbl.example"},
	    {"localhost", "dbl.example", "localhost.dbl.example"},
	    {"", "dbl.example", NULL},
	    {".", "dbl.example", NULL},
	    {"example.com..", "dbl.example", NULL},
	    {"a..b", "dbl.example", NULL},
	    {".example.com", "dbl.example", NULL},
	    {"example.com", "", NULL},
	    {"example.com", ".", NULL},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char buf[512];
		char *r =
		    dnsbl_name_query(cases[i].name, cases[i].domain, buf, sizeof(buf));

		if (cases[i].query == NULL) {
			if (r != NULL)
				testutil_fail(__FILE__, __LINE__, "\"%s\" gave \"%s\"",
				              cases[i].name, r);
			continue;
		}
		if (r == NULL)
			testutil_fail(__FILE__, __LINE__, "\"%s\" refused",
			              cases[i].name);
		assert_ptr_equal(r, buf);
		assert_string_equal(r, cases[i].query);
		r = dnsbl_name_query(cases[i].name, cases[i].domain, buf,
		                     strlen(cases[i].query) + 1);
		assert_ptr_equal(r, buf);
		assert_string_equal(r, cases[i].query);
		assert_null(dnsbl_name_query(cases[i].name, cases[i].domain, buf,
		                             strlen(cases[i].query)));
	}
}

static void
test_name_query_lengths(void **state)
{
	static const struct {
		size_t label, total; /* the name, from make_name */
		bool dot;            /* with a final dot */
		bool ok;             /* with "dbl.example": 12 bytes more */
	} cases[] = {
	    {63, 241, false, true},     /* 253 bytes in all */
	    {63, 241, true, true},      /* the final dot is dropped first */
	    {63, 242, false, false},    /* 254 bytes */
	    {63, 242, true, false},     /* 254 bytes, dot or not */
	    {64, 64, false, false},     /* a label too long */
	    {63, 63, false, true},      /* one full label */
	    {63, 100000, false, false}, /* far too long */
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *name = testutil_name(cases[i].label, cases[i].total);
		char *text = testutil_printf("%s%s", name, cases[i].dot ? "." : "");
		char buf[1024];
		char *r = dnsbl_name_query(text, "dbl.example", buf, sizeof(buf));

		if ((r != NULL) != cases[i].ok)
			testutil_fail(__FILE__, __LINE__, "a name of %zu: %s",
			              cases[i].total, r ? r : "NULL");
		if (r != NULL) {
			assert_int_equal(strlen(r), cases[i].total + 12);
			assert_int_equal(strncmp(r, name, cases[i].total), 0);
			assert_string_equal(r + cases[i].total, ".dbl.example");
		}
		free(name);
		free(text);
	}
}

/* Classification. A record is "A 127.0.0.2", "AAAA ::1", "A6 ::1" (type
 * A with an IPv6 address) or "TXT" (type TXT, no address). */
#define MAX_RR 4

static void
build_rr(const char *spec, struct dns_rr *rr)
{
	memset(rr, 0, sizeof(*rr));
	if (strncmp(spec, "A ", 2) == 0) {
		rr->type = DNS_T_A;
		rr->addr = addr(spec + 2);
	} else if (strncmp(spec, "AAAA ", 5) == 0) {
		rr->type = DNS_T_AAAA;
		rr->addr = addr(spec + 5);
	} else if (strncmp(spec, "A6 ", 3) == 0) {
		rr->type = DNS_T_A;
		rr->addr = addr(spec + 3);
	} else if (strcmp(spec, "TXT") == 0) {
		rr->type = DNS_T_TXT;
	} else {
		testutil_fail(__FILE__, __LINE__, "bad record \"%s\"", spec);
	}
}

static void
test_classify(void **state)
{
	static const struct {
		const char *site;
		enum dns_status status;
		const char *reason;
		const char *rr[MAX_RR];
		enum dnsbl_result result;
		const char *detail;
		const char *match; /* NULL: none */
	} cases[] = {
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 127.0.0.2"},
	     DNSBL_LISTED,
	     "127.0.0.2",
	     "127.0.0.2"},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 127.0.0.1"},
	     DNSBL_LISTED,
	     "127.0.0.1",
	     "127.0.0.1"},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 127.255.254.1"},
	     DNSBL_LISTED,
	     "127.255.254.1",
	     "127.255.254.1"},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 127.0.0.4", "A 127.0.0.2"},
	     DNSBL_LISTED,
	     "127.0.0.4",
	     "127.0.0.4"},
	    {"zen.example=127.0.0.[2..11]",
	     DNS_OK,
	     "",
	     {"A 127.0.0.2"},
	     DNSBL_LISTED,
	     "127.0.0.2",
	     "127.0.0.2"},
	    {"zen.example=127.0.0.[2..11]",
	     DNS_OK,
	     "",
	     {"A 127.0.0.1"},
	     DNSBL_NOT_LISTED,
	     "127.0.0.1 outside the filter",
	     NULL},
	    {"zen.example=127.0.0.[2..11]",
	     DNS_OK,
	     "",
	     {"A 127.0.0.12", "A 127.0.0.1"},
	     DNSBL_NOT_LISTED,
	     "127.0.0.12 outside the filter",
	     NULL},
	    {"zen.example=127.0.0.[2..11]",
	     DNS_OK,
	     "",
	     {"A 127.0.0.1", "A 127.0.0.10"},
	     DNSBL_LISTED,
	     "127.0.0.10",
	     "127.0.0.10"},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 127.255.255.254"},
	     DNSBL_LIST_ERROR,
	     "127.255.255.254: the list refuses our queries",
	     NULL},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 127.255.255.0"},
	     DNSBL_LIST_ERROR,
	     "127.255.255.0: the list refuses our queries",
	     NULL},
	    {"zen.example=127.255.255.[0..255]",
	     DNS_OK,
	     "",
	     {"A 127.255.255.252"},
	     DNSBL_LIST_ERROR,
	     "127.255.255.252: the list refuses our queries",
	     NULL},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 192.0.2.1"},
	     DNSBL_LIST_ERROR,
	     "192.0.2.1: answer outside 127.0.0.0/8",
	     NULL},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 128.0.0.1"},
	     DNSBL_LIST_ERROR,
	     "128.0.0.1: answer outside 127.0.0.0/8",
	     NULL},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 126.255.255.255"},
	     DNSBL_LIST_ERROR,
	     "126.255.255.255: answer outside 127.0.0.0/8",
	     NULL},
	    {"zen.example=[0..255].0.2.1",
	     DNS_OK,
	     "",
	     {"A 192.0.2.1"},
	     DNSBL_LIST_ERROR,
	     "192.0.2.1: answer outside 127.0.0.0/8",
	     NULL},
	    /* A listing wins over errors, whatever the order. */
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 127.255.255.254", "A 127.0.0.3"},
	     DNSBL_LISTED,
	     "127.0.0.3",
	     "127.0.0.3"},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 192.0.2.1", "A 127.0.0.3"},
	     DNSBL_LISTED,
	     "127.0.0.3",
	     "127.0.0.3"},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 127.0.0.3", "A 192.0.2.1"},
	     DNSBL_LISTED,
	     "127.0.0.3",
	     "127.0.0.3"},
	    /* An error wins over answers outside the filter. */
	    {"zen.example=127.0.0.2",
	     DNS_OK,
	     "",
	     {"A 127.0.0.1", "A 10.0.0.1"},
	     DNSBL_LIST_ERROR,
	     "10.0.0.1: answer outside 127.0.0.0/8",
	     NULL},
	    {"zen.example=127.0.0.2",
	     DNS_OK,
	     "",
	     {"A 127.0.0.1", "A 127.255.255.255"},
	     DNSBL_LIST_ERROR,
	     "127.255.255.255: the list refuses our queries",
	     NULL},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A 10.0.0.1", "A 127.255.255.253"},
	     DNSBL_LIST_ERROR,
	     "127.255.255.253: the list refuses our queries",
	     NULL},
	    /* Records that are not IPv4 A records are not looked at. */
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"AAAA ::1"},
	     DNSBL_NOT_LISTED,
	     "not listed",
	     NULL},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A6 ::ffff:7f00:2"},
	     DNSBL_LISTED,
	     "127.0.0.2",
	     "127.0.0.2"}, /* the parser made it IPv4 */
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"A6 2001:db8::1", "TXT"},
	     DNSBL_NOT_LISTED,
	     "not listed",
	     NULL},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"TXT", "AAAA 127.0.0.2"},
	     DNSBL_NOT_LISTED,
	     "not listed",
	     NULL},
	    {"zen.example",
	     DNS_OK,
	     "",
	     {"TXT", "A 127.0.0.9"},
	     DNSBL_LISTED,
	     "127.0.0.9",
	     "127.0.0.9"},
	    {"zen.example", DNS_OK, "", {NULL}, DNSBL_NOT_LISTED, "not listed", NULL},
	    {"zen.example",
	     DNS_NXDOMAIN,
	     "",
	     {NULL},
	     DNSBL_NOT_LISTED,
	     "not listed",
	     NULL},
	    {"zen.example", DNS_NODATA, "", {NULL}, DNSBL_NOT_LISTED, "not listed", NULL},
	    {"zen.example",
	     DNS_NXDOMAIN,
	     "",
	     {"A 127.0.0.2"},
	     DNSBL_NOT_LISTED,
	     "not listed",
	     NULL},
	    {"zen.example", DNS_TEMP, "timeout", {NULL}, DNSBL_TEMP, "timeout", NULL},
	    {"zen.example",
	     DNS_TEMP,
	     "SERVFAIL from 127.0.0.1:53",
	     {NULL},
	     DNSBL_TEMP,
	     "SERVFAIL from 127.0.0.1:53",
	     NULL},
	    {"zen.example",
	     DNS_TEMP,
	     "timeout",
	     {"A 127.0.0.2"},
	     DNSBL_TEMP,
	     "timeout",
	     NULL},
	    {"zen.example", DNS_TEMP, "", {NULL}, DNSBL_TEMP, "DNS lookup failed", NULL},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dns_rr rr[MAX_RR];
		struct dns_answer a = {
		    .status = cases[i].status, .qtype = DNS_T_A, .rr = rr};
		struct dnsbl_site s;
		struct ipaddr match;
		char detail[128], *error = NULL;
		enum dnsbl_result r;

		if (dnsbl_site_parse(cases[i].site, false, &s, &error) != 0)
			testutil_fail(__FILE__, __LINE__, "%s", error);
		snprintf(a.reason, sizeof(a.reason), "%s", cases[i].reason);
		for (; a.nrr < MAX_RR && cases[i].rr[a.nrr] != NULL; a.nrr++)
			build_rr(cases[i].rr[a.nrr], &rr[a.nrr]);
		match = addr("192.0.2.99");
		r = dnsbl_classify(&s, &a, &match, detail, sizeof(detail));
		if (r != cases[i].result)
			testutil_fail(__FILE__, __LINE__,
			              "case %zu: result %d, not %d (%s)", i, r,
			              cases[i].result, detail);
		assert_string_equal(detail, cases[i].detail);
		if (cases[i].match != NULL) {
			struct ipaddr want = addr(cases[i].match);

			assert_true(ipaddr_equal(&match, &want));
		} else {
			assert_int_equal(match.family, 0);
		}
		/* Neither out-parameter is needed. */
		assert_int_equal(dnsbl_classify(&s, &a, NULL, NULL, 0), cases[i].result);
		dnsbl_site_free(&s);
	}
}

static void
test_classify_detail_buffer(void **state)
{
	struct dns_rr rr;
	struct dns_answer a = {.status = DNS_OK, .qtype = DNS_T_A, .rr = &rr, .nrr = 1};
	struct dnsbl_site s;
	char small[8], *error = NULL;

	(void)state;
	assert_int_equal(dnsbl_site_parse("zen.example", false, &s, &error), 0);
	build_rr("A 127.255.255.254", &rr);
	memset(small, 'z', sizeof(small));
	assert_int_equal(dnsbl_classify(&s, &a, NULL, small, sizeof(small)),
	                 DNSBL_LIST_ERROR);
	assert_string_equal(small, "127.255");
	assert_int_equal(dnsbl_classify(&s, &a, NULL, small, 1), DNSBL_LIST_ERROR);
	assert_string_equal(small, "");

	/* A reason that fills its array without a NUL is cut, not overrun. */
	a.status = DNS_TEMP;
	a.nrr = 0;
	memset(a.reason, 'r', sizeof(a.reason));
	{
		char detail[256];

		assert_int_equal(dnsbl_classify(&s, &a, NULL, detail, sizeof(detail)),
		                 DNSBL_TEMP);
		assert_int_equal(strlen(detail), sizeof(a.reason));
	}
	dnsbl_site_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter_match),
	    cmocka_unit_test(test_filter_match_no_address),
	    cmocka_unit_test(test_filter_parse_bad),
	    cmocka_unit_test(test_filter_parse_huge),
	    cmocka_unit_test(test_site_parse_good),
	    cmocka_unit_test(test_site_parse_bad),
	    cmocka_unit_test(test_site_parse_lengths),
	    cmocka_unit_test(test_sites_parse),
	    cmocka_unit_test(test_sites_parse_empty),
	    cmocka_unit_test(test_sites_parse_bad),
	    cmocka_unit_test(test_sites_parse_many),
	    cmocka_unit_test(test_reverse_name),
	    cmocka_unit_test(test_reverse_name_refused),
	    cmocka_unit_test(test_reverse_name_bad),
	    cmocka_unit_test(test_name_query),
	    cmocka_unit_test(test_name_query_lengths),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_classify_detail_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
