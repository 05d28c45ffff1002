/*
 * ca.c: see ca.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "config.h"
#include "log.h"
#include "msg.h"
#include "util.h"
#include "web.h"

static const struct config *ca_conf;
static EVP_PKEY	*ca_key;
static X509	*ca_cert;
static char	*ca_cert_pem;

static EVP_PKEY *
ca_new_key(void)
{
	return EVP_EC_gen("P-256");
}

static int
ca_random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] &= 0x7f;		/* positive */
	b[0] |= 0x01;		/* and not zero */
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int
ca_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A self-signed CA certificate for key. */
static X509 *
ca_make_root(EVP_PKEY *key)
{
	X509 *x;
	X509_NAME *name;
	int ok;

	if ((x = X509_new()) == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, 2) && ca_random_serial(x) == 0 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)CA_DAYS * 86400) != NULL &&
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"ghp", -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ghp interception CA", -1, -1, 0) &&
	    X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) &&
	    ca_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,"
	    "pathlen:0") == 0 &&
	    ca_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ==
	    0 && ca_add_ext(x, x, NID_subject_key_identifier, "hash") == 0 &&
	    X509_sign(x, key, EVP_sha256()) != 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Write a PEM file whole or not at all. */
static int
ca_write(const char *path, mode_t mode, int (*put)(BIO *, void *),
    void *what)
{
	char tmp[64];
	BIO *b;
	int fd, ok;

	(void)snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		return -1;
	if (fchmod(fd, mode) == -1) {	/* the keyholder's umask is 077 */
		close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if ((b = BIO_new_fd(fd, BIO_CLOSE)) == NULL) {
		close(fd);
		return -1;
	}
	ok = put(b, what) && BIO_flush(b) == 1 && fsync(fd) == 0;
	BIO_free(b);
	if (!ok || rename(tmp, path) == -1) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

static int
ca_put_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int
ca_put_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static int
ca_create(char *err, size_t errlen)
{
	if ((ca_key = ca_new_key()) == NULL ||
	    (ca_cert = ca_make_root(ca_key)) == NULL) {
		(void)snprintf(err, errlen, "cannot make a CA key and "
		    "certificate");
		return -1;
	}
	if (ca_write(CA_KEY_FILE, 0600, ca_put_key, ca_key) == -1 ||
	    ca_write(CA_CERT_FILE, 0644, ca_put_cert, ca_cert) == -1) {
		(void)snprintf(err, errlen, "cannot write %s, %s: %s",
		    CA_KEY_FILE, CA_CERT_FILE, strerror(errno));
		return -1;
	}
	log_info("created the interception CA (%s, %s in the state "
	    "directory)", CA_CERT_FILE, CA_KEY_FILE);
	return 0;
}

static int
ca_load(char *err, size_t errlen)
{
	FILE *f;

	if ((f = fopen(CA_KEY_FILE, "re")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", CA_KEY_FILE,
		    strerror(errno));
		return -1;
	}
	ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if ((f = fopen(CA_CERT_FILE, "re")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", CA_CERT_FILE,
		    strerror(errno));
		return -1;
	}
	ca_cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (ca_key == NULL || ca_cert == NULL ||
	    X509_check_private_key(ca_cert, ca_key) != 1) {
		(void)snprintf(err, errlen, "%s and %s in the state directory "
		    "do not make a CA (remove both to have ghp make new ones)",
		    CA_KEY_FILE, CA_CERT_FILE);
		return -1;
	}
	return 0;
}

int
ca_init(const struct config *conf, char *err, size_t errlen)
{
	struct stat st;
	BIO *b;
	char *p;
	long n;
	int have_key = stat(CA_KEY_FILE, &st) == 0;
	int have_cert = stat(CA_CERT_FILE, &st) == 0;

	ca_conf = conf;
	if (have_key != have_cert) {
		(void)snprintf(err, errlen, "%s is in the state directory "
		    "without %s (remove it to have ghp make a new CA)",
		    have_key ? CA_KEY_FILE : CA_CERT_FILE,
		    have_key ? CA_CERT_FILE : CA_KEY_FILE);
		return -1;
	}
	if ((have_key ? ca_load(err, errlen) : ca_create(err, errlen)) == -1)
		return -1;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(b, ca_cert) ||
	    (n = BIO_get_mem_data(b, &p)) <= 0) {
		BIO_free(b);
		(void)snprintf(err, errlen, "cannot encode the CA certificate");
		return -1;
	}
	ca_cert_pem = xcalloc(1, (size_t)n + 1);
	memcpy(ca_cert_pem, p, (size_t)n);
	BIO_free(b);
	return 0;
}

const char *
ca_pem(void)
{
	return ca_cert_pem;
}

int
ca_host_allowed(const char *host)
{
	return web_host_ok(host) && (web_intercepted(host, strlen(host)) ||
	    (ca_conf != NULL && web_intercept_rule(ca_conf, host) != -1));
}

/* The P-256 public key in spki, or NULL. */
static EVP_PKEY *
ca_leaf_key(const unsigned char *spki, size_t len)
{
	const unsigned char *p = spki;
	EVP_PKEY *k;
	char group[32];
	size_t glen;

	if (len > 1024 || (k = d2i_PUBKEY(NULL, &p, (long)len)) == NULL)
		return NULL;
	if (p != spki + len || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static X509 *
ca_make_leaf(const char *host, EVP_PKEY *key)
{
	X509 *x;
	X509_NAME *name;
	char san[CA_HOST_MAX + 16];
	int ok;

	if ((x = X509_new()) == NULL)
		return NULL;
	/* Without a subject (a long host), the SAN must be critical. */
	(void)snprintf(san, sizeof(san), "%sDNS:%s", strlen(host) > 64 ?
	    "critical," : "", host);
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, 2) && ca_random_serial(x) == 0 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)CA_LEAF_DAYS * 86400) != NULL &&
	    /* A CN holds 64 characters at most; the SAN names the host. */
	    (strlen(host) > 64 || X509_NAME_add_entry_by_txt(name, "CN",
	    MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0)) &&
	    X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) &&
	    X509_set_pubkey(x, key) &&
	    ca_add_ext(x, ca_cert, NID_basic_constraints, "critical,CA:FALSE")
	    == 0 && ca_add_ext(x, ca_cert, NID_key_usage,
	    "critical,digitalSignature") == 0 &&
	    ca_add_ext(x, ca_cert, NID_ext_key_usage, "serverAuth") == 0 &&
	    ca_add_ext(x, ca_cert, NID_subject_alt_name, san) == 0 &&
	    ca_add_ext(x, ca_cert, NID_authority_key_identifier,
	    "keyid:always") == 0 &&
	    X509_sign(x, ca_key, EVP_sha256()) != 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

unsigned char *
ca_sign(const char *host, const unsigned char *spki, size_t spkilen,
    size_t *certlen, const char **why)
{
	EVP_PKEY *k;
	X509 *x;
	unsigned char *der = NULL;
	int n;

	*why = NULL;
	if (ca_key == NULL) {
		*why = "no CA";
		return NULL;
	}
	if (!ca_host_allowed(host)) {
		*why = "not a host ghp intercepts";
		return NULL;
	}
	if ((k = ca_leaf_key(spki, spkilen)) == NULL) {
		*why = "not a P-256 public key";
		return NULL;
	}
	x = ca_make_leaf(host, k);
	EVP_PKEY_free(k);
	if (x == NULL || (n = i2d_X509(x, &der)) <= 0) {
		X509_free(x);
		*why = "cannot build the certificate";
		return NULL;
	}
	X509_free(x);
	*certlen = (size_t)n;
	return der;
}

const char *
ca_answer(const uint8_t *req, size_t reqlen, uint8_t *out, size_t outsize,
    size_t *outlen)
{
	struct msg_kh_cert_req rq;
	struct msg_kh_cert an;
	char host[CA_HOST_MAX + 1];
	unsigned char *der = NULL;
	const char *why = "malformed";
	size_t len = 0;

	memset(&an, 0, sizeof(an));
	an.status = 2;
	if (reqlen >= sizeof(rq)) {
		memcpy(&rq, req, sizeof(rq));
		if (rq.host_len > 0 && rq.host_len <= CA_HOST_MAX &&
		    rq.key_len > 0 && (uint64_t)sizeof(rq) + rq.host_len +
		    rq.key_len == reqlen &&
		    memchr(req + sizeof(rq), '\0', rq.host_len) == NULL) {
			memcpy(host, req + sizeof(rq), rq.host_len);
			host[rq.host_len] = '\0';
			der = ca_sign(host, req + sizeof(rq) + rq.host_len,
			    rq.key_len, &len, &why);
			an.status = der != NULL ? 0 : 1;
		}
	}
	if (der != NULL && sizeof(an) + len > outsize) {
		why = "certificate too large";
		an.status = 2;
	}
	if (an.status != 0)
		len = 0;
	an.cert_len = (uint32_t)len;
	memcpy(out, &an, sizeof(an));
	if (len > 0)
		memcpy(out + sizeof(an), der, len);
	OPENSSL_free(der);
	*outlen = sizeof(an) + len;
	return an.status == 0 ? NULL : why;
}
