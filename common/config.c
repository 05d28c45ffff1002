/*
 * config.c: ghp.conf(5), parsed by recursive descent into struct config.
 * Here: a parse from start to finish (config_load(),
 * config_parse_buffer(), config_free()), and the errors and the recovery
 * after one that every statement uses.  The statements are in
 * config_parse.c, the checks of values and the defaults in
 * config_check.c, printing in config_print.c, the lexer, macros and
 * includes in config_lex.c and config_file.c; config_priv.h holds what
 * they share.
 *
 * Why not yacc, as OpenBSD's parse.y files are?  Those keep the parser's
 * state in globals (the file stack, the symbol table, the config being
 * built), which is fine for a daemon that parses once in one process but
 * not for ghp: the master parses again on every reload while the old
 * config still serves, the unit tests parse hundreds of files in one
 * process and the fuzzer millions of buffers.  Here all state lives in
 * one struct parse handed down the calls, so a parse is reentrant and
 * leaves nothing behind.  A hand-written parser also makes error
 * recovery explicit: after an error the statement (or the whole block)
 * is skipped and parsing goes on, so every error is reported with its
 * file and line in one run, and there is no generated code to audit or
 * to keep in step with a yacc version.  The grammar is small, line
 * oriented and LL(1), which is what recursive descent handles best.
 *
 * The only state outside a parse is the -D list (config_file.c) and the
 * error callback (config_lex.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_priv.h"

/*
 * Errors and recovery.
 */

void
conf_perr(struct parse *p, const struct token *t, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	lex_verror(p->lx, t->file, t->line, fmt, ap);
	va_end(ap);
}

/*
 * Skip to the end of the statement, over any block it opens (depth 1:
 * just after a '{').  In a block, a '}' that closes it is left for the
 * block's parser.
 */
void
conf_skip(struct parse *p, int depth)
{
	struct token	t;

	p->lx->quiet++;
	for (;;) {
		lex_next(p->lx, &t);
		if (t.type == T_EOF || (t.type == T_NEWLINE && depth == 0))
			break;
		if (t.type == T_LBRACE)
			depth++;
		else if (t.type == T_RBRACE && depth > 0)
			depth--;
		else if (t.type == T_RBRACE && p->in_block) {
			lex_unget(p->lx, &t);
			break;
		}
	}
	p->lx->quiet--;
}

/* Recover after t, a token that did not fit. */
void
conf_bad(struct parse *p, const struct token *t)
{
	switch (t->type) {
	case T_NEWLINE:
	case T_EOF:
		return;			/* the statement is over */
	case T_RBRACE:
		if (p->in_block) {
			lex_unget(p->lx, t);
			return;
		}
		conf_skip(p, 0);
		return;
	case T_LBRACE:
		conf_skip(p, 1);
		return;
	default:
		conf_skip(p, 0);
		return;
	}
}

void
conf_expected(struct parse *p, const struct token *t, const char *ctx,
    const char *what)
{
	char	d[80];

	if (t->type != T_ERROR)		/* else the lexer said why */
		conf_perr(p, t, "%s: expected %s, got %s", ctx, what,
		    lex_describe(t, d, sizeof(d)));
	conf_bad(p, t);
}

int
conf_expect_kw(struct parse *p, enum keyword kw, const char *ctx)
{
	struct token	t;
	char		what[32];

	lex_next(p->lx, &t);
	if (t.type == T_WORD && t.kw == kw)
		return (0);
	snprintf(what, sizeof(what), "\"%s\"", lex_keyword_name(kw));
	conf_expected(p, &t, ctx, what);
	return (-1);
}

/* A word or a quoted string; -1 (reported, skipped) if not. */
int
conf_get_value(struct parse *p, struct token *t, const char *ctx,
    const char *what)
{
	lex_next(p->lx, t);
	if (t->type == T_WORD || t->type == T_STRING)
		return (0);
	conf_expected(p, t, ctx, what);
	return (-1);
}

void
conf_end_statement(struct parse *p, const char *ctx)
{
	struct token	t;

	lex_next(p->lx, &t);
	if (t.type != T_NEWLINE && t.type != T_EOF)
		conf_expected(p, &t, ctx, "end of line");
}

char *
conf_pstrdup(struct parse *p, const char *s)
{
	char	*d;

	if ((d = strdup(s)) == NULL)
		lex_oom(p->lx);
	return (d);
}

/*
 * Whole configs.
 */

static struct parse *
parse_new(const char *name, int allow_include)
{
	struct parse	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->lx = lex_new()) == NULL ||
	    (p->conf = calloc(1, sizeof(*p->conf))) == NULL ||
	    (p->conf->path = strdup(name)) == NULL) {
		if (p != NULL) {
			lex_free(p->lx);
			free(p->conf);
			free(p);
		}
		return (NULL);
	}
	TAILQ_INIT(&p->conf->listeners);
	TAILQ_INIT(&p->conf->apps);
	TAILQ_INIT(&p->conf->block_tokens);
	TAILQ_INIT(&p->conf->releases.allow);
	TAILQ_INIT(&p->conf->codeload.allow);
	TAILQ_INIT(&p->conf->proxy_allow);
	TAILQ_INIT(&p->conf->intercepts);
	TAILQ_INIT(&p->seen);
	p->allow_include = allow_include;
	return (p);
}

/* Check what needs the whole file, fill in defaults, clean up. */
static struct config *
parse_finish(struct parse *p)
{
	struct config	*c = p->conf;
	struct seen	*s;

	conf_check_whole(p);
	if (p->lx->errors != 0) {
		config_free(c);
		c = NULL;
	}
	while ((s = TAILQ_FIRST(&p->seen)) != NULL) {
		TAILQ_REMOVE(&p->seen, s, entry);
		free(s);
	}
	lex_free(p->lx);
	free(p);
	return (c);
}

struct config *
config_load(const char *path)
{
	struct parse	*p;

	if ((p = parse_new(path, 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		return (NULL);
	}
	if (lex_push_file(p->lx, path, NULL) == 0)
		conf_parse_file(p);
	return (parse_finish(p));
}

struct config *
config_parse_buffer(const char *name, const char *buf, size_t len,
    int allow_include)
{
	struct parse	*p;

	if (name == NULL)
		name = "(buffer)";
	if ((p = parse_new(name, allow_include)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", name);
		return (NULL);
	}
	if (lex_push_buffer(p->lx, name, buf, len) == 0)
		conf_parse_file(p);
	return (parse_finish(p));
}

void
conf_listen_free(struct listen_conf *l)
{
	if (l == NULL)
		return;
	free(l->addr);
	free(l->tls_cert);
	free(l->tls_key);
	free(l);
}

void
conf_app_free(struct app_conf *a)
{
	struct app_installation	*i;

	if (a == NULL)
		return;
	while ((i = TAILQ_FIRST(&a->installations)) != NULL) {
		TAILQ_REMOVE(&a->installations, i, entry);
		free(i->owner);
		free(i);
	}
	free(a->name);
	free(a->private_key);
	free(a);
}

void
config_free(struct config *c)
{
	struct listen_conf	*l;
	struct app_conf		*a;
	struct string_entry	*s;
	int			 i;

	if (c == NULL)
		return;
	while ((l = TAILQ_FIRST(&c->listeners)) != NULL) {
		TAILQ_REMOVE(&c->listeners, l, entry);
		conf_listen_free(l);
	}
	while ((a = TAILQ_FIRST(&c->apps)) != NULL) {
		TAILQ_REMOVE(&c->apps, a, entry);
		conf_app_free(a);
	}
	while ((s = TAILQ_FIRST(&c->block_tokens)) != NULL) {
		TAILQ_REMOVE(&c->block_tokens, s, entry);
		free(s->value);
		free(s);
	}
	for (i = 0; i < UPSTREAM_MAX; i++)
		free(c->upstream[i]);
	free(c->upstream_ca);
	free(c->enterprise);
	conf_policy_free(&c->releases);
	conf_policy_free(&c->codeload);
	conf_intercepts_free(&c->intercepts);
	while ((s = TAILQ_FIRST(&c->proxy_allow)) != NULL) {
		TAILQ_REMOVE(&c->proxy_allow, s, entry);
		free(s->value);
		free(s);
	}
	free(c->path);
	free(c->user);
	free(c->keyholder_user);
	free(c->chroot);
	free(c->state_dir);
	free(c->control_socket);
	free(c->log_audit);
	free(c->log_access);
	free(c->metrics_addr);
	free(c);
}

static int
config_str_equal(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

static int
config_app_equal(const struct app_conf *a, const struct app_conf *b)
{
	const struct app_installation *x, *y;

	if (a->id != b->id || strcmp(a->name, b->name) != 0 ||
	    strcmp(a->private_key, b->private_key) != 0)
		return 0;
	for (x = TAILQ_FIRST(&a->installations),
	    y = TAILQ_FIRST(&b->installations); x != NULL && y != NULL;
	    x = TAILQ_NEXT(x, entry), y = TAILQ_NEXT(y, entry))
		if (x->id != y->id || !config_str_equal(x->owner, y->owner))
			return 0;
	return x == NULL && y == NULL;
}

int
config_apps_equal(const struct config *a, const struct config *b)
{
	const struct app_conf *x, *y;

	for (x = TAILQ_FIRST(&a->apps), y = TAILQ_FIRST(&b->apps);
	    x != NULL && y != NULL;
	    x = TAILQ_NEXT(x, entry), y = TAILQ_NEXT(y, entry))
		if (!config_app_equal(x, y))
			return 0;
	return x == NULL && y == NULL;
}

int
conf_add_string(struct parse *p, struct string_list *l, const char *v)
{
	struct string_entry	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->value = conf_pstrdup(p, v)) == NULL) {
		free(s);
		lex_oom(p->lx);
		return (-1);
	}
	TAILQ_INSERT_TAIL(l, s, entry);
	return (0);
}

int
conf_set_once(struct parse *p, const struct token *kt, struct where *at,
    const char *what)
{
	char	w[256];

	if (at->file != NULL) {
		conf_perr(p, kt, "%s already set at %s", what,
		    conf_where(at, kt, w, sizeof(w)));
		return (-1);
	}
	at->file = kt->file;
	at->line = kt->line;
	return (0);
}
