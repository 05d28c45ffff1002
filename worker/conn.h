/*
 * conn.h: a client connection, between server.c (which owns it) and
 * request.c (which answers the requests on it, one at a time).
 *
 * server.c reads and parses each request head (worker/http.h), hands it
 * to request_start(), and keeps the connection for the next request when
 * request.c says it is done and the response allows keep-alive.  While a
 * request runs, server.c tells it when the client sent more bytes
 * (request_readable) or took some of the response (request_writable).
 */
#ifndef GHP_CONN_H
#define GHP_CONN_H

#include <sys/queue.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

#define CONN_OUT_HIGH	(256 * 1024)	/* pause upstream above this */
#define CONN_OUT_LOW	(64 * 1024)	/* resume below this */
#define CONN_IN_HIGH	(256 * 1024)	/* stop reading the client above */

struct bufferevent;
struct event;
struct request;
struct tunnel;

struct conn {
	struct bufferevent	*bev;
	struct request		*req;		/* the one in progress */
	char			 remote_ip[INET6_ADDRSTRLEN];
	uint16_t		 remote_port;
	int			 tls;
	int			 proxy;		/* on a forward-proxy listener */
	char			*tunnel_host;	/* intercepted CONNECT's host */
	char			*proxy_token;	/* its Proxy-Authorization
						   token; zeroed when freed */
	size_t			 proxy_token_len;
	struct tunnel		*tunnel;	/* spliced to a host, or NULL */
	int			 close_after;	/* no keep-alive */
	int			 lingering;
	size_t			 discarded;
	unsigned int		 nrequests;
	uint64_t		 accepted;	/* monotime_ms() */
	uint64_t		 head_t0;	/* first byte of this head */
	TAILQ_ENTRY(conn)	 srv_entry;
	struct event		*ev_next;	/* start the next request */
};

/* request.c calls these. */
void	conn_request_done(struct conn *);
/* The end of a connection that is a tunnel now (tunnel.c). */
void	conn_close(struct conn *);
/*
 * An error answer in GitHub's JSON shape (head_only: for HEAD, without
 * the body); returns the body bytes written.
 */
size_t	conn_error(struct conn *, int status, const char *message,
	    const char *extra_headers, int head_only);
const char *http_reason(int status);
/*
 * Send b's bytes (it is emptied) after what is already on its way: at
 * once to the socket when the connection is plain and nothing waits.
 */
struct evbuffer;
void	conn_send(struct conn *, struct evbuffer *b);
/*
 * From now on the connection speaks TLS, as the server, with ssl (an
 * intercepted CONNECT); -1 if that cannot be set up.
 */
struct ssl_st;
int	conn_start_tls(struct conn *, struct ssl_st *);

/* server.c calls these. */
struct http_parser;
struct request *request_start(struct conn *, const char *head, size_t len);
void	request_readable(struct request *);
void	request_writable(struct request *);
/* Has the whole request body been read (the client now only waits)? */
int	request_body_read(const struct request *);
/* A head refused before it was parsed: its access record and count. */
void	request_refused(struct conn *, int status, size_t size);
/* The client went away: drop everything, no callback to the conn. */
void	request_abort(struct request *);

#endif /* GHP_CONN_H */
