/*
 * copilot.h: Copilot tokens, for users whose stored credential is a
 * GitHub OAuth token.
 *
 * The keyholder exchanges the OAuth token with
 * GET {upstream api}/copilot_internal/v2/token, whose answer is
 * {"token": ..., "expires_at": epoch seconds, "refresh_in": seconds},
 * keeps the Copilot token (keyed by the OAuth token's SHA-256, never by
 * the token), and hands it out until refresh_in has nearly run out (a
 * tenth of it before, at most a minute).  A request after that starts
 * a new exchange; while the kept token still has
 * COPILOT_SPARE seconds to live it is handed out meanwhile, else the
 * request waits for the exchange.  One exchange per OAuth token at a
 * time.  A failed exchange is remembered COPILOT_FAIL_MS, so that a
 * burst of requests does not become a burst of exchanges.
 *
 * Workers only ever see the Copilot token; the OAuth token is sent to
 * the API upstream only, and the copies made for that are zeroed.
 */
#ifndef GHP_COPILOT_H
#define GHP_COPILOT_H

#include <stddef.h>
#include <stdint.h>

#define COPILOT_TIMEOUT		5	/* seconds for an exchange */
#define COPILOT_FAIL_MS		1000	/* a failure is remembered */
#define COPILOT_SPARE		60	/* seconds a kept token must have */
#define COPILOT_TOKEN_MAX	4096
#define COPILOT_MAX		1024	/* OAuth tokens remembered */
#define COPILOT_PATH		"/copilot_internal/v2/token"

/*
 * token: the Copilot token (len bytes) and when it expires (epoch), or
 * NULL with why (GitHub's message, or what failed).
 */
typedef void	(*copilot_cb)(void *arg, const char *token, size_t len,
		    int64_t expires, const char *why);

/* Is this stored credential one Copilot can be had for (gho_, ghu_)? */
int	copilot_oauth(const unsigned char *cred, size_t len);
/* Calls cb at once when a kept token will do, else after the exchange. */
void	copilot_get(const unsigned char *cred, size_t len, copilot_cb,
	    void *arg);

#endif /* GHP_COPILOT_H */
