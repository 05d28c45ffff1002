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

#endif /* GHP_TLS_H */
