/*
 * test_web.c: the hosts other than the API (common/web.c): which site a
 * Host names (web_site()), what a request on it is (web_classify(), one
 * table row per case: kind, repository, contents level, endpoint, rest
 * of the path), the scope check of a classified request (web_check())
 * and the query filter for raw.githubusercontent.com's "?token="
 * (web_strip_query_param()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scope.h"
#include "web.h"
#include "unit.h"

#define O40	"abcdefghijklmnopqrstuvwxyz-0123456789_AB"	/* 40 */
#define R50	"abcdefghijklmnopqrstuvwxyz.0123456789-_ABCDEFGHIJK"

/*
 * web_site()
 */

struct site_case {
	const char	*host;
	const char	*api_host;
	enum web_site	 want;
};

static const struct site_case site_cases[] = {
	{ "api.github.com",		NULL,	WEB_SITE_API },
	{ "API.GitHub.COM",		NULL,	WEB_SITE_API },
	{ "github.com",			NULL,	WEB_SITE_WEB },
	{ "GitHub.Com",			NULL,	WEB_SITE_WEB },
	{ "codeload.github.com",	NULL,	WEB_SITE_CODELOAD },
	{ "CODELOAD.github.com",	NULL,	WEB_SITE_CODELOAD },
	{ "raw.githubusercontent.com",	NULL,	WEB_SITE_RAW },
	{ "Raw.GitHubUserContent.com",	NULL,	WEB_SITE_RAW },
	{ "githubcopilot.com",		NULL,	WEB_SITE_COPILOT },
	{ "api.githubcopilot.com",	NULL,	WEB_SITE_COPILOT },
	{ "API.GITHUBCOPILOT.COM",	NULL,	WEB_SITE_COPILOT },
	{ "proxy.individual.githubcopilot.com", NULL, WEB_SITE_COPILOT },
	{ "x.githubcopilot.com",	NULL,	WEB_SITE_COPILOT },
	{ "x.GitHubCopilot.com",	NULL,	WEB_SITE_COPILOT },
	/* Not GitHub's, or not one of the hosts ghp serves. */
	{ ".githubcopilot.com",		NULL,	WEB_SITE_OWN },
	{ "evilgithubcopilot.com",	NULL,	WEB_SITE_OWN },
	{ "githubcopilot.com.evil.example", NULL, WEB_SITE_OWN },
	{ "githubcopilot.co",		NULL,	WEB_SITE_OWN },
	{ "www.github.com",		NULL,	WEB_SITE_OWN },
	{ "gist.github.com",		NULL,	WEB_SITE_OWN },
	{ "xgithub.com",		NULL,	WEB_SITE_OWN },
	{ "github.com.",		NULL,	WEB_SITE_OWN },
	{ "github.co",			NULL,	WEB_SITE_OWN },
	{ "githubusercontent.com",	NULL,	WEB_SITE_OWN },
	{ "objects.githubusercontent.com", NULL, WEB_SITE_OWN },
	{ "codeload.github.com.evil",	NULL,	WEB_SITE_OWN },
	{ "api.github.com.evil",	NULL,	WEB_SITE_OWN },
	/* ghp's own name. */
	{ "ghp.internal",		NULL,	WEB_SITE_OWN },
	{ "localhost",			NULL,	WEB_SITE_OWN },
	{ "127.0.0.1",			NULL,	WEB_SITE_OWN },
	{ "",				NULL,	WEB_SITE_OWN },
	/* "upstream api" on another host (GitHub Enterprise Server). */
	{ "ghe.example.com",	"ghe.example.com",	WEB_SITE_API },
	{ "GHE.Example.COM",	"ghe.example.com",	WEB_SITE_API },
	{ "ghe.example.com",	"GHE.EXAMPLE.COM",	WEB_SITE_API },
	{ "ghe.example.co",	"ghe.example.com",	WEB_SITE_OWN },
	{ "ghe.example.com",	"",			WEB_SITE_OWN },
	{ "",			"",			WEB_SITE_OWN },
	{ "api.github.com",	"ghe.example.com",	WEB_SITE_API },
	{ "github.com",		"ghe.example.com",	WEB_SITE_WEB },
	{ "ghp.internal",	"ghe.example.com",	WEB_SITE_OWN },
};

static void
test_site(void)
{
	const struct site_case *c;
	size_t i;
	enum web_site got;

	for (i = 0; i < sizeof(site_cases) / sizeof(site_cases[0]); i++) {
		c = &site_cases[i];
		got = web_site(c->host, strlen(c->host), c->api_host);
		if (got != c->want)
			fprintf(stderr, "web_site(\"%s\", \"%s\") = %s, want "
			    "%s\n", c->host, c->api_host ? c->api_host :
			    "(null)", web_site_name(got),
			    web_site_name(c->want));
		CHECK(got == c->want);
	}

	/* Only hostlen bytes count: a Host header is not NUL-terminated. */
	CHECK(web_site("github.comX", 10, NULL) == WEB_SITE_WEB);
	CHECK(web_site("github.com:443", 10, NULL) == WEB_SITE_WEB);
	CHECK(web_site("api.github.com", 3, NULL) == WEB_SITE_OWN);
	CHECK(web_site("api.github.com", 10, NULL) == WEB_SITE_OWN);
	CHECK(web_site("raw.githubusercontent.com/x", 25, NULL) ==
	    WEB_SITE_RAW);
	CHECK(web_site("a.githubcopilot.com.evil", 19, NULL) ==
	    WEB_SITE_COPILOT);
	CHECK(web_site("ghe.example.comX", 15, "ghe.example.com") ==
	    WEB_SITE_API);
	CHECK(web_site("x", 0, NULL) == WEB_SITE_OWN);

	CHECK_STR(web_site_name(WEB_SITE_API), "api");
	CHECK_STR(web_site_name(WEB_SITE_WEB), "web");
	CHECK_STR(web_site_name(WEB_SITE_CODELOAD), "codeload");
	CHECK_STR(web_site_name(WEB_SITE_RAW), "raw");
	CHECK_STR(web_site_name(WEB_SITE_COPILOT), "copilot");
	CHECK_STR(web_site_name(WEB_SITE_OWN), "own");
	CHECK_STR(web_site_name((enum web_site)99), "?");
	CHECK_STR(web_site_name((enum web_site)-1), "?");
}

/*
 * web_classify()
 */

#define R	SCOPE_READ
#define W	SCOPE_WRITE
#define N	SCOPE_NONE

struct class_case {
	enum web_site	 site;
	const char	*method;
	const char	*path;
	const char	*query;
	enum web_kind	 kind;
	const char	*owner;		/* and repo: "" for none */
	const char	*repo;
	enum scope_level need;
	const char	*endpoint;	/* NULL: none */
	const char	*rest;
	int		 latest;
};

#define UP	"service=git-upload-pack"
#define RP	"service=git-receive-pack"

static const struct class_case class_cases[] = {
	/* git smart HTTP: info/refs. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", UP,
	    WEB_GIT_REFS, "acme", "widgets", R, "git-upload-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "HEAD", "/acme/widgets/info/refs", UP,
	    WEB_GIT_REFS, "acme", "widgets", R, "git-upload-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/info/refs", UP,
	    WEB_GIT_REFS, "acme", "widgets", R, "git-upload-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/info/refs", RP,
	    WEB_GIT_REFS, "acme", "widgets", W, "git-receive-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", RP,
	    WEB_GIT_REFS, "acme", "widgets", W, "git-receive-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/Acme-1/Wid_gets.v2/info/refs", UP,
	    WEB_GIT_REFS, "Acme-1", "Wid_gets.v2", R, "git-upload-pack",
	    "/info/refs", 0 },
	/* Only one ".git" comes off; ".GIT" is part of the name. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git.git/info/refs", UP,
	    WEB_GIT_REFS, "acme", "widgets.git", R, "git-upload-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.GIT/info/refs", UP,
	    WEB_GIT_REFS, "acme", "widgets.GIT", R, "git-upload-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/a.git/info/refs", UP,
	    WEB_GIT_REFS, "acme", "a", R, "git-upload-pack",
	    "/info/refs", 0 },
	/* Other parameters around service= do not matter. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs",
	    "a=1&" UP "&b=2", WEB_GIT_REFS, "acme", "widgets", R,
	    "git-upload-pack", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", "&" RP "&",
	    WEB_GIT_REFS, "acme", "widgets", W, "git-receive-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", "xservice=1&" RP,
	    WEB_GIT_REFS, "acme", "widgets", W, "git-receive-pack",
	    "/info/refs", 0 },
	/* Not exactly one smart service: dumb HTTP, refused. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", "",
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/info/refs", "a=b",
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", UP "&" UP,
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", UP "&" RP,
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", RP "&service=",
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", "service=",
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", "service",
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", UP "x",
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs",
	    "service=git-upload", WEB_GIT_DUMB, "acme", "widgets", N, "git",
	    "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs",
	    "Service=git-upload-pack", WEB_GIT_DUMB, "acme", "widgets", N,
	    "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs",
	    "service=git-upload-pack%00", WEB_GIT_DUMB, "acme", "widgets", N,
	    "git", "/info/refs", 0 },
	/* info/refs takes GET and HEAD only; methods are case-sensitive. */
	{ WEB_SITE_WEB, "POST", "/acme/widgets/info/refs", UP,
	    WEB_METHOD, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "PUT", "/acme/widgets.git/info/refs", RP,
	    WEB_METHOD, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "get", "/acme/widgets/info/refs", UP,
	    WEB_METHOD, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_WEB, "DELETE", "/acme/widgets/info/refs", "",
	    WEB_METHOD, "acme", "widgets", N, "git", "/info/refs", 0 },

	/* git smart HTTP: the pack requests, POST only. */
	{ WEB_SITE_WEB, "POST", "/acme/widgets/git-upload-pack", "",
	    WEB_GIT_PACK, "acme", "widgets", R, "git-upload-pack",
	    "/git-upload-pack", 0 },
	{ WEB_SITE_WEB, "POST", "/acme/widgets.git/git-upload-pack", "",
	    WEB_GIT_PACK, "acme", "widgets", R, "git-upload-pack",
	    "/git-upload-pack", 0 },
	{ WEB_SITE_WEB, "POST", "/acme/widgets.git/git-receive-pack", "",
	    WEB_GIT_PACK, "acme", "widgets", W, "git-receive-pack",
	    "/git-receive-pack", 0 },
	{ WEB_SITE_WEB, "POST", "/acme/widgets/git-receive-pack", "x=1",
	    WEB_GIT_PACK, "acme", "widgets", W, "git-receive-pack",
	    "/git-receive-pack", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/git-upload-pack", "",
	    WEB_METHOD, "acme", "widgets", R, "git-upload-pack",
	    "/git-upload-pack", 0 },
	{ WEB_SITE_WEB, "HEAD", "/acme/widgets/git-receive-pack", "",
	    WEB_METHOD, "acme", "widgets", W, "git-receive-pack",
	    "/git-receive-pack", 0 },
	{ WEB_SITE_WEB, "post", "/acme/widgets/git-upload-pack", "",
	    WEB_METHOD, "acme", "widgets", R, "git-upload-pack",
	    "/git-upload-pack", 0 },
	{ WEB_SITE_WEB, "PUT", "/acme/widgets/git-receive-pack", "",
	    WEB_METHOD, "acme", "widgets", W, "git-receive-pack",
	    "/git-receive-pack", 0 },

	/* Dumb HTTP and other git-looking paths: nothing ghp serves. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/HEAD", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/objects/info/packs", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/objects/ab/cdef", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs/x", UP,
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info", UP,
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/packs", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/INFO/refs", UP,
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/REFS", UP,
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "POST", "/acme/widgets/git-upload-pack/x", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "POST", "/acme/widgets/Git-Upload-Pack", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "POST", "/acme/git-upload-pack", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/info/refs", UP,
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "POST", "/acme/widgets/git-upload-archive", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },

	/* Release downloads. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v1.0/w.tgz",
	    "", WEB_RELEASE, "acme", "widgets", R, "releases",
	    "/releases/download/v1.0/w.tgz", 0 },
	{ WEB_SITE_WEB, "HEAD", "/acme/widgets/releases/download/v1/w",
	    "", WEB_RELEASE, "acme", "widgets", R, "releases",
	    "/releases/download/v1/w", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v1/w",
	    "token=x", WEB_RELEASE, "acme", "widgets", R, "releases",
	    "/releases/download/v1/w", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/latest/download/w.zip",
	    "", WEB_RELEASE, "acme", "widgets", R, "releases",
	    "/releases/latest/download/w.zip", 1 },
	{ WEB_SITE_WEB, "HEAD", "/acme/widgets/releases/latest/download/w",
	    "", WEB_RELEASE, "acme", "widgets", R, "releases",
	    "/releases/latest/download/w", 1 },
	/* A tag named "latest" or "download". */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/latest/w",
	    "", WEB_RELEASE, "acme", "widgets", R, "releases",
	    "/releases/download/latest/w", 0 },
	{ WEB_SITE_WEB, "GET",
	    "/acme/widgets/releases/download/download/w", "", WEB_RELEASE,
	    "acme", "widgets", R, "releases",
	    "/releases/download/download/w", 0 },
	{ WEB_SITE_WEB, "POST", "/acme/widgets/releases/download/v1/w", "",
	    WEB_METHOD, "acme", "widgets", R, "releases",
	    "/releases/download/v1/w", 0 },
	{ WEB_SITE_WEB, "DELETE", "/acme/widgets/releases/latest/download/w",
	    "", WEB_METHOD, "acme", "widgets", R, "releases",
	    "/releases/latest/download/w", 1 },
	{ WEB_SITE_WEB, "head", "/acme/widgets/releases/download/v1/w", "",
	    WEB_METHOD, "acme", "widgets", R, "releases",
	    "/releases/download/v1/w", 0 },
	/* Too few or too many segments, or another shape. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v1.0", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v1/a/b", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/latest/download", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/latest/download/a/b",
	    "", WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/latest/x/w", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/latest", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/tag/v1.0", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/downloads/v1/w", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/Releases/download/v1/w", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/archive/refs/heads/main.zip",
	    "", WEB_NONE, "", "", N, NULL, "", 0 },
	/* ".git" is for git only. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/releases/download/v1/w",
	    "", WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET",
	    "/acme/widgets.git/releases/latest/download/w", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	/* Not normalised: empty segments are not a tag or a file. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download//w", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v1/", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/latest/download/",
	    "", WEB_NONE, "", "", N, NULL, "", 0 },

	/* github.com pages ghp does not serve. */
	{ WEB_SITE_WEB, "GET", "/", "", WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "", "", WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme", "", WEB_NONE, "", "", N, NULL,
	    "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets", "", WEB_NONE, "", "", N,
	    NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git", "", WEB_NONE, "", "", N,
	    NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/tree/main", "", WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/login", "", WEB_NONE, "", "", N, NULL,
	    "", 0 },
	{ WEB_SITE_WEB, "GET", "acme/widgets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "//acme/widgets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },

	/* Owner and repository characters and lengths. */
	{ WEB_SITE_WEB, "GET", "/ac.me/widgets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/ac%41me/widgets/info/refs", UP, WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/wid@gets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/wid~gets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/wid%20gets/info/refs", UP, WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/wid gets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/./info/refs", UP, WEB_NONE, "", "", N,
	    NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/../info/refs", UP, WEB_NONE, "", "",
	    N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/../git-upload-pack", "", WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/./releases/download/v1/w", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/..git/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/...git/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme//info/refs", UP, WEB_NONE, "", "", N,
	    NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/ac:me/widgets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/wid\\gets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/w\xc3\xa9/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/-_-/_.-/info/refs", UP, WEB_GIT_REFS,
	    "-_-", "_.-", R, "git-upload-pack", "/info/refs", 0 },
	{ WEB_SITE_WEB, "GET", "/a/b/info/refs", UP, WEB_GIT_REFS,
	    "a", "b", R, "git-upload-pack", "/info/refs", 0 },
	/* 39 characters, GitHub's longest login; 40 is too many. */
	{ WEB_SITE_WEB, "GET", "/" O40 "/w/info/refs", UP, WEB_NONE, "", "",
	    N, NULL, "", 0 },
	/* 100 characters, the longest repository name; 101 too many. */
	{ WEB_SITE_WEB, "GET", "/acme/" R50 R50 "x/info/refs", UP, WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/" R50 R50 "x.git/info/refs", UP,
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_WEB, "GET", "/acme/" R50 R50 "x/releases/download/v/w",
	    "", WEB_NONE, "", "", N, NULL, "", 0 },

	/* ghp's own name: github.com's git and release shapes only. */
	{ WEB_SITE_OWN, "GET", "/acme/widgets.git/info/refs", UP,
	    WEB_GIT_REFS, "acme", "widgets", R, "git-upload-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_OWN, "GET", "/acme/widgets/info/refs", RP,
	    WEB_GIT_REFS, "acme", "widgets", W, "git-receive-pack",
	    "/info/refs", 0 },
	{ WEB_SITE_OWN, "GET", "/acme/widgets/info/refs", "",
	    WEB_GIT_DUMB, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_OWN, "POST", "/acme/widgets/info/refs", UP,
	    WEB_METHOD, "acme", "widgets", N, "git", "/info/refs", 0 },
	{ WEB_SITE_OWN, "POST", "/acme/widgets.git/git-receive-pack", "",
	    WEB_GIT_PACK, "acme", "widgets", W, "git-receive-pack",
	    "/git-receive-pack", 0 },
	{ WEB_SITE_OWN, "GET", "/acme/widgets/releases/download/v1/w", "",
	    WEB_RELEASE, "acme", "widgets", R, "releases",
	    "/releases/download/v1/w", 0 },
	{ WEB_SITE_OWN, "GET", "/acme/widgets/releases/latest/download/w",
	    "", WEB_RELEASE, "acme", "widgets", R, "releases",
	    "/releases/latest/download/w", 1 },
	{ WEB_SITE_OWN, "GET", "/acme/widgets/tar.gz/main", "", WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_OWN, "GET", "/acme/widgets/main/README.md", "", WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_OWN, "POST", "/chat/completions", "", WEB_NONE, "", "",
	    N, NULL, "", 0 },
	{ WEB_SITE_OWN, "GET", "/repos/acme/widgets", "", WEB_NONE, "", "",
	    N, NULL, "", 0 },
	{ WEB_SITE_OWN, "GET", "/api/v3/repos/acme/widgets", "", WEB_NONE,
	    "", "", N, NULL, "", 0 },
	/* The API site is never classified here. */
	{ WEB_SITE_API, "GET", "/acme/widgets/info/refs", UP, WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_API, "GET", "/acme/widgets/tar.gz/main", "", WEB_NONE,
	    "", "", N, NULL, "", 0 },

	/* codeload.github.com: archives. */
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/tar.gz/main", "",
	    WEB_ARCHIVE, "acme", "widgets", R, "codeload", "/tar.gz/main",
	    0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/zip/v1.0", "",
	    WEB_ARCHIVE, "acme", "widgets", R, "codeload", "/zip/v1.0", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/legacy.tar.gz/main", "",
	    WEB_ARCHIVE, "acme", "widgets", R, "codeload",
	    "/legacy.tar.gz/main", 0 },
	{ WEB_SITE_CODELOAD, "HEAD", "/acme/widgets/legacy.zip/main", "",
	    WEB_ARCHIVE, "acme", "widgets", R, "codeload",
	    "/legacy.zip/main", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/tar.gz/refs/heads/main",
	    "", WEB_ARCHIVE, "acme", "widgets", R, "codeload",
	    "/tar.gz/refs/heads/main", 0 },
	{ WEB_SITE_CODELOAD, "GET",
	    "/acme/widgets/zip/refs/heads/a/b/c/d/e/f/g", "x=1", WEB_ARCHIVE,
	    "acme", "widgets", R, "codeload",
	    "/zip/refs/heads/a/b/c/d/e/f/g", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/zip/refs/tags/v1.0", "",
	    WEB_ARCHIVE, "acme", "widgets", R, "codeload",
	    "/zip/refs/tags/v1.0", 0 },
	{ WEB_SITE_CODELOAD, "POST", "/acme/widgets/tar.gz/main", "",
	    WEB_METHOD, "acme", "widgets", R, "codeload", "/tar.gz/main", 0 },
	{ WEB_SITE_CODELOAD, "DELETE", "/acme/widgets/zip/main", "",
	    WEB_METHOD, "acme", "widgets", R, "codeload", "/zip/main", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/tar.gz", "", WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/tar.gz/", "", WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets", "", WEB_NONE, "", "",
	    N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/tar/main", "", WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/TAR.GZ/main", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/tar.bz2/main", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/tarball/main", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/legacy.tar/main", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/main/tar.gz", "",
	    WEB_NONE, "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/wid@gets/zip/main", "", WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/" O40 "/w/zip/main", "", WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/info/refs", UP, WEB_NONE,
	    "", "", N, NULL, "", 0 },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/releases/download/v1/w",
	    "", WEB_NONE, "", "", N, NULL, "", 0 },

	/* raw.githubusercontent.com: files. */
	{ WEB_SITE_RAW, "GET", "/acme/widgets/main/README.md", "",
	    WEB_RAW, "acme", "widgets", R, "raw", "/main/README.md", 0 },
	{ WEB_SITE_RAW, "HEAD", "/acme/widgets/main/README.md", "token=x",
	    WEB_RAW, "acme", "widgets", R, "raw", "/main/README.md", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/widgets/refs/heads/main/docs/a/b/c.md",
	    "", WEB_RAW, "acme", "widgets", R, "raw",
	    "/refs/heads/main/docs/a/b/c.md", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/widgets/0123abcd/a", "",
	    WEB_RAW, "acme", "widgets", R, "raw", "/0123abcd/a", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/widgets.git/main/a", "",
	    WEB_RAW, "acme", "widgets.git", R, "raw", "/main/a", 0 },
	{ WEB_SITE_RAW, "POST", "/acme/widgets/main/README.md", "",
	    WEB_METHOD, "acme", "widgets", R, "raw", "/main/README.md", 0 },
	{ WEB_SITE_RAW, "PUT", "/acme/widgets/main/README.md", "",
	    WEB_METHOD, "acme", "widgets", R, "raw", "/main/README.md", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/widgets/main", "", WEB_NONE, "", "",
	    N, NULL, "", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/widgets", "", WEB_NONE, "", "", N,
	    NULL, "", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/widgets//README.md", "", WEB_NONE, "",
	    "", N, NULL, "", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/widgets/main/", "", WEB_NONE, "", "",
	    N, NULL, "", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/wid gets/main/a", "", WEB_NONE, "", "",
	    N, NULL, "", 0 },
	{ WEB_SITE_RAW, "GET", "/acme/../main/a", "", WEB_NONE, "", "", N,
	    NULL, "", 0 },
	{ WEB_SITE_RAW, "GET", "/" O40 "/w/main/a", "", WEB_NONE, "", "", N,
	    NULL, "", 0 },

	/* Copilot: anything, no repository. */
	{ WEB_SITE_COPILOT, "POST", "/chat/completions", "", WEB_COPILOT,
	    "", "", N, "copilot", "", 0 },
	{ WEB_SITE_COPILOT, "GET", "/models", "", WEB_COPILOT, "", "", N,
	    "copilot", "", 0 },
	{ WEB_SITE_COPILOT, "DELETE", "/acme/widgets/info/refs", UP,
	    WEB_COPILOT, "", "", N, "copilot", "", 0 },
	{ WEB_SITE_COPILOT, "OPTIONS", "/", "", WEB_COPILOT, "", "", N,
	    "copilot", "", 0 },
	{ WEB_SITE_COPILOT, "GET", "", "", WEB_COPILOT, "", "", N,
	    "copilot", "", 0 },
};

static const char *
kind_name(enum web_kind k)
{
	static const char *names[] = { "NONE", "METHOD", "GIT_REFS",
	    "GIT_PACK", "GIT_DUMB", "RELEASE", "ARCHIVE", "RAW", "COPILOT" };

	if ((unsigned)k >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[k];
}

static void
check_case(const struct class_case *c, const char *path,
    struct web_target *t)
{
	char *q = NULL;
	size_t qlen = strlen(c->query);

	/* The query is not NUL-terminated in a request: a copy that is not. */
	if (qlen > 0) {
		if ((q = malloc(qlen)) == NULL)
			abort();
		memcpy(q, c->query, qlen);
	}
	web_classify(c->site, c->method, path, q != NULL ? q : "", qlen, t);
	free(q);
}

static void
test_classify_table(void)
{
	const struct class_case *c;
	struct web_target t;
	size_t i;
	int ok;

	for (i = 0; i < sizeof(class_cases) / sizeof(class_cases[0]); i++) {
		c = &class_cases[i];
		memset(&t, 0xa5, sizeof(t));
		check_case(c, c->path, &t);
		ok = t.kind == c->kind && strcmp(t.owner, c->owner) == 0 &&
		    strcmp(t.repo, c->repo) == 0 &&
		    (c->kind == WEB_NONE || t.need == c->need) &&
		    ((t.endpoint == NULL && c->endpoint == NULL) ||
		    (t.endpoint != NULL && c->endpoint != NULL &&
		    strcmp(t.endpoint, c->endpoint) == 0)) &&
		    t.rest != NULL && strcmp(t.rest, c->rest) == 0 &&
		    t.latest == c->latest;
		if (!ok)
			fprintf(stderr, "%s %s %s ?%s: got %s %s/%s need %d "
			    "endpoint %s rest \"%s\" latest %d; want %s %s/%s "
			    "need %d endpoint %s rest \"%s\" latest %d\n",
			    web_site_name(c->site), c->method, c->path,
			    c->query, kind_name(t.kind), t.owner, t.repo,
			    (int)t.need, t.endpoint ? t.endpoint : "(null)",
			    t.rest ? t.rest : "(null)", t.latest,
			    kind_name(c->kind), c->owner, c->repo, (int)c->need,
			    c->endpoint ? c->endpoint : "(null)", c->rest,
			    c->latest);
		CHECK(ok);
		/* rest points into path, at its end. */
		if (t.kind != WEB_NONE && t.kind != WEB_COPILOT) {
			CHECK(t.rest >= c->path &&
			    t.rest + strlen(t.rest) == c->path +
			    strlen(c->path));
		}
	}
}

/* The same shape lengths at their limits, built at run time. */
static void
test_classify_lengths(void)
{
	struct web_target t;
	char owner[64], name[128], path[512];

	memset(owner, 'o', 39);
	owner[39] = '\0';
	memset(name, 'r', 100);
	name[100] = '\0';

	snprintf(path, sizeof(path), "/%s/%s/info/refs", owner, name);
	web_classify(WEB_SITE_WEB, "GET", path, UP, strlen(UP), &t);
	CHECK(t.kind == WEB_GIT_REFS);
	CHECK_STR(t.owner, owner);
	CHECK_STR(t.repo, name);

	/* 100 characters and ".git": the name is 100. */
	snprintf(path, sizeof(path), "/%s/%s.git/info/refs", owner, name);
	web_classify(WEB_SITE_WEB, "GET", path, UP, strlen(UP), &t);
	CHECK(t.kind == WEB_GIT_REFS);
	CHECK_STR(t.repo, name);
	snprintf(path, sizeof(path), "/%s/%s.git/git-upload-pack", owner,
	    name);
	web_classify(WEB_SITE_OWN, "POST", path, "", 0, &t);
	CHECK(t.kind == WEB_GIT_PACK);
	CHECK_STR(t.repo, name);

	snprintf(path, sizeof(path), "/%s/%s/releases/download/v/f", owner,
	    name);
	web_classify(WEB_SITE_WEB, "GET", path, "", 0, &t);
	CHECK(t.kind == WEB_RELEASE);
	CHECK_STR(t.owner, owner);
	CHECK_STR(t.repo, name);
	snprintf(path, sizeof(path), "/%s/%s/zip/main", owner, name);
	web_classify(WEB_SITE_CODELOAD, "GET", path, "", 0, &t);
	CHECK(t.kind == WEB_ARCHIVE);
	CHECK_STR(t.repo, name);
	snprintf(path, sizeof(path), "/%s/%s/main/f", owner, name);
	web_classify(WEB_SITE_RAW, "GET", path, "", 0, &t);
	CHECK(t.kind == WEB_RAW);
	CHECK_STR(t.repo, name);

	/* One more: nothing, on every site. */
	owner[39] = 'o';
	owner[40] = '\0';
	snprintf(path, sizeof(path), "/%s/r/info/refs", owner);
	web_classify(WEB_SITE_WEB, "GET", path, UP, strlen(UP), &t);
	CHECK(t.kind == WEB_NONE && t.owner[0] == '\0');
	snprintf(path, sizeof(path), "/%s/r/releases/download/v/f", owner);
	web_classify(WEB_SITE_OWN, "GET", path, "", 0, &t);
	CHECK(t.kind == WEB_NONE && t.owner[0] == '\0');
	snprintf(path, sizeof(path), "/%s/r/zip/main", owner);
	web_classify(WEB_SITE_CODELOAD, "GET", path, "", 0, &t);
	CHECK(t.kind == WEB_NONE && t.owner[0] == '\0');
	snprintf(path, sizeof(path), "/%s/r/main/f", owner);
	web_classify(WEB_SITE_RAW, "GET", path, "", 0, &t);
	CHECK(t.kind == WEB_NONE && t.owner[0] == '\0');

	owner[39] = '\0';
	name[100] = 'r';
	name[101] = '\0';
	snprintf(path, sizeof(path), "/%s/%s.git/info/refs", owner, name);
	web_classify(WEB_SITE_WEB, "GET", path, UP, strlen(UP), &t);
	CHECK(t.kind == WEB_NONE && t.repo[0] == '\0');
	snprintf(path, sizeof(path), "/%s/%s/main/f", owner, name);
	web_classify(WEB_SITE_RAW, "GET", path, "", 0, &t);
	CHECK(t.kind == WEB_NONE && t.repo[0] == '\0');
	snprintf(path, sizeof(path), "/%s/%s/zip/main", owner, name);
	web_classify(WEB_SITE_CODELOAD, "GET", path, "", 0, &t);
	CHECK(t.kind == WEB_NONE && t.repo[0] == '\0');
}

/* Only querylen bytes of the query count. */
static void
test_classify_query_len(void)
{
	struct web_target t;
	const char *q = "service=git-upload-pack&service=git-receive-pack";

	web_classify(WEB_SITE_WEB, "GET", "/acme/w/info/refs", q, 23, &t);
	CHECK(t.kind == WEB_GIT_REFS && t.need == SCOPE_READ);
	web_classify(WEB_SITE_WEB, "GET", "/acme/w/info/refs", q, 24, &t);
	CHECK(t.kind == WEB_GIT_REFS && t.need == SCOPE_READ);
	web_classify(WEB_SITE_WEB, "GET", "/acme/w/info/refs", q, 22, &t);
	CHECK(t.kind == WEB_GIT_DUMB);
	web_classify(WEB_SITE_WEB, "GET", "/acme/w/info/refs", q, strlen(q),
	    &t);
	CHECK(t.kind == WEB_GIT_DUMB);
	web_classify(WEB_SITE_WEB, "GET", "/acme/w/info/refs", q + 24, 24,
	    &t);
	CHECK(t.kind == WEB_GIT_REFS && t.need == SCOPE_WRITE);
	web_classify(WEB_SITE_WEB, "GET", "/acme/w/info/refs", q, 0, &t);
	CHECK(t.kind == WEB_GIT_DUMB);
}

/* What a previous classification left in target does not show through. */
static void
test_classify_reset(void)
{
	struct web_target t;

	web_classify(WEB_SITE_WEB, "GET", "/acme/w/releases/latest/download/f",
	    "", 0, &t);
	CHECK(t.kind == WEB_RELEASE && t.latest == 1);
	web_classify(WEB_SITE_WEB, "GET", "/acme/w/releases/download/v/f",
	    "", 0, &t);
	CHECK(t.kind == WEB_RELEASE && t.latest == 0);
	web_classify(WEB_SITE_WEB, "GET", "/acme/w/releases/latest/download/f",
	    "", 0, &t);
	web_classify(WEB_SITE_WEB, "GET", "/x", "", 0, &t);
	CHECK(t.kind == WEB_NONE && t.latest == 0 && t.owner[0] == '\0' &&
	    t.repo[0] == '\0' && t.endpoint == NULL &&
	    strcmp(t.rest, "") == 0);
	/* A repository-looking path that is no shape leaves nothing. */
	web_classify(WEB_SITE_WEB, "GET", "/acme/widgets/info/nope", UP,
	    strlen(UP), &t);
	CHECK(t.kind == WEB_NONE && t.owner[0] == '\0' && t.repo[0] == '\0' &&
	    strcmp(t.rest, "") == 0);
	web_classify(WEB_SITE_COPILOT, "POST", "/x", "", 0, &t);
	CHECK(t.kind == WEB_COPILOT && t.owner[0] == '\0' &&
	    t.repo[0] == '\0' && t.latest == 0);
}

/*
 * web_check()
 */

static void
token(struct scope *sc, enum scope_token type, enum scope_level contents)
{
	CHECK(scope_init(sc, type, "acme") == 0);
	CHECK(scope_add_repo(sc, "acme/widgets") == 0);
	CHECK(scope_add_repo(sc, "Beta/*") == 0);
	if (contents != SCOPE_NONE)
		CHECK(scope_set_perm(sc, "contents", contents) == 0);
	CHECK(scope_set_perm(sc, "issues", SCOPE_ADMIN) == 0);
}

struct chk_case {
	enum web_site	 site;
	const char	*method;
	const char	*path;
	const char	*query;
	enum scope_level contents;	/* the token's */
	enum scope_decision want;
	enum scope_code	 code;
	const char	*reason;	/* NULL: not compared */
};

static const struct chk_case chk_cases[] = {
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", UP, R,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "GET", "/acme/widgets.git/info/refs", UP, W,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", UP, SCOPE_ADMIN,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", UP, N,
	    SCOPE_DENY, SCOPE_E_PERMISSION,
	    "needs contents:read on acme/widgets" },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", RP, R,
	    SCOPE_DENY, SCOPE_E_PERMISSION,
	    "needs contents:write on acme/widgets" },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", RP, W,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "POST", "/acme/widgets/git-upload-pack", "", R,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "POST", "/acme/widgets.git/git-receive-pack", "", R,
	    SCOPE_DENY, SCOPE_E_PERMISSION,
	    "needs contents:write on acme/widgets" },
	{ WEB_SITE_OWN, "POST", "/acme/widgets.git/git-receive-pack", "", W,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	/* Repositories match without regard to case, as on GitHub. */
	{ WEB_SITE_WEB, "GET", "/ACME/Widgets/info/refs", UP, R,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "GET", "/beta/anything/info/refs", UP, R,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "GET", "/BETA/x.git/info/refs", RP, W,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	/* Out of scope. */
	{ WEB_SITE_WEB, "GET", "/acme/other/info/refs", UP, W,
	    SCOPE_DENY, SCOPE_E_REPO,
	    "repository acme/other is outside this token's scope" },
	{ WEB_SITE_WEB, "GET", "/acme/widgets2/info/refs", UP, W,
	    SCOPE_DENY, SCOPE_E_REPO, NULL },
	{ WEB_SITE_WEB, "GET", "/acm/widgets/info/refs", UP, W,
	    SCOPE_DENY, SCOPE_E_REPO, NULL },
	{ WEB_SITE_WEB, "GET", "/betamax/x/info/refs", UP, W,
	    SCOPE_DENY, SCOPE_E_REPO, NULL },
	{ WEB_SITE_WEB, "GET", "/widgets/acme/info/refs", UP, W,
	    SCOPE_DENY, SCOPE_E_REPO, NULL },
	/* The repository is the name without ".git" for git only. */
	{ WEB_SITE_RAW, "GET", "/acme/widgets.git/main/f", "", W,
	    SCOPE_DENY, SCOPE_E_REPO,
	    "repository acme/widgets.git is outside this token's scope" },
	/* Releases, archives and raw files need contents:read. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v1/f", "",
	    R, SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "GET", "/beta/x/releases/latest/download/f", "",
	    R, SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v1/f", "",
	    N, SCOPE_DENY, SCOPE_E_PERMISSION,
	    "needs contents:read on acme/widgets" },
	{ WEB_SITE_WEB, "GET", "/acme/nope/releases/download/v1/f", "",
	    R, SCOPE_DENY, SCOPE_E_REPO, NULL },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/tar.gz/main", "", R,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_CODELOAD, "GET", "/acme/widgets/zip/main", "", N,
	    SCOPE_DENY, SCOPE_E_PERMISSION, NULL },
	{ WEB_SITE_CODELOAD, "GET", "/other/widgets/zip/main", "", W,
	    SCOPE_DENY, SCOPE_E_REPO, NULL },
	{ WEB_SITE_RAW, "GET", "/Acme/WIDGETS/main/README.md", "", R,
	    SCOPE_ALLOW, SCOPE_OK, NULL },
	{ WEB_SITE_RAW, "GET", "/acme/widgets/main/README.md", "", N,
	    SCOPE_DENY, SCOPE_E_PERMISSION, NULL },
	/* Nothing, or dumb HTTP: never allowed. */
	{ WEB_SITE_WEB, "GET", "/acme/widgets/info/refs", "", SCOPE_ADMIN,
	    SCOPE_DENY, SCOPE_E_UNKNOWN, "not a request ghp passes" },
	{ WEB_SITE_WEB, "GET", "/acme/widgets", "", SCOPE_ADMIN,
	    SCOPE_DENY, SCOPE_E_UNKNOWN, "not a request ghp passes" },
	{ WEB_SITE_WEB, "GET", "/", "", SCOPE_ADMIN,
	    SCOPE_DENY, SCOPE_E_UNKNOWN, NULL },
	{ WEB_SITE_WEB, "POST", "/acme/widgets/info/refs", UP, SCOPE_ADMIN,
	    SCOPE_DENY, SCOPE_E_UNKNOWN, NULL },
};

static void
test_check_table(void)
{
	const struct chk_case *c;
	struct scope sc;
	struct scope_result res;
	struct web_target t;
	enum scope_decision d;
	size_t i;
	int type;

	for (type = 0; type < 2; type++)
		for (i = 0; i < sizeof(chk_cases) / sizeof(chk_cases[0]); i++) {
			c = &chk_cases[i];
			token(&sc, type ? SCOPE_TOKEN_AGENT : SCOPE_TOKEN_USER,
			    c->contents);
			web_classify(c->site, c->method, c->path, c->query,
			    strlen(c->query), &t);
			memset(&res, 0xa5, sizeof(res));
			d = web_check(&sc, &t, &res);
			if (d != c->want || res.code != c->code)
				fprintf(stderr, "%s %s ?%s (contents %d): got "
				    "%d %s \"%s\"\n", c->method, c->path,
				    c->query, (int)c->contents, (int)d,
				    scope_code_name(res.code), res.reason);
			CHECK(d == c->want);
			CHECK(res.decision == d);
			CHECK(res.code == c->code);
			if (c->reason != NULL)
				CHECK_STR(res.reason, c->reason);
			CHECK(memchr(res.reason, '\0',
			    sizeof(res.reason)) != NULL);
			CHECK_STR(res.permission, "contents");
			if (t.kind != WEB_NONE) {
				CHECK(res.level == t.need);
				CHECK(res.template == t.endpoint);
			}
		}
}

static void
test_check_result(void)
{
	struct scope sc;
	struct scope_result res;
	struct web_target t;

	token(&sc, SCOPE_TOKEN_USER, SCOPE_WRITE);
	web_classify(WEB_SITE_WEB, "GET", "/Acme/Widgets.git/info/refs", RP,
	    strlen(RP), &t);
	CHECK(web_check(&sc, &t, &res) == SCOPE_ALLOW);
	CHECK(res.decision == SCOPE_ALLOW && res.code == SCOPE_OK);
	CHECK_STR(res.repo, "Acme/Widgets");
	CHECK_STR(res.permission, "contents");
	CHECK(res.level == SCOPE_WRITE);
	CHECK_STR(res.template, "git-receive-pack");

	web_classify(WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v/f",
	    "", 0, &t);
	CHECK(web_check(&sc, &t, &res) == SCOPE_ALLOW);
	CHECK_STR(res.repo, "acme/widgets");
	CHECK(res.level == SCOPE_READ);
	CHECK_STR(res.template, "releases");

	web_classify(WEB_SITE_CODELOAD, "GET", "/acme/widgets/zip/main", "", 0,
	    &t);
	CHECK(web_check(&sc, &t, &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "codeload");
	web_classify(WEB_SITE_RAW, "GET", "/acme/widgets/main/a", "", 0, &t);
	CHECK(web_check(&sc, &t, &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "raw");

	/* A scope with no repository at all. */
	CHECK(scope_init(&sc, SCOPE_TOKEN_USER, "acme") == 0);
	CHECK(scope_set_perm(&sc, "contents", SCOPE_ADMIN) == 0);
	web_classify(WEB_SITE_RAW, "GET", "/acme/widgets/main/a", "", 0, &t);
	CHECK(web_check(&sc, &t, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_REPO);

	/* The owner alone is not the owner's repositories. */
	CHECK(scope_add_repo(&sc, "acme/acme") == 0);
	CHECK(web_check(&sc, &t, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_REPO);
}

static void
test_check_copilot(void)
{
	struct scope sc;
	struct scope_result res;
	struct web_target t;

	web_classify(WEB_SITE_COPILOT, "POST", "/chat/completions", "", 0, &t);
	CHECK(t.kind == WEB_COPILOT);

	/* A user's token without "copilot". */
	token(&sc, SCOPE_TOKEN_USER, SCOPE_ADMIN);
	CHECK(web_check(&sc, &t, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PERMISSION);
	CHECK_STR(res.reason, "needs copilot:read");
	CHECK_STR(res.permission, "copilot");
	CHECK(res.level == SCOPE_READ);
	CHECK_STR(res.template, "copilot");

	/* With it. */
	CHECK(scope_set_perm(&sc, "copilot", SCOPE_READ) == 0);
	CHECK(web_check(&sc, &t, &res) == SCOPE_ALLOW);
	CHECK(res.decision == SCOPE_ALLOW && res.code == SCOPE_OK);
	CHECK_STR(res.permission, "copilot");
	CHECK(res.level == SCOPE_READ);
	CHECK_STR(res.repo, "");
	CHECK(scope_set_perm(&sc, "copilot", SCOPE_WRITE) == 0);
	CHECK(web_check(&sc, &t, &res) == SCOPE_ALLOW);
	CHECK(scope_set_perm(&sc, "copilot", SCOPE_NONE) == 0);
	CHECK(web_check(&sc, &t, &res) == SCOPE_DENY);

	/* Without any repository: Copilot is not a repository's. */
	CHECK(scope_init(&sc, SCOPE_TOKEN_USER, NULL) == 0);
	CHECK(scope_set_perm(&sc, "copilot", SCOPE_READ) == 0);
	CHECK(web_check(&sc, &t, &res) == SCOPE_ALLOW);

	/* An agent's token, even with "copilot": refused. */
	token(&sc, SCOPE_TOKEN_AGENT, SCOPE_ADMIN);
	CHECK(scope_set_perm(&sc, "copilot", SCOPE_ADMIN) == 0);
	CHECK(web_check(&sc, &t, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_TOKEN_TYPE);
	CHECK_STR(res.reason, "Copilot needs a user's ghx_ token");
	token(&sc, SCOPE_TOKEN_AGENT, SCOPE_NONE);
	CHECK(web_check(&sc, &t, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_TOKEN_TYPE);

	/* "copilot" is no permission for the repository shapes. */
	token(&sc, SCOPE_TOKEN_USER, SCOPE_NONE);
	CHECK(scope_set_perm(&sc, "copilot", SCOPE_ADMIN) == 0);
	web_classify(WEB_SITE_RAW, "GET", "/acme/widgets/main/a", "", 0, &t);
	CHECK(web_check(&sc, &t, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PERMISSION);
}

/*
 * web_strip_query_param()
 */

struct strip_case {
	const char	*in;
	const char	*name;
	const char	*out;	/* NULL: -1 */
};

static const struct strip_case strip_cases[] = {
	{ "",				"token",	"" },
	{ "token=abc",			"token",	"" },
	{ "token",			"token",	"" },
	{ "token=",			"token",	"" },
	{ "token=abc&a=1",		"token",	"a=1" },
	{ "a=1&token=abc",		"token",	"a=1" },
	{ "a=1&token=abc&b=2",		"token",	"a=1&b=2" },
	{ "a=1&token&b=2",		"token",	"a=1&b=2" },
	{ "token=1&token=2&token",	"token",	"" },
	{ "token=1&a&token=2&b",	"token",	"a&b" },
	{ "tokenx=1",			"token",	"tokenx=1" },
	{ "xtoken=1",			"token",	"xtoken=1" },
	{ "tokens",			"token",	"tokens" },
	{ "toke=1",			"token",	"toke=1" },
	{ "a=token&b=token=x",		"token",	"a=token&b=token=x"
	    },
	{ "a=b=c&token=x=y",		"token",	"a=b=c" },
	{ "a=1&&b=2",			"token",	"a=1&b=2" },
	{ "&a=1&",			"token",	"a=1" },
	{ "&&",				"token",	"" },
	{ "&token=x&",			"token",	"" },
	{ "a=1&b=2&c=3",		"token",	"a=1&b=2&c=3" },
	{ "=x&token=y",			"token",	"=x" },
	{ "service=x&a=1",		"service",	"a=1" },
};

static void
test_strip_table(void)
{
	const struct strip_case *c;
	char out[256], *in;
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(strip_cases) / sizeof(strip_cases[0]); i++) {
		c = &strip_cases[i];
		n = strlen(c->in);
		/* Not NUL-terminated, in a buffer of its own size. */
		if ((in = malloc(n + 1)) == NULL)
			abort();
		memcpy(in, c->in, n);
		memset(out, 'X', sizeof(out));
		r = web_strip_query_param(in, n, c->name, out, sizeof(out));
		if (c->out == NULL)
			CHECK(r == -1);
		else {
			if (r < 0 || strcmp(out, c->out) != 0)
				fprintf(stderr, "strip \"%s\": got %d \"%s\", "
				    "want \"%s\"\n", c->in, r, r < 0 ? "" : out,
				    c->out);
			CHECK(r == (int)strlen(c->out));
			CHECK_STR(out, c->out);
		}
		free(in);
	}
}

static void
test_strip_len(void)
{
	char out[64];

	/* Only len bytes of the query. */
	CHECK(web_strip_query_param("a=1&token=x", 3, "token", out,
	    sizeof(out)) == 3);
	CHECK_STR(out, "a=1");
	CHECK(web_strip_query_param("a=1&token=x", 9, "token", out,
	    sizeof(out)) == 3);
	CHECK_STR(out, "a=1");
	CHECK(web_strip_query_param("a=1&tokenXYZ", 9, "token", out,
	    sizeof(out)) == 3);
	CHECK_STR(out, "a=1");
	CHECK(web_strip_query_param("a=1&token=x", 0, "token", out,
	    sizeof(out)) == 0);
	CHECK_STR(out, "");
}

static void
test_strip_small(void)
{
	char out[16];

	/* Too small: -1; nothing written past outlen. */
	memset(out, 'X', sizeof(out));
	CHECK(web_strip_query_param("a=1&b=2", 7, "token", out, 7) == -1);
	CHECK(out[7] == 'X');
	CHECK(web_strip_query_param("a=1&b=2", 7, "token", out, 4) == -1);
	CHECK(out[4] == 'X');
	CHECK(web_strip_query_param("a=1", 3, "token", out, 3) == -1);
	CHECK(out[3] == 'X');
	CHECK(web_strip_query_param("a=1", 3, "token", out, 1) == -1);
	memset(out, 'X', sizeof(out));
	CHECK(web_strip_query_param("", 0, "token", out, 0) == -1);
	CHECK(out[0] == 'X');
	CHECK(web_strip_query_param("token=1", 7, "token", out, 0) == -1);
	CHECK(out[0] == 'X');

	/* Room for what is left, not for the input. */
	CHECK(web_strip_query_param("token=1", 7, "token", out, 1) == 0);
	CHECK_STR(out, "");
	CHECK(web_strip_query_param("", 0, "token", out, 1) == 0);
	CHECK_STR(out, "");
	CHECK(web_strip_query_param("token=12345&a=1", 15, "token", out, 5) ==
	    3);
	CHECK_STR(out, "a=1");

	/* An exact fit of several parameters. */
	memset(out, 'X', sizeof(out));
	CHECK(web_strip_query_param("a=1&b=2", 7, "token", out, 8) == 7);
	CHECK_STR(out, "a=1&b=2");
	CHECK(web_strip_query_param("a=1&token=1&b=2", 15, "token", out, 8) ==
	    7);
	CHECK_STR(out, "a=1&b=2");
}

/*
 * An exact fit of one parameter: "a=1" and its NUL fit in 4 bytes.  This
 * is what worker/sites.c asks (outlen = querylen + 1) for every raw file
 * request with a query: one parameter that is not "token" must be kept,
 * not refused.
 */
static void
test_strip_exact_fit(void)
{
	char out[16];

	memset(out, 'X', sizeof(out));
	CHECK(web_strip_query_param("a=1", 3, "token", out, 4) == 3);
	CHECK(memcmp(out, "a=1", 4) == 0);
	CHECK(web_strip_query_param("x", 1, "token", out, 2) == 1);
	CHECK(web_strip_query_param("token=1&a=1", 11, "token", out, 4) ==
	    3);
	CHECK(web_strip_query_param("a=1&token=1", 11, "token", out, 4) ==
	    3);
}

/*
 * A request with no query at all: request.c passes NULL and 0.  Last,
 * because undefined behaviour here stops the sanitizer build.
 */
static void
test_classify_null_query(void)
{
	struct web_target t;

	web_classify(WEB_SITE_WEB, "GET", "/acme/widgets/releases/download/v/f",
	    NULL, 0, &t);
	CHECK(t.kind == WEB_RELEASE);
	web_classify(WEB_SITE_WEB, "POST", "/acme/widgets/git-upload-pack",
	    NULL, 0, &t);
	CHECK(t.kind == WEB_GIT_PACK);
	web_classify(WEB_SITE_WEB, "GET", "/acme/widgets.git/info/refs", NULL,
	    0, &t);
	CHECK(t.kind == WEB_GIT_DUMB);
	CHECK_STR(t.owner, "acme");
	CHECK_STR(t.repo, "widgets");
}

int
main(void)
{
	UNIT_RUN(test_site);
	UNIT_RUN(test_classify_table);
	UNIT_RUN(test_classify_lengths);
	UNIT_RUN(test_classify_query_len);
	UNIT_RUN(test_classify_reset);
	UNIT_RUN(test_check_table);
	UNIT_RUN(test_check_result);
	UNIT_RUN(test_check_copilot);
	UNIT_RUN(test_strip_table);
	UNIT_RUN(test_strip_len);
	UNIT_RUN(test_strip_small);
	UNIT_RUN(test_strip_exact_fit);
	UNIT_RUN(test_classify_null_query);
	return UNIT_DONE("test_web");
}
