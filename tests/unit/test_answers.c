/*
 * test_answers.c: the keyholder's parsers of GitHub's answers, on
 * answers shaped as GitHub (and tests/upstream/fake_github.py) sends
 * them and on broken ones: mint_parse() and mint_parse_time()
 * (keyholder/mint.c), khttp_message() (keyholder/khttp.c),
 * copilot_parse() (keyholder/copilot.c), identity_parse()
 * (keyholder/identity.c) and app_parse_installations() (keyholder/app.c).
 * Every answer is handed over in a buffer of its exact size, without a
 * NUL, so that ASan sees any read past it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "copilot.h"
#include "identity.h"
#include "khttp.h"
#include "mint.h"
#include "unit.h"

#define NOW	1750000000	/* 2025-06-15T15:06:40Z */
#define TOKEN	"ghs_16C7e42F292c6912E7710c838347Ae178B4a"
#define LOGIN39	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CPTOKEN	"tid=0123456789abcdef0123456789abcdef;exp=1750001800;" \
		"sku=copilot_for_business_seat;st=dotcom;chat=1;8kp=1:ab12"

/* The answer in a buffer of its exact size (no NUL); free() it. */
static char *
answer(const char *s, size_t *len)
{
	char *b;

	*len = strlen(s);
	if ((b = malloc(*len ? *len : 1)) == NULL)
		abort();
	memcpy(b, s, *len);
	return b;
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* --- mint --- */

static int
mint(const char *s, struct mint_answer *a)
{
	size_t len;
	char *b = answer(s, &len);
	int r;

	r = mint_parse(b, len, a);
	free(b);
	return r;
}

static void
test_mint_parse(void)
{
	struct mint_answer a;

	CHECK(mint("{\"token\":\"" TOKEN "\",\"expires_at\":"
	    "\"2026-11-23T13:00:00Z\",\"permissions\":{\"issues\":\"write\","
	    "\"metadata\":\"read\"},\"repository_selection\":\"selected\","
	    "\"repositories\":[{\"id\":1,\"name\":\"widgets\",\"full_name\":"
	    "\"acme/widgets\",\"private\":true}]}", &a) == 0);
	CHECK_STR(a.token, TOKEN);
	CHECK(a.len == strlen(TOKEN));
	CHECK(a.expires == 1795438800);

	/* Pretty-printed, escaped, "all" without repositories. */
	CHECK(mint("{\n  \"token\": \"\\u0067hs_a\\/b\",\n  \"expires_at\": "
	    "\"2025-06-15T16:06:40Z\",\n  \"repository_selection\": "
	    "\"all\"\n}\n", &a) == 0);
	CHECK_STR(a.token, "ghs_a/b");
	CHECK(a.len == 7);
	CHECK(a.expires == 1750003600);

	/* The longest token that fits, and one byte more. */
	{
		char s[MINT_TOKEN_MAX + 80], tok[MINT_TOKEN_MAX + 1];

		memset(tok, 'A', sizeof(tok));
		tok[MINT_TOKEN_MAX - 1] = '\0';
		(void)snprintf(s, sizeof(s), "{\"token\":\"%s\",\"expires_at\":"
		    "\"2026-11-23T13:00:00Z\"}", tok);
		CHECK(mint(s, &a) == 0);
		CHECK(a.len == MINT_TOKEN_MAX - 1);
		tok[MINT_TOKEN_MAX - 1] = 'A';
		tok[MINT_TOKEN_MAX] = '\0';
		(void)snprintf(s, sizeof(s), "{\"token\":\"%s\",\"expires_at\":"
		    "\"2026-11-23T13:00:00Z\"}", tok);
		CHECK(mint(s, &a) == -1);
		CHECK(all_zero(&a, sizeof(a)));
	}
}

static void
test_mint_refused(void)
{
	static const char *bad[] = {
		"",
		"not json",
		"[{\"token\":\"" TOKEN "\"}]",
		"{\"token\":\"" TOKEN "\"}",
		"{\"expires_at\":\"2026-11-23T13:00:00Z\"}",
		"{\"token\":\"\",\"expires_at\":\"2026-11-23T13:00:00Z\"}",
		"{\"token\":42,\"expires_at\":\"2026-11-23T13:00:00Z\"}",
		"{\"token\":\"ghs_a b\",\"expires_at\":"
		    "\"2026-11-23T13:00:00Z\"}",
		"{\"token\":\"ghs_a\\r\\nX: y\",\"expires_at\":"
		    "\"2026-11-23T13:00:00Z\"}",
		"{\"token\":\"ghs_\\u00e9\",\"expires_at\":"
		    "\"2026-11-23T13:00:00Z\"}",
		"{\"token\":\"ghs_a\\u0000b\",\"expires_at\":"
		    "\"2026-11-23T13:00:00Z\"}",
		"{\"token\":\"" TOKEN "\",\"expires_at\":1795438800}",
		"{\"token\":\"" TOKEN "\",\"expires_at\":"
		    "\"2026-11-23 13:00:00\"}",
		"{\"token\":\"" TOKEN "\",\"expires_at\":"
		    "\"2026-11-23T13:00:00+01:00\"}",
		"{\"token\":\"" TOKEN "\",\"expires_at\":"
		    "\"1969-12-31T23:59:59Z\"}",
		"{\"token\":\"" TOKEN "\",\"expires_at\":"
		    "\"2026-11-23T13:00:00Z\"",
	};
	struct mint_answer a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 'x', sizeof(a));
		CHECK(mint(bad[i], &a) == -1);
		CHECK(all_zero(&a, sizeof(a)));
	}

	/* Exactly len bytes: what follows a NUL is not ignored. */
	{
		static const char s[] = "{\"token\":\"" TOKEN "\","
		    "\"expires_at\":\"2026-11-23T13:00:00Z\"}\0junk";

		CHECK(mint_parse(s, sizeof(s) - 1, &a) == -1);
		CHECK(mint_parse(s, strlen(s), &a) == 0);
	}
}

static void
test_mint_parse_time(void)
{
	CHECK(mint_parse_time("2026-11-23T13:00:00Z") == 1795438800);
	CHECK(mint_parse_time("1970-01-01T00:00:00Z") == 0);
	CHECK(mint_parse_time("2026-11-23T13:00:00") == -1);
	CHECK(mint_parse_time("2026-11-23T13:00:00ZZ") == -1);
	CHECK(mint_parse_time("2026-11-23T13:00:00.000Z") == -1);
	CHECK(mint_parse_time("tomorrow") == -1);
	CHECK(mint_parse_time("") == -1);
	CHECK(mint_parse_time(NULL) == -1);
}

/* --- GitHub's error answers --- */

static int
message(const char *s, char *out, size_t outlen)
{
	size_t len;
	char *b = answer(s, &len);
	int r;

	r = khttp_message(b, len, out, outlen);
	free(b);
	return r;
}

static void
test_message(void)
{
	char out[160], *small;

	CHECK(message("{\"message\":\"Not Found\",\"documentation_url\":"
	    "\"https://docs.github.com/rest/apps/apps#create-an-installation-"
	    "access-token-for-an-app\"}", out, sizeof(out)) == 0);
	CHECK_STR(out, "Not Found");
	CHECK(message("{\"message\":\"Invalid request.\\n\\nFor 'properties/"
	    "repositories', \\\"x\\\" is not an array.\",\"documentation_url\":"
	    "\"https://docs.github.com/rest\"}", out, sizeof(out)) == 0);
	CHECK_STR(out, "Invalid request.??For 'properties/repositories', "
	    "\"x\" is not an array.");
	CHECK(message("{\"message\":\"\\u00e9\\t\\u001b[31m\"}", out,
	    sizeof(out)) == 0);
	CHECK_STR(out, "????[31m");
	CHECK(message("{\"message\":\"\"}", out, sizeof(out)) == 0);
	CHECK_STR(out, "");

	/* Only "message" comes out. */
	CHECK(message("{\"message\":\"Bad credentials\",\"token\":\"" TOKEN
	    "\"}", out, sizeof(out)) == 0);
	CHECK_STR(out, "Bad credentials");

	/* None. */
	memset(out, 'x', sizeof(out));
	CHECK(message("{\"documentation_url\":\"https://docs.github.com\"}",
	    out, sizeof(out)) == -1);
	CHECK_STR(out, "");
	CHECK(message("{\"message\":[\"x\"]}", out, sizeof(out)) == -1);
	CHECK_STR(out, "");
	CHECK(message("<html><h1>502 Bad Gateway</h1></html>", out,
	    sizeof(out)) == -1);
	CHECK_STR(out, "");
	CHECK(message("", out, sizeof(out)) == -1);
	CHECK(message("[\"message\"]", out, sizeof(out)) == -1);

	/* Truncated to a buffer of its exact size. */
	if ((small = malloc(7)) == NULL)
		abort();
	CHECK(message("{\"message\":\"Server Error\"}", small, 7) == 0);
	CHECK_STR(small, "Server");
	CHECK(message("{\"message\":\"Server Error\"}", small, 1) == 0);
	CHECK_STR(small, "");
	free(small);
}

/* --- Copilot --- */

static int
copilot(long status, const char *s, int64_t now, struct copilot_answer *a,
    char *why, size_t whylen)
{
	size_t len;
	char *b = answer(s, &len);
	int r;

	r = copilot_parse(status, b, len, now, a, why, whylen);
	free(b);
	return r;
}

/* fake_sites.py's answer, expires_at and refresh_in as given. */
static int
copilot_ok(const char *expires, const char *refresh,
    struct copilot_answer *a, char *why)
{
	char s[2048];

	(void)snprintf(s, sizeof(s), "{\"annotations_enabled\":false,"
	    "\"chat_enabled\":true,\"endpoints\":{\"api\":"
	    "\"https://api.githubcopilot.com\",\"proxy\":"
	    "\"https://copilot-proxy.githubusercontent.com\"},"
	    "\"expires_at\":%s,\"individual\":false,\"prompt_8k\":true,"
	    "%s%s%s\"sku\":\"copilot_for_business_seat\","
	    "\"telemetry\":\"disabled\",\"token\":\"" CPTOKEN "\","
	    "\"tracking_id\":\"0123456789abcdef\"}", expires,
	    refresh ? "\"refresh_in\":" : "", refresh ? refresh : "",
	    refresh ? "," : "");
	return copilot(200, s, NOW, a, why, COPILOT_WHY_MAX);
}

static void
test_copilot_parse(void)
{
	struct copilot_answer a;
	char why[COPILOT_WHY_MAX];

	CHECK(copilot_ok("1750001800", "1500", &a, why) == 0);
	CHECK_STR(a.token, CPTOKEN);
	CHECK(a.len == strlen(CPTOKEN));
	CHECK(a.expires == 1750001800);
	CHECK(a.refresh_ms == 1500000 - 60000);	/* at most a minute early */

	CHECK(copilot_ok("1750001800", "100", &a, why) == 0);
	CHECK(a.refresh_ms == 90000);		/* a tenth early */

	/* refresh_in missing, not > 0, not an integer, past expiry. */
	CHECK(copilot_ok("1750001800", NULL, &a, why) == 0);
	CHECK(a.refresh_ms == 1800000 - 60000);
	CHECK(copilot_ok("1750001800", "0", &a, why) == 0);
	CHECK(a.refresh_ms == 1800000 - 60000);
	CHECK(copilot_ok("1750001800", "\"1500\"", &a, why) == 0);
	CHECK(a.refresh_ms == 1800000 - 60000);
	CHECK(copilot_ok("1750001800", "99999", &a, why) == 0);
	CHECK(a.refresh_ms == 1800000 - 60000);
	CHECK(copilot_ok("1750000001", "1500", &a, why) == 0);
	CHECK(a.refresh_ms == 900);

	/* A far expiry does not overflow. */
	CHECK(copilot_ok("9223372036854775807", "9223372036854775807", &a,
	    why) == 0);
	CHECK(a.expires == INT64_MAX);
	CHECK(a.refresh_ms > 0 && a.refresh_ms / 1000 <= a.expires - NOW);

	/* The longest token, and one byte more. */
	{
		char s[COPILOT_TOKEN_MAX + 100], tok[COPILOT_TOKEN_MAX + 2];

		memset(tok, 't', sizeof(tok));
		tok[COPILOT_TOKEN_MAX] = '\0';
		(void)snprintf(s, sizeof(s), "{\"token\":\"%s\",\"expires_at\":"
		    "1750001800}", tok);
		CHECK(copilot(200, s, NOW, &a, why, sizeof(why)) == 0);
		CHECK(a.len == COPILOT_TOKEN_MAX);
		tok[COPILOT_TOKEN_MAX] = 't';
		tok[COPILOT_TOKEN_MAX + 1] = '\0';
		(void)snprintf(s, sizeof(s), "{\"token\":\"%s\",\"expires_at\":"
		    "1750001800}", tok);
		CHECK(copilot(200, s, NOW, &a, why, sizeof(why)) == -1);
		CHECK_STR(why, "the answer has no usable token");
	}
}

static void
test_copilot_refused(void)
{
	struct copilot_answer a;
	char why[COPILOT_WHY_MAX], *small;

	memset(&a, 'x', sizeof(a));
	CHECK(copilot_ok("1750000000", "1500", &a, why) == -1);
	CHECK_STR(why, "the answer's expires_at is missing or past");
	CHECK(all_zero(&a, sizeof(a)));
	CHECK(copilot_ok("1750001800.5", "1500", &a, why) == -1);
	CHECK_STR(why, "the answer's expires_at is missing or past");
	CHECK(copilot_ok("\"1750001800\"", "1500", &a, why) == -1);
	CHECK_STR(why, "the answer's expires_at is missing or past");
	CHECK(copilot(200, "{\"expires_at\":1750001800}", NOW, &a, why,
	    sizeof(why)) == -1);
	CHECK_STR(why, "the answer has no usable token");
	CHECK(copilot(200, "{\"token\":\"tid=1; exp=2\",\"expires_at\":"
	    "1750001800}", NOW, &a, why, sizeof(why)) == -1);
	CHECK_STR(why, "the answer has no usable token");
	CHECK(copilot(200, "{\"token\":\"\",\"expires_at\":1750001800}", NOW,
	    &a, why, sizeof(why)) == -1);
	CHECK_STR(why, "the answer has no usable token");
	CHECK(copilot(200, "<html>upstream connect error</html>", NOW, &a,
	    why, sizeof(why)) == -1);
	CHECK_STR(why, "the answer is not JSON");
	CHECK(copilot(200, "", NOW, &a, why, sizeof(why)) == -1);
	CHECK_STR(why, "the answer is not JSON");
	CHECK(copilot(200, "{\"token\":\"a\",\"token\":\"b\",\"expires_at\":"
	    "1750001800}", NOW, &a, why, sizeof(why)) == -1);
	CHECK_STR(why, "the answer is not JSON");
	CHECK(all_zero(&a, sizeof(a)));

	/* Another status: GitHub's message, made printable. */
	CHECK(copilot(404, "{\"message\":\"Not Found\",\"documentation_url\":"
	    "\"https://docs.github.com/rest\"}", NOW, &a, why,
	    sizeof(why)) == -1);
	CHECK_STR(why, "GitHub answered 404: Not Found");
	CHECK(copilot(401, "{\"message\":\"Bad\\r\\ncredentials\\u00e9\"}",
	    NOW, &a, why, sizeof(why)) == -1);
	CHECK_STR(why, "GitHub answered 401: Bad??credentials??");
	CHECK(copilot(500, "", NOW, &a, why, sizeof(why)) == -1);
	CHECK_STR(why, "GitHub answered 500");
	CHECK(copilot(502, "<html>Bad Gateway</html>", NOW, &a, why,
	    sizeof(why)) == -1);
	CHECK_STR(why, "GitHub answered 502");
	/* A token in a failed answer is not the reason. */
	CHECK(copilot(500, "{\"message\":\"Server Error\",\"token\":\""
	    CPTOKEN "\",\"expires_at\":1750001800}", NOW, &a, why,
	    sizeof(why)) == -1);
	CHECK_STR(why, "GitHub answered 500: Server Error");
	CHECK(all_zero(&a, sizeof(a)));

	/* A reason truncated to a buffer of its exact size. */
	if ((small = malloc(12)) == NULL)
		abort();
	CHECK(copilot(404, "{\"message\":\"Not Found\"}", NOW, &a, small,
	    12) == -1);
	CHECK_STR(small, "GitHub answ");
	free(small);
}

/* --- identity --- */

static int
identity(const char *s, char *login)
{
	size_t len;
	char *b = answer(s, &len);
	int r;

	r = identity_parse(b, len, login);
	free(b);
	return r;
}

static void
test_identity_parse(void)
{
	char *login;

	if ((login = malloc(IDENTITY_LOGIN_MAX + 1)) == NULL)
		abort();
	CHECK(identity("{\"login\":\"octocat\",\"id\":583231,\"node_id\":"
	    "\"MDQ6VXNlcjU4MzIzMQ==\",\"type\":\"User\",\"site_admin\":false,"
	    "\"name\":\"The Octocat\",\"company\":\"@github\",\"email\":null}",
	    login) == 0);
	CHECK_STR(login, "octocat");
	CHECK(identity("{\"login\":\"agents[bot]\",\"type\":\"Bot\"}",
	    login) == 0);
	CHECK_STR(login, "agents[bot]");
	CHECK(identity("{\"login\":\"Mona-Lisa_Octo\"}", login) == 0);
	CHECK_STR(login, "Mona-Lisa_Octo");
	CHECK(identity("{\"login\":\"" LOGIN39 "\"}", login) == 0);
	CHECK(strlen(login) == IDENTITY_LOGIN_MAX);

	CHECK(identity("{\"login\":\"" LOGIN39 "a\"}", login) == -1);
	CHECK_STR(login, "");
	CHECK(identity("{\"login\":\"octo cat\"}", login) == -1);
	CHECK(identity("{\"login\":\"octo\\ncat\"}", login) == -1);
	CHECK(identity("{\"login\":\"\\u00e9t\\u00e9\"}", login) == -1);
	CHECK(identity("{\"login\":\"\"}", login) == -1);
	CHECK(identity("{\"login\":12}", login) == -1);
	CHECK(identity("{\"message\":\"Resource not accessible by "
	    "integration\"}", login) == -1);
	CHECK(identity("[{\"login\":\"octocat\"}]", login) == -1);
	CHECK(identity("{\"login\":\"octocat\"", login) == -1);
	CHECK(identity("", login) == -1);
	CHECK_STR(login, "");
	free(login);
}

/* --- installations --- */

static int
installations(const char *s, struct app_listed *l, size_t max, size_t *n)
{
	size_t len;
	char *b = answer(s, &len);
	int r;

	r = app_parse_installations(b, len, l, max, n);
	free(b);
	return r;
}

#define INST(id, login, type)						\
	"{\"id\":" #id ",\"client_id\":\"Iv1.abcdef0123456789\","	\
	"\"account\":{\"login\":\"" login "\",\"id\":4242,\"type\":\""	\
	type "\",\"site_admin\":false},\"repository_selection\":\"all\","\
	"\"access_tokens_url\":\"https://api.github.com/app/"		\
	"installations/" #id "/access_tokens\",\"app_id\":12345,"	\
	"\"app_slug\":\"agents\",\"target_type\":\"" type "\","	\
	"\"permissions\":{\"issues\":\"write\",\"metadata\":\"read\"},"	\
	"\"events\":[],\"suspended_at\":null}"

static void
test_installations(void)
{
	struct app_listed *l;
	size_t n;

	if ((l = malloc(APP_DISCOVER_MAX * sizeof(*l))) == NULL)
		abort();
	CHECK(installations("[" INST(987, "acme", "Organization") ","
	    INST(988, "octocat", "User") "]", l, APP_DISCOVER_MAX, &n) == 0);
	CHECK(n == 2);
	CHECK(l[0].id == 987);
	CHECK_STR(l[0].account, "acme");
	CHECK(l[1].id == 988);
	CHECK_STR(l[1].account, "octocat");

	/* At most max. */
	CHECK(installations("[" INST(987, "acme", "Organization") ","
	    INST(988, "octocat", "User") "]", l, 1, &n) == 0);
	CHECK(n == 1);
	CHECK(l[0].id == 987);

	/* What is not an installation is passed over. */
	CHECK(installations("[{\"id\":0,\"account\":{\"login\":\"a\"}},"
	    "{\"id\":-3,\"account\":{\"login\":\"b\"}},"
	    "{\"id\":\"5\",\"account\":{\"login\":\"c\"}},{\"id\":6},"
	    "{\"id\":7,\"account\":{\"login\":\"\"}},"
	    "{\"id\":8,\"account\":{\"login\":"
	    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}},"
	    "{\"id\":9,\"account\":{\"login\":\"bad name\"}},"
	    "{\"id\":10,\"account\":{\"login\":\"bad\\nname\"}},"
	    "{\"id\":11,\"account\":\"d\"},12,null,"
	    "{\"id\":13.0,\"account\":{\"login\":\"e\"}},"
	    "{\"id\":14,\"account\":{\"login\":"
	    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}},"
	    "{\"id\":14,\"account\":{\"login\":\"again\"}}]", l,
	    APP_DISCOVER_MAX, &n) == 0);
	CHECK(n == 2);
	CHECK(l[0].id == 14 && strlen(l[0].account) == APP_ACCOUNT_MAX);
	CHECK(l[1].id == 14);
	CHECK_STR(l[1].account, "again");

	CHECK(installations("[]", l, APP_DISCOVER_MAX, &n) == 0);
	CHECK(n == 0);
	n = 5;
	CHECK(installations("{\"total_count\":1,\"installations\":[" INST(987,
	    "acme", "Organization") "]}", l, APP_DISCOVER_MAX, &n) == -1);
	CHECK(n == 0);
	CHECK(installations("{\"message\":\"A JSON web token could not be "
	    "decoded\"}", l, APP_DISCOVER_MAX, &n) == -1);
	CHECK(installations("[" INST(987, "acme", "Organization"), l,
	    APP_DISCOVER_MAX, &n) == -1);
	CHECK(installations("", l, APP_DISCOVER_MAX, &n) == -1);
	free(l);
}

int
main(void)
{
	UNIT_RUN(test_mint_parse);
	UNIT_RUN(test_mint_refused);
	UNIT_RUN(test_mint_parse_time);
	UNIT_RUN(test_message);
	UNIT_RUN(test_copilot_parse);
	UNIT_RUN(test_copilot_refused);
	UNIT_RUN(test_identity_parse);
	UNIT_RUN(test_installations);
	return UNIT_DONE("test_answers");
}
