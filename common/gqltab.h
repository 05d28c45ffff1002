/*
 * gqltab.h: GitHub's GraphQL schema with ghp's policy on it, generated at
 * build time by scripts/gen_gqltab.py from data/github-graphql-schema.tsv
 * (the schema) and data/graphql-policy.tsv (ghp's classes, edges, roots
 * and mutations) into build/gen/gqltab.c.  Only gql_scope.c and the tests
 * read it.
 *
 * Layout:
 *  - gqltab_types[]: every named type, sorted by name (strcmp), with its
 *    kind and class.  Its output fields are gqltab_fields[field0 ..
 *    field0 + nfields - 1], sorted by name; its related types are
 *    gqltab_related[rel0 .. rel0 + nrel - 1] (type indices, sorted): the
 *    possible types of an interface or union, the interfaces of an
 *    object.
 *  - A field's "type" is the index of its named type (lists and non-null
 *    markers dropped).  Its edge says how it moves between repositories;
 *    on Query it is the root's kind; on Mutation, perms/level/targets
 *    give the mutation's rule (perms[0] < 0: not allowed).
 *  - Permissions are names (permtab_perms[]) resolved with
 *    scope_perm_index(); "note" is the policy's reason for a refusal.
 */
#ifndef GHP_GQLTAB_H
#define GHP_GQLTAB_H

#include <stddef.h>
#include <stdint.h>

enum gqltab_kind {
	GQLK_SCALAR,
	GQLK_ENUM,
	GQLK_OBJECT,
	GQLK_INTERFACE,
	GQLK_UNION,
	GQLK_INPUT
};

enum gqltab_class {
	GQLC_NONE,		/* no class: refused */
	GQLC_PUBLIC,
	GQLC_ACCOUNT,
	GQLC_REPOSITORY,
	GQLC_DATA,		/* needs perms[0] or perms[1] :read */
	GQLC_INHERIT,
	GQLC_REFUSE,
	GQLC_INTROSPECTION,
	GQLC_MIXED		/* abstract, possible types disagree */
};

enum gqltab_edge {
	GQLE_DEFAULT,
	GQLE_SAME,		/* stays in the parent's repository */
	GQLE_FOREIGN,		/* may reach another repository */
	GQLE_REFUSE,
	/* on Query: the root's kind */
	GQLE_ROOT_REPOSITORY,
	GQLE_ROOT_ACCOUNT,
	GQLE_ROOT_PUBLIC,
	GQLE_PART,		/* part of its parent: the parent's permission */
	GQLE_NAME,		/* only leaf fields of what it reaches */
	GQLE_ROOT_NODE		/* on Query: node(id:), nodes(ids:) */
};

struct gqltab_type {
	const char	*name;
	uint8_t		 kind;		/* enum gqltab_kind */
	uint8_t		 class;		/* enum gqltab_class */
	const char	*perms[2];	/* GQLC_DATA; NULL when unused */
	const char	*note;		/* GQLC_REFUSE */
	uint32_t	 field0, nfields;
	uint32_t	 rel0, nrel;
};

struct gqltab_field {
	const char	*name;
	uint32_t	 type;		/* index in gqltab_types */
	uint8_t		 edge;		/* enum gqltab_edge */
	const char	*note;		/* GQLE_REFUSE, or a refused root */
	/* Mutation fields only */
	const char	*perms[2];	/* either suffices; NULL: refused */
	uint8_t		 level;		/* enum scope_level */
	const char	*targets;	/* see data/graphql-policy.tsv */
};

extern const struct gqltab_type gqltab_types[];
extern const size_t gqltab_ntypes;
extern const struct gqltab_field gqltab_fields[];
extern const uint32_t gqltab_related[];
extern const uint32_t gqltab_query, gqltab_mutation;	/* type indices */

#endif /* GHP_GQLTAB_H */
