/*
 * server.c: see server.h.
 */
#include <sys/types.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "server.h"
#include "util.h"

#define SERVER_ACCEPT_BURST	32
#define SERVER_EPOLL_EVENTS	16

struct conn {
	struct bufferevent	*bev;
	int			 answered;
	int			 lingering;	/* answer sent, discarding */
	size_t			 discarded;
};

static struct event_base	*srv_base;
static struct event		*srv_accept_ev[SERVER_MAX_LISTENERS];
static int			 srv_epfd = -1;
static const struct worker_listener *srv_listeners;
static int			 srv_nlisteners;
static uint32_t			 srv_connections;
static uint64_t			 srv_requests;
static void			(*srv_idle)(void);

static const char srv_not_found[] =
    "{\"message\":\"Not Found\","
    "\"documentation_url\":\"https://docs.github.com/rest\"}\n";
static const char srv_too_large[] =
    "{\"message\":\"Request header fields too large\","
    "\"documentation_url\":\"https://docs.github.com/rest\"}\n";
static const char srv_timeout[] =
    "{\"message\":\"Request timeout\","
    "\"documentation_url\":\"https://docs.github.com/rest\"}\n";

static void	server_accept_cb(int, short, void *);
static void	server_accept_on(int);

uint32_t
server_connections(void)
{
	return srv_connections;
}

uint64_t
server_requests(void)
{
	return srv_requests;
}

#ifdef __linux__
/*
 * One epoll set of our own holds the listening sockets with
 * EPOLLEXCLUSIVE; libevent watches that set.
 */
static void
server_listen(struct event_base *base)
{
	struct epoll_event ev;
	int i;

	if ((srv_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	for (i = 0; i < srv_nlisteners; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(srv_epfd, EPOLL_CTL_ADD, srv_listeners[i].fd,
		    &ev) == -1 && errno == EINVAL) {
			/* Kernels before 4.5: every worker wakes. */
			ev.events = EPOLLIN;
			if (epoll_ctl(srv_epfd, EPOLL_CTL_ADD,
			    srv_listeners[i].fd, &ev) == -1)
				fatal("epoll_ctl");
		}
	}
	srv_accept_ev[0] = event_new(base, srv_epfd, EV_READ | EV_PERSIST,
	    server_accept_cb, NULL);
	if (srv_accept_ev[0] == NULL || event_add(srv_accept_ev[0], NULL) == -1)
		fatalx("%s: event", __func__);
}

static void
server_accept_cb(int fd, short ev, void *arg)
{
	struct epoll_event evs[SERVER_EPOLL_EVENTS];
	int i, n;

	n = epoll_wait(srv_epfd, evs, SERVER_EPOLL_EVENTS, 0);
	for (i = 0; i < n; i++)
		if (evs[i].data.u32 < (uint32_t)srv_nlisteners)
			server_accept_on(srv_listeners[evs[i].data.u32].fd);
}
#else
/* Elsewhere each listening socket is an event of its own. */
static void
server_listen(struct event_base *base)
{
	int i;

	for (i = 0; i < srv_nlisteners && i < SERVER_MAX_LISTENERS; i++) {
		srv_accept_ev[i] = event_new(base, srv_listeners[i].fd,
		    EV_READ | EV_PERSIST, server_accept_cb, NULL);
		if (srv_accept_ev[i] == NULL ||
		    event_add(srv_accept_ev[i], NULL) == -1)
			fatalx("%s: event", __func__);
	}
}

static void
server_accept_cb(int fd, short ev, void *arg)
{
	server_accept_on(fd);
}
#endif

void
server_init(struct event_base *base, const struct config *conf,
    const struct worker_listener *l, int n)
{
	srv_base = base;
	srv_listeners = l;
	srv_nlisteners = n;
	server_listen(base);
}

static void
server_check_idle(void)
{
	if (srv_idle != NULL && srv_connections == 0)
		srv_idle();
}

void
server_drain(void (*idle)(void))
{
	int i;

	srv_idle = idle;
	if (srv_nlisteners > 0) {
		for (i = 0; i < SERVER_MAX_LISTENERS; i++) {
			if (srv_accept_ev[i] != NULL)
				event_free(srv_accept_ev[i]);
			srv_accept_ev[i] = NULL;
		}
		if (srv_epfd != -1)
			close(srv_epfd);
		srv_epfd = -1;
		for (i = 0; i < srv_nlisteners; i++)
			close(srv_listeners[i].fd);
		srv_nlisteners = 0;
	}
	server_check_idle();
}

static void
conn_free(struct conn *c)
{
	bufferevent_free(c->bev);
	free(c);
	srv_connections--;
	server_check_idle();
}

static void
conn_respond(struct conn *c, int status, const char *reason,
    const char *body)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->answered = 1;
	srv_requests++;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "\r\n%s", status, reason, strlen(body), body);
	bufferevent_disable(c->bev, EV_READ);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;

	if (c->lingering) {
		c->discarded += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->discarded > SERVER_LINGER_MAX)
			conn_free(c);
		return;
	}
	if (c->answered)
		return;
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos != -1 && end.pos + 4 <= SERVER_HEAD_MAX)
		conn_respond(c, 404, "Not Found", srv_not_found);
	else if (evbuffer_get_length(in) > SERVER_HEAD_MAX)
		conn_respond(c, 431, "Request Header Fields Too Large",
		    srv_too_large);
	else
		return;
	evbuffer_drain(in, evbuffer_get_length(in));
}

/*
 * The answer is out.  Closing now, with request bytes still unread, would
 * make the kernel send a reset that can destroy the answer on its way;
 * so close our side and read what the client still sends, for a bounded
 * time and amount, before letting go (a "lingering close").
 */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct timeval tv = { SERVER_LINGER_TIMEOUT, 0 };

	if (!c->answered || c->lingering)
		return;
	c->lingering = 1;
	(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_enable(bev, EV_READ);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    !c->answered && !c->lingering) {
		conn_respond(c, 408, "Request Timeout", srv_timeout);
		bufferevent_set_timeouts(bev, NULL, NULL);
		return;
	}
	conn_free(c);
}

static void
server_new_conn(int fd)
{
	struct timeval tv = { SERVER_HEAD_TIMEOUT, 0 };
	struct conn *c;
	int on = 1;

	if (srv_connections >= SERVER_MAX_CONNECTIONS) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c = xcalloc(1, sizeof(*c));
	if ((c->bev = bufferevent_socket_new(srv_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	srv_connections++;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
server_accept_on(int lfd)
{
	int i, fd;

	for (i = 0; i < SERVER_ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				log_warn("accept");
			return;
		}
		server_new_conn(fd);
	}
}

