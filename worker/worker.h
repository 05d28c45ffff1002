/*
 * worker.h: the worker process.
 *
 * worker_main() never returns.  It is called in a freshly forked child
 * with the config it was forked with, its master channel on fd
 * chan_fd and its listening sockets in fds[0..nfds-1] (flags alongside).
 * It drops privileges, closes the sandbox, tells the master it is ready
 * and serves until told to stop (then drains) or until the master's
 * channel closes (then exits at once: no orphan lives on).
 *
 * worker/server.c owns client connections; worker.c the process.
 */
#ifndef GHP_WORKER_H
#define GHP_WORKER_H

#include <stdint.h>

#include "config.h"
#include "sandbox.h"

struct worker_listener {
	int		 fd;
	int		 tls;
	const char	*tls_cert;
	const char	*tls_key;
	void		*tls_ctx;	/* SSL_CTX, loaded before the sandbox */
	int		 proxy;
};

struct worker_args {
	const struct config	*conf;
	const struct priv_account *acct;
	uint32_t		 id;
	int			 slot;
	int			 generation;
	int			 chan_fd;
	struct worker_listener	*listeners;
	int			 nlisteners;
};

void	worker_main(const struct worker_args *) __attribute__((__noreturn__));

#endif /* GHP_WORKER_H */
