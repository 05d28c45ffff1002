/*
 * tunnel.c: see tunnel.h.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "conn.h"
#include "log.h"
#include "msg.h"
#include "tunnel.h"
#include "util.h"

#define TUNNEL_HIGH	(256 * 1024)	/* stop reading the other side */

struct tunnel {
	struct conn		*c;
	struct bufferevent	*up;
	struct event		*deadline;	/* the tunnel's whole life */
	struct event		*idle;		/* silence both ways */
	int			 idle_secs;
	int			 closing;	/* one side is gone */
	uint64_t		 to_up;
	uint64_t		 to_client;
};

struct resolve_wait {
	TAILQ_ENTRY(resolve_wait) entry;
	uint32_t		 reqid;
	tunnel_resolved_cb	 cb;
	void			*arg;
};

static TAILQ_HEAD(, resolve_wait) waits = TAILQ_HEAD_INITIALIZER(waits);
static struct chan		*tn_master;
static struct event_base	*tn_base;
static uint32_t			 tn_reqid;
static uint64_t			 tn_opened, tn_bytes;

void
tunnel_init(struct event_base *base, struct chan *master)
{
	tn_base = base;
	tn_master = master;
}

struct resolve_wait *
tunnel_resolve(const char *host, tunnel_resolved_cb cb, void *arg)
{
	struct resolve_wait *w;

	w = xcalloc(1, sizeof(*w));
	w->reqid = ++tn_reqid;
	w->cb = cb;
	w->arg = arg;
	if (tn_master == NULL || chan_send(tn_master, MSG_RESOLVE, 0,
	    w->reqid, -1, host, strlen(host)) == -1) {
		free(w);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&waits, w, entry);
	return w;
}

void
tunnel_resolve_cancel(struct resolve_wait *w)
{
	TAILQ_REMOVE(&waits, w, entry);
	free(w);
}

int
tunnel_resolved(const struct msg *m)
{
	struct msg_resolved r;
	struct resolve_wait *w;

	memcpy(&r, m->data, sizeof(r));
	if (r.status == 0 && (r.addrlen < sizeof(struct sockaddr) ||
	    r.addrlen > sizeof(r.addr)))
		return -1;
	TAILQ_FOREACH(w, &waits, entry)
		if (w->reqid == m->hdr.reqid)
			break;
	if (w == NULL)
		return 0;	/* its request went away */
	TAILQ_REMOVE(&waits, w, entry);
	w->cb(r.status, r.status == 0 ? (const struct sockaddr *)r.addr :
	    NULL, r.addrlen, w->arg);
	free(w);
	return 0;
}

/* --- the copying --- */

static struct bufferevent *
tunnel_other(struct tunnel *t, struct bufferevent *bev)
{
	return bev == t->up ? t->c->bev : t->up;
}

static void
tunnel_touch(struct tunnel *t)
{
	struct timeval tv = { t->idle_secs, 0 };

	evtimer_add(t->idle, &tv);
}

static void
tunnel_read_cb(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;
	struct bufferevent *to = tunnel_other(t, bev);
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	if (bev == t->up)
		t->to_client += n;
	else
		t->to_up += n;
	tn_bytes += n;
	evbuffer_add_buffer(bufferevent_get_output(to), in);
	tunnel_touch(t);
	if (evbuffer_get_length(bufferevent_get_output(to)) > TUNNEL_HIGH)
		bufferevent_disable(bev, EV_READ);
}

static void
tunnel_write_cb(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;

	if (t->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_close(t->c);
		return;
	}
	/* Drained below the low mark: let the other side read again. */
	bufferevent_enable(tunnel_other(t, bev), EV_READ);
}

/* One side closed or failed: the other gets what is queued, then goes. */
static void
tunnel_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tunnel *t = arg;
	struct bufferevent *to = tunnel_other(t, bev);

	if (t->closing || (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0) {
		if (t->closing)
			conn_close(t->c);
		return;
	}
	t->closing = 1;
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		evbuffer_add_buffer(bufferevent_get_output(to),
		    bufferevent_get_input(bev));
	bufferevent_disable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(to)) == 0) {
		conn_close(t->c);
		return;
	}
	bufferevent_setwatermark(to, EV_WRITE, 0, 0);
}

static void
tunnel_timeout_cb(int fd, short ev, void *arg)
{
	struct tunnel *t = arg;

	log_debug("tunnel from %s closed: %s", t->c->remote_ip,
	    arg == NULL ? "" : "idle, or its time is up");
	conn_close(t->c);
}

void
tunnel_start(struct conn *c, struct bufferevent *up, int lifetime,
    int idle)
{
	struct timeval tv = { lifetime, 0 };
	struct tunnel *t;

	t = xcalloc(1, sizeof(*t));
	t->c = c;
	t->up = up;
	t->idle_secs = idle;
	c->tunnel = t;
	t->deadline = evtimer_new(tn_base, tunnel_timeout_cb, t);
	t->idle = event_new(tn_base, -1, EV_TIMEOUT, tunnel_timeout_cb, t);
	evtimer_add(t->deadline, &tv);
	tunnel_touch(t);
	tn_opened++;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_set_timeouts(up, NULL, NULL);
	bufferevent_setcb(c->bev, tunnel_read_cb, tunnel_write_cb,
	    tunnel_event_cb, t);
	bufferevent_setcb(up, tunnel_read_cb, tunnel_write_cb,
	    tunnel_event_cb, t);
	bufferevent_setwatermark(c->bev, EV_WRITE, TUNNEL_HIGH / 4, 0);
	bufferevent_setwatermark(up, EV_WRITE, TUNNEL_HIGH / 4, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	bufferevent_enable(up, EV_READ | EV_WRITE);
	/* Bytes the client sent after its CONNECT go on at once. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		tunnel_read_cb(c->bev, t);
}

void
tunnel_free(struct tunnel *t)
{
	log_debug("tunnel from %s: %llu bytes up, %llu down",
	    t->c->remote_ip, (unsigned long long)t->to_up,
	    (unsigned long long)t->to_client);
	event_free(t->deadline);
	event_free(t->idle);
	bufferevent_free(t->up);
	free(t);
}

void
tunnel_counts(uint64_t *opened, uint64_t *bytes)
{
	*opened = tn_opened;
	*bytes = tn_bytes;
}
