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
/* Cached tokens and the earliest expiry among them, for status. */
size_t	mint_cached(const struct kh_inst *, int64_t *earliest);

#endif /* GHP_MINT_H */
