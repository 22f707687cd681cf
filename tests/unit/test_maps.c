/*
 * test_maps: policy/maps. Each table type with good files (comments,
 * continuation lines, first-match order, case rules, regexp negation,
 * substitution and if/endif), long lines, lookups from several threads,
 * and broken files, whose error messages must name the file and line.
 * Fixtures are written into a scratch directory made per test group.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>

#include "policy/maps.h"
#include "tests/unit/testutil.h"

static char *tmpdir;

static int
group_setup(void **state)
{
	(void)state;
	tmpdir = testutil_mkdtemp();
	return 0;
}

static int
group_teardown(void **state)
{
	int rc;

	(void)state;
	rc = testutil_rmtree(tmpdir);
	free(tmpdir);
	return rc;
}

/* Write content to a file name in the scratch directory and open it as
 * type ("cidr", ...); fails the test if the table does not open. */
static struct map *
open_table(const char *type, const char *name, const char *content)
{
	char *path = testutil_write_file(tmpdir, name, content);
	char *spec = testutil_printf("%s:%s", type, path);
	char *error = NULL;
	struct map *m = map_open(spec, &error);

	if (m == NULL)
		testutil_fail(__FILE__, __LINE__, "%s: %s", spec, error);
	assert_null(error);
	assert_string_equal(map_name(m), spec);
	free(spec);
	free(path);
	return m;
}

/* Expect map_lookup(key) to give want, or no match if want is NULL. */
static void
check_lookup(const struct map *m, const char *key, const char *want, int line)
{
	char buf[512];
	int rc = map_lookup(m, key, buf, sizeof(buf));

	if (want == NULL && rc != 0)
		testutil_fail(__FILE__, line, "%s: \"%s\" gave \"%s\", wanted no match",
		              map_name(m), key, buf);
	if (want != NULL && rc != 1)
		testutil_fail(__FILE__, line, "%s: \"%s\" did not match", map_name(m),
		              key);
	if (want != NULL && strcmp(buf, want) != 0)
		testutil_fail(__FILE__, line, "%s: \"%s\" gave \"%s\", wanted \"%s\"",
		              map_name(m), key, buf, want);
}

#define LOOKUP(m, key, want) check_lookup((m), (key), (want), __LINE__)

/* ---- texthash ---------------------------------------------------------- */

static void
test_texthash(void **state)
{
	struct map *m = open_table("texthash", "hash1",
	                           "# a comment\n"
	                           "\n"
	                           "example.com\tOK\n"
	                           "   # an indented comment\n"
	                           "User@Example.ORG   REJECT  go   away   \n"
	                           "\t\n"
	                           "spammer.test REJECT\n"
	                           "  spans two\n"
	                           "\tlines\n"
	                           "example.com DUPLICATE\n"
	                           "EXAMPLE.COM DUPLICATE2\n"
	                           "crlf.test value\r\n"
	                           "last.test no-newline");

	(void)state;
	LOOKUP(m, "example.com", "OK");
	LOOKUP(m, "EXAMPLE.com", "OK");
	LOOKUP(m, "user@example.org", "REJECT  go   away");
	LOOKUP(m, "USER@EXAMPLE.ORG", "REJECT  go   away");
	LOOKUP(m, "spammer.test", "REJECT  spans two\tlines");
	LOOKUP(m, "crlf.test", "value");
	LOOKUP(m, "last.test", "no-newline");
	LOOKUP(m, "example", NULL);
	LOOKUP(m, "example.com.", NULL);
	LOOKUP(m, "", NULL);
	LOOKUP(m, "#", NULL);
	LOOKUP(m, "a", NULL);
	map_free(m);
}

static void
test_texthash_truncation(void **state)
{
	struct map *m = open_table("texthash", "hash2", "key 0123456789\n");
	char buf[5] = "xxxx";

	(void)state;
	assert_int_equal(map_lookup(m, "key", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "0123");
	assert_int_equal(map_lookup(m, "key", buf, 1), 1);
	assert_string_equal(buf, "");
	assert_int_equal(map_lookup(m, "key", NULL, 0), 1);
	assert_int_equal(map_lookup(m, NULL, buf, sizeof(buf)), 0);
	map_free(m);
}

static void
test_texthash_many(void **state)
{
	size_t size = 5000 * 32, used = 0;
	char *content = malloc(size);
	struct map *m;

	(void)state;
	assert_non_null(content);
	for (unsigned i = 0; i < 5000; i++)
		used += (size_t)snprintf(content + used, size - used, "Key%u value%u\n",
		                         i, i);
	m = open_table("texthash", "hash3", content);
	for (unsigned i = 0; i < 5000; i += 7) {
		char key[32], want[32];

		snprintf(key, sizeof(key), "key%u", i);
		snprintf(want, sizeof(want), "value%u", i);
		LOOKUP(m, key, want);
	}
	LOOKUP(m, "key5000", NULL);
	map_free(m);
	free(content);
}

static void
test_long_lines(void **state)
{
	size_t n = 64 * 1024;
	char *key = testutil_repeat('k', n), *value = testutil_repeat('v', n);
	char *content = testutil_printf("%s %s\nshort x\n", key, value);
	char *buf = malloc(n + 16);
	struct map *m = open_table("texthash", "long", content);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(map_lookup(m, key, buf, n + 1), 1);
	assert_int_equal(strlen(buf), n);
	assert_string_equal(buf, value);
	LOOKUP(m, "short", "x");
	map_free(m);
	free(content);

	content = testutil_printf("/^(k+)$/ ${1}%s\n", value);
	m = open_table("regexp", "longrx", content);
	assert_int_equal(map_lookup(m, "kkk", buf, n + 16), 1);
	assert_int_equal(strlen(buf), n + 3);
	map_free(m);
	free(content);
	free(buf);
	free(key);
	free(value);
}

/* ---- cidr -------------------------------------------------------------- */

static void
test_cidr(void **state)
{
	struct map *m = open_table("cidr", "cidr1",
	                           "# clients\n"
	                           "192.0.2.0/24     first match\n"
	                           "192.0.2.0/25     never reached\n"
	                           "192.0.2.1        never reached either\n"
	                           "  \n"
	                           "198.51.100.7 HOST\n"
	                           "[2001:db8::]/32  SIX\n"
	                           "2001:db8::1      never\n"
	                           "203.0.113.0/24   REJECT\n"
	                           "   continued\n"
	                           "::/0             ANY6\n"
	                           "0.0.0.0/0        ANY4\n");

	(void)state;
	LOOKUP(m, "192.0.2.1", "first match");
	LOOKUP(m, "192.0.2.200", "first match");
	LOOKUP(m, "::ffff:192.0.2.9", "first match");
	LOOKUP(m, "198.51.100.7", "HOST");
	LOOKUP(m, "198.51.100.8", "ANY4");
	LOOKUP(m, "2001:db8::1", "SIX");
	LOOKUP(m, "[2001:db8::1]", "SIX");
	LOOKUP(m, "2001:db9::1", "ANY6");
	LOOKUP(m, "203.0.113.5", "REJECT   continued");
	LOOKUP(m, "example.com", NULL);
	LOOKUP(m, "192.0.2.0/24", NULL);
	LOOKUP(m, "", NULL);
	map_free(m);
}

static void
test_cidr_negate_and_if(void **state)
{
	struct map *m = open_table("cidr", "cidr2",
	                           "if 10.0.0.0/8\n"
	                           "  # inside the block\n"
	                           "if !10.1.0.0/16\n"
	                           "10.0.0.0/8 TEN-NOT-ONE\n"
	                           "endif\n"
	                           "10.1.2.0/24 TEN-ONE-TWO\n"
	                           "ENDIF\n"
	                           "!192.0.2.0/24 NOT-DOC\n"
	                           "0.0.0.0/0 DOC\n");

	(void)state;
	LOOKUP(m, "10.9.9.9", "TEN-NOT-ONE");
	LOOKUP(m, "10.1.2.3", "TEN-ONE-TWO");
	LOOKUP(m, "10.1.3.3", "NOT-DOC"); /* falls out of both ifs */
	LOOKUP(m, "11.0.0.1", "NOT-DOC");
	LOOKUP(m, "2001:db8::1", "NOT-DOC");
	LOOKUP(m, "192.0.2.1", "DOC");
	map_free(m);
}

/* ---- regexp ------------------------------------------------------------ */

static void
test_regexp(void **state)
{
	struct map *m = open_table("regexp", "rx1",
	                           "# patterns\n"
	                           "/^user@example\\.com$/        OK\n"
	                           "/^(.*)@(example\\.net)$/       user $1 at ${2}\n"
	                           "/^([a-z]+)-([0-9]+)@/          $(2)$1 costs $$5\n"
	                           "/^case@/i                      SENSITIVE\n"
	                           "/^a+$/x                        BASIC\n"
	                           "/^b$/m                         MULTILINE\n"
	                           "/^(a)x|^(b)x/                  [$1|$2]\n"
	                           ":^slash/in/pattern$:           COLON\n"
	                           "/^esc\\/aped$/                 ESCAPED\n"
	                           "/wide   open/                  WIDE\n"
	                           "/spam/                         first\n"
	                           "  continued\n"
	                           "/spam/                         second\n");

	(void)state;
	LOOKUP(m, "user@example.com", "OK");
	LOOKUP(m, "USER@EXAMPLE.COM", "OK");
	LOOKUP(m, "user@exampleXcom", NULL);
	LOOKUP(m, "Joe@Example.NET", "user Joe at Example.NET");
	LOOKUP(m, "abc-42@x", "42abc costs $5");
	LOOKUP(m, "case@x", "SENSITIVE");
	LOOKUP(m, "CASE@x", NULL);
	LOOKUP(m, "a+", "BASIC");
	LOOKUP(m, "aa", NULL);
	LOOKUP(m, "a\nb", "MULTILINE");
	LOOKUP(m, "bx", "[|b]");
	LOOKUP(m, "ax", "[a|]");
	LOOKUP(m, "slash/in/pattern", "COLON");
	LOOKUP(m, "esc/aped", "ESCAPED");
	LOOKUP(m, "a wide   open door", "WIDE");
	LOOKUP(m, "more spam please", "first  continued");
	LOOKUP(m, "nothing", NULL);
	map_free(m);
}

static void
test_regexp_negate_and_if(void **state)
{
	struct map *m = open_table("regexp", "rx2",
	                           "if /@example\\.com$/\n"
	                           "!/^postmaster@/   NOT-POSTMASTER $$1\n"
	                           "/^(.*)@/          POSTMASTER $1\n"
	                           "endif\n"
	                           "if !/@example\\.org$/\n"
	                           "if /^x/\n"
	                           "/./               X-NOT-ORG\n"
	                           "endif\n"
	                           "endif\n"
	                           "/@example\\.org$/ ORG\n");

	(void)state;
	LOOKUP(m, "joe@example.com", "NOT-POSTMASTER $1");
	LOOKUP(m, "Postmaster@example.com", "POSTMASTER Postmaster");
	LOOKUP(m, "xavier@example.net", "X-NOT-ORG");
	LOOKUP(m, "joe@example.net", NULL);
	LOOKUP(m, "xavier@example.org", "ORG");
	map_free(m);
}

static void
test_regexp_substitution_truncated(void **state)
{
	struct map *m = open_table("regexp", "rx3", "/^(.*)$/ <$1>\n");
	char buf[6];

	(void)state;
	assert_int_equal(map_lookup(m, "abcdefgh", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "<abcd");
	assert_int_equal(map_lookup(m, "ab", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "<ab>");
	map_free(m);
}

struct lookup_job {
	const struct map *m;
	int failures;
};

static void *
lookup_thread(void *arg)
{
	struct lookup_job *job = arg;

	for (unsigned i = 0; i < 2000; i++) {
		char key[64], want[64], buf[64];

		snprintf(key, sizeof(key), "user%u@host%u.example", i, i % 7);
		snprintf(want, sizeof(want), "host%u user%u", i % 7, i);
		if (map_lookup(job->m, key, buf, sizeof(buf)) != 1 ||
		    strcmp(buf, want) != 0)
			job->failures++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct map *m = open_table("regexp", "rx4",
	                           "/^nomatch/ x\n"
	                           "/^([^@]+)@([^.]+)\\.example$/ $2 $1\n");
	struct lookup_job jobs[4];
	pthread_t tids[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		jobs[i].m = m;
		jobs[i].failures = 0;
		assert_int_equal(pthread_create(&tids[i], NULL, lookup_thread, &jobs[i]),
		                 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tids[i], NULL), 0);
		assert_int_equal(jobs[i].failures, 0);
	}
	map_free(m);
}

/* ---- errors ------------------------------------------------------------ */

/* Write content, open it as type, and expect failure with "PATH, line
 * N: reason"; a reason ending in "..." need only start the message. */
static void
check_error(const char *type, const char *content, unsigned line, const char *reason,
            int srcline)
{
	size_t rlen = strlen(reason);
	bool prefix = rlen >= 3 && strcmp(reason + rlen - 3, "...") == 0;
	char *path = testutil_write_file(tmpdir, "broken", content);
	char *spec = testutil_printf("%s:%s", type, path);
	char *want = testutil_printf("%s, line %u: %.*s", path, line,
	                             (int)(prefix ? rlen - 3 : rlen), reason);
	char *error = NULL;
	struct map *m = map_open(spec, &error);

	if (m != NULL)
		testutil_fail(__FILE__, srcline, "%s opened, wanted \"%s\"", spec, want);
	if (error == NULL)
		testutil_fail(__FILE__, srcline, "%s failed without a message", spec);
	if (prefix ? strncmp(error, want, strlen(want)) != 0 : strcmp(error, want) != 0)
		testutil_fail(__FILE__, srcline, "got \"%s\", wanted \"%s\"%s", error,
		              want, prefix ? "..." : "");
	free(error);
	free(want);
	free(spec);
	free(path);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *type, *content;
		unsigned line;
		const char *reason; /* "..." at the end: a prefix */
	} cases[] = {
	    {"cidr", "192.0.2.0/24 OK\n\n192.0.2.1/33 REJECT\n", 3,
	     "\"192.0.2.1/33\": bad prefix length"},
	    {"cidr", "# comment\n192.0.2.1/24 x\n", 2,
	     "\"192.0.2.1/24\": host bits set (network is 192.0.2.0/24)"},
	    {"cidr", "192.0.2.0/24\n", 1,
	     "\"192.0.2.0/24\": missing value (expected \"pattern value\")"},
	    {"cidr", "192.0.2.0/24   \n", 1,
	     "\"192.0.2.0/24\": missing value (expected \"pattern value\")"},
	    {"cidr", "a.b.c.d value\n", 1, "\"a.b.c.d\": bad network address"},
	    {"cidr", "!foo value\n", 1, "\"foo\": bad network address"},
	    {"cidr", "10.0.0.0/8 x\nif 10.0.0.0/8\n10.1.0.0/16 y\n", 2,
	     "if without endif"},
	    {"cidr", "10.0.0.0/8 x\nendif\n", 2, "endif without if"},
	    {"cidr", "if 10.0.0.0/8 x\nendif\n", 1,
	     "\"x\": unexpected text after an if pattern"},
	    {"cidr", "if 10.0.0.0/8\nendif x\n", 2, "\"endif x\": text after endif"},
	    {"texthash", "a 1\nkeyonly\n", 2,
	     "\"keyonly\": missing value (expected \"key value\")"},
	    {"texthash", "  indented 1\n", 1,
	     "\"indented 1\": continuation line without a line to continue"},
	    {"texthash", "# comment\n\n  indented 1\n", 3,
	     "\"indented 1\": continuation line without a line to continue"},
	    {"regexp", "/a/ x\n/a(/ y\n", 2, "\"/a(/\": bad regular expression: ..."},
	    {"regexp", "/abc x\n", 1, "\"/abc x\": missing closing '/'"},
	    {"regexp", "abc x\n", 1, "\"abc x\": expected /pattern/"},
	    {"regexp", "/a/q x\n", 1, "\"/a/q\": unknown flag 'q' (use i, m or x)"},
	    {"regexp", "/(a)/ $2\n", 1, "\"$2\": $2 but the pattern has only 1 group(s)"},
	    {"regexp", "!/(a)/ $1\n", 1,
	     "\"$1\": $1 in the value of a negated pattern, which has no groups"},
	    {"regexp", "/a/ cost $x\n", 1,
	     "\"$x\": bad substitution (use $1 to $9, or $$ for $)"},
	    {"regexp", "/a/ ${1\n", 1,
	     "\"${1\": bad substitution (use $1 to $9, or $$ for $)"},
	    {"regexp", "/a/ $0\n", 1,
	     "\"$0\": bad substitution (use $1 to $9, or $$ for $)"},
	    {"regexp", "/(a)/ $10\n", 1,
	     "\"$10\": bad substitution (use $1 to $9, or $$ for $)"},
	    {"regexp", "/a/ x$\n", 1,
	     "\"$\": bad substitution (use $1 to $9, or $$ for $)"},
	    {"regexp", "if /a/ junk\nendif\n", 1,
	     "\"junk\": unexpected text after an if pattern"},
	    {"regexp", "/a/\n", 1, "\"/a/\": missing value (expected \"pattern value\")"},
	    {"regexp", "/a/ x\n  continued\n# c\n\n/b(/ y\n", 5,
	     "\"/b(/\": bad regular expression: ..."},
	    {"regexp", "/a/ x\n  continued\n/b/ $2\n", 3,
	     "\"$2\": $2 but the pattern has only 0 group(s)"},
	    {"regexp", "if /a/\n/b/ x\n", 1, "if without endif"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_error(cases[i].type, cases[i].content, cases[i].line,
		            cases[i].reason, __LINE__);
}

static void
test_error_nul_byte(void **state)
{
	static const char data[] = "a 1\nb 2\0junk\nc 3\n";
	char *path = testutil_write_bytes(tmpdir, "nul", data, sizeof(data) - 1);
	char *spec = testutil_printf("texthash:%s", path);
	char *want = testutil_printf("%s, line 2: line contains a NUL byte", path);
	char *error = NULL;

	(void)state;
	assert_null(map_open(spec, &error));
	assert_string_equal(error, want);
	free(error);
	free(want);
	free(spec);
	free(path);
}

static void
test_error_long_line_quoted(void **state)
{
	char *pattern = testutil_repeat('p', 64 * 1024);
	char *content = testutil_printf("/%s(/ x\n", pattern);
	char *path = testutil_write_file(tmpdir, "longbad", content);
	char *spec = testutil_printf("regexp:%s", path);
	char *error = NULL;

	(void)state;
	assert_null(map_open(spec, &error));
	assert_non_null(error);
	assert_true(strlen(error) < strlen(path) + 300);
	assert_substring(error, ", line 1: \"/ppp");
	assert_substring(error, "...\": bad regular expression");
	free(error);
	free(spec);
	free(path);
	free(content);
	free(pattern);
}

static void
test_error_open(void **state)
{
	static const struct {
		const char *spec, *error;
	} cases[] = {
	    {"cidr:/nonexistent/postern/table",
	     "/nonexistent/postern/table: No such file or "
	     "directory"},
	    {"foo:/x",
	     "\"foo:/x\": unknown table type (use cidr:, texthash: or regexp:)"},
	    {"/etc/hosts", "\"/etc/hosts\": unknown table type (use cidr:, texthash: or "
	                   "regexp:)"},
	    {"hash:/etc/postfix/access",
	     "\"hash:/etc/postfix/access\": unknown table type "
	     "(use cidr:, texthash: or regexp:)"},
	    {"", "\"\": unknown table type (use cidr:, texthash: or regexp:)"},
	    {"regexp:", "\"regexp:\": missing file name"},
	};
	char *error = NULL, *spec, *want;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(map_open(cases[i].spec, &error));
		assert_string_equal(error, cases[i].error);
		free(error);
		error = NULL;
	}
	spec = testutil_printf("texthash:%s", tmpdir);
	want = testutil_printf("%s: read error: Is a directory", tmpdir);
	assert_null(map_open(spec, &error));
	assert_string_equal(error, want);
	free(error);
	free(want);
	free(spec);
}

static void
test_empty_tables(void **state)
{
	static const char *const types[] = {"cidr", "texthash", "regexp"};

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct map *m = open_table(types[i], "empty", "# nothing here\n\n   \n");

		LOOKUP(m, "192.0.2.1", NULL);
		LOOKUP(m, "", NULL);
		map_free(m);
	}
	map_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_texthash),
	    cmocka_unit_test(test_texthash_truncation),
	    cmocka_unit_test(test_texthash_many),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_cidr_negate_and_if),
	    cmocka_unit_test(test_regexp),
	    cmocka_unit_test(test_regexp_negate_and_if),
	    cmocka_unit_test(test_regexp_substitution_truncated),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_nul_byte),
	    cmocka_unit_test(test_error_long_line_quoted),
	    cmocka_unit_test(test_error_open),
	    cmocka_unit_test(test_empty_tables),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
