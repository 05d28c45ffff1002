/*
 * gql.c: see gql.h.  The parser of GraphQL executable documents, by
 * recursive descent over the tokens of gql_lex.c, and the checks that
 * need the whole document.
 *
 * Recursion follows only the nesting of selection sets and of list and
 * object values, each bounded by GQL_MAX_DEPTH; list types ("[[ID]]")
 * are read with a loop.  Every failure sets the error once (the first
 * wins) and returns -1 or NULL, which the callers pass up; the arena
 * then goes with everything in it.
 *
 * The checks on the whole document keep a private record of each
 * definition (where it starts, for the errors) and of each fragment
 * spread (which definition it is in).  Names are looked up in sorted
 * arrays, and fragment cycles found by a depth-first search with a
 * stack of its own, so neither the time nor the C stack grows worse
 * than n log n with the size of the document.  The sorted arrays stay
 * with the document (doc->arena points to them, and they to the arena),
 * so that gql_operation() and gql_fragment() take log n time too, for a
 * caller that looks up every spread it walks.
 */
#include <stdlib.h>
#include <string.h>

#include "gql_priv.h"

/* An operation or a fragment, for the checks. */
struct def {
	const char	*name;		/* NULL: anonymous */
	int		 line, col;
	size_t		 idx;		/* in document order */
	const void	*node;		/* the operation or fragment */
	/* Fragments: the spreads in them, and the search's state. */
	size_t		 edge0, nedges, next_edge;
	int		 state;		/* NEW, OPEN (on the path), DONE */
	struct def	*next;
};

enum { NEW, OPEN, DONE };

struct spread {
	struct gql_selection *sel;
	struct def	*owner;		/* the fragment, or NULL */
	struct def	*target;
	struct spread	*next;
};

/* What doc->arena points to. */
struct index {
	struct gql_arena *arena;
	struct def	**ops;		/* the named ones, by name */
	size_t		 nops;
	struct def	**frags;	/* by name */
	size_t		 nfrags;
};

struct parser {
	struct gql_lex	 lx;
	struct gql_doc	*doc;
	struct index	*ix;
	struct gql_operation **op_tail;
	struct gql_fragment **frag_tail;
	struct def	*ops, **ops_tail;
	struct def	*frags, **frags_tail;
	struct spread	*spreads, **spreads_tail;
	struct def	*cur;		/* the fragment being read */
};

static struct gql_selection *selection_set(struct parser *, int);
static struct gql_value *value(struct parser *, int, int);

static const struct gql_tok *
tok(struct parser *p)
{
	return &p->lx.tok;
}

static int
next(struct parser *p)
{
	return gql_lex_next(&p->lx);
}

static int
is_punct(struct parser *p, int c)
{
	return tok(p)->type == TOK_PUNCT && tok(p)->punct == c;
}

static int
is_name(struct parser *p, const char *name)
{
	const struct gql_tok *t = tok(p);

	return t->type == TOK_NAME && t->len == strlen(name) &&
	    memcmp(p->lx.s + t->start, name, t->len) == 0;
}

static void *
alloc(struct parser *p, size_t n)
{
	return gql_lex_alloc(&p->lx, n);
}

static int
expect(struct parser *p, int c, const char *want)
{
	if (!is_punct(p, c))
		return gql_unexpected(&p->lx, want);
	return next(p);
}

/* The current token, a name, copied; then the next token. */
static const char *
name(struct parser *p, const char *want)
{
	const struct gql_tok *t = tok(p);
	char *s;

	if (t->type != TOK_NAME) {
		(void)gql_unexpected(&p->lx, want);
		return NULL;
	}
	if ((s = gql_lex_copy(&p->lx, t->start, t->len)) == NULL ||
	    next(p) == -1)
		return NULL;
	return s;
}

static struct def *
new_def(struct parser *p, struct def ***tail, size_t idx)
{
	struct def *d;

	if ((d = alloc(p, sizeof(*d))) == NULL)
		return NULL;
	d->line = tok(p)->line;
	d->col = tok(p)->col;
	d->idx = idx;
	**tail = d;
	*tail = &d->next;
	return d;
}

/* "[" Value* "]" and "{" (Name ":" Value)* "}"; at the opening one. */
static int
list_or_object(struct parser *p, struct gql_value *v, int konst, int depth)
{
	struct gql_value **tail = &v->items, *item;
	const char *member = NULL;
	int close = is_punct(p, '[') ? ']' : '}';

	v->kind = close == ']' ? GQL_V_LIST : GQL_V_OBJECT;
	if (depth >= GQL_MAX_DEPTH)
		return gql_error(&p->lx, tok(p)->line, tok(p)->col,
		    "values nested deeper than %d", GQL_MAX_DEPTH);
	if (next(p) == -1)
		return -1;
	while (!is_punct(p, close)) {
		if (close == '}' && ((member = name(p,
		    "a field name or '}'")) == NULL ||
		    expect(p, ':', "':'") == -1))
			return -1;
		if ((item = value(p, konst, depth + 1)) == NULL)
			return -1;
		item->name = member;
		*tail = item;
		tail = &item->next;
	}
	return next(p);
}

/* A value; konst refuses variables, as in default values. */
static struct gql_value *
value(struct parser *p, int konst, int depth)
{
	const struct gql_tok *t = tok(p);
	struct gql_value *v;

	if ((v = alloc(p, sizeof(*v))) == NULL)
		return NULL;
	switch (t->type) {
	case TOK_PUNCT:
		if (t->punct == '[' || t->punct == '{') {
			if (list_or_object(p, v, konst, depth) == -1)
				return NULL;
			return v;
		}
		if (t->punct != '$')
			break;
		if (konst) {
			(void)gql_error(&p->lx, t->line, t->col,
			    "a variable in a constant value");
			return NULL;
		}
		v->kind = GQL_V_VARIABLE;
		if (next(p) == -1 ||
		    (v->s = name(p, "a variable name")) == NULL)
			return NULL;
		v->len = strlen(v->s);
		return v;
	case TOK_STRING:
		v->kind = GQL_V_STRING;
		v->s = t->sval;
		v->len = t->svlen;
		return next(p) == -1 ? NULL : v;
	case TOK_INT:
	case TOK_FLOAT:
		v->kind = t->type == TOK_INT ? GQL_V_INT : GQL_V_FLOAT;
		if ((v->s = gql_lex_copy(&p->lx, t->start, t->len)) == NULL)
			return NULL;
		v->len = t->len;
		return next(p) == -1 ? NULL : v;
	case TOK_NAME:
		if (is_name(p, "true") || is_name(p, "false"))
			v->kind = GQL_V_BOOLEAN;
		else if (is_name(p, "null"))
			v->kind = GQL_V_NULL;
		else
			v->kind = GQL_V_ENUM;
		if ((v->s = name(p, "a value")) == NULL)
			return NULL;
		v->len = strlen(v->s);
		return v;
	case TOK_EOF:
		break;
	}
	(void)gql_unexpected(&p->lx, "a value");
	return NULL;
}

/* "(" (Name ":" Value)+ ")", at the "(". */
static int
arguments(struct parser *p, int konst, struct gql_argument **tail)
{
	struct gql_argument *a;

	if (next(p) == -1)
		return -1;
	if (is_punct(p, ')'))
		return gql_error(&p->lx, tok(p)->line, tok(p)->col,
		    "empty argument list");
	while (!is_punct(p, ')')) {
		if ((a = alloc(p, sizeof(*a))) == NULL ||
		    (a->name = name(p, "an argument name or ')'")) == NULL ||
		    expect(p, ':', "':'") == -1 ||
		    (a->value = value(p, konst, 0)) == NULL)
			return -1;
		*tail = a;
		tail = &a->next;
	}
	return next(p);
}

/* ("@" Name Arguments?)*, if any. */
static int
directives(struct parser *p, int konst, struct gql_directive **tail)
{
	struct gql_directive *d;

	while (is_punct(p, '@')) {
		if ((d = alloc(p, sizeof(*d))) == NULL || next(p) == -1 ||
		    (d->name = name(p, "a directive name")) == NULL)
			return -1;
		if (is_punct(p, '(') && arguments(p, konst, &d->args) == -1)
			return -1;
		*tail = d;
		tail = &d->next;
	}
	return 0;
}

/*
 * A type, as text without spaces: "[" n times, a name, "!"?, then n
 * times "]" "!"?.  bang[i] says whether the i-th type from the inside
 * is non-null.
 */
static const char *
type(struct parser *p)
{
	char bang[GQL_MAX_DEPTH + 1], *s, *o;
	size_t start, nlen, len, nopen = 0, i;

	while (is_punct(p, '[')) {
		if (nopen == GQL_MAX_DEPTH) {
			(void)gql_error(&p->lx, tok(p)->line, tok(p)->col,
			    "list types nested deeper than %d",
			    GQL_MAX_DEPTH);
			return NULL;
		}
		nopen++;
		if (next(p) == -1)
			return NULL;
	}
	if (tok(p)->type != TOK_NAME) {
		(void)gql_unexpected(&p->lx, "a type");
		return NULL;
	}
	start = tok(p)->start;
	nlen = tok(p)->len;
	if (next(p) == -1)
		return NULL;
	len = nlen + 2 * nopen;
	for (i = 0; i <= nopen; i++) {
		if (i > 0 && expect(p, ']', "']'") == -1)
			return NULL;
		if ((bang[i] = is_punct(p, '!'))) {
			len++;
			if (next(p) == -1)
				return NULL;
		}
	}
	if ((s = alloc(p, len + 1)) == NULL)
		return NULL;
	memset(s, '[', nopen);
	memcpy(s + nopen, p->lx.s + start, nlen);
	o = s + nopen + nlen;
	for (i = 0; i <= nopen; i++) {
		if (i > 0)
			*o++ = ']';
		if (bang[i])
			*o++ = '!';
	}
	*o = '\0';
	return s;
}

/* "(" ("$" Name ":" Type ("=" Value)?)+ ")", at the "(". */
static int
variables(struct parser *p, struct gql_variable **tail)
{
	struct gql_variable *v;

	if (next(p) == -1)
		return -1;
	if (is_punct(p, ')'))
		return gql_error(&p->lx, tok(p)->line, tok(p)->col,
		    "empty variable list");
	while (!is_punct(p, ')')) {
		if ((v = alloc(p, sizeof(*v))) == NULL ||
		    expect(p, '$', "a variable or ')'") == -1 ||
		    (v->name = name(p, "a variable name")) == NULL ||
		    expect(p, ':', "':'") == -1 ||
		    (v->type = type(p)) == NULL)
			return -1;
		if (is_punct(p, '=') && (next(p) == -1 ||
		    (v->default_value = value(p, 1, 0)) == NULL))
			return -1;
		if (is_punct(p, '@'))
			return gql_error(&p->lx, tok(p)->line, tok(p)->col,
			    "directives on a variable are not supported");
		*tail = v;
		tail = &v->next;
	}
	return next(p);
}

/* After "...": a spread, or an inline fragment. */
static int
fragment_selection(struct parser *p, struct gql_selection *sel, int depth)
{
	struct spread *sp;

	if (next(p) == -1)
		return -1;
	if (is_name(p, "on")) {
		sel->kind = GQL_INLINE;
		if (next(p) == -1 ||
		    (sel->type_cond = name(p, "a type name")) == NULL)
			return -1;
	} else if (tok(p)->type == TOK_NAME) {
		sel->kind = GQL_SPREAD;
		if ((sp = alloc(p, sizeof(*sp))) == NULL ||
		    (sel->name = name(p, "a fragment name")) == NULL)
			return -1;
		sp->sel = sel;
		sp->owner = p->cur;
		*p->spreads_tail = sp;
		p->spreads_tail = &sp->next;
		return directives(p, 0, &sel->directives);
	} else if (!is_punct(p, '{') && !is_punct(p, '@'))
		return gql_unexpected(&p->lx,
		    "a fragment name, \"on\" or '{'");
	else
		sel->kind = GQL_INLINE;
	if (directives(p, 0, &sel->directives) == -1 ||
	    (sel->sel = selection_set(p, depth + 1)) == NULL)
		return -1;
	return 0;
}

/* A field, a spread or an inline fragment. */
static struct gql_selection *
selection(struct parser *p, int depth)
{
	struct gql_selection *sel;

	if ((sel = alloc(p, sizeof(*sel))) == NULL)
		return NULL;
	sel->line = tok(p)->line;
	sel->col = tok(p)->col;
	if (is_punct(p, '.'))
		return fragment_selection(p, sel, depth) == -1 ? NULL : sel;
	sel->kind = GQL_FIELD;
	if ((sel->name = name(p, "a field, \"...\" or '}'")) == NULL)
		return NULL;
	if (is_punct(p, ':')) {
		sel->alias = sel->name;
		if (next(p) == -1 ||
		    (sel->name = name(p, "a field name")) == NULL)
			return NULL;
	}
	if (is_punct(p, '(') && arguments(p, 0, &sel->args) == -1)
		return NULL;
	if (directives(p, 0, &sel->directives) == -1)
		return NULL;
	if (is_punct(p, '{') &&
	    (sel->sel = selection_set(p, depth + 1)) == NULL)
		return NULL;
	return sel;
}

/* "{" Selection+ "}"; depth is its own, from 1. */
static struct gql_selection *
selection_set(struct parser *p, int depth)
{
	struct gql_selection *head = NULL, **tail = &head, *sel;
	const struct gql_tok *t = tok(p);

	if (!is_punct(p, '{')) {
		(void)gql_unexpected(&p->lx, "'{'");
		return NULL;
	}
	if (depth > GQL_MAX_DEPTH) {
		(void)gql_error(&p->lx, t->line, t->col,
		    "selection sets nested deeper than %d", GQL_MAX_DEPTH);
		return NULL;
	}
	if (next(p) == -1)
		return NULL;
	if (is_punct(p, '}')) {
		(void)gql_error(&p->lx, t->line, t->col,
		    "empty selection set");
		return NULL;
	}
	while (!is_punct(p, '}')) {
		if ((sel = selection(p, depth)) == NULL)
			return NULL;
		*tail = sel;
		tail = &sel->next;
	}
	return next(p) == -1 ? NULL : head;
}

/* An operation; at its keyword, or at the "{" of the shorthand. */
static int
operation(struct parser *p, enum gql_operation_kind kind, int shorthand)
{
	struct gql_operation *op;
	struct def *d;

	if ((op = alloc(p, sizeof(*op))) == NULL ||
	    (d = new_def(p, &p->ops_tail, p->doc->noperations)) == NULL)
		return -1;
	d->node = op;
	op->kind = kind;
	p->cur = NULL;
	if (!shorthand) {
		if (next(p) == -1)
			return -1;
		if (tok(p)->type == TOK_NAME &&
		    (d->name = op->name = name(p, "a name")) == NULL)
			return -1;
		if (is_punct(p, '(') && variables(p, &op->variables) == -1)
			return -1;
		if (directives(p, 0, &op->directives) == -1)
			return -1;
	}
	if ((op->sel = selection_set(p, 1)) == NULL)
		return -1;
	*p->op_tail = op;
	p->op_tail = &op->next;
	p->doc->noperations++;
	return 0;
}

/* "fragment" Name "on" Name Directives? SelectionSet, at "fragment". */
static int
fragment(struct parser *p)
{
	struct gql_fragment *f;
	struct def *d;

	if ((f = alloc(p, sizeof(*f))) == NULL ||
	    (d = new_def(p, &p->frags_tail, p->doc->nfragments)) == NULL ||
	    next(p) == -1)
		return -1;
	d->node = f;
	if (is_name(p, "on"))
		return gql_error(&p->lx, tok(p)->line, tok(p)->col,
		    "a fragment cannot be named \"on\"");
	if ((d->name = f->name = name(p, "a fragment name")) == NULL)
		return -1;
	if (!is_name(p, "on"))
		return gql_unexpected(&p->lx, "\"on\"");
	if (next(p) == -1 ||
	    (f->type_cond = name(p, "a type name")) == NULL)
		return -1;
	p->cur = d;
	if (directives(p, 0, &f->directives) == -1 ||
	    (f->sel = selection_set(p, 1)) == NULL)
		return -1;
	p->cur = NULL;
	*p->frag_tail = f;
	p->frag_tail = &f->next;
	p->doc->nfragments++;
	return 0;
}

static int
definition(struct parser *p)
{
	static const char *const type_system[] = {
		"schema", "scalar", "type", "interface", "union", "enum",
		"input", "directive", "extend"
	};
	size_t i;

	if (is_punct(p, '{'))
		return operation(p, GQL_QUERY, 1);
	if (is_name(p, "query"))
		return operation(p, GQL_QUERY, 0);
	if (is_name(p, "mutation"))
		return operation(p, GQL_MUTATION, 0);
	if (is_name(p, "subscription"))
		return operation(p, GQL_SUBSCRIPTION, 0);
	if (is_name(p, "fragment"))
		return fragment(p);
	for (i = 0; i < sizeof(type_system) / sizeof(type_system[0]); i++)
		if (is_name(p, type_system[i]))
			break;
	/* A string here would be a type-system definition's description. */
	if (i < sizeof(type_system) / sizeof(type_system[0]) ||
	    tok(p)->type == TOK_STRING)
		return gql_error(&p->lx, tok(p)->line, tok(p)->col,
		    "type-system definitions are not allowed");
	return gql_unexpected(&p->lx, "an operation or a fragment");
}

/* Named definitions by name, then in document order. */
static int
def_cmp(const void *a, const void *b)
{
	const struct def *da = *(const struct def *const *)a;
	const struct def *db = *(const struct def *const *)b;
	int c;

	if ((c = strcmp(da->name, db->name)) != 0)
		return c;
	return da->idx < db->idx ? -1 : da->idx > db->idx;
}

static int
def_find(const void *key, const void *elt)
{
	return strcmp(key, (*(const struct def *const *)elt)->name);
}

/*
 * The named ones of the n definitions from d, sorted into *out; the
 * earliest that repeats a name before it, if any, into *dup.
 */
static int
sort_defs(struct parser *p, struct def *d, size_t n, struct def ***out,
    size_t *nout, struct def **dup)
{
	struct def **v;
	size_t i, k = 0;

	if ((v = alloc(p, (n > 0 ? n : 1) * sizeof(*v))) == NULL)
		return -1;
	for (; d != NULL; d = d->next)
		if (d->name != NULL)
			v[k++] = d;
	qsort(v, k, sizeof(*v), def_cmp);
	*dup = NULL;
	for (i = 1; i < k; i++)
		if (strcmp(v[i - 1]->name, v[i]->name) == 0 &&
		    (*dup == NULL || v[i]->idx < (*dup)->idx))
			*dup = v[i];
	*out = v;
	*nout = k;
	return 0;
}

static int
check_operations(struct parser *p)
{
	struct def *d, *dup;

	if (p->doc->noperations == 0)
		return gql_error(&p->lx, tok(p)->line, tok(p)->col,
		    "no operation");
	for (d = p->ops; d != NULL && p->doc->noperations > 1; d = d->next)
		if (d->name == NULL)
			return gql_error(&p->lx, d->line, d->col,
			    "an anonymous operation must be the only one");
	if (sort_defs(p, p->ops, p->doc->noperations, &p->ix->ops,
	    &p->ix->nops, &dup) == -1)
		return -1;
	if (dup != NULL)
		return gql_error_name(&p->lx, dup->line, dup->col,
		    "duplicate operation", dup->name);
	return 0;
}

/*
 * Each spread's fragment, and the spreads in each fragment as edges
 * edge0 .. edge0 + nedges - 1 of *edges.
 */
static int
link_spreads(struct parser *p, struct def **byname, size_t n,
    struct spread ***edges)
{
	struct spread *sp, **e;
	struct def **found, *d;
	size_t nedges = 0;

	for (sp = p->spreads; sp != NULL; sp = sp->next) {
		found = n > 0 ? bsearch(sp->sel->name, byname, n,
		    sizeof(*byname), def_find) : NULL;
		if (found == NULL)
			return gql_error_name(&p->lx, sp->sel->line,
			    sp->sel->col, "undefined fragment",
			    sp->sel->name);
		sp->target = *found;
		if (sp->owner != NULL) {
			sp->owner->nedges++;
			nedges++;
		}
	}
	if ((e = alloc(p, (nedges > 0 ? nedges : 1) * sizeof(*e))) == NULL)
		return -1;
	nedges = 0;
	for (d = p->frags; d != NULL; d = d->next) {
		d->edge0 = nedges;
		nedges += d->nedges;
	}
	for (sp = p->spreads; sp != NULL; sp = sp->next)
		if (sp->owner != NULL)
			e[sp->owner->edge0 + sp->owner->next_edge++] = sp;
	*edges = e;
	return 0;
}

/* Depth-first from each fragment: a spread of one on the path is a cycle. */
static int
check_cycles(struct parser *p, struct spread **edges)
{
	struct def **stack, *d, *u, *v;
	struct spread *sp;
	size_t top;

	if ((stack = alloc(p, (p->doc->nfragments + 1) *
	    sizeof(*stack))) == NULL)
		return -1;
	for (d = p->frags; d != NULL; d = d->next)
		d->next_edge = 0;
	for (d = p->frags; d != NULL; d = d->next) {
		if (d->state != NEW)
			continue;
		d->state = OPEN;
		stack[0] = d;
		top = 1;
		while (top > 0) {
			u = stack[top - 1];
			if (u->next_edge == u->nedges) {
				u->state = DONE;
				top--;
				continue;
			}
			sp = edges[u->edge0 + u->next_edge++];
			v = sp->target;
			if (v->state == OPEN)
				return gql_error_name(&p->lx, sp->sel->line,
				    sp->sel->col, "fragment cycle through",
				    v->name);
			if (v->state == NEW) {
				v->state = OPEN;
				stack[top++] = v;
			}
		}
	}
	return 0;
}

static int
check_fragments(struct parser *p)
{
	struct spread **edges = NULL;
	struct def *dup;

	if (sort_defs(p, p->frags, p->doc->nfragments, &p->ix->frags,
	    &p->ix->nfrags, &dup) == -1)
		return -1;
	if (dup != NULL)
		return gql_error_name(&p->lx, dup->line, dup->col,
		    "duplicate fragment", dup->name);
	if (link_spreads(p, p->ix->frags, p->ix->nfrags, &edges) == -1)
		return -1;
	return check_cycles(p, edges);
}

int
gql_parse(const char *text, size_t len, struct gql_doc **docp, char *err,
    size_t errlen)
{
	struct parser p;
	struct gql_arena *a;

	*docp = NULL;
	memset(&p, 0, sizeof(p));
	gql_lex_init(&p.lx, text, len, err, errlen);
	if (len > GQL_MAX_TEXT)
		return gql_error(&p.lx, 1, 1,
		    "the text is longer than %d bytes", GQL_MAX_TEXT);
	if ((a = gql_arena_new()) == NULL)
		return gql_error(&p.lx, 1, 1, "out of memory");
	p.lx.arena = a;
	if ((p.doc = alloc(&p, sizeof(*p.doc))) == NULL ||
	    (p.ix = alloc(&p, sizeof(*p.ix))) == NULL)
		goto fail;
	p.ix->arena = a;
	p.doc->arena = p.ix;
	p.op_tail = &p.doc->operations;
	p.frag_tail = &p.doc->fragments;
	p.ops_tail = &p.ops;
	p.frags_tail = &p.frags;
	p.spreads_tail = &p.spreads;
	if (next(&p) == -1)
		goto fail;
	while (tok(&p)->type != TOK_EOF)
		if (definition(&p) == -1)
			goto fail;
	if (check_operations(&p) == -1 || check_fragments(&p) == -1)
		goto fail;
	*docp = p.doc;
	return 0;
 fail:
	gql_arena_free(a);
	return -1;
}

void
gql_free(struct gql_doc *doc)
{
	struct index *ix;

	if (doc == NULL)
		return;
	ix = doc->arena;	/* in the arena, like doc */
	gql_arena_free(ix->arena);
}

static const void *
lookup(struct def **v, size_t n, const char *name)
{
	struct def **found;

	if (n == 0 || name == NULL)
		return NULL;
	found = bsearch(name, v, n, sizeof(*v), def_find);
	return found != NULL ? (*found)->node : NULL;
}

const struct gql_operation *
gql_operation(const struct gql_doc *doc, const char *name)
{
	const struct index *ix;

	if (doc == NULL)
		return NULL;
	if (name == NULL)
		return doc->noperations == 1 ? doc->operations : NULL;
	ix = doc->arena;
	return lookup(ix->ops, ix->nops, name);
}

const struct gql_fragment *
gql_fragment(const struct gql_doc *doc, const char *name)
{
	const struct index *ix;

	if (doc == NULL)
		return NULL;
	ix = doc->arena;
	return lookup(ix->frags, ix->nfrags, name);
}
