/*
 * test_scope.c: the path normaliser and the scope check.  The table walk
 * goes over every row of the generated permission table (permtab.c),
 * fills the template with sample values and checks that a token holding
 * exactly what the row asks passes, and that one without it, with a
 * lower level, on another repository or organization, or of the other
 * token type is refused.  Then the rules of scope.c one by one, with the
 * examples its comment gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "permtab.h"
#include "scope.h"
#include "unit.h"

#define LOGIN	"acme"

/* Values for placeholders; NULL name ends the list. */
struct fill {
	const char	*owner;		/* {owner}, {repo_owner}, ... */
	const char	*repo;
	const char	*org;
	const char	*user;		/* {username} */
	const char	*path;		/* {path} */
};

static const struct fill fill_default = {
	"acme", "widgets", "acme", LOGIN, "docs/README.md"
};

static int
perm_idx(const char *name)
{
	size_t i;

	for (i = 0; i < permtab_nperms; i++)
		if (strcmp(permtab_perms[i], name) == 0)
			return (int)i;
	return -1;
}

/* A sample value; one that spans segments only for a last placeholder. */
static const char *
sample(const char *name, size_t len, int last, const struct fill *f)
{
	static const struct {
		const char	*name;
		const char	*value;
	} fixed[] = {
		{ "ref", "heads/main" },
		{ "basehead", "main...topic" },
		{ "dir", "docs/api" },
		{ "branch", "main" },
		{ "tag", "v1.0" },
	};
	size_t i;

#define IS(s)	(len == strlen(s) && strncmp(name, (s), len) == 0)
	if (IS("owner") || IS("template_owner") || IS("repo_owner"))
		return f->owner;
	if (IS("repo") || IS("template_repo") || IS("repo_name"))
		return f->repo;
	if (IS("org"))
		return f->org;
	if (IS("username"))
		return f->user;
	if (IS("path"))
		return f->path;
	if (!last)
		return "12";
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (IS(fixed[i].name))
			return fixed[i].value;
#undef IS
	return "12";
}

/* Fill a template with sample values. */
static void
fill_template(const char *tmpl, const struct fill *f, char *buf,
    size_t size)
{
	const char *p = tmpl, *end;
	size_t o = 0;

	buf[0] = '\0';
	while (*p != '\0' && o + 1 < size) {
		if (*p == '{' && (end = strchr(p, '}')) != NULL) {
			o += (size_t)snprintf(buf + o, size - o, "%s",
			    sample(p + 1, (size_t)(end - p - 1), end[1] == '\0',
			    f));
			p = end + 1;
		} else
			buf[o++] = *p++;
		if (o >= size)
			o = size - 1;
		buf[o] = '\0';
	}
}

static enum scope_decision
check(const struct scope *sc, const char *method, const char *path,
    struct scope_result *res)
{
	return scope_check(sc, method, path, res);
}

static void
token(struct scope *sc, enum scope_token type, const char *repos)
{
	char buf[256], *p, *q;

	scope_init(sc, type, LOGIN);
	snprintf(buf, sizeof(buf), "%s", repos);
	for (p = buf; p != NULL && *p != '\0'; p = q) {
		if ((q = strchr(p, ' ')) != NULL)
			*q++ = '\0';
		if (scope_add_repo(sc, p) == -1)
			abort();
	}
}

static void
all_perms(struct scope *sc)
{
	size_t i;

	for (i = 0; i < permtab_nperms; i++)
		sc->perms[i] = SCOPE_ADMIN;
}

/*
 * The table walk.
 */

static uint8_t
type_flag(enum scope_token t)
{
	return t == SCOPE_TOKEN_AGENT ? PR_INST : PR_PAT;
}

static int
refused_subject(int subject)
{
	return subject == PS_NO_REPO || subject == PS_TEAM_ID ||
	    subject == PS_ENTERPRISE;
}

static int
is_all_subject(int subject)
{
	return subject == PS_ORG_ALL || subject == PS_USER_ALL ||
	    subject == PS_SELF_ALL;
}

static int walked_rows, walked_allow, walked_refused;

/* The rows of other groups that must also be held, and what they need. */
static void
other_groups(const struct permtab_endpoint *ep, const struct permtab_row *r,
    enum scope_token t, int wf, struct scope *sc, int *refused, int *all)
{
	const struct permtab_row *o;
	int seen[256] = { 0 };
	uint16_t i;

	for (i = 0; i < ep->nrows; i++) {
		o = &permtab_rows[ep->row + i];
		if (!(o->flags & type_flag(t)))
			continue;
		if ((o->flags & PR_WORKFLOWS) && !wf)
			continue;
		if (o->group == r->group || seen[o->group])
			continue;
		seen[o->group] = 1;
		if (sc->perms[o->perm] < o->access)
			sc->perms[o->perm] = o->access;
		if (refused_subject(o->subject))
			*refused = 1;
		if (is_all_subject(o->subject))
			*all = 1;
	}
}

static void
walk_row(const struct permtab_endpoint *ep, const struct permtab_row *r,
    enum scope_token t)
{
	struct scope sc, base;
	struct scope_result res;
	struct fill f = fill_default;
	char path[512];
	const char *method = permtab_method_names[ep->method];
	const char *pname = permtab_perms[r->perm];
	int refused = refused_subject(r->subject), all, wf;
	int metadata = strcmp(pname, "metadata") == 0 &&
	    r->access == PERMTAB_READ;

	wf = (r->flags & PR_WORKFLOWS) != 0;
	if (wf && ep->path < 0) {
		/* Not enforceable (a ref or a release): contents decides. */
		return;
	}
	if (wf)
		f.path = ".github/workflows/ci.yml";
	all = is_all_subject(r->subject);
	scope_init(&base, t, LOGIN);
	other_groups(ep, r, t, wf, &base, &refused, &all);
	token(&sc, t, all ? "acme/*" : "acme/widgets");
	memcpy(sc.perms, base.perms, sizeof(sc.perms));
	if (sc.perms[r->perm] < r->access)
		sc.perms[r->perm] = r->access;
	fill_template(ep->template, &f, path, sizeof(path));
	walked_rows++;

	/* Exactly the permission (and those of the other groups). */
	check(&sc, method, path, &res);
	if (refused) {
		walked_refused++;
		CHECK(res.decision == SCOPE_DENY);
		CHECK(res.code == SCOPE_E_SUBJECT);
		if (res.decision != SCOPE_DENY || res.code != SCOPE_E_SUBJECT)
			fprintf(stderr, "  %s %s: %s\n", method, path,
			    res.reason);
		return;
	}
	walked_allow++;
	CHECK(res.decision == SCOPE_ALLOW);
	if (res.decision != SCOPE_ALLOW)
		fprintf(stderr, "  %s %s (%s:%s, %s): %s\n", method, path,
		    pname, scope_level_name((enum scope_level)r->access),
		    t == SCOPE_TOKEN_AGENT ? "gha" : "ghx", res.reason);
	CHECK(res.template != NULL && strcmp(res.template, ep->template) == 0);
	if (ep->owner >= 0)
		CHECK_STR(res.repo, "acme/widgets");

	/* Without it. */
	sc.perms[r->perm] = base.perms[r->perm] > r->access ?
	    base.perms[r->perm] : SCOPE_NONE;
	if (base.perms[r->perm] == SCOPE_NONE) {
		check(&sc, method, path, &res);
		if (metadata && r->subject == PS_REPO)
			CHECK(res.decision == SCOPE_ALLOW);
		else {
			CHECK(res.decision == SCOPE_DENY);
			CHECK(res.code == SCOPE_E_PERMISSION);
			CHECK(strstr(res.reason, pname) != NULL);
			if (res.decision != SCOPE_DENY)
				fprintf(stderr, "  %s %s without %s: %s\n",
				    method, path, pname, res.reason);
		}
	}

	/* One level lower. */
	if (r->access > PERMTAB_READ && base.perms[r->perm] < r->access) {
		sc.perms[r->perm] = r->access - 1;
		check(&sc, method, path, &res);
		CHECK(res.decision == SCOPE_DENY);
		CHECK(res.code == SCOPE_E_PERMISSION);
	}
	sc.perms[r->perm] = r->access > base.perms[r->perm] ? r->access :
	    base.perms[r->perm];

	/* Another repository. */
	if (ep->owner >= 0) {
		f.owner = all ? "evilcorp" : "acme";
		f.repo = "other";
		fill_template(ep->template, &f, path, sizeof(path));
		check(&sc, method, path, &res);
		CHECK(res.decision == SCOPE_DENY);
		CHECK(res.code == SCOPE_E_REPO);
		CHECK(strstr(res.reason, "/other is outside") != NULL);
		f.owner = "acme";
		f.repo = "widgets";
	}

	/* Another organization or account. */
	if (r->subject == PS_ORG || r->subject == PS_ORG_ALL) {
		f.org = "evilcorp";
		fill_template(ep->template, &f, path, sizeof(path));
		check(&sc, method, path, &res);
		CHECK(res.decision == SCOPE_DENY);
		CHECK(res.code == SCOPE_E_SUBJECT);
		f.org = "acme";
	}
	if (r->subject == PS_USER_SELF || r->subject == PS_USER_ALL) {
		f.user = "someoneelse";
		fill_template(ep->template, &f, path, sizeof(path));
		check(&sc, method, path, &res);
		CHECK(res.decision == SCOPE_DENY);
		CHECK(res.code == SCOPE_E_SUBJECT);
		f.user = LOGIN;
	}
	fill_template(ep->template, &f, path, sizeof(path));

	/* Whole-account endpoints need owner/\* , not one repository. */
	if (all && ep->owner < 0) {
		token(&sc, t, "acme/widgets");
		memcpy(sc.perms, base.perms, sizeof(sc.perms));
		sc.perms[r->perm] = r->access;
		check(&sc, method, path, &res);
		CHECK(res.decision == SCOPE_DENY);
		CHECK(res.code == SCOPE_E_SUBJECT);
	}

	/* Account endpoints with an unknown owner. */
	if (r->subject == PS_USER_SELF || r->subject == PS_SELF_ALL) {
		scope_init(&sc, t, NULL);
		scope_add_repo(&sc, "acme/*");
		memcpy(sc.perms, base.perms, sizeof(sc.perms));
		sc.perms[r->perm] = r->access;
		check(&sc, method, path, &res);
		CHECK(res.decision == SCOPE_DENY);
	}
}

static void
walk_endpoint(const struct permtab_endpoint *ep)
{
	struct scope sc;
	struct scope_result res;
	char path[512];
	const char *method = permtab_method_names[ep->method];
	int t, usable;
	uint16_t i;

	fill_template(ep->template, &fill_default, path, sizeof(path));
	for (t = SCOPE_TOKEN_USER; t <= SCOPE_TOKEN_AGENT; t++) {
		/* A token that holds everything. */
		token(&sc, (enum scope_token)t, "acme/*");
		all_perms(&sc);
		check(&sc, method, path, &res);
		CHECK(res.template != NULL &&
		    strcmp(res.template, ep->template) == 0);
		if (res.template == NULL ||
		    strcmp(res.template, ep->template) != 0)
			fprintf(stderr, "  %s %s matched %s\n", method, path,
			    res.template ? res.template : "nothing");
		if (ep->flags & PE_REFUSE) {
			CHECK(res.decision == SCOPE_DENY);
			CHECK(res.code == SCOPE_E_POLICY);
			CHECK(strstr(res.reason, ep->reason) != NULL);
			continue;
		}
		if (ep->flags & PE_ALLOW) {
			/* ... and one that holds nothing. */
			token(&sc, (enum scope_token)t, "acme/widgets");
			check(&sc, method, path, &res);
			CHECK(res.decision == SCOPE_ALLOW);
			CHECK_STR(res.reason, ep->reason);
			continue;
		}
		usable = 0;
		for (i = 0; i < ep->nrows; i++)
			if ((permtab_rows[ep->row + i].flags &
			    type_flag((enum scope_token)t)) &&
			    !(permtab_rows[ep->row + i].flags & PR_WORKFLOWS))
				usable = 1;
		if (!usable) {
			CHECK(res.decision == SCOPE_DENY);
			CHECK(res.code == SCOPE_E_TOKEN_TYPE);
			continue;
		}
		for (i = 0; i < ep->nrows; i++)
			if (permtab_rows[ep->row + i].flags &
			    type_flag((enum scope_token)t))
				walk_row(ep, &permtab_rows[ep->row + i],
				    (enum scope_token)t);
	}
}

static void
test_table_walk(void)
{
	size_t i, rows = 0;

	CHECK(permtab_nendpoints > 900);
	CHECK(permtab_nrows > 1000);
	for (i = 0; i < permtab_nendpoints; i++) {
		walk_endpoint(&permtab_endpoints[i]);
		rows += permtab_endpoints[i].nrows;
	}
	CHECK(rows == permtab_nrows);
	printf("table walk: %zu endpoints, %zu rows, %d row checks "
	    "(%d allowed, %d refused by subject)\n", permtab_nendpoints,
	    permtab_nrows, walked_rows, walked_allow, walked_refused);
}

/*
 * The normaliser.
 */

static void
test_normalize(void)
{
	static const struct {
		const char	*in;
		const char	*out;	/* NULL: refused */
	} cases[] = {
		{ "/", "/" },
		{ "/?x=1", "/" },
		{ "/repos/acme/widgets", "/repos/acme/widgets" },
		{ "/repos/acme/widgets/issues?state=open&q=/../",
		    "/repos/acme/widgets/issues" },
		{ "/repos/%61cme/widgets", "/repos/acme/widgets" },
		{ "/repos/acme/wid%67ets", "/repos/acme/widgets" },
		{ "/repos/a/b/contents/x%20y", "/repos/a/b/contents/x%20y" },
		{ "/repos/a/b/contents/x%3fy%23",
		    "/repos/a/b/contents/x%3Fy%23" },
		{ "/repos/a/b/contents/%7e%5F%2d", "/repos/a/b/contents/~_-" },
		{ "/repos/a/b/contents/%3a", "/repos/a/b/contents/%3A" },
		{ "/repos/a/b/contents/%C3%B1", "/repos/a/b/contents/%C3%B1" },
		{ "/repos/a/b/compare/main...topic",
		    "/repos/a/b/compare/main...topic" },
		{ "/a/.x/..y/...", "/a/.x/..y/..." },
		{ "/a/b:c@d!$&'()*+,;=", "/a/b:c@d!$&'()*+,;=" },
		/* Refused. */
		{ "", NULL },
		{ "repos/a/b", NULL },
		{ "*", NULL },
		{ "http://api.github.com/repos", NULL },
		{ "?x", NULL },
		{ "//", NULL },
		{ "/repos//acme", NULL },
		{ "/repos/acme/", NULL },
		{ "/repos/./acme", NULL },
		{ "/repos/../acme", NULL },
		{ "/repos/acme/.", NULL },
		{ "/repos/acme/..", NULL },
		{ "/repos/acme/..?x", NULL },
		{ "/repos/%2e%2e/x", NULL },
		{ "/repos/%2E/x", NULL },
		{ "/repos/a%2fb/x", NULL },
		{ "/repos/a%2Fb/x", NULL },
		{ "/repos/a%5cb/x", NULL },
		{ "/repos/a%5Cb/x", NULL },
		{ "/repos/a\\b/x", NULL },
		{ "/repos/a%2/x", NULL },
		{ "/repos/a%/x", NULL },
		{ "/repos/a%g0/x", NULL },
		{ "/repos/a%00/x", NULL },
		{ "/repos/a%0a/x", NULL },
		{ "/repos/a%7F/x", NULL },
		{ "/repos/a b/x", NULL },
		{ "/repos/a\tb/x", NULL },
		{ "/repos/a\x7f/x", NULL },
		{ "/repos/\xc3\xb1/x", NULL },
		{ "/repos/a#b", NULL },
		{ "/repos/a\"b", NULL },
		{ "/repos/a<b>", NULL },
		{ "/repos/a{b}", NULL },
		{ "/repos/a|b", NULL },
		{ "/repos/a^b", NULL },
		{ "/repos/a`b", NULL },
		{ "/repos/a[b]", NULL },
	};
	char out[256], again[256];
	const char *why;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = "unset";
		r = path_normalize(cases[i].in, out, sizeof(out), &why);
		if (cases[i].out == NULL) {
			CHECK(r == -1);
			CHECK(why != NULL && strcmp(why, "unset") != 0);
			CHECK(out[0] == '\0');
			if (r != -1)
				fprintf(stderr, "  accepted %s as %s\n",
				    cases[i].in, out);
			continue;
		}
		CHECK(r == 0);
		CHECK(why == NULL);
		CHECK_STR(out, cases[i].out);
		/* A fixed point. */
		CHECK(path_normalize(out, again, sizeof(again), &why) == 0);
		CHECK_STR(again, out);
	}
	/* NULL target, NULL why. */
	CHECK(path_normalize(NULL, out, sizeof(out), NULL) == -1);
	/* Size limits: exactly fits, one too short. */
	CHECK(path_normalize("/abcd", out, 6, &why) == 0);
	CHECK_STR(out, "/abcd");
	CHECK(path_normalize("/abcd", out, 5, &why) == -1);
	CHECK(path_normalize("/", out, 2, &why) == 0);
	CHECK(path_normalize("/%3a", out, 5, &why) == 0);
	CHECK_STR(out, "/%3A");
	CHECK(path_normalize("/%3a", out, 4, &why) == -1);
	CHECK(path_normalize("/a", out, 0, &why) == -1);
}

/*
 * The rules.
 */

static void
test_multirow_alternatives(void)
{
	struct scope sc;
	struct scope_result res;
	const char *p = "/repos/acme/widgets/issues/7/comments";

	/* issues and pull_requests: either is enough. */
	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "issues", SCOPE_WRITE);
	CHECK(check(&sc, "POST", p, &res) == SCOPE_ALLOW);
	CHECK_STR(res.template,
	    "/repos/{owner}/{repo}/issues/{issue_number}/comments");
	CHECK_STR(res.permission, "issues");
	CHECK_STR(res.reason, "issues:write on acme/widgets");
	scope_set_perm(&sc, "issues", SCOPE_NONE);
	scope_set_perm(&sc, "pull_requests", SCOPE_WRITE);
	CHECK(check(&sc, "POST", p, &res) == SCOPE_ALLOW);
	CHECK_STR(res.permission, "pull_requests");
	scope_set_perm(&sc, "pull_requests", SCOPE_READ);
	scope_set_perm(&sc, "issues", SCOPE_READ);
	CHECK(check(&sc, "POST", p, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PERMISSION);
	CHECK_STR(res.reason, "needs issues:write on acme/widgets or "
	    "pull_requests:write on acme/widgets");
	CHECK(check(&sc, "GET", p, &res) == SCOPE_ALLOW);
	/* Same for an agent token. */
	token(&sc, SCOPE_TOKEN_AGENT, "acme/widgets");
	scope_set_perm(&sc, "pull_requests", SCOPE_WRITE);
	CHECK(check(&sc, "POST", p, &res) == SCOPE_ALLOW);
}

static void
test_multirow_conjunction(void)
{
	struct scope sc;
	struct scope_result res;
	const char *p = "/repos/acme/widgets/forks";

	/* administration:write and contents:read: both needed. */
	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "administration", SCOPE_WRITE);
	CHECK(check(&sc, "POST", p, &res) == SCOPE_DENY);
	CHECK_STR(res.reason, "needs contents:read on acme/widgets");
	scope_set_perm(&sc, "administration", SCOPE_NONE);
	scope_set_perm(&sc, "contents", SCOPE_ADMIN);
	CHECK(check(&sc, "POST", p, &res) == SCOPE_DENY);
	CHECK_STR(res.reason, "needs administration:write on acme/widgets");
	scope_set_perm(&sc, "administration", SCOPE_ADMIN);
	CHECK(check(&sc, "POST", p, &res) == SCOPE_ALLOW);
	CHECK_STR(res.reason, "administration:write on acme/widgets and "
	    "contents:read on acme/widgets");

	/* An organization and a repository permission together. */
	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "administration", SCOPE_WRITE);
	p = "/orgs/acme/teams/core/repos/acme/widgets";
	CHECK(check(&sc, "PUT", p, &res) == SCOPE_DENY);
	CHECK_STR(res.reason, "needs members:read on organization acme");
	scope_set_perm(&sc, "members", SCOPE_READ);
	CHECK(check(&sc, "PUT", p, &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "PUT", "/orgs/acme/teams/core/repos/acme/gadgets",
	    &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_REPO);
}

static void
test_multirow_workflows(void)
{
	struct scope sc;
	struct scope_result res;

	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "contents", SCOPE_WRITE);
	CHECK(check(&sc, "PUT", "/repos/acme/widgets/contents/src/main.c",
	    &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/contents/{path}");
	CHECK_STR(res.reason, "contents:write on acme/widgets");
	CHECK(check(&sc, "PUT",
	    "/repos/acme/widgets/contents/.github/workflows/ci.yml",
	    &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PERMISSION);
	CHECK_STR(res.reason, "needs workflows:write on acme/widgets (to "
	    "change files under .github/workflows/)");
	CHECK(check(&sc, "DELETE",
	    "/repos/acme/widgets/contents/.GitHub/Workflows/ci.yml",
	    &res) == SCOPE_DENY);
	CHECK(check(&sc, "PUT",
	    "/repos/acme/widgets/contents/.github/workflows", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "PUT",
	    "/repos/acme/widgets/contents/.github/workflows-old/x", &res) ==
	    SCOPE_ALLOW);
	CHECK(check(&sc, "PUT",
	    "/repos/acme/widgets/contents/docs/.github/workflows/x", &res) ==
	    SCOPE_ALLOW);
	/* Reading a workflow file needs contents:read only. */
	CHECK(check(&sc, "GET",
	    "/repos/acme/widgets/contents/.github/workflows/ci.yml",
	    &res) == SCOPE_ALLOW);
	scope_set_perm(&sc, "workflows", SCOPE_WRITE);
	CHECK(check(&sc, "PUT",
	    "/repos/acme/widgets/contents/.github/workflows/ci.yml",
	    &res) == SCOPE_ALLOW);
	/* workflows alone does not write contents. */
	scope_set_perm(&sc, "contents", SCOPE_READ);
	CHECK(check(&sc, "PUT",
	    "/repos/acme/widgets/contents/.github/workflows/ci.yml",
	    &res) == SCOPE_DENY);
	CHECK_STR(res.reason, "needs contents:write on acme/widgets");
	/* Refs and releases: ghp cannot see the files; contents decides. */
	scope_set_perm(&sc, "contents", SCOPE_WRITE);
	scope_set_perm(&sc, "workflows", SCOPE_NONE);
	CHECK(check(&sc, "POST", "/repos/acme/widgets/git/refs", &res) ==
	    SCOPE_ALLOW);
	CHECK(check(&sc, "PATCH", "/repos/acme/widgets/git/refs/heads/a/b",
	    &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/git/refs/{ref}");
}

static void
test_no_permission(void)
{
	struct scope sc;
	struct scope_result res;

	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	CHECK(check(&sc, "GET", "/rate_limit", &res) == SCOPE_ALLOW);
	CHECK(res.permission == NULL);
	CHECK(check(&sc, "GET", "/", &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "/");
	CHECK(check(&sc, "HEAD", "/user", &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/users/someone", &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/search/code", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_POLICY);
	CHECK_STR(res.reason, "refused for scoped tokens: crosses "
	    "repositories");
	all_perms(&sc);
	/* In both files: the refusal wins over metadata:read. */
	CHECK(check(&sc, "GET", "/user/repos", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_POLICY);
	CHECK(check(&sc, "GET", "/orgs/acme/repos", &res) == SCOPE_DENY);
	/* Other methods on those paths are other endpoints. */
	CHECK(check(&sc, "POST", "/user/repos", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_SUBJECT);
	scope_add_repo(&sc, "acme/*");
	CHECK(check(&sc, "POST", "/user/repos", &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "PATCH", "/user", &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "DELETE", "/user", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_UNKNOWN);
}

static void
test_unknown(void)
{
	struct scope sc;
	struct scope_result res;

	token(&sc, SCOPE_TOKEN_USER, "acme/*");
	all_perms(&sc);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/nonexistent", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_UNKNOWN);
	CHECK_STR(res.reason, "endpoint not in ghp's permission table");
	CHECK(res.template == NULL);
	CHECK(check(&sc, "GET", "/repositories/1296269", &res) == SCOPE_DENY);
	CHECK(strstr(res.reason, "not in ghp's permission table") != NULL);
	CHECK(strstr(res.reason, "addressed by id") != NULL);
	CHECK(check(&sc, "GET", "/repositories/1296269/issues", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "GET", "/nothing", &res) == SCOPE_DENY);
	/* Literal segments are case-sensitive, as GitHub's router. */
	CHECK(check(&sc, "GET", "/Repos/acme/widgets", &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/Issues", &res) ==
	    SCOPE_DENY);
	/* Methods. */
	CHECK(check(&sc, "get", "/repos/acme/widgets", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_METHOD);
	CHECK(check(&sc, "OPTIONS", "/repos/acme/widgets", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "TRACE", "/", &res) == SCOPE_DENY);
	CHECK(check(&sc, NULL, "/", &res) == SCOPE_DENY);
	CHECK(check(&sc, "", "/", &res) == SCOPE_DENY);
	/* Paths that did not come from path_normalize(). */
	CHECK(check(&sc, "GET", NULL, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PATH);
	CHECK(check(&sc, "GET", "", &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "repos/acme/widgets", &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos//widgets", &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/", &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets?x=1", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PATH);
	CHECK(check(&sc, "GET", "/repos/acme/../x", &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents/%2e%2e/x",
	    &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents/a%2Fb",
	    &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PATH);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents/a%5cb",
	    &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents/a%2", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents/a%3a", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents/a%41", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents/a%3A", &res) ==
	    SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/repos/acme/wid\"gets", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PATH);
	CHECK(check(&sc, "GET", "/repos/acme/wid gets", &res) == SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgets#x", &res) == SCOPE_DENY);
}

static void
test_many_segments(void)
{
	struct scope sc;
	struct scope_result res;
	char path[2048];
	size_t o;
	int i;

	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "contents", SCOPE_READ);
	o = (size_t)snprintf(path, sizeof(path),
	    "/repos/acme/widgets/contents");
	for (i = 0; i < SCOPE_MAXSEGS - 4; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "/d");
	CHECK(check(&sc, "GET", path, &res) == SCOPE_ALLOW);
	snprintf(path + o, sizeof(path) - o, "/d");
	CHECK(check(&sc, "GET", path, &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PATH);
}

static void
test_repos(void)
{
	struct scope sc;
	struct scope_result res;

	/* Case-insensitive owner and name, both ways. */
	token(&sc, SCOPE_TOKEN_USER, "Acme/Widgets");
	scope_set_perm(&sc, "issues", SCOPE_READ);
	CHECK(check(&sc, "GET", "/repos/acme/WIDGETS/issues", &res) ==
	    SCOPE_ALLOW);
	CHECK_STR(res.repo, "acme/WIDGETS");
	CHECK(check(&sc, "GET", "/repos/ACME/widgets/issues", &res) ==
	    SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/repos/acme/widget/issues", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme/widgetsx/issues", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acm/widgets/issues", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_REPO);
	CHECK_STR(res.reason, "repository acm/widgets is outside this "
	    "token's scope");
	CHECK_STR(res.repo, "acm/widgets");

	/* owner/\* */
	token(&sc, SCOPE_TOKEN_USER, "acme/*");
	scope_set_perm(&sc, "issues", SCOPE_READ);
	CHECK(check(&sc, "GET", "/repos/ACME/anything/issues", &res) ==
	    SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/repos/other/anything/issues", &res) ==
	    SCOPE_DENY);
	CHECK(check(&sc, "GET", "/repos/acme2/anything/issues", &res) ==
	    SCOPE_DENY);

	/* Several patterns. */
	token(&sc, SCOPE_TOKEN_USER, "acme/widgets beta/*");
	scope_set_perm(&sc, "issues", SCOPE_READ);
	CHECK(check(&sc, "GET", "/repos/beta/x/issues", &res) ==
	    SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/issues", &res) ==
	    SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/repos/acme/x/issues", &res) == SCOPE_DENY);

	/* metadata:read is implied on the token's repositories. */
	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	CHECK(check(&sc, "GET", "/repos/acme/widgets", &res) == SCOPE_ALLOW);
	CHECK_STR(res.reason, "metadata:read on acme/widgets");
	CHECK(check(&sc, "GET", "/repos/acme/other", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_REPO);
	CHECK(check(&sc, "PATCH", "/repos/acme/widgets", &res) == SCOPE_DENY);

	/* No repositories at all. */
	scope_init(&sc, SCOPE_TOKEN_USER, LOGIN);
	all_perms(&sc);
	CHECK(check(&sc, "GET", "/repos/acme/widgets", &res) == SCOPE_DENY);

	/* A second repository in the path must be in scope too. */
	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "contents", SCOPE_READ);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/code-scanning/codeql/"
	    "variant-analyses/1/repos/evil/x", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_REPO);
	CHECK_STR(res.repo, "evil/x");
	CHECK(check(&sc, "GET", "/repos/acme/widgets/code-scanning/codeql/"
	    "variant-analyses/1/repos/acme/widgets", &res) == SCOPE_ALLOW);
	/* And the template repository of a generate. */
	scope_set_perm(&sc, "administration", SCOPE_WRITE);
	CHECK(check(&sc, "POST", "/repos/acme/widgets/generate", &res) ==
	    SCOPE_ALLOW);
	CHECK(check(&sc, "POST", "/repos/evil/tmpl/generate", &res) ==
	    SCOPE_DENY);
}

static void
test_subjects(void)
{
	struct scope sc;
	struct scope_result res;

	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "members", SCOPE_READ);
	/* Organization permissions: the org owns a token repository. */
	CHECK(check(&sc, "GET", "/orgs/ACME/members", &res) == SCOPE_ALLOW);
	CHECK_STR(res.reason, "members:read on organization ACME");
	CHECK(check(&sc, "GET", "/orgs/evilcorp/members", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_SUBJECT);
	CHECK(strncmp(res.reason, "organization permissions need an "
	    "organization that owns one of the token's repositories",
	    85) == 0);
	CHECK(strstr(res.reason, "evilcorp") != NULL);
	/* Teams by id: no organization to check. */
	CHECK(check(&sc, "GET", "/teams/42", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_SUBJECT);
	CHECK(strstr(res.reason, "team") != NULL);

	/* A repository permission over a whole organization. */
	scope_set_perm(&sc, "security_events", SCOPE_READ);
	CHECK(check(&sc, "GET", "/orgs/acme/code-scanning/alerts", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_SUBJECT);
	CHECK(strstr(res.reason, "security_events:read on acme/*") != NULL);
	scope_add_repo(&sc, "acme/*");
	CHECK(check(&sc, "GET", "/orgs/acme/code-scanning/alerts", &res) ==
	    SCOPE_ALLOW);

	/* Account permissions: the token owner's own account. */
	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "gpg_keys", SCOPE_READ);
	scope_set_perm(&sc, "keys", SCOPE_READ);
	CHECK(check(&sc, "GET", "/user/gpg_keys", &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "POST", "/user/gpg_keys", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_PERMISSION);
	CHECK(check(&sc, "GET", "/users/Acme/keys", &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/users/other/keys", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_SUBJECT);
	/* Account endpoints are for ghx_ tokens only, mostly. */
	sc.type = SCOPE_TOKEN_AGENT;
	CHECK(check(&sc, "GET", "/user/gpg_keys", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_TOKEN_TYPE);
	CHECK(check(&sc, "GET", "/users/acme/keys", &res) == SCOPE_ALLOW);

	/* Enterprise endpoints: never (and GitHub has them for gha_ only). */
	token(&sc, SCOPE_TOKEN_AGENT, "acme/*");
	all_perms(&sc);
	CHECK(check(&sc, "GET", "/enterprises/acme/teams", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_SUBJECT);
	CHECK(strstr(res.reason, "enterprise") != NULL);
	sc.type = SCOPE_TOKEN_USER;
	CHECK(check(&sc, "GET", "/enterprises/acme/teams", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_TOKEN_TYPE);
	/* No repository to check against. */
	CHECK(check(&sc, "POST", "/markdown", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_SUBJECT);
}

static void
test_matching(void)
{
	struct scope sc;
	struct scope_result res;

	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	all_perms(&sc);
	/* HEAD is GET; the query was removed by path_normalize(). */
	scope_init(&sc, SCOPE_TOKEN_USER, LOGIN);
	scope_add_repo(&sc, "acme/widgets");
	scope_set_perm(&sc, "issues", SCOPE_READ);
	CHECK(check(&sc, "HEAD", "/repos/acme/widgets/issues", &res) ==
	    SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/issues");
	CHECK(check(&sc, "POST", "/repos/acme/widgets/issues", &res) ==
	    SCOPE_DENY);
	CHECK(res.level == SCOPE_WRITE);
	CHECK_STR(res.permission, "issues");

	all_perms(&sc);
	/* Literal before placeholder. */
	CHECK(check(&sc, "POST", "/orgs/acme/actions/variables", &res) ==
	    SCOPE_ALLOW);
	CHECK_STR(res.template, "/orgs/{org}/actions/variables");
	CHECK(check(&sc, "POST", "/orgs/acme/dependabot/enable_all", &res) ==
	    SCOPE_ALLOW);
	CHECK_STR(res.template, "/orgs/{org}/{security_product}/{enablement}");
	CHECK(check(&sc, "GET", "/repos/acme/widgets/commits/abc/status",
	    &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/commits/{ref}/status");
	CHECK(check(&sc, "GET", "/repos/acme/widgets/branches/main/protection",
	    &res) == SCOPE_ALLOW);
	CHECK_STR(res.template,
	    "/repos/{owner}/{repo}/branches/{branch}/protection");

	/* Multi-segment tails. */
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents/a/b/c.txt",
	    &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/contents/{path}");
	CHECK(check(&sc, "GET", "/repos/acme/widgets/git/ref/heads/feat/x",
	    &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/git/ref/{ref}");
	CHECK(check(&sc, "DELETE", "/repos/acme/widgets/git/refs/tags/v1",
	    &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/compare/main...feat/x",
	    &res) == SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/compare/{basehead}");
	CHECK(check(&sc, "GET", "/repos/acme/widgets/branches/feat/x", &res)
	    == SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/branches/{branch}");
	CHECK(check(&sc, "GET", "/repos/acme/widgets/commits/feat/x", &res)
	    == SCOPE_ALLOW);
	CHECK_STR(res.template, "/repos/{owner}/{repo}/commits/{ref}");
	/* ... but not where a longer template could explain the end. */
	CHECK(check(&sc, "GET", "/repos/acme/widgets/commits/feat/x/status",
	    &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_POLICY);
	CHECK(strstr(res.reason, "ambiguous") != NULL);
	CHECK(check(&sc, "GET",
	    "/repos/acme/widgets/branches/feat/x/protection/enforce_admins",
	    &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_POLICY);
	/* A single-segment placeholder never spans. */
	CHECK(check(&sc, "GET", "/repos/acme/widgets/issues/1/2", &res) ==
	    SCOPE_DENY);
	CHECK(res.code == SCOPE_E_UNKNOWN);
	CHECK(check(&sc, "GET", "/repos/acme/widgets/contents", &res) ==
	    SCOPE_DENY);

	/* GraphQL. */
	CHECK(check(&sc, "POST", "/graphql", &res) == SCOPE_DENY);
	CHECK(res.code == SCOPE_E_POLICY);
	CHECK(strstr(res.reason, "GraphQL") != NULL);
	sc.type = SCOPE_TOKEN_AGENT;
	CHECK(check(&sc, "POST", "/graphql", &res) == SCOPE_ALLOW);
	CHECK(check(&sc, "GET", "/graphql", &res) == SCOPE_DENY);
}

static void
test_normalize_then_check(void)
{
	struct scope sc;
	struct scope_result res;
	char out[256];
	const char *why;

	token(&sc, SCOPE_TOKEN_USER, "acme/widgets");
	scope_set_perm(&sc, "issues", SCOPE_READ);
	CHECK(path_normalize("/repos/acme/widgets/issues?state=open", out,
	    sizeof(out), &why) == 0);
	CHECK(check(&sc, "GET", out, &res) == SCOPE_ALLOW);
	CHECK(path_normalize("/repos/%41cme/widgets/%69ssues", out,
	    sizeof(out), &why) == 0);
	CHECK(check(&sc, "GET", out, &res) == SCOPE_ALLOW);
	CHECK_STR(res.repo, "Acme/widgets");
	CHECK(path_normalize("/repos/acme/widgets/../other/issues", out,
	    sizeof(out), &why) == -1);
	CHECK(path_normalize("/repos/acme/widgets%2F..%2Fother/issues", out,
	    sizeof(out), &why) == -1);
}

static void
test_api(void)
{
	struct scope sc;
	enum scope_level l;
	char name[64];
	int i;

	CHECK(scope_init(&sc, SCOPE_TOKEN_USER, NULL) == 0);
	CHECK(sc.login[0] == '\0');
	CHECK(scope_init(&sc, SCOPE_TOKEN_USER, "octo-cat_emu") == 0);
	CHECK_STR(sc.login, "octo-cat_emu");
	CHECK(scope_init(&sc, SCOPE_TOKEN_USER, "bad login") == -1);
	CHECK(sc.login[0] == '\0');
	CHECK(scope_init(&sc, SCOPE_TOKEN_USER, "") == -1);
	CHECK(scope_init(&sc, SCOPE_TOKEN_USER,
	    "a123456789012345678901234567890123456789") == -1);

	CHECK(scope_add_repo(&sc, "acme/widgets") == 0);
	CHECK(scope_add_repo(&sc, "acme/*") == 0);
	CHECK(scope_add_repo(&sc, "acme/.github") == 0);
	CHECK(scope_add_repo(&sc, "acme") == -1);
	CHECK(scope_add_repo(&sc, "/widgets") == -1);
	CHECK(scope_add_repo(&sc, "acme/") == -1);
	CHECK(scope_add_repo(&sc, "acme/..") == -1);
	CHECK(scope_add_repo(&sc, "acme/.") == -1);
	CHECK(scope_add_repo(&sc, "acme/a/b") == -1);
	CHECK(scope_add_repo(&sc, "ac me/x") == -1);
	CHECK(scope_add_repo(&sc, "acme/x*") == -1);
	CHECK(scope_add_repo(&sc, "*/*") == -1);
	CHECK(sc.nrepos == 3);
	for (i = 3; i < SCOPE_MAXREPOS; i++) {
		snprintf(name, sizeof(name), "o%d/r", i);
		CHECK(scope_add_repo(&sc, name) == 0);
	}
	CHECK(scope_add_repo(&sc, "one/more") == -1);

	CHECK(scope_set_perm(&sc, "contents", SCOPE_WRITE) == 0);
	CHECK(sc.perms[perm_idx("contents")] == SCOPE_WRITE);
	CHECK(scope_set_perm(&sc, "no_such_permission", SCOPE_READ) == -1);
	CHECK(scope_set_perm(&sc, "contents", (enum scope_level)7) == -1);
	CHECK(scope_parse_level("admin", &l) == 0 && l == SCOPE_ADMIN);
	CHECK(scope_parse_level("none", &l) == 0 && l == SCOPE_NONE);
	CHECK(scope_parse_level("Write", &l) == -1);
	CHECK_STR(scope_level_name(SCOPE_READ), "read");
	CHECK_STR(scope_code_name(SCOPE_E_REPO), "repo");
	CHECK_STR(scope_code_name(SCOPE_OK), "ok");
	CHECK(permtab_nperms <= PERMTAB_MAXPERMS);
	for (i = 1; i < (int)permtab_nperms; i++)
		CHECK(strcmp(permtab_perms[i - 1], permtab_perms[i]) < 0);
}

/* How long one check takes: every endpoint's sample path, many times. */
static void
test_timing(void)
{
	struct scope sc;
	struct scope_result res;
	struct timespec t0, t1;
	static char paths[2048][256];
	size_t i, n = permtab_nendpoints < 2048 ? permtab_nendpoints : 2048;
	long rounds = 200, calls = 0, allowed = 0;
	double ns;
	long r;

	token(&sc, SCOPE_TOKEN_USER, "acme/widgets beta/* gamma/x");
	all_perms(&sc);
	for (i = 0; i < n; i++)
		fill_template(permtab_endpoints[i].template, &fill_default,
		    paths[i], sizeof(paths[i]));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++) {
			allowed += scope_check(&sc, permtab_method_names[
			    permtab_endpoints[i].method], paths[i], &res) ==
			    SCOPE_ALLOW;
			calls++;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / (double)calls;
	printf("timing: %ld scope_check calls, %.0f ns per call "
	    "(%ld allowed)\n", calls, ns, allowed);
	CHECK(calls > 0);
}

int
main(void)
{
	UNIT_RUN(test_normalize);
	UNIT_RUN(test_table_walk);
	UNIT_RUN(test_multirow_alternatives);
	UNIT_RUN(test_multirow_conjunction);
	UNIT_RUN(test_multirow_workflows);
	UNIT_RUN(test_no_permission);
	UNIT_RUN(test_unknown);
	UNIT_RUN(test_many_segments);
	UNIT_RUN(test_repos);
	UNIT_RUN(test_subjects);
	UNIT_RUN(test_matching);
	UNIT_RUN(test_normalize_then_check);
	UNIT_RUN(test_api);
	UNIT_RUN(test_timing);
	return UNIT_DONE("test_scope");
}
