/*
 * keytable: what the key table backends share. The spec is dispatched to
 * a backend by its name (a table of rows, one per backend file); the
 * backend reads keys and rules, and this file then loads the private key
 * of every active key, so that the file checks are the same whatever the
 * source. It also holds the matching of From: addresses against the
 * rules, and the names of algorithms and states.
 *
 * It is not the signer: it hands keys over, parsed once at load, and
 * never touches a message. It never logs and never exits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "dkim/keytable.h"
#include "dkim/keytable_internal.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A key file larger than this is not a DKIM key. */
#define KEY_FILE_MAX (64 * 1024)

static const struct keytable_backend *const backends[] = {
    &keytable_sqlite_backend,
    &keytable_opendkim_backend,
};

static const char *const alg_names[] = {"rsa", "ed25519"};
static const char *const state_names[] = {"published-pending", "active", "retired"};

const char *
dkim_key_alg_name(enum dkim_key_alg a)
{
	return (size_t)a < N_ELEMS(alg_names) ? alg_names[a] : "unknown";
}

const char *
dkim_key_state_name(enum dkim_key_state s)
{
	return (size_t)s < N_ELEMS(state_names) ? state_names[s] : "unknown";
}

int
dkim_key_state_parse(const char *name, enum dkim_key_state *s_r)
{
	for (size_t i = 0; i < N_ELEMS(state_names); i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*s_r = (enum dkim_key_state)i;
			return 0;
		}
	}
	return -1;
}

/* ---- building a table ---- */

struct dkim_keytable *
keytable_new(const char *source)
{
	struct dkim_keytable *kt = xcalloc(1, sizeof(*kt));

	kt->source = xstrdup(source);
	return kt;
}

struct dkim_key *
keytable_add_key(struct dkim_keytable *kt)
{
	kt->keys = xrealloc(kt->keys, (kt->nkeys + 1) * sizeof(*kt->keys));
	memset(&kt->keys[kt->nkeys], 0, sizeof(*kt->keys));
	return &kt->keys[kt->nkeys++];
}

struct dkim_sign_rule *
keytable_add_rule(struct dkim_keytable *kt)
{
	kt->rules = xrealloc(kt->rules, (kt->nrules + 1) * sizeof(*kt->rules));
	memset(&kt->rules[kt->nrules], 0, sizeof(*kt->rules));
	return &kt->rules[kt->nrules++];
}

const struct dkim_key *
keytable_find_key(const struct dkim_keytable *kt, const char *name)
{
	for (size_t i = 0; i < kt->nkeys; i++)
		if (strcmp(kt->keys[i].name, name) == 0)
			return &kt->keys[i];
	return NULL;
}

/* The backend of a spec ("sqlite", "opendkim:...") or of a loaded
 * table's source ("sqlite:/path"); *arg_r is what follows "name:". */
static const struct keytable_backend *
backend_of(const char *spec, const char **arg_r)
{
	for (size_t i = 0; i < N_ELEMS(backends); i++) {
		size_t n = strlen(backends[i]->name);

		if (strncmp(spec, backends[i]->name, n) != 0)
			continue;
		if (spec[n] == '\0') {
			*arg_r = NULL;
			return backends[i];
		}
		if (spec[n] == ':') {
			*arg_r = spec + n + 1;
			return backends[i];
		}
	}
	return NULL;
}

/* ---- loading ---- */

static int
load_active_keys(struct dkim_keytable *kt, char **error_r)
{
	for (size_t i = 0; i < kt->nkeys; i++) {
		struct dkim_key *k = &kt->keys[i];

		if (k->state != DKIM_KEY_ACTIVE)
			continue;
		if (dkim_key_load_private(k, error_r) < 0) {
			char *e = *error_r;

			*error_r = xasprintf("%s: key %s: %s", kt->source, k->name, e);
			free(e);
			return -1;
		}
	}
	return 0;
}

int
dkim_keytable_load(const char *spec, const char *database, struct dkim_keytable **kt_r,
                   char **error_r)
{
	const char *arg;
	const struct keytable_backend *be = backend_of(spec, &arg);
	struct dkim_keytable *kt;
	char *source;

	if (be == NULL) {
		*error_r = xasprintf("key table \"%s\": not sqlite or "
		                     "opendkim:KEYTABLE,SIGNINGTABLE",
		                     spec);
		return -1;
	}
	if (be == &keytable_sqlite_backend)
		source = xasprintf("sqlite:%s", database ? database : "");
	else
		source = xstrdup(spec);
	kt = keytable_new(source);
	free(source);
	if (be->load(kt, arg, database, error_r) < 0 ||
	    load_active_keys(kt, error_r) < 0) {
		dkim_keytable_free(kt);
		return -1;
	}
	*kt_r = kt;
	return 0;
}

void
dkim_key_clear(struct dkim_key *k)
{
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->path);
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

void
dkim_keytable_free(struct dkim_keytable *kt)
{
	const char *arg;
	const struct keytable_backend *be;

	if (kt == NULL)
		return;
	be = backend_of(kt->source, &arg);
	if (be != NULL && kt->priv != NULL)
		be->free_priv(kt->priv);
	for (size_t i = 0; i < kt->nkeys; i++)
		dkim_key_clear(&kt->keys[i]);
	for (size_t i = 0; i < kt->nrules; i++) {
		free(kt->rules[i].pattern);
		free(kt->rules[i].domain);
		free(kt->rules[i].key_name);
	}
	free(kt->keys);
	free(kt->rules);
	free(kt->source);
	free(kt);
}

int
dkim_keytable_changed(const struct dkim_keytable *kt)
{
	const char *arg;
	const struct keytable_backend *be = backend_of(kt->source, &arg);

	return be != NULL && kt->priv != NULL ? be->changed(kt) : -1;
}

/* ---- matching ---- */

/* A glob where only '*' is special (any run, also empty), ignoring case. */
static bool
glob_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' && strncasecmp(p, s, 1) == 0) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* A domain pattern: "example.com" is that name, ".example.com" the
 * names below it. */
static bool
domain_match(const char *pattern, const char *domain)
{
	size_t np = strlen(pattern), nd = strlen(domain);

	if (pattern[0] == '.')
		return nd > np && strcasecmp(domain + nd - np, pattern) == 0;
	return strcasecmp(pattern, domain) == 0;
}

bool
dkim_rule_match(const struct dkim_sign_rule *r, const char *from_addr)
{
	const char *at = strrchr(from_addr, '@'), *pat = r->pattern;
	const char *pat_at;

	if (pat == NULL || *pat == '\0')
		return false;
	if (r->glob || strchr(pat, '*') != NULL)
		return glob_match(pat, from_addr);
	if ((pat_at = strrchr(pat, '@')) == NULL)
		return domain_match(pat, at != NULL ? at + 1 : from_addr);
	if (at == NULL || at - from_addr != pat_at - pat ||
	    strncasecmp(from_addr, pat, (size_t)(at - from_addr)) != 0)
		return false;
	return domain_match(pat_at + 1, at + 1);
}

static size_t
add_unique(const struct dkim_key **keys_r, size_t n, size_t max, const struct dkim_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (keys_r[i] == k)
			return n;
	if (n < max)
		keys_r[n++] = k;
	return n;
}

size_t
dkim_keytable_match(const struct dkim_keytable *kt, const char *from_addr,
                    const struct dkim_key **keys_r, size_t max)
{
	const struct dkim_sign_rule *r = NULL;
	size_t n = 0;

	for (size_t i = 0; i < kt->nrules && r == NULL; i++)
		if (dkim_rule_match(&kt->rules[i], from_addr))
			r = &kt->rules[i];
	if (r == NULL)
		return 0;
	for (size_t i = 0; i < kt->nkeys; i++) {
		const struct dkim_key *k = &kt->keys[i];

		if (k->state != DKIM_KEY_ACTIVE || k->pkey == NULL)
			continue;
		if (r->key_name != NULL
		        ? strcmp(k->name, r->key_name) == 0
		        : r->domain != NULL && strcasecmp(k->domain, r->domain) == 0)
			n = add_unique(keys_r, n, max, k);
	}
	return n;
}

/* ---- private keys ---- */

static bool owner_set;
static uid_t owner_uid;

void
dkim_key_set_owner(uid_t uid)
{
	owner_set = true;
	owner_uid = uid;
}

/* Never ask for a pass phrase (PEM_read_* would read the terminal). */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
key_fail(const struct dkim_key *k, char **error_r, const char *why)
{
	*error_r = xasprintf("%s: %s", k->path, why);
	return -1;
}

int
dkim_key_parse_private(struct dkim_key *k, const char *text, size_t len, char **error_r)
{
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *pkey =
	    bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL) : NULL;
	int id, bits;

	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
		return key_fail(k, error_r,
		                "does not hold a PEM private key (or it is encrypted)");
	id = EVP_PKEY_get_base_id(pkey);
	bits = EVP_PKEY_get_bits(pkey);
	if (id == EVP_PKEY_RSA && (bits < 1024 || bits > 4096)) {
		*error_r = xasprintf("%s: RSA key of %d bits; DKIM keys must have "
		                     "1024 to 4096 bits",
		                     k->path, bits);
		EVP_PKEY_free(pkey);
		return -1;
	}
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		const char *sn = OBJ_nid2sn(id);

		*error_r = xasprintf("%s: a %s key; DKIM keys are RSA or Ed25519",
		                     k->path, sn ? sn : "unknown");
		EVP_PKEY_free(pkey);
		return -1;
	}
	EVP_PKEY_free(k->pkey);
	k->alg = id == EVP_PKEY_RSA ? DKIM_ALG_RSA : DKIM_ALG_ED25519;
	k->bits = id == EVP_PKEY_RSA ? (unsigned)bits : 256;
	k->pkey = pkey;
	return 0;
}

/* The file checks: a regular file (not a link), private to its owner,
 * owned by root or the owner we accept, not too large. */
static int
check_key_file(const struct dkim_key *k, const struct stat *st, char **error_r)
{
	uid_t owner = owner_set ? owner_uid : geteuid();
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (S_ISLNK(st->st_mode))
		return key_fail(k, error_r,
		                "is a symbolic link; name the key file itself");
	if (!S_ISREG(st->st_mode))
		return key_fail(k, error_r, "is not a regular file");
	if ((mode & 077) != 0) {
		*error_r =
		    xasprintf("%s: %s by group or others (mode %04o); chmod 600 it",
		              k->path, (mode & 044) ? "readable" : "writable", mode);
		return -1;
	}
	if (st->st_uid != owner && st->st_uid != 0) {
		*error_r =
		    xasprintf("%s: owned by uid %lu, not by uid %lu or root", k->path,
		              (unsigned long)st->st_uid, (unsigned long)owner);
		return -1;
	}
	if (st->st_size > KEY_FILE_MAX)
		return key_fail(k, error_r, "is larger than 64 KB: not a DKIM key");
	return 0;
}

/* Read the whole file through fd, which must still be the file that
 * was checked (same device and inode). */
static int
read_key_file(const struct dkim_key *k, int fd, const struct stat *checked, char **text_r,
              size_t *len_r, char **error_r)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;

	if (fstat(fd, &st) < 0 || st.st_dev != checked->st_dev ||
	    st.st_ino != checked->st_ino || st.st_size > KEY_FILE_MAX)
		return key_fail(k, error_r, "changed while it was read");
	buf = xmalloc(KEY_FILE_MAX + 1);
	while (len <= KEY_FILE_MAX &&
	       (n = read(fd, buf + len, KEY_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = xasprintf("%s: %s", k->path, strerror(errno));
			free(buf);
			return -1;
		}
		len += (size_t)n;
	}
	if (len > KEY_FILE_MAX) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return key_fail(k, error_r, "is larger than 64 KB: not a DKIM key");
	}
	*text_r = buf;
	*len_r = len;
	return 0;
}

int
dkim_key_load_private(struct dkim_key *k, char **error_r)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd, rc;

	if (k->path == NULL || k->path[0] != '/')
		return key_fail(k, error_r, "the key file must be an absolute path");
	if (lstat(k->path, &st) < 0) {
		*error_r = xasprintf("%s: %s", k->path, strerror(errno));
		return -1;
	}
	if (check_key_file(k, &st, error_r) < 0)
		return -1;
	if ((fd = open(k->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) {
		*error_r = xasprintf("%s: %s", k->path, strerror(errno));
		return -1;
	}
	rc = read_key_file(k, fd, &st, &text, &len, error_r);
	close(fd);
	if (rc < 0)
		return -1;
	rc = dkim_key_parse_private(k, text, len, error_r);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}
