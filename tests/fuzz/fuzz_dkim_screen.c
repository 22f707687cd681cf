/*
 * fuzz_dkim_screen: libFuzzer target for the DKIM-Signature screen
 * (dkim/screen.c).
 *
 * The first byte of the input is the number of header fields the message
 * has; the rest is the header value. The screen must never crash on it or
 * read outside it, its reason and every string of the info must be
 * NUL-terminated inside their arrays, and what it lets through must keep
 * the promises screen.h makes (h= within the message and the cap, i= and
 * the names within their lengths). Built and run by tests/fuzz/run.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/screen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is the array a[0..n) a string? */
static bool
terminated(const char *a, size_t n)
{
	return memchr(a, '\0', n) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_sig_info info;
	char why[256];

	if (size == 0)
		return 0;
	memset(&info, 0x55, sizeof(info));
	memset(why, 0x55, sizeof(why));
	int rc = dkim_sig_screen((const char *)data + 1, size - 1, data[0], &info, why,
	                         sizeof(why));
	if (!terminated(why, sizeof(why)) || !terminated(info.d, sizeof(info.d)) ||
	    !terminated(info.s, sizeof(info.s)) || !terminated(info.i, sizeof(info.i)) ||
	    !terminated(info.a, sizeof(info.a)) || !terminated(info.b8, sizeof(info.b8)))
		abort(); /* not a string */
	if (rc == -1) {
		if (why[0] == '\0')
			abort(); /* refused without a reason */
		return 0;
	}
	if (rc != 0 || why[0] != '\0' || info.nh == 0 || info.nh > data[0] ||
	    info.nh > DKIM_SIG_HMAX || info.d[0] == '\0' || info.s[0] == '\0' ||
	    info.a[0] == '\0' || info.b8[0] == '\0' ||
	    strlen(info.s) + strlen("._domainkey.") + strlen(info.d) > DKIM_SIG_NAMEMAX ||
	    (info.i[0] != '\0' && info.i[strlen(info.i) - 1] == '=') ||
	    info.has_l != (info.l >= 0))
		abort(); /* let through, but not kept to the promises */
	return 0;
}
