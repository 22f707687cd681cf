/*
 * keytable_opendkim: the key table backend over OpenDKIM's KeyTable and
 * SigningTable files, read as OpenDKIM reads them (keytable.h says
 * exactly what is accepted and in which order the rules are tried), so
 * that a site can move to postern without rewriting them, and so that
 * "posternctl keys import-opendkim" can read them into the database.
 *
 * Every error names the file and line. For dkim_keytable_changed, the
 * identity (device, inode), mtime and size of both files are kept from
 * before they were read.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dkim/keytable.h"
#include "dkim/keytable_internal.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

struct file_id {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
};

struct opendkim_priv {
	char *kt_path, *st_path;
	struct file_id kt_id, st_id;
};

/* The two paths of "KT,ST", without "file:"; *refile_r for "refile:". */
static int
split_files(const char *files, char **kt_r, char **st_r, bool *refile_r, char **error_r)
{
	const char *comma = files ? strchr(files, ',') : NULL;
	char *kt, *st;

	if (comma == NULL) {
		*error_r =
		    xasprintf("key table opendkim:%s: not opendkim:KEYTABLE,SIGNINGTABLE",
		              files ? files : "");
		return -1;
	}
	kt = str_trim(xstrndup(files, (size_t)(comma - files)));
	st = str_trim(xstrdup(comma + 1));
	*refile_r = str_has_prefix(st, "refile:");
	if (*refile_r || str_has_prefix(st, "file:"))
		memmove(st, strchr(st, ':') + 1, strlen(strchr(st, ':') + 1) + 1);
	if (str_has_prefix(kt, "file:"))
		memmove(kt, kt + 5, strlen(kt + 5) + 1);
	if (*kt != '/' || *st != '/') {
		*error_r =
		    xasprintf("key table opendkim:%s: the KeyTable and the "
		              "SigningTable must be absolute file paths (only file: "
		              "and refile: tables are read)",
		              files);
		free(kt);
		free(st);
		return -1;
	}
	*kt_r = kt;
	*st_r = st;
	return 0;
}

static int
file_id(const char *path, struct file_id *id, char **error_r)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (error_r != NULL)
			*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->mtime = st.st_mtim;
	id->size = st.st_size;
	return 0;
}

/* A line of a table: "NAME VALUE", without comment and outer space.
 * Returns 0 for a blank line, 1 with name and value (value may be ""). */
static int
split_line(char *line, char **name_r, char **value_r)
{
	char *hash = strchr(line, '#'), *p;

	if (hash != NULL)
		*hash = '\0';
	line = str_trim(line);
	if (*line == '\0')
		return 0;
	for (p = line; *p != '\0' && *p != ' ' && *p != '\t'; p++)
		;
	if (*p != '\0')
		*p++ = '\0';
	*name_r = line;
	*value_r = str_trim(p);
	return 1;
}

static bool
name_chars_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

struct reader {
	const char *path;
	FILE *fp;
	char *line;
	size_t cap;
	unsigned lineno;
};

static int
reader_open(struct reader *r, const char *path, char **error_r)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	if ((r->fp = fopen(path, "r")) == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Next non-blank line: 1, 0 at the end, -1 on a read error. */
static int
reader_next(struct reader *r, char **name_r, char **value_r, char **error_r)
{
	while (getline(&r->line, &r->cap, r->fp) >= 0) {
		r->lineno++;
		if (split_line(r->line, name_r, value_r))
			return 1;
	}
	if (ferror(r->fp)) {
		*error_r = xasprintf("%s: %s", r->path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
reader_close(struct reader *r)
{
	if (r->fp != NULL)
		fclose(r->fp);
	free(r->line);
}

static int __attribute__((format(printf, 3, 4)))
line_fail(const struct reader *r, char **error_r, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	*error_r = xasprintf("%s:%u: %s", r->path, r->lineno, why);
	free(why);
	return -1;
}

/* "DOMAIN:SELECTOR:/KEY/PATH" into a new key named name. */
static int
keytable_line(struct dkim_keytable *kt, const struct reader *r, const char *name,
              char *value, char **error_r)
{
	char *c1 = strchr(value, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	struct dkim_key *k;

	if (keytable_find_key(kt, name) != NULL)
		return line_fail(r, error_r, "key %s is named twice", name);
	if (c2 == NULL)
		return line_fail(
		    r, error_r, "key %s: the value is not DOMAIN:SELECTOR:KEYPATH", name);
	*c1 = *c2 = '\0';
	if (strcmp(value, "%") == 0)
		return line_fail(r, error_r,
		                 "key %s: domain %% (the From: domain) is not supported; "
		                 "write one key per domain",
		                 name);
	if (!name_chars_ok(value) || !name_chars_ok(c1 + 1))
		return line_fail(r, error_r, "key %s: bad domain or selector", name);
	if (c2[1] != '/')
		return line_fail(r, error_r,
		                 "key %s: the key must be a file named by its absolute "
		                 "path (inline key data is not supported)",
		                 name);
	k = keytable_add_key(kt);
	k->name = xstrdup(name);
	k->domain = str_lower(xstrdup(value));
	k->selector = xstrdup(c1 + 1);
	k->path = xstrdup(c2 + 1);
	k->state = DKIM_KEY_ACTIVE;
	return 0;
}

static int
read_keytable(struct dkim_keytable *kt, const char *path, char **error_r)
{
	struct reader r;
	char *name, *value;
	int rc;

	if (reader_open(&r, path, error_r) < 0)
		return -1;
	while ((rc = reader_next(&r, &name, &value, error_r)) == 1)
		if (keytable_line(kt, &r, name, value, error_r) < 0) {
			rc = -1;
			break;
		}
	reader_close(&r);
	return rc;
}

/* The place of a plain SigningTable's pattern in OpenDKIM's lookup order
 * (keytable.h): 0 address, 1 domain, 2 ".parent" forms (more labels
 * first, "user@" first among equals), 3 "user@*", 4 "*". Returns -1 for
 * a pattern that OpenDKIM never looks up. */
static long
plain_rank(const char *pattern)
{
	const char *at = strrchr(pattern, '@'), *dom = at ? at + 1 : pattern;
	long dots = 0;

	if (strcmp(pattern, "*") == 0)
		return 4000;
	if (at != NULL && strcmp(dom, "*") == 0)
		return strchr(pattern, '*') == dom ? 3000 : -1;
	if (strchr(pattern, '*') != NULL || *dom == '\0' || at == pattern)
		return -1;
	if (*dom != '.')
		return at != NULL ? 0 : 1000;
	for (const char *p = dom; *p; p++)
		dots += *p == '.';
	return 2000 + 2 * (500 - (dots > 499 ? 499 : dots)) + (at != NULL ? 0 : 1);
}

struct ranked {
	long rank;
	size_t index;
	struct dkim_sign_rule rule;
};

static int
ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* A plain table's rules into OpenDKIM's lookup order. */
static void
sort_plain(struct dkim_keytable *kt)
{
	struct ranked *v = xcalloc(kt->nrules + 1, sizeof(*v));

	for (size_t i = 0; i < kt->nrules; i++) {
		v[i].rank = plain_rank(kt->rules[i].pattern);
		v[i].index = i;
		v[i].rule = kt->rules[i];
	}
	qsort(v, kt->nrules, sizeof(*v), ranked_cmp);
	for (size_t i = 0; i < kt->nrules; i++)
		kt->rules[i] = v[i].rule;
	free(v);
}

static int
signing_line(struct dkim_keytable *kt, const struct reader *r, const char *kt_path,
             bool refile, const char *pattern, char *value, char **error_r)
{
	char *key = value, *end;
	struct dkim_sign_rule *rule;

	for (end = key; *end != '\0' && *end != ' ' && *end != '\t'; end++)
		;
	*end = '\0'; /* what follows is the signer (i=), ignored */
	if (*key == '\0')
		return line_fail(r, error_r, "pattern %s has no key name", pattern);
	if (strcmp(key, "%") == 0)
		return line_fail(r, error_r,
		                 "pattern %s: key name %% (the From: domain) is not "
		                 "supported; name the key",
		                 pattern);
	if (keytable_find_key(kt, key) == NULL)
		return line_fail(r, error_r, "key %s is not in the KeyTable %s", key,
		                 kt_path);
	if (!refile && plain_rank(pattern) < 0)
		return line_fail(r, error_r,
		                 "pattern %s: OpenDKIM never looks this up in a table "
		                 "without refile: (use refile: for globs)",
		                 pattern);
	rule = keytable_add_rule(kt);
	rule->pattern = xstrdup(pattern);
	rule->key_name = xstrdup(key);
	rule->glob = refile || strchr(pattern, '*') != NULL;
	return 0;
}

static int
read_signingtable(struct dkim_keytable *kt, const char *path, const char *kt_path,
                  bool refile, char **error_r)
{
	struct reader r;
	char *pattern, *value;
	int rc;

	if (reader_open(&r, path, error_r) < 0)
		return -1;
	while ((rc = reader_next(&r, &pattern, &value, error_r)) == 1)
		if (signing_line(kt, &r, kt_path, refile, pattern, value, error_r) < 0) {
			rc = -1;
			break;
		}
	reader_close(&r);
	if (rc == 0 && !refile)
		sort_plain(kt);
	return rc;
}

static void
opendkim_free_priv(void *priv)
{
	struct opendkim_priv *p = priv;

	free(p->kt_path);
	free(p->st_path);
	free(p);
}

static int
opendkim_load(struct dkim_keytable *kt, const char *arg, const char *database,
              char **error_r)
{
	struct opendkim_priv *p = xcalloc(1, sizeof(*p));
	bool refile;

	(void)database;
	kt->priv = p;
	if (split_files(arg, &p->kt_path, &p->st_path, &refile, error_r) < 0)
		return -1;
	if (file_id(p->kt_path, &p->kt_id, error_r) < 0 ||
	    file_id(p->st_path, &p->st_id, error_r) < 0)
		return -1;
	if (read_keytable(kt, p->kt_path, error_r) < 0 ||
	    read_signingtable(kt, p->st_path, p->kt_path, refile, error_r) < 0)
		return -1;
	return 0;
}

static bool
same_file(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int
opendkim_changed(const struct dkim_keytable *kt)
{
	const struct opendkim_priv *p = kt->priv;
	struct file_id a, b;

	if (file_id(p->kt_path, &a, NULL) < 0 || file_id(p->st_path, &b, NULL) < 0)
		return errno == ENOENT ? 1 : -1;
	return !same_file(&a, &p->kt_id) || !same_file(&b, &p->st_id);
}

int
dkim_keytable_parse_opendkim(const char *files, struct dkim_keytable **kt_r,
                             char **error_r)
{
	char *source = xasprintf("opendkim:%s", files);
	struct dkim_keytable *kt = keytable_new(source);

	free(source);
	if (opendkim_load(kt, files, NULL, error_r) < 0) {
		dkim_keytable_free(kt);
		return -1;
	}
	*kt_r = kt;
	return 0;
}

const struct keytable_backend keytable_opendkim_backend = {
    "opendkim",
    opendkim_load,
    opendkim_changed,
    opendkim_free_priv,
};
