/*
 * fuzz_http.c: libFuzzer target for the request-head parser and the
 * chunked decoder (worker/http.c).
 *
 * The input is parsed as a request head three ways, which must agree:
 * whole; fed byte by byte (every split point, in linear time since the
 * parser resumes); and split at a point chosen from the input's hash,
 * the prefix in another buffer so that the parser must notice the move.
 * A prefix may only answer HTTP_INCOMPLETE or what the whole answers.
 * An accepted head is checked for the invariants http.h promises.
 *
 * Then the input, and the bytes after an accepted chunked head, go
 * through the chunked decoder whole, byte by byte and in pieces of sizes
 * drawn from the input's hash, with a large limit and with a small one:
 * the result, the bytes used and the data must not depend on the pieces.
 * Seeds: tests/fuzz/corpus/http/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define INPUT_MAX	(4 * HTTP_HEAD_MAX)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct decoded {
	int		 result;
	int		 status;
	size_t		 used;
	uint64_t	 total;
	size_t		 len;
	char		 data[INPUT_MAX];
};

static struct http_parser	whole, part;
static struct decoded		ref, got;

#define REQUIRE(c)	do { if (!(c)) abort(); } while (0)

static uint64_t
fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int
inside(const struct http_str *s, const char *buf, size_t len)
{
	if (s->p == NULL)
		return s->len == 0;
	return s->p >= buf && s->len <= len && s->p - buf <= (ptrdiff_t)(len -
	    s->len);
}

static int
is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* What http.h promises about an accepted head. */
static void
check_head(const struct http_head *h, const char *buf, size_t size)
{
	size_t i;

	/* "A / HTTP/1.0" CRLF CRLF is the shortest. */
	REQUIRE(h->len >= 16 && h->len <= size && h->len <= HTTP_HEAD_MAX);
	REQUIRE(memcmp(buf + h->len - 4, "\r\n\r\n", 4) == 0);
	REQUIRE(h->version == 10 || h->version == 11);
	REQUIRE(h->method.len > 0 && h->method.len <= HTTP_METHOD_MAX);
	REQUIRE(inside(&h->method, buf, h->len));
	REQUIRE(h->target.len > 0 && inside(&h->target, buf, h->len));
	REQUIRE(h->nheaders <= HTTP_HEADERS_MAX);
	for (i = 0; i < h->nheaders; i++) {
		REQUIRE(h->headers[i].name.len > 0);
		REQUIRE(inside(&h->headers[i].name, buf, h->len));
		REQUIRE(h->headers[i].value.p != NULL);
		REQUIRE(inside(&h->headers[i].value, buf, h->len));
		if (h->headers[i].value.len > 0) {
			REQUIRE(!is_ows(h->headers[i].value.p[0]));
			REQUIRE(!is_ows(h->headers[i].value.p[
			    h->headers[i].value.len - 1]));
			REQUIRE(memchr(h->headers[i].value.p, '\r',
			    h->headers[i].value.len) == NULL);
			REQUIRE(memchr(h->headers[i].value.p, '\0',
			    h->headers[i].value.len) == NULL);
		}
	}
	REQUIRE(h->content_length >= -1 &&
	    h->content_length <= (int64_t)HTTP_LENGTH_MAX);
	REQUIRE(!(h->chunked && h->content_length != -1));
	REQUIRE(!h->chunked || h->version == 11);
	REQUIRE(h->version == 10 || h->host_header.p != NULL);
	REQUIRE(h->host_header.p == NULL || h->host_header.len > 0);
	REQUIRE(inside(&h->host_header, buf, h->len));
	REQUIRE(inside(&h->authorization, buf, h->len));
	REQUIRE(inside(&h->proxy_authorization, buf, h->len));
	REQUIRE(h->authorization.p == NULL || h->authorization.len > 0);
	REQUIRE(!h->expect_continue || h->version == 11);
	REQUIRE(h->keep_alive == 0 || h->keep_alive == 1);
	REQUIRE((h->form == HTTP_FORM_AUTHORITY) ==
	    (h->method.len == 7 && memcmp(h->method.p, "CONNECT", 7) == 0));
	switch (h->form) {
	case HTTP_FORM_ORIGIN:
		REQUIRE(h->path.p == h->target.p && h->target.p[0] == '/');
		REQUIRE(h->authority.p == NULL && h->port == -1);
		break;
	case HTTP_FORM_ABSOLUTE:
		REQUIRE(h->scheme.len == 4 || h->scheme.len == 5);
		REQUIRE(h->path.len > 0 && h->path.p[0] == '/');
		/* FALLTHROUGH */
	case HTTP_FORM_AUTHORITY:
		REQUIRE(h->authority.len > 0 &&
		    inside(&h->authority, buf, h->len));
		REQUIRE(h->host.len > 0 && h->host.p == h->authority.p);
		REQUIRE(memchr(h->authority.p, '@', h->authority.len) == NULL);
		REQUIRE(h->port == -1 || (h->port >= 1 && h->port <= 65535));
		REQUIRE(h->form == HTTP_FORM_ABSOLUTE || h->port != -1);
		break;
	case HTTP_FORM_ASTERISK:
		REQUIRE(h->target.len == 1 && h->method.len == 7 &&
		    memcmp(h->method.p, "OPTIONS", 7) == 0);
		break;
	default:
		abort();
	}
	for (i = 0; i < h->target.len; i++)
		REQUIRE((unsigned char)h->target.p[i] > 0x20 &&
		    (unsigned char)h->target.p[i] < 0x7f &&
		    h->target.p[i] != '#');
}

static int
str_same(const struct http_str *a, const struct http_str *b)
{
	return a->p == b->p && a->len == b->len;
}

static void
check_same(const struct http_head *a, const struct http_head *b)
{
	size_t i;

	REQUIRE(a->len == b->len && a->version == b->version);
	REQUIRE(a->form == b->form && a->port == b->port);
	REQUIRE(a->nheaders == b->nheaders);
	REQUIRE(a->content_length == b->content_length);
	REQUIRE(a->chunked == b->chunked && a->keep_alive == b->keep_alive);
	REQUIRE(a->expect_continue == b->expect_continue);
	REQUIRE(str_same(&a->method, &b->method));
	REQUIRE(str_same(&a->target, &b->target));
	REQUIRE(str_same(&a->scheme, &b->scheme));
	REQUIRE(str_same(&a->authority, &b->authority));
	REQUIRE(str_same(&a->host, &b->host));
	REQUIRE(str_same(&a->path, &b->path));
	REQUIRE(str_same(&a->host_header, &b->host_header));
	REQUIRE(str_same(&a->authorization, &b->authorization));
	REQUIRE(str_same(&a->proxy_authorization, &b->proxy_authorization));
	for (i = 0; i < a->nheaders; i++) {
		REQUIRE(str_same(&a->headers[i].name, &b->headers[i].name));
		REQUIRE(str_same(&a->headers[i].value, &b->headers[i].value));
	}
}

static void
check_error(const struct http_error *e)
{
	REQUIRE(e->reason != NULL && e->reason[0] != '\0');
	REQUIRE(e->status == 400 || e->status == 414 || e->status == 417 ||
	    e->status == 431 || e->status == 501 || e->status == 505);
}

/* A prefix's answer must be INCOMPLETE or the whole's. */
static void
check_prefix(int r, const struct http_error *e, size_t k, int r0,
    const struct http_error *e0)
{
	if (r == HTTP_INCOMPLETE)
		return;
	REQUIRE(r == r0);
	if (r == HTTP_ERROR)
		REQUIRE(e->status == e0->status);
	else
		REQUIRE(whole.head.len <= k);
}

static void
fuzz_head(const char *buf, size_t size, uint64_t hash)
{
	struct http_error e0, e;
	char *moved;
	size_t k, split;
	int r0, r;

	http_parser_init(&whole);
	r0 = http_parse_head(&whole, buf, size, &e0);
	if (r0 == HTTP_INCOMPLETE)
		REQUIRE(size < HTTP_HEAD_MAX);
	else if (r0 == HTTP_ERROR)
		check_error(&e0);
	else {
		REQUIRE(r0 == HTTP_OK);
		check_head(&whole.head, buf, size);
	}

	/* Byte by byte. */
	http_parser_init(&part);
	r = HTTP_INCOMPLETE;
	for (k = 0; k <= size; k++) {
		r = http_parse_head(&part, buf, k, &e);
		check_prefix(r, &e, k, r0, &e0);
		if (r != HTTP_INCOMPLETE)
			break;
	}
	REQUIRE(r == r0);
	if (r == HTTP_OK) {
		REQUIRE(k == whole.head.len);
		check_same(&part.head, &whole.head);
	}
	/* Sticky, or stable. */
	if (r != HTTP_INCOMPLETE) {
		r = http_parse_head(&part, buf, size, &e);
		REQUIRE(r == r0);
		if (r == HTTP_OK)
			check_same(&part.head, &whole.head);
		else
			REQUIRE(e.status == e0.status);
	}

	/* Split at a point of the input's choosing, prefix elsewhere. */
	split = (size_t)(hash % (size + 1));
	if ((moved = malloc(split + 1)) == NULL)
		abort();
	memcpy(moved, buf, split);
	http_parser_init(&part);
	r = http_parse_head(&part, moved, split, &e);
	check_prefix(r, &e, split, r0, &e0);
	free(moved);
	if (r == HTTP_INCOMPLETE) {
		r = http_parse_head(&part, buf, size, &e);
		REQUIRE(r == r0);
		if (r == HTTP_OK)
			check_same(&part.head, &whole.head);
		else if (r == HTTP_ERROR)
			REQUIRE(e.status == e0.status);
	}
}

/*
 * Decodes in[0..n) with the given limit, in pieces drawn from *rs (1..
 * maxpiece bytes; maxpiece 0: all at once), into d.
 */
static void
decode(const char *in, size_t n, uint64_t limit, size_t maxpiece,
    uint64_t rs, struct decoded *d)
{
	struct http_chunked c;
	struct http_error e;
	struct http_str s;
	size_t off = 0, end, used;
	int r;

	http_chunked_init(&c, limit);
	d->len = 0;
	d->status = 0;
	for (;;) {
		end = n;
		if (maxpiece > 0 && n - off > 0) {
			end = off + 1 + (size_t)(next_rand(&rs) % maxpiece);
			if (end > n)
				end = n;
		}
		r = http_chunked_decode(&c, in + off, end - off, &used, &s, &e);
		REQUIRE(used <= end - off);
		if (r == HTTP_DATA) {
			REQUIRE(s.len > 0 && s.p + s.len == in + off + used);
			REQUIRE(s.p >= in + off);
			memcpy(d->data + d->len, s.p, s.len);
			d->len += s.len;
		} else
			REQUIRE(s.p == NULL && s.len == 0);
		off += used;
		REQUIRE(c.total == d->len && c.total <= limit);
		if (r == HTTP_ERROR) {
			REQUIRE(e.status == 400 || e.status == 413 ||
			    e.status == 431);
			REQUIRE(e.reason != NULL);
			d->status = e.status;
			break;
		}
		if (r == HTTP_OK || (r == HTTP_INCOMPLETE && off == n))
			break;
		REQUIRE(r == HTTP_DATA || r == HTTP_INCOMPLETE);
	}
	d->result = r;
	d->used = off;
	d->total = c.total;
}

static void
same_decoded(const struct decoded *a, const struct decoded *b)
{
	REQUIRE(a->result == b->result && a->status == b->status);
	REQUIRE(a->used == b->used);
	REQUIRE(a->total == b->total && a->len == b->len);
	REQUIRE(memcmp(a->data, b->data, a->len) == 0);
}

static void
fuzz_chunked(const char *in, size_t n, uint64_t hash)
{
	static const size_t pieces[] = { 1, 2, 7, 64 };
	uint64_t limits[2];
	size_t i, j;

	limits[0] = UINT64_C(1) << 20;
	limits[1] = hash % 64;
	for (i = 0; i < 2; i++) {
		decode(in, n, limits[i], 0, 0, &ref);
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
			decode(in, n, limits[i], pieces[j], hash | 1, &got);
			same_decoded(&ref, &got);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	uint64_t hash;

	if (size > INPUT_MAX)
		return 0;
	hash = fnv(data, size);
	fuzz_head(buf, size, hash);
	fuzz_chunked(buf, size, hash);
	/* A chunked request's body, as the worker would decode it. */
	http_parser_init(&whole);
	if (http_parse_head(&whole, buf, size, &(struct http_error){ 0,
	    NULL }) == HTTP_OK && whole.head.chunked)
		fuzz_chunked(buf + whole.head.len, size - whole.head.len,
		    hash >> 7);
	return 0;
}
