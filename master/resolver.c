/*
 * resolver.c: names looked up for workers, which cannot reach a name
 * server from their sandbox: the host of a forward-proxy tunnel
 * (MSG_RESOLVE).  libevent's asynchronous resolver, so that the master
 * never waits on DNS; /etc/resolv.conf and /etc/hosts are read at
 * start.  Only a name the config lets a tunnel go to, or intercepts
 * ("intercept"), is looked up.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "master.h"
#include "msg.h"
#include "util.h"
#include "web.h"

#define RESOLVER_HOST_MAX	253

struct lookup {
	uint32_t	 proc_id;
	uint32_t	 reqid;
};

static struct evdns_base	*dns;

void
resolver_init(struct event_base *base)
{
	if ((dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL)
		log_warnx("no resolver: proxy tunnels to names will fail");
}

static struct proc *
resolver_proc(uint32_t id)
{
	struct proc *p;

	TAILQ_FOREACH(p, &master->procs, entry)
		if (p->id == id && p->chan != NULL)
			return p;
	return NULL;
}

static void
resolver_answer(uint32_t proc_id, uint32_t reqid, int status,
    const struct sockaddr *sa, size_t len)
{
	struct msg_resolved r;
	struct proc *p;

	if ((p = resolver_proc(proc_id)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.status = status;
	if (status == 0 && sa != NULL && len <= sizeof(r.addr)) {
		memcpy(r.addr, sa, len);
		r.addrlen = (uint32_t)len;
	} else if (status == 0)
		r.status = 2;
	chan_send(p->chan, MSG_RESOLVED, p->id, reqid, -1, &r, sizeof(r));
}

static void
resolver_done(int err, struct evutil_addrinfo *res, void *arg)
{
	struct lookup *l = arg;

	if (err == 0 && res != NULL)
		resolver_answer(l->proc_id, l->reqid, 0, res->ai_addr,
		    res->ai_addrlen);
	else
		resolver_answer(l->proc_id, l->reqid, 2, NULL, 0);
	if (res != NULL)
		evutil_freeaddrinfo(res);
	free(l);
}

int
resolver_request(struct proc *p, const struct msg *m)
{
	struct evutil_addrinfo hints;
	struct lookup *l;
	char host[RESOLVER_HOST_MAX + 1];

	if (m->len > RESOLVER_HOST_MAX)
		return -1;
	memcpy(host, m->data, m->len);
	host[m->len] = '\0';
	if (!web_tunnel_allowed(master->conf, host) &&
	    web_intercept_rule(master->conf, host) == -1) {
		resolver_answer(p->id, m->hdr.reqid, 1, NULL, 0);
		return 0;
	}
	if (dns == NULL) {
		resolver_answer(p->id, m->hdr.reqid, 2, NULL, 0);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	l = xcalloc(1, sizeof(*l));
	l->proc_id = p->id;
	l->reqid = m->hdr.reqid;
	(void)evdns_getaddrinfo(dns, host, NULL, &hints, resolver_done, l);
	return 0;
}
