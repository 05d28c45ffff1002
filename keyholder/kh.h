/*
 * kh.h: the keyholder's modules and the state they share.
 *
 * keyholder.c  the process: start-up, channels, key pair, certificate
 *              requests
 * ca.c         the interception CA (ca.h)
 * ctl.c        control commands relayed by the master (tokens,
 *              credentials), answered as JSON or text
 * resolve.c    token resolution for workers, revocation broadcast
 * app.c        the GitHub Apps and their installations (app.h)
 * mint.c       installation tokens, minted and cached (mint.h)
 * jwt.c        the JWTs that mint them (jwt.h)
 * identity.c   the login behind a stored credential (identity.h)
 * khttp.c      its own requests to the API upstream (khttp.h)
 * store*.c     storage (store.h)
 */
#ifndef GHP_KH_H
#define GHP_KH_H

#include <sys/queue.h>

#include <stdint.h>

#include <sodium.h>

#include "msg.h"
#include "store.h"

struct chan;
struct event_base;

struct kh_worker {
	TAILQ_ENTRY(kh_worker) entry;
	uint32_t	 id;
	struct chan	*chan;
	uint32_t	 revoke_acked;	/* last revocation it confirmed */
};
TAILQ_HEAD(kh_worker_list, kh_worker);

struct config;

struct keyholder {
	struct event_base *base;
	const struct config *conf;	/* as it was when the keyholder started */
	struct chan	*master;
	struct kh_worker_list workers;
	struct store	*store;
	unsigned char	 box_pk[crypto_box_PUBLICKEYBYTES];
	unsigned char	*box_sk;	/* sodium_malloc'd, locked */
};

extern struct keyholder kh;

struct kh_worker *kh_worker_by_id(uint32_t);

/* keyholder.c: a worker's request for a leaf certificate (ca.h). */
int	kh_cert(struct kh_worker *, const struct msg *);

/* ctl.c: a command from the master; answers on kh.master. */
void	kh_ctl(uint32_t client, const char *json, size_t len);
void	kh_ctl_answer(uint32_t client, int status, const char *text);

/* resolve.c */
int	kh_resolve(struct kh_worker *, const struct msg *);
int	kh_copilot(struct kh_worker *, const struct msg *);
int	kh_intercept(struct kh_worker *, const struct msg *);
int	kh_revoke_ack(struct kh_worker *, const struct msg *);
/* Tell every worker to drop hash; answer client when all have. */
void	kh_revoke_broadcast(uint32_t client, const uint8_t hash[32],
	    const char *done_text);
void	kh_worker_gone(struct kh_worker *);

/* Open a sealed credential into out (at most outlen); its length or -1. */
int	kh_open_credential(const uint8_t *sealed, size_t len,
	    unsigned char *out, size_t outlen);

#endif /* GHP_KH_H */
