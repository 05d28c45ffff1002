/*
 * sites.c: requests for GitHub's hosts other than the API (web.h), after
 * routing and before the token: what each kind needs, where it goes,
 * how its credential is sent, and the release and archive policies
 * ("releases", "codeload" in ghp.conf(5)) that refuse some or redirect
 * them to a mirror, optionally after checking with HEAD that the mirror
 * has the file.  See request_priv.h.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "log.h"
#include "netrc.h"
#include "request.h"
#include "request_priv.h"
#include "upstream.h"
#include "util.h"

enum { MIRROR_RELEASES, MIRROR_CODELOAD, MIRROR_MAX };

/* A mirror ghp checks before redirecting to it. */
struct mirror {
	int		 usable;	/* its host was found at start */
	int		 netrc_bad;	/* credentials wanted, none read */
	char		*auth;		/* "Authorization: Basic ...", or NULL */
};

struct sites_check {
	struct request		*r;
	struct upstream_xfer	*xfer;
	char			*location;
	int			 status;
};

static struct mirror	mirrors[MIRROR_MAX];

static const char *
sites_policy_name(int which)
{
	return which == MIRROR_RELEASES ? "releases" : "codeload";
}

/* The Authorization line for the mirror's host, from its netrc file. */
static void
sites_read_netrc(struct mirror *m, const char *path, const char *url)
{
	char login[NETRC_WORD_MAX], pass[NETRC_WORD_MAX], why[512];
	char plain[2 * NETRC_WORD_MAX], b64[sizeof(plain) * 4 / 3 + 4];

	m->netrc_bad = 1;
	if (netrc_read_file(path, url, login, sizeof(login), pass,
	    sizeof(pass), why, sizeof(why)) != 0)
		log_warnx("%s: mirror checks will fail", why);
	else {
		(void)snprintf(plain, sizeof(plain), "%s:%s", login, pass);
		sodium_bin2base64(b64, sizeof(b64), (unsigned char *)plain,
		    strlen(plain), sodium_base64_VARIANT_ORIGINAL);
		xasprintf(&m->auth, "Authorization: Basic %s", b64);
		m->netrc_bad = 0;
	}
	sodium_memzero(login, sizeof(login));
	sodium_memzero(pass, sizeof(pass));
	sodium_memzero(plain, sizeof(plain));
	sodium_memzero(b64, sizeof(b64));
}

int
sites_init(const struct config *conf)
{
	const struct policy_conf *pc;
	char what[64];
	int i;

	for (i = 0; i < MIRROR_MAX; i++) {
		pc = i == MIRROR_RELEASES ? &conf->releases : &conf->codeload;
		if (pc->mode != POLICY_REDIRECT || !pc->check ||
		    pc->url == NULL)
			continue;
		(void)snprintf(what, sizeof(what), "%s redirect",
		    sites_policy_name(i));
		mirrors[i].usable = upstream_resolve_url(what, pc->url);
		if (pc->netrc != NULL)
			sites_read_netrc(&mirrors[i], pc->netrc, pc->url);
	}
	return 0;
}

/* Is owner/repo in a policy's allow list? */
static int
sites_allowed(const struct policy_conf *pc, const struct web_target *t)
{
	const struct string_entry *s;
	const char *slash;
	size_t olen;

	TAILQ_FOREACH(s, &pc->allow, entry) {
		slash = strchr(s->value, '/');
		olen = (size_t)(slash - s->value);
		if (strlen(t->owner) == olen &&
		    strncasecmp(s->value, t->owner, olen) == 0 &&
		    (strcmp(slash + 1, "*") == 0 ||
		    strcasecmp(slash + 1, t->repo) == 0))
			return 1;
	}
	return 0;
}

/*
 * What the audit record says of a request before (or without) a scope
 * check: the endpoint, and the repository and permission it is about.
 */
static void
sites_record(struct request *r)
{
	memset(&r->sr, 0, sizeof(r->sr));
	r->sr.template = r->wt.endpoint;
	if (r->wt.owner[0] == '\0')
		return;
	(void)snprintf(r->sr.repo, sizeof(r->sr.repo), "%s/%s", r->wt.owner,
	    r->wt.repo);
	if (r->wt.need != SCOPE_NONE) {
		r->sr.permission = "contents";
		r->sr.level = r->wt.need;
	}
}

/* text with &, <, >, " escaped, for an HTML page. */
static void
sites_html_escaped(struct evbuffer *b, const char *text)
{
	for (; *text != '\0'; text++) {
		if (*text == '&')
			evbuffer_add(b, "&amp;", 5);
		else if (*text == '<')
			evbuffer_add(b, "&lt;", 4);
		else if (*text == '>')
			evbuffer_add(b, "&gt;", 4);
		else if (*text == '"')
			evbuffer_add(b, "&quot;", 6);
		else
			evbuffer_add(b, text, 1);
	}
}

/* An HTML page: before, text (escaped), after. */
static char *
sites_page(const char *before, const char *text, const char *after)
{
	struct evbuffer *b = evbuffer_new();
	char *s;
	size_t n;

	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html><head><meta "
	    "charset=\"utf-8\"><title>ghp</title></head><body>\n<p>%s",
	    before);
	sites_html_escaped(b, text);
	evbuffer_add_printf(b, "%s</p>\n</body></html>\n", after);
	n = evbuffer_get_length(b);
	s = xcalloc(1, n + 1);
	evbuffer_remove(b, s, n);
	evbuffer_free(b);
	return s;
}

static void
sites_redirect(struct request *r, const char *location)
{
	char *page, *hdr;

	r->decision = "redirect";
	request_audit(r, "redirect", "redirected to the mirror by policy",
	    302);
	xasprintf(&hdr, "Location: %s\r\n", location);
	page = sites_page("ghp: this download is served by a mirror: <a "
	    "href=\"", location, "\">here</a>.");
	request_answer(r, 302, "text/html; charset=utf-8", hdr, page);
	free(hdr);
	free(page);
}

static void
sites_missing(struct request *r, const char *location)
{
	char *page;

	r->decision = "missing";
	request_audit(r, "missing", "the mirror does not have it", 404);
	page = sites_page("ghp: ", r->path + 1, " is not on the mirror "
	    "that serves downloads here.");
	request_answer(r, 404, "text/html; charset=utf-8", NULL, page);
	free(page);
}

static void
sites_check_fail(struct request *r, const char *why)
{
	char msg[256];

	(void)snprintf(msg, sizeof(msg), "ghp could not check the mirror: %s",
	    why);
	r->decision = "deny";
	request_audit(r, "deny", msg, 502);
	request_fail(r, 502, msg, NULL);
}

/* --- the check: HEAD of the target, on the mirror --- */

static void
sites_check_head(void *arg, int status, struct evbuffer *headers,
    int64_t content_length)
{
	struct sites_check *k = arg;

	k->status = status;
}

static int
sites_check_body(void *arg, const char *p, size_t n)
{
	return 0;
}

static long
sites_check_read(void *arg, char *buf, size_t len)
{
	return 0;
}

static void
sites_check_done(void *arg, int ok, int status, const char *why)
{
	struct sites_check *k = arg;
	struct request *r = k->r;
	char *location = k->location;
	int got = k->status;

	r->check = NULL;
	free(k);
	if (got >= 200 && got < 400)
		sites_redirect(r, location);
	else if (got == 404 || got == 410)
		sites_missing(r, location);
	else if (got != 0) {
		log_warnx("request %s: the mirror answered %d", r->id, got);
		sites_check_fail(r, "it answered with an error");
	} else {
		log_warnx("request %s: mirror: %s", r->id, why);
		sites_check_fail(r, "it could not be reached");
	}
	free(location);
}

static const struct upstream_ops sites_check_ops = {
	sites_check_head, sites_check_body, sites_check_read,
	sites_check_done, NULL
};

static void
sites_check_start(struct request *r, struct mirror *m, char *location)
{
	struct sites_check *k;
	struct curl_slist *h = NULL;

	if (!m->usable || m->netrc_bad) {
		free(location);
		sites_check_fail(r, m->usable ? "its netrc credentials could "
		    "not be read" : "its host name did not resolve at start");
		return;
	}
	h = curl_slist_append(h, "User-Agent: ghp");
	if (m->auth != NULL)
		h = curl_slist_append(h, m->auth);
	k = xcalloc(1, sizeof(*k));
	k->r = r;
	k->location = location;
	r->check = k;
	k->xfer = upstream_start(location, "HEAD", h, 0, &sites_check_ops,
	    k);
}

void
sites_abort(struct request *r)
{
	struct sites_check *k = r->check;

	if (k == NULL)
		return;
	if (k->xfer != NULL)
		upstream_cancel(k->xfer);
	free(k->location);
	free(k);
	r->check = NULL;
}

/* --- policies --- */

static void
sites_policy(struct request *r, int which)
{
	const struct policy_conf *pc = which == MIRROR_RELEASES ?
	    &req_conf->releases : &req_conf->codeload;
	char *location, msg[128];

	if (pc->mode == POLICY_PASS || sites_allowed(pc, &r->wt)) {
		request_authorize(r);
		return;
	}
	if (pc->mode == POLICY_BLOCK) {
		(void)snprintf(msg, sizeof(msg), "ghp: %s downloads are "
		    "blocked by policy", which == MIRROR_RELEASES ?
		    "release" : "archive");
		request_deny(r, 403, msg);
		return;
	}
	xasprintf(&location, "%s%s", pc->url, r->path);
	if (!pc->check) {
		sites_redirect(r, location);
		free(location);
		return;
	}
	sites_check_start(r, &mirrors[which], location);
}

/* raw.githubusercontent.com's "?token=" stays here. */
static int
sites_strip_token(struct request *r)
{
	int n;

	if (r->query == NULL)
		return 0;
	r->query_buf = xcalloc(1, r->querylen + 1);
	if ((n = web_strip_query_param(r->query, r->querylen, "token",
	    r->query_buf, r->querylen + 1)) < 0)
		return -1;
	r->query = n > 0 ? r->query_buf : NULL;
	r->querylen = (size_t)n;
	return 0;
}

void
sites_start(struct request *r)
{
	sites_record(r);
	switch (r->wt.kind) {
	case WEB_GIT_REFS:
	case WEB_GIT_PACK:
		r->up = UPSTREAM_WEB;
		r->style = CRED_BASIC;
		request_authorize(r);
		return;
	case WEB_RELEASE:
		r->up = UPSTREAM_WEB;
		r->style = CRED_BASIC;
		sites_policy(r, MIRROR_RELEASES);
		return;
	case WEB_ARCHIVE:
		r->up = UPSTREAM_CODELOAD;
		sites_policy(r, MIRROR_CODELOAD);
		return;
	case WEB_RAW:
		r->up = UPSTREAM_RAW;
		if (sites_strip_token(r) == -1)
			request_deny(r, 400, "Bad query");
		else
			request_authorize(r);
		return;
	case WEB_COPILOT:
		r->up = UPSTREAM_COPILOT;
		r->style = CRED_BEARER;
		request_authorize(r);
		return;
	case WEB_GIT_DUMB:
		request_deny(r, 403, "ghp: only git's smart HTTP protocol is "
		    "served (info/refs?service=git-upload-pack or "
		    "git-receive-pack)");
		return;
	case WEB_METHOD:
		request_deny(r, 405, "Method not allowed here");
		return;
	default:
		request_deny(r, 404, "Not Found: ghp passes git smart HTTP and "
		    "release downloads on github.com, archives on "
		    "codeload.github.com, files on raw.githubusercontent.com "
		    "and Copilot's hosts");
		return;
	}
}
