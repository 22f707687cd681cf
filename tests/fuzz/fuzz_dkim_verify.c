/*
 * fuzz_dkim_verify: libFuzzer target for the whole verify path: the
 * header fields of a message go through dkim/message.c (the signature
 * screen, then libopendkim) with its keys served by a zone the input
 * describes, through the resolver's test seam (tests/spf/zone.c).
 *
 * The input is "NAME TYPE DATA" record lines (as fuzz_spf_eval's), a line
 * "--", then the message: header fields (continuation lines start with
 * white space) up to an empty line, and the body. See
 * tests/fuzz/corpus/fuzz_dkim_verify/ for a signed message and its keys.
 *
 * Checked: no crash, leak or undefined behaviour; every result is one of
 * the seven and its texts are strings; the Authentication-Results
 * methods can be built. Built and run by tests/fuzz/run.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/engine.h"
#include "dkim/message.h"
#include "dns/resolver.h"
#include "tests/spf/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Hand one header field (name and value as the milter gives them) over. */
static void
add_field(struct dkim_msg *m, const char *f, size_t len)
{
	const char *colon = memchr(f, ':', len);
	char *name, *value;

	if (colon == NULL || colon == f)
		return;
	name = strndup(f, (size_t)(colon - f));
	colon++;
	if (colon < f + len && *colon == ' ')
		colon++;
	value = strndup(colon, len - (size_t)(colon - f));
	if (strlen(name) == (size_t)(strchr(f, ':') - f)) /* no NUL inside */
		dkim_msg_header(m, name, value);
	free(name);
	free(value);
}

static void
check_string(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dns_server no_server;
	static struct zone *zone;
	static struct dns_resolver *r;
	static struct dkim_engine *e;
	static const char *const signed_headers[] = {"from", "subject", NULL};
	const char *in = (const char *)data, *end = in + size, *p = in;

	if (zone == NULL) {
		struct dkim_engine_opts o = {1024,           2, signed_headers,
		                             signed_headers, 1, 1};
		char *err = NULL;
		zone = zone_new();
		dns_cache_configure(0);
		r = dns_resolver_new(&no_server, 0, 2000);
		dns_resolver_set_answerer(r, zone_answer, zone);
		e = dkim_engine_new(r, &o, &err);
		if (e == NULL)
			abort();
	}
	/* The zone, up to "--". */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;
		if (len == 2 && memcmp(p, "--", 2) == 0) {
			p = next;
			break;
		}
		(void)zone_add_line(zone, p, len);
		p = next;
	}
	/* The header: fields with their continuation lines. */
	struct dkim_msg *m = dkim_msg_new(e, "fuzz");
	const char *field = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0 || (*p != ' ' && *p != '\t')) {
			if (field != NULL) {
				const char *fe = p;
				while (fe > field && (fe[-1] == '\n' || fe[-1] == '\r'))
					fe--;
				add_field(m, field, (size_t)(fe - field));
			}
			field = len == 0 ? NULL : p;
		}
		p = next;
		if (len == 0)
			break;
	}
	if (field != NULL)
		add_field(m, field, (size_t)(end - field));
	struct dkim_verify_opts vo = {3, 1024, false};
	dkim_msg_verify_start(m, &vo);
	if (p < end)
		dkim_msg_body(m, (const unsigned char *)p, (size_t)(end - p));
	const struct dkim_sig_result *res;
	size_t n = dkim_msg_verify_finish(m, &res);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)res[i].result >= DKIM_R__COUNT)
			abort();
		check_string(res[i].reason, sizeof(res[i].reason));
		check_string(res[i].info.d, sizeof(res[i].info.d));
		check_string(res[i].info.b8, sizeof(res[i].info.b8));
	}
	(void)dkim_msg_from(m);
	dkim_msg_free(m);
	zone_clear(zone);
	return 0;
}
