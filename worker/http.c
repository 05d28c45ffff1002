/*
 * http.c: the request-head parser; see http.h for the contract.  The
 * chunked decoder is in http_chunked.c.
 *
 * The head is read line by line.  A line is only looked at once its LF
 * has arrived, except for the checks that bound the buffer (line and
 * head length, method length), which also run on the incomplete line so
 * that an endless line is refused as early as it can be.  Those checks
 * run first on a complete line too, in the same order, so that a prefix
 * of some bytes never gets an answer the whole would not get.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"
#include "http_char.h"

/* Head parser states. */
#define HP_REQLINE	0
#define HP_HEADERS	1
#define HP_DONE		2
#define HP_ERROR	3

/* What the head parser has seen so far. */
#define SEEN_EMPTY	0x0001	/* the empty line before the request */
#define SEEN_HOST	0x0002
#define SEEN_CL		0x0004
#define SEEN_TE		0x0008
#define SEEN_AUTH	0x0010
#define SEEN_PAUTH	0x0020
#define SEEN_CLOSE	0x0040	/* Connection: close */
#define SEEN_KEEP	0x0080	/* Connection: keep-alive */
#define SEEN_EXPECT	0x0100	/* Expect: 100-continue */

#define HOST_MAX	255

static int
mem_ieq(const unsigned char *s, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(s[i]) != lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

int
http_str_ieq(const struct http_str *s, const char *lit)
{
	if (s->p == NULL)
		return 0;
	return mem_ieq((const unsigned char *)s->p, s->len, lit);
}

static struct http_str
mkstr(const unsigned char *p, size_t len)
{
	struct http_str s;

	s.p = (const char *)p;
	s.len = len;
	return s;
}

static int
hp_error(struct http_error *e, int status, const char *reason)
{
	e->status = status;
	e->reason = reason;
	return -1;
}

/*
 * Authorities
 */

static int
auth_error(const char **reason, const char *why)
{
	if (reason != NULL)
		*reason = why;
	return -1;
}

static int
auth_ipv6(const unsigned char *s, size_t n)
{
	size_t i, colons = 0;

	/* s is "[...]": hex digits, ':' and '.' inside, one ':' at least. */
	if (n < 4)
		return -1;
	for (i = 1; i < n - 1; i++) {
		if (s[i] == ':')
			colons++;
		else if (hex_value(s[i]) == -1 && s[i] != '.')
			return -1;
	}
	return colons > 0 ? 0 : -1;
}

static int
auth_port(const unsigned char *s, size_t n)
{
	size_t i;
	int port = 0;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return (port >= 1 && port <= 65535) ? port : -1;
}

int
http_split_authority(const char *str, size_t n, struct http_str *host,
    int *port, const char **reason)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *rb;
	size_t i, hlen;
	int p;

	if (n == 0)
		return auth_error(reason, "empty authority");
	if (memchr(s, '@', n) != NULL)
		return auth_error(reason, "userinfo in authority");
	if (s[0] == '[') {
		if ((rb = memchr(s, ']', n)) == NULL)
			return auth_error(reason, "unterminated IPv6 literal");
		hlen = (size_t)(rb - s) + 1;
		if (auth_ipv6(s, hlen) == -1)
			return auth_error(reason, "invalid IPv6 literal");
	} else {
		for (hlen = 0; hlen < n && s[hlen] != ':'; hlen++)
			;
		if (hlen == 0)
			return auth_error(reason, "empty host");
		for (i = 0; i < hlen; i++)
			if (!is_alpha(s[i]) && !is_digit(s[i]) &&
			    s[i] != '-' && s[i] != '.' && s[i] != '_')
				return auth_error(reason, "invalid host");
	}
	if (hlen > HOST_MAX)
		return auth_error(reason, "host too long");
	if (host != NULL)
		*host = mkstr(s, hlen);
	if (port != NULL)
		*port = -1;
	if (hlen == n)
		return 0;
	if (s[hlen] != ':')
		return auth_error(reason, "invalid authority");
	if ((p = auth_port(s + hlen + 1, n - hlen - 1)) == -1)
		return auth_error(reason, "invalid port");
	if (port != NULL)
		*port = p;
	return 0;
}

/*
 * The request line
 */

/* The bytes a target may hold, before its form is known. */
static int
target_bytes(const unsigned char *s, size_t n, struct http_error *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '#')
			return hp_error(e, 400, "fragment in request target");
		if (s[i] == '%') {
			if (n - i < 3 || hex_value(s[i + 1]) == -1 ||
			    hex_value(s[i + 2]) == -1)
				return hp_error(e, 400,
				    "bad percent-encoding in request target");
			i += 2;
			continue;
		}
		if (!is_uripchar(s[i]) &&
		    (s[i] == '\0' || strchr(":@/?[]", s[i]) == NULL))
			return hp_error(e, 400,
			    "invalid byte in request target");
	}
	return 0;
}

/* A path and query as origin- or absolute-form carry it: no brackets. */
static int
target_path(const unsigned char *s, size_t n, struct http_error *e)
{
	if (memchr(s, '[', n) != NULL || memchr(s, ']', n) != NULL)
		return hp_error(e, 400, "invalid byte in request target");
	return 0;
}

static int
target_authority(struct http_head *h, const unsigned char *s, size_t n,
    struct http_error *e)
{
	const char *why = NULL;

	if (http_split_authority((const char *)s, n, &h->host, &h->port,
	    &why) == -1)
		return hp_error(e, 400, why);
	h->authority = mkstr(s, n);
	return 0;
}

static int
target_absolute(struct http_head *h, const unsigned char *s, size_t n,
    struct http_error *e)
{
	size_t i, a;

	for (i = 0; i < n && s[i] != ':'; i++)
		;
	if (i == n || n - i < 3 || s[i + 1] != '/' || s[i + 2] != '/') {
		if (http_split_authority((const char *)s, n, NULL, NULL,
		    NULL) == 0)
			return hp_error(e, 400,
			    "authority-form target without CONNECT");
		return hp_error(e, 400, "invalid request target");
	}
	if (!mem_ieq(s, i, "http") && !mem_ieq(s, i, "https"))
		return hp_error(e, 400, "unsupported scheme in request target");
	h->scheme = mkstr(s, i);
	a = i + 3;
	for (i = a; i < n && s[i] != '/' && s[i] != '?'; i++)
		;
	if (target_authority(h, s + a, i - a, e) == -1)
		return -1;
	if (i < n && s[i] == '?')
		return hp_error(e, 400, "absolute-form target without path");
	if (target_path(s + i, n - i, e) == -1)
		return -1;
	if (i == n)
		h->path = mkstr((const unsigned char *)"/", 1);
	else
		h->path = mkstr(s + i, n - i);
	h->form = HTTP_FORM_ABSOLUTE;
	return 0;
}

static int
hp_target(struct http_head *h, const unsigned char *s, size_t n,
    struct http_error *e)
{
	int connect;

	if (target_bytes(s, n, e) == -1)
		return -1;
	connect = h->method.len == 7 &&
	    memcmp(h->method.p, "CONNECT", 7) == 0;
	if (connect) {
		if (memchr(s, '/', n) != NULL)
			return hp_error(e, 400,
			    "CONNECT target not in authority-form");
		if (target_authority(h, s, n, e) == -1)
			return -1;
		if (h->port == -1)
			return hp_error(e, 400, "CONNECT target without port");
		h->form = HTTP_FORM_AUTHORITY;
		return 0;
	}
	if (s[0] == '/') {
		if (target_path(s, n, e) == -1)
			return -1;
		h->path = mkstr(s, n);
		h->form = HTTP_FORM_ORIGIN;
		return 0;
	}
	if (n == 1 && s[0] == '*') {
		if (h->method.len != 7 ||
		    memcmp(h->method.p, "OPTIONS", 7) != 0)
			return hp_error(e, 400,
			    "asterisk-form target without OPTIONS");
		h->form = HTTP_FORM_ASTERISK;
		return 0;
	}
	return target_absolute(h, s, n, e);
}

static int
hp_version(struct http_head *h, const unsigned char *s, size_t n,
    struct http_error *e)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) ||
	    s[6] != '.' || !is_digit(s[7]))
		return hp_error(e, 400, "malformed HTTP version");
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return hp_error(e, 505, "unsupported HTTP version");
	h->version = s[7] == '0' ? 10 : 11;
	return 0;
}

static int
hp_reqline(struct http_parser *p, const unsigned char *s, size_t n,
    struct http_error *e)
{
	struct http_head *h = &p->head;
	const unsigned char *sp1, *sp2;
	size_t i, mlen, tlen;

	if ((sp1 = memchr(s, ' ', n)) == NULL)
		return hp_error(e, 400, "malformed request line");
	mlen = (size_t)(sp1 - s);
	if ((sp2 = memchr(sp1 + 1, ' ', n - mlen - 1)) == NULL)
		return hp_error(e, 400, "malformed request line");
	tlen = (size_t)(sp2 - sp1 - 1);
	if (memchr(sp2 + 1, ' ', n - mlen - tlen - 2) != NULL)
		return hp_error(e, 400, "extra space in request line");
	if (mlen == 0)
		return hp_error(e, 400, "empty method");
	for (i = 0; i < mlen; i++)
		if (!is_tchar(s[i]))
			return hp_error(e, 400, "method is not a token");
	if (hp_version(h, sp2 + 1, n - mlen - tlen - 2, e) == -1)
		return -1;
	if (tlen == 0)
		return hp_error(e, 400, "empty request target");
	h->method = mkstr(s, mlen);
	h->target = mkstr(sp1 + 1, tlen);
	return hp_target(h, sp1 + 1, tlen, e);
}

/*
 * Header fields
 */

/* A Connection value: a list of tokens, maybe with empty elements. */
static int
hp_connection(struct http_parser *p, const unsigned char *s, size_t n,
    struct http_error *e)
{
	size_t i = 0, a, b;

	while (i <= n) {
		for (a = i; a < n && s[a] != ','; a++)
			;
		b = a;
		while (i < b && is_ows(s[i]))
			i++;
		while (b > i && is_ows(s[b - 1]))
			b--;
		if (mem_ieq(s + i, b - i, "close"))
			p->seen |= SEEN_CLOSE;
		else if (mem_ieq(s + i, b - i, "keep-alive"))
			p->seen |= SEEN_KEEP;
		for (; i < b; i++)
			if (!is_tchar(s[i]))
				return hp_error(e, 400,
				    "malformed Connection header");
		i = a + 1;
	}
	return 0;
}

static int
hp_content_length(struct http_parser *p, const unsigned char *s, size_t n,
    struct http_error *e)
{
	uint64_t v = 0;
	size_t i;

	if (p->seen & SEEN_CL)
		return hp_error(e, 400, "several Content-Length headers");
	if (p->seen & SEEN_TE)
		return hp_error(e, 400,
		    "both Content-Length and Transfer-Encoding");
	p->seen |= SEEN_CL;
	if (n == 0)
		return hp_error(e, 400, "malformed Content-Length");
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return hp_error(e, 400, "malformed Content-Length");
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > HTTP_LENGTH_MAX)
			return hp_error(e, 400, "Content-Length too large");
	}
	p->head.content_length = (int64_t)v;
	return 0;
}

static int
hp_transfer_encoding(struct http_parser *p, const unsigned char *s,
    size_t n, struct http_error *e)
{
	if (p->head.version == 10)
		return hp_error(e, 400, "Transfer-Encoding in HTTP/1.0");
	if (p->seen & SEEN_TE)
		return hp_error(e, 400, "several Transfer-Encoding headers");
	if (p->seen & SEEN_CL)
		return hp_error(e, 400,
		    "both Content-Length and Transfer-Encoding");
	p->seen |= SEEN_TE;
	if (!mem_ieq(s, n, "chunked"))
		return hp_error(e, 400, "Transfer-Encoding other than chunked");
	p->head.chunked = 1;
	return 0;
}

static int
hp_host(struct http_parser *p, const unsigned char *s, size_t n,
    struct http_error *e)
{
	const char *why = NULL;

	if (p->seen & SEEN_HOST)
		return hp_error(e, 400, "several Host headers");
	p->seen |= SEEN_HOST;
	if (http_split_authority((const char *)s, n, NULL, NULL, &why) == -1)
		return hp_error(e, 400, "invalid Host header");
	p->head.host_header = mkstr(s, n);
	return 0;
}

static int
hp_credentials(struct http_parser *p, struct http_str *dst, unsigned int bit,
    const unsigned char *s, size_t n, struct http_error *e)
{
	if (p->seen & bit)
		return hp_error(e, 400, bit == SEEN_AUTH ?
		    "several Authorization headers" :
		    "several Proxy-Authorization headers");
	p->seen |= bit;
	if (n == 0)
		return hp_error(e, 400, bit == SEEN_AUTH ?
		    "empty Authorization header" :
		    "empty Proxy-Authorization header");
	*dst = mkstr(s, n);
	return 0;
}

/* The fields the parser itself interprets. */
static int
hp_known(struct http_parser *p, const unsigned char *name, size_t nlen,
    const unsigned char *v, size_t vlen, struct http_error *e)
{
	if (mem_ieq(name, nlen, "host"))
		return hp_host(p, v, vlen, e);
	if (mem_ieq(name, nlen, "content-length"))
		return hp_content_length(p, v, vlen, e);
	if (mem_ieq(name, nlen, "transfer-encoding"))
		return hp_transfer_encoding(p, v, vlen, e);
	if (mem_ieq(name, nlen, "connection"))
		return hp_connection(p, v, vlen, e);
	if (mem_ieq(name, nlen, "expect")) {
		if (!mem_ieq(v, vlen, "100-continue"))
			return hp_error(e, 417, "unsupported expectation");
		p->seen |= SEEN_EXPECT;
		return 0;
	}
	if (mem_ieq(name, nlen, "authorization"))
		return hp_credentials(p, &p->head.authorization, SEEN_AUTH,
		    v, vlen, e);
	if (mem_ieq(name, nlen, "proxy-authorization"))
		return hp_credentials(p, &p->head.proxy_authorization,
		    SEEN_PAUTH, v, vlen, e);
	return 0;
}

static int
hp_header(struct http_parser *p, const unsigned char *s, size_t n,
    struct http_error *e)
{
	struct http_header *hdr;
	size_t i, j, a, b;

	if (is_ows(s[0]))
		return hp_error(e, 400, "obsolete line folding");
	for (i = 0; i < n && is_tchar(s[i]); i++)
		;
	if (i == n)
		return hp_error(e, 400, "header line without colon");
	if (s[i] != ':') {
		if (is_ows(s[i]))
			return hp_error(e, 400,
			    "whitespace before colon in header");
		return hp_error(e, 400, "header name is not a token");
	}
	if (i == 0)
		return hp_error(e, 400, "empty header name");
	for (a = i + 1; a < n && is_ows(s[a]); a++)
		;
	for (b = n; b > a && is_ows(s[b - 1]); b--)
		;
	for (j = a; j < b; j++)
		if (!is_fieldchar(s[j]))
			return hp_error(e, 400,
			    "control character in header value");
	if (p->head.nheaders >= HTTP_HEADERS_MAX)
		return hp_error(e, 431, "too many header lines");
	hdr = &p->head.headers[p->head.nheaders++];
	hdr->name = mkstr(s, i);
	hdr->value = mkstr(s + a, b - a);
	return hp_known(p, s, i, s + a, b - a, e);
}

static int
hp_finish(struct http_parser *p, size_t end, struct http_error *e)
{
	struct http_head *h = &p->head;

	if (h->version == 11 && !(p->seen & SEEN_HOST))
		return hp_error(e, 400, "no Host header");
	if (p->seen & SEEN_CLOSE)
		h->keep_alive = 0;
	else if (h->version == 11)
		h->keep_alive = 1;
	else
		h->keep_alive = (p->seen & SEEN_KEEP) != 0;
	h->expect_continue = h->version == 11 && (p->seen & SEEN_EXPECT);
	h->len = end;
	p->state = HP_DONE;
	return 0;
}

/*
 * Lines
 */

/* 501 when s starts with more tchars than any method has. */
static int
hp_method_length(const unsigned char *s, size_t n, struct http_error *e)
{
	size_t i;

	for (i = 0; i < n && i <= HTTP_METHOD_MAX; i++)
		if (!is_tchar(s[i]))
			return 0;
	if (i > HTTP_METHOD_MAX)
		return hp_error(e, 501, "method too long");
	return 0;
}

static int
hp_line_too_long(const struct http_parser *p, struct http_error *e)
{
	if (p->state == HP_REQLINE)
		return hp_error(e, 414, "request line too long");
	return hp_error(e, 431, "header line too long");
}

/* The checks an incomplete line gets: bounds only. */
static int
hp_partial(struct http_parser *p, const unsigned char *b, size_t len,
    struct http_error *e)
{
	size_t n = len - p->off;
	size_t max;

	max = p->state == HP_REQLINE ? HTTP_REQLINE_MAX : HTTP_LINE_MAX;
	if (p->state == HP_REQLINE &&
	    hp_method_length(b + p->off, n, e) == -1)
		return -1;
	/* n bytes without LF: the line holds at least n - 1 before CRLF. */
	if (n >= max + 2)
		return hp_line_too_long(p, e);
	if (len >= HTTP_HEAD_MAX)
		return hp_error(e, 431, "request head too large");
	return 0;
}

/* A complete line: b[p->off..end) with b[end - 1] the LF. */
static int
hp_line(struct http_parser *p, const unsigned char *b, size_t end,
    struct http_error *e)
{
	const unsigned char *s = b + p->off;
	size_t n = end - 1 - p->off;
	size_t max;
	int crlf;

	max = p->state == HP_REQLINE ? HTTP_REQLINE_MAX : HTTP_LINE_MAX;
	if (p->state == HP_REQLINE && hp_method_length(s, n, e) == -1)
		return -1;
	crlf = n > 0 && s[n - 1] == '\r';
	if (crlf)
		n--;
	if (n > max)
		return hp_line_too_long(p, e);
	if (end > HTTP_HEAD_MAX)
		return hp_error(e, 431, "request head too large");
	if (!crlf)
		return hp_error(e, 400, "bare LF in request head");
	if (memchr(s, '\r', n) != NULL)
		return hp_error(e, 400, "bare CR in request head");
	if (p->state == HP_HEADERS) {
		if (n == 0)
			return hp_finish(p, end, e);
		return hp_header(p, s, n, e);
	}
	if (n == 0) {
		if (p->seen & SEEN_EMPTY)
			return hp_error(e, 400,
			    "empty lines before request line");
		p->seen |= SEEN_EMPTY;
		return 0;
	}
	if (hp_reqline(p, s, n, e) == -1)
		return -1;
	p->state = HP_HEADERS;
	return 0;
}

void
http_parser_init(struct http_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = HP_REQLINE;
	p->head.port = -1;
	p->head.content_length = -1;
}

static int
hp_fail(struct http_parser *p, const struct http_error *e,
    struct http_error *err)
{
	p->state = HP_ERROR;
	p->err = *e;
	*err = *e;
	return HTTP_ERROR;
}

int
http_parse_head(struct http_parser *p, const char *buf, size_t len,
    struct http_error *err)
{
	const unsigned char *b = (const unsigned char *)buf;
	const unsigned char *nl;
	struct http_error e;
	size_t end;

	if (p->state == HP_ERROR) {
		*err = p->err;
		return HTTP_ERROR;
	}
	if ((uintptr_t)buf != p->base || len < p->scan) {
		http_parser_init(p);
		p->base = (uintptr_t)buf;
	}
	while (p->state != HP_DONE) {
		nl = len > p->scan ? memchr(b + p->scan, '\n', len - p->scan) :
		    NULL;
		if (nl == NULL) {
			p->scan = len;
			if (hp_partial(p, b, len, &e) == -1)
				return hp_fail(p, &e, err);
			return HTTP_INCOMPLETE;
		}
		end = (size_t)(nl - b) + 1;
		if (hp_line(p, b, end, &e) == -1)
			return hp_fail(p, &e, err);
		p->off = p->scan = end;
	}
	return HTTP_OK;
}
