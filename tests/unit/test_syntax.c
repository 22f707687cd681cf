/*
 * test_syntax: policy/syntax. Stripping a final dot, Postfix's host name
 * rules with the reason for each refusal (empty and over-long labels and
 * names, hyphens, numeric names, 8-bit and control bytes), FQDN checks,
 * address literals with and without the IPv6: tag, and the domain of a
 * mail address. Each group of cases is a table.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>

#include "lib/ipaddr.h"
#include "policy/syntax.h"
#include "tests/unit/testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void
test_strip_dot(void **state)
{
	static const struct {
		const char *name, *stripped;
	} cases[] = {
	    {"example.com.", "example.com"},
	    {"example.com", "example.com"},
	    {"example.com..", "example.com.."},
	    {"a.", "a"},
	    {".", ""},
	    {"..", ".."},
	    {"", ""},
	    {".example", ".example"},
	    {"[192.0.2.1].", "[192.0.2.1]"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char buf[64], inplace[64];

		memset(buf, 'z', sizeof(buf));
		assert_ptr_equal(syntax_strip_dot(cases[i].name, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].stripped);
		/* Exactly strlen(name) + 1 bytes are enough. */
		assert_ptr_equal(
		    syntax_strip_dot(cases[i].name, buf, strlen(cases[i].name) + 1), buf);
		assert_string_equal(buf, cases[i].stripped);
		/* The name may be the buffer. */
		snprintf(inplace, sizeof(inplace), "%s", cases[i].name);
		assert_string_equal(syntax_strip_dot(inplace, inplace, sizeof(inplace)),
		                    cases[i].stripped);
	}
}

static void
test_strip_dot_small_buffer(void **state)
{
	char buf[4] = "zzz";

	(void)state;
	assert_string_equal(syntax_strip_dot("example.com.", buf, sizeof(buf)), "exa");
	assert_string_equal(syntax_strip_dot("example.com.", buf, 1), "");
	buf[0] = 'z';
	assert_ptr_equal(syntax_strip_dot("example.com.", buf, 0), buf);
	assert_int_equal(buf[0], 'z');
}

static void
test_hostname_valid(void **state)
{
	static const struct {
		const char *name;
		const char *why; /* NULL: valid */
	} cases[] = {
	    {"example.com", NULL},
	    {"EXAMPLE.Com", NULL},
	    {"a", NULL},
	    {"localhost", NULL},
	    {"mail-1.example", NULL},
	    {"a--b.example", NULL},
	    {"a_b.example", NULL},
	    {"_dmarc.example", NULL},
	    {"_", NULL},
	    {"xn--bcher-kva.example", NULL},
	    {"1a.example", NULL},
	    {"123.example", NULL},
	    {"192.0.2.1.example", NULL},
	    {"1.2.3.4a", NULL},
	    {"0-0", NULL},
	    {"1_2", NULL},
	    {"", "empty name"},
	    {"192.0.2.1", "numeric hostname"},
	    {"123", "numeric hostname"},
	    {"1.2", "numeric hostname"},
	    {"0", "numeric hostname"},
	    {".", "empty label"},
	    {".example.com", "empty label"},
	    {"a..b", "empty label"},
	    {"example.com.", "empty label"},
	    {"example.com..", "empty label"},
	    {"-", "label starts with '-'"},
	    {"-a.example", "label starts with '-'"},
	    {"a.-b", "label starts with '-'"},
	    {"a-.example", "label ends with '-'"},
	    {"example.com-", "label ends with '-'"},
	    {"a.b-", "label ends with '-'"},
	    {"a b", "bad character"},
	    {" example.com", "bad character"},
	    {"example.com ", "bad character"},
	    {"a\tb", "bad character"},
	    {"a\rb", "bad character"},
	    {"a\nb", "bad character"},
	    {"a\x01", "bad character"},
	    {"a\x7f", "bad character"},
	    {"ex\xc3\xa9mple.com", "bad character"},
	    {"\xff", "bad character"},
	    {"\x80.example", "bad character"},
	    {"user@example.com", "bad character"},
	    {"[192.0.2.1]", "bad character"},
	    {"a/b", "bad character"},
	    {"a:b", "bad character"},
	    {"*.example", "bad character"},
	    {"a\\.b", "bad character"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		const char *why = "unset";
		bool valid = syntax_hostname_valid(cases[i].name, &why);

		if (valid != (cases[i].why == NULL))
			testutil_fail(__FILE__, __LINE__, "\"%s\": valid %d (%s)",
			              cases[i].name, valid, why ? why : "NULL");
		if (cases[i].why == NULL)
			assert_null(why);
		else
			assert_string_equal(why, cases[i].why);
		assert_int_equal(syntax_hostname_valid(cases[i].name, NULL), valid);
	}
}

static void
test_hostname_lengths(void **state)
{
	static const struct {
		size_t label, total;
		const char *why; /* NULL: valid */
	} cases[] = {
	    {63, 63, NULL},
	    {64, 64, "label too long"},
	    {63, 255, NULL},
	    {62, 256, "name too long"},
	    {1, 255, NULL},
	    {2, 256, "name too long"},
	    {300, 300, "name too long"},
	    {63, 100000, "name too long"},
	    {64, 200, "label too long"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *name = testutil_name(cases[i].label, cases[i].total);
		const char *why = "unset";

		if (syntax_hostname_valid(name, &why) != (cases[i].why == NULL))
			testutil_fail(__FILE__, __LINE__, "%zu/%zu: %s", cases[i].label,
			              cases[i].total, why ? why : "valid");
		if (cases[i].why == NULL)
			assert_null(why);
		else
			assert_string_equal(why, cases[i].why);
		free(name);
	}
}

static void
test_hostname_null(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_false(syntax_hostname_valid(NULL, &why));
	assert_string_equal(why, "empty name");
	assert_false(syntax_hostname_fqdn(NULL));
	assert_false(syntax_is_literal(NULL));
	assert_string_equal(syntax_address_domain(NULL), "");
	assert_false(syntax_address_fqdn(NULL));
}

static void
test_hostname_fqdn(void **state)
{
	static const struct {
		const char *name;
		bool fqdn;
	} cases[] = {
	    {"example.com", true},
	    {"example.com.", true},
	    {"mail.Example.COM", true},
	    {"a.b", true},
	    {"_dmarc.example", true},
	    {"123.example", true},
	    {"example", false},
	    {"example.", false},
	    {"localhost", false},
	    {"example.com..", false},
	    {".example.com", false},
	    {"a..b", false},
	    {"", false},
	    {".", false},
	    {"..", false},
	    {"192.0.2.1", false},
	    {"192.0.2.1.", false},
	    {"[192.0.2.1]", false},
	    {"-a.example", false},
	    {"a-.example", false},
	    {"exa mple.com", false},
	    {"ex\xc3\xa9mple.com", false},
	    {"example.com\n", false},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++)
		if (syntax_hostname_fqdn(cases[i].name) != cases[i].fqdn)
			testutil_fail(__FILE__, __LINE__, "\"%s\" should be %d",
			              cases[i].name, cases[i].fqdn);
}

static void
test_hostname_fqdn_lengths(void **state)
{
	static const struct {
		size_t label, total;
		bool dot; /* with a final dot */
		bool fqdn;
	} cases[] = {
	    {63, 255, false, true},  /* the longest name */
	    {63, 255, true, true},   /* the final dot is not counted */
	    {62, 256, false, false}, /* one byte too many */
	    {62, 256, true, false},  /* one byte too many, and a dot */
	    {64, 200, false, false}, /* a label too long */
	    {63, 63, false, false},  /* valid, but no dot */
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *name = testutil_name(cases[i].label, cases[i].total);
		char *text = testutil_printf("%s%s", name, cases[i].dot ? "." : "");

		if (syntax_hostname_fqdn(text) != cases[i].fqdn)
			testutil_fail(__FILE__, __LINE__, "%zu/%zu%s should be %d",
			              cases[i].label, cases[i].total,
			              cases[i].dot ? "." : "", cases[i].fqdn);
		free(name);
		free(text);
	}
}

static void
test_is_literal(void **state)
{
	static const struct {
		const char *text;
		bool literal;
	} cases[] = {
	    {"[192.0.2.1]", true},
	    {"[IPv6:2001:db8::1]", true},
	    {"[]", true},
	    {"[garbage]", true},
	    {"[", false},
	    {"]", false},
	    {"][", false},
	    {"", false},
	    {"192.0.2.1", false},
	    {"[192.0.2.1", false},
	    {"192.0.2.1]", false},
	    {"x[192.0.2.1]", false},
	    {"[192.0.2.1]x", false},
	    {"[192.0.2.1].", false},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++)
		if (syntax_is_literal(cases[i].text) != cases[i].literal)
			testutil_fail(__FILE__, __LINE__, "\"%s\" should be %d",
			              cases[i].text, cases[i].literal);
}

static void
test_literal_parse_good(void **state)
{
	static const struct {
		const char *text;
		int family;
		const char *canonical;
	} cases[] = {
	    {"[192.0.2.1]", AF_INET, "192.0.2.1"},
	    {"[0.0.0.0]", AF_INET, "0.0.0.0"},
	    {"[255.255.255.255]", AF_INET, "255.255.255.255"},
	    {"[IPv6:2001:db8::1]", AF_INET6, "2001:db8::1"},
	    {"[ipv6:2001:DB8::1]", AF_INET6, "2001:db8::1"},
	    {"[IPV6:::1]", AF_INET6, "::1"},
	    {"[iPv6:::]", AF_INET6, "::"},
	    {"[IPv6:1111:2222:3333:4444:5555:6666:7777:8888]", AF_INET6,
	     "1111:2222:3333:4444:5555:6666:7777:8888"},
	    /* An IPv4-mapped IPv6 address is IPv6 text: ipaddr_parse makes it
	     * the IPv4 address it carries. */
	    {"[IPv6:::ffff:192.0.2.1]", AF_INET, "192.0.2.1"},
	    {"192.0.2.1", AF_INET, "192.0.2.1"},
	    {"2001:db8::1", AF_INET6, "2001:db8::1"},
	    {"::1", AF_INET6, "::1"},
	    {"::ffff:192.0.2.1", AF_INET, "192.0.2.1"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct ipaddr ip;
		char buf[IPADDR_STRLEN];

		if (syntax_literal_parse(cases[i].text, &ip) != 0)
			testutil_fail(__FILE__, __LINE__, "\"%s\" not parsed",
			              cases[i].text);
		assert_int_equal(ip.family, cases[i].family);
		assert_string_equal(ipaddr_format(&ip, buf, sizeof(buf)),
		                    cases[i].canonical);
	}
}

static void
test_literal_parse_bad(void **state)
{
	static const char *const cases[] = {
	    "[2001:db8::1]",
	    "[::1]",
	    "[::ffff:192.0.2.1]",
	    "[999.1.1.1]",
	    "[256.0.0.1]",
	    "[192.0.2]",
	    "[192.0.2.1.5]",
	    "[01.2.3.4]",
	    "[]",
	    "[IPv6:1.2.3.4]",
	    "[IPv6:]",
	    "[IPv6]",
	    "[IPv6:2001:db8::g]",
	    "[IPv6:2001:db8:::1]",
	    "[IPv6:fe80::1%eth0]",
	    "[IPv6:[::1]]",
	    "[IPv6: ::1]",
	    "[IPv4:192.0.2.1]",
	    "[IPv6::1]",
	    "[[192.0.2.1]]",
	    "[192.0.2.1",
	    "192.0.2.1]",
	    "[192.0.2.1]x",
	    "[192.0.2.1].",
	    "[ 192.0.2.1]",
	    "[192.0.2.1 ]",
	    "[192.0.2.1\xff]",
	    "[192.0.2.1\n]",
	    "[example.com]",
	    "IPv6:2001:db8::1",
	    "[",
	    "]",
	    "",
	    " 192.0.2.1",
	    "192.0.2.1 ",
	    "192.0.2.1.",
	    "example.com",
	    "localhost",
	    "2001:db8::1/64",
	    "192.0.2.0/24",
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct ipaddr ip;

		memset(&ip, 0xff, sizeof(ip));
		if (syntax_literal_parse(cases[i], &ip) != -1)
			testutil_fail(__FILE__, __LINE__, "\"%s\" parsed", cases[i]);
		assert_int_equal(ip.family, 0);
	}
}

static void
test_literal_parse_huge(void **state)
{
	char *huge = testutil_repeat('1', 10 * 1024);
	char *bracketed = testutil_printf("[IPv6:%s]", huge);
	struct ipaddr ip;

	(void)state;
	assert_int_equal(syntax_literal_parse(huge, &ip), -1);
	assert_int_equal(syntax_literal_parse(bracketed, &ip), -1);
	assert_int_equal(syntax_literal_parse(NULL, &ip), -1);
	/* An address padded past what any address can be. */
	memset(huge, ':', 10 * 1024);
	huge[0] = '[';
	huge[10 * 1024 - 1] = ']';
	assert_int_equal(syntax_literal_parse(huge, &ip), -1);
	free(huge);
	free(bracketed);
}

static void
test_address_domain(void **state)
{
	static const struct {
		const char *addr, *domain;
	} cases[] = {
	    {"user@example.com", "example.com"},
	    {"user@Example.COM.", "Example.COM."},
	    {"a@b@c.example", "c.example"},
	    {"\"a@b\"@example.com", "example.com"},
	    {"@example.com", "example.com"},
	    {"user@[192.0.2.1]", "[192.0.2.1]"},
	    {"user@", ""},
	    {"@", ""},
	    {"user", ""},
	    {"", ""},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		const char *d = syntax_address_domain(cases[i].addr);

		assert_string_equal(d, cases[i].domain);
		/* It points into the address when there is an '@'. */
		if (strchr(cases[i].addr, '@') != NULL)
			assert_ptr_equal(d, strrchr(cases[i].addr, '@') + 1);
	}
}

static void
test_address_fqdn(void **state)
{
	static const struct {
		const char *addr;
		bool fqdn;
	} cases[] = {
	    {"user@example.com", true},
	    {"user@example.com.", true},
	    {"user@Mail.Example.COM", true},
	    {"a@b@example.com", true},
	    {"@example.com", true},
	    {"user@[192.0.2.1]", true},
	    {"user@[IPv6:2001:db8::1]", true},
	    {"user@[192.0.2.1].", true},
	    {"user@[garbage]", true}, /* a literal is not checked, as Postfix */
	    {"user@[]", true},
	    {"user@example", false},
	    {"user@example.", false},
	    {"user@localhost", false},
	    {"user@example.com..", false},
	    {"user@.example.com", false},
	    {"user@a..example", false},
	    {"user@192.0.2.1", false},
	    {"user@-bad.example", false},
	    {"user@bad-.example", false},
	    {"user@exa mple.com", false},
	    {"user@exa\xffmple.com", false},
	    {"user@example.com\r", false},
	    {"user@[192.0.2.1", false},
	    {"user@[", false},
	    {"user@example.com@", false},
	    {"user@", false},
	    {"user@.", false},
	    {"user", false},
	    {"user.example.com", false},
	    {"", false},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++)
		if (syntax_address_fqdn(cases[i].addr) != cases[i].fqdn)
			testutil_fail(__FILE__, __LINE__, "\"%s\" should be %d",
			              cases[i].addr, cases[i].fqdn);
}

static void
test_address_fqdn_lengths(void **state)
{
	static const struct {
		size_t label, total;
		bool fqdn;
	} cases[] = {
	    {63, 255, true},
	    {62, 256, false},
	    {63, 10000, false},
	    {64, 100, false},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *domain = testutil_name(cases[i].label, cases[i].total);
		char *addr = testutil_printf("user@%s", domain);
		char *dotted = testutil_printf("user@%s.", domain);

		assert_int_equal(syntax_address_fqdn(addr), cases[i].fqdn);
		assert_int_equal(syntax_address_fqdn(dotted), cases[i].fqdn);
		free(domain);
		free(addr);
		free(dotted);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strip_dot),
	    cmocka_unit_test(test_strip_dot_small_buffer),
	    cmocka_unit_test(test_hostname_valid),
	    cmocka_unit_test(test_hostname_lengths),
	    cmocka_unit_test(test_hostname_null),
	    cmocka_unit_test(test_hostname_fqdn),
	    cmocka_unit_test(test_hostname_fqdn_lengths),
	    cmocka_unit_test(test_is_literal),
	    cmocka_unit_test(test_literal_parse_good),
	    cmocka_unit_test(test_literal_parse_bad),
	    cmocka_unit_test(test_literal_parse_huge),
	    cmocka_unit_test(test_address_domain),
	    cmocka_unit_test(test_address_fqdn),
	    cmocka_unit_test(test_address_fqdn_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
