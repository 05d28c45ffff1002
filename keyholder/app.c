/*
 * app.c: see app.h.
 */
#include <sys/queue.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "app.h"
#include "curlev.h"
#include "jwt.h"
#include "khttp.h"
#include "log.h"
#include "util.h"

static struct kh_app	*apps;
static size_t		 napps;

static struct kh_inst *
app_inst_add(struct kh_app *a, uint64_t id, const char *account)
{
	struct kh_inst *in;

	in = xcalloc(1, sizeof(*in));
	in->app = a;
	in->id = id;
	in->account = account ? xstrdup(account) : NULL;
	in->remaining = -1;
	a->insts = xreallocarray(a->insts, a->ninsts + 1, sizeof(*a->insts));
	a->insts[a->ninsts++] = in;
	return in;
}

int
app_load(const struct config *conf, char *err, size_t errlen)
{
	const struct app_conf *ac;
	const struct app_installation *ai;
	struct kh_app *a;
	char why[512];
	EVP_PKEY *key;
	size_t n = 0, i;

	TAILQ_FOREACH(ac, &conf->apps, entry)
		n++;
	apps = xcalloc(n ? n : 1, sizeof(*apps));
	TAILQ_FOREACH(ac, &conf->apps, entry) {
		if ((key = jwt_load_key(ac->private_key, why,
		    sizeof(why))) == NULL) {
			(void)snprintf(err, errlen, "app \"%s\": %s", ac->name,
			    why);
			return -1;
		}
		a = &apps[napps++];
		a->name = xstrdup(ac->name);
		a->id = ac->id;
		a->key = key;
		TAILQ_FOREACH(ai, &ac->installations, entry)
			(void)app_inst_add(a, ai->id, ai->owner);
	}
	for (i = 0; i < napps; i++)
		log_debug("app \"%s\": %zu installations configured",
		    apps[i].name, apps[i].ninsts);
	return 0;
}

size_t
app_count(void)
{
	return napps;
}

struct kh_app *
app_at(size_t i)
{
	return i < napps ? &apps[i] : NULL;
}

/* Headroom for choosing: unknown is full; exhausted is none. */
static long
app_headroom(const struct kh_inst *in, time_t now)
{
	if (in->exhausted_until > (int64_t)now)
		return -1;
	if (in->remaining < 0 || (in->reset != 0 && in->reset <= now))
		return LONG_MAX;
	return in->remaining;
}

static struct kh_inst *
app_best(const char *account, time_t now)
{
	struct kh_inst *best = NULL, *in;
	long room, best_room = -2;
	size_t i, j;

	for (i = 0; i < napps; i++) {
		for (j = 0; j < apps[i].ninsts; j++) {
			in = apps[i].insts[j];
			if (account != NULL ? in->account == NULL ||
			    strcasecmp(in->account, account) != 0 :
			    in->account != NULL)
				continue;
			room = app_headroom(in, now);
			if (room > best_room) {
				best = in;
				best_room = room;
			}
		}
	}
	return best;
}

struct kh_inst *
app_choose(const char *account, time_t now)
{
	struct kh_inst *in;

	if ((in = app_best(account, now)) != NULL)
		return in;
	return app_best(NULL, now);
}

void
app_ratelimit(uint64_t app_id, uint64_t inst_id, long remaining,
    int64_t reset, int exhausted, time_t now)
{
	struct kh_inst *in;
	size_t i, j;

	for (i = 0; i < napps; i++) {
		if (apps[i].id != app_id)
			continue;
		for (j = 0; j < apps[i].ninsts; j++) {
			in = apps[i].insts[j];
			if (in->id != inst_id)
				continue;
			if (remaining >= 0)
				in->remaining = remaining;
			if (reset > 0)
				in->reset = reset;
			if (exhausted) {
				in->exhausted_until = reset > now ? reset :
				    (int64_t)now + 60;
				log_info("app \"%s\" installation %llu: rate "
				    "limit exhausted until %lld", apps[i].name,
				    (unsigned long long)inst_id,
				    (long long)in->exhausted_until);
			} else if (remaining > 0)
				in->exhausted_until = 0;
		}
	}
}

/* --- discovery: GET /app/installations --- */

struct find_waiter {
	TAILQ_ENTRY(find_waiter) entry;
	app_found_cb	 cb;
	void		*arg;
};

struct discovery {
	TAILQ_ENTRY(discovery) entry;
	char		 account[APP_ACCOUNT_MAX + 1];
	time_t		 done;		/* 0: asking */
	int		 pending;	/* Apps yet to answer */
	TAILQ_HEAD(, find_waiter) waiters;
};

struct listing {
	struct kh_app	*app;
	struct discovery *d;
};

static TAILQ_HEAD(, discovery) discoveries =
    TAILQ_HEAD_INITIALIZER(discoveries);

void
app_init(struct event_base *base, const struct config *conf)
{
	curlev_init(base, conf);
	khttp_init(conf->upstream[UPSTREAM_API]);
}

static int
app_known(const struct kh_app *a, uint64_t id)
{
	size_t j;

	for (j = 0; j < a->ninsts; j++)
		if (a->insts[j]->id == id)
			return 1;
	return 0;
}

/* A login: 1 to APP_ACCOUNT_MAX of printable ASCII, no space. */
static int
app_account_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > APP_ACCOUNT_MAX)
		return 0;
	return visible_ascii(s, n);
}

int
app_parse_installations(const char *body, size_t len, struct app_listed *out,
    size_t max, size_t *n)
{
	json_t *list, *v;
	const char *login;
	json_int_t id;
	size_t i;

	*n = 0;
	if ((list = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	if (!json_is_array(list)) {
		json_decref(list);
		return -1;
	}
	json_array_foreach(list, i, v) {
		if (*n == max)
			break;
		id = json_integer_value(json_object_get(v, "id"));
		login = json_string_value(json_object_get(json_object_get(v,
		    "account"), "login"));
		if (id <= 0 || !app_account_ok(login))
			continue;
		out[*n].id = (uint64_t)id;
		(void)snprintf(out[*n].account, sizeof(out[*n].account), "%s",
		    login);
		(*n)++;
	}
	json_decref(list);
	return 0;
}

/* Remember the installations of a listing that were not known. */
static void
app_learn(struct kh_app *a, const char *body, size_t len)
{
	struct app_listed l[APP_DISCOVER_MAX];
	size_t i, n;

	if (app_parse_installations(body, len, l, APP_DISCOVER_MAX, &n) ==
	    -1) {
		log_warnx("app \"%s\": GET /app/installations: not a list",
		    a->name);
		return;
	}
	for (i = 0; i < n; i++) {
		if (app_known(a, l[i].id))
			continue;
		(void)app_inst_add(a, l[i].id, l[i].account);
		log_info("app \"%s\": found installation %llu on %s", a->name,
		    (unsigned long long)l[i].id, l[i].account);
	}
}

static void
app_discovered(struct discovery *d)
{
	struct find_waiter *w;
	struct kh_inst *in;
	char why[128];

	d->done = time(NULL);
	in = app_choose(d->account, d->done);
	(void)snprintf(why, sizeof(why), "no installation of a GitHub App "
	    "ghp knows is on %s", d->account);
	while ((w = TAILQ_FIRST(&d->waiters)) != NULL) {
		TAILQ_REMOVE(&d->waiters, w, entry);
		w->cb(w->arg, in, in ? NULL : why);
		free(w);
	}
}

static void
app_listing_done(void *arg, CURLcode rc, long status, const char *body,
    size_t len, const char *why)
{
	struct listing *l = arg;

	if (rc != CURLE_OK)
		log_warnx("app \"%s\": GET /app/installations: %s",
		    l->app->name, why);
	else if (status != 200)
		log_warnx("app \"%s\": GET /app/installations: status %ld",
		    l->app->name, status);
	else
		app_learn(l->app, body, len);
	if (--l->d->pending == 0)
		app_discovered(l->d);
	free(l);
}

static int
app_list(struct kh_app *a, struct discovery *d)
{
	struct listing *l;
	char jwt[JWT_MAX], *auth, path[64];
	int r;

	if (jwt_sign(a->key, a->id, time(NULL), jwt, sizeof(jwt)) == -1)
		return -1;
	xasprintf(&auth, "Bearer %s", jwt);
	sodium_memzero(jwt, sizeof(jwt));
	(void)snprintf(path, sizeof(path), "/app/installations?per_page=%d",
	    APP_DISCOVER_MAX);
	l = xcalloc(1, sizeof(*l));
	l->app = a;
	l->d = d;
	d->pending++;
	r = khttp_request(path, auth, NULL, APP_DISCOVER_TIMEOUT,
	    app_listing_done, l);
	sodium_memzero(auth, strlen(auth));
	free(auth);
	if (r == -1) {
		d->pending--;
		free(l);
	}
	return r;
}

static struct discovery *
app_discovery(const char *account)
{
	struct discovery *d;

	TAILQ_FOREACH(d, &discoveries, entry)
		if (strcasecmp(d->account, account) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	(void)snprintf(d->account, sizeof(d->account), "%s", account);
	TAILQ_INIT(&d->waiters);
	TAILQ_INSERT_TAIL(&discoveries, d, entry);
	return d;
}

void
app_find(const char *account, app_found_cb cb, void *arg)
{
	struct find_waiter *w;
	struct discovery *d;
	struct kh_inst *in;
	time_t now = time(NULL);
	char why[128];
	size_t i;

	if ((in = app_choose(account, now)) != NULL || napps == 0 ||
	    strlen(account) > APP_ACCOUNT_MAX) {
		(void)snprintf(why, sizeof(why), "no GitHub App installation "
		    "is configured for %s", account);
		cb(arg, in, in ? NULL : why);
		return;
	}
	d = app_discovery(account);
	if (d->pending == 0 && d->done != 0 &&
	    now - d->done < APP_DISCOVER_HOLD) {
		(void)snprintf(why, sizeof(why), "no installation of a GitHub "
		    "App ghp knows is on %s", account);
		cb(arg, NULL, why);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&d->waiters, w, entry);
	if (d->pending > 0)
		return;
	d->done = 0;
	for (i = 0; i < napps; i++)
		(void)app_list(&apps[i], d);
	if (d->pending == 0)
		app_discovered(d);
}
