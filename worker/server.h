/*
 * server.h: a worker's client side: accepting connections on the shared
 * listening sockets and answering them.
 *
 * Accepting: every worker puts the listening sockets in an epoll set of
 * its own with EPOLLEXCLUSIVE, and that set in its libevent loop, so a
 * new connection wakes one worker, not all of them (no thundering herd),
 * while the sockets stay shared: a worker that dies or drains leaves no
 * connection behind in a backlog of its own.
 *
 * Connections (conn.h): HTTP/1.1 with keep-alive and pipelining; each
 * head is parsed strictly (http.h), bounded in size and time, and handed
 * to request.c.  A refused head is answered in GitHub's JSON error shape
 * and the connection closed, lingering so the answer is not lost.
 */
#ifndef GHP_SERVER_H
#define GHP_SERVER_H

#include <stdint.h>

#include "config.h"
#include "worker.h"

#define SERVER_HEAD_MAX		(16 * 1024)	/* request line + headers */
#define SERVER_MAX_CONNECTIONS	10000
#define SERVER_MAX_LISTENERS	64
#define SERVER_LINGER_TIMEOUT	2		/* seconds */
#define SERVER_LINGER_MAX	(64 * 1024)	/* bytes discarded at most */
#define SERVER_TRIM_DROP	256	/* connections gone: give memory back */

struct event_base;

void		 server_init(struct event_base *, const struct config *,
		    const struct worker_listener *, int n);
/* Stop accepting; call idle() once no connection is left. */
void		 server_drain(void (*idle)(void));
uint32_t	 server_connections(void);
/*
 * A token was revoked: close the tunnels and intercepted connections a
 * forward-proxy listener opened with it (hash: the token's SHA-256).
 */
void		 server_revoke(const uint8_t *hash);
uint64_t	 server_requests(void);

#endif /* GHP_SERVER_H */
