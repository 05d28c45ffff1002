/*
 * ca.h: ghp's certificate authority, for intercepting TLS on a forward
 * proxy listener.  It lives in the keyholder alone.
 *
 * ca_init() loads CA_KEY_FILE and CA_CERT_FILE from the keyholder's
 * directory (the state directory), or creates them on first start: a
 * P-256 key (0600) and a self-signed CA certificate valid CA_DAYS.  One
 * of the two without the other is an error, never replaced.
 *
 * ca_sign() answers a worker's request for a leaf certificate: the
 * worker sends a host name and the public key of a key pair it made;
 * the keyholder checks the name (a DNS name that ghp intercepts, by
 * ca_host_allowed()) and the key (P-256), and builds the certificate
 * itself: subjectAltName the host (and the subject's CN, for a host of
 * 64 characters or fewer), serverAuth, valid
 * from an hour ago for CA_LEAF_DAYS, a random serial, signed with
 * SHA-256.  It never signs anything the worker built.
 *
 * ca_answer() reads a MSG_KH_CERT_REQ payload (msg.h) as sent by a
 * worker, which may be anything: host and key lengths must add up
 * exactly, the host have no NUL.  It writes the MSG_KH_CERT payload into
 * out (outsize at least MSG_MAX_PAYLOAD) and returns NULL, or why the
 * request was refused (status 1) or malformed (status 2).
 *
 * ca_pem() is the CA certificate for "ghpctl ca export".
 */
#ifndef GHP_CA_H
#define GHP_CA_H

#include <stddef.h>
#include <stdint.h>

#define CA_KEY_FILE	"ca.key"
#define CA_CERT_FILE	"ca.crt"
#define CA_DAYS		3650
#define CA_LEAF_DAYS	30
#define CA_HOST_MAX	253

struct config;

int		 ca_init(const struct config *, char *err, size_t errlen);
/* Is host (lower case) one ghp intercepts: GitHub's, or an "intercept"? */
int		 ca_host_allowed(const char *host);
/*
 * The leaf certificate (DER, to be freed with OPENSSL_free()) for host and the DER public key
 * spki; NULL with why when refused.
 */
unsigned char	*ca_sign(const char *host, const unsigned char *spki,
		    size_t spkilen, size_t *certlen, const char **why);
const char	*ca_answer(const uint8_t *req, size_t reqlen, uint8_t *out,
		    size_t outsize, size_t *outlen);
const char	*ca_pem(void);

#endif /* GHP_CA_H */
