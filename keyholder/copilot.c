/*
 * copilot.c: see copilot.h.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "copilot.h"
#include "khttp.h"
#include "log.h"
#include "util.h"

struct cp_waiter {
	TAILQ_ENTRY(cp_waiter) entry;
	copilot_cb	 cb;
	void		*arg;
};

struct cp_entry {
	TAILQ_ENTRY(cp_entry) entry;
	unsigned char	 hash[crypto_hash_sha256_BYTES];
	char		*token;		/* zeroed when replaced or dropped */
	size_t		 len;
	int64_t		 expires;	/* epoch */
	uint64_t	 refresh_at;	/* monotime_ms() */
	int		 pending;
	uint64_t	 failed_until;	/* monotime_ms() */
	char		 why[COPILOT_WHY_MAX];
	TAILQ_HEAD(, cp_waiter) waiters;
};

static TAILQ_HEAD(, cp_entry) entries = TAILQ_HEAD_INITIALIZER(entries);
static size_t	nentries;

int
copilot_oauth(const unsigned char *cred, size_t len)
{
	return len > 4 && (memcmp(cred, "gho_", 4) == 0 ||
	    memcmp(cred, "ghu_", 4) == 0);
}

static void
cp_forget_token(struct cp_entry *e)
{
	if (e->token != NULL) {
		sodium_memzero(e->token, e->len);
		free(e->token);
	}
	e->token = NULL;
	e->len = 0;
	e->expires = 0;
}

static struct cp_entry *
cp_find(const unsigned char *hash)
{
	struct cp_entry *e;

	TAILQ_FOREACH(e, &entries, entry)
		if (memcmp(e->hash, hash, sizeof(e->hash)) == 0)
			return e;
	return NULL;
}

/* Room for one more: the oldest entry nobody waits on goes. */
static void
cp_make_room(void)
{
	struct cp_entry *e;

	if (nentries < COPILOT_MAX)
		return;
	TAILQ_FOREACH(e, &entries, entry)
		if (!e->pending) {
			TAILQ_REMOVE(&entries, e, entry);
			cp_forget_token(e);
			free(e);
			nentries--;
			return;
		}
}

/* --- the answer --- */

/* A token fit for a header: printable ASCII, no space. */
static int
cp_token_ok(const char *s, size_t n)
{
	return n <= COPILOT_TOKEN_MAX && visible_ascii(s, n);
}

/* Seconds to ms, a tenth (at most a minute) early. */
static int64_t
cp_refresh_ms(const json_t *ri, int64_t expires, int64_t now)
{
	int64_t refresh, left = expires - now;

	refresh = json_is_integer(ri) && json_integer_value(ri) > 0 ?
	    (int64_t)json_integer_value(ri) : left;
	if (refresh > left)
		refresh = left;
	if (refresh > INT64_MAX / 1000)
		refresh = INT64_MAX / 1000;
	refresh *= 1000;
	return refresh - (refresh / 10 < 60000 ? refresh / 10 : 60000);
}

/* The status 200 answer, loaded; NULL, or why it is not one. */
static const char *
cp_take(json_t *o, int64_t now, struct copilot_answer *a)
{
	json_t *t, *x;

	t = json_object_get(o, "token");
	x = json_object_get(o, "expires_at");
	if (!json_is_string(t) || !cp_token_ok(json_string_value(t),
	    json_string_length(t)))
		return "the answer has no usable token";
	if (!json_is_integer(x) || json_integer_value(x) <= now)
		return "the answer's expires_at is missing or past";
	a->len = json_string_length(t);
	memcpy(a->token, json_string_value(t), a->len + 1);
	a->expires = (int64_t)json_integer_value(x);
	a->refresh_ms = cp_refresh_ms(json_object_get(o, "refresh_in"),
	    a->expires, now);
	return NULL;
}

int
copilot_parse(long status, const char *body, size_t len, int64_t now,
    struct copilot_answer *a, char *why, size_t whylen)
{
	char msg[COPILOT_WHY_MAX];
	const char *bad;
	json_t *o, *t;

	sodium_memzero(a, sizeof(*a));
	if (status != 200) {
		if (khttp_message(body, len, msg, sizeof(msg)) == 0)
			(void)snprintf(why, whylen, "GitHub answered %ld: %s",
			    status, msg);
		else
			(void)snprintf(why, whylen, "GitHub answered %ld",
			    status);
		return -1;
	}
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL) {
		(void)snprintf(why, whylen, "the answer is not JSON");
		return -1;
	}
	if ((bad = cp_take(o, now, a)) != NULL) {
		sodium_memzero(a, sizeof(*a));
		(void)snprintf(why, whylen, "%s", bad);
	}
	if (json_is_string(t = json_object_get(o, "token")))
		sodium_memzero((void *)json_string_value(t),
		    json_string_length(t));
	json_decref(o);
	return bad != NULL ? -1 : 0;
}

/* --- the exchange --- */

/* A new token for e, kept from now on. */
static void
cp_keep(struct cp_entry *e, const struct copilot_answer *a)
{
	cp_forget_token(e);
	e->len = a->len;
	e->token = xcalloc(1, e->len + 1);
	memcpy(e->token, a->token, e->len);
	e->expires = a->expires;
	e->refresh_at = monotime_ms() + (uint64_t)a->refresh_ms;
}

static void
cp_answered(void *arg, CURLcode rc, long status, const char *body,
    size_t len, const char *why)
{
	struct cp_entry *e = arg;
	struct copilot_answer a;
	struct cp_waiter *w;
	int bad = 1;

	e->pending = 0;
	if (rc != CURLE_OK)
		(void)snprintf(e->why, sizeof(e->why), "%s", why);
	else if (copilot_parse(status, body, len, (int64_t)time(NULL), &a,
	    e->why, sizeof(e->why)) == 0) {
		cp_keep(e, &a);
		bad = 0;
	}
	sodium_memzero(&a, sizeof(a));
	if (bad) {
		log_warnx("Copilot token exchange: %s", e->why);
		e->failed_until = monotime_ms() + COPILOT_FAIL_MS;
	}
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		if (bad)
			w->cb(w->arg, NULL, 0, 0, e->why);
		else
			w->cb(w->arg, e->token, e->len, e->expires, NULL);
		free(w);
	}
}

static int
cp_exchange(struct cp_entry *e, const unsigned char *cred, size_t len)
{
	char *auth;
	int r;

	xasprintf(&auth, "token %.*s", (int)len, cred);
	r = khttp_request(COPILOT_PATH, auth, NULL, COPILOT_TIMEOUT,
	    cp_answered, e);
	sodium_memzero(auth, strlen(auth));
	free(auth);
	if (r == 0)
		e->pending = 1;
	return r;
}

static int
cp_usable(const struct cp_entry *e, int64_t spare)
{
	return e->token != NULL && e->expires - spare > (int64_t)time(NULL);
}

void
copilot_get(const unsigned char *cred, size_t len, copilot_cb cb,
    void *arg)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	struct cp_entry *e;
	struct cp_waiter *w;
	uint64_t now = monotime_ms();

	crypto_hash_sha256(hash, cred, len);
	if ((e = cp_find(hash)) == NULL) {
		cp_make_room();
		e = xcalloc(1, sizeof(*e));
		memcpy(e->hash, hash, sizeof(hash));
		TAILQ_INIT(&e->waiters);
		TAILQ_INSERT_TAIL(&entries, e, entry);
		nentries++;
	}
	if (!e->pending && now < e->failed_until) {
		cb(arg, NULL, 0, 0, e->why);
		return;
	}
	/* Time to refresh: in the background while the old one will do. */
	if (!e->pending && (e->token == NULL || now >= e->refresh_at) &&
	    cp_exchange(e, cred, len) == -1) {
		cb(arg, NULL, 0, 0, "the API host could not be resolved");
		return;
	}
	if (cp_usable(e, e->pending ? COPILOT_SPARE : 0)) {
		cb(arg, e->token, e->len, e->expires, NULL);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
}
