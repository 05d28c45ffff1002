/*
 * config_web.c: the statements about GitHub's hosts other than the API.
 *
 *	releases pass
 *	releases block [allow { "owner/repo" "owner/\*" ... }]
 *	releases redirect to URL [check [netrc FILE]] [allow { ... }]
 *	codeload (the same three forms)
 *	block anonymous git
 *	enterprise SLUG
 *	proxy policy strict|permissive
 *	proxy allow { "host" "*.domain" "192.0.2.1" ... }
 *	proxy tunnel timeout SECONDS
 *
 * Each is given at most once.  A netrc file's credentials are only ever
 * sent over https, so "netrc" with an http:// URL is an error.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_priv.h"
#include "web.h"

#define POLICY_OWNER_MAX	39
#define POLICY_NAME_MAX		100

static int
owner_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_');
}

/* "owner/repo" or "owner/\*", in GitHub's characters. */
static int
allow_entry_ok(const char *s)
{
	const char	*slash = strchr(s, '/'), *q;

	if (slash == NULL || slash == s || slash - s > POLICY_OWNER_MAX)
		return (0);
	for (q = s; q < slash; q++)
		if (!owner_char((unsigned char)*q))
			return (0);
	if (strcmp(slash + 1, "*") == 0)
		return (1);
	if (slash[1] == '\0' || strlen(slash + 1) > POLICY_NAME_MAX ||
	    strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0)
		return (0);
	for (q = slash + 1; *q != '\0'; q++)
		if (!owner_char((unsigned char)*q) && *q != '.')
			return (0);
	return (1);
}

struct allow_state {
	struct policy_conf	*pc;
	const char		*ctx;
	int			 n;
};

static void
allow_item(struct parse *p, const struct token *t, void *arg)
{
	struct allow_state	*st = arg;

	st->n++;
	if (!allow_entry_ok(t->str))
		conf_perr(p, t, "%s allow: \"%s\" is not \"owner/repo\" or "
		    "\"owner/*\"", st->ctx, t->str);
	else
		(void)conf_add_string(p, &st->pc->allow, t->str);
}

static int
parse_allow_list(struct parse *p, const struct token *kt,
    struct policy_conf *pc, const char *ctx)
{
	struct allow_state	st;
	struct token		t;

	lex_next(p->lx, &t);
	if (t.type != T_LBRACE) {
		conf_expected(p, &t, ctx, "'{'");
		return (-1);
	}
	st.pc = pc;
	st.ctx = ctx;
	st.n = 0;
	if (conf_parse_block_body(p, kt, ctx, allow_item, &st) == -1)
		return (-1);
	if (st.n == 0)
		conf_perr(p, kt, "%s allow: no repository given", ctx);
	return (0);
}

/* "to URL [check [netrc FILE]]" after "redirect". */
static int
parse_redirect(struct parse *p, struct policy_conf *pc, const char *ctx)
{
	struct token	t;
	const char	*why;

	if (conf_expect_kw(p, K_TO, ctx) == -1 ||
	    conf_get_value(p, &t, ctx, "a URL") == -1)
		return (-1);
	if ((why = conf_url_problem(t.str)) != NULL)
		conf_perr(p, &t, "%s redirect to: bad URL \"%s\": %s", ctx,
		    t.str, why);
	else if ((pc->url = conf_pstrdup(p, t.str)) != NULL) {
		while (strlen(pc->url) > 8 &&
		    pc->url[strlen(pc->url) - 1] == '/')
			pc->url[strlen(pc->url) - 1] = '\0';
	}
	lex_next(p->lx, &t);
	if (t.type != T_WORD || t.kw != K_CHECK) {
		lex_unget(p->lx, &t);
		return (0);
	}
	pc->check = 1;
	lex_next(p->lx, &t);
	if (t.type != T_WORD || t.kw != K_NETRC) {
		lex_unget(p->lx, &t);
		return (0);
	}
	if (conf_get_value(p, &t, ctx, "a netrc file") == -1)
		return (-1);
	if (conf_check_path(p, &t, "netrc") == 0)
		pc->netrc = conf_pstrdup(p, t.str);
	if (pc->url != NULL && strncmp(pc->url, "https://", 8) != 0)
		conf_perr(p, &t, "%s: netrc credentials are sent over https "
		    "only, and the redirect URL is not https", ctx);
	return (0);
}

/* releases|codeload pass|block|redirect ... [allow { ... }] */
void
conf_parse_policy(struct parse *p, const struct token *kt)
{
	struct policy_conf	*pc;
	struct where		*at;
	struct token		 t;
	const char		*ctx;
	char			 w[256];

	ctx = kt->kw == K_RELEASES ? "releases" : "codeload";
	pc = kt->kw == K_RELEASES ? &p->conf->releases : &p->conf->codeload;
	at = &p->policy[kt->kw == K_RELEASES ? 0 : 1];
	if (at->file != NULL) {
		conf_perr(p, kt, "%s already set at %s", ctx,
		    conf_where(at, kt, w, sizeof(w)));
		conf_skip(p, 0);
		return;
	}
	at->file = kt->file;
	at->line = kt->line;
	lex_next(p->lx, &t);
	if (t.type == T_WORD && t.kw == K_PASS) {
		pc->mode = POLICY_PASS;
		conf_end_statement(p, ctx);
		return;
	}
	if (t.type == T_WORD && t.kw == K_BLOCK)
		pc->mode = POLICY_BLOCK;
	else if (t.type == T_WORD && t.kw == K_REDIRECT) {
		pc->mode = POLICY_REDIRECT;
		if (parse_redirect(p, pc, ctx) == -1)
			return;
	} else {
		conf_expected(p, &t, ctx, "\"pass\", \"block\" or "
		    "\"redirect\"");
		return;
	}
	lex_next(p->lx, &t);
	if (t.type == T_WORD && t.kw == K_ALLOW) {
		if (parse_allow_list(p, kt, pc, ctx) == -1)
			return;
	} else
		lex_unget(p->lx, &t);
	conf_end_statement(p, ctx);
}

static int
slug_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!owner_char((unsigned char)s[i]) && s[i] != '.')
			return (0);
	return (i > 0 && i <= 100);
}

/* enterprise SLUG */
void
conf_parse_enterprise(struct parse *p, const struct token *kt)
{
	struct token	t;

	if (conf_get_value(p, &t, "enterprise", "an enterprise slug") == -1)
		return;
	if (p->enterprise.file == NULL && !slug_ok(t.str))
		conf_perr(p, &t, "enterprise: \"%s\" is not an enterprise "
		    "slug (letters, digits, '-', '_', '.')", t.str);
	else if (conf_set_once(p, kt, &p->enterprise, "enterprise") == 0)
		p->conf->enterprise = conf_pstrdup(p, t.str);
	conf_end_statement(p, "enterprise");
}

/* block anonymous git ("block anonymous" read already) */
void
conf_parse_block_anonymous(struct parse *p, const struct token *kt)
{
	if (conf_expect_kw(p, K_GIT, "block anonymous") == -1)
		return;
	conf_end_statement(p, "block anonymous git");
	if (conf_set_once(p, kt, &p->anonymous_git, "block anonymous git") ==
	    0)
		p->conf->block_anonymous_git = 1;
}

/* A host, "*.domain" (its subdomains) or an IP address. */
static int
proxy_pattern_ok(const char *s)
{
	if (s[0] == '*' && s[1] == '.')
		return (web_host_ok(s + 2));
	return (web_host_or_address(s));
}

static void
proxy_allow_item(struct parse *p, const struct token *t, void *arg)
{
	int			*n = arg;

	(*n)++;
	if (!proxy_pattern_ok(t->str))
		conf_perr(p, t, "proxy allow: \"%s\" is not a host name in "
		    "lower case, \"*.domain\" or an IP address", t->str);
	else
		(void)conf_add_string(p, &p->conf->proxy_allow, t->str);
}

static void
parse_proxy_policy(struct parse *p, const struct token *kt)
{
	struct token	t;

	lex_next(p->lx, &t);
	if (t.type != T_WORD || (t.kw != K_STRICT && t.kw != K_PERMISSIVE)) {
		conf_expected(p, &t, "proxy policy", "\"strict\" or "
		    "\"permissive\"");
		return;
	}
	if (conf_set_once(p, kt, &p->proxy_policy, "proxy policy") == 0)
		p->conf->proxy_permissive = t.kw == K_PERMISSIVE;
	conf_end_statement(p, "proxy policy");
}

static void
parse_proxy_timeout(struct parse *p, const struct token *kt)
{
	struct token	t;
	uint64_t	n;

	if (conf_expect_kw(p, K_TIMEOUT, "proxy tunnel") == -1 ||
	    conf_get_value(p, &t, "proxy tunnel timeout", "a number") == -1)
		return;
	if (conf_get_number(p, &t, "proxy tunnel timeout", 1, 86400, &n) ==
	    0 && conf_set_once(p, kt, &p->tunnel_timeout,
	    "proxy tunnel timeout") == 0)
		p->conf->timeout_tunnel = (int)n;
	conf_end_statement(p, "proxy tunnel timeout");
}

/* proxy policy ..., proxy allow { ... }, proxy tunnel timeout N */
void
conf_parse_proxy(struct parse *p, const struct token *kt)
{
	struct token	t;
	int		n = 0;

	lex_next(p->lx, &t);
	if (t.type == T_WORD && t.kw == K_POLICY) {
		parse_proxy_policy(p, kt);
		return;
	}
	if (t.type == T_WORD && t.kw == K_TUNNEL) {
		parse_proxy_timeout(p, kt);
		return;
	}
	if (t.type != T_WORD || t.kw != K_ALLOW) {
		conf_expected(p, &t, "proxy", "\"policy\", \"allow\" or "
		    "\"tunnel\"");
		return;
	}
	lex_next(p->lx, &t);
	if (t.type != T_LBRACE) {
		conf_expected(p, &t, "proxy allow", "'{'");
		return;
	}
	if (conf_parse_block_body(p, kt, "proxy allow", proxy_allow_item,
	    &n) == -1)
		return;
	if (n == 0)
		conf_perr(p, kt, "proxy allow: no host given");
	conf_end_statement(p, "proxy allow");
}

void
conf_policy_free(struct policy_conf *pc)
{
	struct string_entry	*s;

	while ((s = TAILQ_FIRST(&pc->allow)) != NULL) {
		TAILQ_REMOVE(&pc->allow, s, entry);
		free(s->value);
		free(s);
	}
	free(pc->url);
	free(pc->netrc);
}

static void
print_policy(FILE *fp, const char *name, const struct policy_conf *pc)
{

	if (pc->mode == POLICY_PASS && TAILQ_EMPTY(&pc->allow))
		return;
	fprintf(fp, "%s %s", name, pc->mode == POLICY_PASS ? "pass" :
	    pc->mode == POLICY_BLOCK ? "block" : "redirect to ");
	if (pc->mode == POLICY_REDIRECT) {
		conf_print_quoted(fp, pc->url != NULL ? pc->url : "");
		if (pc->check)
			fputs(" check", fp);
		if (pc->netrc != NULL) {
			fputs(" netrc ", fp);
			conf_print_quoted(fp, pc->netrc);
		}
	}
	if (!TAILQ_EMPTY(&pc->allow) && pc->mode != POLICY_PASS) {
		fputs(" allow", fp);
		conf_print_list(fp, &pc->allow);
	}
	fputc('\n', fp);
}

void
conf_print_web(FILE *fp, const struct config *c)
{

	if (c->block_anonymous_git)
		fputs("block anonymous git\n", fp);
	if (c->enterprise != NULL) {
		fputs("enterprise ", fp);
		conf_print_quoted(fp, c->enterprise);
		fputc('\n', fp);
	}
	print_policy(fp, "releases", &c->releases);
	print_policy(fp, "codeload", &c->codeload);
	fprintf(fp, "proxy policy %s\nproxy tunnel timeout %d\n",
	    c->proxy_permissive ? "permissive" : "strict", c->timeout_tunnel);
	if (!TAILQ_EMPTY(&c->proxy_allow)) {
		fputs("proxy allow", fp);
		conf_print_list(fp, &c->proxy_allow);
		fputc('\n', fp);
	}
	conf_print_intercepts(fp, c);
}
