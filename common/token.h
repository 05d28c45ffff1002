/*
 * token.h: ghp client tokens.
 *
 * Format: a type prefix, then the base62 encoding of 32 bytes from the
 * CSPRNG (43 characters, zero-padded on the left), then a 6-character
 * base62 checksum: the CRC32 of everything before it.  Like GitHub's own
 * tokens, this lets a secret scanner tell a real token from a typo
 * without a database, and ghp refuse a mangled one without a look-up.
 *
 *	ghx_<43 base62><6 base62>	a user's token (stored credential)
 *	gha_<43 base62><6 base62>	an agent's token (GitHub App)
 *
 * Only the SHA-256 of a token is ever stored.  token_display() gives the
 * part that may appear in logs and listings: the prefix and the first
 * four random characters ("ghx_Ab3d…"), never more.
 */
#ifndef GHP_TOKEN_H
#define GHP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_PREFIX_LEN	4
#define TOKEN_RANDOM_LEN	43
#define TOKEN_CHECK_LEN		6
#define TOKEN_LEN	(TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN + TOKEN_CHECK_LEN)
#define TOKEN_HASH_LEN		32
#define TOKEN_DISPLAY_LEN	(TOKEN_PREFIX_LEN + 4 + 4)	/* + "…" */

enum token_type {
	TOKEN_NONE = 0,
	TOKEN_USER,	/* ghx_ */
	TOKEN_AGENT	/* gha_ */
};

/* Fill out (TOKEN_LEN + 1 bytes) with a new token. */
void		 token_generate(enum token_type, char *out);
/* The type of a well-formed ghp token, or TOKEN_NONE. */
enum token_type	 token_parse(const char *s, size_t len);
/* SHA-256 of the token's bytes. */
void		 token_hash(const char *s, size_t len,
		    uint8_t out[TOKEN_HASH_LEN]);
/* "ghx_Ab3d…" into out (TOKEN_DISPLAY_LEN + 1 bytes). */
void		 token_display(const char *s, size_t len, char *out);
const char	*token_type_name(enum token_type);	/* "user", "agent" */
const char	*token_type_prefix(enum token_type);	/* "ghx_", "gha_" */

#endif /* GHP_TOKEN_H */
