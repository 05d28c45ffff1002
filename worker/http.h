/*
 * http.h: a strict HTTP/1.1 request-head parser and chunked-body decoder.
 *
 * Pure code over byte buffers: no sockets, no libevent, no allocation, no
 * recursion, every loop bounded by its input.  ghp is a security boundary
 * in front of GitHub, so anything RFC 9110/9112 does not clearly allow is
 * refused with the status to answer and a short reason for the log; the
 * parser never guesses what a sender meant.
 *
 * Results: every entry point returns one of
 *	HTTP_OK		complete (the head, or the whole chunked body)
 *	HTTP_INCOMPLETE	need more bytes; call again with more
 *	HTTP_DATA	(chunked decoder only) a slice of body data is ready
 *	HTTP_ERROR	refused: err->status is the status to answer (400,
 *			413, 414, 417, 431, 501, 505), err->reason a static
 *			string for the log.  The connection must be closed
 *			after the answer: what follows cannot be framed.
 * Errors are sticky: calling again returns the same error.
 *
 * The request head
 * ----------------
 * http_parser_init(p), then http_parse_head(p, buf, len, &err) each time
 * bytes arrive, with buf holding every byte received so far (the head
 * starts at buf[0]).  The parser remembers how far it got, so feeding a
 * head byte by byte costs linear time.  buf may move between calls (a
 * realloc, an evbuffer_pullup): the parser notices a new address and
 * starts over.  Its first bytes must not change.  On HTTP_OK, p->head is
 * the parsed head and p->head.len the bytes it took, up to and including
 * the empty line; bytes after that (a body, a pipelined request) are not
 * looked at.  The slices in p->head point into buf: they are valid while
 * buf is.  Parse the next pipelined request with a fresh
 * http_parser_init() on the bytes after the body.
 *
 * The caller enforces the size limit too, but need not count: the parser
 * never answers HTTP_INCOMPLETE with len at or above HTTP_HEAD_MAX, so a
 * caller that reads at most HTTP_HEAD_MAX bytes always gets an answer.
 *
 * What is refused, and with what:
 *   400  the request line:
 *	  - not exactly "method SP target SP HTTP/d.d" CRLF: no extra
 *	    spaces, no other whitespace;
 *	  - a method that is not a token;
 *	  - an empty target, or one with a byte outside RFC 3986 (controls,
 *	    space, DEL, non-ASCII, '"', '<', '>', '\\', '^', '`', '{', '|',
 *	    '}', '#' as a fragment, '[' or ']' outside an IPv6 literal), or
 *	    a '%' not followed by two hex digits;
 *	  - a target form the method may not use (see below);
 *	  - an absolute-form scheme other than http or https (any case);
 *	  - an authority (absolute-form, authority-form, Host) that is not
 *	    host[:port]: userinfo ("user@") is refused, a host is a name of
 *	    letters, digits, '-', '.', '_' (at most 255 bytes) or an IPv6
 *	    literal, a port is 1 to 5 digits worth 1..65535;
 *	  - a version that is not "HTTP/" DIGIT "." DIGIT.
 *	  the head:
 *	  - a bare LF or a bare CR anywhere: lines end in CRLF;
 *	  - more than one empty line before the request line;
 *	  - a header line starting with SP or HTAB (obs-fold);
 *	  - a header name that is empty or not a token, whitespace before
 *	    the colon, a line without a colon;
 *	  - a control byte but HTAB (NUL and DEL included) in a value;
 *	  - a second Host, Content-Length, Transfer-Encoding, Authorization
 *	    or Proxy-Authorization, even with the same value;
 *	  - no Host in HTTP/1.1, an empty Host;
 *	  - a Content-Length that is not 1*DIGIT (no sign, list or junk;
 *	    leading zeros are fine) or that is above HTTP_LENGTH_MAX;
 *	  - a Transfer-Encoding other than "chunked" (any case): no lists,
 *	    no other codings; any Transfer-Encoding in HTTP/1.0;
 *	  - both Content-Length and Transfer-Encoding;
 *	  - a Connection value that is not a list of tokens;
 *	  - an empty Authorization or Proxy-Authorization.
 *	  Other fields may repeat: they are kept in order, the caller
 *	  decides.
 *   414  a request line longer than HTTP_REQLINE_MAX (only the target can
 *	  make it so: methods are short and the version fixed).
 *   417  an Expect other than "100-continue" (any case).
 *   431  a head longer than HTTP_HEAD_MAX; a header line longer than
 *	  HTTP_LINE_MAX; more than HTTP_HEADERS_MAX header lines.
 *   501  a method longer than HTTP_METHOD_MAX (RFC 9112 section 3:
 *	  longer than any method implemented); known as soon as
 *	  HTTP_METHOD_MAX + 1 token bytes are in.  Unknown methods of a sane
 *	  length are not refused here: the caller decides.
 *   505  a well-formed version other than HTTP/1.0 and HTTP/1.1
 *	  (HTTP/2.0, the h2 preface "PRI * HTTP/2.0", HTTP/0.9, HTTP/1.2).
 * The over-long line and head are refused as soon as they are known to
 * be, before their end arrives.  413 for a Content-Length over the
 * caller's body limit is the caller's: content_length says how long.
 *
 * One empty line (CRLF) before the request line is skipped, as RFC 9112
 * section 2.2 suggests (a client may send one after a POST body); it
 * counts in head.len.  A second one is a 400.
 *
 * Target forms (RFC 9112 section 3.2):
 *   origin-form	"/path?query": any method but CONNECT.  path is the
 *			target.
 *   absolute-form	"http://host[:port]/path?query": any method but
 *			CONNECT.  scheme, authority, host, port and path are
 *			set; a missing path ("http://host") reads "/", a
 *			query without a path ("http://host?q") is a 400.
 *			Which hosts to serve is the caller's decision: RFC
 *			9112 says the target's authority wins over Host.
 *   authority-form	"host:port": CONNECT only, and CONNECT only
 *			takes this form.  authority, host and port are set.
 *   asterisk-form	"*": OPTIONS only.
 * Nothing is decoded or normalised: path keeps its '%' escapes and dot
 * segments as sent, host its case.  Match paths on the raw bytes.
 *
 * Header values have leading and trailing OWS stripped; bytes 0x80-0xff
 * (obs-text) are allowed and passed on raw.
 *
 * Keep-alive: HTTP/1.1 keeps the connection unless Connection lists
 * "close"; HTTP/1.0 closes it unless Connection lists "keep-alive" (and
 * not "close").  expect_continue is never set for HTTP/1.0 (RFC 9110
 * section 10.1.1: such an expectation is ignored).
 *
 * The chunked body
 * ----------------
 * http_chunked_init(c, limit), then http_chunked_decode(c, in, len, &used,
 * &data, &err) on the bytes after the head, as they arrive.  It consumes
 * used bytes of in (drop them) and returns HTTP_DATA with data pointing
 * at body bytes inside in (the last data.len of the used ones; forward
 * them, nothing is buffered), HTTP_INCOMPLETE after consuming all of in,
 * or HTTP_OK when the last chunk, the trailers and the final CRLF are
 * through: used then stops right after that CRLF, where a pipelined
 * request would begin.  Refused (sticky, like the head):
 *   400  a chunk size that is not 1*HEXDIG, longer than 16 digits or
 *	  above HTTP_CHUNK_MAX; whitespace after the size with no extension;
 *	  a chunk extension that is malformed or longer than
 *	  HTTP_CHUNK_EXT_MAX bytes (well-formed ones are ignored); data not
 *	  followed by CRLF; a bare LF or CR; a malformed trailer line (the
 *	  header rules above).
 *   413  the body would exceed the limit given to http_chunked_init().
 *   431  the trailer section is longer than HTTP_TRAILER_MAX.
 * Trailers are checked and dropped, never exposed.
 *
 * The response head
 * -----------------
 * What an upstream answers is hostile input too.  http_resp_init(p),
 * then http_parse_response(p, buf, len, &resp, &err) as bytes arrive,
 * with buf holding every byte received so far (it may move between
 * calls; its first bytes must not change).  The end of the head is
 * looked for from where the last call stopped.  HTTP_OK: resp is the
 * head, resp.len the bytes it took (the body follows); its slices
 * point into buf.  A 1xx head is a head like any other: the caller skips
 * it and parses the next with a fresh http_resp_init().  HTTP_ERROR
 * (sticky): err.status is 502 and err.reason says why:
 *   - not "HTTP/1.0" or "HTTP/1.1", SP, three digits worth 100..599,
 *     then nothing or SP and a reason of field bytes;
 *   - a bare CR or LF (as soon as it arrives, before the head's end),
 *     a folded line (obs-fold), a header name that is
 *     empty or not a token, a line without a colon, a control byte but
 *     HTAB in a value;
 *   - a second Content-Length or Transfer-Encoding, a Content-Length
 *     that is not 1*DIGIT or is above HTTP_LENGTH_MAX, a
 *     Transfer-Encoding other than "chunked", both, or chunked in
 *     HTTP/1.0; a Connection that is not a comma-separated list of
 *     tokens;
 *   - a head longer than HTTP_RESP_HEAD_MAX (known before its end), more
 *     than HTTP_RESP_HEADERS_MAX header lines.
 * keep_alive follows the rules for requests above.  Whether a body
 * follows is http_resp_has_body()'s answer (not for HEAD, 1xx, 204,
 * 304); its framing is chunked, else content_length, else the end of
 * the connection.
 */
#ifndef GHP_HTTP_H
#define GHP_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Limits.  Line lengths do not count the CRLF; the head's does. */
#define HTTP_HEAD_MAX		(16 * 1024)	/* the head: 431 */
#define HTTP_REQLINE_MAX	(8 * 1024)	/* request line: 414 */
#define HTTP_LINE_MAX		(8 * 1024)	/* a header line: 431 */
#define HTTP_HEADERS_MAX	100		/* header lines: 431 */
#define HTTP_METHOD_MAX		32		/* method bytes: 501 */
#define HTTP_LENGTH_MAX		(UINT64_C(1) << 53) /* Content-Length */
#define HTTP_CHUNK_MAX		(UINT64_C(1) << 40) /* a chunk's size */
#define HTTP_CHUNK_DIGITS	16		/* its hex digits, 0s too */
#define HTTP_CHUNK_EXT_MAX	256		/* its extensions' bytes */
#define HTTP_TRAILER_MAX	(8 * 1024)	/* trailers with CRLFs */

enum http_result {
	HTTP_ERROR = -1,
	HTTP_INCOMPLETE = 0,
	HTTP_OK = 1,
	HTTP_DATA = 2
};

struct http_error {
	int		 status;	/* HTTP status to answer */
	const char	*reason;	/* static, for the log */
};

/* Bytes inside the caller's buffer (or a static string); no NUL. */
struct http_str {
	const char	*p;		/* NULL when absent */
	size_t		 len;
};

enum http_form {
	HTTP_FORM_ORIGIN,		/* /path?query */
	HTTP_FORM_ABSOLUTE,		/* http://host[:port]/path?query */
	HTTP_FORM_AUTHORITY,		/* host:port, CONNECT */
	HTTP_FORM_ASTERISK		/* *, OPTIONS */
};

struct http_header {
	struct http_str	 name;	/* as sent; compare without case */
	struct http_str	 value;	/* OWS stripped, may be empty */
};

struct http_head {
	size_t		 len;		/* bytes the head took */

	struct http_str	 method;	/* a token, case kept */
	struct http_str	 target;	/* as sent */
	int		 version;	/* 10 or 11 */
	enum http_form	 form;
	struct http_str	 scheme;	/* absolute: "http", "https" */
	struct http_str	 authority;	/* absolute, authority */
	struct http_str	 host;		/* its host part */
	int		 port;		/* its port; -1: absent */
	struct http_str	 path;		/* origin, absolute */

	struct http_header headers[HTTP_HEADERS_MAX];
	size_t		 nheaders;

	struct http_str	 host_header;	/* p NULL: absent */
	int64_t		 content_length;	/* -1: absent */
	int		 chunked;	/* Transfer-Encoding: chunked */
	int		 keep_alive;
	int		 expect_continue;
	struct http_str	 authorization;	/* p NULL: absent */
	struct http_str	 proxy_authorization;
};

struct http_parser {
	struct http_head head;		/* valid after HTTP_OK */
	/* Private. */
	uintptr_t	 base;		/* buf of the last call */
	size_t		 off;		/* the line being read */
	size_t		 scan;		/* no LF in [off, scan) */
	int		 state;
	unsigned int	 seen;
	struct http_error err;
};

void	 http_parser_init(struct http_parser *);
int	 http_parse_head(struct http_parser *, const char *, size_t,
	    struct http_error *);

/*
 * Checks that s[0..len) is host[:port] as the parser accepts it, and
 * splits it: host (a name or a bracketed IPv6 literal), port (-1 when
 * absent).  Returns 0, or -1 with *reason set.  For comparing Host with
 * an absolute-form authority.  Any pointer argument may be NULL.
 */
int	 http_split_authority(const char *, size_t, struct http_str *, int *,
	    const char **);

/* Case-insensitive (ASCII) comparison of a slice with a C string. */
int	 http_str_ieq(const struct http_str *, const char *);

struct http_chunked {
	uint64_t	 total;		/* body bytes so far */
	/* Private. */
	uint64_t	 limit;
	uint64_t	 size;		/* chunk size, then bytes left */
	unsigned int	 digits;
	size_t		 extlen;
	size_t		 trlen;
	int		 state;
	struct http_error err;
};

/* limit: the most body bytes to accept; more is a 413. */
void	 http_chunked_init(struct http_chunked *, uint64_t);
int	 http_chunked_decode(struct http_chunked *, const char *, size_t,
	    size_t *, struct http_str *, struct http_error *);

#define HTTP_RESP_HEAD_MAX	(64 * 1024)	/* a response's head */
#define HTTP_RESP_HEADERS_MAX	200

struct http_response {
	size_t		 len;		/* bytes the head took */
	int		 version;	/* 10 or 11 */
	int		 status;	/* 100..599 */
	int64_t		 content_length;	/* -1: absent */
	int		 chunked;
	int		 keep_alive;
	struct http_header headers[HTTP_RESP_HEADERS_MAX];
	size_t		 nheaders;
};

struct http_resp_parser {
	/* Private. */
	size_t		 scan;		/* no head end in [0, scan) */
	int		 failed;
	struct http_error err;
};

void	 http_resp_init(struct http_resp_parser *);
int	 http_parse_response(struct http_resp_parser *, const char *, size_t,
	    struct http_response *, struct http_error *);
/* Does a body follow this head (head_request: it answers a HEAD)? */
int	 http_resp_has_body(const struct http_response *, int head_request);

#endif /* GHP_HTTP_H */
