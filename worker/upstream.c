/*
 * upstream.c: see upstream.h.
 *
 * A transfer writes its request head (and what it has of the body) on a
 * kept-alive connection from upconn.c at once, then reads the answer as
 * its connection's event says it can.  Sending and receiving run side
 * by side: an upstream may answer before it has the whole body.  The
 * answer's head is parsed by http_parse_response(), its body framed by
 * Content-Length, chunked coding (http_chunked_decode()) or the end of
 * the connection, and pushed to the caller from a read buffer shared by
 * all transfers; only bytes the caller could not take yet are kept, in
 * the transfer's own buffer.
 *
 * A connection goes back to the pool only when both messages ended
 * cleanly on it with keep-alive and nothing is left over.  A request
 * that finds its reused connection closed before any byte of the answer
 * came, and that has not taken any of its body from the caller, is sent
 * again once on a new connection (a kept-alive connection may be closed
 * by the upstream just as it is reused).
 *
 * Callbacks to the caller come from the event loop or from
 * upstream_resume_recv()/upstream_resume_send(), never from inside
 * upstream_start().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "http.h"
#include "log.h"
#include "upconn.h"
#include "upstream.h"
#include "util.h"

#define UPSTREAM_BUFFER		(64 * 1024)	/* one read, one body pull */

enum resp_state {
	RS_HEAD,
	RS_LENGTH,		/* resp_left bytes */
	RS_CHUNKED,
	RS_CLOSE,		/* to the end of the connection */
	RS_DONE
};

struct upstream_xfer {
	struct upconn		*c;
	struct up_target	 t;
	const struct upstream_ops *ops;
	void			*arg;
	char			*head;		/* the request's; credentials */
	size_t			 headlen;
	size_t			 head_off;	/* written */
	int			 ready;		/* connected */
	struct evbuffer		*out;		/* to write */
	struct evbuffer		*in;		/* read, not yet taken */
	int64_t			 body_len;	/* 0 none, -1 chunked */
	int			 body_eof;	/* all of it pulled */
	int			 pulled;	/* some of it pulled */
	int			 send_done;
	int			 head_request;
	int			 reused;
	int			 retried;
	int			 got_bytes;	/* of the answer */
	enum resp_state		 rstate;
	struct http_resp_parser	 rp;
	struct http_chunked	 chunked;
	size_t			 chunk_held;	/* decoded, not yet taken */
	uint64_t		 resp_left;
	int			 keep;
	struct evbuffer		*resp_headers;
	int			 status;
	int64_t			 content_length;
	long			 ratelimit;	/* X-RateLimit-Remaining */
	int64_t			 ratelimit_reset; /* X-RateLimit-Reset */
	int			 head_sent;
	int			 recv_paused;
	int			 send_paused;
	uint64_t		 started;
	uint64_t		 ttfb;
	uint64_t		 last;		/* the last byte either way */
	struct event		*timer;		/* "upstream timeout" */
	int			 fail_status;	/* 502, 504: failed */
	char			 why[200];
};

static int			 up_stall_s;	/* "upstream timeout" */
static int			 ntransfers;
static struct event_base	*up_base;
static int			 usable[UPSTREAM_MAX];
static char			 rbuf[UPSTREAM_BUFFER];

static void	xfer_conn_cb(struct upconn *, int, void *);
static void	xfer_after(struct upstream_xfer *);

void
upstream_init(struct event_base *base, const struct config *conf)
{
	char what[32];
	int i;

	up_stall_s = conf->timeout_upstream;
	up_base = base;
	upconn_init(base, conf);
	for (i = 0; i < UPSTREAM_MAX; i++) {
		(void)snprintf(what, sizeof(what), "upstream %s",
		    config_upstream_name(i));
		usable[i] = upconn_resolve_url(what, conf->upstream[i]);
	}
}

int
upstream_usable(enum upstream_kind k)
{
	return usable[k];
}

int
upstream_resolve_url(const char *what, const char *url)
{
	return upconn_resolve_url(what, url);
}

long
upstream_ratelimit(const struct upstream_xfer *x)
{
	return x->ratelimit;
}

int64_t
upstream_ratelimit_reset(const struct upstream_xfer *x)
{
	return x->ratelimit_reset;
}

int
upstream_transfers(void)
{
	return ntransfers;
}

uint64_t
upstream_ttfb_ms(const struct upstream_xfer *x)
{
	return x->ttfb;
}

/* A failure, answered from the loop (xfer_after() or the timer). */
static void
xfer_fail(struct upstream_xfer *x, int status, const char *what,
    const char *detail)
{
	if (x->fail_status != 0)
		return;
	x->fail_status = status;
	(void)snprintf(x->why, sizeof(x->why), "%s%s%s", what ? what : "",
	    what ? ": " : "", detail);
}

/* The request head: line, Host, the caller's lines, the framing. */
static int
xfer_build_head(struct upstream_xfer *x, const char *method,
    struct curl_slist *headers)
{
	struct curl_slist *l;
	const char *path = x->t.path[0] ? x->t.path : "/";
	size_t cap, off;
	int n;

	cap = strlen(method) + strlen(path) + strlen(x->t.authority) + 96;
	for (l = headers; l != NULL; l = l->next) {
		if (strpbrk(l->data, "\r\n") != NULL)
			return -1;
		cap += strlen(l->data) + 2;
	}
	x->head = xcalloc(1, cap);
	n = snprintf(x->head, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n", method,
	    path, x->t.authority);
	off = (size_t)n;
	for (l = headers; l != NULL; l = l->next) {
		n = strlen(l->data);
		memcpy(x->head + off, l->data, (size_t)n);
		memcpy(x->head + off + n, "\r\n", 2);
		off += (size_t)n + 2;
	}
	if (x->body_len < 0)
		n = snprintf(x->head + off, cap - off,
		    "Transfer-Encoding: chunked\r\n\r\n");
	else if (x->body_len > 0 || (strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0 && strcmp(method, "DELETE") != 0 &&
	    strcmp(method, "OPTIONS") != 0))
		n = snprintf(x->head + off, cap - off,
		    "Content-Length: %lld\r\n\r\n", (long long)x->body_len);
	else
		n = snprintf(x->head + off, cap - off, "\r\n");
	x->headlen = off + (size_t)n;
	return 0;
}

/* Take more of the request body from the caller, as out has room. */
static void
xfer_pull_body(struct upstream_xfer *x)
{
	char size[24];
	long n;

	while (!x->body_eof && !x->send_paused &&
	    evbuffer_get_length(x->out) < UPSTREAM_BUFFER) {
		n = x->ops->read_body(x->arg, rbuf, sizeof(rbuf));
		if (n == UPSTREAM_BODY_ABORT) {
			xfer_fail(x, 502, NULL, "the request body broke off");
			return;
		}
		if (n < 0) {
			x->send_paused = 1;
			return;
		}
		x->pulled = 1;
		if (n == 0) {
			x->body_eof = 1;
			if (x->body_len < 0)
				evbuffer_add(x->out, "0\r\n\r\n", 5);
			return;
		}
		if (x->body_len < 0) {
			(void)snprintf(size, sizeof(size), "%lx\r\n",
			    (unsigned long)n);
			evbuffer_add(x->out, size, strlen(size));
		}
		evbuffer_add(x->out, rbuf, (size_t)n);
		if (x->body_len < 0)
			evbuffer_add(x->out, "\r\n", 2);
	}
}

/* Was this a reused connection the upstream had closed?  Try again. */
static int
xfer_retry(struct upstream_xfer *x)
{
	const char *why;
	int reused;

	if (!x->reused || x->retried || x->got_bytes || x->pulled)
		return 0;
	x->retried = 1;
	x->ready = 0;
	x->send_done = 0;
	x->head_off = 0;
	upconn_close(x->c);
	x->c = NULL;
	evbuffer_drain(x->out, evbuffer_get_length(x->out));
	if ((x->c = upconn_get(&x->t, 0, xfer_conn_cb, x, &reused, &why)) ==
	    NULL) {
		xfer_fail(x, 502, "connect", why);
		return 1;
	}
	x->reused = 0;
	return 1;
}

static void
xfer_send(struct upstream_xfer *x)
{
	ssize_t n;

	while (!x->send_done && x->fail_status == 0) {
		if (x->body_len != 0)
			xfer_pull_body(x);
		if (x->head_off == x->headlen &&
		    evbuffer_get_length(x->out) == 0) {
			if (x->body_len == 0 || x->body_eof)
				x->send_done = 1;
			return;
		}
		n = upconn_write(x->c, x->head + x->head_off,
		    x->headlen - x->head_off, x->out);
		if (n == UPCONN_AGAIN)
			return;
		if (n == UPCONN_FAIL) {
			if (!xfer_retry(x))
				xfer_fail(x, 502, "sending",
				    upconn_why(x->c));
			return;
		}
		x->last = monotime_ms();
		x->head_off += (size_t)n < x->headlen - x->head_off ?
		    (size_t)n : x->headlen - x->head_off;
		if (x->head_off < x->headlen ||
		    evbuffer_get_length(x->out) > 0)
			return;
		if (x->body_len == 0 || x->body_eof)
			x->send_done = 1;
	}
}

/* Hop-by-hop fields stay behind. */
static int
xfer_hop_by_hop(const struct http_str *name)
{
	static const char *hop[] = { "connection", "keep-alive",
	    "proxy-connection", "transfer-encoding", "te", "trailer",
	    "upgrade", "proxy-authenticate", "proxy-authorization" };
	size_t i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (http_str_ieq(name, hop[i]))
			return 1;
	return 0;
}

static int64_t
xfer_number(const struct http_str *v)
{
	char num[24];

	(void)snprintf(num, sizeof(num), "%.*s", (int)(v->len < 23 ? v->len :
	    23), v->p);
	return strtoll(num, NULL, 10);
}

/*
 * The header lines for the caller, as they came (each with its CRLF),
 * but the hop-by-hop ones: runs of lines copied at once.  end is where
 * the head's empty line starts.
 */
static void
xfer_head_lines(struct upstream_xfer *x, const struct http_response *h,
    const char *end)
{
	const struct http_header *f;
	const char *run = NULL, *next;
	size_t i;

	for (i = 0; i < h->nheaders; i++) {
		f = &h->headers[i];
		next = i + 1 < h->nheaders ? h->headers[i + 1].name.p : end;
		if (http_str_ieq(&f->name, "x-ratelimit-remaining"))
			x->ratelimit = (long)xfer_number(&f->value);
		else if (http_str_ieq(&f->name, "x-ratelimit-reset"))
			x->ratelimit_reset = xfer_number(&f->value);
		if (xfer_hop_by_hop(&f->name)) {
			if (run != NULL)
				evbuffer_add(x->resp_headers, run,
				    (size_t)(f->name.p - run));
			run = NULL;
		} else if (run == NULL)
			run = f->name.p;
		if (next == end && run != NULL)
			evbuffer_add(x->resp_headers, run,
			    (size_t)(end - run));
	}
}

/* A final head: its fields for the caller, and how its body is framed. */
static void
xfer_head(struct upstream_xfer *x, const struct http_response *h,
    const char *buf)
{
	x->status = h->status;
	x->content_length = h->content_length;
	xfer_head_lines(x, h, buf + h->len - 2);
	x->keep = h->keep_alive;
	if (!http_resp_has_body(h, x->head_request))
		x->rstate = RS_DONE;
	else if (h->chunked) {
		x->rstate = RS_CHUNKED;
		http_chunked_init(&x->chunked, HTTP_LENGTH_MAX);
	} else if (h->content_length >= 0) {
		x->resp_left = (uint64_t)h->content_length;
		x->rstate = x->resp_left > 0 ? RS_LENGTH : RS_DONE;
	} else {
		x->rstate = RS_CLOSE;
		x->keep = 0;
	}
	x->head_sent = 1;
	x->ttfb = monotime_ms() - x->started;
	x->ops->on_head(x->arg, x->status, x->resp_headers,
	    x->content_length);
}

/* Body bytes to the caller: 0 taken, -1 paused (they come again). */
static int
xfer_deliver(struct upstream_xfer *x, const char *p, size_t n)
{
	if (x->ops->on_body(x->arg, p, n) == -1) {
		x->recv_paused = 1;
		return -1;
	}
	return 0;
}

static size_t
xfer_parse_head(struct upstream_xfer *x, const char *p, size_t n)
{
	struct http_response h;
	struct http_error err;

	switch (http_parse_response(&x->rp, p, n, &h, &err)) {
	case HTTP_INCOMPLETE:
		return 0;
	case HTTP_ERROR:
		xfer_fail(x, 502, "bad answer", err.reason);
		return 0;
	}
	if (h.status == 101)
		xfer_fail(x, 502, "bad answer", "101 Switching Protocols");
	else if (h.status < 200)
		http_resp_init(&x->rp);	/* 100, 103: the next head */
	else
		xfer_head(x, &h, p);
	return h.len;
}

static size_t
xfer_chunked(struct upstream_xfer *x, const char *p, size_t n)
{
	struct http_str data;
	struct http_error err;
	size_t used;

	if (x->chunk_held > 0) {
		used = x->chunk_held < n ? x->chunk_held : n;
		if (xfer_deliver(x, p, used) == -1)
			return 0;
		x->chunk_held -= used;
		return used;
	}
	switch (http_chunked_decode(&x->chunked, p, n, &used, &data, &err)) {
	case HTTP_DATA:
		if (xfer_deliver(x, data.p, data.len) == -1) {
			x->chunk_held = data.len;
			return used - data.len;
		}
		return used;
	case HTTP_OK:
		x->rstate = RS_DONE;
		return used;
	case HTTP_INCOMPLETE:
		return used;
	default:
		xfer_fail(x, 502, "bad chunked answer", err.reason);
		return 0;
	}
}

/* Take what it can of p[0..n): the bytes used. */
static size_t
xfer_consume(struct upstream_xfer *x, const char *p, size_t n)
{
	size_t used = 0, k = 0;

	while (used < n && x->fail_status == 0 && !x->recv_paused) {
		switch (x->rstate) {
		case RS_HEAD:
			if ((k = xfer_parse_head(x, p + used, n - used)) == 0)
				return used;
			break;
		case RS_LENGTH:
			k = n - used < x->resp_left ? n - used :
			    (size_t)x->resp_left;
			if (xfer_deliver(x, p + used, k) == -1)
				return used;
			if ((x->resp_left -= k) == 0)
				x->rstate = RS_DONE;
			break;
		case RS_CHUNKED:
			if ((k = xfer_chunked(x, p + used, n - used)) == 0)
				return used;
			break;
		case RS_CLOSE:
			k = n - used;
			if (xfer_deliver(x, p + used, k) == -1)
				return used;
			break;
		case RS_DONE:
			x->keep = 0;	/* more than the answer: junk */
			return used;
		}
		used += k;
	}
	return used;
}

/* Bytes read: taken at once when nothing waits before them. */
static void
xfer_take(struct upstream_xfer *x, const char *p, size_t n)
{
	size_t used, len;

	if (evbuffer_get_length(x->in) == 0) {
		used = xfer_consume(x, p, n);
		if (used < n)
			evbuffer_add(x->in, p + used, n - used);
		return;
	}
	if (p != NULL)
		evbuffer_add(x->in, p, n);
	len = evbuffer_get_length(x->in);
	used = xfer_consume(x, (const char *)evbuffer_pullup(x->in, -1), len);
	evbuffer_drain(x->in, used);
}

static void
xfer_eof(struct upstream_xfer *x)
{
	if (x->rstate == RS_CLOSE) {
		x->rstate = RS_DONE;
		return;
	}
	if (xfer_retry(x))
		return;
	xfer_fail(x, 502, NULL, x->rstate == RS_HEAD ? "the upstream closed "
	    "the connection before its answer" : "the upstream closed the "
	    "connection in the middle of its answer");
}

static void
xfer_recv_batch(struct upstream_xfer *x)
{
	ssize_t n;

	if (evbuffer_get_length(x->in) > 0)
		xfer_take(x, NULL, 0);
	while (!x->recv_paused && x->rstate != RS_DONE &&
	    x->fail_status == 0) {
		n = upconn_read(x->c, rbuf, sizeof(rbuf));
		if (n == UPCONN_AGAIN)
			return;
		if (n == UPCONN_FAIL) {
			if (!xfer_retry(x))
				xfer_fail(x, 502, "reading",
				    upconn_why(x->c));
			return;
		}
		if (n == 0) {
			xfer_eof(x);
			return;
		}
		x->got_bytes = 1;
		x->last = monotime_ms();
		xfer_take(x, rbuf, (size_t)n);
		/* Level-triggered: a short read leaves nothing behind. */
		if ((size_t)n < sizeof(rbuf) && !upconn_pending(x->c))
			return;
	}
}

static void
xfer_recv(struct upstream_xfer *x)
{
	xfer_recv_batch(x);
	if (x->head_sent && x->ops->on_flush != NULL)
		x->ops->on_flush(x->arg);
}

static void
xfer_free(struct upstream_xfer *x)
{
	if (x->c != NULL)
		upconn_close(x->c);
	event_free(x->timer);
	if (x->head != NULL) {
		sodium_memzero(x->head, x->headlen);
		free(x->head);
	}
	evbuffer_free(x->out);
	evbuffer_free(x->in);
	evbuffer_free(x->resp_headers);
	free(x);
	ntransfers--;
}

static void
xfer_finish(struct upstream_xfer *x)
{
	const struct upstream_ops *ops = x->ops;
	void *arg = x->arg;
	char why[sizeof(x->why)];
	int status = x->fail_status, ok;

	ok = status == 0 && x->rstate == RS_DONE;
	if (ok && x->keep && x->send_done && evbuffer_get_length(x->in) == 0) {
		upconn_put(x->c);
		x->c = NULL;
	}
	if (!ok && status == 0)
		status = 502;
	(void)snprintf(why, sizeof(why), "%s", ok ? "" : x->why[0] ? x->why :
	    "no response head");
	xfer_free(x);
	ops->on_done(arg, ok, status, why);
}

static void
xfer_watch(struct upstream_xfer *x)
{
	int what = 0;

	if (x->c == NULL || !x->ready)
		return;
	if (!x->recv_paused)
		what |= UPCONN_READ;
	if (!x->send_done && (x->head_off < x->headlen ||
	    evbuffer_get_length(x->out) > 0))
		what |= UPCONN_WRITE;
	upconn_watch(x->c, what);
}

/* The end of every entry from the loop: finished, or what to wait for. */
static void
xfer_after(struct upstream_xfer *x)
{
	if (x->fail_status != 0 || x->rstate == RS_DONE)
		xfer_finish(x);
	else
		xfer_watch(x);
}

static void
xfer_ready(struct upstream_xfer *x)
{
	x->ready = 1;
	xfer_send(x);
}

static void
xfer_conn_cb(struct upconn *c, int what, void *arg)
{
	struct upstream_xfer *x = arg;

	if (what & UPCONN_FAILED) {
		xfer_fail(x, 502, NULL, upconn_why(c));
		upconn_close(c);
		x->c = NULL;
	} else if (what & UPCONN_READY)
		xfer_ready(x);
	else {
		if (what & UPCONN_WRITE)
			xfer_send(x);
		if ((what & UPCONN_READ) && x->fail_status == 0)
			xfer_recv(x);
	}
	xfer_after(x);
}

/*
 * "upstream timeout": GitHub must send or take a byte at least this
 * often, except while we hold the transfer (the client is slow to read
 * the answer or to send the body).  The timer is set once and looks at
 * when the last byte went; it also answers failures found in
 * upstream_start().
 */
static void
xfer_timer_cb(int fd, short ev, void *arg)
{
	struct upstream_xfer *x = arg;
	struct timeval tv = { up_stall_s, 0 };
	uint64_t now = monotime_ms(), idle;

	if (x->fail_status == 0) {
		if (x->recv_paused || x->send_paused)
			x->last = now;
		idle = now - x->last;
		if (idle < (uint64_t)up_stall_s * 1000) {
			tv.tv_sec = (time_t)(((uint64_t)up_stall_s * 1000 -
			    idle) / 1000);
			tv.tv_usec = (suseconds_t)((((uint64_t)up_stall_s *
			    1000 - idle) % 1000) * 1000);
			evtimer_add(x->timer, &tv);
			return;
		}
		(void)snprintf(x->why, sizeof(x->why), "nothing from the "
		    "upstream for %d s", up_stall_s);
		x->fail_status = 504;
	}
	xfer_finish(x);
}

struct upstream_xfer *
upstream_start(const char *url, const char *method,
    struct curl_slist *headers, int64_t body_len,
    const struct upstream_ops *ops, void *arg)
{
	return upstream_start_to(url, NULL, method, headers, body_len, ops,
	    arg);
}

struct upstream_xfer *
upstream_start_to(const char *url, const char *connect_to,
    const char *method, struct curl_slist *headers, int64_t body_len,
    const struct upstream_ops *ops, void *arg)
{
	struct upstream_xfer *x;
	struct timeval tv = { up_stall_s, 0 }, now = { 0, 0 };
	const char *why = NULL;

	x = xcalloc(1, sizeof(*x));
	ntransfers++;
	x->ops = ops;
	x->arg = arg;
	x->body_len = body_len;
	x->head_request = strcmp(method, "HEAD") == 0;
	x->content_length = -1;
	x->ratelimit = -1;
	x->out = evbuffer_new();
	x->in = evbuffer_new();
	x->resp_headers = evbuffer_new();
	x->started = x->last = monotime_ms();
	x->timer = evtimer_new(up_base, xfer_timer_cb, x);
	http_resp_init(&x->rp);
	if (upconn_target(url, connect_to, &x->t, &why) == -1)
		xfer_fail(x, 502, NULL, why);
	else if (xfer_build_head(x, method, headers) == -1)
		xfer_fail(x, 502, NULL, "a header line with CR or LF");
	else if ((x->c = upconn_get(&x->t, 1, xfer_conn_cb, x, &x->reused,
	    &why)) == NULL)
		xfer_fail(x, 502, "connect", why);
	else if (x->reused) {
		xfer_ready(x);
		if (x->fail_status == 0)
			xfer_watch(x);
	}
	upstream_headers_free(headers);
	evtimer_add(x->timer, x->fail_status != 0 ? &now : &tv);
	return x;
}

void
upstream_headers_free(struct curl_slist *list)
{
	struct curl_slist *l;

	for (l = list; l != NULL; l = l->next)
		sodium_memzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

void
upstream_cancel(struct upstream_xfer *x)
{
	xfer_free(x);
}

void
upstream_resume_recv(struct upstream_xfer *x)
{
	if (!x->recv_paused)
		return;
	x->recv_paused = 0;
	x->last = monotime_ms();
	if (x->ready && x->fail_status == 0)
		xfer_recv(x);
	xfer_after(x);
}

void
upstream_resume_send(struct upstream_xfer *x)
{
	if (!x->send_paused)
		return;
	x->send_paused = 0;
	x->last = monotime_ms();
	if (x->ready && x->fail_status == 0)
		xfer_send(x);
	xfer_after(x);
}
