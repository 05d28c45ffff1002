/*
 * upstream.h: the worker's side towards GitHub: an HTTP/1.1 client on
 * the worker's libevent loop (upstream.c, with its connections in
 * upconn.c), so that one worker keeps many transfers in flight and
 * reuses its upstream connections across requests.
 *
 * A transfer streams both ways.  The request body is pulled from the
 * caller (read_body) and the transfer pauses while the caller has
 * nothing; the response is pushed to the caller (on_body), which says
 * when it cannot take more, and the transfer pauses until
 * upstream_resume_recv().  Memory per transfer stays bounded whatever
 * the size of either body.
 *
 * Everything the client needs from the file system (the CA bundle) and
 * the addresses of the upstream hosts are read in upstream_init() and
 * upstream_resolve_url(), before the sandbox closes: a worker cannot
 * open files or resolve names.
 *
 * Header lists are curl_slist (libcurl's list of strings), each line
 * "Name: value" as it goes on the wire; Host and the body's framing
 * (Content-Length, Transfer-Encoding) are the client's to write.
 */
#ifndef GHP_UPSTREAM_H
#define GHP_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct evbuffer;
struct curl_slist;
struct upstream_xfer;

struct upstream_ops {
	/* Response head: status and hop-by-hop-free "Name: value\r\n"s. */
	void	(*on_head)(void *, int status, struct evbuffer *headers,
		    int64_t content_length);
	/* Body bytes; return 0 when taken, -1 to pause (they come again). */
	int	(*on_body)(void *, const char *, size_t);
	/*
	 * Request body into buf; 0 at its end, -1 to pause for more,
	 * UPSTREAM_BODY_ABORT when it cannot go on (a bad chunked body).
	 */
	long	(*read_body)(void *, char *buf, size_t len);
	/* Finished; status is the HTTP status to answer if no head went
	 * out (502, 504), and why says what failed, for the log. */
	void	(*on_done)(void *, int ok, int status, const char *why);
	/*
	 * Optional: called after each batch of on_head/on_body calls one
	 * turn of reading made, so that what they gathered can go out in
	 * one write.
	 */
	void	(*on_flush)(void *);
};

#define UPSTREAM_BODY_ABORT	(-2)

void	upstream_init(struct event_base *, const struct config *);
/* 0 when the upstream's host could not be resolved at start. */
int	upstream_usable(enum upstream_kind);
/*
 * Look another URL's host up now, before the sandbox (a mirror ghp
 * checks): 1 if transfers to it can start later.  what names it in the
 * warning when it cannot be found.
 */
int	upstream_resolve_url(const char *what, const char *url);
/*
 * Start a transfer.  body_len: 0 none, > 0 that many bytes, -1 chunked.
 * headers become the transfer's; the caller keeps nothing.
 */
struct upstream_xfer *upstream_start(const char *url, const char *method,
	    struct curl_slist *headers, int64_t body_len,
	    const struct upstream_ops *, void *arg);
/*
 * The same to a host that was not looked up at start: connect_to is
 * "host:port:address:port" with the address the master found for it.
 */
struct upstream_xfer *upstream_start_to(const char *url,
	    const char *connect_to, const char *method,
	    struct curl_slist *headers, int64_t body_len,
	    const struct upstream_ops *, void *arg);
/* Free a header list, zeroing each line first (they hold credentials). */
void	upstream_headers_free(struct curl_slist *);
void	upstream_resume_recv(struct upstream_xfer *);
void	upstream_resume_send(struct upstream_xfer *);
/* Abandon a transfer (the client went away); no callback follows. */
void	upstream_cancel(struct upstream_xfer *);
/* Milliseconds from start to the response head (0 before it). */
uint64_t upstream_ttfb_ms(const struct upstream_xfer *);
int	upstream_transfers(void);
/* The response's X-RateLimit-Remaining, or -1. */
long	upstream_ratelimit(const struct upstream_xfer *);
/* X-RateLimit-Reset (epoch seconds), or 0. */
int64_t	upstream_ratelimit_reset(const struct upstream_xfer *);

#endif /* GHP_UPSTREAM_H */
