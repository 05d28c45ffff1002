/*
 * identity.h: the GitHub login behind a stored credential, for the
 * audit and access logs.
 *
 * Looked up once with GET /user on the API upstream and cached, keyed by
 * the credential's SHA-256 (never by the credential), for as long as the
 * keyholder runs.  Requests that need a login not known yet wait for
 * one lookup (at most IDENTITY_TIMEOUT seconds); a lookup that fails
 * gives no login, and is tried again after IDENTITY_RETRY seconds.
 * The credential is sent only to the configured API upstream, and the
 * copy in the request headers is zeroed after.
 */
#ifndef GHP_IDENTITY_H
#define GHP_IDENTITY_H

#include <stddef.h>

#define IDENTITY_TIMEOUT	5	/* seconds for GET /user */
#define IDENTITY_RETRY		60	/* seconds before asking again */
#define IDENTITY_MAX		4096	/* credentials remembered */
#define IDENTITY_LOGIN_MAX	39	/* GitHub's longest login */
#define IDENTITY_USER_AGENT	"ghp-identity"

struct config;

/* login is NULL when it is not known; copy what you keep. */
typedef void	(*identity_cb)(void *arg, const char *login);

void	identity_init(const struct config *);
/* Calls cb at once when the login is known (or known to be unknown). */
void	identity_get(const unsigned char *cred, size_t len, identity_cb,
	    void *arg);
/*
 * GitHub's answer to GET /user (status 200), the len bytes of body (no
 * NUL needed): {"login": "octocat", "id": ..., ...}.  0 with the login
 * in login (IDENTITY_LOGIN_MAX + 1 bytes): 1 to IDENTITY_LOGIN_MAX
 * ASCII letters, digits, '-', '_', '[' or ']', NUL-terminated; -1 with
 * login "" when there is no such login.  Only "login" is read.  Pure:
 * no I/O, no state, no locale.
 */
int	identity_parse(const char *body, size_t len, char *login);

#endif /* GHP_IDENTITY_H */
