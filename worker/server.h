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
 * Answering (this version): read the request head, bounded in size and
 * time, and answer 404 in GitHub's JSON error shape; 431 when the head is
 * too large, 408 when it is too slow.  The proxy replaces the answer.
 */
#ifndef GHP_SERVER_H
#define GHP_SERVER_H

#include <stdint.h>

#include "config.h"
#include "worker.h"

#define SERVER_HEAD_MAX		(16 * 1024)	/* request line + headers */
#define SERVER_HEAD_TIMEOUT	10		/* seconds */
#define SERVER_MAX_CONNECTIONS	10000
#define SERVER_MAX_LISTENERS	64
#define SERVER_LINGER_TIMEOUT	2		/* seconds */
#define SERVER_LINGER_MAX	(1024 * 1024)	/* bytes discarded at most */

struct event_base;

void		 server_init(struct event_base *, const struct config *,
		    const struct worker_listener *, int n);
/* Stop accepting; call idle() once no connection is left. */
void		 server_drain(void (*idle)(void));
uint32_t	 server_connections(void);
uint64_t	 server_requests(void);

#endif /* GHP_SERVER_H */
