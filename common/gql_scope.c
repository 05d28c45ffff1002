/*
 * gql_scope.c: the GraphQL scope check for ghx_ tokens (contract in
 * gql_scope.h).
 *
 * The walk.  The chosen operation's selection set is walked from its
 * root type (Query or Mutation) with a context: where the walk is
 * (the root, public data, an account, a repository of the token's, or a
 * repository ghp cannot prove is one) and, inside a repository, which
 * permission the nearest repository object needed.  Entering an object
 * through a field is where the policy applies (enter()): the object's
 * class (gqltab.h) and the field's edge decide the new context or a
 * refusal.  Leaf fields need nothing more than their object did.
 *
 * Abstract types.  An interface or union whose possible types share a
 * class is entered like them.  One whose possible types disagree
 * ("mixed", e.g. a timeline item that may be a comment or a commit) is
 * entered lazily: a fragment on one of its types enters that type as
 * the field itself would have, and a field selected on the abstract type
 * directly needs every possible type to be allowed.
 *
 * A pull request read as an issue.  GitHub treats every pull request as
 * an issue, and its REST API serves one to a token with issues:read
 * through the issue endpoints (scope.c, rule 3).  So a token with issues
 * but not pull_requests may read a pull request's fields that an issue
 * has too (title, body, labels, comments, ...), and nothing else of it:
 * that is what lets an issues token run "gh issue view", whose query
 * asks for both kinds.
 *
 * Fragments are walked where they are spread, each time (a fragment's
 * decision depends on where it is used); GQL_WALK_BUDGET and
 * GQL_WALK_MAX_DEPTH bound what a document of nested spreads can cost.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gql.h"
#include "gql_scope.h"
#include "gqltab.h"

#include "gql_walk.h"

static const char *const metadata_perms[2] = { "metadata", NULL };

static int	walk_set(struct walk *, const struct frame *,
		    const struct gql_selection *, int);

/* --- results --- */

static void
result_init(struct gql_result *res)
{
	memset(res, 0, sizeof(*res));
	res->sr.decision = SCOPE_DENY;
	res->sr.template = "/graphql";
}

static int __attribute__((__format__(printf, 4, 0)))
vdeny(struct gql_result *res, const char *path, enum scope_code code,
    const char *fmt, va_list ap)
{
	size_t n = 0;

	res->sr.decision = SCOPE_DENY;
	res->sr.code = code;
	if (path != NULL && path[0] != '\0')
		n = (size_t)snprintf(res->sr.reason, sizeof(res->sr.reason),
		    "%s: ", path);
	if (n >= sizeof(res->sr.reason))
		n = sizeof(res->sr.reason) - 1;
	(void)vsnprintf(res->sr.reason + n, sizeof(res->sr.reason) - n, fmt,
	    ap);
	return -1;
}

int
gql_deny(struct walk *w, enum scope_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vdeny(w->res, w->path, code, fmt, ap);
	va_end(ap);
	return -1;
}

static enum scope_decision __attribute__((__format__(printf, 3, 4)))
refuse(struct gql_result *res, enum scope_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vdeny(res, NULL, code, fmt, ap);
	va_end(ap);
	return SCOPE_DENY;
}

static void
path_push(struct walk *w, const char *name)
{
	size_t room = sizeof(w->path) - 1 - w->pathlen, n = strlen(name);

	if (w->pathlen > 0 && room > 0) {
		w->path[w->pathlen++] = '.';
		room--;
	}
	if (n > room)
		n = room;
	memcpy(w->path + w->pathlen, name, n);
	w->pathlen += n;
	w->path[w->pathlen] = '\0';
}

static void
path_pop(struct walk *w, size_t mark)
{
	w->pathlen = mark;
	w->path[mark] = '\0';
}

/* --- the table --- */

static const struct gqltab_type *
type_at(uint32_t i)
{
	return &gqltab_types[i];
}

static int
type_find(const char *name, uint32_t *out)
{
	size_t lo = 0, hi = gqltab_ntypes, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, gqltab_types[mid].name)) == 0) {
			*out = (uint32_t)mid;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static const struct gqltab_field *
field_find(const struct gqltab_type *t, const char *name)
{
	size_t lo = 0, hi = t->nfields, mid;
	const struct gqltab_field *f;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		f = &gqltab_fields[t->field0 + mid];
		if ((c = strcmp(name, f->name)) == 0)
			return f;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
is_composite(const struct gqltab_type *t)
{
	return t->kind == GQLK_OBJECT || t->kind == GQLK_INTERFACE ||
	    t->kind == GQLK_UNION;
}

/* The object types a value of type i may be. */
static void
possible(uint32_t i, const uint32_t **list, size_t *n, uint32_t *self)
{
	const struct gqltab_type *t = type_at(i);

	if (t->kind == GQLK_OBJECT) {
		*self = i;
		*list = self;
		*n = 1;
	} else {
		*list = &gqltab_related[t->rel0];
		*n = t->nrel;
	}
}

/* Can a fragment on type b apply to a value of type a?  (Both sorted.) */
static int
compatible(uint32_t a, uint32_t b)
{
	const uint32_t *la, *lb;
	uint32_t sa, sb;
	size_t na, nb, i = 0, j = 0;

	possible(a, &la, &na, &sa);
	possible(b, &lb, &nb, &sb);
	while (i < na && j < nb) {
		if (la[i] == lb[j])
			return 1;
		if (la[i] < lb[j])
			i++;
		else
			j++;
	}
	return 0;
}

/* Does the token hold one of perms at level or above? */
static const char *
holds(const struct scope *sc, const char *const perms[2],
    enum scope_level level)
{
	int i, x;

	for (i = 0; i < 2 && perms[i] != NULL; i++) {
		if (strcmp(perms[i], "metadata") == 0 && level == SCOPE_READ)
			return perms[i];
		if ((x = scope_perm_index(perms[i])) >= 0 &&
		    sc->perms[x] >= level)
			return perms[i];
	}
	return NULL;
}

static const char *const issue_perms[2] = { "issues", NULL };

/* May o, which the token cannot read, be read as an issue instead? */
static int
readable_as_issue(const struct scope *sc, const struct gqltab_type *o)
{
	return strcmp(o->name, "PullRequest") == 0 &&
	    holds(sc, issue_perms, SCOPE_READ) != NULL;
}

static int
same_perms(const char *const a[2], const char *const b[2])
{
	int i;

	for (i = 0; i < 2; i++)
		if ((a[i] == NULL) != (b[i] == NULL) || (a[i] != NULL &&
		    strcmp(a[i], b[i]) != 0))
			return 0;
	return 1;
}

static void
perms_text(const char *const perms[2], enum scope_level level, char *buf,
    size_t size)
{
	if (perms[1] != NULL)
		(void)snprintf(buf, size, "%s:%s or %s:%s", perms[0],
		    scope_level_name(level), perms[1], scope_level_name(level));
	else
		(void)snprintf(buf, size, "%s:%s", perms[0],
		    scope_level_name(level));
}

static void
note_permission(struct walk *w, const char *perm, enum scope_level level)
{
	if (w->res->sr.permission == NULL ||
	    strcmp(w->res->sr.permission, "metadata") == 0) {
		w->res->sr.permission = perm;
		w->res->sr.level = level;
	}
}

/* --- entering objects --- */

static int
enter_data(struct walk *w, const struct ctx *pc,
    const struct gqltab_type *p, const struct gqltab_field *fd,
    const struct gqltab_type *r, struct frame *nf)
{
	char need[96];
	const char *got;

	/* A part of a repository ghp cannot prove (its default branch's
	 * name) is that repository's metadata. */
	if (pc->kind == CTX_FOREIGN && fd != NULL && fd->edge == GQLE_PART &&
	    p->class == GQLC_REPOSITORY)
		return 0;
	if (fd != NULL && fd->edge == GQLE_FOREIGN)
		return gql_deny(w, SCOPE_E_REPO, "may reach %s of a repository "
		    "outside this token's scope", r->name);
	if (pc->kind == CTX_FOREIGN)
		return gql_deny(w, SCOPE_E_REPO, "reads %s of a repository ghp "
		    "cannot prove is in this token's scope", r->name);
	if (pc->kind == CTX_PUBLIC && r->class == GQLC_INHERIT)
		return 0;
	if (pc->kind != CTX_REPO)
		return gql_deny(w, SCOPE_E_REPO, "reads %s across repositories: "
		    "ask for it under repository(owner:, name:)", r->name);
	if (r->class == GQLC_INHERIT || (fd != NULL && fd->edge == GQLE_PART))
		return 0;
	if (holds(w->sc, r->perms, SCOPE_READ) == NULL &&
	    readable_as_issue(w->sc, r)) {
		note_permission(w, issue_perms[0], SCOPE_READ);
		nf->ctx.perms[0] = issue_perms[0];
		nf->ctx.perms[1] = NULL;
		nf->ctx.as_issue = 1;
		return 0;
	}
	if ((got = holds(w->sc, r->perms, SCOPE_READ)) == NULL) {
		perms_text(r->perms, SCOPE_READ, need, sizeof(need));
		w->res->sr.permission = r->perms[0];
		w->res->sr.level = SCOPE_READ;
		return gql_deny(w, SCOPE_E_PERMISSION, "needs %s on %s", need,
		    pc->repo[0] ? pc->repo : "the repository of the objects named");
	}
	note_permission(w, got, SCOPE_READ);
	nf->ctx.perms[0] = r->perms[0];
	nf->ctx.perms[1] = r->perms[1];
	return 0;
}

/* Enter type rtype through field fd of ptype, from context pc. */
static int
enter(struct walk *w, const struct ctx *pc, uint32_t ptype,
    const struct gqltab_field *fd, uint32_t rtype, struct frame *nf)
{
	const struct gqltab_type *r = type_at(rtype);

	memset(nf, 0, sizeof(*nf));
	nf->type = rtype;
	nf->ctx = *pc;
	nf->ctx.as_issue = 0;
	if (fd != NULL && fd->edge == GQLE_REFUSE)
		return gql_deny(w, SCOPE_E_POLICY, "refused for scoped tokens: %s",
		    fd->note);
	if (fd != NULL && fd->edge == GQLE_NAME) {
		if (pc->kind != CTX_REPO)
			return gql_deny(w, SCOPE_E_REPO, "reads %s across "
			    "repositories", r->name);
		nf->ctx.kind = CTX_NAME;
		return 0;
	}
	switch (r->class) {
	case GQLC_REFUSE:
		return gql_deny(w, SCOPE_E_POLICY, "%s is refused for scoped "
		    "tokens: %s", r->name, r->note);
	case GQLC_INTROSPECTION:
		nf->ctx.kind = CTX_INTRO;
		return 0;
	case GQLC_PUBLIC:
		nf->ctx.kind = CTX_PUBLIC;
		return 0;
	case GQLC_ACCOUNT:
		nf->ctx.kind = CTX_ACCOUNT;
		return 0;
	case GQLC_MIXED:
		nf->mixed = 1;
		nf->parent = *pc;
		nf->via_type = ptype;
		nf->via = fd;
		return 0;
	case GQLC_REPOSITORY:
		if (pc->kind == CTX_REPO && fd != NULL &&
		    (fd->edge == GQLE_SAME || fd->edge == GQLE_ROOT_NODE))
			return 0;
		if (pc->kind == CTX_REPO || pc->kind == CTX_FOREIGN) {
			nf->ctx.kind = CTX_FOREIGN;
			nf->ctx.repo[0] = '\0';
			return 0;
		}
		return gql_deny(w, SCOPE_E_REPO, "reaches repositories that may "
		    "be outside this token's scope");
	case GQLC_DATA:
	case GQLC_INHERIT:
		return enter_data(w, pc, type_at(ptype), fd, r, nf);
	default:
		return gql_deny(w, SCOPE_E_UNKNOWN, "%s is not in ghp's GraphQL "
		    "policy", r->name);
	}
}

static int
enter_repository(struct walk *w, const struct gql_selection *s,
    uint32_t rtype, struct frame *nf)
{
	const char *owner, *name;
	size_t olen, nlen;

	if (gql_value_at(w, s->args, "owner", &owner, &olen) != 1 ||
	    gql_value_at(w, s->args, "name", &name, &nlen) != 1)
		return gql_deny(w, SCOPE_E_REQUEST, "needs owner and name given "
		    "as strings or variables that hold strings");
	memset(nf, 0, sizeof(*nf));
	nf->type = rtype;
	nf->ctx.kind = CTX_REPO;
	nf->ctx.perms[0] = metadata_perms[0];
	if (olen > SCOPE_OWNER_MAX || nlen > SCOPE_NAME_MAX ||
	    memchr(owner, '/', olen) != NULL)
		return gql_deny(w, SCOPE_E_REPO, "names no repository of this "
		    "token's");
	(void)snprintf(nf->ctx.repo, sizeof(nf->ctx.repo), "%.*s/%.*s",
	    (int)olen, owner, (int)nlen, name);
	if (w->res->sr.repo[0] == '\0')
		memcpy(w->res->sr.repo, nf->ctx.repo, sizeof(w->res->sr.repo));
	if (!scope_repo_allowed(w->sc, owner, olen, name, nlen)) {
		memcpy(w->res->sr.repo, nf->ctx.repo, sizeof(w->res->sr.repo));
		return gql_deny(w, SCOPE_E_REPO, "repository %s is outside this "
		    "token's scope", nf->ctx.repo);
	}
	note_permission(w, "metadata", SCOPE_READ);
	return 0;
}

static int
enter_root(struct walk *w, const struct frame *f,
    const struct gqltab_field *fd, const struct gql_selection *s,
    struct frame *nf)
{
	struct ctx pc = f->ctx;

	switch (fd->edge) {
	case GQLE_ROOT_REPOSITORY:
		return enter_repository(w, s, fd->type, nf);
	case GQLE_ROOT_NODE:
		if (gql_node_targets(w, s) == -1)
			return -1;
		memset(&pc, 0, sizeof(pc));
		pc.kind = CTX_REPO;
		return enter(w, &pc, f->type, fd, fd->type, nf);
	case GQLE_ROOT_ACCOUNT:
		pc.kind = CTX_ACCOUNT;
		break;
	case GQLE_ROOT_PUBLIC:
		pc.kind = CTX_PUBLIC;
		break;
	default:
		return gql_deny(w, SCOPE_E_POLICY, "refused for scoped tokens: %s",
		    fd->note ? fd->note : "not analysed by ghp");
	}
	if (enter(w, &pc, f->type, fd, fd->type, nf) == -1)
		return -1;
	if (nf->mixed || (nf->ctx.kind != CTX_ACCOUNT &&
	    nf->ctx.kind != CTX_PUBLIC))
		return gql_deny(w, SCOPE_E_POLICY, "not analysed by ghp");
	return 0;
}

/* --- mutations --- */

static int
enter_mutation(struct walk *w, const struct frame *f,
    const struct gqltab_field *fd, const struct gql_selection *s,
    struct frame *nf)
{
	const char *got;
	struct ctx pc;
	char need[96];

	if (fd->perms[0] == NULL)
		return gql_deny(w, SCOPE_E_POLICY, "this mutation is refused for "
		    "ghx_ tokens: it is not in ghp's GraphQL policy");
	if ((got = holds(w->sc, fd->perms, fd->level)) == NULL) {
		perms_text(fd->perms, fd->level, need, sizeof(need));
		w->res->sr.permission = fd->perms[0];
		w->res->sr.level = fd->level;
		return gql_deny(w, SCOPE_E_PERMISSION, "needs %s", need);
	}
	if (w->res->sr.permission == NULL || w->res->sr.level < fd->level) {
		w->res->sr.permission = got;
		w->res->sr.level = fd->level;
	}
	if (gql_mutation_targets(w, s, fd->targets) == -1)
		return -1;
	memset(&pc, 0, sizeof(pc));
	pc.kind = CTX_REPO;
	pc.perms[0] = fd->perms[0];
	pc.perms[1] = fd->perms[1];
	return enter(w, &pc, f->type, fd, fd->type, nf);
}

/* --- the walk --- */

/* A field selected directly on a mixed type: every type must be allowed. */
static int
mixed_direct(struct walk *w, const struct frame *f, struct frame *as)
{
	const uint32_t *list;
	uint32_t self;
	size_t n, i;

	int any = 0;

	possible(f->type, &list, &n, &self);
	if (!f->narrowed && n > 8)
		return gql_deny(w, SCOPE_E_POLICY, "%s may be any of %zu types: ask "
		    "in fragments on the ones meant (... on Issue { id })",
		    type_at(f->type)->name, n);
	for (i = n; i-- > 0;) {
		if (f->narrowed && !compatible(list[i], f->within))
			continue;
		if (enter(w, &f->parent, f->via_type, f->via, list[i], as) ==
		    -1)
			return -1;
		any = 1;
	}
	if (!any)
		return gql_deny(w, SCOPE_E_REQUEST, "no object type can be here");
	as->type = f->type;
	return 0;
}

static int
walk_intro_root(struct walk *w, const struct frame *f,
    const struct gql_selection *s, int depth)
{
	struct frame nf;
	const char *tname = strcmp(s->name, "__schema") == 0 ? "__Schema" :
	    "__Type";

	if (f->type != gqltab_query || f->ctx.kind != CTX_ROOT)
		return gql_deny(w, SCOPE_E_REQUEST, "introspection fields are "
		    "asked for at the query's root");
	memset(&nf, 0, sizeof(nf));
	nf.ctx.kind = CTX_INTRO;
	if (type_find(tname, &nf.type) == -1 || s->sel == NULL)
		return gql_deny(w, SCOPE_E_REQUEST, "needs a selection");
	return walk_set(w, &nf, s->sel, depth + 1);
}

static int
issue_has(const char *name)
{
	static uint32_t issue = UINT32_MAX;

	if (issue == UINT32_MAX && type_find("Issue", &issue) == -1)
		return 0;
	return field_find(type_at(issue), name) != NULL;
}

/* A field of the frame's type, found in the schema. */
static int
walk_field_type(struct walk *w, const struct frame *f,
    const struct gqltab_field *fd, const struct gql_selection *s, int depth)
{
	const struct gqltab_type *r = type_at(fd->type);
	struct frame nf;
	int rc;

	if (!is_composite(r)) {
		if (s->sel != NULL)
			return gql_deny(w, SCOPE_E_REQUEST, "a leaf field has no "
			    "selection");
		if (fd->edge == GQLE_REFUSE)
			return gql_deny(w, SCOPE_E_POLICY, "refused for scoped "
			    "tokens: %s", fd->note);
		return 0;
	}
	if (s->sel == NULL)
		return gql_deny(w, SCOPE_E_REQUEST, "an object field needs a "
		    "selection");
	if (f->ctx.kind == CTX_NAME)
		return gql_deny(w, SCOPE_E_POLICY, "only the names of %s are "
		    "readable here", type_at(f->type)->name);
	if (f->type == gqltab_query && f->ctx.kind == CTX_ROOT)
		rc = enter_root(w, f, fd, s, &nf);
	else if (f->type == gqltab_mutation && f->ctx.kind == CTX_ROOT)
		rc = enter_mutation(w, f, fd, s, &nf);
	else
		rc = enter(w, &f->ctx, f->type, fd, fd->type, &nf);
	if (rc == -1)
		return -1;
	return walk_set(w, &nf, s->sel, depth + 1);
}

static int
walk_field(struct walk *w, const struct frame *f,
    const struct gql_selection *s, int depth)
{
	const struct gqltab_type *t = type_at(f->type);
	const struct gqltab_field *fd;
	const struct frame *from = f;
	struct frame as;
	size_t mark = w->pathlen;
	int rc;

	path_push(w, s->name);
	if (strcmp(s->name, "__typename") == 0)
		rc = s->sel ? gql_deny(w, SCOPE_E_REQUEST, "a leaf field has no "
		    "selection") : 0;
	else if (strcmp(s->name, "__schema") == 0 ||
	    strcmp(s->name, "__type") == 0)
		rc = walk_intro_root(w, f, s, depth);
	else if ((fd = field_find(t, s->name)) == NULL)
		rc = gql_deny(w, SCOPE_E_UNKNOWN, "%s has no field %s in GitHub's "
		    "schema", t->name, s->name);
	else if (f->ctx.as_issue && !issue_has(s->name))
		rc = gql_deny(w, SCOPE_E_PERMISSION, "needs pull_requests:read: "
		    "with issues:read a pull request shows only what an issue "
		    "has");
	else if (f->mixed && (rc = mixed_direct(w, f, &as)) == -1)
		;
	else {
		if (f->mixed)
			from = &as;
		rc = walk_field_type(w, from, fd, s, depth);
	}
	path_pop(w, mark);
	return rc;
}

/* A fragment spread or inline fragment: the same object, maybe typed. */
/*
 * A fragment narrows a value to tc.  Each object type it may then be
 * whose data needs another permission than the frame's (an Issue where
 * the field said "issue or pull request") needs that permission too:
 * the value's type is GitHub's to choose, so every one is checked.
 */
static int
narrow_check(struct walk *w, const struct frame *f, uint32_t tc,
    int *as_issue)
{
	const uint32_t *la, *lb;
	uint32_t sa, sb;
	size_t na, nb, i, j;
	const struct gqltab_type *o;
	char need[96];

	possible(f->type, &la, &na, &sa);
	possible(tc, &lb, &nb, &sb);
	for (i = 0, j = 0; i < na && j < nb;) {
		if (la[i] != lb[j]) {
			if (la[i] < lb[j])
				i++;
			else
				j++;
			continue;
		}
		o = type_at(la[i]);
		i++, j++;
		if (o->class != GQLC_DATA || f->ctx.kind != CTX_REPO ||
		    same_perms(o->perms, f->ctx.perms) ||
		    holds(w->sc, o->perms, SCOPE_READ) != NULL)
			continue;
		if (readable_as_issue(w->sc, o)) {
			*as_issue = 1;
			continue;
		}
		perms_text(o->perms, SCOPE_READ, need, sizeof(need));
		w->res->sr.permission = o->perms[0];
		w->res->sr.level = SCOPE_READ;
		return gql_deny(w, SCOPE_E_PERMISSION, "a fragment on %s may read "
		    "a %s: needs %s on %s", type_at(tc)->name, o->name, need,
		    f->ctx.repo[0] ? f->ctx.repo : "the repository of the "
		    "objects named");
	}
	return 0;
}

static int
walk_fragment(struct walk *w, const struct frame *f,
    const struct gql_selection *s, int depth)
{
	const struct gql_fragment *frag = NULL;
	const char *cond = s->type_cond;
	const struct gql_selection *sel = s->sel;
	struct frame nf;
	uint32_t tc;
	int as_issue;

	if (s->kind == GQL_SPREAD) {
		if ((frag = gql_fragment(w->doc, s->name)) == NULL)
			return gql_deny(w, SCOPE_E_REQUEST, "fragment %s is not "
			    "defined", s->name);
		cond = frag->type_cond;
		sel = frag->sel;
	}
	if (cond == NULL)
		return walk_set(w, f, sel, depth + 1);
	if (type_find(cond, &tc) == -1 || !is_composite(type_at(tc)))
		return gql_deny(w, SCOPE_E_UNKNOWN, "fragment on %s: no such "
		    "object type in GitHub's schema", cond);
	if (!compatible(f->type, tc))
		return gql_deny(w, SCOPE_E_REQUEST, "a fragment on %s cannot "
		    "apply to %s", cond, type_at(f->type)->name);
	if (f->mixed && tc != f->type &&
	    type_at(tc)->kind == GQLK_OBJECT) {
		if (enter(w, &f->parent, f->via_type, f->via, tc, &nf) == -1)
			return -1;
	} else if (f->mixed && tc != f->type) {
		nf = *f;
		nf.type = tc;
		nf.narrowed = 1;
		nf.within = f->narrowed ? f->within : f->type;
	} else {
		as_issue = f->ctx.as_issue;
		if (tc != f->type && narrow_check(w, f, tc, &as_issue) == -1)
			return -1;
		nf = *f;
		nf.type = tc;
		nf.ctx.as_issue = as_issue;
	}
	return walk_set(w, &nf, sel, depth + 1);
}

static int
walk_set(struct walk *w, const struct frame *f,
    const struct gql_selection *s, int depth)
{
	if (depth > GQL_WALK_MAX_DEPTH)
		return gql_deny(w, SCOPE_E_REQUEST, "nested more than %d deep",
		    GQL_WALK_MAX_DEPTH);
	for (; s != NULL; s = s->next) {
		if (w->budget-- == 0)
			return gql_deny(w, SCOPE_E_REQUEST, "more than %d "
			    "selections to check", GQL_WALK_BUDGET);
		if ((s->kind == GQL_FIELD ? walk_field(w, f, s, depth) :
		    walk_fragment(w, f, s, depth)) == -1)
			return -1;
	}
	return 0;
}

/* --- the request body --- */

static const char *const kind_names[] = { "query", "mutation",
    "subscription" };

static enum scope_decision
check_body_shape(json_t *body, json_t **query, json_t **vars,
    const char **opname, struct gql_result *res)
{
	json_t *ext, *on;

	if (json_is_array(body))
		return refuse(res, SCOPE_E_REQUEST, "batched GraphQL requests "
		    "are refused: GitHub runs one operation per request");
	if (!json_is_object(body))
		return refuse(res, SCOPE_E_REQUEST, "Problems parsing JSON");
	*query = json_object_get(body, "query");
	ext = json_object_get(body, "extensions");
	if (!json_is_string(*query)) {
		if (json_object_get(body, "id") != NULL ||
		    json_object_get(body, "documentId") != NULL ||
		    json_object_get(ext, "persistedQuery") != NULL)
			return refuse(res, SCOPE_E_REQUEST, "persisted queries "
			    "are refused: send the document in \"query\"");
		return refuse(res, SCOPE_E_REQUEST, "A query attribute must "
		    "be specified and must be a string.");
	}
	*vars = json_object_get(body, "variables");
	if (*vars != NULL && !json_is_object(*vars) && !json_is_null(*vars))
		return refuse(res, SCOPE_E_REQUEST, "variables must be a JSON "
		    "object");
	if (json_is_null(*vars))
		*vars = NULL;
	on = json_object_get(body, "operationName");
	if (on != NULL && !json_is_string(on) && !json_is_null(on))
		return refuse(res, SCOPE_E_REQUEST, "operationName must be a "
		    "string");
	*opname = json_is_string(on) ? json_string_value(on) : NULL;
	return SCOPE_ALLOW;
}

static enum scope_decision
check_document(const struct scope *sc, struct gql_doc *doc, json_t *vars,
    const char *opname, struct gql_result *res)
{
	struct walk w;
	struct frame root;

	memset(&w, 0, sizeof(w));
	w.sc = sc;
	w.doc = doc;
	w.vars = vars;
	w.res = res;
	w.budget = GQL_WALK_BUDGET;
	if ((w.op = gql_operation(doc, opname)) == NULL)
		return refuse(res, SCOPE_E_REQUEST, opname ? "operationName "
		    "names no operation of the document" : "the document "
		    "has several operations and no operationName");
	res->kind = kind_names[w.op->kind];
	if (w.op->name != NULL)
		(void)snprintf(res->operation, sizeof(res->operation), "%s",
		    w.op->name);
	if (w.op->kind == GQL_SUBSCRIPTION)
		return refuse(res, SCOPE_E_POLICY, "subscriptions are refused "
		    "for scoped tokens");
	memset(&root, 0, sizeof(root));
	root.type = w.op->kind == GQL_MUTATION ? gqltab_mutation :
	    gqltab_query;
	root.ctx.kind = CTX_ROOT;
	if (walk_set(&w, &root, w.op->sel, 0) == -1)
		return SCOPE_DENY;
	res->sr.decision = SCOPE_ALLOW;
	res->sr.code = SCOPE_OK;
	(void)snprintf(res->sr.reason, sizeof(res->sr.reason), "GraphQL %s "
	    "%s%s%s", res->kind, res->operation[0] ? res->operation :
	    "(anonymous)", res->sr.repo[0] ? " on " : "", res->sr.repo);
	return SCOPE_ALLOW;
}

enum scope_decision
gql_check(const struct scope *sc, const char *body, size_t len,
    struct gql_result *res)
{
	json_t *j, *query = NULL, *vars = NULL;
	json_error_t jerr;
	struct gql_doc *doc;
	const char *opname = NULL;
	char err[GQL_ERR_MAX];
	enum scope_decision d;

	result_init(res);
	if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return refuse(res, SCOPE_E_REQUEST, "Problems parsing JSON: "
		    "line %d column %d: %.80s", jerr.line, jerr.column,
		    jerr.text);
	if (check_body_shape(j, &query, &vars, &opname, res) == SCOPE_DENY) {
		json_decref(j);
		return SCOPE_DENY;
	}
	if (gql_parse(json_string_value(query), json_string_length(query),
	    &doc, err, sizeof(err)) == -1) {
		json_decref(j);
		return refuse(res, SCOPE_E_REQUEST, "the GraphQL document "
		    "does not parse: %s", err);
	}
	d = check_document(sc, doc, vars, opname, res);
	gql_free(doc);
	json_decref(j);
	return d;
}
