/*
 * jsonw.h: one JSON object written as text straight into an evbuffer,
 * field by field, for the audit and access records a worker makes for
 * every request: no tree to build, no allocation per field.
 *
 * The text is printable ASCII only (as jansson's JSON_ENSURE_ASCII
 * makes it, DEL escaped too): strings are escaped as RFC 8259 asks
 * ('"', '\\', control characters as \b \f \n \r \t or \u00XX, DEL as
 * \u007f), every character beyond ASCII is written as \uXXXX (a
 * surrogate pair beyond U+FFFF), and bytes that are not
 * well-formed UTF-8 (overlong forms, surrogates, above U+10FFFF,
 * truncated sequences) each become U+FFFD.  So whatever the bytes, the
 * result is valid JSON, and the same string read back for valid UTF-8.
 *
 * The caller names the fields in the order they are to appear and never
 * the same key twice in one object; objects nest up to JSONW_DEPTH
 * (an open deeper than that is ignored with its close, and its fields
 * go to the enclosing object).  jsonw_end() closes what is still open.
 */
#ifndef GHP_JSONW_H
#define GHP_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define JSONW_DEPTH	8

struct evbuffer;

struct jsonw {
	struct evbuffer	*b;
	int		 depth;
	int		 ignored;	/* opens past JSONW_DEPTH */
	unsigned char	 more[JSONW_DEPTH];	/* a field came before */
};

void	jsonw_begin(struct jsonw *, struct evbuffer *);
void	jsonw_end(struct jsonw *);
/* "key": { ... } until jsonw_close(). */
void	jsonw_open(struct jsonw *, const char *key);
void	jsonw_close(struct jsonw *);
/* A string; NULL is null. */
void	jsonw_str(struct jsonw *, const char *key, const char *);
/* A string; NULL or "" is null. */
void	jsonw_str_null(struct jsonw *, const char *key, const char *);
/* n bytes, NUL or not. */
void	jsonw_strn(struct jsonw *, const char *key, const char *, size_t n);
void	jsonw_int(struct jsonw *, const char *key, int64_t);
void	jsonw_null(struct jsonw *, const char *key);
/* units / 10^scale with scale decimals (scale 1..9): 1234, 3 is 1.234. */
void	jsonw_decimal(struct jsonw *, const char *key, int64_t units,
	    int scale);
/* The escaped form of s[0..n), quotes included, appended to b. */
void	jsonw_string(struct evbuffer *b, const char *s, size_t n);

#endif /* GHP_JSONW_H */
