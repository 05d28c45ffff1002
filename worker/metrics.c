/*
 * metrics.c: see metrics.h.  Fixed-size tables, no allocation on the
 * request path; a label set beyond the table's size is counted as
 * "other" rather than dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"
#include "metrics_wire.h"
#include "tunnel.h"

#define METRICS_SERIES		128
#define METRICS_OWNERS		64

_Static_assert(STAGE_MAX == METRICS_STAGES, "stages and their names");

struct series {
	char		 route[16];
	char		 decision[16];
	int		 status;
	uint64_t	 count;
};

struct histogram {
	uint64_t	 buckets[METRICS_BUCKETS];	/* not cumulative */
	uint64_t	 count;
	uint64_t	 sum_usec;
};

struct ratelimit {
	char		 owner[65];
	long		 remaining;
};

static struct series	 series[METRICS_SERIES];
static size_t		 nseries;
static struct histogram	 stages[STAGE_MAX];
static uint64_t		 cache_hits, cache_misses;
static struct ratelimit	 limits[METRICS_OWNERS];
static size_t		 nlimits;

void
metrics_request(const char *route, const char *decision, int status)
{
	size_t i;

	for (i = 0; i < nseries; i++)
		if (series[i].status == status &&
		    strcmp(series[i].route, route) == 0 &&
		    strcmp(series[i].decision, decision) == 0)
			break;
	if (i == nseries) {
		if (nseries == METRICS_SERIES)
			i = METRICS_SERIES - 1;		/* the last: "other" */
		else
			nseries++;
		(void)snprintf(series[i].route, sizeof(series[i].route),
		    "%s", i == METRICS_SERIES - 1 ? "other" : route);
		(void)snprintf(series[i].decision, sizeof(series[i].decision),
		    "%s", decision);
		series[i].status = i == METRICS_SERIES - 1 ? 0 : status;
	}
	series[i].count++;
}

void
metrics_stage(enum metrics_stage s, uint64_t usec)
{
	struct histogram *h = &stages[s];
	size_t b;

	for (b = 0; b < METRICS_BUCKETS && usec > metrics_bounds[b]; b++)
		;
	if (b < METRICS_BUCKETS)
		h->buckets[b]++;
	h->count++;
	h->sum_usec += usec;
}

void
metrics_cache(int hit)
{
	if (hit)
		cache_hits++;
	else
		cache_misses++;
}

void
metrics_ratelimit(const char *owner, long remaining)
{
	size_t i;

	for (i = 0; i < nlimits; i++)
		if (strcmp(limits[i].owner, owner) == 0)
			break;
	if (i == nlimits) {
		if (nlimits == METRICS_OWNERS)
			return;
		nlimits++;
		(void)snprintf(limits[i].owner, sizeof(limits[i].owner), "%s",
		    owner);
	}
	limits[i].remaining = remaining;
}

char *
metrics_json(void)
{
	json_t *o, *req, *st, *rl, *b;
	uint64_t tunnels, tunnel_bytes;
	size_t i, k;
	char *s;

	req = json_array();
	for (i = 0; i < nseries; i++)
		json_array_append_new(req, json_pack("[s, s, i, I]",
		    series[i].route, series[i].decision, series[i].status,
		    (json_int_t)series[i].count));
	st = json_object();
	for (i = 0; i < STAGE_MAX; i++) {
		b = json_array();
		for (k = 0; k < METRICS_BUCKETS; k++)
			json_array_append_new(b, json_integer(
			    (json_int_t)stages[i].buckets[k]));
		json_object_set_new(st, metrics_stage_names[i], json_pack("{s:o, s:I, "
		    "s:I}", "buckets", b, "count", (json_int_t)stages[i].count,
		    "sum_usec", (json_int_t)stages[i].sum_usec));
	}
	rl = json_object();
	for (i = 0; i < nlimits; i++)
		json_object_set_new(rl, limits[i].owner,
		    json_integer(limits[i].remaining));
	tunnel_counts(&tunnels, &tunnel_bytes);
	o = json_pack("{s:o, s:o, s:I, s:I, s:o, s:I, s:I}", "requests", req,
	    "stages", st, "cache_hits", (json_int_t)cache_hits,
	    "cache_misses", (json_int_t)cache_misses, "ratelimit", rl,
	    "tunnels", (json_int_t)tunnels, "tunnel_bytes",
	    (json_int_t)tunnel_bytes);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}
