/*
 * tcache.h: the worker's cache of resolved client tokens.
 *
 * Keyed by the token's SHA-256, never by the token.  An entry is either
 * pending (asked of the keyholder, requests waiting on it: one question
 * per token however many requests want it) or resolved (the keyholder's
 * answer, kept TCACHE_TTL seconds).  A resolved user token holds the
 * GitHub credential behind it, zeroed whenever the entry goes: on
 * expiry, eviction, revocation or a new keyholder channel.
 */
#ifndef GHP_TCACHE_H
#define GHP_TCACHE_H

#include <sys/queue.h>

#include <stdint.h>
#include <time.h>

#include "msg.h"
#include "scope.h"
#include "token.h"

#define TCACHE_TTL		5	/* seconds an answer is trusted */
#define TCACHE_MAX		4096	/* entries */
#define TCACHE_WAIT		15	/* seconds to wait for the keyholder
					   (which may be minting a token) */

struct tentry;

/*
 * What an answer holds: the GitHub credential behind a token, or (for a
 * user's token with the copilot permission) a Copilot token the
 * keyholder exchanged the owner's OAuth token for, or (TCACHE_INTERCEPT
 * + n) the credential of the n-th "intercept" block.  Several entries,
 * one token hash: a revocation drops them all.
 */
enum tcache_kind {
	TCACHE_GITHUB,
	TCACHE_COPILOT,
	TCACHE_INTERCEPT	/* + the "intercept" block's index */
};

/* Called once per waiter when its entry resolves (or fails). */
typedef void	(*tcache_cb)(const struct tentry *, void *);

struct tentry {
	uint8_t		 hash[TOKEN_HASH_LEN];
	enum tcache_kind kind;
	int		 pending;
	int		 status;	/* enum resolve_status */
	enum token_type	 type;
	int64_t		 token_id;
	int64_t		 expires;
	char		 owner[65];
	char		 prefix[TOKEN_DISPLAY_LEN + 1];
	char		 session[65];
	char		 login[40];	/* GitHub login behind it, or "" */
	uint64_t	 app_id;	/* an agent's: the App and */
	uint64_t	 inst_id;	/* installation of its credential */
	char		 why[200];	/* RESOLVE_MINT_FAILED: GitHub's reason */
	struct scope	 scope;
	char		*cred;		/* NUL-terminated; zeroed on free */
	size_t		 credlen;
	time_t		 fetched;	/* monotonic */
	uint32_t	 reqid;
	LIST_ENTRY(tentry) bucket;
	TAILQ_ENTRY(tentry) lru;
	TAILQ_HEAD(, twaiter) waiters;
};

struct twaiter {
	TAILQ_ENTRY(twaiter) entry;
	tcache_cb	 cb;
	void		*arg;
};

struct chan;
struct event_base;

struct config;
/* conf: the "intercept" blocks that TCACHE_INTERCEPT + n stands for. */
void	tcache_init(struct event_base *, const struct config *);
/* The keyholder channel to ask (NULL: none now; fails waiters). */
void	tcache_set_keyholder(struct chan *);
/*
 * Look a token up.  Calls cb at once when the answer is cached, or
 * later when the keyholder answers; the returned waiter may be
 * cancelled before that (the request went away).
 */
struct twaiter *tcache_lookup(const char *token, size_t len,
	    enum tcache_kind, tcache_cb, void *arg);
void	tcache_cancel(struct twaiter *);
/* From the keyholder channel. */
int	tcache_resolved(const struct msg *);
void	tcache_revoke(const uint8_t hash[TOKEN_HASH_LEN]);
size_t	tcache_size(void);

/* Drop the entries whose credential came from this installation. */
void	tcache_exhausted(const struct msg_kh_ratelimit *);
/* Tell the keyholder what GitHub said of an installation's rate limit. */
void	tcache_ratelimit(uint64_t app_id, uint64_t inst_id, long remaining,
	    int64_t reset, int exhausted);

#endif /* GHP_TCACHE_H */
