/*
 * gql_scope.h: what a ghx_ token may do on GitHub's GraphQL API.
 *
 * A ghx_ token's request goes to GitHub with its owner's own credential,
 * which sees far more than the token may; so ghp proves, from the
 * request alone, that the operation stays inside the token's
 * repositories and permissions, and refuses whatever it cannot prove.
 *
 * Contract:
 *
 *  gql_check(scope, body, len, &result)
 *	Decides the JSON body of a POST /graphql: {"query": "...",
 *	"variables": {...}, "operationName": "..."}.  The body is refused
 *	with SCOPE_E_REQUEST (answer 400) when it is not one JSON object
 *	(a batch, an array, invalid UTF-8, a duplicate key), has no string
 *	"query" (a persisted query: "id", "documentId" or
 *	extensions.persistedQuery), "variables" that is not an object or
 *	null, an "operationName" that is not a string or null or names no
 *	operation, or a document gql_parse() refuses.  Otherwise the
 *	chosen operation is walked against GitHub's schema with ghp's
 *	policy (gqltab.h, data/graphql-policy.tsv):
 *	  - every field must be in the schema, and every object it reaches
 *	    must have a class in the policy (deny by default);
 *	  - repository(owner:, name:), from literals or variables, must be
 *	    one of the token's repositories; repository data (issues, pull
 *	    requests, contents, ...) needs its permission at read level and
 *	    is readable only under such a repository; a field that may reach
 *	    another repository (a fork, a cross-reference, a closing issue)
 *	    gives only that repository's metadata; roots that reach across
 *	    repositories (search, resource, a user's repositories) are
 *	    refused; accounts' public profiles and viewer are allowed;
 *	  - node(id:) and nodes(ids:) return their IDs in result.targets,
 *	    to be proven like a mutation's (below), and what is read under
 *	    them needs its permission as under a repository;
 *	  - a fragment must be able to apply where it is spread;
 *	  - a mutation must be in the policy and the token must hold its
 *	    permission; its targets (node IDs such as input.repositoryId)
 *	    are returned in result.targets for the caller to prove in scope
 *	    with gql_targets_request() and gql_targets_check(); targets given
 *	    as "owner/name" are checked here;
 *	  - subscriptions are refused; introspection (__schema, __type,
 *	    __typename) is allowed, as the schema is public.
 *	On SCOPE_DENY, result.sr.reason names the field ("repository.issues"
 *	style path from the operation's root) and the missing permission or
 *	repository.  It allocates only while it runs.
 *
 *  gql_targets_request(result, &len)
 *	The JSON body of the GraphQL query (operation GhpNodeRepositories)
 *	that asks GitHub which repository each target belongs to; malloc'd,
 *	NULL when there are no targets.
 *
 *  gql_targets_check(scope, answer, len, &result)
 *	Decides on GitHub's answer to that query: every target must be a
 *	repository of the token's, or an object (issue, pull request,
 *	comment, label, ref, ...) in one.  An answer that is not the
 *	expected shape, a null node, or a node with no repository is a
 *	refusal (fail closed).
 */
#ifndef GHP_GQL_SCOPE_H
#define GHP_GQL_SCOPE_H

#include <stddef.h>

#include "scope.h"

#define GQL_OPNAME_MAX		64
#define GQL_MAX_TARGETS		16
#define GQL_ID_MAX		128
#define GQL_WALK_MAX_DEPTH	64	/* selection sets, through fragments */
#define GQL_WALK_BUDGET		100000	/* selections visited */

struct gql_result {
	struct scope_result sr;	/* template "/graphql"; repo; permission */
	char		 operation[GQL_OPNAME_MAX]; /* "" when anonymous */
	const char	*kind;	/* "query", "mutation", "subscription", NULL */
	size_t		 ntargets;
	char		 targets[GQL_MAX_TARGETS][GQL_ID_MAX];
};

enum scope_decision gql_check(const struct scope *, const char *, size_t,
		    struct gql_result *);
char		*gql_targets_request(const struct gql_result *, size_t *);
enum scope_decision gql_targets_check(const struct scope *, const char *,
		    size_t, struct gql_result *);

#endif /* GHP_GQL_SCOPE_H */
