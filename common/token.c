/*
 * token.c: see token.h.
 */
#include <string.h>

#include <sodium.h>

#include "token.h"

static const char b62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint32_t
crc32_bytes(const char *p, size_t n)
{
	uint32_t crc = 0xffffffffU;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= (uint8_t)p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320U & (0U - (crc & 1)));
	}
	return ~crc;
}

/* Base62 of a big-endian number, exactly outlen digits, zero-padded. */
static void
base62_encode(const uint8_t *in, size_t inlen, char *out, size_t outlen)
{
	uint8_t num[64];
	size_t i, o;
	unsigned int rem, acc;

	memcpy(num, in, inlen);
	for (o = outlen; o > 0; o--) {
		rem = 0;
		for (i = 0; i < inlen; i++) {
			acc = rem * 256 + num[i];
			num[i] = (uint8_t)(acc / 62);
			rem = acc % 62;
		}
		out[o - 1] = b62[rem];
	}
	sodium_memzero(num, sizeof(num));
}

static void
checksum(const char *s, size_t n, char out[TOKEN_CHECK_LEN])
{
	uint32_t crc = crc32_bytes(s, n);
	uint8_t be[4];

	be[0] = crc >> 24;
	be[1] = crc >> 16;
	be[2] = crc >> 8;
	be[3] = crc;
	base62_encode(be, sizeof(be), out, TOKEN_CHECK_LEN);
}

const char *
token_type_prefix(enum token_type t)
{
	switch (t) {
	case TOKEN_USER:
		return "ghx_";
	case TOKEN_AGENT:
		return "gha_";
	default:
		return "????";
	}
}

const char *
token_type_name(enum token_type t)
{
	switch (t) {
	case TOKEN_USER:
		return "user";
	case TOKEN_AGENT:
		return "agent";
	default:
		return "none";
	}
}

void
token_generate(enum token_type t, char *out)
{
	uint8_t rnd[32];

	memcpy(out, token_type_prefix(t), TOKEN_PREFIX_LEN);
	randombytes_buf(rnd, sizeof(rnd));
	base62_encode(rnd, sizeof(rnd), out + TOKEN_PREFIX_LEN,
	    TOKEN_RANDOM_LEN);
	sodium_memzero(rnd, sizeof(rnd));
	checksum(out, TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN,
	    out + TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN);
	out[TOKEN_LEN] = '\0';
}

enum token_type
token_parse(const char *s, size_t len)
{
	enum token_type t;
	char sum[TOKEN_CHECK_LEN];
	size_t i;

	if (len != TOKEN_LEN)
		return TOKEN_NONE;
	if (memcmp(s, "ghx_", TOKEN_PREFIX_LEN) == 0)
		t = TOKEN_USER;
	else if (memcmp(s, "gha_", TOKEN_PREFIX_LEN) == 0)
		t = TOKEN_AGENT;
	else
		return TOKEN_NONE;
	for (i = TOKEN_PREFIX_LEN; i < len; i++)
		if (memchr(b62, s[i], sizeof(b62) - 1) == NULL || s[i] == '\0')
			return TOKEN_NONE;
	checksum(s, TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN, sum);
	if (memcmp(sum, s + TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN,
	    TOKEN_CHECK_LEN) != 0)
		return TOKEN_NONE;
	return t;
}

void
token_hash(const char *s, size_t len, uint8_t out[TOKEN_HASH_LEN])
{
	crypto_hash_sha256(out, (const unsigned char *)s, len);
}

void
token_display(const char *s, size_t len, char *out)
{
	size_t n = len < TOKEN_PREFIX_LEN + 4 ? len : TOKEN_PREFIX_LEN + 4;
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x21 && s[i] < 0x7f) ? s[i] : '?';
	memcpy(out + n, "\xe2\x80\xa6", 3);	/* … */
	out[n + 3] = '\0';
}
