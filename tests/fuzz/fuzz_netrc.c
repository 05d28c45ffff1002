/*
 * fuzz_netrc.c: netrc_lookup() (common/netrc.c) on arbitrary text.
 *
 * The input is three bytes, the sizes of the login, password and why
 * buffers (0-255), then the host up to a newline, then the netrc text.
 * The text and every output buffer are allocated at their exact sizes,
 * so that AddressSanitizer catches a read or write past one.  Aborts
 * when a promise of netrc.h breaks:
 *  - the result is -1, 0 or 1;
 *  - on 0 the login and password are non-empty and NUL-terminated within
 *    their sizes; on -1 why is NUL-terminated within its size, reads
 *    "line N: " and one of the fixed reasons (so no secret is in it),
 *    and a small why is a prefix of the whole reason;
 *  - ASCII case in the host does not matter, and small output buffers
 *    change nothing but whether a found entry fits.
 * Seeds: tests/fuzz/corpus/netrc/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netrc.h"

#define MAXHOST	300

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const reasons[] = {
	"bad character in a word",
	"word too long",
	"machine without a name",
	"login without a value",
	"password without a value",
	"account without a value",
	"macdef without a name",
	"unknown keyword",
	"login or password before \"machine\"",
};

static void
check_why(const char *why)
{
	const char *p = why;
	size_t i;

	if (strncmp(p, "line ", 5) != 0)
		abort();
	p += 5;
	if (*p < '1' || *p > '9')
		abort();
	while (*p >= '0' && *p <= '9')
		p++;
	if (p[0] != ':' || p[1] != ' ')
		abort();
	p += 2;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(p, reasons[i]) == 0)
			return;
	abort();
}

struct out {
	char	login[NETRC_WORD_MAX + 1];
	char	password[NETRC_WORD_MAX + 1];
	char	why[128];
};

static int
lookup_big(const char *text, size_t len, const char *host, struct out *o)
{
	int r;

	r = netrc_lookup(text, len, host, o->login, sizeof(o->login),
	    o->password, sizeof(o->password), o->why, sizeof(o->why));
	if (r != -1 && r != 0 && r != 1)
		abort();
	if (r == 0 && (o->login[0] == '\0' || o->password[0] == '\0' ||
	    memchr(o->login, '\0', sizeof(o->login)) == NULL ||
	    memchr(o->password, '\0', sizeof(o->password)) == NULL))
		abort();
	if (r == -1) {
		if (memchr(o->why, '\0', sizeof(o->why)) == NULL)
			abort();
		check_why(o->why);
	}
	return r;
}

static char *
exact(size_t n)
{
	char *p;

	if ((p = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t loginlen, passwordlen, whylen, hlen, len, i;
	const uint8_t *nl;
	char host[MAXHOST + 1], alt[MAXHOST + 1];
	char *text, *login, *password, *why;
	struct out big, other;
	int r, rbig;

	if (size < 3 || size > NETRC_FILE_MAX + MAXHOST)
		return 0;
	loginlen = data[0];
	passwordlen = data[1];
	whylen = data[2];
	data += 3;
	size -= 3;
	nl = memchr(data, '\n', size);
	hlen = nl != NULL ? (size_t)(nl - data) : size;
	if (hlen > MAXHOST)
		return 0;
	memcpy(host, data, hlen);
	host[hlen] = '\0';
	data += nl != NULL ? hlen + 1 : hlen;
	size -= nl != NULL ? hlen + 1 : hlen;

	text = exact(size);
	memcpy(text, data, size);
	len = size;

	rbig = lookup_big(text, len, host, &big);

	/* The host in either case: the same answer. */
	for (i = 0; i < 2; i++) {
		memcpy(alt, host, hlen + 1);
		for (r = 0; r < (int)hlen; r++)
			if (i == 0 && alt[r] >= 'a' && alt[r] <= 'z')
				alt[r] -= 'a' - 'A';
			else if (i == 1 && alt[r] >= 'A' && alt[r] <= 'Z')
				alt[r] += 'a' - 'A';
		if (lookup_big(text, len, alt, &other) != rbig)
			abort();
		if (rbig == 0 && (strcmp(big.login, other.login) != 0 ||
		    strcmp(big.password, other.password) != 0))
			abort();
	}

	/* The fuzzer's sizes, each buffer exactly that big. */
	login = exact(loginlen);
	password = exact(passwordlen);
	why = exact(whylen);
	r = netrc_lookup(text, len, host, login, loginlen, password,
	    passwordlen, why, whylen);
	if (r != -1 && r != 0 && r != 1)
		abort();
	if (rbig == -1 && r != -1)
		abort();
	if (rbig == 1 && r != 1)
		abort();
	if (rbig == 0) {
		if (strlen(big.login) < loginlen &&
		    strlen(big.password) < passwordlen) {
			if (r != 0 || strcmp(login, big.login) != 0 ||
			    strcmp(password, big.password) != 0)
				abort();
		} else if (r != 1)
			abort();
	}
	if (r == -1 && whylen > 0) {
		if (memchr(why, '\0', whylen) == NULL)
			abort();
		if (strncmp(big.why, why, strlen(why)) != 0)
			abort();
	}
	free(login);
	free(password);
	free(why);
	free(text);
	return 0;
}
