/*
 * test_store.c: the keyholder's SQLite store, on real database files:
 * schema creation and versioning, credentials, tokens by hash, listing,
 * revocation, and a database from a newer ghp refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store.h"
#include "token.h"
#include "unit.h"

static char dir[] = "/tmp/ghp-test-store-XXXXXX";
static char path[256];

static struct store *
open_store(void)
{
	char err[256];
	struct store *s;

	s = store_open(path, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

static void
test_credentials(void)
{
	struct store *s = open_store();
	uint8_t *blob;
	size_t len;
	json_t *list;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(store_credential_get(s, "alice", &blob, &len) == 1);
	CHECK(store_credential_put(s, "alice", (const uint8_t *)"sealed1",
	    7) == 0);
	CHECK(store_credential_put(s, "alice", (const uint8_t *)"sealed22",
	    8) == 0);
	CHECK(store_credential_get(s, "ALICE", &blob, &len) == 0);
	CHECK(len == 8 && memcmp(blob, "sealed22", 8) == 0);
	free(blob);
	CHECK(store_credential_list(s, &list) == 0);
	CHECK(json_array_size(list) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0),
	    "owner")), "alice");
	json_decref(list);
	CHECK(store_credential_remove(s, "alice") == 0);
	CHECK(store_credential_remove(s, "alice") == 1);
	CHECK(store_credential_get(s, "alice", &blob, &len) == 1);
	store_close(s);
}

static void
test_tokens(void)
{
	struct store *s = open_store();
	struct token_record t, got;
	char tok[TOKEN_LEN + 1], disp[TOKEN_DISPLAY_LEN + 1];
	uint8_t hash[TOKEN_HASH_LEN], other[TOKEN_HASH_LEN];
	json_t *list;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	token_generate(TOKEN_USER, tok);
	token_hash(tok, TOKEN_LEN, hash);
	token_display(tok, TOKEN_LEN, disp);
	memset(&t, 0, sizeof(t));
	memcpy(t.hash, hash, sizeof(hash));
	t.display = disp;
	t.owner = "bob";
	t.type = TOKEN_USER;
	t.repos = "[\"acme/widgets\"]";
	t.perms = "{\"contents\":\"read\"}";
	t.session = "s-1";
	t.created = time(NULL);
	t.expires = t.created + 60;
	CHECK(store_token_insert(s, &t) == 0);
	CHECK(t.id > 0);
	/* The same hash twice is refused (UNIQUE). */
	CHECK(store_token_insert(s, &t) == -1);
	CHECK(store_token_lookup(s, hash, &got) == 0);
	CHECK(got.id == t.id && got.type == TOKEN_USER);
	CHECK_STR(got.owner, "bob");
	CHECK_STR(got.repos, "[\"acme/widgets\"]");
	CHECK_STR(got.session, "s-1");
	CHECK(got.note == NULL);
	CHECK(got.expires == t.expires && got.revoked == 0);
	token_record_free(&got);
	memset(other, 0xab, sizeof(other));
	CHECK(store_token_lookup(s, other, &got) == 1);
	CHECK(store_token_list(s, NULL, &list) == 0);
	CHECK(json_array_size(list) == 1);
	/* Listings never carry the hash, let alone the token. */
	CHECK(json_object_get(json_array_get(list, 0), "hash") == NULL);
	json_decref(list);
	CHECK(store_token_list(s, "nobody-else", &list) == 0);
	CHECK(json_array_size(list) == 0);
	json_decref(list);
	memset(other, 0, sizeof(other));
	CHECK(store_token_revoke(s, t.id, other) == 0);
	CHECK(memcmp(other, hash, sizeof(hash)) == 0);
	CHECK(store_token_revoke(s, t.id, other) == 1);
	CHECK(store_token_revoke(s, 9999, other) == 1);
	CHECK(store_token_lookup(s, hash, &got) == 0);
	CHECK(got.revoked != 0);
	token_record_free(&got);
	store_close(s);
}

static void
test_versions(void)
{
	struct store *s;
	sqlite3 *db;

	/* Reopening keeps the data and the version. */
	s = open_store();
	CHECK(s != NULL);
	store_close(s);
	/* A database from a newer ghp is refused, not misread. */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA user_version = 999;", NULL, NULL,
	    NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(open_store() == NULL);
}

int
main(void)
{
	char cmd[300];

	if (sodium_init() == -1 || mkdtemp(dir) == NULL)
		return 1;
	(void)snprintf(path, sizeof(path), "%s/ghp.db", dir);
	UNIT_RUN(test_credentials);
	UNIT_RUN(test_tokens);
	UNIT_RUN(test_versions);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
	return UNIT_DONE("test_store");
}
