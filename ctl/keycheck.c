/*
 * keycheck: does DNS publish our key? The TXT records found at
 * SELECTOR._domainkey.DOMAIN (the resolver has joined each record's
 * strings) are read as RFC 6376 tag lists; the one DKIM key record must
 * name our algorithm (k=, "rsa" when absent) and carry our key in p=,
 * compared as key material (RSA: the decoded public keys are equal;
 * Ed25519: the same 32 bytes), not as text. The DNS lookup itself is the
 * caller's (keys.c), so this part can be tested on strings.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ctl/keyfile.h"
#include "lib/xalloc.h"

const char *
keycheck_name(enum keycheck r)
{
	static const char *const names[] = {"ok", "no-record", "differs", "revoked",
	                                    "temp"};
	return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

/* The value of tag name in a tag list, white space removed (p= may be
 * folded), malloc'd; NULL when absent. */
static char *
tag_value(const char *list, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = list;

	while (*p != '\0') {
		const char *end = strchr(p, ';'), *eq;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && isspace((unsigned char)*p))
			p++;
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL) {
			const char *t = eq;

			while (t > p && isspace((unsigned char)t[-1]))
				t--;
			if ((size_t)(t - p) == nlen && strncmp(p, name, nlen) == 0) {
				char *v = xmalloc((size_t)(end - eq));
				size_t n = 0;

				for (const char *c = eq + 1; c < end; c++)
					if (!isspace((unsigned char)*c))
						v[n++] = *c;
				v[n] = '\0';
				return v;
			}
		}
		p = *end ? end + 1 : end;
	}
	return NULL;
}

/* A DKIM key record: v=DKIM1 first, or (v= being optional) a p= tag. */
static bool
is_key_record(const char *text)
{
	char *v = tag_value(text, "v"), *p = tag_value(text, "p");
	bool yes = v != NULL ? strcmp(v, "DKIM1") == 0 : p != NULL;

	free(v);
	free(p);
	return yes;
}

/* Base64 into a malloc'd buffer; -1 when it is not base64. */
static int
unb64(const char *s, unsigned char **out_r, size_t *len_r)
{
	size_t n = strlen(s);
	unsigned char *out;
	int len;

	if (n == 0 || n % 4 != 0)
		return -1;
	out = xmalloc(n / 4 * 3 + 1);
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n)) < 0) {
		free(out);
		return -1;
	}
	if (s[n - 1] == '=')
		len--;
	if (s[n - 2] == '=')
		len--;
	*out_r = out;
	*len_r = (size_t)len;
	return 0;
}

static EVP_PKEY *
rsa_public(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);

	if (k == NULL) { /* some publish the bare RSAPublicKey (PKCS#1) */
		p = der;
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	}
	ERR_clear_error();
	if (k != NULL && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/* Same key material? */
static bool
same_key(enum dkim_key_alg alg, const unsigned char *a, size_t alen,
         const unsigned char *b, size_t blen)
{
	EVP_PKEY *ka, *kb;
	bool same;

	if (alg == DKIM_ALG_ED25519)
		return alen == 32 && blen == 32 && memcmp(a, b, 32) == 0;
	ka = rsa_public(a, alen);
	kb = rsa_public(b, blen);
	same = ka != NULL && kb != NULL && EVP_PKEY_eq(ka, kb) == 1;
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	return same;
}

static enum keycheck
check_one(const char *text, enum dkim_key_alg alg, const char *ours, char **detail_r)
{
	char *k = tag_value(text, "k"), *p = tag_value(text, "p");
	unsigned char *theirs_raw = NULL, *ours_raw = NULL;
	size_t tlen = 0, olen = 0;
	enum keycheck r = KC_DIFFERS;

	if (p == NULL)
		*detail_r = xstrdup("the record has no p= tag");
	else if (*p == '\0') {
		*detail_r = xstrdup("the key is revoked (empty p=)");
		r = KC_REVOKED;
	} else if (strcasecmp(k ? k : "rsa", dkim_key_alg_name(alg)) != 0)
		*detail_r = xasprintf("the record is for k=%s, the key is %s",
		                      k ? k : "rsa", dkim_key_alg_name(alg));
	else if (unb64(p, &theirs_raw, &tlen) < 0)
		*detail_r = xstrdup("p= is not base64");
	else if (unb64(ours, &ours_raw, &olen) < 0)
		*detail_r = xstrdup("the stored public key is not base64");
	else if (!same_key(alg, theirs_raw, tlen, ours_raw, olen))
		*detail_r = xstrdup("the record publishes another key");
	else {
		*detail_r = xstrdup("the record publishes this key");
		r = KC_OK;
	}
	free(theirs_raw);
	free(ours_raw);
	free(k);
	free(p);
	return r;
}

enum keycheck
keycheck_records(const char *const *texts, size_t ntexts, enum dkim_key_alg alg,
                 const char *p_b64, char **detail_r)
{
	const char *found = NULL;
	size_t nkey = 0;

	for (size_t i = 0; i < ntexts; i++)
		if (is_key_record(texts[i])) {
			found = texts[i];
			nkey++;
		}
	if (nkey == 0) {
		*detail_r =
		    ntexts == 0
		        ? xstrdup("no TXT record")
		        : xasprintf("%zu TXT record(s), none is a DKIM key", ntexts);
		return KC_NO_RECORD;
	}
	if (nkey > 1) {
		*detail_r =
		    xasprintf("%zu DKIM key records: verifiers may take any", nkey);
		return KC_DIFFERS;
	}
	return check_one(found, alg, p_b64, detail_r);
}
