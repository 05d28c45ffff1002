/*
 * scope.h: what a scoped client token may do on GitHub's REST API.
 *
 * Contract:
 *
 *  path_normalize(target, out, outlen, &why)
 *	Turns a request target in origin-form ("/repos/a/b/issues?page=2")
 *	into the path that scope_check() matches and the worker forwards
 *	("/repos/a/b/issues"): the query (from the first '?') is dropped.
 *	It never resolves anything; it refuses, returning -1 with a short
 *	reason in *why (static text; answer 400), a target that:
 *	  - does not start with '/' (absolute-form, "*", empty);
 *	  - has an empty segment ("//", or a trailing '/' unless the whole
 *	    path is "/": GitHub's clients never send one);
 *	  - has a "." or ".." segment;
 *	  - has %2E, %2F or %5C (either case): an encoded dot, slash or
 *	    backslash, or a raw backslash;
 *	  - has an invalid escape ('%' not followed by two hex digits), an
 *	    encoded control character (%00-%1F, %7F), a raw control
 *	    character, space, DEL, byte >= 0x80, or a character RFC 3986
 *	    does not allow in a path (" # < > [ ] ^ ` { | });
 *	  - does not fit in outlen bytes with its NUL.
 *	Other escapes: an escaped unreserved character (letter, digit, '-',
 *	'_', '~') is decoded, so "/repos/%61cme/w" is "/repos/acme/w" as it
 *	is for GitHub; any other escape is kept, with upper-case hex, and
 *	so can never form '/' or '.'.  The output is a fixed point:
 *	normalising it again gives it back unchanged.
 *
 *  struct scope
 *	A token's scope: its type (ghx_ user token or gha_ agent token),
 *	its owner's login (for /user and /users/{username} endpoints; may
 *	be unknown), its repositories ("owner/repo" or "owner/\*", matched
 *	ASCII-case-insensitively as GitHub does) and its permissions
 *	(GitHub's fine-grained names, each none/read/write/admin, where
 *	admin includes write and write includes read).  Fill it with
 *	scope_init(), scope_add_repo() and scope_set_perm(); it holds no
 *	pointers and needs no freeing.
 *
 *  scope_check(scope, method, path, &result)
 *	Decides one request: SCOPE_ALLOW or SCOPE_DENY, with the matched
 *	template, the repository the path names, the permission and level
 *	that granted or was missing, and a reason for logs and error
 *	bodies ("needs issues:write on acme/widgets", "repository
 *	acme/other is outside this token's scope", "endpoint not in ghp's
 *	permission table", ...).  path must come from path_normalize(); a
 *	path that is not normalised is refused, never matched.  Methods
 *	are case-sensitive: GET POST PUT PATCH DELETE, and HEAD is GET.
 *	Every endpoint GitHub documents is in the generated table
 *	(common/permtab.h); anything else is refused (fail closed).  The
 *	rules (which rows of the table apply, how several combine, what
 *	an organization or account endpoint is checked against) are at the
 *	top of scope.c.  It does not allocate and keeps no state between
 *	calls.
 *
 *	POST /graphql is allowed for gha_ tokens, whose down-scoped
 *	installation token GitHub enforces itself, and refused for ghx_
 *	tokens: their GraphQL is decided on the request body by
 *	gql_check() (gql_scope.h), which the caller runs instead.  A GitHub
 *	Enterprise Server "/api/v3" prefix must be removed before calling.
 */
#ifndef GHP_SCOPE_H
#define GHP_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "permtab.h"

#define SCOPE_MAXREPOS		64	/* patterns per token */
#define SCOPE_OWNER_MAX		39	/* GitHub login length */
#define SCOPE_NAME_MAX		100	/* repository name length */
#define SCOPE_MAXSEGS		128	/* path segments, at most */
#define SCOPE_REPO_MAX		(SCOPE_OWNER_MAX + 1 + SCOPE_NAME_MAX + 1)
#define SCOPE_REASON_MAX	256

enum scope_level {
	SCOPE_NONE = 0,
	SCOPE_READ = 1,
	SCOPE_WRITE = 2,
	SCOPE_ADMIN = 3
};

enum scope_token {
	SCOPE_TOKEN_USER,	/* ghx_: fine_grained_pat rows */
	SCOPE_TOKEN_AGENT	/* gha_: installation_token rows */
};

enum scope_decision {
	SCOPE_DENY = 0,
	SCOPE_ALLOW = 1
};

/* Why, in a form for metrics; all but SCOPE_OK come with SCOPE_DENY. */
enum scope_code {
	SCOPE_OK,
	SCOPE_E_METHOD,		/* method not supported */
	SCOPE_E_PATH,		/* not normalised, too many segments */
	SCOPE_E_UNKNOWN,	/* endpoint not in the table */
	SCOPE_E_POLICY,		/* refused for every scoped token */
	SCOPE_E_TOKEN_TYPE,	/* listed for the other token type */
	SCOPE_E_REPO,		/* names a repository outside the scope */
	SCOPE_E_SUBJECT,	/* organization or account not covered */
	SCOPE_E_PERMISSION,	/* permission missing or too low */
	SCOPE_E_REQUEST		/* malformed request body (GraphQL): 400 */
};

struct scope_repo {
	char		 owner[SCOPE_OWNER_MAX + 1];
	char		 name[SCOPE_NAME_MAX + 1];	/* "*": all */
};

struct scope {
	enum scope_token type;
	char		 login[SCOPE_OWNER_MAX + 1]; /* "": unknown */
	size_t		 nrepos;
	struct scope_repo repos[SCOPE_MAXREPOS];
	uint8_t		 perms[PERMTAB_MAXPERMS]; /* scope_level */
};

struct scope_result {
	enum scope_decision decision;
	enum scope_code	 code;
	const char	*template;	/* matched template, or NULL */
	char		 repo[SCOPE_REPO_MAX]; /* "owner/repo" or "" */
	const char	*permission;	/* needed or granting, or NULL */
	enum scope_level level;
	char		 reason[SCOPE_REASON_MAX];
};

int		 path_normalize(const char *, char *, size_t, const char **);

/* login may be NULL; -1 if it is not a valid login (then unknown). */
int		 scope_init(struct scope *, enum scope_token, const char *);
/* "owner/repo" or "owner/\*"; -1 if malformed or the scope is full. */
int		 scope_add_repo(struct scope *, const char *);
/* -1 if no REST endpoint has a permission of that name, nor GraphQL's
 * policy ("discussions"), nor is it one of ghp's own ("copilot"). */
int		 scope_set_perm(struct scope *, const char *,
		    enum scope_level);
int		 scope_parse_level(const char *, enum scope_level *);
/* Is owner/name (not NUL-terminated) one of the token's repositories? */
int		 scope_repo_allowed(const struct scope *, const char *, size_t,
		    const char *, size_t);
/* The index of a permission in perms[], or -1. */
int		 scope_perm_index(const char *);
const char	*scope_level_name(enum scope_level);
const char	*scope_code_name(enum scope_code);

enum scope_decision scope_check(const struct scope *, const char *,
		    const char *, struct scope_result *);

#endif /* GHP_SCOPE_H */
