/*
 * listen.c: the listening sockets.  The master binds them (it may need
 * root for low ports) and keeps them; workers inherit them across fork.
 * On reload a socket whose address and port are still configured is kept
 * as it is, so connections waiting in its backlog are not lost; new ones
 * are bound before anything is committed, and a bind failure refuses the
 * whole reload.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "util.h"

#define LISTEN_BACKLOG	511

static int
listen_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strcmp(addr, "localhost") == 0)
		addr = "127.0.0.1";
	if (strcmp(addr, "*") == 0)
		addr = "::";
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static int
listen_bind(const char *addr, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, on = 1, off = 0;

	if (listen_sockaddr(addr, port, &ss, &sslen) == -1) {
		(void)snprintf(err, errlen, "listen on %s port %u: bad address",
		    addr, port);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/* "*" means every address, IPv4 included. */
	if (ss.ss_family == AF_INET6 && strcmp(addr, "*") == 0 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	(void)snprintf(err, errlen, "listen on %s port %u: %s", addr, port,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static struct listener *
listen_find(const char *addr, uint16_t port)
{
	struct listener *l;

	TAILQ_FOREACH(l, &master->listeners, entry)
		if (l->port == port && strcmp(l->addr, addr) == 0)
			return l;
	return NULL;
}

static void
listen_free(struct listener *l)
{
	TAILQ_REMOVE(&master->listeners, l, entry);
	close(l->fd);
	free(l->addr);
	free(l);
}

/*
 * Make the sockets match conf: existing ones are marked 1 when kept, new
 * ones bound and marked 2.  On failure every new socket is closed again
 * and nothing has changed.  Flags (tls, proxy) are taken from conf only
 * once everything is bound.
 */
int
listen_reconcile(const struct config *conf, char *err, size_t errlen)
{
	struct listen_conf *lc;
	struct listener *l, *tmp;
	int fd;

	TAILQ_FOREACH(l, &master->listeners, entry)
		l->mark = 0;
	TAILQ_FOREACH(lc, &conf->listeners, entry) {
		if ((l = listen_find(lc->addr, lc->port)) != NULL) {
			l->mark = 1;
			continue;
		}
		if ((fd = listen_bind(lc->addr, lc->port, err, errlen)) == -1)
			goto rollback;
		l = xcalloc(1, sizeof(*l));
		l->fd = fd;
		l->addr = xstrdup(lc->addr);
		l->port = lc->port;
		l->mark = 2;
		TAILQ_INSERT_TAIL(&master->listeners, l, entry);
		log_debug("listening on %s port %u", l->addr, l->port);
	}
	TAILQ_FOREACH(lc, &conf->listeners, entry) {
		l = listen_find(lc->addr, lc->port);
		l->tls = lc->tls;
		l->tls_cert = lc->tls_cert;
		l->tls_key = lc->tls_key;
		l->proxy = lc->proxy;
	}
	return 0;
rollback:
	TAILQ_FOREACH_SAFE(l, &master->listeners, entry, tmp)
		if (l->mark == 2)
			listen_free(l);
	return -1;
}

/* After a committed reload: drop what the new config no longer names. */
void
listen_close_unmarked(void)
{
	struct listener *l, *tmp;

	TAILQ_FOREACH_SAFE(l, &master->listeners, entry, tmp) {
		if (l->mark == 0) {
			log_info("no longer listening on %s port %u", l->addr,
			    l->port);
			listen_free(l);
		}
	}
}

int
listen_count(void)
{
	struct listener *l;
	int n = 0;

	TAILQ_FOREACH(l, &master->listeners, entry)
		n++;
	return n;
}

/* Stopping: new connections must be refused, not left to wait. */
void
listen_close_all(void)
{
	struct listener *l, *tmp;

	TAILQ_FOREACH_SAFE(l, &master->listeners, entry, tmp)
		listen_free(l);
}
