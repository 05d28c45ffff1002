/*
 * fuzz_web.c: web_site(), web_classify(), web_check() and
 * web_strip_query_param() (common/web.c) on arbitrary requests.
 *
 * The input is "HOST\nMETHOD\nPATH\nQUERY": the first three fields end at
 * a newline, the query is the rest (newlines and all); without the third
 * newline there is no query (NULL, as request.c passes without a '?').
 * The host goes to web_site() with its length (NULs and all); the path
 * is classified on every site both as it is and after path_normalize(),
 * as ghp does; the query is handed over in a buffer of its own size, not
 * NUL-terminated, as the worker does.  Aborts when a promise of web.h breaks:
 *  - web_site() ignores ASCII case and reads only hostlen bytes;
 *  - WEB_NONE leaves owner, repo and rest empty; any other kind but
 *    WEB_COPILOT names an owner and a repository in GitHub's characters
 *    and lengths, and the path is "/owner/repo[.git]" followed by rest,
 *    a suffix of the path;
 *  - each site gives only its own kinds, ghp's own name the same as
 *    github.com, and the contents level matches the kind;
 *  - info/refs is WEB_GIT_REFS exactly when the query has one service=
 *    parameter, naming a smart service;
 *  - web_check() allows only a request with a repository (or Copilot)
 *    and a level, and says why in a NUL-terminated reason;
 *  - web_strip_query_param() keeps exactly the other non-empty
 *    parameters, in order, and never writes past outlen.
 * Seeds: tests/fuzz/corpus/web/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scope.h"
#include "web.h"

#define MAXLEN	4096
#define API_HOST "ghe.example.com"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const enum web_site sites[] = {
	WEB_SITE_API, WEB_SITE_WEB, WEB_SITE_CODELOAD, WEB_SITE_RAW,
	WEB_SITE_COPILOT, WEB_SITE_OWN
};

static struct scope scopes[3];
static int ready;

static void
setup(void)
{
	int t;

	for (t = 0; t < 3; t++) {
		scope_init(&scopes[t], t == 1 ? SCOPE_TOKEN_AGENT :
		    SCOPE_TOKEN_USER, "acme");
		scope_add_repo(&scopes[t], "acme/widgets");
		scope_add_repo(&scopes[t], "beta/*");
		scope_set_perm(&scopes[t], "contents", t == 2 ? SCOPE_READ :
		    SCOPE_WRITE);
		if (t != 2)
			scope_set_perm(&scopes[t], "copilot", SCOPE_READ);
	}
	ready = 1;
}

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void
check_name(const char *s, size_t max, int dots)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > max)
		abort();
	for (i = 0; i < len; i++)
		if (!name_char((unsigned char)s[i]) && !(dots && s[i] == '.'))
			abort();
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		abort();
}

/* Pieces of a query named "service=": how many, and the last's value. */
static int
services(const char *q, size_t n, const char **val, size_t *vlen)
{
	size_t i = 0, start, plen;
	int count = 0;

	while (i < n) {
		start = i;
		while (i < n && q[i] != '&')
			i++;
		plen = i - start;
		if (plen >= 8 && memcmp(q + start, "service=", 8) == 0) {
			count++;
			*val = q + start + 8;
			*vlen = plen - 8;
		}
		i++;
	}
	return count;
}

static int
value_is(const char *v, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(v, s, n) == 0;
}

static void
check_kind_for_site(enum web_site site, enum web_kind k)
{
	switch (site) {
	case WEB_SITE_API:
		if (k != WEB_NONE)
			abort();
		break;
	case WEB_SITE_COPILOT:
		if (k != WEB_COPILOT)
			abort();
		break;
	case WEB_SITE_CODELOAD:
		if (k != WEB_NONE && k != WEB_ARCHIVE && k != WEB_METHOD)
			abort();
		break;
	case WEB_SITE_RAW:
		if (k != WEB_NONE && k != WEB_RAW && k != WEB_METHOD)
			abort();
		break;
	case WEB_SITE_WEB:
	case WEB_SITE_OWN:
		if (k != WEB_NONE && k != WEB_METHOD && k != WEB_GIT_REFS &&
		    k != WEB_GIT_PACK && k != WEB_GIT_DUMB && k != WEB_RELEASE)
			abort();
		break;
	}
}

static void
check_need(const struct web_target *t)
{
	switch (t->kind) {
	case WEB_GIT_REFS:
	case WEB_GIT_PACK:
		if (t->need != SCOPE_READ && t->need != SCOPE_WRITE)
			abort();
		break;
	case WEB_RELEASE:
	case WEB_ARCHIVE:
	case WEB_RAW:
		if (t->need != SCOPE_READ)
			abort();
		break;
	case WEB_GIT_DUMB:
	case WEB_COPILOT:
		if (t->need != SCOPE_NONE)
			abort();
		break;
	case WEB_METHOD:
		if (t->need > SCOPE_WRITE)
			abort();
		break;
	case WEB_NONE:
		break;
	}
}

/* The path is "/owner/repo" or "/owner/repo.git", then rest. */
static void
check_path(const struct web_target *t, const char *path)
{
	size_t plen = strlen(path), olen = strlen(t->owner),
	    rlen = strlen(t->repo), restlen;

	if (t->rest < path || t->rest > path + plen)
		abort();
	restlen = strlen(t->rest);
	if (t->rest + restlen != path + plen)
		abort();
	if (path[0] != '/' || strncmp(path + 1, t->owner, olen) != 0 ||
	    path[1 + olen] != '/' ||
	    strncmp(path + 2 + olen, t->repo, rlen) != 0)
		abort();
	if (path + 2 + olen + rlen != t->rest &&
	    !(path + 2 + olen + rlen + 4 == t->rest &&
	    memcmp(path + 2 + olen + rlen, ".git", 4) == 0))
		abort();
	if (t->rest[0] != '/')
		abort();
}

static void
check_target(enum web_site site, const char *method, const char *path,
    const char *q, size_t qlen, const struct web_target *t)
{
	const char *val = NULL;
	size_t vlen = 0;
	int nsvc;

	if ((unsigned)t->kind > WEB_COPILOT)
		abort();
	if (memchr(t->owner, '\0', sizeof(t->owner)) == NULL ||
	    memchr(t->repo, '\0', sizeof(t->repo)) == NULL ||
	    t->rest == NULL)
		abort();
	check_kind_for_site(site, t->kind);
	check_need(t);
	if (t->latest != 0 && (t->latest != 1 || (t->kind != WEB_RELEASE &&
	    t->kind != WEB_METHOD)))
		abort();
	if (t->kind == WEB_NONE || t->kind == WEB_COPILOT) {
		if (t->owner[0] != '\0' || t->repo[0] != '\0' ||
		    t->rest[0] != '\0')
			abort();
		if (t->kind == WEB_COPILOT && t->endpoint == NULL)
			abort();
		return;
	}
	if (t->endpoint == NULL)
		abort();
	check_name(t->owner, SCOPE_OWNER_MAX, 0);
	check_name(t->repo, SCOPE_NAME_MAX, 1);
	check_path(t, path);

	/* GET and HEAD are refused only on the pack requests. */
	if (t->kind == WEB_METHOD && (strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0) &&
	    strcmp(t->rest, "/git-upload-pack") != 0 &&
	    strcmp(t->rest, "/git-receive-pack") != 0)
		abort();
	if (t->kind == WEB_GIT_PACK && strcmp(method, "POST") != 0)
		abort();

	/* info/refs: smart exactly with one service= naming a service. */
	if (strcmp(t->rest, "/info/refs") == 0 &&
	    (t->kind == WEB_GIT_REFS || t->kind == WEB_GIT_DUMB)) {
		nsvc = services(q, qlen, &val, &vlen);
		if (nsvc == 1 && value_is(val, vlen, "git-upload-pack")) {
			if (t->kind != WEB_GIT_REFS || t->need != SCOPE_READ)
				abort();
		} else if (nsvc == 1 &&
		    value_is(val, vlen, "git-receive-pack")) {
			if (t->kind != WEB_GIT_REFS || t->need != SCOPE_WRITE)
				abort();
		} else if (t->kind != WEB_GIT_DUMB)
			abort();
	}
}

static void
check_decision(const struct web_target *t)
{
	struct scope_result res;
	enum scope_decision d;
	size_t i;

	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		d = web_check(&scopes[i], t, &res);
		if (d != res.decision || (d != SCOPE_ALLOW && d != SCOPE_DENY))
			abort();
		if ((d == SCOPE_ALLOW) != (res.code == SCOPE_OK))
			abort();
		if (memchr(res.reason, '\0', sizeof(res.reason)) == NULL ||
		    memchr(res.repo, '\0', sizeof(res.repo)) == NULL)
			abort();
		if (d == SCOPE_DENY && res.reason[0] == '\0')
			abort();
		if (d != SCOPE_ALLOW)
			continue;
		if (t->kind == WEB_NONE || t->kind == WEB_GIT_DUMB)
			abort();
		if (t->kind == WEB_COPILOT) {
			if (scopes[i].type != SCOPE_TOKEN_USER)
				abort();
			continue;
		}
		if (t->owner[0] == '\0' || t->need == SCOPE_NONE ||
		    res.level != t->need)
			abort();
		/* contents:read only: nothing that writes. */
		if (i == 2 && t->need != SCOPE_READ)
			abort();
	}
}

static int
same_target(const struct web_target *a, const struct web_target *b)
{
	return a->kind == b->kind && strcmp(a->owner, b->owner) == 0 &&
	    strcmp(a->repo, b->repo) == 0 && a->need == b->need &&
	    a->endpoint == b->endpoint && a->rest == b->rest &&
	    a->latest == b->latest;
}

static void
classify_all(const char *method, const char *path, const char *q,
    size_t qlen)
{
	struct web_target t, own;
	size_t i;

	for (i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		web_classify(sites[i], method, path, q, qlen, &t);
		check_target(sites[i], method, path, q, qlen, &t);
		check_decision(&t);
	}
	/* ghp's own name is github.com for the shapes classified. */
	web_classify(WEB_SITE_WEB, method, path, q, qlen, &t);
	web_classify(WEB_SITE_OWN, method, path, q, qlen, &own);
	if (!same_target(&t, &own))
		abort();
}

static void
check_site(const char *h, size_t hlen)
{
	char alt[MAXLEN + 1];
	enum web_site s, s2;
	size_t i;
	int up;

	s = web_site(h, hlen, NULL);
	if ((unsigned)s > WEB_SITE_OWN)
		abort();
	if (web_site(h, hlen, "") != s)
		abort();
	s2 = web_site(h, hlen, API_HOST);
	if (s2 != s && !(s2 == WEB_SITE_API && hlen == strlen(API_HOST)))
		abort();
	if (strcmp(web_site_name(s), "?") == 0)
		abort();
	for (up = 0; up < 2; up++) {
		for (i = 0; i < hlen; i++) {
			alt[i] = h[i];
			if (up && alt[i] >= 'a' && alt[i] <= 'z')
				alt[i] -= 'a' - 'A';
			else if (!up && alt[i] >= 'A' && alt[i] <= 'Z')
				alt[i] += 'a' - 'A';
		}
		alt[hlen] = 'x';	/* past hostlen: never read */
		if (web_site(alt, hlen, NULL) != s ||
		    web_site(alt, hlen, API_HOST) != s2)
			abort();
	}
}

/* Reference for web_strip_query_param(): the length, and the text. */
static size_t
strip_ref(const char *q, size_t n, const char *name, char *out)
{
	size_t i = 0, start, plen, nlen = strlen(name), o = 0;

	while (i < n) {
		start = i;
		while (i < n && q[i] != '&')
			i++;
		plen = i - start;
		if (plen > 0 && !(plen >= nlen &&
		    memcmp(q + start, name, nlen) == 0 &&
		    (plen == nlen || q[start + nlen] == '='))) {
			if (o > 0)
				out[o++] = '&';
			memcpy(out + o, q + start, plen);
			o += plen;
		}
		i++;
	}
	out[o] = '\0';
	return o;
}

static void
check_strip(const char *q, size_t qlen, const char *name)
{
	char ref[MAXLEN + 1], *out;
	size_t rlen, outlen;
	int r;

	rlen = strip_ref(q, qlen, name, ref);
	if (rlen > qlen)
		abort();
	/* Sizes around the one needed, each in a buffer of its own size. */
	for (outlen = rlen > 2 ? rlen - 2 : 0; outlen <= rlen + 2; outlen++) {
		if ((out = malloc(outlen > 0 ? outlen : 1)) == NULL)
			abort();
		r = web_strip_query_param(q, qlen, name, out, outlen);
		if (outlen <= rlen && r != -1)
			abort();
		/* rlen + 1 is an exact fit, with the NUL. */
		if (outlen >= rlen + 1 && r == -1)
			abort();
		if (r != -1 && ((size_t)r != rlen ||
		    memcmp(out, ref, rlen + 1) != 0))
			abort();
		free(out);
	}
}

/* The next field, up to a newline; the rest when last. */
static const uint8_t *
field(const uint8_t *p, const uint8_t *end, size_t *len, int last)
{
	const uint8_t *nl;

	if (last || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
		*len = (size_t)(end - p);
		return last ? end : NULL;
	}
	*len = (size_t)(nl - p);
	return nl + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *h, *m, *pa, *qs;
	size_t hlen, mlen, plen, qlen;
	char method[MAXLEN + 1], path[MAXLEN + 1], norm[MAXLEN + 1];
	char *q;
	const char *why;

	if (!ready)
		setup();
	if (size > MAXLEN)
		return 0;
	mlen = plen = qlen = 0;
	m = pa = qs = NULL;
	h = p;
	if ((p = field(p, end, &hlen, 0)) != NULL) {
		m = p;
		if ((p = field(p, end, &mlen, 0)) != NULL) {
			pa = p;
			if ((p = field(p, end, &plen, 0)) != NULL) {
				qs = p;
				(void)field(p, end, &qlen, 1);
			}
		}
	}

	check_site((const char *)h, hlen);

	if (mlen > 0)
		memcpy(method, m, mlen);
	method[mlen] = '\0';
	if (plen > 0)
		memcpy(path, pa, plen);
	path[plen] = '\0';
	/* Not NUL-terminated; NULL when there is none. */
	q = NULL;
	if (qs != NULL) {
		if ((q = malloc(qlen > 0 ? qlen : 1)) == NULL)
			abort();
		if (qlen > 0)
			memcpy(q, qs, qlen);
	}

	classify_all(method, path, q, qlen);
	if (path_normalize(path, norm, sizeof(norm), &why) == 0)
		classify_all(method, norm, q, qlen);

	if (q != NULL) {
		check_strip(q, qlen, "token");
		check_strip(q, qlen, "service");
	}
	free(q);
	return 0;
}
