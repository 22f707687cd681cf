/*
 * record: RFC 7208's record grammar, checked before libspf2 sees a
 * record (see record.h for the limits and why).
 *
 * The parser walks the record once. Each term is split off at spaces,
 * classified (mechanism or modifier), and its argument checked: a
 * domain-spec is a macro-string that ends in a top label or a macro, a
 * CIDR length has no leading zero and fits its family, an IP literal
 * parses. The text for libspf2 is written as we go.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "spf/record.h"

static int
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

bool
spf_record_is_spf(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 &&
	       (len == 6 || text[6] == ' ');
}

static bool
is_alnum(char c)
{
	return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

static bool
is_alpha(char c)
{
	return isascii((unsigned char)c) && isalpha((unsigned char)c);
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, dash = false;

	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = true;
		else if (is_alpha(s[i]))
			alpha = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return alpha || dash;
}

/* Check a macro-string (and, for a domain-spec, its domain-end) and
 * append its rewritten form. explain: the c, r and t macros are allowed
 * (exp text and unknown modifiers, which we drop anyway). */
static int
macro_string(const char *s, size_t n, bool domain_spec, bool explain, bool *macro_r,
             struct strbuf *o, char *why, size_t whylen)
{
	size_t i = 0,
	       tail = 0; /* tail: where the literal text after the last macro starts */
	bool last_macro = false;

	*macro_r = false;
	while (i < n) {
		char c = s[i];
		if (c != '%') {
			if (c < 0x21 || c > 0x7e)
				return fail(why, whylen, "byte 0x%02x in a macro-string",
				            (unsigned char)c);
			strbuf_add(o, &s[i], 1);
			i++;
			last_macro = false;
			continue;
		}
		if (i + 1 >= n)
			return fail(why, whylen, "'%%' at the end of \"%.*s\"", (int)n,
			            s);
		char d = s[i + 1];
		if (d == '%' || d == '_' || d == '-') {
			strbuf_add(o, &s[i], 2);
			i += 2;
			last_macro = true;
			tail = i;
			continue;
		}
		if (d != '{')
			return fail(why, whylen, "\"%%%c\" is not a macro", d);
		i += 2;
		if (i >= n)
			return fail(why, whylen, "unterminated macro in \"%.*s\"", (int)n,
			            s);
		char letter = s[i];
		char lower = (char)tolower((unsigned char)letter);
		if (!isascii((unsigned char)letter) ||
		    strchr("slodiphcrtv", lower) == NULL)
			return fail(why, whylen, "unknown macro letter '%c'", letter);
		if (!explain && strchr("crt", lower) != NULL)
			return fail(why, whylen,
			            "macro %%{%c} is allowed only in explanation text",
			            letter);
		i++;
		unsigned long digits = 0;
		size_t ndigits = 0;
		while (i < n && is_digit(s[i])) {
			if (digits < 100000)
				digits = digits * 10 + (unsigned long)(s[i] - '0');
			ndigits++;
			i++;
		}
		if (ndigits > 0 && digits == 0)
			return fail(why, whylen, "macro transformer of zero labels");
		bool reverse = false;
		if (i < n && (s[i] == 'r' || s[i] == 'R')) {
			reverse = true;
			i++;
		}
		size_t delim = i;
		while (i < n && strchr(".-+,/_=", s[i]) != NULL) {
			/* RFC 7208 allows ',' and '/'; libspf2 cannot split on
			 * them, so a record that uses them cannot be evaluated. */
			if (s[i] == ',' || s[i] == '/')
				return fail(why, whylen,
				            "macro delimiter '%c' (libspf2 supports . - "
				            "+ _ = only)",
				            s[i]);
			i++;
		}
		size_t ndelim = i - delim;
		if (i >= n || s[i] != '}')
			return fail(why, whylen,
			            "unterminated or malformed macro in \"%.*s\"", (int)n,
			            s);
		i++;
		/* A name has at most 127 labels: any larger count means all. */
		char head[32];
		int hl;
		if (ndigits > 0)
			hl = snprintf(head, sizeof(head), "%%{%c%lu%s", letter,
			              digits > 128 ? 128 : digits, reverse ? "r" : "");
		else
			hl = snprintf(head, sizeof(head), "%%{%c%s", letter,
			              reverse ? "r" : "");
		strbuf_add(o, head, (size_t)hl);
		strbuf_add(o, &s[delim], ndelim);
		strbuf_add(o, "}", 1);
		*macro_r = true;
		last_macro = true;
		tail = i;
	}
	if (!domain_spec || last_macro)
		return 0;
	/* domain-end = ( "." toplabel [ "." ] ) / macro-expand */
	const char *t = s + tail;
	size_t tn = n - tail;
	if (tn > 0 && t[tn - 1] == '.')
		tn--;
	const char *dot = tn > 0 ? memrchr(t, '.', tn) : NULL;
	if (dot == NULL)
		return fail(why, whylen, "\"%.*s\" does not end in a top-level label",
		            (int)n, s);
	if (!toplabel_ok(dot + 1, tn - (size_t)(dot + 1 - t)))
		return fail(why, whylen,
		            "\"%.*s\" does not end in a valid top-level label", (int)n,
		            s);
	return 0;
}

/* "/N": a CIDR length of 0..max without a leading zero. */
static int
cidr_len(const char *s, size_t n, int max, int *len_r)
{
	int v = 0;

	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*len_r = v;
	return 0;
}

/* Split a trailing dual-cidr-length ("/24", "//64", "/24//64") off
 * s[0..*n) and check it. */
static int
dual_cidr(const char *s, size_t *n, struct spf_term *t, bool allow4, bool allow6,
          char *why, size_t whylen)
{
	size_t end = *n;
	size_t k = end;

	while (k > 0 && is_digit(s[k - 1]))
		k--;
	if (k == end || k == 0 || s[k - 1] != '/')
		return 0; /* no CIDR length */
	if (k >= 2 && s[k - 2] == '/') {
		if (!allow6 || cidr_len(s + k, end - k, 128, &t->cidr6) != 0)
			return fail(why, whylen, "bad IPv6 CIDR length in \"%.*s\"",
			            (int)*n, s);
		end = k - 2;
		k = end;
		while (k > 0 && is_digit(s[k - 1]))
			k--;
		if (k == end || k == 0 || s[k - 1] != '/') {
			*n = end;
			return 0;
		}
	}
	if (!allow4 || cidr_len(s + k, end - k, 32, &t->cidr4) != 0)
		return fail(why, whylen, "bad IPv4 CIDR length in \"%.*s\"", (int)*n, s);
	*n = k - 1;
	return 0;
}

/* ip4-network: four qnum without leading zeros. */
static bool
ip4_ok(const char *s, size_t n, struct ipaddr *ip)
{
	char buf[16];
	size_t i = 0;

	if (n >= sizeof(buf))
		return false;
	for (int part = 0; part < 4; part++) {
		size_t start = i;
		while (i < n && is_digit(s[i]))
			i++;
		size_t len = i - start;
		if (len == 0 || len > 3 || (len > 1 && s[start] == '0'))
			return false;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	if (i != n)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	ip->family = AF_INET;
	return inet_pton(AF_INET, buf, ip->a) == 1;
}

static bool
ip6_ok(const char *s, size_t n, struct ipaddr *ip)
{
	char buf[48];

	if (n == 0 || n >= sizeof(buf))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	ip->family = AF_INET6;
	return inet_pton(AF_INET6, buf, ip->a) == 1;
}

static const struct {
	const char *name;
	enum spf_term_kind kind;
} mechanisms[] = {
    {"all", SPF_T_ALL}, {"include", SPF_T_INCLUDE}, {"a", SPF_T_A},
    {"mx", SPF_T_MX},   {"ptr", SPF_T_PTR},         {"ip4", SPF_T_IP4},
    {"ip6", SPF_T_IP6}, {"exists", SPF_T_EXISTS},
};

/* Check one term s[0..n) and append its form for libspf2 (nothing for
 * exp= and unknown modifiers). */
static int parse_term_into(const char *s, size_t n, struct spf_term *t, struct strbuf *o,
                           char *why, size_t whylen);

/* Check one term s[0..n) and keep its form for libspf2 in t->clean (NULL
 * for exp= and unknown modifiers, which libspf2 never sees). */
static int
parse_term(const char *s, size_t n, struct spf_term *t, char *why, size_t whylen)
{
	struct strbuf o = {0};
	int rc = parse_term_into(s, n, t, &o, why, whylen);

	if (rc == 0 && o.len > 0 && t->kind != SPF_T_IP4 && t->kind != SPF_T_IP6)
		t->clean = o.s;
	else
		free(o.s);
	return rc;
}

static int
parse_term_into(const char *s, size_t n, struct spf_term *t, struct strbuf *o, char *why,
                size_t whylen)
{
	size_t i = 0, j;
	char q = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	t->cidr4 = t->cidr6 = -1;
	t->text = xstrndup(s, n);
	if (strchr("+-~?", s[0]) != NULL) {
		q = s[0];
		i = 1;
	}
	for (j = i;
	     j < n && (is_alnum(s[j]) || s[j] == '-' || s[j] == '_' || s[j] == '.'); j++)
		;
	if (j == i)
		return fail(why, whylen, "\"%.*s\" is not a term", (int)n, s);

	if (j < n && s[j] == '=') {
		/* A modifier. */
		const char *val = s + j + 1;
		size_t vn = n - j - 1;
		bool dummy;
		struct strbuf scratch = {0};
		if (q != 0)
			return fail(why, whylen, "modifier \"%.*s\" has a qualifier",
			            (int)n, s);
		if (!is_alpha(s[0]))
			return fail(why, whylen, "\"%.*s\" is not a modifier name",
			            (int)j, s);
		if (j == 8 && strncasecmp(s, "redirect", 8) == 0) {
			t->kind = SPF_T_REDIRECT;
			strbuf_add(o, "redirect=", 9);
			rc =
			    macro_string(val, vn, true, false, &t->macro, o, why, whylen);
			if (rc == 0 && vn == 0)
				rc = fail(why, whylen, "redirect= without a domain");
			t->domain = xstrndup(val, vn);
			return rc;
		}
		if (j == 3 && strncasecmp(s, "exp", 3) == 0) {
			t->kind = SPF_T_EXP;
			rc = macro_string(val, vn, true, false, &dummy, &scratch, why,
			                  whylen);
			if (rc == 0 && vn == 0)
				rc = fail(why, whylen, "exp= without a domain");
		} else {
			t->kind = SPF_T_UNKNOWN;
			rc = macro_string(val, vn, false, true, &dummy, &scratch, why,
			                  whylen);
		}
		free(scratch.s);
		return rc;
	}

	/* A mechanism. */
	t->qualifier = q ? q : '+';
	size_t k;
	for (k = 0; k < sizeof(mechanisms) / sizeof(mechanisms[0]); k++)
		if (strlen(mechanisms[k].name) == j - i &&
		    strncasecmp(s + i, mechanisms[k].name, j - i) == 0)
			break;
	if (k == sizeof(mechanisms) / sizeof(mechanisms[0]))
		return fail(why, whylen, "unknown mechanism \"%.*s\"", (int)(j - i),
		            s + i);
	t->kind = mechanisms[k].kind;

	const char *rest = s + j;
	size_t rn = n - j;
	char head[48];
	int hl = snprintf(head, sizeof(head), "%c%s", t->qualifier, mechanisms[k].name);
	strbuf_add(o, head, (size_t)hl);

	switch (t->kind) {
	case SPF_T_ALL:
		if (rn != 0)
			return fail(why, whylen, "\"%.*s\": all takes no argument",
			            (int)n, s);
		return 0;
	case SPF_T_INCLUDE:
	case SPF_T_EXISTS:
		if (rn < 2 || rest[0] != ':')
			return fail(why, whylen, "\"%.*s\" needs \":domain\"", (int)n, s);
		strbuf_add(o, ":", 1);
		t->domain = xstrndup(rest + 1, rn - 1);
		return macro_string(rest + 1, rn - 1, true, false, &t->macro, o, why,
		                    whylen);
	case SPF_T_A:
	case SPF_T_MX:
	case SPF_T_PTR: {
		size_t dn = rn;
		if (t->kind != SPF_T_PTR &&
		    dual_cidr(rest, &dn, t, true, true, why, whylen) != 0)
			return -1;
		if (dn > 0) {
			if (rest[0] != ':' || dn < 2)
				return fail(why, whylen, "\"%.*s\": bad argument", (int)n,
				            s);
			strbuf_add(o, ":", 1);
			t->domain = xstrndup(rest + 1, dn - 1);
			if (macro_string(rest + 1, dn - 1, true, false, &t->macro, o, why,
			                 whylen) != 0)
				return -1;
		}
		/* libspf2 refuses a length of 0; spf.c makes the answers of
		 * such a term the client's own address and asks for an exact
		 * match instead, which means the same. */
		if (t->cidr4 >= 0) {
			hl =
			    snprintf(head, sizeof(head), "/%d", t->cidr4 ? t->cidr4 : 32);
			strbuf_add(o, head, (size_t)hl);
		}
		if (t->cidr6 >= 0) {
			hl = snprintf(head, sizeof(head), "//%d",
			              t->cidr6 ? t->cidr6 : 128);
			strbuf_add(o, head, (size_t)hl);
		}
		return 0;
	}
	case SPF_T_IP4:
	case SPF_T_IP6: {
		bool v4 = t->kind == SPF_T_IP4;
		if (rn < 2 || rest[0] != ':')
			return fail(why, whylen, "\"%.*s\" needs \":address\"", (int)n,
			            s);
		const char *net = rest + 1;
		size_t nn = rn - 1;
		const char *slash = memchr(net, '/', nn);
		if (slash != NULL) {
			size_t cl = nn - (size_t)(slash + 1 - net);
			if (cidr_len(slash + 1, cl, v4 ? 32 : 128,
			             v4 ? &t->cidr4 : &t->cidr6) != 0)
				return fail(why, whylen, "bad CIDR length in \"%.*s\"",
				            (int)n, s);
			nn = (size_t)(slash - net);
		}
		if (!(v4 ? ip4_ok(net, nn, &t->ip) : ip6_ok(net, nn, &t->ip)))
			return fail(why, whylen, "bad address in \"%.*s\"", (int)n, s);
		/* Never written for libspf2 as they are: spf_record_text
		 * writes the client's own address for a term that matches. */
		return 0;
	}
	default:
		return fail(why, whylen, "\"%.*s\" is not a term", (int)n, s);
	}
}

void
spf_record_free(struct spf_record *rec)
{
	for (size_t i = 0; i < rec->nterms; i++) {
		free(rec->terms[i].text);
		free(rec->terms[i].domain);
		free(rec->terms[i].clean);
	}
	free(rec->terms);
	memset(rec, 0, sizeof(*rec));
	rec->redirect = -1;
}

int
spf_record_parse(const char *text, size_t len, struct spf_record *rec, char *why,
                 size_t whylen)
{
	size_t cap = 0;
	bool exp = false;

	memset(rec, 0, sizeof(*rec));
	rec->redirect = -1;
	if (len > SPF_RECORD_MAX)
		return fail(why, whylen, "record of %zu bytes (postern allows %d)", len,
		            SPF_RECORD_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
			return fail(why, whylen, "byte 0x%02x at offset %zu",
			            (unsigned char)text[i], i);
	if (!spf_record_is_spf(text, len))
		return fail(why, whylen, "not an SPF record");
	size_t p = 6;
	while (p < len) {
		while (p < len && text[p] == ' ')
			p++;
		if (p == len)
			break;
		size_t start = p;
		while (p < len && text[p] != ' ')
			p++;
		size_t tn = p - start;
		if (rec->nterms == SPF_TERMS_MAX) {
			fail(why, whylen, "more than %d terms", SPF_TERMS_MAX);
			goto bad;
		}
		rec->terms =
		    xgrow(rec->terms, &cap, rec->nterms + 1, sizeof(*rec->terms));
		struct spf_term *t = &rec->terms[rec->nterms++];
		if (parse_term(text + start, tn, t, why, whylen) != 0)
			goto bad;
		/* exp= and unknown modifiers never reach libspf2: only the
		 * record's length bounds them. */
		if (tn > SPF_TERM_MAX && t->kind != SPF_T_EXP &&
		    t->kind != SPF_T_UNKNOWN) {
			fail(why, whylen, "a term of %zu bytes (postern allows %d)", tn,
			     SPF_TERM_MAX);
			goto bad;
		}
		if (t->kind == SPF_T_REDIRECT) {
			if (rec->redirect >= 0) {
				fail(why, whylen, "redirect= appears twice");
				goto bad;
			}
			rec->redirect = (int)(rec->nterms - 1);
		} else if (t->kind == SPF_T_EXP) {
			if (exp) {
				fail(why, whylen, "exp= appears twice");
				goto bad;
			}
			exp = true;
		} else if (t->kind == SPF_T_ALL) {
			rec->has_all = true;
		}
	}
	return 0;
bad:
	spf_record_free(rec);
	return -1;
}

bool
spf_domain_ok(const char *name)
{
	size_t len = strlen(name), labels = 0, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '.') {
			if (label == 0)
				return false;
			labels++;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	if (label == 0)
		return false;
	return labels + 1 >= 2;
}

bool
spf_term_matches_ip(const struct spf_term *t, const struct ipaddr *client)
{
	struct cidr c;
	int len;

	if ((t->kind != SPF_T_IP4 && t->kind != SPF_T_IP6) ||
	    t->ip.family != client->family)
		return false;
	if (t->kind == SPF_T_IP4)
		len = t->cidr4 >= 0 ? t->cidr4 : 32;
	else
		len = t->cidr6 >= 0 ? t->cidr6 : 128;
	c.net = t->ip;
	c.prefix = (unsigned)len;
	return cidr_match(&c, client);
}

char *
spf_record_text(const struct spf_record *rec, const struct ipaddr *client,
                size_t *nmech_r)
{
	struct strbuf o = {0};
	size_t n = 0;

	strbuf_add(&o, "v=spf1", 6);
	for (size_t i = 0; i < rec->nterms; i++) {
		const struct spf_term *t = &rec->terms[i];
		if (t->kind == SPF_T_REDIRECT || t->kind == SPF_T_EXP ||
		    t->kind == SPF_T_UNKNOWN)
			continue;
		if (t->kind == SPF_T_IP4 || t->kind == SPF_T_IP6) {
			char addr[IPADDR_STRLEN], term[IPADDR_STRLEN + 16];
			if (!spf_term_matches_ip(t, client))
				continue;
			ipaddr_format(client, addr, sizeof(addr));
			int len = snprintf(term, sizeof(term), " %c%s:%s", t->qualifier,
			                   t->kind == SPF_T_IP4 ? "ip4" : "ip6", addr);
			strbuf_add(&o, term, (size_t)len);
			n++;
			continue;
		}
		strbuf_add(&o, " ", 1);
		strbuf_add(&o, t->clean, strlen(t->clean));
		n++;
	}
	if (rec->redirect >= 0 && !rec->has_all) {
		strbuf_add(&o, " ", 1);
		strbuf_add(&o, rec->terms[rec->redirect].clean,
		           strlen(rec->terms[rec->redirect].clean));
		n++;
	}
	*nmech_r = n;
	return o.s;
}
