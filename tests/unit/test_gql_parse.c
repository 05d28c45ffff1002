/*
 * test_gql_parse.c: gql_parse() and its lookups (common/gql.c,
 * common/gql_lex.c).  The text is always copied into a buffer of its own
 * length, without a NUL, and freed as soon as gql_parse() returns, so
 * that the sanitizer build catches a read past the end or a document
 * that still points into the text.  Most checks compare a document with
 * dump(), a compact printing of the whole tree:
 *   query Name($v:Type=default)@dir(arg:value){alias:field(arg:value)
 *   ...Spread ...on Type{...}}
 * with members of a selection set apart by one space, strings in
 * double quotes with \" \\ \n \r \t and \uXXXX for other controls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gql.h"
#include "unit.h"

static char	err[GQL_ERR_MAX];

/*
 * The dump.
 */

static char	dumpbuf[16384];
static size_t	dumplen;

static void
put(const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(dumpbuf) - 1 - dumplen)
		n = sizeof(dumpbuf) - 1 - dumplen;
	memcpy(dumpbuf + dumplen, s, n);
	dumplen += n;
	dumpbuf[dumplen] = '\0';
}

static void
put_string(const char *s, size_t len)
{
	char b[8];
	size_t i;

	put("\"");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			put("\\\"");
		else if (c == '\\')
			put("\\\\");
		else if (c == '\n')
			put("\\n");
		else if (c == '\r')
			put("\\r");
		else if (c == '\t')
			put("\\t");
		else {
			if (c < 0x20)
				snprintf(b, sizeof(b), "\\u%04x", c);
			else
				snprintf(b, sizeof(b), "%c", c);
			put(b);
		}
	}
	put("\"");
}

static void
put_value(const struct gql_value *v)
{
	const struct gql_value *i;

	switch (v->kind) {
	case GQL_V_VARIABLE:
		put("$");
		put(v->s);
		break;
	case GQL_V_STRING:
		put_string(v->s, v->len);
		break;
	case GQL_V_LIST:
	case GQL_V_OBJECT:
		put(v->kind == GQL_V_LIST ? "[" : "{");
		for (i = v->items; i != NULL; i = i->next) {
			if (v->kind == GQL_V_OBJECT) {
				put(i->name);
				put(":");
			}
			put_value(i);
			if (i->next != NULL)
				put(",");
		}
		put(v->kind == GQL_V_LIST ? "]" : "}");
		break;
	default:
		put(v->s);
		break;
	}
}

static void
put_args(const struct gql_argument *a)
{
	if (a == NULL)
		return;
	put("(");
	for (; a != NULL; a = a->next) {
		put(a->name);
		put(":");
		put_value(a->value);
		if (a->next != NULL)
			put(",");
	}
	put(")");
}

static void
put_dirs(const struct gql_directive *d)
{
	for (; d != NULL; d = d->next) {
		put("@");
		put(d->name);
		put_args(d->args);
	}
}

static void
put_sel(const struct gql_selection *s)
{
	put("{");
	for (; s != NULL; s = s->next) {
		switch (s->kind) {
		case GQL_FIELD:
			if (s->alias != NULL) {
				put(s->alias);
				put(":");
			}
			put(s->name);
			put_args(s->args);
			break;
		case GQL_SPREAD:
			put("...");
			put(s->name);
			break;
		case GQL_INLINE:
			put("...");
			if (s->type_cond != NULL) {
				put("on ");
				put(s->type_cond);
			}
			break;
		}
		put_dirs(s->directives);
		if (s->sel != NULL)
			put_sel(s->sel);
		if (s->next != NULL)
			put(" ");
	}
	put("}");
}

static const char *const op_kinds[] = { "query", "mutation", "subscription" };

static void
put_op(const struct gql_operation *op)
{
	const struct gql_variable *v;

	put(op_kinds[op->kind]);
	if (op->name != NULL) {
		put(" ");
		put(op->name);
	}
	if (op->variables != NULL) {
		put("(");
		for (v = op->variables; v != NULL; v = v->next) {
			put("$");
			put(v->name);
			put(":");
			put(v->type);
			if (v->default_value != NULL) {
				put("=");
				put_value(v->default_value);
			}
			if (v->next != NULL)
				put(",");
		}
		put(")");
	}
	put_dirs(op->directives);
	put_sel(op->sel);
}

/* Every operation then every fragment, apart by " | ". */
static const char *
dump(const struct gql_doc *doc)
{
	const struct gql_operation *op;
	const struct gql_fragment *f;

	dumplen = 0;
	dumpbuf[0] = '\0';
	for (op = doc->operations; op != NULL; op = op->next) {
		put_op(op);
		if (op->next != NULL || doc->fragments != NULL)
			put(" | ");
	}
	for (f = doc->fragments; f != NULL; f = f->next) {
		put("fragment ");
		put(f->name);
		put(" on ");
		put(f->type_cond);
		put_dirs(f->directives);
		put_sel(f->sel);
		if (f->next != NULL)
			put(" | ");
	}
	return dumpbuf;
}

/*
 * Parsing.
 */

/* gql_parse() on len bytes of text in a buffer of their own. */
static int
parse_n(const char *text, size_t len, struct gql_doc **doc)
{
	char *copy;
	int r;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, text, len);
	memset(err, 'E', sizeof(err));
	r = gql_parse(copy, len, doc, err, sizeof(err));
	free(copy);
	return r;
}

/* text must parse; the document, or NULL. */
static struct gql_doc *
ok_n(const char *text, size_t len)
{
	struct gql_doc *doc = NULL;
	int r;

	r = parse_n(text, len, &doc);
	if (r != 0)
		fprintf(stderr, "gql \"%.*s\": %.*s\n", (int)(len > 200 ? 200 :
		    len), text, (int)sizeof(err), err);
	CHECK(r == 0);
	CHECK(r != 0 || doc != NULL);
	return r == 0 ? doc : NULL;
}

static struct gql_doc *
ok(const char *text)
{
	return ok_n(text, strlen(text));
}

/* text must parse into what dump() prints as want. */
static void
same(const char *text, const char *want)
{
	struct gql_doc *doc;

	if ((doc = ok(text)) == NULL)
		return;
	CHECK_STR(dump(doc), want);
	gql_free(doc);
}

/* text must be refused, with "line L col C: " and want in the reason. */
static void
bad_n(const char *text, size_t len, const char *want)
{
	struct gql_doc *doc = (struct gql_doc *)&doc;
	int r;

	r = parse_n(text, len, &doc);
	if (r != -1) {
		fprintf(stderr, "gql \"%.*s\": accepted, want \"%s\"\n",
		    (int)(len > 200 ? 200 : len), text, want);
		gql_free(doc);
	}
	CHECK(r == -1);
	if (r != -1)
		return;
	CHECK(doc == NULL);
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	CHECK(strncmp(err, "line ", 5) == 0 && strstr(err, " col ") != NULL);
	if (strstr(err, want) == NULL)
		fprintf(stderr, "gql \"%.*s\": \"%s\", want \"%s\"\n",
		    (int)(len > 200 ? 200 : len), text, err, want);
	CHECK(strstr(err, want) != NULL);
}

static void
bad(const char *text, const char *want)
{
	bad_n(text, strlen(text), want);
}

/* text must be refused with exactly this reason. */
static void
bad_exact(const char *text, const char *want)
{
	struct gql_doc *doc;

	CHECK(parse_n(text, strlen(text), &doc) == -1);
	CHECK_STR(err, want);
}

/* A string value alone, as the argument of { f(s: text) }. */
static const struct gql_value *
string_value(struct gql_doc **doc, const char *text)
{
	char q[1024];

	snprintf(q, sizeof(q), "{ f(s: %s) }", text);
	if ((*doc = ok(q)) == NULL)
		return NULL;
	CHECK((*doc)->operations->sel->args->value->kind == GQL_V_STRING);
	return (*doc)->operations->sel->args->value;
}

/* text, as a string, must decode to want (of len bytes). */
static void
string_is(const char *text, const char *want, size_t len)
{
	const struct gql_value *v;
	struct gql_doc *doc;

	if ((v = string_value(&doc, text)) == NULL)
		return;
	if (v->len != len || memcmp(v->s, want, len) != 0)
		fprintf(stderr, "string %s: \"%s\" (%zu)\n", text, v->s,
		    v->len);
	CHECK(v->len == len && memcmp(v->s, want, len) == 0);
	CHECK(v->s[v->len] == '\0' && strlen(v->s) == v->len);
	gql_free(doc);
}

#define STRING_IS(text, want)	string_is((text), (want), sizeof(want) - 1)

/*
 * The tests.
 */

static void
test_values(void)
{
	struct gql_doc *doc;
	const struct gql_value *v, *i;

	same("{ f(a: $v, b: 1, c: -2.5e3, d: \"s\", e: true, f: false, "
	    "g: null, h: OPEN, i: [1, [2, 3.0]], j: {k: 1, l: {m: \"x\"}}, "
	    "k: [], l: {}, m: -0, n: 0.5E-2, o: 6e+1) }",
	    "query{f(a:$v,b:1,c:-2.5e3,d:\"s\",e:true,f:false,g:null,h:OPEN,"
	    "i:[1,[2,3.0]],j:{k:1,l:{m:\"x\"}},k:[],l:{},m:-0,n:0.5E-2,"
	    "o:6e+1)}");
	/* Commas are optional, and may be anywhere. */
	same(",{,f(,a:[1 2,,3]b:{x:1 y:2},),}",
	    "query{f(a:[1,2,3],b:{x:1,y:2})}");

	doc = ok("{ f(a: $v, b: 12, c: 1.5, d: \"\", e: true, g: null, "
	    "h: OPEN, i: [1, x], j: {k: $w}) }");
	if (doc == NULL)
		return;
	v = doc->operations->sel->args->value;
	CHECK(v->kind == GQL_V_VARIABLE && strcmp(v->s, "v") == 0 &&
	    v->len == 1 && v->name == NULL);
	v = doc->operations->sel->args->next->value;
	CHECK(v->kind == GQL_V_INT && strcmp(v->s, "12") == 0 && v->len == 2);
	v = doc->operations->sel->args->next->next->value;
	CHECK(v->kind == GQL_V_FLOAT && strcmp(v->s, "1.5") == 0);
	v = doc->operations->sel->args->next->next->next->value;
	CHECK(v->kind == GQL_V_STRING && v->len == 0 && v->s[0] == '\0');
	v = doc->operations->sel->args->next->next->next->next->value;
	CHECK(v->kind == GQL_V_BOOLEAN && strcmp(v->s, "true") == 0);
	v = doc->operations->sel->args->next->next->next->next->next->value;
	CHECK(v->kind == GQL_V_NULL && strcmp(v->s, "null") == 0);
	v = doc->operations->sel->args->next->next->next->next->next->next->
	    value;
	CHECK(v->kind == GQL_V_ENUM && strcmp(v->s, "OPEN") == 0);
	v = doc->operations->sel->args->next->next->next->next->next->next->
	    next->value;
	CHECK(v->kind == GQL_V_LIST);
	i = v->items;
	CHECK(i != NULL && i->kind == GQL_V_INT && i->name == NULL);
	CHECK(i != NULL && i->next != NULL && i->next->kind == GQL_V_ENUM &&
	    i->next->next == NULL);
	v = doc->operations->sel->args->next->next->next->next->next->next->
	    next->next->value;
	CHECK(v->kind == GQL_V_OBJECT && v->items != NULL &&
	    strcmp(v->items->name, "k") == 0 &&
	    v->items->kind == GQL_V_VARIABLE && v->items->next == NULL);
	gql_free(doc);
}

static void
test_fields(void)
{
	struct gql_doc *doc;
	const struct gql_selection *s;

	same("{ a: b(x: 1) c: d e }", "query{a:b(x:1) c:d e}");
	same("{ a { b { c } } d }", "query{a{b{c}} d}");
	same("{ a : b @x @y(z: 1) { c } }", "query{a:b@x@y(z:1){c}}");
	/* Keywords are names like any other where a name goes. */
	same("query query { query: mutation fragment on(on: on) true null "
	    "subscription type }", "query query{query:mutation fragment "
	    "on(on:on) true null subscription type}");
	same("{ ... on on { a } }", "query{...on on{a}}");
	same("{ _a1: __typename }", "query{_a1:__typename}");

	doc = ok("{ a: b(x: 1) { c } }");
	if (doc == NULL)
		return;
	s = doc->operations->sel;
	CHECK(s->kind == GQL_FIELD && strcmp(s->alias, "a") == 0 &&
	    strcmp(s->name, "b") == 0 && s->type_cond == NULL &&
	    s->directives == NULL && s->next == NULL);
	CHECK(strcmp(s->args->name, "x") == 0 && s->args->next == NULL);
	CHECK(s->sel != NULL && s->sel->alias == NULL &&
	    strcmp(s->sel->name, "c") == 0 && s->sel->sel == NULL &&
	    s->sel->args == NULL);
	gql_free(doc);
}

static void
test_directives(void)
{
	same("query Q($x: Boolean!) @live @cost(max: 10) { a @include(if: $x) "
	    "...F @skip(if: true) ... on T @d { b } ... @include(if: $x) "
	    "{ c } } fragment F on T @f(a: [1]) { d }",
	    "query Q($x:Boolean!)@live@cost(max:10){a@include(if:$x) "
	    "...F@skip(if:true) ...on T@d{b} ...@include(if:$x){c}} | "
	    "fragment F on T@f(a:[1]){d}");
	same("mutation @a { m } ", "mutation@a{m}");
	same("{ a @ b ( c : 1 ) }", "query{a@b(c:1)}");
}

static void
test_variables(void)
{
	struct gql_doc *doc;
	const struct gql_variable *v;

	same("query Q($a: Int = 1, $b: [ID!]!, $c: [[String]!] = [[\"x\"]], "
	    "$d: In = {a: [1, null], b: ENUM}, $e: Boolean = false) { f }",
	    "query Q($a:Int=1,$b:[ID!]!,$c:[[String]!]=[[\"x\"]],"
	    "$d:In={a:[1,null],b:ENUM},$e:Boolean=false){f}");
	/* Types as written but for spaces, commas and comments. */
	same("query ($a : [ # comment\n ID ! , ] ! $b:X) { f }",
	    "query($a:[ID!]!,$b:X){f}");
	same("query($ a: [[[[A]]]]){f}", "query($a:[[[[A]]]]){f}");

	doc = ok("query($first: Int = 10 $after: String) { f }");
	if (doc == NULL)
		return;
	v = doc->operations->variables;
	CHECK(strcmp(v->name, "first") == 0 && strcmp(v->type, "Int") == 0);
	CHECK(v->default_value != NULL &&
	    v->default_value->kind == GQL_V_INT &&
	    strcmp(v->default_value->s, "10") == 0);
	v = v->next;
	CHECK(v != NULL && strcmp(v->name, "after") == 0 &&
	    strcmp(v->type, "String") == 0 && v->default_value == NULL &&
	    v->next == NULL);
	gql_free(doc);
}

static void
test_shorthand(void)
{
	struct gql_doc *doc;
	const struct gql_operation *op;

	if ((doc = ok("{ viewer { login } }")) == NULL)
		return;
	CHECK(doc->noperations == 1 && doc->nfragments == 0);
	op = doc->operations;
	CHECK(op->kind == GQL_QUERY && op->name == NULL &&
	    op->variables == NULL && op->directives == NULL &&
	    op->next == NULL);
	CHECK(gql_operation(doc, NULL) == op);
	CHECK(gql_operation(doc, "viewer") == NULL);
	CHECK(gql_operation(doc, "") == NULL);
	CHECK(gql_fragment(doc, "viewer") == NULL);
	CHECK_STR(dump(doc), "query{viewer{login}}");
	gql_free(doc);

	/* An anonymous query with the keyword is the same. */
	if ((doc = ok("query { a }")) == NULL)
		return;
	CHECK(gql_operation(doc, NULL) == doc->operations);
	CHECK(doc->operations->name == NULL);
	gql_free(doc);
}

static void
test_operations(void)
{
	struct gql_doc *doc;
	const struct gql_operation *op;

	doc = ok("query A { a } mutation B { b } subscription C { c } "
	    "query a { d }");
	if (doc == NULL)
		return;
	CHECK(doc->noperations == 4);
	CHECK(gql_operation(doc, NULL) == NULL);
	op = gql_operation(doc, "A");
	CHECK(op == doc->operations && op->kind == GQL_QUERY);
	op = gql_operation(doc, "B");
	CHECK(op != NULL && op->kind == GQL_MUTATION &&
	    strcmp(op->sel->name, "b") == 0);
	op = gql_operation(doc, "C");
	CHECK(op != NULL && op->kind == GQL_SUBSCRIPTION);
	/* Names are case sensitive. */
	op = gql_operation(doc, "a");
	CHECK(op != NULL && strcmp(op->sel->name, "d") == 0);
	CHECK(gql_operation(doc, "D") == NULL);
	CHECK(gql_operation(doc, "") == NULL);
	gql_free(doc);

	if ((doc = ok("mutation M { m }")) == NULL)
		return;
	CHECK(gql_operation(doc, NULL) == doc->operations);
	CHECK(gql_operation(doc, "M") == doc->operations);
	CHECK(gql_operation(doc, "N") == NULL);
	gql_free(doc);

	CHECK(gql_operation(NULL, NULL) == NULL);
	CHECK(gql_fragment(NULL, "x") == NULL);
	gql_free(NULL);
}

static void
test_fragments(void)
{
	struct gql_doc *doc;
	const struct gql_fragment *f;

	/* Spread before its definition; fragments spreading fragments. */
	doc = ok("{ ...A } fragment A on T { a ...B } "
	    "fragment B on U @d { b ... on V { ...C } } fragment C on W { c }");
	if (doc == NULL)
		return;
	CHECK(doc->noperations == 1 && doc->nfragments == 3);
	f = gql_fragment(doc, "A");
	CHECK(f == doc->fragments && strcmp(f->type_cond, "T") == 0 &&
	    f->directives == NULL);
	f = gql_fragment(doc, "B");
	CHECK(f != NULL && strcmp(f->type_cond, "U") == 0 &&
	    f->directives != NULL && strcmp(f->directives->name, "d") == 0);
	f = gql_fragment(doc, "C");
	CHECK(f != NULL && f->next == NULL);
	CHECK(gql_fragment(doc, "D") == NULL);
	CHECK(gql_fragment(doc, "a") == NULL);
	CHECK(gql_fragment(doc, NULL) == NULL);
	CHECK(doc->operations->sel->kind == GQL_SPREAD &&
	    strcmp(doc->operations->sel->name, "A") == 0 &&
	    doc->operations->sel->sel == NULL &&
	    doc->operations->sel->alias == NULL &&
	    doc->operations->sel->type_cond == NULL);
	CHECK_STR(dump(doc), "query{...A} | fragment A on T{a ...B} | "
	    "fragment B on U@d{b ...on V{...C}} | fragment C on W{c}");
	gql_free(doc);

	/* A diamond is not a cycle; unused fragments are allowed. */
	doc = ok("{ ...A } fragment A on T { ...B ...C } "
	    "fragment B on T { ...D } fragment C on T { ...D ...D } "
	    "fragment D on T { d } fragment E on T { ...D }");
	gql_free(doc);
	/* Spreads inside inline fragments and fields, and of themselves
	   from an operation, are followed. */
	same("{ ...A ...A } fragment A on T { x { ... { ...B } } } "
	    "fragment B on T { b }", "query{...A ...A} | "
	    "fragment A on T{x{...{...B}}} | fragment B on T{b}");
}

static void
test_strings(void)
{
	STRING_IS("\"plain\"", "plain");
	STRING_IS("\"\"", "");
	STRING_IS("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"",
	    "a\"b\\c/d\be\ff\ng\rh\ti");
	STRING_IS("\"\\u00e9\\u20AC\\uD83D\\uDE00\\u0041\\u007f\"",
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "A\x7f");
	STRING_IS("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf");
	STRING_IS("\"\\u0001\"", "\x01");
	/* UTF-8 as it is, a tab, a '#' that is no comment. */
	STRING_IS("\"h\xc3\xa9 \xe2\x82\xac\t\xf0\x9f\x98\x80 # x\"",
	    "h\xc3\xa9 \xe2\x82\xac\t\xf0\x9f\x98\x80 # x");
	STRING_IS("\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"",
	    "\xef\xbf\xbf\xf4\x8f\xbf\xbf");
}

static void
test_block_strings(void)
{
	/* The specification's example. */
	STRING_IS("\"\"\"\n    Hello,\n      World!\n\n    Yours,\n"
	    "      GraphQL.\n  \"\"\"",
	    "Hello,\n  World!\n\nYours,\n  GraphQL.");
	/* The first line keeps its indent, and sets no common one. */
	STRING_IS("\"\"\"  first\n    second\n      third\"\"\"",
	    "  first\nsecond\n  third");
	STRING_IS("\"\"\"  x  \"\"\"", "  x  ");
	STRING_IS("\"\"\"\"\"\"", "");
	STRING_IS("\"\"\"\n \t \n\n\"\"\"", "");
	/* Blank lines at either end go, the ones inside stay. */
	STRING_IS("\"\"\"\n\n  a\n\n  b\n  \n\n\"\"\"", "a\n\nb");
	/* Tabs count as one, as spaces do; blank lines may be shorter. */
	STRING_IS("\"\"\"\n\t\ta\n\t\t\tb\n\t\n\t\tc\n\"\"\"", "a\n\tb\n\nc");
	/* CR and CRLF end lines too, and come out as LF. */
	STRING_IS("\"\"\"\r\n  a\r\n  b\r  c\r\n\"\"\"", "a\nb\nc");
	/* Only \"\"\" is an escape; other backslashes are themselves. */
	STRING_IS("\"\"\"a \\\"\"\" b \\n \\u0041 \\\\\"\"\" \"\"\"",
	    "a \"\"\" b \\n \\u0041 \\\"\"\" ");
	STRING_IS("\"\"\"a\"b\"\"c\"\"\"", "a\"b\"\"c");
	STRING_IS("\"\"\"\xc3\xa9\n  \xe2\x82\xac\"\"\"",
	    "\xc3\xa9\n\xe2\x82\xac");
	same("{ f(a: \"\"\"x\"\"\", b: \"\"\"\"\"\") }",
	    "query{f(a:\"x\",b:\"\")}");
}

static void
test_positions(void)
{
	struct gql_doc *doc;
	const struct gql_selection *s;

	/* LF, CR, CRLF each end one line; columns count characters. */
	doc = ok("query {\n  a\r  b\r\n\tc(x: \"\xc3\xa9\xe2\x82\xac\") "
	    "d(y: \"\"\"\n\n\"\"\") # \xf0\x9f\x98\x80\n"
	    " e ... on T { f } ...F } fragment F on T { g }");
	if (doc == NULL)
		return;
	s = doc->operations->sel;
	CHECK(s->line == 1 + 1 && s->col == 3);
	s = s->next;
	CHECK(s->line == 3 && s->col == 3);
	s = s->next;
	CHECK(s->line == 4 && s->col == 2);
	s = s->next;
	CHECK(s->line == 4 && s->col == 13);
	s = s->next;
	CHECK(s->line == 7 && s->col == 2);
	s = s->next;
	CHECK(s->kind == GQL_INLINE && s->line == 7 && s->col == 4);
	s = s->next;
	CHECK(s->kind == GQL_SPREAD && s->line == 7 && s->col == 19);
	gql_free(doc);
	gql_free(ok("\xef\xbb\xbf{ a }"));

	bad_exact("{\n  a(x: 1x)\n}", "line 2 col 9: a letter or '.' "
	    "right after a number");
	bad_exact("\xef\xbb\xbf{ a(x: \"\xc3\xa9\\q\") }",
	    "line 1 col 10: bad escape");
	bad_exact("query A { a }\r\n{ b }",
	    "line 2 col 1: an anonymous operation must be the only one");
	bad_exact("query A { a }\n# \xe2\x82\xac\nquery A { b }",
	    "line 3 col 1: duplicate operation \"A\"");
	bad_exact("{ a ...X }", "line 1 col 5: undefined fragment \"X\"");
	bad_exact("{ a", "line 1 col 4: expected a field, \"...\" or '}', "
	    "found the end");
	bad_exact("{ a(x: \"\"\"\n\n\n\"\"\", y: 1x) }",
	    "line 4 col 10: a letter or '.' right after a number");
}

/* Each reason gql.h lists, once. */
static void
test_refusals(void)
{
	char big[GQL_MAX_TEXT + 2];

	/* The limits; test_limits has the edges. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "{a}", 3);
	bad_n(big, GQL_MAX_TEXT + 1, "longer than");

	/* Bytes. */
	bad("{ a(x: \"\xc3\") }", "invalid UTF-8");
	bad_n("{ a }\0", 6, "NUL byte");
	bad("{ a \x01 }", "control character");
	bad("{ a(x: \"\x1f\") }", "control character");
	bad("{ a(x: \"\\uD800\") }", "lone surrogate");

	/* The whole document. */
	bad("fragment F on T { a }", "no operation");
	bad("query A { a } query A { b }", "duplicate operation \"A\"");
	bad("{ a } query B { b }", "anonymous operation");
	bad("{ ...F } fragment F on T { a } fragment F on U { b }",
	    "duplicate fragment \"F\"");
	bad("{ ...F }", "undefined fragment \"F\"");
	bad("{ ...F } fragment F on T { ...F }", "fragment cycle");
	bad("{ }", "empty selection set");
	bad("fragment on on T { a } { ...on }", "cannot be named \"on\"");
	bad("type Query { a: Int }", "type-system definitions");

	/* The grammar. */
	bad("{ a(x: 1a) }", "right after a number");
	bad("{ a(x: 1.2.3) }", "right after a number");
	bad("{ ... 1 }", "expected a fragment name, \"on\" or '{'");
	bad("{ a(x 1) }", "expected ':'");
}

static void
test_refusals_bytes(void)
{
	static const char *const utf8[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41",
		"\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xe2\x82", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",
		"\xfe", "\xff", "\xf0\x9f\x98"
	};
	char t[64];
	size_t i;

	for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++) {
		snprintf(t, sizeof(t), "{ a(x: \"%s\") }", utf8[i]);
		bad(t, "invalid UTF-8");
		snprintf(t, sizeof(t), "{ a(x: \"\"\"%s\"\"\") }", utf8[i]);
		bad(t, "invalid UTF-8");
		snprintf(t, sizeof(t), "{ a } # %s\n", utf8[i]);
		bad(t, "invalid UTF-8");
		snprintf(t, sizeof(t), "{ a %s }", utf8[i]);
		bad(t, "invalid UTF-8");
	}
	/* Valid UTF-8 where only ASCII may be; a BOM past the start. */
	bad("{ \xc3\xa9 }", "unexpected character U+00E9");
	bad("{ a } \xef\xbb\xbf", "unexpected character U+FEFF");
	bad("\xef\xbb\xbf\xef\xbb\xbf{ a }", "unexpected character U+FEFF");
	bad("{ a(x: \"\xef\xbb\") }", "invalid UTF-8");

	/* NUL anywhere. */
	bad_n("\0{ a }", 6, "NUL byte");
	bad_n("{ a(x: \"\0\") }", 13, "NUL byte");
	bad_n("{ a(x: \"\"\"\0\"\"\") }", 17, "NUL byte");
	bad_n("{ a } # \0\n", 10, "NUL byte");

	/* Controls: tab, LF, CR only; in a quoted string, tab only. */
	bad("{ a \f }", "control character U+000C");
	bad("{ a \v }", "control character U+000B");
	bad("{ a \x1b }", "control character U+001B");
	bad("{ a } # \x01\n", "control character");
	bad("{ a(x: \"\"\"\x01\"\"\") }", "control character");
	bad("{ a(x: \"\"\"\x7f\"\"\") \x7f }", "unexpected character U+007F");
	bad("{ a(x: \"a\nb\") }", "unterminated string");
	bad("{ a(x: \"a\rb\") }", "unterminated string");
	gql_free(ok("{ a(x: \"\t\x7f\") } # \t\x7f\n"));
	same("{ a(x: \"\"\"a\tb\r\nc\"\"\") }", "query{a(x:\"a\\tb\\nc\")}");
}

static void
test_refusals_escapes(void)
{
	bad("{ a(x: \"\\uDC00\") }", "lone surrogate");
	bad("{ a(x: \"\\uD800\\u0041\") }", "lone surrogate");
	bad("{ a(x: \"\\uD800\\uD800\") }", "lone surrogate");
	bad("{ a(x: \"\\uD83D\") }", "lone surrogate");
	bad("{ a(x: \"\\uD83D\\n\") }", "lone surrogate");
	bad("{ a(x: \"\\uD83Dx\\uDE00\") }", "lone surrogate");
	bad("{ a(x: \"\\u0000\") }", "\\u0000");
	bad("{ a(x: \"\\u{1F600}\") }", "\\u{...}");
	bad("{ a(x: \"\\x41\") }", "bad escape");
	bad("{ a(x: \"\\U0041\") }", "bad escape");
	bad("{ a(x: \"\\u12\") }", "bad escape");
	bad("{ a(x: \"\\u12G4\") }", "bad escape");
	bad("{ a(x: \"\\'\") }", "bad escape");
	bad("{ a(x: \"\\", "bad escape");
	bad("{ a(x: \"abc", "unterminated string");
	bad("{ a(x: \"\"\"abc\"\") }", "unterminated block string");
	bad("{ a(x: \"\"\"abc\\\"\"\"", "unterminated block string");
}

static void
test_refusals_document(void)
{
	bad("", "no operation");
	bad(" \n# just a comment\n,,,", "no operation");
	bad("\xef\xbb\xbf", "no operation");
	bad("fragment F on T { a } fragment G on T { ...F }", "no operation");
	bad("{ a } { b }", "anonymous operation");
	bad("query A { a } { b }", "anonymous operation");
	bad("query { a } mutation M { b }", "anonymous operation");
	bad("mutation A { a } subscription A { b }", "duplicate operation");
	bad("query A { a } query B { b } query A { c }",
	    "duplicate operation \"A\"");
	bad("{ ...F } fragment G on T { ...H }", "undefined fragment \"F\"");
	bad("{ ...F } fragment F on T { ...H }", "undefined fragment \"H\"");
	bad("{ a { ... on T { ...F } } }", "undefined fragment \"F\"");
	bad("{ ...F } fragment F on T { ...G } fragment G on T { ...F }",
	    "fragment cycle");
	bad("{ ...A } fragment A on T { ...B } fragment B on T { ...C } "
	    "fragment C on T { x { ... on U { ...A } } }", "fragment cycle");
	/* A cycle no operation uses is still one. */
	bad("{ a } fragment F on T { ...G } fragment G on T { ...F }",
	    "fragment cycle");
	bad("{ ...F } fragment F on T { ...F @skip(if: true) }",
	    "fragment cycle");
	bad("{ a {} }", "empty selection set");
	bad("{ ... on T {} }", "empty selection set");
	bad("{ ... {} }", "empty selection set");
	bad("{ ...F } fragment F on T {}", "empty selection set");
	bad("query Q {}", "empty selection set");
	bad("fragment on on T { a }", "cannot be named \"on\"");
	bad("{ a } schema { query: Q }", "type-system");
	bad("scalar Date", "type-system");
	bad("extend type Query { b: Int }", "type-system");
	bad("directive @x on FIELD", "type-system");
	bad("enum E { A }", "type-system");
	bad("input I { a: Int }", "type-system");
	bad("interface I { a: Int }", "type-system");
	bad("union U = A | B", "type-system");
	bad("\"description\" type T { a: Int }", "type-system");
	bad("\"\"\"description\"\"\" scalar S", "type-system");
	bad("query A { a } foo { b }", "expected an operation or a fragment");
	bad("subscriptions { a }", "expected an operation or a fragment");
}

static void
test_refusals_grammar(void)
{
	/* Numbers. */
	bad("{ a(x: 00) }", "leading zero");
	bad("{ a(x: 01) }", "leading zero");
	bad("{ a(x: -01) }", "leading zero");
	bad("{ a(x: 1.) }", "expected a digit after '.'");
	bad("{ a(x: 1.e5) }", "expected a digit after '.'");
	bad("{ a(x: .5) }", "expected \"...\"");
	bad("{ a(x: 1e) }", "exponent");
	bad("{ a(x: 1e+) }", "exponent");
	bad("{ a(x: 1.5e-x) }", "exponent");
	bad("{ a(x: -) }", "expected a digit after '-'");
	bad("{ a(x: -a) }", "expected a digit after '-'");
	bad("{ a(x: 0xFF) }", "right after a number");
	bad("{ a(x: 1_000) }", "right after a number");
	bad("{ a(x: 1.5e3.1) }", "right after a number");
	bad("{ a(x: 1e3e3) }", "right after a number");
	bad("{ a(x: 12", "found the end");

	/* Punctuators. */
	bad("{ a . }", "expected \"...\"");
	bad("{ .. }", "expected \"...\"");
	bad("{ a & b }", "found \"&\"");
	bad("{ a | b }", "found \"|\"");
	bad("{ a % }", "unexpected character U+0025");
	bad("{ a ; }", "unexpected character U+003B");
	bad("{ a(x: 'q') }", "unexpected character U+0027");

	/* Selections. */
	bad("{ ... }", "expected a fragment name, \"on\" or '{'");
	bad("{ ...", "expected a fragment name, \"on\" or '{'");
	bad("{ ... on { a } }", "expected a type name");
	bad("{ ... on T }", "expected '{'");
	bad("{ ...F { a } } fragment F on T { a }", "expected a field");
	bad("{ ...F(x: 1) } fragment F on T { a }", "expected a field");
	bad("{ a: }", "expected a field name");
	bad("{ a: b: c }", "expected a field");
	bad("{ a() }", "empty argument list");
	bad("{ a(x: 1 }", "expected an argument name or ')'");
	bad("{ a(x: 1) (y: 2) }", "expected a field");
	bad("{ a @ }", "expected a directive name");
	bad("{ a @d() }", "empty argument list");
	bad("{ a { b }", "found the end");
	bad("{ a } }", "expected an operation or a fragment, found \"}\"");
	bad("}", "expected an operation or a fragment");
	bad("{ 1 }", "found a number");
	bad("{ \"a\" }", "found a string");
	bad("{ $a }", "expected a field");

	/* Values. */
	bad("{ a(x: ) }", "expected a value");
	bad("{ a(x: $) }", "expected a variable name");
	bad("{ a(x: $1) }", "expected a variable name");
	bad("{ a(x: [1, 2) }", "expected a value");
	bad("{ a(x: {b 1}) }", "expected ':'");
	bad("{ a(x: {b: }) }", "expected a value");
	bad("{ a(x: {1: 1}) }", "expected a field name or '}'");
	bad("{ a(x: [1 }", "expected a value");
	bad("{ a(x: @) }", "expected a value");

	/* Operations and variables. */
	bad("query Q", "expected '{'");
	bad("query Q(", "expected a variable or ')'");
	bad("query Q() { a }", "empty variable list");
	bad("query Q(a: Int) { a }", "expected a variable or ')'");
	bad("query Q($a Int) { a }", "expected ':'");
	bad("query Q($a:) { a }", "expected a type");
	bad("query Q($a: [Int) { a }", "expected ']'");
	bad("query Q($a: Int]) { a }", "expected a variable or ')'");
	bad("query Q($a: Int!!) { a }", "expected a variable or ')'");
	bad("query Q($a: !Int) { a }", "expected a type");
	bad("query Q($a: [!]) { a }", "expected a type");
	bad("query Q($a: Int = $b) { a }", "a variable in a constant value");
	bad("query Q($a: [Int] = [1, $b]) { a }", "variable in a constant");
	bad("query Q($a: I = {b: {c: $d}}) { a }", "variable in a constant");
	bad("query Q($a: Int = ) { a }", "expected a value");
	bad("query Q($a: Int @d) { a }", "directives on a variable");
	bad("query Q $a { a }", "expected '{'");
	bad("query 1 { a }", "expected '{'");
	bad("query Q @ { a }", "expected a directive name");
	bad("mutation", "expected '{'");
	bad("query Q { a } extra", "expected an operation or a fragment");

	/* Fragments. */
	bad("{ ...F } fragment F T { a }", "expected \"on\"");
	bad("{ ...F } fragment F on { a }", "expected a type name");
	bad("{ ...F } fragment F on T", "expected '{'");
	bad("{ ...F } fragment { a }", "expected a fragment name");
	bad("{ ...F } fragment F($x: Int) on T { a }", "expected \"on\"");
	bad("{ ...F } fragment F on T @ { a }", "expected a directive name");
}

/* Text n levels deep: "{a{a...}}", or lists, objects or list types. */
static char *
nested(int n, const char *head, const char *open, const char *mid,
    const char *close, const char *tail)
{
	size_t len = strlen(head) + strlen(mid) + strlen(tail) +
	    (size_t)n * (strlen(open) + strlen(close)) + 1;
	char *s, *o;
	int i;

	if ((s = o = malloc(len)) == NULL)
		abort();
	o += sprintf(o, "%s", head);
	for (i = 0; i < n; i++)
		o += sprintf(o, "%s", open);
	o += sprintf(o, "%s", mid);
	for (i = 0; i < n; i++)
		o += sprintf(o, "%s", close);
	sprintf(o, "%s", tail);
	return s;
}

static void
limit(int n, int accept, const char *head, const char *open,
    const char *mid, const char *close, const char *tail, const char *why)
{
	struct gql_doc *doc;
	char *s;

	s = nested(n, head, open, mid, close, tail);
	if (accept) {
		doc = ok(s);
		gql_free(doc);
	} else
		bad(s, why);
	free(s);
}

static void
test_limits(void)
{
	struct gql_doc *doc;
	const struct gql_selection *sel;
	char *s;
	size_t i, n;
	int depth;

	/* Selection sets: the operation's is the first. */
	limit(GQL_MAX_DEPTH, 1, "", "{a", "", "}", "", NULL);
	limit(GQL_MAX_DEPTH + 1, 0, "", "{a", "", "}", "", "nested deeper");
	limit(GQL_MAX_DEPTH - 1, 1, "", "{... on T", "{a}", "}", "", NULL);
	limit(GQL_MAX_DEPTH, 0, "", "{... on T", "{a}", "}", "",
	    "nested deeper");
	limit(GQL_MAX_DEPTH + 1, 0, "{...F} fragment F on T", "{a", "", "}",
	    "", "nested deeper");
	/* Values: each argument's own. */
	limit(GQL_MAX_DEPTH, 1, "{a(x:", "[", "1", "]", ")}", NULL);
	limit(GQL_MAX_DEPTH + 1, 0, "{a(x:", "[", "1", "]", ")}",
	    "nested deeper");
	limit(GQL_MAX_DEPTH, 1, "{a(x:", "{a:", "1", "}", ")}", NULL);
	limit(GQL_MAX_DEPTH + 1, 0, "{a(x:", "{a:", "1", "}", ")}",
	    "nested deeper");
	limit(GQL_MAX_DEPTH / 2, 1, "{a(x:", "[{a:", "1", "}]", ")}", NULL);
	limit(GQL_MAX_DEPTH / 2 + 1, 0, "{a(x:", "[{a:", "1", "}]", ")}",
	    "nested deeper");
	limit(GQL_MAX_DEPTH, 1, "query($a:T=", "[", "1", "]", "){a}", NULL);
	limit(GQL_MAX_DEPTH + 1, 0, "query($a:T=", "[", "1", "]", "){a}",
	    "nested deeper");
	limit(GQL_MAX_DEPTH, 1, "{a(x:", "[", "", "]", ")}", NULL);
	limit(GQL_MAX_DEPTH + 1, 0, "{a(x:", "[", "", "]", ")}",
	    "nested deeper");
	/* The values' depth is apart from the selections'. */
	s = nested(GQL_MAX_DEPTH - 1, "", "{a", "{b(x:[[[[[[[[[[1]]]]]]]]]])}",
	    "}", "");
	gql_free(ok(s));
	free(s);
	/* List types. */
	limit(GQL_MAX_DEPTH, 1, "query($a:", "[", "T!", "]!", "){a}", NULL);
	limit(GQL_MAX_DEPTH + 1, 0, "query($a:", "[", "T", "]", "){a}",
	    "nested deeper");

	/* The deepest, walked to its end. */
	s = nested(GQL_MAX_DEPTH, "", "{a", "", "}", "");
	if ((doc = ok(s)) != NULL) {
		for (sel = doc->operations->sel, depth = 1; sel->sel != NULL;
		    sel = sel->sel)
			depth++;
		CHECK(depth == GQL_MAX_DEPTH);
		gql_free(doc);
	}
	free(s);

	/* Tokens: "{", n names, "}". */
	n = GQL_MAX_TOKENS - 2;
	if ((s = malloc(2 * n + 3)) == NULL)
		abort();
	s[0] = '{';
	for (i = 0; i < n; i++)
		memcpy(s + 1 + 2 * i, "a ", 2);
	s[1 + 2 * n] = '}';
	gql_free(ok_n(s, 2 * n + 2));
	memcpy(s + 2 * n, " a}", 3);
	bad_n(s, 2 * n + 3, "more than 50000 tokens");
	free(s);
	/* Ignored text is no token. */
	if ((s = malloc(GQL_MAX_TEXT + 1)) == NULL)
		abort();
	memset(s, ',', GQL_MAX_TEXT + 1);
	memcpy(s, "{a}", 3);
	gql_free(ok_n(s, GQL_MAX_TEXT));
	bad_n(s, GQL_MAX_TEXT + 1, "longer than 262144 bytes");
	/* And the text that fills the limit with a string. */
	s[GQL_MAX_TEXT - 3] = '"';
	s[GQL_MAX_TEXT - 2] = ')';
	s[GQL_MAX_TEXT - 1] = '}';
	memcpy(s, "{a(x:\"", 6);
	memset(s + 6, 'x', GQL_MAX_TEXT - 9);
	if ((doc = ok_n(s, GQL_MAX_TEXT)) != NULL) {
		CHECK(doc->operations->sel->args->value->len ==
		    GQL_MAX_TEXT - 9);
		gql_free(doc);
	}
	free(s);
}

/* The error buffer: truncated, NUL-terminated, or none at all. */
static void
test_err_buffer(void)
{
	struct gql_doc *doc;
	char small[12];
	const char *text = "{ a(x: 1x) }";

	memset(small, 'Z', sizeof(small));
	CHECK(gql_parse(text, strlen(text), &doc, small, sizeof(small)) ==
	    -1);
	CHECK_STR(small, "line 1 col ");
	CHECK(gql_parse(text, strlen(text), &doc, small, 1) == -1);
	CHECK(small[0] == '\0');
	CHECK(gql_parse(text, strlen(text), &doc, NULL, 0) == -1);
	CHECK(doc == NULL);
	/* Untouched on success. */
	memset(small, 'Z', sizeof(small));
	CHECK(gql_parse("{a}", 3, &doc, small, sizeof(small)) == 0);
	CHECK(small[0] == 'Z' && small[sizeof(small) - 1] == 'Z');
	gql_free(doc);
	/* One line, and nothing of the text in it but a name. */
	bad("{ a(x: \"\\q\xff\") }", "bad escape");
	CHECK(strchr(err, '\n') == NULL);
	bad("{ a\n\x01 }", "line 2 col 1: control character U+0001");
	bad("{ a(x: \"secret\") \"secret2\" }", "found a string");
	CHECK(strstr(err, "secret") == NULL);
	bad("{ ...Abcdefghijklmnopqrstuvwxyz"
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ }",
	    "undefined fragment \"Abcdefghijklmnopqrstuvwxyz0123456789"
	    "ABCD...\"");
}

static const char realistic[] =
    "# The pull requests of a repository, with their reviews.\n"
    "query PullRequestList($owner: String!, $repo: String!, "
    "$limit: Int! = 20, $states: [PullRequestState!] = [OPEN],\n"
    "    $withBody: Boolean = false) {\n"
    "  repository(owner: $owner, name: $repo) {\n"
    "    pullRequests(first: $limit, states: $states,\n"
    "        orderBy: {field: CREATED_AT, direction: DESC}) {\n"
    "      totalCount\n"
    "      pageInfo { hasNextPage endCursor }\n"
    "      nodes {\n"
    "        ...PR\n"
    "        body @include(if: $withBody)\n"
    "        labels(first: 5) { nodes { name color } }\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "  rateLimit { cost remaining resetAt }\n"
    "}\n"
    "\n"
    "fragment PR on PullRequest {\n"
    "  number title url isDraft createdAt\n"
    "  author { login ... on User { name } ...Bot }\n"
    "  reviews(last: 3, states: [APPROVED, CHANGES_REQUESTED]) {\n"
    "    nodes { state body: bodyText }\n"
    "  }\n"
    "  note: title @skip(if: true)\n"
    "  mergeable\n"
    "  search: headRefName # \"\"\" not a string\n"
    "  comments(first: 1, after: \"Y3Vyc29y\\u003d\") { totalCount }\n"
    "  x: id @deprecated(reason: \"\"\"\n"
    "      no \\\"\"\"reason\\\"\"\"\n"
    "    \"\"\")\n"
    "}\n"
    "fragment Bot on Bot { id login }\n";

/* err is about realistic[at] or something before it. */
static int
at_or_before(size_t at)
{
	size_t i;
	int line = 1, col = 1, el, ec;

	for (i = 0; i < at; i++) {
		col++;
		if (realistic[i] == '\n') {
			line++;
			col = 1;
		}
	}
	if (sscanf(err, "line %d col %d: ", &el, &ec) != 2)
		return 0;
	if (el < line || (el == line && ec <= col))
		return 1;
	fprintf(stderr, "byte %zu (line %d col %d): %s\n", at, line, col,
	    err);
	return 0;
}

/* Every proper prefix of a document is refused, cleanly. */
static void
test_truncated(void)
{
	struct gql_doc *doc;
	size_t len = sizeof(realistic) - 1, cut, nbad = 0, nfmt = 0;
	char *copy;

	doc = ok_n(realistic, len);
	if (doc != NULL) {
		CHECK(doc->noperations == 1 && doc->nfragments == 2);
		gql_free(doc);
	}
	/* All but the final newline is a whole document. */
	for (cut = 0; cut < len - 1; cut++) {
		if (parse_n(realistic, cut, &doc) != -1) {
			fprintf(stderr, "prefix of %zu bytes accepted\n", cut);
			gql_free(doc);
			nbad++;
		} else if (strncmp(err, "line ", 5) != 0 ||
		    memchr(err, '\0', sizeof(err)) == NULL)
			nfmt++;
	}
	CHECK(nbad == 0);
	CHECK(nfmt == 0);
	/*
	 * The document with any one byte a NUL, or a control character:
	 * refused, and at that byte or before it (a keyword cut short, an
	 * escape or a "..." broken, is wrong first).
	 */
	if ((copy = malloc(len)) == NULL)
		abort();
	nbad = 0;
	for (cut = 0; cut < len; cut++) {
		memcpy(copy, realistic, len);
		copy[cut] = '\0';
		if (parse_n(copy, len, &doc) != -1 || !at_or_before(cut))
			nbad++;
		copy[cut] = '\x02';
		if (parse_n(copy, len, &doc) != -1 || !at_or_before(cut))
			nbad++;
	}
	CHECK(nbad == 0);
	free(copy);
}

static void
test_github(void)
{
	struct gql_doc *doc;
	const struct gql_operation *op;
	const struct gql_selection *s;

	same("query PullRequestList($owner: String!, $repo: String!, "
	    "$limit: Int!) { repository(owner: $owner, name: $repo) { "
	    "pullRequests(first: $limit, states: [OPEN]) { nodes { number "
	    "title author { login ...on User { name } } } } } }",
	    "query PullRequestList($owner:String!,$repo:String!,"
	    "$limit:Int!){repository(owner:$owner,name:$repo){"
	    "pullRequests(first:$limit,states:[OPEN]){nodes{number title "
	    "author{login ...on User{name}}}}}}");

	same("mutation AddComment($subjectId: ID!, $body: String!) {\n"
	    "  addComment(input: {subjectId: $subjectId, body: $body}) {\n"
	    "    commentEdge { node { id url } }\n"
	    "  }\n"
	    "}\n",
	    "mutation AddComment($subjectId:ID!,$body:String!){"
	    "addComment(input:{subjectId:$subjectId,body:$body}){"
	    "commentEdge{node{id url}}}}");

	same("mutation {\n"
	    "  createIssue(input: {\n"
	    "    repositoryId: \"R_kgDOAbc123\",\n"
	    "    title: \"Crash on \\\"start\\\" \xf0\x9f\x90\x9b\",\n"
	    "    body: \"\"\"\n"
	    "      Steps:\n"
	    "        1. run `ghp -d`\n"
	    "      Seen on v1.2.\n"
	    "    \"\"\",\n"
	    "    labelIds: [\"LA_1\", \"LA_2\"]\n"
	    "  }) { issue { number url } }\n"
	    "}",
	    "mutation{createIssue(input:{repositoryId:\"R_kgDOAbc123\","
	    "title:\"Crash on \\\"start\\\" \xf0\x9f\x90\x9b\","
	    "body:\"Steps:\\n  1. run `ghp -d`\\nSeen on v1.2.\","
	    "labelIds:[\"LA_1\",\"LA_2\"]}){issue{number url}}}");

	same("query Timeline($id: ID!) { node(id: $id) { __typename ... on "
	    "Issue { timelineItems(first: 50, itemTypes: "
	    "[CROSS_REFERENCED_EVENT, CLOSED_EVENT]) { nodes { "
	    "... on CrossReferencedEvent { source { "
	    "... on PullRequest { number repository { nameWithOwner } } } } "
	    "... on ClosedEvent { actor { login } } } } } } }",
	    "query Timeline($id:ID!){node(id:$id){__typename ...on Issue{"
	    "timelineItems(first:50,itemTypes:[CROSS_REFERENCED_EVENT,"
	    "CLOSED_EVENT]){nodes{...on CrossReferencedEvent{source{"
	    "...on PullRequest{number repository{nameWithOwner}}}} "
	    "...on ClosedEvent{actor{login}}}}}}}");

	/* Two aliased roots sharing a fragment; an operation chosen. */
	doc = ok("query A { a: repository(owner: \"acme\", name: \"widgets\") "
	    "{ ...Info } b: repository(owner: \"acme\", name: \"gadgets\") "
	    "{ ...Info } }\n"
	    "query B($q: String!) { search(query: $q, type: ISSUE, first: "
	    "10) { issueCount } }\n"
	    "fragment Info on Repository { nameWithOwner stargazerCount "
	    "defaultBranchRef { target { ... on Commit { history(first: 1) "
	    "{ nodes { oid messageHeadline } } } } } }");
	if (doc == NULL)
		return;
	op = gql_operation(doc, "A");
	CHECK(op != NULL && op->kind == GQL_QUERY);
	s = op->sel;
	CHECK(strcmp(s->alias, "a") == 0 &&
	    strcmp(s->name, "repository") == 0 &&
	    strcmp(s->args->value->s, "acme") == 0 &&
	    strcmp(s->args->next->value->s, "widgets") == 0 &&
	    s->sel->kind == GQL_SPREAD);
	CHECK(gql_fragment(doc, s->sel->name) == doc->fragments);
	op = gql_operation(doc, "B");
	CHECK(op != NULL && op->sel->args->next->value->kind == GQL_V_ENUM);
	CHECK(gql_operation(doc, NULL) == NULL);
	gql_free(doc);

	same("query { viewer { login repositories(first: 100, "
	    "ownerAffiliations: [OWNER, COLLABORATOR], isFork: false) { "
	    "nodes { name } } } }",
	    "query{viewer{login repositories(first:100,ownerAffiliations:"
	    "[OWNER,COLLABORATOR],isFork:false){nodes{name}}}}");
}

int
main(void)
{
	UNIT_RUN(test_values);
	UNIT_RUN(test_fields);
	UNIT_RUN(test_directives);
	UNIT_RUN(test_variables);
	UNIT_RUN(test_shorthand);
	UNIT_RUN(test_operations);
	UNIT_RUN(test_fragments);
	UNIT_RUN(test_strings);
	UNIT_RUN(test_block_strings);
	UNIT_RUN(test_positions);
	UNIT_RUN(test_refusals);
	UNIT_RUN(test_refusals_bytes);
	UNIT_RUN(test_refusals_escapes);
	UNIT_RUN(test_refusals_document);
	UNIT_RUN(test_refusals_grammar);
	UNIT_RUN(test_limits);
	UNIT_RUN(test_err_buffer);
	UNIT_RUN(test_truncated);
	UNIT_RUN(test_github);
	return UNIT_DONE("test_gql_parse");
}
