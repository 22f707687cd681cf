/*
 * test_keytable: the DKIM key table (dkim/keytable*.c) with both
 * backends, the key store it reads (db/keys.c), the private key checks,
 * and the key material of posternctl (ctl/keyfile.c, ctl/keycheck.c):
 * DNS record text and the comparison of a published record with a key.
 * Keys are made once per run (RSA 1024 bits, to be quick) in a scratch
 * directory.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "ctl/keyfile.h"
#include "db/db.h"
#include "db/keys.h"
#include "dkim/keytable.h"
#include "lib/xalloc.h"
#include "testutil.h"

/* Key files made by group_setup. */
static char *rsa_path, *ed_path, *rsa2_path;
static char *rsa_pub, *ed_pub, *rsa2_pub;

static char *
make_key(const char *name, EVP_PKEY *pkey, char **pub_r)
{
	char *path = testutil_printf("%s/%s", testutil_dir, name), *error = NULL;

	if (keyfile_write(path, pkey, (uid_t)-1, (gid_t)-1, &error) < 0)
		testutil_fail(__FILE__, __LINE__, "%s", error);
	if (pub_r != NULL)
		*pub_r = keyfile_public_b64(pkey);
	EVP_PKEY_free(pkey);
	return path;
}

static int
group_setup(void **state)
{
	char *error = NULL;

	testutil_dir_setup(state);
	rsa_path =
	    make_key("rsa.key", keyfile_generate(DKIM_ALG_RSA, 1024, &error), &rsa_pub);
	rsa2_path =
	    make_key("rsa2.key", keyfile_generate(DKIM_ALG_RSA, 1024, &error), &rsa2_pub);
	ed_path =
	    make_key("ed.key", keyfile_generate(DKIM_ALG_ED25519, 0, &error), &ed_pub);
	return 0;
}

static int
group_teardown(void **state)
{
	free(rsa_path);
	free(rsa2_path);
	free(ed_path);
	free(rsa_pub);
	free(rsa2_pub);
	free(ed_pub);
	return testutil_dir_teardown(state);
}

/* ---- matching ---- */

static void
test_rule_match(void **state)
{
	static const struct {
		const char *pattern;
		bool glob;
		const char *addr;
		bool match;
	} cases[] = {
	    {"example.com", false, "alice@example.com", true},
	    {"example.com", false, "alice@EXAMPLE.Com", true},
	    {"Example.COM", false, "alice@example.com", true},
	    {"example.com", false, "alice@sub.example.com", false},
	    {"example.com", false, "alice@example.org", false},
	    {"alice@example.com", false, "alice@example.com", true},
	    {"alice@example.com", false, "ALICE@example.com", true},
	    {"alice@example.com", false, "bob@example.com", false},
	    {"alice@example.com", false, "xalice@example.com", false},
	    {".example.com", false, "a@sub.example.com", true},
	    {".example.com", false, "a@example.com", false},
	    {"alice@.example.com", false, "alice@a.b.example.com", true},
	    {"alice@.example.com", false, "bob@a.example.com", false},
	    {"*@example.com", false, "alice@example.com", true},
	    {"*@example.com", false, "alice@sub.example.com", false},
	    {"*@*.example.com", false, "alice@sub.example.com", true},
	    {"*@*.example.com", false, "alice@example.com", false},
	    {"*", false, "anyone@anywhere.test", true},
	    {"alice@*", false, "alice@x.test", true},
	    {"alice@*", false, "bob@x.test", false},
	    {"a*e@ex*.com", false, "alice@example.com", true},
	    {"a*e@ex*.com", false, "alicx@example.com", false},
	    {"**@*", false, "a@b", true},
	    {"*@EXAMPLE.com", false, "x@example.COM", true},
	    /* refile: a pattern without '*' is one address */
	    {"alice@example.com", true, "alice@example.com", true},
	    {"example.com", true, "alice@example.com", false},
	    {"", false, "alice@example.com", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_sign_rule r = {.pattern = (char *)cases[i].pattern,
		                           .glob = cases[i].glob};
		if (dkim_rule_match(&r, cases[i].addr) != cases[i].match)
			testutil_fail(__FILE__, __LINE__, "%s%s against %s: expected %s",
			              cases[i].glob ? "refile " : "", cases[i].pattern,
			              cases[i].addr,
			              cases[i].match ? "a match" : "no match");
	}
}

/* ---- the sqlite backend ---- */

static void
add_key(struct db_keys *ks, const char *domain, const char *selector,
        enum dkim_key_alg alg, const char *path, enum dkim_key_state state)
{
	struct db_key_row row = {
	    .domain = xstrdup(domain),
	    .selector = xstrdup(selector),
	    .alg = alg,
	    .bits = alg == DKIM_ALG_RSA ? 1024 : 256,
	    .path = xstrdup(path),
	    .public_key = xstrdup("AAAA"),
	    .state = state,
	    .created = 1000,
	    .state_since = 2000,
	};
	char *error = NULL;

	if (db_keys_add(ks, &row, &error) < 0)
		testutil_fail(__FILE__, __LINE__, "%s", error);
	db_key_row_clear(&row);
}

static void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_sqlite_backend(void **state)
{
	char *db = testutil_printf("%s/keys.db", testutil_dir), *error = NULL;
	struct db_keys *ks;
	struct dkim_keytable *kt = NULL;
	const struct dkim_key *keys[8];
	size_t n;

	(void)state;
	assert_int_equal(db_keys_open(db, &ks, &error), 0);
	add_key(ks, "Example.com", "s1", DKIM_ALG_RSA, rsa_path, DKIM_KEY_ACTIVE);
	add_key(ks, "example.com", "s2", DKIM_ALG_ED25519, ed_path, DKIM_KEY_ACTIVE);
	add_key(ks, "example.com", "s3", DKIM_ALG_RSA, "/nonexistent/key",
	        DKIM_KEY_PENDING);
	add_key(ks, "example.com", "s4", DKIM_ALG_RSA, "/nonexistent/key",
	        DKIM_KEY_RETIRED);
	add_key(ks, "other.test", "o1", DKIM_ALG_RSA, rsa2_path, DKIM_KEY_ACTIVE);
	assert_int_equal(db_signing_add(ks, "boss@other.test", "example.com", &error), 0);
	assert_int_equal(db_signing_add(ks, "*@*.other.test", "example.com", &error), 0);
	assert_int_equal(db_signing_add(ks, "other.test", "other.test", &error), 0);
	assert_int_equal(db_signing_add(ks, "example.com", "example.com", &error), 0);
	assert_int_equal(db_signing_add(ks, "example.com", "example.com", &error), -1);
	assert_substring(error, "already");
	free(error);
	error = NULL;

	assert_int_equal(dkim_keytable_load("sqlite", db, &kt, &error), 0);
	assert_int_equal(kt->nkeys, 5);
	assert_int_equal(kt->nrules, 4);
	assert_string_equal(kt->keys[0].domain, "example.com");
	assert_string_equal(kt->keys[0].name, "s1._domainkey.example.com");
	assert_non_null(kt->keys[0].pkey);
	assert_int_equal(kt->keys[0].alg, DKIM_ALG_RSA);
	assert_int_equal(kt->keys[0].bits, 1024);
	assert_int_equal(kt->keys[1].alg, DKIM_ALG_ED25519);
	assert_int_equal(kt->keys[1].bits, 256);
	assert_null(kt->keys[2].pkey); /* pending: not loaded */
	assert_null(kt->keys[3].pkey); /* retired */
	assert_int_equal(kt->keys[3].state, DKIM_KEY_RETIRED);
	assert_int_equal(kt->keys[2].created, 1000);
	assert_int_equal(kt->keys[2].state_since, 2000);

	/* every active key of the first matching rule's domain */
	n = dkim_keytable_match(kt, "alice@EXAMPLE.COM", keys, 8);
	assert_int_equal(n, 2);
	assert_ptr_equal(keys[0], &kt->keys[0]);
	assert_ptr_equal(keys[1], &kt->keys[1]);
	assert_int_equal(dkim_keytable_match(kt, "alice@example.com", keys, 1), 1);
	n = dkim_keytable_match(kt, "boss@other.test", keys, 8);
	assert_int_equal(n, 2); /* the address rule comes first */
	assert_string_equal(keys[0]->domain, "example.com");
	n = dkim_keytable_match(kt, "x@sub.other.test", keys, 8);
	assert_int_equal(n, 2);
	n = dkim_keytable_match(kt, "worker@other.test", keys, 8);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0]->selector, "o1");
	assert_int_equal(dkim_keytable_match(kt, "x@nowhere.test", keys, 8), 0);

	/* changed: not after a commit to another table, yes after a rule */
	assert_int_equal(dkim_keytable_changed(kt), 0);
	exec_sql(db, "INSERT INTO connections (id, time) VALUES (1, 'now')");
	assert_int_equal(dkim_keytable_changed(kt), 0);
	assert_int_equal(db_signing_add(ks, "new.test", "example.com", &error), 0);
	assert_int_equal(dkim_keytable_changed(kt), 1);
	dkim_keytable_free(kt);

	/* a state change is a change too, and an unsafe active key fails */
	assert_int_equal(dkim_keytable_load("sqlite", db, &kt, &error), 0);
	assert_int_equal(db_keys_set_state(ks, 3, DKIM_KEY_ACTIVE, 3000, &error), 0);
	assert_int_equal(dkim_keytable_changed(kt), 1);
	dkim_keytable_free(kt);
	assert_int_equal(dkim_keytable_load("sqlite", db, &kt, &error), -1);
	assert_substring(error, "/nonexistent/key");
	assert_substring(error, "s3._domainkey.example.com");
	free(error);
	db_keys_close(ks);
	free(db);
}

static void
test_key_store(void **state)
{
	char *db = testutil_printf("%s/store.db", testutil_dir), *error = NULL;
	struct db_keys *ks;
	struct db_key_row *rows, row;
	size_t n, nretired;

	(void)state;
	assert_int_equal(db_keys_open(db, &ks, &error), 0);
	add_key(ks, "example.com", "old", DKIM_ALG_RSA, rsa_path, DKIM_KEY_ACTIVE);
	add_key(ks, "example.com", "olded", DKIM_ALG_ED25519, ed_path, DKIM_KEY_ACTIVE);
	row = (struct db_key_row){.domain = xstrdup("example.com"),
	                          .selector = xstrdup("new"),
	                          .alg = DKIM_ALG_RSA,
	                          .bits = 2048,
	                          .path = xstrdup("/k"),
	                          .public_key = xstrdup("AAAA"),
	                          .state = DKIM_KEY_PENDING,
	                          .created = 5,
	                          .state_since = 5,
	                          .rotation = true};
	assert_int_equal(db_keys_add(ks, &row, &error), 0);
	db_key_row_clear(&row);
	assert_int_equal(
	    db_keys_add(ks,
	                &(struct db_key_row){.domain = (char[]){"example.com"},
	                                     .selector = (char[]){"new"},
	                                     .path = (char[]){"/k"},
	                                     .public_key = (char[]){"A"}},
	                &error),
	    -1);
	assert_substring(error, "new._domainkey.example.com exists");
	free(error);
	error = NULL;

	assert_int_equal(db_keys_get(ks, "EXAMPLE.com", "new", &row, &error), 0);
	assert_true(row.rotation);
	assert_int_equal(row.state, DKIM_KEY_PENDING);
	assert_int_equal(db_keys_activate(ks, row.id, true, 99, &nretired, &error), 0);
	assert_int_equal(nretired, 1); /* the RSA one, not the Ed25519 one */
	db_key_row_clear(&row);
	assert_int_equal(db_keys_get(ks, "example.com", "nope", &row, &error), 1);

	assert_int_equal(db_keys_list(ks, "example.com", &rows, &n, &error), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].selector, "old");
	assert_int_equal(rows[0].state, DKIM_KEY_RETIRED);
	assert_int_equal(rows[0].state_since, 99);
	assert_int_equal(rows[1].state, DKIM_KEY_ACTIVE);
	assert_int_equal(rows[2].state, DKIM_KEY_ACTIVE);
	assert_false(rows[2].rotation);
	assert_int_equal(db_keys_remove(ks, rows[0].id, &error), 0);
	db_key_rows_free(rows, n);
	assert_int_equal(db_keys_list(ks, NULL, &rows, &n, &error), 0);
	assert_int_equal(n, 2);
	db_key_rows_free(rows, n);

	assert_int_equal(db_signing_add(ks, "*@example.com", "Example.COM", &error), 0);
	assert_int_equal(db_signing_remove(ks, "*@example.com", "example.com", &error),
	                 0);
	assert_int_equal(db_signing_remove(ks, "*@example.com", "example.com", &error),
	                 1);
	db_keys_close(ks);
	free(db);
}

/* ---- the OpenDKIM backend ---- */

static char *
write_tables(const char *kt_text, const char *st_text, const char *st_prefix)
{
	char *kt = testutil_write_file(testutil_dir, "KeyTable", kt_text);
	char *st = testutil_write_file(testutil_dir, "SigningTable", st_text);
	char *spec = testutil_printf("opendkim:%s,%s%s", kt, st_prefix, st);

	free(kt);
	free(st);
	return spec;
}

static char *
kt_text(void)
{
	return testutil_printf("# keys\n"
	                       "\n"
	                       "rsa   example.com:sel1:%s\n"
	                       "ed    Example.com:sel2:%s   # comment\n"
	                       "other other.test:o1:%s\n",
	                       rsa_path, ed_path, rsa2_path);
}

static void
test_opendkim_refile(void **state)
{
	char *kt_s = kt_text(), *spec, *error = NULL;
	struct dkim_keytable *kt;
	const struct dkim_key *keys[4];

	(void)state;
	spec = write_tables(kt_s,
	                    "# refile: globs, first match wins\n"
	                    "boss@other.test   ed\n"
	                    "*@example.com     rsa\n"
	                    "*@example.com     ed\n"
	                    "*@*.other.test    other  signer@other.test\n"
	                    "example.com       ed\n",
	                    "refile:");
	assert_int_equal(dkim_keytable_load(spec, NULL, &kt, &error), 0);
	assert_int_equal(kt->nkeys, 3);
	assert_int_equal(kt->nrules, 5);
	assert_string_equal(kt->keys[1].domain, "example.com");
	assert_int_equal(kt->keys[1].state, DKIM_KEY_ACTIVE);
	assert_non_null(kt->keys[1].pkey);
	assert_int_equal(dkim_keytable_match(kt, "Alice@Example.COM", keys, 4), 1);
	assert_string_equal(keys[0]->name, "rsa");
	assert_int_equal(dkim_keytable_match(kt, "boss@other.test", keys, 4), 1);
	assert_string_equal(keys[0]->name, "ed");
	assert_int_equal(dkim_keytable_match(kt, "x@a.other.test", keys, 4), 1);
	assert_string_equal(keys[0]->name, "other");
	/* refile: "example.com" is an address, not a domain */
	assert_int_equal(dkim_keytable_match(kt, "x@other.test", keys, 4), 0);
	assert_int_equal(dkim_keytable_changed(kt), 0);
	free(write_tables(kt_s, "*@example.com ed\n", "refile:"));
	assert_int_equal(dkim_keytable_changed(kt), 1);
	dkim_keytable_free(kt);
	free(spec);
	free(kt_s);
}

static void
test_opendkim_plain_order(void **state)
{
	char *kt_s = kt_text(), *spec, *error = NULL;
	struct dkim_keytable *kt;
	const struct dkim_key *keys[4];

	(void)state;
	/* OpenDKIM's lookup order, whatever the file order */
	spec = write_tables(kt_s,
	                    "*                   other\n"
	                    "alice@*             other\n"
	                    ".com                other\n"
	                    ".example.com        ed\n"
	                    "alice@.example.com  rsa\n"
	                    "example.com         rsa\n"
	                    "alice@example.com   ed\n",
	                    "");
	assert_int_equal(dkim_keytable_load(spec, NULL, &kt, &error), 0);
	assert_string_equal(kt->rules[0].pattern, "alice@example.com");
	assert_string_equal(kt->rules[1].pattern, "example.com");
	assert_string_equal(kt->rules[2].pattern, "alice@.example.com");
	assert_string_equal(kt->rules[3].pattern, ".example.com");
	assert_string_equal(kt->rules[4].pattern, ".com");
	assert_string_equal(kt->rules[5].pattern, "alice@*");
	assert_string_equal(kt->rules[6].pattern, "*");
	dkim_keytable_match(kt, "alice@example.com", keys, 4);
	assert_string_equal(keys[0]->name, "ed");
	dkim_keytable_match(kt, "bob@example.com", keys, 4);
	assert_string_equal(keys[0]->name, "rsa");
	dkim_keytable_match(kt, "alice@a.example.com", keys, 4);
	assert_string_equal(keys[0]->name, "rsa");
	dkim_keytable_match(kt, "bob@a.example.com", keys, 4);
	assert_string_equal(keys[0]->name, "ed");
	dkim_keytable_match(kt, "bob@x.com", keys, 4);
	assert_string_equal(keys[0]->name, "other");
	assert_int_equal(dkim_keytable_match(kt, "bob@x.org", keys, 4), 1);
	dkim_keytable_free(kt);
	free(spec);
	free(kt_s);
}

static void
test_opendkim_errors(void **state)
{
	static const struct {
		const char *kt, *st, *prefix, *error;
	} cases[] = {
	    {"a example.com:s:@RSA@\n", "\n*@example.com\n",
	     "refile:", "SigningTable:2: pattern *@example.com has no key name"},
	    {"a example.com:s:@RSA@\n", "*@example.com b\n",
	     "refile:", "SigningTable:1: key b is not in the KeyTable"},
	    {"# x\na example.com:s\n", "*@example.com a\n",
	     "refile:", "KeyTable:2: key a: the value is not DOMAIN:SELECTOR:KEYPATH"},
	    {"a\n", "x a\n", "", "KeyTable:1: key a: the value is not"},
	    {"a %:s:@RSA@\n", "x a\n", "",
	     "KeyTable:1: key a: domain % (the From: domain)"},
	    {"a example.com:s:MIIBase64\n", "x a\n", "",
	     "KeyTable:1: key a: the key must be"},
	    {"a example.com:s:@RSA@\na example.com:t:@RSA@\n", "x a\n", "",
	     "KeyTable:2: key a is named twice"},
	    {"a example.com:s:@RSA@\n", "*@example.com a\n", "",
	     "SigningTable:1: pattern *@example.com: OpenDKIM never looks this up"},
	    {"a example.com:s:@RSA@\n", "x %\n",
	     "refile:", "SigningTable:1: pattern x: key name %"},
	    {"a example.com:s:/nonexistent\n", "x a\n", "", "/nonexistent"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *kt_s = xstrdup(cases[i].kt), *at, *spec, *error = NULL;
		struct dkim_keytable *kt = NULL;

		while ((at = strstr(kt_s, "@RSA@")) != NULL) {
			char *next = testutil_printf("%.*s%s%s", (int)(at - kt_s), kt_s,
			                             rsa_path, at + 5);
			free(kt_s);
			kt_s = next;
		}
		spec = write_tables(kt_s, cases[i].st, cases[i].prefix);
		if (dkim_keytable_load(spec, NULL, &kt, &error) != -1)
			testutil_fail(__FILE__, __LINE__, "case %zu loads", i);
		assert_substring(error, cases[i].error);
		free(error);
		free(spec);
		free(kt_s);
	}
}

/* ---- private key checks ---- */

static char *
copy_key(const char *from, const char *name, mode_t mode)
{
	FILE *fp = fopen(from, "r");
	char buf[8192];
	size_t n;
	char *path;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	path = testutil_write_bytes(testutil_dir, name, buf, n);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
expect_refused(const char *path, const char *why)
{
	struct dkim_key k = {.path = xstrdup(path)};
	char *error = NULL;

	if (dkim_key_load_private(&k, &error) != -1)
		testutil_fail(__FILE__, __LINE__, "%s loads", path);
	assert_substring(error, path);
	assert_substring(error, why);
	assert_null(k.pkey);
	free(error);
	dkim_key_clear(&k);
}

static char *
pem_of(EVP_PKEY *pkey, const char *name)
{
	char *path = testutil_printf("%s/%s", testutil_dir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	chmod(path, 0600);
	EVP_PKEY_free(pkey);
	return path;
}

static void
test_unsafe_keys(void **state)
{
	char *p644 = copy_key(rsa_path, "k644", 0644),
	     *p640 = copy_key(rsa_path, "k640", 0640);
	char *p620 = copy_key(rsa_path, "k620", 0620),
	     *ok = copy_key(rsa_path, "k600", 0600);
	char *link = testutil_printf("%s/klink", testutil_dir);
	char *garbage = testutil_write_file(testutil_dir, "garbage", "not a key\n");
	char *ec = pem_of(EVP_EC_gen("P-256"), "ec.key");
	char *small = pem_of(EVP_RSA_gen(512), "rsa512.key");
	struct dkim_key k = {.path = xstrdup(ok)};
	char *error = NULL;

	(void)state;
	chmod(garbage, 0600);
	assert_int_equal(symlink(ok, link), 0);
	expect_refused(p644, "readable by group or others (mode 0644); chmod 600");
	expect_refused(p640, "(mode 0640); chmod 600");
	expect_refused(p620, "writable by group or others (mode 0620)");
	expect_refused(link, "symbolic link");
	expect_refused(testutil_dir, "not a regular file");
	expect_refused(garbage, "does not hold a PEM private key");
	expect_refused(ec, "DKIM keys are RSA or Ed25519");
	expect_refused(small, "RSA key of 512 bits");
	expect_refused("/nonexistent/key", "No such file");

	/* the owner: root, or the one we name */
	if (geteuid() != 0) {
		dkim_key_set_owner(geteuid() + 1);
		expect_refused(ok, "owned by uid");
		dkim_key_set_owner(geteuid());
	}
	assert_int_equal(dkim_key_load_private(&k, &error), 0);
	assert_int_equal(k.alg, DKIM_ALG_RSA);
	assert_int_equal(k.bits, 1024);
	dkim_key_clear(&k);
	free(p644);
	free(p640);
	free(p620);
	free(ok);
	free(link);
	free(garbage);
	free(ec);
	free(small);
}

/* ---- records ---- */

static void
test_dns_record(void **state)
{
	char *rec = keyfile_dns_record("example.com", "sel", DKIM_ALG_RSA, rsa_pub);
	char *long_p = testutil_repeat('A', 800);
	char *rec2 = keyfile_dns_record("example.com", "s", DKIM_ALG_RSA, long_p);
	const char *q;

	(void)state;
	assert_true(strncmp(rec,
	                    "sel._domainkey.example.com. IN TXT ( \"v=DKIM1; k=rsa; p=",
	                    56) == 0);
	assert_substring(rec, rsa_pub);
	/* every string at most 255 bytes */
	for (q = strchr(rec2, '"'); q != NULL; q = strchr(q, '"')) {
		const char *end = strchr(q + 1, '"');
		assert_non_null(end);
		assert_true(end - q - 1 <= 255);
		q = end + 1;
	}
	free(rec);
	free(rec2);
	free(long_p);
	rec = keyfile_dns_record("example.com", "e", DKIM_ALG_ED25519, ed_pub);
	assert_substring(rec, "\"v=DKIM1; k=ed25519; p=");
	assert_int_equal(strlen(ed_pub), 44); /* 32 bytes */
	free(rec);
}

static void
test_keycheck(void **state)
{
	char *ok_rsa = testutil_printf("v=DKIM1; k=rsa; p=%s", rsa_pub);
	char *folded = testutil_printf("v=DKIM1;k=rsa;  p= %.*s %s ; t=y", 40, rsa_pub,
	                               rsa_pub + 40);
	char *no_k = testutil_printf("p=%s", rsa_pub);
	char *other = testutil_printf("v=DKIM1; k=rsa; p=%s", rsa2_pub);
	char *ed = testutil_printf("v=DKIM1; k=ed25519; p=%s", ed_pub);
	char *ed_as_rsa = testutil_printf("v=DKIM1; p=%s", ed_pub);
	const struct {
		const char *texts[3];
		size_t n;
		enum dkim_key_alg alg;
		const char *pub;
		enum keycheck want;
	} cases[] = {
	    {{ok_rsa}, 1, DKIM_ALG_RSA, rsa_pub, KC_OK},
	    {{folded}, 1, DKIM_ALG_RSA, rsa_pub, KC_OK},
	    {{no_k}, 1, DKIM_ALG_RSA, rsa_pub, KC_OK},
	    {{"v=spf1 -all", ok_rsa}, 2, DKIM_ALG_RSA, rsa_pub, KC_OK},
	    {{other}, 1, DKIM_ALG_RSA, rsa_pub, KC_DIFFERS},
	    {{ok_rsa, other}, 2, DKIM_ALG_RSA, rsa_pub, KC_DIFFERS},
	    {{"v=DKIM1; k=rsa; p="}, 1, DKIM_ALG_RSA, rsa_pub, KC_REVOKED},
	    {{"v=DKIM1; k=rsa; p=!!!!"}, 1, DKIM_ALG_RSA, rsa_pub, KC_DIFFERS},
	    {{"v=spf1 -all"}, 1, DKIM_ALG_RSA, rsa_pub, KC_NO_RECORD},
	    {{NULL}, 0, DKIM_ALG_RSA, rsa_pub, KC_NO_RECORD},
	    {{ed}, 1, DKIM_ALG_ED25519, ed_pub, KC_OK},
	    {{ed}, 1, DKIM_ALG_RSA, rsa_pub, KC_DIFFERS},
	    {{ed_as_rsa}, 1, DKIM_ALG_ED25519, ed_pub, KC_DIFFERS},
	    {{ok_rsa}, 1, DKIM_ALG_ED25519, ed_pub, KC_DIFFERS},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *detail = NULL;
		enum keycheck r = keycheck_records(cases[i].texts, cases[i].n,
		                                   cases[i].alg, cases[i].pub, &detail);
		if (r != cases[i].want)
			testutil_fail(
			    __FILE__, __LINE__, "case %zu: %s (%s), expected %s", i,
			    keycheck_name(r), detail, keycheck_name(cases[i].want));
		assert_non_null(detail);
		free(detail);
	}
	free(ok_rsa);
	free(folded);
	free(no_k);
	free(other);
	free(ed);
	free(ed_as_rsa);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_match),
	    cmocka_unit_test(test_sqlite_backend),
	    cmocka_unit_test(test_key_store),
	    cmocka_unit_test(test_opendkim_refile),
	    cmocka_unit_test(test_opendkim_plain_order),
	    cmocka_unit_test(test_opendkim_errors),
	    cmocka_unit_test(test_unsafe_keys),
	    cmocka_unit_test(test_dns_record),
	    cmocka_unit_test(test_keycheck),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
