/*
 * tls.h: server-side TLS for "listen on ... tls certificate F key F".
 *
 * tls_server_ctx() builds an OpenSSL context from a certificate chain
 * and a private key file: TLS 1.2 or newer, HTTP/1.1 only (no ALPN
 * offer of h2), the key checked against the certificate.  The master
 * calls it to refuse a config whose files do not load (at start and on
 * reload, with the reason); each worker calls it before it drops root
 * and closes its sandbox, since key files are usually root's alone.
 */
#ifndef GHP_TLS_H
#define GHP_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

SSL_CTX	*tls_server_ctx(const char *cert, const char *key, char *err,
	    size_t errlen);
/*
 * The same from a DER certificate and a key in memory (a leaf for a
 * host a forward-proxy listener intercepts); NULL if they do not match.
 * The context holds its own references.
 */
SSL_CTX	*tls_server_ctx_mem(const unsigned char *der, size_t len,
	    EVP_PKEY *key);

#endif /* GHP_TLS_H */
