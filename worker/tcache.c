/*
 * tcache.c: see tcache.h.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "chan.h"
#include "config.h"
#include "compat.h"
#include "log.h"
#include "metrics.h"
#include "tcache.h"
#include "util.h"
#include "web.h"

#define TCACHE_BUCKETS	1024

static LIST_HEAD(, tentry) buckets[TCACHE_BUCKETS];
static TAILQ_HEAD(, tentry) lru = TAILQ_HEAD_INITIALIZER(lru);
static size_t		 nentries;
static struct chan	*kh_chan;
static uint32_t		 next_reqid;
static struct event	*sweep_ev;
static const struct config *tc_conf;

static void	tcache_sweep(int, short, void *);

void
tcache_init(struct event_base *base, const struct config *conf)
{
	struct timeval tv = { 1, 0 };
	int i;

	tc_conf = conf;
	for (i = 0; i < TCACHE_BUCKETS; i++)
		LIST_INIT(&buckets[i]);
	sweep_ev = event_new(base, -1, EV_PERSIST, tcache_sweep, NULL);
	event_add(sweep_ev, &tv);
}

static unsigned int
bucket_of(const uint8_t *hash)
{
	return ((unsigned int)hash[0] << 8 | hash[1]) % TCACHE_BUCKETS;
}

static struct tentry *
tcache_find(const uint8_t *hash, enum tcache_kind kind)
{
	struct tentry *e;

	LIST_FOREACH(e, &buckets[bucket_of(hash)], bucket)
		if (e->kind == kind &&
		    memcmp(e->hash, hash, TOKEN_HASH_LEN) == 0)
			return e;
	return NULL;
}

/* Tell every waiter, then forget them. */
static void
tcache_notify(struct tentry *e)
{
	struct twaiter *w;

	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		w->cb(e, w->arg);
		free(w);
	}
}

static void
tcache_drop(struct tentry *e)
{
	if (e->pending) {
		e->status = RESOLVE_ERROR;
		tcache_notify(e);
	}
	LIST_REMOVE(e, bucket);
	TAILQ_REMOVE(&lru, e, lru);
	if (e->cred != NULL) {
		sodium_memzero(e->cred, e->credlen);
		free(e->cred);
	}
	sodium_memzero(e, sizeof(*e));
	free(e);
	nentries--;
}

static void
tcache_sweep(int fd, short ev, void *arg)
{
	struct tentry *e, *tmp;
	time_t now = monotime();

	TAILQ_FOREACH_SAFE(e, &lru, lru, tmp)
		if (now - e->fetched > (e->pending ? TCACHE_WAIT : TCACHE_TTL))
			tcache_drop(e);
}

void
tcache_set_keyholder(struct chan *c)
{
	struct tentry *e, *tmp;

	/* Answers from another keyholder are no longer trusted. */
	TAILQ_FOREACH_SAFE(e, &lru, lru, tmp)
		tcache_drop(e);
	kh_chan = c;
}

size_t
tcache_size(void)
{
	return nentries;
}

static void
tcache_add_waiter(struct tentry *e, struct twaiter *w)
{
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
}

/*
 * A resolved answer is trusted TCACHE_TTL seconds, and never past the
 * token's own expiry: a token must stop at its expiry, not when a cache
 * entry goes.
 */
static int
tcache_fresh(const struct tentry *e)
{
	if (e->pending || monotime() - e->fetched > TCACHE_TTL)
		return 0;
	return e->expires == 0 || e->expires > (int64_t)time(NULL);
}

/* The keyholder's question for a kind of answer. */
static int
tcache_ask(enum tcache_kind kind, uint32_t reqid, const char *token,
    size_t len)
{
	const struct intercept_conf *ic;
	uint8_t buf[sizeof(uint32_t) + 256 + TOKEN_LEN];
	uint32_t nlen;
	int r;

	if (kind == TCACHE_GITHUB || kind == TCACHE_COPILOT)
		return chan_send(kh_chan, kind == TCACHE_COPILOT ?
		    MSG_KH_COPILOT : MSG_KH_RESOLVE, 0, reqid, -1, token, len);
	/* By name: the keyholder's blocks may be older than ours. */
	if (tc_conf == NULL || (ic = web_intercept_conf(tc_conf,
	    (int)(kind - TCACHE_INTERCEPT))) == NULL ||
	    (nlen = (uint32_t)strlen(ic->credential)) > 256 || len > TOKEN_LEN)
		return -1;
	memcpy(buf, &nlen, sizeof(nlen));
	memcpy(buf + sizeof(nlen), ic->credential, nlen);
	memcpy(buf + sizeof(nlen) + nlen, token, len);
	r = chan_send(kh_chan, MSG_KH_INTERCEPT, 0, reqid, -1, buf,
	    sizeof(nlen) + nlen + len);
	sodium_memzero(buf, sizeof(buf));
	return r;
}

struct twaiter *
tcache_lookup(const char *token, size_t len, enum tcache_kind kind,
    tcache_cb cb, void *arg)
{
	uint8_t hash[TOKEN_HASH_LEN];
	struct tentry *e;
	struct twaiter *w;

	token_hash(token, len, hash);
	if ((e = tcache_find(hash, kind)) != NULL && tcache_fresh(e)) {
		TAILQ_REMOVE(&lru, e, lru);
		TAILQ_INSERT_TAIL(&lru, e, lru);
		metrics_cache(1);
		cb(e, arg);
		return NULL;
	}
	if (e != NULL && !e->pending)
		tcache_drop(e), e = NULL;
	metrics_cache(0);
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	if (e != NULL) {
		tcache_add_waiter(e, w);
		return w;
	}
	if (nentries >= TCACHE_MAX)
		tcache_drop(TAILQ_FIRST(&lru));
	e = xcalloc(1, sizeof(*e));
	memcpy(e->hash, hash, sizeof(hash));
	e->kind = kind;
	e->pending = 1;
	e->fetched = monotime();
	e->reqid = ++next_reqid;
	TAILQ_INIT(&e->waiters);
	LIST_INSERT_HEAD(&buckets[bucket_of(hash)], e, bucket);
	TAILQ_INSERT_TAIL(&lru, e, lru);
	nentries++;
	tcache_add_waiter(e, w);
	if (kh_chan == NULL || tcache_ask(kind, e->reqid, token, len) == -1) {
		e->status = RESOLVE_ERROR;
		e->pending = 0;
		tcache_notify(e);
		tcache_drop(e);
		return NULL;
	}
	return w;
}

void
tcache_cancel(struct twaiter *cancel)
{
	struct tentry *e;
	struct twaiter *w;

	TAILQ_FOREACH(e, &lru, lru) {
		TAILQ_FOREACH(w, &e->waiters, entry) {
			if (w == cancel) {
				TAILQ_REMOVE(&e->waiters, w, entry);
				free(w);
				return;
			}
		}
	}
}

static struct tentry *
tcache_find_reqid(uint32_t reqid)
{
	struct tentry *e;

	TAILQ_FOREACH(e, &lru, lru)
		if (e->pending && e->reqid == reqid)
			return e;
	return NULL;
}

/* The scope JSON from the keyholder into e; -1 if it does not fit. */
static int
tcache_fill_scope(struct tentry *e, const char *text, size_t len)
{
	json_t *o, *v;
	const char *k, *s;
	enum scope_level lvl;
	size_t i;
	int r = -1;

	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return -1;
	s = json_string_value(json_object_get(o, "owner"));
	if (s == NULL || strlen(s) >= sizeof(e->owner))
		goto out;
	memcpy(e->owner, s, strlen(s) + 1);
	s = json_string_value(json_object_get(o, "prefix"));
	(void)snprintf(e->prefix, sizeof(e->prefix), "%s", s ? s : "");
	s = json_string_value(json_object_get(o, "session"));
	(void)snprintf(e->session, sizeof(e->session), "%s", s ? s : "");
	s = json_string_value(json_object_get(o, "login"));
	(void)snprintf(e->login, sizeof(e->login), "%s", s ? s : "");
	e->app_id = (uint64_t)json_integer_value(json_object_get(o, "app"));
	e->inst_id = (uint64_t)json_integer_value(json_object_get(o,
	    "installation"));
	scope_init(&e->scope, e->type == TOKEN_AGENT ? SCOPE_TOKEN_AGENT :
	    SCOPE_TOKEN_USER, NULL);
	json_array_foreach(json_object_get(o, "repos"), i, v)
		if (scope_add_repo(&e->scope, json_string_value(v)) == -1)
			goto out;
	json_object_foreach(json_object_get(o, "perms"), k, v) {
		if (scope_parse_level(json_string_value(v), &lvl) == -1)
			goto out;
		/* A name no REST endpoint uses grants nothing here. */
		(void)scope_set_perm(&e->scope, k, lvl);
	}
	r = 0;
out:
	json_decref(o);
	return r;
}

static int
tcache_fill_why(struct tentry *e, const char *p, size_t len)
{
	json_t *o;
	const char *s;

	if ((o = json_loadb(p, len, 0, NULL)) == NULL)
		return -1;
	s = json_string_value(json_object_get(o, "error"));
	(void)snprintf(e->why, sizeof(e->why), "%s", s ? s : "unknown");
	json_decref(o);
	return 0;
}

static int
tcache_fill(struct tentry *e, const struct msg *m)
{
	struct msg_kh_resolved r;
	const char *p;

	if (m->len < sizeof(r))
		return -1;
	memcpy(&r, m->data, sizeof(r));
	if ((size_t)r.scope_len + r.cred_len != m->len - sizeof(r))
		return -1;
	e->status = r.status;
	if (r.status != RESOLVE_OK && r.status != RESOLVE_MINT_FAILED)
		return 0;
	e->type = r.type == TOKEN_AGENT ? TOKEN_AGENT : TOKEN_USER;
	e->token_id = r.token_id;
	e->expires = r.expires;
	p = (const char *)m->data + sizeof(r);
	if (tcache_fill_scope(e, p, r.scope_len) == -1)
		return -1;
	if (r.status == RESOLVE_MINT_FAILED)
		return tcache_fill_why(e, p, r.scope_len);
	if (r.cred_len > 0) {
		e->cred = xcalloc(1, r.cred_len + 1);
		memcpy(e->cred, p + r.scope_len, r.cred_len);
		e->credlen = r.cred_len;
	}
	return 0;
}

int
tcache_resolved(const struct msg *m)
{
	struct tentry *e;
	int r;

	if ((e = tcache_find_reqid(m->hdr.reqid)) == NULL) {
		sodium_memzero((void *)m->data, m->len);
		return 0;	/* stale: timed out and dropped */
	}
	r = tcache_fill(e, m);
	sodium_memzero((void *)m->data, m->len);
	e->pending = 0;
	e->fetched = monotime();
	if (r == -1)
		e->status = RESOLVE_ERROR;
	tcache_notify(e);
	if (e->status != RESOLVE_OK)
		tcache_drop(e);
	return r;
}

void
tcache_ratelimit(uint64_t app_id, uint64_t inst_id, long remaining,
    int64_t reset, int exhausted)
{
	struct msg_kh_ratelimit rl;

	if (kh_chan == NULL)
		return;
	memset(&rl, 0, sizeof(rl));
	rl.app_id = app_id;
	rl.installation = inst_id;
	rl.remaining = remaining;
	rl.reset = reset;
	rl.exhausted = exhausted;
	(void)chan_send(kh_chan, MSG_KH_RATELIMIT, 0, 0, -1, &rl,
	    sizeof(rl));
}

void
tcache_exhausted(const struct msg_kh_ratelimit *rl)
{
	struct tentry *e, *tmp;

	TAILQ_FOREACH_SAFE(e, &lru, lru, tmp)
		if (!e->pending && e->inst_id == rl->installation &&
		    e->app_id == rl->app_id)
			tcache_drop(e);
}

void
tcache_revoke(const uint8_t hash[TOKEN_HASH_LEN])
{
	struct tentry *e, *tmp;

	TAILQ_FOREACH_SAFE(e, &lru, lru, tmp) {
		if (memcmp(e->hash, hash, TOKEN_HASH_LEN) != 0)
			continue;
		/* Requests waiting on it are refused as they would be now. */
		if (e->pending) {
			e->pending = 0;
			e->status = RESOLVE_REVOKED;
			tcache_notify(e);
		}
		tcache_drop(e);
	}
}
