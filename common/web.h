/*
 * web.h: which of GitHub's hosts a request is for, and what it asks of
 * the hosts other than the API: git smart HTTP and release downloads on
 * github.com, archives on codeload.github.com, files on
 * raw.githubusercontent.com, and Copilot on *.githubcopilot.com.
 *
 * Contract:
 *
 *  web_site(host, hostlen, api_host)
 *	The site a Host (name without port, ASCII case ignored) is:
 *	api.github.com and api_host (the host of "upstream api", may be
 *	NULL) are WEB_SITE_API; github.com, codeload.github.com,
 *	raw.githubusercontent.com, githubcopilot.com and its subdomains
 *	their sites; anything else (ghp's own name) WEB_SITE_OWN, where the
 *	caller routes "/api/v3/" and "/api/graphql" to the API and offers
 *	everything else to web_classify() as github.com.
 *
 *  web_intercepted(host, hostlen)
 *	Is host one that a forward-proxy listener terminates TLS for (a
 *	CONNECT to it is answered with a certificate from ghp's CA): every
 *	site above but WEB_SITE_OWN.
 *
 *  web_host_ok(host)
 *	Is host a DNS name in lower case: labels of a-z, 0-9 and '-' (not
 *	first or last), 1 to 63 long, 253 in all; no trailing dot.
 *	web_host_or_address() also takes an IPv4 or IPv6 address.
 *
 *  web_tunnel_allowed(conf, host)
 *	May a forward-proxy listener tunnel a CONNECT to host (lower case;
 *	a name or an address) as it is, without intercepting it: never
 *	for a host it intercepts; with "proxy policy permissive" any
 *	other; else one matching a "proxy allow" entry: the same name, or
 *	for "*.domain" any name ending in ".domain" (not domain itself).
 *	Never for a host an "intercept" block takes.
 *
 *  web_intercept_rule(conf, host), web_intercept_conf(conf, rule)
 *	The first "intercept" block whose pattern matches host (lower
 *	case), as an index (or -1); and the block of an index (or NULL).
 *
 *  web_classify(site, method, path, query, querylen, &target)
 *	path comes from path_normalize() (scope.h): no query, no dot
 *	segments.  Fills target with what the request is: a kind, the
 *	repository it names (owner, and name without a ".git" suffix), the
 *	contents level a ghp token needs for it, the endpoint name for the
 *	audit log, and the rest of the path after "/owner/repo" (in path).
 *	Never allocates.  Kinds:
 *	  WEB_GIT_REFS	   GET|HEAD /o/r[.git]/info/refs?service=git-upload-pack
 *			   (read) or ?service=git-receive-pack (write);
 *	  WEB_GIT_PACK	   POST /o/r[.git]/git-upload-pack (read),
 *			   /git-receive-pack (write);
 *	  WEB_GIT_DUMB	   info/refs without exactly one smart service
 *			   (GitHub serves no dumb HTTP: refuse);
 *	  WEB_RELEASE	   GET|HEAD /o/r/releases/download/TAG/FILE,
 *			   /o/r/releases/latest/download/FILE (read);
 *	  WEB_ARCHIVE	   codeload: GET|HEAD /o/r/FORMAT/REF... with FORMAT
 *			   tar.gz, zip, legacy.tar.gz or legacy.zip (read);
 *	  WEB_RAW	   raw: GET|HEAD /o/r/REF.../FILE (read);
 *	  WEB_COPILOT	   copilot: anything;
 *	  WEB_METHOD	   a known shape with a method it does not take
 *			   (answer 405);
 *	  WEB_NONE	   nothing ghp serves (answer 404, forward nothing).
 *	On WEB_SITE_OWN only the github.com git and release shapes are
 *	recognised.
 *
 *  web_check(scope, target, &result)
 *	Decides a classified request for a ghp token's scope, as
 *	scope_check() does for the API: the repository must be one of the
 *	token's and its "contents" level at least target->need; Copilot
 *	needs a user's token with ghp's own "copilot" permission.  The
 *	result names the repository, the permission and level, and the
 *	reason ("needs contents:write on acme/widgets").
 *
 *  web_strip_query_param(query, len, name, out, outlen)
 *	Copies a query string without any "name=..." (or bare "name")
 *	parameter; returns the length written, or -1 if it does not fit.
 *	raw.githubusercontent.com's "?token=" never leaves ghp.
 */
#ifndef GHP_WEB_H
#define GHP_WEB_H

#include <stddef.h>

#include "scope.h"

enum web_site {
	WEB_SITE_API,
	WEB_SITE_WEB,		/* github.com */
	WEB_SITE_CODELOAD,
	WEB_SITE_RAW,
	WEB_SITE_COPILOT,
	WEB_SITE_OWN		/* ghp's own name */
};

enum web_kind {
	WEB_NONE,
	WEB_METHOD,
	WEB_GIT_REFS,
	WEB_GIT_PACK,
	WEB_GIT_DUMB,
	WEB_RELEASE,
	WEB_ARCHIVE,
	WEB_RAW,
	WEB_COPILOT
};

struct web_target {
	enum web_kind	 kind;
	char		 owner[SCOPE_OWNER_MAX + 1];
	char		 repo[SCOPE_NAME_MAX + 1];
	enum scope_level need;		/* contents level for a ghp token */
	const char	*endpoint;	/* for the audit log, or NULL */
	const char	*rest;		/* in path: after "/owner/repo" */
	int		 latest;	/* WEB_RELEASE: releases/latest/... */
};

enum web_site	 web_site(const char *, size_t, const char *);
const char	*web_site_name(enum web_site);
int		 web_intercepted(const char *, size_t);
int		 web_host_ok(const char *);
int		 web_host_or_address(const char *);
struct config;
int		 web_tunnel_allowed(const struct config *, const char *);
int		 web_intercept_rule(const struct config *, const char *);
const struct intercept_conf *web_intercept_conf(const struct config *, int);
void		 web_classify(enum web_site, const char *, const char *,
		    const char *, size_t, struct web_target *);
enum scope_decision web_check(const struct scope *,
		    const struct web_target *, struct scope_result *);
int		 web_strip_query_param(const char *, size_t, const char *,
		    char *, size_t);

#endif /* GHP_WEB_H */
