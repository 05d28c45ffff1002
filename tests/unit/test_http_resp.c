/*
 * test_http_resp.c: the response-head parser (worker/http_resp.c)
 * against its contract in http.h ("The response head"): status lines,
 * every refusal with its reason, framing, keep-alive, value OWS, the
 * limits at and just past their bound, 1xx heads, http_resp_has_body(),
 * sticky errors, and incremental feeding: every accepted head is fed at
 * every prefix length to one parser, to a fresh parser per prefix, and
 * byte by byte in a buffer that moves each call, and must give the same
 * head; every refused one is fed byte by byte and must give the same
 * refusal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "unit.h"

#define CRLF	"\r\n"
#define OK11	"HTTP/1.1 200 OK" CRLF

/* Past this size, the quadratic feeding checks are skipped. */
#define SMALL	4096

static struct http_resp_parser P, Q;
static struct http_response R, S;
static char big[2 * HTTP_RESP_HEAD_MAX + 1024];

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

/* The same slice relative to each buffer. */
static int
str_same(const struct http_str *a, const char *abuf,
    const struct http_str *b, const char *bbuf)
{
	if (a->p == NULL || b->p == NULL)
		return a->p == NULL && b->p == NULL && a->len == b->len;
	return a->p - abuf == b->p - bbuf && a->len == b->len;
}

/* The same head, its slices at the same offsets of each buffer. */
static int
resp_same(const struct http_response *a, const char *abuf,
    const struct http_response *b, const char *bbuf)
{
	size_t i;

	if (a->len != b->len || a->version != b->version ||
	    a->status != b->status ||
	    a->content_length != b->content_length ||
	    a->chunked != b->chunked || a->keep_alive != b->keep_alive ||
	    a->nheaders != b->nheaders)
		return 0;
	for (i = 0; i < a->nheaders; i++)
		if (!str_same(&a->headers[i].name, abuf,
		    &b->headers[i].name, bbuf) ||
		    !str_same(&a->headers[i].value, abuf,
		    &b->headers[i].value, bbuf))
			return 0;
	return 1;
}

/* Every slice inside the head, buf[0..len). */
static int
slices_inside(const struct http_response *r, const char *buf)
{
	const struct http_str *s;
	size_t i, j;

	for (i = 0; i < r->nheaders; i++) {
		for (j = 0; j < 2; j++) {
			s = j == 0 ? &r->headers[i].name : &r->headers[i].value;
			if (s->p == NULL || s->p < buf ||
			    (size_t)(s->p - buf) + s->len > r->len)
				return 0;
		}
	}
	return 1;
}

/*
 * Byte by byte, each prefix copied to a fresh buffer of its exact size
 * (so that the parser sees buf move, and ASan any read past len): the
 * first answer that is not HTTP_INCOMPLETE, and at which length.  On
 * HTTP_OK, *same says whether the head matched ref (at the same
 * offsets of refbuf).
 */
static int
feed_moving(const char *msg, size_t n, size_t *at, struct http_error *e,
    const struct http_response *ref, const char *refbuf, int *same)
{
	char *m;
	size_t k;
	int r = HTTP_INCOMPLETE;

	http_resp_init(&Q);
	*same = 0;
	for (k = 0; k <= n; k++) {
		if ((m = malloc(k > 0 ? k : 1)) == NULL)
			abort();
		memcpy(m, msg, k);
		r = http_parse_response(&Q, m, k, &S, e);
		if (r == HTTP_OK && ref != NULL)
			*same = resp_same(&S, m, ref, refbuf) &&
			    slices_inside(&S, m);
		free(m);
		if (r != HTTP_INCOMPLETE)
			break;
	}
	*at = k;
	return r;
}

/*
 * msg[0..n) must be refused with a reason containing why: whole, again
 * (sticky, even given a good head), growing byte by byte, and byte by
 * byte in a moving buffer.
 */
static int
refused(const char *msg, size_t n, const char *why, int line)
{
	struct http_error e, e2;
	size_t at, k;
	int r, same, ok = 1;

	http_resp_init(&P);
	r = http_parse_response(&P, msg, n, &R, &e);
	if (r != HTTP_ERROR || e.status != 502 || e.reason == NULL ||
	    strstr(e.reason, why) == NULL) {
		fprintf(stderr, "line %d: whole: result %d, status %d (%s), "
		    "want 502 (%s)\n", line, r, r == HTTP_ERROR ? e.status :
		    0, r == HTTP_ERROR && e.reason ? e.reason : "", why);
		return 0;
	}
	/* Sticky: again, and with a good head. */
	if (http_parse_response(&P, msg, n, &R, &e2) != HTTP_ERROR ||
	    e2.status != 502 || e2.reason != e.reason)
		ok = 0;
	if (http_parse_response(&P, OK11 CRLF, 19, &R, &e2) != HTTP_ERROR ||
	    e2.status != 502 || e2.reason != e.reason)
		ok = 0;
	/* Growing byte by byte: incomplete, then the same refusal. */
	http_resp_init(&Q);
	for (k = 0; k <= n; k++)
		if ((r = http_parse_response(&Q, msg, k, &S, &e2)) !=
		    HTTP_INCOMPLETE)
			break;
	if (r != HTTP_ERROR || e2.status != 502 || e2.reason != e.reason) {
		fprintf(stderr, "line %d: bytewise: result %d at %zu (%s)\n",
		    line, r, k, r == HTTP_ERROR ? e2.reason : "");
		ok = 0;
	}
	if (n <= SMALL) {
		r = feed_moving(msg, n, &at, &e2, NULL, NULL, &same);
		if (r != HTTP_ERROR || e2.status != 502 ||
		    e2.reason != e.reason || at != k) {
			fprintf(stderr, "line %d: moving: result %d at %zu\n",
			    line, r, at);
			ok = 0;
		}
	}
	return ok;
}

#define REFUSE(msg, why)						\
	CHECK(refused((msg), sizeof(msg) - 1, (why), __LINE__))
#define REFUSE_N(msg, n, why)						\
	CHECK(refused((msg), (n), (why), __LINE__))

/*
 * msg[0..n) must parse: whole (and in a buffer of its exact size),
 * again on the same parser, growing prefix by prefix on one parser
 * (HTTP_INCOMPLETE until the head's end, then the same head), from
 * each prefix on a fresh parser, byte by byte in a moving buffer, and
 * with the head's end split "\r\n\r" | "\n".  Returns the head (in R,
 * its slices into msg), or NULL.
 */
static const struct http_response *
accepted_n(const char *msg, size_t n, int line)
{
	struct http_error e;
	char *m;
	size_t at, k;
	int r, same;

	http_resp_init(&P);
	r = http_parse_response(&P, msg, n, &R, &e);
	if (r != HTTP_OK) {
		fprintf(stderr, "line %d: result %d, status %d (%s)\n", line,
		    r, r == HTTP_ERROR ? e.status : 0,
		    r == HTTP_ERROR ? e.reason : "");
		return NULL;
	}
	if (R.len < 4 || R.len > n || memcmp(msg + R.len - 4, CRLF CRLF,
	    4) != 0 || !slices_inside(&R, msg)) {
		fprintf(stderr, "line %d: bad len %zu or slices\n", line,
		    R.len);
		return NULL;
	}
	/* Again on the same parser: the same head. */
	if (http_parse_response(&P, msg, n, &S, &e) != HTTP_OK ||
	    !resp_same(&S, msg, &R, msg))
		goto bad;
	/* In a buffer of the exact size. */
	if ((m = malloc(n)) == NULL)
		abort();
	memcpy(m, msg, n);
	http_resp_init(&Q);
	r = http_parse_response(&Q, m, n, &S, &e);
	same = r == HTTP_OK && resp_same(&S, m, &R, msg);
	free(m);
	if (!same)
		goto bad;
	/* Every prefix, one parser, the same buffer growing. */
	http_resp_init(&Q);
	for (k = 0; k <= n; k++) {
		r = http_parse_response(&Q, msg, k, &S, &e);
		if (r != (k < R.len ? HTTP_INCOMPLETE : HTTP_OK))
			goto bad;
		if (r == HTTP_OK && !resp_same(&S, msg, &R, msg))
			goto bad;
	}
	/* The end split: "\r\n\r", then "\n". */
	http_resp_init(&Q);
	if (http_parse_response(&Q, msg, R.len - 1, &S, &e) !=
	    HTTP_INCOMPLETE || http_parse_response(&Q, msg, R.len, &S,
	    &e) != HTTP_OK || !resp_same(&S, msg, &R, msg))
		goto bad;
	if (n > SMALL)
		return &R;
	/* Each prefix on a fresh parser, then the whole. */
	for (k = 0; k <= n; k++) {
		http_resp_init(&Q);
		r = http_parse_response(&Q, msg, k, &S, &e);
		if (r != (k < R.len ? HTTP_INCOMPLETE : HTTP_OK))
			goto bad;
		if (http_parse_response(&Q, msg, n, &S, &e) != HTTP_OK ||
		    !resp_same(&S, msg, &R, msg))
			goto bad;
	}
	/* Byte by byte, the buffer moving each time. */
	r = feed_moving(msg, n, &at, &e, &R, msg, &same);
	if (r != HTTP_OK || at != R.len || !same)
		goto bad;
	return &R;
bad:
	fprintf(stderr, "line %d: incremental parse differs\n", line);
	return NULL;
}

#define ACCEPT(msg)	accepted_n((msg), sizeof(msg) - 1, __LINE__)

/*
 * The status line
 */

static void
test_status_lines(void)
{
	const struct http_response *r;

	r = ACCEPT("HTTP/1.1 200 OK" CRLF CRLF);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(r->version == 11 && r->status == 200);
		CHECK(r->len == 19 && r->nheaders == 0);
		CHECK(r->content_length == -1 && !r->chunked);
		CHECK(r->keep_alive == 1);
	}
	r = ACCEPT("HTTP/1.0 200 OK" CRLF CRLF);
	CHECK(r != NULL && r->version == 10 && r->status == 200);
	/* No reason, with or without its SP. */
	r = ACCEPT("HTTP/1.1 404" CRLF CRLF);
	CHECK(r != NULL && r->status == 404 && r->len == 16);
	r = ACCEPT("HTTP/1.1 204 " CRLF CRLF);
	CHECK(r != NULL && r->status == 204);
	/* Any field bytes: SP, HTAB, VCHAR, obs-text. */
	r = ACCEPT("HTTP/1.1 200 Very\tOK !#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	    CRLF CRLF);
	CHECK(r != NULL && r->status == 200);
	r = ACCEPT("HTTP/1.1 200 \xc3\x89tat \x80\xff" CRLF CRLF);
	CHECK(r != NULL && r->status == 200);
	r = ACCEPT("HTTP/1.1 200  two  spaces " CRLF CRLF);
	CHECK(r != NULL && r->status == 200);
	/* The bounds, and odd codes in between. */
	r = ACCEPT("HTTP/1.1 100 Continue" CRLF CRLF);
	CHECK(r != NULL && r->status == 100);
	r = ACCEPT("HTTP/1.1 599 Whatever" CRLF CRLF);
	CHECK(r != NULL && r->status == 599);
	r = ACCEPT("HTTP/1.1 299 X" CRLF CRLF);
	CHECK(r != NULL && r->status == 299);
	r = ACCEPT("HTTP/1.0 451 Unavailable For Legal Reasons" CRLF CRLF);
	CHECK(r != NULL && r->status == 451 && r->version == 10);
}

static void
test_bad_status_lines(void)
{
	/* The version. */
	REFUSE("HTTP/1.2 200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/2.0 200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/2 200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/0.9 200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/1.10 200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/1 200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/1.x 200 OK" CRLF CRLF, "status line");
	REFUSE("http/1.1 200 OK" CRLF CRLF, "status line");
	REFUSE("HTTPS/1.1 200 OK" CRLF CRLF, "status line");
	REFUSE("ICY 200 OK" CRLF CRLF, "status line");
	REFUSE(" HTTP/1.1 200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/1.1" CRLF CRLF, "status line");
	/* The code: three digits worth 100..599. */
	REFUSE("HTTP/1.1 099 Low" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 000 Zero" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 600 High" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 999 High" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 2x0 OK" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 20x OK" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 -20 OK" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 +20 OK" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 2 0 OK" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 OK 200" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1 20" CRLF CRLF, "status line");
	REFUSE("HTTP/1.1 2000 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/1.1 200OK" CRLF CRLF, "status line");
	/* Exactly one SP between version and code, SP after the code. */
	REFUSE("HTTP/1.1200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/1.1  200 OK" CRLF CRLF, "status code");
	REFUSE("HTTP/1.1\t200 OK" CRLF CRLF, "status line");
	REFUSE("HTTP/1.1 200\tOK" CRLF CRLF, "status line");
	/* Control bytes in the reason. */
	REFUSE("HTTP/1.1 200 O\x01K" CRLF CRLF, "reason");
	REFUSE("HTTP/1.1 200 OK\x7f" CRLF CRLF, "reason");
	REFUSE("HTTP/1.1 200 \x1b[31mOK" CRLF CRLF, "reason");
	REFUSE("HTTP/1.1 200 O\0K" CRLF CRLF, "reason");
	/* No status line at all; an empty line first. */
	REFUSE(CRLF CRLF, "status line");
	REFUSE(CRLF OK11 CRLF, "status line");
	REFUSE(CRLF CRLF OK11 CRLF, "status line");
}

/*
 * Line ends
 */

static void
test_line_ends(void)
{
	struct http_error e;
	size_t k, n;
	int r;

	/* Bare CR. */
	REFUSE("HTTP/1.1 200 OK\r" CRLF CRLF, "bare CR");
	REFUSE("HTTP/1.1 200 O\rK" CRLF CRLF, "bare CR");
	REFUSE(OK11 "X-A: a\rb" CRLF CRLF, "bare CR");
	REFUSE(OK11 "X\r-A: a" CRLF CRLF, "bare CR");
	REFUSE(OK11 "X-A: a\r" CRLF CRLF, "bare CR");
	REFUSE(OK11 "\r" CRLF CRLF, "bare CR");
	REFUSE("\r" CRLF CRLF, "bare CR");
	/* Bare LF. */
	REFUSE("HTTP/1.1 200 OK\n" CRLF CRLF, "bare LF");
	REFUSE("HTTP/1.1 200 OK" "\n" "X-A: a" CRLF CRLF, "bare LF");
	REFUSE(OK11 "X-A: a\nb" CRLF CRLF, "bare LF");
	REFUSE(OK11 "X-A: a" "\n" "X-B: b" CRLF CRLF, "bare LF");
	REFUSE(OK11 "\n" CRLF CRLF, "bare LF");
	REFUSE(OK11 "X-A: a" CRLF "\n" CRLF CRLF, "bare LF");
	REFUSE("\n" OK11 CRLF, "bare LF");
	/* A head with LF line ends is refused at its first LF, not waited for. */
	n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\n"
	    "Content-Length: 2\n\nhi");
	http_resp_init(&P);
	CHECK(http_parse_response(&P, big, 15, &R, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_response(&P, big, 16, &R, &e) == HTTP_ERROR &&
	    e.status == 502 && strstr(e.reason, "bare LF") != NULL);
	/* ... and a later CRLF CRLF (in a body) ends it, with the LFs. */
	n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\n\n"
	    "a" CRLF CRLF);
	REFUSE_N(big, n, "bare LF");
	/* A bare CR that looks like an end: "\r\r\n\r\n". */
	REFUSE("HTTP/1.1 200 OK\r" CRLF CRLF, "bare CR");
	/* CR CR LF LF is no end: refused once the second CR is in (len 17). */
	http_resp_init(&P);
	r = HTTP_INCOMPLETE;
	for (k = 0; k <= 19 && r == HTTP_INCOMPLETE; k++)
		r = http_parse_response(&P, "HTTP/1.1 200 OK\r\r\n\n", k, &R,
		    &e);
	CHECK(r == HTTP_ERROR && k == 18 && strstr(e.reason, "bare CR") !=
	    NULL);
}

/*
 * Header lines
 */

static void
test_bad_header_lines(void)
{
	/* obs-fold, after the status line or after a field. */
	REFUSE(OK11 "X-A: 1" CRLF " folded" CRLF CRLF, "folded");
	REFUSE(OK11 "X-A: 1" CRLF "\tfolded" CRLF CRLF, "folded");
	REFUSE(OK11 " X-A: 1" CRLF CRLF, "folded");
	REFUSE(OK11 "\tX-A: 1" CRLF CRLF, "folded");
	REFUSE(OK11 " " CRLF CRLF, "folded");
	/* Empty names, names that are not tokens. */
	REFUSE(OK11 ": 1" CRLF CRLF, "header line");
	REFUSE(OK11 ":" CRLF CRLF, "header line");
	REFUSE(OK11 "X(A): 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X\"A\": 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X/A: 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X@A: 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X\x80: 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X\x7f: 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X\x01: 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X\0A: 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X A: 1" CRLF CRLF, "header line");
	/* Whitespace before the colon. */
	REFUSE(OK11 "X-A : 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X-A\t: 1" CRLF CRLF, "header line");
	REFUSE(OK11 "Content-Length : 1" CRLF CRLF, "header line");
	/* No colon. */
	REFUSE(OK11 "X-A" CRLF CRLF, "header line");
	REFUSE(OK11 "X-A 1" CRLF CRLF, "header line");
	REFUSE(OK11 "X-A=1" CRLF CRLF, "header line");
	/* A control byte but HTAB in the value. */
	REFUSE(OK11 "X-A: a\x01" CRLF CRLF, "header value");
	REFUSE(OK11 "X-A: \x1f" CRLF CRLF, "header value");
	REFUSE(OK11 "X-A: a\x7f" CRLF CRLF, "header value");
	REFUSE(OK11 "X-A: \x1b[31m" CRLF CRLF, "header value");
	REFUSE(OK11 "X-A: \x0b" CRLF CRLF, "header value");
	REFUSE(OK11 "X-A: \x0c" CRLF CRLF, "header value");
	REFUSE(OK11 "X-A: a\0b" CRLF CRLF, "header value");
	/* In a framing field too. */
	REFUSE(OK11 "Connection: close\x01" CRLF CRLF, "header value");
}

static void
test_header_values(void)
{
	static const char msg[] = OK11 "X-A:  a b \t" CRLF "X-B:" CRLF
	    "X-C:\t \t" CRLF "x-lower:v" CRLF "X-Obs: caf\xc3\xa9 \x80\xff"
	    CRLF "X-Tab: a\tb" CRLF "Accept-Ranges: a" CRLF
	    "accept-ranges: b" CRLF CRLF "body";
	const struct http_response *r;

	r = ACCEPT(msg);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(r->len == sizeof(msg) - 1 - 4);
	CHECK(r->nheaders == 8);
	if (r->nheaders != 8)
		return;
	/* Names as sent, values OWS-stripped, all slices into msg. */
	CHECK(r->headers[0].name.p == msg + 17);
	CHECK(r->headers[0].name.len == 3);
	CHECK(r->headers[0].value.p == msg + 17 + 6);
	CHECK(r->headers[0].value.len == 3);
	CHECK_STR(sl(&r->headers[0].value), "a b");
	/* Empty values: present, not NULL, inside the line. */
	CHECK_STR(sl(&r->headers[1].name), "X-B");
	CHECK(r->headers[1].value.p != NULL && r->headers[1].value.len == 0);
	CHECK(r->headers[1].value.p >= msg &&
	    r->headers[1].value.p <= msg + r->len);
	CHECK_STR(sl(&r->headers[2].name), "X-C");
	CHECK(r->headers[2].value.p != NULL && r->headers[2].value.len == 0);
	CHECK_STR(sl(&r->headers[3].name), "x-lower");
	CHECK_STR(sl(&r->headers[3].value), "v");
	CHECK_STR(sl(&r->headers[4].value), "caf\xc3\xa9 \x80\xff");
	CHECK_STR(sl(&r->headers[5].value), "a\tb");
	/* Other fields may repeat, kept in order. */
	CHECK_STR(sl(&r->headers[6].name), "Accept-Ranges");
	CHECK_STR(sl(&r->headers[6].value), "a");
	CHECK_STR(sl(&r->headers[7].name), "accept-ranges");
	CHECK_STR(sl(&r->headers[7].value), "b");
	CHECK(slices_inside(r, msg));
	/* Every token byte in a name. */
	r = ACCEPT(OK11 "!#$%&'*+-.^_`|~0aZ: x" CRLF CRLF);
	CHECK(r != NULL && r->nheaders == 1);
	if (r != NULL)
		CHECK_STR(sl(&r->headers[0].name), "!#$%&'*+-.^_`|~0aZ");
	/* Framing fields are listed too, their values stripped. */
	r = ACCEPT(OK11 "Content-Length: \t 5 \t" CRLF CRLF "hello");
	CHECK(r != NULL && r->content_length == 5 && r->nheaders == 1);
	if (r != NULL)
		CHECK_STR(sl(&r->headers[0].value), "5");
}

/*
 * Framing
 */

static void
test_content_length(void)
{
	const struct http_response *r;

	r = ACCEPT(OK11 "Content-Length: 42" CRLF CRLF);
	CHECK(r != NULL && r->content_length == 42 && !r->chunked);
	r = ACCEPT(OK11 "content-length: 0" CRLF CRLF);
	CHECK(r != NULL && r->content_length == 0);
	r = ACCEPT(OK11 "CONTENT-LENGTH: 007" CRLF CRLF);
	CHECK(r != NULL && r->content_length == 7);
	r = ACCEPT(OK11 "Content-Length: 9007199254740992" CRLF CRLF);
	CHECK(r != NULL && r->content_length == (int64_t)HTTP_LENGTH_MAX);
	r = ACCEPT(OK11 "Content-Length: 0000000000000042" CRLF CRLF);
	CHECK(r != NULL && r->content_length == 42);
	/*
	 * 1*DIGIT, leading zeros included, worth at most HTTP_LENGTH_MAX:
	 * the count of digits is not a rule of the contract.
	 */
	r = ACCEPT(OK11 "Content-Length: 00000000000000000042" CRLF CRLF);
	CHECK(r != NULL && r->content_length == 42);
	/* Too large. */
	REFUSE(OK11 "Content-Length: 9007199254740993" CRLF CRLF,
	    "Content-Length");
	REFUSE(OK11 "Content-Length: 9999999999999999" CRLF CRLF,
	    "Content-Length");
	REFUSE(OK11 "Content-Length: 18446744073709551616" CRLF CRLF,
	    "Content-Length");
	REFUSE(OK11 "Content-Length: 99999999999999999999999999" CRLF CRLF,
	    "Content-Length");
	/* Not 1*DIGIT: empty, signed, lists, junk. */
	REFUSE(OK11 "Content-Length:" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length:   " CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: -1" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: +1" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: -0" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: 1,1" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: 1, 1" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: 1 1" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: 1a" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: 0x10" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: 1.0" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: 1e3" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: \"1\"" CRLF CRLF, "Content-Length");
	REFUSE(OK11 "Content-Length: \xd9\xa1" CRLF CRLF, "Content-Length");
	/* Two, even equal, in any case. */
	REFUSE(OK11 "Content-Length: 1" CRLF "Content-Length: 1" CRLF CRLF,
	    "two Content-Length");
	REFUSE(OK11 "Content-Length: 1" CRLF "content-length: 2" CRLF CRLF,
	    "two Content-Length");
	REFUSE(OK11 "Content-Length: 1" CRLF "X-A: b" CRLF
	    "CONTENT-LENGTH: 1" CRLF CRLF, "two Content-Length");
	REFUSE("HTTP/1.0 200 OK" CRLF "Content-Length: 0" CRLF
	    "Content-Length: 0" CRLF CRLF, "two Content-Length");
	/* Names that only look like it. */
	r = ACCEPT(OK11 "Content-Length-X: 1" CRLF "X-Content-Length: 2"
	    CRLF "Content-Length: 3" CRLF CRLF);
	CHECK(r != NULL && r->content_length == 3 && r->nheaders == 3);
}

static void
test_transfer_encoding(void)
{
	const struct http_response *r;

	r = ACCEPT(OK11 "Transfer-Encoding: chunked" CRLF CRLF);
	CHECK(r != NULL && r->chunked == 1 && r->content_length == -1);
	r = ACCEPT(OK11 "transfer-encoding:  ChUnKeD \t" CRLF CRLF);
	CHECK(r != NULL && r->chunked == 1);
	r = ACCEPT(OK11 "TRANSFER-ENCODING: CHUNKED" CRLF CRLF);
	CHECK(r != NULL && r->chunked == 1);
	/* Other codings, lists. */
	REFUSE(OK11 "Transfer-Encoding: gzip" CRLF CRLF, "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: identity" CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: gzip, chunked" CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: chunked, gzip" CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: chunked, chunked" CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: chunked," CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: ,chunked" CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: chunked;q=1" CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: chunke" CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: xchunked" CRLF CRLF,
	    "Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding:" CRLF CRLF, "Transfer-Encoding");
	/* Two, even equal. */
	REFUSE(OK11 "Transfer-Encoding: chunked" CRLF
	    "Transfer-Encoding: chunked" CRLF CRLF, "two Transfer-Encoding");
	REFUSE(OK11 "Transfer-Encoding: chunked" CRLF
	    "transfer-encoding: gzip" CRLF CRLF, "Transfer-Encoding");
	/* Both framings, in either order. */
	REFUSE(OK11 "Transfer-Encoding: chunked" CRLF "Content-Length: 3"
	    CRLF CRLF, "both");
	REFUSE(OK11 "Content-Length: 3" CRLF "Transfer-Encoding: chunked"
	    CRLF CRLF, "both");
	REFUSE(OK11 "Content-Length: 0" CRLF "X-A: b" CRLF
	    "Transfer-Encoding: chunked" CRLF CRLF, "both");
	/* chunked in HTTP/1.0. */
	REFUSE("HTTP/1.0 200 OK" CRLF "Transfer-Encoding: chunked" CRLF CRLF,
	    "HTTP/1.0");
	REFUSE("HTTP/1.0 200 OK" CRLF "Transfer-Encoding: gzip" CRLF CRLF,
	    "Transfer-Encoding");
	/* HTTP/1.0 with a length is fine. */
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Content-Length: 2" CRLF CRLF "hi");
	CHECK(r != NULL && r->content_length == 2 && !r->chunked);
}

/*
 * Connection and keep-alive
 */

static void
test_keep_alive(void)
{
	const struct http_response *r;

	/* HTTP/1.1: on unless close is listed. */
	r = ACCEPT(OK11 CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	r = ACCEPT(OK11 "Connection: close" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT(OK11 "Connection: CLOSE" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT(OK11 "Connection: Upgrade, close" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT(OK11 "Connection: keep-alive" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	r = ACCEPT(OK11 "Connection: keep-alive" CRLF "Connection: close"
	    CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT(OK11 "Connection: close, keep-alive" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT(OK11 "Connection: closed" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	r = ACCEPT(OK11 "Connection: x-close" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	r = ACCEPT(OK11 "X-Connection: close" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	/* HTTP/1.0: off unless keep-alive is listed, and close is not. */
	r = ACCEPT("HTTP/1.0 200 OK" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Connection: keep-alive" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Connection: Keep-Alive" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Connection: ,keep-alive , ,"
	    CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Connection: keep-alive, close"
	    CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Connection: close" CRLF
	    "Connection: keep-alive" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Connection: close" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Proxy-Connection: keep-alive"
	    CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	r = ACCEPT("HTTP/1.0 200 OK" CRLF "Connection: keep-alives" CRLF
	    CRLF);
	CHECK(r != NULL && r->keep_alive == 0);
	/* Empty lists are lists. */
	r = ACCEPT(OK11 "Connection:" CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
	r = ACCEPT(OK11 "Connection: , ," CRLF CRLF);
	CHECK(r != NULL && r->keep_alive == 1);
}

static void
test_bad_connection(void)
{
	REFUSE(OK11 "Connection: close;x" CRLF CRLF, "Connection");
	REFUSE(OK11 "Connection: \"close\"" CRLF CRLF, "Connection");
	REFUSE(OK11 "Connection: close/1" CRLF CRLF, "Connection");
	REFUSE(OK11 "Connection: a@b" CRLF CRLF, "Connection");
	REFUSE(OK11 "Connection: close=1" CRLF CRLF, "Connection");
	REFUSE(OK11 "Connection: (close)" CRLF CRLF, "Connection");
	REFUSE(OK11 "Connection: clos\xc3\xa9" CRLF CRLF, "Connection");
	/*
	 * Two tokens with only whitespace between them are not a list:
	 * elements are separated by commas (RFC 9110 5.6.1), and the
	 * request parser refuses this very value.
	 */
	REFUSE(OK11 "Connection: close keep-alive" CRLF CRLF, "Connection");
}

/*
 * Limits
 */

/* A head "HTTP/1.1 200 OK", one "X-Fill: aaa" line, CRLF: n bytes. */
static size_t
fill_head(size_t n)
{
	size_t fill = n - 17 - 2;

	memcpy(big, OK11, 17);
	memcpy(big + 17, "X-Fill: ", 8);
	memset(big + 25, 'a', fill - 8 - 2);
	memcpy(big + 17 + fill - 2, CRLF CRLF, 4);
	return n;
}

static void
test_head_limit(void)
{
	const struct http_response *r;
	struct http_error e;
	size_t n;

	/* Exactly HTTP_RESP_HEAD_MAX: fine, even as one long line. */
	n = fill_head(HTTP_RESP_HEAD_MAX);
	r = accepted_n(big, n, __LINE__);
	CHECK(r != NULL && r->len == HTTP_RESP_HEAD_MAX && r->nheaders == 1);
	/* With a body after it, len past the maximum. */
	memset(big + n, 'b', 1000);
	r = accepted_n(big, n + 1000, __LINE__);
	CHECK(r != NULL && r->len == HTTP_RESP_HEAD_MAX);
	/* One byte more: refused. */
	n = fill_head(HTTP_RESP_HEAD_MAX + 1);
	REFUSE_N(big, n, "too long");
	/* Known as soon as len reaches the maximum, before the end. */
	http_resp_init(&P);
	CHECK(http_parse_response(&P, big, HTTP_RESP_HEAD_MAX - 1, &R, &e) ==
	    HTTP_INCOMPLETE);
	CHECK(http_parse_response(&P, big, HTTP_RESP_HEAD_MAX, &R, &e) ==
	    HTTP_ERROR && e.status == 502);
	CHECK(http_parse_response(&P, big, n, &R, &e) == HTTP_ERROR);
	http_resp_init(&P);
	CHECK(http_parse_response(&P, big, HTTP_RESP_HEAD_MAX, &R, &e) ==
	    HTTP_ERROR && e.status == 502);
	/* The head's end straddling the maximum: too long. */
	n = fill_head(HTTP_RESP_HEAD_MAX + 2);
	http_resp_init(&P);
	CHECK(http_parse_response(&P, big, HTTP_RESP_HEAD_MAX, &R, &e) ==
	    HTTP_ERROR && e.status == 502);
	/* No end at all, fed in large pieces. */
	memset(big, 'a', sizeof(big));
	memcpy(big, OK11, 17);
	http_resp_init(&P);
	CHECK(http_parse_response(&P, big, 30000, &R, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_response(&P, big, 60000, &R, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_response(&P, big, HTTP_RESP_HEAD_MAX - 1, &R, &e) ==
	    HTTP_INCOMPLETE);
	CHECK(http_parse_response(&P, big, sizeof(big), &R, &e) ==
	    HTTP_ERROR && e.status == 502);
	/* All at once, far past the maximum. */
	http_resp_init(&P);
	CHECK(http_parse_response(&P, big, sizeof(big), &R, &e) ==
	    HTTP_ERROR && e.status == 502);
	/* Byte by byte: the answer comes at exactly the maximum. */
	http_resp_init(&P);
	for (n = 0; n < sizeof(big); n++)
		if (http_parse_response(&P, big, n, &R, &e) !=
		    HTTP_INCOMPLETE)
			break;
	CHECK(n == HTTP_RESP_HEAD_MAX);
}

/* A head with n lines "X-Hnnn: v" after the status line. */
static size_t
many_headers(size_t n)
{
	size_t i, len;

	len = (size_t)snprintf(big, sizeof(big), OK11);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len,
		    "X-H%zu: v%zu" CRLF, i, i);
	memcpy(big + len, CRLF, 2);
	return len + 2;
}

static void
test_header_count(void)
{
	const struct http_response *r;
	size_t n;

	n = many_headers(HTTP_RESP_HEADERS_MAX);
	r = accepted_n(big, n, __LINE__);
	CHECK(r != NULL && r->nheaders == HTTP_RESP_HEADERS_MAX);
	if (r != NULL) {
		CHECK_STR(sl(&r->headers[0].name), "X-H0");
		CHECK_STR(sl(&r->headers[HTTP_RESP_HEADERS_MAX - 1].value),
		    "v199");
	}
	n = many_headers(HTTP_RESP_HEADERS_MAX + 1);
	REFUSE_N(big, n, "too many");
	n = many_headers(HTTP_RESP_HEADERS_MAX * 3);
	REFUSE_N(big, n, "too many");
}

/*
 * What follows the head; 1xx; has_body
 */

static void
test_body_after_head(void)
{
	static const char msg[] = OK11 "Content-Type: application/json"
	    CRLF "Content-Length: 16" CRLF CRLF "{\"a\":\"\r\n\r\n\"}\r\n\r\n";
	static const char cont[] = "HTTP/1.1 100 Continue" CRLF CRLF
	    OK11 "Content-Length: 2" CRLF CRLF "hi";
	static const char early[] = "HTTP/1.1 103 Early Hints" CRLF
	    "Link: </style.css>; rel=preload; as=style" CRLF CRLF
	    "HTTP/1.1 204 No Content" CRLF CRLF;
	static const char junk[] = OK11 CRLF "garbage\r\r\n\n\0\x7f";
	const struct http_response *r;
	struct http_error e;
	size_t n;

	r = ACCEPT(msg);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(r->len == 17 + 32 + 20 + 2);
		CHECK(memcmp(msg + r->len, "{\"a\"", 4) == 0);
		CHECK(r->content_length == 16);
		CHECK(r->len + 16 == sizeof(msg) - 1);
	}
	/* A 1xx is a head; the next one is parsed afresh after it. */
	r = ACCEPT(cont);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(r->status == 100 && r->len == 25 && r->nheaders == 0);
	CHECK(!http_resp_has_body(r, 0));
	n = r->len;
	r = accepted_n(cont + n, sizeof(cont) - 1 - n, __LINE__);
	CHECK(r != NULL && r->status == 200 && r->content_length == 2);
	CHECK(r != NULL && http_resp_has_body(r, 0));
	r = ACCEPT(early);
	CHECK(r != NULL && r->status == 103 && r->nheaders == 1);
	if (r == NULL)
		return;
	CHECK_STR(sl(&r->headers[0].value),
	    "</style.css>; rel=preload; as=style");
	n = r->len;
	r = accepted_n(early + n, sizeof(early) - 1 - n, __LINE__);
	CHECK(r != NULL && r->status == 204 && r->len == 27);
	/* A 101's head, then bytes of another protocol. */
	r = ACCEPT("HTTP/1.1 101 Switching Protocols" CRLF
	    "Upgrade: websocket" CRLF "Connection: Upgrade" CRLF CRLF
	    "\x81\x05hello");
	CHECK(r != NULL && r->status == 101 && r->keep_alive == 1);
	/* The parser stops at the first head: what follows is not read. */
	http_resp_init(&P);
	CHECK(http_parse_response(&P, junk, sizeof(junk) - 1, &R, &e) ==
	    HTTP_OK && R.len == 19);
}

static struct http_response *
status(int code)
{
	memset(&S, 0, sizeof(S));
	S.version = 11;
	S.status = code;
	S.content_length = -1;
	return &S;
}

static void
test_has_body(void)
{
	static const int none[] = { 100, 101, 102, 103, 199, 204, 304 };
	static const int some[] = { 200, 201, 202, 203, 205, 206, 299, 300,
	    301, 302, 303, 305, 307, 308, 400, 401, 403, 404, 409, 422, 429,
	    500, 502, 503, 599 };
	const struct http_response *r;
	size_t i;

	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		CHECK(http_resp_has_body(status(none[i]), 0) == 0);
		CHECK(http_resp_has_body(status(none[i]), 1) == 0);
	}
	for (i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
		CHECK(http_resp_has_body(status(some[i]), 0) != 0);
		/* Never for a HEAD. */
		CHECK(http_resp_has_body(status(some[i]), 1) == 0);
	}
	/* Framing fields do not change the answer. */
	r = ACCEPT("HTTP/1.1 304 Not Modified" CRLF "ETag: \"x\"" CRLF
	    "Content-Length: 1234" CRLF CRLF);
	CHECK(r != NULL && r->content_length == 1234);
	CHECK(r != NULL && !http_resp_has_body(r, 0));
	r = ACCEPT("HTTP/1.1 204 No Content" CRLF
	    "Transfer-Encoding: chunked" CRLF CRLF);
	CHECK(r != NULL && r->chunked && !http_resp_has_body(r, 0));
	r = ACCEPT(OK11 "Content-Length: 1234" CRLF CRLF);
	CHECK(r != NULL && http_resp_has_body(r, 0));
	CHECK(r != NULL && !http_resp_has_body(r, 1));
	/* No framing at all: a body to the end of the connection. */
	r = ACCEPT("HTTP/1.0 200 OK" CRLF CRLF "until close");
	CHECK(r != NULL && http_resp_has_body(r, 0) &&
	    r->content_length == -1 && !r->chunked);
}

/*
 * Sticky errors, reuse of resp, incremental feeding
 */

static void
test_sticky(void)
{
	struct http_error e;
	const char *why;

	http_resp_init(&P);
	CHECK(http_parse_response(&P, "HTTP/1.1 999 X" CRLF CRLF, 18, &R,
	    &e) == HTTP_ERROR && e.status == 502 && e.reason != NULL);
	why = e.reason;
	memset(&e, 0, sizeof(e));
	CHECK(http_parse_response(&P, OK11 CRLF, 19, &R, &e) == HTTP_ERROR &&
	    e.status == 502 && e.reason == why);
	memset(&e, 0, sizeof(e));
	CHECK(http_parse_response(&P, "", 0, &R, &e) == HTTP_ERROR &&
	    e.status == 502 && e.reason == why);
	CHECK(http_parse_response(&P, NULL, 0, &R, &e) == HTTP_ERROR);
	/* A fresh init forgets it. */
	http_resp_init(&P);
	CHECK(http_parse_response(&P, OK11 CRLF, 19, &R, &e) == HTTP_OK);
	/* The too-long refusal sticks too. */
	memset(big, 'a', HTTP_RESP_HEAD_MAX);
	http_resp_init(&P);
	CHECK(http_parse_response(&P, big, HTTP_RESP_HEAD_MAX, &R, &e) ==
	    HTTP_ERROR);
	why = e.reason;
	CHECK(http_parse_response(&P, OK11 CRLF, 19, &R, &e) == HTTP_ERROR &&
	    e.reason == why);
}

static void
test_resp_reused(void)
{
	static const char chunked[] = OK11 "Transfer-Encoding: chunked" CRLF
	    "Connection: close" CRLF "X-A: 1" CRLF CRLF;
	static const char plain[] = "HTTP/1.0 404 Not Found" CRLF CRLF;
	struct http_error e;

	/* A response struct reused: nothing of the last head stays. */
	http_resp_init(&P);
	CHECK(http_parse_response(&P, chunked, sizeof(chunked) - 1, &R, &e) ==
	    HTTP_OK && R.chunked && R.nheaders == 3 && !R.keep_alive);
	http_resp_init(&P);
	CHECK(http_parse_response(&P, plain, sizeof(plain) - 1, &R, &e) ==
	    HTTP_OK);
	CHECK(R.status == 404 && R.version == 10 && R.chunked == 0);
	CHECK(R.content_length == -1 && R.nheaders == 0 && R.keep_alive == 0);
	CHECK(R.len == sizeof(plain) - 1);
	/* Nor of a refused one. */
	memset(&R, 0xa5, sizeof(R));
	http_resp_init(&P);
	CHECK(http_parse_response(&P, plain, sizeof(plain) - 1, &R, &e) ==
	    HTTP_OK);
	CHECK(R.status == 404 && R.content_length == -1 && R.nheaders == 0 &&
	    R.chunked == 0 && R.keep_alive == 0);
}

static void
test_incremental(void)
{
	static const char msg[] = OK11 "Content-Type: text/plain" CRLF
	    "Content-Length: 5" CRLF CRLF "hello";
	static const char cr[] = OK11 "X: a\r\n\r\r\n\r\n";
	struct http_error e;
	char *a, *b;
	size_t n = sizeof(msg) - 1, hl = n - 5, k;

	/* The end split across two calls at each of its bytes. */
	for (k = 1; k <= 4; k++) {
		http_resp_init(&P);
		CHECK(http_parse_response(&P, msg, hl - k, &R, &e) ==
		    HTTP_INCOMPLETE);
		CHECK(http_parse_response(&P, msg, hl, &R, &e) == HTTP_OK &&
		    R.len == hl && R.content_length == 5);
	}
	/* "\r\n\r" in one buffer, then "\n" in another that moved. */
	a = malloc(hl - 1);
	b = malloc(n);
	if (a == NULL || b == NULL)
		abort();
	memcpy(a, msg, hl - 1);
	memcpy(b, msg, n);
	http_resp_init(&P);
	CHECK(http_parse_response(&P, a, hl - 1, &R, &e) == HTTP_INCOMPLETE);
	free(a);
	CHECK(http_parse_response(&P, b, n, &R, &e) == HTTP_OK);
	CHECK(R.len == hl && R.nheaders == 2 && slices_inside(&R, b));
	if (R.nheaders == 2) {
		CHECK(R.headers[1].name.p == b + 43);
		CHECK(R.headers[1].value.p == b + 59);
	}
	free(b);
	/* The same len twice, then more. */
	http_resp_init(&P);
	CHECK(http_parse_response(&P, msg, 30, &R, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_response(&P, msg, 30, &R, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_response(&P, msg, n, &R, &e) == HTTP_OK &&
	    R.len == hl);
	/* "\r\n\r" then "\r": no end, and the second CR is refused. */
	http_resp_init(&P);
	CHECK(http_parse_response(&P, cr, 24, &R, &e) == HTTP_INCOMPLETE);
	CHECK(http_parse_response(&P, cr, 25, &R, &e) == HTTP_ERROR &&
	    strstr(e.reason, "bare CR") != NULL);
}

/*
 * Real responses
 */

static const char gh_user[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: GitHub.com\r\n"
    "Date: Tue, 04 Jun 2024 10:00:00 GMT\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 26\r\n"
    "Cache-Control: private, max-age=60, s-maxage=60\r\n"
    "Vary: Accept, Authorization, Cookie, X-GitHub-OTP\r\n"
    "ETag: \"8f4b1c0e5f6a7d9e0b1c2d3e4f5a6b7c\"\r\n"
    "Last-Modified: Mon, 03 Jun 2024 09:00:00 GMT\r\n"
    "X-OAuth-Scopes: repo, read:org\r\n"
    "X-Accepted-OAuth-Scopes: \r\n"
    "github-authentication-token-expiration: 2024-07-01 00:00:00 UTC\r\n"
    "X-GitHub-Media-Type: github.v3; format=json\r\n"
    "x-github-api-version-selected: 2022-11-28\r\n"
    "X-RateLimit-Limit: 5000\r\n"
    "X-RateLimit-Remaining: 4999\r\n"
    "X-RateLimit-Reset: 1717498800\r\n"
    "X-RateLimit-Used: 1\r\n"
    "X-RateLimit-Resource: core\r\n"
    "Access-Control-Expose-Headers: ETag, Link, Location, Retry-After\r\n"
    "Access-Control-Allow-Origin: *\r\n"
    "Strict-Transport-Security: max-age=31536000; includeSubdomains; "
    "preload\r\n"
    "X-Frame-Options: deny\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-XSS-Protection: 0\r\n"
    "Referrer-Policy: origin-when-cross-origin, "
    "strict-origin-when-cross-origin\r\n"
    "Content-Security-Policy: default-src 'none'\r\n"
    "X-GitHub-Request-Id: C0DE:1A2B:3C4D5E:6F7A8B:665EE4A0\r\n"
    "\r\n"
    "{\"login\":\"octocat\",\"id\":1}";

static const char gh_list[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: GitHub.com\r\n"
    "Date: Tue, 04 Jun 2024 10:00:01 GMT\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Link: <https://api.github.com/repositories/1/issues?page=2>; "
    "rel=\"next\", <https://api.github.com/repositories/1/issues?page=9>;"
    " rel=\"last\"\r\n"
    "X-RateLimit-Limit: 5000\r\n"
    "X-GitHub-Request-Id: C0DE:1A2B:3C4D5E:6F7A8B:665EE4A1\r\n"
    "\r\n"
    "2\r\n[]\r\n0\r\n\r\n";

static void
test_real_responses(void)
{
	const struct http_response *r;
	struct http_chunked c;
	struct http_error e;
	struct http_str d;
	size_t used;

	r = ACCEPT(gh_user);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(r->status == 200 && r->version == 11);
		CHECK(r->content_length == 26 && !r->chunked);
		CHECK(r->keep_alive == 1 && r->nheaders == 27);
		CHECK(r->len + 26 == sizeof(gh_user) - 1);
		CHECK_STR(sl(&r->headers[9].name), "X-Accepted-OAuth-Scopes");
		CHECK(r->headers[9].value.len == 0);
		CHECK_STR(sl(&r->headers[26].value),
		    "C0DE:1A2B:3C4D5E:6F7A8B:665EE4A0");
		CHECK(http_resp_has_body(r, 0));
	}
	r = ACCEPT(gh_list);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(r->chunked && r->content_length == -1 && r->nheaders == 7);
	CHECK(http_resp_has_body(r, 0));
	/* The body goes to the chunked decoder. */
	http_chunked_init(&c, 1 << 20);
	CHECK(http_chunked_decode(&c, gh_list + r->len, sizeof(gh_list) - 1 -
	    r->len, &used, &d, &e) == HTTP_DATA && d.len == 2 &&
	    memcmp(d.p, "[]", 2) == 0);
	r = ACCEPT("HTTP/1.1 304 Not Modified\r\n"
	    "Server: GitHub.com\r\n"
	    "Date: Tue, 04 Jun 2024 10:00:02 GMT\r\n"
	    "ETag: \"8f4b1c0e5f6a7d9e0b1c2d3e4f5a6b7c\"\r\n"
	    "X-RateLimit-Remaining: 4998\r\n"
	    "X-GitHub-Request-Id: C0DE:1A2B:3C4D5E:6F7A8B:665EE4A2\r\n\r\n");
	CHECK(r != NULL && r->status == 304 && !http_resp_has_body(r, 0));
	r = ACCEPT("HTTP/1.1 401 Unauthorized\r\n"
	    "Server: GitHub.com\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: 80\r\n"
	    "WWW-Authenticate: Bearer realm=\"GitHub\"\r\n"
	    "X-GitHub-SSO: required; url=https://github.com/orgs/o/sso?"
	    "authorization_request=AB\xc3\xa9\r\n"
	    "Connection: close\r\n\r\n");
	CHECK(r != NULL && r->status == 401 && r->content_length == 80 &&
	    r->keep_alive == 0);
}

int
main(void)
{
	UNIT_RUN(test_status_lines);
	UNIT_RUN(test_bad_status_lines);
	UNIT_RUN(test_line_ends);
	UNIT_RUN(test_bad_header_lines);
	UNIT_RUN(test_header_values);
	UNIT_RUN(test_content_length);
	UNIT_RUN(test_transfer_encoding);
	UNIT_RUN(test_keep_alive);
	UNIT_RUN(test_bad_connection);
	UNIT_RUN(test_head_limit);
	UNIT_RUN(test_header_count);
	UNIT_RUN(test_body_after_head);
	UNIT_RUN(test_has_body);
	UNIT_RUN(test_sticky);
	UNIT_RUN(test_resp_reused);
	UNIT_RUN(test_incremental);
	UNIT_RUN(test_real_responses);
	return UNIT_DONE("test_http_resp");
}
