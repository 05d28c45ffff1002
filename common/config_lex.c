/*
 * config_lex.c: the ghp.conf(5) lexer: keywords, the stack of sources it
 * reads from, tokens, the expansion of macros, and the one place where
 * errors are reported.  What it reads, files and the values of macros,
 * comes from config_file.c.
 *
 * Input is read whole into memory (bounded by LEX_MAX_FILE), so the
 * lexer works on buffers and never on stdio.  A "$name" outside quotes
 * pushes a copy of the macro's value as a new source on top of the file
 * being read; the value is then lexed like file text, so one macro may
 * stand for several tokens, and a word may run on from a macro's value
 * into the text that follows it ("$dir/ghp.db"), as in OpenBSD's
 * parsers.  The name after '$' must lie in one source, so a macro that
 * uses itself is still on the stack when it does and is refused.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_lex.h"

static config_error_cb	 error_cb;
static void		*error_arg;

struct keyword_ent {
	const char	*name;
	enum keyword	 kw;
};

static const struct keyword_ent keywords[] = {		/* sorted: searched with bsearch(3) */
	{ "access",		K_ACCESS },
	{ "allow",		K_ALLOW },
	{ "anonymous",		K_ANONYMOUS },
	{ "api",		K_API },
	{ "app",		K_APP },
	{ "audit",		K_AUDIT },
	{ "block",		K_BLOCK },
	{ "body",		K_BODY },
	{ "ca",			K_CA },
	{ "certificate",	K_CERTIFICATE },
	{ "check",		K_CHECK },
	{ "chroot",		K_CHROOT },
	{ "codeload",		K_CODELOAD },
	{ "control",		K_CONTROL },
	{ "copilot",		K_COPILOT },
	{ "credential",		K_CREDENTIAL },
	{ "directory",		K_DIRECTORY },
	{ "enterprise",		K_ENTERPRISE },
	{ "for",		K_FOR },
	{ "git",		K_GIT },
	{ "header",		K_HEADER },
	{ "id",			K_ID },
	{ "idle",		K_IDLE },
	{ "include",		K_INCLUDE },
	{ "installation",	K_INSTALLATION },
	{ "intercept",		K_INTERCEPT },
	{ "key",		K_KEY },
	{ "keyholder",		K_KEYHOLDER },
	{ "listen",		K_LISTEN },
	{ "log",		K_LOG },
	{ "metrics",		K_METRICS },
	{ "netrc",		K_NETRC },
	{ "on",			K_ON },
	{ "pass",		K_PASS },
	{ "permissive",		K_PERMISSIVE },
	{ "placeholder",	K_PLACEHOLDER },
	{ "policy",		K_POLICY },
	{ "port",		K_PORT },
	{ "private",		K_PRIVATE },
	{ "proxy",		K_PROXY },
	{ "raw",		K_RAW },
	{ "redirect",		K_REDIRECT },
	{ "refuse",		K_REFUSE },
	{ "releases",		K_RELEASES },
	{ "send",		K_SEND },
	{ "serve",		K_SERVE },
	{ "shutdown",		K_SHUTDOWN },
	{ "socket",		K_SOCKET },
	{ "state",		K_STATE },
	{ "strict",		K_STRICT },
	{ "timeout",		K_TIMEOUT },
	{ "tls",		K_TLS },
	{ "to",			K_TO },
	{ "tokens",		K_TOKENS },
	{ "tunnel",		K_TUNNEL },
	{ "unwritable",		K_UNWRITABLE },
	{ "upstream",		K_UPSTREAM },
	{ "user",		K_USER },
	{ "via",		K_VIA },
	{ "web",		K_WEB },
	{ "workers",		K_WORKERS }
};
#define NKEYWORDS	(sizeof(keywords) / sizeof(keywords[0]))

static int
is_alpha(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

static int
is_macro_char(int c)
{
	return (is_alpha(c) || is_digit(c) || c == '_');
}

static int
is_word_char(int c)
{
	return (is_macro_char(c) || (c != '\0' && strchr("._-:/*@+", c)));
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keyword_ent *)e)->name));
}

enum keyword
lex_keyword(const char *s)
{
	const struct keyword_ent	*p;

	p = bsearch(s, keywords, NKEYWORDS, sizeof(keywords[0]), kw_cmp);
	return (p == NULL ? K_NONE : p->kw);
}

const char *
lex_keyword_name(enum keyword kw)
{
	size_t	i;

	for (i = 0; i < NKEYWORDS; i++)
		if (keywords[i].kw == kw)
			return (keywords[i].name);
	return ("?");
}

int
lex_macro_name_ok(const char *s)
{
	size_t	n;

	if (!is_alpha((unsigned char)s[0]))
		return (0);
	for (n = 0; s[n] != '\0'; n++)
		if (!is_macro_char((unsigned char)s[n]) ||
		    n >= LEX_MAX_MACRO_NAME)
			return (0);
	return (1);
}

/*
 * Errors.
 */

void
config_set_error_cb(config_error_cb cb, void *arg)
{
	error_cb = cb;
	error_arg = arg;
}

static void
report(char *msg)
{
	char	*s;

	/* Never pass control characters on to a terminal or a log. */
	for (s = msg; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
	if (error_cb != NULL)
		error_cb(msg, error_arg);
	else
		fprintf(stderr, "%s\n", msg);
}

void
lex_verror(struct lex *lx, const char *file, int line, const char *fmt,
    va_list ap)
{
	static char	 oom[] = "out of memory";
	char		*msg = NULL, *full = NULL;
	int		 r;

	lx->errors++;
	if (lx->quiet || lx->abort)	/* skipping, or given up */
		return;
	if (vasprintf(&msg, fmt, ap) == -1) {
		report(oom);
		return;
	}
	if (line > 0)
		r = asprintf(&full, "%s:%d: %s", file, line, msg);
	else
		r = asprintf(&full, "%s: %s", file, msg);
	report(r == -1 ? oom : full);
	if (r != -1)
		free(full);
	free(msg);
}

void
lex_error(struct lex *lx, const char *file, int line, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	lex_verror(lx, file, line, fmt, ap);
	va_end(ap);
}

static struct lex_src *
lex_file(struct lex *lx)
{
	struct lex_src	*s = SLIST_FIRST(&lx->stack);

	if (s == NULL || s->is_file)
		return (s);
	return (s->file);
}

/* An error that stops the parse: reported even while skipping. */
static void
lex_fatal(struct lex *lx, const char *file, int line, const char *msg)
{
	int	quiet = lx->quiet;

	lx->quiet = 0;
	lex_error(lx, file, line, "%s", msg);
	lx->quiet = quiet;
	lx->abort = 1;
}

void
lex_oom(struct lex *lx)
{
	struct lex_src	*f = lex_file(lx);

	lex_fatal(lx, f != NULL ? f->name : "ghp.conf", f != NULL ?
	    f->lineno : 0, "out of memory");
}

/*
 * Sources.
 */

struct lex *
lex_new(void)
{
	struct lex	*lx;

	if ((lx = calloc(1, sizeof(*lx))) == NULL)
		return (NULL);
	SLIST_INIT(&lx->stack);
	SLIST_INIT(&lx->names);
	TAILQ_INIT(&lx->macros);
	return (lx);
}

static void
src_free(struct lex_src *s)
{
	if (!s->is_file)
		free(s->name);
	free(s->buf);
	free(s);
}

static void
lex_pop(struct lex *lx)
{
	struct lex_src	*s = SLIST_FIRST(&lx->stack);

	SLIST_REMOVE_HEAD(&lx->stack, next);
	if (s->is_file)
		lx->nfiles--;
	else
		lx->nexpand--;
	src_free(s);
}

void
lex_free(struct lex *lx)
{
	struct lex_name	*n;

	if (lx == NULL)
		return;
	while (!SLIST_EMPTY(&lx->stack))
		lex_pop(lx);
	while ((n = SLIST_FIRST(&lx->names)) != NULL) {
		SLIST_REMOVE_HEAD(&lx->names, next);
		free(n);
	}
	lex_macro_clear(&lx->macros);
	free(lx);
}

/* At the end of an included file, go back to the one that included it. */
int
lex_pop_file(struct lex *lx)
{
	struct lex_src	*s = SLIST_FIRST(&lx->stack);

	if (lx->abort || lx->nfiles <= 1 || s == NULL || !s->is_file)
		return (0);
	lex_pop(lx);
	lx->has_back = 0;
	return (1);
}

int
lex_eof_line(struct lex *lx)
{
	struct lex_src	*f = lex_file(lx);
	int		 line;

	if (f == NULL)
		return (1);
	line = f->lineno;
	if (f->pos >= f->len && f->len > 0 && f->buf[f->len - 1] == '\n')
		line--;
	return (line < 1 ? 1 : line);
}

/*
 * Characters.  lex_peek() returns the next one, leaving the macro values
 * that are used up; -1 at the end of the current file.
 */

static int
lex_peek(struct lex *lx)
{
	struct lex_src	*s;

	while ((s = SLIST_FIRST(&lx->stack)) != NULL) {
		if (s->pos < s->len)
			return ((unsigned char)s->buf[s->pos]);
		if (s->is_file)
			return (-1);
		lex_pop(lx);
	}
	return (-1);
}

/* The character at offset off in the current source only. */
static int
lex_peek_here(struct lex *lx, size_t off)
{
	struct lex_src	*s = SLIST_FIRST(&lx->stack);

	if (s == NULL || s->pos + off >= s->len)
		return (-1);
	return ((unsigned char)s->buf[s->pos + off]);
}

/* Consume the character that lex_peek() or lex_peek_here(, 0) saw. */
static void
lex_skip(struct lex *lx)
{
	struct lex_src	*s = SLIST_FIRST(&lx->stack);

	if (s->buf[s->pos] == '\n' && s->is_file)
		s->lineno++;
	s->pos++;
}

static int
in_macro(struct lex *lx)
{
	struct lex_src	*s = SLIST_FIRST(&lx->stack);

	return (s != NULL && !s->is_file);
}

/*
 * Tokens.
 */

static char *
tokbuf(struct lex *lx)
{
	char	*b = lx->tokbuf[lx->ring];

	lx->ring = (lx->ring + 1) % LEX_TOKEN_RING;
	return (b);
}

static void
lex_word(struct lex *lx, struct token *t)
{
	char	*b = tokbuf(lx);
	size_t	 n = 0;
	int	 c, toolong = 0;

	while ((c = lex_peek(lx)) != -1 && is_word_char(c)) {
		if (n < LEX_MAX_TOKEN)
			b[n++] = c;
		else
			toolong = 1;
		lex_skip(lx);
	}
	b[n] = '\0';
	if (toolong) {
		lex_error(lx, t->file, t->line,
		    "word too long (more than %d bytes)", LEX_MAX_TOKEN);
		t->type = T_ERROR;
		return;
	}
	t->type = T_WORD;
	t->str = b;
	t->kw = lex_keyword(b);
}

/* After a backslash in a quoted string; -1: bad escape (reported). */
static int
lex_escape(struct lex *lx, struct token *t, int c)
{
	switch (c) {
	case '"':
	case '\\':
		return (c);
	case 'n':
		return ('\n');
	case 't':
		return ('\t');
	}
	if (c > 0x20 && c < 0x7f)
		lex_error(lx, t->file, t->line,
		    "invalid escape \"\\%c\" in quoted string", c);
	else
		lex_error(lx, t->file, t->line, "invalid escape in quoted "
		    "string: backslash and 0x%02x", c);
	return (-1);
}

static void
lex_quoted(struct lex *lx, struct token *t)
{
	char	*b = tokbuf(lx);
	size_t	 n = 0;
	int	 c, bad = 0, toolong = 0;

	lex_skip(lx);			/* the opening quote */
	t->type = T_ERROR;
	for (;;) {
		if ((c = lex_peek(lx)) == -1) {
			lex_error(lx, t->file, t->line,
			    "unterminated quoted string");
			return;
		}
		if (c == '\n') {	/* left for the statement's end */
			lex_error(lx, t->file, t->line,
			    "newline in quoted string");
			return;
		}
		lex_skip(lx);
		if (c == '"')
			break;
		if (c == '\\') {
			if ((c = lex_peek(lx)) == -1 || c == '\n')
				continue;	/* reported above */
			lex_skip(lx);
			if ((c = lex_escape(lx, t, c)) == -1) {
				bad = 1;
				continue;
			}
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			lex_error(lx, t->file, t->line,
			    "invalid character 0x%02x in quoted string", c);
			bad = 1;
			continue;
		}
		if (n < LEX_MAX_TOKEN)
			b[n++] = c;
		else
			toolong = 1;
	}
	b[n] = '\0';
	if (toolong)
		lex_error(lx, t->file, t->line,
		    "quoted string too long (more than %d bytes)",
		    LEX_MAX_TOKEN);
	else if (!bad) {
		t->type = T_STRING;
		t->str = b;
	}
}

/* "$name": push the macro's value; -1 if it cannot be (reported). */
static int
lex_expand(struct lex *lx, const struct token *t)
{
	struct lex_src	*s, *f = lex_file(lx);
	char		 name[LEX_MAX_MACRO_NAME + 1];
	const char	*val;
	size_t		 n = 0, vlen;
	int		 c, toolong = 0;

	lex_skip(lx);			/* '$' */
	while ((c = lex_peek_here(lx, 0)) != -1 && is_macro_char(c)) {
		if (n < sizeof(name) - 1)
			name[n++] = c;
		else
			toolong = 1;
		lex_skip(lx);
	}
	name[n] = '\0';
	if (n == 0) {
		lex_error(lx, t->file, t->line, "macro name missing after '$'");
		return (-1);
	}
	if (toolong || (val = lex_macro_value(lx, name)) == NULL) {
		lex_error(lx, t->file, t->line, "undefined macro \"%s%s\"",
		    name, toolong ? "..." : "");
		return (-1);
	}
	SLIST_FOREACH(s, &lx->stack, next) {
		if (s->is_file)
			break;
		if (strcmp(s->name, name) == 0) {
			lex_error(lx, t->file, t->line,
			    "recursive macro \"%s\"", name);
			return (-1);
		}
	}
	if (lx->nexpand >= LEX_MAX_EXPAND_DEPTH) {
		lex_error(lx, t->file, t->line,
		    "macro expansion too deep (more than %d levels)",
		    LEX_MAX_EXPAND_DEPTH);
		return (-1);
	}
	vlen = strlen(val);
	if (lx->expanded + vlen + 1 > LEX_MAX_EXPANDED) {
		lex_fatal(lx, t->file, t->line,
		    "macros expand to more than 1 MiB in all");
		return (-1);
	}
	lx->expanded += vlen + 1;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->name = strdup(name)) == NULL ||
	    (s->buf = strdup(val)) == NULL) {
		if (s != NULL)
			src_free(s);
		lex_oom(lx);
		return (-1);
	}
	s->len = vlen;
	s->file = f;
	SLIST_INSERT_HEAD(&lx->stack, s, next);
	lx->nexpand++;
	return (0);
}

/* Returns 1 when c, seen at a token's start, was only a separator. */
static int
lex_space(struct lex *lx, int c)
{
	switch (c) {
	case ' ':
	case '\t':
	case '\r':
	case '\f':
	case '\v':
		lex_skip(lx);
		return (1);
	case '\n':
		if (!in_macro(lx))
			return (0);	/* ends a statement */
		lex_skip(lx);
		return (1);
	case '\\':			/* continued on the next line */
		if (lex_peek_here(lx, 1) == '\n') {
			lex_skip(lx);
			lex_skip(lx);
			return (1);
		}
		if (lex_peek_here(lx, 1) == '\r' &&
		    lex_peek_here(lx, 2) == '\n') {
			lex_skip(lx);
			lex_skip(lx);
			lex_skip(lx);
			return (1);
		}
		return (0);
	case '#':
		while ((c = lex_peek(lx)) != -1 && c != '\n')
			lex_skip(lx);
		return (1);
	}
	return (0);
}

void
lex_next(struct lex *lx, struct token *t)
{
	struct lex_src	*f;
	int		 c;

	if (lx->has_back) {
		*t = lx->back;
		lx->has_back = 0;
		return;
	}
	memset(t, 0, sizeof(*t));
	for (;;) {
		c = lx->abort ? -1 : lex_peek(lx);
		f = lex_file(lx);
		t->file = f != NULL ? f->name : "ghp.conf";
		t->line = f != NULL ? f->lineno : 1;
		if (c == -1) {
			t->type = T_EOF;
			t->line = lex_eof_line(lx);
			return;
		}
		if (lex_space(lx, c))
			continue;
		if (c != '$')
			break;
		if (lex_expand(lx, t) == -1) {
			t->type = T_ERROR;
			return;
		}
	}
	switch (c) {
	case '\n':
		lex_skip(lx);
		t->type = T_NEWLINE;
		return;
	case '"':
		lex_quoted(lx, t);
		return;
	case '{':
		t->type = T_LBRACE;
		break;
	case '}':
		t->type = T_RBRACE;
		break;
	case '=':
		t->type = T_EQUALS;
		break;
	default:
		if (is_word_char(c)) {
			lex_word(lx, t);
			return;
		}
		if (c > 0x20 && c < 0x7f)
			lex_error(lx, t->file, t->line,
			    "unexpected character '%c'", c);
		else
			lex_error(lx, t->file, t->line,
			    "unexpected character 0x%02x", c);
		t->type = T_ERROR;
		break;
	}
	lex_skip(lx);
}

void
lex_unget(struct lex *lx, const struct token *t)
{
	lx->back = *t;
	lx->has_back = 1;
}

const char *
lex_describe(const struct token *t, char *buf, size_t len)
{
	switch (t->type) {
	case T_EOF:
		return ("end of file");
	case T_NEWLINE:
		return ("end of line");
	case T_LBRACE:
		return ("'{'");
	case T_RBRACE:
		return ("'}'");
	case T_EQUALS:
		return ("'='");
	case T_ERROR:
		return ("an invalid token");
	case T_WORD:
	case T_STRING:
		break;
	}
	if (strlen(t->str) > 64)
		snprintf(buf, len, "\"%.64s...\"", t->str);
	else
		snprintf(buf, len, "\"%s\"", t->str);
	return (buf);
}

