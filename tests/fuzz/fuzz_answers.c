/*
 * fuzz_answers.c: the keyholder's parsers of GitHub's answers on
 * arbitrary bytes: mint_parse() and mint_parse_time() (keyholder/mint.c),
 * khttp_message() (keyholder/khttp.c), copilot_parse()
 * (keyholder/copilot.c), identity_parse() (keyholder/identity.c) and
 * app_parse_installations() (keyholder/app.c).
 *
 * The input is a selector byte (which parser, modulo 6), a parameter
 * byte (the status for copilot_parse(), from a table; the output size
 * for khttp_message(); max for app_parse_installations()), the size of
 * a small reason buffer for copilot_parse(), then the answer.  The
 * answer and every output buffer are allocated at their exact sizes,
 * so that AddressSanitizer catches a read or write past one; jansson
 * allocates through this file so that what it frees during a parse can
 * be looked at.  mint_parse() and copilot_parse() run twice and must
 * answer the same (no state).  Aborts when a promise of the headers
 * breaks:
 *  - a token is 1 to its maximum bytes of printable ASCII without space,
 *    NUL-terminated, len its length, and the answer's "token" string (as
 *    jansson reads it here); an expiry is > 0 (for Copilot > now and the
 *    answer's "expires_at"), 0 < refresh_ms <= (expires - now) * 1000;
 *  - a failure leaves the answer all zero; its reason is NUL-terminated
 *    within its size, printable ASCII, one of the fixed reasons for
 *    status 200 and "GitHub answered STATUS[: message]" otherwise, the
 *    message khttp_message()'s; a small buffer gets a prefix of it; the
 *    answer's "token" (9 bytes or more) is never in a reason unless it
 *    is in GitHub's message;
 *  - a parse zeroes jansson's copy of the answer's token (given or not)
 *    before jansson frees it: fewer freed blocks start with the token
 *    than when jansson alone loads and frees the answer;
 *  - khttp_message() gives the "message" string, each byte outside
 *    0x20-0x7e made '?', truncated to fit, or "" and -1 without one;
 *  - identity_parse() gives the "login" when it is 1 to 39 letters,
 *    digits, '-', '_', '[', ']', else "" and -1;
 *  - app_parse_installations() gives -1 exactly for what is no JSON
 *    array, else exactly the first max entries with an id > 0 and an
 *    account login of 1 to 39 printable bytes, no space;
 *  - mint_parse_time() accepts only a string ending in 'Z'.
 * Seeds: tests/fuzz/corpus/answers/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "copilot.h"
#include "identity.h"
#include "khttp.h"
#include "mint.h"

#define NOW		1750000000	/* 2025-06-15, the clock for Copilot */
#define HDR		16		/* a jansson block's size, before it */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const long statuses[] = {
	200, 200, 200, 200, 201, 304, 401, 403, 404, 422, 429, 500, 502, 0,
	-1, 999999
};
#define NSTATUSES	(sizeof(statuses) / sizeof(statuses[0]))

static const char *const cp_reasons[] = {
	"the answer is not JSON",
	"the answer has no usable token",
	"the answer's expires_at is missing or past",
};

/* --- jansson's frees, counted while a parse runs --- */

static const char	*watched;	/* the token, or NULL */
static size_t		 nwatched;	/* blocks freed that start with it */

static void *
fz_malloc(size_t n)
{
	unsigned char *p;

	if ((p = malloc(HDR + n)) == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + HDR;
}

static void
fz_free(void *ptr)
{
	unsigned char *p;
	size_t n;

	if (ptr == NULL)
		return;
	p = (unsigned char *)ptr - HDR;
	memcpy(&n, p, sizeof(n));
	if (watched != NULL && n > strlen(watched) &&
	    memcmp(ptr, watched, strlen(watched) + 1) == 0)
		nwatched++;
	free(p);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_set_alloc_funcs(fz_malloc, fz_free);
	return 0;
}

/* Count the blocks jansson frees that start with tok and its NUL. */
static void
watch(const char *tok)
{
	watched = tok != NULL && tok[0] != '\0' ? tok : NULL;
	nwatched = 0;
}

static size_t
unwatch(void)
{
	watched = NULL;
	return nwatched;
}

/*
 * The parse zeroed the token's string: fewer freed blocks start with it
 * than when jansson alone loads and frees the answer (the same token
 * may also be a key or another string, which nobody zeroes).
 */
static void
check_zeroed(const char *body, size_t len, size_t flags, const char *tok,
    size_t parsed)
{
	size_t alone;

	watch(tok);
	json_decref(json_loadb(body, len, flags, NULL));
	alone = unwatch();
	if (alone > 0 && parsed >= alone) {
		fprintf(stderr, "a freed block still held the token\n");
		abort();
	}
}

/* --- what the answer holds, as jansson reads it here --- */

static json_t *
load(const char *body, size_t len, size_t flags)
{
	return json_loadb(body, len, flags, NULL);
}

static const char *
member(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* --- checks --- */

static int
printable(const char *s, int space)
{
	for (; *s != '\0'; s++)
		if (*s < (space ? 0x20 : 0x21) || *s > 0x7e)
			return 0;
	return 1;
}

static void
check_token(const char *tok, size_t len, size_t max, const char *want)
{
	if (memchr(tok, '\0', max + 1) == NULL || strlen(tok) != len ||
	    len == 0 || len > max || !printable(tok, 0) || want == NULL ||
	    strcmp(tok, want) != 0)
		abort();
}

static void
check_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			abort();
}

/* A reason in a buffer of its exact size: NUL-terminated, printable. */
static void
check_why(const char *why, size_t whylen)
{
	if (memchr(why, '\0', whylen) == NULL || !printable(why, 1))
		abort();
}

/* small, from a buffer of smalllen, is what fits of full. */
static void
check_prefix(const char *small, size_t smalllen, const char *full)
{
	size_t n = strlen(full);

	if (n > smalllen - 1)
		n = smalllen - 1;
	if (strlen(small) != n || strncmp(small, full, n) != 0)
		abort();
}

/* The answer's token in why only where GitHub's message has it. */
static void
check_no_token(const char *why, const char *tok, const char *msg)
{
	if (tok == NULL || strlen(tok) < 9 || strchr(tok, ' ') != NULL)
		return;
	if (strstr(why, tok) != NULL && (msg == NULL ||
	    strstr(msg, tok) == NULL))
		abort();
}

/* --- the parsers --- */

static void
fuzz_mint(const char *body, size_t len)
{
	struct mint_answer a, b;
	json_t *o;
	const char *tok;
	size_t freed;
	int r;

	o = load(body, len, 0);
	tok = member(o, "token");
	watch(tok);
	r = mint_parse(body, len, &a);
	freed = unwatch();
	check_zeroed(body, len, 0, tok, freed);
	if (mint_parse(body, len, &b) != r)
		abort();
	if (r == 0) {
		check_token(a.token, a.len, MINT_TOKEN_MAX - 1, tok);
		if (a.expires <= 0 || a.expires != mint_parse_time(member(o,
		    "expires_at")) || memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	} else if (r == -1) {
		check_zero(&a, sizeof(a));
		if (tok != NULL && mint_parse_time(member(o, "expires_at")) >
		    0 && strlen(tok) > 0 && strlen(tok) < MINT_TOKEN_MAX &&
		    printable(tok, 0))
			abort();
	} else
		abort();
	json_decref(o);
}

static void
fuzz_time(const char *body, size_t len)
{
	char *s;
	int64_t t;

	if ((s = malloc(len + 1)) == NULL)
		abort();
	memcpy(s, body, len);
	s[len] = '\0';
	t = mint_parse_time(s);
	if (t != mint_parse_time(s) || (t != -1 && (strlen(s) == 0 ||
	    s[strlen(s) - 1] != 'Z')))
		abort();
	free(s);
}

static void
check_message(const char *out, size_t outlen, int r, const char *m)
{
	size_t i, n;

	if (memchr(out, '\0', outlen) == NULL || !printable(out, 1))
		abort();
	if (m == NULL) {
		if (r != -1 || out[0] != '\0')
			abort();
		return;
	}
	n = strlen(m) < outlen - 1 ? strlen(m) : outlen - 1;
	if (r != 0 || strlen(out) != n)
		abort();
	for (i = 0; i < n; i++)
		if (out[i] != (m[i] >= 0x20 && m[i] <= 0x7e ? m[i] : '?'))
			abort();
}

static void
fuzz_message(const char *body, size_t len, size_t outlen)
{
	json_t *o;
	char *out;
	int r;

	if ((out = malloc(outlen)) == NULL)
		abort();
	o = load(body, len, 0);
	r = khttp_message(body, len, out, outlen);
	check_message(out, outlen, r, member(o, "message"));
	check_no_token(out, member(o, "token"), member(o, "message"));
	json_decref(o);
	free(out);
}

static void
check_copilot_why(long status, const char *why, const char *body,
    size_t len)
{
	char want[COPILOT_WHY_MAX + 64], msg[COPILOT_WHY_MAX];
	size_t i, n;

	if (status == 200) {
		for (i = 0; i < sizeof(cp_reasons) / sizeof(cp_reasons[0]); i++)
			if (strcmp(why, cp_reasons[i]) == 0)
				return;
		abort();
	}
	n = (size_t)snprintf(want, sizeof(want), "GitHub answered %ld",
	    status);
	if (khttp_message(body, len, msg, sizeof(msg)) == 0)
		(void)snprintf(want + n, sizeof(want) - n, ": %s", msg);
	check_prefix(why, COPILOT_WHY_MAX, want);
}

static void
fuzz_copilot(const char *body, size_t len, long status, size_t smalllen)
{
	struct copilot_answer a, b;
	char why[COPILOT_WHY_MAX], *small;
	json_t *o, *x;
	const char *tok;
	size_t freed;
	int r;

	if ((small = malloc(smalllen)) == NULL)
		abort();
	o = load(body, len, JSON_REJECT_DUPLICATES);
	tok = member(o, "token");
	watch(tok);
	r = copilot_parse(status, body, len, NOW, &a, why, sizeof(why));
	freed = unwatch();
	if (status == 200)
		check_zeroed(body, len, JSON_REJECT_DUPLICATES, tok, freed);
	if (copilot_parse(status, body, len, NOW, &b, small, smalllen) != r)
		abort();
	if (r == 0) {
		x = json_object_get(o, "expires_at");
		check_token(a.token, a.len, COPILOT_TOKEN_MAX, tok);
		if (status != 200 || !json_is_integer(x) ||
		    a.expires != json_integer_value(x) || a.expires <= NOW ||
		    a.refresh_ms <= 0 ||
		    a.refresh_ms / 1000 > a.expires - NOW ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	} else if (r == -1) {
		check_zero(&a, sizeof(a));
		check_why(why, sizeof(why));
		check_copilot_why(status, why, body, len);
		check_prefix(small, smalllen, why);
		json_decref(o);
		o = load(body, len, 0);
		check_no_token(why, member(o, "token"), member(o, "message"));
	} else
		abort();
	json_decref(o);
	free(small);
}

static int
login_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > IDENTITY_LOGIN_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '[' || *s == ']'))
			return 0;
	return 1;
}

static void
fuzz_identity(const char *body, size_t len)
{
	char *login;
	json_t *o;
	const char *want;
	int r;

	if ((login = malloc(IDENTITY_LOGIN_MAX + 1)) == NULL)
		abort();
	o = load(body, len, 0);
	want = member(o, "login");
	r = identity_parse(body, len, login);
	if (memchr(login, '\0', IDENTITY_LOGIN_MAX + 1) == NULL)
		abort();
	if (login_ok(want) ? r != 0 || strcmp(login, want) != 0 :
	    r != -1 || login[0] != '\0')
		abort();
	json_decref(o);
	free(login);
}

static void
fuzz_app(const char *body, size_t len, size_t max)
{
	struct app_listed *l;
	json_t *o, *v;
	const char *login;
	json_int_t id;
	size_t i, n, k = 0;
	int r;

	if ((l = malloc(max * sizeof(*l))) == NULL)
		abort();
	o = load(body, len, 0);
	r = app_parse_installations(body, len, l, max, &n);
	if (!json_is_array(o)) {
		if (r != -1 || n != 0)
			abort();
		goto out;
	}
	if (r != 0 || n > max)
		abort();
	json_array_foreach(o, i, v) {
		if (k == max)
			break;
		id = json_integer_value(json_object_get(v, "id"));
		login = member(json_object_get(v, "account"), "login");
		if (id <= 0 || login == NULL || strlen(login) == 0 ||
		    strlen(login) > APP_ACCOUNT_MAX || !printable(login, 0))
			continue;
		if (k >= n || l[k].id != (uint64_t)id ||
		    strcmp(l[k].account, login) != 0)
			abort();
		k++;
	}
	if (k != n)
		abort();
out:
	json_decref(o);
	free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;
	size_t len;
	uint8_t sel, param, small;

	if (size < 3 || size > 3 + KHTTP_ANSWER_MAX)
		return 0;
	sel = data[0] % 6;
	param = data[1];
	small = data[2];
	len = size - 3;
	if ((body = malloc(len)) == NULL && len > 0)
		abort();
	if (len > 0)
		memcpy(body, data + 3, len);
	switch (sel) {
	case 0:
		fuzz_mint(body, len);
		break;
	case 1:
		fuzz_time(body, len);
		break;
	case 2:
		fuzz_message(body, len, 1 + (size_t)param);
		break;
	case 3:
		fuzz_copilot(body, len, statuses[param % NSTATUSES],
		    1 + (size_t)small % COPILOT_WHY_MAX);
		break;
	case 4:
		fuzz_identity(body, len);
		break;
	case 5:
		fuzz_app(body, len, 1 + (size_t)param % APP_DISCOVER_MAX);
		break;
	}
	free(body);
	return 0;
}
