/*
 * gql_args.c: what a GraphQL document's arguments hold, for the scope
 * check (gql_scope.c): literals and variables resolved the way GitHub
 * resolves them, and the targets of mutations and node(id:) queries
 * gathered for the caller to prove (contracts in gql_walk.h).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gql.h"
#include "gql_scope.h"
#include "gql_walk.h"

/* --- values: literals and variables --- */

/* The definition of $name; NULL if none, or (ambiguous) more than one. */
const struct gql_variable *
gql_variable_def(const struct walk *w, const char *name)
{
	const struct gql_variable *v, *found = NULL;

	for (v = w->op->variables; v != NULL; v = v->next)
		if (strcmp(v->name, name) == 0) {
			if (found != NULL)
				return NULL;
			found = v;
		}
	return found;
}

/*
 * The argument or input object member called name.  Two of one name
 * are invalid GraphQL that a server might read either way, so they are
 * an error here (-1), never a choice; 0 when there is none.
 */
static int
arg_find(const struct gql_argument *args, const char *name,
    const struct gql_value **out)
{
	const struct gql_argument *a;

	*out = NULL;
	for (a = args; a != NULL; a = a->next)
		if (strcmp(a->name, name) == 0) {
			if (*out != NULL)
				return -1;
			*out = a->value;
		}
	return *out != NULL;
}

static int
member_find(const struct gql_value *obj, const char *name,
    const struct gql_value **out)
{
	const struct gql_value *m;

	*out = NULL;
	for (m = obj->items; m != NULL; m = m->next)
		if (strcmp(m->name, name) == 0) {
			if (*out != NULL)
				return -1;
			*out = m;
		}
	return *out != NULL;
}

/*
 * A string at path (an argument, then input object members) in a field's
 * arguments: 1 found (*out, *len), 0 absent or null, -1 not a string.
 * Variables are resolved from the request, then from their defaults.
 */
int
gql_value_at(const struct walk *w, const struct gql_argument *args,
    const char *path, const char **out, size_t *len)
{
	const struct gql_value *v = NULL;
	const struct gql_variable *def;
	json_t *j = NULL;
	char seg[64];
	const char *p = path, *dot;
	size_t n;
	int first = 1, rc;

	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(seg))
			return -1;
		memcpy(seg, p, n);
		seg[n] = '\0';
		p += n + (dot ? 1 : 0);
		if (j != NULL) {
			if (!json_is_object(j))
				return json_is_null(j) ? 0 : -1;
			if ((j = json_object_get(j, seg)) == NULL)
				return 0;
			continue;
		}
		if (first) {
			if ((rc = arg_find(args, seg, &v)) != 1)
				return rc;
			first = 0;
		} else {
			if (v->kind == GQL_V_NULL)
				return 0;
			if (v->kind != GQL_V_OBJECT)
				return -1;
			if ((rc = member_find(v, seg, &v)) != 1)
				return rc;
		}
		if (v->kind == GQL_V_VARIABLE) {
			if ((def = gql_variable_def(w, v->s)) == NULL)
				return -1;
			if (w->vars == NULL ||
			    (j = json_object_get(w->vars, v->s)) == NULL) {
				if ((v = def->default_value) == NULL)
					return 0;
				if (v->kind == GQL_V_VARIABLE)
					return -1;
			}
		}
	}
	if (j != NULL) {
		if (json_is_null(j))
			return 0;
		if (!json_is_string(j))
			return -1;
		*out = json_string_value(j);
		*len = json_string_length(j);
		return 1;
	}
	if (v == NULL || v->kind == GQL_V_NULL)
		return 0;
	if (v->kind != GQL_V_STRING)
		return -1;
	*out = v->s;
	*len = v->len;
	return 1;
}

/* --- the targets of mutations and node IDs --- */

static int
add_target(struct walk *w, const char *id, size_t len)
{
	struct gql_result *res = w->res;
	size_t i;

	if (len == 0 || len >= GQL_ID_MAX || memchr(id, '\0', len) != NULL)
		return gql_deny(w, SCOPE_E_REQUEST, "a target ID is empty or "
		    "longer than %d bytes", GQL_ID_MAX - 1);
	for (i = 0; i < res->ntargets; i++)
		if (strlen(res->targets[i]) == len &&
		    memcmp(res->targets[i], id, len) == 0)
			return 0;
	if (res->ntargets == GQL_MAX_TARGETS)
		return gql_deny(w, SCOPE_E_POLICY, "more than %d objects to "
		    "check in one request", GQL_MAX_TARGETS);
	memcpy(res->targets[res->ntargets], id, len);
	res->targets[res->ntargets++][len] = '\0';
	return 0;
}

static int
target_name(struct walk *w, const char *p, size_t len)
{
	const char *slash = memchr(p, '/', len);

	if (slash == NULL || !scope_repo_allowed(w->sc, p, (size_t)(slash -
	    p), slash + 1, len - (size_t)(slash - p) - 1)) {
		(void)snprintf(w->res->sr.repo, sizeof(w->res->sr.repo),
		    "%.*s", (int)len, p);
		return gql_deny(w, SCOPE_E_REPO, "repository %.*s is outside "
		    "this token's scope", (int)(len > 140 ? 140 : len), p);
	}
	if (w->res->sr.repo[0] == '\0')
		(void)snprintf(w->res->sr.repo, sizeof(w->res->sr.repo),
		    "%.*s", (int)len, p);
	return 0;
}

/* The IDs of node(id:) or nodes(ids:): literals or variables. */
int
gql_node_targets(struct walk *w, const struct gql_selection *s)
{
	const struct gql_value *v;
	json_t *j, *x;
	const char *p;
	size_t len, i;
	int rc, n = 0;

	if (strcmp(s->name, "node") == 0) {
		if (gql_value_at(w, s->args, "id", &p, &len) != 1)
			return gql_deny(w, SCOPE_E_REQUEST, "needs an id given as "
			    "a string");
		return add_target(w, p, len);
	}
	if (arg_find(s->args, "ids", &v) != 1)
		return gql_deny(w, SCOPE_E_REQUEST, "needs ids, once");
	if (v->kind == GQL_V_VARIABLE) {
		if (gql_variable_def(w, v->s) == NULL || w->vars == NULL ||
		    !json_is_array(j = json_object_get(w->vars, v->s)))
			return gql_deny(w, SCOPE_E_REQUEST, "ids must be a list "
			    "of strings the request gives");
		json_array_foreach(j, i, x) {
			if (!json_is_string(x))
				return gql_deny(w, SCOPE_E_REQUEST, "ids must be "
				    "strings");
			if (add_target(w, json_string_value(x),
			    json_string_length(x)) == -1)
				return -1;
			n++;
		}
		return n > 0 ? 0 : gql_deny(w, SCOPE_E_REQUEST, "no ids");
	}
	if (v->kind != GQL_V_LIST)
		return gql_deny(w, SCOPE_E_REQUEST, "ids must be a list");
	for (v = v->items; v != NULL; v = v->next) {
		if (v->kind == GQL_V_VARIABLE) {
			x = w->vars ? json_object_get(w->vars, v->s) : NULL;
			if (gql_variable_def(w, v->s) == NULL || !json_is_string(x))
				return gql_deny(w, SCOPE_E_REQUEST, "ids must be "
				    "strings");
			rc = add_target(w, json_string_value(x),
			    json_string_length(x));
		} else if (v->kind == GQL_V_STRING)
			rc = add_target(w, v->s, v->len);
		else
			return gql_deny(w, SCOPE_E_REQUEST, "ids must be strings");
		if (rc == -1)
			return -1;
		n++;
	}
	return n > 0 ? 0 : gql_deny(w, SCOPE_E_REQUEST, "no ids");
}

/* One '+'-term of a target rule: the first '|' alternative present. */
static int
target_term(struct walk *w, const struct gql_selection *s, const char *t,
    size_t tlen)
{
	char alt[128];
	const char *p = t, *bar, *v;
	size_t n, vlen;
	int optional = 0, byname, rc;

	while (p < t + tlen) {
		bar = memchr(p, '|', (size_t)(t + tlen - p));
		n = bar ? (size_t)(bar - p) : (size_t)(t + tlen - p);
		if (n >= sizeof(alt))
			return gql_deny(w, SCOPE_E_POLICY, "bad target rule");
		memcpy(alt, p, n);
		alt[n] = '\0';
		p += n + (bar ? 1 : 0);
		if (n > 0 && alt[n - 1] == '?') {
			optional = 1;
			alt[--n] = '\0';
		}
		byname = n > 5 && strcmp(alt + n - 5, "=name") == 0;
		if (byname)
			alt[n - 5] = '\0';
		if ((rc = gql_value_at(w, s->args, alt, &v, &vlen)) == -1)
			return gql_deny(w, SCOPE_E_REQUEST, "%s is not a string",
			    alt);
		if (rc == 1)
			return byname ? target_name(w, v, vlen) :
			    add_target(w, v, vlen);
	}
	if (optional)
		return 0;
	return gql_deny(w, SCOPE_E_POLICY, "ghp cannot tell which repository "
	    "this mutation changes");
}

int
gql_mutation_targets(struct walk *w, const struct gql_selection *s,
    const char *t)
{
	const char *plus;

	while (*t != '\0') {
		plus = strchr(t, '+');
		if (target_term(w, s, t, plus ? (size_t)(plus - t) :
		    strlen(t)) == -1)
			return -1;
		t = plus ? plus + 1 : t + strlen(t);
	}
	return 0;
}
