/*
 * gql.h: a GraphQL executable document, parsed strictly and within bounds.
 *
 * Contract:
 *
 *  gql_parse(text, len, &doc, err, errlen)
 *	Parses the executable part of the GraphQL grammar (October 2021
 *	specification, section 2): operations (query, mutation,
 *	subscription, and the query shorthand "{ ... }"), variable
 *	definitions with their types and default values, selection sets,
 *	fields with aliases, arguments, directives, fragment spreads,
 *	inline fragments and fragment definitions.  Values: variables,
 *	integers, floats, strings (quoted, with escapes, and block
 *	strings), true, false, null, enum values, lists and input objects.
 *	Type-system definitions (type, schema, extend, ...) are refused.
 *
 *	Returns 0 and a document the caller frees with gql_free(), or -1
 *	with a one-line reason "line L col C: what" in err (the document
 *	is never NULL on success, and err is untouched).  It refuses,
 *	rather than guesses:
 *	  - text longer than GQL_MAX_TEXT bytes, more than GQL_MAX_TOKENS
 *	    tokens, selection sets or values nested deeper than
 *	    GQL_MAX_DEPTH;
 *	  - invalid UTF-8 anywhere, a NUL byte, a control character other
 *	    than tab, LF, CR outside a string, any control character other
 *	    than tab inside a quoted string, a lone surrogate in a \u escape;
 *	    \u0000 (so that every string value is as long as its strlen())
 *	    and the \u{...} escape of later drafts;
 *	  - a document with no operation; two operations with the same
 *	    name; an anonymous operation beside another operation; two
 *	    fragments with the same name; a spread of a fragment that is not
 *	    defined; fragments that spread each other in a cycle; an empty
 *	    selection set; a fragment named "on";
 *	  - anything else the grammar does not allow (a number directly
 *	    followed by a name character or '.', "..." not followed by a
 *	    name, "on", '@' or '{', a missing ':' ...), and directives on a
 *	    variable definition, which the document has no place for.
 *	Commas and comments ("#" to end of line) are ignored, as the
 *	specification says; a byte order mark is allowed at the start.
 *
 *	Memory: everything lives in one arena owned by the document, at
 *	most a fixed multiple of len plus a constant; nothing points into
 *	text after gql_parse() returns.  Names and string values are
 *	NUL-terminated copies; string values are decoded (escapes resolved,
 *	block strings dedented as the specification says) and are valid
 *	UTF-8.
 *
 *  gql_operation(doc, name)
 *	The operation to execute: the one called name, or the only one
 *	when name is NULL; NULL when there is none (no such name, or name
 *	is NULL and there are several), as GitHub answers an error then.
 *
 *  gql_fragment(doc, name)
 *	The fragment definition called name, or NULL.
 */
#ifndef GHP_GQL_H
#define GHP_GQL_H

#include <stddef.h>

#define GQL_MAX_TEXT	(256 * 1024)	/* bytes of query text */
#define GQL_MAX_TOKENS	50000
#define GQL_MAX_DEPTH	48		/* selection sets, lists, objects */
#define GQL_ERR_MAX	160

enum gql_value_kind {
	GQL_V_VARIABLE,		/* $name: s is the name, without '$' */
	GQL_V_INT,		/* s is the literal text */
	GQL_V_FLOAT,		/* s is the literal text */
	GQL_V_STRING,		/* s is the decoded value, len its length */
	GQL_V_BOOLEAN,		/* s is "true" or "false" */
	GQL_V_NULL,		/* s is "null" */
	GQL_V_ENUM,		/* s is the name */
	GQL_V_LIST,		/* items, in order; s is NULL */
	GQL_V_OBJECT		/* items, in order, each named; s is NULL */
};

struct gql_value {
	enum gql_value_kind	 kind;
	const char		*name;	/* member name inside an object */
	const char		*s;	/* see the kinds */
	size_t			 len;	/* of s */
	struct gql_value	*items;	/* list or object members */
	struct gql_value	*next;	/* next item or member */
};

struct gql_argument {
	const char		*name;
	struct gql_value	*value;
	struct gql_argument	*next;
};

struct gql_directive {
	const char		*name;	/* without '@' */
	struct gql_argument	*args;
	struct gql_directive	*next;
};

enum gql_selection_kind {
	GQL_FIELD,		/* alias: name(args) @dirs { sel } */
	GQL_SPREAD,		/* ...name @dirs */
	GQL_INLINE		/* ... on type_cond @dirs { sel } */
};

struct gql_selection {
	enum gql_selection_kind	 kind;
	const char		*alias;		/* GQL_FIELD, or NULL */
	const char		*name;		/* field or fragment name */
	const char		*type_cond;	/* GQL_INLINE, or NULL */
	struct gql_argument	*args;		/* GQL_FIELD */
	struct gql_directive	*directives;
	struct gql_selection	*sel;		/* sub-selection, or NULL */
	struct gql_selection	*next;
	int			 line, col;	/* where it starts */
};

enum gql_operation_kind {
	GQL_QUERY,
	GQL_MUTATION,
	GQL_SUBSCRIPTION
};

struct gql_variable {
	const char		*name;		/* without '$' */
	const char		*type;		/* as written, no spaces: "[ID!]!" */
	struct gql_value	*default_value;	/* or NULL */
	struct gql_variable	*next;
};

struct gql_operation {
	enum gql_operation_kind	 kind;
	const char		*name;		/* NULL: anonymous */
	struct gql_variable	*variables;
	struct gql_directive	*directives;
	struct gql_selection	*sel;
	struct gql_operation	*next;
};

struct gql_fragment {
	const char		*name;
	const char		*type_cond;
	struct gql_directive	*directives;
	struct gql_selection	*sel;
	struct gql_fragment	*next;
};

struct gql_doc {
	struct gql_operation	*operations;	/* in document order */
	struct gql_fragment	*fragments;	/* in document order */
	size_t			 noperations;
	size_t			 nfragments;
	void			*arena;		/* private */
};

int			 gql_parse(const char *, size_t, struct gql_doc **,
			    char *, size_t);
void			 gql_free(struct gql_doc *);
const struct gql_operation *gql_operation(const struct gql_doc *,
			    const char *);
const struct gql_fragment *gql_fragment(const struct gql_doc *,
			    const char *);

#endif /* GHP_GQL_H */
