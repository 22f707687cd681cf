/*
 * test_ipaddr: lib/ipaddr. Address parsing and formatting (IPv4, IPv6,
 * v4-mapped, brackets, garbage), sockaddr conversion, CIDR parsing with
 * its error messages, prefix matching at byte and bit boundaries, and
 * network lists. Each group of cases is a table.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "lib/ipaddr.h"
#include "tests/unit/testutil.h"

static void
test_parse_good(void **state)
{
	static const struct {
		const char *text;
		int family;
		const char *canonical;
	} cases[] = {
	    {"192.0.2.1", AF_INET, "192.0.2.1"},
	    {"0.0.0.0", AF_INET, "0.0.0.0"},
	    {"255.255.255.255", AF_INET, "255.255.255.255"},
	    {"2001:db8::1", AF_INET6, "2001:db8::1"},
	    {"2001:DB8:0:0:0:0:0:1", AF_INET6, "2001:db8::1"},
	    {"::1", AF_INET6, "::1"},
	    {"::", AF_INET6, "::"},
	    {"fe80::1:2:3:4", AF_INET6, "fe80::1:2:3:4"},
	    {"::ffff:192.0.2.1", AF_INET, "192.0.2.1"},
	    {"::FFFF:c000:0201", AF_INET, "192.0.2.1"},
	    {"[2001:db8::1]", AF_INET6, "2001:db8::1"},
	    {"[::ffff:192.0.2.1]", AF_INET, "192.0.2.1"},
	    {"[192.0.2.1]", AF_INET, "192.0.2.1"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipaddr ip;
		char buf[IPADDR_STRLEN];

		if (ipaddr_parse(cases[i].text, &ip) != 0)
			testutil_fail(__FILE__, __LINE__, "\"%s\" not parsed",
			              cases[i].text);
		assert_int_equal(ip.family, cases[i].family);
		assert_string_equal(ipaddr_format(&ip, buf, sizeof(buf)),
		                    cases[i].canonical);
	}
}

static void
test_parse_bad(void **state)
{
	static const char *const cases[] = {
	    "",
	    "1.2.3",
	    "1.2.3.4.5",
	    "::g",
	    "256.1.1.1",
	    "01.2.3.4",
	    "1.2.3.4 ",
	    " 1.2.3.4",
	    "1.2.3.4/32",
	    "2001:db8::1/128",
	    "[2001:db8::1",
	    "2001:db8::1]",
	    "[]",
	    "[",
	    "]",
	    "fe80::1%eth0",
	    "2001:db8:::1",
	    "1:2:3:4:5:6:7:8:9",
	    "localhost",
	    "0x7f.1",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipaddr ip;

		if (ipaddr_parse(cases[i], &ip) != -1)
			testutil_fail(__FILE__, __LINE__, "\"%s\" parsed", cases[i]);
		assert_int_equal(ip.family, 0);
	}
}

static void
test_parse_huge(void **state)
{
	char *junk = testutil_repeat('1', 10 * 1024);
	char *padded = testutil_repeat(' ', 10 * 1024);
	struct ipaddr ip;

	(void)state;
	assert_int_equal(ipaddr_parse(junk, &ip), -1);
	memcpy(padded, "192.0.2.1", 9);
	assert_int_equal(ipaddr_parse(padded, &ip), -1);
	memset(junk, ':', 10 * 1024);
	assert_int_equal(ipaddr_parse(junk, &ip), -1);
	assert_int_equal(ipaddr_parse(NULL, &ip), -1);
	free(junk);
	free(padded);
}

static void
test_format_edges(void **state)
{
	struct ipaddr none = {0}, ip;
	char buf[IPADDR_STRLEN], small[4];

	(void)state;
	assert_string_equal(ipaddr_format(&none, buf, sizeof(buf)), "");
	assert_int_equal(ipaddr_parse("192.0.2.1", &ip), 0);
	assert_string_equal(ipaddr_format(&ip, small, sizeof(small)), "");
	assert_string_equal(ipaddr_format(&ip, buf, 0), "");
	assert_int_equal(ipaddr_parse("1111:2222:3333:4444:5555:6666:7777:8888", &ip), 0);
	assert_string_equal(ipaddr_format(&ip, buf, sizeof(buf)),
	                    "1111:2222:3333:4444:5555:6666:7777:8888");
}

static void
test_from_sockaddr(void **state)
{
	struct sockaddr_in sin = {0};
	struct sockaddr_in6 sin6 = {0};
	struct sockaddr_un sun = {0};
	struct ipaddr ip, want;

	(void)state;
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	assert_int_equal(ipaddr_from_sockaddr((struct sockaddr *)&sin, &ip), 0);
	assert_int_equal(ipaddr_parse("192.0.2.7", &want), 0);
	assert_true(ipaddr_equal(&ip, &want));

	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr);
	assert_int_equal(ipaddr_from_sockaddr((struct sockaddr *)&sin6, &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(ipaddr_parse("2001:db8::7", &want), 0);
	assert_true(ipaddr_equal(&ip, &want));

	inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr);
	assert_int_equal(ipaddr_from_sockaddr((struct sockaddr *)&sin6, &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(ipaddr_parse("192.0.2.7", &want), 0);
	assert_true(ipaddr_equal(&ip, &want));

	sun.sun_family = AF_UNIX;
	assert_int_equal(ipaddr_from_sockaddr((struct sockaddr *)&sun, &ip), -1);
	assert_int_equal(ipaddr_from_sockaddr(NULL, &ip), -1);
}

static void
test_equal(void **state)
{
	static const struct {
		const char *a, *b;
		bool equal;
	} cases[] = {
	    {"192.0.2.1", "::ffff:192.0.2.1", true},
	    {"192.0.2.1", "192.0.2.1", true},
	    {"192.0.2.1", "192.0.2.2", false},
	    {"2001:db8::1", "2001:DB8:0::1", true},
	    {"2001:db8::1", "2001:db8::2", false},
	    {"::c000:201", "192.0.2.1", false}, /* v4-compatible is not v4-mapped */
	    {"::", "0.0.0.0", false},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipaddr a, b;

		assert_int_equal(ipaddr_parse(cases[i].a, &a), 0);
		assert_int_equal(ipaddr_parse(cases[i].b, &b), 0);
		if (ipaddr_equal(&a, &b) != cases[i].equal)
			testutil_fail(__FILE__, __LINE__, "%s == %s should be %d",
			              cases[i].a, cases[i].b, cases[i].equal);
	}
}

static void
test_cidr_parse_good(void **state)
{
	static const struct {
		const char *text;
		const char *net;
		unsigned prefix;
	} cases[] = {
	    {"192.0.2.0/24", "192.0.2.0", 24},
	    {"192.0.2.1", "192.0.2.1", 32},
	    {"192.0.2.1/32", "192.0.2.1", 32},
	    {"0.0.0.0/0", "0.0.0.0", 0},
	    {"10.0.0.0/8", "10.0.0.0", 8},
	    {"192.0.2.128/25", "192.0.2.128", 25},
	    {"2001:db8::/32", "2001:db8::", 32},
	    {"[2001:db8::]/32", "2001:db8::", 32},
	    {"[2001:db8::1]", "2001:db8::1", 128},
	    {"2001:db8::1", "2001:db8::1", 128},
	    {"2001:db8::1/128", "2001:db8::1", 128},
	    {"::/0", "::", 0},
	    {"2001:db8:0:1::/64", "2001:db8:0:1::", 64},
	    {"::ffff:192.0.2.0/120", "192.0.2.0", 24},
	    {"::ffff:192.0.2.1", "192.0.2.1", 32},
	    {"192.0.2.0/024", "192.0.2.0", 24},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		char err[256], buf[IPADDR_STRLEN];

		if (cidr_parse(cases[i].text, &c, err, sizeof(err)) != 0)
			testutil_fail(__FILE__, __LINE__, "\"%s\": %s", cases[i].text,
			              err);
		assert_string_equal(ipaddr_format(&c.net, buf, sizeof(buf)),
		                    cases[i].net);
		assert_int_equal(c.prefix, cases[i].prefix);
	}
}

static void
test_cidr_parse_bad(void **state)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
	    {"192.0.2.1/24", "\"192.0.2.1/24\": host bits set (network is 192.0.2.0/24)"},
	    {"10.1.2.3/8", "\"10.1.2.3/8\": host bits set (network is 10.0.0.0/8)"},
	    {"192.0.2.129/24",
	     "\"192.0.2.129/24\": host bits set (network is 192.0.2.0/24)"},
	    {"2001:db8::1/64",
	     "\"2001:db8::1/64\": host bits set (network is 2001:db8::/64)"},
	    {"[2001:db8::1]/32",
	     "\"[2001:db8::1]/32\": host bits set (network is 2001:db8::/32)"},
	    {"192.0.2.0/33", "\"192.0.2.0/33\": bad prefix length"},
	    {"2001:db8::/129", "\"2001:db8::/129\": bad prefix length"},
	    {"192.0.2.0/", "\"192.0.2.0/\": bad prefix length"},
	    {"192.0.2.0/-1", "\"192.0.2.0/-1\": bad prefix length"},
	    {"192.0.2.0/+24", "\"192.0.2.0/+24\": bad prefix length"},
	    {"192.0.2.0/24x", "\"192.0.2.0/24x\": bad prefix length"},
	    {"192.0.2.0/ 24", "\"192.0.2.0/ 24\": bad prefix length"},
	    {"192.0.2.0/99999999999999999999", "\"192.0.2.0/99999999999999999999\": bad "
	                                       "prefix length"},
	    {"192.0.2.0/24/24", "\"192.0.2.0/24/24\": bad network address"},
	    {"/24", "\"/24\": bad network address"},
	    {"", "\"\": bad network address"},
	    {"1.2.3/24", "\"1.2.3/24\": bad network address"},
	    {"[192.0.2.0/24]", "\"[192.0.2.0/24]\": bad network address"},
	    {"example.com", "\"example.com\": bad network address"},
	    {" 192.0.2.0/24", "\" 192.0.2.0/24\": bad network address"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		char err[256] = "";

		if (cidr_parse(cases[i].text, &c, err, sizeof(err)) != -1)
			testutil_fail(__FILE__, __LINE__, "\"%s\" parsed", cases[i].text);
		assert_string_equal(err, cases[i].error);
	}
}

static void
test_cidr_parse_error_buffer(void **state)
{
	char *huge = testutil_repeat('x', 10 * 1024);
	char err[256], tiny[8];
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse(huge, &c, err, sizeof(err)), -1);
	assert_true(strlen(err) < 200);
	assert_substring(err, "...\": bad network address");
	assert_int_equal(strncmp(err, "\"xxxx", 5), 0);
	assert_int_equal(cidr_parse("192.0.2.1/24", &c, tiny, sizeof(tiny)), -1);
	assert_string_equal(tiny, "\"192.0.");
	assert_int_equal(cidr_parse("192.0.2.1/24", &c, NULL, 0), -1);
	free(huge);
}

static void
test_cidr_match(void **state)
{
	static const struct {
		const char *net, *addr;
		bool match;
	} cases[] = {
	    {"0.0.0.0/0", "192.0.2.1", true},
	    {"0.0.0.0/0", "255.255.255.255", true},
	    {"0.0.0.0/0", "::ffff:10.0.0.1", true},
	    {"0.0.0.0/0", "2001:db8::1", false},
	    {"::/0", "2001:db8::1", true},
	    {"::/0", "::", true},
	    {"::/0", "192.0.2.1", false},
	    {"::/0", "::ffff:192.0.2.1", false},
	    {"192.0.2.1/32", "192.0.2.1", true},
	    {"192.0.2.1/32", "192.0.2.2", false},
	    {"192.0.2.1", "192.0.2.1", true},
	    {"192.0.2.1", "::ffff:192.0.2.1", true},
	    {"192.0.2.0/24", "192.0.2.0", true},
	    {"192.0.2.0/24", "192.0.2.255", true},
	    {"192.0.2.0/24", "::ffff:192.0.2.77", true},
	    {"192.0.2.0/24", "192.0.3.0", false},
	    {"192.0.2.0/24", "192.0.1.255", false},
	    {"192.0.2.128/25", "192.0.2.128", true},
	    {"192.0.2.128/25", "192.0.2.255", true},
	    {"192.0.2.128/25", "192.0.2.127", false},
	    {"10.0.0.0/8", "10.255.255.255", true},
	    {"10.0.0.0/8", "11.0.0.0", false},
	    {"10.0.0.0/7", "11.0.0.0", true},
	    {"10.0.0.0/7", "12.0.0.0", false},
	    {"::ffff:192.0.2.0/120", "192.0.2.9", true},
	    {"2001:db8::1/128", "2001:db8::1", true},
	    {"2001:db8::1/128", "2001:db8::2", false},
	    {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
	    {"2001:db8::/32", "2001:db9::", false},
	    {"2001:db8::/33", "2001:db8:7fff::", true},
	    {"2001:db8::/33", "2001:db8:8000::", false},
	    {"2001:db8:1:2::/64", "2001:db8:1:2::1", true},
	    {"2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
	    {"2001:db8:1:2::/64", "2001:db8:1:3::", false},
	    {"2001:db8:1:2::/64", "2001:db8:1:1:ffff:ffff:ffff:ffff", false},
	    {"2001:db8::/63", "2001:db8:0:1::", true},
	    {"2001:db8::/63", "2001:db8:0:2::", false},
	    {"2001:db8:1:2:8000::/65", "2001:db8:1:2:8000::1", true},
	    {"2001:db8:1:2:8000::/65", "2001:db8:1:2:7fff::1", false},
	    {"2001:db8::/127", "2001:db8::1", true},
	    {"2001:db8::/127", "2001:db8::2", false},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		struct ipaddr ip;
		char err[256];

		if (cidr_parse(cases[i].net, &c, err, sizeof(err)) != 0)
			testutil_fail(__FILE__, __LINE__, "%s", err);
		assert_int_equal(ipaddr_parse(cases[i].addr, &ip), 0);
		if (cidr_match(&c, &ip) != cases[i].match)
			testutil_fail(__FILE__, __LINE__, "%s in %s should be %d",
			              cases[i].addr, cases[i].net, cases[i].match);
	}
}

static void
test_cidr_match_no_address(void **state)
{
	struct ipaddr none = {0};
	struct cidr c;
	char err[256];

	(void)state;
	assert_int_equal(cidr_parse("0.0.0.0/0", &c, err, sizeof(err)), 0);
	assert_false(cidr_match(&c, &none));
	assert_int_equal(cidr_parse("::/0", &c, err, sizeof(err)), 0);
	assert_false(cidr_match(&c, &none));
}

static bool
list_matches(const struct cidr_list *list, const char *addr)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse(addr, &ip), 0);
	return cidr_list_match(list, &ip);
}

static void
test_cidr_list(void **state)
{
	struct cidr_list list;
	char err[256];

	(void)state;
	assert_int_equal(cidr_list_parse("192.0.2.0/24, 2001:db8::/32 10.0.0.0/8,,\t\n "
	                                 "127.0.0.1",
	                                 &list, err, sizeof(err)),
	                 0);
	assert_int_equal(list.n, 4);
	assert_true(list_matches(&list, "192.0.2.200"));
	assert_true(list_matches(&list, "2001:db8:5::1"));
	assert_true(list_matches(&list, "10.9.8.7"));
	assert_true(list_matches(&list, "127.0.0.1"));
	assert_true(list_matches(&list, "::ffff:127.0.0.1"));
	assert_false(list_matches(&list, "127.0.0.2"));
	assert_false(list_matches(&list, "2001:db9::1"));
	cidr_list_free(&list);
	assert_null(list.v);
	assert_int_equal(list.n, 0);
	cidr_list_free(&list);
	cidr_list_free(NULL);
}

static void
test_cidr_list_empty(void **state)
{
	static const char *const cases[] = {"", " ", " , ,\t\n", ","};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr_list list;
		char err[256];

		assert_int_equal(cidr_list_parse(cases[i], &list, err, sizeof(err)), 0);
		assert_int_equal(list.n, 0);
		assert_false(list_matches(&list, "192.0.2.1"));
		cidr_list_free(&list);
	}
}

static void
test_cidr_list_bad(void **state)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
	    {"192.0.2.0/24, 10.0.0.1/8",
	     "\"10.0.0.1/8\": host bits set (network is 10.0.0.0/8)"},
	    {"192.0.2.0/24 foo 10.0.0.0/8", "\"foo\": bad network address"},
	    {"192.0.2.0/24,192.0.2.0/40", "\"192.0.2.0/40\": bad prefix length"},
	    {"bad", "\"bad\": bad network address"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr_list list = {NULL, 99};
		char err[256];

		assert_int_equal(cidr_list_parse(cases[i].text, &list, err, sizeof(err)),
		                 -1);
		assert_string_equal(err, cases[i].error);
		assert_null(list.v);
		assert_int_equal(list.n, 0);
		cidr_list_free(&list);
	}
}

static void
test_cidr_list_long(void **state)
{
	struct cidr_list list;
	char err[256], *text = NULL, *next;

	(void)state;
	text = testutil_printf("%s", "");
	for (unsigned i = 0; i < 256; i++) {
		next = testutil_printf("%s 10.%u.0.0/16,", text, i);
		free(text);
		text = next;
	}
	assert_int_equal(cidr_list_parse(text, &list, err, sizeof(err)), 0);
	assert_int_equal(list.n, 256);
	assert_true(list_matches(&list, "10.255.1.1"));
	assert_false(list_matches(&list, "11.0.0.1"));
	cidr_list_free(&list);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_huge),
	    cmocka_unit_test(test_format_edges),
	    cmocka_unit_test(test_from_sockaddr),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_cidr_parse_good),
	    cmocka_unit_test(test_cidr_parse_bad),
	    cmocka_unit_test(test_cidr_parse_error_buffer),
	    cmocka_unit_test(test_cidr_match),
	    cmocka_unit_test(test_cidr_match_no_address),
	    cmocka_unit_test(test_cidr_list),
	    cmocka_unit_test(test_cidr_list_empty),
	    cmocka_unit_test(test_cidr_list_bad),
	    cmocka_unit_test(test_cidr_list_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
