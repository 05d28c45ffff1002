/*
 * test_http.c: the request-head parser and the chunked decoder: every
 * target form, real requests from git, gh, curl and Octokit, every
 * refusal with its exact status, the limits at and just past their
 * bound, keep-alive, pipelining, and incremental feeding: every refusal
 * and every accepted head is also fed byte by byte, split at every
 * point, and continued in a moved buffer, and must give the same answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "unit.h"

#define CRLF	"\r\n"

static struct http_parser P, Q;
static struct http_head H;
static char big[4 * HTTP_HEAD_MAX];

/* A slice as a C string for CHECK_STR; NULL when absent. */
static const char *
sl(const struct http_str *s)
{
	static char ring[4][512];
	static int next;
	char *b;
	size_t n;

	if (s->p == NULL)
		return NULL;
	b = ring[next++ % 4];
	n = s->len < sizeof(ring[0]) - 1 ? s->len : sizeof(ring[0]) - 1;
	memcpy(b, s->p, n);
	b[n] = '\0';
	return b;
}

static int
str_same(const struct http_str *a, const struct http_str *b)
{
	return a->p == b->p && a->len == b->len;
}

static int
head_same(const struct http_head *a, const struct http_head *b)
{
	size_t i;

	if (a->len != b->len || a->version != b->version ||
	    a->form != b->form || a->port != b->port ||
	    a->nheaders != b->nheaders ||
	    a->content_length != b->content_length ||
	    a->chunked != b->chunked || a->keep_alive != b->keep_alive ||
	    a->expect_continue != b->expect_continue)
		return 0;
	if (!str_same(&a->method, &b->method) ||
	    !str_same(&a->target, &b->target) ||
	    !str_same(&a->scheme, &b->scheme) ||
	    !str_same(&a->authority, &b->authority) ||
	    !str_same(&a->host, &b->host) ||
	    !str_same(&a->path, &b->path) ||
	    !str_same(&a->host_header, &b->host_header) ||
	    !str_same(&a->authorization, &b->authorization) ||
	    !str_same(&a->proxy_authorization, &b->proxy_authorization))
		return 0;
	for (i = 0; i < a->nheaders; i++)
		if (!str_same(&a->headers[i].name, &b->headers[i].name) ||
		    !str_same(&a->headers[i].value, &b->headers[i].value))
			return 0;
	return 1;
}

/* Byte by byte from an empty buffer: the first answer that is not
 * HTTP_INCOMPLETE, and at which length it came. */
static int
feed_bytes(struct http_parser *p, const char *req, size_t n, size_t *at,
    struct http_error *e)
{
	size_t k;
	int r = HTTP_INCOMPLETE;

	http_parser_init(p);
	for (k = 0; k <= n; k++) {
		if ((r = http_parse_head(p, req, k, e)) != HTTP_INCOMPLETE)
			break;
	}
	*at = k;
	return r;
}

/*
 * req[0..n) must be refused with status, whole and byte by byte.
 */
static int
refused(const char *req, size_t n, int status, int line)
{
	struct http_error e;
	size_t at;
	int r, ok = 1;

	http_parser_init(&P);
	r = http_parse_head(&P, req, n, &e);
	if (r != HTTP_ERROR || e.status != status) {
		fprintf(stderr, "line %d: whole: result %d, status %d (%s), "
		    "want %d\n", line, r, r == HTTP_ERROR ? e.status : 0,
		    r == HTTP_ERROR ? e.reason : "", status);
		ok = 0;
	}
	/* Sticky. */
	if (r == HTTP_ERROR && (http_parse_head(&P, req, n, &e) !=
	    HTTP_ERROR || e.status != status))
		ok = 0;
	r = feed_bytes(&Q, req, n, &at, &e);
	if (r != HTTP_ERROR || e.status != status) {
		fprintf(stderr, "line %d: bytewise: result %d at %zu, "
		    "status %d, want %d\n", line, r, at,
		    r == HTTP_ERROR ? e.status : 0, status);
		ok = 0;
	}
	return ok;
}

#define REFUSE(req, status)						\
	CHECK(refused((req), sizeof(req) - 1, (status), __LINE__))
#define REFUSE_N(req, n, status)					\
	CHECK(refused((req), (n), (status), __LINE__))

/*
 * req[0..n) must parse: whole, byte by byte, split at every point, and
 * with the prefix in a buffer elsewhere.  Returns the head (in H), or
 * NULL.
 */
static const struct http_head *
accepted_n(const char *req, size_t n, int line)
{
	struct http_error e;
	char *moved;
	size_t at, k;
	int r;

	http_parser_init(&P);
	r = http_parse_head(&P, req, n, &e);
	if (r != HTTP_OK) {
		fprintf(stderr, "line %d: result %d, status %d (%s)\n", line,
		    r, r == HTTP_ERROR ? e.status : 0,
		    r == HTTP_ERROR ? e.reason : "");
		return NULL;
	}
	H = P.head;
	/* Again on the same parser: the same head. */
	if (http_parse_head(&P, req, n, &e) != HTTP_OK ||
	    !head_same(&P.head, &H))
		goto bad;
	r = feed_bytes(&Q, req, n, &at, &e);
	if (r != HTTP_OK || at != H.len || !head_same(&Q.head, &H))
		goto bad;
	for (k = 0; k <= n; k++) {
		http_parser_init(&Q);
		r = http_parse_head(&Q, req, k, &e);
		if (r != (k < H.len ? HTTP_INCOMPLETE : HTTP_OK))
			goto bad;
		if (http_parse_head(&Q, req, n, &e) != HTTP_OK ||
		    !head_same(&Q.head, &H))
			goto bad;
	}
	if ((moved = malloc(n + 1)) == NULL)
		abort();
	memcpy(moved, req, n);
	http_parser_init(&Q);
	r = http_parse_head(&Q, moved, n / 2, &e);
	free(moved);
	if (r == HTTP_ERROR)
		goto bad;
	if (http_parse_head(&Q, req, n, &e) != HTTP_OK ||
	    !head_same(&Q.head, &H))
		goto bad;
	return &H;
bad:
	fprintf(stderr, "line %d: incremental parse differs\n", line);
	return NULL;
}

#define ACCEPT(req)	accepted_n((req), sizeof(req) - 1, __LINE__)

/* "GET / HTTP/1.1", Host, then the rest. */
#define GET11(rest)	"GET / HTTP/1.1" CRLF "Host: h" CRLF rest

/*
 * Target forms
 */

static void
test_origin_form(void)
{
	const struct http_head *h;

	h = ACCEPT("GET /repos/o/r/issues?state=open&per_page=100 HTTP/1.1"
	    CRLF "Host: api.github.com" CRLF CRLF);
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK_STR(sl(&h->method), "GET");
	CHECK_STR(sl(&h->target), "/repos/o/r/issues?state=open&per_page=100");
	CHECK_STR(sl(&h->path), "/repos/o/r/issues?state=open&per_page=100");
	CHECK(h->form == HTTP_FORM_ORIGIN);
	CHECK(h->version == 11);
	CHECK(h->scheme.p == NULL && h->authority.p == NULL);
	CHECK(h->host.p == NULL && h->port == -1);
	CHECK_STR(sl(&h->host_header), "api.github.com");
	CHECK(h->content_length == -1 && !h->chunked);
	CHECK(h->keep_alive && !h->expect_continue);
	CHECK(h->authorization.p == NULL);
	CHECK(h->proxy_authorization.p == NULL);
	CHECK(h->nheaders == 1);

	/* Every RFC 3986 byte, escapes kept as sent, dot segments too. */
	h = ACCEPT("GET /a-._~!$&'()*+,;=:@/%2F%2e%2E/../b?q=/?x%41 HTTP/1.1"
	    CRLF "Host: h" CRLF CRLF);
	CHECK(h != NULL && h->form == HTTP_FORM_ORIGIN);
	if (h != NULL)
		CHECK_STR(sl(&h->path),
		    "/a-._~!$&'()*+,;=:@/%2F%2e%2E/../b?q=/?x%41");
	CHECK(ACCEPT("GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF) != NULL);
	CHECK(ACCEPT("GET //x HTTP/1.1" CRLF "Host: h" CRLF CRLF) != NULL);
	/* Unknown methods are the caller's business. */
	h = ACCEPT("BREW /pot HTTP/1.1" CRLF "Host: h" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL)
		CHECK_STR(sl(&h->method), "BREW");
	CHECK(ACCEPT("M-SEARCH!#$%&'*+.^_`|~ / HTTP/1.1" CRLF "Host: h"
	    CRLF CRLF) != NULL);
	/* Methods keep their case; "get" is just another method. */
	h = ACCEPT("get / HTTP/1.1" CRLF "Host: h" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL)
		CHECK_STR(sl(&h->method), "get");
	CHECK(ACCEPT("OPTIONS /x HTTP/1.1" CRLF "Host: h" CRLF CRLF) != NULL);
}

static void
test_absolute_form(void)
{
	const struct http_head *h;

	h = ACCEPT("GET http://api.github.com/user?x=1 HTTP/1.1" CRLF
	    "Host: api.github.com" CRLF CRLF);
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK(h->form == HTTP_FORM_ABSOLUTE);
	CHECK_STR(sl(&h->scheme), "http");
	CHECK_STR(sl(&h->authority), "api.github.com");
	CHECK_STR(sl(&h->host), "api.github.com");
	CHECK(h->port == -1);
	CHECK_STR(sl(&h->path), "/user?x=1");
	CHECK_STR(sl(&h->target), "http://api.github.com/user?x=1");

	h = ACCEPT("POST HTTPS://Example.COM:8443/a/b HTTP/1.1" CRLF
	    "Host: other.example" CRLF "Content-Length: 0" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK_STR(sl(&h->scheme), "HTTPS");
		CHECK_STR(sl(&h->authority), "Example.COM:8443");
		CHECK_STR(sl(&h->host), "Example.COM");
		CHECK(h->port == 8443);
		CHECK_STR(sl(&h->path), "/a/b");
		/* Host and authority disagree: the caller decides. */
		CHECK_STR(sl(&h->host_header), "other.example");
	}
	/* No path: "/". */
	h = ACCEPT("GET http://h:80 HTTP/1.1" CRLF "Host: h:80" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK_STR(sl(&h->path), "/");
		CHECK(h->port == 80);
	}
	h = ACCEPT("GET http://[2001:db8::1]:8080/x HTTP/1.1" CRLF
	    "Host: [2001:db8::1]:8080" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK_STR(sl(&h->host), "[2001:db8::1]");
		CHECK(h->port == 8080);
	}
	h = ACCEPT("OPTIONS http://h/ HTTP/1.1" CRLF "Host: h" CRLF CRLF);
	CHECK(h != NULL && h->form == HTTP_FORM_ABSOLUTE);
	/* '@' in the path is not userinfo. */
	h = ACCEPT("GET http://h/a@b HTTP/1.1" CRLF "Host: h" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL)
		CHECK_STR(sl(&h->path), "/a@b");
}

static void
test_authority_form(void)
{
	const struct http_head *h;

	h = ACCEPT("CONNECT api.github.com:443 HTTP/1.1" CRLF
	    "Host: api.github.com:443" CRLF CRLF);
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK(h->form == HTTP_FORM_AUTHORITY);
	CHECK_STR(sl(&h->authority), "api.github.com:443");
	CHECK_STR(sl(&h->host), "api.github.com");
	CHECK(h->port == 443);
	CHECK(h->path.p == NULL && h->scheme.p == NULL);
	h = ACCEPT("CONNECT [::1]:443 HTTP/1.1" CRLF "Host: [::1]:443"
	    CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL)
		CHECK_STR(sl(&h->host), "[::1]");
	h = ACCEPT("CONNECT 140.82.112.6:65535 HTTP/1.0" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL)
		CHECK(h->port == 65535 && h->version == 10);
}

static void
test_asterisk_form(void)
{
	const struct http_head *h;

	h = ACCEPT("OPTIONS * HTTP/1.1" CRLF "Host: h" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK(h->form == HTTP_FORM_ASTERISK);
		CHECK_STR(sl(&h->target), "*");
		CHECK(h->path.p == NULL);
	}
}

static void
test_bad_forms(void)
{
	/* Authority-form only for CONNECT, CONNECT only with it. */
	REFUSE("GET api.github.com:443 HTTP/1.1" CRLF "Host: h" CRLF CRLF,
	    400);
	REFUSE("GET h HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT /x HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT http://h:443/ HTTP/1.1" CRLF "Host: h" CRLF CRLF,
	    400);
	REFUSE("CONNECT h HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT h: HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT h:0 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT h:65536 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT h:443x HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT :443 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT user@h:443 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("CONNECT * HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("connect h:443 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	/* Asterisk-form only for OPTIONS. */
	REFUSE("GET * HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("OPTIONS ** HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("options * HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	/* Absolute-form: http and https only, a sane authority. */
	REFUSE("GET ftp://h/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET httpx://h/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http:/h/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http:// HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http:///x HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://u:p@h/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://api.github.com@evil/ HTTP/1.1" CRLF "Host: h"
	    CRLF CRLF, 400);
	REFUSE("GET http://h?q HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://h:/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://h:99999/ HTTP/1.1" CRLF "Host: h" CRLF CRLF,
	    400);
	REFUSE("GET http://h%2e/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://h!/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://[::1/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://[]/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://[g::1]/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://[::1]x/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET http://h/[x] HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET x/y HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
}

static void
test_bad_target_bytes(void)
{
	REFUSE("GET  HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a#frag HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a\x01 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a\x7f HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a\x80 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /\xc3\xa9 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a\0b HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a\tb HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a\"b HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a<b> HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a\\b HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a{b} HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a|b HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a^b HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a`b HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a[b] HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a% HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a%4 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a%zz HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /a%%41 HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
}

/*
 * The request line
 */

static void
test_bad_request_line(void)
{
	struct http_error e;

	REFUSE("GET / HTTP/1.1 " CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET  / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /  HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE(" GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET\t/ HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /\tHTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1\t" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET /" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1 extra" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("G(T / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("G\x80T / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GE\0T / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	/* Malformed versions are 400s. */
	REFUSE("GET / http/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.10" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/11" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.x" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/ 1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTPS/1.1" CRLF "Host: h" CRLF CRLF, 400);
	/* Well-formed but unsupported ones are 505s. */
	REFUSE("GET / HTTP/2.0" CRLF "Host: h" CRLF CRLF, 505);
	REFUSE("GET / HTTP/0.9" CRLF "Host: h" CRLF CRLF, 505);
	REFUSE("GET / HTTP/1.2" CRLF "Host: h" CRLF CRLF, 505);
	REFUSE("GET / HTTP/3.0" CRLF "Host: h" CRLF CRLF, 505);
	REFUSE("GET / HTTP/9.9" CRLF "Host: h" CRLF CRLF, 505);
	REFUSE("PRI * HTTP/2.0" CRLF CRLF "SM" CRLF CRLF, 505);
	/* The answer comes with the request line. */
	http_parser_init(&P);
	CHECK(http_parse_head(&P, "PRI * HTTP/2.0\r\n", 16, &e) ==
	    HTTP_ERROR && e.status == 505);
	CHECK_STR(e.reason, "unsupported HTTP version");
}

static void
test_leading_crlf(void)
{
	const struct http_head *h;

	/* One empty line is skipped and counted. */
	h = ACCEPT(CRLF "GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK(h->len == 2 + 16 + 9 + 2);
		CHECK_STR(sl(&h->method), "GET");
	}
	/* Two are refused, and so is a bare LF or whitespace. */
	REFUSE(CRLF CRLF "GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("\n" "GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE(" " CRLF "GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE(CRLF " GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF, 400);
}

static void
test_method_length(void)
{
	char req[256];
	int n;

	/* HTTP_METHOD_MAX is fine (unknown: the caller decides). */
	n = snprintf(req, sizeof(req), "%.*s / HTTP/1.1\r\nHost: h\r\n\r\n",
	    HTTP_METHOD_MAX, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	CHECK(accepted_n(req, (size_t)n, __LINE__) != NULL);
	n = snprintf(req, sizeof(req), "%.*s / HTTP/1.1\r\nHost: h\r\n\r\n",
	    HTTP_METHOD_MAX + 1,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	REFUSE_N(req, (size_t)n, 501);
	/* Known early: one byte more than the longest method. */
	http_parser_init(&P);
	CHECK(http_parse_head(&P, req, HTTP_METHOD_MAX, &(struct http_error){
	    0, NULL }) == HTTP_INCOMPLETE);
	http_parser_init(&P);
	CHECK(http_parse_head(&P, req, HTTP_METHOD_MAX + 1,
	    &(struct http_error){ 0, NULL }) == HTTP_ERROR);
}

/*
 * Header lines
 */

static void
test_bad_header_lines(void)
{
	REFUSE(GET11("X-A: 1" CRLF " folded" CRLF CRLF), 400);
	REFUSE(GET11("X-A: 1" CRLF "\tfolded" CRLF CRLF), 400);
	REFUSE("GET / HTTP/1.1" CRLF " Host: h" CRLF CRLF, 400);
	REFUSE(GET11("X-A : 1" CRLF CRLF), 400);
	REFUSE(GET11("X-A\t: 1" CRLF CRLF), 400);
	REFUSE(GET11(": 1" CRLF CRLF), 400);
	REFUSE(GET11("X-A" CRLF CRLF), 400);
	REFUSE(GET11("X(A): 1" CRLF CRLF), 400);
	REFUSE(GET11("X/A: 1" CRLF CRLF), 400);
	REFUSE(GET11("X\x80: 1" CRLF CRLF), 400);
	REFUSE(GET11("X\0A: 1" CRLF CRLF), 400);
	REFUSE(GET11("X-A: a\0b" CRLF CRLF), 400);
	REFUSE(GET11("X-A: a\x01" "b" CRLF CRLF), 400);
	REFUSE(GET11("X-A: a\x1f" CRLF CRLF), 400);
	REFUSE(GET11("X-A: a\x7f" CRLF CRLF), 400);
	REFUSE(GET11("X-A: a\x0b" "b" CRLF CRLF), 400);
	REFUSE(GET11("X-A: a\x0c" "b" CRLF CRLF), 400);
	REFUSE(GET11("X-A: \0" CRLF CRLF), 400);
}

static void
test_line_ends(void)
{
	/* Only CRLF, anywhere in the head. */
	REFUSE("GET / HTTP/1.1\nHost: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: h\n" CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: h" CRLF "\n", 400);
	REFUSE("GET / HTTP/1.1\n\n", 400);
	REFUSE("GET / HTTP/1.1\r\r\n" "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1\rX" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE(GET11("X-A: a\rb" CRLF CRLF), 400);
	REFUSE(GET11("X-A: a\r" CRLF CRLF), 400);
	REFUSE(GET11("\r\r\n"), 400);
	REFUSE(GET11("X-A\r: a" CRLF CRLF), 400);
}

static void
test_header_values(void)
{
	const struct http_head *h;

	h = ACCEPT(GET11("X-A:  \t value with\tinner  space \t " CRLF
	    "X-Empty:" CRLF "X-Blank:   " CRLF
	    "X-Obs: caf\xc3\xa9 \x80\xff" CRLF "x-lower:v" CRLF CRLF));
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK(h->nheaders == 6);
	CHECK_STR(sl(&h->headers[0].name), "Host");
	CHECK_STR(sl(&h->headers[0].value), "h");
	CHECK_STR(sl(&h->headers[1].name), "X-A");
	CHECK_STR(sl(&h->headers[1].value), "value with\tinner  space");
	CHECK_STR(sl(&h->headers[2].value), "");
	CHECK(h->headers[2].value.len == 0);
	CHECK_STR(sl(&h->headers[3].value), "");
	CHECK_STR(sl(&h->headers[4].value), "caf\xc3\xa9 \x80\xff");
	CHECK_STR(sl(&h->headers[5].name), "x-lower");
	CHECK_STR(sl(&h->headers[5].value), "v");
	CHECK(h->len == sizeof(GET11("X-A:  \t value with\tinner  space \t "
	    CRLF "X-Empty:" CRLF "X-Blank:   " CRLF
	    "X-Obs: caf\xc3\xa9 \x80\xff" CRLF "x-lower:v" CRLF CRLF)) - 1);
	/* Other headers may repeat: the caller decides. */
	h = ACCEPT(GET11("Accept: a" CRLF "Accept: b" CRLF CRLF));
	CHECK(h != NULL && h->nheaders == 3);
}

/*
 * Host, framing, credentials, Expect
 */

static void
test_host(void)
{
	const struct http_head *h;

	REFUSE("GET / HTTP/1.1" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "X-Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: h" CRLF "Host: h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: a" CRLF "host: b" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host:" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: a b" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: a,b" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: u@h" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: h:" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: h:x" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.1" CRLF "Host: h/x" CRLF CRLF, 400);
	REFUSE("GET / HTTP/1.0" CRLF "Host: h" CRLF "Host: h" CRLF CRLF, 400);
	/* Absolute-form needs Host too in HTTP/1.1. */
	REFUSE("GET http://h/ HTTP/1.1" CRLF CRLF, 400);
	/* HTTP/1.0 may go without. */
	h = ACCEPT("GET / HTTP/1.0" CRLF CRLF);
	CHECK(h != NULL);
	if (h != NULL)
		CHECK(h->host_header.p == NULL && h->version == 10);
	h = ACCEPT("GET / HTTP/1.1" CRLF "hOsT:  Api.GitHub.com:443 " CRLF
	    CRLF);
	CHECK(h != NULL);
	if (h != NULL)
		CHECK_STR(sl(&h->host_header), "Api.GitHub.com:443");
}

static void
test_content_length(void)
{
	const struct http_head *h;

	h = ACCEPT(GET11("Content-Length: 42" CRLF CRLF));
	CHECK(h != NULL && h->content_length == 42 && !h->chunked);
	h = ACCEPT(GET11("content-length: 0" CRLF CRLF));
	CHECK(h != NULL && h->content_length == 0);
	h = ACCEPT(GET11("Content-Length: 007" CRLF CRLF));
	CHECK(h != NULL && h->content_length == 7);
	h = ACCEPT(GET11("Content-Length: 9007199254740992" CRLF CRLF));
	CHECK(h != NULL &&
	    h->content_length == (int64_t)HTTP_LENGTH_MAX);
	REFUSE(GET11("Content-Length: 9007199254740993" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: 99999999999999999999999999" CRLF CRLF),
	    400);
	REFUSE(GET11("Content-Length: 18446744073709551616" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length:" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: -1" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: +1" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: 1a" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: 0x10" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: 1 2" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: 1,1" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: 1." CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: \"1\"" CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: 1" CRLF "Content-Length: 1" CRLF CRLF),
	    400);
	REFUSE(GET11("Content-Length: 1" CRLF "Content-Length: 2" CRLF CRLF),
	    400);
}

static void
test_transfer_encoding(void)
{
	const struct http_head *h;

	h = ACCEPT(GET11("Transfer-Encoding: chunked" CRLF CRLF));
	CHECK(h != NULL && h->chunked && h->content_length == -1);
	h = ACCEPT(GET11("transfer-encoding:  ChUnKeD  " CRLF CRLF));
	CHECK(h != NULL && h->chunked);
	REFUSE(GET11("Transfer-Encoding: gzip, chunked" CRLF CRLF), 400);
	REFUSE(GET11("Transfer-Encoding: chunked, chunked" CRLF CRLF), 400);
	REFUSE(GET11("Transfer-Encoding: gzip" CRLF CRLF), 400);
	REFUSE(GET11("Transfer-Encoding: identity" CRLF CRLF), 400);
	REFUSE(GET11("Transfer-Encoding: chunked;q=1" CRLF CRLF), 400);
	REFUSE(GET11("Transfer-Encoding: xchunked" CRLF CRLF), 400);
	REFUSE(GET11("Transfer-Encoding:" CRLF CRLF), 400);
	REFUSE(GET11("Transfer-Encoding: chunked" CRLF
	    "Transfer-Encoding: chunked" CRLF CRLF), 400);
	/* Both framings. */
	REFUSE(GET11("Transfer-Encoding: chunked" CRLF "Content-Length: 3"
	    CRLF CRLF), 400);
	REFUSE(GET11("Content-Length: 3" CRLF "Transfer-Encoding: chunked"
	    CRLF CRLF), 400);
	/* None on HTTP/1.0. */
	REFUSE("POST / HTTP/1.0" CRLF "Transfer-Encoding: chunked" CRLF CRLF,
	    400);
}

static void
test_credentials(void)
{
	const struct http_head *h;

	h = ACCEPT(GET11("Authorization: Bearer ghp_abc" CRLF
	    "Proxy-Authorization: Basic dTpw" CRLF CRLF));
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK_STR(sl(&h->authorization), "Bearer ghp_abc");
		CHECK_STR(sl(&h->proxy_authorization), "Basic dTpw");
	}
	REFUSE(GET11("Authorization: a" CRLF "authorization: a" CRLF CRLF),
	    400);
	REFUSE(GET11("Proxy-Authorization: a" CRLF "Proxy-Authorization: b"
	    CRLF CRLF), 400);
	REFUSE(GET11("Authorization:" CRLF CRLF), 400);
	REFUSE(GET11("Proxy-Authorization:   " CRLF CRLF), 400);
}

static void
test_expect(void)
{
	const struct http_head *h;

	h = ACCEPT("PUT /x HTTP/1.1" CRLF "Host: h" CRLF
	    "Expect: 100-Continue" CRLF "Content-Length: 5" CRLF CRLF);
	CHECK(h != NULL && h->expect_continue);
	h = ACCEPT("PUT /x HTTP/1.1" CRLF "Host: h" CRLF
	    "Content-Length: 5" CRLF CRLF);
	CHECK(h != NULL && !h->expect_continue);
	/* Ignored in HTTP/1.0. */
	h = ACCEPT("PUT /x HTTP/1.0" CRLF "Expect: 100-continue" CRLF
	    "Content-Length: 5" CRLF CRLF);
	CHECK(h != NULL && !h->expect_continue);
	REFUSE(GET11("Expect: 200-ok" CRLF CRLF), 417);
	REFUSE(GET11("Expect: 100-continue, x" CRLF CRLF), 417);
	REFUSE(GET11("Expect:" CRLF CRLF), 417);
}

static void
test_keep_alive(void)
{
	const struct http_head *h;

	h = ACCEPT("GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 1);
	h = ACCEPT("GET / HTTP/1.1" CRLF "Host: h" CRLF "Connection: close"
	    CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 0);
	h = ACCEPT("GET / HTTP/1.1" CRLF "Host: h" CRLF
	    "Connection: Upgrade, CLOSE" CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 0);
	h = ACCEPT("GET / HTTP/1.1" CRLF "Host: h" CRLF
	    "Connection: keep-alive" CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 1);
	h = ACCEPT("GET / HTTP/1.1" CRLF "Host: h" CRLF
	    "Connection: keep-alive" CRLF "Connection: close" CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 0);
	h = ACCEPT("GET / HTTP/1.0" CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 0);
	h = ACCEPT("GET / HTTP/1.0" CRLF "Connection: Keep-Alive" CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 1);
	h = ACCEPT("GET / HTTP/1.0" CRLF "Connection: ,keep-alive , ,"
	    CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 1);
	h = ACCEPT("GET / HTTP/1.0" CRLF "Connection: keep-alive, close"
	    CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 0);
	h = ACCEPT("GET / HTTP/1.0" CRLF "Connection: close" CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 0);
	/* Not a Connection option: Proxy-Connection means nothing. */
	h = ACCEPT("GET / HTTP/1.0" CRLF "Proxy-Connection: keep-alive" CRLF
	    CRLF);
	CHECK(h != NULL && h->keep_alive == 0);
	h = ACCEPT("GET / HTTP/1.1" CRLF "Host: h" CRLF
	    "Connection: closed" CRLF CRLF);
	CHECK(h != NULL && h->keep_alive == 1);
	REFUSE(GET11("Connection: close keep-alive" CRLF CRLF), 400);
	REFUSE(GET11("Connection: \"close\"" CRLF CRLF), 400);
	REFUSE(GET11("Connection: close;x" CRLF CRLF), 400);
}

/*
 * Limits
 */

/* Fills big with "GET /aaa HTTP/1.1" of line length n, then rest. */
static size_t
long_reqline(size_t n, const char *rest)
{
	size_t fill = n - strlen("GET / HTTP/1.1"), len;

	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', fill);
	len = 5 + fill;
	len += (size_t)snprintf(big + len, sizeof(big) - len, " HTTP/1.1"
	    CRLF "%s", rest);
	return len;
}

static void
test_reqline_limit(void)
{
	struct http_error e;
	size_t n;

	n = long_reqline(HTTP_REQLINE_MAX, "Host: h" CRLF CRLF);
	CHECK(accepted_n(big, n, __LINE__) != NULL);
	n = long_reqline(HTTP_REQLINE_MAX + 1, "Host: h" CRLF CRLF);
	REFUSE_N(big, n, 414);
	/* Known before the line ends. */
	http_parser_init(&P);
	CHECK(http_parse_head(&P, big, HTTP_REQLINE_MAX + 1, &e) ==
	    HTTP_INCOMPLETE);
	CHECK(http_parse_head(&P, big, HTTP_REQLINE_MAX + 2, &e) ==
	    HTTP_ERROR && e.status == 414);
	/* An over-long junk line is still a 414, not a guess. */
	memset(big, 'a', HTTP_REQLINE_MAX + 10);
	big[5] = ' ';
	REFUSE_N(big, HTTP_REQLINE_MAX + 10, 414);
}

/* A header line "X-Fill: aaa" of length n (without CRLF) at big + at. */
static size_t
fill_line(size_t at, size_t n)
{
	memcpy(big + at, "X-Fill: ", 8);
	memset(big + at + 8, 'a', n - 8);
	memcpy(big + at + n, CRLF, 2);
	return at + n + 2;
}

static void
test_header_limits(void)
{
	struct http_error e;
	size_t n, i;

	/* One line of HTTP_LINE_MAX is fine, one more byte is not. */
	n = (size_t)snprintf(big, sizeof(big), GET11(""));
	n = fill_line(n, HTTP_LINE_MAX);
	memcpy(big + n, CRLF, 2);
	CHECK(accepted_n(big, n + 2, __LINE__) != NULL);
	n = (size_t)snprintf(big, sizeof(big), GET11(""));
	n = fill_line(n, HTTP_LINE_MAX + 1);
	memcpy(big + n, CRLF, 2);
	REFUSE_N(big, n + 2, 431);
	http_parser_init(&P);
	CHECK(http_parse_head(&P, big, 25 + HTTP_LINE_MAX + 2, &e) ==
	    HTTP_ERROR && e.status == 431);

	/* A head of exactly HTTP_HEAD_MAX is fine, one more byte is not. */
	n = (size_t)snprintf(big, sizeof(big), GET11(""));
	n = fill_line(n, HTTP_LINE_MAX);
	n = fill_line(n, HTTP_HEAD_MAX - n - 4);
	memcpy(big + n, CRLF, 2);
	CHECK(n + 2 == HTTP_HEAD_MAX);
	CHECK(accepted_n(big, n + 2, __LINE__) != NULL);
	n = (size_t)snprintf(big, sizeof(big), GET11(""));
	n = fill_line(n, HTTP_LINE_MAX);
	n = fill_line(n, HTTP_HEAD_MAX - n - 3);
	memcpy(big + n, CRLF, 2);
	REFUSE_N(big, n + 2, 431);
	/* Never INCOMPLETE at HTTP_HEAD_MAX bytes. */
	http_parser_init(&P);
	CHECK(http_parse_head(&P, big, HTTP_HEAD_MAX - 1, &e) ==
	    HTTP_INCOMPLETE);
	CHECK(http_parse_head(&P, big, HTTP_HEAD_MAX, &e) == HTTP_ERROR &&
	    e.status == 431);

	/* HTTP_HEADERS_MAX lines, Host included, then one more. */
	n = (size_t)snprintf(big, sizeof(big), GET11(""));
	for (i = 1; i < HTTP_HEADERS_MAX; i++)
		n = fill_line(n, 9);
	memcpy(big + n, CRLF, 2);
	CHECK(accepted_n(big, n + 2, __LINE__) != NULL);
	CHECK(H.nheaders == HTTP_HEADERS_MAX);
	n = fill_line(n, 9);
	memcpy(big + n, CRLF, 2);
	REFUSE_N(big, n + 2, 431);
}

/*
 * Real requests, incremental feeding, pipelining
 */

static const char git_refs[] =
    "GET /octocat/Hello-World.git/info/refs?service=git-upload-pack "
    "HTTP/1.1\r\n"
    "Host: github.com\r\n"
    "User-Agent: git/2.43.0\r\n"
    "Accept: */*\r\n"
    "Accept-Encoding: deflate, gzip, br, zstd\r\n"
    "Accept-Language: C, *;q=0.9\r\n"
    "Pragma: no-cache\r\n"
    "Git-Protocol: version=2\r\n"
    "\r\n";

static const char git_push[] =
    "POST /octocat/Hello-World.git/git-receive-pack HTTP/1.1\r\n"
    "Host: github.com\r\n"
    "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hzX3h4eHh4\r\n"
    "User-Agent: git/2.43.0\r\n"
    "Accept-Encoding: deflate, gzip, br, zstd\r\n"
    "Content-Type: application/x-git-receive-pack-request\r\n"
    "Accept: application/x-git-receive-pack-result\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";

static const char gh_graphql[] =
    "POST /graphql HTTP/1.1\r\n"
    "Host: api.github.com\r\n"
    "User-Agent: GitHub CLI 2.45.0\r\n"
    "Content-Length: 57\r\n"
    "Accept: application/vnd.github.merge-info-preview+json\r\n"
    "Authorization: token gho_16C7e42F292c6912E7710c838347Ae178B4a\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Graphql-Features: merge_queue\r\n"
    "Accept-Encoding: gzip\r\n"
    "\r\n";

static const char curl_proxy[] =
    "GET http://api.github.com/user HTTP/1.1\r\n"
    "Host: api.github.com\r\n"
    "Proxy-Authorization: Basic Z2hwOnNlY3JldA==\r\n"
    "User-Agent: curl/8.5.0\r\n"
    "Accept: */*\r\n"
    "Proxy-Connection: Keep-Alive\r\n"
    "\r\n";

static const char curl_connect[] =
    "CONNECT api.github.com:443 HTTP/1.1\r\n"
    "Host: api.github.com:443\r\n"
    "User-Agent: curl/8.5.0\r\n"
    "Proxy-Connection: Keep-Alive\r\n"
    "\r\n";

static const char octokit[] =
    "GET /repos/octokit/rest.js/issues?per_page=100&state=open HTTP/1.1\r\n"
    "host: api.github.com\r\n"
    "connection: keep-alive\r\n"
    "accept: application/vnd.github.v3+json\r\n"
    "user-agent: octokit-rest.js/20.0.2 octokit-core.js/5.0.1 "
    "Node.js/20.11.0 (linux; x64)\r\n"
    "authorization: token ghs_16C7e42F292c6912E7710c838347Ae178B4a\r\n"
    "x-github-api-version: 2022-11-28\r\n"
    "accept-language: *\r\n"
    "sec-fetch-mode: cors\r\n"
    "accept-encoding: gzip, deflate\r\n"
    "\r\n";

static void
test_real_requests(void)
{
	const struct http_head *h;

	h = accepted_n(git_refs, sizeof(git_refs) - 1, __LINE__);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK(h->len == sizeof(git_refs) - 1);
		CHECK(h->nheaders == 7);
		CHECK_STR(sl(&h->host_header), "github.com");
		CHECK_STR(sl(&h->headers[6].name), "Git-Protocol");
		CHECK_STR(sl(&h->headers[6].value), "version=2");
		CHECK(h->keep_alive && h->content_length == -1);
	}
	h = accepted_n(git_push, sizeof(git_push) - 1, __LINE__);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK(h->chunked && h->content_length == -1);
		CHECK_STR(sl(&h->authorization),
		    "Basic eC1hY2Nlc3MtdG9rZW46Z2hzX3h4eHh4");
	}
	h = accepted_n(gh_graphql, sizeof(gh_graphql) - 1, __LINE__);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK(h->content_length == 57);
		CHECK_STR(sl(&h->path), "/graphql");
		CHECK_STR(sl(&h->authorization),
		    "token gho_16C7e42F292c6912E7710c838347Ae178B4a");
	}
	h = accepted_n(curl_proxy, sizeof(curl_proxy) - 1, __LINE__);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK(h->form == HTTP_FORM_ABSOLUTE);
		CHECK_STR(sl(&h->proxy_authorization),
		    "Basic Z2hwOnNlY3JldA==");
		CHECK(h->authorization.p == NULL);
	}
	h = accepted_n(curl_connect, sizeof(curl_connect) - 1, __LINE__);
	CHECK(h != NULL && h->form == HTTP_FORM_AUTHORITY);
	h = accepted_n(octokit, sizeof(octokit) - 1, __LINE__);
	CHECK(h != NULL);
	if (h != NULL) {
		CHECK(h->nheaders == 9);
		CHECK(h->keep_alive);
		CHECK_STR(sl(&h->host_header), "api.github.com");
	}
}

static void
test_pipelined(void)
{
	const struct http_head *h;
	size_t n1 = sizeof(git_refs) - 1, n;

	memcpy(big, git_refs, n1);
	memcpy(big + n1, octokit, sizeof(octokit) - 1);
	n = n1 + sizeof(octokit) - 1;
	h = accepted_n(big, n, __LINE__);
	CHECK(h != NULL && h->len == n1);
	if (h != NULL)
		CHECK_STR(sl(&h->host_header), "github.com");
	/* The second one, with a fresh parser on what follows. */
	h = accepted_n(big + n1, n - n1, __LINE__);
	CHECK(h != NULL && h->len == n - n1);
	/* A body and garbage after the head are not looked at. */
	h = ACCEPT("POST / HTTP/1.1" CRLF "Host: h" CRLF "Content-Length: 3"
	    CRLF CRLF "abc\n\n\0\x01 GET");
	CHECK(h != NULL && h->len == 17 + 9 + 19 + 2);
	/* Nor is an error after the head. */
	h = ACCEPT("GET / HTTP/1.1" CRLF "Host: h" CRLF CRLF "GET / HTTP/9.9"
	    CRLF CRLF);
	CHECK(h != NULL && h->len == 27);
}

static void
test_incremental(void)
{
	struct http_error e;
	char *copy;
	size_t n = sizeof(gh_graphql) - 1;

	/* A shrinking buffer starts over. */
	http_parser_init(&P);
	CHECK(http_parse_head(&P, gh_graphql, 60, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_head(&P, gh_graphql, 10, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_head(&P, gh_graphql, n, &e) == HTTP_OK);
	CHECK(P.head.len == n);
	CHECK(http_parse_head(&P, gh_graphql, n - 1, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_head(&P, gh_graphql, n, &e) == HTTP_OK);
	/* After OK, the same head, even with more bytes. */
	memcpy(big, gh_graphql, n);
	memcpy(big + n, "{\"query\":1}", 11);
	http_parser_init(&P);
	CHECK(http_parse_head(&P, big, n, &e) == HTTP_OK);
	CHECK(http_parse_head(&P, big, n + 11, &e) == HTTP_OK);
	CHECK(P.head.len == n && P.head.content_length == 57);
	/* A moved buffer: the slices follow it. */
	if ((copy = malloc(n)) == NULL)
		abort();
	memcpy(copy, gh_graphql, n);
	http_parser_init(&P);
	CHECK(http_parse_head(&P, gh_graphql, n / 2, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_head(&P, copy, n, &e) == HTTP_OK);
	CHECK(P.head.method.p == copy);
	CHECK(P.head.headers[P.head.nheaders - 1].value.p > copy &&
	    P.head.headers[P.head.nheaders - 1].value.p < copy + n);
	free(copy);
	/* Empty input. */
	http_parser_init(&P);
	CHECK(http_parse_head(&P, "", 0, &e) == HTTP_INCOMPLETE);
}

static void
test_split_authority(void)
{
	struct http_str host;
	const char *why;
	int port;

	CHECK(http_split_authority("a.b-c_d:1", 9, &host, &port, &why) == 0);
	CHECK_STR(sl(&host), "a.b-c_d");
	CHECK(port == 1);
	CHECK(http_split_authority("h", 1, &host, &port, &why) == 0);
	CHECK(port == -1);
	CHECK(http_split_authority("[::ffff:1.2.3.4]", 16, &host, &port,
	    &why) == 0);
	CHECK(http_split_authority("", 0, &host, &port, &why) == -1);
	CHECK(http_split_authority("[::1]:", 6, &host, &port, &why) == -1);
	CHECK(http_split_authority("h:00080", 7, &host, &port, &why) == 0);
	CHECK(port == 80);
	CHECK(http_split_authority("h:000080", 8, &host, &port, &why) == -1);
	CHECK(http_split_authority("a@h", 3, NULL, NULL, &why) == -1);
	CHECK_STR(why, "userinfo in authority");
	CHECK(http_split_authority("[fe80::1%25eth0]", 16, NULL, NULL,
	    NULL) == -1);
	memset(big, 'a', 300);
	CHECK(http_split_authority(big, 255, NULL, NULL, NULL) == 0);
	CHECK(http_split_authority(big, 256, NULL, NULL, NULL) == -1);
	CHECK(http_str_ieq(&(struct http_str){ "KeeP-alive", 10 },
	    "keep-alive"));
	CHECK(!http_str_ieq(&(struct http_str){ "keep-aliv", 9 },
	    "keep-alive"));
	CHECK(!http_str_ieq(&(struct http_str){ NULL, 0 }, ""));
}

/*
 * The chunked decoder
 */

static char body[4096];
static size_t bodylen;

/*
 * Decodes in[0..n) fed in pieces of piece bytes (0: all at once),
 * collecting the data in body.  Returns the final result, the input
 * consumed in *used and the error in *e.
 */
static int
chunked(const char *in, size_t n, uint64_t limit, size_t piece,
    size_t *usedp, struct http_error *e)
{
	struct http_chunked c;
	struct http_str d;
	size_t off = 0, end, used;
	int r = HTTP_INCOMPLETE;

	http_chunked_init(&c, limit);
	bodylen = 0;
	for (;;) {
		end = piece == 0 || n - off < piece ? n : off + piece;
		r = http_chunked_decode(&c, in + off, end - off, &used, &d, e);
		if (used > end - off)
			abort();
		if (r == HTTP_DATA) {
			if (d.p + d.len != in + off + used || d.len == 0 ||
			    bodylen + d.len > sizeof(body))
				abort();
			memcpy(body + bodylen, d.p, d.len);
			bodylen += d.len;
		} else if (d.p != NULL || d.len != 0)
			abort();
		off += used;
		if (r == HTTP_OK || r == HTTP_ERROR)
			break;
		if (r == HTTP_INCOMPLETE && off == n)
			break;
	}
	if (c.total != bodylen)
		abort();
	*usedp = off;
	return r;
}

/* Every way of feeding in[0..n) must give result, data and used. */
static int
chunked_all(const char *in, size_t n, uint64_t limit, int result,
    int status, const char *data, size_t datalen, size_t want_used, int line)
{
	struct http_chunked c;
	struct http_error e;
	struct http_str d;
	size_t piece, used, k, off, u;
	int r, ok = 1;

	for (piece = 0; piece <= 9; piece++) {
		r = chunked(in, n, limit, piece, &used, &e);
		if (r != result || (r == HTTP_ERROR && e.status != status) ||
		    (r == HTTP_OK && used != want_used) ||
		    (r != HTTP_ERROR && (bodylen != datalen ||
		    memcmp(body, data, datalen) != 0))) {
			fprintf(stderr, "line %d: piece %zu: result %d "
			    "status %d used %zu body %zu\n", line, piece, r,
			    r == HTTP_ERROR ? e.status : 0, used, bodylen);
			ok = 0;
		}
	}
	/* Every split in two. */
	for (k = 0; k <= n; k++) {
		http_chunked_init(&c, limit);
		bodylen = 0;
		off = 0;
		r = HTTP_INCOMPLETE;
		while (r != HTTP_OK && r != HTTP_ERROR) {
			size_t end = off < k ? k : n;

			r = http_chunked_decode(&c, in + off, end - off, &u,
			    &d, &e);
			if (r == HTTP_DATA) {
				if (bodylen + d.len > sizeof(body))
					abort();
				memcpy(body + bodylen, d.p, d.len);
				bodylen += d.len;
			}
			off += u;
			if (r == HTTP_INCOMPLETE && off == n)
				break;
		}
		if (r != result || (r == HTTP_ERROR && e.status != status) ||
		    (r == HTTP_OK && off != want_used) ||
		    (r != HTTP_ERROR && (bodylen != datalen ||
		    memcmp(body, data, datalen) != 0))) {
			fprintf(stderr, "line %d: split %zu: result %d\n",
			    line, k, r);
			ok = 0;
		}
	}
	return ok;
}

#define CHUNKED_OK(in, data)						\
	CHECK(chunked_all((in), sizeof(in) - 1, 1 << 20, HTTP_OK, 0,	\
	    (data), sizeof(data) - 1, sizeof(in) - 1, __LINE__))
#define CHUNKED_BAD(in, status)						\
	CHECK(chunked_all((in), sizeof(in) - 1, 1 << 20, HTTP_ERROR,	\
	    (status), "", 0, 0, __LINE__))

#define CHUNKED_MORE(in, data)						\
	CHECK(chunked_all((in), sizeof(in) - 1, 1 << 20, HTTP_INCOMPLETE, \
	    0, (data), sizeof(data) - 1, 0, __LINE__))

static void
test_chunked_valid(void)
{
	CHUNKED_OK("5\r\nhello\r\n0\r\n\r\n", "hello");
	CHUNKED_OK("0\r\n\r\n", "");
	CHUNKED_OK("000\r\n\r\n", "");
	CHUNKED_OK("1\r\na\r\nA\r\n0123456789\r\nb\r\n0123456789b\r\n"
	    "0\r\n\r\n", "a0123456789" "0123456789b");
	CHUNKED_OK("0005\r\n\r\n\r\n\r\r\n0\r\n\r\n", "\r\n\r\n\r");
	CHUNKED_OK("3\r\n\0\xff\n\r\n0\r\n\r\n", "\0\xff\n");
	CHUNKED_OK("000000000000000F\r\n0123456789abcde\r\n0\r\n\r\n",
	    "0123456789abcde");
	/* Extensions are ignored. */
	CHUNKED_OK("5;name\r\nhello\r\n0;last\r\n\r\n", "hello");
	CHUNKED_OK("5;a=b;c=\"d e\\\"f\\\\\"\r\nhello\r\n0\r\n\r\n", "hello");
	CHUNKED_OK("5 ; a = b ;\tc\r\nhello\r\n0\r\n\r\n", "hello");
	CHUNKED_OK("5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello");
	CHUNKED_OK("5;a=\"x\" ;b\r\nhello\r\n0\r\n\r\n", "hello");
	CHUNKED_OK("5;a=\"\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", "hello");
	/* Trailers are checked and dropped. */
	CHUNKED_OK("5\r\nhello\r\n0\r\nX-Sum: abc\r\nEmpty:\r\n"
	    "T: a\tb \xff\r\n\r\n", "hello");
}

static void
test_chunked_stops(void)
{
	static const char in[] = "2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n";

	/* used stops after the final CRLF. */
	CHECK(chunked_all(in, sizeof(in) - 1, 100, HTTP_OK, 0, "hi", 2, 12,
	    __LINE__));
	/* And stays there. */
	{
		struct http_chunked c;
		struct http_error e;
		struct http_str d;
		size_t used;

		http_chunked_init(&c, 100);
		CHECK(http_chunked_decode(&c, in, 3, &used, &d, &e) ==
		    HTTP_INCOMPLETE && used == 3);
		CHECK(http_chunked_decode(&c, in + 3, 10, &used, &d, &e) ==
		    HTTP_DATA && used == 2 && d.p == in + 3 && d.len == 2);
		CHECK(http_chunked_decode(&c, in + 5, 0, &used, &d, &e) ==
		    HTTP_INCOMPLETE && used == 0);
		CHECK(http_chunked_decode(&c, in + 5, 20, &used, &d, &e) ==
		    HTTP_OK && used == 7);
		CHECK(http_chunked_decode(&c, in + 12, 5, &used, &d, &e) ==
		    HTTP_OK && used == 0);
		CHECK(c.total == 2);
	}
	/* Incomplete bodies stay incomplete. */
	CHUNKED_MORE("", "");
	CHUNKED_MORE("5", "");
	CHUNKED_MORE("5\r\nhel", "hel");
	CHUNKED_MORE("5;a=\"b", "");
	CHUNKED_MORE("5\r\nhello\r\n0\r\n\r", "hello");
	CHUNKED_MORE("5\r\nhello\r\n0\r\nX: y\r\n", "hello");
}

static void
test_chunked_refusals(void)
{
	/* Sizes. */
	CHUNKED_BAD("x\r\n", 400);
	CHUNKED_BAD("\r\n", 400);
	CHUNKED_BAD(" 5\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("-5\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("+5\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("0x5\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5g\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5 \r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5\t\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("00000000000000005\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("10000000001\r\n", 400);
	CHUNKED_BAD("ffffffffffffffffff\r\n", 400);
	/* Line ends. */
	CHUNKED_BAD("5\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5\rhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5\r\nhello\n0\r\n\r\n", 400);
	CHUNKED_BAD("5\r\nhello\r0\r\n\r\n", 400);
	CHUNKED_BAD("5\r\nhelloX\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5\r\nhell\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5\r\nhello\r\n0\n\r\n", 400);
	CHUNKED_BAD("5\r\nhello\r\n0\r\n\n", 400);
	CHUNKED_BAD("5\r\nhello\r\n0\r\n\rX", 400);
	CHUNKED_BAD("5;a\nhello\r\n0\r\n\r\n", 400);
	/* Extensions. */
	CHUNKED_BAD("5;\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;=b\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a=\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a \r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a b\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a=b c\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a=b \r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a=(b)\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a=\"b\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a=\"\\\x7f\"\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5;a\0\r\nhello\r\n0\r\n\r\n", 400);
	CHUNKED_BAD("5 x\r\nhello\r\n0\r\n\r\n", 400);
	/* Trailers: the header rules. */
	CHUNKED_BAD("0\r\nA: b\r\n c\r\n\r\n", 400);
	CHUNKED_BAD("0\r\n\tA: b\r\n\r\n", 400);
	CHUNKED_BAD("0\r\nA : b\r\n\r\n", 400);
	CHUNKED_BAD("0\r\n: b\r\n\r\n", 400);
	CHUNKED_BAD("0\r\nA\r\n\r\n", 400);
	CHUNKED_BAD("0\r\nA(: b\r\n\r\n", 400);
	CHUNKED_BAD("0\r\nA: b\0\r\n\r\n", 400);
	CHUNKED_BAD("0\r\nA: b\x7f\r\n\r\n", 400);
	CHUNKED_BAD("0\r\nA: b\rc\r\n\r\n", 400);
	CHUNKED_BAD("0\r\nA: b\n\r\n", 400);
	CHUNKED_BAD("0\r\nA\n\r\n", 400);
	CHUNKED_BAD("0\r\n\x80: b\r\n\r\n", 400);
}

static void
test_chunked_limits(void)
{
	struct http_chunked c;
	struct http_error e;
	struct http_str d;
	size_t used, n;
	int r;

	/* The body limit: at it is fine, past it a 413. */
	CHECK(chunked_all("5\r\nhello\r\n0\r\n\r\n", 15, 5, HTTP_OK, 0,
	    "hello", 5, 15, __LINE__));
	CHECK(chunked_all("5\r\nhello\r\n0\r\n\r\n", 15, 4, HTTP_ERROR, 413,
	    "", 0, 0, __LINE__));
	CHECK(chunked_all("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", 23, 5,
	    HTTP_ERROR, 413, "", 0, 0, __LINE__));
	CHECK(chunked_all("0\r\n\r\n", 5, 0, HTTP_OK, 0, "", 0, 5,
	    __LINE__));
	/* Refused at the size line, before any of the data. */
	http_chunked_init(&c, 4);
	CHECK(http_chunked_decode(&c, "5\r\nhello", 8, &used, &d, &e) ==
	    HTTP_ERROR && e.status == 413 && used == 1);
	/* Sticky. */
	CHECK(http_chunked_decode(&c, "0\r\n\r\n", 5, &used, &d, &e) ==
	    HTTP_ERROR && e.status == 413 && used == 0);

	/* HTTP_CHUNK_MAX is a legal size; one more is not. */
	http_chunked_init(&c, UINT64_MAX);
	CHECK(http_chunked_decode(&c, "10000000000\r\nab", 15, &used, &d,
	    &e) == HTTP_DATA && d.len == 2 && c.total == 2);
	http_chunked_init(&c, UINT64_MAX);
	CHECK(http_chunked_decode(&c, "10000000001\r\n", 13, &used, &d,
	    &e) == HTTP_ERROR && e.status == 400);

	/* Extensions: HTTP_CHUNK_EXT_MAX bytes, then no more. */
	memcpy(big, "1;", 2);
	memset(big + 2, 'x', HTTP_CHUNK_EXT_MAX - 1);
	n = 2 + HTTP_CHUNK_EXT_MAX - 1;
	memcpy(big + n, "\r\na\r\n0\r\n\r\n", 10);
	CHECK(chunked_all(big, n + 10, 100, HTTP_OK, 0, "a", 1, n + 10,
	    __LINE__));
	memcpy(big, "1;", 2);
	memset(big + 2, 'x', HTTP_CHUNK_EXT_MAX);
	n = 2 + HTTP_CHUNK_EXT_MAX;
	memcpy(big + n, "\r\na\r\n0\r\n\r\n", 10);
	CHECK(chunked_all(big, n + 10, 100, HTTP_ERROR, 400, "", 0, 0,
	    __LINE__));
	/* Counted per chunk. */
	n = 0;
	for (r = 0; r < 8; r++) {
		memcpy(big + n, "1;", 2);
		memset(big + n + 2, 'x', 200);
		memcpy(big + n + 202, "\r\na\r\n", 5);
		n += 207;
	}
	memcpy(big + n, "0\r\n\r\n", 5);
	CHECK(chunked_all(big, n + 5, 100, HTTP_OK, 0, "aaaaaaaa", 8, n + 5,
	    __LINE__));

	/* Trailers: HTTP_TRAILER_MAX bytes with the final CRLF. */
	memcpy(big, "0\r\n", 3);
	n = 3;
	memcpy(big + n, "X: ", 3);
	memset(big + n + 3, 'a', HTTP_TRAILER_MAX - 7);
	n += HTTP_TRAILER_MAX - 4;
	memcpy(big + n, "\r\n\r\n", 4);
	CHECK(chunked_all(big, n + 4, 100, HTTP_OK, 0, "", 0, n + 4,
	    __LINE__));
	memcpy(big, "0\r\n", 3);
	n = 3;
	memcpy(big + n, "X: ", 3);
	memset(big + n + 3, 'a', HTTP_TRAILER_MAX - 6);
	n += HTTP_TRAILER_MAX - 3;
	memcpy(big + n, "\r\n\r\n", 4);
	CHECK(chunked_all(big, n + 4, 100, HTTP_ERROR, 431, "", 0, 0,
	    __LINE__));
}

/* A real push body after its head, as the worker would see it. */
static void
test_chunked_after_head(void)
{
	static const char pack[] = "0032want 0123456789abcdef\n";
	struct http_error e;
	size_t n = sizeof(git_push) - 1, m, used;
	int r;

	memcpy(big, git_push, n);
	m = n + (size_t)snprintf(big + n, sizeof(big) - n, "%zx\r\n%s\r\n"
	    "0\r\n\r\n", sizeof(pack) - 1, pack);
	http_parser_init(&P);
	CHECK(http_parse_head(&P, big, m, &e) == HTTP_OK);
	CHECK(P.head.chunked && P.head.len == n);
	r = chunked(big + n, m - n, 1 << 20, 0, &used, &e);
	CHECK(r == HTTP_OK && used == m - n);
	CHECK(bodylen == sizeof(pack) - 1 &&
	    memcmp(body, pack, bodylen) == 0);
}

int
main(void)
{
	UNIT_RUN(test_origin_form);
	UNIT_RUN(test_absolute_form);
	UNIT_RUN(test_authority_form);
	UNIT_RUN(test_asterisk_form);
	UNIT_RUN(test_bad_forms);
	UNIT_RUN(test_bad_target_bytes);
	UNIT_RUN(test_bad_request_line);
	UNIT_RUN(test_leading_crlf);
	UNIT_RUN(test_method_length);
	UNIT_RUN(test_bad_header_lines);
	UNIT_RUN(test_line_ends);
	UNIT_RUN(test_header_values);
	UNIT_RUN(test_host);
	UNIT_RUN(test_content_length);
	UNIT_RUN(test_transfer_encoding);
	UNIT_RUN(test_credentials);
	UNIT_RUN(test_expect);
	UNIT_RUN(test_keep_alive);
	UNIT_RUN(test_reqline_limit);
	UNIT_RUN(test_header_limits);
	UNIT_RUN(test_real_requests);
	UNIT_RUN(test_pipelined);
	UNIT_RUN(test_incremental);
	UNIT_RUN(test_split_authority);
	UNIT_RUN(test_chunked_valid);
	UNIT_RUN(test_chunked_stops);
	UNIT_RUN(test_chunked_refusals);
	UNIT_RUN(test_chunked_limits);
	UNIT_RUN(test_chunked_after_head);
	return UNIT_DONE("test_http");
}
