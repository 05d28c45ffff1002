/*
 * authorize.c: the client token of a request: found in Authorization,
 * resolved through the worker's cache and the keyholder (tcache.h),
 * checked against the request (scope.h for the API, web.h for GitHub's
 * other hosts), and swapped for the credential that goes upstream.  See
 * request_priv.h.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <sodium.h>

#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "request_priv.h"
#include "upstream.h"
#include "util.h"

#define ENTERPRISE_HEADER	"sec-GitHub-allowed-enterprise"

extern const struct upstream_ops request_upstream_ops;

static char	*enterprise_line;	/* "sec-GitHub-...: slug", or NULL */

void
authorize_init(const struct config *conf)
{
	if (conf->enterprise != NULL)
		xasprintf(&enterprise_line, "%s: %s", ENTERPRISE_HEADER,
		    conf->enterprise);
}

const char *
authorize_enterprise_line(void)
{
	return enterprise_line;
}

/* Is name one of the fields a Connection header lists (RFC 9110 7.6.1)? */
int
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
	    "te", "trailer", "upgrade", "expect",
	    "sec-github-allowed-enterprise" };
	size_t i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (http_str_ieq(&h->name, drop[i]))
			return 0;
	return !request_named_in_connection(head, &h->name);
}

/* "Authorization: ..." carrying cred the way the upstream takes it. */
static char *
request_cred_line(enum cred_style style, const char *cred, size_t credlen)
{
	static const char user[] = "x-access-token:";
	char plain[600], b64[sizeof(plain) * 4 / 3 + 4], *line;
	size_t n;

	if (style == CRED_BEARER)
		xasprintf(&line, "Authorization: Bearer %.*s", (int)credlen,
		    cred);
	else if (style == CRED_TOKEN || credlen + sizeof(user) >
	    sizeof(plain))
		xasprintf(&line, "Authorization: token %.*s", (int)credlen,
		    cred);
	else {
		n = sizeof(user) - 1;
		memcpy(plain, user, n);
		memcpy(plain + n, cred, credlen);
		sodium_bin2base64(b64, sizeof(b64), (unsigned char *)plain,
		    n + credlen, sodium_base64_VARIANT_ORIGINAL);
		xasprintf(&line, "Authorization: Basic %s", b64);
		sodium_memzero(plain, sizeof(plain));
		sodium_memzero(b64, sizeof(b64));
	}
	return line;
}

char *
request_header_line(const struct http_header *h)
{
	char *line;

	xasprintf(&line, "%.*s:%s%.*s", (int)h->name.len, h->name.p,
	    h->value.len > 0 ? " " : "", (int)h->value.len, h->value.p);
	return line;
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
		line = request_header_line(&h->headers[i]);
		list = curl_slist_append(list, line);
		free(line);
	}
	if (enterprise_line != NULL && (r->route == ROUTE_API ||
	    r->up == UPSTREAM_WEB || r->up == UPSTREAM_COPILOT))
		list = curl_slist_append(list, enterprise_line);
	if (cred != NULL) {
		line = request_cred_line(r->style, cred, credlen);
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

void
request_forward(struct request *r, const char *cred, size_t credlen)
{
	const struct http_head *h = &r->p.head;
	char *url;
	int64_t body_len;

	if (r->route != ROUTE_INTERCEPT && !upstream_usable(r->up)) {
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
	if (h->expect_continue && !r->body_done && !r->continued)
		evbuffer_add_printf(bufferevent_get_output(r->conn->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
	body_len = r->body == BODY_NONE ? 0 : r->body == BODY_CHUNKED ? -1 :
	    r->body == BODY_MEM ? (int64_t)r->mbody_len :
	    (int64_t)r->body_left;
	if (r->route == ROUTE_INTERCEPT) {
		if (r->icpt < 0)
			xasprintf(&url, "http://%s%s%s:%d%s%s%.*s",
			    intercept_v6(r) ? "[" : "", r->chost,
			    intercept_v6(r) ? "]" : "", r->cport, r->path,
			    r->query ? "?" : "", (int)r->querylen,
			    r->query ? r->query : "");
		else
			xasprintf(&url, "https://%s%s%s%.*s",
			    r->conn->tunnel_host, r->path, r->query ? "?" : "",
			    (int)r->querylen, r->query ? r->query : "");
		r->up_headers = intercept_headers(r, cred, cred ? credlen : 0);
	} else {
		xasprintf(&url, "%s%s%s%.*s", req_conf->upstream[r->up],
		    r->path, r->query ? "?" : "", (int)r->querylen,
		    r->query ? r->query : "");
		r->up_headers = request_headers(r, cred, credlen);
	}
	r->up_url = url;
	r->up_body_len = body_len;
	metrics_stage(STAGE_CREDENTIAL, monotime_us() - r->t_us);
	/* Its audit record goes to the master first (records.c). */
	records_then_start(r);
}

void
request_start_upstream(struct request *r)
{
	struct curl_slist *headers = r->up_headers;
	char *url = r->up_url;

	r->up_headers = NULL;
	r->up_url = NULL;
	if (r->route == ROUTE_INTERCEPT)
		r->xfer = upstream_start_to(url, r->connect_to, r->method,
		    headers, r->up_body_len, &request_upstream_ops, r);
	else
		r->xfer = upstream_start(url, r->method, headers,
		    r->up_body_len, &request_upstream_ops, r);
	free(url);
}

void
request_unstarted_free(struct request *r)
{
	upstream_headers_free(r->up_headers);
	r->up_headers = NULL;
	free(r->up_url);
	r->up_url = NULL;
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
	if (e->status == RESOLVE_NO_OAUTH) {
		request_deny(r, 403, "Copilot through ghp needs the token "
		    "owner's GitHub OAuth token (gho_ or ghu_) stored in ghp");
		return;
	}
	if (e->status != RESOLVE_OK && e->status != RESOLVE_MINT_FAILED) {
		if (e->status == RESOLVE_ERROR ||
		    e->status < 0 || e->status > RESOLVE_NO_OAUTH) {
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
	if (graphql_wanted(r)) {
		if (graphql_decide(r, e))
			return;
	} else if ((r->route == ROUTE_API ? scope_check(&e->scope, r->method,
	    r->path, &r->sr) : web_check(&e->scope, &r->wt, &r->sr)) !=
	    SCOPE_ALLOW) {
		metrics_stage(STAGE_SCOPE, monotime_us() - r->t_us);
		(void)snprintf(msg, sizeof(msg), "ghp: %s", r->sr.reason);
		request_deny(r, 403, msg);
		return;
	}
	metrics_stage(STAGE_SCOPE, monotime_us() - r->t_us);
	if (e->status == RESOLVE_MINT_FAILED || e->credlen == 0) {
		(void)snprintf(msg, sizeof(msg), "ghp could not get a %s "
		    "token for this request: %s", r->wt.kind == WEB_COPILOT ?
		    "Copilot" : "GitHub App", e->why);
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

int
authorize_ghp_prefix(const char *p, size_t n)
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

	if (colon == NULL || authorize_ghp_prefix(dec, ulen) ||
	    colon + 1 == dec + dlen) {
		*p = dec;
		*n = ulen;
	} else {
		*p = colon + 1;
		*n = dlen - ulen - 1;
	}
}

/* The token in Authorization: "token X", "Bearer X", Basic "user:X". */
int
authorize_token(const struct http_str *auth, char *out, size_t outlen)
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

/*
 * No Authorization.  Copilot's traffic passes as it is; anything else
 * only with "allow anonymous", and git not even then with "block
 * anonymous git".  Off the API, the 401 asks for Basic credentials, so
 * that git turns to its credential helper.
 */
static void
request_anonymous(struct request *r)
{
	int git = r->route == ROUTE_WEB && (r->wt.kind == WEB_GIT_REFS ||
	    r->wt.kind == WEB_GIT_PACK);
	int blocked = git && req_conf->block_anonymous_git;

	if (r->route == ROUTE_WEB && r->wt.kind == WEB_COPILOT) {
		r->decision = "pass";
		request_forward(r, NULL, 0);
		return;
	}
	if (req_conf->allow_anonymous && !blocked) {
		r->decision = "anonymous";
		request_forward(r, NULL, 0);
		return;
	}
	r->decision = "deny";
	request_audit(r, "deny", blocked ? "anonymous git is blocked" :
	    "Requires authentication", 401);
	request_fail(r, 401, "Requires authentication", r->route ==
	    ROUTE_API ? NULL : "WWW-Authenticate: Basic realm=\"GitHub\"\r\n");
}

/* The token is in r->token: look it up (the cache, or the keyholder). */
static void
request_lookup(struct request *r)
{
	struct twaiter *w;
	int copilot = r->route == ROUTE_WEB && r->wt.kind == WEB_COPILOT;

	r->t_us = monotime_us();
	/*
	 * A cached answer calls request_resolved() at once, and that may
	 * end (free) r: only a pending look-up may be remembered in it.
	 */
	if ((w = tcache_lookup(r->token, strlen(r->token), copilot ?
	    TCACHE_COPILOT : TCACHE_GITHUB, request_resolved, r)) != NULL)
		r->waiter = w;
}

void
request_authorize(struct request *r)
{
	const struct http_head *h = &r->p.head;
	char tok[256];
	int n, copilot = r->route == ROUTE_WEB && r->wt.kind == WEB_COPILOT;

	if (r->ptoken_len > 0) {
		/*
		 * Through the forward proxy: a ghp token of the request's
		 * own, else the proxy's; whatever else Authorization held
		 * (a placeholder) is dropped.
		 */
		n = h->authorization.p == NULL ? -1 :
		    authorize_token(&h->authorization, tok, sizeof(tok));
		if (n < 0 || token_parse(tok, (size_t)n) == TOKEN_NONE) {
			memcpy(tok, r->ptoken, r->ptoken_len + 1);
			n = (int)r->ptoken_len;
		}
	} else if (h->authorization.p == NULL) {
		request_anonymous(r);
		return;
	} else if ((n = authorize_token(&h->authorization, tok,
	    sizeof(tok))) < 0) {
		request_deny(r, 401, "Bad credentials: unreadable "
		    "Authorization header");
		return;
	}
	r->ttype = token_parse(tok, (size_t)n);
	if (r->ttype == TOKEN_NONE && authorize_ghp_prefix(tok, (size_t)n)) {
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
	if (copilot && r->ttype == TOKEN_AGENT) {
		sodium_memzero(tok, sizeof(tok));
		request_deny(r, 403, "ghp: Copilot needs a user's ghx_ token, "
		    "not an agent's");
		return;
	}
	memcpy(r->token, tok, (size_t)n + 1);
	sodium_memzero(tok, sizeof(tok));
	if (graphql_wanted(r))
		request_collect(r, GRAPHQL_BODY_MAX, "ghp: a GraphQL request "
		    "body over 256 KiB is refused for ghx_ tokens",
		    request_lookup);
	else
		request_lookup(r);
}
