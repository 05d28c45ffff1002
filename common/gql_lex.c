/*
 * gql_lex.c: the GraphQL lexer (October 2021 specification, section
 * 2.1), the arena a document lives in, and error reporting.
 *
 * The text is read through s[0..len) only: it need not end in a NUL and
 * every look at a later byte is bounded by len.  Characters are UTF-8;
 * the only ones outside ASCII that may appear are in strings and
 * comments, and those are checked to be well formed (no overlong forms,
 * no surrogates, nothing past U+10FFFF).  Columns count characters, not
 * bytes, from 1; a line ends at LF, CR or CRLF.
 *
 * An error shows no byte of the text but a punctuator or a name's first
 * characters: the text may hold secrets, and the error may be logged.
 *
 * A string is read twice: once to find its end and check it, reporting
 * where it goes wrong, then again to decode it into an arena buffer as
 * long as its text, which is always enough since no escape is shorter
 * than what it stands for.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gql_priv.h"

/*
 * The arena: a list of zeroed chunks.  A request bigger than a quarter of
 * a chunk gets a chunk of its own, so at least three quarters of every
 * other chunk is in use and the arena stays within a fixed multiple of
 * what was asked for.
 */
#define CHUNK_SIZE	(16 * 1024)
#define NAME_SHOWN	40	/* characters of a name in an error */
#define ALIGN		(_Alignof(max_align_t))

struct chunk {
	struct chunk	*next;
	size_t		 size;
	size_t		 used;
	max_align_t	 data[];
};

struct gql_arena {
	struct chunk	*head;		/* the one being filled */
};

struct gql_arena *
gql_arena_new(void)
{
	return calloc(1, sizeof(struct gql_arena));
}

void *
gql_arena_alloc(struct gql_arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t size;
	void *p;

	if (n > GQL_MAX_TEXT * (size_t)16)
		return NULL;
	n = (n + ALIGN - 1) & ~(ALIGN - 1);
	if (c == NULL || c->size - c->used < n) {
		size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
		if ((c = calloc(1, sizeof(*c) + size)) == NULL)
			return NULL;
		c->size = size;
		if (size != CHUNK_SIZE && a->head != NULL) {
			/* Behind the head, whose room is still usable. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

void
gql_arena_free(struct gql_arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

/* The first error wins: whatever fails after it only unwinds. */
int
gql_error(struct gql_lex *lx, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (lx->failed || lx->err == NULL || lx->errlen == 0) {
		lx->failed = 1;
		return -1;
	}
	lx->failed = 1;
	n = snprintf(lx->err, lx->errlen, "line %d col %d: ", line, col);
	if (n < 0 || (size_t)n >= lx->errlen)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "expected want, found" what the current token is. */
int
gql_unexpected(struct gql_lex *lx, const char *want)
{
	const struct gql_tok *t = &lx->tok;
	const char *s = (const char *)lx->s + t->start;

	switch (t->type) {
	case TOK_EOF:
		return gql_error(lx, t->line, t->col,
		    "expected %s, found the end", want);
	case TOK_NAME:
	case TOK_PUNCT:
		return gql_error(lx, t->line, t->col,
		    "expected %s, found \"%.*s%s\"", want,
		    t->len > NAME_SHOWN ? NAME_SHOWN : (int)t->len, s,
		    t->len > NAME_SHOWN ? "..." : "");
	case TOK_INT:
	case TOK_FLOAT:
		return gql_error(lx, t->line, t->col,
		    "expected %s, found a number", want);
	case TOK_STRING:
		break;
	}
	return gql_error(lx, t->line, t->col, "expected %s, found a string",
	    want);
}

/* "what \"name\"", the name cut short. */
int
gql_error_name(struct gql_lex *lx, int line, int col, const char *what,
    const char *name)
{
	return gql_error(lx, line, col, "%s \"%.*s%s\"", what, NAME_SHOWN,
	    name, strlen(name) > NAME_SHOWN ? "..." : "");
}

void *
gql_lex_alloc(struct gql_lex *lx, size_t n)
{
	void *p;

	if ((p = gql_arena_alloc(lx->arena, n)) == NULL)
		(void)gql_error(lx, lx->tok.line, lx->tok.col, "out of memory");
	return p;
}

/* A NUL-terminated copy of len bytes of the text from start. */
char *
gql_lex_copy(struct gql_lex *lx, size_t start, size_t len)
{
	char *p;

	if ((p = gql_lex_alloc(lx, len + 1)) == NULL)
		return NULL;
	memcpy(p, lx->s + start, len);
	p[len] = '\0';
	return p;
}

void
gql_lex_init(struct gql_lex *lx, const char *text, size_t len, char *err,
    size_t errlen)
{
	memset(lx, 0, sizeof(*lx));
	lx->s = (const unsigned char *)text;
	lx->len = len;
	lx->line = lx->col = 1;
	lx->tok.line = lx->tok.col = 1;
	lx->err = err;
	lx->errlen = errlen;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned
hex_val(int c)
{
	if (is_digit(c))
		return (unsigned)(c - '0');
	return (unsigned)((c | 0x20) - 'a' + 10);
}

/* The length of the UTF-8 sequence at p, or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	if (n < 2 || (p[1] & 0xc0) != 0x80)
		return 0;
	if (p[0] < 0xe0)
		return 2;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))
		return 0;	/* overlong, or a surrogate */
	if (n < 3 || (p[2] & 0xc0) != 0x80)
		return 0;
	if (p[0] < 0xf0)
		return 3;
	if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;	/* overlong, or past U+10FFFF */
	if (n < 4 || (p[3] & 0xc0) != 0x80)
		return 0;
	return 4;
}

/* The code point of a well-formed sequence of n bytes. */
static unsigned
utf8_cp(const unsigned char *p, size_t n)
{
	unsigned cp;
	size_t i;

	if (n == 1)
		return p[0];
	cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

static size_t
utf8_put(unsigned cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* What is wrong with the byte at i, which nothing may start with. */
static int
bad_char(struct gql_lex *lx, size_t i, int line, int col)
{
	unsigned c = lx->s[i];
	size_t n;

	if (c == 0)
		return gql_error(lx, line, col, "NUL byte");
	if (c < 0x20)
		return gql_error(lx, line, col, "control character U+%04X", c);
	if (c < 0x80)
		return gql_error(lx, line, col, "unexpected character U+%04X",
		    c);
	if ((n = utf8_len(lx->s + i, lx->len - i)) == 0)
		return gql_error(lx, line, col, "invalid UTF-8");
	return gql_error(lx, line, col, "unexpected character U+%04X",
	    utf8_cp(lx->s + i, n));
}

static void
newline(struct gql_lex *lx)
{
	if (lx->s[lx->pos] == '\r' && lx->pos + 1 < lx->len &&
	    lx->s[lx->pos + 1] == '\n')
		lx->pos++;
	lx->pos++;
	lx->line++;
	lx->col = 1;
}

/* "#" to the end of the line, which is left for the caller. */
static int
skip_comment(struct gql_lex *lx)
{
	const unsigned char *s = lx->s;
	size_t n;

	for (;;) {
		lx->pos++;
		lx->col++;
		if (lx->pos >= lx->len || s[lx->pos] == '\n' ||
		    s[lx->pos] == '\r')
			return 0;
		if (s[lx->pos] < 0x20 && s[lx->pos] != '\t')
			return bad_char(lx, lx->pos, lx->line, lx->col);
		if (s[lx->pos] >= 0x80) {
			if ((n = utf8_len(s + lx->pos, lx->len - lx->pos)) == 0)
				return bad_char(lx, lx->pos, lx->line, lx->col);
			lx->pos += n - 1;
		}
	}
}

/* White space, line ends, commas, comments; a BOM at the very start. */
static int
skip_ignored(struct gql_lex *lx)
{
	if (lx->pos == 0 && lx->len >= 3 &&
	    memcmp(lx->s, "\xef\xbb\xbf", 3) == 0)
		lx->pos = 3;
	while (lx->pos < lx->len) {
		switch (lx->s[lx->pos]) {
		case ' ':
		case '\t':
		case ',':
			lx->pos++;
			lx->col++;
			break;
		case '\n':
		case '\r':
			newline(lx);
			break;
		case '#':
			if (skip_comment(lx) == -1)
				return -1;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

/* Fails at byte at of the current line, which is ASCII up to there. */
static int
fail_at(struct gql_lex *lx, size_t at, const char *what)
{
	return gql_error(lx, lx->line, lx->col + (int)(at - lx->pos), "%s",
	    what);
}

static int
lex_name(struct gql_lex *lx)
{
	size_t i = lx->pos + 1;

	while (i < lx->len && (is_name_start(lx->s[i]) || is_digit(lx->s[i])))
		i++;
	lx->tok.type = TOK_NAME;
	return (int)i;
}

static size_t
digits(struct gql_lex *lx, size_t i)
{
	while (i < lx->len && is_digit(lx->s[i]))
		i++;
	return i;
}

/* IntValue and FloatValue, with their lookahead restrictions. */
static int
lex_number(struct gql_lex *lx)
{
	const unsigned char *s = lx->s;
	size_t i = lx->pos, len = lx->len;

	lx->tok.type = TOK_INT;
	if (s[i] == '-')
		i++;
	if (i >= len || !is_digit(s[i]))
		return fail_at(lx, i, "expected a digit after '-'");
	if (s[i] == '0' && i + 1 < len && is_digit(s[i + 1]))
		return fail_at(lx, i, "a leading zero in a number");
	i = digits(lx, i);
	if (i < len && s[i] == '.') {
		if (++i >= len || !is_digit(s[i]))
			return fail_at(lx, i, "expected a digit after '.'");
		i = digits(lx, i);
		lx->tok.type = TOK_FLOAT;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !is_digit(s[i]))
			return fail_at(lx, i,
			    "expected a digit in the exponent");
		i = digits(lx, i);
		lx->tok.type = TOK_FLOAT;
	}
	if (i < len && (s[i] == '.' || is_name_start(s[i])))
		return fail_at(lx, i, "a letter or '.' right after a number");
	return (int)i;
}

/*
 * One character of a quoted string's body at *ip, decoded into out: how
 * many bytes it decodes to, or -1 and why.  *ip moves past it.
 */
static int
str_char(const unsigned char *s, size_t len, size_t *ip, unsigned char *out,
    const char **why)
{
	size_t i = *ip, n;
	unsigned cp, lo;
	const char *esc = "\"\"\\\\//b\bf\fn\nr\rt\t";

	if (s[i] == '\n' || s[i] == '\r') {
		*why = "unterminated string";
		return -1;
	}
	if (s[i] < 0x20 && s[i] != '\t') {
		*why = s[i] == 0 ? "NUL byte" : "control character in a string";
		return -1;
	}
	if (s[i] >= 0x80) {
		if ((n = utf8_len(s + i, len - i)) == 0) {
			*why = "invalid UTF-8";
			return -1;
		}
		memcpy(out, s + i, n);
		*ip = i + n;
		return (int)n;
	}
	if (s[i] != '\\') {
		out[0] = s[i];
		*ip = i + 1;
		return 1;
	}
	*why = "bad escape";
	if (i + 1 >= len)
		return -1;
	if (s[i + 1] != 'u') {
		for (n = 0; esc[n] != '\0'; n += 2)
			if (esc[n] == s[i + 1]) {
				out[0] = (unsigned char)esc[n + 1];
				*ip = i + 2;
				return 1;
			}
		return -1;
	}
	if (i + 2 < len && s[i + 2] == '{') {
		*why = "\\u{...} escapes are not supported";
		return -1;
	}
	if (len - i < 6 || !is_hex(s[i + 2]) || !is_hex(s[i + 3]) ||
	    !is_hex(s[i + 4]) || !is_hex(s[i + 5]))
		return -1;
	cp = hex_val(s[i + 2]) << 12 | hex_val(s[i + 3]) << 8 |
	    hex_val(s[i + 4]) << 4 | hex_val(s[i + 5]);
	i += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		*why = "lone surrogate in a \\u escape";
		if (len - i < 6 || s[i] != '\\' || s[i + 1] != 'u' ||
		    !is_hex(s[i + 2]) || !is_hex(s[i + 3]) ||
		    !is_hex(s[i + 4]) || !is_hex(s[i + 5]))
			return -1;
		lo = hex_val(s[i + 2]) << 12 | hex_val(s[i + 3]) << 8 |
		    hex_val(s[i + 4]) << 4 | hex_val(s[i + 5]);
		if (lo < 0xdc00 || lo > 0xdfff)
			return -1;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		i += 6;
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		*why = "lone surrogate in a \\u escape";
		return -1;
	} else if (cp == 0) {
		*why = "\\u0000 in a string";
		return -1;
	}
	*ip = i;
	return (int)utf8_put(cp, out);
}

static int
lex_quoted(struct gql_lex *lx)
{
	const unsigned char *s = lx->s;
	unsigned char buf[4];
	size_t i, start = lx->pos + 1, o;
	int col = lx->col + 1, n;
	const char *why;
	char *out;

	for (i = start; i < lx->len && s[i] != '"'; ) {
		o = i;
		if (str_char(s, lx->len, &i, buf, &why) == -1) {
			if (strcmp(why, "unterminated string") == 0)
				return gql_error(lx, lx->line, lx->col, "%s",
				    why);
			return gql_error(lx, lx->line, col, "%s", why);
		}
		col += s[o] >= 0x80 ? 1 : (int)(i - o);
	}
	if (i >= lx->len)
		return gql_error(lx, lx->line, lx->col, "unterminated string");
	if ((out = gql_lex_alloc(lx, i - start + 1)) == NULL)
		return -1;
	lx->tok.sval = out;
	for (i = start, o = 0; s[i] != '"'; o += (size_t)n) {
		n = str_char(s, lx->len, &i, buf, &why);
		memcpy(out + o, buf, (size_t)n);
	}
	out[o] = '\0';
	lx->tok.svlen = o;
	lx->tok.type = TOK_STRING;
	lx->col = col;		/* the closing quote, counted below */
	return (int)(i + 1);
}

/* The line of b[0..n) from i: its end, and where the next one starts. */
static size_t
line_end(const char *b, size_t n, size_t i, size_t *next)
{
	while (i < n && b[i] != '\n' && b[i] != '\r')
		i++;
	*next = i + 1;
	if (i + 1 < n && b[i] == '\r' && b[i + 1] == '\n')
		*next = i + 2;
	return i;
}

static size_t
indent(const char *b, size_t i, size_t end)
{
	size_t n = 0;

	while (i + n < end && (b[i + n] == ' ' || b[i + n] == '\t'))
		n++;
	return n;
}

/*
 * BlockStringValue(): the common indent of the lines after the first
 * removed, blank lines at either end dropped, lines joined with LF.
 * Done in place, since the result never outgrows what it is made from.
 */
static size_t
block_dedent(char *b, size_t n)
{
	size_t i, e, next, ws, line, common = (size_t)-1;
	size_t first = (size_t)-1, last = 0, o = 0, cut;

	for (i = 0, line = 0; ; i = next, line++) {
		e = line_end(b, n, i, &next);
		ws = indent(b, i, e);
		if (ws < e - i) {
			if (line > 0 && ws < common)
				common = ws;
			if (first == (size_t)-1)
				first = line;
			last = line;
		}
		if (e >= n)
			break;
	}
	if (first == (size_t)-1)
		return 0;
	if (common == (size_t)-1)
		common = 0;
	for (i = 0, line = 0; line <= last; i = next, line++) {
		e = line_end(b, n, i, &next);
		if (line < first)
			continue;
		cut = 0;
		if (line > 0)
			cut = (ws = indent(b, i, e)) < common ? ws : common;
		if (line > first)
			b[o++] = '\n';
		memmove(b + o, b + i + cut, e - i - cut);
		o += e - i - cut;
	}
	return o;
}

static int
lex_block(struct gql_lex *lx)
{
	const unsigned char *s = lx->s;
	size_t i, start = lx->pos + 3, o, n = 0, len = lx->len;
	int line = lx->line, col = lx->col + 3;
	char *out;

	for (i = start; ; ) {
		if (i >= len)
			return gql_error(lx, lx->line, lx->col,
			    "unterminated block string");
		if (len - i >= 3 && memcmp(s + i, "\"\"\"", 3) == 0)
			break;
		if (len - i >= 4 && memcmp(s + i, "\\\"\"\"", 4) == 0) {
			i += 4;
			col += 4;
		} else if (s[i] == '\n' || s[i] == '\r') {
			i += s[i] == '\r' && i + 1 < len && s[i + 1] == '\n' ?
			    2 : 1;
			line++;
			col = 1;
		} else if ((s[i] < 0x20 && s[i] != '\t') || (s[i] >= 0x80 &&
		    (n = utf8_len(s + i, len - i)) == 0)) {
			if (s[i] < 0x20 && s[i] != 0)
				return gql_error(lx, line, col,
				    "control character in a string");
			return bad_char(lx, i, line, col);
		} else {
			i += s[i] >= 0x80 ? n : 1;
			col++;
		}
	}
	if ((out = gql_lex_alloc(lx, i - start + 1)) == NULL)
		return -1;
	for (n = start, o = 0; n < i; ) {
		if (i - n >= 4 && memcmp(s + n, "\\\"\"\"", 4) == 0)
			n++;
		out[o++] = (char)s[n++];
	}
	o = block_dedent(out, o);
	out[o] = '\0';
	lx->tok.sval = out;
	lx->tok.svlen = o;
	lx->tok.type = TOK_STRING;
	lx->line = line;
	lx->col = col + 2;
	return (int)(i + 3);
}

static int
lex_punct(struct gql_lex *lx)
{
	size_t i = lx->pos;

	lx->tok.type = TOK_PUNCT;
	lx->tok.punct = lx->s[i];
	if (lx->s[i] != '.')
		return (int)(i + 1);
	if (lx->len - i < 3 || lx->s[i + 1] != '.' || lx->s[i + 2] != '.')
		return fail_at(lx, i, "expected \"...\"");
	return (int)(i + 3);
}

/*
 * The next token into lx->tok: 0, or -1 on an error.  Each lex_*
 * function returns where its token ends, and leaves lx->line and lx->col
 * at its start unless it crosses a line (only a block string does) or
 * holds other than ASCII (only strings do): those set them to the last
 * character's.
 */
int
gql_lex_next(struct gql_lex *lx)
{
	struct gql_tok *t = &lx->tok;
	size_t start;
	int end;

	if (lx->failed || skip_ignored(lx) == -1)
		return -1;
	memset(t, 0, sizeof(*t));
	t->line = lx->line;
	t->col = lx->col;
	t->start = start = lx->pos;
	if (lx->pos >= lx->len) {
		t->type = TOK_EOF;
		return 0;
	}
	if (++lx->ntokens > GQL_MAX_TOKENS)
		return gql_error(lx, t->line, t->col, "more than %d tokens",
		    GQL_MAX_TOKENS);
	switch (lx->s[lx->pos]) {
	case '!': case '$': case '&': case '(': case ')': case '.':
	case ':': case '=': case '@': case '[': case ']': case '{':
	case '}': case '|':
		end = lex_punct(lx);
		break;
	case '"':
		if (lx->len - lx->pos >= 3 && lx->s[lx->pos + 1] == '"' &&
		    lx->s[lx->pos + 2] == '"')
			end = lex_block(lx);
		else
			end = lex_quoted(lx);
		break;
	default:
		if (is_name_start(lx->s[lx->pos]))
			end = lex_name(lx);
		else if (lx->s[lx->pos] == '-' || is_digit(lx->s[lx->pos]))
			end = lex_number(lx);
		else
			end = bad_char(lx, lx->pos, lx->line, lx->col);
		break;
	}
	if (end == -1)
		return -1;
	t->len = (size_t)end - start;
	if (t->type == TOK_STRING)
		lx->col++;
	else
		lx->col += (int)t->len;
	lx->pos = (size_t)end;
	return 0;
}
