/*
 * certs.c: see certs.h.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certs.h"
#include "chan.h"
#include "compat.h"
#include "log.h"
#include "msg.h"
#include "tls.h"
#include "util.h"

#define CERTS_HOST_MAX	253
#define CERTS_KEEP	(29 * 86400)	/* a 30-day leaf, a day spare */

struct cwaiter {
	TAILQ_ENTRY(cwaiter) entry;
	struct centry	*e;
	certs_cb	 cb;
	void		*arg;
};

struct centry {
	TAILQ_ENTRY(centry) entry;
	char		 host[CERTS_HOST_MAX + 1];
	SSL_CTX		*ctx;		/* NULL while asked */
	EVP_PKEY	*key;		/* while asked */
	time_t		 until;		/* monotonic: use until then */
	uint32_t	 reqid;
	struct event	*timer;
	TAILQ_HEAD(, cwaiter) waiters;
};

static TAILQ_HEAD(, centry) entries = TAILQ_HEAD_INITIALIZER(entries);
static size_t		 nentries;
static struct chan	*kh_chan;
static struct event_base *certs_base;
static uint32_t		 next_reqid;

void
certs_init(struct event_base *base)
{
	certs_base = base;
}

static void
certs_notify(struct centry *e, const char *why)
{
	struct cwaiter *w;

	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		w->cb(e->ctx, why, w->arg);
		free(w);
	}
}

static void
certs_drop(struct centry *e, const char *why)
{
	if (e->ctx == NULL)
		certs_notify(e, why);
	TAILQ_REMOVE(&entries, e, entry);
	SSL_CTX_free(e->ctx);
	EVP_PKEY_free(e->key);
	if (e->timer != NULL)
		event_free(e->timer);
	free(e);
	nentries--;
}

void
certs_set_keyholder(struct chan *c)
{
	struct centry *e, *tmp;

	TAILQ_FOREACH_SAFE(e, &entries, entry, tmp)
		if (e->ctx == NULL)
			certs_drop(e, "the keyholder went away");
	kh_chan = c;
}

static void
certs_timeout(int fd, short ev, void *arg)
{
	certs_drop(arg, "the keyholder did not answer");
}

/* Ask the keyholder to certify a new key for e->host. */
static int
certs_ask(struct centry *e)
{
	struct msg_kh_cert_req rq;
	struct timeval tv = { CERTS_WAIT, 0 };
	uint8_t buf[sizeof(rq) + CERTS_HOST_MAX + 512];
	unsigned char *der = NULL;
	int n;

	if (kh_chan == NULL || (e->key = EVP_EC_gen("P-256")) == NULL ||
	    (n = i2d_PUBKEY(e->key, &der)) <= 0 || (size_t)n > 512)
		return -1;
	rq.host_len = (uint32_t)strlen(e->host);
	rq.key_len = (uint32_t)n;
	memcpy(buf, &rq, sizeof(rq));
	memcpy(buf + sizeof(rq), e->host, rq.host_len);
	memcpy(buf + sizeof(rq) + rq.host_len, der, (size_t)n);
	OPENSSL_free(der);
	e->reqid = ++next_reqid;
	if (chan_send(kh_chan, MSG_KH_CERT_REQ, 0, e->reqid, -1, buf,
	    sizeof(rq) + rq.host_len + (size_t)n) == -1)
		return -1;
	e->timer = evtimer_new(certs_base, certs_timeout, e);
	evtimer_add(e->timer, &tv);
	return 0;
}

static struct centry *
certs_find(const char *host)
{
	struct centry *e;

	TAILQ_FOREACH(e, &entries, entry)
		if (strcmp(e->host, host) == 0)
			return e;
	return NULL;
}

/* Room for one more: the oldest kept context goes. */
static void
certs_make_room(void)
{
	struct centry *e;

	if (nentries < CERTS_MAX)
		return;
	TAILQ_FOREACH(e, &entries, entry)
		if (e->ctx != NULL) {
			certs_drop(e, NULL);
			return;
		}
}

struct cwaiter *
certs_get(const char *host, certs_cb cb, void *arg)
{
	struct centry *e;
	struct cwaiter *w;

	if (strlen(host) > CERTS_HOST_MAX) {
		cb(NULL, "host name too long", arg);
		return NULL;
	}
	if ((e = certs_find(host)) != NULL && e->ctx != NULL &&
	    monotime() >= e->until)
		certs_drop(e, NULL), e = NULL;
	if (e != NULL && e->ctx != NULL) {
		cb(e->ctx, NULL, arg);
		return NULL;
	}
	if (e == NULL) {
		certs_make_room();
		e = xcalloc(1, sizeof(*e));
		(void)snprintf(e->host, sizeof(e->host), "%s", host);
		TAILQ_INIT(&e->waiters);
		TAILQ_INSERT_TAIL(&entries, e, entry);
		nentries++;
		if (certs_ask(e) == -1) {
			certs_drop(e, NULL);
			cb(NULL, "the keyholder cannot be asked", arg);
			return NULL;
		}
	}
	w = xcalloc(1, sizeof(*w));
	w->e = e;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
	return w;
}

void
certs_cancel(struct cwaiter *w)
{
	TAILQ_REMOVE(&w->e->waiters, w, entry);
	free(w);
}

static struct centry *
certs_find_reqid(uint32_t reqid)
{
	struct centry *e;

	TAILQ_FOREACH(e, &entries, entry)
		if (e->ctx == NULL && e->reqid == reqid)
			return e;
	return NULL;
}

int
certs_answer(const struct msg *m)
{
	struct msg_kh_cert an;
	struct centry *e;

	if (m->len < sizeof(an))
		return -1;
	memcpy(&an, m->data, sizeof(an));
	if ((size_t)an.cert_len != m->len - sizeof(an))
		return -1;
	if ((e = certs_find_reqid(m->hdr.reqid)) == NULL)
		return 0;	/* late: given up on */
	if (an.status == 0)
		e->ctx = tls_server_ctx_mem(m->data + sizeof(an),
		    an.cert_len, e->key);
	if (e->ctx == NULL) {
		log_warnx("no certificate for %s: %s", e->host, an.status == 1 ?
		    "the keyholder refused it" : "the answer is unusable");
		certs_drop(e, "no certificate for that host");
		return 0;
	}
	EVP_PKEY_free(e->key);
	e->key = NULL;
	event_free(e->timer);
	e->timer = NULL;
	e->until = monotime() + CERTS_KEEP;
	certs_notify(e, NULL);
	return 0;
}
