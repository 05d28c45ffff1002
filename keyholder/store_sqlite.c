/*
 * store_sqlite.c: store.h on SQLite.
 *
 * One database file in the state directory, WAL journal, foreign keys on.
 * The schema is versioned with PRAGMA user_version: migrations[] holds
 * one forward step per version, applied in a transaction at open, so an
 * old database is brought up to date and a newer one than this binary
 * knows is refused rather than misread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

struct store {
	sqlite3	*db;
	char	 err[256];
};

static const char *migrations[] = {
	/* 1: owners, credentials, tokens */
	"CREATE TABLE owners ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE credentials ("
	"  owner_id INTEGER PRIMARY KEY REFERENCES owners(id),"
	"  sealed BLOB NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  hash BLOB NOT NULL UNIQUE,"
	"  display TEXT NOT NULL,"
	"  owner_id INTEGER NOT NULL REFERENCES owners(id),"
	"  type TEXT NOT NULL CHECK (type IN ('user', 'agent')),"
	"  repos TEXT NOT NULL,"
	"  perms TEXT NOT NULL,"
	"  session TEXT,"
	"  note TEXT,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX tokens_owner ON tokens(owner_id);",
};
#define STORE_VERSION	((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
store_fail(struct store *s, const char *what)
{
	(void)snprintf(s->err, sizeof(s->err), "%s: %s", what,
	    sqlite3_errmsg(s->db));
	return -1;
}

const char *
store_error(const struct store *s)
{
	return s->err;
}

static int
store_exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		(void)snprintf(s->err, sizeof(s->err), "%s",
		    msg ? msg : "sqlite error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
store_user_version(struct store *s, int *v)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL)
	    != SQLITE_OK)
		return store_fail(s, "user_version");
	r = sqlite3_step(st);
	*v = r == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 0 : store_fail(s, "user_version");
}

static int
store_migrate(struct store *s)
{
	char sql[64];
	int v;

	if (store_user_version(s, &v) == -1)
		return -1;
	if (v > STORE_VERSION) {
		(void)snprintf(s->err, sizeof(s->err), "database schema "
		    "version %d is newer than this ghp knows (%d)", v,
		    STORE_VERSION);
		return -1;
	}
	for (; v < STORE_VERSION; v++) {
		(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;",
		    v + 1);
		if (store_exec(s, "BEGIN IMMEDIATE;") == -1)
			return -1;
		if (store_exec(s, migrations[v]) == -1 ||
		    store_exec(s, sql) == -1) {
			(void)sqlite3_exec(s->db, "ROLLBACK;", NULL, NULL, NULL);
			return -1;
		}
		if (store_exec(s, "COMMIT;") == -1)
			return -1;
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *s;

	s = xcalloc(1, sizeof(*s));
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, s->db ?
		    sqlite3_errmsg(s->db) : "cannot open");
		store_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (store_exec(s, "PRAGMA journal_mode = WAL;"
	    "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;") == -1 ||
	    store_migrate(s) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, s->err);
		store_close(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s);
}

static int
store_prepare(struct store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return store_fail(s, "prepare");
	return 0;
}

/* The owner's id, created when missing (create != 0); 1 if absent. */
static int
store_owner_id(struct store *s, const char *owner, int create, int64_t *id)
{
	sqlite3_stmt *st;
	int r;

	if (create) {
		if (store_prepare(s, "INSERT OR IGNORE INTO owners (name, "
		    "created) VALUES (?, ?)", &st) == -1)
			return -1;
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
		r = sqlite3_step(st);
		sqlite3_finalize(st);
		if (r != SQLITE_DONE)
			return store_fail(s, "owner");
	}
	if (store_prepare(s, "SELECT id FROM owners WHERE name = ?", &st)
	    == -1)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (r == SQLITE_ROW)
		return 0;
	return r == SQLITE_DONE ? 1 : store_fail(s, "owner");
}

int
store_credential_put(struct store *s, const char *owner,
    const uint8_t *sealed, size_t len)
{
	sqlite3_stmt *st;
	int64_t id;
	int r;

	if (store_owner_id(s, owner, 1, &id) != 0)
		return -1;
	if (store_prepare(s, "INSERT OR REPLACE INTO credentials (owner_id, "
	    "sealed, created) VALUES (?, ?, ?)", &st) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, sealed, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : store_fail(s, "credential");
}

int
store_credential_get(struct store *s, const char *owner, uint8_t **sealed,
    size_t *len)
{
	sqlite3_stmt *st;
	int r, n;

	if (store_prepare(s, "SELECT c.sealed FROM credentials c JOIN owners "
	    "o ON o.id = c.owner_id WHERE o.name = ?", &st) == -1)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_bytes(st, 0);
		*sealed = xcalloc(1, (size_t)n);
		memcpy(*sealed, sqlite3_column_blob(st, 0), (size_t)n);
		*len = (size_t)n;
	}
	sqlite3_finalize(st);
	if (r == SQLITE_ROW)
		return 0;
	return r == SQLITE_DONE ? 1 : store_fail(s, "credential");
}

int
store_credential_remove(struct store *s, const char *owner)
{
	sqlite3_stmt *st;
	int r;

	if (store_prepare(s, "DELETE FROM credentials WHERE owner_id = "
	    "(SELECT id FROM owners WHERE name = ?)", &st) == -1)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "credential");
	return sqlite3_changes(s->db) > 0 ? 0 : 1;
}

int
store_credential_list(struct store *s, json_t **out)
{
	sqlite3_stmt *st;
	int r;

	if (store_prepare(s, "SELECT o.name, c.created FROM credentials c "
	    "JOIN owners o ON o.id = c.owner_id ORDER BY o.name", &st) == -1)
		return -1;
	*out = json_array();
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(*out, json_pack("{s:s, s:I}", "owner",
		    (const char *)sqlite3_column_text(st, 0), "created",
		    (json_int_t)sqlite3_column_int64(st, 1)));
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		return store_fail(s, "credential list");
	}
	return 0;
}

int
store_token_insert(struct store *s, struct token_record *t)
{
	sqlite3_stmt *st;
	int64_t owner_id;
	int r;

	if (store_owner_id(s, t->owner, 1, &owner_id) != 0)
		return -1;
	if (store_prepare(s, "INSERT INTO tokens (hash, display, owner_id, "
	    "type, repos, perms, session, note, created, expires) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st) == -1)
		return -1;
	sqlite3_bind_blob(st, 1, t->hash, TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->display, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, owner_id);
	sqlite3_bind_text(st, 4, token_type_name(t->type), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->repos, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, t->perms, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, t->session, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, t->note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, t->created);
	sqlite3_bind_int64(st, 10, t->expires);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "token");
	t->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static char *
column_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	return p != NULL ? xstrdup((const char *)p) : NULL;
}

#define TOKEN_COLUMNS "t.id, t.display, o.name, t.type, t.repos, t.perms, " \
	"t.session, t.note, t.created, t.expires, t.revoked"

static void
token_from_row(sqlite3_stmt *st, struct token_record *t)
{
	const unsigned char *type;

	t->id = sqlite3_column_int64(st, 0);
	t->display = column_strdup(st, 1);
	t->owner = column_strdup(st, 2);
	type = sqlite3_column_text(st, 3);
	t->type = type != NULL && strcmp((const char *)type, "agent") == 0 ?
	    TOKEN_AGENT : TOKEN_USER;
	t->repos = column_strdup(st, 4);
	t->perms = column_strdup(st, 5);
	t->session = column_strdup(st, 6);
	t->note = column_strdup(st, 7);
	t->created = sqlite3_column_int64(st, 8);
	t->expires = sqlite3_column_int64(st, 9);
	t->revoked = sqlite3_column_int64(st, 10);
}

int
store_token_lookup(struct store *s, const uint8_t hash[TOKEN_HASH_LEN],
    struct token_record *t)
{
	sqlite3_stmt *st;
	int r;

	memset(t, 0, sizeof(*t));
	if (store_prepare(s, "SELECT " TOKEN_COLUMNS " FROM tokens t JOIN "
	    "owners o ON o.id = t.owner_id WHERE t.hash = ?", &st) == -1)
		return -1;
	sqlite3_bind_blob(st, 1, hash, TOKEN_HASH_LEN, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		token_from_row(st, t);
		memcpy(t->hash, hash, TOKEN_HASH_LEN);
	}
	sqlite3_finalize(st);
	if (r == SQLITE_ROW)
		return 0;
	return r == SQLITE_DONE ? 1 : store_fail(s, "token");
}

static json_t *
token_json(const struct token_record *t)
{
	json_t *o, *repos, *perms;

	repos = json_loads(t->repos, 0, NULL);
	perms = json_loads(t->perms, 0, NULL);
	o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:I}", "id",
	    (json_int_t)t->id, "prefix", t->display, "owner", t->owner,
	    "type", token_type_name(t->type),
	    "repos", repos ? repos : json_array(),
	    "perms", perms ? perms : json_object(),
	    "created", (json_int_t)t->created);
	json_object_set_new(o, "expires", t->expires ?
	    json_integer(t->expires) : json_null());
	json_object_set_new(o, "revoked", t->revoked ?
	    json_integer(t->revoked) : json_null());
	json_object_set_new(o, "session", t->session ?
	    json_string(t->session) : json_null());
	json_object_set_new(o, "note", t->note ?
	    json_string(t->note) : json_null());
	return o;
}

int
store_token_list(struct store *s, const char *owner, json_t **out)
{
	struct token_record t;
	sqlite3_stmt *st;
	int r;

	if (store_prepare(s, "SELECT " TOKEN_COLUMNS " FROM tokens t JOIN "
	    "owners o ON o.id = t.owner_id WHERE ?1 IS NULL OR o.name = ?1 "
	    "ORDER BY t.id", &st) == -1)
		return -1;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	*out = json_array();
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		token_from_row(st, &t);
		json_array_append_new(*out, token_json(&t));
		token_record_free(&t);
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		return store_fail(s, "token list");
	}
	return 0;
}

int
store_token_revoke(struct store *s, int64_t id, uint8_t hash[TOKEN_HASH_LEN])
{
	sqlite3_stmt *st;
	int r;

	if (store_prepare(s, "UPDATE tokens SET revoked = ?1 WHERE id = ?2 "
	    "AND revoked = 0 RETURNING hash", &st) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 2, id);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && sqlite3_column_bytes(st, 0) == TOKEN_HASH_LEN)
		memcpy(hash, sqlite3_column_blob(st, 0), TOKEN_HASH_LEN);
	sqlite3_finalize(st);
	if (r == SQLITE_ROW)
		return 0;
	return r == SQLITE_DONE ? 1 : store_fail(s, "revoke");
}

void
token_record_free(struct token_record *t)
{
	free(t->display);
	free(t->owner);
	free(t->repos);
	free(t->perms);
	free(t->session);
	free(t->note);
	memset(t, 0, sizeof(*t));
}
