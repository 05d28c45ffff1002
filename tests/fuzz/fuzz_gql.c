/*
 * fuzz_gql.c: gql_parse() (common/gql.c, common/gql_lex.c) on arbitrary
 * text.
 *
 * The input is the text, handed over in a buffer of its own size, not
 * NUL-terminated, and freed before the document is looked at, so that
 * AddressSanitizer catches a read past its end or a document that still
 * points into it.  Aborts when a promise of gql.h breaks:
 *  - the result is 0 with a document, or -1 with none and a one-line
 *    reason "line L col C: what" in printable ASCII, L and C within the
 *    text; err is untouched on success, and an err of any smaller size
 *    (from the input's length) gets the same answer, cut short;
 *  - there is an operation; with more than one, each is named and the
 *    names differ; gql_operation() finds each by name, and the only one
 *    without; fragment names differ, none is "on", gql_fragment() finds
 *    each; every spread names a fragment, and no fragment reaches itself
 *    through spreads;
 *  - names are GraphQL names; types are a name in "[" "]" and "!" as the
 *    grammar has them, without spaces; selection sets are never empty and
 *    nest at most GQL_MAX_DEPTH deep, list and object values too; default
 *    values hold no variable; each kind of selection and value fills the
 *    fields it should and leaves the others NULL; lines and columns are
 *    at least 1;
 *  - strings are valid UTF-8 with len == strlen (gql_parse() refuses
 *    \u0000); numbers follow the grammar of IntValue and FloatValue;
 *  - the document printed back as GraphQL parses, and prints the same.
 * Seeds: tests/fuzz/corpus/gql/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gql.h"

#define MAXLEN	16384

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Checks on pieces.
 */

static int
name_ok(const char *s)
{
	size_t i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static void
check_name(const char *s)
{
	if (!name_ok(s))
		abort();
}

static int
utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0, k, j;
	uint32_t cp;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			k = 1;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			k = 2;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			k = 3;
		else
			return 0;
		if (n - i <= k)
			return 0;
		cp = p[i] & (0x3f >> k);
		for (j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += k + 1;
	}
	return 1;
}

static const char *
digits(const char *p)
{
	const char *start = p;

	while (*p >= '0' && *p <= '9')
		p++;
	return p > start ? p : NULL;
}

/* IntValue, or FloatValue when isfloat. */
static void
check_number(const char *s, int isfloat)
{
	const char *p = s;
	int frac = 0;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p < '1' || *p > '9' || (p = digits(p)) == NULL)
		abort();
	if (*p == '.') {
		if ((p = digits(p + 1)) == NULL)
			abort();
		frac = 1;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if ((p = digits(p)) == NULL)
			abort();
		frac = 1;
	}
	if (*p != '\0' || frac != isfloat)
		abort();
}

/* "[" * n, a name, "!"?, then n times "]" "!"?. */
static void
check_type(const char *s)
{
	size_t open = 0, i = 0, start;

	if (s == NULL)
		abort();
	while (s[i] == '[') {
		open++;
		i++;
	}
	if (open > GQL_MAX_DEPTH)
		abort();
	start = i;
	while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	    (s[i] >= '0' && s[i] <= '9') || s[i] == '_')
		i++;
	if (i == start || (s[start] >= '0' && s[start] <= '9'))
		abort();
	if (s[i] == '!')
		i++;
	for (; open > 0; open--) {
		if (s[i++] != ']')
			abort();
		if (s[i] == '!')
			i++;
	}
	if (s[i] != '\0')
		abort();
}

/* Nothing may point into the text, which is gone; its bytes were here. */
static const char *text_lo, *text_hi;

static void
not_in_text(const void *p)
{
	if ((const char *)p >= text_lo && (const char *)p < text_hi)
		abort();
}

/*
 * The walk.
 */

struct frag {
	const struct gql_fragment *f;
	size_t		*to;		/* the fragments it spreads */
	size_t		 nto;
	int		 color;	/* 0 new, 1 on the path, 2 done */
};

struct walk {
	const struct gql_doc *doc;
	struct frag	*frags;
	size_t		 nfrags;
	struct frag	*cur;		/* the fragment being walked */
	int		 lines;		/* in the text */
};

static void
check_value(const struct gql_value *v, int konst, int depth, int member)
{
	const struct gql_value *i;

	if ((member && !name_ok(v->name)) || (!member && v->name != NULL))
		abort();
	not_in_text(v->name);
	if (v->kind == GQL_V_LIST || v->kind == GQL_V_OBJECT) {
		if (v->s != NULL || depth > GQL_MAX_DEPTH)
			abort();
		for (i = v->items; i != NULL; i = i->next)
			check_value(i, konst, depth + 1,
			    v->kind == GQL_V_OBJECT);
		return;
	}
	if (v->s == NULL || v->items != NULL || strlen(v->s) != v->len)
		abort();
	not_in_text(v->s);
	switch (v->kind) {
	case GQL_V_VARIABLE:
		if (konst)
			abort();
		check_name(v->s);
		break;
	case GQL_V_INT:
	case GQL_V_FLOAT:
		check_number(v->s, v->kind == GQL_V_FLOAT);
		break;
	case GQL_V_STRING:
		if (!utf8_ok((const unsigned char *)v->s, v->len))
			abort();
		break;
	case GQL_V_BOOLEAN:
		if (strcmp(v->s, "true") != 0 && strcmp(v->s, "false") != 0)
			abort();
		break;
	case GQL_V_NULL:
		if (strcmp(v->s, "null") != 0)
			abort();
		break;
	case GQL_V_ENUM:
		check_name(v->s);
		if (strcmp(v->s, "true") == 0 || strcmp(v->s, "false") == 0 ||
		    strcmp(v->s, "null") == 0)
			abort();
		break;
	default:
		abort();
	}
}

static void
check_args(const struct gql_argument *a, int konst)
{
	for (; a != NULL; a = a->next) {
		check_name(a->name);
		not_in_text(a->name);
		if (a->value == NULL)
			abort();
		check_value(a->value, konst, 1, 0);
	}
}

static void
check_dirs(const struct gql_directive *d)
{
	for (; d != NULL; d = d->next) {
		check_name(d->name);
		check_args(d->args, 0);
	}
}

static void
add_edge(struct walk *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->nfrags; i++)
		if (strcmp(w->frags[i].f->name, name) == 0)
			break;
	if (i == w->nfrags || gql_fragment(w->doc, name) != w->frags[i].f)
		abort();
	if (w->cur == NULL)
		return;
	w->cur->to = realloc(w->cur->to, (w->cur->nto + 1) * sizeof(size_t));
	if (w->cur->to == NULL)
		abort();
	w->cur->to[w->cur->nto++] = i;
}

static void
check_sel(struct walk *w, const struct gql_selection *s, int depth)
{
	if (s == NULL || depth > GQL_MAX_DEPTH)
		abort();
	for (; s != NULL; s = s->next) {
		if (s->line < 1 || s->line > w->lines || s->col < 1)
			abort();
		check_dirs(s->directives);
		switch (s->kind) {
		case GQL_FIELD:
			check_name(s->name);
			if ((s->alias != NULL && !name_ok(s->alias)) ||
			    s->type_cond != NULL)
				abort();
			check_args(s->args, 0);
			if (s->sel != NULL)
				check_sel(w, s->sel, depth + 1);
			break;
		case GQL_SPREAD:
			check_name(s->name);
			if (strcmp(s->name, "on") == 0 || s->alias != NULL ||
			    s->type_cond != NULL || s->args != NULL ||
			    s->sel != NULL)
				abort();
			add_edge(w, s->name);
			break;
		case GQL_INLINE:
			if ((s->type_cond != NULL && !name_ok(s->type_cond)) ||
			    s->name != NULL || s->alias != NULL ||
			    s->args != NULL)
				abort();
			check_sel(w, s->sel, depth + 1);
			break;
		default:
			abort();
		}
	}
}

static void
check_op(struct walk *w, const struct gql_operation *op)
{
	const struct gql_variable *v;

	if ((unsigned)op->kind > GQL_SUBSCRIPTION)
		abort();
	if (op->name != NULL) {
		check_name(op->name);
		if (gql_operation(w->doc, op->name) != op)
			abort();
	} else if (w->doc->noperations != 1)
		abort();
	if ((gql_operation(w->doc, NULL) == op) != (w->doc->noperations == 1))
		abort();
	for (v = op->variables; v != NULL; v = v->next) {
		check_name(v->name);
		check_type(v->type);
		not_in_text(v->type);
		if (v->default_value != NULL)
			check_value(v->default_value, 1, 1, 0);
	}
	check_dirs(op->directives);
	w->cur = NULL;
	check_sel(w, op->sel, 1);
}

/* A spread that reaches its own fragment again. */
static int
cycle(struct walk *w, struct frag *f)
{
	size_t i;

	if (f->color == 1)
		return 1;
	if (f->color == 2)
		return 0;
	f->color = 1;
	for (i = 0; i < f->nto; i++)
		if (cycle(w, &w->frags[f->to[i]]))
			return 1;
	f->color = 2;
	return 0;
}

static void
check_doc(const struct gql_doc *doc, int lines)
{
	const struct gql_operation *op;
	const struct gql_fragment *f;
	struct walk w;
	size_t i, n;

	memset(&w, 0, sizeof(w));
	w.doc = doc;
	w.lines = lines;
	if (doc->noperations == 0 || doc->arena == NULL)
		abort();
	for (n = 0, f = doc->fragments; f != NULL; f = f->next)
		n++;
	if (n != doc->nfragments)
		abort();
	if ((w.frags = calloc(n + 1, sizeof(*w.frags))) == NULL)
		abort();
	for (i = 0, f = doc->fragments; f != NULL; f = f->next, i++) {
		w.frags[i].f = f;
		check_name(f->name);
		check_name(f->type_cond);
		if (strcmp(f->name, "on") == 0 ||
		    gql_fragment(doc, f->name) != f)
			abort();
	}
	w.nfrags = n;
	for (n = 0, op = doc->operations; op != NULL; op = op->next, n++)
		check_op(&w, op);
	if (n != doc->noperations)
		abort();
	for (i = 0; i < w.nfrags; i++) {
		check_dirs(w.frags[i].f->directives);
		w.cur = &w.frags[i];
		check_sel(&w, w.frags[i].f->sel, 1);
	}
	for (i = 0; i < w.nfrags; i++)
		if (cycle(&w, &w.frags[i]))
			abort();
	for (i = 0; i < w.nfrags; i++)
		free(w.frags[i].to);
	free(w.frags);
}

/*
 * The document printed back as GraphQL.
 */

struct buf {
	char	*s;
	size_t	 len, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->s = realloc(b->s, b->cap)) == NULL)
			abort();
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void
print_value(struct buf *b, const struct gql_value *v)
{
	const struct gql_value *i;
	char esc[8];
	size_t k;

	switch (v->kind) {
	case GQL_V_VARIABLE:
		puts_(b, "$");
		puts_(b, v->s);
		break;
	case GQL_V_STRING:
		puts_(b, "\"");
		for (k = 0; k < v->len; k++) {
			if (v->s[k] == '"' || v->s[k] == '\\') {
				esc[0] = '\\';
				esc[1] = v->s[k];
				put(b, esc, 2);
			} else if ((unsigned char)v->s[k] < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x",
				    (unsigned char)v->s[k]);
				puts_(b, esc);
			} else
				put(b, v->s + k, 1);
		}
		puts_(b, "\"");
		break;
	case GQL_V_LIST:
	case GQL_V_OBJECT:
		puts_(b, v->kind == GQL_V_LIST ? "[" : "{");
		for (i = v->items; i != NULL; i = i->next) {
			if (v->kind == GQL_V_OBJECT) {
				puts_(b, i->name);
				puts_(b, ":");
			}
			print_value(b, i);
			puts_(b, " ");
		}
		puts_(b, v->kind == GQL_V_LIST ? "]" : "}");
		break;
	default:
		puts_(b, v->s);
		break;
	}
}

static void
print_args(struct buf *b, const struct gql_argument *a)
{
	if (a == NULL)
		return;
	puts_(b, "(");
	for (; a != NULL; a = a->next) {
		puts_(b, a->name);
		puts_(b, ":");
		print_value(b, a->value);
		puts_(b, " ");
	}
	puts_(b, ")");
}

static void
print_dirs(struct buf *b, const struct gql_directive *d)
{
	for (; d != NULL; d = d->next) {
		puts_(b, "@");
		puts_(b, d->name);
		print_args(b, d->args);
		puts_(b, " ");
	}
}

static void
print_sel(struct buf *b, const struct gql_selection *s)
{
	puts_(b, "{");
	for (; s != NULL; s = s->next) {
		switch (s->kind) {
		case GQL_FIELD:
			if (s->alias != NULL) {
				puts_(b, s->alias);
				puts_(b, ":");
			}
			puts_(b, s->name);
			print_args(b, s->args);
			break;
		case GQL_SPREAD:
			puts_(b, "...");
			puts_(b, s->name);
			break;
		case GQL_INLINE:
			puts_(b, "...");
			if (s->type_cond != NULL) {
				puts_(b, "on ");
				puts_(b, s->type_cond);
			}
			break;
		}
		puts_(b, " ");
		print_dirs(b, s->directives);
		if (s->sel != NULL)
			print_sel(b, s->sel);
		puts_(b, " ");
	}
	puts_(b, "}");
}

static void
print_doc(struct buf *b, const struct gql_doc *doc)
{
	static const char *const kinds[] = { "query", "mutation",
	    "subscription" };
	const struct gql_operation *op;
	const struct gql_variable *v;
	const struct gql_fragment *f;

	for (op = doc->operations; op != NULL; op = op->next) {
		if (op->kind != GQL_QUERY || op->name != NULL ||
		    op->variables != NULL || op->directives != NULL) {
			puts_(b, kinds[op->kind]);
			puts_(b, " ");
		}
		if (op->name != NULL)
			puts_(b, op->name);
		if (op->variables != NULL) {
			puts_(b, "(");
			for (v = op->variables; v != NULL; v = v->next) {
				puts_(b, "$");
				puts_(b, v->name);
				puts_(b, ":");
				puts_(b, v->type);
				if (v->default_value != NULL) {
					puts_(b, "=");
					print_value(b, v->default_value);
				}
				puts_(b, " ");
			}
			puts_(b, ")");
		}
		puts_(b, " ");
		print_dirs(b, op->directives);
		print_sel(b, op->sel);
		puts_(b, "\n");
	}
	for (f = doc->fragments; f != NULL; f = f->next) {
		puts_(b, "fragment ");
		puts_(b, f->name);
		puts_(b, " on ");
		puts_(b, f->type_cond);
		puts_(b, " ");
		print_dirs(b, f->directives);
		print_sel(b, f->sel);
		puts_(b, "\n");
	}
}

/*
 * The errors.
 */

static void
check_err(const char *err, size_t errlen, int lines, size_t len)
{
	int line, col, n = 0;
	const char *p;

	if (memchr(err, '\0', errlen) == NULL)
		abort();
	if (sscanf(err, "line %d col %d: %n", &line, &col, &n) != 2 || n == 0)
		abort();
	if (line < 1 || line > lines || col < 1 || (size_t)col > len + 1)
		abort();
	if (err[n] == '\0')
		abort();
	for (p = err; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

/* Lines of the text: LF, CR or CRLF end one. */
static int
count_lines(const uint8_t *s, size_t n)
{
	size_t i;
	int lines = 1;

	for (i = 0; i < n; i++)
		if (s[i] == '\n' || (s[i] == '\r' &&
		    (i + 1 == n || s[i + 1] != '\n')))
			lines++;
	return lines;
}

static void
round_trip(const struct gql_doc *doc)
{
	struct buf one = { NULL, 0, 0 }, two = { NULL, 0, 0 };
	struct gql_doc *again;
	char err[GQL_ERR_MAX];

	print_doc(&one, doc);
	if (gql_parse(one.s, one.len, &again, err, sizeof(err)) != 0) {
		fprintf(stderr, "printed: %s\nrefused: %s\n", one.s, err);
		abort();
	}
	print_doc(&two, again);
	if (one.len != two.len || memcmp(one.s, two.s, one.len) != 0) {
		fprintf(stderr, "printed: %s\nthen: %s\n", one.s, two.s);
		abort();
	}
	gql_free(again);
	free(one.s);
	free(two.s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gql_doc *doc, *doc2;
	char err[GQL_ERR_MAX], *text, *small;
	size_t smalllen, i;
	int r, r2, lines;

	if (size > MAXLEN)
		return 0;
	lines = count_lines(data, size);
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(text, data, size);
	memset(err, 'X', sizeof(err));
	doc = (struct gql_doc *)&doc;
	r = gql_parse(text, size, &doc, err, sizeof(err));
	text_lo = text;
	text_hi = text + size;

	/* Any smaller err: the same answer, cut short. */
	smalllen = size % sizeof(err);
	if ((small = malloc(smalllen > 0 ? smalllen : 1)) == NULL)
		abort();
	r2 = gql_parse(text, size, &doc2, small, smalllen);
	free(text);
	if (r2 != r)
		abort();
	if (r2 == 0)
		gql_free(doc2);
	else if (doc2 != NULL)
		abort();
	if (r == -1 && smalllen > 0 && (memchr(small, '\0', smalllen) ==
	    NULL || strncmp(small, err, strlen(small)) != 0 ||
	    strlen(small) != (strlen(err) < smalllen - 1 ? strlen(err) :
	    smalllen - 1)))
		abort();
	free(small);

	if (r == -1) {
		if (doc != NULL)
			abort();
		check_err(err, sizeof(err), lines, size);
		return 0;
	}
	if (r != 0 || doc == NULL)
		abort();
	for (i = 0; i < sizeof(err); i++)
		if (err[i] != 'X')
			abort();
	check_doc(doc, lines);
	round_trip(doc);
	gql_free(doc);
	return 0;
}
