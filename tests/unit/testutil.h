/*
 * testutil: small helpers shared by the cmocka unit tests: a scratch
 * directory under /tmp, fixture files written into it, and assertions
 * cmocka lacks. Include it after "config.h" and <cmocka.h>.
 *
 * Every helper fails the running test (rather than returning an error)
 * when the system refuses, so tests need no error paths of their own.
 * Strings returned are malloc'd; the test frees them.
 */
#ifndef POSTERN_TESTUTIL_H
#define POSTERN_TESTUTIL_H

#include <errno.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TESTUTIL_UNUSED __attribute__((unused))

/* Fail the test with a printf-style message at file:line. */
static TESTUTIL_UNUSED void __attribute__((format(printf, 3, 4)))
testutil_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error("%s\n", msg);
	_fail(file, line);
}

/* A malloc'd printf result; fails the test if memory runs out. */
static TESTUTIL_UNUSED char *__attribute__((format(printf, 1, 2)))
testutil_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		testutil_fail(__FILE__, __LINE__, "vasprintf: out of memory");
	return s;
}

/* Make a new, empty directory /tmp/postern-test.XXXXXX and return its
 * malloc'd path. Remove it with testutil_rmtree. */
static TESTUTIL_UNUSED char *
testutil_mkdtemp(void)
{
	char *dir = testutil_printf("/tmp/postern-test.XXXXXX");

	if (mkdtemp(dir) == NULL)
		testutil_fail(__FILE__, __LINE__, "mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

/* A scratch directory for a whole test group: pass testutil_dir_setup
 * and testutil_dir_teardown to cmocka_run_group_tests and use
 * testutil_dir in the tests. */
static char *testutil_dir;

static TESTUTIL_UNUSED int testutil_rmtree(const char *dir);

static TESTUTIL_UNUSED int
testutil_dir_setup(void **state)
{
	(void)state;
	testutil_dir = testutil_mkdtemp();
	return 0;
}

static TESTUTIL_UNUSED int
testutil_dir_teardown(void **state)
{
	(void)state;
	testutil_rmtree(testutil_dir);
	free(testutil_dir);
	testutil_dir = NULL;
	return 0;
}

/* Write len bytes of data to dir/name, replacing any such file, and
 * return the malloc'd path. */
static TESTUTIL_UNUSED char *
testutil_write_bytes(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = testutil_printf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		testutil_fail(__FILE__, __LINE__, "%s: %s", path, strerror(errno));
	if (fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		testutil_fail(__FILE__, __LINE__, "%s: write error", path);
	return path;
}

/* Write the string content to dir/name; returns the malloc'd path. */
static TESTUTIL_UNUSED char *
testutil_write_file(const char *dir, const char *name, const char *content)
{
	return testutil_write_bytes(dir, name, content, strlen(content));
}

static TESTUTIL_UNUSED int
testutil_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove dir and everything below it. Returns 0, or -1 if anything is
 * left behind. NULL is allowed and does nothing. */
static TESTUTIL_UNUSED int
testutil_rmtree(const char *dir)
{
	if (dir == NULL)
		return 0;
	return nftw(dir, testutil_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A malloc'd string of n copies of ch. */
static TESTUTIL_UNUSED char *
testutil_repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		testutil_fail(__FILE__, __LINE__, "malloc(%zu): out of memory", n + 1);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static TESTUTIL_UNUSED void
testutil_assert_substring(const char *haystack, const char *needle, const char *file,
                          int line)
{
	if (haystack == NULL)
		testutil_fail(file, line, "NULL does not contain \"%s\"", needle);
	else if (strstr(haystack, needle) == NULL)
		testutil_fail(file, line, "\"%s\" does not contain \"%s\"", haystack,
		              needle);
}

/* Fail unless the string haystack contains needle. */
#define assert_substring(haystack, needle)                                               \
	testutil_assert_substring((haystack), (needle), __FILE__, __LINE__)

/* A host name of labels of `label` bytes joined by dots, `total` bytes
 * long (the last label takes what is left, and must not be empty).
 * Malloc'd. */
static TESTUTIL_UNUSED char *
testutil_name(size_t label, size_t total)
{
	char *name = testutil_repeat('a', total);

	for (size_t i = label; i < total; i += label + 1)
		name[i] = '.';
	if (total > 0 && name[total - 1] == '.')
		testutil_fail(__FILE__, __LINE__, "testutil_name(%zu, %zu) ends in a dot",
		              label, total);
	return name;
}

#endif
