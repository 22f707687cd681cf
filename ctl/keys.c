/*
 * keys: "posternctl keys ...", the DKIM keys of the database (db/keys.c)
 * and the key files in key_dir. One row of the command table per
 * subcommand, one function each. The life of a key: generate (or rotate)
 * makes it published-pending and prints its DNS record; check looks the
 * record up through postern's own resolver; activate (only after a
 * passing check, unless --force) makes it sign; retire stops it. A key
 * made by rotate activates itself when check first passes, and retires
 * the domain's other active keys of its algorithm.
 *
 * It is not the daemon's key table (dkim/keytable*.c), which only reads.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/keyfile.h"
#include "db/keys.h"
#include "dkim/keytable.h"
#include "dns/resolver.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

#define RSA_BITS_DEFAULT 2048

typedef int keys_fn(struct ctl *c, struct db_keys *ks, int argc, char **argv);

/* ---- small helpers ---- */

static bool
label_chars_ok(const char *s, bool dots)
{
	if (*s == '\0' || *s == '.' || *s == '-' || strlen(s) > 253)
		return false;
	for (const char *p = s; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		          (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		          (dots && *p == '.' && p[1] != '.' && p[1] != '\0');
		if (!ok)
			return false;
	}
	return true;
}

static int
parse_alg(const char *s, enum dkim_key_alg *alg_r)
{
	if (strcmp(s, "rsa") == 0)
		*alg_r = DKIM_ALG_RSA;
	else if (strcmp(s, "ed25519") == 0)
		*alg_r = DKIM_ALG_ED25519;
	else
		return -1;
	return 0;
}

static int
parse_bits(const char *s, unsigned *bits_r)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1024 || v > 4096)
		return -1;
	*bits_r = (unsigned)v;
	return 0;
}

static char *
key_name(const char *domain, const char *selector)
{
	return xasprintf("%s._domainkey.%s", selector, domain);
}

/* Files we create belong to the daemon's user when we run as root. */
static void
file_owner(struct ctl *c, uid_t *uid_r, gid_t *gid_r)
{
	if (ctl_daemon_user(c, uid_r, gid_r) < 0) {
		*uid_r = (uid_t)-1;
		*gid_r = (gid_t)-1;
	}
}

/* The daemon loads key files as its own user: check them as it would. */
static void
owner_as_daemon(struct ctl *c)
{
	uid_t uid;
	gid_t gid;

	if (ctl_daemon_user(c, &uid, &gid) == 0)
		dkim_key_set_owner(uid);
}

static int
get_key(struct db_keys *ks, const char *domain, const char *selector,
        struct db_key_row *row)
{
	char *error = NULL;
	int rc = db_keys_get(ks, domain, selector, row, &error);

	if (rc < 0)
		return ctl_fail_free(error);
	if (rc > 0)
		return ctl_fail("no key %s._domainkey.%s", selector, domain);
	return CTL_OK;
}

/* The arguments of a subcommand on one key, DOMAIN SELECTOR (and opts):
 * the key's row in *row. Returns CTL_OK or what to exit with. */
static int
key_args(struct ctl *c, struct db_keys *ks, int argc, char **argv,
         const struct ctl_opt *opts, const char *use, struct db_key_row *row)
{
	char *pos[2];

	if (ctl_args(c, argc, argv, opts, pos, 2) != 2)
		return ctl_usage_error("keys", use, "%s needs a DOMAIN and a SELECTOR",
		                       argv[0]);
	return get_key(ks, pos[0], pos[1], row);
}

/* ---- generate and rotate ---- */

struct newkey {
	const char *domain;
	const char *selector; /* NULL: the default */
	enum dkim_key_alg alg;
	unsigned bits;
	bool rotation;
};

/* The default selector: "p" YYYYMM and "r" or "e" for the algorithm
 * (p202611r); if that is taken for the domain, p202611r2, r3, ... */
static char *
default_selector(struct db_keys *ks, const char *domain, enum dkim_key_alg alg)
{
	time_t now = time(NULL);
	struct tm tm;
	char base[32];
	struct db_key_row row;
	char *error = NULL;

	gmtime_r(&now, &tm);
	snprintf(base, sizeof(base), "p%04d%02d%c", tm.tm_year + 1900, tm.tm_mon + 1,
	         alg == DKIM_ALG_RSA ? 'r' : 'e');
	for (unsigned i = 1; i < 1000; i++) {
		char *sel = i == 1 ? xstrdup(base) : xasprintf("%s%u", base, i);
		int rc = db_keys_get(ks, domain, sel, &row, &error);

		if (rc == 1)
			return sel;
		free(sel);
		if (rc < 0) {
			free(error);
			return NULL;
		}
		db_key_row_clear(&row);
	}
	return NULL;
}

static bool
key_exists(struct db_keys *ks, const char *domain, const char *selector)
{
	struct db_key_row row;
	char *error = NULL;
	int rc = db_keys_get(ks, domain, selector, &row, &error);

	if (rc == 0)
		db_key_row_clear(&row);
	free(error);
	return rc == 0;
}

static void
print_new_key(struct ctl *c, const struct db_key_row *row, const char *record)
{
	if (c->json) {
		printf("{\"domain\": ");
		json_string(stdout, row->domain);
		printf(", \"selector\": ");
		json_string(stdout, row->selector);
		printf(", \"algorithm\": \"%s\", \"bits\": %u, \"state\": \"%s\", "
		       "\"path\": ",
		       dkim_key_alg_name(row->alg), row->bits,
		       dkim_key_state_name(row->state));
		json_string(stdout, row->path);
		printf(", \"record\": ");
		json_string(stdout, record);
		printf("}\n");
		return;
	}
	printf("generated %s key %s for %s (%u bits), state %s\n",
	       dkim_key_alg_name(row->alg), row->selector, row->domain, row->bits,
	       dkim_key_state_name(row->state));
	printf("private key: %s\n", row->path);
	printf("publish this record in the zone of %s:\n", row->domain);
	printf("%s\n", record);
	printf("then run: posternctl keys check %s %s\n", row->domain, row->selector);
}

static int
new_key(struct ctl *c, struct db_keys *ks, const struct newkey *nk)
{
	struct config *cfg = c->cfg;
	struct db_key_row row = {0};
	char *error = NULL, *record;
	void *pkey;
	uid_t uid;
	gid_t gid;
	int rc = CTL_FAIL;

	row.domain = str_lower(xstrdup(nk->domain));
	row.selector = nk->selector ? xstrdup(nk->selector)
	                            : default_selector(ks, row.domain, nk->alg);
	if (row.selector == NULL) {
		free(row.domain);
		return ctl_fail("%s: no free selector; give one with --selector",
		                nk->domain);
	}
	row.alg = nk->alg;
	row.bits = nk->alg == DKIM_ALG_RSA ? nk->bits : 256;
	row.state = DKIM_KEY_PENDING;
	row.created = row.state_since = (int64_t)time(NULL);
	row.rotation = nk->rotation;
	row.path = xasprintf("%s/%s.%s.key", cfg->key_dir, row.domain, row.selector);
	file_owner(c, &uid, &gid);
	if (key_exists(ks, row.domain, row.selector)) {
		ctl_fail("key %s._domainkey.%s exists", row.selector, row.domain);
		goto out;
	}
	if (keyfile_mkdir(cfg->key_dir, uid, gid, &error) < 0 ||
	    (pkey = keyfile_generate(nk->alg, row.bits, &error)) == NULL) {
		ctl_fail_free(error);
		goto out;
	}
	row.public_key = keyfile_public_b64(pkey);
	rc = keyfile_write(row.path, pkey, uid, gid, &error);
	keyfile_free_pkey(pkey);
	if (rc < 0) {
		rc = ctl_fail_free(error);
		goto out;
	}
	if (db_keys_add(ks, &row, &error) < 0) {
		unlink(row.path);
		rc = ctl_fail_free(error);
		goto out;
	}
	record = keyfile_dns_record(row.domain, row.selector, row.alg, row.public_key);
	print_new_key(c, &row, record);
	free(record);
	rc = CTL_OK;
out:
	free(error);
	db_key_row_clear(&row);
	return rc;
}

/* The arguments generate and rotate share: DOMAIN, --selector S (a
 * valid selector, in nk->selector) and --algorithm (in nk->alg, and its
 * text in *alg_r); *bits_r is the text of --bits. Returns CTL_OK or a
 * usage error. */
static int
newkey_args(struct ctl *c, int argc, char **argv, const char *use, struct newkey *nk,
            const char **alg_r, const char **bits_r)
{
	const char *sel = NULL;
	const struct ctl_opt opts[] = {{"selector", &sel, NULL},
	                               {"algorithm", alg_r, NULL},
	                               {"bits", bits_r, NULL},
	                               {0}};
	char *pos[1];

	*alg_r = NULL;
	*bits_r = NULL;
	if (ctl_args(c, argc, argv, opts, pos, 1) != 1)
		return ctl_usage_error("keys", use, "%s needs a DOMAIN", argv[0]);
	nk->domain = pos[0];
	nk->selector = sel;
	if (sel != NULL && !label_chars_ok(sel, true))
		return ctl_usage_error("keys", use, "\"%s\" is not a selector", sel);
	if (*alg_r != NULL && parse_alg(*alg_r, &nk->alg) < 0)
		return ctl_usage_error("keys", use, "--algorithm is rsa or ed25519");
	return CTL_OK;
}

static int
keys_generate(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	const char *use =
	    "generate DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N]";
	struct newkey nk = {.alg = DKIM_ALG_RSA, .bits = RSA_BITS_DEFAULT};
	const char *alg, *bits;
	int rc;

	if ((rc = newkey_args(c, argc, argv, use, &nk, &alg, &bits)) != CTL_OK)
		return rc;
	if (!label_chars_ok(nk.domain, true))
		return ctl_usage_error("keys", use, "\"%s\" is not a domain", nk.domain);
	if (bits != NULL && nk.alg == DKIM_ALG_ED25519)
		return ctl_usage_error("keys", use, "--bits is for RSA keys only");
	if (bits != NULL && parse_bits(bits, &nk.bits) < 0)
		return ctl_usage_error("keys", use, "--bits must be 1024 to 4096");
	return new_key(c, ks, &nk);
}

static int
keys_rotate(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	const char *use =
	    "rotate DOMAIN [--algorithm rsa|ed25519] [--bits N] [--selector S]";
	struct newkey nk = {.rotation = true};
	struct db_key_row *rows = NULL, *cur = NULL;
	size_t n = 0;
	const char *alg, *bits;
	char *error = NULL;
	int rc;

	if ((rc = newkey_args(c, argc, argv, use, &nk, &alg, &bits)) != CTL_OK)
		return rc;
	if (db_keys_list(ks, nk.domain, &rows, &n, &error) < 0)
		return ctl_fail_free(error);
	for (size_t i = 0; i < n; i++) {
		if (rows[i].state != DKIM_KEY_ACTIVE ||
		    (alg != NULL && rows[i].alg != nk.alg))
			continue;
		if (cur != NULL && cur->alg != rows[i].alg) {
			db_key_rows_free(rows, n);
			return ctl_usage_error(
			    "keys", use,
			    "%s has active RSA and Ed25519 keys: say which "
			    "with --algorithm",
			    nk.domain);
		}
		cur = &rows[i];
	}
	if (cur == NULL) {
		db_key_rows_free(rows, n);
		return ctl_fail("%s has no active %s key to rotate; use keys generate",
		                nk.domain, alg ? alg : "");
	}
	nk.alg = cur->alg;
	nk.bits = cur->alg == DKIM_ALG_RSA ? cur->bits : 256;
	db_key_rows_free(rows, n);
	if (bits != NULL && (nk.alg != DKIM_ALG_RSA || parse_bits(bits, &nk.bits) < 0))
		return ctl_usage_error("keys", use,
		                       "--bits must be 1024 to 4096, for RSA");
	rc = new_key(c, ks, &nk);
	if (rc == CTL_OK && !c->json)
		printf("when check passes, the new key becomes active and the old one "
		       "retires\n");
	return rc;
}

/* ---- list and show ---- */

static void
list_json(const struct db_key_row *rows, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		const struct db_key_row *r = &rows[i];

		printf("%s\n  {\"domain\": ", i ? "," : "");
		json_string(stdout, r->domain);
		printf(", \"selector\": ");
		json_string(stdout, r->selector);
		printf(", \"algorithm\": \"%s\", \"bits\": %u, \"state\": \"%s\", "
		       "\"created\": %lld, \"state_since\": %lld, \"path\": ",
		       dkim_key_alg_name(r->alg), r->bits, dkim_key_state_name(r->state),
		       (long long)r->created, (long long)r->state_since);
		json_string(stdout, r->path);
		printf("}");
	}
	printf("%s]\n", n ? "\n" : "");
}

static int
width(int w, const char *s)
{
	int n = (int)strlen(s);
	return n > w ? n : w;
}

static void
list_text(const struct db_key_row *rows, size_t n)
{
	int wd = 6, ws = 8;
	char t1[32], t2[32];

	for (size_t i = 0; i < n; i++) {
		wd = width(wd, rows[i].domain);
		ws = width(ws, rows[i].selector);
	}
	printf("%-*s  %-*s  %-9s %5s  %-17s  %-20s  %s\n", wd, "DOMAIN", ws, "SELECTOR",
	       "ALGORITHM", "BITS", "STATE", "CREATED", "SINCE");
	for (size_t i = 0; i < n; i++) {
		const struct db_key_row *r = &rows[i];

		ctl_format_time(r->created, t1);
		ctl_format_time(r->state_since, t2);
		printf("%-*s  %-*s  %-9s %5u  %-17s  %-20s  %s\n", wd, r->domain, ws,
		       r->selector, dkim_key_alg_name(r->alg), r->bits,
		       dkim_key_state_name(r->state), t1, t2);
	}
}

static int
keys_list(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	struct db_key_row *rows = NULL;
	size_t n = 0;
	char *pos[1], *error = NULL;
	int npos = ctl_args(c, argc, argv, NULL, pos, 1);

	if (npos < 0)
		return ctl_usage_error("keys", "list [DOMAIN] [--json]", "bad arguments");
	if (db_keys_list(ks, npos ? pos[0] : NULL, &rows, &n, &error) < 0)
		return ctl_fail_free(error);
	if (c->json)
		list_json(rows, n);
	else
		list_text(rows, n);
	db_key_rows_free(rows, n);
	return CTL_OK;
}

static int
keys_show(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	struct db_key_row row;
	char *record;
	int rc;

	if ((rc = key_args(c, ks, argc, argv, NULL, "show DOMAIN SELECTOR [--json]",
	                   &row)) != CTL_OK)
		return rc;
	record = keyfile_dns_record(row.domain, row.selector, row.alg, row.public_key);
	if (c->json)
		print_new_key(c, &row, record);
	else
		printf("%s\n", record);
	free(record);
	db_key_row_clear(&row);
	return CTL_OK;
}

/* ---- check ---- */

struct key_check {
	enum keycheck result;
	char *detail;
	char *activated; /* what the check changed, or NULL */
};

static enum keycheck
check_dns(struct ctl *c, const struct db_key_row *row, char **detail_r)
{
	char *name = key_name(row->domain, row->selector);
	struct dns_answer *a = dns_lookup(c->cfg->resolver, name, DNS_T_TXT, 0);
	const char **texts;
	enum keycheck r;

	free(name);
	if (a->status == DNS_TEMP) {
		*detail_r = xasprintf("DNS temporary failure: %s", a->reason);
		dns_answer_free(a);
		return KC_TEMP;
	}
	if (a->status != DNS_OK) {
		*detail_r = xasprintf("no record (%s)", dns_status_name(a->status));
		dns_answer_free(a);
		return KC_NO_RECORD;
	}
	texts = xcalloc(a->nrr + 1, sizeof(*texts));
	for (size_t i = 0; i < a->nrr; i++)
		texts[i] = a->rr[i].text;
	r = keycheck_records(texts, a->nrr, row->alg, row->public_key, detail_r);
	free(texts);
	dns_answer_free(a);
	return r;
}

/* The key file as the daemon will read it. */
static int
check_key_file(struct ctl *c, const struct db_key_row *row, char **error_r)
{
	struct dkim_key k = {.path = xstrdup(row->path)};
	int rc;

	owner_as_daemon(c);
	rc = dkim_key_load_private(&k, error_r);
	dkim_key_clear(&k);
	return rc;
}

/* A rotation's pending key that passed: activate it, retire the old. */
static void
finish_rotation(struct ctl *c, struct db_keys *ks, struct db_key_row *row,
                struct key_check *cr)
{
	size_t nretired = 0;
	char *error = NULL;

	if (check_key_file(c, row, &error) < 0 ||
	    db_keys_activate(ks, row->id, true, (int64_t)time(NULL), &nretired, &error) <
	        0) {
		cr->activated = xasprintf("not activated: %s", error);
		free(error);
		return;
	}
	row->state = DKIM_KEY_ACTIVE;
	cr->activated = xasprintf("activated (rotation); %zu old key%s retired", nretired,
	                          nretired == 1 ? "" : "s");
}

static void
check_print(struct ctl *c, const struct db_key_row *r, const struct key_check *cr,
            bool first)
{
	if (c->json) {
		printf("%s\n  {\"domain\": ", first ? "" : ",");
		json_string(stdout, r->domain);
		printf(", \"selector\": ");
		json_string(stdout, r->selector);
		printf(", \"state\": \"%s\", \"result\": \"%s\", \"detail\": ",
		       dkim_key_state_name(r->state), keycheck_name(cr->result));
		json_string(stdout, cr->detail);
		if (cr->activated != NULL) {
			printf(", \"action\": ");
			json_string(stdout, cr->activated);
		}
		printf("}");
		return;
	}
	printf("%s._domainkey.%s (%s, %s): %s: %s%s%s\n", r->selector, r->domain,
	       dkim_key_alg_name(r->alg), dkim_key_state_name(r->state),
	       keycheck_name(cr->result), cr->detail, cr->activated ? "; " : "",
	       cr->activated ? cr->activated : "");
}

static int
keys_check(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	struct db_key_row *rows = NULL;
	size_t n = 0, nchecked = 0;
	char *pos[2], *error = NULL;
	int npos = ctl_args(c, argc, argv, NULL, pos, 2), rc = CTL_OK;

	if (npos < 1)
		return ctl_usage_error("keys", "check DOMAIN [SELECTOR] [--json]",
		                       "check needs a DOMAIN");
	if (db_keys_list(ks, pos[0], &rows, &n, &error) < 0)
		return ctl_fail_free(error);
	if (c->json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		struct key_check cr = {0};
		struct db_key_row *r = &rows[i];

		if (npos == 2 ? strcmp(r->selector, pos[1]) != 0
		              : r->state == DKIM_KEY_RETIRED)
			continue;
		cr.result = check_dns(c, r, &cr.detail);
		if (cr.result == KC_OK && r->state == DKIM_KEY_PENDING && r->rotation)
			finish_rotation(c, ks, r, &cr);
		if (cr.result != KC_OK)
			rc = CTL_FAIL;
		check_print(c, r, &cr, nchecked++ == 0);
		free(cr.detail);
		free(cr.activated);
	}
	if (c->json)
		printf("%s]\n", nchecked ? "\n" : "");
	db_key_rows_free(rows, n);
	if (nchecked == 0)
		return ctl_fail("no %skey %s%s%s to check", npos == 2 ? "" : "unretired ",
		                npos == 2 ? pos[1] : "",
		                npos == 2 ? "._domainkey." : "for ", pos[0]);
	return rc;
}

/* ---- state changes ---- */

static int
keys_activate(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	bool force = false;
	const struct ctl_opt opts[] = {{"force", NULL, &force}, {0}};
	struct db_key_row row;
	char *error = NULL, *detail = NULL;
	size_t nretired = 0;
	enum keycheck r;
	int rc;

	if ((rc = key_args(c, ks, argc, argv, opts, "activate DOMAIN SELECTOR [--force]",
	                   &row)) != CTL_OK)
		return rc;
	if (row.state == DKIM_KEY_ACTIVE) {
		printf("%s._domainkey.%s is already active\n", row.selector, row.domain);
		db_key_row_clear(&row);
		return CTL_OK;
	}
	if (check_key_file(c, &row, &error) < 0) {
		db_key_row_clear(&row);
		ctl_fail("not activating: the daemon would refuse the key: %s", error);
		free(error);
		return CTL_FAIL;
	}
	r = check_dns(c, &row, &detail);
	if (r != KC_OK && !force) {
		ctl_fail(
		    "not activating %s._domainkey.%s: check says %s: %s (publish the "
		    "record, or use --force)",
		    row.selector, row.domain, keycheck_name(r), detail);
		free(detail);
		db_key_row_clear(&row);
		return CTL_FAIL;
	}
	if (db_keys_activate(ks, row.id, row.rotation, (int64_t)time(NULL), &nretired,
	                     &error) < 0) {
		free(detail);
		db_key_row_clear(&row);
		return ctl_fail_free(error);
	}
	printf("%s._domainkey.%s is active%s (check: %s)", row.selector, row.domain,
	       force && r != KC_OK ? ", forced" : "", keycheck_name(r));
	if (nretired > 0)
		printf("; %zu old key%s retired", nretired, nretired == 1 ? "" : "s");
	printf("\n");
	free(detail);
	db_key_row_clear(&row);
	return CTL_OK;
}

static int
keys_retire(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	struct db_key_row row;
	char *error = NULL;
	int rc;

	if ((rc = key_args(c, ks, argc, argv, NULL, "retire DOMAIN SELECTOR", &row)) !=
	    CTL_OK)
		return rc;
	if (db_keys_set_state(ks, row.id, DKIM_KEY_RETIRED, (int64_t)time(NULL), &error) <
	    0)
		rc = ctl_fail_free(error);
	else
		printf("%s._domainkey.%s is retired; keep its DNS record for a few days, "
		       "until mail signed with it has been delivered\n",
		       row.selector, row.domain);
	db_key_row_clear(&row);
	return rc;
}

static int
keys_remove(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	bool del = false, force = false;
	const struct ctl_opt opts[] = {
	    {"delete-file", NULL, &del}, {"force", NULL, &force}, {0}};
	struct db_key_row row;
	char *error = NULL;
	int rc;

	if ((rc = key_args(c, ks, argc, argv, opts,
	                   "remove DOMAIN SELECTOR [--delete-file] [--force]", &row)) !=
	    CTL_OK)
		return rc;
	if (row.state == DKIM_KEY_ACTIVE && !force) {
		rc = ctl_fail(
		    "%s._domainkey.%s is active: retire it first, or use --force",
		    row.selector, row.domain);
		db_key_row_clear(&row);
		return rc;
	}
	if (db_keys_remove(ks, row.id, &error) < 0) {
		db_key_row_clear(&row);
		return ctl_fail_free(error);
	}
	if (!del)
		printf("removed %s._domainkey.%s; its key file stays: %s\n", row.selector,
		       row.domain, row.path);
	else if (unlink(row.path) < 0 && errno != ENOENT)
		rc = ctl_fail("removed %s._domainkey.%s, but not its key file: %s: %s",
		              row.selector, row.domain, row.path, strerror(errno));
	else
		printf("removed %s._domainkey.%s and its key file %s\n", row.selector,
		       row.domain, row.path);
	db_key_row_clear(&row);
	return rc;
}

/* ---- signing rules ---- */

static int
keys_sign_for(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	bool remove = false;
	const struct ctl_opt opts[] = {{"remove", NULL, &remove}, {0}};
	const char *use = "sign-for [--remove] PATTERN DOMAIN";
	char *pos[2], *error = NULL;
	int rc;

	if (ctl_args(c, argc, argv, opts, pos, 2) != 2)
		return ctl_usage_error("keys", use,
		                       "sign-for needs a PATTERN and a DOMAIN");
	if (*pos[0] == '\0' || strpbrk(pos[0], " \t\r\n") != NULL || str_has_ctl(pos[0]))
		return ctl_usage_error("keys", use, "\"%s\" is not a pattern", pos[0]);
	if (!label_chars_ok(pos[1], true))
		return ctl_usage_error("keys", use, "\"%s\" is not a domain", pos[1]);
	if (remove) {
		rc = db_signing_remove(ks, pos[0], pos[1], &error);
		if (rc < 0)
			return ctl_fail_free(error);
		if (rc > 0)
			return ctl_fail("no rule %s -> %s", pos[0], pos[1]);
		printf("removed: %s no longer signs with the keys of %s\n", pos[0],
		       pos[1]);
		return CTL_OK;
	}
	if (db_signing_add(ks, pos[0], pos[1], &error) < 0)
		return ctl_fail_free(error);
	printf("mail from %s is signed with every active key of %s\n", pos[0], pos[1]);
	return CTL_OK;
}

static int
keys_signing(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	struct db_signing_row *rows = NULL;
	size_t n = 0;
	char *pos[1], *error = NULL;
	int wp = 7;

	if (ctl_args(c, argc, argv, NULL, pos, 0) != 0)
		return ctl_usage_error("keys", "signing [--json]",
		                       "signing takes no arguments");
	if (db_signing_list(ks, &rows, &n, &error) < 0)
		return ctl_fail_free(error);
	if (c->json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s\n  {\"pattern\": ", i ? "," : "");
			json_string(stdout, rows[i].pattern);
			printf(", \"domain\": ");
			json_string(stdout, rows[i].domain);
			printf("}");
		}
		printf("%s]\n", n ? "\n" : "");
	} else {
		for (size_t i = 0; i < n; i++)
			wp = width(wp, rows[i].pattern);
		printf("%-*s  %s\n", wp, "PATTERN", "DOMAIN");
		for (size_t i = 0; i < n; i++)
			printf("%-*s  %s\n", wp, rows[i].pattern, rows[i].domain);
	}
	db_signing_rows_free(rows, n);
	return CTL_OK;
}

/* ---- verify-files ---- */

static int
keys_verify_files(struct ctl *c, struct db_keys *ks, int argc, char **argv)
{
	struct dkim_keytable *kt;
	char *pos[1], *error = NULL;
	size_t nactive = 0;

	(void)ks;
	if (ctl_args(c, argc, argv, NULL, pos, 0) != 0)
		return ctl_usage_error("keys", "verify-files",
		                       "verify-files takes no arguments");
	owner_as_daemon(c);
	if (dkim_keytable_load(c->cfg->dkim_key_table, c->cfg->database, &kt, &error) < 0)
		return ctl_fail_free(error);
	for (size_t i = 0; i < kt->nkeys; i++)
		nactive += kt->keys[i].state == DKIM_KEY_ACTIVE;
	printf("%s: %zu keys (%zu active, all loaded), %zu signing rules: ok\n",
	       kt->source, kt->nkeys, nactive, kt->nrules);
	dkim_keytable_free(kt);
	return CTL_OK;
}

/* ---- the table ---- */

static const struct {
	const char *name;
	keys_fn *run;
	const char *usage;
} keys_cmds[] = {
    {"generate", keys_generate,
     "DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N]"},
    {"list", keys_list, "[DOMAIN] [--json]"},
    {"show", keys_show, "DOMAIN SELECTOR [--json]"},
    {"check", keys_check, "DOMAIN [SELECTOR] [--json]"},
    {"activate", keys_activate, "DOMAIN SELECTOR [--force]"},
    {"retire", keys_retire, "DOMAIN SELECTOR"},
    {"remove", keys_remove, "DOMAIN SELECTOR [--delete-file] [--force]"},
    {"rotate", keys_rotate, "DOMAIN [--algorithm rsa|ed25519] [--bits N] [--selector S]"},
    {"sign-for", keys_sign_for, "[--remove] PATTERN DOMAIN"},
    {"signing", keys_signing, "[--json]"},
    {"import-opendkim", keys_import_opendkim, "KEYTABLE [refile:]SIGNINGTABLE"},
    {"verify-files", keys_verify_files, ""},
};
#define NKEYS_CMDS (sizeof(keys_cmds) / sizeof(keys_cmds[0]))

static int
keys_usage(struct ctl *c, FILE *out)
{
	(void)c;
	fprintf(out, "usage: posternctl [-c FILE] [--json] keys SUBCOMMAND ...\n");
	for (size_t i = 0; i < NKEYS_CMDS; i++)
		fprintf(out, "  keys %s %s\n", keys_cmds[i].name, keys_cmds[i].usage);
	return out == stdout ? CTL_OK : CTL_USAGE;
}

int
ctl_keys(struct ctl *c, int argc, char **argv)
{
	struct db_keys *ks = NULL;
	char *error = NULL;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "posternctl: keys needs a subcommand\n");
		return keys_usage(c, stderr);
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return keys_usage(c, stdout);
	for (size_t i = 0; i < NKEYS_CMDS; i++) {
		if (strcmp(argv[1], keys_cmds[i].name) != 0)
			continue;
		if (ctl_config(c) == NULL)
			return CTL_FAIL;
		if (db_keys_open(c->cfg->database, &ks, &error) < 0)
			return ctl_fail_free(error);
		rc = keys_cmds[i].run(c, ks, argc - 1, argv + 1);
		db_keys_close(ks);
		return rc;
	}
	fprintf(stderr, "posternctl: keys: unknown subcommand \"%s\"\n", argv[1]);
	return keys_usage(c, stderr);
}
