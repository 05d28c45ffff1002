/*
 * upstream.c: see upstream.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "curlev.h"
#include "log.h"
#include "upstream.h"
#include "util.h"

#define UPSTREAM_BUFFER		(64 * 1024)

struct upstream_xfer {
	CURL			*easy;
	struct curl_slist	*headers;
	struct curl_slist	*connect_to;	/* or NULL */
	const struct upstream_ops *ops;
	void			*arg;
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
	struct event		*stall;		/* "upstream timeout" */
	char			 errbuf[CURL_ERROR_SIZE];
};

static int			 up_stall_s;	/* "upstream timeout" */
static int			 ntransfers;
static struct event_base	*up_base;

static void	upstream_done(CURL *, CURLcode, void *);
static void	upstream_finish(struct upstream_xfer *, CURLcode);

/*
 * "upstream timeout": GitHub must send or take a byte at least this
 * often, except while we hold the transfer (the client is slow to read
 * the answer or to send the body).  A timer of our own rather than
 * libcurl's low-speed check, which averages over several seconds: a
 * burst of bytes before the silence would stretch the timeout.
 */
static void
upstream_stall_cb(int fd, short ev, void *arg)
{
	struct upstream_xfer *x = arg;

	(void)snprintf(x->errbuf, sizeof(x->errbuf), "nothing from the "
	    "upstream for %d s", up_stall_s);
	upstream_finish(x, CURLE_OPERATION_TIMEDOUT);
}

static void
upstream_watch(struct upstream_xfer *x)
{
	struct timeval tv = { up_stall_s, 0 };

	if (x->recv_paused || x->send_paused)
		evtimer_del(x->stall);
	else
		evtimer_add(x->stall, &tv);
}

void
upstream_init(struct event_base *base, const struct config *conf)
{
	up_stall_s = conf->timeout_upstream;
	up_base = base;
	curlev_init(base, conf);
}

int
upstream_usable(enum upstream_kind k)
{
	return curlev_usable(k);
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

/* Hop-by-hop fields and those libcurl frames itself stay behind. */
static int
upstream_hop_by_hop(const char *name, size_t len)
{
	static const char *hop[] = { "connection", "keep-alive",
	    "proxy-connection", "transfer-encoding", "te", "trailer",
	    "upgrade", "proxy-authenticate", "proxy-authorization" };
	size_t i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strlen(hop[i]) == len && strncasecmp(name, hop[i], len) == 0)
			return 1;
	return 0;
}

static void
upstream_head_line(struct upstream_xfer *x, const char *p, size_t n)
{
	const char *colon;
	size_t namelen;
	char num[24];

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A status line: a new response (after a 1xx, say). */
		evbuffer_drain(x->resp_headers,
		    evbuffer_get_length(x->resp_headers));
		x->content_length = -1;
		x->status = 0;
		if ((colon = memchr(p, ' ', n)) != NULL)
			x->status = atoi(colon + 1);
		return;
	}
	if ((colon = memchr(p, ':', n)) == NULL)
		return;
	namelen = (size_t)(colon - p);
	if (upstream_hop_by_hop(p, namelen))
		return;
	if (namelen == 14 && strncasecmp(p, "content-length", 14) == 0) {
		(void)snprintf(num, sizeof(num), "%.*s",
		    (int)(n - namelen - 1), colon + 1);
		x->content_length = strtoll(num, NULL, 10);
	}
	if (namelen == 17 && strncasecmp(p, "x-ratelimit-reset", 17) == 0) {
		(void)snprintf(num, sizeof(num), "%.*s",
		    (int)(n - namelen - 1), colon + 1);
		x->ratelimit_reset = strtoll(num, NULL, 10);
	}
	if (namelen == 21 && strncasecmp(p, "x-ratelimit-remaining", 21) == 0) {
		(void)snprintf(num, sizeof(num), "%.*s",
		    (int)(n - namelen - 1), colon + 1);
		x->ratelimit = strtol(num, NULL, 10);
	}
	evbuffer_add(x->resp_headers, p, n);
	evbuffer_add(x->resp_headers, "\r\n", 2);
}

static size_t
upstream_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t n = size * nitems, len = n;

	upstream_watch(x);
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	if (len > 0) {
		upstream_head_line(x, buf, len);
		return n;
	}
	/* The empty line: the end of a head.  1xx heads are not passed. */
	if (x->status >= 200 && !x->head_sent) {
		x->head_sent = 1;
		x->ttfb = monotime_ms() - x->started;
		x->ops->on_head(x->arg, x->status, x->resp_headers,
		    x->content_length);
	}
	return n;
}

static size_t
upstream_write_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upstream_xfer *x = arg;

	if (x->ops->on_body(x->arg, buf, size * nitems) == -1) {
		x->recv_paused = 1;
		upstream_watch(x);
		return CURL_WRITEFUNC_PAUSE;
	}
	upstream_watch(x);
	return size * nitems;
}

static size_t
upstream_read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upstream_xfer *x = arg;
	long n;

	n = x->ops->read_body(x->arg, buf, size * nitems);
	if (n == -1) {
		x->send_paused = 1;
		upstream_watch(x);
		return CURL_READFUNC_PAUSE;
	}
	upstream_watch(x);
	return (size_t)n;
}

static void
upstream_set_method(struct upstream_xfer *x, const char *method,
    int64_t body_len)
{
	CURL *e = x->easy;

	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		return;
	}
	if (strcmp(method, "GET") != 0 || body_len != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body_len == 0 && (strcmp(method, "GET") == 0 ||
	    strcmp(method, "DELETE") == 0 || strcmp(method, "OPTIONS") == 0))
		return;
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, upstream_read_cb);
	curl_easy_setopt(e, CURLOPT_READDATA, x);
}

static void
upstream_setopts(struct upstream_xfer *x, const char *url)
{
	CURL *e = x->easy;

	curlev_prepare(e, url);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)UPSTREAM_BUFFER);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPSTREAM_BUFFER);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, upstream_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, upstream_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
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

	x = xcalloc(1, sizeof(*x));
	if ((x->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	/* libcurl must not add "Expect: 100-continue" on its own. */
	x->headers = curl_slist_append(headers, "Expect:");
	x->ops = ops;
	x->arg = arg;
	x->content_length = -1;
	x->ratelimit = -1;
	x->resp_headers = evbuffer_new();
	x->started = monotime_ms();
	x->stall = evtimer_new(up_base, upstream_stall_cb, x);
	upstream_watch(x);
	upstream_setopts(x, url);
	if (connect_to != NULL) {
		x->connect_to = curl_slist_append(NULL, connect_to);
		curl_easy_setopt(x->easy, CURLOPT_CONNECT_TO, x->connect_to);
	}
	upstream_set_method(x, method, body_len);
	curlev_add(x->easy, upstream_done, x);
	ntransfers++;
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

static void
upstream_free(struct upstream_xfer *x)
{
	curlev_remove(x->easy);
	curl_easy_cleanup(x->easy);
	event_free(x->stall);
	upstream_headers_free(x->headers);
	curl_slist_free_all(x->connect_to);
	evbuffer_free(x->resp_headers);
	free(x);
	ntransfers--;
}

void
upstream_cancel(struct upstream_xfer *x)
{
	upstream_free(x);
}

void
upstream_resume_recv(struct upstream_xfer *x)
{
	if (!x->recv_paused)
		return;
	x->recv_paused = 0;
	upstream_watch(x);
	curl_easy_pause(x->easy, x->send_paused ? CURLPAUSE_SEND :
	    CURLPAUSE_CONT);
	curlev_check();
}

void
upstream_resume_send(struct upstream_xfer *x)
{
	if (!x->send_paused)
		return;
	x->send_paused = 0;
	upstream_watch(x);
	curl_easy_pause(x->easy, x->recv_paused ? CURLPAUSE_RECV :
	    CURLPAUSE_CONT);
	curlev_check();
}

static void
upstream_finish(struct upstream_xfer *x, CURLcode rc)
{
	const struct upstream_ops *ops = x->ops;
	void *arg = x->arg;
	char why[CURL_ERROR_SIZE + 64];
	int status;

	status = rc == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
	(void)snprintf(why, sizeof(why), "%s", rc == CURLE_OK ? "" :
	    x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	if (rc == CURLE_OK && !x->head_sent) {
		rc = CURLE_RECV_ERROR;
		(void)snprintf(why, sizeof(why), "no response head");
	}
	upstream_free(x);
	ops->on_done(arg, rc == CURLE_OK, status, why);
}

static void
upstream_done(CURL *easy, CURLcode rc, void *arg)
{
	upstream_finish(arg, rc);
}
