/*
 * dnsq: ask postern's resolver, for the integration suite and for admins
 * who want to see what postern sees.
 *
 *   dnsq [-s SERVERS] [-t TIMEOUT_MS] [-c] NAME/TYPE...
 *
 * All queries go out as one batch. One line per query, in the order
 * given: "<name> <TYPE> <status>[ cname=<name>][: <rr>, ...][ (<reason>)]";
 * then "batch: N queries in M ms" on stderr. -c keeps the cache on and
 * asks everything twice (the second round from the cache).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dns/resolver.h"
#include "lib/clock.h"
#include "lib/xalloc.h"

static const struct {
	const char *name;
	uint16_t type;
} types[] = {{"A", DNS_T_A},     {"AAAA", DNS_T_AAAA},  {"MX", DNS_T_MX},
             {"PTR", DNS_T_PTR}, {"TXT", DNS_T_TXT},    {"NS", DNS_T_NS},
             {"SOA", DNS_T_SOA}, {"CNAME", DNS_T_CNAME}};

static void
print_answer(const struct dns_answer *a)
{
	char tbuf[16], addr[IPADDR_STRLEN];

	printf("%s %s %s", a->qname, dns_type_name(a->qtype, tbuf, sizeof(tbuf)),
	       dns_status_name(a->status));
	if (a->cname)
		printf(" cname=%s", a->cname);
	for (size_t i = 0; i < a->nrr; i++) {
		const struct dns_rr *rr = &a->rr[i];
		fputs(i == 0 ? ": " : ", ", stdout);
		if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA)
			fputs(ipaddr_format(&rr->addr, addr, sizeof(addr)), stdout);
		else if (rr->type == DNS_T_MX)
			printf("%u %s", rr->pref, rr->text);
		else if (rr->type == DNS_T_TXT)
			printf("\"%s\"", rr->text);
		else
			fputs(rr->text, stdout);
	}
	if (a->status == DNS_TEMP)
		printf(" (%s)", a->reason);
	if (a->cached)
		fputs(" [cached]", stdout);
	putchar('\n');
}

static void
keep(struct dns_batch *b, void *arg, struct dns_answer *a)
{
	(void)b;
	*(struct dns_answer **)arg = a;
}

int
main(int argc, char **argv)
{
	const char *servers_text = NULL;
	unsigned timeout = 5000;
	bool twice = false;
	struct dns_server *servers;
	size_t nservers;
	char *error;
	int c;

	while ((c = getopt(argc, argv, "s:t:c")) != -1) {
		switch (c) {
		case 's':
			servers_text = optarg;
			break;
		case 't':
			timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			twice = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind == argc)
		goto usage;
	if ((servers_text ? dns_servers_parse(servers_text, &servers, &nservers, &error)
	                  : dns_servers_from_resolv_conf("/etc/resolv.conf", &servers,
	                                                 &nservers, &error)) != 0) {
		fprintf(stderr, "dnsq: %s\n", error);
		free(error);
		return 2;
	}
	dns_cache_configure(twice ? 1000 : 0);
	struct dns_resolver *r = dns_resolver_new(servers, nservers, timeout);
	size_t n = (size_t)(argc - optind);
	struct dns_answer **answers = xcalloc(n, sizeof(*answers));
	for (int round = 0; round < (twice ? 2 : 1); round++) {
		struct dns_batch *b = dns_batch_new(r);
		double t0 = clock_ms();
		for (size_t i = 0; i < n; i++) {
			char *arg = argv[optind + (int)i], *slash = strrchr(arg, '/');
			uint16_t type = 0;
			for (size_t k = 0; slash && k < sizeof(types) / sizeof(types[0]);
			     k++)
				if (strcasecmp(slash + 1, types[k].name) == 0)
					type = types[k].type;
			if (type == 0) {
				fprintf(stderr, "dnsq: \"%s\": want NAME/TYPE\n", arg);
				return 2;
			}
			*slash = '\0';
			dns_batch_add(b, arg, type, keep, &answers[i]);
			*slash = '/';
		}
		dns_batch_run(b, timeout);
		dns_batch_free(b);
		for (size_t i = 0; i < n; i++) {
			print_answer(answers[i]);
			dns_answer_free(answers[i]);
			answers[i] = NULL;
		}
		fprintf(stderr, "batch: %zu queries in %.0f ms\n", n, clock_ms() - t0);
	}
	free(answers);
	dns_resolver_free(r);
	free(servers);
	dns_cache_clear();
	return 0;
usage:
	fprintf(stderr, "usage: dnsq [-s SERVERS] [-t TIMEOUT_MS] [-c] NAME/TYPE...\n");
	return 2;
}
