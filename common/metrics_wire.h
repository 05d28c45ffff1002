/*
 * metrics_wire.h: what a worker's MSG_METRICS answer means, shared by
 * the worker that counts (worker/metrics.c) and the master that adds the
 * answers up and renders /metrics (master/metrics.c).
 *
 * The answer is JSON:
 *	{"requests": [[route, decision, status, count], ...],
 *	 "stages": {name: {"buckets": [n, ...], "count": n, "sum_usec": n}},
 *	 "cache_hits": n, "cache_misses": n,
 *	 "ratelimit": {owner: remaining, ...}}
 * Histogram buckets are per bucket (not cumulative), with the upper
 * bounds below in microseconds; observations above the last bound are
 * only in count and sum.
 */
#ifndef GHP_METRICS_WIRE_H
#define GHP_METRICS_WIRE_H

#include <stdint.h>

#define METRICS_BUCKETS	14
#define METRICS_STAGES	6

static const uint64_t metrics_bounds[METRICS_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};

static const char *const metrics_stage_names[METRICS_STAGES] = {
	"parse", "token", "scope", "credential", "upstream", "total"
};

#endif /* GHP_METRICS_WIRE_H */
