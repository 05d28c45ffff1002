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
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "request.h"
#include "scope.h"
#include "tcache.h"
#include "token.h"
#include "upstream.h"
#include "util.h"

#define REQUEST_BODY_MAX	(UINT64_C(4) << 30)	/* 4 GiB */
#define REQUEST_PATH_MAX	HTTP_REQLINE_MAX

enum route {
	ROUTE_API,
	ROUTE_OTHER
};

enum body_mode {
	BODY_NONE,
	BODY_LENGTH,
	BODY_CHUNKED
};

struct request {
	struct conn		*conn;
	char			*raw;		/* the head's bytes */
	struct http_parser	 p;
	char			 id[17];
	char			 method[HTTP_METHOD_MAX + 1];
	char			 path[REQUEST_PATH_MAX];
	const char		*query;		/* in raw, or NULL */
	size_t			 querylen;
	enum route		 route;
	/* the token */
	enum token_type		 ttype;
	char			 token[TOKEN_LEN + 1];
	struct twaiter		*waiter;
	const struct tentry	*entry;		/* valid in the callback only */
	char			 login[40];	/* GitHub's, or "" */
	char			 owner[65];
	char			 prefix[TOKEN_DISPLAY_LEN + 1];
	char			 session[65];
	int64_t			 token_id;
	uint64_t		 app_id;	/* an agent's installation */
	uint64_t		 inst_id;
	struct scope_result	 sr;
	/* the body, client to upstream */
	enum body_mode		 body;
	uint64_t		 body_left;
	struct http_chunked	 chunked;
	int			 body_done;
	uint64_t		 bytes_in;
	/* the answer */
	struct upstream_xfer	*xfer;
	int			 status;
	int			 head_sent;
	int			 chunked_out;
	int			 no_body;
	int			 xfer_done;
	uint64_t		 bytes_out;
	uint64_t		 t_start;	/* ms */
	uint64_t		 t_us;		/* start of the stage being timed */
	uint64_t		 t0_us;		/* start of the request */
	const char		*decision;	/* for metrics */
};

static const struct config	*req_conf;
static struct chan		*req_master;
static uint64_t			 req_seq;
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
request_init(const struct config *conf, struct chan *master)
{
	req_conf = conf;
	req_master = master;
	request_api_host(conf->upstream[UPSTREAM_API]);
}

static void
request_free(struct request *r)
{
	if (r->waiter != NULL)
		tcache_cancel(r->waiter);
	if (r->xfer != NULL)
		upstream_cancel(r->xfer);
	sodium_memzero(r->token, sizeof(r->token));
	free(r->raw);
	free(r);
}

void
request_abort(struct request *r)
{
	request_free(r);
}

static const char *
now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
	    tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
	    tm.tm_sec % 100, (int)(ts.tv_nsec / 1000000) % 1000);
	return buf;
}

static void
request_record(uint16_t type, json_t *o)
{
	char *s;

	if ((s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_REAL_PRECISION(16))) != NULL) {
		chan_send(req_master, type, 0, 0, -1, s, strlen(s));
		free(s);
	}
	json_decref(o);
}

static json_t *
jstr_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

/* The audit record: before anything goes upstream. */
static void
request_audit(struct request *r, const char *decision, const char *reason,
    int status)
{
	char ts[40];
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
	    "time", now_rfc3339(ts, sizeof(ts)), "request_id", r->id,
	    "decision", decision,
	    "reason", jstr_or_null(reason),
	    "token_type", r->ttype == TOKEN_NONE ? json_null() :
	    json_string(token_type_name(r->ttype)),
	    "token", jstr_or_null(r->prefix),
	    "owner", jstr_or_null(r->owner),
	    "session", jstr_or_null(r->session));
	json_object_set_new(o, "token_id", r->token_id > 0 ?
	    json_integer(r->token_id) : json_null());
	json_object_set_new(o, "login", jstr_or_null(r->login));
	json_object_set_new(o, "method", json_string(r->method));
	json_object_set_new(o, "path", json_string(r->path));
	json_object_set_new(o, "repository", jstr_or_null(r->sr.repo));
	json_object_set_new(o, "permission", r->sr.permission ?
	    json_sprintf("%s:%s", r->sr.permission,
	    scope_level_name(r->sr.level)) : json_null());
	json_object_set_new(o, "endpoint", jstr_or_null(r->sr.template));
	json_object_set_new(o, "status", status ? json_integer(status) :
	    json_null());
	json_object_set_new(o, "duration", json_real((double)(monotime_ms() -
	    r->t_start) / 1000.0));
	request_record(MSG_AUDIT, o);
}

/* The access record, Caddy's field names: after the answer. */
static void
request_access(struct request *r)
{
	struct timespec ts;
	json_t *o, *req;
	const struct http_head *h = &r->p.head;

	clock_gettime(CLOCK_REALTIME, &ts);
	req = json_pack("{s:s, s:i, s:s, s:s, s:s%, s:s%}",
	    "remote_ip", r->conn->remote_ip, "remote_port",
	    (int)r->conn->remote_port, "proto", h->version == 10 ?
	    "HTTP/1.0" : "HTTP/1.1", "method", r->method,
	    "host", h->host_header.p ? h->host_header.p : "",
	    h->host_header.p ? h->host_header.len : 0,
	    "uri", h->target.p, h->target.len);
	o = json_pack("{s:s, s:f, s:s, s:s, s:o, s:I, s:s, s:f, s:I, s:i}",
	    "level", "info", "ts", (double)ts.tv_sec + ts.tv_nsec / 1e9,
	    "logger", "http.log.access", "msg", "handled request",
	    "request", req, "bytes_read", (json_int_t)r->bytes_in,
	    "request_id", r->id,
	    "duration", (double)(monotime_ms() - r->t_start) / 1000.0,
	    "size", (json_int_t)r->bytes_out, "status", r->status);
	if (r->owner[0] != '\0')
		json_object_set_new(o, "user_id", json_string(r->owner));
	if (r->login[0] != '\0')
		json_object_set_new(o, "login", json_string(r->login));
	request_record(MSG_ACCESS, o);
}

void
request_refused(struct conn *c, int status, size_t size)
{
	struct timespec ts;
	json_t *o;

	clock_gettime(CLOCK_REALTIME, &ts);
	o = json_pack("{s:s, s:f, s:s, s:s, s:{s:s, s:i}, s:i, s:I, s:i}",
	    "level", "info", "ts", (double)ts.tv_sec + ts.tv_nsec / 1e9,
	    "logger", "http.log.access", "msg", "refused request head",
	    "request", "remote_ip", c->remote_ip, "remote_port",
	    (int)c->remote_port, "bytes_read", 0, "size", (json_int_t)size,
	    "status", status);
	if (o != NULL)
		request_record(MSG_ACCESS, o);
	metrics_request("other", "none", status);
	metrics_stage(STAGE_TOTAL, (monotime_ms() - (c->head_t0 ?
	    c->head_t0 : c->accepted)) * 1000);
}

/* The request is over on our side: tell the connection. */
static void
request_finish(struct request *r)
{
	struct conn *c = r->conn;

	request_access(r);
	metrics_request(r->route == ROUTE_API ? "api" : "other",
	    r->decision ? r->decision : "none", r->status);
	metrics_stage(STAGE_TOTAL, monotime_us() - r->t0_us);
	if (!r->body_done)
		c->close_after = 1;	/* unread body: cannot frame more */
	request_free(r);
	conn_request_done(c);
}

static void
request_fail(struct request *r, int status, const char *message,
    const char *extra)
{
	r->status = status;
	if (!r->body_done)
		r->conn->close_after = 1;
	r->bytes_out = conn_error(r->conn, status, message, extra,
	    strcmp(r->method, "HEAD") == 0);
	request_finish(r);
}

static void
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
			return CURL_READFUNC_ABORT;
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
	return r->body_done;
}

void
request_readable(struct request *r)
{
	if (r->xfer != NULL && !r->body_done)
		upstream_resume_send(r->xfer);
}

/* --- the answer, pushed by libcurl --- */

static void
request_on_head(void *arg, int status, struct evbuffer *headers,
    int64_t content_length)
{
	struct request *r = arg;
	struct evbuffer *out = bufferevent_get_output(r->conn->bev);

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
	struct evbuffer *out = bufferevent_get_output(r->conn->bev);

	if (evbuffer_get_length(out) > CONN_OUT_HIGH)
		return -1;
	if (n == 0)
		return 0;
	if (r->chunked_out)
		evbuffer_add_printf(out, "%zx\r\n", n);
	evbuffer_add(out, p, n);
	if (r->chunked_out)
		evbuffer_add(out, "\r\n", 2);
	r->bytes_out += n;
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
	struct evbuffer *out = bufferevent_get_output(r->conn->bev);

	r->xfer = NULL;
	if (!r->head_sent) {
		log_warnx("request %s: upstream: %s", r->id, why);
		request_fail(r, status, status == 504 ?
		    "GitHub did not answer in time" :
		    "GitHub could not be reached", NULL);
		return;
	}
	if (!ok) {
		log_warnx("request %s: upstream broke off: %s", r->id, why);
		r->conn->close_after = 1;
	} else if (r->chunked_out)
		evbuffer_add(out, "0\r\n\r\n", 5);
	request_finish(r);
}

static const struct upstream_ops request_upstream_ops = {
	request_on_head, request_on_body, request_read_body, request_on_done
};

/* --- forwarding --- */

/* Is name one of the fields a Connection header lists (RFC 9110 7.6.1)? */
static int
request_named_in_connection(const struct http_head *head,
    const struct http_str *name)
{
	const struct http_str *v;
	size_t i, j, k;

	for (i = 0; i < head->nheaders; i++) {
		if (!http_str_ieq(&head->headers[i].name, "connection"))
			continue;
		v = &head->headers[i].value;
		for (j = 0; j < v->len; j = k + 1) {
			while (j < v->len && (v->p[j] == ' ' || v->p[j] == '\t' ||
			    v->p[j] == ','))
				j++;
			for (k = j; k < v->len && v->p[k] != ',' &&
			    v->p[k] != ' ' && v->p[k] != '\t'; k++)
				;
			if (k > j && k - j == name->len &&
			    strncasecmp(v->p + j, name->p, name->len) == 0)
				return 1;
		}
	}
	return 0;
}

static int
request_header_passes(const struct http_head *head,
    const struct http_header *h)
{
	static const char *drop[] = { "host", "authorization",
	    "proxy-authorization", "connection", "keep-alive",
	    "proxy-connection", "transfer-encoding", "content-length",
	    "te", "trailer", "upgrade", "expect" };
	size_t i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (http_str_ieq(&h->name, drop[i]))
			return 0;
	return !request_named_in_connection(head, &h->name);
}

static struct curl_slist *
request_headers(struct request *r, const char *cred, size_t credlen)
{
	const struct http_head *h = &r->p.head;
	struct curl_slist *list = NULL;
	char *line;
	size_t i;

	for (i = 0; i < h->nheaders; i++) {
		if (!request_header_passes(h, &h->headers[i]))
			continue;
		if (h->headers[i].value.len == 0)
			xasprintf(&line, "%.*s;", (int)h->headers[i].name.len,
			    h->headers[i].name.p);
		else
			xasprintf(&line, "%.*s: %.*s",
			    (int)h->headers[i].name.len, h->headers[i].name.p,
			    (int)h->headers[i].value.len,
			    h->headers[i].value.p);
		list = curl_slist_append(list, line);
		free(line);
	}
	if (cred != NULL) {
		xasprintf(&line, "Authorization: token %.*s", (int)credlen,
		    cred);
		list = curl_slist_append(list, line);
		sodium_memzero(line, strlen(line));
		free(line);
	} else if (h->authorization.p != NULL) {
		xasprintf(&line, "Authorization: %.*s",
		    (int)h->authorization.len, h->authorization.p);
		list = curl_slist_append(list, line);
		sodium_memzero(line, strlen(line));
		free(line);
	}
	return list;
}

static void
request_forward(struct request *r, const char *cred, size_t credlen)
{
	const struct http_head *h = &r->p.head;
	char *url;
	int64_t body_len;

	if (!upstream_usable(UPSTREAM_API)) {
		request_audit(r, "deny", "upstream host not resolved", 502);
		request_fail(r, 502, "ghp could not resolve GitHub's address "
		    "when this worker started", NULL);
		return;
	}
	r->t_us = monotime_us();
	if (r->decision == NULL)
		r->decision = "allow";
	request_audit(r, r->decision, r->sr.reason[0] ? r->sr.reason :
	    strcmp(r->decision, "pass") == 0 ? "not a ghp token: forwarded "
	    "as sent, GitHub decides" : strcmp(r->decision, "anonymous") ==
	    0 ? "no token: forwarded without one (allow anonymous)" : NULL,
	    0);
	if (h->expect_continue && !r->body_done)
		evbuffer_add_printf(bufferevent_get_output(r->conn->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
	xasprintf(&url, "%s%s%s%.*s", req_conf->upstream[UPSTREAM_API],
	    r->path, r->query ? "?" : "", (int)r->querylen,
	    r->query ? r->query : "");
	body_len = r->body == BODY_NONE ? 0 : r->body == BODY_CHUNKED ? -1 :
	    (int64_t)r->body_left;
	r->xfer = upstream_start(url, r->method, request_headers(r, cred,
	    credlen), body_len, &request_upstream_ops, r);
	free(url);
	metrics_stage(STAGE_CREDENTIAL, monotime_us() - r->t_us);
}

/* --- the token --- */

static const char *resolve_messages[] = {
	[RESOLVE_OK] = NULL,
	[RESOLVE_UNKNOWN] = "Bad credentials: not a valid ghp token",
	[RESOLVE_EXPIRED] = "Bad credentials: this ghp token has expired",
	[RESOLVE_REVOKED] = "Bad credentials: this ghp token was revoked",
	[RESOLVE_NO_CREDENTIAL] = "This ghp token's owner has no GitHub "
	    "credential stored in ghp",
	[RESOLVE_ERROR] = NULL,
};

static void
request_resolved(const struct tentry *e, void *arg)
{
	struct request *r = arg;
	char msg[SCOPE_REASON_MAX + 64];

	r->waiter = NULL;
	sodium_memzero(r->token, sizeof(r->token));
	metrics_stage(STAGE_TOKEN, monotime_us() - r->t_us);
	if (e->status != RESOLVE_OK && e->status != RESOLVE_MINT_FAILED) {
		if (e->status == RESOLVE_ERROR ||
		    e->status < 0 || e->status > RESOLVE_MINT_FAILED) {
			r->decision = "deny";
			request_audit(r, "deny", "token resolution failed", 503);
			request_fail(r, 503, "ghp cannot check tokens right now",
			    "Retry-After: 5\r\n");
		} else
			request_deny(r, 401, resolve_messages[e->status]);
		return;
	}
	r->token_id = e->token_id;
	memcpy(r->owner, e->owner, sizeof(r->owner));
	memcpy(r->prefix, e->prefix, sizeof(r->prefix));
	memcpy(r->session, e->session, sizeof(r->session));
	memcpy(r->login, e->login, sizeof(r->login));
	r->t_us = monotime_us();
	if (scope_check(&e->scope, r->method, r->path, &r->sr) != SCOPE_ALLOW) {
		metrics_stage(STAGE_SCOPE, monotime_us() - r->t_us);
		(void)snprintf(msg, sizeof(msg), "ghp: %s", r->sr.reason);
		request_deny(r, 403, msg);
		return;
	}
	metrics_stage(STAGE_SCOPE, monotime_us() - r->t_us);
	if (e->status == RESOLVE_MINT_FAILED || e->credlen == 0) {
		(void)snprintf(msg, sizeof(msg), "ghp could not get a GitHub "
		    "App token for this request: %s", e->why);
		r->status = 502;
		r->decision = "deny";
		request_audit(r, "deny", msg, 502);
		request_fail(r, 502, msg, NULL);
		return;
	}
	r->app_id = e->app_id;
	r->inst_id = e->inst_id;
	request_forward(r, e->cred, e->credlen);
}

static int
request_ghp_prefix(const char *p, size_t n)
{
	return n >= TOKEN_PREFIX_LEN && (strncmp(p, "ghx_", 4) == 0 ||
	    strncmp(p, "gha_", 4) == 0);
}

/*
 * Basic "user:password" carries the token in either half: as the
 * password (git's way), or as the user name with "x-oauth-basic" or
 * anything else as the password (GitHub's other way).  A ghp token in
 * the user name wins; otherwise the password, if any; otherwise the user.
 */
static void
request_basic_pick(const char *dec, size_t dlen, const char **p, size_t *n)
{
	const char *colon = memchr(dec, ':', dlen);
	size_t ulen = colon != NULL ? (size_t)(colon - dec) : dlen;

	if (colon == NULL || request_ghp_prefix(dec, ulen) ||
	    colon + 1 == dec + dlen) {
		*p = dec;
		*n = ulen;
	} else {
		*p = colon + 1;
		*n = dlen - ulen - 1;
	}
}

/* The token in Authorization: "token X", "Bearer X", Basic "user:X". */
static int
request_token(const struct http_str *auth, char *out, size_t outlen)
{
	char dec[512];
	const char *p = auth->p;
	size_t n = auth->len, dlen;

	if (n > 6 && strncasecmp(p, "token ", 6) == 0)
		p += 6, n -= 6;
	else if (n > 7 && strncasecmp(p, "bearer ", 7) == 0)
		p += 7, n -= 7;
	else if (n > 6 && strncasecmp(p, "basic ", 6) == 0) {
		if (sodium_base642bin((unsigned char *)dec, sizeof(dec) - 1,
		    p + 6, n - 6, NULL, &dlen, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0)
			return -1;
		dec[dlen] = '\0';
		request_basic_pick(dec, dlen, &p, &n);
	} else
		return -1;
	while (n > 0 && *p == ' ')
		p++, n--;
	if (n == 0 || n >= outlen) {
		sodium_memzero(dec, sizeof(dec));
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	sodium_memzero(dec, sizeof(dec));
	return (int)n;
}

static int
request_blocked_prefix(const char *tok)
{
	struct string_entry *se;

	TAILQ_FOREACH(se, &req_conf->block_tokens, entry)
		if (strncmp(tok, se->value, strlen(se->value)) == 0)
			return 1;
	return 0;
}

static void
request_authorize(struct request *r)
{
	const struct http_head *h = &r->p.head;
	struct twaiter *w;
	char tok[256];
	int n;

	if (h->authorization.p == NULL) {
		if (req_conf->allow_anonymous) {
			r->decision = "anonymous";
			request_forward(r, NULL, 0);
		} else
			request_deny(r, 401, "Requires authentication");
		return;
	}
	if ((n = request_token(&h->authorization, tok, sizeof(tok))) < 0) {
		request_deny(r, 401, "Bad credentials: unreadable "
		    "Authorization header");
		return;
	}
	r->ttype = token_parse(tok, (size_t)n);
	if (r->ttype == TOKEN_NONE && request_ghp_prefix(tok, (size_t)n)) {
		/* Ours, garbled: GitHub must never see it. */
		sodium_memzero(tok, sizeof(tok));
		request_deny(r, 401, "Bad credentials: not a valid ghp token");
		return;
	}
	if (r->ttype == TOKEN_NONE) {
		if (request_blocked_prefix(tok)) {
			sodium_memzero(tok, sizeof(tok));
			request_deny(r, 403, "Raw GitHub tokens are refused "
			    "here: use the ghp token you were given");
			return;
		}
		sodium_memzero(tok, sizeof(tok));
		/* Not ours: it goes as it came, and is audited. */
		r->decision = "pass";
		request_forward(r, NULL, 0);
		return;
	}
	token_display(tok, (size_t)n, r->prefix);
	memcpy(r->token, tok, (size_t)n + 1);
	sodium_memzero(tok, sizeof(tok));
	r->t_us = monotime_us();
	/*
	 * A cached answer calls request_resolved() at once, and that may
	 * end (free) r: only a pending look-up may be remembered in it.
	 */
	if ((w = tcache_lookup(r->token, (size_t)n, request_resolved,
	    r)) != NULL)
		r->waiter = w;
}

/* --- routing --- */

static int
request_host_is(const struct http_str *host, const char *name)
{
	struct http_str h;
	int port;

	if (host->p == NULL || http_split_authority(host->p, host->len, &h,
	    &port, NULL) == -1)
		return 0;
	return http_str_ieq(&h, name);
}

/*
 * API traffic: GitHub's API host, or "/api/v3/..." and "/api/graphql"
 * on any other name.  On the host of "upstream api" (a GitHub Enterprise
 * server, say) both forms are API traffic.
 */
static const char *
request_route(struct request *r, const char *target)
{
	const struct http_head *h = &r->p.head;
	const struct http_str *host = h->form == HTTP_FORM_ABSOLUTE ?
	    &h->authority : &h->host_header;
	int api_host;

	if (request_host_is(host, "api.github.com")) {
		r->route = ROUTE_API;
		return target;
	}
	api_host = req_api_host[0] != '\0' &&
	    request_host_is(host, req_api_host);
	if (request_host_is(host, "github.com") ||
	    request_host_is(host, "codeload.github.com")) {
		r->route = ROUTE_OTHER;
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
	r->route = api_host ? ROUTE_API : ROUTE_OTHER;
	return target;
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

	r = xcalloc(1, sizeof(*r));
	r->conn = c;
	r->raw = (char *)head;
	r->t_start = monotime_ms();
	r->t0_us = monotime_us();
	(void)snprintf(r->id, sizeof(r->id), "%08x%08x",
	    (unsigned int)getpid(), (unsigned int)++req_seq);
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
	t = request_route(r, target);
	if (r->route != ROUTE_API) {
		(void)snprintf(r->path, sizeof(r->path), "%s", t);
		request_fail(r, 404, "Not Found", NULL);
		return NULL;
	}
	if (path_normalize(t, r->path, sizeof(r->path), &why) == -1) {
		(void)snprintf(r->path, sizeof(r->path), "%s", t);
		c->close_after = 1;
		request_deny(r, 400, why);
		return NULL;
	}
	metrics_stage(STAGE_PARSE, monotime_us() - r->t0_us);
	request_authorize(r);
	return c->req;
}
