/*
 * dns_connect: the benchmark of issue 3. Runs the connect stage of a
 * configuration (its client restrictions: PTR, forward confirmation and
 * DNS lists, all prefetched in parallel) against a DNS server, and the
 * same lookups one after another, in alternating rounds with the cache
 * off, and prints the median and p99 of each in milliseconds and in
 * round trips of the server. With -m it also writes one line for the
 * table of tests/bench/spf_eval: "connect LOOKUPS DEPTH MEDIAN P99
 * SEQ-MEDIAN SEQ-P99", times in round trips, where LOOKUPS is what the
 * lookups one after another sent and DEPTH the round trips the stage
 * needs at least (the PTR, then the A of its names: 2).
 *
 *   dns_connect -c CONFIG -a CLIENT_ADDRESS [-n ROUNDS] [-m FILE]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dnsbl.h"
#include "dns/resolver.h"
#include "lib/clock.h"
#include "lib/xalloc.h"
#include "policy/conf.h"
#include "policy/dnscheck.h"
#include "policy/policy.h"
#include "tests/bench/bench.h"

static unsigned temps, queries;

static void
count_temp(const struct dns_answer *a)
{
	queries++;
	if (a->status == DNS_TEMP)
		temps++;
}

/* The connect stage's lookups, one after another. */
static void
sequential(const struct config *cfg, const struct ipaddr *ip)
{
	char name[300];
	struct dns_answer *ptr, *a;

	dnsbl_reverse_name(ip, NULL, name, sizeof(name));
	ptr = dns_lookup(cfg->resolver, name, DNS_T_PTR, 0);
	count_temp(ptr);
	for (size_t i = 0; i < ptr->nrr; i++) {
		a = dns_lookup(cfg->resolver, ptr->rr[i].text, DNS_T_A, 0);
		count_temp(a);
		dns_answer_free(a);
	}
	dns_answer_free(ptr);
	for (int l = 0; l < RL__COUNT; l++) {
		const struct restriction_list *list = &cfg->lists[l];
		for (size_t i = 0; i < list->n; i++) {
			const struct dnsbl_site *site = list->v[i].site;
			if (site == NULL)
				continue;
			dnsbl_reverse_name(ip, site->domain, name, sizeof(name));
			a = dns_lookup(cfg->resolver, name, DNS_T_A, 0);
			count_temp(a);
			dns_answer_free(a);
		}
	}
	for (size_t i = 0; i < cfg->ndnsbl_sites; i++) {
		dnsbl_reverse_name(ip, cfg->dnsbl_sites[i].domain, name, sizeof(name));
		a = dns_lookup(cfg->resolver, name, DNS_T_A, 0);
		count_temp(a);
		dns_answer_free(a);
	}
}

int
main(int argc, char **argv)
{
	const char *conf = NULL, *addr = NULL, *machine = NULL;
	unsigned rounds = 100;
	char *error;
	int c;

	while ((c = getopt(argc, argv, "c:a:n:m:")) != -1) {
		if (c == 'c')
			conf = optarg;
		else if (c == 'a')
			addr = optarg;
		else if (c == 'n')
			rounds = (unsigned)strtoul(optarg, NULL, 10);
		else if (c == 'm')
			machine = optarg;
		else
			conf = NULL, optind = argc + 1;
	}
	struct config *cfg = conf ? config_load(conf, &error) : NULL;
	struct facts f = {0};
	if (cfg == NULL || addr == NULL || ipaddr_parse(addr, &f.client_ip) != 0 ||
	    rounds == 0) {
		fprintf(stderr,
		        "usage: dns_connect -c CONFIG -a CLIENT_ADDRESS [-n ROUNDS] "
		        "[-m FILE]%s%s\n",
		        cfg == NULL && conf ? "\n" : "",
		        cfg == NULL && conf ? error : "");
		return 2;
	}
	snprintf(f.client_addr, sizeof(f.client_addr), "%s", addr);
	dns_cache_configure(0);

	double *par = xcalloc(rounds, sizeof(double)),
	       *seq = xcalloc(rounds, sizeof(double));
	double *rtt = xcalloc(rounds, sizeof(double));
	char ptrname[128];
	unsigned rejects = 0, per_round = 0;
	dnsbl_reverse_name(&f.client_ip, NULL, ptrname, sizeof(ptrname));
	for (unsigned r = 0; r < rounds; r++) {
		struct policy_state st = {0};
		struct policy_ctx ctx = {cfg, &f, &st, NULL, NULL, true, NULL};
		struct verdict v;
		double t0 = clock_ms();
		policy_stage(&ctx, STAGE_CONNECT, &v);
		par[r] = clock_ms() - t0;
		if (v.kind == VERDICT_REJECT || v.kind == VERDICT_DEFER) {
			if (rejects++ < 3)
				fprintf(stderr, "round %u: %u %s %s (%s)\n", r, v.code,
				        v.xcode, v.text, dnscheck_iprev(&ctx)->detail);
		}
		policy_state_free(&st);

		unsigned before = queries;
		t0 = clock_ms();
		sequential(cfg, &f.client_ip);
		seq[r] = clock_ms() - t0;
		per_round = queries - before;

		t0 = clock_ms();
		struct dns_answer *a = dns_lookup(cfg->resolver, ptrname, DNS_T_PTR, 0);
		rtt[r] = clock_ms() - t0;
		count_temp(a);
		dns_answer_free(a);
	}
	double rtt50 = sample_pct(rtt, rounds, 0.5);
	double p50 = sample_pct(par, rounds, 0.5), p99 = sample_pct(par, rounds, 0.99);
	double s50 = sample_pct(seq, rounds, 0.5), s99 = sample_pct(seq, rounds, 0.99);
	printf("round trip (one PTR query): median %.1f ms\n", rtt50);
	printf("connect stage, in parallel:  median %.1f ms (%.2f round trips), p99 %.1f "
	       "ms\n",
	       p50, p50 / rtt50, p99);
	printf("same lookups one at a time:  median %.1f ms (%.2f round trips), p99 %.1f "
	       "ms\n",
	       s50, s50 / rtt50, s99);
	printf("parallel / one at a time:    %.2f (median)\n", p50 / s50);
	printf("rounds %u, temporary failures %u, refused verdicts %u\n", rounds, temps,
	       rejects);
	FILE *fp = machine != NULL ? fopen(machine, "w") : NULL;
	if (fp != NULL) {
		fprintf(fp, "connect %u 2 %.3f %.3f %.3f %.3f\n", per_round, p50 / rtt50,
		        p99 / rtt50, s50 / rtt50, s99 / rtt50);
		fclose(fp);
	} else if (machine != NULL) {
		perror(machine);
	}
	free(par);
	free(seq);
	free(rtt);
	config_unref(cfg);
	return temps == 0 ? 0 : 1;
}
