/*
 * store.h: the keyholder's storage, behind one narrow interface.
 *
 * Owners, their sealed GitHub credentials, and client tokens (by hash).
 * store_sqlite.c keeps them in SQLite in the state directory; a second
 * implementation (PostgreSQL, for several ghp instances) would implement
 * exactly these calls.  Every call returns 0 on success, 1 when the thing
 * asked for does not exist (or already exists, for creation), -1 on a
 * storage error, with a message in the store's error buffer.
 *
 * Credentials are stored as received: sealed (crypto_box_seal) to the
 * keyholder's public key.  Only the keyholder can open them, and it does
 * so for each resolution; nothing here ever sees a credential in clear.
 * Tokens are stored as SHA-256 hashes; the token itself never is.
 */
#ifndef GHP_STORE_H
#define GHP_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "token.h"

struct store;

struct token_record {
	int64_t		 id;
	uint8_t		 hash[TOKEN_HASH_LEN];
	char		*display;	/* "ghx_Ab3d…" */
	char		*owner;
	enum token_type	 type;
	char		*repos;		/* JSON array of "owner/repo" */
	char		*perms;		/* JSON object name -> level */
	char		*session;	/* may be NULL */
	char		*note;		/* may be NULL */
	int64_t		 created;	/* epoch seconds */
	int64_t		 expires;	/* 0: never */
	int64_t		 revoked;	/* 0: not revoked */
};

struct store	*store_open(const char *path, char *err, size_t errlen);
void		 store_close(struct store *);
const char	*store_error(const struct store *);

int		 store_credential_put(struct store *, const char *owner,
		    const uint8_t *sealed, size_t len);
/* *sealed is malloc'd; the caller frees it. */
int		 store_credential_get(struct store *, const char *owner,
		    uint8_t **sealed, size_t *len);
int		 store_credential_remove(struct store *, const char *owner);
/* JSON array of {"owner", "created"}. */
int		 store_credential_list(struct store *, json_t **);

int		 store_token_insert(struct store *, struct token_record *);
int		 store_token_lookup(struct store *,
		    const uint8_t hash[TOKEN_HASH_LEN], struct token_record *);
/* JSON array of tokens (no hashes); owner NULL for all. */
int		 store_token_list(struct store *, const char *owner, json_t **);
/* Marks revoked now; gives back the hash so workers can drop it. */
int		 store_token_revoke(struct store *, int64_t id,
		    uint8_t hash[TOKEN_HASH_LEN]);
void		 token_record_free(struct token_record *);

#endif /* GHP_STORE_H */
