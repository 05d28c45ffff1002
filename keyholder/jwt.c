/*
 * jwt.c: see jwt.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "jwt.h"

EVP_PKEY *
jwt_load_key(const char *path, char *err, size_t errlen)
{
	struct stat st;
	EVP_PKEY *key;
	FILE *fp;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		(void)snprintf(err, errlen, "%s: must be a file only its "
		    "owner can read (chmod 600)", path);
		close(fd);
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (key == NULL) {
		(void)snprintf(err, errlen, "%s: not a PEM private key", path);
		ERR_clear_error();
		return NULL;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(key) < 2048) {
		(void)snprintf(err, errlen, "%s: GitHub App keys are RSA, "
		    "2048 bits or more", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* base64url without padding, as JWS wants. */
static int
b64url(const unsigned char *in, size_t inlen, char *out, size_t outlen)
{
	if (sodium_base64_ENCODED_LEN(inlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) > outlen)
		return -1;
	sodium_bin2base64(out, outlen, in, inlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (int)strlen(out);
}

int
jwt_sign(EVP_PKEY *key, uint64_t app_id, time_t now, char *out,
    size_t outlen)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	unsigned char sig[1024];
	char claims[128];
	EVP_MD_CTX *md;
	size_t siglen = sizeof(sig);
	int n, m, ok;

	(void)snprintf(claims, sizeof(claims),
	    "{\"iat\":%lld,\"exp\":%lld,\"iss\":\"%llu\"}",
	    (long long)(now - JWT_IAT_SKEW), (long long)(now + JWT_LIFETIME),
	    (unsigned long long)app_id);
	if ((n = b64url((const unsigned char *)header, strlen(header), out,
	    outlen)) == -1 || (size_t)n + 1 >= outlen)
		return -1;
	out[n++] = '.';
	if ((m = b64url((const unsigned char *)claims, strlen(claims),
	    out + n, outlen - (size_t)n)) == -1)
		return -1;
	n += m;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)out,
	    (size_t)n) == 1;
	EVP_MD_CTX_free(md);
	if (!ok || (size_t)n + 1 >= outlen) {
		ERR_clear_error();
		return -1;
	}
	out[n++] = '.';
	if ((m = b64url(sig, siglen, out + n, outlen - (size_t)n)) == -1)
		return -1;
	return n + m;
}
