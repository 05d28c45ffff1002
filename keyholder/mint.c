/*
 * mint.c: see mint.h.
 */
#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "curlev.h"
#include "jwt.h"
#include "khttp.h"
#include "log.h"
#include "mint.h"
#include "util.h"

#define MINT_WHY_MAX	256

enum mint_state {
	MINT_IDLE,
	MINT_PENDING,
	MINT_READY,
	MINT_FAILED
};

struct mint_waiter {
	TAILQ_ENTRY(mint_waiter) entry;
	mint_cb		 cb;
	void		*arg;
};

struct mint_entry {
	TAILQ_ENTRY(mint_entry) entry;
	char		*key;		/* app/installation/repos/perms */
	struct kh_inst	*inst;
	char		*repos;		/* JSON array, or NULL: all */
	char		*perms;		/* JSON object */
	enum mint_state	 state;
	char		*token;		/* sodium_malloc'd, MINT_TOKEN_MAX */
	size_t		 toklen;
	int64_t		 expires;
	int		 tries;
	uint64_t	 failed_at;	/* monotime_ms() */
	char		 why[MINT_WHY_MAX];
	TAILQ_HEAD(, mint_waiter) waiters;
	struct event	*retry;
};

static TAILQ_HEAD(, mint_entry) entries = TAILQ_HEAD_INITIALIZER(entries);
static size_t			 nentries;
static struct event_base	*mint_base;

static void	mint_start(struct mint_entry *);
static void	mint_answered(void *, CURLcode, long, const char *, size_t,
	    const char *);

/* --- the cache --- */

static void
mint_drop_token(struct mint_entry *e)
{
	if (e->token != NULL) {
		sodium_free(e->token);	/* zeroes it */
		e->token = NULL;
	}
	e->toklen = 0;
}

static void
mint_entry_free(struct mint_entry *e)
{
	TAILQ_REMOVE(&entries, e, entry);
	nentries--;
	mint_drop_token(e);
	if (e->retry != NULL)
		event_free(e->retry);
	free(e->key);
	free(e->repos);
	free(e->perms);
	free(e);
}

/* Room for one more: the oldest entry nobody waits on goes. */
static void
mint_make_room(void)
{
	struct mint_entry *e;

	if (nentries < MINT_CACHE_MAX)
		return;
	TAILQ_FOREACH(e, &entries, entry)
		if (e->state != MINT_PENDING) {
			mint_entry_free(e);
			return;
		}
}

static struct mint_entry *
mint_find(const char *key)
{
	struct mint_entry *e;

	TAILQ_FOREACH(e, &entries, entry)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void
mint_notify(struct mint_entry *e)
{
	struct mint_waiter *w;

	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		if (e->state == MINT_READY)
			w->cb(w->arg, e->token, e->toklen, e->expires, NULL);
		else
			w->cb(w->arg, NULL, 0, 0, e->why);
		free(w);
	}
}

/* --- the transfer --- */

static char *
mint_body(const struct mint_entry *e)
{
	json_t *o;
	char *s;

	o = json_object();
	if (e->repos != NULL)
		json_object_set_new(o, "repositories",
		    json_loads(e->repos, 0, NULL));
	json_object_set_new(o, "permissions", json_loads(e->perms, 0, NULL));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void
mint_fail(struct mint_entry *e, int retry, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static void
mint_retry_cb(int fd, short ev, void *arg)
{
	mint_start(arg);
}

static void
mint_fail(struct mint_entry *e, int retry, const char *fmt, ...)
{
	struct timeval tv;
	va_list ap;
	long ms;

	va_start(ap, fmt);
	(void)vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
	if (retry && e->tries < MINT_TRIES) {
		log_info("app \"%s\" installation %llu: mint failed (%s); "
		    "trying again", e->inst->app->name,
		    (unsigned long long)e->inst->id, e->why);
		ms = 250L << (e->tries - 1);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		if (e->retry == NULL)
			e->retry = evtimer_new(mint_base, mint_retry_cb, e);
		evtimer_add(e->retry, &tv);
		return;
	}
	log_warnx("app \"%s\" installation %llu: mint failed: %s",
	    e->inst->app->name, (unsigned long long)e->inst->id, e->why);
	e->state = MINT_FAILED;
	e->failed_at = monotime_ms();
	mint_notify(e);
}

static void
mint_start(struct mint_entry *e)
{
	char jwt[JWT_MAX], *auth, *body, path[96];
	int r;

	e->tries++;
	if (jwt_sign(e->inst->app->key, e->inst->app->id, time(NULL), jwt,
	    sizeof(jwt)) == -1) {
		mint_fail(e, 0, "cannot sign a JWT with the App's key");
		return;
	}
	xasprintf(&auth, "Bearer %s", jwt);
	sodium_memzero(jwt, sizeof(jwt));
	(void)snprintf(path, sizeof(path), "/app/installations/%llu/"
	    "access_tokens", (unsigned long long)e->inst->id);
	body = mint_body(e);
	r = khttp_request(path, auth, body ? body : "{}", MINT_TIMEOUT,
	    mint_answered, e);
	sodium_memzero(auth, strlen(auth));
	free(auth);
	free(body);
	if (r == -1)
		mint_fail(e, 0, "the API host could not be looked up when "
		    "ghp started");
}

/* --- the answer --- */

int64_t
mint_parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) ==
	    NULL || strcmp(end, "Z") != 0)
		return -1;
	return (int64_t)timegm(&tm);
}

/* A token fit for a header: printable ASCII, no space. */
static int
mint_token_ok(const char *s, size_t n)
{
	return n < MINT_TOKEN_MAX && visible_ascii(s, n);
}

int
mint_parse(const char *body, size_t len, struct mint_answer *a)
{
	json_t *o, *t;
	int r = -1;

	sodium_memzero(a, sizeof(*a));
	if ((o = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	t = json_object_get(o, "token");
	a->expires = mint_parse_time(json_string_value(json_object_get(o,
	    "expires_at")));
	if (json_is_string(t) && mint_token_ok(json_string_value(t),
	    json_string_length(t)) && a->expires > 0) {
		a->len = json_string_length(t);
		memcpy(a->token, json_string_value(t), a->len + 1);
		r = 0;
	} else
		a->expires = 0;
	if (json_is_string(t))
		sodium_memzero((void *)json_string_value(t),
		    json_string_length(t));
	json_decref(o);
	return r;
}

static int
mint_take(struct mint_entry *e, const char *body, size_t len)
{
	struct mint_answer a;
	int r = -1;

	if (mint_parse(body, len, &a) == 0 &&
	    (e->token = sodium_malloc(MINT_TOKEN_MAX)) != NULL) {
		memcpy(e->token, a.token, a.len + 1);
		e->toklen = a.len;
		e->expires = a.expires;
		r = 0;
	}
	sodium_memzero(&a, sizeof(a));
	return r;
}

static void
mint_answered(void *arg, CURLcode rc, long status, const char *body,
    size_t len, const char *why)
{
	struct mint_entry *e = arg;
	char msg[160];

	if (rc != CURLE_OK) {
		/* A hung GitHub is not waited for twice. */
		mint_fail(e, rc != CURLE_OPERATION_TIMEDOUT, "GitHub did not "
		    "answer: %s", why);
		return;
	}
	if (status == 201 && mint_take(e, body, len) == 0) {
		e->state = MINT_READY;
		e->tries = 0;
		log_debug("app \"%s\" installation %llu: token minted, "
		    "expires %lld", e->inst->app->name,
		    (unsigned long long)e->inst->id, (long long)e->expires);
		mint_notify(e);
		return;
	}
	if (status == 201) {
		mint_fail(e, 1, "GitHub's answer held no usable token");
		return;
	}
	if (khttp_message(body, len, msg, sizeof(msg)) == -1)
		(void)snprintf(msg, sizeof(msg), "no message");
	mint_fail(e, status >= 500 || status == 429, "GitHub answered %ld: %s",
	    status, msg);
}

/* --- the interface --- */

void
mint_init(struct event_base *base, const struct config *conf)
{
	mint_base = base;
	curlev_init(base, conf);
	khttp_init(conf->upstream[UPSTREAM_API]);
}

static struct mint_entry *
mint_entry_new(struct kh_inst *in, const char *key, const char *repos,
    const char *perms)
{
	struct mint_entry *e;

	mint_make_room();
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->inst = in;
	e->repos = repos ? xstrdup(repos) : NULL;
	e->perms = xstrdup(perms);
	TAILQ_INIT(&e->waiters);
	TAILQ_INSERT_TAIL(&entries, e, entry);
	nentries++;
	return e;
}

void
mint_get(struct kh_inst *in, const char *repos, const char *perms,
    mint_cb cb, void *arg)
{
	struct mint_entry *e;
	struct mint_waiter *w;
	time_t now = time(NULL);
	char *key;

	xasprintf(&key, "%llu/%llu/%s/%s", (unsigned long long)in->app->id,
	    (unsigned long long)in->id, repos ? repos : "*", perms);
	if ((e = mint_find(key)) == NULL)
		e = mint_entry_new(in, key, repos, perms);
	free(key);
	if (e->state == MINT_READY && e->expires - MINT_RENEW > now) {
		TAILQ_REMOVE(&entries, e, entry);
		TAILQ_INSERT_TAIL(&entries, e, entry);
		cb(arg, e->token, e->toklen, e->expires, NULL);
		return;
	}
	if (e->state == MINT_FAILED && monotime_ms() - e->failed_at <
	    MINT_FAIL_HOLD * 1000ULL) {
		cb(arg, NULL, 0, 0, e->why);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
	if (e->state == MINT_PENDING)
		return;
	mint_drop_token(e);
	e->state = MINT_PENDING;
	e->tries = 0;
	mint_start(e);
}

size_t
mint_cached(const struct kh_inst *in, int64_t *earliest)
{
	const struct mint_entry *e;
	size_t n = 0;

	*earliest = 0;
	TAILQ_FOREACH(e, &entries, entry) {
		if (e->inst != in || e->state != MINT_READY)
			continue;
		if (n++ == 0 || e->expires < *earliest)
			*earliest = e->expires;
	}
	return n;
}
