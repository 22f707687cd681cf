/*
 * screen: RFC 6376's tag-list and signature tags, checked before
 * libopendkim sees a DKIM-Signature (see screen.h for the limits and why).
 * It decides only whether the library may parse a signature; it does
 * not verify anything.
 *
 * The check has three steps. The bytes: only printable ASCII, SP, HTAB,
 * and line breaks followed by white space (folding), so that from then
 * on CR and LF are white space like the others. The tag-list: the value
 * is split at ";" into name=value pairs, each value trimmed of FWS; a
 * known tag's value is kept in its row of the table, and a tag seen
 * twice is refused. The tags: each row of the table, in the table's
 * order, is required or not and has a function that checks its value
 * and fills its part of the info. d= comes before s= and i=, and t=
 * before x=, so the checks that compare them find what they need.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim/screen.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A piece of the value: a tag's name or value. */
struct span {
	const char *s; /* NULL: the tag is absent */
	size_t n;
};

/* The state of one check. */
struct screen {
	struct dkim_sig_info *info;
	size_t nheaders;
	char *why;
	size_t whylen;
	long long t; /* t=, or -1 when absent */
};

static int fail(struct screen *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct screen *sc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sc->why, sc->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* A reason quotes at most EXCERPT_MAX bytes of what it refuses. */
#define EXCERPT_MAX 40
#define EXCERPT_SIZE (EXCERPT_MAX + sizeof("..."))

/* A short, printable copy of s[0..n) for a reason, in buf (EXCERPT_SIZE
 * bytes): folding becomes spaces, and a long text is cut with "...". */
static const char *
excerpt(char *buf, const char *s, size_t n)
{
	size_t k = n > EXCERPT_MAX ? EXCERPT_MAX : n;

	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = c >= 0x20 && c <= 0x7e ? (char)c : ' ';
	}
	strcpy(buf + k, n > k ? "..." : "");
	return buf;
}

/* After the byte check, CR and LF occur only in folding. */
static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool
is_vchar(char c)
{
	return c >= 0x21 && c <= 0x7e;
}

static struct span
trim(const char *s, size_t n)
{
	while (n > 0 && is_fws(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_fws(s[n - 1]))
		n--;
	return (struct span){s, n};
}

/* Does s[0..n) equal the string word, without regard to case? */
static bool
equal_nocase(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* Is s[0..n) a name of labels of 1..63 letters, digits, "-" and "_",
 * joined by dots, of at most max bytes? Returns NULL, or what is wrong. */
static const char *
name_problem(const char *s, size_t n, size_t max)
{
	size_t label = 0;

	if (n == 0)
		return "empty";
	if (n > max)
		return "too long";
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return "an empty label";
			label = 0;
			continue;
		}
		if (is_fws(s[i]))
			return "white space";
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return "a character other than a letter, digit, \"-\" or \"_\"";
		if (++label > 63)
			return "a label longer than 63 bytes";
	}
	return label == 0 ? "an empty label" : NULL;
}

/* Printable ASCII, SP and HTAB; CR only before LF, LF only before SP or
 * HTAB (a fold). */
static int
check_bytes(struct screen *sc, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '\r' && (i + 1 == n || v[i + 1] != '\n'))
			return fail(sc, "CR without LF at offset %zu", i);
		if (c == '\n' && (i + 1 == n || (v[i + 1] != ' ' && v[i + 1] != '\t')))
			return fail(sc, "unfolded line break at offset %zu", i);
		if (c != '\r' && c != '\n' && c != '\t' && (c < 0x20 || c > 0x7e))
			return fail(sc, "byte 0x%02x at offset %zu", c, i);
	}
	return 0;
}

/* 1..max digits; the number in *r, LLONG_MAX when it is larger. */
static int
check_digits(struct screen *sc, const char *tag, const char *v, size_t n, size_t max,
             long long *r)
{
	long long x = 0;

	if (n == 0 || n > max)
		return fail(sc, "%s= is not a number of 1 to %zu digits", tag, max);
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(v[i]))
			return fail(sc, "%s= is not a number of 1 to %zu digits", tag,
			            max);
		int d = v[i] - '0';
		x = x > (LLONG_MAX - d) / 10 ? LLONG_MAX : x * 10 + d;
	}
	*r = x;
	return 0;
}

/* b= and bh=: base64 with FWS anywhere, "=" padding (at most two) only at
 * the end, 1..max characters. On success the first 8 characters go to
 * first8 (9 bytes) when it is not NULL. */
static int
check_base64(struct screen *sc, const char *tag, const char *v, size_t n, size_t max,
             char *first8)
{
	char head[9] = "";
	size_t count = 0, pad = 0;

	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (is_fws(c))
			continue;
		if (c == '=')
			pad++;
		else if (pad > 0)
			return fail(sc, "%s= has base64 after \"=\" padding", tag);
		else if (!is_alnum(c) && c != '+' && c != '/')
			return fail(sc, "%s= is not base64 (byte '%c')", tag, c);
		if (count < 8)
			head[count] = c;
		count++;
	}
	if (count == 0)
		return fail(sc, "%s= is empty", tag);
	if (pad == count)
		return fail(sc, "%s= has nothing but \"=\" padding", tag);
	if (pad > 2)
		return fail(sc, "%s= has %zu \"=\" of padding (at most 2)", tag, pad);
	if (count > max)
		return fail(sc, "%s= has %zu base64 characters (postern allows %zu)", tag,
		            count, max);
	if (first8 != NULL)
		memcpy(first8, head, sizeof(head));
	return 0;
}

static int
check_v(struct screen *sc, const char *v, size_t n)
{
	char ex[EXCERPT_SIZE];

	if (n != 1 || v[0] != '1')
		return fail(sc, "v= is \"%s\", not 1", excerpt(ex, v, n));
	return 0;
}

static int
check_d(struct screen *sc, const char *v, size_t n)
{
	char ex[EXCERPT_SIZE];
	const char *bad = name_problem(v, n, DKIM_SIG_NAMEMAX);

	if (bad != NULL)
		return fail(sc, "d= \"%s\" is not a domain name (%s)", excerpt(ex, v, n),
		            bad);
	memcpy(sc->info->d, v, n);
	sc->info->d[n] = '\0';
	return 0;
}

/* After d=: the key's name, s._domainkey.d, must be a name too. */
static int
check_s(struct screen *sc, const char *v, size_t n)
{
	char ex[EXCERPT_SIZE];
	const char *bad = name_problem(v, n, DKIM_SIG_NAMEMAX);

	if (bad != NULL)
		return fail(sc, "s= \"%s\" is not a selector (%s)", excerpt(ex, v, n),
		            bad);
	size_t full = n + strlen("._domainkey.") + strlen(sc->info->d);
	if (full > DKIM_SIG_NAMEMAX)
		return fail(sc, "s= and d= make a key name of %zu bytes (at most %d)",
		            full, DKIM_SIG_NAMEMAX);
	memcpy(sc->info->s, v, n);
	sc->info->s[n] = '\0';
	return 0;
}

static int
check_a(struct screen *sc, const char *v, size_t n)
{
	static const char *const algorithms[] = {"rsa-sha256", "rsa-sha1",
	                                         "ed25519-sha256"};
	char ex[EXCERPT_SIZE];

	for (size_t k = 0; k < N_ELEMS(algorithms); k++) {
		if (equal_nocase(v, n, algorithms[k])) {
			snprintf(sc->info->a, sizeof(sc->info->a), "%s", algorithms[k]);
			return 0;
		}
	}
	return fail(sc, "a= \"%s\" is not rsa-sha256, rsa-sha1 or ed25519-sha256",
	            excerpt(ex, v, n));
}

static int
check_b(struct screen *sc, const char *v, size_t n)
{
	return check_base64(sc, "b", v, n, DKIM_SIG_BMAX, sc->info->b8);
}

static int
check_bh(struct screen *sc, const char *v, size_t n)
{
	return check_base64(sc, "bh", v, n, DKIM_SIG_BHMAX, NULL);
}

static bool
canon_ok(const char *s, size_t n)
{
	return equal_nocase(s, n, "simple") || equal_nocase(s, n, "relaxed");
}

/* header[/body], each simple or relaxed. */
static int
check_c(struct screen *sc, const char *v, size_t n)
{
	char ex[EXCERPT_SIZE];
	const char *slash = memchr(v, '/', n);
	size_t head = slash != NULL ? (size_t)(slash - v) : n;

	if (canon_ok(v, head) && (slash == NULL || canon_ok(slash + 1, n - head - 1)))
		return 0;
	return fail(sc, "c= \"%s\" is not simple or relaxed (/simple or /relaxed)",
	            excerpt(ex, v, n));
}

/* Field names separated by ":", with FWS around them; From among them,
 * and no more of them than the message has: libopendkim would write past
 * its array of the message's fields. */
static int
check_h(struct screen *sc, const char *v, size_t n)
{
	char ex[EXCERPT_SIZE];
	size_t count = 0, pos = 0;
	bool from = false;

	if (n == 0)
		return fail(sc, "h= is empty");
	for (;;) {
		const char *colon = memchr(v + pos, ':', n - pos);
		size_t end = colon != NULL ? (size_t)(colon - v) : n;
		struct span f = trim(v + pos, end - pos);
		if (f.n == 0)
			return fail(sc, "h= has an empty field name");
		for (size_t k = 0; k < f.n; k++)
			if (!is_vchar(f.s[k]))
				return fail(sc, "h= field name \"%s\" has white space",
				            excerpt(ex, f.s, f.n));
		if (equal_nocase(f.s, f.n, "from"))
			from = true;
		count++;
		if (end == n)
			break;
		pos = end + 1;
	}
	sc->info->nh = (unsigned)count;
	if (count > DKIM_SIG_HMAX)
		return fail(sc, "h= names %zu header fields (postern allows %d)", count,
		            DKIM_SIG_HMAX);
	if (count > sc->nheaders)
		return fail(sc, "h= names %zu header fields, the message has %zu", count,
		            sc->nheaders);
	if (!from)
		return fail(sc, "h= does not name From");
	return 0;
}

/* Is the name dom[0..domn) d or below it? */
static bool
within(const char *dom, size_t domn, const char *d)
{
	size_t dn = strlen(d);

	if (domn < dn || strncasecmp(dom + domn - dn, d, dn) != 0)
		return false;
	return domn == dn || dom[domn - dn - 1] == '.';
}

/* After d=: [local-part]@domain, the domain d= or below it. The local
 * part is quoted-printable; libopendkim reads past the end of an i= that
 * ends in "=" (which would begin an escape) or is longer than 256 bytes. */
static int
check_i(struct screen *sc, const char *v, size_t n)
{
	char ex[EXCERPT_SIZE], ex2[EXCERPT_SIZE];
	size_t at = n;

	if (n > DKIM_SIG_IMAX)
		return fail(sc, "i= longer than %d bytes (%zu)", DKIM_SIG_IMAX, n);
	if (n > 0 && v[n - 1] == '=')
		return fail(sc, "i= ends in \"=\"");
	while (at > 0 && v[at - 1] != '@')
		at--;
	if (at == 0)
		return fail(sc, "i= \"%s\" has no \"@\"", excerpt(ex, v, n));
	for (size_t k = 0; k < at - 1; k++)
		if (!is_vchar(v[k]))
			return fail(sc, "i= \"%s\" has white space", excerpt(ex, v, n));
	const char *dom = v + at;
	size_t domn = n - at;
	const char *bad = name_problem(dom, domn, DKIM_SIG_NAMEMAX);
	if (bad != NULL)
		return fail(sc, "i= domain \"%s\" is not a domain name (%s)",
		            excerpt(ex, dom, domn), bad);
	if (!within(dom, domn, sc->info->d))
		return fail(sc, "i= domain \"%s\" is not d= \"%s\" or below it",
		            excerpt(ex, dom, domn),
		            excerpt(ex2, sc->info->d, strlen(sc->info->d)));
	memcpy(sc->info->i, v, n);
	sc->info->i[n] = '\0';
	return 0;
}

static int
check_l(struct screen *sc, const char *v, size_t n)
{
	if (check_digits(sc, "l", v, n, 76, &sc->info->l) != 0)
		return -1;
	sc->info->has_l = true;
	return 0;
}

/* Query methods separated by ":"; dns/txt is the one there is. */
static int
check_q(struct screen *sc, const char *v, size_t n)
{
	char ex[EXCERPT_SIZE];
	size_t pos = 0;

	for (;;) {
		const char *colon = memchr(v + pos, ':', n - pos);
		size_t end = colon != NULL ? (size_t)(colon - v) : n;
		struct span m = trim(v + pos, end - pos);
		if (equal_nocase(m.s, m.n, "dns/txt"))
			return 0;
		if (end == n)
			break;
		pos = end + 1;
	}
	return fail(sc, "q= \"%s\" does not offer dns/txt", excerpt(ex, v, n));
}

static int
check_t(struct screen *sc, const char *v, size_t n)
{
	return check_digits(sc, "t", v, n, 12, &sc->t);
}

/* After t=: a signature does not expire before it was made. */
static int
check_x(struct screen *sc, const char *v, size_t n)
{
	long long x;

	if (check_digits(sc, "x", v, n, 12, &x) != 0)
		return -1;
	if (sc->t >= 0 && x < sc->t)
		return fail(sc, "x= %lld is before t= %lld", x, sc->t);
	return 0;
}

/* Copied header fields, quoted-printable: libopendkim reads past the end
 * of a huge one, and an escape cut short by the end ("=" or "=X") would
 * be read past the end too. */
static int
check_z(struct screen *sc, const char *v, size_t n)
{
	if (n > DKIM_SIG_ZMAX)
		return fail(sc, "z= longer than %d bytes (%zu)", DKIM_SIG_ZMAX, n);
	if ((n >= 1 && v[n - 1] == '=') || (n >= 2 && v[n - 2] == '='))
		return fail(sc, "z= ends in an incomplete \"=XX\" escape");
	return 0;
}

/* The tags we know, in the order they are checked. */
static const struct tag_rule {
	const char *name;
	bool required;
	int (*check)(struct screen *sc, const char *v, size_t n);
} rules[] = {
    {"v", true, check_v},  {"d", true, check_d},  {"s", true, check_s}, /* after d= */
    {"a", true, check_a},  {"b", true, check_b},  {"bh", true, check_bh},
    {"c", false, check_c}, {"h", true, check_h},  {"i", false, check_i}, /* after d= */
    {"l", false, check_l}, {"q", false, check_q}, {"t", false, check_t},
    {"x", false, check_x}, /* after t= */
    {"z", false, check_z},
};

/* A tag-spec is at least "x=" and a ";" separates it from the next. */
#define TAGS_MAX (DKIM_SIG_MAX / 3 + 1)

/* The names of the unknown tags seen so far, as offsets into the value
 * (which is at most DKIM_SIG_MAX bytes). */
struct other_tags {
	uint16_t off[TAGS_MAX], len[TAGS_MAX];
	size_t n;
};
_Static_assert(DKIM_SIG_MAX <= UINT16_MAX, "tag offsets are 16 bits");

/* Record a tag: a known tag's value in vals (indexed like rules), an
 * unknown tag's name in others. Tag names are case-sensitive, but a name
 * that differs from a known tag or another tag only in case is refused,
 * whatever libopendkim would make of it. */
static int
record_tag(struct screen *sc, const char *v, struct span name, struct span val,
           struct span *vals, struct other_tags *others)
{
	int nn = name.n > EXCERPT_MAX ? EXCERPT_MAX : (int)name.n;

	for (size_t r = 0; r < N_ELEMS(rules); r++) {
		if (!equal_nocase(name.s, name.n, rules[r].name))
			continue;
		if (strncmp(name.s, rules[r].name, name.n) != 0)
			return fail(sc, "tag \"%.*s\" is not in lower case", nn, name.s);
		if (vals[r].s != NULL)
			return fail(sc, "tag \"%s\" appears twice", rules[r].name);
		vals[r] = val;
		return 0;
	}
	for (size_t k = 0; k < others->n; k++)
		if (others->len[k] == name.n &&
		    strncasecmp(v + others->off[k], name.s, name.n) == 0)
			return fail(sc, "tag \"%.*s\" appears twice", nn, name.s);
	if (others->n == TAGS_MAX)
		return fail(sc, "more than %d tags", TAGS_MAX);
	others->off[others->n] = (uint16_t)(name.s - v);
	others->len[others->n] = (uint16_t)name.n;
	others->n++;
	return 0;
}

/* tag-list = tag-spec *( ";" tag-spec ) [ ";" ], a tag-spec being
 * [FWS] name [FWS] "=" [FWS] value [FWS]. */
static int
split_tags(struct screen *sc, const char *v, size_t n, struct span *vals)
{
	struct other_tags others;
	size_t ntags = 0, pos = 0;
	char ex[EXCERPT_SIZE];

	others.n = 0;
	for (;;) {
		const char *semi = memchr(v + pos, ';', n - pos);
		size_t end = semi != NULL ? (size_t)(semi - v) : n;
		struct span spec = trim(v + pos, end - pos);
		if (spec.n == 0 && end == n && ntags > 0)
			return 0; /* after a final ";" */
		if (spec.n == 0 && end == n)
			return fail(sc, "no tags");
		if (spec.n == 0)
			return fail(sc, "an empty tag-spec at offset %zu", pos);
		size_t k = 0;
		if (is_alpha(spec.s[0]))
			for (k = 1;
			     k < spec.n && (is_alnum(spec.s[k]) || spec.s[k] == '_'); k++)
				;
		struct span name = {spec.s, k};
		while (k < spec.n && is_fws(spec.s[k]))
			k++;
		if (name.n == 0 || k == spec.n || spec.s[k] != '=')
			return fail(sc, "malformed tag-spec \"%s\"",
			            excerpt(ex, spec.s, spec.n));
		struct span val = trim(spec.s + k + 1, spec.n - k - 1);
		if (record_tag(sc, v, name, val, vals, &others) != 0)
			return -1;
		ntags++;
		if (end == n)
			return 0;
		pos = end + 1;
	}
}

int
dkim_sig_screen(const char *value, size_t len, size_t nheaders,
                struct dkim_sig_info *info, char *why, size_t whylen)
{
	struct screen sc = {info, nheaders, why, whylen, -1};
	struct span vals[N_ELEMS(rules)] = {{NULL, 0}};

	memset(info, 0, sizeof(*info));
	info->l = -1;
	if (whylen > 0)
		why[0] = '\0';
	if (len == 0)
		return fail(&sc, "empty DKIM-Signature");
	if (len > DKIM_SIG_MAX)
		return fail(&sc, "DKIM-Signature of %zu bytes (postern allows %d)", len,
		            DKIM_SIG_MAX);
	if (check_bytes(&sc, value, len) != 0 || split_tags(&sc, value, len, vals) != 0)
		return -1;
	for (size_t r = 0; r < N_ELEMS(rules); r++) {
		if (vals[r].s == NULL) {
			if (rules[r].required)
				return fail(&sc, "required tag \"%s\" is missing",
				            rules[r].name);
			continue;
		}
		if (rules[r].check(&sc, vals[r].s, vals[r].n) != 0)
			return -1;
	}
	return 0;
}
