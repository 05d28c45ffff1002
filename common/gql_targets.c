/*
 * gql_targets.c: a mutation's targets, proven in scope by asking GitHub
 * (contract in gql_scope.h).
 *
 * A node ID says nothing ghp can read about its repository, so the
 * worker asks GitHub with one query (TARGETS_QUERY) for the repository
 * of every target, and gql_targets_check() reads the answer.  The query
 * names each of GitHub's types that belongs to one repository; a target
 * of any other type (a user, a project) comes back with no repository
 * and is refused.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gql_scope.h"

static enum scope_decision __attribute__((__format__(printf, 2, 3)))
refuse_target(struct gql_result *res, const char *fmt, ...)
{
	va_list ap;

	res->sr.decision = SCOPE_DENY;
	res->sr.code = SCOPE_E_REPO;
	va_start(ap, fmt);
	(void)vsnprintf(res->sr.reason, sizeof(res->sr.reason), fmt, ap);
	va_end(ap);
	return SCOPE_DENY;
}

/* GitHub's types that belong to one repository, by their repository. */
#define TARGETS_QUERY "query GhpNodeRepositories($ids: [ID!]!) { " \
	"nodes(ids: $ids) { __typename " \
	"... on Repository { nameWithOwner } " \
	"... on RepositoryNode { repository { nameWithOwner } } " \
	"... on GitObject { repository { nameWithOwner } } " \
	"... on Label { repository { nameWithOwner } } " \
	"... on Milestone { repository { nameWithOwner } } " \
	"... on Ref { repository { nameWithOwner } } " \
	"... on Release { repository { nameWithOwner } } " \
	"... on CheckRun { repository { nameWithOwner } } " \
	"... on CheckSuite { repository { nameWithOwner } } " \
	"... on Deployment { repository { nameWithOwner } } " \
	"... on PullRequestReviewThread { repository { nameWithOwner } } " \
	"} }"

char *
gql_targets_request(const struct gql_result *res, size_t *len)
{
	json_t *ids, *o;
	char *s;
	size_t i;

	if (res->ntargets == 0)
		return NULL;
	ids = json_array();
	for (i = 0; i < res->ntargets; i++)
		json_array_append_new(ids, json_string(res->targets[i]));
	o = json_pack("{s:s, s:s, s:{s:o}}", "query", TARGETS_QUERY,
	    "operationName", "GhpNodeRepositories", "variables", "ids", ids);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s != NULL)
		*len = strlen(s);
	return s;
}

/* The "owner/name" a node of the answer belongs to, or NULL. */
static const char *
node_repository(json_t *node)
{
	json_t *r;

	if (!json_is_object(node))
		return NULL;
	if ((r = json_object_get(node, "nameWithOwner")) != NULL)
		return json_string_value(r);
	r = json_object_get(node, "repository");
	return json_string_value(json_object_get(r, "nameWithOwner"));
}

static enum scope_decision
check_node(const struct scope *sc, json_t *node, const char *id,
    struct gql_result *res)
{
	const char *name = node_repository(node), *slash;

	if (name == NULL)
		return refuse_target(res, "GraphQL %s %s: ghp cannot tell "
		    "which repository %.64s belongs to", res->kind ?
		    res->kind : "request", res->operation[0] ?
		    res->operation : "(anonymous)", id);
	slash = strchr(name, '/');
	if (slash == NULL || !scope_repo_allowed(sc, name,
	    (size_t)(slash - name), slash + 1, strlen(slash + 1))) {
		(void)snprintf(res->sr.repo, sizeof(res->sr.repo), "%s", name);
		return refuse_target(res, "GraphQL %s %s: %.64s is in "
		    "repository %.140s, outside this token's scope",
		    res->kind ? res->kind : "request", res->operation[0] ?
		    res->operation : "(anonymous)", id, name);
	}
	if (res->sr.repo[0] == '\0')
		(void)snprintf(res->sr.repo, sizeof(res->sr.repo), "%s", name);
	return SCOPE_ALLOW;
}

enum scope_decision
gql_targets_check(const struct scope *sc, const char *answer, size_t len,
    struct gql_result *res)
{
	json_t *j, *nodes;
	size_t i;
	enum scope_decision d = SCOPE_ALLOW;

	res->sr.decision = SCOPE_DENY;
	if ((j = json_loadb(answer, len, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL)
		return refuse_target(res, "GitHub's answer about the "
		    "mutation's targets is not JSON");
	nodes = json_object_get(json_object_get(j, "data"), "nodes");
	if (!json_is_array(nodes) || json_array_size(nodes) != res->ntargets)
		d = refuse_target(res, "GitHub did not say which "
		    "repositories the mutation's targets belong to");
	for (i = 0; d == SCOPE_ALLOW && i < res->ntargets; i++)
		d = check_node(sc, json_array_get(nodes, i), res->targets[i],
		    res);
	json_decref(j);
	if (d == SCOPE_ALLOW) {
		res->sr.decision = SCOPE_ALLOW;
		res->sr.code = SCOPE_OK;
		(void)snprintf(res->sr.reason, sizeof(res->sr.reason),
		    "GraphQL %s %s on %s", res->kind ? res->kind : "mutation",
		    res->operation[0] ? res->operation : "(anonymous)",
		    res->sr.repo);
	}
	return d;
}
