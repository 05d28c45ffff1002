/*
 * app.c: see app.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "jwt.h"
#include "log.h"
#include "util.h"

static struct kh_app	*apps;
static size_t		 napps;

static void
app_add(const struct app_conf *ac, EVP_PKEY *key)
{
	struct app_installation *ai;
	struct kh_app *a;
	size_t n = 0;

	apps = xreallocarray(apps, napps + 1, sizeof(*apps));
	a = &apps[napps++];
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(ac->name);
	a->id = ac->id;
	a->key = key;
	TAILQ_FOREACH(ai, &ac->installations, entry)
		n++;
	a->insts = xcalloc(n ? n : 1, sizeof(*a->insts));
	TAILQ_FOREACH(ai, &ac->installations, entry) {
		a->insts[a->ninsts].app = a;
		a->insts[a->ninsts].id = ai->id;
		a->insts[a->ninsts].account = ai->owner ?
		    xstrdup(ai->owner) : NULL;
		a->insts[a->ninsts].remaining = -1;
		a->ninsts++;
	}
}

int
app_load(const struct config *conf, char *err, size_t errlen)
{
	const struct app_conf *ac;
	char why[512];
	EVP_PKEY *key;

	TAILQ_FOREACH(ac, &conf->apps, entry) {
		if ((key = jwt_load_key(ac->private_key, why,
		    sizeof(why))) == NULL) {
			(void)snprintf(err, errlen, "app \"%s\": %s", ac->name,
			    why);
			return -1;
		}
		app_add(ac, key);
	}
	/* The insts arrays are final: repoint them at their apps. */
	for (size_t i = 0; i < napps; i++)
		for (size_t j = 0; j < apps[i].ninsts; j++)
			apps[i].insts[j].app = &apps[i];
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
			in = &apps[i].insts[j];
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
			in = &apps[i].insts[j];
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
