/*
 * scope.c: path normalisation and the scope check (contract in scope.h).
 *
 * The table.  data/github-endpoint-permissions.tsv has one row per
 * (endpoint, permission); scripts/gen_permtab.py turns it into
 * permtab_endpoints[] and permtab_rows[].  A ghx_ token reads the rows
 * marked fine_grained_pat=yes, a gha_ token those marked
 * installation_token=yes; an endpoint with no row for the token's type is
 * refused.  data/no-permission.tsv is ghp's own policy for endpoints that
 * need no permission: "allow" passes for any scoped token, "refuse" is
 * refused with its reason, and a refusal there wins over the table.
 *
 * Several rows on one endpoint.  GitHub's source (github/github's
 * programmatic_access.yaml, which github/docs flattens into the JSON this
 * table was transcribed from) gives each endpoint a list of permission
 * sets: any one set suffices, and every permission of a set is needed.
 * The flattening keeps one row per permission and sets additional=true
 * when the endpoint has more than one set or a set of more than one
 * permission (calculateAdditionalPermissions() in github/docs
 * src/github-apps/scripts/sync.ts), and drops "metadata" from such
 * endpoints.  So the flag says "this row is not the whole story", not
 * whether the other rows are alternatives or also needed.  ghp reads it
 * the safe way, with two exceptions that scripts/gen_permtab.py names
 * (ALTERNATIVES, CONDITIONAL):
 *
 *  1. One row: that permission is needed.  When that row says
 *     additional=true, the dropped companion was metadata:read, which a
 *     token has on its repositories anyway.
 *  2. Several rows: all are needed (a conjunction).  Example (data
 *     lines 501 and 653): POST /repos/{owner}/{repo}/forks is listed
 *     under administration:write and contents:read, both
 *     additional=true; a token needs both.  Rows whose additional flags
 *     disagree (artifact_metadata beside contents for installation
 *     tokens, from two snapshots of GitHub's data) are a conjunction too.
 *  3. Exception: issues and pull_requests rows of one endpoint are
 *     alternatives.  GitHub treats every pull request as an issue and
 *     documents these endpoints as needing "at least one of" the two.
 *     Example (lines 749 and 846): POST .../issues/{issue_number}/comments
 *     is listed under issues:write and pull_requests:write, both
 *     additional=true; a token with either may comment.
 *  4. Exception: workflows beside contents is needed only to change
 *     files under .github/workflows/, which is what GitHub's second
 *     permission set ({contents, workflows}) is for.  Example (lines 645
 *     and 944): PUT /repos/{owner}/{repo}/contents/{path} needs
 *     contents:write, and workflows:write as well when {path} is under
 *     .github/workflows/.  Where ghp cannot see which files change (a
 *     ref update, a release) contents alone decides, as for a git push.
 *
 * What a permission is checked against (the generator decides from the
 * row's kind and path; see enum permtab_subject):
 *  - Any endpoint whose path names a repository ({owner}/{repo}, also
 *    {template_owner}/{template_repo} and {repo_owner}/{repo_name}) is
 *    refused unless every repository it names is one of the token's.
 *  - Repository permissions apply to that repository.  On a path that
 *    names a whole account instead (/orgs/{org}/code-scanning/alerts,
 *    /users/{username}/attestations/..., /user/codespaces) they would
 *    reach every repository of that account, so the token needs the
 *    pattern "account/\*" (for /user, the token owner's login).  With no
 *    repository or account in the path (POST /markdown) they are
 *    refused.  metadata:read is implied wherever a repository
 *    permission's subject is in scope.
 *  - Organization permissions need {org} to be the owner of one of the
 *    token's patterns.  /teams/{team_id}/... cannot be resolved to an
 *    organization and is refused.
 *  - Account permissions act on the token owner's account: /user/...,
 *    /gists/... pass with the permission; /users/{username}/... also
 *    needs {username} to be the owner's login.
 *  - Enterprise permissions are refused for scoped tokens.
 *
 * Matching.  A segment trie per method (permtab_nodes[]): at each node
 * the literal child is tried before the placeholder child, so the most
 * literal template wins (the generator checks that this agrees with
 * "more literal segments wins" wherever two templates overlap).  A
 * trailing {path}, {ref}, {basehead}, {dir}, {branch} or {tag} may span
 * several segments; that is tried last, and it is refused as ambiguous
 * when the segments it would take end like a longer template of the same
 * method: GET .../commits/a/b/status could be the status of ref "a/b" or
 * the commit "a/b/status".
 */
#include <stdio.h>
#include <string.h>

#include "scope.h"

struct seg {
	const char	*p;
	size_t		 len;
};

static const char *const level_names[] = { "none", "read", "write",
    "admin" };

static const char hexdigits[] = "0123456789ABCDEF";

static const char *const code_names[] = {
	"ok", "method", "path", "unknown", "policy", "token_type", "repo",
	"subject", "permission", "request"
};

/* strlcpy(3), which glibc lacks before 2.38. */
static void
scopy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size == 0)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Does segment s equal the NUL-terminated string t, ignoring ASCII case? */
static int
seg_caseeq(const struct seg *s, const char *t)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		if (t[i] == '\0' || ascii_lower(s->p[i]) != ascii_lower(t[i]))
			return 0;
	return t[i] == '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
is_unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* RFC 3986 pchar without '%' (escapes are handled apart), and '/'. */
static int
is_path_char(int c)
{
	if (is_unreserved(c))
		return 1;
	switch (c) {
	case '!': case '$': case '&': case '\'': case '(': case ')':
	case '*': case '+': case ',': case ';': case '=': case ':':
	case '@': case '/':
		return 1;
	default:
		return 0;
	}
}

/* A segment of a normalised path: not empty, not a dot segment. */
static const char *
seg_check(const char *p, size_t len)
{
	if (len == 0)
		return "empty path segment";
	if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' &&
	    p[1] == '.'))
		return "dot segment in path";
	return NULL;
}

int
path_normalize(const char *target, char *out, size_t outlen,
    const char **why)
{
	const char *p, *w = NULL;
	size_t o = 0, segstart = 1;
	int c, hi, lo;

	if (target == NULL || target[0] != '/')
		w = "request target is not an absolute path";
	for (p = target; w == NULL && *p != '\0' && *p != '?'; p++) {
		c = (unsigned char)*p;
		if (c == '%') {
			if ((hi = hexval((unsigned char)p[1])) == -1 ||
			    (lo = hexval((unsigned char)p[2])) == -1) {
				w = "invalid percent escape in path";
				break;
			}
			c = hi * 16 + lo;
			p += 2;
			if (c == '/' || c == '.' || c == '\\')
				w = "encoded slash, dot or backslash in path";
			else if (c < 0x20 || c == 0x7f)
				w = "encoded control character in path";
			else if (is_unreserved(c) && o + 1 < outlen)
				out[o++] = (char)c;
			else if (!is_unreserved(c) && o + 3 < outlen) {
				out[o++] = '%';
				out[o++] = hexdigits[c >> 4];
				out[o++] = hexdigits[c & 15];
			} else
				w = "path too long";
			continue;
		}
		if (c <= 0x20 || c >= 0x7f)
			w = "control character, space or non-ASCII in path";
		else if (c == '\\')
			w = "backslash in path";
		else if (!is_path_char(c))
			w = "character not allowed in a path";
		else if (c == '/' && o > 0)
			w = seg_check(out + segstart, o - segstart);
		if (w == NULL && o + 1 >= outlen)
			w = "path too long";
		if (w != NULL)
			break;
		if (c == '/')
			segstart = o + 1;
		out[o++] = (char)c;
	}
	if (w == NULL && o > 1)
		w = seg_check(out + segstart, o - segstart);
	if (w != NULL) {
		if (outlen > 0)
			out[0] = '\0';
		if (why != NULL)
			*why = w;
		return -1;
	}
	out[o] = '\0';
	if (why != NULL)
		*why = NULL;
	return 0;
}

static int
valid_login(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || !((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
	return i > 0;
}

static int
valid_repo_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > SCOPE_NAME_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

int
scope_init(struct scope *sc, enum scope_token type, const char *login)
{
	memset(sc, 0, sizeof(*sc));
	sc->type = type;
	if (login == NULL)
		return 0;
	if (!valid_login(login, SCOPE_OWNER_MAX))
		return -1;
	scopy(sc->login, login, sizeof(sc->login));
	return 0;
}

int
scope_add_repo(struct scope *sc, const char *pattern)
{
	struct scope_repo *r;
	const char *slash;
	size_t olen;

	if (sc->nrepos >= SCOPE_MAXREPOS ||
	    (slash = strchr(pattern, '/')) == NULL)
		return -1;
	olen = (size_t)(slash - pattern);
	if (olen == 0 || olen > SCOPE_OWNER_MAX)
		return -1;
	r = &sc->repos[sc->nrepos];
	memcpy(r->owner, pattern, olen);
	r->owner[olen] = '\0';
	if (!valid_login(r->owner, SCOPE_OWNER_MAX))
		return -1;
	if (strcmp(slash + 1, "*") != 0 &&
	    !valid_repo_name(slash + 1, strlen(slash + 1)))
		return -1;
	scopy(r->name, slash + 1, sizeof(r->name));
	sc->nrepos++;
	return 0;
}

int
scope_perm_index(const char *name)
{
	size_t lo = 0, hi = permtab_nperms, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, permtab_perms[mid])) == 0)
			return (int)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int
scope_set_perm(struct scope *sc, const char *name, enum scope_level level)
{
	int i;

	if ((i = scope_perm_index(name)) == -1 || level < SCOPE_NONE ||
	    level > SCOPE_ADMIN)
		return -1;
	sc->perms[i] = (uint8_t)level;
	return 0;
}

int
scope_parse_level(const char *s, enum scope_level *level)
{
	int i;

	for (i = SCOPE_NONE; i <= SCOPE_ADMIN; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*level = (enum scope_level)i;
			return 0;
		}
	return -1;
}

const char *
scope_level_name(enum scope_level level)
{
	if (level < SCOPE_NONE || level > SCOPE_ADMIN)
		return "?";
	return level_names[level];
}

const char *
scope_code_name(enum scope_code code)
{
	if (code < SCOPE_OK || code > SCOPE_E_REQUEST)
		return "?";
	return code_names[code];
}

/*
 * The matcher.
 */

/*
 * Is this segment what path_normalize() makes: no dot segment, only path
 * characters, and escapes with upper-case hex for characters it keeps?
 */
static int
seg_normalised(const char *p, size_t len)
{
	size_t i;
	int hi, lo, c;

	if (seg_check(p, len) != NULL)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] != '%') {
			if (p[i] == '/' || !is_path_char((unsigned char)p[i]))
				return 0;
			continue;
		}
		if (i + 2 >= len || (hi = hexval((unsigned char)p[i + 1])) ==
		    -1 || (lo = hexval((unsigned char)p[i + 2])) == -1 ||
		    (p[i + 1] >= 'a' && p[i + 1] <= 'f') ||
		    (p[i + 2] >= 'a' && p[i + 2] <= 'f'))
			return 0;
		c = hi * 16 + lo;
		if (c < 0x20 || c == 0x7f || c == '/' || c == '.' ||
		    c == '\\' || is_unreserved(c))
			return 0;
		i += 2;
	}
	return 1;
}

/* Split a normalised path; -1 if it is not one, -2 if too long. */
static int
split_path(const char *path, struct seg *segs)
{
	const char *p, *s;
	int n = 0;

	if (path == NULL || path[0] != '/')
		return -1;
	if (path[1] == '\0')
		return 0;
	for (p = path + 1;; p = s + 1) {
		for (s = p; *s != '\0' && *s != '/'; s++)
			continue;
		if (!seg_normalised(p, (size_t)(s - p)))
			return -1;
		if (n == SCOPE_MAXSEGS)
			return -2;
		segs[n].p = p;
		segs[n].len = (size_t)(s - p);
		n++;
		if (*s == '\0')
			break;
	}
	return n;
}

static int
seg_cmp(const struct seg *s, const struct permtab_node *n)
{
	size_t len = s->len < n->seglen ? s->len : n->seglen;
	int c;

	if ((c = memcmp(s->p, n->seg, len)) != 0)
		return c;
	return (s->len > n->seglen) - (s->len < n->seglen);
}

static int
child_find(const struct permtab_node *n, const struct seg *s)
{
	size_t lo = n->child, hi = (size_t)n->child + n->nchild, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = seg_cmp(s, &permtab_nodes[mid])) == 0)
			return (int)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * Match segs[i..nseg-1] below node; the endpoint index or -1.  Sets
 * *ambiguous when a multi-segment tail is taken that a longer template
 * could also explain.
 */
static int
trie_match(int node, const struct seg *segs, int i, int nseg,
    int *ambiguous)
{
	const struct permtab_node *n = &permtab_nodes[node];
	int c, r, k;

	if (i == nseg)
		return n->ep;
	if ((c = child_find(n, &segs[i])) != -1 &&
	    (r = trie_match(c, segs, i + 1, nseg, ambiguous)) != -1)
		return r;
	if (n->param == -1)
		return -1;
	if ((r = trie_match(n->param, segs, i + 1, nseg, ambiguous)) != -1)
		return r;
	r = permtab_nodes[n->param].ep;
	if (r == -1 || !(permtab_endpoints[r].flags & PE_MULTI) ||
	    nseg - i < 2)
		return -1;
	for (k = i + 1; k < nseg && !*ambiguous; k++)
		if (trie_match(n->param, segs, k, nseg, ambiguous) != -1)
			*ambiguous = 1;
	return r;
}

static int
method_index(const char *method)
{
	int i;

	if (method == NULL)
		return -1;
	if (strcmp(method, "HEAD") == 0)
		return PERMTAB_GET;
	for (i = 0; i < PERMTAB_NMETHODS; i++)
		if (strcmp(method, permtab_method_names[i]) == 0)
			return i;
	return -1;
}

/*
 * Results.  Reasons are built by appending, without printf: this runs on
 * every request.
 */

/* Append len bytes of src to the string in buf, truncating. */
static void
append(char *buf, size_t size, const char *src, size_t len)
{
	size_t have = strlen(buf);

	if (have + 1 >= size)
		return;
	if (len > size - have - 1)
		len = size - have - 1;
	memcpy(buf + have, src, len);
	buf[have + len] = '\0';
}

static void
add(struct scope_result *res, const char *s)
{
	append(res->reason, sizeof(res->reason), s, strlen(s));
}

static void
add_seg(struct scope_result *res, const struct seg *s)
{
	append(res->reason, sizeof(res->reason), s->p, s->len);
}

static void
set_repo(struct scope_result *res, const struct seg *owner,
    const struct seg *name)
{
	res->repo[0] = '\0';
	append(res->repo, sizeof(res->repo), owner->p, owner->len);
	append(res->repo, sizeof(res->repo), "/", 1);
	append(res->repo, sizeof(res->repo), name->p, name->len);
}

static enum scope_decision
deny(struct scope_result *res, enum scope_code code, const char *reason)
{
	res->decision = SCOPE_DENY;
	res->code = code;
	res->reason[0] = '\0';
	add(res, reason);
	return SCOPE_DENY;
}

/* Is owner/name one of the token's repositories? */
static int
repo_in_scope(const struct scope *sc, const struct seg *owner,
    const struct seg *name)
{
	size_t i;

	for (i = 0; i < sc->nrepos; i++)
		if (seg_caseeq(owner, sc->repos[i].owner) &&
		    (strcmp(sc->repos[i].name, "*") == 0 ||
		    seg_caseeq(name, sc->repos[i].name)))
			return 1;
	return 0;
}

int
scope_repo_allowed(const struct scope *sc, const char *owner, size_t olen,
    const char *name, size_t nlen)
{
	struct seg o = { owner, olen }, n = { name, nlen };

	if (olen == 0 || olen > SCOPE_OWNER_MAX || nlen == 0 ||
	    nlen > SCOPE_NAME_MAX || memchr(owner, '\0', olen) != NULL ||
	    memchr(name, '\0', nlen) != NULL)
		return 0;
	return repo_in_scope(sc, &o, &n);
}

/* Does the account own one of the token's patterns (all: "owner/\*")? */
static int
account_in_scope(const struct scope *sc, const struct seg *acct, int all)
{
	size_t i;

	for (i = 0; i < sc->nrepos; i++)
		if (seg_caseeq(acct, sc->repos[i].owner) &&
		    (!all || strcmp(sc->repos[i].name, "*") == 0))
			return 1;
	return 0;
}

struct ctx {
	const struct scope	*sc;
	const struct permtab_endpoint *ep;
	const struct seg	*segs;
	struct seg		 login;
};

/*
 * Append what a row is checked against: "acme/widgets", "organization
 * acme", "acme/\*", "account octocat", ...; nothing when the path names
 * nothing (the row is refused anyway).
 */
static void
add_subject(struct scope_result *res, const struct ctx *x,
    const struct permtab_row *r)
{
	const struct permtab_endpoint *ep = x->ep;
	const struct seg *s;

	switch (r->subject) {
	case PS_REPO:
		add(res, " on ");
		add_seg(res, &x->segs[ep->owner]);
		add(res, "/");
		add_seg(res, &x->segs[ep->repo]);
		break;
	case PS_ORG:
		add(res, " on organization ");
		add_seg(res, &x->segs[ep->org]);
		break;
	case PS_ORG_ALL:
	case PS_USER_ALL:
	case PS_SELF_ALL:
		s = r->subject == PS_ORG_ALL ? &x->segs[ep->org] :
		    r->subject == PS_USER_ALL ? &x->segs[ep->user] : &x->login;
		if (s->len == 0) {
			add(res, " on all of the token owner's repositories");
			break;
		}
		add(res, " on ");
		add_seg(res, s);
		add(res, "/*");
		break;
	case PS_USER_SELF:
		add(res, " on account ");
		add_seg(res, &x->segs[ep->user]);
		break;
	case PS_SELF:
		add(res, " on the token owner's account");
		break;
	default:
		break;
	}
}

/* Append "perm:level on subject". */
static void
add_row(struct scope_result *res, const struct ctx *x,
    const struct permtab_row *r, const char *sep)
{
	add(res, sep);
	add(res, permtab_perms[r->perm]);
	add(res, ":");
	add(res, level_names[r->access]);
	add_subject(res, x, r);
}

/* Is the row's subject covered?  NULL if so, else why not. */
static const char *
subject_check(const struct ctx *x, const struct permtab_row *r)
{
	const struct scope *sc = x->sc;
	const struct permtab_endpoint *ep = x->ep;

	switch (r->subject) {
	case PS_REPO:
	case PS_SELF:
		return NULL;
	case PS_ORG:
		if (account_in_scope(sc, &x->segs[ep->org], 0))
			return NULL;
		return "organization permissions need an organization that "
		    "owns one of the token's repositories";
	case PS_ORG_ALL:
		if (account_in_scope(sc, &x->segs[ep->org], 1))
			return NULL;
		return "this endpoint reaches every repository of the "
		    "organization, so the token needs all of them";
	case PS_USER_ALL:
		if (account_in_scope(sc, &x->segs[ep->user], 1))
			return NULL;
		return "this endpoint reaches every repository of the "
		    "account, so the token needs all of them";
	case PS_SELF_ALL:
		if (x->login.len > 0 && account_in_scope(sc, &x->login, 1))
			return NULL;
		return "this endpoint reaches every repository of the token "
		    "owner, so the token needs all of them";
	case PS_USER_SELF:
		if (x->login.len > 0 && seg_caseeq(&x->segs[ep->user],
		    sc->login))
			return NULL;
		return "account permissions apply only to the token owner's "
		    "own account";
	case PS_NO_REPO:
		return "repository permission on an endpoint that names no "
		    "repository";
	case PS_TEAM_ID:
		return "teams addressed by id cannot be resolved to an "
		    "organization; use /orgs/{org}/teams/{team_slug}";
	default:
		return "enterprise endpoints are refused for scoped tokens";
	}
}

/* Does the request change a workflow file (PUT/DELETE contents)? */
static int
touches_workflows(const struct ctx *x)
{
	static const char dir[] = ".github/workflows";
	const char *p;
	size_t i;

	if (x->ep->path < 0)
		return 0;
	p = x->segs[x->ep->path].p;
	for (i = 0; i < sizeof(dir) - 1; i++)
		if (ascii_lower((unsigned char)p[i]) != dir[i])
			return 0;
	return p[i] == '/' || p[i] == '\0';
}

/* Does the row apply to this request at all? */
static int
row_applies(const struct ctx *x, const struct permtab_row *r)
{
	uint8_t want = x->sc->type == SCOPE_TOKEN_AGENT ? PR_INST : PR_PAT;

	if (!(r->flags & want))
		return 0;
	return !(r->flags & PR_WORKFLOWS) || touches_workflows(x);
}

static enum scope_level
held_level(const struct ctx *x, const struct permtab_row *r)
{
	enum scope_level held = (enum scope_level)x->sc->perms[r->perm];

	if (held < SCOPE_READ && r->kind == PERMTAB_REPOSITORY &&
	    r->access == PERMTAB_READ &&
	    strcmp(permtab_perms[r->perm], "metadata") == 0)
		held = SCOPE_READ;
	return held;
}

static void
set_needed(struct scope_result *res, const struct permtab_row *r)
{
	res->permission = permtab_perms[r->perm];
	res->level = (enum scope_level)r->access;
}

/*
 * Check one group of alternative rows.  The granting row; or NULL with
 * the refusal in res, or NULL and *empty when no row of the group
 * applies to this request.
 */
static const struct permtab_row *
check_group(const struct ctx *x, int g, struct scope_result *res,
    int *empty)
{
	const struct permtab_row *r, *sfail = NULL;
	uint16_t i;
	int nperm = 0;

	*empty = 1;
	for (i = 0; i < x->ep->nrows; i++) {
		r = &permtab_rows[x->ep->row + i];
		if (r->group != g || !row_applies(x, r))
			continue;
		*empty = 0;
		if (subject_check(x, r) != NULL) {
			if (sfail == NULL)
				sfail = r;
			continue;
		}
		if (held_level(x, r) >= r->access)
			return r;
		nperm++;
	}
	if (*empty)
		return NULL;
	res->reason[0] = '\0';
	if (nperm == 0) {
		/* No row's subject is covered: say why for the first. */
		res->code = SCOPE_E_SUBJECT;
		set_needed(res, sfail);
		add(res, subject_check(x, sfail));
		add_row(res, x, sfail, " (needs ");
		add(res, ")");
		return NULL;
	}
	/* Name every alternative that is missing. */
	res->code = SCOPE_E_PERMISSION;
	add(res, "needs");
	nperm = 0;
	for (i = 0; i < x->ep->nrows; i++) {
		r = &permtab_rows[x->ep->row + i];
		if (r->group != g || !row_applies(x, r) ||
		    subject_check(x, r) != NULL)
			continue;
		if (nperm++ == 0)
			set_needed(res, r);
		add_row(res, x, r, nperm == 1 ? " " : " or ");
		if (r->flags & PR_WORKFLOWS)
			add(res, " (to change files under .github/workflows/)");
	}
	return NULL;
}

static enum scope_decision
check_rows(const struct ctx *x, struct scope_result *res)
{
	const struct permtab_row *r, *granted;
	uint8_t want = x->sc->type == SCOPE_TOKEN_AGENT ? PR_INST : PR_PAT;
	uint16_t i;
	int g, ngroups = 0, usable = 0, empty;

	for (i = 0; i < x->ep->nrows; i++) {
		r = &permtab_rows[x->ep->row + i];
		if (r->group + 1 > ngroups)
			ngroups = r->group + 1;
		if ((r->flags & want) && !(r->flags & PR_WORKFLOWS))
			usable = 1;
	}
	if (!usable)
		return deny(res, SCOPE_E_TOKEN_TYPE,
		    x->sc->type == SCOPE_TOKEN_AGENT ?
		    "endpoint not available to gha_ (installation) tokens" :
		    "endpoint not available to ghx_ (fine-grained) tokens");
	for (g = 0; g < ngroups; g++) {
		granted = check_group(x, g, res, &empty);
		if (empty)
			continue;
		if (granted == NULL)
			return SCOPE_DENY;
		if (res->permission == NULL)
			set_needed(res, granted);
		add_row(res, x, granted, res->reason[0] != '\0' ? " and " : "");
	}
	res->decision = SCOPE_ALLOW;
	res->code = SCOPE_OK;
	return SCOPE_ALLOW;
}

static enum scope_decision
check_unknown(const struct seg *segs, int nseg, struct scope_result *res)
{
	if (nseg > 0 && segs[0].len == 12 &&
	    memcmp(segs[0].p, "repositories", 12) == 0)
		return deny(res, SCOPE_E_UNKNOWN, "endpoint not in ghp's "
		    "permission table: repositories addressed by id cannot "
		    "be checked against the token's scope");
	return deny(res, SCOPE_E_UNKNOWN,
	    "endpoint not in ghp's permission table");
}

static enum scope_decision
check_graphql(const struct scope *sc, int m, struct scope_result *res)
{
	res->template = "/graphql";
	if (m != PERMTAB_POST)
		return deny(res, SCOPE_E_METHOD, "GraphQL takes POST only");
	if (sc->type != SCOPE_TOKEN_AGENT)
		return deny(res, SCOPE_E_POLICY, "GraphQL for ghx_ tokens "
		    "is decided on the request body (gql_check)");
	res->decision = SCOPE_ALLOW;
	res->code = SCOPE_OK;
	add(res, "GraphQL: GitHub enforces the down-scoped installation "
	    "token");
	return SCOPE_ALLOW;
}

/* Every repository the path names must be one of the token's. */
static enum scope_decision
check_repos(const struct scope *sc, const struct permtab_endpoint *ep,
    const struct seg *segs, struct scope_result *res)
{
	const struct seg *owner = NULL, *name = NULL;

	if (ep->owner >= 0 &&
	    !repo_in_scope(sc, &segs[ep->owner], &segs[ep->repo])) {
		owner = &segs[ep->owner];
		name = &segs[ep->repo];
	} else if (ep->owner2 >= 0 &&
	    !repo_in_scope(sc, &segs[ep->owner2], &segs[ep->repo2])) {
		owner = &segs[ep->owner2];
		name = &segs[ep->repo2];
	}
	if (owner == NULL)
		return SCOPE_ALLOW;
	set_repo(res, owner, name);
	deny(res, SCOPE_E_REPO, "repository ");
	add(res, res->repo);
	add(res, " is outside this token's scope");
	return SCOPE_DENY;
}

enum scope_decision
scope_check(const struct scope *sc, const char *method, const char *path,
    struct scope_result *res)
{
	struct seg segs[SCOPE_MAXSEGS];
	struct ctx x;
	const struct permtab_endpoint *ep;
	int m, nseg, e, ambiguous = 0;

	res->decision = SCOPE_DENY;
	res->code = SCOPE_OK;
	res->template = NULL;
	res->repo[0] = '\0';
	res->permission = NULL;
	res->level = SCOPE_NONE;
	res->reason[0] = '\0';
	segs[0].p = "";
	segs[0].len = 0;
	if ((m = method_index(method)) == -1)
		return deny(res, SCOPE_E_METHOD, "method not supported");
	if ((nseg = split_path(path, segs)) < 0)
		return deny(res, SCOPE_E_PATH, nseg == -2 ?
		    "path has too many segments" : "path is not normalised");
	if (nseg == 1 && segs[0].len == 7 &&
	    memcmp(segs[0].p, "graphql", 7) == 0)
		return check_graphql(sc, m, res);
	if ((e = trie_match(permtab_roots[m], segs, 0, nseg,
	    &ambiguous)) == -1)
		return check_unknown(segs, nseg, res);
	ep = &permtab_endpoints[e];
	res->template = ep->template;
	if (ep->owner >= 0)
		set_repo(res, &segs[ep->owner], &segs[ep->repo]);
	if (ambiguous)
		return deny(res, SCOPE_E_POLICY, "ambiguous path: the last "
		    "parameter would span segments that end like another "
		    "endpoint");
	if (ep->flags & PE_REFUSE) {
		deny(res, SCOPE_E_POLICY, "refused for scoped tokens: ");
		add(res, ep->reason);
		return SCOPE_DENY;
	}
	if (ep->flags & PE_ALLOW) {
		res->decision = SCOPE_ALLOW;
		add(res, ep->reason);
		return SCOPE_ALLOW;
	}
	if (check_repos(sc, ep, segs, res) == SCOPE_DENY)
		return SCOPE_DENY;
	x.sc = sc;
	x.ep = ep;
	x.segs = segs;
	x.login.p = sc->login;
	x.login.len = strlen(sc->login);
	return check_rows(&x, res);
}
