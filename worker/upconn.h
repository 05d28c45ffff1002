/*
 * upconn.h: the worker's connections to its upstreams, for upstream.c.
 *
 * Where each upstream host is (looked up by upconn_init() and
 * upconn_resolve_url() before the sandbox closes: a worker cannot reach
 * a resolver later), connecting without blocking, TLS as a client
 * (OpenSSL: TLS 1.2 or newer, the peer's certificate checked against
 * "upstream ca" and the host's name or address, SNI, ALPN http/1.1),
 * and a pool of idle kept-alive connections, so that a request to the
 * same upstream reuses one without a handshake.
 *
 * A connection has one event, watched for what its owner asks
 * (upconn_watch()); the owner's callback gets UPCONN_READ and
 * UPCONN_WRITE as the socket allows, already translated for TLS (a read
 * that needs the socket writable is reported as UPCONN_READ when it
 * is).  A new connection first reports UPCONN_READY once it is
 * connected and its handshake done, or UPCONN_FAILED.  An idle
 * connection in the pool is watched by the pool: if its upstream closes
 * it or sends anything, it is closed.
 */
#ifndef GHP_UPCONN_H
#define GHP_UPCONN_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "config.h"

struct event_base;
struct evbuffer;
struct upconn;

#define UPCONN_READ	0x01
#define UPCONN_WRITE	0x02
#define UPCONN_READY	0x04
#define UPCONN_FAILED	0x08

#define UPCONN_AGAIN	(-2)	/* upconn_read/write: would block */
#define UPCONN_FAIL	(-1)	/* ... broken; upconn_why() says how */

#define UPCONN_HOST_MAX	255

/* Where a URL goes: upconn_target() fills it. */
struct up_target {
	int			 tls;
	char			 host[UPCONN_HOST_MAX + 1]; /* no brackets */
	char			 authority[UPCONN_HOST_MAX + 9]; /* Host: */
	int			 port;
	const char		*path;	/* into the URL: "/...", or "" */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
};

typedef void	(*upconn_cb)(struct upconn *, int what, void *arg);

void	upconn_init(struct event_base *, const struct config *);
/*
 * Look a URL's host up now: 1 if connections to it can be made later,
 * 0 if not (logged, with what to name it).
 */
int	upconn_resolve_url(const char *what, const char *url);
/*
 * Parse an http or https URL and find its address: from connect_to
 * ("host:port:address:port", the address the master found) when not
 * NULL, else a literal address or one looked up earlier.  -1 with *why.
 */
int	upconn_target(const char *url, const char *connect_to,
	    struct up_target *, const char **why);
/*
 * A connection to t: an idle one from the pool if reuse (*reused 1,
 * ready now), or a new one (*reused 0) that reports UPCONN_READY or
 * UPCONN_FAILED later, never from inside this call.  NULL with *why if
 * a socket cannot even be started.
 */
struct upconn *upconn_get(const struct up_target *, int reuse, upconn_cb,
	    void *arg, int *reused, const char **why);
/* Done with it, kept alive: to the pool (or closed if it is full). */
void	upconn_put(struct upconn *);
void	upconn_close(struct upconn *);
/* Bytes read (> 0), 0 at the end, UPCONN_AGAIN or UPCONN_FAIL. */
ssize_t	upconn_read(struct upconn *, char *, size_t);
/*
 * Write pre[0..prelen) and then out, draining from out what of it went:
 * the bytes written (pre's first), UPCONN_AGAIN or UPCONN_FAIL.  pre is
 * not copied (it may hold a credential: the caller zeroes it).
 */
ssize_t	upconn_write(struct upconn *, const char *pre, size_t prelen,
	    struct evbuffer *out);
/* What to be told about (UPCONN_READ, UPCONN_WRITE). */
void	upconn_watch(struct upconn *, int what);
/* Bytes TLS holds already decrypted: read them without waiting. */
int	upconn_pending(const struct upconn *);
const char *upconn_why(const struct upconn *);
int	upconn_idle_count(void);

#endif /* GHP_UPCONN_H */
