/*
 * fuzz_spf_eval: libFuzzer target for a whole evaluation, spf_check()
 * over a zone the input describes, served through the resolver's test
 * seam (tests/spf/zone.c): no network, no waiting.
 *
 * The input is lines. The first is "CLIENT SENDER HELO [helo]": the
 * client address (192.0.2.1 when it is not one), the MAIL FROM ("<>" for
 * the null sender), the HELO name ("-" for none), and "helo" to check the
 * HELO identity instead. Each further line is a record, "NAME TYPE DATA":
 * TYPE is A, AAAA, MX, PTR, CNAME, TXT, SPF or TIMEOUT, DATA the rest of
 * the line, raw (see tests/fuzz/corpus/fuzz_spf_eval/ for examples).
 *
 * Checked: no crash, leak or undefined behaviour; the result is one of
 * the seven; every text of the outcome is a string; the Received-SPF
 * header can be built. Built and run by tests/fuzz/run.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver.h"
#include "lib/ipaddr.h"
#include "spf/spf.h"
#include "tests/spf/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORDS_MAX 4

/* Split the first line into words (in place). Returns how many. */
static int
words(char *line, char **w)
{
	int n = 0;

	for (char *p = strtok(line, " \t"); p != NULL && n < WORDS_MAX;
	     p = strtok(NULL, " \t"))
		w[n++] = p;
	return n;
}


static void
check_string(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static void
check_outcome(const struct spf_request *req, const struct spf_outcome *out)
{
	if ((unsigned)out->result >= SPF_R__COUNT)
		abort();
	check_string(out->domain, sizeof(out->domain));
	check_string(out->sender, sizeof(out->sender));
	check_string(out->mechanism, sizeof(out->mechanism));
	check_string(out->reason, sizeof(out->reason));
	if (spf_result_parse(spf_result_name(out->result)) != (int)out->result)
		abort();
	char *header = spf_received_spf(req, out);
	if (header == NULL)
		abort();
	free(header);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dns_server no_server;
	static struct zone *zone;
	const char *in = (const char *)data, *end = in + size;
	const char *nl = memchr(in, '\n', size);
	size_t first = nl ? (size_t)(nl - in) : size;
	char head[512], *w[WORDS_MAX] = {0};
	struct spf_request req = {.identity = SPF_ID_MAILFROM,
	                          .receiver = "mx.example.org",
	                          .deadline_ms = 2000};
	struct spf_outcome out;

	if (zone == NULL) {
		zone = zone_new();
		dns_cache_configure(0);
	}
	if (first >= sizeof(head) || memchr(in, '\0', first) != NULL)
		return 0;
	memcpy(head, in, first);
	head[first] = '\0';
	int n = words(head, w);
	if (n < 1 || ipaddr_parse(w[0], &req.client) != 0)
		(void)ipaddr_parse("192.0.2.1", &req.client);
	req.sender = n < 2 ? "user@example.com" : strcmp(w[1], "<>") == 0 ? "" : w[1];
	req.helo = n < 3 || strcmp(w[2], "-") == 0 ? NULL : w[2];
	if (n > 3 && strcmp(w[3], "helo") == 0)
		req.identity = SPF_ID_HELO;

	for (const char *p = nl ? nl + 1 : end; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
		(void)zone_add_line(zone, p, len);
		p += len + 1;
	}
	struct dns_resolver *r = dns_resolver_new(&no_server, 0, 2000);
	dns_resolver_set_answerer(r, zone_answer, zone);
	spf_check(r, &req, &out);
	check_outcome(&req, &out);
	dns_resolver_free(r);
	zone_clear(zone);
	return 0;
}
