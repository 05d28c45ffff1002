/*
 * curlev.c: see curlev.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "curlev.h"
#include "log.h"
#include "util.h"

#define CURLEV_CA_MAX		(4 * 1024 * 1024)
#define CURLEV_CONNECT_MS	10000
#define CURLEV_MAXCONNECTS	64

struct cev_xfer {
	curlev_done_cb	 done;
	void		*arg;
};

struct sock_ev {
	struct event	*ev;
	curl_socket_t	 fd;
};

static CURLM			*multi;
static struct event_base	*cev_base;
static struct event		*cev_timer;
static int			 cev_due_now;	/* libcurl asked for 0 ms */
static struct curl_blob		 ca_blob;
static struct curl_slist	*resolve_list;
static int			 usable[UPSTREAM_MAX];	/* has an address */

/* Read the CA bundle now: the sandbox will not let us later. */
static void
curlev_load_ca(const char *path)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if (path == NULL)
		path = CONFIG_DEFAULT_CA;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s (https upstreams will fail)", path);
		return;
	}
	buf = xcalloc(1, CURLEV_CA_MAX);
	while (len < CURLEV_CA_MAX &&
	    (n = read(fd, buf + len, CURLEV_CA_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	ca_blob.data = buf;
	ca_blob.len = len;
	ca_blob.flags = CURL_BLOB_NOCOPY;
}

/*
 * A URL's host looked up now (a sandboxed process cannot reach a
 * resolver) and handed to libcurl as a CURLOPT_RESOLVE entry: 1 when
 * libcurl will be able to connect to it, 0 when not (logged).
 */
int
curlev_resolve_url(const char *what, const char *u)
{
	struct addrinfo hints, *res, *ai;
	char host[256], port[8], addr[INET6_ADDRSTRLEN + 2], *entry;
	const char *h, *end;
	int ok = 0;

	if (u == NULL || (h = strstr(u, "://")) == NULL)
		return 0;
	h += 3;
	end = h + strcspn(h, ":/");
	if ((size_t)(end - h) >= sizeof(host))
		return 0;
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	if (*end == ':')
		(void)snprintf(port, sizeof(port), "%.*s",
		    (int)strcspn(end + 1, "/"), end + 1);
	else
		(void)snprintf(port, sizeof(port), "%s",
		    strncmp(u, "https", 5) == 0 ? "443" : "80");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	if (getaddrinfo(host, port, &hints, &res) == 0) {
		/* An address already: nothing for libcurl to resolve. */
		freeaddrinfo(res);
		return 1;
	}
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		log_warnx("%s: cannot resolve %s; requests for it will fail "
		    "until the process restarts", what, host);
		return 0;
	}
	for (ai = res; ai != NULL && !ok; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr,
		    sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		xasprintf(&entry, "%s:%s:%s%s%s", host, port,
		    ai->ai_family == AF_INET6 ? "[" : "", addr,
		    ai->ai_family == AF_INET6 ? "]" : "");
		resolve_list = curl_slist_append(resolve_list, entry);
		free(entry);
		ok = 1;	/* libcurl takes one entry per host:port */
	}
	freeaddrinfo(res);
	return ok;
}

static void
curlev_resolve(const struct config *conf)
{
	char what[32];
	int i;

	for (i = 0; i < UPSTREAM_MAX; i++) {
		(void)snprintf(what, sizeof(what), "upstream %s",
		    config_upstream_name(i));
		usable[i] = curlev_resolve_url(what, conf->upstream[i]);
	}
}

static void
curlev_sock_cb(int fd, short what, void *arg)
{
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, fd, flags, &running);
	curlev_check();
}

static int
curlev_socket(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct sock_ev *se = socketp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (se != NULL) {
			event_free(se->ev);
			free(se);
			curl_multi_assign(multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (se == NULL) {
		se = xcalloc(1, sizeof(*se));
		se->fd = s;
		se->ev = event_new(cev_base, s, kind, curlev_sock_cb, NULL);
		curl_multi_assign(multi, s, se);
	} else if (event_get_events(se->ev) == kind)
		return 0;		/* already watched so */
	else {
		event_del(se->ev);
		event_assign(se->ev, cev_base, s, kind, curlev_sock_cb, NULL);
	}
	event_add(se->ev, NULL);
	return 0;
}

static void
curlev_timer_cb(int fd, short what, void *arg)
{
	int running;

	cev_due_now = 0;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_check();
}

static int
curlev_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct timeval tv;

	cev_due_now = timeout_ms == 0;
	if (timeout_ms < 0) {
		evtimer_del(cev_timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(cev_timer, &tv);
	return 0;
}

void
curlev_kick(void)
{
	int running;

	if (!cev_due_now)
		return;
	cev_due_now = 0;
	evtimer_del(cev_timer);
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_check();
}

/*
 * OpenSSL seeds its generators on first use and may open /dev/urandom
 * to do it: do that now, while files can still be opened.
 */
static void
curlev_seed(void)
{
	unsigned char b[32];

	if (RAND_bytes(b, sizeof(b)) != 1 ||
	    RAND_priv_bytes(b, sizeof(b)) != 1)
		fatalx("openssl: cannot seed its random generators");
	OPENSSL_cleanse(b, sizeof(b));
}

void
curlev_init(struct event_base *base, const struct config *conf)
{
	if (multi != NULL)
		return;		/* once per process */
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		fatalx("curl_global_init");
	cev_base = base;
	if ((multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init");
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, curlev_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curlev_timer);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
	    (long)CURLEV_MAXCONNECTS);
	cev_timer = evtimer_new(base, curlev_timer_cb, NULL);
	curlev_seed();
	curlev_load_ca(conf->upstream_ca);
	curlev_resolve(conf);
}

int
curlev_usable(enum upstream_kind k)
{
	return usable[k];
}

void
curlev_prepare(CURL *e, const char *url)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)CURLEV_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	/* libcurl copies the blob each time: only where TLS needs it. */
	if (ca_blob.data != NULL && strncasecmp(url, "https:", 6) == 0)
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca_blob);
	else
		curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	if (resolve_list != NULL)
		curl_easy_setopt(e, CURLOPT_RESOLVE, resolve_list);
}

void
curlev_add(CURL *e, curlev_done_cb done, void *arg)
{
	struct cev_xfer *x;

	x = xcalloc(1, sizeof(*x));
	x->done = done;
	x->arg = arg;
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(multi, e) != CURLM_OK)
		fatalx("curl_multi_add_handle");
}

void
curlev_remove(CURL *e)
{
	struct cev_xfer *x = NULL;

	curl_multi_remove_handle(multi, e);
	curl_easy_getinfo(e, CURLINFO_PRIVATE, &x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	free(x);
}

void
curlev_check(void)
{
	CURLMsg *m;
	int left;

	struct cev_xfer *x;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &x);
		if (x != NULL)
			x->done(m->easy_handle, m->data.result, x->arg);
	}
}
