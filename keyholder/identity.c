/*
 * identity.c: see identity.h.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "config.h"
#include "identity.h"
#include "khttp.h"
#include "log.h"
#include "util.h"

struct id_waiter {
	TAILQ_ENTRY(id_waiter) entry;
	identity_cb	 cb;
	void		*arg;
};

struct id_entry {
	TAILQ_ENTRY(id_entry) entry;
	unsigned char	 hash[crypto_hash_sha256_BYTES];
	char		 login[IDENTITY_LOGIN_MAX + 1];	/* "": unknown */
	int		 pending;
	time_t		 asked;
	TAILQ_HEAD(, id_waiter) waiters;
};

static TAILQ_HEAD(, id_entry) ids = TAILQ_HEAD_INITIALIZER(ids);
static size_t		 nids;
void
identity_init(const struct config *conf)
{
	khttp_init(conf->upstream[UPSTREAM_API]);
}

static struct id_entry *
identity_find(const unsigned char *hash)
{
	struct id_entry *e;

	TAILQ_FOREACH(e, &ids, entry)
		if (memcmp(e->hash, hash, sizeof(e->hash)) == 0)
			return e;
	return NULL;
}

/* Room for one more: the oldest entry nobody waits on goes. */
static void
identity_make_room(void)
{
	struct id_entry *e;

	if (nids < IDENTITY_MAX)
		return;
	TAILQ_FOREACH(e, &ids, entry)
		if (!e->pending) {
			TAILQ_REMOVE(&ids, e, entry);
			free(e);
			nids--;
			return;
		}
}

/* --- the answer --- */

/* A login as GitHub makes them: letters, digits, '-' (and "[bot]"). */
static int
identity_valid(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > IDENTITY_LOGIN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && strchr("-_[]", s[i]) ==
		    NULL)
			return 0;
	return 1;
}

int
identity_parse(const char *body, size_t len, char *login)
{
	const char *s;
	json_t *o;
	int r = -1;

	login[0] = '\0';
	if ((o = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	if (identity_valid(s = json_string_value(json_object_get(o,
	    "login")))) {
		(void)snprintf(login, IDENTITY_LOGIN_MAX + 1, "%s", s);
		r = 0;
	}
	json_decref(o);
	return r;
}

/* --- the lookup --- */

static void
identity_answered(void *arg, CURLcode rc, long status, const char *body,
    size_t len, const char *why)
{
	struct id_entry *e = arg;
	struct id_waiter *w;

	if (rc != CURLE_OK)
		log_info("GET /user for a stored credential: %s", why);
	else if (status != 200 || identity_parse(body, len, e->login) == -1)
		log_info("GET /user for a stored credential: status %ld, no "
		    "login", status);
	e->pending = 0;
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		w->cb(w->arg, e->login[0] ? e->login : NULL);
		free(w);
	}
}

static int
identity_ask(struct id_entry *e, const unsigned char *cred, size_t len)
{
	char *auth;
	int r;

	xasprintf(&auth, "token %.*s", (int)len, cred);
	r = khttp_request_as(IDENTITY_USER_AGENT, "/user", auth, NULL,
	    IDENTITY_TIMEOUT, identity_answered, e);
	sodium_memzero(auth, strlen(auth));
	free(auth);
	if (r == -1)
		return -1;
	e->pending = 1;
	e->asked = time(NULL);
	return 0;
}

void
identity_get(const unsigned char *cred, size_t len, identity_cb cb,
    void *arg)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	struct id_entry *e;
	struct id_waiter *w;

	crypto_hash_sha256(hash, cred, len);
	if ((e = identity_find(hash)) == NULL) {
		identity_make_room();
		e = xcalloc(1, sizeof(*e));
		memcpy(e->hash, hash, sizeof(hash));
		TAILQ_INIT(&e->waiters);
		TAILQ_INSERT_TAIL(&ids, e, entry);
		nids++;
	}
	if (!e->pending && (e->login[0] != '\0' ||
	    (e->asked != 0 && time(NULL) - e->asked < IDENTITY_RETRY))) {
		cb(arg, e->login[0] ? e->login : NULL);
		return;
	}
	if (!e->pending && identity_ask(e, cred, len) == -1) {
		e->asked = time(NULL);
		cb(arg, NULL);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
}
