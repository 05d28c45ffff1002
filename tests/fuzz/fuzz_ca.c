/*
 * fuzz_ca.c: ca_answer() (keyholder/ca.c) on arbitrary MSG_KH_CERT_REQ
 * payloads, as a hostile worker may send them, with a CA that
 * LLVMFuzzerInitialize() makes once in a temporary directory (removed
 * again at once: the CA lives on in memory).  Aborts when a promise of
 * ca.h or msg.h breaks:
 *  - the answer is a struct msg_kh_cert, status 0, 1 or 2, then exactly
 *    cert_len bytes, none unless the status is 0; a reason exactly when
 *    the status is not 0;
 *  - status 2 exactly when the shape is wrong: less than the fixed
 *    part, lengths not adding up to the payload, host_len 0 or over
 *    253, key_len 0, a NUL in the host;
 *  - status 0 only for a host ghp intercepts (decided here from the
 *    list, not by web.c) and a P-256 key; the certificate then decodes
 *    whole, names that host alone, carries the submitted key, is not a
 *    CA and verifies with the CA's key;
 *  - a host ghp intercepts with a P-256 key in canonical DER is signed.
 * Seeds: tests/fuzz/corpus/ca/.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "msg.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static EVP_PKEY *ca_pub;
static uint8_t out[MSG_MAX_PAYLOAD];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/ghp-fuzz-ca-XXXXXX", err[512];
	BIO *b;
	X509 *x;
	int fd;

	/* Back to where we were: libFuzzer's paths are relative. */
	if ((fd = open(".", O_RDONLY | O_DIRECTORY)) == -1 ||
	    mkdtemp(dir) == NULL || chdir(dir) == -1)
		abort();
	if (ca_init(NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "ca_init: %s\n", err);
		abort();
	}
	if (unlink(CA_KEY_FILE) == -1 || unlink(CA_CERT_FILE) == -1 ||
	    fchdir(fd) == -1 || rmdir(dir) == -1)
		abort();
	close(fd);
	if ((b = BIO_new_mem_buf(ca_pem(), -1)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL ||
	    (ca_pub = X509_get_pubkey(x)) == NULL)
		abort();
	X509_free(x);
	BIO_free(b);
	return 0;
}

/* A lower-case DNS name: labels of a-z, 0-9, '-' inside, 1..63. */
static int
dns_name(const char *h)
{
	size_t n = strlen(h), i, start = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && h[i] != '.') {
			if (!((h[i] >= 'a' && h[i] <= 'z') ||
			    (h[i] >= '0' && h[i] <= '9') || h[i] == '-'))
				return 0;
			continue;
		}
		if (i == start || i - start > 63 || h[start] == '-' ||
		    h[i - 1] == '-')
			return 0;
		start = i + 1;
	}
	return 1;
}

/* The hosts ghp intercepts (web.h): a fixed list and copilot's. */
static int
intercepted(const char *h)
{
	static const char *hosts[] = {
		"api.github.com", "github.com", "codeload.github.com",
		"raw.githubusercontent.com", "githubcopilot.com"
	};
	static const char sfx[] = ".githubcopilot.com";
	size_t i, n = strlen(h), sn = sizeof(sfx) - 1;

	if (!dns_name(h))
		return 0;
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strcmp(h, hosts[i]) == 0)
			return 1;
	return n > sn && strcmp(h + n - sn, sfx) == 0;
}

/* The P-256 key in spki (whole), or NULL; *canonical if DER as made. */
static EVP_PKEY *
p256(const uint8_t *spki, size_t len, int *canonical)
{
	const unsigned char *p = spki;
	unsigned char *der = NULL;
	EVP_PKEY *k;
	char group[64];
	size_t glen;
	int n;

	*canonical = 0;
	if (len > 100000 || (k = d2i_PUBKEY(NULL, &p, (long)len)) == NULL)
		return NULL;
	if (p != spki + len || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		EVP_PKEY_free(k);
		return NULL;
	}
	if ((n = i2d_PUBKEY(k, &der)) > 0)
		*canonical = (size_t)n == len && memcmp(der, spki, len) == 0;
	OPENSSL_free(der);
	return k;
}

/* Is the subjectAltName exactly DNS:host? */
static int
san_is(X509 *x, const char *host)
{
	GENERAL_NAMES *names;
	GENERAL_NAME *gn;
	int ok = 0;

	if ((names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL)) == NULL)
		return 0;
	if (sk_GENERAL_NAME_num(names) == 1) {
		gn = sk_GENERAL_NAME_value(names, 0);
		ok = gn->type == GEN_DNS &&
		    (size_t)ASN1_STRING_length(gn->d.dNSName) == strlen(host) &&
		    memcmp(ASN1_STRING_get0_data(gn->d.dNSName), host,
		    strlen(host)) == 0;
	}
	GENERAL_NAMES_free(names);
	return ok;
}

static void
check_cert(const uint8_t *der, size_t len, const char *host, EVP_PKEY *k)
{
	const unsigned char *p = der;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		abort();
	if (!san_is(x, host) || EVP_PKEY_eq(X509_get0_pubkey(x), k) != 1 ||
	    X509_check_ca(x) != 0 || X509_verify(x, ca_pub) != 1)
		abort();
	X509_free(x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_kh_cert_req rq;
	struct msg_kh_cert an;
	char host[CA_HOST_MAX + 1];
	const char *why;
	size_t outlen = 0;
	EVP_PKEY *k = NULL;
	int shape = 0, canonical = 0;

	if (size > MSG_MAX_PAYLOAD)
		return 0;
	why = ca_answer(data, size, out, sizeof(out), &outlen);

	/* The answer's shape. */
	if (outlen < sizeof(an) || outlen > sizeof(out))
		abort();
	memcpy(&an, out, sizeof(an));
	if (an.status < 0 || an.status > 2 ||
	    (size_t)an.cert_len != outlen - sizeof(an) ||
	    (an.status != 0 && an.cert_len != 0) ||
	    (an.status == 0) != (why == NULL) ||
	    (why != NULL && why[0] == '\0'))
		abort();

	/* What the request is, decided here. */
	if (size >= sizeof(rq)) {
		memcpy(&rq, data, sizeof(rq));
		shape = rq.host_len > 0 && rq.host_len <= CA_HOST_MAX &&
		    rq.key_len > 0 &&
		    (uint64_t)rq.host_len + rq.key_len == size - sizeof(rq) &&
		    memchr(data + sizeof(rq), '\0', rq.host_len) == NULL;
	}
	if (!shape) {
		if (an.status != 2)
			abort();
		return 0;
	}
	if (an.status == 2)
		abort();
	memcpy(host, data + sizeof(rq), rq.host_len);
	host[rq.host_len] = '\0';
	k = p256(data + sizeof(rq) + rq.host_len, rq.key_len, &canonical);
	if (an.status == 0) {
		if (!intercepted(host) || k == NULL)
			abort();
		check_cert(out + sizeof(an), an.cert_len, host, k);
	} else if (intercepted(host) && k != NULL && canonical) {
		fprintf(stderr, "refused \"%s\" with a P-256 key: %s\n", host,
		    why);
		abort();
	}
	EVP_PKEY_free(k);
	return 0;
}
