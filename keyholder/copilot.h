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
 *
 * copilot_parse() reads GitHub's answer to the exchange.
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
#define COPILOT_WHY_MAX		160	/* a reason, NUL included */

/* What an exchange's answer gives. */
struct copilot_answer {
	char		 token[COPILOT_TOKEN_MAX + 1]; /* secret: zero it */
	size_t		 len;			/* strlen(token) */
	int64_t		 expires;		/* epoch seconds, > now */
	int64_t		 refresh_ms;		/* from now: exchange again */
};

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
/*
 * GitHub's answer to the exchange: its status and the len bytes of body
 * (no NUL needed), read at now (epoch seconds, >= 0).  Status 200 with
 * {"token": T, "expires_at": X, "refresh_in": R, ...} (no key twice)
 * gives 0 and *a: T, 1 to COPILOT_TOKEN_MAX bytes of printable ASCII
 * without space, NUL-terminated; X, an integer > now; and when to
 * exchange again, in ms from now: R (or, when it is not an integer
 * > 0, X - now; at most X - now) less a tenth, at most a minute, so
 * 0 < refresh_ms <= (X - now) * 1000.  Anything else gives -1, *a all
 * zero, and why (whylen > 0; truncated to fit): for status 200 one of
 * "the answer is not JSON", "the answer has no usable token", "the
 * answer's expires_at is missing or past"; else "GitHub answered
 * STATUS", then ": " and GitHub's message (khttp_message()) when the
 * body has one.  why is printable ASCII and holds nothing of the
 * answer but that message.  The parser's own copy of the token is
 * zeroed before it returns; *a's is the caller's to zero
 * (sodium_memzero).  Pure: no I/O, no state, no clock.
 */
int	copilot_parse(long status, const char *body, size_t len, int64_t now,
	    struct copilot_answer *a, char *why, size_t whylen);

#endif /* GHP_COPILOT_H */
