/*
 * keyfile: making DKIM keys and writing them as private files, and the
 * public half as DNS publishes it (see keyfile.h). OpenSSL 3's EVP
 * interface only. Checking a published record is keycheck.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ctl/keyfile.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

void *
keyfile_generate(enum dkim_key_alg alg, unsigned bits, char **error_r)
{
	EVP_PKEY *pkey = alg == DKIM_ALG_RSA ? EVP_RSA_gen(bits)
	                                     : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	if (pkey == NULL) {
		unsigned long e = ERR_get_error();
		char buf[256];

		ERR_error_string_n(e, buf, sizeof(buf));
		*error_r = xasprintf("making a %s key: %s", dkim_key_alg_name(alg), buf);
		ERR_clear_error();
	}
	return pkey;
}

void
keyfile_free_pkey(void *pkey)
{
	EVP_PKEY_free(pkey);
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory of path, so that the new name survives a crash. */
static void
sync_dir(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd;

	if (slash != NULL) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	free(dir);
}

int
keyfile_write_text(const char *path, const char *text, size_t len, uid_t uid, gid_t gid,
                   char **error_r)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, err = 0;

	if (access(path, F_OK) == 0) {
		*error_r = xasprintf("%s exists: not overwriting it", path);
		free(tmp);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = xasprintf("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if ((uid != (uid_t)-1 && fchown(fd, uid, gid) < 0) || fchmod(fd, 0600) < 0 ||
	    write_all(fd, text, len) < 0 || fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && err == 0)
		err = errno;
	/* link() refuses to replace an existing file: no overwriting even
	 * when another posternctl wrote the same name meanwhile. */
	if (err == 0 && link(tmp, path) < 0)
		err = errno;
	unlink(tmp);
	if (err != 0) {
		*error_r = err == EEXIST
		               ? xasprintf("%s exists: not overwriting it", path)
		               : xasprintf("%s: %s", path, strerror(err));
		free(tmp);
		return -1;
	}
	sync_dir(path);
	free(tmp);
	return 0;
}

int
keyfile_write(const char *path, void *pkey, uid_t uid, gid_t gid, char **error_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	int rc;

	if (bio == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		ERR_clear_error();
		*error_r = xasprintf("%s: cannot encode the key", path);
		return -1;
	}
	len = BIO_get_mem_data(bio, &pem);
	rc = keyfile_write_text(path, pem, (size_t)len, uid, gid, error_r);
	OPENSSL_cleanse(pem, (size_t)len);
	BIO_free(bio);
	return rc;
}

int
keyfile_mkdir(const char *dir, uid_t uid, gid_t gid, char **error_r)
{
	char *p = xstrdup(dir);
	struct stat st;

	for (char *s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			*error_r = xasprintf("%s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	if (mkdir(dir, 0700) == 0) {
		if (uid != (uid_t)-1 && chown(dir, uid, gid) < 0) {
			*error_r = xasprintf("chown %s: %s", dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != EEXIST || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = xasprintf(
		    "%s: %s", dir, errno == EEXIST ? "not a directory" : strerror(errno));
		return -1;
	}
	return 0;
}

static char *
b64(const unsigned char *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char *
keyfile_public_b64(void *pkey)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	char *out;
	int n;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1)
			return NULL;
		return b64(raw, rawlen);
	}
	if ((n = i2d_PUBKEY(pkey, &der)) <= 0)
		return NULL;
	out = b64(der, (size_t)n);
	OPENSSL_free(der);
	return out;
}

char *
keyfile_dns_record(const char *domain, const char *selector, enum dkim_key_alg alg,
                   const char *p_b64)
{
	char *value = xasprintf("v=DKIM1; k=%s; p=%s", dkim_key_alg_name(alg), p_b64);
	struct strbuf b = {0};
	size_t len = strlen(value);

	strbuf_puts(&b, selector);
	strbuf_puts(&b, "._domainkey.");
	strbuf_puts(&b, domain);
	strbuf_puts(&b, ". IN TXT (");
	for (size_t off = 0; off < len; off += 255) {
		size_t n = len - off < 255 ? len - off : 255;

		strbuf_puts(&b, " \"");
		strbuf_add(&b, value + off, n);
		strbuf_puts(&b, "\"");
	}
	strbuf_puts(&b, " )");
	free(value);
	return b.s;
}
