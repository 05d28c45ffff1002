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
 *
 * app_find() also discovers: for an account no installation serves, it
 * asks every App for its installations (GET /app/installations, the
 * first APP_DISCOVER_MAX) and remembers those it did not know, with
 * their accounts.  An account found nowhere is not asked about again
 * for APP_DISCOVER_HOLD seconds.  app_parse_installations() reads
 * GitHub's listing.
 */
#ifndef GHP_APP_H
#define GHP_APP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "config.h"

struct event_base;

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
	struct kh_inst	**insts;	/* each stays where it is */
	size_t		 ninsts;
};

#define APP_DISCOVER_MAX	100	/* installations listed per App */
#define APP_DISCOVER_HOLD	60	/* seconds an unknown account waits */
#define APP_DISCOVER_TIMEOUT	10	/* seconds for GitHub's list */
#define APP_ACCOUNT_MAX		39	/* GitHub's longest login */

/* An installation as GitHub lists it. */
struct app_listed {
	uint64_t	 id;
	char		 account[APP_ACCOUNT_MAX + 1];
};

/* in is NULL when none serves the account; why then says so. */
typedef void	(*app_found_cb)(void *arg, struct kh_inst *in,
		    const char *why);

/* Load every App's key; -1 with err set on the first that fails. */
int		 app_load(const struct config *, char *err, size_t errlen);
size_t		 app_count(void);
struct kh_app	*app_at(size_t);
/* The installation that should mint for account, or NULL. */
struct kh_inst	*app_choose(const char *account, time_t now);
/* The same, discovering installations when none is known; cb may be
 * called before app_find() returns. */
void		 app_find(const char *account, app_found_cb, void *arg);
void		 app_init(struct event_base *, const struct config *);
/*
 * GitHub's answer to GET /app/installations (status 200), the len bytes
 * of body (no NUL needed): a JSON array of {"id": N, "account":
 * {"login": L, ...}, ...}.  0 with the first max of them that have an
 * integer id > 0 and a login of 1 to APP_ACCOUNT_MAX bytes of printable
 * ASCII without space in out[0..*n - 1], in order (the others are
 * skipped, a listed id may come twice); -1 with *n 0 when body is not a
 * JSON array.  Pure: no I/O, no state.
 */
int		 app_parse_installations(const char *body, size_t len,
		    struct app_listed *out, size_t max, size_t *n);
/* What a worker saw in an answer to one of inst's tokens. */
void		 app_ratelimit(uint64_t app_id, uint64_t inst_id,
		    long remaining, int64_t reset, int exhausted, time_t now);

#endif /* GHP_APP_H */
