/*
 * request_priv.h: one request's state, shared by the files of the
 * request pipeline, and private to them.
 *
 * request.c	the request's life: start, route, records, the bodies
 *		both ways, the end
 * authorize.c	the token: found, resolved (tcache.c), the scope
 *		checked, the credential swapped in, forwarded
 * sites.c	GitHub's hosts other than the API: git smart HTTP,
 *		releases, codeload archives, raw files, Copilot, and the
 *		policies that block or redirect some of them
 * proxy.c	a forward-proxy listener's requests: CONNECT (refused,
 *		tunnelled, or intercepted with a certificate from ghp's CA)
 *		and absolute-form requests, both with Proxy-Authorization
 * intercept.c	requests inside an intercepted CONNECT to an "intercept"
 *		host: a stored credential put in, forwarded to the host
 */
#ifndef GHP_REQUEST_PRIV_H
#define GHP_REQUEST_PRIV_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "conn.h"
#include "http.h"
#include "scope.h"
#include "tcache.h"
#include "token.h"
#include "web.h"

#define REQUEST_BODY_MAX	(UINT64_C(4) << 30)	/* 4 GiB */
#define REQUEST_PATH_MAX	HTTP_REQLINE_MAX
#define GRAPHQL_BODY_MAX	(256 * 1024)	/* a ghx_ token's GraphQL */

enum route {
	ROUTE_API,
	ROUTE_WEB,		/* github.com's other hosts (web.h) */
	ROUTE_INTERCEPT,	/* an "intercept" host, through the proxy */
	ROUTE_OTHER		/* nothing ghp serves */
};

enum body_mode {
	BODY_NONE,
	BODY_LENGTH,
	BODY_CHUNKED,
	BODY_MEM		/* read whole, held in mbody (intercept.c) */
};

/* How the credential goes upstream. */
enum cred_style {
	CRED_TOKEN,		/* Authorization: token X */
	CRED_BASIC,		/* Basic x-access-token:X, as git does */
	CRED_BEARER		/* Bearer X (Copilot) */
};

struct sites_check;
struct cwaiter;
struct resolve_wait;
struct bufferevent;
struct graphql;
struct jsonw;
struct evbuffer;
struct curl_slist;
struct event_base;
struct chan;

struct request {
	struct conn		*conn;
	char			*raw;		/* the head's bytes */
	struct http_parser	 p;
	char			 id[17];
	char			 method[HTTP_METHOD_MAX + 1];
	char			 path[REQUEST_PATH_MAX];
	const char		*query;		/* forwarded as is, or NULL */
	size_t			 querylen;
	char			*query_buf;	/* a rewritten query, owned */
	enum route		 route;
	enum web_site		 site;
	struct web_target	 wt;		/* ROUTE_WEB: what it asks */
	enum upstream_kind	 up;		/* where it goes */
	enum cred_style		 style;
	struct sites_check	*check;		/* a mirror check in flight */
	/* the token */
	enum token_type		 ttype;
	char			 token[TOKEN_LEN + 1];
	char			 ptoken[TOKEN_LEN + 1];	/* the proxy's */
	size_t			 ptoken_len;
	struct cwaiter		*cwaiter;	/* CONNECT: its certificate */
	char			*chost;		/* CONNECT: its host */
	int			 cport;
	int			 ctunnel;	/* tunnelled, not intercepted */
	struct resolve_wait	*rwait;		/* its address, asked */
	struct bufferevent	*cup;		/* connecting to it */
	int			 icpt;		/* ROUTE_INTERCEPT: its block,
						   -1: plain HTTP, passed */
	char			*connect_to;	/* and its address for libcurl */
	struct twaiter		*waiter;
	char			 login[40];	/* GitHub's, or "" */
	char			 owner[65];
	char			 prefix[TOKEN_DISPLAY_LEN + 1];
	char			 session[65];
	int64_t			 token_id;
	uint64_t		 app_id;	/* an agent's installation */
	uint64_t		 inst_id;
	struct scope_result	 sr;
	/* the body, client to upstream */
	enum body_mode		 body;
	uint64_t		 body_left;
	struct http_chunked	 chunked;
	int			 body_done;
	int			 body_wait;	/* intercept.c wants it whole */
	int			 continued;	/* "100 Continue" was sent */
	char			*mbody;		/* BODY_MEM; zeroed when freed */
	size_t			 mbody_len;
	size_t			 mbody_off;
	size_t			 mbody_cap;	/* request_collect() */
	size_t			 collect_max;
	const char		*collect_why;	/* the 413's message */
	void			(*collect_then)(struct request *);
	struct graphql		*gql;		/* graphql.c */
	/* ready to go upstream, waiting for its audit record (records.c) */
	TAILQ_ENTRY(request)	 rec_entry;
	int			 rec_waiting;
	char			*up_url;
	struct curl_slist	*up_headers;	/* holds the credential */
	int64_t			 up_body_len;
	uint64_t		 bytes_in;
	/* the answer */
	struct upstream_xfer	*xfer;
	int			 status;
	int			 head_sent;
	int			 chunked_out;
	int			 no_body;
	uint64_t		 bytes_out;
	uint64_t		 t_start;	/* ms */
	uint64_t		 t_us;		/* start of the stage being timed */
	uint64_t		 t0_us;		/* start of the request */
	const char		*decision;	/* for metrics */
};

extern const struct config	*req_conf;

/* request.c */
void	request_audit(struct request *, const char *decision,
	    const char *reason, int status);
void	request_finish(struct request *);
/* A CONNECT tunnelled: its records, and the connection is no more ours. */
void	request_handoff(struct request *);
void	request_fail(struct request *, int status, const char *message,
	    const char *extra_headers);
void	request_deny(struct request *, int status, const char *message);
/* An answer of ghp's own with this body (not GitHub's JSON shape). */
void	request_answer(struct request *, int status, const char *ctype,
	    const char *extra_headers, const char *body);

/*
 * request.c: read the whole body into memory (at most max bytes; more is
 * answered 413 with why), then call then(); the body goes upstream
 * from memory.
 */
void	request_collect(struct request *, size_t max, const char *why,
	    void (*then)(struct request *));

/*
 * records.c: a record is written (jsonw.h) into records_line(), an
 * empty buffer, and records_commit() queues it as an audit (MSG_AUDIT)
 * or access (MSG_ACCESS) record; what a turn of the loop queued goes to
 * the master in one message, records_flush() sends it now.
 * records_then_start() has r's transfer started
 * (request_start_upstream()) once the records queued so far are sent;
 * records_forget() takes r off that queue if it is on it (r is being
 * freed: its prepared transfer is dropped, request_unstarted_free()).
 */
void	records_init(struct event_base *, struct chan *);
struct evbuffer *records_line(void);
void	records_commit(uint16_t);
void	records_then_start(struct request *);
void	records_forget(struct request *);

/* authorize.c */
void	authorize_init(const struct config *);
void	request_start_upstream(struct request *);
void	request_unstarted_free(struct request *);
void	request_authorize(struct request *);
void	request_forward(struct request *, const char *cred, size_t credlen);

/* authorize.c: a client's header as a libcurl line (malloc'd). */
char	*request_header_line(const struct http_header *);
/* authorize.c: a field a Connection header names (hop by hop)? */
int	request_named_in_connection(const struct http_head *,
	    const struct http_str *);
/* authorize.c: the token in an Authorization value, or -1. */
int	authorize_token(const struct http_str *, char *, size_t);
int	authorize_ghp_prefix(const char *, size_t);
/* authorize.c: "sec-GitHub-allowed-enterprise: slug" or NULL. */
const char *authorize_enterprise_line(void);

/* proxy.c; proxy_absolute(): -1 answered, 0 GitHub's, 1 passed as is */
void	proxy_connect(struct request *);
int	proxy_absolute(struct request *);
int	proxy_inner(struct request *);
void	proxy_abort(struct request *);

/* intercept.c */
void	intercept_start(struct request *);
int	intercept_v6(const struct request *);
/* More of the body came while intercept.c waits for all of it. */
void	intercept_body_more(struct request *);
struct curl_slist *intercept_headers(struct request *, const char *,
	    size_t);

/*
 * graphql.c: POST /graphql with a ghx_ token.  graphql_wanted(): is it
 * one?  graphql_decide(): 0 to go on and forward with the credential in
 * hand, 1 when graphql.c has answered or goes on itself.
 */
int	graphql_wanted(const struct request *);
int	graphql_decide(struct request *, const struct tentry *);
void	graphql_audit(const struct request *, struct jsonw *);
void	graphql_free(struct request *);

/* sites.c (sites_init() is in request.h) */
void	sites_start(struct request *);
void	sites_abort(struct request *);

#endif /* GHP_REQUEST_PRIV_H */
