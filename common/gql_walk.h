/*
 * gql_walk.h: the state of the GraphQL scope check, shared by its files
 * (gql_scope.c walks the document, gql_args.c reads arguments); private
 * to them.
 *
 *  gql_deny(walk, code, fmt, ...)
 *	Records a refusal (reason prefixed with the field path being
 *	walked) in walk->res; returns -1.
 *
 *  gql_variable_def(walk, name)
 *	The operation's definition of $name; NULL if there is none, or
 *	more than one (ambiguous, so never chosen between).
 *
 *  gql_value_at(walk, args, path, &s, &len)
 *	The string at path ("input.repositoryId": an argument, then input
 *	object members) in a field's arguments: 1 found, 0 absent or null,
 *	-1 not a string or ambiguous (two arguments or members of one
 *	name).  Variables come from the request, then their defaults.
 *
 *  gql_node_targets(walk, sel)
 *	Adds the IDs of node(id:) or nodes(ids:) to walk->res->targets.
 *
 *  gql_mutation_targets(walk, sel, spec)
 *	Adds a mutation's targets as the policy's spec names them
 *	(data/graphql-policy.tsv: '+' all, '|' the first present, '?'
 *	optional, "=name" an "owner/name" checked at once); -1 refused.
 */
#ifndef GHP_GQL_WALK_H
#define GHP_GQL_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "gql.h"
#include "gql_scope.h"
#include "gqltab.h"

struct json_t;

enum ctx_kind {
	CTX_ROOT,
	CTX_PUBLIC,
	CTX_ACCOUNT,
	CTX_REPO,		/* one of the token's, or a mutation's target */
	CTX_FOREIGN,		/* a repository ghp cannot prove in scope */
	CTX_INTRO,
	CTX_NAME		/* only leaf fields (GQLE_NAME) */
};

struct ctx {
	enum ctx_kind	 kind;
	const char	*perms[2];	/* CTX_REPO: of the nearest data */
	int		 as_issue;	/* a pull request read as an issue */
	char		 repo[SCOPE_REPO_MAX];	/* "" for a mutation's */
};

struct frame {
	uint32_t	 type;
	struct ctx	 ctx;
	/* a mixed abstract type: how it was entered, and the type that
	 * bounds it when a fragment narrowed it to another abstract type */
	int		 mixed;
	int		 narrowed;
	uint32_t	 within;
	struct ctx	 parent;
	uint32_t	 via_type;
	const struct gqltab_field *via;
};

struct walk {
	const struct scope *sc;
	const struct gql_doc *doc;
	const struct gql_operation *op;
	struct json_t	*vars;
	struct gql_result *res;
	size_t		 budget;
	char		 path[192];
	size_t		 pathlen;
};

int	gql_deny(struct walk *, enum scope_code, const char *, ...)
	    __attribute__((__format__(printf, 3, 4)));
const struct gql_variable *gql_variable_def(const struct walk *,
	    const char *);
int	gql_value_at(const struct walk *, const struct gql_argument *,
	    const char *, const char **, size_t *);
int	gql_node_targets(struct walk *, const struct gql_selection *);
int	gql_mutation_targets(struct walk *, const struct gql_selection *,
	    const char *);

#endif /* GHP_GQL_WALK_H */
