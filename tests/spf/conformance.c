/*
 * conformance: the RFC 7208 test suite against spf_check(), in TAP.
 *
 *   conformance [-x XFAIL] [-d DOC] DATA
 *
 * DATA is the suite as tests/spf/rfc7208-convert.py writes it. Each test
 * runs on a resolver of its own whose every query is answered from the
 * test's zone (tests/spf/zone.c), with the client, MAIL FROM and HELO of
 * the test; an empty MAIL FROM is the null sender, for which spf_check()
 * checks postmaster@HELO. The result must be one of those the test
 * accepts. The explanation the suite also gives is not compared: postern
 * never fetches exp= (spf/spf.h).
 *
 * XFAIL names, one per line ("id  reason"), the tests expected to fail:
 * they are reported as TAP TODO, so a failure is XFAIL and a pass XPASS,
 * which automake counts as a failure; the list has to stay true. With
 * DOC, one more TAP test checks that the document states the measured
 * score ("Score: N of M") and names every test that fails.
 *
 * For a test that does not match, the report adds the queries the zone
 * answered, in order.
 *
 * Exits 0 when every test matches or fails as listed, 1 otherwise, 2 on
 * a usage or data error.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/resolver.h"
#include "lib/ipaddr.h"
#include "lib/xalloc.h"
#include "spf/spf.h"
#include "tests/spf/zone.h"

#define RECEIVER "receiver.example"
#define DEADLINE_MS 5000
#define FIELDS_MAX 8

struct ctest {
	char *id, *host, *helo, *mailfrom, *results, *spec;
	struct zone *zone; /* its scenario's; owned by the suite */
	const char *xfail; /* the reason it is expected to fail, or NULL */
	bool matched;
	bool in_doc; /* named in the document */
};

struct suite {
	struct zone **zones;
	size_t nzones, zcap;
	struct ctest *tests;
	size_t ntests, tcap;
	char **xfail; /* "id", "reason", "id", ... */
	size_t nxfail, xcap;
};

/* Decode a field in place: \xHH escapes, and "" for the empty field.
 * Returns its length, or -1 for a bad escape. */
static long
unescape(char *s)
{
	size_t o = 0;

	if (strcmp(s, "\"\"") == 0) {
		s[0] = '\0';
		return 0;
	}
	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned v;
		if (s[i] != '\\') {
			s[o++] = s[i];
			continue;
		}
		if (s[i + 1] != 'x' || sscanf(s + i + 2, "%2x", &v) != 1 ||
		    strspn(s + i + 2, "0123456789abcdefABCDEF") < 2)
			return -1;
		s[o++] = (char)v;
		i += 3;
	}
	s[o] = '\0';
	return (long)o;
}

/* Split line at single spaces into at most FIELDS_MAX unescaped fields;
 * their lengths go to len. Returns the count, or -1. */
static int
split(char *line, char **f, long *len)
{
	int n = 0;

	for (char *p = line; p != NULL && n < FIELDS_MAX; n++) {
		f[n] = p;
		p = strchr(p, ' ');
		if (p != NULL)
			*p++ = '\0';
		if ((len[n] = unescape(f[n])) < 0)
			return -1;
	}
	return n;
}

static int
load_dns(struct suite *s, char **f, long *len, int n, char *why, size_t whylen)
{
	if (s->nzones == 0 || n < 3) {
		snprintf(why, whylen, "dns line outside a scenario or too short");
		return -1;
	}
	struct zone *z = s->zones[s->nzones - 1];
	if (n == 5) { /* MX: PREF NAME */
		char *mx = xasprintf("%s %s", f[3], f[4]);
		int rc = zone_add(z, f[1], f[2], mx, strlen(mx), why, whylen);
		free(mx);
		return rc;
	}
	return zone_add(z, f[1], f[2], n > 3 ? f[3] : "", n > 3 ? (size_t)len[3] : 0, why,
	                whylen);
}

static int
load_test(struct suite *s, char **f, int n, char *why, size_t whylen)
{
	if (s->nzones == 0 || n != 7) {
		snprintf(why, whylen, "test line outside a scenario or not 7 fields");
		return -1;
	}
	s->tests = xgrow(s->tests, &s->tcap, s->ntests + 1, sizeof(*s->tests));
	struct ctest *t = &s->tests[s->ntests++];
	*t = (struct ctest){.id = xstrdup(f[1]),
	                    .host = xstrdup(f[2]),
	                    .helo = xstrdup(f[3]),
	                    .mailfrom = xstrdup(f[4]),
	                    .results = xstrdup(f[5]),
	                    .spec = xstrdup(f[6]),
	                    .zone = s->zones[s->nzones - 1]};
	return 0;
}

static int
load_line(struct suite *s, char *line, char *why, size_t whylen)
{
	char *f[FIELDS_MAX];
	long len[FIELDS_MAX];
	int n = split(line, f, len);

	if (n < 1) {
		snprintf(why, whylen, "bad escape");
		return -1;
	}
	if (strcmp(f[0], "scenario") == 0) {
		s->zones = xgrow(s->zones, &s->zcap, s->nzones + 1, sizeof(*s->zones));
		s->zones[s->nzones++] = zone_new();
		return 0;
	}
	if (strcmp(f[0], "dns") == 0)
		return load_dns(s, f, len, n, why, whylen);
	if (strcmp(f[0], "test") == 0)
		return load_test(s, f, n, why, whylen);
	snprintf(why, whylen, "unknown line \"%s\"", f[0]);
	return -1;
}

/* Read DATA into s. Returns 0, or -1 after a message on stderr. */
static int
load_data(struct suite *s, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, why[256];
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (fp == NULL) {
		perror(path);
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, fp) != -1) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((rc = load_line(s, line, why, sizeof(why))) != 0)
			fprintf(stderr, "%s:%u: %s\n", path, lineno, why);
	}
	free(line);
	fclose(fp);
	if (rc == 0 && s->ntests == 0) {
		fprintf(stderr, "%s: no tests\n", path);
		rc = -1;
	}
	return rc;
}

static struct ctest *
find_test(struct suite *s, const char *id)
{
	for (size_t i = 0; i < s->ntests; i++)
		if (strcmp(s->tests[i].id, id) == 0)
			return &s->tests[i];
	return NULL;
}

/* Read the expected-fail list ("id  reason" lines, # comments) and mark
 * the tests. Returns 0, or -1 after a message. */
static int
load_xfail(struct suite *s, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (fp == NULL) {
		perror(path);
		return -1;
	}
	while (getline(&line, &cap, fp) != -1) {
		line[strcspn(line, "\r\n")] = '\0';
		char *id = line + strspn(line, " \t");
		if (*id == '\0' || *id == '#')
			continue;
		char *reason = id + strcspn(id, " \t");
		if (*reason != '\0')
			*reason++ = '\0';
		reason += strspn(reason, " \t");
		struct ctest *t = find_test(s, id);
		if (t == NULL || *reason == '\0') {
			fprintf(stderr, "%s: %s: %s\n", path, id,
			        t == NULL ? "no such test" : "no reason given");
			rc = -1;
			continue;
		}
		s->xfail = xgrow(s->xfail, &s->xcap, s->nxfail + 1, sizeof(*s->xfail));
		t->xfail = s->xfail[s->nxfail++] = xstrdup(reason);
	}
	free(line);
	fclose(fp);
	return rc;
}

/* Is name one of the comma-separated results? */
static bool
result_in(const char *name, const char *results)
{
	size_t n = strlen(name);

	for (const char *p = results; *p != '\0'; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* The queries of one test, for the report of a failure. */
struct trace {
	struct zone *zone;
	char *text;
	size_t len, cap;
};

static struct dns_answer *
traced_answer(void *arg, const char *name, uint16_t type)
{
	struct trace *tr = arg;
	struct dns_answer *a = zone_answer(tr->zone, name, type);
	char tbuf[16];
	char *line = xasprintf(
	    "#   %s %s: %s (%zu)\n", name, dns_type_name(type, tbuf, sizeof(tbuf)),
	    a ? dns_status_name(a->status) : "timeout", a ? a->nrr : 0);
	size_t n = strlen(line);

	tr->text = xgrow(tr->text, &tr->cap, tr->len + n + 1, 1);
	memcpy(tr->text + tr->len, line, n + 1);
	tr->len += n;
	free(line);
	return a;
}

static void
run_test(const struct ctest *t, struct spf_outcome *out, struct trace *tr)
{
	static const struct dns_server no_server;
	struct dns_resolver *r = dns_resolver_new(&no_server, 0, DEADLINE_MS);
	struct spf_request req = {
	    .identity = SPF_ID_MAILFROM,
	    .sender = t->mailfrom,
	    .helo = t->helo,
	    .receiver = RECEIVER,
	    .deadline_ms = DEADLINE_MS,
	};

	tr->zone = t->zone;
	tr->len = 0;
	if (tr->text != NULL)
		tr->text[0] = '\0';
	dns_resolver_set_answerer(r, traced_answer, tr);
	if (ipaddr_parse(t->host, &req.client) != 0) {
		memset(out, 0, sizeof(*out));
		out->result = SPF_R__COUNT; /* reported as a failure */
		snprintf(out->reason, sizeof(out->reason), "bad host %s", t->host);
	} else {
		spf_check(r, &req, out);
	}
	dns_resolver_free(r);
}

/* Print the TAP line of test n; returns true when it is as expected
 * (matched, or failed and listed). */
static bool
report(size_t n, struct ctest *t, const struct spf_outcome *out, const struct trace *tr)
{
	const char *got =
	    out->result < SPF_R__COUNT ? spf_result_name(out->result) : "(no result)";

	t->matched = result_in(got, t->results);
	printf("%s %zu - %s", t->matched ? "ok" : "not ok", n, t->id);
	if (t->xfail != NULL)
		printf(" # TODO xfail: %s", t->xfail);
	putchar('\n');
	if (t->matched && t->xfail == NULL)
		return true;
	const char *verdict = t->matched ? "XPASS" : t->xfail ? "xfail" : "FAIL";
	printf("# %s %s (%s): expected %s, got %s", verdict, t->id, t->spec, t->results,
	       got);
	if (out->mechanism[0] != '\0')
		printf(" by \"%s\"", out->mechanism);
	if (out->reason[0] != '\0')
		printf(": %s", out->reason);
	printf(" [%u lookups, %u void, %u queries]\n", out->lookups, out->void_lookups,
	       out->queries);
	if (tr->len > 0)
		fputs(tr->text, stdout);
	return !t->matched && t->xfail != NULL;
}

/* The last TAP test: the document states this score and names every
 * test that fails. */
static bool
check_doc(struct suite *s, const char *path, size_t n, unsigned score)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned doc_score = 0, doc_total = 0;
	bool found = false, ok;
	char *text = NULL;
	size_t tlen = 0;

	if (fp != NULL) {
		while (getline(&line, &cap, fp) != -1) {
			if (!found &&
			    sscanf(line, "Score: %u of %u", &doc_score, &doc_total) == 2)
				found = true;
			size_t l = strlen(line);
			text = xrealloc(text, tlen + l + 1);
			memcpy(text + tlen, line, l + 1);
			tlen += l;
		}
		free(line);
		fclose(fp);
	}
	bool score_ok = found && doc_score == score && doc_total == s->ntests;
	ok = score_ok;
	for (size_t i = 0; i < s->ntests; i++) {
		char *id = xasprintf("`%s`", s->tests[i].id);
		s->tests[i].in_doc = text != NULL && strstr(text, id) != NULL;
		ok &= s->tests[i].matched || s->tests[i].in_doc;
		free(id);
	}
	free(text);
	printf("%s %zu - %s states the score and the failures\n", ok ? "ok" : "not ok", n,
	       path);
	if (!score_ok)
		printf("# %s should say \"Score: %u of %zu\"%s\n", path, score, s->ntests,
		       fp == NULL ? " (cannot read it)" : "");
	for (size_t i = 0; i < s->ntests; i++)
		if (!s->tests[i].matched && !s->tests[i].in_doc)
			printf("# %s does not list the failure of `%s`\n", path,
			       s->tests[i].id);
	return ok;
}

static void
suite_free(struct suite *s)
{
	for (size_t i = 0; i < s->ntests; i++) {
		struct ctest *t = &s->tests[i];
		free(t->id);
		free(t->host);
		free(t->helo);
		free(t->mailfrom);
		free(t->results);
		free(t->spec);
	}
	for (size_t i = 0; i < s->nzones; i++)
		zone_free(s->zones[i]);
	for (size_t i = 0; i < s->nxfail; i++)
		free(s->xfail[i]);
	free(s->tests);
	free(s->zones);
	free(s->xfail);
}

int
main(int argc, char **argv)
{
	const char *xfail = NULL, *doc = NULL;
	struct suite s = {0};
	unsigned score = 0;
	bool good = true;
	int c;

	while ((c = getopt(argc, argv, "x:d:")) != -1) {
		if (c == 'x')
			xfail = optarg;
		else if (c == 'd')
			doc = optarg;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	if (load_data(&s, argv[optind]) != 0 || (xfail && load_xfail(&s, xfail) != 0)) {
		printf("Bail out! cannot load the suite\n");
		suite_free(&s);
		return 2;
	}
	dns_cache_configure(0);
	printf("1..%zu\n", s.ntests + (doc != NULL));
	struct trace tr = {0};
	for (size_t i = 0; i < s.ntests; i++) {
		struct spf_outcome out;
		run_test(&s.tests[i], &out, &tr);
		good &= report(i + 1, &s.tests[i], &out, &tr);
		score += s.tests[i].matched;
	}
	free(tr.text);
	printf("# %u of %zu match\n", score, s.ntests);
	if (doc != NULL)
		good &= check_doc(&s, doc, s.ntests + 1, score);
	suite_free(&s);
	return good ? 0 : 1;
usage:
	fprintf(stderr, "usage: conformance [-x XFAIL] [-d DOC] DATA\n");
	return 2;
}
