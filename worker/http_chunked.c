/*
 * http_chunked.c: the chunked transfer-coding decoder (RFC 9112 7.1);
 * see http.h for the contract.
 *
 * A byte-at-a-time state machine for the framing (size lines, CRLFs,
 * trailers) that hands data out as slices of its input, so nothing is
 * buffered and every split of the input gives the same answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"
#include "http_char.h"

/*
 * The chunked decoder
 */

enum {
	CS_SIZE0,	/* first hex digit */
	CS_SIZE,	/* more hex digits */
	CS_EXT_PRE,	/* BWS before ';' */
	CS_EXT_NAME0,	/* BWS after ';', then a name */
	CS_EXT_NAME,
	CS_EXT_POSTNAME,	/* BWS before '=' */
	CS_EXT_VAL0,	/* BWS after '=', then a value */
	CS_EXT_TOKEN,
	CS_EXT_QUOTED,
	CS_EXT_QPAIR,
	CS_EXT_AFTERQ,
	CS_SIZE_LF,	/* the LF of the size line */
	CS_DATA,
	CS_DATA_CR,
	CS_DATA_LF,
	CS_TR_START,	/* a trailer line or the final CRLF */
	CS_TR_NAME,
	CS_TR_VALUE,
	CS_TR_LF,
	CS_TR_END,	/* the final LF */
	CS_DONE,
	CS_ERROR
};

void
http_chunked_init(struct http_chunked *c, uint64_t limit)
{
	memset(c, 0, sizeof(*c));
	c->limit = limit;
	c->state = CS_SIZE0;
}

static int
cs_error(struct http_chunked *c, int status, const char *reason)
{
	c->state = CS_ERROR;
	c->err.status = status;
	c->err.reason = reason;
	return -1;
}

static int
cs_bad_size_line(struct http_chunked *c, int ch)
{
	if (ch == '\n')
		return cs_error(c, 400, "bare LF in chunk size line");
	return cs_error(c, 400, "malformed chunk extension");
}

/* After the size or an extension: what may follow. */
static int
cs_ext_next(struct http_chunked *c, int ch)
{
	if (ch == ';')
		c->state = CS_EXT_NAME0;
	else if (is_ows(ch))
		c->state = CS_EXT_PRE;
	else if (ch == '\r')
		c->state = CS_SIZE_LF;
	else
		return cs_bad_size_line(c, ch);
	return 0;
}

static int
cs_size(struct http_chunked *c, int ch)
{
	int v = hex_value(ch);

	if (v != -1) {
		if (++c->digits > HTTP_CHUNK_DIGITS)
			return cs_error(c, 400, "chunk size too long");
		c->size = c->size * 16 + (uint64_t)v;
		if (c->size > HTTP_CHUNK_MAX)
			return cs_error(c, 400, "chunk size too large");
		c->state = CS_SIZE;
		return 0;
	}
	if (c->state == CS_SIZE0) {
		if (ch == '\n')
			return cs_error(c, 400, "bare LF in chunk size line");
		return cs_error(c, 400, "invalid chunk size");
	}
	if (c->size > c->limit - c->total)
		return cs_error(c, 413, "request body too large");
	if (ch != ';' && !is_ows(ch) && ch != '\r' && ch != '\n')
		return cs_error(c, 400, "invalid chunk size");
	return cs_ext_next(c, ch);
}

/* Chunk extensions: checked against RFC 9112 7.1.1, then ignored. */
static int
cs_ext(struct http_chunked *c, int ch)
{
	if (++c->extlen > HTTP_CHUNK_EXT_MAX)
		return cs_error(c, 400, "chunk extension too long");
	switch (c->state) {
	case CS_EXT_PRE:
		if (is_ows(ch))
			return 0;
		if (ch == ';') {
			c->state = CS_EXT_NAME0;
			return 0;
		}
		break;
	case CS_EXT_NAME0:
		if (is_ows(ch))
			return 0;
		if (is_tchar(ch)) {
			c->state = CS_EXT_NAME;
			return 0;
		}
		break;
	case CS_EXT_NAME:
		if (is_tchar(ch))
			return 0;
		if (ch == '=') {
			c->state = CS_EXT_VAL0;
			return 0;
		}
		if (is_ows(ch)) {
			c->state = CS_EXT_POSTNAME;
			return 0;
		}
		return cs_ext_next(c, ch);
	case CS_EXT_POSTNAME:
		if (is_ows(ch))
			return 0;
		if (ch == '=') {
			c->state = CS_EXT_VAL0;
			return 0;
		}
		if (ch == ';') {
			c->state = CS_EXT_NAME0;
			return 0;
		}
		break;
	case CS_EXT_VAL0:
		if (is_ows(ch))
			return 0;
		if (is_tchar(ch)) {
			c->state = CS_EXT_TOKEN;
			return 0;
		}
		if (ch == '"') {
			c->state = CS_EXT_QUOTED;
			return 0;
		}
		break;
	case CS_EXT_TOKEN:
		if (is_tchar(ch))
			return 0;
		return cs_ext_next(c, ch);
	case CS_EXT_QUOTED:
		if (ch == '"')
			c->state = CS_EXT_AFTERQ;
		else if (ch == '\\')
			c->state = CS_EXT_QPAIR;
		else if (!is_fieldchar(ch))
			break;
		return 0;
	case CS_EXT_QPAIR:
		if (!is_fieldchar(ch))
			break;
		c->state = CS_EXT_QUOTED;
		return 0;
	case CS_EXT_AFTERQ:
		return cs_ext_next(c, ch);
	}
	return cs_bad_size_line(c, ch);
}

static int
cs_trailer(struct http_chunked *c, int ch)
{
	if (++c->trlen > HTTP_TRAILER_MAX)
		return cs_error(c, 431, "trailer section too large");
	if (ch == '\n' && c->state != CS_TR_LF && c->state != CS_TR_END)
		return cs_error(c, 400, "bare LF in trailer section");
	switch (c->state) {
	case CS_TR_START:
		if (ch == '\r')
			c->state = CS_TR_END;
		else if (is_tchar(ch))
			c->state = CS_TR_NAME;
		else if (is_ows(ch))
			return cs_error(c, 400, "obsolete line folding");
		else if (ch == ':')
			return cs_error(c, 400, "empty trailer name");
		else
			return cs_error(c, 400, "trailer name is not a token");
		return 0;
	case CS_TR_NAME:
		if (ch == ':')
			c->state = CS_TR_VALUE;
		else if (is_ows(ch))
			return cs_error(c, 400,
			    "whitespace before colon in trailer");
		else if (ch == '\r')
			return cs_error(c, 400, "trailer line without colon");
		else if (!is_tchar(ch))
			return cs_error(c, 400, "trailer name is not a token");
		return 0;
	case CS_TR_VALUE:
		if (ch == '\r')
			c->state = CS_TR_LF;
		else if (!is_fieldchar(ch))
			return cs_error(c, 400,
			    "control character in trailer value");
		return 0;
	case CS_TR_LF:
	case CS_TR_END:
		if (ch != '\n')
			return cs_error(c, 400, "bare CR in trailer section");
		c->state = c->state == CS_TR_LF ? CS_TR_START : CS_DONE;
		return 0;
	}
	return cs_error(c, 400, "chunked decoder state");
}

/* One byte of framing. */
static int
cs_byte(struct http_chunked *c, int ch)
{
	switch (c->state) {
	case CS_SIZE0:
	case CS_SIZE:
		return cs_size(c, ch);
	case CS_SIZE_LF:
		if (ch != '\n')
			return cs_error(c, 400, "bare CR in chunk size line");
		c->state = c->size == 0 ? CS_TR_START : CS_DATA;
		return 0;
	case CS_DATA_CR:
	case CS_DATA_LF:
		if (ch != (c->state == CS_DATA_CR ? '\r' : '\n'))
			return cs_error(c, 400,
			    "chunk data not followed by CRLF");
		if (c->state == CS_DATA_CR) {
			c->state = CS_DATA_LF;
			return 0;
		}
		c->state = CS_SIZE0;
		c->size = 0;
		c->digits = 0;
		c->extlen = 0;
		return 0;
	case CS_TR_START:
	case CS_TR_NAME:
	case CS_TR_VALUE:
	case CS_TR_LF:
	case CS_TR_END:
		return cs_trailer(c, ch);
	default:
		return cs_ext(c, ch);
	}
}

int
http_chunked_decode(struct http_chunked *c, const char *in, size_t len,
    size_t *used, struct http_str *data, struct http_error *err)
{
	size_t i = 0, n;

	*used = 0;
	data->p = NULL;
	data->len = 0;
	while (i < len && c->state != CS_DONE && c->state != CS_ERROR) {
		if (c->state == CS_DATA) {
			n = len - i;
			if (n > c->size)
				n = (size_t)c->size;
			c->size -= n;
			c->total += n;
			if (c->size == 0)
				c->state = CS_DATA_CR;
			data->p = in + i;
			data->len = n;
			*used = i + n;
			return HTTP_DATA;
		}
		if (cs_byte(c, (unsigned char)in[i]) == -1)
			break;
		i++;
	}
	*used = i;
	if (c->state == CS_ERROR) {
		*err = c->err;
		return HTTP_ERROR;
	}
	return c->state == CS_DONE ? HTTP_OK : HTTP_INCOMPLETE;
}
