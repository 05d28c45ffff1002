/*
 * upstream.c: see upstream.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

#include "log.h"
#include "upstream.h"
#include "util.h"

#define UPSTREAM_CA_BUNDLE	"/etc/ssl/certs/ca-certificates.crt"
#define UPSTREAM_CA_MAX		(4 * 1024 * 1024)
#define UPSTREAM_BUFFER		(64 * 1024)
#define UPSTREAM_CONNECT_MS	10000
#define UPSTREAM_MAXCONNECTS	64

struct upstream_xfer {
	CURL			*easy;
	struct curl_slist	*headers;
	const struct upstream_ops *ops;
	void			*arg;
	struct evbuffer		*resp_headers;
	int			 status;
	int64_t			 content_length;
	long			 ratelimit;	/* X-RateLimit-Remaining */
	int			 head_sent;
	int			 recv_paused;
	int			 send_paused;
	uint64_t		 started;
	uint64_t		 ttfb;
	char			 errbuf[CURL_ERROR_SIZE];
};

struct sock_ev {
	struct event	*ev;
	curl_socket_t	 fd;
};

static int		 up_stall_s;	/* "upstream timeout" */
static CURLM			*multi;
static struct event_base	*up_base;
static struct event		*up_timer;
static struct curl_blob		 ca_blob;
static struct curl_slist	*resolve_list;
static int			 ntransfers;
static int			 usable[UPSTREAM_MAX];	/* has an address */

static void	upstream_check_done(void);

/* Read the CA bundle now: the sandbox will not let us later. */
static void
upstream_load_ca(void)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(UPSTREAM_CA_BUNDLE, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s (https upstreams will fail)", UPSTREAM_CA_BUNDLE);
		return;
	}
	buf = xcalloc(1, UPSTREAM_CA_MAX);
	while (len < UPSTREAM_CA_MAX &&
	    (n = read(fd, buf + len, UPSTREAM_CA_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	ca_blob.data = buf;
	ca_blob.len = len;
	ca_blob.flags = CURL_BLOB_NOCOPY;
}

/*
 * The upstream hosts' addresses, resolved now (a sandboxed worker cannot
 * reach a resolver) and handed to libcurl as CURLOPT_RESOLVE entries.
 */
static void
upstream_resolve(const struct config *conf)
{
	struct addrinfo hints, *res, *ai;
	char host[256], port[8], addr[INET6_ADDRSTRLEN + 2], *entry;
	const char *u, *h, *end;
	int i;

	for (i = 0; i < UPSTREAM_MAX; i++) {
		u = conf->upstream[i];
		if (u == NULL || (h = strstr(u, "://")) == NULL)
			continue;
		h += 3;
		end = h + strcspn(h, ":/");
		if ((size_t)(end - h) >= sizeof(host))
			continue;
		memcpy(host, h, (size_t)(end - h));
		host[end - h] = '\0';
		if (*end == ':')
			(void)snprintf(port, sizeof(port), "%.*s",
			    (int)strcspn(end + 1, "/"), end + 1);
		else
			(void)snprintf(port, sizeof(port), "%s",
			    strncmp(u, "https", 5) == 0 ? "443" : "80");
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
		if (getaddrinfo(host, port, &hints, &res) == 0) {
			/* An address already: nothing for libcurl to resolve. */
			freeaddrinfo(res);
			usable[i] = 1;
			continue;
		}
		hints.ai_flags = AI_NUMERICSERV;
		if (getaddrinfo(host, port, &hints, &res) != 0) {
			log_warnx("upstream %s: cannot resolve %s; requests "
			    "for it will fail until the worker restarts",
			    config_upstream_name(i), host);
			continue;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr,
			    sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
				continue;
			xasprintf(&entry, "%s:%s:%s%s%s", host, port,
			    ai->ai_family == AF_INET6 ? "[" : "", addr,
			    ai->ai_family == AF_INET6 ? "]" : "");
			resolve_list = curl_slist_append(resolve_list, entry);
			free(entry);
			usable[i] = 1;
			break;	/* libcurl takes one entry per host:port */
		}
		freeaddrinfo(res);
	}
}

static void
upstream_sock_cb(int fd, short what, void *arg)
{
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, fd, flags, &running);
	upstream_check_done();
}

static int
upstream_socket(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct sock_ev *se = socketp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (se != NULL) {
			event_free(se->ev);
			free(se);
			curl_multi_assign(multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (se == NULL) {
		se = xcalloc(1, sizeof(*se));
		se->fd = s;
		curl_multi_assign(multi, s, se);
	} else
		event_free(se->ev);
	se->ev = event_new(up_base, s, kind, upstream_sock_cb, NULL);
	event_add(se->ev, NULL);
	return 0;
}

static void
upstream_timer_cb(int fd, short what, void *arg)
{
	int running;

	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	upstream_check_done();
}

static int
upstream_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(up_timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(up_timer, &tv);
	return 0;
}

/*
 * OpenSSL seeds its generators on first use and may open /dev/urandom
 * to do it: do that now, while files can still be opened.
 */
static void
upstream_seed(void)
{
	unsigned char b[32];

	if (RAND_bytes(b, sizeof(b)) != 1 ||
	    RAND_priv_bytes(b, sizeof(b)) != 1)
		fatalx("openssl: cannot seed its random generators");
	OPENSSL_cleanse(b, sizeof(b));
}

void
upstream_init(struct event_base *base, const struct config *conf)
{
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		fatalx("curl_global_init");
	up_base = base;
	up_stall_s = conf->timeout_upstream;
	if ((multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init");
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, upstream_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, upstream_timer);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)UPSTREAM_MAXCONNECTS);
	up_timer = evtimer_new(base, upstream_timer_cb, NULL);
	upstream_seed();
	upstream_load_ca();
	upstream_resolve(conf);
}

int
upstream_usable(enum upstream_kind k)
{
	return usable[k];
}

long
upstream_ratelimit(const struct upstream_xfer *x)
{
	return x->ratelimit;
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
		return CURL_WRITEFUNC_PAUSE;
	}
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
		return CURL_READFUNC_PAUSE;
	}
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

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)UPSTREAM_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	/* An upstream silent this long is given up on: 504 before a head. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)up_stall_s);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)UPSTREAM_BUFFER);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPSTREAM_BUFFER);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, upstream_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, upstream_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	if (ca_blob.data != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca_blob);
	if (resolve_list != NULL)
		curl_easy_setopt(e, CURLOPT_RESOLVE, resolve_list);
}

struct upstream_xfer *
upstream_start(const char *url, const char *method,
    struct curl_slist *headers, int64_t body_len,
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
	upstream_setopts(x, url);
	upstream_set_method(x, method, body_len);
	if (curl_multi_add_handle(multi, x->easy) != CURLM_OK)
		fatalx("curl_multi_add_handle");
	ntransfers++;
	return x;
}

static void
upstream_free(struct upstream_xfer *x)
{
	curl_multi_remove_handle(multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
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
	curl_easy_pause(x->easy, x->send_paused ? CURLPAUSE_SEND :
	    CURLPAUSE_CONT);
	upstream_check_done();
}

void
upstream_resume_send(struct upstream_xfer *x)
{
	if (!x->send_paused)
		return;
	x->send_paused = 0;
	curl_easy_pause(x->easy, x->recv_paused ? CURLPAUSE_RECV :
	    CURLPAUSE_CONT);
	upstream_check_done();
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
upstream_check_done(void)
{
	struct upstream_xfer *x;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &x);
		upstream_finish(x, m->data.result);
	}
}
