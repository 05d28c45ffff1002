/*
 * http_resp.c: the response-head parser for what upstreams answer; see
 * http.h ("The response head") for the contract.
 *
 * The end of the head (CRLF CRLF) is looked for first, from where the
 * last call stopped, so a head that arrives a byte at a time costs
 * linear time (bare CRs and LFs are refused on the way); the head is
 * then read line by line, once.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"
#include "http_char.h"

#define RS_SEEN_CL	0x01
#define RS_SEEN_TE	0x02
#define RS_SEEN_CLOSE	0x04
#define RS_SEEN_KEEP	0x08

void
http_resp_init(struct http_resp_parser *p)
{
	memset(p, 0, sizeof(*p));
}

static int
rs_error(struct http_resp_parser *p, struct http_error *e,
    const char *reason)
{
	p->failed = 1;
	p->err.status = 502;
	p->err.reason = reason;
	*e = p->err;
	return HTTP_ERROR;
}

static int
rs_ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != lit[i])
			return 0;
	return 1;
}

/* "HTTP/1.x DDD[ reason]" */
static const char *
rs_status_line(struct http_response *r, const char *s, size_t n)
{
	size_t i;

	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return "bad status line";
	r->version = s[7] == '1' ? 11 : 10;
	if (!is_digit((unsigned char)s[9]) || !is_digit((unsigned char)s[10])
	    || !is_digit((unsigned char)s[11]))
		return "bad status code";
	r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (r->status < 100 || r->status > 599)
		return "bad status code";
	if (n > 12 && s[12] != ' ')
		return "bad status line";
	for (i = 13; i < n; i++)
		if (!is_fieldchar((unsigned char)s[i]))
			return "bad reason phrase";
	return NULL;
}

static const char *
rs_content_length(struct http_response *r, const struct http_str *v)
{
	uint64_t n = 0;
	size_t i;

	if (v->len == 0)
		return "bad Content-Length";
	for (i = 0; i < v->len; i++) {
		if (!is_digit((unsigned char)v->p[i]))
			return "bad Content-Length";
		n = n * 10 + (uint64_t)(v->p[i] - '0');
		if (n > HTTP_LENGTH_MAX)
			return "Content-Length too large";
	}
	r->content_length = (int64_t)n;
	return NULL;
}

/*
 * Connection: a comma-separated list of tokens (empty elements allowed,
 * RFC 9110 5.6.1); close and keep-alive are noted.
 */
static const char *
rs_connection(unsigned int *seen, const struct http_str *v)
{
	size_t i = 0, j;

	while (i < v->len) {
		if (v->p[i] == ',' || is_ows((unsigned char)v->p[i])) {
			i++;
			continue;
		}
		for (j = i; j < v->len && is_tchar((unsigned char)v->p[j]); j++)
			;
		if (j == i)
			return "bad Connection";
		if (rs_ieq(v->p + i, j - i, "close"))
			*seen |= RS_SEEN_CLOSE;
		else if (rs_ieq(v->p + i, j - i, "keep-alive"))
			*seen |= RS_SEEN_KEEP;
		while (j < v->len && is_ows((unsigned char)v->p[j]))
			j++;
		if (j < v->len && v->p[j] != ',')
			return "bad Connection";
		i = j;
	}
	return NULL;
}

/* One header line: name ":" OWS value OWS, with the framing fields. */
static const char *
rs_header(struct http_response *r, unsigned int *seen, const char *s,
    size_t n)
{
	struct http_header *h;
	size_t i, colon, end;

	for (colon = 0; colon < n && is_tchar((unsigned char)s[colon]);
	    colon++)
		;
	if (colon == 0 || colon == n || s[colon] != ':')
		return colon == 0 && n > 0 && is_ows((unsigned char)s[0]) ?
		    "folded header line" : "bad header line";
	for (i = colon + 1; i < n; i++)
		if (!is_fieldchar((unsigned char)s[i]))
			return "bad header value";
	if (r->nheaders == HTTP_RESP_HEADERS_MAX)
		return "too many header lines";
	h = &r->headers[r->nheaders++];
	for (i = colon + 1; i < n && is_ows((unsigned char)s[i]); i++)
		;
	for (end = n; end > i && is_ows((unsigned char)s[end - 1]); end--)
		;
	h->name.p = s;
	h->name.len = colon;
	h->value.p = s + i;
	h->value.len = end - i;
	if (rs_ieq(s, colon, "content-length")) {
		if (*seen & RS_SEEN_CL)
			return "two Content-Length";
		*seen |= RS_SEEN_CL;
		return rs_content_length(r, &h->value);
	}
	if (rs_ieq(s, colon, "transfer-encoding")) {
		if (*seen & RS_SEEN_TE)
			return "two Transfer-Encoding";
		*seen |= RS_SEEN_TE;
		if (!http_str_ieq(&h->value, "chunked"))
			return "Transfer-Encoding other than chunked";
		r->chunked = 1;
		return NULL;
	}
	if (rs_ieq(s, colon, "connection"))
		return rs_connection(seen, &h->value);
	return NULL;
}

/* The lines of a complete head, s[0..n) ending in its empty line. */
static const char *
rs_lines(struct http_response *r, const char *s, size_t n)
{
	unsigned int seen = 0;
	const char *why, *cr;
	size_t off = 0, len;
	int first = 1;

	r->content_length = -1;
	while (off < n) {
		if ((cr = memchr(s + off, '\r', n - off)) == NULL ||
		    (size_t)(cr - s) + 1 >= n || cr[1] != '\n')
			return "bare CR in head";
		len = (size_t)(cr - (s + off));
		if (memchr(s + off, '\n', len) != NULL)
			return "bare LF in head";
		if (len == 0)
			break;		/* the empty line */
		if (first)
			why = rs_status_line(r, s + off, len);
		else
			why = rs_header(r, &seen, s + off, len);
		if (why != NULL)
			return why;
		first = 0;
		off += len + 2;
	}
	if (first)
		return "no status line";
	if ((seen & RS_SEEN_CL) && (seen & RS_SEEN_TE))
		return "both Content-Length and Transfer-Encoding";
	if (r->version == 10 && (seen & RS_SEEN_TE))
		return "Transfer-Encoding in HTTP/1.0";
	r->keep_alive = !(seen & RS_SEEN_CLOSE) && (r->version == 11 ||
	    (seen & RS_SEEN_KEEP));
	return NULL;
}

/*
 * Look for the head's end from where the last call stopped, refusing a
 * bare LF or CR on the way (so that a head with LF line ends is refused
 * at once rather than waited for): its length, or 0.
 */
static size_t
rs_find_end(struct http_resp_parser *p, const char *buf, size_t limit,
    const char **why)
{
	size_t i;

	for (i = p->scan; i < limit; i++) {
		if (buf[i] == '\n') {
			if (i == 0 || buf[i - 1] != '\r') {
				*why = "bare LF in head";
				return 0;
			}
			if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r')
				return i + 1;
		} else if (i > 0 && buf[i - 1] == '\r') {
			*why = "bare CR in head";
			return 0;
		}
	}
	p->scan = limit;
	return 0;
}

int
http_parse_response(struct http_resp_parser *p, const char *buf, size_t len,
    struct http_response *r, struct http_error *e)
{
	const char *why = NULL;
	size_t limit, end;

	if (p->failed) {
		*e = p->err;
		return HTTP_ERROR;
	}
	limit = len < HTTP_RESP_HEAD_MAX ? len : HTTP_RESP_HEAD_MAX;
	if ((end = rs_find_end(p, buf, limit, &why)) == 0) {
		if (why != NULL)
			return rs_error(p, e, why);
		if (len >= HTTP_RESP_HEAD_MAX)
			return rs_error(p, e, "response head too long");
		return HTTP_INCOMPLETE;
	}
	memset(r, 0, offsetof(struct http_response, headers));
	r->nheaders = 0;
	r->len = end;
	if ((why = rs_lines(r, buf, r->len)) != NULL)
		return rs_error(p, e, why);
	return HTTP_OK;
}

int
http_resp_has_body(const struct http_response *r, int head_request)
{
	return !head_request && r->status >= 200 && r->status != 204 &&
	    r->status != 304;
}
