/*
 * metrics.c: Prometheus text at http://ADDR:PORT/metrics
 * ("metrics listen on ADDR port N").
 *
 * Served by the master with libevent's evhttp: an operator's endpoint on
 * its own listener, not client traffic.  A scrape asks every worker for
 * its numbers (MSG_METRICS_REQ), waits for all of them or a second,
 * adds them up and answers.  Workers that went away since are not
 * counted: counters are per worker lifetime, as Prometheus expects of a
 * restartable target (rate() copes with the resets).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "chan.h"
#include "log.h"
#include "master.h"
#include "metrics_wire.h"
#include "util.h"

#define METRICS_WAIT	1	/* seconds for workers to answer */

struct scrape {
	TAILQ_ENTRY(scrape) entry;
	struct evhttp_request *req;
	uint32_t	 reqid;
	int		 pending;
	struct event	*timer;
	json_t		*requests;	/* "route\tdecision\tstatus" -> n */
	uint64_t	 buckets[METRICS_STAGES][METRICS_BUCKETS];
	uint64_t	 count[METRICS_STAGES];
	uint64_t	 sum_usec[METRICS_STAGES];
	uint64_t	 hits, misses;
	uint64_t	 tunnels, tunnel_bytes;
	json_t		*ratelimit;	/* owner -> remaining (min) */
};

static TAILQ_HEAD(, scrape) scrapes = TAILQ_HEAD_INITIALIZER(scrapes);
static struct evhttp	*metrics_http;
static uint32_t		 metrics_reqid;

static void
metrics_add_requests(struct scrape *s, json_t *list)
{
	json_t *row;
	char key[64];
	size_t i;

	json_array_foreach(list, i, row) {
		if (!json_is_array(row) || json_array_size(row) != 4)
			continue;
		(void)snprintf(key, sizeof(key), "%s\t%s\t%lld",
		    json_string_value(json_array_get(row, 0)) ?: "",
		    json_string_value(json_array_get(row, 1)) ?: "",
		    (long long)json_integer_value(json_array_get(row, 2)));
		json_object_set_new(s->requests, key, json_integer(
		    json_integer_value(json_object_get(s->requests, key)) +
		    json_integer_value(json_array_get(row, 3))));
	}
}

static void
metrics_add_stages(struct scrape *s, json_t *stages)
{
	json_t *st, *b;
	size_t i, k;

	for (i = 0; i < METRICS_STAGES; i++) {
		if ((st = json_object_get(stages, metrics_stage_names[i])) ==
		    NULL)
			continue;
		b = json_object_get(st, "buckets");
		for (k = 0; k < METRICS_BUCKETS; k++)
			s->buckets[i][k] += (uint64_t)json_integer_value(
			    json_array_get(b, k));
		s->count[i] += (uint64_t)json_integer_value(
		    json_object_get(st, "count"));
		s->sum_usec[i] += (uint64_t)json_integer_value(
		    json_object_get(st, "sum_usec"));
	}
}

static void
metrics_add(struct scrape *s, const char *text, size_t len)
{
	json_t *o, *v, *old;
	const char *k;

	if ((o = json_loadb(text, len, 0, NULL)) == NULL)
		return;
	metrics_add_requests(s, json_object_get(o, "requests"));
	metrics_add_stages(s, json_object_get(o, "stages"));
	s->hits += (uint64_t)json_integer_value(json_object_get(o,
	    "cache_hits"));
	s->tunnels += (uint64_t)json_integer_value(json_object_get(o,
	    "tunnels"));
	s->tunnel_bytes += (uint64_t)json_integer_value(json_object_get(o,
	    "tunnel_bytes"));
	s->misses += (uint64_t)json_integer_value(json_object_get(o,
	    "cache_misses"));
	json_object_foreach(json_object_get(o, "ratelimit"), k, v) {
		old = json_object_get(s->ratelimit, k);
		if (old == NULL || json_integer_value(v) <
		    json_integer_value(old))
			json_object_set(s->ratelimit, k, v);
	}
	json_decref(o);
}

/* A label value, escaped as the exposition format wants. */
static void
metrics_label(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

static void
metrics_render_requests(struct scrape *s, struct evbuffer *b)
{
	const char *key;
	json_t *v;
	char route[16], decision[16];
	int status;

	evbuffer_add_printf(b, "# HELP ghp_requests_total Requests answered, "
	    "by route, decision and status.\n"
	    "# TYPE ghp_requests_total counter\n");
	json_object_foreach(s->requests, key, v) {
		if (sscanf(key, "%15[^\t]\t%15[^\t]\t%d", route, decision,
		    &status) != 3)
			continue;
		evbuffer_add_printf(b, "ghp_requests_total{route=\"%s\","
		    "decision=\"%s\",status=\"%d\"} %lld\n", route, decision,
		    status, (long long)json_integer_value(v));
	}
}

static void
metrics_render_stages(struct scrape *s, struct evbuffer *b)
{
	uint64_t cum;
	size_t i, k;

	evbuffer_add_printf(b, "# HELP ghp_proxy_decision_duration_seconds "
	    "Time spent in each stage of the request pipeline.\n"
	    "# TYPE ghp_proxy_decision_duration_seconds histogram\n");
	for (i = 0; i < METRICS_STAGES; i++) {
		for (cum = 0, k = 0; k < METRICS_BUCKETS; k++) {
			cum += s->buckets[i][k];
			evbuffer_add_printf(b,
			    "ghp_proxy_decision_duration_seconds_bucket{stage="
			    "\"%s\",le=\"%g\"} %llu\n", metrics_stage_names[i],
			    (double)metrics_bounds[k] / 1e6,
			    (unsigned long long)cum);
		}
		evbuffer_add_printf(b,
		    "ghp_proxy_decision_duration_seconds_bucket{stage=\"%s\","
		    "le=\"+Inf\"} %llu\n"
		    "ghp_proxy_decision_duration_seconds_sum{stage=\"%s\"} "
		    "%.6f\n"
		    "ghp_proxy_decision_duration_seconds_count{stage=\"%s\"} "
		    "%llu\n", metrics_stage_names[i],
		    (unsigned long long)s->count[i], metrics_stage_names[i],
		    (double)s->sum_usec[i] / 1e6, metrics_stage_names[i],
		    (unsigned long long)s->count[i]);
	}
}

static void
metrics_render(struct scrape *s, struct evbuffer *b)
{
	const char *k;
	json_t *v;

	evbuffer_add_printf(b, "# HELP ghp_generation Configuration "
	    "generation.\n# TYPE ghp_generation gauge\nghp_generation %d\n"
	    "# HELP ghp_workers Worker processes alive.\n"
	    "# TYPE ghp_workers gauge\nghp_workers %d\n",
	    master->generation, proc_count_live(ROLE_WORKER));
	metrics_render_requests(s, b);
	metrics_render_stages(s, b);
	evbuffer_add_printf(b, "# HELP ghp_token_cache_total Token look-ups "
	    "in the workers' caches.\n# TYPE ghp_token_cache_total counter\n"
	    "ghp_token_cache_total{result=\"hit\"} %llu\n"
	    "ghp_token_cache_total{result=\"miss\"} %llu\n",
	    (unsigned long long)s->hits, (unsigned long long)s->misses);
	evbuffer_add_printf(b, "# HELP ghp_proxy_tunnels_total CONNECT "
	    "tunnels opened to hosts that are not intercepted.\n"
	    "# TYPE ghp_proxy_tunnels_total counter\n"
	    "ghp_proxy_tunnels_total %llu\n"
	    "# HELP ghp_proxy_tunnel_bytes_total Bytes copied through them, "
	    "both ways.\n# TYPE ghp_proxy_tunnel_bytes_total counter\n"
	    "ghp_proxy_tunnel_bytes_total %llu\n",
	    (unsigned long long)s->tunnels,
	    (unsigned long long)s->tunnel_bytes);
	evbuffer_add_printf(b, "# HELP ghp_audit_records_lost_total Audit "
	    "records that could not be written (log audit ... unwritable "
	    "serve).\n# TYPE ghp_audit_records_lost_total counter\n"
	    "ghp_audit_records_lost_total %llu\n",
	    (unsigned long long)master->audit_lost);
	evbuffer_add_printf(b, "# HELP ghp_github_ratelimit_remaining "
	    "GitHub's X-RateLimit-Remaining, last seen per credential owner.\n"
	    "# TYPE ghp_github_ratelimit_remaining gauge\n");
	json_object_foreach(s->ratelimit, k, v) {
		evbuffer_add_printf(b, "ghp_github_ratelimit_remaining"
		    "{credential=\"");
		metrics_label(b, k);
		evbuffer_add_printf(b, "\"} %lld\n",
		    (long long)json_integer_value(v));
	}
}

static void
metrics_finish(struct scrape *s)
{
	struct evbuffer *b = evbuffer_new();

	TAILQ_REMOVE(&scrapes, s, entry);
	metrics_render(s, b);
	evhttp_add_header(evhttp_request_get_output_headers(s->req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(s->req, 200, "OK", b);
	evbuffer_free(b);
	event_free(s->timer);
	json_decref(s->requests);
	json_decref(s->ratelimit);
	free(s);
}

static void
metrics_timeout(int fd, short ev, void *arg)
{
	metrics_finish(arg);
}

void
metrics_reply(struct proc *p, const struct msg *m)
{
	struct scrape *s;

	TAILQ_FOREACH(s, &scrapes, entry) {
		if (s->reqid != m->hdr.reqid)
			continue;
		metrics_add(s, (const char *)m->data, m->len);
		if (--s->pending == 0)
			metrics_finish(s);
		return;
	}
}

static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	struct timeval tv = { METRICS_WAIT, 0 };
	struct scrape *s;
	struct proc *p;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET ||
	    strcmp(evhttp_request_get_uri(req), "/metrics") != 0) {
		evhttp_send_error(req, 404, "Not Found");
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->req = req;
	s->reqid = ++metrics_reqid;
	s->requests = json_object();
	s->ratelimit = json_object();
	s->timer = evtimer_new(master->base, metrics_timeout, s);
	TAILQ_INSERT_TAIL(&scrapes, s, entry);
	TAILQ_FOREACH(p, &master->procs, entry)
		if (p->role == ROLE_WORKER && p->chan != NULL &&
		    chan_send(p->chan, MSG_METRICS_REQ, 0, s->reqid, -1, NULL,
		    0) == 0)
			s->pending++;
	if (s->pending == 0)
		metrics_finish(s);
	else
		evtimer_add(s->timer, &tv);
}

void
metrics_init(const struct config *conf)
{
	struct evhttp_bound_socket *bs;

	if (conf->metrics_addr == NULL)
		return;
	if ((metrics_http = evhttp_new(master->base)) == NULL)
		fatalx("evhttp_new");
	/* Every method reaches the callback, which answers 404 but to GET. */
	evhttp_set_allowed_methods(metrics_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(metrics_http, 8192);
	evhttp_set_max_body_size(metrics_http, 0);
	evhttp_set_timeout(metrics_http, 10);
	evhttp_set_gencb(metrics_http, metrics_request_cb, NULL);
	if ((bs = evhttp_bind_socket_with_handle(metrics_http,
	    strcmp(conf->metrics_addr, "*") == 0 ? "::" :
	    strcmp(conf->metrics_addr, "localhost") == 0 ? "127.0.0.1" :
	    conf->metrics_addr, conf->metrics_port)) == NULL)
		fatalx("metrics listen on %s port %u: cannot bind",
		    conf->metrics_addr, conf->metrics_port);
	log_debug("metrics on %s port %u", conf->metrics_addr,
	    conf->metrics_port);
}
