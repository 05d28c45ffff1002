/*
 * khttp.h: the keyholder's own small requests to the API upstream (App
 * installation tokens, installation listings, GET /user), on curlev.
 *
 * One call makes one request with GitHub's usual headers and the given
 * Authorization, collects the answer (at most KHTTP_ANSWER_MAX bytes),
 * and calls back once with libcurl's result, the status and the body.
 * The Authorization header and the answer (which may hold a token) are
 * zeroed when the request is done, after the callback.
 *
 * khttp_message() reads GitHub's error answers, {"message": "...",
 * "documentation_url": "..."}, for mint.c and copilot.c.
 */
#ifndef GHP_KHTTP_H
#define GHP_KHTTP_H

#include <stddef.h>

#include <curl/curl.h>

#define KHTTP_ANSWER_MAX	(1024 * 1024)

/* why: libcurl's account of a failure, or "" when rc is CURLE_OK. */
typedef void	(*khttp_cb)(void *arg, CURLcode rc, long status,
		    const char *body, size_t len, const char *why);

/*
 * path is appended to the "upstream api" URL; post: a JSON body to POST,
 * or NULL for a GET.  -1 (and no callback) when the API host could not
 * be looked up at start.
 */
int	khttp_request(const char *path, const char *authorization,
	    const char *post, long timeout, khttp_cb, void *arg);
/* The same with another User-Agent than "ghp". */
int	khttp_request_as(const char *user_agent, const char *path,
	    const char *authorization, const char *post, long timeout,
	    khttp_cb, void *arg);
void	khttp_init(const char *api_url);
/*
 * The "message" of GitHub's error answer (the len bytes of body, no NUL
 * needed) into out, truncated to outlen - 1 bytes, each byte outside
 * printable ASCII (0x20-0x7e) made '?': fit for a log line and a
 * client's eyes, and valid UTF-8.  0; or -1 with out "" when body is
 * not a JSON object with a string "message".  Nothing but "message" is
 * copied out.  outlen > 0.  Pure: no I/O, no state, no locale.
 */
int	khttp_message(const char *body, size_t len, char *out, size_t outlen);

#endif /* GHP_KHTTP_H */
