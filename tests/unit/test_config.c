/*
 * test_config: postern.conf parsing, good and broken files.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "policy/conf.h"
#include "testutil.h"

#define dir testutil_dir

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
load_error(const char *text, const char *expect)
{
	char *err;
	struct config *cfg = load(text, &err);

	assert_null(cfg);
	assert_non_null(err);
	assert_substring(err, expect);
	free(err);
}

static void
test_defaults(void **state)
{
	char *err = NULL;
	struct config *cfg = config_load(NULL, &err);

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(cfg->socket, "inet:8895@127.0.0.1");
	assert_string_equal(cfg->database, "/var/lib/postern/postern.db");
	assert_string_equal(cfg->user, "postern");
	assert_true(cfg->delay_reject);
	assert_false(cfg->soft_bounce);
	assert_true(cfg->auto_restart);
	assert_int_equal(cfg->auto_restart_count, 10);
	assert_int_equal(cfg->auto_restart_window, 3600);
	assert_int_equal(cfg->reject_code, 554);
	assert_int_equal(cfg->access_map_defer_code, 450);
	assert_string_equal(cfg->authserv_id, cfg->myhostname);
	assert_int_equal(cfg->internal_networks.n, 2);
	config_unref(cfg);
}

static void
test_values_and_syntax(void **state)
{
	char *err;
	struct config *cfg = load("# a comment\n"
	                          "socket = unix:/run/postern/postern.sock\n"
	                          "\n"
	                          "myhostname = mx.example.org\n"
	                          "authserv_id = ${myhostname}-auth\n"
	                          "internal_networks = 192.0.2.0/24,\n"
	                          "    [2001:db8::]/32\n"
	                          "\t10.0.0.0/8\n"
	                          "   # an indented comment line is still a comment\n"
	                          "delay_reject = no\n"
	                          "soft_bounce = yes\n"
	                          "shutdown_timeout = 2m\n"
	                          "auto_restart_rate = 3/10m\n"
	                          "client_restrictions = permit_mynetworks,\n"
	                          "   warn_if_reject reject\n",
	                          &err);

	(void)state;
	if (cfg == NULL)
		fail_msg("%s", err);
	assert_string_equal(cfg->socket, "unix:/run/postern/postern.sock");
	assert_string_equal(cfg->authserv_id, "mx.example.org-auth");
	assert_int_equal(cfg->internal_networks.n, 3);
	assert_false(cfg->delay_reject);
	assert_true(cfg->soft_bounce);
	assert_int_equal(cfg->shutdown_timeout, 120);
	assert_int_equal(cfg->auto_restart_count, 3);
	assert_int_equal(cfg->auto_restart_window, 600);
	assert_int_equal(cfg->lists[RL_CLIENT].n, 2);
	assert_false(cfg->lists[RL_CLIENT].v[0].warn_only);
	assert_true(cfg->lists[RL_CLIENT].v[1].warn_only);
	config_unref(cfg);
}

static void
test_time_values(void **state)
{
	unsigned s;

	(void)state;
	assert_int_equal(config_parse_time("30", &s), 0);
	assert_int_equal(s, 30);
	assert_int_equal(config_parse_time("30s", &s), 0);
	assert_int_equal(s, 30);
	assert_int_equal(config_parse_time("5m", &s), 0);
	assert_int_equal(s, 300);
	assert_int_equal(config_parse_time("1h", &s), 0);
	assert_int_equal(s, 3600);
	assert_int_equal(config_parse_time("2d", &s), 0);
	assert_int_equal(s, 172800);
	assert_int_equal(config_parse_time("1w", &s), 0);
	assert_int_equal(s, 604800);
	assert_int_equal(config_parse_time("", &s), -1);
	assert_int_equal(config_parse_time("m", &s), -1);
	assert_int_equal(config_parse_time("5x", &s), -1);
	assert_int_equal(config_parse_time("5mm", &s), -1);
	assert_int_equal(config_parse_time("-5", &s), -1);
	assert_int_equal(config_parse_time("99999999999w", &s), -1);
}

static void
test_errors_name_file_line_key(void **state)
{
	(void)state;
	load_error("socket = x\nsoket = y\n",
	           "postern.conf, line 2: unknown key \"soket\"");
	load_error("soket = y\n", "did you mean socket?");
	load_error("\n\ndelay_reject = maybe\n",
	           "line 3: delay_reject: \"maybe\" is not yes or no");
	load_error("shutdown_timeout = soon\n",
	           "line 1: shutdown_timeout: \"soon\" is not a time");
	load_error("reject_code = 450\n", "reject_code: \"450\" is not a 5XX reply code");
	load_error("defer_code = 4x0\n", "defer_code: \"4x0\" is not a 4XX reply code");
	load_error("internal_networks = 192.0.2.1/24\n", "line 1: internal_networks:");
	load_error("internal_networks = bogus\n", "internal_networks:");
	load_error("auto_restart_rate = often\n", "is not COUNT/TIME");
	load_error("client_restrictions = permit_everybody\n",
	           "client_restrictions: unknown restriction \"permit_everybody\"");
	load_error("client_restrictions = check_client_access\n",
	           "needs a table argument");
	load_error("client_restrictions = reject warn_if_reject\n",
	           "warn_if_reject must be followed by a restriction");
	load_error("client_restrictions = check_client_access cidr:/nonexistent/t\n",
	           "/nonexistent/t");
	load_error("client_restrictions = check_client_access cidr:relative/t\n",
	           "the table path must be absolute");
	load_error("auto_restart_rate = 5000/1h\n", "at most 1000");
	load_error("   indented = first\n", "continuation line without a setting");
	load_error("just some words\n", "line 1: missing '='");
	load_error("authserv_id = $nosuchkey\n", "$nosuchkey: no such key");
	load_error("authserv_id = $authserv_id\n", "refers to itself");
	load_error("myhostname = a\x01b\n", "control character");
}

/* The SPF keys: actions, the deadline and the clients not checked. */
static void
test_spf_keys(void **state)
{
	char *err;
	struct config *cfg;
	struct ipaddr ip;
	(void)state;

	cfg = load("", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->spf_action[SPF_R_FAIL], ACT_REJECT);
	assert_int_equal(cfg->spf_action[SPF_R_TEMPERROR], ACT_DEFER);
	assert_int_equal(cfg->spf_action[SPF_R_PERMERROR], ACT_ACCEPT);
	assert_int_equal(cfg->spf_action[SPF_R_SOFTFAIL], ACT_ACCEPT);
	assert_int_equal(cfg->spf_timeout, 10);
	assert_true(cfg->received_spf_header);
	assert_false(cfg->spf_helo_check);
	config_unref(cfg);

	cfg = load("spf_permerror_action = reject\nspf_softfail_action = defer\n"
	           "spf_skip_clients = 192.0.2.7, 198.51.100.0/24 [2001:db8::]/32\n"
	           "    relay.example.net .forward.example\n",
	           &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->spf_action[SPF_R_PERMERROR], ACT_REJECT);
	assert_int_equal(cfg->spf_action[SPF_R_SOFTFAIL], ACT_DEFER);
	static const struct {
		const char *addr, *name;
		bool match;
	} cases[] = {
	    {"192.0.2.7", NULL, true},
	    {"192.0.2.8", NULL, false},
	    {"198.51.100.200", NULL, true},
	    {"2001:db8::25", NULL, true},
	    {"203.0.113.1", "relay.example.net", true},
	    {"203.0.113.1", "RELAY.example.net", true},
	    {"203.0.113.1", "xrelay.example.net", false},
	    {"203.0.113.1", "mx.forward.example", true},
	    {"203.0.113.1", "forward.example", false},
	    {"203.0.113.1", NULL, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ipaddr_parse(cases[i].addr, &ip), 0);
		if (client_list_match(&cfg->spf_skip_clients, &ip, cases[i].name) !=
		    cases[i].match)
			testutil_fail(__FILE__, __LINE__, "%s %s: want %s", cases[i].addr,
			              cases[i].name ? cases[i].name : "(no name)",
			              cases[i].match ? "match" : "no match");
	}
	config_unref(cfg);

	load_error("spf_fail_action = bounce\n",
	           "spf_fail_action: \"bounce\" is not accept, reject or defer");
	load_error("spf_timeout = 0\n", "spf_timeout: must be at least 1s");
	load_error("spf_timeout = 1h\n",
	           "spf_timeout: must be at least 1s and at most 10m");
	load_error("spf_skip_clients = 192.0.2.1/33\n", "spf_skip_clients:");
	load_error("spf_skip_clients = bad_name!\n",
	           "is not an address, network or host name");
}

static void
test_bad_table_line_names_table(void **state)
{
	char *table =
	    testutil_write_file(dir, "clients", "192.0.2.0/24 OK\n192.0.2.1/33 REJECT\n");
	char *text =
	    testutil_printf("client_restrictions = check_client_access cidr:%s\n", table);

	(void)state;
	load_error(text, "clients, line 2");
	free(text);
	free(table);
}

static void
test_missing_file(void **state)
{
	char *err = NULL;

	(void)state;
	assert_null(config_load("/nonexistent/postern.conf", &err));
	assert_substring(err, "/nonexistent/postern.conf: No such file or directory");
	free(err);
}

static void
test_huge_and_binary_input(void **state)
{
	char *big = testutil_repeat('a', 100000),
	     *text = testutil_printf("myhostname = %s\n", big);
	char *err;
	struct config *cfg = load(text, &err);

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(strlen(cfg->myhostname), 100000);
	config_unref(cfg);
	free(text);
	free(big);

	char *path = testutil_write_bytes(dir, "nul.conf", "socket = a\0b\n", 12);
	assert_null(config_load(path, &err));
	assert_substring(err, "NUL byte");
	free(err);
	free(path);
}

static void
test_print_and_key_table(void **state)
{
	char *err = NULL, *out = NULL;
	size_t len = 0;
	struct config *cfg = config_load(NULL, &err);
	FILE *fp = open_memstream(&out, &len);

	(void)state;
	config_print(cfg, fp);
	fclose(fp);
	for (size_t i = 0; config_key_name(i) != NULL; i++) {
		char *line = testutil_printf("%s = ", config_key_name(i));
		assert_substring(out, line);
		free(line);
	}
	assert_substring(out, "socket = inet:8895@127.0.0.1\n");
	free(out);
	config_unref(cfg);
}

static void
test_refcount(void **state)
{
	char *err = NULL;
	struct config *cfg = config_load(NULL, &err);

	(void)state;
	assert_ptr_equal(config_ref(cfg), cfg);
	config_unref(cfg);
	assert_int_equal(atomic_load(&cfg->refs), 1);
	config_unref(cfg);
	config_unref(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_values_and_syntax),
	    cmocka_unit_test(test_time_values),
	    cmocka_unit_test(test_errors_name_file_line_key),
	    cmocka_unit_test(test_spf_keys),
	    cmocka_unit_test(test_bad_table_line_names_table),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_huge_and_binary_input),
	    cmocka_unit_test(test_print_and_key_table),
	    cmocka_unit_test(test_refcount),
	};
	return cmocka_run_group_tests(tests, testutil_dir_setup, testutil_dir_teardown);
}
