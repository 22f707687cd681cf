/*
 * keys_import: "posternctl keys import-opendkim KEYTABLE SIGNINGTABLE".
 * The tables are read by the OpenDKIM key table backend's parser, so
 * what is accepted is exactly what the daemon would accept with
 * dkim_key_table = opendkim:KEYTABLE,SIGNINGTABLE. Each key file is read
 * and parsed here (it may belong to OpenDKIM's user, which the daemon's
 * check would refuse), copied into key_dir as DOMAIN.SELECTOR.key (mode
 * 0600, the daemon's user), and becomes an active row; each SigningTable
 * row becomes a dkim_signing row for its key's domain, in the order the
 * OpenDKIM backend tries them. All of it is one transaction: an error
 * imports nothing (files already copied are removed again).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl/ctl.h"
#include "ctl/keyfile.h"
#include "db/keys.h"
#include "dkim/keytable.h"
#include "lib/xalloc.h"

#define KEY_FILE_MAX (64 * 1024)

struct import {
	struct ctl *c;
	struct db_keys *ks;
	uid_t uid;
	gid_t gid;
	char **made; /* files copied by this run */
	size_t nmade;
};

/* The source key file, read as root may read it: a regular file (links
 * followed) of at most 64 KB. */
static int
read_source(const char *path, char **text_r, size_t *len_r, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
		*error_r = xasprintf("%s: not a regular file of at most 64 KB", path);
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = read(fd, buf, (size_t)st.st_size + 1);
	close(fd);
	if (n < 0 || n > st.st_size) {
		*error_r =
		    xasprintf("%s: %s", path, n < 0 ? strerror(errno) : "file grew");
		free(buf);
		return -1;
	}
	if ((st.st_mode & 077) != 0)
		fprintf(stderr,
		        "posternctl: note: %s is readable or writable by group or others "
		        "(mode %04o); the copy in key_dir is not\n",
		        path, (unsigned)(st.st_mode & 07777));
	*text_r = buf;
	*len_r = (size_t)n;
	return 0;
}

/* Is path a file with exactly this content? */
static bool
same_content(const char *path, const char *text, size_t len)
{
	char *other = NULL, *error = NULL;
	size_t olen = 0;
	bool same;

	if (read_source(path, &other, &olen, &error) < 0) {
		free(error);
		return false;
	}
	same = olen == len && memcmp(other, text, len) == 0;
	OPENSSL_cleanse(other, olen);
	free(other);
	return same;
}

/* Copy the key into key_dir unless it is there already. */
static int
place_key(struct import *im, const char *dest, const char *src, const char *text,
          size_t len, char **error_r)
{
	if (strcmp(dest, src) == 0)
		return 0;
	if (access(dest, F_OK) == 0) {
		if (same_content(dest, text, len))
			return 0;
		*error_r =
		    xasprintf("%s exists with another key: not overwriting it", dest);
		return -1;
	}
	if (keyfile_write_text(dest, text, len, im->uid, im->gid, error_r) < 0)
		return -1;
	im->made = xrealloc(im->made, (im->nmade + 1) * sizeof(*im->made));
	im->made[im->nmade++] = xstrdup(dest);
	return 0;
}

static int
import_key(struct import *im, const struct dkim_key *src, char **error_r)
{
	struct dkim_key k = {.path = xstrdup(src->path)};
	struct db_key_row row = {0};
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (read_source(src->path, &text, &len, error_r) < 0 ||
	    dkim_key_parse_private(&k, text, len, error_r) < 0)
		goto out;
	row.domain = xstrdup(src->domain);
	row.selector = xstrdup(src->selector);
	row.alg = k.alg;
	row.bits = k.bits;
	row.path =
	    xasprintf("%s/%s.%s.key", im->c->cfg->key_dir, src->domain, src->selector);
	row.public_key = keyfile_public_b64(k.pkey);
	row.state = DKIM_KEY_ACTIVE;
	row.created = row.state_since = (int64_t)time(NULL);
	if (place_key(im, row.path, src->path, text, len, error_r) < 0 ||
	    db_keys_add(im->ks, &row, error_r) < 0)
		goto out;
	if (!im->c->json)
		printf("key %-20s %s._domainkey.%s  %s %u bits, active, %s\n", src->name,
		       row.selector, row.domain, dkim_key_alg_name(row.alg), row.bits,
		       row.path);
	rc = 0;
out:
	if (text != NULL)
		OPENSSL_cleanse(text, len);
	free(text);
	dkim_key_clear(&k);
	db_key_row_clear(&row);
	return rc;
}

/* Does the database hold the rule (pattern, domain) already? */
static bool
have_rule(struct db_keys *ks, const char *pattern, const char *domain)
{
	struct db_signing_row *rows = NULL;
	size_t n = 0;
	char *error = NULL;
	bool found = false;

	if (db_signing_list(ks, &rows, &n, &error) < 0) {
		free(error);
		return false;
	}
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(rows[i].pattern, pattern) == 0 &&
		        strcmp(rows[i].domain, domain) == 0;
	db_signing_rows_free(rows, n);
	return found;
}

static int
import_rules(struct import *im, const struct dkim_keytable *kt, size_t *nadded_r,
             char **error_r)
{
	for (size_t i = 0; i < kt->nrules; i++) {
		const struct dkim_sign_rule *r = &kt->rules[i];
		const struct dkim_key *k = NULL;

		for (size_t j = 0; j < kt->nkeys && k == NULL; j++)
			if (strcmp(kt->keys[j].name, r->key_name) == 0)
				k = &kt->keys[j];
		if (k == NULL || have_rule(im->ks, r->pattern, k->domain))
			continue;
		if (db_signing_add(im->ks, r->pattern, k->domain, error_r) < 0)
			return -1;
		(*nadded_r)++;
		if (!im->c->json)
			printf("rule %-30s signs with the keys of %s (was key %s)\n",
			       r->pattern, k->domain, k->name);
	}
	return 0;
}

/* OpenDKIM signs with one key per row; the database signs with every
 * active key of the domain. Say so where it makes a difference. */
static void
note_shared_domains(const struct dkim_keytable *kt)
{
	for (size_t i = 0; i < kt->nkeys; i++) {
		size_t same = 0;
		bool first = true;

		for (size_t j = 0; j < kt->nkeys; j++) {
			if (strcmp(kt->keys[j].domain, kt->keys[i].domain) != 0)
				continue;
			same++;
			first = first && j >= i;
		}
		if (same > 1 && first)
			fprintf(
			    stderr,
			    "posternctl: note: %s has %zu keys; postern signs mail for "
			    "it "
			    "with every active one (retire those that should not sign)\n",
			    kt->keys[i].domain, same);
	}
}

static void
undo_files(struct import *im)
{
	for (size_t i = 0; i < im->nmade; i++)
		unlink(im->made[i]);
}

int
keys_import_opendkim(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	struct import im = {.c = c, .ks = ks, .uid = (uid_t)-1, .gid = (gid_t)-1};
	struct dkim_keytable *kt;
	char *pos[2], *files, *error = NULL;
	size_t nrules = 0;
	int rc = 0;

	if (ctl_args(c, argc, argv, NULL, pos, 2) != 2)
		return ctl_usage_error(
		    "keys", "import-opendkim KEYTABLE [refile:]SIGNINGTABLE",
		    "import-opendkim needs a KEYTABLE and a SIGNINGTABLE");
	files = xasprintf("%s,%s", pos[0], pos[1]);
	rc = dkim_keytable_parse_opendkim(files, &kt, &error);
	free(files);
	if (rc < 0)
		return ctl_fail_free(error);
	if (ctl_daemon_user(c, &im.uid, &im.gid) < 0) {
		im.uid = (uid_t)-1;
		im.gid = (gid_t)-1;
	}
	rc = keyfile_mkdir(c->cfg->key_dir, im.uid, im.gid, &error);
	if (rc == 0)
		rc = db_keys_begin(ks, &error);
	for (size_t i = 0; rc == 0 && i < kt->nkeys; i++)
		rc = import_key(&im, &kt->keys[i], &error);
	if (rc == 0)
		rc = import_rules(&im, kt, &nrules, &error);
	if (rc == 0)
		rc = db_keys_commit(ks, &error);
	if (rc < 0) {
		db_keys_rollback(ks);
		undo_files(&im);
		ctl_fail("nothing imported: %s", error);
		free(error);
	} else {
		note_shared_domains(kt);
		if (c->json)
			printf("{\"keys\": %zu, \"rules\": %zu}\n", kt->nkeys, nrules);
		else
			printf("imported %zu keys and %zu rules\n", kt->nkeys, nrules);
	}
	for (size_t i = 0; i < im.nmade; i++)
		free(im.made[i]);
	free(im.made);
	dkim_keytable_free(kt);
	return rc < 0 ? CTL_FAIL : CTL_OK;
}
