/*
 * test_jwt.c: GitHub App JWTs: a real RSA key written to a real file,
 * loaded with its mode checked, a JWT signed and then verified here with
 * the public key, its claims decoded and checked.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "jwt.h"
#include "unit.h"

static char dir[] = "/tmp/ghp-test-jwt-XXXXXX";

static const char *
write_key(EVP_PKEY *k, const char *name, mode_t mode)
{
	static char path[256];
	FILE *fp;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	chmod(path, mode);
	return path;
}

static int
decode(const char *p, size_t n, unsigned char *out, size_t outlen,
    size_t *len)
{
	return sodium_base642bin(out, outlen, p, n, NULL, len, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void
test_sign_verify(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048), *loaded;
	char jwt[JWT_MAX], err[256];
	unsigned char claims[256], sig[512];
	size_t clen, slen;
	const char *dot1, *dot2;
	EVP_MD_CTX *md;
	json_t *o;
	int n;

	CHECK(k != NULL);
	loaded = jwt_load_key(write_key(k, "app.pem", 0600), err,
	    sizeof(err));
	CHECK(loaded != NULL);
	if (loaded == NULL)
		return;
	n = jwt_sign(loaded, 123456, 1800000000, jwt, sizeof(jwt));
	CHECK(n > 0 && (size_t)n == strlen(jwt));
	dot1 = strchr(jwt, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	CHECK(dot1 != NULL && dot2 != NULL);
	if (dot2 == NULL)
		return;
	CHECK(decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims,
	    sizeof(claims) - 1, &clen) == 0);
	claims[clen] = '\0';
	o = json_loads((const char *)claims, 0, NULL);
	CHECK(json_integer_value(json_object_get(o, "iat")) ==
	    1800000000 - JWT_IAT_SKEW);
	CHECK(json_integer_value(json_object_get(o, "exp")) ==
	    1800000000 + JWT_LIFETIME);
	CHECK_STR(json_string_value(json_object_get(o, "iss")), "123456");
	json_decref(o);
	/* The signature verifies with the public key over header.claims. */
	CHECK(decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig), &slen)
	    == 0);
	md = EVP_MD_CTX_new();
	CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1);
	CHECK(EVP_DigestVerify(md, sig, slen, (const unsigned char *)jwt,
	    (size_t)(dot2 - jwt)) == 1);
	EVP_MD_CTX_free(md);
	/* A changed claim does not. */
	jwt[dot1 - jwt + 3] ^= 1;
	md = EVP_MD_CTX_new();
	CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1);
	CHECK(EVP_DigestVerify(md, sig, slen, (const unsigned char *)jwt,
	    (size_t)(dot2 - jwt)) != 1);
	EVP_MD_CTX_free(md);
	/* Too small an output buffer is refused, not overrun. */
	CHECK(jwt_sign(loaded, 1, 0, jwt, 40) == -1);
	EVP_PKEY_free(loaded);
	EVP_PKEY_free(k);
}

static void
test_load_refusals(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048), *small = EVP_RSA_gen(1024);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	char err[256];

	CHECK(jwt_load_key(write_key(k, "open.pem", 0644), err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "chmod 600") != NULL);
	CHECK(jwt_load_key(write_key(small, "small.pem", 0600), err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "2048") != NULL);
	CHECK(jwt_load_key(write_key(ec, "ec.pem", 0600), err,
	    sizeof(err)) == NULL);
	CHECK(jwt_load_key("/nonexistent/key.pem", err, sizeof(err)) == NULL);
	EVP_PKEY_free(k);
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	char cmd[300];

	if (sodium_init() == -1 || mkdtemp(dir) == NULL)
		return 1;
	UNIT_RUN(test_sign_verify);
	UNIT_RUN(test_load_refusals);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
	return UNIT_DONE("test_jwt");
}
