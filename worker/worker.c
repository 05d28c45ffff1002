/*
 * worker.c: the worker process; see worker.h.
 *
 * Start-up order, which is the security argument: make the process
 * undumpable, chroot and drop to the workers' account, set up the event
 * loop and the accept set, and only then close the system-call sandbox.
 * From there on the worker can use the descriptors it holds and make new
 * sockets, and nothing else: no file, no exec, no fork.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "certs.h"
#include "chan.h"
#include "log.h"
#include "tls.h"
#include "metrics.h"
#include "msg.h"
#include "sandbox.h"
#include "request.h"
#include "server.h"
#include "tcache.h"
#include "tunnel.h"
#include "upstream.h"
#include "util.h"
#include "worker.h"

struct worker {
	const struct worker_args *args;
	struct event_base	*base;
	struct chan		*master;
	struct chan		*keyholder;
	int			 draining;
	char			 name[48];
};

static struct worker w;

static void
worker_log_sink(int priority, const char *line)
{
	uint8_t buf[sizeof(struct msg_log) + 2048];
	struct msg_log ml;
	size_t n = strlen(line);

	if (w.master == NULL || chan_dead(w.master)) {
		(void)dprintf(STDERR_FILENO, "%s\n", line);
		return;
	}
	if (n > sizeof(buf) - sizeof(ml))
		n = sizeof(buf) - sizeof(ml);
	ml.priority = priority;
	memcpy(buf, &ml, sizeof(ml));
	memcpy(buf + sizeof(ml), line, n);
	(void)chan_send(w.master, MSG_LOG, 0, 0, -1, buf, sizeof(ml) + n);
}

static void __attribute__((__noreturn__))
worker_exit(int status)
{
	if (w.master != NULL) {
		records_flush();
		chan_flush(w.master);
	}
	exit(status);
}

static void
worker_idle(void)
{
	log_debug("drained, exiting");
	worker_exit(0);
}

static int
worker_keyholder_dispatch(struct chan *c, struct msg *m, void *arg)
{
	switch (m->hdr.type) {
	case MSG_KH_PONG:
		log_debug("keyholder channel up");
		return 0;
	case MSG_KH_RESOLVED:
		return tcache_resolved(m);
	case MSG_KH_CERT:
		return certs_answer(m);
	case MSG_KH_EXHAUSTED:
		tcache_exhausted((const struct msg_kh_ratelimit *)(const void *)
		    m->data);
		return 0;
	case MSG_KH_REVOKE:
		tcache_revoke(((const struct msg_kh_revoke *)(const void *)
		    m->data)->hash);
		server_revoke(((const struct msg_kh_revoke *)(const void *)
		    m->data)->hash);
		chan_send(c, MSG_KH_REVOKE_ACK, w.args->id, m->hdr.reqid, -1,
		    NULL, 0);
		return 0;
	default:
		return -1;
	}
}

static void
worker_keyholder_closed(struct chan *c, void *arg)
{
	if (w.keyholder == c) {
		w.keyholder = NULL;
		tcache_set_keyholder(NULL);
		certs_set_keyholder(NULL);
	}
	log_debug("keyholder channel closed");
}

static void
worker_stats(uint32_t reqid)
{
	struct msg_stats st;

	memset(&st, 0, sizeof(st));
	st.requests = server_requests();
	st.connections = server_connections();
	st.draining = w.draining;
	chan_send(w.master, MSG_STATS, w.args->id, reqid, -1, &st,
	    sizeof(st));
}

static int
worker_master_dispatch(struct chan *c, struct msg *m, void *arg)
{
	char *text;

	switch (m->hdr.type) {
	case MSG_STOP:
		if (!w.draining) {
			w.draining = 1;
			log_debug("draining %u connections",
			    server_connections());
			server_drain(worker_idle);
		}
		return 0;
	case MSG_AUDIT_FAILING:
		request_audit_failing();
		return 0;
	case MSG_RESOLVED:
		return tunnel_resolved(m);
	case MSG_STATS_REQ:
		worker_stats(m->hdr.reqid);
		return 0;
	case MSG_METRICS_REQ:
		if ((text = metrics_json()) != NULL) {
			chan_send(w.master, MSG_METRICS, w.args->id,
			    m->hdr.reqid, -1, text, strlen(text));
			free(text);
		}
		return 0;
	case MSG_KEYHOLDER_FD:
		if (w.keyholder != NULL)
			chan_free(w.keyholder);
		w.keyholder = chan_new(w.base, m->fd, "keyholder",
		    worker_keyholder_dispatch, worker_keyholder_closed, NULL);
		tcache_set_keyholder(w.keyholder);
		certs_set_keyholder(w.keyholder);
		chan_send(w.keyholder, MSG_KH_PING, w.args->id, 0, -1, NULL,
		    0);
		return 0;
	default:
		if (m->fd != -1)
			close(m->fd);
		return -1;
	}
}

static void
worker_master_closed(struct chan *c, void *arg)
{
	/* The master is gone: no orphan serves on. */
	w.master = NULL;
	exit(0);
}

/* TLS listeners' keys are usually root's alone: load them now. */
static void
worker_tls(const struct worker_args *args)
{
	struct worker_listener *l;
	char err[512];
	int i;

	for (i = 0; i < args->nlisteners; i++) {
		l = &args->listeners[i];
		if (!l->tls)
			continue;
		if ((l->tls_ctx = tls_server_ctx(l->tls_cert, l->tls_key, err,
		    sizeof(err))) == NULL) {
			log_warnx("%s", err);
			worker_exit(EX_CONFIG);
		}
	}
}

/*
 * With epoll's change list, the interest changes libcurl asks for in one
 * turn of the loop (a connection's socket removed and added again,
 * reading swapped for writing) reach the kernel as one epoll_ctl(2), or
 * none, at the turn's end.
 */
static struct event_base *
worker_event_base(void)
{
	struct event_config *cfg;
	struct event_base *base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	(void)event_config_set_flag(cfg,
	    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

void
worker_main(const struct worker_args *args)
{
	memset(&w, 0, sizeof(w));
	w.args = args;
	(void)snprintf(w.name, sizeof(w.name), "worker %d.%d",
	    args->generation, args->slot);
	log_procname(w.name);
	priv_nodump();
	if ((w.base = worker_event_base()) == NULL)
		fatalx("event_base_new");
	w.master = chan_new(w.base, args->chan_fd, "master",
	    worker_master_dispatch, worker_master_closed, NULL);
	log_set_sink(worker_log_sink);
	/* Files and names while we still can: CA bundle, upstream hosts;
	 * and jansson seeds its hash tables from /dev/urandom on first use. */
	json_object_seed(0);
	upstream_init(w.base, args->conf);
	(void)sites_init(args->conf);
	worker_tls(args);
	priv_drop(args->acct, args->acct->name != NULL ?
	    args->conf->chroot : NULL);
	tcache_init(w.base, args->conf);
	certs_init(w.base);
	request_init(args->conf, w.master, w.base);
	tunnel_init(w.base, w.master);
	server_init(w.base, args->conf, args->listeners, args->nlisteners);
	sandbox_enter(SANDBOX_WORKER);
	chan_send(w.master, MSG_WORKER_READY, args->id, 0, -1, NULL, 0);
	log_debug("ready, %s sandbox closed, uid %u", sandbox_name(),
	    (unsigned int)getuid());
	event_base_dispatch(w.base);
	worker_exit(0);
}
