/*
 * graphql.c: POST /graphql with a ghx_ token (contracts in
 * request_priv.h and common/gql_scope.h).
 *
 * authorize.c reads the body whole (request_collect(), at most
 * GRAPHQL_BODY_MAX) before it resolves the token; graphql_decide() runs
 * gql_check() on it with the token's scope.  A refusal is a 403 (400 for
 * a malformed request) in GitHub's error shape, naming the field and
 * what is missing.  A mutation whose targets are node IDs waits for one
 * more request: the GhpNodeRepositories query, sent to GitHub with the
 * token owner's credential (which is kept, zeroed after, only for that
 * long); its answer (at most GRAPHQL_ANSWER_MAX bytes) says which
 * repository each target is in, and the request goes on only when every
 * one is the token's.  Nothing of that query reaches the client.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <sodium.h>

#include "gql_scope.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "request_priv.h"
#include "upstream.h"
#include "util.h"

#define GRAPHQL_ANSWER_MAX	(64 * 1024)

struct graphql {
	struct gql_result	 res;
	/* a mutation's targets, being asked */
	struct scope		*scope;
	char			*cred;
	size_t			 credlen;
	char			*qbody;
	size_t			 qlen, qoff;
	struct evbuffer		*answer;
	int			 status;
	int			 too_long;
};

int
graphql_wanted(const struct request *r)
{
	return r->route == ROUTE_API && r->ttype == TOKEN_USER &&
	    strcmp(r->path, "/graphql") == 0 && strcmp(r->method, "POST") == 0;
}

static void
graphql_forget_cred(struct graphql *g)
{
	if (g->cred != NULL) {
		sodium_memzero(g->cred, g->credlen);
		free(g->cred);
		g->cred = NULL;
	}
	if (g->qbody != NULL) {
		free(g->qbody);
		g->qbody = NULL;
	}
	if (g->answer != NULL) {
		evbuffer_free(g->answer);
		g->answer = NULL;
	}
	free(g->scope);
	g->scope = NULL;
}

void
graphql_free(struct request *r)
{
	if (r->gql == NULL)
		return;
	graphql_forget_cred(r->gql);
	free(r->gql);
	r->gql = NULL;
}

void
graphql_audit(const struct request *r, struct jsonw *w)
{
	const struct gql_result *res;

	if (r->gql == NULL || (res = &r->gql->res)->kind == NULL)
		return;
	jsonw_open(w, "graphql");
	jsonw_str(w, "type", res->kind);
	jsonw_str_null(w, "operation", res->operation);
	jsonw_close(w);
}

static void
graphql_refuse(struct request *r)
{
	char msg[SCOPE_REASON_MAX + 8];
	int status = r->sr.code == SCOPE_E_REQUEST ? 400 : 403;

	(void)snprintf(msg, sizeof(msg), "ghp: %s", r->sr.reason);
	request_deny(r, status, msg);
}

/* --- the targets' query --- */

static void
graphql_q_head(void *arg, int status, struct evbuffer *headers,
    int64_t content_length)
{
	struct request *r = arg;

	r->gql->status = status;
}

static int
graphql_q_body(void *arg, const char *p, size_t n)
{
	struct graphql *g = ((struct request *)arg)->gql;

	if (evbuffer_get_length(g->answer) + n > GRAPHQL_ANSWER_MAX)
		g->too_long = 1;
	else
		evbuffer_add(g->answer, p, n);
	return 0;
}

static long
graphql_q_read(void *arg, char *buf, size_t len)
{
	struct graphql *g = ((struct request *)arg)->gql;
	size_t n = g->qlen - g->qoff;

	if (n > len)
		n = len;
	memcpy(buf, g->qbody + g->qoff, n);
	g->qoff += n;
	return (long)n;
}

static void
graphql_q_done(void *arg, int ok, int status, const char *why)
{
	struct request *r = arg;
	struct graphql *g = r->gql;
	size_t len = evbuffer_get_length(g->answer);
	const char *answer = (const char *)evbuffer_pullup(g->answer, -1);

	r->xfer = NULL;
	metrics_stage(STAGE_SCOPE, monotime_us() - r->t_us);
	if (!ok || g->status != 200 || g->too_long) {
		log_warnx("request %s: the GraphQL targets' query failed: %s",
		    r->id, ok ? (g->too_long ? "answer too long" :
		    "GitHub did not answer 200") : why);
		graphql_forget_cred(g);
		r->sr.code = SCOPE_E_REPO;
		request_deny(r, 502, "ghp could not ask GitHub which "
		    "repositories the objects this request names are in");
		return;
	}
	if (gql_targets_check(g->scope, answer ? answer : "", len,
	    &g->res) != SCOPE_ALLOW) {
		graphql_forget_cred(g);
		r->sr = g->res.sr;
		graphql_refuse(r);
		return;
	}
	r->sr = g->res.sr;
	request_forward(r, g->cred, g->credlen);
	graphql_forget_cred(g);
}

static const struct upstream_ops graphql_q_ops = {
	graphql_q_head, graphql_q_body, graphql_q_read, graphql_q_done, NULL
};

static void
graphql_ask_targets(struct request *r, const struct tentry *e)
{
	struct graphql *g = r->gql;
	struct curl_slist *h = NULL;
	char *line, *url;

	g->scope = xcalloc(1, sizeof(*g->scope));
	memcpy(g->scope, &e->scope, sizeof(*g->scope));
	g->cred = xcalloc(1, e->credlen + 1);
	memcpy(g->cred, e->cred, e->credlen);
	g->credlen = e->credlen;
	g->answer = evbuffer_new();
	if ((g->qbody = gql_targets_request(&g->res, &g->qlen)) == NULL ||
	    g->answer == NULL)
		fatal("graphql: out of memory");
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "User-Agent: ghp");
	if (authorize_enterprise_line() != NULL)
		h = curl_slist_append(h, authorize_enterprise_line());
	xasprintf(&line, "Authorization: token %.*s", (int)g->credlen,
	    g->cred);
	h = curl_slist_append(h, line);
	sodium_memzero(line, strlen(line));
	free(line);
	xasprintf(&url, "%s/graphql", req_conf->upstream[UPSTREAM_API]);
	r->xfer = upstream_start(url, "POST", h, (int64_t)g->qlen,
	    &graphql_q_ops, r);
	free(url);
}

int
graphql_decide(struct request *r, const struct tentry *e)
{
	struct graphql *g;

	g = r->gql = xcalloc(1, sizeof(*r->gql));
	if (gql_check(&e->scope, r->mbody, r->mbody_len, &g->res) !=
	    SCOPE_ALLOW) {
		metrics_stage(STAGE_SCOPE, monotime_us() - r->t_us);
		r->sr = g->res.sr;
		graphql_refuse(r);
		return 1;
	}
	r->sr = g->res.sr;
	if (g->res.ntargets == 0 || e->status != RESOLVE_OK ||
	    e->credlen == 0)
		return 0;
	if (!upstream_usable(r->up))
		return 0;	/* request_forward() answers the 502 */
	r->app_id = e->app_id;
	r->inst_id = e->inst_id;
	graphql_ask_targets(r, e);
	return 1;
}
