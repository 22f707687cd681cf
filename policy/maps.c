/*
 * maps: Postfix-style lookup tables read from text files. map_open reads
 * the file once into one of three backends, each a row in map_types:
 *
 *   texthash  an open-addressing hash of lower-cased keys (first wins)
 *   cidr      an ordered rule list of networks
 *   regexp    an ordered rule list of compiled POSIX regular expressions
 *
 * The two ordered backends share the rule list, which also gives both of
 * them Postfix's "!pattern" negation and "if pattern" ... "endif" blocks.
 * Logical lines (comments and blank lines dropped, continuation lines
 * joined) come from map_reader. After map_open a table is never written
 * again, so lookups take no locks and allocate nothing: values are copied
 * or expanded straight into the caller's buffer.
 *
 * Not the meaning of the values, nor which keys to try: see policy/access.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/ipaddr.h"
#include "lib/xalloc.h"
#include "policy/maps.h"

/* How much of a bad line an error message quotes. */
#define MAP_QUOTEMAX 80
/* $1..$9: the groups a regexp value may use. */
#define MAP_MAXGROUP 9

/* One backend: a row of the map_types table. */
struct map_type {
	const char *name;
	void *(*create)(void);
	/* Take one logical line; on error a malloc'd reason in *why_r. */
	int (*add)(void *impl, char *line, unsigned lineno, char **why_r);
	/* After the last line; on error the line it concerns in *lineno_r. */
	int (*finish)(void *impl, unsigned *lineno_r, char **why_r);
	int (*lookup)(const void *impl, const char *key, char *buf, size_t len);
	void (*destroy)(void *impl);
};

struct map {
	char *name;
	const struct map_type *type;
	void *impl;
};

/* ---- Helpers ---------------------------------------------------------- */

static bool
map_isspace(char ch)
{
	return isspace((unsigned char)ch) != 0;
}

static char
map_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static char *
map_skip_space(char *p)
{
	while (map_isspace(*p))
		p++;
	return p;
}

/* Trim white space at both ends, in place. */
static char *
map_trim(char *s)
{
	size_t len;

	s = map_skip_space(s);
	len = strlen(s);
	while (len > 0 && map_isspace(s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* A malloc'd '"text": reason', quoting at most MAP_QUOTEMAX bytes of text. */
static char *__attribute__((format(printf, 3, 4)))
map_why(const char *text, size_t len, const char *fmt, ...)
{
	const char *more = len > MAP_QUOTEMAX ? "..." : "";
	char *reason, *why;
	va_list ap;

	va_start(ap, fmt);
	reason = xvasprintf(fmt, ap);
	va_end(ap);
	if (len > MAP_QUOTEMAX)
		len = MAP_QUOTEMAX;
	why = xasprintf("\"%.*s%s\": %s", (int)len, text, more, reason);
	free(reason);
	return why;
}

/* Output into a caller's buffer: truncates, always NUL-terminated. */
struct map_out {
	char *buf;
	size_t len, used;
};

static void
map_out_put(struct map_out *o, const char *s, size_t n)
{
	if (o->len == 0)
		return;
	if (n > o->len - 1 - o->used)
		n = o->len - 1 - o->used;
	memcpy(o->buf + o->used, s, n);
	o->used += n;
	o->buf[o->used] = '\0';
}

static int
map_copy_value(const char *value, char *buf, size_t len)
{
	struct map_out o = {buf, len, 0};

	if (len > 0)
		buf[0] = '\0';
	map_out_put(&o, value, strlen(value));
	return 1;
}

/* ---- Logical lines ------------------------------------------------------ */

/*
 * A logical line starts with a line that does not begin with white space
 * and takes every following line that does. Blank lines and lines whose
 * first non-blank character is '#' are dropped wherever they occur.
 */
struct map_reader {
	FILE *fp;
	char *phys; /* the current physical line */
	size_t physcap;
	bool pending; /* phys is read but not yet used */
	unsigned physno;
	char *logical;
	size_t lcap, llen;
};

/* Read the next physical line into r->phys. Returns 1, 0 at EOF, -1. */
static int
map_reader_fetch(struct map_reader *r, char **why_r)
{
	ssize_t n;

	errno = 0;
	n = getline(&r->phys, &r->physcap, r->fp);
	if (n < 0) {
		if (ferror(r->fp)) {
			*why_r =
			    xasprintf("read error: %s", strerror(errno ? errno : EIO));
			return -1;
		}
		return 0;
	}
	r->physno++;
	if (strlen(r->phys) != (size_t)n) {
		*why_r = xstrdup("line contains a NUL byte");
		return -1;
	}
	while (n > 0 && (r->phys[n - 1] == '\n' || r->phys[n - 1] == '\r'))
		r->phys[--n] = '\0';
	r->pending = true;
	return 1;
}

static void
map_reader_append(struct map_reader *r, const char *s)
{
	size_t n = strlen(s);

	r->logical = xgrow(r->logical, &r->lcap, r->llen + n + 1, 1);
	memcpy(r->logical + r->llen, s, n + 1);
	r->llen += n;
}

/* Fold physical lines into the next logical line. Returns 1 with the line
 * in *line_r (valid until the next call) and its first line number in
 * *lineno_r, 0 at the end of the file, or -1 with a reason and the
 * number of the offending line. */
static int
map_reader_next(struct map_reader *r, char **line_r, unsigned *lineno_r, char **why_r)
{
	int rc = 0;

	r->llen = 0;
	for (;;) {
		char *first;

		if (!r->pending && (rc = map_reader_fetch(r, why_r)) <= 0)
			break;
		first = map_skip_space(r->phys);
		if (*first == '\0' || *first == '#') {
			r->pending = false;
			continue;
		}
		if (!map_isspace(r->phys[0]) && r->llen > 0)
			break; /* the start of the next logical line */
		if (map_isspace(r->phys[0]) && r->llen == 0) {
			rc = -1;
			*why_r = map_why(first, strlen(first),
			                 "continuation line without a line to continue");
			break;
		}
		if (r->llen == 0)
			*lineno_r = r->physno;
		map_reader_append(r, r->phys);
		r->pending = false;
	}
	if (rc < 0) {
		*lineno_r = r->physno;
		return -1;
	}
	*line_r = r->logical;
	return r->llen > 0 ? 1 : 0;
}

/* ---- texthash: "key value", keys matched case-insensitively ------------ */

struct map_entry {
	char *key; /* lower-case */
	char *value;
};

struct map_hash {
	struct map_entry *v;
	size_t n, cap;
	size_t *slot; /* entry index + 1; 0 is an empty slot */
	size_t nslot; /* a power of two, at least twice n */
};

/* FNV-1a over the lower-cased key. */
static uint64_t
map_hash_key(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)map_lower(*key);
		h *= 1099511628211ULL;
	}
	return h;
}

static bool
map_key_equal(const char *lower, const char *key)
{
	for (; *lower != '\0' && *lower == map_lower(*key); lower++, key++)
		;
	return *lower == '\0' && *key == '\0';
}

/* The slot that holds key, or the empty slot where it would go. */
static size_t
map_hash_probe(const struct map_hash *h, const char *key)
{
	size_t mask = h->nslot - 1, i = (size_t)map_hash_key(key) & mask;

	while (h->slot[i] != 0 && !map_key_equal(h->v[h->slot[i] - 1].key, key))
		i = (i + 1) & mask;
	return i;
}

static void
map_hash_grow(struct map_hash *h)
{
	size_t old = h->nslot;

	h->nslot = old ? old * 2 : 64;
	free(h->slot);
	h->slot = xcalloc(h->nslot, sizeof(*h->slot));
	for (size_t e = 0; e < h->n; e++)
		h->slot[map_hash_probe(h, h->v[e].key)] = e + 1;
}

static void *
map_hash_create(void)
{
	struct map_hash *h = xcalloc(1, sizeof(*h));

	map_hash_grow(h);
	return h;
}

static int
map_hash_add(void *impl, char *line, unsigned lineno, char **why_r)
{
	struct map_hash *h = impl;
	char *key = line, *value;
	size_t klen, i;

	(void)lineno;
	for (klen = 0; key[klen] != '\0' && !map_isspace(key[klen]); klen++)
		key[klen] = map_lower(key[klen]);
	value = map_trim(key + klen);
	if (*value == '\0') {
		*why_r = map_why(key, klen, "missing value (expected \"key value\")");
		return -1;
	}
	key[klen] = '\0';
	if (2 * (h->n + 1) > h->nslot)
		map_hash_grow(h);
	i = map_hash_probe(h, key);
	if (h->slot[i] != 0)
		return 0; /* a duplicate key: the first one wins */
	h->v = xgrow(h->v, &h->cap, h->n + 1, sizeof(*h->v));
	h->v[h->n].key = xstrdup(key);
	h->v[h->n].value = xstrdup(value);
	h->slot[i] = ++h->n;
	return 0;
}

static int
map_hash_finish(void *impl, unsigned *lineno_r, char **why_r)
{
	(void)impl;
	(void)lineno_r;
	(void)why_r;
	return 0;
}

static int
map_hash_lookup(const void *impl, const char *key, char *buf, size_t len)
{
	const struct map_hash *h = impl;
	size_t i = map_hash_probe(h, key);

	if (h->slot[i] == 0)
		return 0;
	return map_copy_value(h->v[h->slot[i] - 1].value, buf, len);
}

static void
map_hash_destroy(void *impl)
{
	struct map_hash *h = impl;

	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].key);
		free(h->v[i].value);
	}
	free(h->v);
	free(h->slot);
	free(h);
}

/* ---- Ordered rules, shared by cidr and regexp -------------------------- */

struct map_rule {
	bool is_if;      /* "if pattern": no value; skip to `skip` unless it matches */
	bool negate;     /* "!pattern" */
	size_t skip;     /* for is_if: the index after the matching endif */
	char *value;     /* NULL for is_if */
	struct cidr net; /* cidr tables */
	regex_t *re;     /* regexp tables */
};

struct map_rules {
	struct map_rule *v;
	size_t n, cap;
	size_t *open; /* indexes of the "if" rules not yet closed */
	unsigned *openline;
	size_t nopen, opencap, openlinecap;
};

/* Parse a pattern at *p into r (negate, net or re), advancing *p. */
typedef int map_pattern_fn(struct map_rule *r, char **p, char **why_r);
/* Does r's pattern (before negation) match the subject? */
typedef bool map_match_fn(const struct map_rule *r, const void *subject, regmatch_t *pm);

static void *
map_rules_create(void)
{
	return xcalloc(1, sizeof(struct map_rules));
}

static void
map_rule_free(struct map_rule *r)
{
	free(r->value);
	if (r->re != NULL) {
		regfree(r->re);
		free(r->re);
	}
}

static void
map_rules_destroy(void *impl)
{
	struct map_rules *rs = impl;

	for (size_t i = 0; i < rs->n; i++)
		map_rule_free(&rs->v[i]);
	free(rs->v);
	free(rs->open);
	free(rs->openline);
	free(rs);
}

/* Does *p start with the keyword word (any case) and then white space or
 * the end? If so, advance *p past both. */
static bool
map_keyword(char **p, const char *word)
{
	size_t n = strlen(word);

	if (strncasecmp(*p, word, n) != 0 || ((*p)[n] != '\0' && !map_isspace((*p)[n])))
		return false;
	*p = map_skip_space(*p + n);
	return true;
}

static int
map_rules_endif(struct map_rules *rs, const char *line, const char *rest, char **why_r)
{
	if (*rest != '\0') {
		*why_r = map_why(line, strlen(line), "text after endif");
		return -1;
	}
	if (rs->nopen == 0) {
		*why_r = xstrdup("endif without if");
		return -1;
	}
	rs->nopen--;
	rs->v[rs->open[rs->nopen]].skip = rs->n;
	return 0;
}

static void
map_rules_push_if(struct map_rules *rs, unsigned lineno)
{
	rs->open = xgrow(rs->open, &rs->opencap, rs->nopen + 1, sizeof(*rs->open));
	rs->openline =
	    xgrow(rs->openline, &rs->openlinecap, rs->nopen + 1, sizeof(*rs->openline));
	rs->open[rs->nopen] = rs->n;
	rs->openline[rs->nopen++] = lineno;
}

/* Complete rule r from the text after its pattern, which ends at pend:
 * the value of a plain rule, nothing at all after an "if". */
static int
map_rule_tail(struct map_rule *r, const char *line, char *pend, char **why_r)
{
	char *rest = map_trim(pend);

	if (r->is_if && *rest != '\0') {
		*why_r =
		    map_why(rest, strlen(rest), "unexpected text after an if pattern");
		return -1;
	}
	if (!r->is_if && *rest == '\0') {
		*why_r = map_why(line, (size_t)(pend - line),
		                 "missing value (expected \"pattern value\")");
		return -1;
	}
	if (!r->is_if)
		r->value = xstrdup(rest);
	return 0;
}

/* Add one logical line. *added_r points at the new rule, or is NULL for
 * an "endif" line. */
static int
map_rules_add(struct map_rules *rs, char *line, unsigned lineno, map_pattern_fn *parse,
              struct map_rule **added_r, char **why_r)
{
	struct map_rule r = {0};
	char *p = line;

	*added_r = NULL;
	if (map_keyword(&p, "endif"))
		return map_rules_endif(rs, line, p, why_r);
	r.is_if = map_keyword(&p, "if");
	if (parse(&r, &p, why_r) < 0 || map_rule_tail(&r, line, p, why_r) < 0) {
		map_rule_free(&r);
		return -1;
	}
	if (r.is_if)
		map_rules_push_if(rs, lineno);
	rs->v = xgrow(rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v));
	rs->v[rs->n] = r;
	*added_r = &rs->v[rs->n++];
	return 0;
}

static int
map_rules_finish(void *impl, unsigned *lineno_r, char **why_r)
{
	struct map_rules *rs = impl;

	if (rs->nopen == 0)
		return 0;
	*lineno_r = rs->openline[rs->nopen - 1];
	*why_r = xstrdup("if without endif");
	return -1;
}

/* The first rule that applies to subject, with an if's rules skipped
 * unless the if matches; NULL if none. pm holds the groups of a regexp
 * match. */
static const struct map_rule *
map_rules_find(const struct map_rules *rs, map_match_fn *match, const void *subject,
               regmatch_t *pm)
{
	size_t i = 0;

	while (i < rs->n) {
		const struct map_rule *r = &rs->v[i];
		bool hit = match(r, subject, pm) != r->negate;

		if (!r->is_if && hit)
			return r;
		i = r->is_if && !hit ? r->skip : i + 1;
	}
	return NULL;
}

/* ---- cidr: "network value" ---------------------------------------------- */

static int
map_cidr_pattern(struct map_rule *r, char **p, char **why_r)
{
	char err[256], *text, *end;
	char saved;

	if (**p == '!') {
		r->negate = true;
		(*p)++;
	}
	text = *p;
	for (end = text; *end != '\0' && !map_isspace(*end); end++)
		;
	saved = *end;
	*end = '\0';
	if (cidr_parse(text, &r->net, err, sizeof(err)) < 0) {
		*why_r = xstrdup(err);
		*end = saved;
		return -1;
	}
	*end = saved;
	*p = end;
	return 0;
}

static int
map_cidr_add(void *impl, char *line, unsigned lineno, char **why_r)
{
	struct map_rule *added;

	return map_rules_add(impl, line, lineno, map_cidr_pattern, &added, why_r);
}

static bool
map_cidr_match(const struct map_rule *r, const void *subject, regmatch_t *pm)
{
	(void)pm;
	return cidr_match(&r->net, subject);
}

static int
map_cidr_lookup(const void *impl, const char *key, char *buf, size_t len)
{
	const struct map_rule *r;
	struct ipaddr ip;

	if (ipaddr_parse(key, &ip) < 0)
		return 0;
	r = map_rules_find(impl, map_cidr_match, &ip, NULL);
	return r != NULL ? map_copy_value(r->value, buf, len) : 0;
}

/* ---- regexp: "/pattern/flags value" ------------------------------------- */

/* Find the closing delimiter; a backslash escapes the next character and
 * stays in the pattern, as in Postfix. Returns NULL if there is none. */
static char *
map_rx_close(char *p, char delim)
{
	for (; *p != '\0'; p++) {
		if (*p == delim)
			return p;
		if (*p == '\\' && p[1] != '\0')
			p++;
	}
	return NULL;
}

/* Flags toggle the defaults: i (ignore case, on), x (extended, on),
 * m (multi-line, off). */
static int
map_rx_flags(const char *start, char **p, int *cflags_r, char **why_r)
{
	int cflags = REG_EXTENDED | REG_ICASE;

	for (; **p != '\0' && !map_isspace(**p); (*p)++) {
		if (**p == 'i')
			cflags ^= REG_ICASE;
		else if (**p == 'x')
			cflags ^= REG_EXTENDED;
		else if (**p == 'm')
			cflags ^= REG_NEWLINE;
		else {
			*why_r = map_why(start, (size_t)(*p - start) + 1,
			                 "unknown flag '%c' (use i, m or x)", **p);
			return -1;
		}
	}
	*cflags_r = cflags;
	return 0;
}

static int
map_rx_compile(struct map_rule *r, const char *start, size_t len, const char *pattern,
               int cflags, char **why_r)
{
	char err[256];
	int rc;

	r->re = xmalloc(sizeof(*r->re));
	rc = regcomp(r->re, pattern, cflags);
	if (rc == 0)
		return 0;
	regerror(rc, r->re, err, sizeof(err));
	free(r->re);
	r->re = NULL;
	*why_r = map_why(start, len, "bad regular expression: %s", err);
	return -1;
}

static int
map_rx_pattern(struct map_rule *r, char **p, char **why_r)
{
	char *start = *p, *close, *pattern;
	char delim;
	int cflags, rc;

	if (**p == '!') {
		r->negate = true;
		(*p)++;
	}
	delim = **p;
	if (delim == '\0' || delim == '\\' || isalnum((unsigned char)delim) ||
	    map_isspace(delim)) {
		*why_r = map_why(start, strlen(start), "expected /pattern/");
		return -1;
	}
	close = map_rx_close(*p + 1, delim);
	if (close == NULL) {
		*why_r = map_why(start, strlen(start), "missing closing '%c'", delim);
		return -1;
	}
	pattern = xstrndup(*p + 1, (size_t)(close - *p - 1));
	*p = close + 1;
	rc = map_rx_flags(start, p, &cflags, why_r);
	if (rc == 0)
		rc = map_rx_compile(r, start, (size_t)(*p - start), pattern, cflags,
		                    why_r);
	free(pattern);
	return rc;
}

/* Parse the reference after a '$' at *p: returns 0 for "$" itself
 * ("$$"), group n (1..9) for "n", "{n}" or "(n)", or -1 if it is none of
 * these. Advances *p past it. */
static int
map_rx_ref(const char **p)
{
	const char *s = *p;
	char close = 0;
	int n = 0;

	if (*s == '$') {
		*p = s + 1;
		return 0;
	}
	if (*s == '{' || *s == '(')
		close = *s++ == '{' ? '}' : ')';
	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s) && n <= MAP_MAXGROUP)
		n = n * 10 + (*s++ - '0');
	if (n < 1 || n > MAP_MAXGROUP || isdigit((unsigned char)*s))
		return -1;
	if (close != 0 && *s++ != close)
		return -1;
	*p = s;
	return n;
}

/*
 * Walk a regexp value: "$$" is "$"; "$n", "${n}" and "$(n)" are group n.
 * With out == NULL, check the syntax and report the highest group used
 * in *maxgroup_r; otherwise expand into out (a checked value cannot fail).
 */
static int
map_rx_subst(const char *value, const char *key, const regmatch_t *pm,
             struct map_out *out, int *maxgroup_r, char **why_r)
{
	const char *p = value;

	*maxgroup_r = 0;
	while (*p != '\0') {
		size_t lit = strcspn(p, "$");
		const char *dollar = p + lit;
		int n;

		if (out != NULL)
			map_out_put(out, p, lit);
		if (*dollar == '\0')
			break;
		p = dollar + 1;
		n = map_rx_ref(&p);
		if (n < 0) {
			*why_r = map_why(dollar, strcspn(dollar, " \t"),
			                 "bad substitution (use $1 to $9, or $$ for $)");
			return -1;
		}
		if (n > *maxgroup_r)
			*maxgroup_r = n;
		if (out != NULL && n == 0)
			map_out_put(out, "$", 1);
		else if (out != NULL && pm[n].rm_so >= 0)
			map_out_put(out, key + pm[n].rm_so,
			            (size_t)(pm[n].rm_eo - pm[n].rm_so));
	}
	return 0;
}

/* Check the groups a value uses against what its pattern captures. */
static int
map_rx_check_value(const struct map_rule *r, char **why_r)
{
	int maxgroup;

	if (map_rx_subst(r->value, NULL, NULL, NULL, &maxgroup, why_r) < 0)
		return -1;
	if (maxgroup > 0 && r->negate) {
		*why_r =
		    map_why(r->value, strlen(r->value),
		            "$%d in the value of a negated pattern, which has no groups",
		            maxgroup);
		return -1;
	}
	if ((size_t)maxgroup > r->re->re_nsub) {
		*why_r = map_why(r->value, strlen(r->value),
		                 "$%d but the pattern has only %zu group(s)", maxgroup,
		                 r->re->re_nsub);
		return -1;
	}
	return 0;
}

static int
map_rx_add(void *impl, char *line, unsigned lineno, char **why_r)
{
	struct map_rule *added;

	if (map_rules_add(impl, line, lineno, map_rx_pattern, &added, why_r) < 0)
		return -1;
	if (added == NULL || added->is_if)
		return 0;
	return map_rx_check_value(added, why_r);
}

static bool
map_rx_match(const struct map_rule *r, const void *subject, regmatch_t *pm)
{
	return regexec(r->re, subject, MAP_MAXGROUP + 1, pm, 0) == 0;
}

static int
map_rx_lookup(const void *impl, const char *key, char *buf, size_t len)
{
	regmatch_t pm[MAP_MAXGROUP + 1];
	struct map_out o = {buf, len, 0};
	const struct map_rule *r;
	int maxgroup;
	char *why = NULL;

	r = map_rules_find(impl, map_rx_match, key, pm);
	if (r == NULL)
		return 0;
	if (len > 0)
		buf[0] = '\0';
	map_rx_subst(r->value, key, pm, &o, &maxgroup, &why);
	return 1;
}

/* ---- The table of backends, and the public functions -------------------- */

static const struct map_type map_types[] = {
    {"cidr", map_rules_create, map_cidr_add, map_rules_finish, map_cidr_lookup,
     map_rules_destroy},
    {"texthash", map_hash_create, map_hash_add, map_hash_finish, map_hash_lookup,
     map_hash_destroy},
    {"regexp", map_rules_create, map_rx_add, map_rules_finish, map_rx_lookup,
     map_rules_destroy},
};

static const struct map_type *
map_type_find(const char *spec, const char **path_r)
{
	const char *colon = strchr(spec, ':');

	if (colon == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++) {
		size_t n = strlen(map_types[i].name);

		if ((size_t)(colon - spec) == n &&
		    strncmp(spec, map_types[i].name, n) == 0) {
			*path_r = colon + 1;
			return &map_types[i];
		}
	}
	return NULL;
}

/* Feed every logical line of fp to m's backend. On error, a malloc'd
 * "PATH, line N: reason" (or "PATH: reason") in *error_r. */
static int
map_load(struct map *m, FILE *fp, const char *path, char **error_r)
{
	struct map_reader r = {.fp = fp};
	unsigned lineno = 0;
	char *line, *why = NULL;
	int rc;

	while ((rc = map_reader_next(&r, &line, &lineno, &why)) > 0)
		if (m->type->add(m->impl, line, lineno, &why) < 0) {
			rc = -1;
			break;
		}
	if (rc == 0)
		rc = m->type->finish(m->impl, &lineno, &why);
	if (rc < 0)
		*error_r = lineno > 0 ? xasprintf("%s, line %u: %s", path, lineno, why)
		                      : xasprintf("%s: %s", path, why);
	free(why);
	free(r.phys);
	free(r.logical);
	return rc;
}

struct map *
map_open(const char *spec, char **error_r)
{
	const struct map_type *type;
	const char *path = NULL;
	struct map *m;
	FILE *fp;

	*error_r = NULL;
	type = map_type_find(spec, &path);
	if (type == NULL) {
		*error_r =
		    xasprintf("\"%s\": unknown table type (use cidr:, texthash: or "
		              "regexp:)",
		              spec);
		return NULL;
	}
	if (*path == '\0') {
		*error_r = xasprintf("\"%s\": missing file name", spec);
		return NULL;
	}
	fp = fopen(path, "re");
	if (fp == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(spec);
	m->type = type;
	m->impl = type->create();
	if (map_load(m, fp, path, error_r) < 0) {
		map_free(m);
		m = NULL;
	}
	fclose(fp);
	return m;
}

int
map_lookup(const struct map *m, const char *key, char *buf, size_t len)
{
	if (key == NULL)
		return 0;
	return m->type->lookup(m->impl, key, buf, len);
}

const char *
map_name(const struct map *m)
{
	return m->name;
}

void
map_free(struct map *m)
{
	if (m == NULL)
		return;
	m->type->destroy(m->impl);
	free(m->name);
	free(m);
}
