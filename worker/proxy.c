/*
 * proxy.c: requests on a forward-proxy listener ("listen on ... proxy").
 *
 * A client behind HTTPS_PROXY shows its ghp token in Proxy-Authorization
 * (Basic, any user name, the token as password) and asks for
 *
 *  - CONNECT host:443.  For a host ghp intercepts (web.h:
 *    web_intercepted()), the token is resolved (an unknown, expired or
 *    revoked one is a 407), a certificate for the host is had from the
 *    keyholder (certs.h), the client is told "200 Connection
 *    established", and the connection speaks TLS as that host from then
 *    on.  The requests inside go through the same pipeline as any
 *    (request.c), routed by the CONNECT host, with the proxy's token
 *    unless a request carries a ghp token of its own (proxy_inner()).
 *    Another host is tunnelled as it is when the config allows it
 *    ("proxy allow", "proxy policy permissive"; tunnel.h), and refused
 *    with a 403 otherwise; so is a GitHub host on a port but 443.
 *  - an absolute-form request (GET http://host/path): the same rules,
 *    for that one request (proxy_absolute()).
 *
 * A missing or unusable Proxy-Authorization is answered with 407 and
 * "Proxy-Authenticate: Basic realm="ghp"", which git and libcurl need
 * before they send credentials.  Everything refused is audited.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "certs.h"
#include "log.h"
#include "msg.h"
#include "request_priv.h"
#include "tunnel.h"
#include "util.h"

#define PROXY_AUTHENTICATE	"Proxy-Authenticate: Basic realm=\"ghp\"\r\n"
#define PROXY_TLS_PORT		443

static void
proxy_407(struct request *r, const char *why)
{
	r->decision = "deny";
	r->conn->close_after = 1;
	request_audit(r, "deny", why, 407);
	request_fail(r, 407, why, PROXY_AUTHENTICATE);
}

static void
proxy_refuse(struct request *r, int status, const char *why)
{
	r->conn->close_after = 1;
	request_deny(r, status, why);
}

/* The ghp token of Proxy-Authorization into r->ptoken; -1: answered 407. */
static int
proxy_take_token(struct request *r)
{
	const struct http_head *h = &r->p.head;
	char tok[256];
	int n = -1;

	if (h->proxy_authorization.p != NULL)
		n = authorize_token(&h->proxy_authorization, tok,
		    sizeof(tok));
	if (n < 0 || (r->ttype = token_parse(tok, (size_t)n)) ==
	    TOKEN_NONE) {
		if (n >= 0)
			sodium_memzero(tok, sizeof(tok));
		proxy_407(r, n < 0 ? "Proxy authentication required: a ghp "
		    "token as the password" : "Proxy authentication "
		    "required: not a valid ghp token");
		return -1;
	}
	token_display(tok, (size_t)n, r->prefix);
	memcpy(r->ptoken, tok, (size_t)n + 1);
	r->ptoken_len = (size_t)n;
	sodium_memzero(tok, sizeof(tok));
	return 0;
}

/* The request target's host, in lower case, into out; -1 if unusable. */
static int
proxy_host(const struct http_head *h, char *out, size_t outlen)
{
	size_t i;

	const char *p = h->host.p;
	size_t n = h->host.len;

	if (p != NULL && n >= 2 && p[0] == '[' && p[n - 1] == ']')
		p++, n -= 2;	/* an IPv6 address */
	if (p == NULL || n == 0 || n >= outlen)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[i] = '\0';
	return 0;
}

/* May the proxy take a request for host:port?  NULL, or why not. */
static const char *
proxy_host_refused(const char *host, int port, int tls)
{
	if (!web_host_ok(host) || (!web_intercepted(host, strlen(host)) &&
	    web_intercept_rule(req_conf, host) == -1))
		return "ghp: this proxy does not go to that host";
	if (tls && port != PROXY_TLS_PORT)
		return "ghp: only port 443 is intercepted";
	return NULL;
}

/* The connection keeps the CONNECT's token: for the requests inside,
 * and so that its revocation closes the connection (server_revoke()). */
static void
proxy_keep_token(struct conn *c, const struct request *r)
{
	c->proxy_token = xcalloc(1, r->ptoken_len + 1);
	memcpy(c->proxy_token, r->ptoken, r->ptoken_len);
	c->proxy_token_len = r->ptoken_len;
}

/* --- CONNECT, tunnelled --- */

static void
proxy_up_event(struct bufferevent *up, short what, void *arg)
{
	struct request *r = arg;
	struct conn *c = r->conn;
	char msg[320];

	if (!(what & BEV_EVENT_CONNECTED)) {
		bufferevent_free(up);
		r->cup = NULL;
		(void)snprintf(msg, sizeof(msg), "ghp could not connect to "
		    "%s", r->chost);
		proxy_refuse(r, 502, msg);
		return;
	}
	r->cup = NULL;
	r->decision = "allow";
	r->status = 200;
	proxy_keep_token(c, r);		/* a revocation closes the tunnel */
	request_audit(r, "allow", "CONNECT: tunnelled as it is", 200);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "HTTP/1.1 200 Connection established\r\n\r\n");
	request_handoff(r);
	tunnel_start(c, up, req_conf->timeout_tunnel, req_conf->timeout_idle);
}

static void
proxy_tunnel_resolved(int status, const struct sockaddr *sa, size_t salen,
    void *arg)
{
	struct request *r = arg;
	struct sockaddr_storage ss;
	char msg[320];

	r->rwait = NULL;
	if (status != 0) {
		(void)snprintf(msg, sizeof(msg), status == 1 ? "ghp: this "
		    "proxy does not go to %s" : "ghp could not find %s",
		    r->chost);
		proxy_refuse(r, status == 1 ? 403 : 502, msg);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, salen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(r->cport);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(r->cport);
	r->cup = bufferevent_socket_new(bufferevent_get_base(r->conn->bev),
	    -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->cup == NULL) {
		proxy_refuse(r, 502, "ghp could not open a connection");
		return;
	}
	bufferevent_setcb(r->cup, NULL, NULL, proxy_up_event, r);
	if (bufferevent_socket_connect(r->cup, (struct sockaddr *)&ss,
	    (int)salen) == -1) {
		bufferevent_free(r->cup);
		r->cup = NULL;
		(void)snprintf(msg, sizeof(msg), "ghp could not connect to "
		    "%s", r->chost);
		proxy_refuse(r, 502, msg);
	}
}

/* --- CONNECT --- */

static void
proxy_tls_ready(SSL_CTX *ctx, const char *why, void *arg)
{
	struct request *r = arg;
	struct conn *c = r->conn;
	char msg[160];
	SSL *ssl;

	r->cwaiter = NULL;
	if (ctx == NULL) {
		(void)snprintf(msg, sizeof(msg), "ghp could not get a "
		    "certificate for %s: %s", r->chost, why ? why : "");
		proxy_refuse(r, 502, msg);
		return;
	}
	r->decision = "allow";
	request_audit(r, "allow", "CONNECT: intercepted", 200);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "HTTP/1.1 200 Connection established\r\n\r\n");
	r->status = 200;
	if ((ssl = SSL_new(ctx)) == NULL || conn_start_tls(c, ssl) == -1) {
		log_warnx("request %s: cannot start TLS", r->id);
		c->close_after = 1;
	} else {
		c->tunnel_host = xstrdup(r->chost);
		proxy_keep_token(c, r);
	}
	request_finish(r);
}

static void
proxy_token_resolved(const struct tentry *e, void *arg)
{
	struct request *r = arg;
	struct cwaiter *w;

	r->waiter = NULL;
	if (e->status == RESOLVE_ERROR || e->status < 0) {
		proxy_refuse(r, 503, "ghp cannot check tokens right now");
		return;
	}
	/* A token without a GitHub credential behind it is still a token. */
	if (e->status != RESOLVE_OK && e->status != RESOLVE_MINT_FAILED &&
	    e->status != RESOLVE_NO_CREDENTIAL) {
		proxy_407(r, "Proxy authentication required: this ghp token "
		    "is unknown, expired or revoked");
		return;
	}
	r->token_id = e->token_id;
	memcpy(r->owner, e->owner, sizeof(r->owner));
	memcpy(r->session, e->session, sizeof(r->session));
	memcpy(r->login, e->login, sizeof(r->login));
	if (r->ctunnel) {
		if ((r->rwait = tunnel_resolve(r->chost, proxy_tunnel_resolved,
		    r)) == NULL)
			proxy_refuse(r, 502, "ghp cannot look names up now");
		return;
	}
	/*
	 * A certificate kept calls proxy_tls_ready() now, which ends (frees)
	 * r: only a pending one may be remembered in it.
	 */
	if ((w = certs_get(r->chost, proxy_tls_ready, r)) != NULL)
		r->cwaiter = w;
}

void
proxy_connect(struct request *r)
{
	const struct http_head *h = &r->p.head;
	char host[256];
	const char *why;
	struct twaiter *w;

	(void)snprintf(r->path, sizeof(r->path), "%.*s",
	    (int)h->authority.len, h->authority.p);
	r->conn->close_after = 1;	/* unless intercepted */
	if (proxy_take_token(r) == -1)
		return;
	if (proxy_host(h, host, sizeof(host)) == -1 ||
	    !web_host_or_address(host) || h->port <= 0) {
		proxy_refuse(r, 400, "Bad CONNECT target");
		return;
	}
	if (web_tunnel_allowed(req_conf, host))
		r->ctunnel = 1;
	else if ((why = proxy_host_refused(host, h->port, 1)) != NULL) {
		proxy_refuse(r, 403, why);
		return;
	}
	r->chost = xstrdup(host);
	r->cport = h->port;
	r->conn->close_after = 0;
	if ((w = tcache_lookup(r->ptoken, r->ptoken_len, TCACHE_GITHUB,
	    proxy_token_resolved, r)) != NULL)
		r->waiter = w;
}

/* --- requests in the clear: absolute-form --- */

int
proxy_absolute(struct request *r)
{
	char host[256];
	const char *why;

	(void)snprintf(r->path, sizeof(r->path), "%.*s",
	    (int)r->p.head.target.len, r->p.head.target.p);
	if (proxy_take_token(r) == -1)
		return -1;
	if (proxy_host(&r->p.head, host, sizeof(host)) == -1 ||
	    !web_host_or_address(host)) {
		proxy_refuse(r, 400, "Bad request target");
		return -1;
	}
	if (web_tunnel_allowed(req_conf, host) &&
	    http_str_ieq(&r->p.head.scheme, "http")) {
		/* Passed as it is: intercept.c without a block. */
		r->chost = xstrdup(host);
		r->cport = r->p.head.port > 0 ? r->p.head.port : 80;
		r->icpt = -1;
		return 1;
	}
	if (web_intercept_rule(req_conf, host) != -1) {
		proxy_refuse(r, 403, "ghp: use https for this host");
		return -1;
	}
	if ((why = proxy_host_refused(host, r->p.head.port, 0)) != NULL) {
		proxy_refuse(r, 403, why);
		return -1;
	}
	return 0;
}

/* --- inside an intercepted CONNECT --- */

int
proxy_inner(struct request *r)
{
	struct conn *c = r->conn;
	const struct http_str *hh = &r->p.head.host_header;
	struct http_str name;
	int port;

	if (hh->p == NULL || http_split_authority(hh->p, hh->len, &name,
	    &port, NULL) == -1 || !http_str_ieq(&name, c->tunnel_host) ||
	    (port != -1 && port != PROXY_TLS_PORT)) {
		proxy_refuse(r, 400, "Host is not the host of the CONNECT");
		return -1;
	}
	memcpy(r->ptoken, c->proxy_token, c->proxy_token_len);
	r->ptoken[c->proxy_token_len] = '\0';
	r->ptoken_len = c->proxy_token_len;
	return 0;
}

void
proxy_abort(struct request *r)
{
	if (r->cwaiter != NULL)
		certs_cancel(r->cwaiter);
	r->cwaiter = NULL;
	if (r->rwait != NULL)
		tunnel_resolve_cancel(r->rwait);
	r->rwait = NULL;
	if (r->cup != NULL)
		bufferevent_free(r->cup);
	r->cup = NULL;
	free(r->chost);
	r->chost = NULL;
}
