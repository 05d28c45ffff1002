/*
 * config.c: ghp.conf(5), parsed by recursive descent into struct config;
 * the lexer, macros and includes are in config_lex.c.
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
 * The only state outside a parse is the -D list and the error callback.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_lex.h"

#define CONFIG_MAX_SHUTDOWN	3600

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
	{ K_UPSTREAM, K_API, "upstream api", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_API]), 0 },
	{ K_UPSTREAM, K_WEB, "upstream web", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_WEB]), 0 },
	{ K_UPSTREAM, K_CODELOAD, "upstream codeload", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_CODELOAD]), 0 },
	{ K_UPSTREAM, K_COPILOT, "upstream copilot", V_URL,
	    offsetof(struct config, upstream[UPSTREAM_COPILOT]), 0 },
	{ K_LOG, K_AUDIT, "log audit", V_PATH,
	    offsetof(struct config, log_audit), 0 },
	{ K_LOG, K_ACCESS, "log access", V_PATH,
	    offsetof(struct config, log_access), 0 }
};
#define NSCALARS	(sizeof(scalars) / sizeof(scalars[0]))

static const struct {
	const char	*name;
	const char	*url;
} upstreams[UPSTREAM_MAX] = {
	[UPSTREAM_API] =	{ "api", "https://api.github.com" },
	[UPSTREAM_WEB] =	{ "web", "https://github.com" },
	[UPSTREAM_CODELOAD] =	{ "codeload", "https://codeload.github.com" },
	[UPSTREAM_COPILOT] =	{ "copilot", "https://api.githubcopilot.com" }
};

struct where {
	const char	*file;		/* NULL: not given */
	int		 line;
};

/* Addresses and app names already given, with where. */
struct seen {
	TAILQ_ENTRY(seen) entry;
	struct where	 at;
	char		 key[];
};
TAILQ_HEAD(seen_list, seen);

struct parse {
	struct lex	*lx;
	struct config	*conf;
	int		 allow_include;
	int		 in_block;
	int		 nlisten;	/* "listen on" statements, even bad */
	int		 eof_line;	/* the main file's last line */
	struct where	 set[NSCALARS];
	struct where	 metrics;
	struct seen_list seen;
};

/*
 * Errors and recovery.
 */

static void
perr(struct parse *p, const struct token *t, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static void
perr(struct parse *p, const struct token *t, const char *fmt, ...)
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
static void
skip(struct parse *p, int depth)
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
static void
bad(struct parse *p, const struct token *t)
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
		skip(p, 0);
		return;
	case T_LBRACE:
		skip(p, 1);
		return;
	default:
		skip(p, 0);
		return;
	}
}

static void
expected(struct parse *p, const struct token *t, const char *ctx,
    const char *what)
{
	char	d[80];

	if (t->type != T_ERROR)		/* else the lexer said why */
		perr(p, t, "%s: expected %s, got %s", ctx, what,
		    lex_describe(t, d, sizeof(d)));
	bad(p, t);
}

static int
expect_kw(struct parse *p, enum keyword kw, const char *ctx)
{
	struct token	t;
	char		what[32];

	lex_next(p->lx, &t);
	if (t.type == T_WORD && t.kw == kw)
		return (0);
	snprintf(what, sizeof(what), "\"%s\"", lex_keyword_name(kw));
	expected(p, &t, ctx, what);
	return (-1);
}

/* A word or a quoted string; -1 (reported, skipped) if not. */
static int
get_value(struct parse *p, struct token *t, const char *ctx,
    const char *what)
{
	lex_next(p->lx, t);
	if (t->type == T_WORD || t->type == T_STRING)
		return (0);
	expected(p, t, ctx, what);
	return (-1);
}

static void
end_statement(struct parse *p, const char *ctx)
{
	struct token	t;

	lex_next(p->lx, &t);
	if (t.type != T_NEWLINE && t.type != T_EOF)
		expected(p, &t, ctx, "end of line");
}

static char *
pstrdup(struct parse *p, const char *s)
{
	char	*d;

	if ((d = strdup(s)) == NULL)
		lex_oom(p->lx);
	return (d);
}

/* "line 3", or "other.conf:3" when it was in another file. */
static const char *
where(const struct where *w, const struct token *now, char *buf,
    size_t len)
{
	if (strcmp(w->file, now->file) == 0)
		snprintf(buf, len, "line %d", w->line);
	else
		snprintf(buf, len, "%s:%d", w->file, w->line);
	return (buf);
}

static struct seen *
seen_find(struct parse *p, const char *key)
{
	struct seen	*s;

	TAILQ_FOREACH(s, &p->seen, entry)
		if (strcmp(s->key, key) == 0)
			return (s);
	return (NULL);
}

/* 0: added; 1: already there (reported by the caller); -1: no memory. */
static int
seen_add(struct parse *p, const char *key, const struct token *at,
    struct seen **old)
{
	struct seen	*s;
	size_t		 len = strlen(key) + 1;

	if ((*old = seen_find(p, key)) != NULL)
		return (1);
	if ((s = malloc(sizeof(*s) + len)) == NULL) {
		lex_oom(p->lx);
		return (-1);
	}
	memcpy(s->key, key, len);
	s->at.file = at->file;
	s->at.line = at->line;
	TAILQ_INSERT_TAIL(&p->seen, s, entry);
	return (0);
}

/*
 * Values.
 */

/* 0 if t is a decimal number in min..max; else reported, -1. */
static int
get_number(struct parse *p, const struct token *t, const char *what,
    uint64_t min, uint64_t max, uint64_t *out)
{
	const char	*s = t->str;
	uint64_t	 v = 0;
	int		 over = 0, d;

	if (*s == '\0') {
		perr(p, t, "%s: invalid number \"\"", what);
		return (-1);
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9') {
			perr(p, t, "%s: invalid number \"%s\"", what, t->str);
			return (-1);
		}
		d = *s - '0';
		if (v > (UINT64_MAX - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	if (over || v < min || v > max) {
		perr(p, t, "%s: %s is out of range (%llu-%llu)", what,
		    t->str, (unsigned long long)min, (unsigned long long)max);
		return (-1);
	}
	*out = v;
	return (0);
}

static int
check_path(struct parse *p, const struct token *t, const char *what)
{
	if (t->str[0] == '/')
		return (0);
	perr(p, t, "%s: \"%s\" is not an absolute path", what, t->str);
	return (-1);
}

static int
is_host_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_');
}

/* NULL if u is a URL ghp can forward to, else what is wrong with it. */
static const char *
url_problem(const char *u)
{
	const char	*s, *h, *e;
	char		 a[INET6_ADDRSTRLEN];
	struct in6_addr	 in6;
	long		 port = 0;

	if (strncmp(u, "https://", 8) == 0)
		h = u + 8;
	else if (strncmp(u, "http://", 7) == 0)
		h = u + 7;
	else
		return ("must start with http:// or https://");
	for (s = u; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return ("only printable ASCII, no spaces");
		if (*s == '@')
			return ("a user name or password is not allowed");
		if (*s == '?' || *s == '#')
			return ("a query or fragment is not allowed");
	}
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL ||
		    (size_t)(e - h - 1) >= sizeof(a))
			return ("bad IPv6 address");
		memcpy(a, h + 1, e - h - 1);
		a[e - h - 1] = '\0';
		if (inet_pton(AF_INET6, a, &in6) != 1)
			return ("bad IPv6 address");
		s = e + 1;
	} else {
		for (s = h; is_host_char((unsigned char)*s); s++)
			;
		if (s == h)
			return ("host missing");
	}
	if (*s == ':') {
		for (e = ++s; *s >= '0' && *s <= '9' && s - e < 6; s++)
			port = port * 10 + (*s - '0');
		if (s == e || port < 1 || port > 65535)
			return ("bad port");
	}
	if (*s != '\0' && *s != '/')
		return ("bad host");
	return (NULL);
}

/* Canonical text for an address, to find duplicates; -1 if invalid. */
static int
addr_key(const char *addr, char *buf, size_t len)
{
	struct in_addr	 in4;
	struct in6_addr	 in6;

	if (strcmp(addr, "*") == 0 || strcmp(addr, "localhost") == 0) {
		snprintf(buf, len, "%s", addr);
		return (0);
	}
	if (inet_pton(AF_INET, addr, &in4) == 1 &&
	    inet_ntop(AF_INET, &in4, buf, len) != NULL)
		return (0);
	if (inet_pton(AF_INET6, addr, &in6) == 1 &&
	    inet_ntop(AF_INET6, &in6, buf, len) != NULL)
		return (0);
	return (-1);
}

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

	if (get_value(p, &t, ctx, "an address") == -1)
		return (-1);
	if (addr_key(t.str, canon, sizeof(canon)) == -1) {
		perr(p, &t, "%s: invalid address \"%s\"", ctx, t.str);
		r = 1;
	}
	if ((*addr = pstrdup(p, t.str)) == NULL)
		return (-1);
	if (expect_kw(p, K_PORT, ctx) == -1 ||
	    get_value(p, &t, ctx, "a port number") == -1)
		return (-1);
	if (get_number(p, &t, "port", 1, 65535, &n) == -1)
		r = 1;
	else
		*port = (uint16_t)n;
	if (r == 0)
		snprintf(key, keylen, "L%s %u", canon, *port);
	return (r);
}

/* Report a second listener on an address and port; 0 if it is new. */
static int
check_addr_dup(struct parse *p, const char *key, const struct token *at,
    const char *ctx, const char *addr, uint16_t port)
{
	struct seen	*old;
	char		 w[256];
	int		 r;

	if ((r = seen_add(p, key, at, &old)) == 1)
		perr(p, at, "%s: %s port %u already used at %s", ctx, addr,
		    port, where(&old->at, at, w, sizeof(w)));
	return (r);
}

/*
 * Statements.
 */

static void
parse_scalar_value(struct parse *p, const struct scalar *sc, size_t i,
    const struct token *at)
{
	struct token	 t;
	char		*v = NULL, **field, w[256];
	uint64_t	 n = 0;
	int		 ok;

	if (get_value(p, &t, sc->name, sc->type == V_NUMBER ? "a number" :
	    sc->type == V_URL ? "a URL" : sc->type == V_PATH ? "a path" :
	    "a name") == -1)
		return;
	switch (sc->type) {
	case V_NUMBER:
		ok = get_number(p, &t, sc->name, 1, sc->max, &n) == 0;
		break;
	case V_PATH:
		ok = check_path(p, &t, sc->name) == 0;
		break;
	case V_URL:
		if ((ok = url_problem(t.str) == NULL) == 0)
			perr(p, &t, "%s: bad URL \"%s\": %s", sc->name, t.str,
			    url_problem(t.str));
		break;
	default:
		if ((ok = t.str[0] != '\0') == 0)
			perr(p, &t, "%s: empty name", sc->name);
		break;
	}
	if (ok && p->set[i].file != NULL) {
		perr(p, at, "%s already set at %s", sc->name,
		    where(&p->set[i], at, w, sizeof(w)));
	} else if (ok && sc->type == V_NUMBER) {
		*(int *)(void *)((char *)p->conf + sc->off) = (int)n;
		p->set[i].file = at->file;
		p->set[i].line = at->line;
	} else if (ok && (v = pstrdup(p, t.str)) != NULL) {
		field = (char **)(void *)((char *)p->conf + sc->off);
		*field = v;
		p->set[i].file = at->file;
		p->set[i].line = at->line;
	}
	end_statement(p, sc->name);
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
	expected(p, &t, lex_keyword_name(kt->kw), alts);
}

static void
listen_free(struct listen_conf *l)
{
	if (l == NULL)
		return;
	free(l->addr);
	free(l->tls_cert);
	free(l->tls_key);
	free(l);
}

/* "tls certificate FILE key FILE" after "listen on ... port N". */
static int
parse_listen_tls(struct parse *p, struct listen_conf *l)
{
	struct token	t;
	const char	*ctx = "listen on: tls";

	if (expect_kw(p, K_CERTIFICATE, ctx) == -1 ||
	    get_value(p, &t, ctx, "a certificate file") == -1)
		return (-1);
	check_path(p, &t, "tls certificate");
	free(l->tls_cert);
	if ((l->tls_cert = pstrdup(p, t.str)) == NULL)
		return (-1);
	if (expect_kw(p, K_KEY, ctx) == -1 ||
	    get_value(p, &t, ctx, "a key file") == -1)
		return (-1);
	check_path(p, &t, "tls key");
	free(l->tls_key);
	if ((l->tls_key = pstrdup(p, t.str)) == NULL)
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
	if (expect_kw(p, K_ON, "listen") == -1)
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
				perr(p, &t, "listen on: tls given twice");
				r = 1;
			}
			l->tls = 1;
			if (parse_listen_tls(p, l) == -1)
				goto fail;
		} else if (t.type == T_WORD && t.kw == K_PROXY) {
			if (l->proxy) {
				perr(p, &t, "listen on: proxy given twice");
				r = 1;
			}
			l->proxy = 1;
		} else {
			lex_unget(p->lx, &t);
			break;
		}
	}
	end_statement(p, "listen on");
	if (r == 0 && check_addr_dup(p, key, kt, "listen on", l->addr,
	    l->port) == 0) {
		TAILQ_INSERT_TAIL(&p->conf->listeners, l, entry);
		return;
	}
 fail:
	listen_free(l);
}

/* metrics listen on ADDR port N */
static void
parse_metrics(struct parse *p, const struct token *kt)
{
	const char	*ctx = "metrics listen on";
	char		*addr = NULL, key[INET6_ADDRSTRLEN + 16], w[256];
	uint16_t	 port = 0;
	int		 r;

	if (expect_kw(p, K_LISTEN, "metrics") == -1 ||
	    expect_kw(p, K_ON, "metrics listen") == -1)
		return;
	r = get_addr_port(p, ctx, &addr, &port, key, sizeof(key));
	if (r != -1)
		end_statement(p, ctx);
	if (r == 0 && p->metrics.file != NULL) {
		perr(p, kt, "metrics already set at %s",
		    where(&p->metrics, kt, w, sizeof(w)));
	} else if (r == 0 && check_addr_dup(p, key, kt, ctx, addr,
	    port) == 0) {
		p->conf->metrics_addr = addr;
		p->conf->metrics_port = port;
		p->metrics.file = kt->file;
		p->metrics.line = kt->line;
		return;
	}
	free(addr);
}

static void
app_free(struct app_conf *a)
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

/* installation N [for OWNER] */
static void
parse_installation(struct parse *p, struct app_conf *a)
{
	struct app_installation	*i, *j;
	struct token		 t;
	uint64_t		 id = 0;
	int			 ok;

	if (get_value(p, &t, "installation", "an installation id") == -1)
		return;
	ok = get_number(p, &t, "installation", 1, UINT64_MAX, &id) == 0;
	TAILQ_FOREACH(j, &a->installations, entry)
		if (ok && j->id == id) {
			perr(p, &t, "app \"%s\": installation %llu listed "
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
		if (get_value(p, &t, "installation for", "an owner") == -1)
			goto fail;
		if (t.str[0] == '\0') {
			perr(p, &t, "installation for: empty owner");
			ok = 0;
		}
		if ((i->owner = pstrdup(p, t.str)) == NULL)
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
		if (get_value(p, &v, "id", "a number") == -1)
			break;
		if (*id_line != 0)
			perr(p, t, "id already set at line %d", *id_line);
		else if (get_number(p, &v, "id", 1, UINT64_MAX, &id) == 0)
			a->id = id;
		*id_line = *id_line != 0 ? *id_line : t->line;
		break;
	case K_PRIVATE:
		if (expect_kw(p, K_KEY, "private") == -1 ||
		    get_value(p, &v, "private key", "a path") == -1)
			break;
		if (*key_line != 0)
			perr(p, t, "private key already set at line %d",
			    *key_line);
		else if (check_path(p, &v, "private key") == 0)
			a->private_key = pstrdup(p, v.str);
		*key_line = *key_line != 0 ? *key_line : t->line;
		break;
	case K_INSTALLATION:
		parse_installation(p, a);
		break;
	default:
		perr(p, t, "unknown keyword \"%s\"", t->str);
		bad(p, t);
		break;
	}
}

/*
 * The body of a block, up to its '}': calls item for each word or
 * string.  Returns 0 when the '}' was found, -1 at the end of the file.
 */
static int
parse_block_body(struct parse *p, const struct token *kt, const char *ctx,
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
			perr(p, kt, "%s: missing '}'", ctx);
			break;
		}
		if (t.type == T_NEWLINE)
			continue;
		if (t.type == T_WORD || t.type == T_STRING)
			item(p, &t, arg);
		else
			expected(p, &t, ctx, "'}'");
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
		perr(p, t, "unknown keyword \"%s\"", t->str);
		bad(p, t);
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
	if (get_value(p, &t, "app", "a name") == -1)
		return;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		lex_oom(p->lx);
		return;
	}
	TAILQ_INIT(&a->installations);
	st.app = a;
	if ((a->name = pstrdup(p, t.str)) == NULL)
		goto done;
	if (a->name[0] == '\0')
		perr(p, &t, "app: empty name");
	snprintf(ctx, sizeof(ctx), "app \"%.64s\"", a->name);
	lex_next(p->lx, &t);
	if (t.type != T_LBRACE) {
		expected(p, &t, ctx, "'{'");
		goto done;
	}
	if (parse_block_body(p, kt, ctx, app_item, &st) == -1)
		goto done;		/* unclosed: said so already */
	end_statement(p, ctx);
	if (st.id_line == 0)
		perr(p, kt, "%s: id missing", ctx);
	if (st.key_line == 0)
		perr(p, kt, "%s: private key missing", ctx);
	if (asprintf(&key, "A%s", a->name) == -1) {
		key = NULL;
		lex_oom(p->lx);
		goto done;
	}
	switch (seen_add(p, key, kt, &old)) {
	case 1:
		perr(p, kt, "app \"%s\" already defined at %s", a->name,
		    where(&old->at, kt, w, sizeof(w)));
		break;
	case 0:
		TAILQ_INSERT_TAIL(&p->conf->apps, a, entry);
		a = NULL;
		break;
	}
 done:
	free(key);
	app_free(a);
}

static void
token_item(struct parse *p, const struct token *t, void *arg)
{
	struct string_entry	*s;
	int			*n = arg;

	(*n)++;
	if (t->str[0] == '\0') {
		perr(p, t, "block tokens: empty prefix");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->value = pstrdup(p, t->str)) == NULL) {
		free(s);
		lex_oom(p->lx);
		return;
	}
	TAILQ_INSERT_TAIL(&p->conf->block_tokens, s, entry);
}

/* block tokens { PREFIX ... } */
static void
parse_block_tokens(struct parse *p, const struct token *kt)
{
	struct token	t;
	const char	*ctx = "block tokens";
	int		n = 0;

	if (expect_kw(p, K_TOKENS, "block") == -1)
		return;
	lex_next(p->lx, &t);
	if (t.type != T_LBRACE) {
		expected(p, &t, ctx, "'{'");
		return;
	}
	if (parse_block_body(p, kt, ctx, token_item, &n) == -1)
		return;
	if (n == 0)
		perr(p, kt, "block tokens: no prefix given");
	end_statement(p, ctx);
}

/* include FILE: relative to the directory of the file that includes. */
static void
parse_include(struct parse *p, const struct token *kt)
{
	struct token	 t;
	const char	*slash;
	char		*name, *path = NULL;

	if (get_value(p, &t, "include", "a file name") == -1 ||
	    (name = pstrdup(p, t.str)) == NULL)
		return;
	end_statement(p, "include");
	if (!p->allow_include)
		perr(p, kt, "include: not allowed here");
	else if (name[0] == '\0')
		perr(p, kt, "include: empty file name");
	else if (p->lx->nfiles > CONFIG_MAX_INCLUDE)
		perr(p, kt, "include: nesting too deep (more than %d)",
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

	if ((name = pstrdup(p, nt->str)) == NULL)
		return;
	if (get_value(p, &t, "macro", "a value") == -1)
		goto done;
	if (lex_keyword(name) != K_NONE)
		perr(p, nt, "cannot use keyword \"%s\" as a macro name", name);
	else if (!lex_macro_name_ok(name))
		perr(p, nt, "invalid macro name \"%s\"", name);
	else if (lex_set_macro(p->lx, name, t.str) == -1)
		goto done;
	end_statement(p, "macro");
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
		parse_block_tokens(p, t);
		return;
	case K_METRICS:
		parse_metrics(p, t);
		return;
	default:
		break;
	}
	for (i = 0; i < NSCALARS; i++)
		if (t->type == T_WORD && scalars[i].kw == t->kw) {
			parse_scalar(p, t);
			return;
		}
	perr(p, t, "unknown keyword \"%s\"", t->str);
	skip(p, 0);
}

static void
parse_file(struct parse *p)
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
			perr(p, &t, "unexpected '{'");
			skip(p, 1);
			continue;
		case T_RBRACE:
			perr(p, &t, "unexpected '}'");
			skip(p, 0);
			continue;
		case T_EQUALS:
			perr(p, &t, "unexpected '='");
			skip(p, 0);
			continue;
		case T_ERROR:
			skip(p, 0);
			continue;
		}
	}
}

/*
 * Whole configs.
 */

static int
fill_defaults(struct config *c)
{
	static const struct {
		size_t		 off;
		const char	*value;
	} defs[] = {
		{ offsetof(struct config, user), CONFIG_DEFAULT_USER },
		{ offsetof(struct config, chroot), CONFIG_DEFAULT_CHROOT },
		{ offsetof(struct config, state_dir), CONFIG_DEFAULT_STATEDIR },
		{ offsetof(struct config, control_socket),
		    CONFIG_DEFAULT_CONTROL }
	};
	char	**field;
	size_t	  i;

	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		field = (char **)(void *)((char *)c + defs[i].off);
		if (*field == NULL && (*field = strdup(defs[i].value)) == NULL)
			return (-1);
	}
	for (i = 0; i < UPSTREAM_MAX; i++)
		if (c->upstream[i] == NULL &&
		    (c->upstream[i] = strdup(upstreams[i].url)) == NULL)
			return (-1);
	if (c->workers == 0)
		c->workers = CONFIG_DEFAULT_WORKERS;
	if (c->shutdown_timeout == 0)
		c->shutdown_timeout = CONFIG_DEFAULT_SHUTDOWN;
	return (0);
}

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

	if (p->eof_line != 0 && !p->lx->abort && p->nlisten == 0)
		lex_error(p->lx, c->path, p->eof_line,
		    "no \"listen on\" given");
	if (p->lx->errors == 0 && fill_defaults(c) == -1)
		lex_oom(p->lx);
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
		parse_file(p);
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
		parse_file(p);
	return (parse_finish(p));
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
		listen_free(l);
	}
	while ((a = TAILQ_FIRST(&c->apps)) != NULL) {
		TAILQ_REMOVE(&c->apps, a, entry);
		app_free(a);
	}
	while ((s = TAILQ_FIRST(&c->block_tokens)) != NULL) {
		TAILQ_REMOVE(&c->block_tokens, s, entry);
		free(s->value);
		free(s);
	}
	for (i = 0; i < UPSTREAM_MAX; i++)
		free(c->upstream[i]);
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

const char *
config_upstream_name(enum upstream_kind k)
{
	if ((unsigned)k >= UPSTREAM_MAX)
		return (NULL);
	return (upstreams[k].name);
}

const char *
config_upstream_default(enum upstream_kind k)
{
	if ((unsigned)k >= UPSTREAM_MAX)
		return (NULL);
	return (upstreams[k].url);
}

/*
 * Printing, in ghp.conf(5) syntax.
 */

static void
print_quoted(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '\t')
			fputs("\\t", fp);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
print_string(FILE *fp, const char *key, const char *value)
{
	if (value == NULL)
		return;
	fprintf(fp, "%s ", key);
	print_quoted(fp, value);
	fputc('\n', fp);
}

static void
print_listen(FILE *fp, const struct listen_conf *l)
{
	fprintf(fp, "listen on %s port %u", l->addr, l->port);
	if (l->tls) {
		fputs(" tls certificate ", fp);
		print_quoted(fp, l->tls_cert != NULL ? l->tls_cert : "");
		fputs(" key ", fp);
		print_quoted(fp, l->tls_key != NULL ? l->tls_key : "");
	}
	if (l->proxy)
		fputs(" proxy", fp);
	fputc('\n', fp);
}

static void
print_app(FILE *fp, const struct app_conf *a)
{
	const struct app_installation	*i;

	fputs("\napp ", fp);
	print_quoted(fp, a->name);
	fprintf(fp, " {\n\tid %llu\n", (unsigned long long)a->id);
	if (a->private_key != NULL) {
		fputs("\tprivate key ", fp);
		print_quoted(fp, a->private_key);
		fputc('\n', fp);
	}
	TAILQ_FOREACH(i, &a->installations, entry) {
		fprintf(fp, "\tinstallation %llu", (unsigned long long)i->id);
		if (i->owner != NULL) {
			fputs(" for ", fp);
			print_quoted(fp, i->owner);
		}
		fputc('\n', fp);
	}
	fputs("}\n", fp);
}

void
config_print(FILE *fp, const struct config *c)
{
	const struct listen_conf	*l;
	const struct app_conf		*a;
	const struct string_entry	*s;
	char				 key[32];
	int				 i;

	print_string(fp, "user", c->user);
	print_string(fp, "keyholder user", c->keyholder_user);
	print_string(fp, "chroot", c->chroot);
	fprintf(fp, "workers %d\n", c->workers);
	print_string(fp, "state directory", c->state_dir);
	print_string(fp, "control socket", c->control_socket);
	fprintf(fp, "shutdown timeout %d\n\n", c->shutdown_timeout);
	TAILQ_FOREACH(l, &c->listeners, entry)
		print_listen(fp, l);
	fputc('\n', fp);
	for (i = 0; i < UPSTREAM_MAX; i++) {
		snprintf(key, sizeof(key), "upstream %s", upstreams[i].name);
		print_string(fp, key, c->upstream[i]);
	}
	TAILQ_FOREACH(a, &c->apps, entry)
		print_app(fp, a);
	if (!TAILQ_EMPTY(&c->block_tokens)) {
		fputs("\nblock tokens {", fp);
		TAILQ_FOREACH(s, &c->block_tokens, entry) {
			fputc(' ', fp);
			print_quoted(fp, s->value);
		}
		fputs(" }\n", fp);
	}
	if (c->log_audit != NULL || c->log_access != NULL)
		fputc('\n', fp);
	print_string(fp, "log audit", c->log_audit);
	print_string(fp, "log access", c->log_access);
	if (c->metrics_addr != NULL)
		fprintf(fp, "\nmetrics listen on %s port %u\n",
		    c->metrics_addr, c->metrics_port);
}
