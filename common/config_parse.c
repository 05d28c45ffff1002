/*
 * config_parse.c: the statements of ghp.conf(5), by recursive descent.
 *
 * Each statement has its function, called with the keyword that starts
 * it: it reads the rest of the line (and the block, if the statement has
 * one), checks the values (config_check.c) and stores them in the struct
 * config being built.  On a token that does not fit it reports the error
 * and recovers (conf_expected(), conf_bad() in config.c), so that the
 * next statement is read as if the bad one had not been there.
 */
#include <sys/types.h>

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_priv.h"

#define CONFIG_MAX_SHUTDOWN	3600
#define CONFIG_MAX_TIMEOUT	3600

enum vtype {
	V_NAME,
	V_PATH,
	V_URL,
	V_NUMBER
};

/* Statements of the form "keyword [keyword] value", given at most once. */
static const struct scalar {
	enum keyword	 kw;
	enum keyword	 kw2;		/* K_NONE: one keyword */
	const char	*name;
	enum vtype	 type;
	size_t		 off;		/* char * or int in struct config */
	int		 max;		/* V_NUMBER: 1..max */
} scalars[] = {
	{ K_USER, K_NONE, "user", V_NAME,
	    offsetof(struct config, user), 0 },
	{ K_KEYHOLDER, K_USER, "keyholder user", V_NAME,
	    offsetof(struct config, keyholder_user), 0 },
	{ K_CHROOT, K_NONE, "chroot", V_PATH,
	    offsetof(struct config, chroot), 0 },
	{ K_WORKERS, K_NONE, "workers", V_NUMBER,
	    offsetof(struct config, workers), CONFIG_MAX_WORKERS },
	{ K_STATE, K_DIRECTORY, "state directory", V_PATH,
	    offsetof(struct config, state_dir), 0 },
	{ K_CONTROL, K_SOCKET, "control socket", V_PATH,
	    offsetof(struct config, control_socket), 0 },
	{ K_SHUTDOWN, K_TIMEOUT, "shutdown timeout", V_NUMBER,
	    offsetof(struct config, shutdown_timeout), CONFIG_MAX_SHUTDOWN },
	{ K_HEADER, K_TIMEOUT, "header timeout", V_NUMBER,
	    offsetof(struct config, timeout_header), CONFIG_MAX_TIMEOUT },
	{ K_IDLE, K_TIMEOUT, "idle timeout", V_NUMBER,
	    offsetof(struct config, timeout_idle), CONFIG_MAX_TIMEOUT },
	{ K_BODY, K_TIMEOUT, "body timeout", V_NUMBER,
	    offsetof(struct config, timeout_body), CONFIG_MAX_TIMEOUT },
	{ K_SEND, K_TIMEOUT, "send timeout", V_NUMBER,
	    offsetof(struct config, timeout_send), CONFIG_MAX_TIMEOUT },
	{ K_UPSTREAM, K_API, "upstream api", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_API]), 0 },
	{ K_UPSTREAM, K_WEB, "upstream web", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_WEB]), 0 },
	{ K_UPSTREAM, K_CODELOAD, "upstream codeload", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_CODELOAD]), 0 },
	{ K_UPSTREAM, K_COPILOT, "upstream copilot", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_COPILOT]), 0 },
	{ K_UPSTREAM, K_RAW, "upstream raw", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_RAW]), 0 },
	{ K_UPSTREAM, K_CA, "upstream ca", V_PATH,
	    offsetof(struct config, upstream_ca), 0 },
	{ K_UPSTREAM, K_TIMEOUT, "upstream timeout", V_NUMBER,
	    offsetof(struct config, timeout_upstream), CONFIG_MAX_TIMEOUT },
	{ K_LOG, K_AUDIT, "log audit", V_PATH,
	    offsetof(struct config, log_audit), 0 },
	{ K_LOG, K_ACCESS, "log access", V_PATH,
	    offsetof(struct config, log_access), 0 }
};
#define NSCALARS	(sizeof(scalars) / sizeof(scalars[0]))
_Static_assert(NSCALARS == CONF_NSCALARS, "CONF_NSCALARS is wrong");

/*
 * Statements.
 */

/*
 * "ADDR port N", for "listen on" and "metrics listen on".  -1: syntax
 * error (skipped); 1: read, but invalid (reported); 0: fine.
 */
static int
get_addr_port(struct parse *p, const char *ctx, char **addr,
    uint16_t *port, char *key, size_t keylen)
{
	struct token	t;
	uint64_t	n;
	char		canon[INET6_ADDRSTRLEN];
	int		r = 0;

	if (conf_get_value(p, &t, ctx, "an address") == -1)
		return (-1);
	if (conf_addr_key(t.str, canon, sizeof(canon)) == -1) {
		conf_perr(p, &t, "%s: invalid address \"%s\"", ctx, t.str);
		r = 1;
	}
	if ((*addr = conf_pstrdup(p, t.str)) == NULL)
		return (-1);
	if (conf_expect_kw(p, K_PORT, ctx) == -1 ||
	    conf_get_value(p, &t, ctx, "a port number") == -1)
		return (-1);
	if (conf_get_number(p, &t, "port", 1, 65535, &n) == -1)
		r = 1;
	else
		*port = (uint16_t)n;
	if (r == 0)
		snprintf(key, keylen, "L%s %u", canon, *port);
	return (r);
}

/* After "log audit FILE": [unwritable refuse|serve].  -1: syntax error. */
static int
parse_audit_unwritable(struct parse *p)
{
	struct token	t;

	lex_next(p->lx, &t);
	if (t.type != T_WORD || t.kw != K_UNWRITABLE) {
		lex_unget(p->lx, &t);
		return (0);
	}
	lex_next(p->lx, &t);
	if (t.type == T_WORD && (t.kw == K_REFUSE || t.kw == K_SERVE)) {
		p->conf->audit_serve = t.kw == K_SERVE;
		return (0);
	}
	conf_expected(p, &t, "log audit: unwritable", "\"refuse\" or "
	    "\"serve\"");
	return (-1);
}

static void
parse_scalar_value(struct parse *p, const struct scalar *sc, size_t i,
    const struct token *at)
{
	struct token	 t;
	char		*v = NULL, **field, w[256];
	uint64_t	 n = 0;
	int		 ok;

	if (conf_get_value(p, &t, sc->name, sc->type == V_NUMBER ? "a number" :
	    sc->type == V_URL ? "a URL" : sc->type == V_PATH ? "a path" :
	    "a name") == -1)
		return;
	switch (sc->type) {
	case V_NUMBER:
		ok = conf_get_number(p, &t, sc->name, 1, sc->max, &n) == 0;
		break;
	case V_PATH:
		ok = conf_check_path(p, &t, sc->name) == 0;
		break;
	case V_URL:
		if ((ok = conf_url_problem(t.str) == NULL) == 0)
			conf_perr(p, &t, "%s: bad URL \"%s\": %s", sc->name,
			    t.str, conf_url_problem(t.str));
		break;
	default:
		if ((ok = t.str[0] != '\0') == 0)
			conf_perr(p, &t, "%s: empty name", sc->name);
		break;
	}
	if (sc->off == offsetof(struct config, log_audit) &&
	    parse_audit_unwritable(p) == -1)
		return;
	if (ok && p->set[i].file != NULL) {
		conf_perr(p, at, "%s already set at %s", sc->name,
		    conf_where(&p->set[i], at, w, sizeof(w)));
	} else if (ok && sc->type == V_NUMBER) {
		*(int *)(void *)((char *)p->conf + sc->off) = (int)n;
		p->set[i].file = at->file;
		p->set[i].line = at->line;
	} else if (ok && (v = conf_pstrdup(p, t.str)) != NULL) {
		field = (char **)(void *)((char *)p->conf + sc->off);
		*field = v;
		p->set[i].file = at->file;
		p->set[i].line = at->line;
	}
	conf_end_statement(p, sc->name);
}

/* user, chroot, workers, state directory, upstream, log, ... */
static void
parse_scalar(struct parse *p, const struct token *kt)
{
	struct token	t;
	char		alts[128];
	size_t		i, n = 0;

	for (i = 0; i < NSCALARS; i++)
		if (scalars[i].kw == kt->kw && scalars[i].kw2 == K_NONE) {
			parse_scalar_value(p, &scalars[i], i, kt);
			return;
		}
	lex_next(p->lx, &t);
	for (i = 0; i < NSCALARS; i++)
		if (scalars[i].kw == kt->kw && t.type == T_WORD &&
		    scalars[i].kw2 == t.kw) {
			parse_scalar_value(p, &scalars[i], i, kt);
			return;
		}
	/* Say which words may follow: "audit" or "access". */
	alts[0] = '\0';
	for (i = 0; i < NSCALARS; i++)
		if (scalars[i].kw == kt->kw)
			n++;
	for (i = 0; i < NSCALARS; i++) {
		if (scalars[i].kw != kt->kw)
			continue;
		snprintf(alts + strlen(alts), sizeof(alts) - strlen(alts),
		    "%s\"%s\"", alts[0] == '\0' ? "" : n == 1 ? " or " : ", ",
		    lex_keyword_name(scalars[i].kw2));
		n--;
	}
	conf_expected(p, &t, lex_keyword_name(kt->kw), alts);
}

/* "tls certificate FILE key FILE" after "listen on ... port N". */
static int
parse_listen_tls(struct parse *p, struct listen_conf *l)
{
	struct token	t;
	const char	*ctx = "listen on: tls";

	if (conf_expect_kw(p, K_CERTIFICATE, ctx) == -1 ||
	    conf_get_value(p, &t, ctx, "a certificate file") == -1)
		return (-1);
	conf_check_path(p, &t, "tls certificate");
	free(l->tls_cert);
	if ((l->tls_cert = conf_pstrdup(p, t.str)) == NULL)
		return (-1);
	if (conf_expect_kw(p, K_KEY, ctx) == -1 ||
	    conf_get_value(p, &t, ctx, "a key file") == -1)
		return (-1);
	conf_check_path(p, &t, "tls key");
	free(l->tls_key);
	if ((l->tls_key = conf_pstrdup(p, t.str)) == NULL)
		return (-1);
	return (0);
}

/* listen on ADDR port N [tls certificate FILE key FILE] [proxy] */
static void
parse_listen(struct parse *p, const struct token *kt)
{
	struct listen_conf	*l;
	struct token		 t;
	char			 key[INET6_ADDRSTRLEN + 16];
	int			 r;

	p->nlisten++;
	if (conf_expect_kw(p, K_ON, "listen") == -1)
		return;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		lex_oom(p->lx);
		return;
	}
	l->line = kt->line;
	if ((r = get_addr_port(p, "listen on", &l->addr, &l->port, key,
	    sizeof(key))) == -1)
		goto fail;
	for (;;) {
		lex_next(p->lx, &t);
		if (t.type == T_WORD && t.kw == K_TLS) {
			if (l->tls) {
				conf_perr(p, &t, "listen on: tls given twice");
				r = 1;
			}
			l->tls = 1;
			if (parse_listen_tls(p, l) == -1)
				goto fail;
		} else if (t.type == T_WORD && t.kw == K_PROXY) {
			if (l->proxy) {
				conf_perr(p, &t,
				    "listen on: proxy given twice");
				r = 1;
			}
			l->proxy = 1;
		} else {
			lex_unget(p->lx, &t);
			break;
		}
	}
	conf_end_statement(p, "listen on");
	if (r == 0 && conf_check_addr_dup(p, key, kt, "listen on", l->addr,
	    l->port) == 0) {
		TAILQ_INSERT_TAIL(&p->conf->listeners, l, entry);
		return;
	}
 fail:
	conf_listen_free(l);
}

/* metrics listen on ADDR port N */
static void
parse_metrics(struct parse *p, const struct token *kt)
{
	const char	*ctx = "metrics listen on";
	char		*addr = NULL, key[INET6_ADDRSTRLEN + 16], w[256];
	uint16_t	 port = 0;
	int		 r;

	if (conf_expect_kw(p, K_LISTEN, "metrics") == -1 ||
	    conf_expect_kw(p, K_ON, "metrics listen") == -1)
		return;
	r = get_addr_port(p, ctx, &addr, &port, key, sizeof(key));
	if (r != -1)
		conf_end_statement(p, ctx);
	if (r == 0 && p->metrics.file != NULL) {
		conf_perr(p, kt, "metrics already set at %s",
		    conf_where(&p->metrics, kt, w, sizeof(w)));
	} else if (r == 0 && conf_check_addr_dup(p, key, kt, ctx, addr,
	    port) == 0) {
		p->conf->metrics_addr = addr;
		p->conf->metrics_port = port;
		p->metrics.file = kt->file;
		p->metrics.line = kt->line;
		return;
	}
	free(addr);
}

/* allow anonymous */
static void
parse_allow(struct parse *p, const struct token *kt)
{
	if (conf_expect_kw(p, K_ANONYMOUS, "allow") == -1)
		return;
	conf_end_statement(p, "allow anonymous");
	if (conf_set_once(p, kt, &p->anonymous, "allow anonymous") == 0)
		p->conf->allow_anonymous = 1;
}

/* installation N [for OWNER] */
static void
parse_installation(struct parse *p, struct app_conf *a)
{
	struct app_installation	*i, *j;
	struct token		 t;
	uint64_t		 id = 0;
	int			 ok;

	if (conf_get_value(p, &t, "installation", "an installation id") == -1)
		return;
	ok = conf_get_number(p, &t, "installation", 1, UINT64_MAX, &id) == 0;
	TAILQ_FOREACH(j, &a->installations, entry)
		if (ok && j->id == id) {
			conf_perr(p, &t, "app \"%s\": installation %llu listed "
			    "twice", a->name, (unsigned long long)id);
			ok = 0;
		}
	if ((i = calloc(1, sizeof(*i))) == NULL) {
		lex_oom(p->lx);
		return;
	}
	i->id = id;
	lex_next(p->lx, &t);
	if (t.type == T_WORD && t.kw == K_FOR) {
		if (conf_get_value(p, &t, "installation for", "an owner") == -1)
			goto fail;
		if (t.str[0] == '\0') {
			conf_perr(p, &t, "installation for: empty owner");
			ok = 0;
		}
		if ((i->owner = conf_pstrdup(p, t.str)) == NULL)
			goto fail;
	} else
		lex_unget(p->lx, &t);
	if (ok) {
		TAILQ_INSERT_TAIL(&a->installations, i, entry);
		return;
	}
 fail:
	free(i->owner);
	free(i);
}

/* One line of an app block; "id" and "private key" at most once. */
static void
parse_app_item(struct parse *p, struct app_conf *a, const struct token *t,
    int *id_line, int *key_line)
{
	struct token	v;
	uint64_t	id;

	/* A value given but invalid is reported once, not as missing too. */
	switch (t->kw) {
	case K_ID:
		if (conf_get_value(p, &v, "id", "a number") == -1)
			break;
		if (*id_line != 0)
			conf_perr(p, t, "id already set at line %d", *id_line);
		else if (conf_get_number(p, &v, "id", 1, UINT64_MAX, &id) == 0)
			a->id = id;
		*id_line = *id_line != 0 ? *id_line : t->line;
		break;
	case K_PRIVATE:
		if (conf_expect_kw(p, K_KEY, "private") == -1 ||
		    conf_get_value(p, &v, "private key", "a path") == -1)
			break;
		if (*key_line != 0)
			conf_perr(p, t, "private key already set at line %d",
			    *key_line);
		else if (conf_check_path(p, &v, "private key") == 0)
			a->private_key = conf_pstrdup(p, v.str);
		*key_line = *key_line != 0 ? *key_line : t->line;
		break;
	case K_INSTALLATION:
		parse_installation(p, a);
		break;
	default:
		conf_perr(p, t, "unknown keyword \"%s\"", t->str);
		conf_bad(p, t);
		break;
	}
}

/*
 * The body of a block, up to its '}': calls item for each word or
 * string.  Returns 0 when the '}' was found, -1 at the end of the file.
 */
int
conf_parse_block_body(struct parse *p, const struct token *kt, const char *ctx,
    void (*item)(struct parse *, const struct token *, void *), void *arg)
{
	struct token	t;
	int		r = -1;

	p->in_block = 1;
	for (;;) {
		lex_next(p->lx, &t);
		if (t.type == T_RBRACE) {
			r = 0;
			break;
		}
		if (t.type == T_EOF) {
			conf_perr(p, kt, "%s: missing '}'", ctx);
			break;
		}
		if (t.type == T_NEWLINE)
			continue;
		if (t.type == T_WORD || t.type == T_STRING)
			item(p, &t, arg);
		else
			conf_expected(p, &t, ctx, "'}'");
	}
	p->in_block = 0;
	return (r);
}

struct app_state {
	struct app_conf	*app;
	int		 id_line;
	int		 key_line;
};

static void
app_item(struct parse *p, const struct token *t, void *arg)
{
	struct app_state	*st = arg;

	if (t->type == T_STRING) {
		conf_perr(p, t, "unknown keyword \"%s\"", t->str);
		conf_bad(p, t);
		return;
	}
	parse_app_item(p, st->app, t, &st->id_line, &st->key_line);
}

/* app NAME { id N  private key FILE  installation N [for OWNER] ... } */
static void
parse_app(struct parse *p, const struct token *kt)
{
	struct app_state	 st;
	struct app_conf		*a;
	struct seen		*old;
	struct token		 t;
	char			*key = NULL, ctx[128], w[256];

	memset(&st, 0, sizeof(st));
	if (conf_get_value(p, &t, "app", "a name") == -1)
		return;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		lex_oom(p->lx);
		return;
	}
	TAILQ_INIT(&a->installations);
	st.app = a;
	if ((a->name = conf_pstrdup(p, t.str)) == NULL)
		goto done;
	if (a->name[0] == '\0')
		conf_perr(p, &t, "app: empty name");
	snprintf(ctx, sizeof(ctx), "app \"%.64s\"", a->name);
	lex_next(p->lx, &t);
	if (t.type != T_LBRACE) {
		conf_expected(p, &t, ctx, "'{'");
		goto done;
	}
	if (conf_parse_block_body(p, kt, ctx, app_item, &st) == -1)
		goto done;		/* unclosed: said so already */
	conf_end_statement(p, ctx);
	if (st.id_line == 0)
		conf_perr(p, kt, "%s: id missing", ctx);
	if (st.key_line == 0)
		conf_perr(p, kt, "%s: private key missing", ctx);
	if (asprintf(&key, "A%s", a->name) == -1) {
		key = NULL;
		lex_oom(p->lx);
		goto done;
	}
	switch (conf_seen_add(p, key, kt, &old)) {
	case 1:
		conf_perr(p, kt, "app \"%s\" already defined at %s", a->name,
		    conf_where(&old->at, kt, w, sizeof(w)));
		break;
	case 0:
		TAILQ_INSERT_TAIL(&p->conf->apps, a, entry);
		a = NULL;
		break;
	}
 done:
	free(key);
	conf_app_free(a);
}

static void
token_item(struct parse *p, const struct token *t, void *arg)
{
	int			*n = arg;

	(*n)++;
	if (t->str[0] == '\0')
		conf_perr(p, t, "block tokens: empty prefix");
	else
		(void)conf_add_string(p, &p->conf->block_tokens, t->str);
}

/* block tokens { PREFIX ... }, block anonymous git */
static void
parse_block(struct parse *p, const struct token *kt)
{
	struct token	t;
	const char	*ctx = "block tokens";
	int		n = 0;

	lex_next(p->lx, &t);
	if (t.type == T_WORD && t.kw == K_ANONYMOUS) {
		conf_parse_block_anonymous(p, kt);
		return;
	}
	if (t.type != T_WORD || t.kw != K_TOKENS) {
		conf_expected(p, &t, "block", "\"tokens\" or \"anonymous\"");
		return;
	}
	lex_next(p->lx, &t);
	if (t.type != T_LBRACE) {
		conf_expected(p, &t, ctx, "'{'");
		return;
	}
	if (conf_parse_block_body(p, kt, ctx, token_item, &n) == -1)
		return;
	if (n == 0)
		conf_perr(p, kt, "block tokens: no prefix given");
	conf_end_statement(p, ctx);
}

/* include FILE: relative to the directory of the file that includes. */
static void
parse_include(struct parse *p, const struct token *kt)
{
	struct token	 t;
	const char	*slash;
	char		*name, *path = NULL;

	if (conf_get_value(p, &t, "include", "a file name") == -1 ||
	    (name = conf_pstrdup(p, t.str)) == NULL)
		return;
	conf_end_statement(p, "include");
	if (!p->allow_include)
		conf_perr(p, kt, "include: not allowed here");
	else if (name[0] == '\0')
		conf_perr(p, kt, "include: empty file name");
	else if (p->lx->nfiles > CONFIG_MAX_INCLUDE)
		conf_perr(p, kt, "include: nesting too deep (more than %d)",
		    CONFIG_MAX_INCLUDE);
	else if (name[0] == '/' || (slash = strrchr(kt->file, '/')) == NULL)
		path = name, name = NULL;
	else if (asprintf(&path, "%.*s/%s", (int)(slash - kt->file),
	    kt->file, name) == -1) {
		path = NULL;
		lex_oom(p->lx);
	}
	if (path != NULL)
		lex_push_file(p->lx, path, kt);
	free(path);
	free(name);
}

/* NAME = VALUE */
static void
parse_macro(struct parse *p, const struct token *nt)
{
	struct token	 t;
	char		*name;

	if ((name = conf_pstrdup(p, nt->str)) == NULL)
		return;
	if (conf_get_value(p, &t, "macro", "a value") == -1)
		goto done;
	if (lex_keyword(name) != K_NONE)
		conf_perr(p, nt, "cannot use keyword \"%s\" as a macro name",
		    name);
	else if (!lex_macro_name_ok(name))
		conf_perr(p, nt, "invalid macro name \"%s\"", name);
	else if (lex_set_macro(p->lx, name, t.str) == -1)
		goto done;
	conf_end_statement(p, "macro");
 done:
	free(name);
}

static void
parse_statement(struct parse *p, const struct token *t)
{
	struct token	n;
	size_t		i;

	lex_next(p->lx, &n);
	if (n.type == T_EQUALS) {
		parse_macro(p, t);
		return;
	}
	lex_unget(p->lx, &n);
	switch (t->type == T_WORD ? t->kw : K_NONE) {
	case K_INCLUDE:
		parse_include(p, t);
		return;
	case K_LISTEN:
		parse_listen(p, t);
		return;
	case K_APP:
		parse_app(p, t);
		return;
	case K_BLOCK:
		parse_block(p, t);
		return;
	case K_RELEASES:
	case K_CODELOAD:
		conf_parse_policy(p, t);
		return;
	case K_ENTERPRISE:
		conf_parse_enterprise(p, t);
		return;
	case K_PROXY:
		conf_parse_proxy(p, t);
		return;
	case K_INTERCEPT:
		conf_parse_intercept(p, t);
		return;
	case K_METRICS:
		parse_metrics(p, t);
		return;
	case K_ALLOW:
		parse_allow(p, t);
		return;
	default:
		break;
	}
	for (i = 0; i < NSCALARS; i++)
		if (t->type == T_WORD && scalars[i].kw == t->kw) {
			parse_scalar(p, t);
			return;
		}
	conf_perr(p, t, "unknown keyword \"%s\"", t->str);
	conf_skip(p, 0);
}

void
conf_parse_file(struct parse *p)
{
	struct token	t;

	for (;;) {
		lex_next(p->lx, &t);
		switch (t.type) {
		case T_EOF:
			if (lex_pop_file(p->lx))
				continue;
			p->eof_line = t.line;
			return;
		case T_NEWLINE:
			continue;
		case T_WORD:
		case T_STRING:
			parse_statement(p, &t);
			continue;
		case T_LBRACE:
			conf_perr(p, &t, "unexpected '{'");
			conf_skip(p, 1);
			continue;
		case T_RBRACE:
			conf_perr(p, &t, "unexpected '}'");
			conf_skip(p, 0);
			continue;
		case T_EQUALS:
			conf_perr(p, &t, "unexpected '='");
			conf_skip(p, 0);
			continue;
		case T_ERROR:
			conf_skip(p, 0);
			continue;
		}
	}
}
