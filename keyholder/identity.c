/*
 * identity.c: see identity.h.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "config.h"
#include "curlev.h"
#include "identity.h"
#include "log.h"
#include "util.h"

#define IDENTITY_ANSWER_MAX	(64 * 1024)

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
	CURL		*easy;
	struct curl_slist *headers;	/* holds the credential */
	char		*answer;
	size_t		 answerlen;
};

static TAILQ_HEAD(, id_entry) ids = TAILQ_HEAD_INITIALIZER(ids);
static size_t		 nids;
static const char	*id_api;

void
identity_init(const struct config *conf)
{
	id_api = conf->upstream[UPSTREAM_API];
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

static size_t
identity_write_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct id_entry *e = arg;
	size_t n = size * nitems;

	if (e->answerlen + n > IDENTITY_ANSWER_MAX)
		return 0;
	e->answer = xreallocarray(e->answer, e->answerlen + n + 1, 1);
	memcpy(e->answer + e->answerlen, buf, n);
	e->answerlen += n;
	e->answer[e->answerlen] = '\0';
	return n;
}

/* A login as GitHub makes them: letters, digits, '-' (and "[bot]"). */
static int
identity_valid(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > IDENTITY_LOGIN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("-_[]", s[i]) ==
		    NULL)
			return 0;
	return 1;
}

static void
identity_done(CURL *easy, CURLcode rc, void *arg)
{
	struct id_entry *e = arg;
	struct id_waiter *w;
	struct curl_slist *h;
	const char *login;
	long status = 0;
	json_t *o = NULL;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && status == 200 && e->answer != NULL &&
	    (o = json_loads(e->answer, 0, NULL)) != NULL &&
	    identity_valid(login = json_string_value(json_object_get(o,
	    "login"))))
		(void)snprintf(e->login, sizeof(e->login), "%s", login);
	else
		log_info("GET /user for a stored credential: %s",
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "no login");
	json_decref(o);
	curlev_remove(easy);
	curl_easy_cleanup(easy);
	e->easy = NULL;
	for (h = e->headers; h != NULL; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(e->headers);
	e->headers = NULL;
	free(e->answer);
	e->answer = NULL;
	e->answerlen = 0;
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
	char *line, *url;

	if (!curlev_usable(UPSTREAM_API) ||
	    (e->easy = curl_easy_init()) == NULL)
		return -1;
	xasprintf(&line, "Authorization: token %.*s", (int)len, cred);
	e->headers = curl_slist_append(NULL, line);
	sodium_memzero(line, strlen(line));
	free(line);
	e->headers = curl_slist_append(e->headers,
	    "Accept: application/vnd.github+json");
	e->headers = curl_slist_append(e->headers,
	    "User-Agent: " IDENTITY_USER_AGENT);
	xasprintf(&url, "%s/user", id_api);
	curlev_prepare(e->easy, url);
	free(url);
	curl_easy_setopt(e->easy, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, identity_write_cb);
	curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->easy, CURLOPT_TIMEOUT, (long)IDENTITY_TIMEOUT);
	e->pending = 1;
	e->asked = time(NULL);
	curlev_add(e->easy, identity_done, e);
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
