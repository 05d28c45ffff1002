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
	char		 why[160];
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

/* A token fit for a header: printable ASCII, no space. */
static int
cp_token_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > COPILOT_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* GitHub's answer into e; NULL, or why it is not one. */
static const char *
cp_take(struct cp_entry *e, long status, const char *body, size_t len)
{
	json_t *o, *t, *x, *ri;
	const char *s, *why = NULL;
	json_int_t refresh, now = (json_int_t)time(NULL);

	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL)
		return status == 200 ? "the answer is not JSON" : NULL;
	if (status != 200) {
		s = json_string_value(json_object_get(o, "message"));
		(void)snprintf(e->why, sizeof(e->why), "GitHub answered %ld%s%s",
		    status, s ? ": " : "", s ? s : "");
		json_decref(o);
		return e->why;
	}
	t = json_object_get(o, "token");
	x = json_object_get(o, "expires_at");
	ri = json_object_get(o, "refresh_in");
	if (!json_is_string(t) || !cp_token_ok(json_string_value(t),
	    json_string_length(t)))
		why = "the answer has no usable token";
	else if (!json_is_integer(x) || json_integer_value(x) <= now)
		why = "the answer's expires_at is missing or past";
	else {
		cp_forget_token(e);
		e->len = json_string_length(t);
		e->token = xcalloc(1, e->len + 1);
		memcpy(e->token, json_string_value(t), e->len);
		e->expires = (int64_t)json_integer_value(x);
		refresh = json_is_integer(ri) && json_integer_value(ri) > 0 ?
		    json_integer_value(ri) : json_integer_value(x) - now;
		if (refresh > json_integer_value(x) - now)
			refresh = json_integer_value(x) - now;
		/* A tenth early, at most a minute: before refresh_in is up. */
		refresh *= 1000;
		refresh -= refresh / 10 < 60000 ? refresh / 10 : 60000;
		e->refresh_at = monotime_ms() + (uint64_t)refresh;
	}
	if (json_is_string(t))
		sodium_memzero((void *)json_string_value(t),
		    json_string_length(t));
	json_decref(o);
	return why;
}

static void
cp_answered(void *arg, CURLcode rc, long status, const char *body,
    size_t len, const char *why)
{
	struct cp_entry *e = arg;
	struct cp_waiter *w;
	const char *bad = NULL;

	e->pending = 0;
	if (rc != CURLE_OK)
		bad = why;
	else if ((bad = cp_take(e, status, body, len)) == NULL &&
	    status != 200) {
		(void)snprintf(e->why, sizeof(e->why), "GitHub answered %ld",
		    status);
		bad = e->why;
	}
	if (bad != NULL) {
		if (bad != e->why)
			(void)snprintf(e->why, sizeof(e->why), "%s", bad);
		log_warnx("Copilot token exchange: %s", e->why);
		e->failed_until = monotime_ms() + COPILOT_FAIL_MS;
	}
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		if (bad != NULL)
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
