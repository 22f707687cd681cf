/*
 * screen: the check every DKIM-Signature header passes before libopendkim
 * parses it.
 *
 * libopendkim 2.11 (Debian 12) can be made to write or read out of bounds
 * by any sender: a signature whose h= names more header fields than the
 * message has overflows the heap, an i= that ends in "=" or is longer
 * than 256 bytes is read past its end, and so is a huge z=. A signature
 * this screen refuses is a permerror and is never handed to the library.
 *
 * A value is checked against the tag-list of RFC 6376 section 3.2 (tag
 * names, "=", ";", FWS; no tag twice; nothing but printable ASCII, SP,
 * HTAB and line breaks that fold) and the tags of section 3.5, and against
 * our limits:
 *   - the value is at most DKIM_SIG_MAX bytes;
 *   - h= names at least one field, From among them, at most DKIM_SIG_HMAX
 *     and no more than the message has;
 *   - i= is at most DKIM_SIG_IMAX bytes, does not end in "=", and its
 *     domain is d= or below it;
 *   - z= is at most DKIM_SIG_ZMAX bytes; b= has at most DKIM_SIG_BMAX
 *     base64 characters and bh= at most DKIM_SIG_BHMAX;
 *   - s._domainkey.d is a name of at most 253 bytes.
 * rsa-sha1 passes the screen: whether to accept it (RFC 8301) is decided
 * elsewhere. So is everything that needs the key, the clock or the body.
 */
#ifndef POSTERN_DKIM_SCREEN_H
#define POSTERN_DKIM_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_SIG_MAX 8192    /* the whole header value */
#define DKIM_SIG_HMAX 64     /* field names in h= */
#define DKIM_SIG_IMAX 256    /* bytes of i= */
#define DKIM_SIG_ZMAX 1024   /* bytes of z= */
#define DKIM_SIG_BMAX 2048   /* base64 characters of b= */
#define DKIM_SIG_BHMAX 88    /* base64 characters of bh= */
#define DKIM_SIG_NAMEMAX 253 /* d=, and s._domainkey.d */

/* Facts about a signature, for log rows and Authentication-Results. Each
 * string is "" when its tag is absent or was not reached, and holds only
 * printable ASCII (it has been checked before it is copied). */
struct dkim_sig_info {
	char d[DKIM_SIG_NAMEMAX + 1]; /* as written */
	char s[DKIM_SIG_NAMEMAX + 1]; /* as written */
	char i[DKIM_SIG_IMAX + 1];    /* as written */
	char a[32];                   /* lower case: "rsa-sha256" */
	char b8[9];                   /* the first 8 characters of b=, no FWS */
	long long l;                  /* -1 when absent; LLONG_MAX when larger */
	bool has_l;
	unsigned nh; /* field names in h= */
};

/* Check one DKIM-Signature header value, value[0..len) as received (it
 * may be folded with CRLF or LF and white space; it need not be
 * NUL-terminated, and a NUL in it is refused), of a message that has
 * nheaders header fields in all. Returns 0 when libopendkim may see it,
 * or -1 with a reason naming the tag in why (whylen bytes, always
 * NUL-terminated; why may be NULL when whylen is 0). *info is cleared,
 * then filled as far as the check got, also when it fails. Allocates
 * nothing. */
int dkim_sig_screen(const char *value, size_t len, size_t nheaders,
                    struct dkim_sig_info *info, char *why, size_t whylen);

#endif
