/*
 * upconn.c: see upconn.h.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "upconn.h"
#include "util.h"

#define UPCONN_ADDRS		32	/* hosts looked up at start */
#define UPCONN_IDLE_MAX		64	/* kept-alive connections */
#define UPCONN_IDLE_MS		60000	/* kept at most this long */
#define UPCONN_TLS_CHUNK	(16 * 1024)
#define UPCONN_IOV		16

enum upconn_state {
	UC_CONNECTING,
	UC_HANDSHAKE,
	UC_ACTIVE,
	UC_IDLE,
	UC_FAILED
};

struct upconn {
	int			 fd;
	SSL			*ssl;
	enum upconn_state	 state;
	struct event		*ev;
	short			 ev_flags;	/* what ev watches now */
	int			 want;		/* the owner's UPCONN_READ|WRITE */
	int			 read_wants_write;	/* TLS */
	int			 write_wants_read;	/* TLS */
	upconn_cb		 cb;
	void			*arg;
	char			 key[UPCONN_HOST_MAX + 80];
	uint64_t		 idle_since;
	char			 why[160];
	TAILQ_ENTRY(upconn)	 entry;
};

struct up_addr {
	char			 host[UPCONN_HOST_MAX + 1];
	int			 port;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

static TAILQ_HEAD(upconn_list, upconn) idle = TAILQ_HEAD_INITIALIZER(idle);
static int			 nidle;
static struct event_base	*uc_base;
static SSL_CTX			*uc_tls;
static struct up_addr		 addrs[UPCONN_ADDRS];
static int			 naddrs;

static void	upconn_event(int, short, void *);

/*
 * TLS as a client: the CA bundle read now (the sandbox will not let us
 * later), the peer checked.
 */
static void
upconn_tls_init(const char *ca)
{
	unsigned char rnd[32];
	static const unsigned char alpn[] = "\x08http/1.1";

	/* OpenSSL may open /dev/urandom on first use: do it now. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    RAND_priv_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("openssl: cannot seed its random generators");
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if ((uc_tls = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(uc_tls, TLS1_2_VERSION);
	SSL_CTX_set_verify(uc_tls, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(uc_tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(uc_tls, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(uc_tls, SSL_SESS_CACHE_OFF);
	(void)SSL_CTX_set_alpn_protos(uc_tls, alpn, sizeof(alpn) - 1);
	if (ca == NULL)
		ca = CONFIG_DEFAULT_CA;
	if (SSL_CTX_load_verify_locations(uc_tls, ca, NULL) != 1) {
		log_warnx("%s: cannot load CA certificates (https upstreams "
		    "will fail)", ca);
		ERR_clear_error();
	}
}

/* "scheme://authority/..." split; 0, or -1 with *why. */
static int
upconn_parse_url(const char *url, struct up_target *t)
{
	const char *a, *end, *colon, *host;
	size_t alen, hlen;
	char *ep;
	long port;

	memset(t, 0, sizeof(*t));
	if (strncasecmp(url, "https://", 8) == 0) {
		t->tls = 1;
		a = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0)
		a = url + 7;
	else
		return -1;
	end = a + strcspn(a, "/?#");
	alen = (size_t)(end - a);
	if (alen == 0 || alen >= sizeof(t->authority) ||
	    memchr(a, '@', alen) != NULL)
		return -1;
	memcpy(t->authority, a, alen);
	t->authority[alen] = '\0';
	host = t->authority;
	if (*host == '[') {
		if ((colon = strchr(host, ']')) == NULL)
			return -1;
		hlen = (size_t)(colon - host - 1);
		host++;
		colon++;
		if (*colon != '\0' && *colon != ':')
			return -1;
	} else {
		colon = strchr(host, ':');
		hlen = colon != NULL ? (size_t)(colon - host) :
		    strlen(host);
	}
	if (hlen == 0 || hlen > UPCONN_HOST_MAX)
		return -1;
	memcpy(t->host, host, hlen);
	t->host[hlen] = '\0';
	t->port = t->tls ? 443 : 80;
	if (colon != NULL && *colon == ':') {
		errno = 0;
		port = strtol(colon + 1, &ep, 10);
		if (*ep != '\0' || port < 1 || port > 65535 || errno != 0)
			return -1;
		t->port = (int)port;
	}
	if (*end != '/' && *end != '\0')
		return -1;	/* "?" or "#" without a path */
	t->path = end;
	return 0;
}

/* A literal address (no brackets) and port into t; 0 or -1. */
static int
upconn_literal(const char *host, int port, struct up_target *t)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;

	memset(&t->addr, 0, sizeof(t->addr));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		t->addrlen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		t->addrlen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
upconn_resolve_url(const char *what, const char *url)
{
	struct up_target t;
	struct addrinfo hints, *res;
	char port[8];
	int i;

	if (url == NULL || upconn_parse_url(url, &t) == -1)
		return 0;
	if (upconn_literal(t.host, t.port, &t) == 0)
		return 1;
	for (i = 0; i < naddrs; i++)
		if (addrs[i].port == t.port &&
		    strcasecmp(addrs[i].host, t.host) == 0)
			return 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	(void)snprintf(port, sizeof(port), "%d", t.port);
	if (naddrs == UPCONN_ADDRS ||
	    getaddrinfo(t.host, port, &hints, &res) != 0) {
		log_warnx("%s: cannot resolve %s; requests for it will fail "
		    "until the process restarts", what, t.host);
		return 0;
	}
	(void)snprintf(addrs[naddrs].host, sizeof(addrs[naddrs].host), "%s",
	    t.host);
	addrs[naddrs].port = t.port;
	memcpy(&addrs[naddrs].ss, res->ai_addr, res->ai_addrlen);
	addrs[naddrs].len = res->ai_addrlen;
	naddrs++;
	freeaddrinfo(res);
	return 1;
}

/*
 * One field of "host:port:address:port": a name or a bracketed IPv6
 * literal, copied without brackets; *s moves past its ':' (or end).
 */
static int
upconn_field(const char **s, char *out, size_t len)
{
	const char *p = *s, *end;

	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL || (end[1] != ':' &&
		    end[1] != '\0'))
			return -1;
		p++;
	} else
		end = p + strcspn(p, ":");
	if (end == p || (size_t)(end - p) >= len)
		return -1;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	if (*end == ']')
		end++;
	*s = *end == ':' ? end + 1 : end;
	return 0;
}

/* "host:port:address:port" (CURLOPT_CONNECT_TO's form) into t->addr. */
static int
upconn_connect_to(const char *ct, struct up_target *t)
{
	char host[UPCONN_HOST_MAX + 1], port[8], addr[INET6_ADDRSTRLEN];
	char *ep;
	long p;

	if (upconn_field(&ct, host, sizeof(host)) == -1 ||
	    upconn_field(&ct, port, sizeof(port)) == -1 ||
	    upconn_field(&ct, addr, sizeof(addr)) == -1 ||
	    upconn_field(&ct, port, sizeof(port)) == -1 || *ct != '\0')
		return -1;
	p = strtol(port, &ep, 10);
	if (*ep != '\0' || p < 1 || p > 65535)
		return -1;
	return upconn_literal(addr, (int)p, t);
}

int
upconn_target(const char *url, const char *connect_to, struct up_target *t,
    const char **why)
{
	int i;

	if (upconn_parse_url(url, t) == -1) {
		*why = "not an http or https URL ghp can use";
		return -1;
	}
	if (connect_to != NULL) {
		if (upconn_connect_to(connect_to, t) == -1) {
			*why = "bad address";
			return -1;
		}
		return 0;
	}
	if (upconn_literal(t->host, t->port, t) == 0)
		return 0;
	for (i = 0; i < naddrs; i++)
		if (addrs[i].port == t->port &&
		    strcasecmp(addrs[i].host, t->host) == 0) {
			memcpy(&t->addr, &addrs[i].ss, addrs[i].len);
			t->addrlen = addrs[i].len;
			return 0;
		}
	*why = "host not looked up when the worker started";
	return -1;
}

void
upconn_init(struct event_base *base, const struct config *conf)
{
	char what[32];
	int i;

	uc_base = base;
	upconn_tls_init(conf->upstream_ca);
	for (i = 0; i < UPSTREAM_MAX; i++) {
		(void)snprintf(what, sizeof(what), "upstream %s",
		    config_upstream_name(i));
		(void)upconn_resolve_url(what, conf->upstream[i]);
	}
}

static void
upconn_key(const struct up_target *t, char *key, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const void *a;

	a = t->addr.ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)&t->addr)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)&t->addr)->sin_addr;
	if (inet_ntop(t->addr.ss_family, a, addr, sizeof(addr)) == NULL)
		addr[0] = '\0';
	(void)snprintf(key, len, "%s %s %d %s %u", t->tls ? "https" : "http",
	    t->host, t->port, addr, (unsigned)ntohs(
	    ((const struct sockaddr_in *)&t->addr)->sin_port));
}

/* Watch exactly these libevent flags (one epoll_ctl if they change). */
static void
upconn_events(struct upconn *c, short flags)
{
	if (c->ev_flags == flags)
		return;
	if (c->ev_flags != 0)
		event_del(c->ev);
	c->ev_flags = flags;
	if (flags == 0)
		return;
	event_assign(c->ev, uc_base, c->fd, flags | EV_PERSIST, upconn_event,
	    c);
	event_add(c->ev, NULL);
}

void
upconn_watch(struct upconn *c, int what)
{
	short flags = 0;

	c->want = what;
	if (((what & UPCONN_READ) && !c->read_wants_write) ||
	    ((what & UPCONN_WRITE) && c->write_wants_read))
		flags |= EV_READ;
	if (((what & UPCONN_WRITE) && !c->write_wants_read) ||
	    ((what & UPCONN_READ) && c->read_wants_write))
		flags |= EV_WRITE;
	upconn_events(c, flags);
}

static void
upconn_fail(struct upconn *c, const char *what, const char *detail)
{
	(void)snprintf(c->why, sizeof(c->why), "%s: %s", what, detail);
	c->state = UC_FAILED;
	upconn_events(c, 0);
	c->cb(c, UPCONN_FAILED, c->arg);
}

/* OpenSSL's reason for a failed handshake, for the log. */
static const char *
upconn_tls_reason(struct upconn *c, char *buf, size_t len)
{
	long v = SSL_get_verify_result(c->ssl);
	unsigned long e;

	if (v != X509_V_OK)
		return X509_verify_cert_error_string(v);
	if ((e = ERR_peek_last_error()) != 0) {
		ERR_error_string_n(e, buf, len);
		ERR_clear_error();
		return buf;
	}
	return errno != 0 ? strerror(errno) : "connection closed";
}

static void
upconn_handshake(struct upconn *c)
{
	char buf[128];
	int rc, err;

	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_connect(c->ssl)) == 1) {
		c->state = UC_ACTIVE;
		upconn_events(c, 0);
		c->cb(c, UPCONN_READY, c->arg);
		return;
	}
	err = SSL_get_error(c->ssl, rc);
	if (err == SSL_ERROR_WANT_READ)
		upconn_events(c, EV_READ);
	else if (err == SSL_ERROR_WANT_WRITE)
		upconn_events(c, EV_WRITE);
	else
		upconn_fail(c, "TLS handshake",
		    upconn_tls_reason(c, buf, sizeof(buf)));
}

static void
upconn_connected(struct upconn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		upconn_fail(c, "connect", strerror(err));
		return;
	}
	if (c->ssl == NULL) {
		c->state = UC_ACTIVE;
		upconn_events(c, 0);
		c->cb(c, UPCONN_READY, c->arg);
		return;
	}
	c->state = UC_HANDSHAKE;
	upconn_handshake(c);
}

static void
upconn_free(struct upconn *c)
{
	if (c->state == UC_IDLE) {
		TAILQ_REMOVE(&idle, c, entry);
		nidle--;
	}
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void
upconn_event(int fd, short ev, void *arg)
{
	struct upconn *c = arg;
	int what = 0;

	switch (c->state) {
	case UC_CONNECTING:
		upconn_connected(c);
		return;
	case UC_HANDSHAKE:
		upconn_handshake(c);
		return;
	case UC_IDLE:
		/* Closed by the upstream, or talking out of turn. */
		upconn_free(c);
		return;
	case UC_FAILED:
		return;
	case UC_ACTIVE:
		break;
	}
	if ((ev & EV_READ) && !c->read_wants_write)
		what |= UPCONN_READ;
	if ((ev & EV_WRITE) && c->read_wants_write)
		what |= UPCONN_READ;
	if ((ev & EV_WRITE) && !c->write_wants_read)
		what |= UPCONN_WRITE;
	if ((ev & EV_READ) && c->write_wants_read)
		what |= UPCONN_WRITE;
	if (what != 0)
		c->cb(c, what, c->arg);
}

static void
upconn_setsockopts(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

/* The TLS side of a new connection: the name or address to check. */
static int
upconn_new_tls(struct upconn *c, const struct up_target *t)
{
	struct in6_addr a;
	X509_VERIFY_PARAM *vp;

	if ((c->ssl = SSL_new(uc_tls)) == NULL || SSL_set_fd(c->ssl,
	    c->fd) != 1)
		return -1;
	vp = SSL_get0_param(c->ssl);
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, t->host, &a) == 1 ||
	    inet_pton(AF_INET6, t->host, &a) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, t->host) == 1 ? 0 :
		    -1;
	if (SSL_set1_host(c->ssl, t->host) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, t->host) != 1)
		return -1;
	return 0;
}

static struct upconn *
upconn_new(const struct up_target *t, const char *key, const char **why)
{
	struct upconn *c;
	int fd;

	if ((fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		*why = strerror(errno);
		return NULL;
	}
	upconn_setsockopts(fd);
	if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) == -1
	    && errno != EINPROGRESS) {
		*why = strerror(errno);
		close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->state = UC_CONNECTING;
	c->ev = event_new(uc_base, fd, 0, upconn_event, c);
	(void)snprintf(c->key, sizeof(c->key), "%s", key);
	if (t->tls && upconn_new_tls(c, t) == -1) {
		*why = "cannot set up TLS";
		ERR_clear_error();
		upconn_free(c);
		return NULL;
	}
	/* Connected or not, the owner hears of it from the loop. */
	upconn_events(c, EV_WRITE);
	return c;
}

struct upconn *
upconn_get(const struct up_target *t, int reuse, upconn_cb cb, void *arg,
    int *reused, const char **why)
{
	struct upconn *c, *next;
	char key[sizeof(c->key)];
	uint64_t now = monotime_ms();

	upconn_key(t, key, sizeof(key));
	for (c = TAILQ_FIRST(&idle); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (now - c->idle_since > UPCONN_IDLE_MS) {
			upconn_free(c);
			continue;
		}
		if (!reuse || strcmp(c->key, key) != 0)
			continue;
		TAILQ_REMOVE(&idle, c, entry);
		nidle--;
		c->state = UC_ACTIVE;
		c->cb = cb;
		c->arg = arg;
		*reused = 1;
		return c;
	}
	*reused = 0;
	if ((c = upconn_new(t, key, why)) == NULL)
		return NULL;
	c->cb = cb;
	c->arg = arg;
	return c;
}

void
upconn_put(struct upconn *c)
{
	if (c->read_wants_write || c->write_wants_read ||
	    upconn_pending(c)) {
		upconn_free(c);
		return;
	}
	c->state = UC_IDLE;
	c->cb = NULL;
	c->arg = NULL;
	c->idle_since = monotime_ms();
	TAILQ_INSERT_HEAD(&idle, c, entry);
	if (++nidle > UPCONN_IDLE_MAX)
		upconn_free(TAILQ_LAST(&idle, upconn_list));
	upconn_events(c, EV_READ);
}

void
upconn_close(struct upconn *c)
{
	upconn_free(c);
}

int
upconn_idle_count(void)
{
	return nidle;
}

const char *
upconn_why(const struct upconn *c)
{
	return c->why;
}

int
upconn_pending(const struct upconn *c)
{
	return c->ssl != NULL && SSL_pending(c->ssl) > 0;
}

static ssize_t
upconn_tls_error(struct upconn *c, int rc, int reading)
{
	char buf[128];
	int err = SSL_get_error(c->ssl, rc);

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		if (reading)
			c->read_wants_write = err == SSL_ERROR_WANT_WRITE;
		else
			c->write_wants_read = err == SSL_ERROR_WANT_READ;
		upconn_watch(c, c->want);
		return UPCONN_AGAIN;
	}
	if (err == SSL_ERROR_ZERO_RETURN)
		return 0;
	(void)snprintf(c->why, sizeof(c->why), "TLS: %s",
	    upconn_tls_reason(c, buf, sizeof(buf)));
	return UPCONN_FAIL;
}

ssize_t
upconn_read(struct upconn *c, char *buf, size_t len)
{
	ssize_t n;
	size_t got;
	int rc;

	if (c->ssl == NULL) {
		if ((n = recv(c->fd, buf, len, 0)) >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return UPCONN_AGAIN;
		(void)snprintf(c->why, sizeof(c->why), "%s", strerror(errno));
		return UPCONN_FAIL;
	}
	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_read_ex(c->ssl, buf, len, &got)) == 1) {
		if (c->read_wants_write) {
			c->read_wants_write = 0;
			upconn_watch(c, c->want);
		}
		return (ssize_t)got;
	}
	return upconn_tls_error(c, rc, 1);
}

static ssize_t
upconn_tls_write1(struct upconn *c, const void *p, size_t len)
{
	size_t wrote;
	ssize_t rc;

	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(c->ssl, p, len, &wrote) == 1) {
		if (c->write_wants_read) {
			c->write_wants_read = 0;
			upconn_watch(c, c->want);
		}
		return (ssize_t)wrote;
	}
	if ((rc = upconn_tls_error(c, 0, 0)) == 0) {
		(void)snprintf(c->why, sizeof(c->why), "TLS: closed while "
		    "writing");
		rc = UPCONN_FAIL;
	}
	return rc;
}

static ssize_t
upconn_tls_write(struct upconn *c, const char *pre, size_t prelen,
    struct evbuffer *out)
{
	struct evbuffer_iovec v;
	size_t done = 0;
	ssize_t n;

	while (done < prelen) {
		n = upconn_tls_write1(c, pre + done, prelen - done);
		if (n < 0)
			return done > 0 && n == UPCONN_AGAIN ? (ssize_t)done : n;
		done += (size_t)n;
	}
	while (evbuffer_get_length(out) > 0) {
		if (evbuffer_peek(out, UPCONN_TLS_CHUNK, NULL, &v, 1) < 1)
			break;
		if (v.iov_len > UPCONN_TLS_CHUNK)
			v.iov_len = UPCONN_TLS_CHUNK;
		n = upconn_tls_write1(c, v.iov_base, v.iov_len);
		if (n < 0)
			return done > 0 && n == UPCONN_AGAIN ? (ssize_t)done : n;
		evbuffer_drain(out, (size_t)n);
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t
upconn_write(struct upconn *c, const char *pre, size_t prelen,
    struct evbuffer *out)
{
	struct iovec iov[UPCONN_IOV];
	int nv = 0;
	ssize_t n;

	if (c->ssl != NULL)
		return upconn_tls_write(c, pre, prelen, out);
	if (prelen > 0) {
		iov[0].iov_base = (void *)pre;
		iov[0].iov_len = prelen;
		nv = 1;
	}
	nv += evbuffer_peek(out, -1, NULL, (struct evbuffer_iovec *)iov + nv,
	    UPCONN_IOV - nv);
	if (nv > UPCONN_IOV)
		nv = UPCONN_IOV;
	if ((n = writev(c->fd, iov, nv)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return UPCONN_AGAIN;
		(void)snprintf(c->why, sizeof(c->why), "%s", strerror(errno));
		return UPCONN_FAIL;
	}
	if ((size_t)n > prelen)
		evbuffer_drain(out, (size_t)n - prelen);
	return n;
}
