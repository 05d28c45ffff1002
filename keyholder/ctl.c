/*
 * ctl.c: control commands for the keyholder, relayed by the master from
 * ghpctl.  Each is one JSON object {"cmd": ..., ...}; every field is
 * checked here, since the keyholder trusts no other process.
 *
 * Two things never cross the master in clear: a new client token (sealed
 * by us to a one-time key ghpctl sent along, "reply_key") and a GitHub
 * credential (sealed by ghpctl to our public key, "sealed").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "app.h"
#include "ca.h"
#include "chan.h"
#include "kh.h"
#include "log.h"
#include "mint.h"
#include "scope.h"
#include "token.h"
#include "util.h"

#define CRED_MAX	512	/* GitHub credentials are far shorter */
#define SEALED_MAX	(CRED_MAX + crypto_box_SEALBYTES)

void
kh_ctl_answer(uint32_t client, int status, const char *text)
{
	uint8_t buf[MSG_MAX_PAYLOAD];
	struct msg_ctl_end end = { status };
	size_t n = text ? strlen(text) : 0;

	if (n > sizeof(buf) - sizeof(end))
		n = sizeof(buf) - sizeof(end);
	memcpy(buf, &end, sizeof(end));
	if (n > 0)
		memcpy(buf + sizeof(end), text, n);
	chan_send(kh.master, MSG_KH_CTL_ANSWER, client, 0, -1, buf,
	    sizeof(end) + n);
}

static void
answer_json(uint32_t client, json_t *o)
{
	char *s;

	if ((s = json_dumps(o, JSON_COMPACT)) == NULL) {
		kh_ctl_answer(client, 1, "out of memory");
		return;
	}
	kh_ctl_answer(client, 0, s);
	free(s);
}

static int
valid_chars(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s), i;

	if (n < min || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(extra, s[i]) == NULL)
			return 0;
	return 1;
}

/*
 * A credential: a GitHub token, or another API's key for an "intercept"
 * block.  It goes into header values, so printable ASCII, no space.
 */
static int
valid_secret(const char *s)
{
	size_t n = strlen(s);

	return n < CRED_MAX && visible_ascii(s, n);
}

static int
valid_owner(const char *s)
{
	return s != NULL && valid_chars(s, 1, 64, "-_.") && s[0] != '-' &&
	    s[0] != '.';
}

/* "owner/repo", or "owner/" and a star, as GitHub spells them. */
static int
valid_repo(const char *s)
{
	const char *slash;
	char owner[64];
	size_t n;

	if (s == NULL || (slash = strchr(s, '/')) == NULL)
		return 0;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(owner))
		return 0;
	memcpy(owner, s, n);
	owner[n] = '\0';
	if (!valid_chars(owner, 1, 39, "-") || owner[0] == '-')
		return 0;
	if (strcmp(slash + 1, "*") == 0)
		return 1;
	return valid_chars(slash + 1, 1, 100, "-_.") &&
	    strcmp(slash + 1, ".") != 0 && strcmp(slash + 1, "..") != 0;
}

static int
valid_level(const char *s)
{
	return s != NULL && (strcmp(s, "read") == 0 ||
	    strcmp(s, "write") == 0 || strcmp(s, "admin") == 0);
}

/*
 * The scope as the workers will build it (scope.h): as many repositories
 * as a scope holds, and only permission names GitHub's table knows, so
 * that a typo cannot make a token that silently lacks a permission.
 */
static const char *
check_scope(json_t *repos, json_t *perms)
{
	static char why[160];
	struct scope sc;
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_array(repos) || json_array_size(repos) == 0 ||
	    json_array_size(repos) > SCOPE_MAXREPOS) {
		(void)snprintf(why, sizeof(why), "repos: 1 to %d "
		    "repositories", SCOPE_MAXREPOS);
		return why;
	}
	json_array_foreach(repos, i, v)
		if (!valid_repo(json_string_value(v)))
			return "repos: each must be owner/repo or owner/*";
	if (!json_is_object(perms) || json_object_size(perms) > 64)
		return "perms: an object of at most 64 permissions";
	(void)scope_init(&sc, SCOPE_TOKEN_USER, NULL);
	json_object_foreach(perms, k, v) {
		if (!valid_chars(k, 1, 64, "_") || !valid_level(
		    json_string_value(v)))
			return "perms: each must be name:read|write|admin";
		if (scope_set_perm(&sc, k, SCOPE_READ) == -1) {
			(void)snprintf(why, sizeof(why), "perms: no GitHub "
			    "permission is named \"%s\"", k);
			return why;
		}
	}
	return NULL;
}

/* Are all of these "owner/repo"s in one account (GitHub logins: no case)? */
static int
one_account(json_t *repos)
{
	const char *first = NULL, *r;
	size_t i, n = 0;
	json_t *v;

	json_array_foreach(repos, i, v) {
		r = json_string_value(v);
		if (first == NULL) {
			first = r;
			n = (size_t)(strchr(r, '/') - r);
		} else if (strncasecmp(first, r, n + 1) != 0)
			return 0;
	}
	return 1;
}

/* The new token, sealed to ghpctl's one-time key. */
static char *
seal_token(const char *token, const char *reply_key_b64)
{
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sealed[TOKEN_LEN + crypto_box_SEALBYTES];
	char *b64;
	size_t pklen, b64len;

	if (reply_key_b64 == NULL || sodium_base642bin(pk, sizeof(pk),
	    reply_key_b64, strlen(reply_key_b64), NULL, &pklen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || pklen != sizeof(pk))
		return NULL;
	if (crypto_box_seal(sealed, (const unsigned char *)token, TOKEN_LEN,
	    pk) != 0)
		return NULL;
	b64len = sodium_base64_ENCODED_LEN(sizeof(sealed),
	    sodium_base64_VARIANT_ORIGINAL);
	b64 = xcalloc(1, b64len);
	sodium_bin2base64(b64, b64len, sealed, sizeof(sealed),
	    sodium_base64_VARIANT_ORIGINAL);
	return b64;
}

static void
ctl_token_create(uint32_t client, json_t *req)
{
	struct token_record t;
	char token[TOKEN_LEN + 1], display[TOKEN_DISPLAY_LEN + 1], *sealed;
	char *repos, *perms;
	const char *owner, *type, *err;
	json_t *answer;
	json_int_t ttl;
	uint8_t *cred;
	size_t credlen;

	owner = json_string_value(json_object_get(req, "owner"));
	type = json_string_value(json_object_get(req, "type"));
	ttl = json_integer_value(json_object_get(req, "ttl"));
	if (!valid_owner(owner)) {
		kh_ctl_answer(client, 1, "owner: letters, digits, - _ .");
		return;
	}
	if (type == NULL || (strcmp(type, "user") && strcmp(type, "agent"))) {
		kh_ctl_answer(client, 1, "type: user or agent");
		return;
	}
	if ((err = check_scope(json_object_get(req, "repos"),
	    json_object_get(req, "perms"))) != NULL) {
		kh_ctl_answer(client, 1, err);
		return;
	}
	if (ttl < 0 || ttl > 10LL * 365 * 86400) {
		kh_ctl_answer(client, 1, "ttl: from 0 (no expiry) to 10 years");
		return;
	}
	if (strcmp(type, "agent") == 0 &&
	    !one_account(json_object_get(req, "repos"))) {
		kh_ctl_answer(client, 1, "repos: an agent token's repositories "
		    "must all be in one account (one App installation token "
		    "covers one account)");
		return;
	}
	if (strcmp(type, "user") == 0) {
		if (store_credential_get(kh.store, owner, &cred, &credlen) != 0) {
			kh_ctl_answer(client, 1, "no GitHub credential is "
			    "stored for this owner: add one first with "
			    "\"ghpctl credential add --owner NAME\"");
			return;
		}
		free(cred);
	}
	memset(&t, 0, sizeof(t));
	token_generate(strcmp(type, "user") == 0 ? TOKEN_USER : TOKEN_AGENT,
	    token);
	if ((sealed = seal_token(token,
	    json_string_value(json_object_get(req, "reply_key")))) == NULL) {
		sodium_memzero(token, sizeof(token));
		kh_ctl_answer(client, 1, "reply_key: a base64 X25519 key");
		return;
	}
	token_hash(token, TOKEN_LEN, t.hash);
	token_display(token, TOKEN_LEN, display);
	sodium_memzero(token, sizeof(token));
	repos = json_dumps(json_object_get(req, "repos"), JSON_COMPACT);
	perms = json_dumps(json_object_get(req, "perms"), JSON_COMPACT);
	t.display = display;
	t.owner = (char *)owner;
	t.type = strcmp(type, "user") == 0 ? TOKEN_USER : TOKEN_AGENT;
	t.repos = repos;
	t.perms = perms;
	t.session = (char *)json_string_value(json_object_get(req, "session"));
	t.note = (char *)json_string_value(json_object_get(req, "note"));
	t.created = time(NULL);
	t.expires = ttl > 0 ? t.created + ttl : 0;
	if (store_token_insert(kh.store, &t) != 0) {
		log_warnx("token create: %s", store_error(kh.store));
		kh_ctl_answer(client, 1, "storage error (see the log)");
	} else {
		log_info("token %lld (%s) created for %s", (long long)t.id,
		    display, owner);
		answer = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)t.id,
		    "prefix", display, "sealed", sealed);
		answer_json(client, answer);
		json_decref(answer);
	}
	free(repos);
	free(perms);
	free(sealed);
}

static void
ctl_token_list(uint32_t client, json_t *req)
{
	const char *owner = json_string_value(json_object_get(req, "owner"));
	json_t *list;

	if (owner != NULL && !valid_owner(owner)) {
		kh_ctl_answer(client, 1, "owner: letters, digits, - _ .");
		return;
	}
	if (store_token_list(kh.store, owner, &list) != 0) {
		log_warnx("token list: %s", store_error(kh.store));
		kh_ctl_answer(client, 1, "storage error (see the log)");
		return;
	}
	answer_json(client, list);
	json_decref(list);
}

static void
ctl_token_revoke(uint32_t client, json_t *req)
{
	json_t *id = json_object_get(req, "id");
	uint8_t hash[TOKEN_HASH_LEN];
	char done[96];
	int r;

	if (!json_is_integer(id) || json_integer_value(id) <= 0) {
		kh_ctl_answer(client, 1, "id: a token id from token list");
		return;
	}
	r = store_token_revoke(kh.store, json_integer_value(id), hash);
	if (r == 1) {
		kh_ctl_answer(client, 1, "no such token, or already revoked");
		return;
	}
	if (r != 0) {
		log_warnx("token revoke: %s", store_error(kh.store));
		kh_ctl_answer(client, 1, "storage error (see the log)");
		return;
	}
	log_info("token %lld revoked", (long long)json_integer_value(id));
	(void)snprintf(done, sizeof(done), "token %lld revoked\n",
	    (long long)json_integer_value(id));
	kh_revoke_broadcast(client, hash, done);
}

static void
ctl_credential_add(uint32_t client, json_t *req)
{
	const char *owner = json_string_value(json_object_get(req, "owner"));
	const char *b64 = json_string_value(json_object_get(req, "sealed"));
	unsigned char sealed[SEALED_MAX], clear[CRED_MAX];
	size_t len;
	int n;

	if (!valid_owner(owner)) {
		kh_ctl_answer(client, 1, "owner: letters, digits, - _ .");
		return;
	}
	if (b64 == NULL || sodium_base642bin(sealed, sizeof(sealed), b64,
	    strlen(b64), NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL)
	    != 0 || (n = kh_open_credential(sealed, len, clear,
	    sizeof(clear))) < 0) {
		kh_ctl_answer(client, 1, "sealed: not sealed to this "
		    "keyholder's key");
		return;
	}
	if (n == 0 || !valid_secret((const char *)clear)) {
		sodium_memzero(clear, sizeof(clear));
		kh_ctl_answer(client, 1, "that does not look like a credential "
		    "(printable ASCII without spaces only)");
		return;
	}
	sodium_memzero(clear, sizeof(clear));
	if (store_credential_put(kh.store, owner, sealed, len) != 0) {
		log_warnx("credential add: %s", store_error(kh.store));
		kh_ctl_answer(client, 1, "storage error (see the log)");
		return;
	}
	log_info("credential stored for %s", owner);
	kh_ctl_answer(client, 0, "credential stored\n");
}

static void
ctl_credential_list(uint32_t client, json_t *req)
{
	json_t *list;

	if (store_credential_list(kh.store, &list) != 0) {
		log_warnx("credential list: %s", store_error(kh.store));
		kh_ctl_answer(client, 1, "storage error (see the log)");
		return;
	}
	answer_json(client, list);
	json_decref(list);
}

static void
ctl_credential_remove(uint32_t client, json_t *req)
{
	const char *owner = json_string_value(json_object_get(req, "owner"));
	int r;

	if (!valid_owner(owner)) {
		kh_ctl_answer(client, 1, "owner: letters, digits, - _ .");
		return;
	}
	if ((r = store_credential_remove(kh.store, owner)) == 1)
		kh_ctl_answer(client, 1, "no credential stored for that owner");
	else if (r != 0)
		kh_ctl_answer(client, 1, "storage error (see the log)");
	else {
		log_info("credential removed for %s", owner);
		kh_ctl_answer(client, 0, "credential removed\n");
	}
}

/* For ghpctl status: the Apps, their installations and cached tokens. */
static json_t *
app_inst_json(const struct kh_inst *in)
{
	int64_t earliest;
	size_t n = mint_cached(in, &earliest);
	json_t *o;

	o = json_pack("{s:I, s:s?, s:I, s:I}", "id", (json_int_t)in->id,
	    "account", in->account, "tokens", (json_int_t)n,
	    "earliest_expiry", (json_int_t)earliest);
	json_object_set_new(o, "ratelimit_remaining", in->remaining < 0 ?
	    json_null() : json_integer(in->remaining));
	json_object_set_new(o, "ratelimit_reset", in->reset > 0 ?
	    json_integer(in->reset) : json_null());
	json_object_set_new(o, "exhausted_until", in->exhausted_until >
	    (int64_t)time(NULL) ? json_integer(in->exhausted_until) :
	    json_null());
	if (n == 0)
		json_object_set_new(o, "earliest_expiry", json_null());
	return o;
}

static void
ctl_app_status(uint32_t client, json_t *req)
{
	const struct kh_app *a;
	json_t *list, *insts;
	size_t i, j;

	list = json_array();
	for (i = 0; (a = app_at(i)) != NULL; i++) {
		insts = json_array();
		for (j = 0; j < a->ninsts; j++)
			json_array_append_new(insts, app_inst_json(
			    a->insts[j]));
		json_array_append_new(list, json_pack("{s:s, s:I, s:o}",
		    "name", a->name, "id", (json_int_t)a->id,
		    "installations", insts));
	}
	answer_json(client, list);
	json_decref(list);
}

/* The interception CA's certificate, PEM. */
static void
ctl_ca_export(uint32_t client, json_t *req)
{
	if (ca_pem() == NULL)
		kh_ctl_answer(client, 1, "no CA");
	else
		kh_ctl_answer(client, 0, ca_pem());
}

static const struct {
	const char	*name;
	void		(*fn)(uint32_t, json_t *);
} ctl_commands[] = {
	{ "token-create", ctl_token_create },
	{ "token-list", ctl_token_list },
	{ "token-revoke", ctl_token_revoke },
	{ "credential-add", ctl_credential_add },
	{ "credential-list", ctl_credential_list },
	{ "credential-remove", ctl_credential_remove },
	{ "app-status", ctl_app_status },
	{ "ca-export", ctl_ca_export },
};

void
kh_ctl(uint32_t client, const char *text, size_t len)
{
	json_error_t err;
	json_t *req;
	const char *cmd;
	size_t i;

	req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(req)) {
		kh_ctl_answer(client, 1, "malformed command");
		json_decref(req);
		return;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	for (i = 0; cmd != NULL && i < sizeof(ctl_commands) /
	    sizeof(ctl_commands[0]); i++) {
		if (strcmp(cmd, ctl_commands[i].name) == 0) {
			ctl_commands[i].fn(client, req);
			json_decref(req);
			return;
		}
	}
	kh_ctl_answer(client, 1, "unknown command");
	json_decref(req);
}
