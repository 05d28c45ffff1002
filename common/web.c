/*
 * web.c: see web.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "web.h"

#define WEB_CONTENTS	"contents"
#define WEB_COPILOT_PERM "copilot"

#define WEB_MAXSEGS	8	/* the shapes below need no more */

struct wseg {
	const char	*p;
	size_t		 len;
};

static int
host_is(const char *h, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(h, name, n) == 0;
}

enum web_site
web_site(const char *h, size_t n, const char *api_host)
{
	static const char copilot[] = ".githubcopilot.com";
	size_t cl = sizeof(copilot) - 1;

	if (host_is(h, n, "api.github.com") ||
	    (api_host != NULL && api_host[0] != '\0' &&
	    host_is(h, n, api_host)))
		return WEB_SITE_API;
	if (host_is(h, n, "github.com"))
		return WEB_SITE_WEB;
	if (host_is(h, n, "codeload.github.com"))
		return WEB_SITE_CODELOAD;
	if (host_is(h, n, "raw.githubusercontent.com"))
		return WEB_SITE_RAW;
	if (host_is(h, n, "githubcopilot.com") ||
	    (n > cl && strncasecmp(h + n - cl, copilot, cl) == 0))
		return WEB_SITE_COPILOT;
	return WEB_SITE_OWN;
}

int
web_intercepted(const char *h, size_t n)
{
	enum web_site s = web_site(h, n, NULL);

	return s != WEB_SITE_OWN;
}

int
web_host_ok(const char *h)
{
	size_t i, label = 0;

	for (i = 0; h[i] != '\0'; i++) {
		if (h[i] == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' &&
		    h[i] <= '9') || (h[i] == '-' && label > 0)) ||
		    ++label > 63)
			return 0;
	}
	return i > 0 && i <= 253 && label > 0 && h[i - 1] != '-';
}

int
web_host_or_address(const char *h)
{
	struct in6_addr a6;
	struct in_addr a4;

	return web_host_ok(h) || inet_pton(AF_INET, h, &a4) == 1 ||
	    inet_pton(AF_INET6, h, &a6) == 1;
}

const char *
web_site_name(enum web_site s)
{
	static const char *names[] = { "api", "web", "codeload", "raw",
	    "copilot", "own" };

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[s];
}

/* Up to WEB_MAXSEGS segments; the last one takes what remains. */
static int
split(const char *path, struct wseg *segs)
{
	const char *p = path, *e;
	int n = 0;

	if (*p != '/')
		return 0;
	while (*p == '/' && n < WEB_MAXSEGS) {
		p++;
		e = n == WEB_MAXSEGS - 1 ? p + strlen(p) : p + strcspn(p, "/");
		segs[n].p = p;
		segs[n].len = (size_t)(e - p);
		n++;
		p = e;
	}
	return n;
}

static int
seg_is(const struct wseg *s, const char *t)
{
	return s->len == strlen(t) && memcmp(s->p, t, s->len) == 0;
}

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* owner and repo from two segments; git: a ".git" suffix is dropped. */
static int
set_repo(struct web_target *t, const struct wseg *o, const struct wseg *r,
    int git)
{
	size_t i, rlen = r->len;

	if (o->len == 0 || o->len > SCOPE_OWNER_MAX)
		return -1;
	for (i = 0; i < o->len; i++)
		if (!name_char((unsigned char)o->p[i]))
			return -1;
	if (git && rlen > 4 && memcmp(r->p + rlen - 4, ".git", 4) == 0)
		rlen -= 4;
	if (rlen == 0 || rlen > SCOPE_NAME_MAX ||
	    (rlen == 1 && r->p[0] == '.') ||
	    (rlen == 2 && r->p[0] == '.' && r->p[1] == '.'))
		return -1;
	for (i = 0; i < rlen; i++)
		if (!name_char((unsigned char)r->p[i]) && r->p[i] != '.')
			return -1;
	memcpy(t->owner, o->p, o->len);
	t->owner[o->len] = '\0';
	memcpy(t->repo, r->p, rlen);
	t->repo[rlen] = '\0';
	return 0;
}

static int
is_get(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static void
set_kind(struct web_target *t, enum web_kind k, enum scope_level need,
    const char *endpoint)
{
	t->kind = k;
	t->need = need;
	t->endpoint = endpoint;
}

/* The one "service=" parameter of a query, or NULL (none, or several). */
static const char *
git_service(const char *q, size_t n, size_t *len)
{
	const char *p = q, *end, *amp, *found = NULL;
	size_t plen;

	if (q == NULL)
		return NULL;
	end = q + n;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		plen = (size_t)((amp ? amp : end) - p);
		if (plen >= 8 && memcmp(p, "service=", 8) == 0) {
			if (found != NULL)
				return NULL;
			found = p + 8;
			*len = plen - 8;
		}
		p = amp ? amp + 1 : end;
	}
	return found;
}

static void
classify_git(const char *method, const struct wseg *segs, int n,
    const char *query, size_t qlen, struct web_target *t)
{
	const char *svc;
	size_t slen = 0;

	if (n == 4 && seg_is(&segs[2], "info") && seg_is(&segs[3], "refs")) {
		if (!is_get(method)) {
			set_kind(t, WEB_METHOD, SCOPE_NONE, "git");
			return;
		}
		svc = git_service(query, qlen, &slen);
		if (svc != NULL && slen == 15 &&
		    memcmp(svc, "git-upload-pack", 15) == 0)
			set_kind(t, WEB_GIT_REFS, SCOPE_READ,
			    "git-upload-pack");
		else if (svc != NULL && slen == 16 &&
		    memcmp(svc, "git-receive-pack", 16) == 0)
			set_kind(t, WEB_GIT_REFS, SCOPE_WRITE,
			    "git-receive-pack");
		else
			set_kind(t, WEB_GIT_DUMB, SCOPE_NONE, "git");
		return;
	}
	if (n != 3)
		return;
	if (seg_is(&segs[2], "git-upload-pack"))
		set_kind(t, strcmp(method, "POST") == 0 ? WEB_GIT_PACK :
		    WEB_METHOD, SCOPE_READ, "git-upload-pack");
	else if (seg_is(&segs[2], "git-receive-pack"))
		set_kind(t, strcmp(method, "POST") == 0 ? WEB_GIT_PACK :
		    WEB_METHOD, SCOPE_WRITE, "git-receive-pack");
}

/* /o/r/releases/download/TAG/FILE, /o/r/releases/latest/download/FILE */
static void
classify_release(const char *method, const struct wseg *segs, int n,
    struct web_target *t)
{
	if (n < 5 || !seg_is(&segs[2], "releases"))
		return;
	if (n == 6 && seg_is(&segs[3], "download") && segs[4].len > 0 &&
	    segs[5].len > 0)
		t->latest = 0;
	else if (n == 6 && seg_is(&segs[3], "latest") &&
	    seg_is(&segs[4], "download") && segs[5].len > 0)
		t->latest = 1;
	else
		return;
	set_kind(t, is_get(method) ? WEB_RELEASE : WEB_METHOD, SCOPE_READ,
	    "releases");
}

static void
classify_web(const char *method, const char *path, const char *query,
    size_t qlen, struct web_target *t)
{
	struct wseg segs[WEB_MAXSEGS];
	int n = split(path, segs), git;

	if (n < 3)
		return;
	git = (n == 4 && seg_is(&segs[2], "info")) || (n == 3 &&
	    (seg_is(&segs[2], "git-upload-pack") ||
	    seg_is(&segs[2], "git-receive-pack")));
	if (set_repo(t, &segs[0], &segs[1], git) == -1)
		return;
	t->rest = segs[2].p - 1;
	if (git)
		classify_git(method, segs, n, query, qlen, t);
	else if (segs[1].len < 4 || memcmp(segs[1].p + segs[1].len - 4,
	    ".git", 4) != 0)
		classify_release(method, segs, n, t);
}

static void
classify_codeload(const char *method, const char *path,
    struct web_target *t)
{
	static const char *formats[] = { "tar.gz", "zip", "legacy.tar.gz",
	    "legacy.zip" };
	struct wseg segs[WEB_MAXSEGS];
	int n = split(path, segs);
	size_t i;

	if (n < 4 || segs[3].len == 0 ||
	    set_repo(t, &segs[0], &segs[1], 0) == -1)
		return;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (seg_is(&segs[2], formats[i]))
			break;
	if (i == sizeof(formats) / sizeof(formats[0]))
		return;
	t->rest = segs[2].p - 1;
	set_kind(t, is_get(method) ? WEB_ARCHIVE : WEB_METHOD, SCOPE_READ,
	    "codeload");
}

static void
classify_raw(const char *method, const char *path, struct web_target *t)
{
	struct wseg segs[WEB_MAXSEGS];
	int n = split(path, segs);

	if (n < 4 || segs[2].len == 0 || segs[n - 1].len == 0 ||
	    set_repo(t, &segs[0], &segs[1], 0) == -1)
		return;
	t->rest = segs[2].p - 1;
	set_kind(t, is_get(method) ? WEB_RAW : WEB_METHOD, SCOPE_READ, "raw");
}

void
web_classify(enum web_site site, const char *method, const char *path,
    const char *query, size_t qlen, struct web_target *t)
{
	memset(t, 0, sizeof(*t));
	t->kind = WEB_NONE;
	t->rest = "";
	switch (site) {
	case WEB_SITE_WEB:
	case WEB_SITE_OWN:
		classify_web(method, path, query, qlen, t);
		break;
	case WEB_SITE_CODELOAD:
		classify_codeload(method, path, t);
		break;
	case WEB_SITE_RAW:
		classify_raw(method, path, t);
		break;
	case WEB_SITE_COPILOT:
		set_kind(t, WEB_COPILOT, SCOPE_NONE, "copilot");
		break;
	default:
		break;
	}
	if (t->kind == WEB_NONE) {
		t->owner[0] = t->repo[0] = '\0';
		t->rest = "";
	}
}

int
web_strip_query_param(const char *q, size_t n, const char *name, char *out,
    size_t outlen)
{
	const char *p = q, *end = q + n, *amp;
	size_t plen, nlen = strlen(name), o = 0;

	if (outlen == 0)
		return -1;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		plen = (size_t)((amp ? amp : end) - p);
		if (!(plen >= nlen && memcmp(p, name, nlen) == 0 &&
		    (plen == nlen || p[nlen] == '=')) && plen > 0) {
			if (o + (o > 0) + plen >= outlen)
				return -1;
			if (o > 0)
				out[o++] = '&';
			memcpy(out + o, p, plen);
			o += plen;
		}
		p = amp ? amp + 1 : end;
	}
	out[o] = '\0';
	return (int)o;
}

static enum scope_decision
web_deny(struct scope_result *res, enum scope_code code)
{
	res->decision = SCOPE_DENY;
	res->code = code;
	return SCOPE_DENY;
}

static int
web_repo_in_scope(const struct scope *sc, const struct web_target *t)
{
	size_t i;

	for (i = 0; i < sc->nrepos; i++)
		if (strcasecmp(sc->repos[i].owner, t->owner) == 0 &&
		    (strcmp(sc->repos[i].name, "*") == 0 ||
		    strcasecmp(sc->repos[i].name, t->repo) == 0))
			return 1;
	return 0;
}

static enum scope_decision
web_check_copilot(const struct scope *sc, struct scope_result *res)
{
	int i = scope_perm_index(WEB_COPILOT_PERM);

	res->permission = WEB_COPILOT_PERM;
	res->level = SCOPE_READ;
	if (sc->type != SCOPE_TOKEN_USER) {
		(void)snprintf(res->reason, sizeof(res->reason), "Copilot "
		    "needs a user's ghx_ token");
		return web_deny(res, SCOPE_E_TOKEN_TYPE);
	}
	if (i < 0 || sc->perms[i] < SCOPE_READ) {
		(void)snprintf(res->reason, sizeof(res->reason), "needs "
		    "copilot:read");
		return web_deny(res, SCOPE_E_PERMISSION);
	}
	res->decision = SCOPE_ALLOW;
	return SCOPE_ALLOW;
}

enum scope_decision
web_check(const struct scope *sc, const struct web_target *t,
    struct scope_result *res)
{
	int i = scope_perm_index(WEB_CONTENTS);

	memset(res, 0, sizeof(*res));
	res->template = t->endpoint;
	if (t->kind == WEB_COPILOT)
		return web_check_copilot(sc, res);
	(void)snprintf(res->repo, sizeof(res->repo), "%s/%s", t->owner,
	    t->repo);
	res->permission = WEB_CONTENTS;
	res->level = t->need;
	if (t->owner[0] == '\0' || t->need == SCOPE_NONE) {
		(void)snprintf(res->reason, sizeof(res->reason), "not a "
		    "request ghp passes");
		return web_deny(res, SCOPE_E_UNKNOWN);
	}
	if (!web_repo_in_scope(sc, t)) {
		(void)snprintf(res->reason, sizeof(res->reason), "repository "
		    "%s is outside this token's scope", res->repo);
		return web_deny(res, SCOPE_E_REPO);
	}
	if (i < 0 || sc->perms[i] < t->need) {
		(void)snprintf(res->reason, sizeof(res->reason), "needs "
		    "contents:%s on %s", scope_level_name(t->need), res->repo);
		return web_deny(res, SCOPE_E_PERMISSION);
	}
	res->decision = SCOPE_ALLOW;
	return SCOPE_ALLOW;
}

/* host (lower case) against "host", "*.domain" or an address. */
static int
web_pattern_match(const char *pattern, const char *host)
{
	size_t hl = strlen(host), dl;

	if (pattern[0] == '*' && pattern[1] == '.') {
		dl = strlen(pattern + 1);	/* ".domain" */
		return hl > dl && strcmp(host + hl - dl, pattern + 1) == 0;
	}
	return strcmp(pattern, host) == 0;
}

int
web_tunnel_allowed(const struct config *conf, const char *host)
{
	const struct string_entry *s;

	if (web_intercepted(host, strlen(host)) ||
	    web_intercept_rule(conf, host) != -1)
		return 0;
	if (conf->proxy_permissive)
		return 1;
	TAILQ_FOREACH(s, &conf->proxy_allow, entry)
		if (web_pattern_match(s->value, host))
			return 1;
	return 0;
}

int
web_intercept_rule(const struct config *conf, const char *host)
{
	const struct intercept_conf *ic;
	int i = 0;

	TAILQ_FOREACH(ic, &conf->intercepts, entry) {
		if (ic->pattern != NULL && web_pattern_match(ic->pattern,
		    host))
			return i;
		i++;
	}
	return -1;
}

const struct intercept_conf *
web_intercept_conf(const struct config *conf, int rule)
{
	const struct intercept_conf *ic;

	TAILQ_FOREACH(ic, &conf->intercepts, entry)
		if (rule-- == 0)
			return ic;
	return NULL;
}
