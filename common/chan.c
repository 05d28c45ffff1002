/*
 * chan.c: see chan.h.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "msg.h"
#include "util.h"

struct chan_out {
	TAILQ_ENTRY(chan_out) entry;
	int		 fd;
	size_t		 len;
	uint8_t		 buf[];
};

struct chan {
	int		 fd;
	char		*peer;
	struct event	*ev_read;
	struct event	*ev_write;
	struct event_base *base;
	TAILQ_HEAD(, chan_out) queue;
	size_t		 queued;
	int		 dead;
	int		 in_dispatch;
	chan_dispatch_fn dispatch;
	chan_closed_fn	 closed;
	void		*arg;
	uint8_t		 rbuf[MSG_MAX_SIZE];
};

static void	chan_read_cb(int, short, void *);
static void	chan_write_cb(int, short, void *);

struct chan *
chan_new(struct event_base *base, int fd, const char *peer,
    chan_dispatch_fn dispatch, chan_closed_fn closed, void *arg)
{
	struct chan *c;

	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->base = base;
	c->peer = xstrdup(peer);
	c->dispatch = dispatch;
	c->closed = closed;
	c->arg = arg;
	TAILQ_INIT(&c->queue);
	if (fd_nonblock(fd) == -1)
		fatal("%s: nonblock", __func__);
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, chan_read_cb, c);
	c->ev_write = event_new(base, fd, EV_WRITE, chan_write_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL)
		fatalx("%s: event_new", __func__);
	event_add(c->ev_read, NULL);
	return c;
}

int
chan_fd(const struct chan *c)
{
	return c->fd;
}

const char *
chan_peer(const struct chan *c)
{
	return c->peer;
}

size_t
chan_queued(const struct chan *c)
{
	return c->queued;
}

int
chan_dead(const struct chan *c)
{
	return c->dead;
}

static void
chan_drop_queue(struct chan *c)
{
	struct chan_out *o;

	while ((o = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, o, entry);
		if (o->fd != -1)
			close(o->fd);
		free(o);
	}
	c->queued = 0;
}

static void
chan_free_cb(int fd, short ev, void *arg)
{
	chan_free(arg);
}

/* Mark dead, stop events, tell the owner (once), free on the next turn. */
static void
chan_kill(struct chan *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	event_del(c->ev_read);
	event_del(c->ev_write);
	chan_drop_queue(c);
	if (c->closed != NULL)
		c->closed(c, c->arg);
	if (event_base_once(c->base, -1, EV_TIMEOUT, chan_free_cb, c,
	    NULL) == -1)
		fatalx("%s: event_base_once", __func__);
}

void
chan_free(struct chan *c)
{
	if (c == NULL)
		return;
	event_free(c->ev_read);
	event_free(c->ev_write);
	chan_drop_queue(c);
	close(c->fd);
	free(c->peer);
	free(c);
}

static int
chan_send_now(struct chan *c, struct chan_out *o)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = o->buf;
	iov.iov_len = o->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (o->fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = sizeof(cmsgbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cm), &o->fd, sizeof(int));
	}
	do {
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	return 1;
}

/* Send queued records until the socket is full. -1 on a dead peer. */
static int
chan_drain(struct chan *c)
{
	struct chan_out *o;
	int r;

	while ((o = TAILQ_FIRST(&c->queue)) != NULL) {
		if ((r = chan_send_now(c, o)) <= 0)
			return r;
		TAILQ_REMOVE(&c->queue, o, entry);
		c->queued -= o->len;
		if (o->fd != -1)
			close(o->fd);
		free(o);
	}
	return 0;
}

int
chan_send(struct chan *c, uint16_t type, uint32_t peerid, uint32_t reqid,
    int fd, const void *data, size_t len)
{
	struct chan_out *o;

	if (c->dead || len > MSG_MAX_PAYLOAD ||
	    c->queued + len + MSG_HDR_SIZE > CHAN_QUEUE_MAX) {
		if (fd != -1)
			close(fd);
		if (c->dead || type == MSG_LOG)
			return -1;
		/* Not the sink's own path: avoid logging through a full queue. */
		chan_kill(c);
		return -1;
	}
	o = xcalloc(1, sizeof(*o) + MSG_HDR_SIZE + len);
	o->fd = fd;
	o->len = msg_encode(o->buf, type, peerid, reqid, fd != -1, data, len);
	TAILQ_INSERT_TAIL(&c->queue, o, entry);
	c->queued += o->len;
	if (chan_drain(c) == -1) {
		chan_kill(c);
		return -1;
	}
	if (!TAILQ_EMPTY(&c->queue))
		event_add(c->ev_write, NULL);
	return 0;
}

void
chan_flush(struct chan *c)
{
	if (!c->dead && chan_drain(c) == -1)
		chan_kill(c);
}

static void
chan_write_cb(int fd, short ev, void *arg)
{
	struct chan *c = arg;

	if (chan_drain(c) == -1) {
		chan_kill(c);
		return;
	}
	if (!TAILQ_EMPTY(&c->queue))
		event_add(c->ev_write, NULL);
}

/* Read and dispatch up to limit records (0: until none is left). */
static void
chan_read(struct chan *c, int limit)
{
	enum msg_error e;
	struct msg m;
	ssize_t n;
	int i, rfd, truncated;

	for (i = 0; (limit == 0 || i < limit) && !c->dead; i++) {
		n = msg_recv_raw(c->fd, c->rbuf, sizeof(c->rbuf), &rfd,
		    &truncated);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			log_warn("channel %s: read", c->peer);
			chan_kill(c);
			return;
		}
		if (n == 0) {
			log_debug("channel %s: closed by peer", c->peer);
			chan_kill(c);
			return;
		}
		e = truncated ? MSG_ERR_TRUNCATED :
		    msg_decode(c->rbuf, (size_t)n, rfd, &m);
		if (e != MSG_OK) {
			if (rfd != -1)
				close(rfd);
			log_warnx("channel %s: malformed message (%s), "
			    "closing", c->peer, msg_strerror(e));
			chan_kill(c);
			return;
		}
		if (c->dispatch(c, &m, c->arg) == -1) {
			log_warnx("channel %s: unexpected %s message, closing",
			    c->peer, msg_type_name(m.hdr.type));
			chan_kill(c);
			return;
		}
	}
}

static void
chan_read_cb(int fd, short ev, void *arg)
{
	chan_read(arg, CHAN_READ_BURST);
}

void
chan_read_all(struct chan *c)
{
	if (!c->dead)
		chan_read(c, 0);
}
