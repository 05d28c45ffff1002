/*
 * metrics.h: a worker's counters and histograms.
 *
 * The worker counts; the master, asked for /metrics, collects every
 * worker's numbers (MSG_METRICS_REQ / MSG_METRICS, JSON) and adds them
 * up.  Nothing here is labelled with anything secret: routes, decisions,
 * status codes, pipeline stages, and credential owners' names.
 */
#ifndef GHP_METRICS_H
#define GHP_METRICS_H

#include <stdint.h>

enum metrics_stage {
	STAGE_PARSE,		/* head received and parsed */
	STAGE_TOKEN,		/* token resolved (cache or keyholder) */
	STAGE_SCOPE,		/* scope check */
	STAGE_CREDENTIAL,	/* credential swapped, transfer set up */
	STAGE_UPSTREAM,		/* upstream's time to the response head */
	STAGE_TOTAL,		/* the whole request */
	STAGE_MAX
};

void	metrics_request(const char *route, const char *decision, int status);
void	metrics_stage(enum metrics_stage, uint64_t usec);
void	metrics_cache(int hit);
void	metrics_ratelimit(const char *owner, long remaining);
/* The JSON for MSG_METRICS (malloc'd). */
char	*metrics_json(void);

#endif /* GHP_METRICS_H */
