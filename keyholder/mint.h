/*
 * mint.h: GitHub App installation tokens, minted and cached by the
 * keyholder.
 *
 * mint_get() asks for a token of an installation down-scoped to a set of
 * repositories (names within the installation's account, or all of
 * them) and permissions.  Tokens are cached by (App, installation,
 * repositories, permissions) until MINT_RENEW seconds before GitHub's
 * expires_at; concurrent asks for the same key share one mint (single
 * flight).  A mint that fails for a reason worth retrying (no
 * connection, a 5xx, a secondary rate limit) is tried again with
 * backoff, up to MINT_TRIES times; then, or at once for any other
 * refusal or for no answer within MINT_TIMEOUT, every waiter is told
 * why.  All of it fits in the time a worker waits (TCACHE_WAIT).  A
 * key that just failed answers the same failure for MINT_FAIL_HOLD
 * seconds rather than asking GitHub again.
 *
 * The JWT is made per mint by jwt.c, sent only to the configured API
 * upstream and zeroed after; tokens live in locked memory and are
 * zeroed when dropped.  The callback gets the token (or NULL and a
 * reason, never containing a secret); it must copy what it keeps.
 *
 * mint_parse() reads GitHub's answer to a mint; GitHub's error answers
 * are read by khttp_message().
 */
#ifndef GHP_MINT_H
#define GHP_MINT_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"

#define MINT_RENEW	300	/* seconds before expiry to mint anew */
#define MINT_TRIES	3
#define MINT_FAIL_HOLD	1	/* seconds a failure is answered again */
#define MINT_TIMEOUT	5	/* seconds for GitHub to answer a mint */
#define MINT_CACHE_MAX	1024	/* cached tokens */
#define MINT_TOKEN_MAX	256

/* What a mint's answer gives. */
struct mint_answer {
	char		 token[MINT_TOKEN_MAX];	/* secret: zero when done */
	size_t		 len;			/* strlen(token) */
	int64_t		 expires;		/* epoch seconds */
};

typedef void	(*mint_cb)(void *arg, const char *token, size_t len,
		    int64_t expires, const char *why);

struct event_base;

void	mint_init(struct event_base *, const struct config *);
/*
 * repos: a JSON array of repository names (without the account), or
 * NULL for all of the installation's; perms: a JSON object of GitHub
 * permission names to "read", "write" or "admin".  Neither is kept.
 */
void	mint_get(struct kh_inst *, const char *repos, const char *perms,
	    mint_cb, void *arg);
/*
 * GitHub's answer to POST /app/installations/{id}/access_tokens (status
 * 201), the len bytes of body (no NUL needed): {"token": "ghs_...",
 * "expires_at": "2026-11-23T13:00:00Z", "permissions": {...},
 * "repository_selection": ..., "repositories": [...]}; only "token" and
 * "expires_at" are read.  0 with *a: the token, 1 to MINT_TOKEN_MAX - 1
 * bytes of printable ASCII without space, NUL-terminated, and its
 * expiry, > 0 (not checked against the clock).  -1 when either is
 * missing or not so; *a is then all zero.  The parser's own copy of the
 * token is zeroed before it returns; *a's is the caller's to zero
 * (sodium_memzero).  Pure: no I/O, no state, no clock.
 */
int	mint_parse(const char *body, size_t len, struct mint_answer *a);
/* "YYYY-MM-DDTHH:MM:SSZ", UTC, to epoch seconds; -1 if it is not that. */
int64_t	mint_parse_time(const char *s);
/* Cached tokens and the earliest expiry among them, for status. */
size_t	mint_cached(const struct kh_inst *, int64_t *earliest);

#endif /* GHP_MINT_H */
