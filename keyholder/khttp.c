/*
 * khttp.c: see khttp.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "curlev.h"
#include "khttp.h"
#include "log.h"
#include "util.h"

struct khttp {
	CURL		*easy;
	struct curl_slist *headers;	/* holds a secret: zeroed */
	char		*answer;	/* may hold one: zeroed */
	size_t		 answerlen;
	khttp_cb	 cb;
	void		*arg;
	char		 errbuf[CURL_ERROR_SIZE];
};

static const char	*khttp_api;

void
khttp_init(const char *api_url)
{
	khttp_api = api_url;
}

static size_t
khttp_write_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct khttp *k = arg;
	size_t n = size * nitems;

	if (k->answerlen + n > KHTTP_ANSWER_MAX)
		return 0;	/* fails the transfer */
	k->answer = xreallocarray(k->answer, k->answerlen + n + 1, 1);
	memcpy(k->answer + k->answerlen, buf, n);
	k->answerlen += n;
	k->answer[k->answerlen] = '\0';
	return n;
}

static void
khttp_done(CURL *easy, CURLcode rc, void *arg)
{
	struct khttp *k = arg;
	struct curl_slist *h;
	long status = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curlev_remove(easy);
	curl_easy_cleanup(easy);
	for (h = k->headers; h != NULL; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(k->headers);
	k->cb(k->arg, rc, status, k->answer ? k->answer : "", k->answerlen,
	    rc == CURLE_OK ? "" : k->errbuf[0] ? k->errbuf :
	    curl_easy_strerror(rc));
	if (k->answer != NULL)
		sodium_memzero(k->answer, k->answerlen);
	free(k->answer);
	free(k);
}

int
khttp_request(const char *path, const char *authorization, const char *post,
    long timeout, khttp_cb cb, void *arg)
{
	return khttp_request_as("ghp", path, authorization, post, timeout, cb,
	    arg);
}

int
khttp_request_as(const char *user_agent, const char *path,
    const char *authorization, const char *post, long timeout, khttp_cb cb,
    void *arg)
{
	struct khttp *k;
	char *line, *url;

	if (!curlev_usable(UPSTREAM_API))
		return -1;
	k = xcalloc(1, sizeof(*k));
	k->cb = cb;
	k->arg = arg;
	if ((k->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	xasprintf(&line, "Authorization: %s", authorization);
	k->headers = curl_slist_append(NULL, line);
	sodium_memzero(line, strlen(line));
	free(line);
	k->headers = curl_slist_append(k->headers,
	    "Accept: application/vnd.github+json");
	k->headers = curl_slist_append(k->headers,
	    "X-GitHub-Api-Version: 2022-11-28");
	k->headers = curl_slist_append(k->headers, "Expect:");
	if (post != NULL)
		k->headers = curl_slist_append(k->headers,
		    "Content-Type: application/json");
	xasprintf(&url, "%s%s", khttp_api, path);
	curlev_prepare(k->easy, url);
	free(url);
	curl_easy_setopt(k->easy, CURLOPT_USERAGENT, user_agent);
	curl_easy_setopt(k->easy, CURLOPT_HTTPHEADER, k->headers);
	if (post != NULL)
		curl_easy_setopt(k->easy, CURLOPT_COPYPOSTFIELDS, post);
	curl_easy_setopt(k->easy, CURLOPT_WRITEFUNCTION, khttp_write_cb);
	curl_easy_setopt(k->easy, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, k->errbuf);
	curl_easy_setopt(k->easy, CURLOPT_TIMEOUT, timeout);
	curlev_add(k->easy, khttp_done, k);
	return 0;
}

int
khttp_message(const char *body, size_t len, char *out, size_t outlen)
{
	const char *m;
	json_t *o;
	size_t i;
	int found = 0;

	out[0] = '\0';
	if ((o = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	if ((m = json_string_value(json_object_get(o, "message"))) != NULL) {
		(void)snprintf(out, outlen, "%s", m);
		found = 1;
	}
	json_decref(o);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '?';
	return found ? 0 : -1;
}
