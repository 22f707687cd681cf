/*
 * test_dkim: the DKIM message path (dkim/message.c over libopendkim, the
 * DNS bridge of dkim/engine.c) and its policy (policy/dkimcheck.c), with
 * keys made here and served by the resolver's test seam: sign a message,
 * then verify it, and spoil it in every way the verifier must notice.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <opendkim/dkim.h>

#include "dkim/engine.h"
#include "dkim/keytable.h"
#include "dkim/message.h"
#include "dkim/sign.h"
#include "dns/resolver.h"
#include "lib/xalloc.h"
#include "policy/conf.h"
#include "policy/dkimcheck.h"
#include "tests/spf/zone.h"
#include "tests/unit/testutil.h"

#define DOMAIN "example.com"

static struct zone *zone;
static struct dns_resolver *resolver;
static struct dkim_engine *engine;
static struct dkim_key rsa_key, ed_key, small_key;
static char *rsa_pem; /* for libopendkim's own signer (sign_raw) */

static const char *const signed_headers[] = {"from", "to", "subject", "date", NULL};
/* More names than the test message has fields: oversigning absent
 * fields is legitimate, and must verify (libopendkim is shown padding). */
static const char *const oversigned[] = {"from",       "to",           "subject",
                                         "date",       "cc",           "reply-to",
                                         "message-id", "mime-version", NULL};

/* A private key of this type as PEM text, and its public p= value. */
static void
make_key(struct dkim_key *k, const char *selector, int type, unsigned bits)
{
	EVP_PKEY *pkey = type == EVP_PKEY_RSA ? EVP_RSA_gen(bits)
	                                      : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char *der = NULL, raw[32], b64[2048];
	int dlen;

	assert_non_null(pkey);
	if (k == &rsa_key) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *pem;
		assert_int_equal(
		    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
		long len = BIO_get_mem_data(bio, &pem);
		rsa_pem = xmalloc((size_t)len + 1);
		memcpy(rsa_pem, pem, (size_t)len);
		rsa_pem[len] = '\0';
		BIO_free(bio);
	}
	k->domain = xstrdup(DOMAIN);
	k->selector = xstrdup(selector);
	k->alg = type == EVP_PKEY_RSA ? DKIM_ALG_RSA : DKIM_ALG_ED25519;
	k->bits = bits;
	k->state = DKIM_KEY_ACTIVE;
	if (type == EVP_PKEY_RSA) {
		dlen = i2d_PUBKEY(pkey, &der);
		assert_true(dlen > 0);
		EVP_EncodeBlock(b64, der, dlen);
		OPENSSL_free(der);
	} else {
		size_t rl = sizeof(raw);
		assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, raw, &rl), 1);
		EVP_EncodeBlock(b64, raw, (int)rl);
	}
	k->path = testutil_printf("v=DKIM1; k=%s; p=%s",
	                          type == EVP_PKEY_RSA ? "rsa" : "ed25519", (char *)b64);
	k->pkey = pkey;
}

static void
publish(const char *selector, const char *record)
{
	char name[300], why[128];

	snprintf(name, sizeof(name), "%s._domainkey." DOMAIN, selector);
	assert_int_equal(
	    zone_add(zone, name, "TXT", record, strlen(record), why, sizeof(why)), 0);
}

static void
publish_keys(void)
{
	zone_clear(zone);
	publish("rsa", rsa_key.path);
	publish("ed", ed_key.path);
	publish("small", small_key.path);
}

static int
setup(void **state)
{
	static const struct dns_server none;
	struct dkim_engine_opts o = {1024, 2, signed_headers, oversigned, 1, 1};
	char *err = NULL;

	(void)state;
	zone = zone_new();
	dns_cache_configure(0);
	resolver = dns_resolver_new(&none, 0, 2000);
	dns_resolver_set_answerer(resolver, zone_answer, zone);
	engine = dkim_engine_new(resolver, &o, &err);
	assert_non_null(engine);
	make_key(&rsa_key, "rsa", EVP_PKEY_RSA, 2048);
	make_key(&ed_key, "ed", EVP_PKEY_ED25519, 256);
	make_key(&small_key, "small", EVP_PKEY_RSA, 1024);
	return 0;
}

static void
key_free(struct dkim_key *k)
{
	free(k->domain);
	free(k->selector);
	free(k->path);
	EVP_PKEY_free(k->pkey);
}

static int
teardown(void **state)
{
	(void)state;
	key_free(&rsa_key);
	key_free(&ed_key);
	key_free(&small_key);
	free(rsa_pem);
	dkim_engine_free(engine);
	dns_resolver_free(resolver);
	zone_free(zone);
	return 0;
}

static const char *const HEADERS[][2] = {
    {"From", "Alice <alice@" DOMAIN ">"},
    {"To", "bob@example.net"},
    {"Subject", "a test\n\tfolded with LF"},
    {"Date", "Sun, 22 Nov 2026 00:00:00 +0000"},
};
static const char BODY[] = "Hello.\r\n\r\nA second paragraph.\r\n";

/* Sign the test message with keys; returns the signature values (the
 * caller frees each and the array). */
static char **
sign(const struct dkim_key *const *keys, size_t n)
{
	struct dkim_msg *m = dkim_msg_new(engine, "t");
	const struct dkim_made *made;
	char why[200], **v = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < 4; i++)
		dkim_msg_header(m, HEADERS[i][0], HEADERS[i][1]);
	assert_string_equal(dkim_msg_from(m), "alice@" DOMAIN);
	assert_int_equal(dkim_msg_sign_start(m, keys, n, why, sizeof(why)), 0);
	dkim_msg_body(m, (const unsigned char *)BODY, strlen(BODY));
	assert_int_equal(dkim_msg_sign_finish(m, &made), n);
	for (size_t i = 0; i < n; i++) {
		if (made[i].value == NULL)
			fail_msg("signing with %s failed: %s", made[i].s, made[i].reason);
		assert_null(strchr(made[i].value, '\r'));
		v[i] = xstrdup(made[i].value);
	}
	dkim_msg_free(m);
	return v;
}

struct verified {
	struct dkim_sig_result r[8];
	size_t n;
	bool own; /* postern hashed the body */
};

/* Verify the test message with these signatures on top, the body as
 * given. */
static void
verify(char *const *sigs, size_t nsigs, const char *body,
       const struct dkim_verify_opts *o, struct verified *out)
{
	struct dkim_msg *m = dkim_msg_new(engine, "t");
	const struct dkim_sig_result *r;

	for (size_t i = 0; i < nsigs; i++)
		dkim_msg_header(m, "DKIM-Signature", sigs[i]);
	for (size_t i = 0; i < 4; i++)
		dkim_msg_header(m, HEADERS[i][0], HEADERS[i][1]);
	dkim_msg_verify_start(m, o);
	dkim_msg_body(m, (const unsigned char *)body, strlen(body));
	out->n = dkim_msg_verify_finish(m, &r);
	out->own = dkim_msg_hashes_body(m);
	assert_true(out->n <= 8);
	memcpy(out->r, r, out->n * sizeof(*r));
	dkim_msg_free(m);
}

static const struct dkim_verify_opts OPTS = {5, 1024, false};

static void
free_sigs(char **v)
{
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
assert_result(const struct dkim_sig_result *r, enum dkim_result want,
              const char *reason_part)
{
	if (r->result != want)
		fail_msg("result %s (%s), want %s", dkim_result_name(r->result),
		         r->reason, dkim_result_name(want));
	if (reason_part != NULL && strstr(r->reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", r->reason, reason_part);
}

static void
test_roundtrip(void **state)
{
	const struct dkim_key *keys[] = {&rsa_key, &ed_key};
	struct verified v;
	char **sigs = sign(keys, 2);

	(void)state;
	publish_keys();
	assert_non_null(strstr(sigs[0], "a=rsa-sha256"));
	assert_non_null(strstr(sigs[1], "a=ed25519-sha256"));
	assert_non_null(strstr(sigs[0], "c=relaxed/relaxed"));
	verify(sigs, 2, BODY, &OPTS, &v);
	assert_int_equal(v.n, 2);
	assert_result(&v.r[0], DKIM_R_PASS, NULL);
	assert_int_equal(v.r[0].bits, 2048);
	assert_string_equal(v.r[0].info.d, DOMAIN);
	assert_string_equal(v.r[0].info.s, "rsa");
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	assert_string_equal(v.r[1].info.a, "ed25519-sha256");
	free_sigs(sigs);
}

static void
test_tampered(void **state)
{
	const struct dkim_key *keys[] = {&rsa_key};
	struct verified v;
	char **sigs = sign(keys, 1);

	(void)state;
	publish_keys();
	verify(sigs, 1, "Hello!\r\n", &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_FAIL, "body hash");
	free_sigs(sigs);
}

static void
test_key_problems(void **state)
{
	const struct dkim_key *keys[] = {&rsa_key};
	struct verified v;
	char **sigs = sign(keys, 1), why[128];
	char big[9000];

	(void)state;
	/* No key record: permerror. */
	zone_clear(zone);
	verify(sigs, 1, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_PERMERROR, "no key");
	/* A timeout: temperror, never fail. */
	assert_int_equal(
	    zone_add(zone, "rsa._domainkey." DOMAIN, "TIMEOUT", "", 0, why, sizeof(why)),
	    0);
	verify(sigs, 1, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_TEMPERROR,
	              "key lookup failed: no answer from the test seam");
	/* Revoked (empty p=): permerror. */
	zone_clear(zone);
	publish("rsa", "v=DKIM1; k=rsa; p=");
	verify(sigs, 1, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_PERMERROR, NULL);
	/* A record over 8 KB is never handed to the library. */
	zone_clear(zone);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "v=DKIM1; k=rsa; p=", 18);
	publish("rsa", big);
	verify(sigs, 1, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_PERMERROR, "over 8192");
	free_sigs(sigs);
}

static void
test_rfc8301(void **state)
{
	const struct dkim_key *keys[] = {&small_key};
	struct dkim_verify_opts strict = {5, 2048, false};
	struct verified v;
	char **sigs = sign(keys, 1);

	(void)state;
	publish_keys();
	verify(sigs, 1, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_PASS, NULL); /* 1024 bits is the floor */
	verify(sigs, 1, BODY, &strict, &v);
	assert_result(&v.r[0], DKIM_R_POLICY, "1024 bits");
	free_sigs(sigs);
}

/* A signature made by libopendkim directly, with what our signer never
 * makes: rsa-sha1, or l=. */
static char *
sign_raw_body(dkim_canon_t body_canon, dkim_alg_t alg, ssize_t length, const char *body)
{
	DKIM_STAT st;
	DKIM *d = dkim_sign(dkim_engine_lib(engine), (const unsigned char *)"t", NULL,
	                    (dkim_sigkey_t)rsa_pem, (const unsigned char *)"rsa",
	                    (const unsigned char *)DOMAIN, DKIM_CANON_RELAXED, body_canon,
	                    alg, length, &st);
	unsigned char *hdr;
	size_t len;
	char *v;

	assert_non_null(d);
	for (size_t i = 0; i < 4; i++) {
		char *h = testutil_printf("%s: %s", HEADERS[i][0], HEADERS[i][1]);
		for (char *p = h; (p = strstr(p, "\n\t")) != NULL;)
			p += 2; /* the library fixes bare LF itself (FIXCRLF) */
		assert_int_equal(dkim_header(d, (unsigned char *)h, strlen(h)),
		                 DKIM_STAT_OK);
		free(h);
	}
	assert_int_equal(dkim_eoh(d), DKIM_STAT_OK);
	if (*body != '\0')
		assert_int_equal(dkim_body(d, (unsigned char *)body, strlen(body)),
		                 DKIM_STAT_OK);
	assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
	assert_int_equal(dkim_getsighdr_d(d, 16, &hdr, &len), DKIM_STAT_OK);
	v = xstrdup((char *)hdr);
	dkim_free(d);
	return v;
}

static char *
sign_raw(dkim_alg_t alg, ssize_t length)
{
	return sign_raw_body(DKIM_CANON_RELAXED, alg, length, BODY);
}

static void
test_sha1_and_l(void **state)
{
	struct dkim_verify_opts allow_l = {5, 1024, true};
	struct verified v;
	char *sigs[2] = {NULL, NULL};

	(void)state;
	publish_keys();
	sigs[0] = sign_raw(DKIM_SIGN_RSASHA1, -1);
	verify(sigs, 1, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_POLICY, "rsa-sha1");
	free(sigs[0]);
	sigs[0] = sign_raw(DKIM_SIGN_RSASHA256, 8);
	assert_non_null(strstr(sigs[0], "l=8"));
	verify(sigs, 1, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_POLICY, "l= tag");
	verify(sigs, 1, BODY, &allow_l, &v);
	assert_result(&v.r[0], DKIM_R_PASS, NULL);
	free(sigs[0]);
}

/* The body hash is postern's own unless a signature has l=: checked
 * against signatures libopendkim made (its own canonicalization), for
 * every (c=, a=) pair in one message, on a body whose white space and
 * trailing empty lines the two canonicalizations treat differently. */
static void
test_own_body_hash(void **state)
{
	static const char body[] = "Tabs\tand  spaces  \r\n\r\nLast line \r\n\r\n\r\n";
	/* The same body under relaxed, not under simple. */
	static const char relaxed_same[] = "Tabs and spaces\r\n\r\nLast line\r\n";
	struct dkim_verify_opts allow_l = {5, 1024, true};
	const struct dkim_key *keys[] = {&ed_key};
	char *sigs[5];
	struct verified v;

	(void)state;
	publish_keys();
	sigs[0] = sign_raw_body(DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA256, -1, body);
	sigs[1] = sign_raw_body(DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, body);
	sigs[2] = sign_raw_body(DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA1, -1, body);
	sigs[3] = sign_raw_body(DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, body);
	assert_non_null(strstr(sigs[0], "c=relaxed/simple"));
	verify(sigs, 4, body, &OPTS, &v);
	assert_true(v.own);
	assert_int_equal(v.n, 4);
	assert_result(&v.r[0], DKIM_R_PASS, NULL);
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	/* rsa-sha1 is judged only once header and body hash verified. */
	assert_result(&v.r[2], DKIM_R_POLICY, "rsa-sha1");
	assert_result(&v.r[3], DKIM_R_PASS, NULL);

	verify(sigs, 4, relaxed_same, &OPTS, &v);
	assert_true(v.own);
	assert_result(&v.r[0], DKIM_R_FAIL, "body hash");
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	assert_result(&v.r[2], DKIM_R_FAIL, "body hash");
	assert_result(&v.r[3], DKIM_R_PASS, NULL);

	/* A key too small is said only of a signature that verified. */
	struct dkim_verify_opts strict = {5, 4096, false};
	verify(sigs, 2, body, &strict, &v);
	assert_result(&v.r[0], DKIM_R_POLICY, "2048 bits");
	verify(sigs, 2, relaxed_same, &strict, &v);
	assert_result(&v.r[0], DKIM_R_FAIL, "body hash");

	/* An empty body, simple and relaxed. */
	free(sigs[0]);
	free(sigs[1]);
	sigs[0] = sign_raw_body(DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA256, -1, "");
	sigs[1] = sign_raw_body(DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, "");
	verify(sigs, 2, "", &OPTS, &v);
	assert_true(v.own);
	assert_result(&v.r[0], DKIM_R_PASS, NULL);
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	verify(sigs, 2, "\r\n\r\n", &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_PASS, NULL); /* trailing CRLFs are one */
	verify(sigs, 2, "x\r\n", &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_FAIL, "body hash");
	assert_result(&v.r[1], DKIM_R_FAIL, "body hash");

	/* Ours (Ed25519) beside libopendkim's. */
	char **ed = sign(keys, 1);
	free(sigs[1]);
	sigs[1] = ed[0];
	verify(sigs, 2, BODY, &OPTS, &v);
	assert_true(v.own);
	assert_result(&v.r[0], DKIM_R_FAIL, "body hash");
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	free(sigs[1]);
	free(ed);

	/* Bodies of white space, text and line ends in any mix, ending with a
	 * line end as over SMTP: libopendkim's canonicalization and ours
	 * agree (a lone CR aside: the library makes it a line end, we keep it
	 * as text, as we sign; and a last line without CRLF: see
	 * test_canon_body). */
	static const char *const tokens[] = {" ",    "\t", "a",       "b c",
	                                     "\r\n", "\n", "\r\n\r\n"};
	srand(8);
	for (int round = 0; round < 60; round++) {
		char rb[2048];
		size_t n = 0, count = (size_t)(rand() % 200);
		for (size_t k = 0; k < count; k++) {
			const char *t = tokens[rand() % 7];
			memcpy(rb + n, t, strlen(t));
			n += strlen(t);
		}
		memcpy(rb + n, "\r\n", 3);
		n += 2;
		char *rs[2] = {
		    sign_raw_body(DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA256, -1, rb),
		    sign_raw_body(DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, rb)};
		verify(rs, 2, rb, &OPTS, &v);
		assert_true(v.own);
		if (v.r[0].result != DKIM_R_PASS || v.r[1].result != DKIM_R_PASS) {
			fail_msg("round %d, %zu bytes: simple %s, relaxed %s on \"%s\"",
			         round, n, v.r[0].reason, v.r[1].reason, rb);
		}
		free(rs[0]);
		free(rs[1]);
	}

	/* A signature with l= leaves the whole body to the library. */
	free(sigs[2]);
	sigs[2] = sign_raw_body(DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, 8, body);
	sigs[1] = sign_raw_body(DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA256, -1, body);
	verify(sigs + 1, 2, body, &allow_l, &v);
	assert_false(v.own);
	assert_result(&v.r[0], DKIM_R_PASS, NULL);
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	verify(sigs + 1, 2, relaxed_same, &allow_l, &v);
	assert_result(&v.r[0], DKIM_R_FAIL, "body hash");
	for (int i = 0; i < 4; i++)
		free(sigs[i]);
}

static void
test_hostile_and_max(void **state)
{
	const struct dkim_key *keys[] = {&rsa_key};
	struct dkim_verify_opts two = {2, 1024, false};
	char **good = sign(keys, 1);
	char *sigs[4];
	struct verified v;
	char h[1000] = "v=1; a=rsa-sha256; d=" DOMAIN "; s=rsa; bh=AAAA; b=AAAA; h=from";

	(void)state;
	publish_keys();
	/* h= naming more fields than the message has (4 fields + 2
	 * signatures): libopendkim's heap overflow needs that; with the
	 * padding fields it sees more, and the bogus signature just fails
	 * (the sanitizer and valgrind runs would catch the overflow). */
	for (int i = 0; i < 40; i++)
		strcat(h, ":from");
	sigs[0] = h;
	sigs[1] = good[0];
	verify(sigs, 2, BODY, &OPTS, &v);
	assert_int_equal(v.n, 2);
	assert_int_not_equal(v.r[0].result, DKIM_R_PASS);
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	/* More than 64 names: refused by the screen. */
	for (int i = 0; i < 30; i++)
		strcat(h, ":to");
	verify(sigs, 2, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_PERMERROR, "h=");
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	/* Naming the padding field: refused. */
	char *pad = testutil_printf("%s:x-postern-unsigned-pad", good[0]);
	char *p = strstr(pad, "h=");
	assert_non_null(p);
	sigs[0] =
	    testutil_printf("v=1; a=rsa-sha256; d=" DOMAIN
	                    "; s=rsa; bh=AAAA; b=AAAA; h=from:X-Postern-Unsigned-Pad");
	verify(sigs, 2, BODY, &OPTS, &v);
	assert_result(&v.r[0], DKIM_R_PERMERROR, "padding");
	free(sigs[0]);
	free(pad);
	/* More signatures than dkim_max_signatures: the rest are neutral. */
	sigs[0] = good[0];
	sigs[1] = good[0];
	sigs[2] = good[0];
	verify(sigs, 3, BODY, &two, &v);
	assert_int_equal(v.n, 3);
	assert_result(&v.r[0], DKIM_R_PASS, NULL);
	assert_result(&v.r[1], DKIM_R_PASS, NULL);
	assert_result(&v.r[2], DKIM_R_NEUTRAL, "dkim_max_signatures");
	free_sigs(good);
}

static void
test_from_address(void **state)
{
	static const char *const cases[][2] = {
	    {"Alice <alice@Example.COM>", "alice@example.com"},
	    {"alice@example.com", "alice@example.com"},
	    {"\"Smith, <J>\" <j@example.org>, other@example.net", "j@example.org"},
	    {"(comment <x@y.z>) bob@example.net (more)", "bob@example.net"},
	    {"a@b.example, c@d.example", "a@b.example"},
	    {"undisclosed-recipients:;", NULL},
	    {"<>", NULL},
	    {"", NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_msg *m = dkim_msg_new(engine, NULL);
		dkim_msg_header(m, "Subject", "x");
		dkim_msg_header(m, "FROM", cases[i][0]);
		const char *got = dkim_msg_from(m);
		if (cases[i][1] == NULL ? got != NULL
		                        : got == NULL || strcmp(got, cases[i][1]) != 0)
			fail_msg("From: %s gave %s", cases[i][0], got ? got : "NULL");
		dkim_msg_free(m);
	}
}

struct out {
	char buf[256];
	size_t len;
};

static void
out_put(void *arg, const void *p, size_t len)
{
	struct out *o = arg;

	assert_true(o->len + len < sizeof(o->buf));
	memcpy(o->buf + o->len, p, len);
	o->len += len;
}

/* RFC 6376 section 3.4.3 and 3.4.4, whole and byte by byte. */
static void
test_canon_body(void **state)
{
	static const struct {
		bool relaxed;
		const char *in, *want;
	} cases[] = {
	    {false, "", "\r\n"},
	    {false, "a", "a\r\n"},
	    {false, "a\r\n\r\n\r\n", "a\r\n"},
	    {false, "a \r\n \r\n", "a \r\n \r\n"},
	    {false, "\r\n\r\n", "\r\n"},
	    {false, "a\nb\n\n", "a\r\nb\r\n"},
	    {false, "a\rb\r\n", "a\rb\r\n"},
	    {true, "", ""},
	    {true, "\r\n \r\n\t\r\n", ""},
	    {true, " a  b \t\r\n\r\n", " a b\r\n"},
	    {true, "a\tb", "a b\r\n"},
	    {true, "a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n"},
	    {true, "x \r", "x \r\r\n"},
	    /* A last line without CRLF loses its trailing white space (RFC
	     * 6376 3.4.4; libopendkim drops the CRLF too, dkimpy keeps an SP):
	     * SMTP bodies end with CRLF. */
	    {true, "\tb c\t", " b c\r\n"},
	    {true, "a\r\n \t", "a\r\n"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct dkim_canon_body c;
			struct out o = {.len = 0};
			size_t n = strlen(cases[i].in);
			dkim_canon_body_init(&c, cases[i].relaxed, out_put, &o);
			if (bytewise)
				for (size_t k = 0; k < n; k++)
					dkim_canon_body_add(
					    &c, (const unsigned char *)cases[i].in + k,
					    1);
			else
				dkim_canon_body_add(
				    &c, (const unsigned char *)cases[i].in, n);
			dkim_canon_body_finish(&c);
			o.buf[o.len] = '\0';
			if (strcmp(o.buf, cases[i].want) != 0)
				fail_msg("case %zu (%s, %s): got \"%s\"", i,
				         cases[i].relaxed ? "relaxed" : "simple",
				         bytewise ? "bytewise" : "whole", o.buf);
		}
	}
}

static void
canon_into(struct out *o, bool relaxed, const char *in, bool bytewise)
{
	struct dkim_canon_body c;
	size_t n = strlen(in);

	o->len = 0;
	dkim_canon_body_init(&c, relaxed, out_put, o);
	for (size_t k = 0; k < n; k += bytewise ? 1 : n)
		dkim_canon_body_add(&c, (const unsigned char *)in + k, bytewise ? 1 : n);
	dkim_canon_body_finish(&c);
	o->buf[o->len] = '\0';
}

/* Whole lines that canonicalize to themselves are copied without a look
 * at each byte, and relaxed finds HTAB and two SPs eight bytes at a time:
 * put each at every offset of a line (and across the eight-byte words)
 * and compare with the same body fed a byte at a time, which never takes
 * that path. */
static void
test_canon_body_lines(void **state)
{
	static const char *const marks[] = {"  ", "\t", " \t", "\r", " ", "   "};
	struct out whole, bytes;

	(void)state;
	for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
		for (size_t at = 0; at <= 24; at++) {
			char line[64], body[200];
			size_t len = strlen(marks[m]);
			/* 24 bytes of text, the mark over them at offset at. */
			memset(line, 'x', sizeof(line));
			memcpy(line + at, marks[m], len);
			line[at + len > 24 ? at + len : 24] = '\0';
			snprintf(body, sizeof(body), "first line\r\n%s\r\nlast line\r\n",
			         line);
			for (int relaxed = 0; relaxed < 2; relaxed++) {
				canon_into(&whole, relaxed, body, false);
				canon_into(&bytes, relaxed, body, true);
				if (strcmp(whole.buf, bytes.buf) != 0)
					fail_msg("mark %zu at %zu, %s: \"%s\", bytewise "
					         "\"%s\"",
					         m, at, relaxed ? "relaxed" : "simple",
					         whole.buf, bytes.buf);
			}
		}
	}
	canon_into(&whole, true, "a b  c\r\nd\te\r\nf \r\n", false);
	assert_string_equal(whole.buf, "a b c\r\nd e\r\nf\r\n");
}

static void
test_canon_header(void **state)
{
	static const char field[] = "Subject: \t a  b \r\n\t c:  d \t";
	char buf[64];
	size_t n;

	(void)state;
	n = dkim_canon_header(field, strlen(field), 7, true, buf);
	buf[n] = '\0';
	assert_string_equal(buf, "subject:a b c: d\r\n");
	n = dkim_canon_header(field, strlen(field), 7, false, buf);
	buf[n] = '\0';
	assert_string_equal(buf, "Subject: \t a  b \r\n\t c:  d \t\r\n");
}

/* The policy side: rows, verdict and Authentication-Results. */
struct rows {
	char text[8][700];
	size_t n;
};

static void
collect(void *arg, const struct check_report *r)
{
	struct rows *rows = arg;

	assert_true(rows->n < 8);
	snprintf(rows->text[rows->n++], sizeof(rows->text[0]), "%s|%s|%s|%s", r->name,
	         check_result_name(r->result), r->action, r->detail ? r->detail : "");
}

static void
test_policy(void **state)
{
	struct config *cfg;
	struct facts f = {0};
	struct policy_state st = {0};
	struct rows rows = {0};
	struct verdict v;
	char *err = NULL, *dir = testutil_mkdtemp();
	char *path = testutil_printf("%s/p.conf", dir);
	struct dkim_sig_result r[2] = {0};
	char *ar[4];
	FILE *fp = fopen(path, "w");

	(void)state;
	fputs("dkim_fail_action = reject\ndkim_temperror_action = defer\n", fp);
	fclose(fp);
	cfg = config_load(path, &err);
	assert_non_null(cfg);
	struct policy_ctx ctx = {cfg, &f, &st, collect, &rows, false, NULL};
	/* No signature: a skip row and dkim=none. */
	dkimcheck_verified(&ctx, r, 0, 1, &v);
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_string_equal(rows.text[0], "dkim|skip|dunno|dkim=none");
	assert_int_equal(dkimcheck_authres(r, 0, ar, 4), 1);
	assert_string_equal(ar[0], "dkim=none");
	free(ar[0]);
	/* fail + temperror: temperror ranks higher, so the message defers. */
	r[0].result = DKIM_R_FAIL;
	strcpy(r[0].info.d, "example.com");
	strcpy(r[0].info.s, "s1");
	strcpy(r[0].info.a, "rsa-sha256");
	strcpy(r[0].info.b8, "AbCd+/12");
	strcpy(r[0].info.i, "@example.com");
	strcpy(r[0].reason, "body hash did not verify");
	r[1] = r[0];
	r[1].result = DKIM_R_TEMPERROR;
	strcpy(r[1].reason, "key lookup failed: timeout");
	rows.n = 0;
	dkimcheck_verified(&ctx, r, 2, 1, &v);
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_int_equal(v.code, 451);
	assert_string_equal(v.xcode, "4.7.5");
	assert_string_equal(rows.text[0], "dkim|fail|dunno|dkim=fail d=example.com s=s1 "
	                                  "a=rsa-sha256 b=AbCd+/12 i=@example.com "
	                                  "reason=body hash did not verify");
	assert_non_null(strstr(rows.text[1], "dkim|temp|defer|dkim=temperror"));
	/* fail alone: rejected with 5.7.20. */
	rows.n = 0;
	dkimcheck_verified(&ctx, r, 1, 1, &v);
	assert_int_equal(v.kind, VERDICT_REJECT);
	assert_int_equal(v.code, 550);
	assert_string_equal(v.xcode, "5.7.20");
	assert_non_null(strstr(v.text, "body hash did not verify"));
	assert_int_equal(dkimcheck_authres(r, 1, ar, 4), 1);
	assert_string_equal(ar[0],
	                    "dkim=fail reason=\"body hash did not verify\" "
	                    "header.d=example.com header.i=@example.com header.s=s1 "
	                    "header.a=rsa-sha256 header.b=\"AbCd+/12\"");
	free(ar[0]);
	config_unref(cfg);
	unlink(path);
	free(path);
	testutil_rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),        cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_key_problems),     cmocka_unit_test(test_rfc8301),
	    cmocka_unit_test(test_sha1_and_l),       cmocka_unit_test(test_own_body_hash),
	    cmocka_unit_test(test_hostile_and_max),  cmocka_unit_test(test_from_address),
	    cmocka_unit_test(test_policy),           cmocka_unit_test(test_canon_body),
	    cmocka_unit_test(test_canon_body_lines), cmocka_unit_test(test_canon_header),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
