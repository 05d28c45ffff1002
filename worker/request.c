/*
 * request.c: see request.h and conn.h.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <jansson.h>
#include <sodium.h>

#include "chan.h"
#include "conn.h"
#include "http.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "request.h"
#include "request_priv.h"
#include "scope.h"
#include "tcache.h"
#include "token.h"
#include "upstream.h"
#include "util.h"

static const char	*request_route_label(const struct request *);

const struct config		*req_conf;
static struct evbuffer		*req_out;	/* the answer gathered */
static struct chan		*req_master;
static uint64_t			 req_seq;
static unsigned int		 req_pid;
static char			 req_api_host[256];	/* of "upstream api" */

/* The host name of "upstream api", without port or brackets. */
static void
request_api_host(const char *url)
{
	const char *p, *end;
	struct http_str host;

	req_api_host[0] = '\0';
	if ((p = strstr(url, "://")) == NULL)
		return;
	p += 3;
	end = p + strcspn(p, "/");
	if (http_split_authority(p, (size_t)(end - p), &host, NULL,
	    NULL) == -1 || host.len >= sizeof(req_api_host))
		return;
	memcpy(req_api_host, host.p, host.len);
	req_api_host[host.len] = '\0';
}

void
request_init(const struct config *conf, struct chan *master,
    struct event_base *base)
{
	req_conf = conf;
	req_master = master;
	req_pid = (unsigned int)getpid();
	if (req_out == NULL && (req_out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	records_init(base, master);
	request_api_host(conf->upstream[UPSTREAM_API]);
	authorize_init(conf);
}

static void
request_free(struct request *r)
{
	if (r->waiter != NULL)
		tcache_cancel(r->waiter);
	if (r->xfer != NULL)
		upstream_cancel(r->xfer);
	records_forget(r);
	if (r->check != NULL)
		sites_abort(r);
	proxy_abort(r);
	free(r->connect_to);
	if (r->mbody != NULL) {
		sodium_memzero(r->mbody, r->mbody_len);
		free(r->mbody);
	}
	graphql_free(r);
	sodium_memzero(r->token, sizeof(r->token));
	sodium_memzero(r->ptoken, sizeof(r->ptoken));
	free(r->query_buf);
	free(r->raw);
	free(r);
}

void
request_abort(struct request *r)
{
	request_free(r);
}

/* RFC 3339 in UTC with milliseconds; the seconds' part kept a second. */
static void
request_time(struct jsonw *w, const char *key, const struct timespec *ts)
{
	static time_t cached = -1;
	static char head[40];
	char buf[32];
	struct tm tm;

	if (ts->tv_sec != cached) {
		gmtime_r(&ts->tv_sec, &tm);
		(void)snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:"
		    "%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
		    tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		    tm.tm_sec % 100);
		cached = ts->tv_sec;
	}
	memcpy(buf, head, 19);
	buf[19] = '.';
	buf[20] = (char)('0' + ts->tv_nsec / 100000000 % 10);
	buf[21] = (char)('0' + ts->tv_nsec / 10000000 % 10);
	buf[22] = (char)('0' + ts->tv_nsec / 1000000 % 10);
	buf[23] = 'Z';
	jsonw_strn(w, key, buf, 24);
}

/* The audit record: before anything goes upstream. */
void
request_audit(struct request *r, const char *decision, const char *reason,
    int status)
{
	struct timespec ts;
	struct jsonw w;
	char perm[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	jsonw_begin(&w, records_line());
	request_time(&w, "time", &ts);
	jsonw_str(&w, "request_id", r->id);
	jsonw_str(&w, "decision", decision);
	jsonw_str_null(&w, "reason", reason);
	jsonw_str(&w, "token_type", r->ttype == TOKEN_NONE ? NULL :
	    token_type_name(r->ttype));
	jsonw_str_null(&w, "token", r->prefix);
	jsonw_str_null(&w, "owner", r->owner);
	jsonw_str_null(&w, "session", r->session);
	if (r->token_id > 0)
		jsonw_int(&w, "token_id", r->token_id);
	else
		jsonw_null(&w, "token_id");
	jsonw_str_null(&w, "login", r->login);
	jsonw_str(&w, "method", r->method);
	jsonw_str(&w, "path", r->path);
	jsonw_str_null(&w, "repository", r->sr.repo);
	if (r->sr.permission != NULL) {
		(void)snprintf(perm, sizeof(perm), "%s:%s", r->sr.permission,
		    scope_level_name(r->sr.level));
		jsonw_str(&w, "permission", perm);
	} else
		jsonw_null(&w, "permission");
	jsonw_str_null(&w, "endpoint", r->sr.template);
	if (status != 0)
		jsonw_int(&w, "status", status);
	else
		jsonw_null(&w, "status");
	jsonw_decimal(&w, "duration", (int64_t)(monotime_ms() - r->t_start),
	    3);
	graphql_audit(r, &w);
	jsonw_end(&w);
	records_commit(MSG_AUDIT);
}

/* The start of an access record, Caddy's field names. */
static void
request_access_head(struct jsonw *w, const char *msg)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	jsonw_begin(w, records_line());
	jsonw_str(w, "level", "info");
	jsonw_decimal(w, "ts", (int64_t)ts.tv_sec * 1000000 +
	    ts.tv_nsec / 1000, 6);
	jsonw_str(w, "logger", "http.log.access");
	jsonw_str(w, "msg", msg);
}

/* The access record: after the answer. */
static void
request_access(struct request *r)
{
	const struct http_head *h = &r->p.head;
	struct jsonw w;

	request_access_head(&w, "handled request");
	jsonw_open(&w, "request");
	jsonw_str(&w, "remote_ip", r->conn->remote_ip);
	jsonw_int(&w, "remote_port", r->conn->remote_port);
	jsonw_str(&w, "proto", h->version == 10 ? "HTTP/1.0" : "HTTP/1.1");
	jsonw_str(&w, "method", r->method);
	jsonw_strn(&w, "host", h->host_header.p ? h->host_header.p : "",
	    h->host_header.p ? h->host_header.len : 0);
	jsonw_strn(&w, "uri", h->target.p, h->target.len);
	jsonw_close(&w);
	jsonw_int(&w, "bytes_read", (int64_t)r->bytes_in);
	jsonw_str(&w, "request_id", r->id);
	jsonw_decimal(&w, "duration", (int64_t)(monotime_ms() - r->t_start),
	    3);
	jsonw_int(&w, "size", (int64_t)r->bytes_out);
	jsonw_int(&w, "status", r->status);
	if (r->owner[0] != '\0')
		jsonw_str(&w, "user_id", r->owner);
	if (r->login[0] != '\0')
		jsonw_str(&w, "login", r->login);
	jsonw_end(&w);
	records_commit(MSG_ACCESS);
}

void
request_refused(struct conn *c, int status, size_t size)
{
	struct jsonw w;

	request_access_head(&w, "refused request head");
	jsonw_open(&w, "request");
	jsonw_str(&w, "remote_ip", c->remote_ip);
	jsonw_int(&w, "remote_port", c->remote_port);
	jsonw_close(&w);
	jsonw_int(&w, "bytes_read", 0);
	jsonw_int(&w, "size", (int64_t)size);
	jsonw_int(&w, "status", status);
	jsonw_end(&w);
	records_commit(MSG_ACCESS);
	metrics_request("other", "none", status);
	metrics_stage(STAGE_TOTAL, (monotime_ms() - (c->head_t0 ?
	    c->head_t0 : c->accepted)) * 1000);
}

/* The request is over on our side: tell the connection. */
void
request_finish(struct request *r)
{
	struct conn *c = r->conn;

	request_access(r);
	metrics_request(request_route_label(r),
	    r->decision ? r->decision : "none", r->status);
	metrics_stage(STAGE_TOTAL, monotime_us() - r->t0_us);
	if (!request_body_read(r))
		c->close_after = 1;	/* unread body: cannot frame more */
	request_free(r);
	conn_request_done(c);
}

void
request_handoff(struct request *r)
{
	struct conn *c = r->conn;

	request_access(r);
	metrics_request("tunnel", r->decision ? r->decision : "none",
	    r->status);
	request_free(r);
	c->req = NULL;
	c->nrequests++;
}

void
request_fail(struct request *r, int status, const char *message,
    const char *extra)
{
	r->status = status;
	if (!request_body_read(r))
		r->conn->close_after = 1;
	r->bytes_out = conn_error(r->conn, status, message, extra,
	    strcmp(r->method, "HEAD") == 0);
	request_finish(r);
}

void
request_answer(struct request *r, int status, const char *ctype,
    const char *extra_headers, const char *body)
{
	struct evbuffer *out = bufferevent_get_output(r->conn->bev);
	size_t len = strlen(body);

	r->status = status;
	if (!request_body_read(r))
		r->conn->close_after = 1;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%s%s\r\n", status, http_reason(status),
	    ctype, len, extra_headers ? extra_headers : "",
	    r->conn->close_after ? "Connection: close\r\n" : "");
	if (strcmp(r->method, "HEAD") != 0) {
		evbuffer_add(out, body, len);
		r->bytes_out = len;
	}
	request_finish(r);
}

void
request_deny(struct request *r, int status, const char *message)
{
	r->decision = "deny";
	request_audit(r, "deny", message, status);
	request_fail(r, status, message, NULL);
}

/* --- the request body, pulled by libcurl --- */

static long
request_read_length(struct request *r, struct evbuffer *in, char *buf,
    size_t len)
{
	size_t n = evbuffer_get_length(in);
	int got;

	if (n > r->body_left)
		n = (size_t)r->body_left;
	if (n > len)
		n = len;
	if (n == 0)
		return -1;
	got = evbuffer_remove(in, buf, n);
	r->body_left -= (uint64_t)got;
	if (r->body_left == 0)
		r->body_done = 1;
	return got;
}

static long
request_read_chunked(struct request *r, struct evbuffer *in, char *buf,
    size_t len)
{
	struct http_str data;
	struct http_error err;
	size_t avail, used, out = 0;
	const char *p;
	int rc;

	while (out < len && (avail = evbuffer_get_length(in)) > 0) {
		if (avail > len - out)
			avail = len - out;	/* data never exceeds input */
		p = (const char *)evbuffer_pullup(in, (ssize_t)avail);
		rc = http_chunked_decode(&r->chunked, p, avail, &used, &data,
		    &err);
		if (rc == HTTP_ERROR)
			return UPSTREAM_BODY_ABORT;
		if (rc == HTTP_DATA) {
			memcpy(buf + out, data.p, data.len);
			out += data.len;
		}
		evbuffer_drain(in, used);
		if (rc == HTTP_OK) {
			r->body_done = 1;
			break;
		}
		if (used == 0)
			break;
	}
	if (out == 0 && !r->body_done)
		return -1;
	return (long)out;
}

static long
request_read_body(void *arg, char *buf, size_t len)
{
	struct request *r = arg;
	struct evbuffer *in = bufferevent_get_input(r->conn->bev);
	long n;

	if (r->body_done)
		return 0;
	if (r->body == BODY_MEM) {
		n = (long)(r->mbody_len - r->mbody_off < len ?
		    r->mbody_len - r->mbody_off : len);
		memcpy(buf, r->mbody + r->mbody_off, (size_t)n);
		r->mbody_off += (size_t)n;
		if (r->mbody_off == r->mbody_len)
			r->body_done = 1;
		return n;
	}
	if (r->body == BODY_LENGTH)
		n = request_read_length(r, in, buf, len);
	else
		n = request_read_chunked(r, in, buf, len);
	if (n > 0)
		r->bytes_in += (uint64_t)n;
	/* Room in the input buffer again: let libevent read. */
	bufferevent_enable(r->conn->bev, EV_READ);
	return n;
}

int
request_body_read(const struct request *r)
{
	/* A body held in memory is all here, though not yet sent on. */
	return r->body_done || r->body == BODY_MEM;
}

/*
 * Read the rest of the body into mbody, up to collect_max bytes, then go
 * on with collect_then(): the body is sent from memory (BODY_MEM).  Too
 * long a body is answered 413 and a malformed chunked one 400, and the
 * connection closes after either (the rest is unread).
 */
static void
request_collect_more(struct request *r)
{
	void (*then)(struct request *);
	size_t cap;
	long n;

	for (;;) {
		if (r->body_done)
			break;
		if (r->mbody_len == r->mbody_cap) {
			cap = r->mbody_cap == 0 ? 4096 : r->mbody_cap * 2;
			if (cap > r->collect_max + 1)
				cap = r->collect_max + 1;
			r->mbody = xreallocarray(r->mbody, 1, cap + 1);
			r->mbody_cap = cap;
		}
		n = request_read_body(r, r->mbody + r->mbody_len,
		    r->mbody_cap - r->mbody_len);
		if (n == CURL_READFUNC_ABORT) {
			r->conn->close_after = 1;
			request_deny(r, 400, "Malformed chunked request body");
			return;
		}
		if (n < 0)
			return;		/* more will come: request_readable() */
		r->mbody_len += (size_t)n;
		if (r->mbody_len > r->collect_max) {
			r->conn->close_after = 1;
			request_deny(r, 413, r->collect_why);
			return;
		}
		if (n == 0)
			break;
	}
	if (r->mbody == NULL)
		r->mbody = xcalloc(1, 1);
	r->mbody[r->mbody_len] = '\0';
	r->body = BODY_MEM;
	r->mbody_off = 0;
	r->body_done = r->mbody_len == 0;
	then = r->collect_then;
	r->collect_then = NULL;
	then(r);
}

void
request_collect(struct request *r, size_t max, const char *why,
    void (*then)(struct request *))
{
	if (r->body == BODY_LENGTH && r->body_left > max) {
		r->conn->close_after = 1;
		request_deny(r, 413, why);
		return;
	}
	if (r->p.head.expect_continue && !r->continued) {
		evbuffer_add_printf(bufferevent_get_output(r->conn->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
		r->continued = 1;
	}
	r->collect_max = max;
	r->collect_why = why;
	r->collect_then = then;
	if (r->body == BODY_NONE)
		r->body_done = 1;
	request_collect_more(r);
}

void
request_readable(struct request *r)
{
	if (r->collect_then != NULL) {
		request_collect_more(r);
		return;
	}
	if (r->body_wait) {
		intercept_body_more(r);
		return;
	}
	if (r->xfer != NULL && !r->body_done)
		upstream_resume_send(r->xfer);
}

/*
 * --- the answer, pushed by upstream.c ---
 *
 * What one turn of reading brings (the head, body bytes) is gathered in
 * req_out and sent in one write by request_on_flush() or at the end.
 */
static void
request_on_flush(void *arg)
{
	struct request *r = arg;

	if (evbuffer_get_length(req_out) > 0)
		conn_send(r->conn, req_out);
}

static void
request_on_head(void *arg, int status, struct evbuffer *headers,
    int64_t content_length)
{
	struct request *r = arg;
	struct evbuffer *out = req_out;

	r->status = status;
	r->head_sent = 1;
	metrics_stage(STAGE_UPSTREAM, upstream_ttfb_ms(r->xfer) * 1000);
	if (upstream_ratelimit(r->xfer) >= 0)
		metrics_ratelimit(r->owner[0] ? r->owner : "(not ghp's)",
		    upstream_ratelimit(r->xfer));
	if (r->inst_id != 0)
		tcache_ratelimit(r->app_id, r->inst_id,
		    upstream_ratelimit(r->xfer),
		    upstream_ratelimit_reset(r->xfer),
		    (status == 403 || status == 429) &&
		    upstream_ratelimit(r->xfer) == 0);
	r->no_body = strcmp(r->method, "HEAD") == 0 || status == 204 ||
	    status == 304 || (status >= 100 && status < 200);
	if (!r->no_body && content_length < 0) {
		if (r->p.head.version == 11)
			r->chunked_out = 1;
		else
			r->conn->close_after = 1;
	}
	if (!r->p.head.keep_alive)
		r->conn->close_after = 1;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
	    http_reason(status));
	evbuffer_add_buffer(out, headers);
	if (r->chunked_out)
		evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
	if (r->conn->close_after)
		evbuffer_add(out, "Connection: close\r\n", 19);
	evbuffer_add(out, "\r\n", 2);
}

static int
request_on_body(void *arg, const char *p, size_t n)
{
	struct request *r = arg;
	struct evbuffer *out = req_out;

	/* Paused only on bytes libevent holds: its write callback resumes. */
	if (evbuffer_get_length(bufferevent_get_output(r->conn->bev)) >
	    CONN_OUT_HIGH)
		return -1;
	if (n == 0)
		return 0;
	if (r->chunked_out)
		evbuffer_add_printf(out, "%zx\r\n", n);
	evbuffer_add(out, p, n);
	if (r->chunked_out)
		evbuffer_add(out, "\r\n", 2);
	r->bytes_out += n;
	if (evbuffer_get_length(out) >= CONN_OUT_LOW)
		request_on_flush(r);
	return 0;
}

void
request_writable(struct request *r)
{
	if (r->xfer != NULL)
		upstream_resume_recv(r->xfer);
}

static void
request_on_done(void *arg, int ok, int status, const char *why)
{
	struct request *r = arg;
	struct evbuffer *out = req_out;

	r->xfer = NULL;
	if (!r->head_sent) {
		log_warnx("request %s: upstream: %s", r->id, why);
		request_fail(r, status, r->route == ROUTE_INTERCEPT ?
		    (status == 504 ? "The host did not answer in time" :
		    "The host could not be reached") : status == 504 ?
		    "GitHub did not answer in time" :
		    "GitHub could not be reached", NULL);
		return;
	}
	if (!ok) {
		log_warnx("request %s: upstream broke off: %s", r->id, why);
		r->conn->close_after = 1;
	} else if (r->chunked_out)
		evbuffer_add(out, "0\r\n\r\n", 5);
	request_on_flush(r);
	request_finish(r);
}

const struct upstream_ops request_upstream_ops = {
	request_on_head, request_on_body, request_read_body, request_on_done,
	request_on_flush
};

/* --- routing --- */

/*
 * By host (web.h): api.github.com is API traffic; github.com, codeload,
 * raw and Copilot hosts are ROUTE_WEB.  On any other name (ghp's own,
 * or the host of "upstream api"), "/api/v3/..." and "/api/graphql" are
 * API traffic (GitHub Enterprise style); what is left is settled once
 * the path is normalised (request_route_path()).
 */
static const char *
request_route(struct request *r, const char *target)
{
	const struct http_head *h = &r->p.head;
	const struct http_str *host = h->form == HTTP_FORM_ABSOLUTE ?
	    &h->authority : &h->host_header;
	struct http_str name;
	int port;

	r->site = WEB_SITE_OWN;
	if (host->p != NULL && http_split_authority(host->p, host->len,
	    &name, &port, NULL) == 0)
		r->site = web_site(name.p, name.len, req_api_host);
	r->route = ROUTE_WEB;
	if (r->site != WEB_SITE_API && r->site != WEB_SITE_OWN)
		return target;
	if (http_str_ieq(&name, "api.github.com")) {
		r->route = ROUTE_API;
		return target;
	}
	if (strncmp(target, "/api/v3/", 8) == 0) {
		r->route = ROUTE_API;
		return target + 7;
	}
	if (strncmp(target, "/api/graphql", 12) == 0 &&
	    (target[12] == '\0' || target[12] == '?')) {
		r->route = ROUTE_API;
		return target + 4;
	}
	return target;
}

/*
 * What a request on ghp's own name or the API host's is, now that its
 * path is normalised: git smart HTTP or a release download (github.com's
 * shapes, GitHub Enterprise style), else the API on the API host, else
 * nothing.
 */
static void
request_route_path(struct request *r)
{
	enum web_site site = r->site;

	if (r->route != ROUTE_WEB)
		return;
	web_classify(site == WEB_SITE_API ? WEB_SITE_OWN : site, r->method,
	    r->path, r->query, r->querylen, &r->wt);
	if (site != WEB_SITE_API && site != WEB_SITE_OWN)
		return;
	if (r->wt.kind != WEB_NONE)
		r->site = WEB_SITE_WEB;
	else
		r->route = site == WEB_SITE_API ? ROUTE_API : ROUTE_OTHER;
}

/* The route's name in metrics. */
static const char *
request_route_label(const struct request *r)
{
	if (r->p.head.form == HTTP_FORM_AUTHORITY)
		return "connect";	/* refused, or intercepted */
	if (r->route == ROUTE_API)
		return "api";
	if (r->route == ROUTE_INTERCEPT)
		return "intercept";
	if (r->route != ROUTE_WEB)
		return "other";
	switch (r->wt.kind) {
	case WEB_GIT_REFS:
	case WEB_GIT_PACK:
	case WEB_GIT_DUMB:
		return "git";
	case WEB_RELEASE:
		return "releases";
	case WEB_ARCHIVE:
		return "codeload";
	case WEB_RAW:
		return "raw";
	case WEB_COPILOT:
		return "copilot";
	default:
		return "other";
	}
}

static int
request_body_setup(struct request *r)
{
	const struct http_head *h = &r->p.head;

	if (h->chunked) {
		r->body = BODY_CHUNKED;
		http_chunked_init(&r->chunked, REQUEST_BODY_MAX);
	} else if (h->content_length > 0) {
		if ((uint64_t)h->content_length > REQUEST_BODY_MAX)
			return -1;
		r->body = BODY_LENGTH;
		r->body_left = (uint64_t)h->content_length;
	} else
		r->body_done = 1;
	return 0;
}

/*
 * The master writes the audit log from what workers send it.  When it
 * falls behind (its queue here past a quarter of what a channel holds),
 * or says it cannot write the file, nothing is forwarded, since its
 * audit record might be lost: the client gets a 503 to retry, and no
 * record is queued for it.
 */
#define REQUEST_RECORDS_BEHIND	(CHAN_QUEUE_MAX / 4)

static int	req_audit_failing;

void
request_audit_failing(void)
{
	if (!req_audit_failing)
		log_warnx("the audit log cannot be written: answering 503 "
		    "until a reload");
	req_audit_failing = 1;
}

static int
request_records_behind(struct request *r)
{
	static time_t warned;
	struct conn *c;

	if (!req_audit_failing && (req_master == NULL ||
	    chan_queued(req_master) < REQUEST_RECORDS_BEHIND))
		return 0;
	if (!req_audit_failing && warned != time(NULL)) {
		warned = time(NULL);
		log_warnx("the master is not taking audit records fast "
		    "enough: answering 503 until it catches up");
	}
	r->status = 503;
	r->conn->close_after = 1;
	r->bytes_out = conn_error(r->conn, 503, req_audit_failing ?
	    "ghp cannot write its audit log" : "ghp is busy writing its "
	    "audit log: try again", req_audit_failing ? "Retry-After: 5\r\n" :
	    "Retry-After: 1\r\n", strcmp(r->method, "HEAD") == 0);
	metrics_request("other", "none", 503);
	c = r->conn;
	request_free(r);
	conn_request_done(c);
	return 1;
}

struct request *
request_start(struct conn *c, const char *head, size_t len)
{
	struct request *r;
	struct http_error err;
	char target[REQUEST_PATH_MAX];
	const char *why, *t, *q;
	int plain = 0;

	r = xcalloc(1, sizeof(*r));
	r->conn = c;
	r->raw = (char *)head;
	r->t_start = monotime_ms();
	r->t0_us = monotime_us();
	(void)snprintf(r->id, sizeof(r->id), "%08x%08x", req_pid,
	    (unsigned int)++req_seq);
	http_parser_init(&r->p);
	if (http_parse_head(&r->p, head, len, &err) != HTTP_OK)
		fatalx("%s: a head parsed twice differs", __func__);
	(void)snprintf(r->method, sizeof(r->method), "%.*s",
	    (int)r->p.head.method.len, r->p.head.method.p);
	c->req = r;
	if (!r->p.head.keep_alive)
		c->close_after = 1;
	if (request_records_behind(r))
		return NULL;
	if (request_body_setup(r) == -1) {
		request_fail(r, 413, "Request body too large", NULL);
		return NULL;
	}
	if (c->proxy && c->tunnel_host == NULL) {
		if (r->p.head.form == HTTP_FORM_AUTHORITY) {
			proxy_connect(r);
			return c->req;
		}
		if (r->p.head.form == HTTP_FORM_ABSOLUTE &&
		    (plain = proxy_absolute(r)) == -1)
			return NULL;
	}
	if (c->tunnel_host != NULL && proxy_inner(r) == -1)
		return NULL;
	if (r->p.head.form != HTTP_FORM_ORIGIN &&
	    r->p.head.form != HTTP_FORM_ABSOLUTE) {
		c->close_after = 1;
		request_fail(r, 400, "Bad request target", NULL);
		return NULL;
	}
	if (r->p.head.form == HTTP_FORM_ABSOLUTE &&
	    r->p.head.host_header.p != NULL &&
	    (r->p.head.host_header.len != r->p.head.authority.len ||
	    strncasecmp(r->p.head.host_header.p, r->p.head.authority.p,
	    r->p.head.authority.len) != 0)) {
		c->close_after = 1;
		request_fail(r, 400, "The request target names another host "
		    "than Host", NULL);
		return NULL;
	}
	(void)snprintf(target, sizeof(target), "%.*s",
	    (int)r->p.head.path.len, r->p.head.path.p);
	if ((q = memchr(r->p.head.path.p, '?', r->p.head.path.len)) != NULL) {
		r->query = q + 1;
		r->querylen = r->p.head.path.len -
		    (size_t)(q + 1 - r->p.head.path.p);
	}
	if (plain || (c->tunnel_host != NULL && (r->icpt =
	    web_intercept_rule(req_conf, c->tunnel_host)) != -1)) {
		/* Another API's paths: passed as they came. */
		r->route = ROUTE_INTERCEPT;
		(void)snprintf(r->path, sizeof(r->path), "%.*s",
		    (int)(r->query ? (size_t)(r->query - 1 - r->p.head.path.p) :
		    r->p.head.path.len), r->p.head.path.p);
		metrics_stage(STAGE_PARSE, monotime_us() - r->t0_us);
		intercept_start(r);
		return c->req;
	}
	t = request_route(r, target);
	if (path_normalize(t, r->path, sizeof(r->path), &why) == -1 &&
	    r->route == ROUTE_WEB && r->site == WEB_SITE_OWN) {
		/* Not a path anything here serves. */
		(void)snprintf(r->path, sizeof(r->path), "%s", t);
		request_fail(r, 404, "Not Found", NULL);
		return NULL;
	}
	if (why != NULL) {
		(void)snprintf(r->path, sizeof(r->path), "%s", t);
		c->close_after = 1;
		request_deny(r, 400, why);
		return NULL;
	}
	request_route_path(r);
	if (r->route == ROUTE_OTHER) {
		request_fail(r, 404, "Not Found", NULL);
		return NULL;
	}
	metrics_stage(STAGE_PARSE, monotime_us() - r->t0_us);
	if (r->route == ROUTE_WEB)
		sites_start(r);
	else
		request_authorize(r);
	return c->req;
}
