/*
 * test_ca.c: the keyholder's interception CA (keyholder/ca.c) in a
 * temporary directory: ca.key and ca.crt made on first start and loaded
 * again, a broken pair refused; leaf certificates for the hosts ghp
 * intercepts checked field by field and against the CA; names and keys
 * it must refuse; hosts an "intercept" block adds; ca_answer() on good
 * and hostile MSG_KH_CERT_REQ payloads, each in a buffer of its exact
 * size so that ASan sees any read past it.  The CA is process state,
 * so every ca_init() after the first runs in a child process.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "config.h"
#include "msg.h"
#include "unit.h"

static char dir[] = "/tmp/ghp-test-ca-XXXXXX";
static X509 *cax;		/* the CA certificate, from ca_pem() */
static EVP_PKEY *leafkey;	/* a worker's P-256 key */
static unsigned char *spki;	/* its DER SubjectPublicKeyInfo */
static size_t spkilen;

static const char *allowed[] = {
	"api.github.com", "github.com", "codeload.github.com",
	"raw.githubusercontent.com", "api.githubcopilot.com",
	"githubcopilot.com", "proxy.individual.githubcopilot.com"
};
#define NALLOWED	(sizeof(allowed) / sizeof(allowed[0]))

/* Files. */

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	unsigned char *b;
	long n;

	*len = 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1 ||
	    (b = malloc((size_t)n + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	if (fread(b, 1, (size_t)n, fp) != (size_t)n) {
		free(b);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	b[n] = '\0';
	*len = (size_t)n;
	return b;
}

static void
spew(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *fp;

	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		abort();
	if (chmod(path, mode) == -1)
		abort();
}

static void
copy(const char *from, const char *to, mode_t mode)
{
	unsigned char *b;
	size_t n;

	if ((b = slurp(from, &n)) == NULL)
		abort();
	spew(to, b, n, mode);
	free(b);
}

static int
same_file(const char *path, const unsigned char *b, size_t n)
{
	unsigned char *c;
	size_t m;
	int same;

	if ((c = slurp(path, &m)) == NULL)
		return b == NULL;
	same = b != NULL && m == n && memcmp(b, c, n) == 0;
	free(c);
	return same;
}

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * fn(arg, res) in a child process, whose res (len bytes) comes back
 * here; 0, or -1 when the child did not finish.
 */
static int
in_child(void (*fn)(const void *, void *), const void *arg, void *res,
    size_t len)
{
	int fds[2], status;
	pid_t pid;
	size_t got = 0;
	ssize_t n;

	if (pipe(fds) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		close(fds[0]);
		fn(arg, res);
		if (write(fds[1], res, len) != (ssize_t)len)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	while (got < len && (n = read(fds[0], (char *)res + got,
	    len - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || got != len)
		return -1;
	return 0;
}

/* ca_init() in a child, in subdir (or here): its result and PEM. */
struct child_result {
	int	rc;
	char	err[512];
	char	pem[8192];
};

static void
init_here(const void *subdir, void *res)
{
	struct child_result *r = res;

	if (subdir != NULL && chdir(subdir) == -1)
		_exit(1);
	r->rc = ca_init(NULL, r->err, sizeof(r->err));
	if (ca_pem() != NULL)
		(void)snprintf(r->pem, sizeof(r->pem), "%s", ca_pem());
}

static void
child_init(const char *subdir, struct child_result *r)
{
	memset(r, 0, sizeof(*r));
	if (in_child(init_here, subdir, r, sizeof(*r)) == -1) {
		memset(r, 0, sizeof(*r));
		r->rc = -2;
	}
	r->err[sizeof(r->err) - 1] = '\0';
	r->pem[sizeof(r->pem) - 1] = '\0';
}

/* Keys. */

static unsigned char *
der_pubkey(EVP_PKEY *k, size_t *len)
{
	unsigned char *der = NULL;
	int n;

	if (k == NULL || (n = i2d_PUBKEY(k, &der)) <= 0)
		abort();
	*len = (size_t)n;
	return der;
}

static char *
pem_key(EVP_PKEY *k)
{
	BIO *b;
	char *p, *s;
	long n;

	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (s = calloc(1, (size_t)n + 1)) == NULL)
		abort();
	memcpy(s, p, (size_t)n);
	BIO_free(b);
	return s;
}

/* Certificates. */

static X509 *
parse_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return NULL;
	if (p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static X509 *
parse_pem(const char *pem)
{
	BIO *b;
	X509 *x;

	if (pem == NULL || (b = BIO_new_mem_buf(pem, -1)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

/* Is the subjectAltName exactly one DNS name, host? */
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

/* Is the subject exactly CN=host? */
static int
cn_is(X509 *x, const char *host)
{
	X509_NAME *name = X509_get_subject_name(x);
	char cn[256];

	return X509_NAME_entry_count(name) == 1 &&
	    X509_NAME_get_text_by_NID(name, NID_commonName, cn,
	    sizeof(cn)) == (int)strlen(host) && strcmp(cn, host) == 0;
}

/* Seconds from notBefore to notAfter, and notBefore's offset from now. */
static int
validity(X509 *x, long *span, long *before_now)
{
	ASN1_TIME *now;
	int d, s;

	if (!ASN1_TIME_diff(&d, &s, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)))
		return 0;
	*span = (long)d * 86400 + s;
	if ((now = ASN1_TIME_set(NULL, time(NULL))) == NULL ||
	    !ASN1_TIME_diff(&d, &s, X509_get0_notBefore(x), now)) {
		ASN1_TIME_free(now);
		return 0;
	}
	ASN1_TIME_free(now);
	*before_now = (long)d * 86400 + s;
	return 1;
}

static int
serial_ok(X509 *x)
{
	BIGNUM *bn;
	int ok;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) ==
	    NULL)
		return 0;
	ok = !BN_is_negative(bn) && !BN_is_zero(bn) && BN_num_bits(bn) >= 64;
	BN_free(bn);
	return ok;
}

/* The chain leaf <- CA verifies for host as a TLS server. */
static int
chain_ok(X509 *x, const char *host)
{
	X509_STORE *st;
	X509_STORE_CTX *ctx;
	X509_VERIFY_PARAM *vp;
	int ok;

	if ((st = X509_STORE_new()) == NULL || !X509_STORE_add_cert(st, cax) ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, st, x, NULL))
		abort();
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_set1_host(vp, host, 0);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok && strcmp(host, "example.com") != 0)
		fprintf(stderr, "verify %s: %s\n", host,
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

/* Everything a leaf for host with leafkey must be. */
static void
check_leaf(X509 *x, const char *host)
{
	unsigned char *der;
	size_t len;
	long span = 0, back = 0;

	CHECK(X509_get_version(x) == 2);
	CHECK(san_is(x, host));
	CHECK(cn_is(x, host));
	CHECK(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(cax)) == 0);
	CHECK(X509_verify(x, X509_get0_pubkey(cax)) == 1);
	CHECK(X509_verify(x, leafkey) != 1);
	CHECK(X509_get_signature_nid(x) == NID_ecdsa_with_SHA256);
	CHECK(X509_get_extended_key_usage(x) == XKU_SSL_SERVER);
	CHECK(X509_get_key_usage(x) == KU_DIGITAL_SIGNATURE);
	CHECK(X509_check_ca(x) == 0);
	CHECK((X509_get_extension_flags(x) & EXFLAG_BCONS) != 0);
	CHECK((X509_get_extension_flags(x) & EXFLAG_CA) == 0);
	CHECK(validity(x, &span, &back));
	CHECK(span >= (long)CA_LEAF_DAYS * 86400 &&
	    span <= (long)CA_LEAF_DAYS * 86400 + 3600 + 120);
	CHECK(back >= 0 && back <= 3600 + 120);
	CHECK(serial_ok(x));
	CHECK(EVP_PKEY_eq(X509_get0_pubkey(x), leafkey) == 1);
	der = der_pubkey(X509_get0_pubkey(x), &len);
	CHECK(len == spkilen && memcmp(der, spki, len) == 0);
	OPENSSL_free(der);
	CHECK(chain_ok(x, host));
	CHECK(!chain_ok(x, "example.com"));
}

/* ca_answer(): requests and the shape of every answer. */

static size_t
build(uint8_t *buf, uint32_t hlen, uint32_t klen, const void *host,
    size_t hn, const void *key, size_t kn)
{
	struct msg_kh_cert_req rq;

	rq.host_len = hlen;
	rq.key_len = klen;
	memcpy(buf, &rq, sizeof(rq));
	memcpy(buf + sizeof(rq), host, hn);
	memcpy(buf + sizeof(rq) + hn, key, kn);
	return sizeof(rq) + hn + kn;
}

/* A well-formed request for host with key. */
static size_t
request(uint8_t *buf, const char *host, const unsigned char *key,
    size_t kn)
{
	return build(buf, (uint32_t)strlen(host), (uint32_t)kn, host,
	    strlen(host), key, kn);
}

/*
 * ca_answer() on n bytes of req, copied to a buffer of exactly n bytes
 * (at offset 1 of a larger one when unaligned), with an out buffer of
 * exactly outsize bytes.  Checks the answer's shape; returns its status
 * (-1 when malformed) and, for status 0, the certificate in *xp.
 */
static int
answer_at(const uint8_t *req, size_t n, size_t outsize, int unaligned,
    X509 **xp)
{
	struct msg_kh_cert an;
	uint8_t *in, *out;
	const char *why;
	size_t outlen = (size_t)-1;
	int st;

	if (xp != NULL)
		*xp = NULL;
	if ((in = malloc(n + unaligned + 1)) == NULL ||
	    (out = malloc(outsize)) == NULL)
		abort();
	memcpy(in + unaligned, req, n);
	why = ca_answer(in + unaligned, n, out, outsize, &outlen);
	free(in);
	if (outlen < sizeof(an) || outlen > outsize) {
		CHECK(outlen >= sizeof(an) && outlen <= outsize);
		free(out);
		return -1;
	}
	memcpy(&an, out, sizeof(an));
	st = an.status;
	CHECK(st == 0 || st == 1 || st == 2);
	CHECK((size_t)an.cert_len == outlen - sizeof(an));
	CHECK((st == 0) == (why == NULL));
	CHECK(st == 0 || an.cert_len == 0);
	CHECK(why == NULL || why[0] != '\0');
	if (st == 0 && xp != NULL) {
		*xp = parse_der(out + sizeof(an), an.cert_len);
		CHECK(*xp != NULL);
	}
	free(out);
	return st;
}

static int
answer(const uint8_t *req, size_t n, X509 **xp)
{
	return answer_at(req, n, MSG_MAX_PAYLOAD, 0, xp);
}

/* A copilot host name of exactly len characters (len >= 22). */
static void
long_host(char *h, size_t len)
{
	static const char suffix[] = ".githubcopilot.com";
	size_t i, n = len - (sizeof(suffix) - 1);

	for (i = 0; i < n; i++)
		h[i] = (i % 60 == 59) ? '.' : 'a' + (char)(i % 26);
	if (h[n - 1] == '.') {
		h[n - 2] = '.';
		h[n - 1] = 'z';
	}
	memcpy(h + n, suffix, sizeof(suffix));
}

/* The tests. */

static void
test_before_init(void)
{
	uint8_t req[512];
	size_t certlen, n;
	const char *why = NULL;

	CHECK(ca_pem() == NULL);
	CHECK(ca_sign("api.github.com", spki, spkilen, &certlen, &why) ==
	    NULL);
	CHECK(why != NULL);
	n = request(req, "api.github.com", spki, spkilen);
	CHECK(answer(req, n, NULL) == 1);
}

static void
test_init_create(void)
{
	struct stat st;
	unsigned char *b;
	size_t n;
	char err[512] = "";
	FILE *fp;
	EVP_PKEY *k = NULL;
	long span, back;

	CHECK(!exists(CA_KEY_FILE) && !exists(CA_CERT_FILE));
	CHECK(ca_init(NULL, err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "ca_init: %s\n", err);
	CHECK(stat(CA_KEY_FILE, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 07777) == 0600);
	CHECK(stat(CA_CERT_FILE, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(!exists(CA_KEY_FILE ".new") && !exists(CA_CERT_FILE ".new"));
	CHECK(ca_pem() != NULL && strncmp(ca_pem(),
	    "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	if (ca_pem() == NULL)
		abort();
	b = slurp(CA_CERT_FILE, &n);
	CHECK(b != NULL && strcmp((char *)b, ca_pem()) == 0);
	free(b);
	if ((cax = parse_pem(ca_pem())) == NULL)
		abort();
	/* A self-signed P-256 CA for ten years, its key in ca.key. */
	CHECK(X509_check_ca(cax) >= 1);
	CHECK(X509_NAME_cmp(X509_get_issuer_name(cax),
	    X509_get_subject_name(cax)) == 0);
	CHECK(X509_verify(cax, X509_get0_pubkey(cax)) == 1);
	CHECK(EVP_PKEY_get_base_id(X509_get0_pubkey(cax)) == EVP_PKEY_EC);
	CHECK(validity(cax, &span, &back) &&
	    span >= (long)CA_DAYS * 86400 && back >= 0);
	if ((fp = fopen(CA_KEY_FILE, "r")) != NULL) {
		k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	CHECK(k != NULL && X509_check_private_key(cax, k) == 1);
	EVP_PKEY_free(k);
}

static void
test_init_reload(void)
{
	struct child_result r;
	unsigned char *key, *crt;
	size_t kn, cn;

	key = slurp(CA_KEY_FILE, &kn);
	crt = slurp(CA_CERT_FILE, &cn);
	child_init(NULL, &r);
	CHECK(r.rc == 0);
	if (r.rc != 0)
		fprintf(stderr, "ca_init again: %s\n", r.err);
	CHECK_STR(r.pem, ca_pem());
	CHECK(same_file(CA_KEY_FILE, key, kn));
	CHECK(same_file(CA_CERT_FILE, crt, cn));
	free(key);
	free(crt);
}

/*
 * A pair in subdir that ca_init() must refuse, saying which files, and
 * leave as it was.
 */
static void
refused_pair(const char *subdir, const char *what)
{
	struct child_result r;
	char kp[64], cp[64];
	unsigned char *key, *crt;
	size_t kn, cn;

	(void)snprintf(kp, sizeof(kp), "%s/%s", subdir, CA_KEY_FILE);
	(void)snprintf(cp, sizeof(cp), "%s/%s", subdir, CA_CERT_FILE);
	key = slurp(kp, &kn);
	crt = slurp(cp, &cn);
	child_init(subdir, &r);
	CHECK(r.rc == -1);
	CHECK(r.err[0] != '\0' && strstr(r.err, what) != NULL);
	if (r.rc != -1 || strstr(r.err, what) == NULL)
		fprintf(stderr, "%s: rc %d, \"%s\"\n", subdir, r.rc, r.err);
	CHECK(same_file(kp, key, kn));
	CHECK(same_file(cp, crt, cn));
	free(key);
	free(crt);
}

static void
test_init_broken(void)
{
	static const char garbage[] = "-----BEGIN CERTIFICATE-----\n"
	    "AAAAAAAA\n-----END CERTIFICATE-----\n";
	EVP_PKEY *other;
	char *pem;

	if ((other = EVP_EC_gen("P-256")) == NULL)
		abort();
	pem = pem_key(other);

	/* Another key with our certificate. */
	CHECK(mkdir("mismatch", 0700) == 0);
	spew("mismatch/" CA_KEY_FILE, pem, strlen(pem), 0600);
	copy(CA_CERT_FILE, "mismatch/" CA_CERT_FILE, 0644);
	refused_pair("mismatch", "do not make a CA");
	refused_pair("mismatch", CA_KEY_FILE);

	/* Our key with another's certificate: the first pair swapped. */
	CHECK(mkdir("swapped", 0700) == 0);
	copy(CA_KEY_FILE, "swapped/" CA_KEY_FILE, 0600);
	spew("swapped/" CA_CERT_FILE, pem, strlen(pem), 0644);
	refused_pair("swapped", CA_CERT_FILE);

	/* A key file that is not a key. */
	CHECK(mkdir("badkey", 0700) == 0);
	spew("badkey/" CA_KEY_FILE, "not a key\n", 10, 0600);
	copy(CA_CERT_FILE, "badkey/" CA_CERT_FILE, 0644);
	refused_pair("badkey", CA_KEY_FILE);

	/* An empty key file. */
	CHECK(mkdir("emptykey", 0700) == 0);
	spew("emptykey/" CA_KEY_FILE, "", 0, 0600);
	copy(CA_CERT_FILE, "emptykey/" CA_CERT_FILE, 0644);
	refused_pair("emptykey", CA_KEY_FILE);

	/* A certificate that does not decode. */
	CHECK(mkdir("badcert", 0700) == 0);
	copy(CA_KEY_FILE, "badcert/" CA_KEY_FILE, 0600);
	spew("badcert/" CA_CERT_FILE, garbage, sizeof(garbage) - 1, 0644);
	refused_pair("badcert", CA_CERT_FILE);

	/* A key and no certificate: not made anew. */
	CHECK(mkdir("nocert", 0700) == 0);
	copy(CA_KEY_FILE, "nocert/" CA_KEY_FILE, 0600);
	refused_pair("nocert", CA_CERT_FILE);
	CHECK(!exists("nocert/" CA_CERT_FILE));

	free(pem);
	EVP_PKEY_free(other);
}

static void
test_sign_hosts(void)
{
	ASN1_INTEGER *serials[2 * NALLOWED];
	unsigned char *der;
	const char *why;
	size_t i, j, len, ns = 0;
	X509 *x;
	int round;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < NALLOWED; i++) {
			CHECK(ca_host_allowed(allowed[i]));
			why = "unset";
			len = 0;
			der = ca_sign(allowed[i], spki, spkilen, &len, &why);
			CHECK(der != NULL && why == NULL && len > 0);
			if (der == NULL) {
				fprintf(stderr, "%s: %s\n", allowed[i],
				    why ? why : "?");
				continue;
			}
			x = parse_der(der, len);
			OPENSSL_free(der);
			CHECK(x != NULL);
			if (x == NULL)
				continue;
			check_leaf(x, allowed[i]);
			serials[ns++] = ASN1_INTEGER_dup(
			    X509_get0_serialNumber(x));
			X509_free(x);
		}
	}
	/* No two certificates share a serial, not even for one host. */
	for (i = 0; i < ns; i++)
		for (j = i + 1; j < ns; j++)
			CHECK(ASN1_INTEGER_cmp(serials[i], serials[j]) != 0);
	for (i = 0; i < ns; i++)
		ASN1_INTEGER_free(serials[i]);
}

/*
 * Long names ghp intercepts (a copilot subdomain up to 253 characters,
 * labels up to 63) are allowed, and must then be signed, though X.509
 * caps a commonName at 64 characters (ub_common_name).
 */
static void
test_sign_long_hosts(void)
{
	static const size_t lens[] = { 64, 65, 81, 200, 253 };
	char host[CA_HOST_MAX + 1];
	unsigned char *der;
	const char *why;
	size_t i, len;
	X509 *x;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		if (lens[i] == 81) {
			memset(host, 'a', 63);
			memcpy(host + 63, ".githubcopilot.com", 19);
		} else
			long_host(host, lens[i]);
		CHECK(strlen(host) == lens[i]);
		CHECK(ca_host_allowed(host));
		why = NULL;
		der = ca_sign(host, spki, spkilen, &len, &why);
		CHECK(der != NULL);
		if (der == NULL) {
			fprintf(stderr, "allowed host of %zu characters "
			    "refused: %s\n", lens[i], why ? why : "?");
			continue;
		}
		if ((x = parse_der(der, len)) != NULL) {
			CHECK(san_is(x, host));
			CHECK(chain_ok(x, host));
			X509_free(x);
		}
		OPENSSL_free(der);
	}
}

static void
test_sign_refused_hosts(void)
{
	static const char *bad[] = {
		"example.com", "API.GITHUB.COM", "Api.github.com",
		"GitHub.com", "github.com.", "api.github.com.", "",
		".", "api.github.com ", " github.com", "api github.com",
		"api_github.com", "a_b.githubcopilot.com",
		"_x.githubcopilot.com", "*.githubcopilot.com",
		"x.githubcopilot.com.", ".githubcopilot.com",
		"a..githubcopilot.com", "-a.githubcopilot.com",
		"a-.githubcopilot.com", "evil.github.com",
		"github.com.evil.com", "evilgithub.com",
		"api.github.com.evil.com", "githubcopilot.com.evil",
		"xgithubcopilot.com", "githubusercontent.com",
		"gist.githubusercontent.com", "api.github.com:443",
		"api.github.com/", "api.github.com\t", "api.github.com\n",
		"ghp.example.com", "localhost", "127.0.0.1", "[::1]",
		"xn--github.com", "api.github.com\xc2\xa0"
	};
	char host[CA_HOST_MAX + 64];
	unsigned char *der;
	const char *why;
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		der = ca_sign(bad[i], spki, spkilen, &len, &why);
		CHECK(der == NULL && why != NULL);
		CHECK(!ca_host_allowed(bad[i]));
		if (der != NULL) {
			fprintf(stderr, "signed \"%s\"\n", bad[i]);
			OPENSSL_free(der);
		}
	}
	/* Too long: 254 characters, a label of 64. */
	long_host(host, 254);
	CHECK(ca_sign(host, spki, spkilen, &len, &why) == NULL);
	memset(host, 'a', 64);
	memcpy(host + 64, ".githubcopilot.com", 19);
	CHECK(ca_sign(host, spki, spkilen, &len, &why) == NULL);
}

static void
test_sign_refused_keys(void)
{
	EVP_PKEY *rsa, *p384, *ed;
	unsigned char *der, *k, junk[91];
	const char *why;
	size_t n, len, i;

	if ((rsa = EVP_RSA_gen(2048)) == NULL ||
	    (p384 = EVP_EC_gen("P-384")) == NULL ||
	    (ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		abort();
	k = der_pubkey(rsa, &n);
	CHECK(ca_sign("api.github.com", k, n, &len, &why) == NULL);
	OPENSSL_free(k);
	k = der_pubkey(p384, &n);
	CHECK(ca_sign("api.github.com", k, n, &len, &why) == NULL);
	OPENSSL_free(k);
	k = der_pubkey(ed, &n);
	CHECK(ca_sign("api.github.com", k, n, &len, &why) == NULL);
	OPENSSL_free(k);

	/* Garbage, nothing, a part, a good key and one byte more. */
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 37 + 11);
	CHECK(ca_sign("github.com", junk, sizeof(junk), &len, &why) == NULL);
	CHECK(ca_sign("github.com", spki, 0, &len, &why) == NULL);
	CHECK(ca_sign("github.com", spki, spkilen - 1, &len, &why) == NULL);
	CHECK(ca_sign("github.com", spki, 30, &len, &why) == NULL);
	if ((k = malloc(spkilen + 1)) == NULL)
		abort();
	memcpy(k, spki, spkilen);
	k[spkilen] = 0;
	CHECK(ca_sign("github.com", k, spkilen + 1, &len, &why) == NULL);
	/* A point off the curve. */
	memcpy(k, spki, spkilen);
	k[spkilen - 1] ^= 0x01;
	der = ca_sign("github.com", k, spkilen, &len, &why);
	CHECK(der == NULL);
	OPENSSL_free(der);
	free(k);

	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed);
}

/*
 * "intercept" blocks (config.h) add hosts: a name, or "*.domain" for
 * the names under it.  In a child, whose CA knows such a config.
 */
static const struct {
	const char	*host;
	int		 ok;
} icases[] = {
	{ "api.example.net", 1 }, { "x.corp.example", 1 },
	{ "a.b.corp.example", 1 }, { "api.github.com", 1 },
	{ "example.net", 0 }, { "www.api.example.net", 0 },
	{ "corp.example", 0 }, { "xcorp.example", 0 },
	{ "API.EXAMPLE.NET", 0 }, { "api.example.net.", 0 },
	{ "X.corp.example", 0 }, { "a_b.corp.example", 0 },
	{ "*.corp.example", 0 }, { ".corp.example", 0 },
	{ "evil.com", 0 }
};
#define NICASES	(sizeof(icases) / sizeof(icases[0]))

static void
intercept_here(const void *arg, void *res)
{
	static char p0[] = "api.example.net", p1[] = "*.corp.example";
	struct intercept_conf ic[2];
	struct config conf;
	int *r = res;
	char err[512];
	unsigned char *der;
	const char *why;
	size_t i, len;

	memset(&conf, 0, sizeof(conf));
	memset(ic, 0, sizeof(ic));
	TAILQ_INIT(&conf.intercepts);
	ic[0].pattern = p0;
	ic[1].pattern = p1;
	TAILQ_INSERT_TAIL(&conf.intercepts, &ic[0], entry);
	TAILQ_INSERT_TAIL(&conf.intercepts, &ic[1], entry);
	if (ca_init(&conf, err, sizeof(err)) == -1)
		_exit(1);
	for (i = 0; i < NICASES; i++) {
		der = ca_sign(icases[i].host, spki, spkilen, &len, &why);
		r[i] = ca_host_allowed(icases[i].host) | (der != NULL) << 1;
		OPENSSL_free(der);
	}
}

static void
test_intercept_blocks(void)
{
	int r[NICASES];
	size_t i;

	memset(r, 0xff, sizeof(r));
	CHECK(in_child(intercept_here, NULL, r, sizeof(r)) == 0);
	for (i = 0; i < NICASES; i++) {
		CHECK(r[i] == (icases[i].ok ? 3 : 0));
		if (r[i] != (icases[i].ok ? 3 : 0))
			fprintf(stderr, "%s: allowed %d, signed %d\n",
			    icases[i].host, r[i] & 1, (r[i] >> 1) & 1);
	}
}

static void
test_answer_good(void)
{
	uint8_t req[1024];
	char host[CA_HOST_MAX + 1];
	size_t i, n;
	X509 *x;
	int st;

	for (i = 0; i < NALLOWED; i++) {
		n = request(req, allowed[i], spki, spkilen);
		CHECK(answer(req, n, &x) == 0);
		if (x != NULL) {
			check_leaf(x, allowed[i]);
			X509_free(x);
		}
	}
	/* Unaligned. */
	n = request(req, "codeload.github.com", spki, spkilen);
	CHECK(answer_at(req, n, MSG_MAX_PAYLOAD, 1, &x) == 0);
	if (x != NULL) {
		CHECK(san_is(x, "codeload.github.com"));
		X509_free(x);
	}
	/* No room for the certificate: malformed, nothing written past. */
	CHECK(answer_at(req, n, sizeof(struct msg_kh_cert), 0, NULL) == 2);
	CHECK(answer_at(req, n, 64, 0, NULL) == 2);
	/* host_len 253, the most there is, is a good shape and a good name. */
	long_host(host, CA_HOST_MAX);
	n = request(req, host, spki, spkilen);
	st = answer(req, n, &x);
	CHECK(st != 2);
	CHECK(st == 0);
	if (x != NULL) {
		CHECK(san_is(x, host));
		X509_free(x);
	}
}

static void
test_answer_refused(void)
{
	static const char *bad[] = {
		"example.com", "API.GITHUB.COM", "github.com.",
		"a_b.githubcopilot.com", "api.github.com ", " github.com",
		"*.githubcopilot.com", "evil.github.com", "ghp.example.com"
	};
	uint8_t req[2048], *k;
	EVP_PKEY *rsa;
	size_t i, n, kn;
	int st;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = request(req, bad[i], spki, spkilen);
		CHECK(answer(req, n, NULL) == 1);
	}
	/* A host we intercept with a key we do not sign: not 0. */
	if ((rsa = EVP_RSA_gen(2048)) == NULL)
		abort();
	k = der_pubkey(rsa, &kn);
	n = request(req, "api.github.com", k, kn);
	st = answer(req, n, NULL);
	CHECK(st == 1 || st == 2);
	OPENSSL_free(k);
	EVP_PKEY_free(rsa);
	n = request(req, "api.github.com", (const uint8_t *)"x", 1);
	st = answer(req, n, NULL);
	CHECK(st == 1 || st == 2);
	/* The key with a byte more, inside key_len. */
	n = build(req, 14, (uint32_t)spkilen + 1, "api.github.com", 14, spki,
	    spkilen);
	req[n++] = 0;
	st = answer(req, n, NULL);
	CHECK(st == 1 || st == 2);
}

static void
test_answer_malformed(void)
{
	uint8_t good[512], req[1024];
	char host[CA_HOST_MAX + 2];
	size_t gn, n, i;
	uint32_t hl, kl;

	gn = request(good, "api.github.com", spki, spkilen);
	hl = 14;
	kl = (uint32_t)spkilen;

	/* Short: less than the fixed part, and nothing at all. */
	for (n = 0; n < sizeof(struct msg_kh_cert_req); n++)
		CHECK(answer(good, n, NULL) == 2);
	/* Only the fixed part; every truncation of a good request. */
	for (n = sizeof(struct msg_kh_cert_req); n < gn; n++)
		CHECK(answer(good, n, NULL) == 2);
	/* One byte more than the lengths say. */
	memcpy(req, good, gn);
	req[gn] = 'x';
	CHECK(answer(req, gn + 1, NULL) == 2);
	/* Lengths off by one either way, the bytes the same. */
	n = build(req, hl + 1, kl, "api.github.com", 14, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, hl - 1, kl, "api.github.com", 14, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, hl, kl + 1, "api.github.com", 14, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, hl, kl - 1, "api.github.com", 14, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	/* Lengths that add up only modulo 2^32. */
	n = build(req, 14, UINT32_MAX, "api.github.com", 13, "", 0);
	CHECK(n == 21 && answer(req, n, NULL) == 2);
	n = build(req, 14, UINT32_MAX - 13, "", 0, "", 0);
	CHECK(answer(req, n, NULL) == 2);	/* 8 + 14 + k = 2^32 + 8 */
	n = build(req, CA_HOST_MAX, UINT32_MAX - CA_HOST_MAX + 21,
	    "api.github.com", 14, "abcdef", 6);	/* 8 + 253 + k = 2^32 + 28 */
	CHECK(n == 28 && answer(req, n, NULL) == 2);
	n = build(req, UINT32_MAX, 14 + kl + 1, "api.github.com", 14, spki,
	    spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, UINT32_MAX - 7, 8 + 14 + kl, "api.github.com", 14,
	    spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, UINT32_MAX, UINT32_MAX, "api.github.com", 14, spki,
	    spkilen);
	CHECK(answer(req, n, NULL) == 2);
	/* host_len 0 (all key) and key_len 0 (all host). */
	n = build(req, 0, 14 + kl, "api.github.com", 14, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, 14, 0, "api.github.com", 14, "", 0);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, 0, 0, "", 0, "", 0);
	CHECK(n == 8 && answer(req, n, NULL) == 2);
	/* host_len over 253, the lengths adding up. */
	long_host(host, CA_HOST_MAX + 1);
	n = request(req, host, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, 1000, 0, "", 0, "", 0);
	memset(req + n, 'a', 1000);
	CHECK(answer(req, n + 1000, NULL) == 2);
	/* A NUL anywhere in the host. */
	n = build(req, 15, kl, "api.github.com\0", 15, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, 15, kl, "\0api.github.com", 15, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, 14, kl, "api.git\0ub.com", 14, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	n = build(req, 1, kl, "", 1, spki, spkilen);
	CHECK(answer(req, n, NULL) == 2);
	/* A byte of either length changed: the sum is off. */
	for (i = 0; i < sizeof(struct msg_kh_cert_req); i++) {
		memcpy(req, good, gn);
		req[i] ^= 0x80;
		CHECK(answer(req, gn, NULL) == 2);
	}
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int
main(void)
{
	int fd;

	umask(022);
	if ((leafkey = EVP_EC_gen("P-256")) == NULL || mkdtemp(dir) == NULL ||
	    (fd = open(".", O_RDONLY | O_DIRECTORY)) == -1 || chdir(dir) == -1)
		abort();
	spki = der_pubkey(leafkey, &spkilen);

	UNIT_RUN(test_before_init);
	UNIT_RUN(test_init_create);
	UNIT_RUN(test_init_reload);
	UNIT_RUN(test_init_broken);
	UNIT_RUN(test_sign_hosts);
	UNIT_RUN(test_sign_long_hosts);
	UNIT_RUN(test_sign_refused_hosts);
	UNIT_RUN(test_sign_refused_keys);
	UNIT_RUN(test_intercept_blocks);
	UNIT_RUN(test_answer_good);
	UNIT_RUN(test_answer_refused);
	UNIT_RUN(test_answer_malformed);

	if (fchdir(fd) == -1 || nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) ==
	    -1)
		perror(dir);
	close(fd);
	X509_free(cax);
	OPENSSL_free(spki);
	EVP_PKEY_free(leafkey);
	return UNIT_DONE("test_ca");
}
