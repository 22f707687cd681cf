/*
 * test_dnsconf: where DNS settings come from and what they say. The
 * dns_servers syntax (dns/servers.c), resolv.conf files, the
 * Authentication-Results helpers (policy/authres) and the DNS keys of
 * postern.conf: their error messages and a good file. Each group of
 * cases is a table.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>

#include "dns/dnsbl.h"
#include "dns/resolver.h"
#include "lib/ipaddr.h"
#include "policy/authres.h"
#include "policy/conf.h"
#include "tests/unit/testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define dir testutil_dir

/* Servers as "192.0.2.1:53,[2001:db8::1]:5353". */
static char *
servers_text(const struct dns_server *v, size_t n)
{
	char *out = testutil_printf("%s", ""), *next;

	for (size_t i = 0; i < n; i++) {
		char addr[IPADDR_STRLEN];

		ipaddr_format(&v[i].addr, addr, sizeof(addr));
		next =
		    testutil_printf("%s%s%s%s%s:%u", out, i ? "," : "",
		                    v[i].addr.family == AF_INET6 ? "[" : "", addr,
		                    v[i].addr.family == AF_INET6 ? "]" : "", v[i].port);
		free(out);
		out = next;
	}
	return out;
}

static void
test_servers_good(void **state)
{
	static const struct {
		const char *text, *servers;
	} cases[] = {
	    {"127.0.0.1", "127.0.0.1:53"},
	    {"127.0.0.1:5353", "127.0.0.1:5353"},
	    {"192.0.2.53:1", "192.0.2.53:1"},
	    {"192.0.2.53:65535", "192.0.2.53:65535"},
	    {"[::1]:5353", "[::1]:5353"},
	    {"[::1]", "[::1]:53"},
	    {"::1", "[::1]:53"},
	    {"2001:db8::53", "[2001:db8::53]:53"},
	    {"[2001:DB8::53]:5353", "[2001:db8::53]:5353"},
	    {"[192.0.2.53]:54", "192.0.2.53:54"},
	    {"::ffff:192.0.2.53", "192.0.2.53:53"},
	    {"127.0.0.1,::1", "127.0.0.1:53,[::1]:53"},
	    {"127.0.0.1, [::1]:5353", "127.0.0.1:53,[::1]:5353"},
	    {"192.0.2.1 192.0.2.2\t192.0.2.3,,192.0.2.4\n", "192.0.2.1:53,192.0.2.2:53,"
	                                                    "192.0.2.3:53,192.0.2.4:53"},
	    {"  192.0.2.1  ", "192.0.2.1:53"},
	    {"192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 "
	     "192.0.2.8",
	     "192.0.2.1:53,192.0.2.2:53,192.0.2.3:53,192.0.2.4:53,192.0.2.5:53,"
	     "192.0.2.6:53,192.0.2.7:53,192.0.2.8:53"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dns_server *v = NULL;
		size_t n = 0;
		char *err = NULL;

		if (dns_servers_parse(cases[i].text, &v, &n, &err) != 0)
			testutil_fail(__FILE__, __LINE__, "\"%s\": %s", cases[i].text,
			              err);
		assert_null(err);
		char *got = servers_text(v, n);
		if (strcmp(got, cases[i].servers) != 0)
			testutil_fail(__FILE__, __LINE__, "\"%s\" gave %s, want %s",
			              cases[i].text, got, cases[i].servers);
		free(got);
		free(v);
	}
}

static void
test_servers_bad(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"host.example", "\"host.example\" is not an address with an optional port"},
	    {"localhost:53", "\"localhost:53\" is not an address"},
	    {"127.0.0.1:0", "\"127.0.0.1:0\": bad port"},
	    {"127.0.0.1:65536", "\"127.0.0.1:65536\": bad port"},
	    {"127.0.0.1:99999999999999999999", "bad port"},
	    {"127.0.0.1:x", "\"127.0.0.1:x\": bad port"},
	    {"127.0.0.1:53x", "bad port"},
	    {"127.0.0.1:-53", "bad port"},
	    {"127.0.0.1:", "bad port"},
	    {"[::1", "\"[::1\" is not an address"},
	    {"[::1]x", "\"[::1]x\" is not an address"},
	    {"[::1]:", "\"[::1]:\": bad port"},
	    {"[::1]:0", "bad port"},
	    {"[::1]:x", "bad port"},
	    {"[host.example]:53", "is not an address"},
	    {"[]", "is not an address"},
	    {"::1]", "is not an address"},
	    {"1.2.3.4.5", "is not an address"},
	    {"256.0.0.1", "is not an address"},
	    {"fe80::1%eth0", "is not an address"},
	    {"192.0.2.1/32", "is not an address"},
	    {"192.0.2.1, bogus", "\"bogus\" is not an address"},
	    {"192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 "
	     "192.0.2.8 192.0.2.9",
	     "more than 8 servers"},
	    {"192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 "
	     "192.0.2.8 bogus",
	     "more than 8 servers"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dns_server *v = NULL;
		size_t n = 99;
		char *err = NULL;

		if (dns_servers_parse(cases[i].text, &v, &n, &err) != -1)
			testutil_fail(__FILE__, __LINE__, "\"%s\" accepted",
			              cases[i].text);
		assert_null(v);
		assert_int_equal(n, 99);
		assert_substring(err, cases[i].error);
		free(err);
	}
}

/* Items far longer than an address: refused, the message cut short. */
static void
test_servers_long_items(void **state)
{
	char *digits = testutil_repeat('1', 5000);
	char *texts[] = {
	    testutil_printf("%s", digits),           testutil_printf("[%s]:53", digits),
	    testutil_printf("[%s", digits),          testutil_printf("%s:53", digits),
	    testutil_printf("127.0.0.1:%s", digits),
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		struct dns_server *v = NULL;
		size_t n = 0;
		char *err = NULL;

		assert_int_equal(dns_servers_parse(texts[i], &v, &n, &err), -1);
		assert_non_null(err);
		assert_true(strlen(err) < 300);
		free(err);
		free(texts[i]);
	}
	free(digits);
}

static void
test_resolv_conf(void **state)
{
	static const struct {
		const char *content;
		const char *servers; /* NULL: an error */
		const char *error;
	} cases[] = {
	    {"nameserver 192.0.2.1\n", "192.0.2.1:53", NULL},
	    {"nameserver 192.0.2.1\nnameserver 2001:db8::53\n",
	     "192.0.2.1:53,[2001:db8::53]:53", NULL},
	    {"# generated\n"
	     "; old style comment\n"
	     "domain example.com\n"
	     "search example.com example.net\n"
	     "options ndots:2 timeout:1\n"
	     "nameserver 192.0.2.1\n"
	     "#nameserver 192.0.2.9\n"
	     "# nameserver 192.0.2.10\n"
	     "nameserver\t192.0.2.2 # a trailing comment\n"
	     "  nameserver 192.0.2.3\n"
	     "nameserver 192.0.2.4",
	     "192.0.2.1:53,192.0.2.2:53,192.0.2.3:53,192.0.2.4:53", NULL},
	    {"nameserver fe80::1%eth0\nnameserver 192.0.2.1\n", "192.0.2.1:53", NULL},
	    {"nameserver localhost\nnameserver 192.0.2.1:5353\nnameserver ::1\n",
	     "[::1]:53", NULL},
	    {"nameservers 192.0.2.1\nNAMESERVER 192.0.2.2\nnameserver 192.0.2.3\n",
	     "192.0.2.3:53", NULL},
	    {"nameserver 192.0.2.1\r\n", "192.0.2.1:53", NULL},
	    {"nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n"
	     "nameserver 192.0.2.4\nnameserver 192.0.2.5\nnameserver 192.0.2.6\n"
	     "nameserver 192.0.2.7\nnameserver 192.0.2.8\nnameserver 192.0.2.9\n"
	     "nameserver 192.0.2.10\n",
	     "192.0.2.1:53,192.0.2.2:53,192.0.2.3:53,192.0.2.4:53,192.0.2.5:53,"
	     "192.0.2.6:53,192.0.2.7:53,192.0.2.8:53",
	     NULL},
	    {"", NULL, "names no usable nameserver"},
	    {"# nothing\nsearch example.com\n", NULL, "names no usable nameserver"},
	    {"nameserver fe80::1%eth0\n", NULL, "names no usable nameserver"},
	    {"nameserver\n", NULL, "names no usable nameserver"},
	    {"nameserver host.example\n", NULL, "names no usable nameserver"},
	    {"nameserver 192.0.2.1:53\n", NULL, "names no usable nameserver"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *path = testutil_write_file(dir, "resolv.conf", cases[i].content);
		struct dns_server *v = NULL;
		size_t n = 0;
		char *err = NULL;
		int rc = dns_servers_from_resolv_conf(path, &v, &n, &err);

		if (cases[i].servers != NULL) {
			if (rc != 0)
				testutil_fail(__FILE__, __LINE__, "case %zu: %s", i, err);
			char *got = servers_text(v, n);
			if (strcmp(got, cases[i].servers) != 0)
				testutil_fail(__FILE__, __LINE__, "case %zu: %s, want %s",
				              i, got, cases[i].servers);
			free(got);
			free(v);
		} else {
			if (rc != -1)
				testutil_fail(__FILE__, __LINE__, "case %zu accepted", i);
			assert_null(v);
			assert_substring(err, cases[i].error);
			assert_substring(err, path);
			free(err);
		}
		free(path);
	}
}

static void
test_resolv_conf_missing(void **state)
{
	char *path = testutil_printf("%s/no-such-resolv.conf", dir);
	struct dns_server *v = NULL;
	size_t n = 0;
	char *err = NULL;
	(void)state;

	assert_int_equal(dns_servers_from_resolv_conf(path, &v, &n, &err), -1);
	assert_null(v);
	assert_substring(err, path);
	assert_substring(err, "No such file or directory");
	free(err);
	free(path);

	/* A directory is not a file either. */
	assert_int_equal(dns_servers_from_resolv_conf(dir, &v, &n, &err), -1);
	assert_substring(err, dir);
	free(err);
}

/* A line longer than the reader's buffer must not be read as two lines:
 * the tail of a long comment is still a comment (the file is read by
 * whole lines, however long). */
static void
test_resolv_conf_long_line(void **state)
{
	char *pad = testutil_repeat('x', 509);
	char *text =
	    testutil_printf("# %snameserver 192.0.2.66\nnameserver 192.0.2.1\n", pad);
	char *path = testutil_write_file(dir, "resolv.conf", text);
	struct dns_server *v = NULL;
	size_t n = 0;
	char *err = NULL;
	(void)state;

	int rc = dns_servers_from_resolv_conf(path, &v, &n, &err);
	char *got = rc == 0 ? servers_text(v, n) : testutil_printf("error: %s", err);
	bool right = strcmp(got, "192.0.2.1:53") == 0;

	if (!right)
		print_error("a comment line of %zu bytes gave the servers %s\n",
		            strcspn(text, "\n"), got);
	free(got);
	free(v);
	free(err);
	free(path);
	free(text);
	free(pad);
	assert_true(right);
}

static void
test_authres_is_ours(void **state)
{
	static const struct {
		const char *value, *id;
		bool ours;
	} cases[] = {
	    {"mx.example.com; spf=pass smtp.mailfrom=example.org", "mx.example.com",
	     true},
	    {"MX.Example.COM; spf=pass", "mx.example.com", true},
	    {"mx.example.com; spf=pass", "MX.EXAMPLE.COM", true},
	    {"(comment) mx.example.com; dkim=pass", "mx.example.com", true},
	    {"(nested (comment) here) mx.example.com; x", "mx.example.com", true},
	    {"(escaped \\) paren) mx.example.com; x", "mx.example.com", true},
	    {"(one)(two) (three) mx.example.com; x", "mx.example.com", true},
	    {"mx.example.com", "mx.example.com", true},
	    {"mx.example.com;", "mx.example.com", true},
	    {"  mx.example.com (c) ; none", "mx.example.com", true},
	    {"mx.example.com(c); none", "mx.example.com", true},
	    {"mx.example.com 1; spf=pass", "mx.example.com", true},
	    {"\r\n\tmx.example.com\r\n\t; spf=pass", "mx.example.com", true},
	    {"mx.example.com.evil; x", "mx.example.com", false},
	    {"mx.example.co; x", "mx.example.com", false},
	    {"evil.mx.example.com; x", "mx.example.com", false},
	    {"mx-example.com; x", "mx.example.com", false},
	    {"mx.example.comm; x", "mx.example.com", false},
	    {"x; mx.example.com", "mx.example.com", false},
	    {"(mx.example.com) other.example; x", "mx.example.com", false},
	    {"(unterminated mx.example.com; x", "mx.example.com", false},
	    {"\"mx.example.com\"; x", "mx.example.com", false},
	    {"", "mx.example.com", false},
	    {"   ", "mx.example.com", false},
	    {"; spf=pass", "mx.example.com", false},
	    {"mx.example.com; x", "", false},
	    {"; spf=pass", "", false},
	    {"", "", false},
	    {"(c) ; x", "", false},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++)
		if (authres_is_ours(cases[i].value, cases[i].id) != cases[i].ours)
			testutil_fail(__FILE__, __LINE__, "\"%s\" with \"%s\": %s",
			              cases[i].value, cases[i].id,
			              cases[i].ours ? "not ours" : "ours");
}

static void
test_authres_build(void **state)
{
	static const char *const two[] = {
	    "iprev=pass smtp.remote-ip=192.0.2.1 policy.iprev=mail.example.org",
	    "dnswl=pass dns.zone=list.dnswl.example policy.ip=127.0.10.0",
	};
	static const char *const one[] = {"spf=pass smtp.mailfrom=example.org"};
	static const char *const empty_method[] = {""};
	static const struct {
		const char *id;
		const char *const *methods;
		size_t n;
		const char *want;
	} cases[] = {
	    {"mx.example.com", two, 2,
	     "mx.example.com;\n"
	     "\tiprev=pass smtp.remote-ip=192.0.2.1 policy.iprev=mail.example.org;\n"
	     "\tdnswl=pass dns.zone=list.dnswl.example policy.ip=127.0.10.0"},
	    {"id", two, 2,
	     "id;\n\tiprev=pass smtp.remote-ip=192.0.2.1 policy.iprev=mail.example.org;\n"
	     "\tdnswl=pass dns.zone=list.dnswl.example policy.ip=127.0.10.0"},
	    {"id", one, 1, "id;\n\tspf=pass smtp.mailfrom=example.org"},
	    {"id", NULL, 0, "id; none"},
	    {"mx.example.com", two, 0, "mx.example.com; none"},
	    {"", NULL, 0, "; none"},
	    {"id", empty_method, 1, "id;\n\t"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *got = authres_build(cases[i].id, cases[i].methods, cases[i].n);
		assert_string_equal(got, cases[i].want);
		/* What we write, we recognise. */
		if (cases[i].id[0] != '\0')
			assert_true(authres_is_ours(got, cases[i].id));
		free(got);
	}
}

static void
test_authres_build_many(void **state)
{
	enum { N = 200 };
	const char *methods[N];
	char *m = testutil_repeat('m', 100), *want = testutil_printf("%s", "id"), *next;
	(void)state;

	for (size_t i = 0; i < N; i++) {
		methods[i] = m;
		next = testutil_printf("%s;\n\t%s", want, m);
		free(want);
		want = next;
	}
	char *got = authres_build("id", methods, N);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(m);
}

/* Load text as a config file; returns the config or NULL with *err. */
static struct config *
load(const char *text, char **err)
{
	char *path = testutil_write_file(dir, "postern.conf", text);
	struct config *cfg;

	*err = NULL;
	cfg = config_load(path, err);
	free(path);
	return cfg;
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *text;
		const char *const error[3]; /* substrings of the message */
	} cases[] = {
	    {"dns_servers = host.example\n",
	     {"postern.conf, line 1: dns_servers: ",
	      "\"host.example\" is not an address"}},
	    {"# c\n\ndns_servers = 127.0.0.1:0\n",
	     {"postern.conf, line 3: dns_servers: ", "bad port"}},
	    {"dns_servers = 127.0.0.1,\n   [::1\n",
	     {"postern.conf, line 1: dns_servers: ", "\"[::1\" is not an address"}},
	    {"dns_servers = 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 "
	     "1.1.1.8 1.1.1.9\n",
	     {"line 1: dns_servers: more than 8 servers"}},
	    {"dns_timeout = 0\n", {"postern.conf, line 1: dns_timeout: ", "at least 1s"}},
	    {"socket = x\ndns_timeout = 0s\n",
	     {"line 2: dns_timeout: must be at least 1s"}},
	    {"dns_timeout = soon\n", {"line 1: dns_timeout: \"soon\" is not a time"}},
	    {"dns_cache_size = -1\n",
	     {"line 1: dns_cache_size: \"-1\" is not a non-negative number"}},
	    {"dns_cache_size = lots\n", {"dns_cache_size:", "is not a non-negative"}},
	    {"dnsbl_sites = zen.example=127.0.0.[2..300]\n",
	     {"postern.conf, line 1: dnsbl_sites: ", "zen.example=127.0.0.[2..300]"}},
	    {"dnsbl_sites = zen.example=127.0.0\n", {"line 1: dnsbl_sites: ", "bad"}},
	    {"dnsbl_sites = good.example, bad..example\n",
	     {"line 1: dnsbl_sites: ", "bad..example"}},
	    {"dnsbl_threshold = x\n",
	     {"postern.conf, line 1: dnsbl_threshold: \"x\" is not an integer"}},
	    {"dnsbl_threshold = 1.5\n", {"dnsbl_threshold: \"1.5\" is not an integer"}},
	    {"dnsbl_threshold =\n", {"dnsbl_threshold: \"\" is not an integer"}},
	    {"dnsbl_temp_action = maybe\n",
	     {"postern.conf, line 1: dnsbl_temp_action: \"maybe\" is not defer or "
	      "dunno"}},
	    {"dnsbl_temp_action = DEFER\n", {"dnsbl_temp_action: \"DEFER\""}},
	    {"my_helo_names = bad_name!\n",
	     {"postern.conf, line 1: my_helo_names: \"bad_name!\" is not a host name"}},
	    {"my_helo_names = mx.example.com, -bad.example\n",
	     {"line 1: my_helo_names: \"-bad.example\" is not a host name"}},
	    {"unknown_client_reject_code = 250\n",
	     {"postern.conf, line 1: unknown_client_reject_code: \"250\" is not a 4XX or "
	      "5XX reply code"}},
	    {"unknown_client_reject_code = 5500\n",
	     {"unknown_client_reject_code: \"5500\" is not a 4XX or 5XX reply code"}},
	    {"non_fqdn_reject_code = 5x4\n", {"non_fqdn_reject_code: \"5x4\""}},
	    {"maps_rbl_reject_code = 650\n", {"maps_rbl_reject_code: \"650\""}},
	    {"client_restrictions = reject_rbl_client\n",
	     {"postern.conf, line 1: client_restrictions: reject_rbl_client needs a list "
	      "domain"}},
	    {"client_restrictions = permit_mynetworks,\n\treject_rbl_client\n",
	     {"line 1: client_restrictions: reject_rbl_client needs a list domain"}},
	    {"client_restrictions = reject_rbl_client bl.example=127.0.0.[2..300]\n",
	     {"client_restrictions: reject_rbl_client bl.example=127.0.0.[2..300]: "}},
	    {"client_restrictions = reject_rbl_client bl.example*2\n",
	     {"client_restrictions: reject_rbl_client bl.example*2: ",
	      "a weight is not allowed here"}},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *err;
		struct config *cfg = load(cases[i].text, &err);

		if (cfg != NULL)
			testutil_fail(__FILE__, __LINE__, "accepted: %s", cases[i].text);
		for (size_t k = 0; k < N_ELEMS(cases[i].error) && cases[i].error[k]; k++)
			assert_substring(err, cases[i].error[k]);
		free(err);
	}
}

static void
test_config_accepted(void **state)
{
	static const struct {
		const char *text;
		const char *key; /* checked below by name */
		long value;
	} cases[] = {
	    {"unknown_client_reject_code = 550\n", "unknown_client_reject_code", 550},
	    {"unknown_client_reject_code = 450\n", "unknown_client_reject_code", 450},
	    {"unknown_hostname_reject_code = 554\n", "unknown_hostname_reject_code", 554},
	    {"dns_timeout = 1\n", "dns_timeout", 1},
	    {"dns_timeout = 2m\n", "dns_timeout", 120},
	    {"dnsbl_threshold = -3\n", "dnsbl_threshold", -3},
	    {"dnsbl_threshold = 0\n", "dnsbl_threshold", 0},
	    {"dnsbl_temp_action = dunno\n", "dnsbl_temp_defer", 0},
	    {"dnsbl_temp_action = defer\n", "dnsbl_temp_defer", 1},
	    {"dns_cache_size = 0\n", "dns_cache_size", 0},
	    {"dns_servers = 127.0.0.1:5353\n", "dns_timeout", 5},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *err;
		struct config *cfg = load(cases[i].text, &err);
		long got;

		if (cfg == NULL)
			testutil_fail(__FILE__, __LINE__, "%s: %s", cases[i].text, err);
		if (strcmp(cases[i].key, "unknown_client_reject_code") == 0)
			got = cfg->unknown_client_reject_code;
		else if (strcmp(cases[i].key, "unknown_hostname_reject_code") == 0)
			got = cfg->unknown_hostname_reject_code;
		else if (strcmp(cases[i].key, "dns_timeout") == 0)
			got = cfg->dns_timeout;
		else if (strcmp(cases[i].key, "dnsbl_threshold") == 0)
			got = cfg->dnsbl_threshold;
		else if (strcmp(cases[i].key, "dnsbl_temp_defer") == 0)
			got = cfg->dnsbl_temp_defer;
		else
			got = cfg->dns_cache_size;
		if (got != cases[i].value)
			testutil_fail(__FILE__, __LINE__, "%s: %s = %ld, want %ld",
			              cases[i].text, cases[i].key, got, cases[i].value);
		assert_non_null(cfg->resolver);
		assert_int_equal(dns_resolver_timeout(cfg->resolver),
		                 cfg->dns_timeout * 1000);
		config_unref(cfg);
	}
}

static void
test_config_rbl_client(void **state)
{
	char *err;
	struct config *cfg = load("client_restrictions = permit_mynetworks,\n"
	                          "    reject_rbl_client bl.example=127.0.0.[2..4]\n"
	                          "    warn_if_reject reject_rbl_client Other.Example.\n",
	                          &err);
	struct ipaddr ip;
	(void)state;

	if (cfg == NULL)
		fail_msg("%s", err);
	assert_int_equal(cfg->lists[RL_CLIENT].n, 3);
	const struct restriction *r = &cfg->lists[RL_CLIENT].v[1];
	assert_non_null(r->site);
	assert_string_equal(r->site->domain, "bl.example");
	assert_true(r->site->has_filter);
	assert_int_equal(ipaddr_parse("127.0.0.3", &ip), 0);
	assert_true(dnsbl_filter_match(&r->site->filter, &ip));
	assert_int_equal(ipaddr_parse("127.0.0.5", &ip), 0);
	assert_false(dnsbl_filter_match(&r->site->filter, &ip));
	assert_false(r->warn_only);
	r = &cfg->lists[RL_CLIENT].v[2];
	assert_true(r->warn_only);
	assert_string_equal(r->site->domain, "other.example");
	assert_false(r->site->has_filter);
	config_unref(cfg);
}

static void
test_config_good_dns_file(void **state)
{
	char *err, *out = NULL;
	size_t len = 0;
	struct config *cfg = load("dns_servers = 127.0.0.1:5353,\n"
	                          "    [::1]:5353\n"
	                          "dns_timeout = 3s\n"
	                          "dns_cache_size = 500\n"
	                          "dnsbl_sites = zen.example=127.0.0.[2..11]*3,\n"
	                          "    bl.example.net*-1 allow.example=127.0.0.2*-5\n"
	                          "dnsbl_threshold = 2\n"
	                          "dnsbl_temp_action = dunno\n"
	                          "my_helo_names = MX.Example.COM. mail.example.com\n"
	                          "unknown_client_reject_code = 550\n"
	                          "unknown_address_reject_code = 554\n"
	                          "invalid_hostname_reject_code = 550\n"
	                          "non_fqdn_reject_code = 450\n"
	                          "maps_rbl_reject_code = 454\n",
	                          &err);
	FILE *fp;
	(void)state;

	if (cfg == NULL)
		fail_msg("%s", err);
	assert_int_equal(cfg->ndns_servers, 2);
	assert_int_equal(cfg->dns_server_v[0].addr.family, AF_INET);
	assert_int_equal(cfg->dns_server_v[0].port, 5353);
	assert_int_equal(cfg->dns_server_v[1].addr.family, AF_INET6);
	assert_int_equal(cfg->dns_server_v[1].port, 5353);
	assert_int_equal(cfg->dns_timeout, 3);
	assert_int_equal(dns_resolver_timeout(cfg->resolver), 3000);
	assert_int_equal(cfg->dns_cache_size, 500);
	assert_int_equal(cfg->ndnsbl_sites, 3);
	assert_string_equal(cfg->dnsbl_sites[0].domain, "zen.example");
	assert_int_equal(cfg->dnsbl_sites[0].weight, 3);
	assert_true(cfg->dnsbl_sites[0].has_filter);
	assert_string_equal(cfg->dnsbl_sites[1].domain, "bl.example.net");
	assert_int_equal(cfg->dnsbl_sites[1].weight, -1);
	assert_int_equal(cfg->dnsbl_sites[2].weight, -5);
	assert_int_equal(cfg->dnsbl_threshold, 2);
	assert_false(cfg->dnsbl_temp_defer);
	assert_non_null(cfg->my_helo_names);
	assert_string_equal(cfg->my_helo_names[0], "mx.example.com");
	assert_string_equal(cfg->my_helo_names[1], "mail.example.com");
	assert_null(cfg->my_helo_names[2]);
	assert_int_equal(cfg->unknown_client_reject_code, 550);
	assert_int_equal(cfg->unknown_address_reject_code, 554);
	assert_int_equal(cfg->invalid_hostname_reject_code, 550);
	assert_int_equal(cfg->non_fqdn_reject_code, 450);
	assert_int_equal(cfg->maps_rbl_reject_code, 454);
	/* Not set: the defaults. */
	assert_int_equal(cfg->unknown_hostname_reject_code, 450);
	assert_int_equal(cfg->multi_recipient_bounce_reject_code, 550);

	fp = open_memstream(&out, &len);
	config_print(cfg, fp);
	fclose(fp);
	static const char *const lines[] = {
	    "\ndns_servers = 127.0.0.1:5353, [::1]:5353\n",
	    "\ndns_timeout = 3s\n",
	    "\ndns_cache_size = 500\n",
	    "\ndnsbl_sites = zen.example=127.0.0.[2..11]*3, bl.example.net*-1 "
	    "allow.example=127.0.0.2*-5\n",
	    "\ndnsbl_threshold = 2\n",
	    "\ndnsbl_temp_action = dunno\n",
	    "\nmy_helo_names = MX.Example.COM. mail.example.com\n",
	    "\nunknown_client_reject_code = 550\n",
	    "\nunknown_hostname_reject_code = 450\n",
	    "\nunknown_address_reject_code = 554\n",
	    "\ninvalid_hostname_reject_code = 550\n",
	    "\nnon_fqdn_reject_code = 450\n",
	    "\nmaps_rbl_reject_code = 454\n",
	    "\nmulti_recipient_bounce_reject_code = 550\n",
	};
	for (size_t i = 0; i < N_ELEMS(lines); i++)
		assert_substring(out, lines[i]);
	free(out);
	config_unref(cfg);
}

static void
test_config_dns_defaults(void **state)
{
	char *err = NULL;
	struct config *cfg = config_load(NULL, &err);
	(void)state;

	assert_non_null(cfg);
	assert_int_equal(cfg->ndns_servers, 0);
	assert_null(cfg->dns_server_v);
	assert_int_equal(cfg->dns_timeout, 5);
	assert_int_equal(dns_resolver_timeout(cfg->resolver), 5000);
	assert_int_equal(cfg->dns_cache_size, 10000);
	assert_int_equal(cfg->ndnsbl_sites, 0);
	assert_int_equal(cfg->dnsbl_threshold, 1);
	assert_true(cfg->dnsbl_temp_defer);
	assert_non_null(cfg->my_helo_names);
	assert_null(cfg->my_helo_names[0]);
	assert_int_equal(cfg->unknown_client_reject_code, 450);
	assert_int_equal(cfg->unknown_hostname_reject_code, 450);
	assert_int_equal(cfg->unknown_address_reject_code, 450);
	assert_int_equal(cfg->invalid_hostname_reject_code, 501);
	assert_int_equal(cfg->non_fqdn_reject_code, 504);
	assert_int_equal(cfg->maps_rbl_reject_code, 554);
	assert_int_equal(cfg->multi_recipient_bounce_reject_code, 550);
	config_unref(cfg);
}

/* A dns_timeout the resolver cannot hold in milliseconds must be refused
 * or capped, never wrapped around to a shorter one. */
static void
test_config_dns_timeout_huge(void **state)
{
	static const char *const texts[] = {
	    "dns_timeout = 7w\n",
	    "dns_timeout = 50d\n",
	    "dns_timeout = 4294968\n",
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		char *err;
		struct config *cfg = load(texts[i], &err);

		if (cfg == NULL) {
			assert_substring(err, "dns_timeout");
			free(err);
			continue;
		}
		unsigned long long want = (unsigned long long)cfg->dns_timeout * 1000;
		unsigned got = dns_resolver_timeout(cfg->resolver);
		config_unref(cfg);
		if (want > UINT_MAX)
			want = UINT_MAX - UINT_MAX % 1000;
		if (got < want)
			testutil_fail(__FILE__, __LINE__,
			              "%.*s gives a resolver timeout of %u ms",
			              (int)strlen(texts[i]) - 1, texts[i], got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_servers_good),
	    cmocka_unit_test(test_servers_bad),
	    cmocka_unit_test(test_servers_long_items),
	    cmocka_unit_test(test_resolv_conf),
	    cmocka_unit_test(test_resolv_conf_missing),
	    cmocka_unit_test(test_resolv_conf_long_line),
	    cmocka_unit_test(test_authres_is_ours),
	    cmocka_unit_test(test_authres_build),
	    cmocka_unit_test(test_authres_build_many),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_config_accepted),
	    cmocka_unit_test(test_config_rbl_client),
	    cmocka_unit_test(test_config_good_dns_file),
	    cmocka_unit_test(test_config_dns_defaults),
	    cmocka_unit_test(test_config_dns_timeout_huge),
	};

	return cmocka_run_group_tests(tests, testutil_dir_setup, testutil_dir_teardown);
}
