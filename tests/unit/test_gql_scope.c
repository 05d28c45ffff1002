/*
 * test_gql_scope.c: the GraphQL scope check (gql_check(),
 * gql_targets_request(), gql_targets_check()) against GitHub's schema and
 * ghp's policy as generated into build/gen/gqltab.c.
 *
 * Three parts: table cases written here (what must pass, what must be
 * refused and why), the tricks a hostile client might try, and the corpus
 * of real clients' requests in tests/graphql/corpus/ with the decisions
 * tests/graphql/expect.tsv gives for a few token scopes.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gql_scope.h"
#include "gqltab.h"
#include "unit.h"

/* Token scopes the cases use: every one is on acme/widgets. */
struct named_scope {
	const char	*name;
	const char	*repos;
	const char	*perms;
};

static const struct named_scope scopes[] = {
	{ "read", "acme/widgets", "issues:read pull_requests:read "
	    "contents:read checks:read statuses:read actions:read "
	    "discussions:read deployments:read" },
	{ "write", "acme/widgets", "issues:write pull_requests:write "
	    "contents:write checks:read statuses:read actions:read "
	    "discussions:write deployments:read" },
	{ "issues", "acme/widgets", "issues:write" },
	{ "pulls", "acme/widgets", "pull_requests:read" },
	{ "metadata", "acme/widgets", "" },
	{ "gadgets", "acme/gadgets", "issues:write pull_requests:write "
	    "contents:write" },
	{ "acme", "acme/*", "issues:read pull_requests:read contents:read" },
};

static void
make_scope(const char *name, struct scope *sc)
{
	char buf[512], *p, *tok, *colon;
	enum scope_level level;
	size_t i;

	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (strcmp(scopes[i].name, name) == 0)
			break;
	if (i == sizeof(scopes) / sizeof(scopes[0])) {
		fprintf(stderr, "no scope %s\n", name);
		exit(2);
	}
	(void)scope_init(sc, SCOPE_TOKEN_USER, "alice");
	(void)scope_add_repo(sc, scopes[i].repos);
	(void)snprintf(buf, sizeof(buf), "%s", scopes[i].perms);
	for (p = buf; (tok = strtok(p, " ")) != NULL; p = NULL) {
		colon = strchr(tok, ':');
		*colon = '\0';
		if (scope_parse_level(colon + 1, &level) == -1 ||
		    scope_set_perm(sc, tok, level) == -1) {
			fprintf(stderr, "bad permission %s\n", tok);
			exit(2);
		}
	}
}

/* The JSON body for a document and variables (a JSON text or NULL). */
static char *
body_of(const char *query, const char *vars, const char *opname)
{
	json_t *o = json_object(), *v;
	char *s;

	json_object_set_new(o, "query", json_string(query));
	if (vars != NULL && (v = json_loads(vars, 0, NULL)) != NULL)
		json_object_set_new(o, "variables", v);
	if (opname != NULL)
		json_object_set_new(o, "operationName", json_string(opname));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static enum scope_decision
decide(const char *scope, const char *body, struct gql_result *res)
{
	struct scope sc;

	make_scope(scope, &sc);
	return gql_check(&sc, body, strlen(body), res);
}

/* One case: decision and, if want is not NULL, a part of the reason. */
static void
expect(const char *scope, const char *query, const char *vars,
    enum scope_decision d, const char *want)
{
	struct gql_result res;
	char *body = body_of(query, vars, NULL);
	enum scope_decision got = decide(scope, body, &res);

	CHECK(got == d);
	if (got != d)
		fprintf(stderr, "  scope %s: %s\n  -> %s\n", scope, query,
		    res.sr.reason);
	if (want != NULL) {
		CHECK(strstr(res.sr.reason, want) != NULL);
		if (strstr(res.sr.reason, want) == NULL)
			fprintf(stderr, "  reason \"%s\" lacks \"%s\"\n",
			    res.sr.reason, want);
	}
	free(body);
}

#define ALLOW(s, q)		expect(s, q, NULL, SCOPE_ALLOW, NULL)
#define DENY(s, q, why)		expect(s, q, NULL, SCOPE_DENY, why)

static void
test_reads(void)
{
	const char *prs = "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequests(first: 5) { totalCount nodes { number title "
	    "author { login } labels(first: 3) { nodes { name } } } "
	    "pageInfo { hasNextPage endCursor } } } }";

	ALLOW("read", prs);
	ALLOW("pulls", prs);
	DENY("issues", prs, "needs pull_requests:read on acme/widgets");
	DENY("metadata", prs, "repository.pullRequests: needs");
	DENY("gadgets", prs, "acme/widgets is outside this token's scope");
	ALLOW("acme", prs);
	ALLOW("metadata", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ name description stargazerCount isPrivate defaultBranchRef "
	    "{ name } owner { login } } }");
	ALLOW("metadata", "{ viewer { login name } }");
	ALLOW("metadata", "{ rateLimit { remaining resetAt } }");
	ALLOW("metadata", "{ user(login: \"octocat\") { login name } }");
	/* Case does not matter in repository names, as on GitHub. */
	ALLOW("read", "{ repository(owner: \"ACME\", name: \"Widgets\") "
	    "{ issues(first: 1) { nodes { title } } } }");
	ALLOW("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ defaultBranchRef { target { ... on Commit { tree { id } } } } "
	    "} }");
	DENY("issues", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ defaultBranchRef { target { ... on Commit { oid } } } } }",
	    "defaultBranchRef.target: needs contents:read");
	ALLOW("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ object(expression: \"HEAD:README.md\") { ... on Blob "
	    "{ text } } } }");
	DENY("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ object(expression: \"HEAD:README.md\") { ... on Blob "
	    "{ text } } } }", "needs contents:read");
	/* A pull request's commits are part of it; their trees are not. */
	ALLOW("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequest(number: 1) { commits(last: 1) { nodes { commit "
	    "{ oid messageHeadline } } } } } }");
	DENY("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequest(number: 1) { commits(last: 1) { nodes { commit "
	    "{ tree { id } } } } } } }", "commit.tree: needs contents:read");
}

static void
test_across_repositories(void)
{
	DENY("acme", "{ search(query: \"repo:acme/widgets\", type: ISSUE, "
	    "first: 1) { issueCount } }", "search: refused");
	DENY("read", "{ node(id: \"R_1\") { id } }", "node.id: Node may be "
	    "any of");
	DENY("read", "{ nodes(ids: [\"R_1\"]) { id } }", "nodes.id: Node may "
	    "be any of");
	DENY("read", "{ viewer { repositories(first: 5) { nodes { name } } "
	    "} }", "viewer.repositories: reaches repositories");
	DENY("read", "{ viewer { issues(first: 5) { nodes { title } } } }",
	    "across repositories");
	DENY("read", "{ organization(login: \"acme\") { repository(name: "
	    "\"widgets\") { name } } }", "reaches repositories");
	DENY("read", "{ repositoryOwner(login: \"acme\") { repositories("
	    "first: 1) { nodes { name } } } }", "reaches repositories");
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ owner { ... on User { pullRequests(first: 1) { nodes { title } "
	    "} } } } }", "across repositories");
	/* Accounts: public profiles, not their members or memberships. */
	ALLOW("metadata", "{ organization(login: \"acme\") { login name "
	    "description } user(login: \"bob\") { followers(first: 5) { "
	    "nodes { login } } } }");
	DENY("read", "{ organization(login: \"acme\") { membersWithRole("
	    "first: 5) { nodes { login } } } }", "organization.membersWithRole:"
	    " refused for scoped tokens: an organization's members need");
	DENY("read", "{ organization(login: \"acme\") { teams(first: 5) { "
	    "nodes { name } } } }", "organization.teams: refused");
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") { "
	    "pullRequest(number: 1) { reviewRequests(first: 5) { nodes { "
	    "requestedReviewer { ... on Team { members(first: 5) { nodes { "
	    "login } } } } } } } } }", "members: refused");
	DENY("read", "{ viewer { organizations(first: 5) { nodes { login } } "
	    "} }", "viewer.organizations: refused");
	/* A fork's parent: its metadata, never its data. */
	ALLOW("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ parent { nameWithOwner isPrivate } } }");
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ parent { issues(first: 1) { nodes { title } } } } }",
	    "cannot prove is in this token's scope");
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequest(number: 1) { headRepository { issues(first: 1) { "
	    "nodes { title } } } } } }", "cannot prove");
	/* A cross-reference may come from anywhere. */
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issue(number: 1) { timelineItems(first: 5) { nodes { ... on "
	    "CrossReferencedEvent { source { ... on Issue { title } } } } } "
	    "} } }", "may reach Issue of a repository outside");
	ALLOW("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issue(number: 1) { timelineItems(first: 5) { nodes { "
	    "__typename ... on IssueComment { body } ... on LabeledEvent "
	    "{ label { name } } } } } } }");
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequest(number: 1) { closingIssuesReferences(first: 1) { "
	    "nodes { title } } } } }", "outside this token's scope");
	DENY("read", "{ topic(name: \"go\") { repositories(first: 1) { "
	    "nodes { name } } } }", "refused");
	DENY("read", "{ relay { repository(owner: \"acme\", name: "
	    "\"gadgets\") { name } } }", "relay: refused");
}

/* Objects by ID: their repositories are asked of GitHub, as targets. */
static void
test_nodes(void)
{
	struct gql_result res;
	char *body;

	body = body_of("query Q($id: ID!) { node(id: $id) { ... on Issue "
	    "{ comments(first: 5) { nodes { body author { login } } } } "
	    "... on PullRequest { comments(first: 5) { totalCount } } } }",
	    "{\"id\": \"I_1\"}", NULL);
	CHECK(decide("read", body, &res) == SCOPE_ALLOW);
	CHECK(res.ntargets == 1 && strcmp(res.targets[0], "I_1") == 0);
	CHECK(decide("metadata", body, &res) == SCOPE_DENY);
	CHECK(strstr(res.sr.reason, "needs issues:read") != NULL);
	free(body);
	body = body_of("query Q($ids: [ID!]!) { nodes(ids: $ids) { ... on "
	    "Issue { title } } }", "{\"ids\": [\"I_1\", \"I_2\", "
	    "\"I_1\"]}", NULL);
	CHECK(decide("read", body, &res) == SCOPE_ALLOW);
	CHECK(res.ntargets == 2);
	free(body);
	body = body_of("{ nodes(ids: [\"I_1\", \"I_2\"]) { ... on Issue "
	    "{ title } } }", NULL, NULL);
	CHECK(decide("read", body, &res) == SCOPE_ALLOW);
	CHECK(res.ntargets == 2);
	free(body);
	/* A repository by ID: the same repository under it, checked. */
	expect("read", "{ node(id: \"R_w\") { ... on Repository { issues("
	    "first: 1) { nodes { title } } } } }", NULL, SCOPE_ALLOW, NULL);
	expect("pulls", "{ node(id: \"R_w\") { ... on Repository { issues("
	    "first: 1) { nodes { title } } } } }", NULL, SCOPE_DENY,
	    "needs issues:read");
	expect("read", "{ node(id: 7) { ... on Issue { title } } }", NULL,
	    SCOPE_DENY, "needs an id");
	expect("read", "query Q($ids: [ID!]!) { nodes(ids: $ids) { ... on "
	    "Issue { title } } }", "{\"ids\": \"I_1\"}", SCOPE_DENY,
	    "must be a list");
	expect("read", "{ nodes(ids: []) { ... on Issue { title } } }", NULL,
	    SCOPE_DENY, "no ids");
}

static void
test_variables(void)
{
	const char *q = "query Q($owner: String!, $name: String!) { "
	    "repository(owner: $owner, name: $name) { issues(first: 1) { "
	    "nodes { title } } } }";

	expect("read", q, "{\"owner\": \"acme\", \"name\": \"widgets\"}",
	    SCOPE_ALLOW, NULL);
	expect("read", q, "{\"owner\": \"acme\", \"name\": \"gadgets\"}",
	    SCOPE_DENY, "acme/gadgets is outside");
	expect("read", q, "{\"owner\": \"acme\"}", SCOPE_DENY,
	    "needs owner and name");
	expect("read", q, "{\"owner\": \"acme\", \"name\": 7}", SCOPE_DENY,
	    "needs owner and name");
	expect("read", q, "{\"owner\": \"acme\", \"name\": null}",
	    SCOPE_DENY, "needs owner and name");
	expect("read", "query Q($owner: String = \"acme\", $name: String = "
	    "\"widgets\") { repository(owner: $owner, name: $name) { name } }",
	    "{}", SCOPE_ALLOW, NULL);
	/* The request's variables win over the defaults. */
	expect("read", "query Q($owner: String = \"acme\", $name: String = "
	    "\"widgets\") { repository(owner: $owner, name: $name) { name } }",
	    "{\"name\": \"gadgets\"}", SCOPE_DENY, "acme/gadgets");
	/* A variable the operation does not define. */
	expect("read", "{ repository(owner: $o, name: \"widgets\") { name } }",
	    "{\"o\": \"acme\"}", SCOPE_DENY, "needs owner and name");
	expect("read", "{ repository(owner: \"acme/x\", name: \"widgets\") "
	    "{ name } }", NULL, SCOPE_DENY, "names no repository");
}

static void
test_mutations(void)
{
	struct gql_result res;
	struct scope sc;
	char *body, *req;
	size_t len;
	const char *m = "mutation M($input: CreateIssueInput!) { "
	    "createIssue(input: $input) { issue { number url } } }";

	body = body_of(m, "{\"input\": {\"repositoryId\": \"R_w\", "
	    "\"title\": \"t\"}}", NULL);
	CHECK(decide("issues", body, &res) == SCOPE_ALLOW);
	CHECK(res.ntargets == 1 && strcmp(res.targets[0], "R_w") == 0);
	CHECK_STR(res.kind, "mutation");
	CHECK_STR(res.operation, "M");
	CHECK(decide("pulls", body, &res) == SCOPE_DENY);
	CHECK(strstr(res.sr.reason, "createIssue: needs issues:write") !=
	    NULL);
	CHECK(res.sr.code == SCOPE_E_PERMISSION);
	free(body);

	/* The targets' query and GitHub's answers to it. */
	body = body_of(m, "{\"input\": {\"repositoryId\": \"R_w\"}}", NULL);
	make_scope("issues", &sc);
	CHECK(gql_check(&sc, body, strlen(body), &res) == SCOPE_ALLOW);
	req = gql_targets_request(&res, &len);
	CHECK(req != NULL && strstr(req, "GhpNodeRepositories") != NULL &&
	    strstr(req, "\"R_w\"") != NULL && strlen(req) == len);
	free(req);
#define ANSWER(a, d) do {						\
	CHECK(gql_check(&sc, body, strlen(body), &res) == SCOPE_ALLOW);	\
	CHECK(gql_targets_check(&sc, a, strlen(a), &res) == d);		\
} while (0)
	ANSWER("{\"data\":{\"nodes\":[{\"__typename\":\"Repository\","
	    "\"nameWithOwner\":\"acme/widgets\"}]}}", SCOPE_ALLOW);
	CHECK_STR(res.sr.repo, "acme/widgets");
	ANSWER("{\"data\":{\"nodes\":[{\"__typename\":\"Issue\","
	    "\"repository\":{\"nameWithOwner\":\"acme/widgets\"}}]}}",
	    SCOPE_ALLOW);
	ANSWER("{\"data\":{\"nodes\":[{\"__typename\":\"Repository\","
	    "\"nameWithOwner\":\"acme/gadgets\"}]}}", SCOPE_DENY);
	CHECK(strstr(res.sr.reason, "acme/gadgets, outside") != NULL);
	ANSWER("{\"data\":{\"nodes\":[null]},\"errors\":[{\"type\":"
	    "\"NOT_FOUND\"}]}", SCOPE_DENY);
	ANSWER("{\"data\":{\"nodes\":[{\"__typename\":\"User\"}]}}",
	    SCOPE_DENY);
	ANSWER("{\"data\":{\"nodes\":[]}}", SCOPE_DENY);
	ANSWER("{\"data\":{\"nodes\":[{\"__typename\":\"Repository\","
	    "\"nameWithOwner\":\"acme/widgets\"},{\"__typename\":"
	    "\"Repository\",\"nameWithOwner\":\"acme/widgets\"}]}}",
	    SCOPE_DENY);
	ANSWER("{\"data\":{\"nodes\":[{\"__typename\":\"Repository\","
	    "\"nameWithOwner\":\"acme/widgets\",\"nameWithOwner\":"
	    "\"acme/gadgets\"}]}}", SCOPE_DENY);
	ANSWER("not json", SCOPE_DENY);
	ANSWER("{\"message\":\"Bad credentials\"}", SCOPE_DENY);
#undef ANSWER
	free(body);

	/* Targets given as literals, two of them, one optional. */
	expect("write", "mutation { createPullRequest(input: {repositoryId: "
	    "\"R_w\", baseRefName: \"main\", headRefName: \"f\", title: "
	    "\"t\"}) { pullRequest { number } } }", NULL, SCOPE_ALLOW, NULL);
	expect("write", "mutation { transferIssue(input: {issueId: \"I_1\"}) "
	    "{ issue { number } } }", NULL, SCOPE_DENY, "cannot tell which");
	/* A repository named rather than by ID is checked at once. */
	expect("write", "mutation { createCommitOnBranch(input: {branch: "
	    "{repositoryNameWithOwner: \"acme/widgets\", branchName: "
	    "\"main\"}, expectedHeadOid: \"abc\", message: {headline: \"m\"}}) "
	    "{ commit { oid } } }", NULL, SCOPE_ALLOW, NULL);
	expect("write", "mutation { createCommitOnBranch(input: {branch: "
	    "{repositoryNameWithOwner: \"acme/gadgets\", branchName: "
	    "\"main\"}, expectedHeadOid: \"abc\", message: {headline: \"m\"}}) "
	    "{ commit { oid } } }", NULL, SCOPE_DENY, "acme/gadgets is "
	    "outside");
	expect("write", "mutation { deleteRepository(input: {repositoryId: "
	    "\"R_w\"}) { clientMutationId } }", NULL, SCOPE_DENY, NULL);
	expect("write", "mutation { addStar(input: {starrableId: \"R_w\"}) "
	    "{ clientMutationId } }", NULL, SCOPE_DENY, "not in ghp's "
	    "GraphQL policy");
	expect("write", "subscription { viewer { login } }", NULL, SCOPE_DENY,
	    "subscriptions are refused");
}

static void
test_tricks(void)
{
	char deep[8192], *p;
	int i;

	/* An alias does not hide a field. */
	DENY("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequests: issues(first: 1) { nodes { title } } } }",
	    "repository.issues: needs issues:read");
	DENY("pulls", "{ __typename: repository(owner: \"acme\", name: "
	    "\"gadgets\") { name } }", "acme/gadgets");
	/* Where GitHub picks the type, each type the value may be is checked. */
	DENY("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issueOrPullRequest(number: 1) { ... on Issue { title body } } } }",
	    "a fragment on Issue may read a Issue: needs issues:read");
	DENY("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issueOrPullRequest(number: 1) { ...F } } } fragment F on Issue "
	    "{ body }", "needs issues:read");
	DENY("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issueOrPullRequest(number: 1) { ... on Comment { body } } } }",
	    "needs issues:read");
	DENY("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issueOrPullRequest(number: 1) { ... on Assignable { assignees("
	    "first: 1) { totalCount } } } } }", "needs issues:read");
	ALLOW("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issueOrPullRequest(number: 1) { __typename ... on PullRequest "
	    "{ title } } } }");
	/* With issues:read, a pull request reads as an issue, no more. */
	ALLOW("issues", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issueOrPullRequest(number: 1) { ... on PullRequest { title "
	    "body labels(first: 5) { nodes { name } } comments(first: 1) { "
	    "nodes { body } } } } } }");
	DENY("issues", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issueOrPullRequest(number: 1) { ... on PullRequest { title "
	    "headRefName } } } }", "headRefName: needs pull_requests:read: "
	    "with issues:read a pull request shows only what an issue has");
	DENY("issues", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequest(number: 1) { files(first: 5) { nodes { path } } } } }",
	    "repository.pullRequest.files: needs pull_requests:read");
	ALLOW("issues", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequest(number: 1) { title author { login } } } }");
	DENY("metadata", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ pullRequest(number: 1) { title } } }", "needs pull_requests:read");
	ALLOW("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ issueOrPullRequest(number: 1) { ... on Issue { title } ... on "
	    "PullRequest { title } } } }");
	/* A fragment on another type, and fragments hiding fields. */
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ ...F } } fragment F on User { login }", "a fragment on User "
	    "cannot apply to Repository");
	DENY("pulls", "query { repository(owner: \"acme\", name: "
	    "\"widgets\") { ...F } } fragment F on Repository { issues("
	    "first: 1) { nodes { ...G } } } fragment G on Issue { title }",
	    "needs issues:read");
	DENY("pulls", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ ... on Repository { ... { issues(first: 1) { totalCount } } } "
	    "} }", "needs issues:read");
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ ... on Node { id } ... on Organization { login } } }",
	    "cannot apply");
	/* Introspection reads the schema, never data. */
	ALLOW("metadata", "{ __schema { types { name } } }");
	ALLOW("metadata", "{ __type(name: \"Repository\") { fields { name "
	    "type { name ofType { name } } } } }");
	DENY("metadata", "{ viewer { __schema { types { name } } } }",
	    "at the query's root");
	DENY("metadata", "{ __schema { queryType { fields { name } } } "
	    "repository(owner: \"acme\", name: \"gadgets\") { name } }",
	    "acme/gadgets");
	/* Unknown fields, a leaf with a selection, an object without. */
	DENY("read", "{ repository(owner: \"acme\", name: \"widgets\") "
	    "{ secrets { name } } }", "Repository has no field secrets");
	DENY("read", "{ viewer { login { x } } }", "a leaf field");
	DENY("read", "{ viewer }", "needs a selection");
	/* Two of one argument, member or variable: never a choice. */
	DENY("read", "{ repository(owner: \"acme\", owner: \"evil\", name: "
	    "\"widgets\") { name } }", "needs owner and name");
	DENY("read", "{ repository(owner: \"evil\", owner: \"acme\", name: "
	    "\"widgets\") { name } }", "needs owner and name");
	expect("write", "mutation { createIssue(input: {repositoryId: \"R_w\","
	    " repositoryId: \"R_g\", title: \"t\"}) { issue { number } } }",
	    NULL, SCOPE_DENY, "not a string");
	expect("read", "query Q($o: String!, $o: String!) { repository(owner: "
	    "$o, name: \"widgets\") { name } }", "{\"o\": \"acme\"}",
	    SCOPE_DENY, "needs owner and name");
	expect("read", "{ nodes(ids: [\"I_1\"], ids: [\"I_2\"]) { ... on "
	    "Issue { title } } }", NULL, SCOPE_DENY, "needs ids, once");
	/* Nesting and size. */
	p = deep;
	p += sprintf(p, "{ repository(owner: \"acme\", name: \"widgets\") ");
	for (i = 0; i < 70; i++)
		p += sprintf(p, "{ parent ");
	p += sprintf(p, "{ name }");
	for (i = 0; i < 70; i++)
		p += sprintf(p, " }");
	(void)sprintf(p, " }");
	DENY("read", deep, NULL);
}

static void
test_request_shape(void)
{
	struct gql_result res;
	static const char *const bad[] = {
		"[{\"query\": \"{ viewer { login } }\"}]",
		"\"{ viewer { login } }\"",
		"{\"query\": 7}",
		"{\"id\": \"abc123\"}",
		"{\"extensions\": {\"persistedQuery\": {\"version\": 1, "
		    "\"sha256Hash\": \"abc\"}}}",
		"{\"query\": \"{ viewer { login } }\", \"query\": "
		    "\"{ search(query: \\\"x\\\", type: ISSUE) { issueCount } }\"}",
		"{\"query\": \"{ viewer { login } }\", \"variables\": \"{}\"}",
		"{\"query\": \"{ viewer { login } }\", \"operationName\": 1}",
		"{\"query\": \"query A { viewer { login } }\", "
		    "\"operationName\": \"B\"}",
		"{\"query\": \"query A { viewer { login } } query B "
		    "{ viewer { login } }\"}",
		"{\"query\": \"{ viewer { login }\"}",
		"{\"query\": \"\\u0000\"}",
		"{\"query\": \"{ viewer { login } }\"} trailing",
		"{\"query\": \"\xff\"}",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(decide("read", bad[i], &res) == SCOPE_DENY);
		CHECK(res.sr.code == SCOPE_E_REQUEST);
		if (res.sr.code != SCOPE_E_REQUEST)
			fprintf(stderr, "  %s -> %s\n", bad[i], res.sr.reason);
	}
	/* operationName picks one of several. */
	CHECK(decide("read", "{\"query\": \"query A { viewer { login } } "
	    "query B { search(query: \\\"x\\\", type: ISSUE) { issueCount } }\","
	    " \"operationName\": \"A\"}", &res) == SCOPE_ALLOW);
	CHECK_STR(res.operation, "A");
	CHECK(decide("read", "{\"query\": \"query A { viewer { login } } "
	    "query B { search(query: \\\"x\\\", type: ISSUE) { issueCount } }\","
	    " \"operationName\": \"B\"}", &res) == SCOPE_DENY);
	CHECK(decide("read", "{\"query\": \"{ viewer { login } }\", "
	    "\"variables\": null, \"operationName\": null}", &res) ==
	    SCOPE_ALLOW);
	CHECK(res.kind != NULL && strcmp(res.kind, "query") == 0);
	CHECK(res.operation[0] == '\0');
}

/* Every permission the policy names is one a token can hold. */
static void
test_table(void)
{
	const struct gqltab_type *t;
	const struct gqltab_field *f;
	size_t i, j, k;

	for (i = 0; i < gqltab_ntypes; i++) {
		t = &gqltab_types[i];
		if (i > 0)
			CHECK(strcmp(gqltab_types[i - 1].name, t->name) < 0);
		for (k = 0; k < 2; k++)
			if (t->perms[k] != NULL)
				CHECK(scope_perm_index(t->perms[k]) >= 0);
		for (j = 0; j < t->nfields; j++) {
			f = &gqltab_fields[t->field0 + j];
			CHECK(f->type < gqltab_ntypes);
			for (k = 0; k < 2; k++)
				if (f->perms[k] != NULL)
					CHECK(scope_perm_index(f->perms[k]) >=
					    0);
		}
	}
	CHECK_STR(gqltab_types[gqltab_query].name, "Query");
	CHECK_STR(gqltab_types[gqltab_mutation].name, "Mutation");
}

/*
 * The corpus: each line of tests/graphql/expect.tsv is "FILE SCOPE
 * DECISION [REASON-START]" (tabs); with GQL_EXPECT_PRINT set in the
 * environment the lines are printed from what gql_check() decides now,
 * to refresh the file after a policy change (review the diff!).
 */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void
corpus_line(char *line, int print)
{
	char *file = strtok(line, "\t\n"), *scope = strtok(NULL, "\t\n");
	char *want = strtok(NULL, "\t\n"), *why = strtok(NULL, "\t\n");
	char path[512], *body, *colon;
	struct gql_result res;
	size_t len;
	enum scope_decision d;

	if (file == NULL || file[0] == '#' || scope == NULL || want == NULL)
		return;
	(void)snprintf(path, sizeof(path), "tests/graphql/corpus/%s", file);
	if ((body = read_file(path, &len)) == NULL) {
		CHECK(!"corpus file missing");
		fprintf(stderr, "  %s\n", path);
		return;
	}
	{
		struct scope sc;

		make_scope(scope, &sc);
		d = gql_check(&sc, body, len, &res);
	}
	free(body);
	if (print) {
		colon = strstr(res.sr.reason, ": ");
		printf("%s\t%s\t%s", file, scope, d == SCOPE_ALLOW ? "allow" :
		    "deny");
		if (d == SCOPE_DENY)
			printf("\t%.*s", colon ? (int)(colon - res.sr.reason) :
			    (int)strlen(res.sr.reason), res.sr.reason);
		printf("\n");
		return;
	}
	CHECK((d == SCOPE_ALLOW) == (strcmp(want, "allow") == 0));
	if (why != NULL)
		CHECK(strncmp(res.sr.reason, why, strlen(why)) == 0);
	if ((d == SCOPE_ALLOW) != (strcmp(want, "allow") == 0) ||
	    (why != NULL && strncmp(res.sr.reason, why, strlen(why)) != 0))
		fprintf(stderr, "  %s as %s: want %s %s, got %s\n", file,
		    scope, want, why ? why : "", res.sr.reason);
}

static void
test_corpus(void)
{
	FILE *f = fopen("tests/graphql/expect.tsv", "r");
	char line[1024];
	int print = getenv("GQL_EXPECT_PRINT") != NULL;

	CHECK(f != NULL);
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		corpus_line(line, print);
	fclose(f);
}

int
main(void)
{
	UNIT_RUN(test_corpus);
	UNIT_RUN(test_table);
	UNIT_RUN(test_reads);
	UNIT_RUN(test_across_repositories);
	UNIT_RUN(test_nodes);
	UNIT_RUN(test_variables);
	UNIT_RUN(test_mutations);
	UNIT_RUN(test_tricks);
	UNIT_RUN(test_request_shape);
	return UNIT_DONE("test_gql_scope");
}
