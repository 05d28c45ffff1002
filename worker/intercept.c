/*
 * intercept.c: requests inside an intercepted CONNECT to a host of an
 * "intercept" block (ghp.conf(5)): agents calling an API whose key they
 * do not hold.
 *
 * The host's address comes from the master (tunnel_resolve()); the
 * block's stored credential from the keyholder, for the proxy's client
 * token (tcache.h, TCACHE_INTERCEPT).  The request goes to
 * https://HOST/path as the client sent it (path and query untouched,
 * Authorization included), except that each header the block names is
 * replaced by one holding the credential, and each placeholder found in
 * a header value is replaced by the credential.  An Authorization
 * holding a ghp token is dropped: ghp's tokens never leave for another
 * host.  So is a placeholder
 * in a request body of at most INTERCEPT_BODY_MAX bytes with a
 * Content-Length (read whole first, then sent with its new length);
 * larger and chunked bodies pass as they are.
 *
 * The same path, without a block (r->icpt -1), forwards a plain-HTTP
 * absolute-form request to a host a tunnel could go to ("proxy allow"):
 * as the client sent it, after the proxy's token was found valid.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "log.h"
#include "msg.h"
#include "request_priv.h"
#include "tunnel.h"
#include "util.h"

#define INTERCEPT_BODY_MAX	(64 * 1024)

static const struct intercept_conf *
intercept_conf(const struct request *r)
{
	return r->icpt < 0 ? NULL : web_intercept_conf(req_conf, r->icpt);
}

/* Where the request goes: the intercepted host, or the plain one's. */
static const char *
intercept_host(const struct request *r)
{
	return r->icpt < 0 ? r->chost : r->conn->tunnel_host;
}

/* An IPv6 address, to be written in brackets in URLs. */
int
intercept_v6(const struct request *r)
{
	return strchr(intercept_host(r), ':') != NULL;
}

static int
intercept_port(const struct request *r)
{
	return r->icpt < 0 ? r->cport : 443;
}

static int
intercept_named(const struct intercept_conf *ic, const struct http_str *n)
{
	const struct string_entry *s;

	TAILQ_FOREACH(s, &ic->headers, entry)
		if (http_str_ieq(n, s->value))
			return 1;
	return 0;
}

/* The length of the placeholder at v (before end), or 0. */
static size_t
intercept_placeholder_at(const struct intercept_conf *ic, const char *v,
    const char *end)
{
	const struct string_entry *s;
	size_t n;

	TAILQ_FOREACH(s, &ic->placeholders, entry) {
		n = strlen(s->value);
		if ((size_t)(end - v) >= n && memcmp(v, s->value, n) == 0)
			return n;
	}
	return 0;
}

/* p..end with every placeholder replaced by cred, into out (or count). */
static size_t
intercept_replace(const struct intercept_conf *ic, const char *p,
    const char *end, const char *cred, size_t credlen, char *out)
{
	size_t n, len = 0;

	while (p < end) {
		if ((n = intercept_placeholder_at(ic, p, end)) > 0) {
			if (out != NULL)
				memcpy(out + len, cred, credlen);
			len += credlen;
			p += n;
		} else {
			if (out != NULL)
				out[len] = *p;
			len++;
			p++;
		}
	}
	return len;
}

/* "Name: value" with every placeholder in value replaced by cred. */
static char *
intercept_line(const struct intercept_conf *ic, const struct http_header *h,
    const char *cred, size_t credlen)
{
	const char *end = h->value.p + h->value.len;
	char *line;
	size_t len;

	len = intercept_replace(ic, h->value.p, end, cred, credlen, NULL);
	line = xcalloc(1, h->name.len + 2 + len + 1);
	len = (size_t)sprintf(line, "%.*s%s", (int)h->name.len, h->name.p,
	    h->value.len > 0 ? ": " : ":");
	(void)intercept_replace(ic, h->value.p, end, cred, credlen,
	    line + len);
	return line;
}

/* A body held whole: its placeholders replaced. */
static void
intercept_body(struct request *r, const struct intercept_conf *ic,
    const char *cred, size_t credlen)
{
	const char *end = r->mbody + r->mbody_len;
	size_t len;
	char *b;

	len = intercept_replace(ic, r->mbody, end, cred, credlen, NULL);
	b = xcalloc(1, len + 1);
	(void)intercept_replace(ic, r->mbody, end, cred, credlen, b);
	sodium_memzero(r->mbody, r->mbody_len);
	free(r->mbody);
	r->mbody = b;
	r->mbody_len = len;
}

/* An Authorization that holds a ghp token: it never leaves ghp. */
static int
intercept_ghp_token(const struct http_header *h)
{
	char tok[256];
	int n;

	if (!http_str_ieq(&h->name, "authorization") ||
	    (n = authorize_token(&h->value, tok, sizeof(tok))) < 0)
		return 0;
	n = authorize_ghp_prefix(tok, (size_t)n);
	sodium_memzero(tok, sizeof(tok));
	return n;
}

struct curl_slist *
intercept_headers(struct request *r, const char *cred, size_t credlen)
{
	static const char *drop[] = { "host", "proxy-authorization",
	    "connection", "keep-alive", "proxy-connection",
	    "transfer-encoding", "content-length", "te", "trailer",
	    "upgrade", "expect" };
	const struct intercept_conf *ic = intercept_conf(r);
	const struct http_head *h = &r->p.head;
	const struct string_entry *s;
	struct curl_slist *list = NULL;
	char *line;
	size_t i, k;

	for (i = 0; i < h->nheaders; i++) {
		for (k = 0; k < sizeof(drop) / sizeof(drop[0]); k++)
			if (http_str_ieq(&h->headers[i].name, drop[k]))
				break;
		if (k < sizeof(drop) / sizeof(drop[0]) ||
		    request_named_in_connection(h, &h->headers[i].name) ||
		    intercept_ghp_token(&h->headers[i]) ||
		    (ic != NULL && intercept_named(ic, &h->headers[i].name)))
			continue;
		if (ic != NULL)
			line = intercept_line(ic, &h->headers[i], cred,
			    credlen);
		else
			line = request_header_line(&h->headers[i]);
		list = curl_slist_append(list, line);
		sodium_memzero(line, strlen(line));
		free(line);
	}
	if (ic == NULL)
		return list;
	TAILQ_FOREACH(s, &ic->headers, entry) {
		xasprintf(&line, "%s: %.*s", s->value, (int)credlen, cred);
		list = curl_slist_append(list, line);
		sodium_memzero(line, strlen(line));
		free(line);
	}
	return list;
}

static void
intercept_resolved(const struct tentry *e, void *arg)
{
	struct request *r = arg;
	char msg[160];

	r->waiter = NULL;
	sodium_memzero(r->token, sizeof(r->token));
	r->token_id = e->token_id;
	memcpy(r->owner, e->owner, sizeof(r->owner));
	memcpy(r->session, e->session, sizeof(r->session));
	if (e->status == RESOLVE_NO_CREDENTIAL && r->icpt < 0) {
		/* Passed as it is: no GitHub credential is wanted. */
		r->decision = "allow";
		(void)snprintf(r->sr.reason, sizeof(r->sr.reason), "forwarded "
		    "as it is (proxy allow)");
		request_forward(r, NULL, 0);
		return;
	}
	if (e->status == RESOLVE_NO_CREDENTIAL) {
		(void)snprintf(msg, sizeof(msg), "ghp has no credential "
		    "\"%s\" stored for this host", intercept_conf(r) ?
		    intercept_conf(r)->credential : "?");
		request_deny(r, 502, msg);
		return;
	}
	if (e->status != RESOLVE_OK || (r->icpt >= 0 && e->credlen == 0)) {
		request_deny(r, e->status == RESOLVE_ERROR ? 503 : 401,
		    e->status == RESOLVE_ERROR ? "ghp cannot check tokens "
		    "right now" : "Bad credentials: the proxy's ghp token is "
		    "no longer valid");
		return;
	}
	r->decision = "allow";
	if (r->icpt < 0) {
		(void)snprintf(r->sr.reason, sizeof(r->sr.reason), "forwarded "
		    "as it is (proxy allow)");
		request_forward(r, NULL, 0);
		return;
	}
	(void)snprintf(r->sr.reason, sizeof(r->sr.reason), "intercept: "
	    "credential \"%s\"", intercept_conf(r)->credential);
	if (r->body == BODY_MEM)
		intercept_body(r, intercept_conf(r), e->cred, e->credlen);
	request_forward(r, e->cred, e->credlen);
}

static void	intercept_ask_token(struct request *);

/* Is the whole body here?  Then hold it, and go on to the token. */
void
intercept_body_more(struct request *r)
{
	struct evbuffer *in = bufferevent_get_input(r->conn->bev);

	if (evbuffer_get_length(in) < r->body_left) {
		bufferevent_enable(r->conn->bev, EV_READ);
		return;
	}
	r->body_wait = 0;
	r->mbody_len = (size_t)r->body_left;
	r->mbody = xcalloc(1, r->mbody_len + 1);
	evbuffer_remove(in, r->mbody, r->mbody_len);
	r->bytes_in = r->mbody_len;
	r->body_left = 0;
	r->body = BODY_MEM;
	intercept_ask_token(r);
}

/* The address is known: the body first, if placeholders may be in it. */
static void
intercept_go(struct request *r)
{
	const struct intercept_conf *ic = intercept_conf(r);

	if (ic == NULL || TAILQ_EMPTY(&ic->placeholders) ||
	    r->body != BODY_LENGTH ||
	    r->body_left > INTERCEPT_BODY_MAX) {
		intercept_ask_token(r);
		return;
	}
	if (r->p.head.expect_continue) {
		evbuffer_add_printf(bufferevent_get_output(r->conn->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
		r->continued = 1;
	}
	r->body_wait = 1;
	intercept_body_more(r);
}

static void
intercept_addr(int status, const struct sockaddr *sa, size_t salen,
    void *arg)
{
	struct request *r = arg;
	char addr[INET6_ADDRSTRLEN];
	const void *a;

	r->rwait = NULL;
	a = sa == NULL ? NULL : sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (status != 0 || a == NULL || inet_ntop(sa->sa_family, a, addr,
	    sizeof(addr)) == NULL) {
		request_deny(r, 502, "ghp could not find the host's address");
		return;
	}
	xasprintf(&r->connect_to, "%s%s%s:%d:%s%s%s:%d",
	    intercept_v6(r) ? "[" : "", intercept_host(r),
	    intercept_v6(r) ? "]" : "", intercept_port(r),
	    sa->sa_family == AF_INET6 ? "[" : "", addr,
	    sa->sa_family == AF_INET6 ? "]" : "", intercept_port(r));
	intercept_go(r);
}

static void
intercept_ask_token(struct request *r)
{
	struct twaiter *w;

	if ((w = tcache_lookup(r->ptoken, r->ptoken_len, r->icpt < 0 ?
	    TCACHE_GITHUB : TCACHE_INTERCEPT + r->icpt, intercept_resolved,
	    r)) != NULL)
		r->waiter = w;
}

void
intercept_start(struct request *r)
{
	const struct intercept_conf *ic = intercept_conf(r);

	/* For the audit record: the proxy's token, shown short. */
	r->ttype = token_parse(r->ptoken, r->ptoken_len);
	token_display(r->ptoken, r->ptoken_len, r->prefix);

	if (ic == NULL && r->icpt >= 0) {
		request_deny(r, 502, "ghp no longer intercepts this host");
		return;
	}
	if (ic != NULL && ic->via != NULL) {
		xasprintf(&r->connect_to, "%s:443:%s", r->conn->tunnel_host,
		    ic->via);
		intercept_go(r);
		return;
	}
	if ((r->rwait = tunnel_resolve(intercept_host(r), intercept_addr,
	    r)) == NULL)
		request_deny(r, 502, "ghp cannot look names up now");
}
