/*
 * tokens.c: ghpctl's token and credential commands.  The master relays
 * them to the keyholder as JSON; the answers come back as JSON.
 *
 * Secrets cross the master sealed: a GitHub credential is sealed here to
 * the keyholder's public key before it leaves the terminal, and a new
 * client token comes back sealed to a key made for this one command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "ghpctl.h"
#include "msg.h"
#include "token.h"

#define CRED_MAX	512

struct create_opts {
	const char	*owner;
	const char	*repos;
	const char	*perms;
	const char	*type;
	const char	*ttl;
	const char	*session;
	const char	*note;
};

/* "90", "90s", "30m", "12h", "7d", "2w" -> seconds; -1 if malformed. */
static long long
parse_duration(const char *s)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || n < 0 || s[0] == '-')
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return n;
	if (n > 100LL * 365 * 86400 / 60)
		return -1;
	if (strcmp(end, "m") == 0)
		return n * 60;
	if (strcmp(end, "h") == 0)
		return n * 3600;
	if (strcmp(end, "d") == 0)
		return n * 86400;
	if (strcmp(end, "w") == 0)
		return n * 7 * 86400;
	return -1;
}

/* "a,b,c" -> JSON array of strings. */
static json_t *
split_list(const char *s)
{
	json_t *a = json_array();
	const char *p = s, *comma;

	for (;;) {
		comma = strchr(p, ',');
		json_array_append_new(a, json_stringn(p, comma ?
		    (size_t)(comma - p) : strlen(p)));
		if (comma == NULL)
			return a;
		p = comma + 1;
	}
}

/* "contents:read,issues:write" -> {"contents":"read",...} */
static json_t *
parse_perms(const char *s)
{
	json_t *list = split_list(s), *o = json_object(), *v;
	const char *item, *colon;
	char name[128];
	size_t i, n;

	json_array_foreach(list, i, v) {
		item = json_string_value(v);
		if ((colon = strchr(item, ':')) == NULL ||
		    (n = (size_t)(colon - item)) == 0 || n >= sizeof(name))
			fail("--perm %s: expected NAME:LEVEL (contents:read)",
			    item);
		memcpy(name, item, n);
		name[n] = '\0';
		json_object_set_new(o, name, json_string(colon + 1));
	}
	json_decref(list);
	return o;
}

/* Send a JSON command to the keyholder; returns the answer's text. */
int
keyholder_command(json_t *cmd, char **text)
{
	char *s;
	int sock, status;

	if ((s = json_dumps(cmd, JSON_COMPACT)) == NULL)
		fail("out of memory");
	sock = ctl_open();
	status = ctl_command(sock, MSG_CTL_KEYHOLDER, s, strlen(s), text);
	close(sock);
	free(s);
	return status;
}

static int
token_print_new(const char *text, const unsigned char *pk,
    const unsigned char *sk)
{
	unsigned char sealed[TOKEN_LEN + crypto_box_SEALBYTES];
	char token[TOKEN_LEN + 1];
	json_t *ans;
	const char *b64;
	size_t len;

	if ((ans = json_loads(text, 0, NULL)) == NULL ||
	    (b64 = json_string_value(json_object_get(ans, "sealed"))) == NULL ||
	    sodium_base642bin(sealed, sizeof(sealed), b64, strlen(b64), NULL,
	    &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != sizeof(sealed) ||
	    crypto_box_seal_open((unsigned char *)token, sealed, len, pk,
	    sk) != 0)
		fail("the keyholder's answer did not open");
	token[TOKEN_LEN] = '\0';
	printf("%s\n", token);
	fflush(stdout);
	sodium_memzero(token, sizeof(token));
	fprintf(stderr, "ghpctl: token %lld (%s) created; it is shown "
	    "only this once\n",
	    (long long)json_integer_value(json_object_get(ans, "id")),
	    json_string_value(json_object_get(ans, "prefix")));
	json_decref(ans);
	return 0;
}

static int
token_create(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "owner", required_argument, NULL, 'o' },
		{ "repo", required_argument, NULL, 'r' },
		{ "perm", required_argument, NULL, 'p' },
		{ "type", required_argument, NULL, 't' },
		{ "ttl", required_argument, NULL, 'l' },
		{ "session", required_argument, NULL, 's' },
		{ "note", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct create_opts o = { .type = "user" };
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	char pk64[sodium_base64_ENCODED_LEN(sizeof(pk),
	    sodium_base64_VARIANT_ORIGINAL)], *text;
	long long ttl = 0;
	json_t *cmd;
	int ch, status;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': o.owner = optarg; break;
		case 'r': o.repos = optarg; break;
		case 'p': o.perms = optarg; break;
		case 't': o.type = optarg; break;
		case 'l': o.ttl = optarg; break;
		case 's': o.session = optarg; break;
		case 'n': o.note = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || o.owner == NULL || o.repos == NULL ||
	    o.perms == NULL)
		usage();
	if (o.ttl != NULL && (ttl = parse_duration(o.ttl)) < 0)
		fail("--ttl %s: a duration like 3600, 90m, 12h, 7d", o.ttl);
	crypto_box_keypair(pk, sk);
	sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk),
	    sodium_base64_VARIANT_ORIGINAL);
	cmd = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:s}", "cmd",
	    "token-create", "owner", o.owner, "type", o.type, "repos",
	    split_list(o.repos), "perms", parse_perms(o.perms), "ttl",
	    (json_int_t)ttl, "reply_key", pk64);
	if (o.session != NULL)
		json_object_set_new(cmd, "session", json_string(o.session));
	if (o.note != NULL)
		json_object_set_new(cmd, "note", json_string(o.note));
	status = keyholder_command(cmd, &text);
	json_decref(cmd);
	if (status == 0 && text != NULL)
		status = token_print_new(text, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	free(text);
	return status;
}

/* Columns a UTF-8 string takes ("…" is three bytes, one column). */
static int
utf8_columns(const char *s)
{
	int n = 0;

	for (; s != NULL && *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static const char *
token_state(const json_t *t)
{
	const json_t *exp = json_object_get(t, "expires");

	if (json_is_integer(json_object_get(t, "revoked")))
		return "revoked";
	if (json_is_integer(exp) && json_integer_value(exp) != 0 &&
	    json_integer_value(exp) <= (json_int_t)time(NULL))
		return "expired";
	return "active";
}

static void
token_print_list(const char *text)
{
	const char *prefix;
	json_t *list, *t, *v;
	char exp[32], repos[256], perms[256];
	const char *k;
	size_t i, j, n;

	if ((list = json_loads(text, 0, NULL)) == NULL)
		fail("bad answer");
	printf("%-5s %-13s %-12s %-6s %-8s %-17s %s\n", "ID", "PREFIX",
	    "OWNER", "TYPE", "STATE", "EXPIRES", "REPOS / PERMS");
	json_array_foreach(list, i, t) {
		format_utc(exp, sizeof(exp), json_object_get(t, "expires"),
		    UTC_DATE);
		n = 0;
		repos[0] = perms[0] = '\0';
		json_array_foreach(json_object_get(t, "repos"), j, v)
			n += (size_t)snprintf(repos + n, n < sizeof(repos) ?
			    sizeof(repos) - n : 0, "%s%s", j ? "," : "",
			    json_string_value(v));
		n = 0;
		json_object_foreach(json_object_get(t, "perms"), k, v)
			n += (size_t)snprintf(perms + n, n < sizeof(perms) ?
			    sizeof(perms) - n : 0, "%s%s:%s", n ? "," : "", k,
			    json_string_value(v));
		prefix = json_string_value(json_object_get(t, "prefix"));
		printf("%-5lld %s%*s %-12s %-6s %-8s %-17s %s %s\n",
		    (long long)json_integer_value(json_object_get(t, "id")),
		    prefix ? prefix : "", utf8_columns(prefix) < 13 ?
		    13 - utf8_columns(prefix) : 0, "",
		    json_string_value(json_object_get(t, "owner")),
		    json_string_value(json_object_get(t, "type")),
		    token_state(t), exp, repos, perms);
	}
	json_decref(list);
}

static int
token_list(int argc, char *argv[])
{
	const char *owner = NULL;
	char *text;
	json_t *cmd;
	int i, json = 0, status;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc)
			owner = argv[++i];
		else
			usage();
	}
	cmd = json_pack("{s:s}", "cmd", "token-list");
	if (owner != NULL)
		json_object_set_new(cmd, "owner", json_string(owner));
	status = keyholder_command(cmd, &text);
	json_decref(cmd);
	if (status == 0 && text != NULL) {
		if (json)
			printf("%s\n", text);
		else
			token_print_list(text);
	}
	free(text);
	return status;
}

static int
token_revoke(int argc, char *argv[])
{
	char *text, *end;
	long long id;
	json_t *cmd;
	int status;

	if (argc != 2)
		usage();
	errno = 0;
	id = strtoll(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || id <= 0)
		fail("%s: a token id, as token list shows it", argv[1]);
	cmd = json_pack("{s:s, s:I}", "cmd", "token-revoke", "id",
	    (json_int_t)id);
	status = keyholder_command(cmd, &text);
	json_decref(cmd);
	if (text != NULL)
		fputs(text, stdout);
	free(text);
	return status;
}

int
cmd_token(int argc, char *argv[])
{
	if (sodium_init() == -1)
		fail("sodium_init");
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "create") == 0)
		return token_create(argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return token_list(argc, argv);
	if (strcmp(argv[0], "revoke") == 0)
		return token_revoke(argc, argv);
	usage();
}

/* The keyholder's public key, from the master. */
static void
keyholder_public_key(unsigned char pk[crypto_box_PUBLICKEYBYTES])
{
	char *text;
	size_t len;
	int s;

	s = ctl_open();
	if (ctl_command(s, MSG_CTL_PUBKEY, NULL, 0, &text) != 0 ||
	    text == NULL || sodium_hex2bin(pk, crypto_box_PUBLICKEYBYTES,
	    text, strlen(text), "\n", &len, NULL) != 0 ||
	    len != crypto_box_PUBLICKEYBYTES)
		fail("could not get the keyholder's public key");
	free(text);
	close(s);
}

/* One line from stdin, without its line end; never echoed. */
static size_t
read_secret(char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, stdin) == NULL)
		fail("no credential on standard input");
	n = strcspn(buf, "\r\n");
	if (n == len - 1 && buf[n] == '\0')
		fail("credential too long");
	buf[n] = '\0';
	if (n == 0)
		fail("empty credential");
	return n;
}

static int
credential_add(const char *owner)
{
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sealed[CRED_MAX + crypto_box_SEALBYTES];
	char cred[CRED_MAX + 2], b64[sodium_base64_ENCODED_LEN(
	    sizeof(sealed), sodium_base64_VARIANT_ORIGINAL)], *text;
	json_t *cmd;
	size_t n;
	int status;

	keyholder_public_key(pk);
	n = read_secret(cred, sizeof(cred));
	crypto_box_seal(sealed, (unsigned char *)cred, n, pk);
	sodium_memzero(cred, sizeof(cred));
	sodium_bin2base64(b64, sizeof(b64), sealed, n + crypto_box_SEALBYTES,
	    sodium_base64_VARIANT_ORIGINAL);
	cmd = json_pack("{s:s, s:s, s:s}", "cmd", "credential-add", "owner",
	    owner, "sealed", b64);
	status = keyholder_command(cmd, &text);
	json_decref(cmd);
	if (text != NULL)
		fputs(text, stdout);
	free(text);
	return status;
}

static int
credential_simple(const char *what, const char *owner, int json)
{
	json_t *cmd, *list, *c;
	char *text, when[32];
	size_t i;
	int status;

	cmd = json_pack("{s:s}", "cmd", what);
	if (owner != NULL)
		json_object_set_new(cmd, "owner", json_string(owner));
	status = keyholder_command(cmd, &text);
	json_decref(cmd);
	if (status != 0 || text == NULL) {
		free(text);
		return status;
	}
	if (strcmp(what, "credential-list") != 0 || json)
		printf("%s%s", text, json ? "\n" : "");
	else if ((list = json_loads(text, 0, NULL)) != NULL) {
		printf("%-20s %s\n", "OWNER", "ADDED");
		json_array_foreach(list, i, c) {
			format_utc(when, sizeof(when),
			    json_object_get(c, "created"), UTC_DATE);
			printf("%-20s %s\n", json_string_value(
			    json_object_get(c, "owner")), when);
		}
		json_decref(list);
	}
	free(text);
	return status;
}

int
cmd_credential(int argc, char *argv[])
{
	if (sodium_init() == -1)
		fail("sodium_init");
	if (argc == 3 && strcmp(argv[0], "add") == 0 &&
	    strcmp(argv[1], "--owner") == 0)
		return credential_add(argv[2]);
	if (argc == 3 && strcmp(argv[0], "remove") == 0 &&
	    strcmp(argv[1], "--owner") == 0)
		return credential_simple("credential-remove", argv[2], 0);
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "list") == 0 &&
	    (argc == 1 || strcmp(argv[1], "--json") == 0))
		return credential_simple("credential-list", NULL, argc == 2);
	usage();
}
