/*
 * fuzz_resp.c: libFuzzer target for the response-head parser
 * (worker/http_resp.c), and the chunked decoder on what follows a
 * chunked head.
 *
 * The input is parsed as a response head whole, then fed again in
 * pieces whose sizes come from its first two bytes, into a buffer that
 * grows (and, for small inputs, moves: each prefix is copied to a fresh
 * buffer of its exact size).  Both must agree with each other and with
 * where an answer is due (the first CRLF CRLF, bare LF or bare CR within
 * HTTP_RESP_HEAD_MAX bytes): HTTP_INCOMPLETE before it, then always the
 * same answer.  An accepted head is checked for what http.h promises,
 * its framing and keep-alive against the fields it lists; 1xx heads are
 * skipped as a client would, and a chunked body goes through
 * http_chunked_decode() whole and in pieces, which must agree.
 * Seeds: tests/fuzz/corpus/resp/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define INPUT_MAX	(HTTP_RESP_HEAD_MAX + 4096)
#define MOVE_MAX	2048		/* inputs fed in a moving buffer */
#define HEADS_MAX	8		/* 1xx heads skipped, and the last */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct decoded {
	int		 result;
	int		 status;
	size_t		 used;
	uint64_t	 total;
	uint64_t	 hash;		/* of the data handed out */
};

static struct http_resp_parser	whole, part;
static struct http_response	ref, got;

#define REQUIRE(c)	do { if (!(c)) abort(); } while (0)

static uint64_t
fnv(uint64_t h, const void *v, size_t n)
{
	const unsigned char *p = v;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static int
is_ows(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
ieq(const struct http_str *s, const char *lit)
{
	size_t i, n = strlen(lit);
	int c;

	if (s->len != n)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s->p[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != lit[i])
			return 0;
	}
	return 1;
}

/* A value of 1*DIGIT (as the parser accepts), saturated. */
static int64_t
number(const struct http_str *v)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < v->len; i++) {
		REQUIRE(v->p[i] >= '0' && v->p[i] <= '9');
		if (n < INT64_MAX / 10 - 10)
			n = n * 10 + (v->p[i] - '0');
	}
	return n;
}

/* s inside buf[0..len). */
static int
inside(const struct http_str *s, const char *buf, size_t len)
{
	return s->p != NULL && s->p >= buf && s->len <= len &&
	    (size_t)(s->p - buf) <= len - s->len;
}

/* Does a Connection value name opt (as a token)? */
static int
lists(const struct http_str *v, const char *opt)
{
	struct http_str t;
	size_t i = 0, j;

	while (i < v->len) {
		for (j = i; j < v->len && is_tchar((unsigned char)v->p[j]); j++)
			;
		if (j == i) {
			i++;
			continue;
		}
		t.p = v->p + i;
		t.len = j - i;
		if (ieq(&t, opt))
			return 1;
		i = j;
	}
	return 0;
}

/* The head's bytes: lines end in CRLF, the first CRLF CRLF ends it. */
static void
check_bytes(const char *buf, size_t len)
{
	const char *end;
	size_t i;

	REQUIRE(len >= 16 && len <= HTTP_RESP_HEAD_MAX);
	REQUIRE(memcmp(buf + len - 4, "\r\n\r\n", 4) == 0);
	end = memmem(buf, len, "\r\n\r\n", 4);
	REQUIRE(end == buf + len - 4);
	for (i = 0; i < len; i++) {
		if (buf[i] == '\r')
			REQUIRE(i + 1 < len && buf[i + 1] == '\n');
		if (buf[i] == '\n')
			REQUIRE(i > 0 && buf[i - 1] == '\r');
	}
}

static void
check_header(const struct http_header *h, const char *buf, size_t len)
{
	size_t i;
	int c;

	REQUIRE(h->name.len > 0 && inside(&h->name, buf, len));
	for (i = 0; i < h->name.len; i++)
		REQUIRE(is_tchar((unsigned char)h->name.p[i]));
	REQUIRE(h->name.p[h->name.len] == ':');
	REQUIRE(h->name.p > buf && h->name.p[-1] == '\n');
	REQUIRE(inside(&h->value, buf, len));
	REQUIRE(h->value.p > h->name.p + h->name.len);
	for (i = 0; i < h->value.len; i++) {
		c = (unsigned char)h->value.p[i];
		REQUIRE(c == '\t' || (c >= 0x20 && c != 0x7f));
	}
	if (h->value.len > 0) {
		REQUIRE(!is_ows((unsigned char)h->value.p[0]));
		REQUIRE(!is_ows((unsigned char)h->value.p[h->value.len - 1]));
	}
	/* Nothing but OWS around the value, up to the CRLF. */
	REQUIRE(h->value.p[h->value.len] == '\r' ||
	    is_ows((unsigned char)h->value.p[h->value.len]));
}

/* What http.h promises about an accepted head at buf, size bytes. */
static void
check_resp(const struct http_response *r, const char *buf, size_t size)
{
	const struct http_header *h;
	int64_t cl = -1;
	size_t i, ncl = 0, nte = 0;
	int cls = 0, keep = 0, code, body;

	REQUIRE(r->len <= size);
	check_bytes(buf, r->len);
	REQUIRE(memcmp(buf, "HTTP/1.", 7) == 0 && buf[8] == ' ');
	REQUIRE(r->version == (buf[7] == '1' ? 11 : 10));
	REQUIRE(buf[7] == '0' || buf[7] == '1');
	REQUIRE(r->status >= 100 && r->status <= 599);
	code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	REQUIRE(r->status == code);
	REQUIRE(buf[12] == '\r' || buf[12] == ' ');
	REQUIRE(r->nheaders <= HTTP_RESP_HEADERS_MAX);
	for (i = 0; i < r->nheaders; i++) {
		h = &r->headers[i];
		check_header(h, buf, r->len);
		if (i > 0)
			REQUIRE(h->name.p > r->headers[i - 1].value.p);
		if (ieq(&h->name, "content-length")) {
			ncl++;
			REQUIRE(h->value.len > 0);
			cl = number(&h->value);
		} else if (ieq(&h->name, "transfer-encoding")) {
			nte++;
			REQUIRE(ieq(&h->value, "chunked"));
		} else if (ieq(&h->name, "connection")) {
			cls |= lists(&h->value, "close");
			keep |= lists(&h->value, "keep-alive");
		}
	}
	/* The framing is what the fields say. */
	REQUIRE(ncl <= 1 && nte <= 1 && ncl + nte <= 1);
	REQUIRE(r->content_length >= -1 &&
	    r->content_length <= (int64_t)HTTP_LENGTH_MAX);
	REQUIRE(!(r->chunked && r->content_length >= 0));
	REQUIRE(r->chunked == (nte == 1));
	REQUIRE(!r->chunked || r->version == 11);
	REQUIRE(ncl == 1 || r->content_length == -1);
	if (ncl == 1)
		REQUIRE(r->content_length == cl);
	REQUIRE(r->keep_alive == (!cls && (r->version == 11 || keep)));
	body = r->status >= 200 && r->status != 204 && r->status != 304;
	REQUIRE(!http_resp_has_body(r, 1));
	REQUIRE(!!http_resp_has_body(r, 0) == body);
}

static int
str_same(const struct http_str *a, const char *abuf,
    const struct http_str *b, const char *bbuf)
{
	return a->p - abuf == b->p - bbuf && a->len == b->len;
}

/* The same head, its slices at the same offsets of each buffer. */
static void
check_same(const struct http_response *a, const char *abuf,
    const struct http_response *b, const char *bbuf)
{
	size_t i;

	REQUIRE(a->len == b->len && a->version == b->version);
	REQUIRE(a->status == b->status);
	REQUIRE(a->content_length == b->content_length);
	REQUIRE(a->chunked == b->chunked && a->keep_alive == b->keep_alive);
	REQUIRE(a->nheaders == b->nheaders);
	for (i = 0; i < a->nheaders; i++) {
		REQUIRE(str_same(&a->headers[i].name, abuf,
		    &b->headers[i].name, bbuf));
		REQUIRE(str_same(&a->headers[i].value, abuf,
		    &b->headers[i].value, bbuf));
	}
}

/*
 * What a parse of buf[0..k) must answer, given where the head ends
 * (end: 0 when there is no CRLF CRLF in the first HTTP_RESP_HEAD_MAX
 * bytes) and the whole input's answer r0.
 */
static void
check_answer(int r, const struct http_error *e, size_t k, size_t end,
    int r0, const struct http_error *e0)
{
	if (end > 0 ? k < end : k < HTTP_RESP_HEAD_MAX) {
		REQUIRE(r == HTTP_INCOMPLETE);
		return;
	}
	REQUIRE(r == r0);
	if (r == HTTP_ERROR)
		REQUIRE(e->status == 502 && e->reason == e0->reason);
}

/* Piece sizes: alternately from the first and the second byte. */
static size_t
piece(const uint8_t *data, size_t size, size_t i)
{
	if (size == 0)
		return 1;
	if (i % 2 == 0 || size == 1)
		return 1 + data[0] % 32;
	return 1 + data[1] % 251;
}

/*
 * How many bytes the parser needs before it must answer: up to the end
 * of the first CRLF CRLF, or to the first bare LF, or to the byte after
 * a bare CR (refused as they arrive); 0: none in buf[0..n).
 */
static size_t
answer_point(const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (i == 0 || buf[i - 1] != '\r')
				return i + 1;
			if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r')
				return i + 1;
		} else if (i > 0 && buf[i - 1] == '\r')
			return i + 1;
	}
	return 0;
}

static void
fuzz_head(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_error e0, e;
	size_t end = 0, k, i;
	char *m;
	int r0, r;

	end = answer_point(buf, size < HTTP_RESP_HEAD_MAX ? size :
	    HTTP_RESP_HEAD_MAX);

	http_resp_init(&whole);
	r0 = http_parse_response(&whole, buf, size, &ref, &e0);
	if (r0 == HTTP_ERROR)
		REQUIRE(e0.status == 502 && e0.reason != NULL &&
		    e0.reason[0] != '\0');
	else if (r0 == HTTP_OK) {
		REQUIRE(ref.len == end);
		check_resp(&ref, buf, size);
	} else
		REQUIRE(r0 == HTTP_INCOMPLETE);
	if (end > 0)
		REQUIRE(r0 != HTTP_INCOMPLETE);
	else
		REQUIRE(r0 == (size < HTTP_RESP_HEAD_MAX ? HTTP_INCOMPLETE :
		    HTTP_ERROR));

	/* Sticky, or stable. */
	r = http_parse_response(&whole, buf, size, &got, &e);
	REQUIRE(r == r0);
	if (r == HTTP_OK)
		check_same(&got, buf, &ref, buf);
	else if (r == HTTP_ERROR)
		REQUIRE(e.status == 502 && e.reason == e0.reason);

	/* In pieces, the buffer growing (and moving, when small). */
	http_resp_init(&part);
	r = HTTP_INCOMPLETE;
	for (k = 0, i = 0;; i++) {
		if (size <= MOVE_MAX) {
			if ((m = malloc(k > 0 ? k : 1)) == NULL)
				abort();
			memcpy(m, buf, k);
			r = http_parse_response(&part, m, k, &got, &e);
			check_answer(r, &e, k, end, r0, &e0);
			if (r == HTTP_OK)
				check_same(&got, m, &ref, buf);
			free(m);
		} else {
			r = http_parse_response(&part, buf, k, &got, &e);
			check_answer(r, &e, k, end, r0, &e0);
			if (r == HTTP_OK)
				check_same(&got, buf, &ref, buf);
		}
		if (r != HTTP_INCOMPLETE || k == size)
			break;
		k += piece(data, size, i);
		if (k > size)
			k = size;
	}
	REQUIRE(r == r0);
	/* Once answered, the same answer for the whole. */
	r = http_parse_response(&part, buf, size, &got, &e);
	REQUIRE(r == r0);
	if (r == HTTP_OK)
		check_same(&got, buf, &ref, buf);
}

/*
 * Decodes in[0..n) in pieces of 1..maxpiece bytes drawn from data
 * (maxpiece 0: all at once), into d.
 */
static void
decode(const char *in, size_t n, uint64_t limit, size_t maxpiece,
    const uint8_t *data, size_t dsize, struct decoded *d)
{
	struct http_chunked c;
	struct http_error e;
	struct http_str s;
	size_t off = 0, end, used, i = 0;
	int r;

	http_chunked_init(&c, limit);
	d->status = 0;
	d->hash = 0xcbf29ce484222325ULL;
	for (;;) {
		end = n;
		if (maxpiece > 0 && dsize > 0) {
			end = off + 1 + data[i++ % dsize] % maxpiece;
			if (end > n)
				end = n;
		}
		r = http_chunked_decode(&c, in + off, end - off, &used, &s, &e);
		REQUIRE(used <= end - off);
		if (r == HTTP_DATA) {
			REQUIRE(s.len > 0 && s.p >= in + off);
			REQUIRE(s.p + s.len == in + off + used);
			d->hash = fnv(d->hash, s.p, s.len);
		}
		off += used;
		REQUIRE(c.total <= limit);
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
fuzz_body(const char *in, size_t n, const uint8_t *data, size_t dsize)
{
	static const size_t pieces[] = { 1, 5, 64 };
	struct decoded a, b;
	uint64_t limits[2];
	size_t i, j;

	limits[0] = UINT64_C(1) << 20;
	limits[1] = dsize > 0 ? data[0] % 64 : 0;
	for (i = 0; i < 2; i++) {
		decode(in, n, limits[i], 0, data, dsize, &a);
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
			decode(in, n, limits[i], pieces[j], data, dsize, &b);
			REQUIRE(a.result == b.result && a.status == b.status);
			REQUIRE(a.used == b.used && a.total == b.total);
			REQUIRE(a.hash == b.hash);
		}
	}
}

/* As a client would: skip 1xx heads, then decode a chunked body. */
static void
fuzz_heads(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_error e;
	size_t off = 0;
	int i;

	for (i = 0; i < HEADS_MAX; i++) {
		http_resp_init(&part);
		if (http_parse_response(&part, buf + off, size - off, &got,
		    &e) != HTTP_OK)
			return;
		check_resp(&got, buf + off, size - off);
		if (got.status >= 200)
			break;
		off += got.len;
	}
	if (i < HEADS_MAX && http_resp_has_body(&got, 0) && got.chunked)
		fuzz_body(buf + off + got.len, size - off - got.len, data,
		    size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_MAX)
		return 0;
	fuzz_head(data, size);
	fuzz_heads(data, size);
	return 0;
}
