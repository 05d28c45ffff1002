/*
 * resolve.c: what workers ask of the keyholder: who a client token is,
 * and the GitHub credential behind it: for a user's token the stored
 * one, for an agent's an installation token minted for exactly its
 * repositories and permissions (mint.h); and the revocation broadcast
 * that makes a revoked token stop working in every worker before ghpctl
 * is told it is done.
 *
 * A worker is identified by the channel the request came on; nothing in
 * the request says which worker it is.  The token arrives in full, is
 * checked for form, hashed, and forgotten (zeroed) at once.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "app.h"
#include "chan.h"
#include "compat.h"
#include "copilot.h"
#include "identity.h"
#include "kh.h"
#include "log.h"
#include "mint.h"
#include "token.h"
#include "util.h"
#include "web.h"

#define REVOKE_WAIT	5	/* seconds for every worker to confirm */
#define CRED_MAX	512

struct revoke {
	TAILQ_ENTRY(revoke) entry;
	uint32_t	 client;
	uint32_t	 reqid;
	int		 pending;
	char		*done;
	struct event	*timer;
};

static TAILQ_HEAD(, revoke) revokes = TAILQ_HEAD_INITIALIZER(revokes);
static uint32_t next_revoke;

int
kh_open_credential(const uint8_t *sealed, size_t len, unsigned char *out,
    size_t outlen)
{
	if (len < crypto_box_SEALBYTES ||
	    len - crypto_box_SEALBYTES >= outlen)
		return -1;
	if (crypto_box_seal_open(out, sealed, len, kh.box_pk,
	    kh.box_sk) != 0)
		return -1;
	out[len - crypto_box_SEALBYTES] = '\0';
	return (int)(len - crypto_box_SEALBYTES);
}

static void
resolve_answer(struct kh_worker *kw, uint32_t reqid, int status,
    const struct token_record *t, const char *scope,
    const unsigned char *cred, size_t credlen)
{
	uint8_t buf[MSG_MAX_PAYLOAD];
	struct msg_kh_resolved r;
	size_t slen = scope ? strlen(scope) : 0;

	memset(&r, 0, sizeof(r));
	r.status = status;
	if (t != NULL) {
		r.type = t->type;
		r.token_id = t->id;
		r.expires = t->expires;
	}
	if (sizeof(r) + slen + credlen > sizeof(buf)) {
		r.status = RESOLVE_ERROR;
		slen = credlen = 0;
	}
	r.scope_len = (uint32_t)slen;
	r.cred_len = (uint32_t)credlen;
	memcpy(buf, &r, sizeof(r));
	if (slen > 0)
		memcpy(buf + sizeof(r), scope, slen);
	if (credlen > 0)
		memcpy(buf + sizeof(r) + slen, cred, credlen);
	chan_send(kw->chan, MSG_KH_RESOLVED, kw->id, reqid, -1, buf,
	    sizeof(r) + slen + credlen);
	sodium_memzero(buf, sizeof(r) + slen + credlen);
}

/*
 * in: the installation an agent's credential came from, or NULL; why:
 * why none could be minted, or NULL; login: the GitHub login behind a
 * user's credential, or NULL.
 */
static char *
resolve_scope_json(const struct token_record *t, const struct kh_inst *in,
    const char *why, const char *login)
{
	json_t *o;
	char *s;

	o = json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)t->id,
	    "owner", t->owner, "prefix", t->display,
	    "repos", json_loads(t->repos, 0, NULL),
	    "perms", json_loads(t->perms, 0, NULL));
	if (o == NULL)
		return NULL;
	if (t->session != NULL)
		json_object_set_new(o, "session", json_string(t->session));
	if (in != NULL) {
		json_object_set_new(o, "app", json_integer(
		    (json_int_t)in->app->id));
		json_object_set_new(o, "installation", json_integer(
		    (json_int_t)in->id));
	}
	if (why != NULL)
		json_object_set_new(o, "error", json_string(why));
	if (login != NULL)
		json_object_set_new(o, "login", json_string(login));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Look the token up; on success its record is in *t. */
static int
resolve_lookup(const struct msg *m, struct token_record *t)
{
	uint8_t hash[TOKEN_HASH_LEN];
	int r;

	if (token_parse((const char *)m->data, m->len) == TOKEN_NONE)
		return RESOLVE_UNKNOWN;
	token_hash((const char *)m->data, m->len, hash);
	if ((r = store_token_lookup(kh.store, hash, t)) == 1)
		return RESOLVE_UNKNOWN;
	if (r != 0) {
		log_warnx("resolve: %s", store_error(kh.store));
		return RESOLVE_ERROR;
	}
	if (t->revoked != 0)
		return RESOLVE_REVOKED;
	if (t->expires != 0 && t->expires <= (int64_t)time(NULL))
		return RESOLVE_EXPIRED;
	return RESOLVE_OK;
}

/*
 * An answer that had to wait (for GET /user, for a mint) is checked
 * again first: the token may have been revoked, and every worker told
 * so, while it waited.
 */
static int
resolve_recheck(const struct token_record *t)
{
	struct token_record now;
	int r, status = RESOLVE_OK;

	memset(&now, 0, sizeof(now));
	if ((r = store_token_lookup(kh.store, t->hash, &now)) == 1)
		status = RESOLVE_UNKNOWN;
	else if (r != 0)
		status = RESOLVE_ERROR;
	else if (now.revoked != 0)
		status = RESOLVE_REVOKED;
	else if (now.expires != 0 && now.expires <= (int64_t)time(NULL))
		status = RESOLVE_EXPIRED;
	token_record_free(&now);
	return status;
}

static int	resolve_credential(const char *, unsigned char *, size_t,
		    int *);

/*
 * A worker's question: the token looked up (and forgotten), and for a
 * user's token the credential stored for its owner.
 */
static int
resolve_start(const struct msg *m, struct token_record *t,
    unsigned char *cred, size_t credsize, int *n)
{
	int status;

	memset(t, 0, sizeof(*t));
	*n = 0;
	status = resolve_lookup(m, t);
	sodium_memzero((void *)m->data, m->len);
	if (status == RESOLVE_OK && t->type == TOKEN_USER)
		status = resolve_credential(t->owner, cred, credsize, n);
	return status;
}

/* --- users' tokens: the stored credential, and the login behind it --- */

struct user_wait {
	uint32_t		 worker;
	uint32_t		 reqid;
	struct token_record	 t;
	unsigned char		*cred;	/* zeroed when freed */
	size_t			 credlen;
};

static void
resolve_user_known(void *arg, const char *login)
{
	struct user_wait *uw = arg;
	struct kh_worker *kw;
	char *scope;
	int status;

	if ((kw = kh_worker_by_id(uw->worker)) != NULL) {
		if ((status = resolve_recheck(&uw->t)) != RESOLVE_OK)
			resolve_answer(kw, uw->reqid, status, NULL, NULL,
			    NULL, 0);
		else if ((scope = resolve_scope_json(&uw->t, NULL, NULL,
		    login)) == NULL)
			resolve_answer(kw, uw->reqid, RESOLVE_ERROR, NULL,
			    NULL, NULL, 0);
		else {
			resolve_answer(kw, uw->reqid, RESOLVE_OK, &uw->t,
			    scope, uw->cred, uw->credlen);
			free(scope);
		}
	}
	sodium_memzero(uw->cred, uw->credlen);
	free(uw->cred);
	token_record_free(&uw->t);
	free(uw);
}

/* Takes t; copies cred while the login is looked up. */
static void
resolve_user(struct kh_worker *kw, uint32_t reqid, struct token_record *t,
    const unsigned char *cred, size_t credlen)
{
	struct user_wait *uw;

	uw = xcalloc(1, sizeof(*uw));
	uw->worker = kw->id;
	uw->reqid = reqid;
	uw->t = *t;
	uw->cred = xcalloc(1, credlen + 1);
	memcpy(uw->cred, cred, credlen);
	uw->credlen = credlen;
	identity_get(cred, credlen, resolve_user_known, uw);
}

/* --- agents' tokens: an installation token, minted --- */

struct agent_wait {
	uint32_t		 worker;
	uint32_t		 reqid;
	struct token_record	 t;
	struct kh_inst		*inst;
	char			*repos;	/* what to mint for, JSON */
	char			*perms;
};

/* The scope goes along: a request outside it is refused as such. */
static void
resolve_agent_fail(struct kh_worker *kw, uint32_t reqid,
    const struct token_record *t, const char *why)
{
	char *s = resolve_scope_json(t, NULL, why, NULL);

	resolve_answer(kw, reqid, s ? RESOLVE_MINT_FAILED : RESOLVE_ERROR, t,
	    s, NULL, 0);
	free(s);
}

static void
resolve_agent_minted(void *arg, const char *token, size_t len,
    int64_t expires, const char *why)
{
	struct agent_wait *aw = arg;
	struct kh_worker *kw;
	char *scope;
	int status;

	/* The worker may have gone (or been replaced) meanwhile. */
	if ((kw = kh_worker_by_id(aw->worker)) == NULL)
		goto out;
	if ((status = resolve_recheck(&aw->t)) != RESOLVE_OK)
		resolve_answer(kw, aw->reqid, status, NULL, NULL, NULL, 0);
	else if (token == NULL)
		resolve_agent_fail(kw, aw->reqid, &aw->t, why);
	else if ((scope = resolve_scope_json(&aw->t, aw->inst, NULL,
	    NULL)) == NULL)
		resolve_answer(kw, aw->reqid, RESOLVE_ERROR, NULL, NULL, NULL,
		    0);
	else {
		/* The answer is good until either token expires. */
		if (aw->t.expires == 0 || expires < aw->t.expires)
			aw->t.expires = expires;
		resolve_answer(kw, aw->reqid, RESOLVE_OK, &aw->t, scope,
		    (const unsigned char *)token, len);
		free(scope);
	}
out:
	token_record_free(&aw->t);
	free(aw->repos);
	free(aw->perms);
	free(aw);
}

static int
resolve_name_cmp(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Repository names sorted, each once (GitHub's names ignore case). */
static char *
resolve_names_json(json_t *names)
{
	const char **v;
	json_t *out;
	size_t i, n = json_array_size(names);
	char *s;

	v = xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(names, i));
	qsort(v, n, sizeof(*v), resolve_name_cmp);
	out = json_array();
	for (i = 0; i < n; i++)
		if (i == 0 || strcasecmp(v[i - 1], v[i]) != 0)
			json_array_append_new(out, json_string(v[i]));
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	free(v);
	return s;
}

/*
 * What to mint for: the one account an agent's repositories are in, the
 * repository names (NULL when "account/\*" asks for all of them) and the
 * permissions, both as canonical JSON (so that equal scopes share a
 * cached token).  NULL, or the reason it cannot be minted for.
 */
static const char *
resolve_agent_scope(const struct token_record *t, char *account,
    size_t accountlen, char **repos, char **perms)
{
	json_t *list, *names, *p, *v;
	const char *r, *slash;
	size_t i;
	int all = 0;

	*repos = *perms = NULL;
	if ((list = json_loads(t->repos, 0, NULL)) == NULL ||
	    (p = json_loads(t->perms, 0, NULL)) == NULL) {
		json_decref(list);
		return "the token's scope does not read";
	}
	names = json_array();
	account[0] = '\0';
	json_array_foreach(list, i, v) {
		r = json_string_value(v);
		if (r == NULL || (slash = strchr(r, '/')) == NULL ||
		    (size_t)(slash - r) >= accountlen)
			continue;
		if (account[0] == '\0')
			(void)snprintf(account, accountlen, "%.*s",
			    (int)(slash - r), r);
		else if (strncasecmp(account, r, (size_t)(slash - r)) != 0 ||
		    account[slash - r] != '\0')
			break;
		if (strcmp(slash + 1, "*") == 0)
			all = 1;
		else
			json_array_append_new(names, json_string(slash + 1));
	}
	if (i < json_array_size(list) || account[0] == '\0') {
		json_decref(list);
		json_decref(names);
		json_decref(p);
		return "an agent's repositories must all be in one account";
	}
	*repos = all ? NULL : resolve_names_json(names);
	*perms = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(list);
	json_decref(names);
	json_decref(p);
	return NULL;
}

/* The installation is known: mint (or take from the cache). */
static void
resolve_agent_found(void *arg, struct kh_inst *in, const char *why)
{
	struct agent_wait *aw = arg;

	if (in == NULL) {
		resolve_agent_minted(aw, NULL, 0, 0, why);
		return;
	}
	aw->inst = in;
	mint_get(in, aw->repos, aw->perms, resolve_agent_minted, aw);
}

/* Takes t (frees it, now or when the mint answers). */
static void
resolve_agent(struct kh_worker *kw, uint32_t reqid, struct token_record *t)
{
	struct agent_wait *aw;
	char account[64], *repos, *perms;
	const char *bad;

	if ((bad = resolve_agent_scope(t, account, sizeof(account), &repos,
	    &perms)) != NULL) {
		resolve_agent_fail(kw, reqid, t, bad);
		token_record_free(t);
		return;
	}
	aw = xcalloc(1, sizeof(*aw));
	aw->worker = kw->id;
	aw->reqid = reqid;
	aw->t = *t;
	aw->repos = repos;
	aw->perms = perms;
	app_find(account, resolve_agent_found, aw);
}

int
kh_resolve(struct kh_worker *kw, const struct msg *m)
{
	struct token_record t;
	unsigned char cred[CRED_MAX];
	int status, n = 0;

	status = resolve_start(m, &t, cred, sizeof(cred), &n);
	if (status == RESOLVE_OK && t.type == TOKEN_AGENT) {
		resolve_agent(kw, m->hdr.reqid, &t);	/* takes t */
		return 0;
	}
	if (status == RESOLVE_OK) {
		resolve_user(kw, m->hdr.reqid, &t, cred, (size_t)n);
		sodium_memzero(cred, sizeof(cred));
		return 0;
	}
	resolve_answer(kw, m->hdr.reqid, status, NULL, NULL, NULL, 0);
	sodium_memzero(cred, sizeof(cred));
	token_record_free(&t);
	return 0;
}

/* --- Copilot: the owner's OAuth token, exchanged --- */

struct copilot_wait {
	uint32_t		 worker;
	uint32_t		 reqid;
	struct token_record	 t;
};

static int
resolve_has_copilot(const struct token_record *t)
{
	json_t *p = json_loads(t->perms, 0, NULL);
	const char *lvl;
	int r;

	lvl = json_string_value(json_object_get(p, "copilot"));
	r = lvl != NULL && strcmp(lvl, "none") != 0;
	json_decref(p);
	return r;
}

/* The answer: the Copilot token, good until it or the client's expires. */
static void
resolve_copilot_got(void *arg, const char *token, size_t len,
    int64_t expires, const char *why)
{
	struct copilot_wait *cw = arg;
	struct kh_worker *kw;
	char *scope = NULL;
	int status;

	if ((kw = kh_worker_by_id(cw->worker)) == NULL)
		goto out;
	if ((status = resolve_recheck(&cw->t)) != RESOLVE_OK)
		resolve_answer(kw, cw->reqid, status, NULL, NULL, NULL, 0);
	else if (token == NULL)
		resolve_agent_fail(kw, cw->reqid, &cw->t, why);
	else if ((scope = resolve_scope_json(&cw->t, NULL, NULL, NULL)) ==
	    NULL)
		resolve_answer(kw, cw->reqid, RESOLVE_ERROR, NULL, NULL, NULL,
		    0);
	else {
		if (cw->t.expires == 0 || expires < cw->t.expires)
			cw->t.expires = expires;
		resolve_answer(kw, cw->reqid, RESOLVE_OK, &cw->t, scope,
		    (const unsigned char *)token, len);
	}
out:
	free(scope);
	token_record_free(&cw->t);
	free(cw);
}

/* Takes t.  A token without the copilot permission gets its scope only. */
static void
resolve_copilot(struct kh_worker *kw, uint32_t reqid, struct token_record *t,
    const unsigned char *cred, size_t credlen)
{
	struct copilot_wait *cw;
	char *scope;

	if (t->type != TOKEN_USER || !resolve_has_copilot(t)) {
		scope = resolve_scope_json(t, NULL, NULL, NULL);
		resolve_answer(kw, reqid, scope ? RESOLVE_OK : RESOLVE_ERROR,
		    t, scope, NULL, 0);
		free(scope);
		token_record_free(t);
		return;
	}
	if (!copilot_oauth(cred, credlen)) {
		resolve_answer(kw, reqid, RESOLVE_NO_OAUTH, NULL, NULL, NULL, 0);
		token_record_free(t);
		return;
	}
	cw = xcalloc(1, sizeof(*cw));
	cw->worker = kw->id;
	cw->reqid = reqid;
	cw->t = *t;
	copilot_get(cred, credlen, resolve_copilot_got, cw);
}

/* The credential stored for owner into cred. */
static int
resolve_credential(const char *owner, unsigned char *cred, size_t credsize,
    int *n)
{
	uint8_t *sealed = NULL;
	size_t sealedlen;
	int status = RESOLVE_OK;

	*n = 0;
	if (store_credential_get(kh.store, owner, &sealed, &sealedlen) != 0)
		return RESOLVE_NO_CREDENTIAL;
	if ((*n = kh_open_credential(sealed, sealedlen, cred,
	    credsize)) < 0) {
		log_warnx("resolve: the credential of %s does not open with "
		    "this key", owner);
		status = RESOLVE_ERROR;
		*n = 0;
	}
	free(sealed);
	return status;
}

int
kh_copilot(struct kh_worker *kw, const struct msg *m)
{
	struct token_record t;
	unsigned char cred[CRED_MAX];
	int status, n = 0;

	status = resolve_start(m, &t, cred, sizeof(cred), &n);
	if (status == RESOLVE_OK)
		resolve_copilot(kw, m->hdr.reqid, &t, cred, (size_t)n);
	else {
		resolve_answer(kw, m->hdr.reqid, status, NULL, NULL, NULL, 0);
		token_record_free(&t);
	}
	sodium_memzero(cred, sizeof(cred));
	return 0;
}

/* Does one of the keyholder's "intercept" blocks name this credential? */
static int
resolve_intercept_named(const char *name)
{
	const struct intercept_conf *ic;

	TAILQ_FOREACH(ic, &kh.conf->intercepts, entry)
		if (ic->credential != NULL && strcmp(ic->credential, name) == 0)
			return 1;
	return 0;
}

/*
 * An "intercept" block's credential, for a valid client token: any
 * token the proxy took may use the blocks the config has.  Only a
 * credential a block names is released, whatever a worker asks.
 */
int
kh_intercept(struct kh_worker *kw, const struct msg *m)
{
	struct token_record t;
	struct msg tm;
	unsigned char cred[CRED_MAX];
	char name[257];
	uint32_t nlen = 0;
	char *scope = NULL;
	int status = RESOLVE_UNKNOWN, n = 0;

	memset(&t, 0, sizeof(t));
	name[0] = '\0';
	if (m->len > sizeof(nlen))
		memcpy(&nlen, m->data, sizeof(nlen));
	if (nlen > 0 && nlen < sizeof(name) && m->len > sizeof(nlen) + nlen &&
	    memchr(m->data + sizeof(nlen), '\0', nlen) == NULL) {
		memcpy(name, m->data + sizeof(nlen), nlen);
		name[nlen] = '\0';
		tm = *m;
		tm.data += sizeof(nlen) + nlen;
		tm.len -= sizeof(nlen) + nlen;
		status = resolve_lookup(&tm, &t);
	}
	sodium_memzero((void *)m->data, m->len);
	if (status == RESOLVE_OK && !resolve_intercept_named(name)) {
		log_warnx("worker %u: no intercept block names the credential "
		    "\"%s\" (restart ghp after changing intercept blocks)",
		    kw->id, name);
		status = RESOLVE_ERROR;
	}
	if (status == RESOLVE_OK)
		status = resolve_credential(name, cred, sizeof(cred), &n);
	if (status == RESOLVE_OK &&
	    (scope = resolve_scope_json(&t, NULL, NULL, NULL)) == NULL)
		status = RESOLVE_ERROR;
	resolve_answer(kw, m->hdr.reqid, status, status == RESOLVE_OK ? &t :
	    NULL, scope, cred, status == RESOLVE_OK ? (size_t)n : 0);
	free(scope);
	sodium_memzero(cred, sizeof(cred));
	token_record_free(&t);
	return 0;
}

static void
revoke_done(struct revoke *rv, int timed_out)
{
	char text[256];

	TAILQ_REMOVE(&revokes, rv, entry);
	if (timed_out) {
		(void)snprintf(text, sizeof(text), "revoked, but %d worker%s "
		    "did not confirm within %ds", rv->pending,
		    rv->pending == 1 ? "" : "s", REVOKE_WAIT);
		kh_ctl_answer(rv->client, 1, text);
	} else
		kh_ctl_answer(rv->client, 0, rv->done);
	event_free(rv->timer);
	free(rv->done);
	free(rv);
}

static void
revoke_timeout(int fd, short ev, void *arg)
{
	revoke_done(arg, 1);
}

void
kh_revoke_broadcast(uint32_t client, const uint8_t hash[32],
    const char *done_text)
{
	struct timeval tv = { REVOKE_WAIT, 0 };
	struct msg_kh_revoke rk;
	struct kh_worker *kw, *tmp;
	struct revoke *rv;

	rv = xcalloc(1, sizeof(*rv));
	rv->client = client;
	rv->reqid = ++next_revoke;
	rv->done = xstrdup(done_text);
	memcpy(rk.hash, hash, sizeof(rk.hash));
	/* A send that fails closes the channel, which frees kw. */
	TAILQ_FOREACH_SAFE(kw, &kh.workers, entry, tmp) {
		kw->revoke_acked = 0;
		if (chan_send(kw->chan, MSG_KH_REVOKE, kw->id, rv->reqid, -1,
		    &rk, sizeof(rk)) == 0)
			rv->pending++;
	}
	rv->timer = evtimer_new(kh.base, revoke_timeout, rv);
	TAILQ_INSERT_TAIL(&revokes, rv, entry);
	if (rv->pending == 0)
		revoke_done(rv, 0);
	else
		evtimer_add(rv->timer, &tv);
}

static struct revoke *
revoke_find(uint32_t reqid)
{
	struct revoke *rv;

	TAILQ_FOREACH(rv, &revokes, entry)
		if (rv->reqid == reqid)
			return rv;
	return NULL;
}

int
kh_revoke_ack(struct kh_worker *kw, const struct msg *m)
{
	struct revoke *rv;

	if ((rv = revoke_find(m->hdr.reqid)) == NULL)
		return 0;	/* late: already answered */
	if (kw->revoke_acked == rv->reqid)
		return -1;	/* twice */
	kw->revoke_acked = rv->reqid;
	if (--rv->pending == 0)
		revoke_done(rv, 0);
	return 0;
}

/* A worker went away: it holds no cache any more. */
void
kh_worker_gone(struct kh_worker *kw)
{
	struct revoke *rv, *tmp;

	TAILQ_FOREACH_SAFE(rv, &revokes, entry, tmp)
		if (kw->revoke_acked != rv->reqid && --rv->pending == 0)
			revoke_done(rv, 0);
}
