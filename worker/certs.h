/*
 * certs.h: the worker's leaf certificates, for the hosts a
 * forward-proxy listener intercepts (CONNECT, then TLS with the client
 * as that host).
 *
 * For a host it has no certificate for, the worker makes a P-256 key
 * pair and asks the keyholder (MSG_KH_CERT_REQ) to certify its public
 * key for the host; the keyholder decides whether the host may be
 * intercepted and builds the certificate (keyholder/ca.h).  The answer
 * becomes a TLS server context, kept per host until a day before the
 * certificate expires, at most CERTS_MAX hosts.  One question per host
 * however many connections wait for it; a question unanswered within
 * CERTS_WAIT seconds fails its waiters.  The private key never leaves
 * the worker.
 */
#ifndef GHP_CERTS_H
#define GHP_CERTS_H

#include <openssl/ssl.h>

#define CERTS_MAX	256
#define CERTS_WAIT	10	/* seconds */

struct chan;
struct event_base;
struct msg;
struct cwaiter;

/* ctx is NULL when no certificate could be had (why says so). */
typedef void	(*certs_cb)(SSL_CTX *ctx, const char *why, void *arg);

void	certs_init(struct event_base *);
/* The keyholder channel (NULL: none now; fails what waits). */
void	certs_set_keyholder(struct chan *);
/* Calls cb at once (and returns NULL) when the host's context is kept. */
struct cwaiter *certs_get(const char *host, certs_cb, void *arg);
void	certs_cancel(struct cwaiter *);
/* MSG_KH_CERT from the keyholder; -1 if malformed. */
int	certs_answer(const struct msg *);

#endif /* GHP_CERTS_H */
