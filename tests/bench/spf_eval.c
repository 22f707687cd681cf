/*
 * spf_eval: the SPF part of the DNS benchmark (issue 8, figure 5).
 * Times spf_check() on each case against a DNS server, with the cache
 * off, and beside it an ideal evaluation: a walk of the same records
 * that sends every lookup as soon as the answer it depends on is in
 * (all the terms of a record at once, an include's record as soon as
 * its name is read, the A records of MX names as soon as the MX answer
 * arrives) and decides as soon as the answers it needs are in. The
 * walk's depth of the deciding chain (record > include's record > its
 * MX > their A) is the number of round trips any resolver needs; its
 * measured time is what reaching that bound costs on this machine.
 *
 *   spf_eval -s SERVERS [-n ROUNDS] [-p PYSPF]... [-k CONNECT] [-t] CASE...
 *
 * A CASE is name=domain,client-address: the MAIL FROM identity is
 * bench@domain. PYSPF is a file tests/bench/spf_pyspf.py wrote ("peer
 * LIBRARY", then a line per case: name result queries median-ms p99-ms
 * query-ms), at most two, and CONNECT the one dns_connect -m wrote;
 * their figures go into the same table. -t prints instead, for each
 * case, when each of postern's queries was sent and answered, and in
 * which round trip the ideal walk sent each lookup.
 *
 * The walk knows a, mx, exists, include, redirect, ip4, ip6 and all
 * without macros; with anything else it stays undecided, which is
 * reported and fails the run. It is a yardstick for these records, not
 * an SPF implementation: no limits, no void lookups, no ptr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/resolver.h"
#include "lib/clock.h"
#include "lib/ipaddr.h"
#include "lib/xalloc.h"
#include "spf/record.h"
#include "spf/spf.h"
#include "tests/bench/bench.h"

#define WALK_NODES 256
#define WALK_DEPTH 12
#define WALK_NAMES 10 /* MX names looked at, as RFC 7208 section 4.6.4 */
#define CASES_MAX 16

/* The ideal walk. */

struct walk;

/* One lookup of the walk. */
struct node {
	struct walk *w;
	char name[256];
	uint16_t type;
	unsigned depth;         /* round trips from the start to its answer */
	struct dns_answer *ans; /* NULL until answered */
	double at;              /* when it was answered, ms from the start */
	bool has_rec;           /* TXT: one SPF record, parsed into rec */
	struct spf_record rec;
	struct node **kid;              /* TXT: the lookup of each term, or NULL */
	struct node *names[WALK_NAMES]; /* MX: the A lookups of its names */
	size_t nnames;
};

struct walk {
	struct dns_batch *b;
	struct ipaddr client;
	struct node *v[WALK_NODES]; /* v[0] is the top record */
	size_t n;
	char why[300]; /* what the walk cannot do, or "" */
	double t0;
	int result;     /* an enum spf_result once decided, else -1 */
	double ms;      /* when it was decided */
	double all_ms;  /* when every lookup sent had its answer */
	unsigned depth; /* the depth of the deciding chain */
	unsigned used;  /* lookups the decision consulted */
};

static void walk_done(struct dns_batch *b, void *arg, struct dns_answer *a);

static struct node *
walk_add(struct walk *w, const char *name, uint16_t type, unsigned depth)
{
	if (w->n == WALK_NODES || depth > WALK_DEPTH) {
		snprintf(w->why, sizeof(w->why), "more than %d lookups or %d levels",
		         WALK_NODES, WALK_DEPTH);
		return NULL;
	}
	struct node *n = xcalloc(1, sizeof(*n));
	n->w = w;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->type = type;
	n->depth = depth;
	w->v[w->n++] = n;
	dns_batch_add(w->b, name, type, walk_done, n);
	return n;
}

/* A record is in: send the lookups of all its terms. */
static void
walk_record(struct node *n)
{
	struct walk *w = n->w;
	size_t found = 0, idx = 0;
	char why[200];
	uint16_t a_type = w->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA;

	if (n->ans->status != DNS_OK)
		return;
	for (size_t i = 0; i < n->ans->nrr; i++) {
		const char *t = n->ans->rr[i].text;
		if (t != NULL && spf_record_is_spf(t, strlen(t))) {
			found++;
			idx = i;
		}
	}
	const char *text = found == 1 ? n->ans->rr[idx].text : NULL;
	if (text == NULL ||
	    spf_record_parse(text, strlen(text), &n->rec, why, sizeof(why)) != 0)
		return;
	n->has_rec = true;
	n->kid = xcalloc(n->rec.nterms, sizeof(*n->kid));
	for (size_t i = 0; i < n->rec.nterms; i++) {
		const struct spf_term *t = &n->rec.terms[i];
		const char *target = t->domain != NULL ? t->domain : n->name;
		if (t->macro || t->kind == SPF_T_PTR) {
			snprintf(w->why, sizeof(w->why), "%s at %s: not for the walk",
			         t->text, n->name);
			continue;
		}
		if (t->kind == SPF_T_INCLUDE || t->kind == SPF_T_REDIRECT)
			n->kid[i] = walk_add(w, target, DNS_T_TXT, n->depth + 1);
		else if (t->kind == SPF_T_A)
			n->kid[i] = walk_add(w, target, a_type, n->depth + 1);
		else if (t->kind == SPF_T_EXISTS)
			n->kid[i] = walk_add(w, target, DNS_T_A, n->depth + 1);
		else if (t->kind == SPF_T_MX)
			n->kid[i] = walk_add(w, target, DNS_T_MX, n->depth + 1);
	}
}

/* An MX answer is in: send the A lookups of its names. */
static void
walk_mx(struct node *n)
{
	uint16_t a_type = n->w->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA;

	if (n->ans->status != DNS_OK)
		return;
	for (size_t i = 0; i < n->ans->nrr && n->nnames < WALK_NAMES; i++) {
		const struct dns_rr *r = &n->ans->rr[i];
		if (r->type == DNS_T_MX && r->text != NULL && r->text[0] != '\0')
			n->names[n->nnames++] =
			    walk_add(n->w, r->text, a_type, n->depth + 1);
	}
}

/* The state of a decision under way: how deep it went, what it used. */
struct use {
	unsigned depth, used;
};

static void
consult(struct use *u, const struct node *n)
{
	if (n->depth > u->depth)
		u->depth = n->depth;
	u->used++;
}

/* Does an A/AAAA answer hold an address of client's network? */
static bool
walk_has(const struct dns_answer *a, const struct ipaddr *client, int len)
{
	if (a->status != DNS_OK)
		return false;
	for (size_t i = 0; i < a->nrr; i++) {
		struct cidr c = {a->rr[i].addr, (unsigned)len};
		if (cidr_match(&c, client))
			return true;
	}
	return false;
}

enum { NO, YES, WAIT, ERR };

static int walk_check(const struct walk *w, const struct node *txt, struct use *u);

/* Does term i of record n match? YES, NO, WAIT for an answer, or ERR
 * (temperror or permerror, as *err_r). */
static int
walk_term(const struct walk *w, const struct node *n, size_t i, struct use *u, int *err_r)
{
	const struct spf_term *t = &n->rec.terms[i];
	const struct node *k = n->kid != NULL ? n->kid[i] : NULL;
	int len = w->client.family == AF_INET ? (t->cidr4 >= 0 ? t->cidr4 : 32)
	                                      : (t->cidr6 >= 0 ? t->cidr6 : 128);
	int r;

	switch (t->kind) {
	case SPF_T_ALL:
		return YES;
	case SPF_T_IP4:
	case SPF_T_IP6:
		return spf_term_matches_ip(t, &w->client) ? YES : NO;
	case SPF_T_A:
	case SPF_T_EXISTS:
	case SPF_T_MX:
		break;
	case SPF_T_INCLUDE:
		r = k != NULL ? walk_check(w, k, u) : SPF_R_PERMERROR;
		if (r < 0)
			return WAIT;
		if (r == SPF_R_PASS)
			return YES;
		if (r == SPF_R_FAIL || r == SPF_R_SOFTFAIL || r == SPF_R_NEUTRAL)
			return NO;
		*err_r = r == SPF_R_TEMPERROR ? SPF_R_TEMPERROR : SPF_R_PERMERROR;
		return ERR;
	default:
		return NO; /* modifiers */
	}
	if (k == NULL || k->ans == NULL)
		return WAIT;
	consult(u, k);
	if (k->ans->status == DNS_TEMP) {
		*err_r = SPF_R_TEMPERROR;
		return ERR;
	}
	switch (t->kind) {
	case SPF_T_A:
		return walk_has(k->ans, &w->client, len) ? YES : NO;
	case SPF_T_EXISTS:
		return k->ans->status == DNS_OK && k->ans->nrr > 0 ? YES : NO;
	default: /* mx: its names in order, as one after another */
		for (size_t j = 0; j < k->nnames; j++) {
			if (k->names[j] == NULL || k->names[j]->ans == NULL)
				return WAIT;
			consult(u, k->names[j]);
			if (walk_has(k->names[j]->ans, &w->client, len))
				return YES;
		}
		return NO;
	}
}

/* check_host() over the record of txt with the answers in so far: an
 * enum spf_result, or -1 while an answer it needs is missing. */
static int
walk_check(const struct walk *w, const struct node *txt, struct use *u)
{
	static const int by_qualifier[] = {['+'] = SPF_R_PASS,
	                                   ['-'] = SPF_R_FAIL,
	                                   ['~'] = SPF_R_SOFTFAIL,
	                                   ['?'] = SPF_R_NEUTRAL};
	int err = SPF_R_PERMERROR;

	if (txt->ans == NULL)
		return -1;
	consult(u, txt);
	if (txt->ans->status == DNS_TEMP)
		return SPF_R_TEMPERROR;
	if (!txt->has_rec)
		return SPF_R_NONE;
	for (size_t i = 0; i < txt->rec.nterms; i++) {
		switch (walk_term(w, txt, i, u, &err)) {
		case YES:
			return by_qualifier[(unsigned char)txt->rec.terms[i].qualifier];
		case WAIT:
			return -1;
		case ERR:
			return err;
		default:
			break;
		}
	}
	if (txt->rec.redirect < 0)
		return SPF_R_NEUTRAL;
	const struct node *k = txt->kid[txt->rec.redirect];
	int r = k != NULL ? walk_check(w, k, u) : SPF_R_PERMERROR;
	return r == SPF_R_NONE ? SPF_R_PERMERROR : r;
}

static void
walk_done(struct dns_batch *b, void *arg, struct dns_answer *a)
{
	struct node *n = arg;
	struct walk *w = n->w;
	(void)b;

	n->ans = a;
	n->at = clock_ms() - w->t0;
	if (n->type == DNS_T_TXT)
		walk_record(n);
	else if (n->type == DNS_T_MX)
		walk_mx(n);
	if (w->result < 0) {
		struct use u = {0, 0};
		int r = walk_check(w, w->v[0], &u);
		if (r >= 0) {
			w->result = r;
			w->ms = n->at;
			w->depth = u.depth;
			w->used = u.used;
		}
	}
}

static void
walk_run(struct walk *w, struct dns_resolver *r, const char *domain,
         const struct ipaddr *client)
{
	memset(w, 0, sizeof(*w));
	w->client = *client;
	w->result = -1;
	w->b = dns_batch_new(r);
	w->t0 = clock_ms();
	walk_add(w, domain, DNS_T_TXT, 1);
	dns_batch_run(w->b, 0);
	w->all_ms = clock_ms() - w->t0;
	dns_batch_free(w->b);
	w->b = NULL;
}

static void
walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct node *n = w->v[i];
		dns_answer_free(n->ans);
		if (n->has_rec)
			spf_record_free(&n->rec);
		free(n->kid);
		free(n);
	}
	w->n = 0;
}

/* Tracing: postern's queries through the resolver's test seam, which
 * hands each one to a second resolver on the network and notes when it
 * went out and when its answer came back. */
struct tracer {
	struct dns_resolver *net;
	double t0;
};

static struct dns_answer *
trace_answer(void *arg, const char *name, uint16_t type)
{
	struct tracer *t = arg;
	char tn[16];
	double sent = clock_ms() - t->t0;
	struct dns_answer *a = dns_lookup(t->net, name, type, 0);

	printf("    %7.1f %7.1f  %-4s %s\n", sent, clock_ms() - t->t0,
	       dns_type_name(type, tn, sizeof(tn)), name);
	return a;
}

/* The cases and their figures. */

#define PEERS_MAX 2

/* The peers' names (their DNS library), from the files spf_pyspf.py wrote. */
static char peer_label[PEERS_MAX][32];
static size_t npeers;

struct pyspf {
	bool have;
	char result[16];
	unsigned queries;
	double med, p99, query_ms;
};

struct spf_case {
	char name[32];
	char domain[256];
	char addr[64];
	char sender[300];
	struct ipaddr client;
	double *post, *ideal, *all;
	enum spf_result result;
	unsigned queries, terms;    /* postern's, from the outcome */
	int ideal_result;           /* the walk's */
	unsigned depth, used, sent; /* the walk's */
	unsigned odd;               /* rounds that disagreed with the first */
	char mechanism[256];
	struct pyspf py[PEERS_MAX];
};

static int
case_parse(struct spf_case *c, const char *arg)
{
	const char *eq = strchr(arg, '='), *comma = strrchr(arg, ',');

	memset(c, 0, sizeof(*c));
	if (eq == NULL || comma == NULL || comma < eq ||
	    (size_t)(eq - arg) >= sizeof(c->name) ||
	    (size_t)(comma - eq - 1) >= sizeof(c->domain))
		return -1;
	snprintf(c->name, sizeof(c->name), "%.*s", (int)(eq - arg), arg);
	snprintf(c->domain, sizeof(c->domain), "%.*s", (int)(comma - eq - 1), eq + 1);
	snprintf(c->addr, sizeof(c->addr), "%s", comma + 1);
	snprintf(c->sender, sizeof(c->sender), "bench@%s", c->domain);
	return ipaddr_parse(c->addr, &c->client);
}

/* A file spf_pyspf.py wrote: "peer LIBRARY", then a line per case. */
static void
pyspf_read(const char *path, struct spf_case *cases, size_t n)
{
	FILE *fp = fopen(path, "r");
	char line[512], name[64];
	struct pyspf p;
	size_t j = npeers;

	if (fp == NULL) {
		perror(path);
		return;
	}
	if (fgets(line, sizeof(line), fp) == NULL ||
	    sscanf(line, "peer %31s", peer_label[j]) != 1) {
		fprintf(stderr, "spf_eval: %s: no peer line\n", path);
		fclose(fp);
		return;
	}
	npeers++;
	while (fgets(line, sizeof(line), fp) != NULL) {
		memset(&p, 0, sizeof(p));
		if (sscanf(line, "%63s %15s %u %lf %lf %lf", name, p.result, &p.queries,
		           &p.med, &p.p99, &p.query_ms) != 6)
			continue;
		p.have = true;
		for (size_t i = 0; i < n; i++)
			if (strcmp(cases[i].name, name) == 0)
				cases[i].py[j] = p;
	}
	fclose(fp);
}

static void
trace_case(struct dns_resolver *net, const struct spf_case *c, const char *servers)
{
	struct dns_server *sv;
	size_t nsv;
	char *error;
	struct tracer t = {net, 0};
	struct spf_request q = {c->client,        SPF_ID_MAILFROM, c->sender,
	                        "mx.client.test", "mx.bench.test", 0};
	struct spf_outcome out;

	if (dns_servers_parse(servers, &sv, &nsv, &error) != 0)
		abort();
	struct dns_resolver *seam = dns_resolver_new(sv, nsv, 5000);
	free(sv);
	dns_resolver_set_answerer(seam, trace_answer, &t);
	printf("%s: %s from %s\n  postern (sent, answered ms; one query at a time):\n",
	       c->name, c->sender, c->addr);
	t.t0 = clock_ms();
	spf_check(seam, &q, &out);
	printf("    -> %s by %s, %u queries, %.1f ms\n", spf_result_name(out.result),
	       out.path[0] ? out.path : out.mechanism, out.queries, out.ms);
	dns_resolver_free(seam);

	struct walk w;
	walk_run(&w, net, c->domain, &c->client);
	printf("  ideal (each lookup as soon as what it depends on is in):\n");
	for (unsigned d = 1; d <= WALK_DEPTH; d++) {
		bool any = false;
		for (size_t i = 0; i < w.n; i++) {
			char tn[16];
			if (w.v[i]->depth != d)
				continue;
			if (!any)
				printf("    round trip %u:", d);
			printf("%s %s %s", any ? "," : "",
			       dns_type_name(w.v[i]->type, tn, sizeof(tn)), w.v[i]->name);
			any = true;
		}
		if (any)
			printf("\n");
	}
	printf("    -> %s after %u round trips (%.1f ms), needing %u of the %zu lookups "
	       "sent; all answered after %.1f ms%s%s\n",
	       w.result >= 0 ? spf_result_name(w.result) : "undecided", w.depth, w.ms,
	       w.used, w.n, w.all_ms, w.why[0] ? "; " : "", w.why);
	walk_free(&w);
}

/* One round of a case: postern, then the walk. */
static void
round_case(struct dns_resolver *r, struct spf_case *c, unsigned round)
{
	struct spf_request q = {c->client,        SPF_ID_MAILFROM, c->sender,
	                        "mx.client.test", "mx.bench.test", 0};
	struct spf_outcome out;
	struct walk w;

	dns_cache_clear();
	double t0 = clock_ms();
	spf_check(r, &q, &out);
	c->post[round] = clock_ms() - t0;
	walk_run(&w, r, c->domain, &c->client);
	c->ideal[round] = w.ms;
	c->all[round] = w.all_ms;
	if (round == 0) {
		c->result = out.result;
		c->queries = out.queries;
		c->terms = out.lookups;
		snprintf(c->mechanism, sizeof(c->mechanism), "%s",
		         out.path[0] ? out.path : out.mechanism);
		c->ideal_result = w.result;
		c->depth = w.depth;
		c->used = w.used;
		c->sent = (unsigned)w.n;
		if (w.why[0] != '\0')
			fprintf(stderr, "spf_eval: %s: %s\n", c->name, w.why);
	} else if (out.result != c->result || out.queries != c->queries ||
	           w.result != c->ideal_result || w.depth != c->depth) {
		c->odd++;
	}
	walk_free(&w);
}

/* dns_connect -m: "connect LOOKUPS DEPTH MEDIAN P99 SEQ-MEDIAN SEQ-P99" */
static void
connect_row(const char *path)
{
	FILE *fp = fopen(path, "r");
	unsigned n, d;
	double p50, p99, s50, s99;

	if (fp == NULL) {
		perror(path);
		return;
	}
	if (fscanf(fp, "connect %u %u %lf %lf %lf %lf", &n, &d, &p50, &p99, &s50, &s99) ==
	    6) {
		printf("%-14s %-9s %-9u %5u %6s %7.2f %7.2f", "connect stage", "-", n, d,
		       "-", p50, s50);
		for (size_t j = 0; j < npeers; j++)
			printf(" %10s", "-");
		printf("   %7.2f %7.2f", p50 / d, p50 / s50);
		for (size_t j = 0; j < npeers; j++)
			printf(" %10s", "-");
		printf("\n");
	}
	fclose(fp);
}

static void
report(struct spf_case *cases, size_t n, unsigned rounds, double rtt, const char *kfile)
{
	char buf[96];

	printf("\nround trips: medians, one round trip = %.1f ms (the median of one A "
	       "query).\nlookups: DNS queries sent by postern",
	       rtt);
	for (size_t j = 0; j < npeers; j++)
		printf(" / pyspf over %s", peer_label[j]);
	printf(".\nchain: the round trips the records need at least. no-prefetch: see "
	       "below.\n");
	printf("%-14s %-9s %-9s %5s %6s %7s %7s", "", "", "", "", "", "", "");
	for (size_t j = 0; j < npeers; j++)
		printf(" %10s", "pyspf");
	printf("   %7s %7s", "postern", "postern");
	for (size_t j = 0; j < npeers; j++)
		printf(" %10s", "postern");
	printf("\n%-14s %-9s %-9s %5s %6s %7s %7s", "case", "result", "lookups", "chain",
	       "ideal", "postern", "no-pref");
	for (size_t j = 0; j < npeers; j++)
		printf(" %10.10s", peer_label[j]);
	printf("   %7s %7s", "/chain", "/no-pref");
	for (size_t j = 0; j < npeers; j++) {
		snprintf(buf, sizeof(buf), "/%s", peer_label[j]);
		printf(" %10.10s", buf);
	}
	printf("\n");
	if (kfile != NULL)
		connect_row(kfile);
	for (size_t i = 0; i < n; i++) {
		struct spf_case *c = &cases[i];
		double p50 = sample_pct(c->post, rounds, 0.5),
		       i50 = sample_pct(c->ideal, rounds, 0.5);
		size_t len = (size_t)snprintf(buf, sizeof(buf), "%u", c->queries);
		for (size_t j = 0; j < npeers && len < sizeof(buf); j++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "/%u",
			                        c->py[j].queries);
		printf("%-14s %-9s %-9s %5u %6.2f %7.2f %7s", c->name,
		       spf_result_name(c->result), buf, c->depth, i50 / rtt, p50 / rtt,
		       "n/a");
		for (size_t j = 0; j < npeers; j++) {
			if (c->py[j].have)
				printf(" %10.2f", c->py[j].med / rtt);
			else
				printf(" %10s", "-");
		}
		printf("   %7.2f %7s", p50 / rtt / c->depth, "n/a");
		for (size_t j = 0; j < npeers; j++) {
			if (c->py[j].have)
				printf(" %10.2f", p50 / c->py[j].med);
			else
				printf(" %10s", "-");
		}
		printf("\n");
	}
	printf("no-prefetch: for the connect stage, the same lookups one after another. "
	       "For SPF,\nwithout its prefetch postern asks one lookup at a time in "
	       "libspf2's order, as pyspf\nover dnspython does (its column): one "
	       "round trip per lookup.\n");

	printf("\nmilliseconds, median / p99 (the p99 of %u rounds); \"all in\": until "
	       "every lookup\nthe ideal evaluation sent, needed or not, was answered:\n",
	       rounds);
	printf("%-14s %15s %15s %7s", "case", "postern", "ideal", "all in");
	for (size_t j = 0; j < npeers; j++) {
		snprintf(buf, sizeof(buf), "pyspf/%s", peer_label[j]);
		printf(" %15.15s", buf);
	}
	printf("  %s\n", "decided by (postern)");
	for (size_t i = 0; i < n; i++) {
		struct spf_case *c = &cases[i];
		printf(
		    "%-14s %7.1f / %5.1f %7.1f / %5.1f %7.1f", c->name,
		    sample_pct(c->post, rounds, 0.5), sample_pct(c->post, rounds, 0.99),
		    sample_pct(c->ideal, rounds, 0.5), sample_pct(c->ideal, rounds, 0.99),
		    sample_pct(c->all, rounds, 0.5));
		for (size_t j = 0; j < npeers; j++) {
			if (c->py[j].have)
				snprintf(buf, sizeof(buf), "%.1f / %.1f", c->py[j].med,
				         c->py[j].p99);
			else
				snprintf(buf, sizeof(buf), "-");
			printf(" %15s", buf);
		}
		printf("  %s\n", c->mechanism);
	}
	for (size_t j = 0; j < npeers; j++)
		if (cases[0].py[j].have)
			printf("one A query through %s alone: median %.1f ms\n",
			       peer_label[j], cases[0].py[j].query_ms);
	for (size_t i = 0; i < n; i++) {
		struct spf_case *c = &cases[i];
		for (size_t j = 0; j < npeers; j++)
			if (c->py[j].have &&
			    strcmp(c->py[j].result, spf_result_name(c->result)) != 0)
				printf("note: %s: pyspf over %s says %s, postern %s\n",
				       c->name, peer_label[j], c->py[j].result,
				       spf_result_name(c->result));
		if (c->ideal_result != (int)c->result)
			printf("note: %s: the ideal walk says %s, postern %s\n", c->name,
			       c->ideal_result >= 0 ? spf_result_name(c->ideal_result)
			                            : "undecided",
			       spf_result_name(c->result));
		if (c->used != c->queries)
			printf("note: %s: the ideal walk's decision used %u lookups, "
			       "postern made %u queries (the walk sent %u)\n",
			       c->name, c->used, c->queries, c->sent);
		if (c->odd > 0)
			printf("note: %s: %u rounds differed from the first\n", c->name,
			       c->odd);
	}
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: spf_eval -s SERVERS [-n ROUNDS] [-p PYSPF]... [-k CONNECT] "
	        "[-t] NAME=DOMAIN,CLIENT...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *servers = NULL, *pyfile[PEERS_MAX], *kfile = NULL;
	size_t npyfiles = 0;
	unsigned rounds = 50;
	bool trace = false;
	struct dns_server *sv;
	size_t nsv;
	char *error;
	int c;

	while ((c = getopt(argc, argv, "s:n:p:k:t")) != -1) {
		if (c == 's')
			servers = optarg;
		else if (c == 'n')
			rounds = (unsigned)strtoul(optarg, NULL, 10);
		else if (c == 'p' && npyfiles < PEERS_MAX)
			pyfile[npyfiles++] = optarg;
		else if (c == 'k')
			kfile = optarg;
		else if (c == 't')
			trace = true;
		else
			usage();
	}
	size_t ncases = (size_t)(argc - optind);
	if (servers == NULL || rounds == 0 || ncases == 0 || ncases > CASES_MAX)
		usage();
	if (dns_servers_parse(servers, &sv, &nsv, &error) != 0) {
		fprintf(stderr, "spf_eval: %s\n", error);
		free(error);
		return 2;
	}
	struct dns_resolver *r = dns_resolver_new(sv, nsv, 5000);
	free(sv);
	struct spf_case *cases = xcalloc(ncases, sizeof(*cases));
	for (size_t i = 0; i < ncases; i++) {
		if (case_parse(&cases[i], argv[optind + (int)i]) != 0) {
			fprintf(stderr, "spf_eval: bad case %s\n", argv[optind + (int)i]);
			free(cases);
			dns_resolver_free(r);
			usage();
		}
	}
	dns_cache_configure(0);

	if (trace) {
		for (size_t i = 0; i < ncases; i++)
			trace_case(r, &cases[i], servers);
		free(cases);
		dns_resolver_free(r);
		return 0;
	}
	double *rtt = xcalloc(rounds, sizeof(double));
	for (size_t i = 0; i < ncases; i++) {
		cases[i].post = xcalloc(rounds, sizeof(double));
		cases[i].ideal = xcalloc(rounds, sizeof(double));
		cases[i].all = xcalloc(rounds, sizeof(double));
	}
	unsigned temps = 0;
	for (unsigned round = 0; round < rounds; round++) {
		double t0 = clock_ms();
		struct dns_answer *a = dns_lookup(r, cases[0].domain, DNS_T_A, 0);
		rtt[round] = clock_ms() - t0;
		temps += a->status == DNS_TEMP;
		dns_answer_free(a);
		for (size_t i = 0; i < ncases; i++)
			round_case(r, &cases[i], round);
	}
	for (size_t i = 0; i < npyfiles; i++)
		pyspf_read(pyfile[i], cases, ncases);
	report(cases, ncases, rounds, sample_pct(rtt, rounds, 0.5), kfile);
	int rc = temps == 0 ? 0 : 1;
	for (size_t i = 0; i < ncases; i++) {
		if (cases[i].result == SPF_R_TEMPERROR || cases[i].odd > 0 ||
		    cases[i].ideal_result != (int)cases[i].result)
			rc = 1;
		free(cases[i].post);
		free(cases[i].ideal);
		free(cases[i].all);
	}
	printf("rounds %u per case, temporary failures %u\n", rounds, temps);
	free(rtt);
	free(cases);
	dns_resolver_free(r);
	return rc;
}
