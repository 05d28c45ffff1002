/*
 * jsonw.c: see jsonw.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

#include "jsonw.h"

static const char hexdigits[] = "0123456789abcdef";

/* "\uXXXX" for one UTF-16 unit. */
static void
jsonw_u(struct evbuffer *b, unsigned int u)
{
	char e[6] = { '\\', 'u', hexdigits[(u >> 12) & 15],
	    hexdigits[(u >> 8) & 15], hexdigits[(u >> 4) & 15],
	    hexdigits[u & 15] };

	evbuffer_add(b, e, sizeof(e));
}

static void
jsonw_codepoint(struct evbuffer *b, uint32_t c)
{
	if (c < 0x10000) {
		jsonw_u(b, c);
		return;
	}
	c -= 0x10000;
	jsonw_u(b, 0xd800 | (c >> 10));
	jsonw_u(b, 0xdc00 | (c & 0x3ff));
}

/*
 * The character starting at s[0] (a byte >= 0x80): its code point and
 * length, or U+FFFD and 1 when it is not well-formed UTF-8.
 */
static size_t
jsonw_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len, i;

	*cp = 0xfffd;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 1;
	if (len > n)
		return 1;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 1;
	*cp = c;
	return len;
}

static int
jsonw_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void
jsonw_special(struct evbuffer *b, unsigned char c)
{
	static const char shortform[] = "\b\f\n\r\t\"\\";
	static const char letter[] = "bfnrt\"\\";
	const char *p;
	char e[2] = { '\\', 0 };

	if (c != '\0' && (p = strchr(shortform, c)) != NULL) {
		e[1] = letter[p - shortform];
		evbuffer_add(b, e, 2);
	} else
		jsonw_u(b, c);
}

void
jsonw_string(struct evbuffer *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;
	uint32_t cp;

	evbuffer_add(b, "\"", 1);
	while (i < n) {
		for (run = i; run < n && jsonw_plain(s[run]); run++)
			;
		if (run > i) {
			evbuffer_add(b, s + i, run - i);
			i = run;
			continue;
		}
		if (s[i] < 0x80) {
			jsonw_special(b, s[i]);
			i++;
			continue;
		}
		i += jsonw_utf8(s + i, n - i, &cp);
		jsonw_codepoint(b, cp);
	}
	evbuffer_add(b, "\"", 1);
}

/* The separator and the key of the next field. */
static void
jsonw_key(struct jsonw *w, const char *key)
{
	if (w->more[w->depth])
		evbuffer_add(w->b, ",", 1);
	w->more[w->depth] = 1;
	jsonw_string(w->b, key, strlen(key));
	evbuffer_add(w->b, ":", 1);
}

void
jsonw_begin(struct jsonw *w, struct evbuffer *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	evbuffer_add(b, "{", 1);
}

void
jsonw_end(struct jsonw *w)
{
	while (w->depth > 0)
		jsonw_close(w);
	evbuffer_add(w->b, "}", 1);
}

void
jsonw_open(struct jsonw *w, const char *key)
{
	if (w->depth + 1 >= JSONW_DEPTH) {
		w->ignored++;	/* deeper than the records go */
		return;
	}
	jsonw_key(w, key);
	evbuffer_add(w->b, "{", 1);
	w->more[++w->depth] = 0;
}

void
jsonw_close(struct jsonw *w)
{
	if (w->ignored > 0) {
		w->ignored--;
		return;
	}
	if (w->depth == 0)
		return;
	w->depth--;
	evbuffer_add(w->b, "}", 1);
}

void
jsonw_strn(struct jsonw *w, const char *key, const char *s, size_t n)
{
	jsonw_key(w, key);
	jsonw_string(w->b, s, n);
}

void
jsonw_str(struct jsonw *w, const char *key, const char *s)
{
	if (s == NULL)
		jsonw_null(w, key);
	else
		jsonw_strn(w, key, s, strlen(s));
}

void
jsonw_str_null(struct jsonw *w, const char *key, const char *s)
{
	jsonw_str(w, key, s != NULL && *s != '\0' ? s : NULL);
}

void
jsonw_null(struct jsonw *w, const char *key)
{
	jsonw_key(w, key);
	evbuffer_add(w->b, "null", 4);
}

/* Decimal digits of v, at least width of them (zeros in front). */
static size_t
jsonw_digits(char *end, uint64_t v, int width)
{
	char *p = end;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
		width--;
	} while (v > 0 || width > 0);
	return (size_t)(end - p);
}

void
jsonw_int(struct jsonw *w, const char *key, int64_t v)
{
	char buf[24], *end = buf + sizeof(buf);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n;

	jsonw_key(w, key);
	n = jsonw_digits(end, u, 1);
	if (v < 0)
		evbuffer_add(w->b, "-", 1);
	evbuffer_add(w->b, end - n, n);
}

void
jsonw_decimal(struct jsonw *w, const char *key, int64_t units, int scale)
{
	static const uint64_t pow10[] = { 1, 10, 100, 1000, 10000, 100000,
	    1000000, 10000000, 100000000, 1000000000 };
	char buf[48], *end = buf + sizeof(buf);
	uint64_t u = units < 0 ? (uint64_t)0 - (uint64_t)units :
	    (uint64_t)units, div;
	size_t n;

	if (scale < 1 || scale > 9)
		scale = 3;
	div = pow10[scale];
	jsonw_key(w, key);
	n = jsonw_digits(end, u % div, scale);
	*(end - n - 1) = '.';
	n++;
	n += jsonw_digits(end - n, u / div, 1);
	if (units < 0)
		evbuffer_add(w->b, "-", 1);
	evbuffer_add(w->b, end - n, n);
}
