/*
 * test_jsonw.c: the JSON object writer: the exact text of every kind of
 * field, nesting and its limit, the escapes of controls and of
 * characters beyond ASCII, U+FFFD for each byte of malformed UTF-8, and
 * a round trip through jansson of pseudo-random valid UTF-8.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "jsonw.h"
#include "unit.h"

#define ESC(lit)	esc(lit, sizeof(lit) - 1)
#define RT_STRINGS	500
#define RT_MAXCHARS	40

static struct evbuffer *buf;
static char outbuf[65536];

/* The contents of buf as a C string (jsonw never writes a NUL); drains. */
static const char *
drain(void)
{
	size_t n = evbuffer_get_length(buf);

	if (n >= sizeof(outbuf))
		n = sizeof(outbuf) - 1;
	evbuffer_remove(buf, outbuf, n);
	outbuf[n] = '\0';
	evbuffer_drain(buf, evbuffer_get_length(buf));
	return outbuf;
}

/* The escaped form of s[0..n) as jsonw_string() writes it. */
static const char *
esc(const char *s, size_t n)
{
	jsonw_string(buf, s, n);
	return drain();
}

static const char *
decimal(int64_t units, int scale)
{
	struct jsonw w;

	jsonw_begin(&w, buf);
	jsonw_decimal(&w, "d", units, scale);
	jsonw_end(&w);
	return drain();
}

static const char *
integer(int64_t v)
{
	struct jsonw w;

	jsonw_begin(&w, buf);
	jsonw_int(&w, "i", v);
	jsonw_end(&w);
	return drain();
}

static void
test_empty(void)
{
	struct jsonw w;

	jsonw_begin(&w, buf);
	jsonw_end(&w);
	CHECK_STR(drain(), "{}");
	/* A close with nothing open is ignored. */
	jsonw_begin(&w, buf);
	jsonw_close(&w);
	jsonw_end(&w);
	CHECK_STR(drain(), "{}");
	jsonw_begin(&w, buf);
	jsonw_open(&w, "a");
	jsonw_close(&w);
	jsonw_open(&w, "b");
	jsonw_close(&w);
	jsonw_end(&w);
	CHECK_STR(drain(), "{\"a\":{},\"b\":{}}");
	/* Appends to what the buffer holds. */
	evbuffer_add(buf, "x", 1);
	jsonw_begin(&w, buf);
	jsonw_end(&w);
	CHECK_STR(drain(), "x{}");
}

static void
test_fields(void)
{
	struct jsonw w;

	jsonw_begin(&w, buf);
	jsonw_str(&w, "s", "x y");
	jsonw_str(&w, "e", "");
	jsonw_str(&w, "n", NULL);
	jsonw_str_null(&w, "a", NULL);
	jsonw_str_null(&w, "b", "");
	jsonw_str_null(&w, "c", "y");
	jsonw_strn(&w, "z", "a\0b", 3);
	jsonw_strn(&w, "z0", "abc", 0);
	jsonw_strn(&w, "z2", "abc", 2);
	jsonw_null(&w, "u");
	jsonw_int(&w, "i", 7);
	jsonw_decimal(&w, "d", 1234, 3);
	jsonw_end(&w);
	CHECK_STR(drain(), "{\"s\":\"x y\",\"e\":\"\",\"n\":null,\"a\":null,"
	    "\"b\":null,\"c\":\"y\",\"z\":\"a\\u0000b\",\"z0\":\"\","
	    "\"z2\":\"ab\",\"u\":null,\"i\":7,\"d\":1.234}");
	/* Keys are escaped as strings are. */
	jsonw_begin(&w, buf);
	jsonw_int(&w, "a\"b\\c\n\xc3\xa9\xff", 1);
	jsonw_int(&w, "", 2);
	jsonw_end(&w);
	CHECK_STR(drain(),
	    "{\"a\\\"b\\\\c\\n\\u00e9\\ufffd\":1,\"\":2}");
}

static void
test_int(void)
{
	CHECK_STR(integer(0), "{\"i\":0}");
	CHECK_STR(integer(1), "{\"i\":1}");
	CHECK_STR(integer(-1), "{\"i\":-1}");
	CHECK_STR(integer(10), "{\"i\":10}");
	CHECK_STR(integer(-4096), "{\"i\":-4096}");
	CHECK_STR(integer(1000000007), "{\"i\":1000000007}");
	CHECK_STR(integer(INT64_MAX), "{\"i\":9223372036854775807}");
	CHECK_STR(integer(INT64_MIN), "{\"i\":-9223372036854775808}");
	CHECK_STR(integer(INT64_MIN + 1), "{\"i\":-9223372036854775807}");
}

static void
test_decimal(void)
{
	static const char *const big[] = { NULL, "123456789.1",
	    "12345678.91", "1234567.891", "123456.7891", "12345.67891",
	    "1234.567891", "123.4567891", "12.34567891", "1.234567891" };
	static const char *const small[] = { NULL, "0.5", "0.05", "0.005",
	    "0.0005", "0.00005", "0.000005", "0.0000005", "0.00000005",
	    "0.000000005" };
	char want[64];
	int s;

	for (s = 1; s <= 9; s++) {
		snprintf(want, sizeof(want), "{\"d\":%s}", big[s]);
		CHECK_STR(decimal(1234567891, s), want);
		snprintf(want, sizeof(want), "{\"d\":%s}", small[s]);
		CHECK_STR(decimal(5, s), want);
		snprintf(want, sizeof(want), "{\"d\":-%s}", small[s]);
		CHECK_STR(decimal(-5, s), want);
	}
	CHECK_STR(decimal(0, 3), "{\"d\":0.000}");
	CHECK_STR(decimal(0, 1), "{\"d\":0.0}");
	CHECK_STR(decimal(0, 9), "{\"d\":0.000000000}");
	CHECK_STR(decimal(-1234, 3), "{\"d\":-1.234}");
	CHECK_STR(decimal(-1000, 1), "{\"d\":-100.0}");
	CHECK_STR(decimal(-999, 3), "{\"d\":-0.999}");
	CHECK_STR(decimal(1000, 3), "{\"d\":1.000}");
	CHECK_STR(decimal(10, 1), "{\"d\":1.0}");
	CHECK_STR(decimal(INT64_MAX, 1), "{\"d\":922337203685477580.7}");
	CHECK_STR(decimal(INT64_MAX, 9), "{\"d\":9223372036.854775807}");
	CHECK_STR(decimal(INT64_MIN, 9), "{\"d\":-9223372036.854775808}");
	CHECK_STR(decimal(INT64_MIN, 1), "{\"d\":-922337203685477580.8}");
	/* A scale out of 1..9 is 3. */
	CHECK_STR(decimal(1234, 0), "{\"d\":1.234}");
	CHECK_STR(decimal(1234, 10), "{\"d\":1.234}");
	CHECK_STR(decimal(1234, -1), "{\"d\":1.234}");
	CHECK_STR(decimal(-1234, 2147483647), "{\"d\":-1.234}");
	CHECK_STR(decimal(1234, -2147483647 - 1), "{\"d\":1.234}");
	CHECK_STR(decimal(0, 0), "{\"d\":0.000}");
}

static void
test_nested(void)
{
	struct jsonw w;

	jsonw_begin(&w, buf);
	jsonw_str(&w, "a", "1");
	jsonw_open(&w, "o");
	jsonw_int(&w, "i", 1);
	jsonw_open(&w, "p");
	jsonw_null(&w, "n");
	jsonw_close(&w);
	jsonw_str(&w, "b", "x");
	jsonw_close(&w);
	jsonw_int(&w, "j", 2);
	jsonw_open(&w, "q");
	jsonw_close(&w);
	jsonw_end(&w);
	CHECK_STR(drain(), "{\"a\":\"1\",\"o\":{\"i\":1,\"p\":{\"n\":null},"
	    "\"b\":\"x\"},\"j\":2,\"q\":{}}");
	/* jsonw_end() closes whatever is open, innermost first. */
	jsonw_begin(&w, buf);
	jsonw_open(&w, "a");
	jsonw_int(&w, "x", 1);
	jsonw_open(&w, "b");
	jsonw_int(&w, "y", 2);
	jsonw_end(&w);
	CHECK(w.depth == 0);
	CHECK_STR(drain(), "{\"a\":{\"x\":1,\"b\":{\"y\":2}}}");
}

/* The object at key "k" depth times down from o, or NULL. */
static json_t *
descend(json_t *o, int depth)
{
	while (depth-- > 0 && o != NULL)
		o = json_object_get(o, "k");
	return json_is_object(o) ? o : NULL;
}

static void
test_depth(void)
{
	struct jsonw w;
	json_error_t err;
	json_t *root, *o;
	char want[256], key[8];
	size_t n;
	int i;

	jsonw_begin(&w, buf);
	for (i = 0; i < JSONW_DEPTH + 2; i++)
		jsonw_open(&w, "k");
	CHECK(w.depth == JSONW_DEPTH - 1);
	jsonw_int(&w, "x", 1);
	jsonw_end(&w);
	n = 0;
	want[n++] = '{';
	for (i = 0; i < JSONW_DEPTH - 1; i++) {
		memcpy(want + n, "\"k\":{", 5);
		n += 5;
	}
	memcpy(want + n, "\"x\":1", 5);
	n += 5;
	for (i = 0; i < JSONW_DEPTH; i++)
		want[n++] = '}';
	want[n] = '\0';
	CHECK_STR(drain(), want);
	root = json_loads(outbuf, 0, &err);
	CHECK(root != NULL);
	o = descend(root, JSONW_DEPTH - 1);
	CHECK(o != NULL && json_integer_value(json_object_get(o, "x")) == 1);
	json_decref(root);

	/*
	 * As many closes as opens: the ignored opens' closes close outer
	 * objects, and those beyond the top are ignored; still JSON.
	 */
	jsonw_begin(&w, buf);
	for (i = 0; i < JSONW_DEPTH + 2; i++) {
		jsonw_open(&w, "k");
		snprintf(key, sizeof(key), "n%d", i);
		jsonw_int(&w, key, i);
	}
	for (i = 0; i < JSONW_DEPTH + 2; i++) {
		jsonw_close(&w);
		snprintf(key, sizeof(key), "m%d", i);
		jsonw_int(&w, key, i);
	}
	CHECK(w.depth == 0);
	jsonw_end(&w);
	drain();
	root = json_loads(outbuf, JSON_REJECT_DUPLICATES, &err);
	CHECK(root != NULL);
	CHECK(json_is_object(descend(root, JSONW_DEPTH - 1)));
	CHECK(descend(root, JSONW_DEPTH) == NULL);
	json_decref(root);
}

/* How jsonw writes control byte c, quotes included. */
static const char *
control(int c, char *want, size_t size)
{
	switch (c) {
	case '\b':
		return "\"\\b\"";
	case '\f':
		return "\"\\f\"";
	case '\n':
		return "\"\\n\"";
	case '\r':
		return "\"\\r\"";
	case '\t':
		return "\"\\t\"";
	}
	snprintf(want, size, "\"\\u%04x\"", c);
	return want;
}

static void
test_escapes(void)
{
	char c, want[16], all[128], quoted[130];
	size_t n;
	int i, ok;

	CHECK_STR(ESC(""), "\"\"");
	CHECK_STR(ESC("\""), "\"\\\"\"");
	CHECK_STR(ESC("\\"), "\"\\\\\"");
	CHECK_STR(ESC("a\"b\\c"), "\"a\\\"b\\\\c\"");
	CHECK_STR(ESC("/"), "\"/\"");
	CHECK_STR(ESC("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
	CHECK_STR(ESC("\0"), "\"\\u0000\"");
	CHECK_STR(ESC("\x1f"), "\"\\u001f\"");
	CHECK_STR(ESC("\x0b"), "\"\\u000b\"");
	CHECK_STR(ESC("a\x01" "b\x1b" "c"), "\"a\\u0001b\\u001bc\"");
	/* Every control byte on its own. */
	ok = 0;
	for (i = 0; i < 0x20; i++) {
		c = (char)i;
		if (strcmp(esc(&c, 1), control(i, want, sizeof(want))) == 0)
			ok++;
		else
			fprintf(stderr, "control 0x%02x: %s\n", i, outbuf);
	}
	CHECK(ok == 0x20);
	/*
	 * DEL is no control to RFC 8259 (jansson writes it as it is), but
	 * jsonw escapes it, so that the text is printable ASCII only.
	 */
	CHECK_STR(ESC("\x7f"), "\"\\u007f\"");
	CHECK_STR(ESC("a\x7f" "b"), "\"a\\u007fb\"");
	/* Every other printable byte as it is. */
	n = 0;
	for (i = 0x20; i < 0x7f; i++)
		if (i != '"' && i != '\\')
			all[n++] = (char)i;
	snprintf(quoted, sizeof(quoted), "\"%.*s\"", (int)n, all);
	CHECK_STR(esc(all, n), quoted);
}

static void
test_utf8(void)
{
	CHECK_STR(ESC("\xc2\x80"), "\"\\u0080\"");
	CHECK_STR(ESC("\xc3\xa9"), "\"\\u00e9\"");
	CHECK_STR(ESC("\xdf\xbf"), "\"\\u07ff\"");
	CHECK_STR(ESC("\xe0\xa0\x80"), "\"\\u0800\"");
	CHECK_STR(ESC("\xe2\x82\xac"), "\"\\u20ac\"");
	CHECK_STR(ESC("\xed\x9f\xbf"), "\"\\ud7ff\"");
	CHECK_STR(ESC("\xee\x80\x80"), "\"\\ue000\"");
	CHECK_STR(ESC("\xef\xbf\xbd"), "\"\\ufffd\"");
	CHECK_STR(ESC("\xef\xbf\xbf"), "\"\\uffff\"");
	CHECK_STR(ESC("\xf0\x90\x80\x80"), "\"\\ud800\\udc00\"");
	CHECK_STR(ESC("\xf0\x9f\x98\x80"), "\"\\ud83d\\ude00\"");
	CHECK_STR(ESC("\xf3\xbf\xbf\xbf"), "\"\\udbbf\\udfff\"");
	CHECK_STR(ESC("\xf4\x80\x80\x80"), "\"\\udbc0\\udc00\"");
	CHECK_STR(ESC("\xf4\x8f\xbf\xbf"), "\"\\udbff\\udfff\"");
	CHECK_STR(ESC("a\xc3\xa9\xe2\x82\xac" "b\xf0\x90\x80\x80"),
	    "\"a\\u00e9\\u20acb\\ud800\\udc00\"");
}

static void
test_malformed(void)
{
	char c;
	int i, ok;

	/* Lone continuation bytes: one each. */
	CHECK_STR(ESC("\x80"), "\"\\ufffd\"");
	CHECK_STR(ESC("\xbf"), "\"\\ufffd\"");
	CHECK_STR(ESC("\x80\x80"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(ESC("a\x80" "b"), "\"a\\ufffdb\"");
	CHECK_STR(ESC("\x80\xc3\xa9"), "\"\\ufffd\\u00e9\"");
	/* C0 and C1 can only be overlong: lead and continuation each. */
	CHECK_STR(ESC("\xc0\x80"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xc1\xbf"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xc0"), "\"\\ufffd\"");
	/* Three- and four-byte overlongs: one per byte. */
	CHECK_STR(ESC("\xe0\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xe0\x9f\xbf"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xf0\x80\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xf0\x8f\xbf\xbf"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* Surrogates, encoded: one per byte. */
	CHECK_STR(ESC("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xed\xbf\xbf"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xed\xa0\xbd\xed\xb8\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* Beyond U+10FFFF. */
	CHECK_STR(ESC("\xf4\x90\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xf5\x80\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xff\xfe"), "\"\\ufffd\\ufffd\"");
	ok = 0;
	for (i = 0xf5; i <= 0xff; i++) {
		c = (char)i;
		if (strcmp(esc(&c, 1), "\"\\ufffd\"") == 0)
			ok++;
	}
	CHECK(ok == 0xff - 0xf5 + 1);
	/* Every lead byte alone at the end: one. */
	ok = 0;
	for (i = 0xc2; i <= 0xf4; i++) {
		c = (char)i;
		if (strcmp(esc(&c, 1), "\"\\ufffd\"") == 0)
			ok++;
	}
	CHECK(ok == 0xf4 - 0xc2 + 1);
	/* Truncated at the end of the string: one per byte. */
	CHECK_STR(ESC("\xc3"), "\"\\ufffd\"");
	CHECK_STR(ESC("\xe2\x82"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xf0\x9f"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xf0\x9f\x98"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("ab\xe2\x82"), "\"ab\\ufffd\\ufffd\"");
	/* ... and before an ASCII byte, which stays. */
	CHECK_STR(ESC("\xc3" "A"), "\"\\ufffdA\"");
	CHECK_STR(ESC("\xe2" "A"), "\"\\ufffdA\"");
	CHECK_STR(ESC("\xe2\x82" "A"), "\"\\ufffd\\ufffdA\"");
	CHECK_STR(ESC("\xf0\x9f\x98" "A"), "\"\\ufffd\\ufffd\\ufffdA\"");
	CHECK_STR(ESC("\xe2\x82\""), "\"\\ufffd\\ufffd\\\"\"");
	CHECK_STR(ESC("\xe2\x82\n"), "\"\\ufffd\\ufffd\\n\"");
	CHECK_STR(ESC("\xc3\0"), "\"\\ufffd\\u0000\"");
	/* ... and before another lead byte, whose character stays. */
	CHECK_STR(ESC("\xc3\xc3\xa9"), "\"\\ufffd\\u00e9\"");
	CHECK_STR(ESC("\xe2\x82\xe2\x82\xac"), "\"\\ufffd\\ufffd\\u20ac\"");
	CHECK_STR(ESC("\xf0\x9f\x98\xf0\x9f\x98\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ud83d\\ude00\"");
	/* The length given is the end, NUL or not. */
	CHECK_STR(esc("\xe2\x82\xac", 2), "\"\\ufffd\\ufffd\"");
	CHECK_STR(esc("\xc3\xa9", 1), "\"\\ufffd\"");
}

/* xorshift64*: the same strings every run. */
static uint64_t
rnd(void)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x * 0x2545f4914f6cdd1dULL;
}

/* A code point, none a surrogate, from every length; NUL when nul. */
static uint32_t
rnd_codepoint(int nul)
{
	uint32_t c;

	for (;;) {
		switch (rnd() % 4) {
		case 0:
			c = (uint32_t)(rnd() % 0x80);
			break;
		case 1:
			c = 0x80 + (uint32_t)(rnd() % (0x800 - 0x80));
			break;
		case 2:
			c = 0x800 + (uint32_t)(rnd() % (0x10000 - 0x800));
			break;
		default:
			c = 0x10000 + (uint32_t)(rnd() % (0x110000 - 0x10000));
		}
		if ((c >= 0xd800 && c <= 0xdfff) || (c == 0 && !nul))
			continue;
		return c;
	}
}

static size_t
utf8_put(unsigned char *p, uint32_t c)
{
	if (c < 0x80) {
		p[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		p[0] = (unsigned char)(0xc0 | (c >> 6));
		p[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		p[0] = (unsigned char)(0xe0 | (c >> 12));
		p[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		p[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	p[0] = (unsigned char)(0xf0 | (c >> 18));
	p[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
	p[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
	p[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

static int
printable(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

/* s[0..n) in an object through jsonw and back through jansson. */
static int
roundtrip(const unsigned char *s, size_t n, size_t flags, int *ascii)
{
	struct jsonw w;
	json_error_t err;
	json_t *root, *v;
	int same;

	jsonw_begin(&w, buf);
	jsonw_strn(&w, "s", (const char *)s, n);
	jsonw_end(&w);
	drain();
	*ascii = printable(outbuf);
	if ((root = json_loads(outbuf, flags, &err)) == NULL)
		return 0;
	v = json_object_get(root, "s");
	same = json_is_object(root) && json_is_string(v) &&
	    json_string_length(v) == n &&
	    memcmp(json_string_value(v), s, n) == 0;
	json_decref(root);
	return same;
}

static void
test_roundtrip(void)
{
	unsigned char s[RT_MAXCHARS * 4];
	size_t n, k, len;
	int i, same = 0, ascii = 0, a, nul;

	for (i = 0; i < 2 * RT_STRINGS; i++) {
		nul = i >= RT_STRINGS;	/* the second half with NULs */
		len = (size_t)(rnd() % (RT_MAXCHARS + 1));
		for (n = k = 0; k < len; k++)
			n += utf8_put(s + n, rnd_codepoint(nul));
		if (roundtrip(s, n, nul ? JSON_ALLOW_NUL : 0, &a))
			same++;
		else
			fprintf(stderr, "roundtrip %d: %s\n", i, outbuf);
		ascii += a;
	}
	CHECK(same == 2 * RT_STRINGS);
	CHECK(ascii == 2 * RT_STRINGS);
	/* The edges of each length. */
	n = 0;
	n += utf8_put(s + n, 0x7f);
	n += utf8_put(s + n, 0x80);
	n += utf8_put(s + n, 0x7ff);
	n += utf8_put(s + n, 0x800);
	n += utf8_put(s + n, 0xd7ff);
	n += utf8_put(s + n, 0xe000);
	n += utf8_put(s + n, 0xfffd);
	n += utf8_put(s + n, 0xffff);
	n += utf8_put(s + n, 0x10000);
	n += utf8_put(s + n, 0x10ffff);
	n += utf8_put(s + n, 0x1);
	CHECK(roundtrip(s, n, 0, &a) && a);
}

int
main(void)
{
	if ((buf = evbuffer_new()) == NULL)
		return 1;
	UNIT_RUN(test_empty);
	UNIT_RUN(test_fields);
	UNIT_RUN(test_int);
	UNIT_RUN(test_decimal);
	UNIT_RUN(test_nested);
	UNIT_RUN(test_depth);
	UNIT_RUN(test_escapes);
	UNIT_RUN(test_utf8);
	UNIT_RUN(test_malformed);
	UNIT_RUN(test_roundtrip);
	evbuffer_free(buf);
	return UNIT_DONE("test_jsonw");
}
