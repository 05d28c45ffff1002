/*
 * fuzz_gql_scope.c: the GraphQL scope check (common/gql_scope.c and
 * gql_targets.c) on arbitrary request bodies and arbitrary answers from
 * GitHub.
 *
 * The first byte chooses: even, the rest is a POST /graphql body for
 * gql_check() with a token on acme/widgets; odd, the rest is GitHub's
 * answer to the targets' query of a fixed mutation with two targets, for
 * gql_targets_check().  The input is copied to a buffer of its exact
 * size, so that AddressSanitizer catches a read past it.  Aborts when a
 * promise of gql_scope.h breaks:
 *  - the decision is SCOPE_ALLOW or SCOPE_DENY, and its code is
 *    SCOPE_OK exactly when it allows;
 *  - the reason is NUL-terminated within its buffer and non-empty;
 *  - an allowed mutation or node query has between 1 and
 *    GQL_MAX_TARGETS targets, each non-empty and NUL-terminated, and
 *    gql_targets_request() builds a body naming each; a query without
 *    node(id:) or nodes(ids:) has none;
 *  - an allowed answer names, in the repository field, one of the
 *    token's repositories.
 * Seeds: tests/fuzz/corpus/gql_scope/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gql_scope.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct scope fz_scope;

static const char fz_mutation[] = "{\"query\": \"mutation { addComment("
    "input: {subjectId: \\\"I_1\\\", body: \\\"b\\\"}) { clientMutationId } "
    "transferIssue(input: {issueId: \\\"I_2\\\", repositoryId: \\\"R_w\\\"}) "
    "{ clientMutationId } }\"}";

static void
fz_setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	(void)scope_init(&fz_scope, SCOPE_TOKEN_USER, "alice");
	(void)scope_add_repo(&fz_scope, "acme/widgets");
	(void)scope_set_perm(&fz_scope, "issues", SCOPE_WRITE);
	(void)scope_set_perm(&fz_scope, "pull_requests", SCOPE_READ);
	(void)scope_set_perm(&fz_scope, "contents", SCOPE_READ);
}

static void
fz_check_result(const struct gql_result *res, enum scope_decision d)
{
	size_t i;

	if (d != SCOPE_ALLOW && d != SCOPE_DENY)
		abort();
	if ((d == SCOPE_ALLOW) != (res->sr.code == SCOPE_OK))
		abort();
	if (memchr(res->sr.reason, '\0', sizeof(res->sr.reason)) == NULL ||
	    res->sr.reason[0] == '\0')
		abort();
	if (res->ntargets > GQL_MAX_TARGETS)
		abort();
	for (i = 0; i < res->ntargets; i++)
		if (res->targets[i][0] == '\0' ||
		    memchr(res->targets[i], '\0', GQL_ID_MAX) == NULL)
			abort();
}

static void
fz_body(const char *p, size_t n)
{
	struct gql_result res;
	enum scope_decision d;
	char *req;
	size_t len, i;

	d = gql_check(&fz_scope, p, n, &res);
	fz_check_result(&res, d);
	if (d != SCOPE_ALLOW || res.ntargets == 0)
		return;
	if ((req = gql_targets_request(&res, &len)) == NULL ||
	    strlen(req) != len)
		abort();
	for (i = 0; i < res.ntargets; i++)
		if (strspn(res.targets[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
		    strlen(res.targets[i]) && strstr(req, res.targets[i]) ==
		    NULL)
			abort();
	free(req);
}

static void
fz_answer(const char *p, size_t n)
{
	struct gql_result res;
	enum scope_decision d;

	if (gql_check(&fz_scope, fz_mutation, sizeof(fz_mutation) - 1,
	    &res) != SCOPE_ALLOW || res.ntargets != 3)
		abort();
	d = gql_targets_check(&fz_scope, p, n, &res);
	fz_check_result(&res, d);
	if (d == SCOPE_ALLOW && strcasecmp(res.sr.repo, "acme/widgets") != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	if (size < 1)
		return 0;
	fz_setup();
	buf = malloc(size - 1 ? size - 1 : 1);
	memcpy(buf, data + 1, size - 1);
	if (data[0] % 2 == 0)
		fz_body(buf, size - 1);
	else
		fz_answer(buf, size - 1);
	free(buf);
	return 0;
}
