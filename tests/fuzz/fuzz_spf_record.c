/*
 * fuzz_spf_record: libFuzzer target for the record screen (spf/record.c).
 *
 * The input is the text of a TXT record. The screen must never crash or
 * leak on it, its reason must be a string, and whatever it accepts must
 * be safe for libspf2: the clean text it hands on is compiled here with
 * SPF_record_compile(), as spf/spf.c does, so a record that crashes or
 * trips libspf2 (its error handler aborts) is found here rather than in a
 * mail filter. Built and run by tests/fuzz/run.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>

#include "spf/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static SPF_server_t *server;

static void
compile(const char *clean)
{
	SPF_response_t *resp = SPF_response_new(NULL);
	SPF_record_t *rec = NULL;

	if (resp == NULL)
		abort();
	SPF_record_compile(server, resp, &rec, clean);
	if (rec != NULL)
		SPF_record_free(rec);
	SPF_response_free(resp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct spf_record rec;
	char why[256];

	if (server == NULL) {
		SPF_warning_handler = NULL;
		SPF_info_handler = NULL;
		SPF_debug_handler = NULL;
		server = SPF_server_new(SPF_DNS_CACHE, 0);
		if (server == NULL)
			abort();
	}
	(void)spf_record_is_spf(text, size);
	char *name = strndup(text, size); /* the input as a domain, too */
	if (name == NULL)
		abort();
	(void)spf_domain_ok(name);
	free(name);
	memset(why, 0x55, sizeof(why));
	if (spf_record_parse(text, size, &rec, why, sizeof(why)) != 0) {
		if (memchr(why, '\0', sizeof(why)) == NULL)
			abort(); /* the reason is not a string */
		return 0;
	}
	if (rec.nterms > SPF_TERMS_MAX)
		abort(); /* over its own limit */
	/* What libspf2 gets, for an IPv4 and an IPv6 client. */
	static const char *const clients[] = {"192.0.2.1", "2001:db8::1"};
	for (size_t i = 0; i < 2; i++) {
		struct ipaddr ip;
		size_t nmech;
		if (ipaddr_parse(clients[i], &ip) != 0)
			abort();
		char *clean = spf_record_text(&rec, &ip, &nmech);
		if (strncmp(clean, "v=spf1", 6) != 0)
			abort(); /* not a record */
		compile(clean);
		free(clean);
	}
	spf_record_free(&rec);
	return 0;
}
