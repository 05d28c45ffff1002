/*
 * app.h: the GitHub Apps the keyholder mints installation tokens for
 * (the "app" blocks of ghp.conf), and which installation serves an
 * account.
 *
 * app_load() reads every App's private key, before the keyholder enters
 * its chroot: afterwards no key file is opened again.  An account is
 * served by the installations configured "for" it; failing those, by
 * the installations configured without an account.  Among several, the
 * one with the most rate-limit headroom wins, as last reported by the
 * workers from GitHub's X-RateLimit-* headers on answers to its tokens;
 * one that answered "rate limit exceeded" is passed over until its reset
 * (unless every one has).  An installation never used yet counts as
 * having all its headroom.
 */
#ifndef GHP_APP_H
#define GHP_APP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "config.h"

struct kh_app;

struct kh_inst {
	struct kh_app	*app;
	uint64_t	 id;
	char		*account;	/* "for" account, or NULL: any */
	long		 remaining;	/* X-RateLimit-Remaining, -1: unknown */
	int64_t		 reset;		/* X-RateLimit-Reset, epoch seconds */
	int64_t		 exhausted_until; /* epoch seconds, 0: not */
};

struct kh_app {
	char		*name;
	uint64_t	 id;
	EVP_PKEY	*key;
	struct kh_inst	*insts;
	size_t		 ninsts;
};

/* Load every App's key; -1 with err set on the first that fails. */
int		 app_load(const struct config *, char *err, size_t errlen);
size_t		 app_count(void);
struct kh_app	*app_at(size_t);
/* The installation that should mint for account, or NULL. */
struct kh_inst	*app_choose(const char *account, time_t now);
/* What a worker saw in an answer to one of inst's tokens. */
void		 app_ratelimit(uint64_t app_id, uint64_t inst_id,
		    long remaining, int64_t reset, int exhausted, time_t now);

#endif /* GHP_APP_H */
