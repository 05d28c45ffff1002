/*
 * http_char.h: byte classes of HTTP/1.1 (RFC 9110, RFC 3986), private
 * to the request-head parser (http.c) and the chunked decoder
 * (http_chunked.c).
 */
#ifndef GHP_HTTP_CHAR_H
#define GHP_HTTP_CHAR_H

#include <string.h>

static inline int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int
hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline int
is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 5.6.2: tchar. */
static inline int
is_tchar(int c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte of a field value: HTAB, SP, VCHAR, obs-text. */
static inline int
is_fieldchar(int c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* RFC 3986 unreserved and sub-delims. */
static inline int
is_uripchar(int c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	return c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL;
}

static inline int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

#endif /* GHP_HTTP_CHAR_H */
