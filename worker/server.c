/*
 * server.c: see server.h.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "compat.h"
#include "conn.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "token.h"
#include "tunnel.h"
#include "util.h"

#define SERVER_ACCEPT_BURST	32
#define SERVER_EPOLL_EVENTS	16


static struct event_base	*srv_base;
static struct event		*srv_trim_ev;	/* memory back to the system */
static uint32_t			 srv_closed;	/* since the last trim */
static const struct config	*srv_conf;
static struct event		*srv_accept_ev[SERVER_MAX_LISTENERS];
static int			 srv_epfd = -1;
static const struct worker_listener *srv_listeners;
static int			 srv_nlisteners;
static uint32_t			 srv_connections;
static uint64_t			 srv_requests;
static void			(*srv_idle)(void);
static int			 srv_draining;
static TAILQ_HEAD(, conn)	 srv_conns = TAILQ_HEAD_INITIALIZER(srv_conns);


static void	server_accept_cb(int, short, void *);
static void	server_close_idle(void);
static void	server_trim_later(void);
static void	server_trim_cb(int, short, void *);
static void	server_accept_on(const struct worker_listener *);

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
			server_accept_on(&srv_listeners[evs[i].data.u32]);
}
#else
/* Elsewhere each listening socket is an event of its own. */
static void
server_listen(struct event_base *base)
{
	int i;

	for (i = 0; i < srv_nlisteners && i < SERVER_MAX_LISTENERS; i++) {
		srv_accept_ev[i] = event_new(base, srv_listeners[i].fd,
		    EV_READ | EV_PERSIST, server_accept_cb,
		    (void *)&srv_listeners[i]);
		if (srv_accept_ev[i] == NULL ||
		    event_add(srv_accept_ev[i], NULL) == -1)
			fatalx("%s: event", __func__);
	}
}

static void
server_accept_cb(int fd, short ev, void *arg)
{
	server_accept_on(arg);
}
#endif

void
server_init(struct event_base *base, const struct config *conf,
    const struct worker_listener *l, int n)
{
	srv_base = base;
	srv_trim_ev = evtimer_new(base, server_trim_cb, NULL);
	srv_conf = conf;
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
	srv_draining = 1;
	server_close_idle();
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

static const struct {
	int		 status;
	const char	*reason;
} reasons[] = {
	{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" },
	{ 202, "Accepted" }, { 204, "No Content" }, { 206, "Partial Content" },
	{ 301, "Moved Permanently" }, { 302, "Found" }, { 304, "Not Modified" },
	{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
	{ 413, "Content Too Large" }, { 414, "URI Too Long" },
	{ 417, "Expectation Failed" }, { 422, "Unprocessable Entity" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
	{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
};

const char *
http_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

static void
conn_free(struct conn *c)
{
	TAILQ_REMOVE(&srv_conns, c, srv_entry);
	if (c->req != NULL)
		request_abort(c->req);
	if (c->tunnel != NULL)
		tunnel_free(c->tunnel);
	event_free(c->ev_next);
	bufferevent_free(c->bev);
	if (c->proxy_token != NULL) {
		sodium_memzero(c->proxy_token, c->proxy_token_len);
		free(c->proxy_token);
	}
	free(c->tunnel_host);
	free(c);
	srv_connections--;
	server_trim_later();
	server_check_idle();
}

/*
 * No more requests on this connection.  Closing now, with request bytes
 * unread, would make the kernel send a reset that can destroy the answer
 * on its way; so close our side once the answer is out and read what the
 * client still sends, for a bounded time and amount, before letting go
 * (a "lingering close").
 */
/*
 * When many connections have closed (SERVER_TRIM_DROP, or a few and
 * none is left), the memory they held goes back to the system a second
 * later, once the burst of closes is over: malloc(3) would otherwise
 * keep it.  At most once a second.
 */
static void
server_trim_cb(int fd, short ev, void *arg)
{
	(void)malloc_trim(0);
	srv_closed = 0;
}

static void
server_trim_later(void)
{
	struct timeval tv = { 1, 0 };

	srv_closed++;
	if (srv_trim_ev == NULL || evtimer_pending(srv_trim_ev, NULL) ||
	    (srv_closed < SERVER_TRIM_DROP &&
	    (srv_connections > 0 || srv_closed < 16)))
		return;
	evtimer_add(srv_trim_ev, &tv);
}

static void
conn_linger(struct conn *c)
{
	struct timeval tv = { SERVER_LINGER_TIMEOUT, 0 };

	c->lingering = 1;
	/* TLS says goodbye with close_notify when the connection is freed. */
	if (!c->tls)
		(void)shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
}

static size_t
conn_json_body(struct evbuffer *out, const char *message, int head_only)
{
	json_t *o;
	char *s;
	size_t n;

	o = json_pack("{s:s, s:s}", "message", message, "documentation_url",
	    "https://docs.github.com/rest");
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	n = s != NULL ? strlen(s) + 1 : 0;
	evbuffer_add_printf(out, "Content-Type: application/json; "
	    "charset=utf-8\r\nContent-Length: %zu\r\n\r\n", n);
	if (!head_only && s != NULL)
		evbuffer_add_printf(out, "%s\n", s);
	free(s);
	return head_only ? 0 : n;
}

size_t
conn_error(struct conn *c, int status, const char *message,
    const char *extra_headers, int head_only)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n%s%s", status,
	    http_reason(status), extra_headers ? extra_headers : "",
	    c->close_after ? "Connection: close\r\n" : "");
	return conn_json_body(out, message, head_only);
}

static void	conn_next(struct conn *);

void
conn_close(struct conn *c)
{
	conn_free(c);
}

void
server_revoke(const uint8_t *hash)
{
	uint8_t h[TOKEN_HASH_LEN];
	struct conn *c, *tmp;

	TAILQ_FOREACH_SAFE(c, &srv_conns, srv_entry, tmp) {
		if (c->proxy_token == NULL)
			continue;
		token_hash(c->proxy_token, c->proxy_token_len, h);
		if (memcmp(h, hash, sizeof(h)) == 0) {
			log_debug("%s: its proxy token was revoked: closing",
			    c->remote_ip);
			conn_free(c);
		}
	}
}

void
conn_request_done(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->req = NULL;
	c->nrequests++;
	srv_requests++;
	if (srv_draining)
		c->close_after = 1;
	if (c->close_after) {
		bufferevent_disable(c->bev, EV_READ);
		if (evbuffer_get_length(out) == 0)
			conn_linger(c);
		else
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		return;
	}
	/*
	 * The next request (pipelined bytes may be waiting) starts on the
	 * next turn of the loop, not from inside this one's end: a client
	 * pipelining many refused requests must not grow our stack.
	 */
	event_active(c->ev_next, 0, 0);
}

static void
conn_next_cb(int fd, short ev, void *arg)
{
	struct conn *c = arg;

	if (c->req == NULL && !c->lingering)
		conn_next(c);
}

/* Answer a refused head and close: what follows cannot be framed. */
static void
conn_refuse(struct conn *c, int status, const char *why)
{
	c->close_after = 1;
	request_refused(c, status, conn_error(c, status, why, NULL, 0));
	conn_request_done(c);
}

/*
 * The whole head must arrive within "header timeout" of its first byte
 * (of the accept, for a connection's first request), however it is
 * spread out: a client cannot hold a connection by trickling it.
 */
static void
conn_head_deadline(struct conn *c)
{
	uint64_t limit = (uint64_t)srv_conf->timeout_header * 1000;
	uint64_t spent = monotime_ms() - c->head_t0;
	struct timeval tv;

	if (spent >= limit) {
		conn_refuse(c, 408, "the request head did not arrive in time");
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		return;
	}
	tv.tv_sec = (time_t)((limit - spent) / 1000);
	tv.tv_usec = (suseconds_t)((limit - spent) % 1000 * 1000);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/* Parse what has arrived; start the request once its head is in. */
static void
conn_next(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct timeval tv = { srv_conf->timeout_header, 0 };
	struct http_parser p;
	struct http_error err;
	size_t len = evbuffer_get_length(in);
	const char *buf;
	char *head;
	int r;

	if (len == 0) {
		c->head_t0 = 0;
		bufferevent_set_timeouts(c->bev, c->nrequests ? &(struct
		    timeval){ srv_conf->timeout_idle, 0 } : &tv, &tv);
		bufferevent_enable(c->bev, EV_READ);
		return;
	}
	if (c->head_t0 == 0)
		c->head_t0 = c->nrequests ? monotime_ms() : c->accepted;
	if (len > HTTP_HEAD_MAX)
		len = HTTP_HEAD_MAX;
	buf = (const char *)evbuffer_pullup(in, (ssize_t)len);
	http_parser_init(&p);
	if ((r = http_parse_head(&p, buf, len, &err)) == HTTP_INCOMPLETE) {
		conn_head_deadline(c);
		return;
	}
	if (r == HTTP_ERROR) {
		conn_refuse(c, err.status, err.reason);
		return;
	}
	head = xcalloc(1, p.head.len);
	memcpy(head, buf, p.head.len);
	evbuffer_drain(in, p.head.len);
	bufferevent_set_timeouts(c->bev, &(struct timeval){
	    srv_conf->timeout_body, 0 }, &(struct timeval){
	    srv_conf->timeout_send, 0 });
	(void)request_start(c, head, p.head.len);	/* sets c->req */
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->lingering) {
		c->discarded += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->discarded > SERVER_LINGER_MAX)
			conn_free(c);
		return;
	}
	if (c->req != NULL)
		request_readable(c->req);
	else
		conn_next(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->req != NULL) {
		request_writable(c->req);
		return;
	}
	/*
	 * libevent also calls this once the socket is first writable, with
	 * nothing written: a connection still waiting for its first request
	 * (close_after set by a drain) must not be closed then.
	 */
	if (c->close_after && !c->lingering && c->nrequests > 0 &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_linger(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned long e;

	if ((what & BEV_EVENT_ERROR) && c->tls &&
	    (e = bufferevent_get_openssl_error(bev)) != 0)
		log_debug("%s: tls: %s", c->remote_ip,
		    ERR_reason_error_string(e));
	if (what == BEV_EVENT_CONNECTED)
		return;		/* the TLS handshake is done */

	/*
	 * A client that sent its whole request has nothing more to say
	 * while the answer comes: silence then is no fault, however long
	 * GitHub takes (the upstream's own timeouts apply).
	 */
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->req != NULL && request_body_read(c->req)) {
		bufferevent_set_timeouts(bev, NULL, &(struct timeval){
		    srv_conf->timeout_send, 0 });
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->req == NULL && !c->lingering &&
	    evbuffer_get_length(in) > 0) {
		conn_refuse(c, 408, "the request head did not arrive in time");
		bufferevent_set_timeouts(bev, NULL, NULL);
		return;
	}
	conn_free(c);
}

/* The connection's callbacks, marks and the head's timeout on c->bev. */
static void
conn_watch(struct conn *c)
{
	struct timeval tv = { srv_conf->timeout_header, 0 };

	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_IN_HIGH);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUT_LOW, 0);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/*
 * Bytes of an answer: on a plain connection with nothing waiting before
 * them, written to the socket now; what it does not take (and anything
 * on TLS) goes through libevent.  This spares two epoll_ctl a request:
 * the write event added for the answer and removed once it is out.
 */
void
conn_send(struct conn *c, struct evbuffer *b)
{
	if (!c->tls && evbuffer_get_length(bufferevent_get_output(c->bev)) ==
	    0)
		(void)evbuffer_write(b, bufferevent_getfd(c->bev));
	if (evbuffer_get_length(b) > 0)
		bufferevent_write_buffer(c->bev, b);
}

int
conn_start_tls(struct conn *c, SSL *ssl)
{
	struct bufferevent *tls;

	if ((tls = bufferevent_openssl_filter_new(srv_base, c->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	c->bev = tls;
	c->tls = 1;
	conn_watch(c);
	return 0;
}

static void
server_new_conn(int fd, const struct worker_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct conn *c;
	SSL *ssl = NULL;
	int on = 1;

	if (srv_connections >= SERVER_MAX_CONNECTIONS || srv_draining) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c = xcalloc(1, sizeof(*c));
	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0)
		(void)getnameinfo((struct sockaddr *)&ss, sslen, c->remote_ip,
		    sizeof(c->remote_ip), NULL, 0, NI_NUMERICHOST);
	c->remote_port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	c->tls = l->tls;
	c->proxy = l->proxy;
	if (l->tls_ctx != NULL) {
		if ((ssl = SSL_new(l->tls_ctx)) != NULL)
			c->bev = bufferevent_openssl_socket_new(srv_base, fd,
			    ssl, BUFFEREVENT_SSL_ACCEPTING,
			    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		else if (ssl != NULL)
			SSL_free(ssl);
	} else
		c->bev = bufferevent_socket_new(srv_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->accepted = monotime_ms();
	srv_connections++;
	TAILQ_INSERT_TAIL(&srv_conns, c, srv_entry);
	c->ev_next = event_new(srv_base, -1, 0, conn_next_cb, c);
	conn_watch(c);
}
static void
server_accept_on(const struct worker_listener *l)
{
	int i, fd;

	for (i = 0; i < SERVER_ACCEPT_BURST; i++) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				log_warn("accept");
			return;
		}
		server_new_conn(fd, l);
	}
}

/*
 * Draining: connections between requests go now, the others after their
 * answer.  "Between requests" is judged by the kernel too: bytes already
 * in the socket are a request the client has sent, which is read and
 * answered (with Connection: close).  An idle connection is shut for
 * writing and lingers, so that a request crossing our FIN is read and
 * dropped rather than reset: the client sees the connection close before
 * any answer, which it knows to retry.
 */
static void
server_close_idle(void)
{
	struct conn *c, *tmp;
	int pending;

	TAILQ_FOREACH_SAFE(c, &srv_conns, srv_entry, tmp) {
		c->close_after = 1;
		if (c->req != NULL || c->lingering || c->nrequests == 0 ||
		    c->tunnel != NULL ||
		    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			continue;
		/* An answer still being written finishes first. */
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		else if (ioctl(bufferevent_getfd(c->bev), FIONREAD,
		    &pending) == 0 && pending > 0)
			bufferevent_enable(c->bev, EV_READ);
		else
			conn_linger(c);
	}
}
