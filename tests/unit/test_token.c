/*
 * test_token.c: client token format: generation, checksum, parsing,
 * display, hashing.
 */
#include <string.h>

#include <sodium.h>

#include "token.h"
#include "unit.h"

static void
test_generate_parse(void)
{
	char a[TOKEN_LEN + 1], b[TOKEN_LEN + 1];
	int i;

	token_generate(TOKEN_USER, a);
	token_generate(TOKEN_USER, b);
	CHECK(strlen(a) == TOKEN_LEN);
	CHECK(strncmp(a, "ghx_", 4) == 0);
	CHECK(strcmp(a, b) != 0);
	CHECK(token_parse(a, strlen(a)) == TOKEN_USER);
	token_generate(TOKEN_AGENT, a);
	CHECK(strncmp(a, "gha_", 4) == 0);
	CHECK(token_parse(a, strlen(a)) == TOKEN_AGENT);
	/* Many: always well-formed. */
	for (i = 0; i < 1000; i++) {
		token_generate(TOKEN_USER, a);
		if (token_parse(a, TOKEN_LEN) != TOKEN_USER)
			break;
	}
	CHECK(i == 1000);
}

static void
test_reject(void)
{
	char a[TOKEN_LEN + 1], c;
	size_t i;
	int caught = 0;

	token_generate(TOKEN_USER, a);
	/* Every single-character change is caught by the checksum. */
	for (i = 4; i < TOKEN_LEN; i++) {
		c = a[i];
		a[i] = c == 'A' ? 'B' : 'A';
		if (token_parse(a, TOKEN_LEN) == TOKEN_NONE)
			caught++;
		a[i] = c;
	}
	CHECK(caught == TOKEN_LEN - 4);
	CHECK(token_parse(a, TOKEN_LEN - 1) == TOKEN_NONE);
	CHECK(token_parse("ghp_abc", 7) == TOKEN_NONE);
	memcpy(a, "ghp_", 4);
	CHECK(token_parse(a, TOKEN_LEN) == TOKEN_NONE);
	token_generate(TOKEN_USER, a);
	a[10] = '\0';
	CHECK(token_parse(a, TOKEN_LEN) == TOKEN_NONE);
	token_generate(TOKEN_USER, a);
	a[10] = '-';
	CHECK(token_parse(a, TOKEN_LEN) == TOKEN_NONE);
}

static void
test_display_hash(void)
{
	char a[TOKEN_LEN + 1], d[TOKEN_DISPLAY_LEN + 1];
	uint8_t h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];

	token_generate(TOKEN_USER, a);
	token_display(a, TOKEN_LEN, d);
	CHECK(strlen(d) == TOKEN_DISPLAY_LEN - 1);
	CHECK(strncmp(d, a, 8) == 0);
	CHECK(strstr(d, a + 8) == NULL);
	token_display("ab", 2, d);
	CHECK_STR(d, "ab\xe2\x80\xa6");
	token_hash(a, TOKEN_LEN, h1);
	token_hash(a, TOKEN_LEN, h2);
	CHECK(memcmp(h1, h2, sizeof(h1)) == 0);
	a[5] ^= 1;
	token_hash(a, TOKEN_LEN, h2);
	CHECK(memcmp(h1, h2, sizeof(h1)) != 0);
}

int
main(void)
{
	if (sodium_init() == -1)
		return 1;
	UNIT_RUN(test_generate_parse);
	UNIT_RUN(test_reject);
	UNIT_RUN(test_display_hash);
	return UNIT_DONE("test_token");
}
