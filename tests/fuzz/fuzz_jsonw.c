/*
 * fuzz_jsonw.c: the JSON object writer on arbitrary bytes.
 *
 * The input is the string: an object gets it all (jsonw_strn()), up to
 * its first NUL (jsonw_str()), and a slice of it inside nested objects
 * as deep as its first byte says (past the depth limit too); an integer
 * and a decimal are made of its first and last 8 bytes, the decimal's
 * scale of its last byte (out of 1..9 too).  Aborts unless:
 *  - the text is printable ASCII only (0x20-0x7e);
 *  - jansson reads it as an object (with JSON_ALLOW_NUL when the input
 *    holds a NUL, with no flags otherwise), with no key twice;
 *  - each string read back is its input exactly when that is valid
 *    UTF-8 (by this file's own check), and otherwise holds U+FFFD;
 *  - the integer reads back, and the decimal is written as "-I.F" with
 *    the digits snprintf() gives.
 * Seeds: tests/fuzz/corpus/jsonw/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "jsonw.h"

#define MAX_INPUT	65536

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct evbuffer *buf;

/* Well-formed UTF-8 by RFC 3629's grammar (Unicode table 3-7). */
static int
valid_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0, k, j;
	uint8_t lo, hi;

	while (i < n) {
		lo = 0x80;
		hi = 0xbf;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			k = 1;
		else if (s[i] == 0xe0) {
			k = 2;
			lo = 0xa0;
		} else if (s[i] == 0xed) {
			k = 2;
			hi = 0x9f;
		} else if (s[i] >= 0xe1 && s[i] <= 0xef)
			k = 2;
		else if (s[i] == 0xf0) {
			k = 3;
			lo = 0x90;
		} else if (s[i] >= 0xf1 && s[i] <= 0xf3)
			k = 3;
		else if (s[i] == 0xf4) {
			k = 3;
			hi = 0x8f;
		} else
			return 0;
		if (n - i - 1 < k || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

/* Big-endian, the bytes there are of at most 8. */
static uint64_t
be64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* The string at key in o is s[0..n), or U+FFFD in it when not UTF-8. */
static void
check_string(json_t *o, const char *key, const uint8_t *s, size_t n)
{
	json_t *v = json_object_get(o, key);
	const char *str;
	size_t len;

	if (!json_is_string(v))
		abort();
	str = json_string_value(v);
	len = json_string_length(v);
	if (valid_utf8(s, n)) {
		if (len != n || memcmp(str, s, n) != 0)
			abort();
	} else if (memmem(str, len, "\xef\xbf\xbd", 3) == NULL)
		abort();
}

/* The decimal's text as it must appear, "d": in front. */
static void
decimal_text(char *t, size_t size, int64_t units, int scale)
{
	uint64_t u = units < 0 ? (uint64_t)0 - (uint64_t)units :
	    (uint64_t)units, div = 1;
	int i;

	if (scale < 1 || scale > 9)
		scale = 3;
	for (i = 0; i < scale; i++)
		div *= 10;
	snprintf(t, size, "\"d\":%s%llu.%0*llu", units < 0 ? "-" : "",
	    (unsigned long long)(u / div), scale,
	    (unsigned long long)(u % div));
}

static void
write_object(const uint8_t *data, size_t size, const char *cstr,
    int64_t iv, int64_t units, int scale)
{
	struct jsonw w;
	size_t off = size / 4, len = size / 2;
	int depth = size > 0 ? data[0] % (JSONW_DEPTH + 3) : 0, i;

	jsonw_begin(&w, buf);
	jsonw_strn(&w, "all", (const char *)data, size);
	jsonw_str(&w, "str", cstr);
	for (i = 0; i < depth; i++)
		jsonw_open(&w, "o");
	jsonw_strn(&w, "slice", (const char *)data + off, len);
	jsonw_int(&w, "i", iv);
	/* Close one less than opened: jsonw_end() closes the rest. */
	for (i = 1; i < depth; i++)
		jsonw_close(&w);
	jsonw_decimal(&w, "d", units, scale);
	jsonw_end(&w);
}

static void
check_object(const char *text, size_t n, const uint8_t *data, size_t size,
    const char *cstr, int64_t iv, const char *dtext)
{
	json_error_t err;
	json_t *root, *o;
	size_t i, flags;

	for (i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e)
			abort();
	if (memmem(text, n, dtext, strlen(dtext)) == NULL)
		abort();
	flags = JSON_REJECT_DUPLICATES |
	    (memchr(data, 0, size) != NULL ? JSON_ALLOW_NUL : 0);
	if ((root = json_loadb(text, n, flags, &err)) == NULL ||
	    !json_is_object(root))
		abort();
	check_string(root, "all", data, size);
	check_string(root, "str", (const uint8_t *)cstr, strlen(cstr));
	/* The slice and the integer are as deep as the opens went. */
	o = root;
	while (json_object_get(o, "slice") == NULL)
		if ((o = json_object_get(o, "o")) == NULL)
			abort();
	check_string(o, "slice", data + size / 4, size / 2);
	if (json_integer_value(json_object_get(o, "i")) != iv)
		abort();
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dtext[64], *cstr;
	const char *text;
	int64_t iv, units;
	size_t n;
	int scale;

	if (size > MAX_INPUT)
		return 0;
	if (buf == NULL && (buf = evbuffer_new()) == NULL)
		abort();
	if ((cstr = malloc(size + 1)) == NULL)
		abort();
	memcpy(cstr, data, size);
	cstr[size] = '\0';
	iv = (int64_t)be64(data, size);
	units = (int64_t)be64(size > 8 ? data + size - 8 : data, size);
	scale = size > 0 ? data[size - 1] % 12 - 1 : 0;
	decimal_text(dtext, sizeof(dtext), units, scale);

	write_object(data, size, cstr, iv, units, scale);
	n = evbuffer_get_length(buf);
	if ((text = (const char *)evbuffer_pullup(buf, -1)) == NULL && n > 0)
		abort();
	check_object(text, n, data, size, cstr, iv, dtext);
	evbuffer_drain(buf, n);
	free(cstr);
	return 0;
}
