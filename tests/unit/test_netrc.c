/*
 * test_netrc.c: netrc_lookup() (common/netrc.c), the login and password
 * for a mirror's host from a netrc(5) file's text, and netrc_read_file(),
 * the same from a file for a mirror's URL.  The text is always copied
 * into a buffer of its own length, without a NUL, so that the sanitizer
 * build catches a read past its end.  Files live under a mkdtemp(3)
 * directory.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netrc.h"
#include "unit.h"

#define HOST	"mirror.example.com"

static char	login[NETRC_WORD_MAX + 8];
static char	password[NETRC_WORD_MAX + 8];
static char	why[128];

/* netrc_lookup() on len bytes of text, with full-size outputs. */
static int
lookup_n(const char *text, size_t len, const char *host)
{
	char	*copy;
	int	 r;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, text, len);
	memset(login, 'L', sizeof(login));
	memset(password, 'P', sizeof(password));
	memset(why, 'W', sizeof(why));
	r = netrc_lookup(copy, len, host, login, sizeof(login), password,
	    sizeof(password), why, sizeof(why));
	free(copy);
	return r;
}

static int
lookup(const char *text, const char *host)
{
	return lookup_n(text, strlen(text), host);
}

/* text must be found, with these values. */
static void
found(const char *text, const char *host, const char *l, const char *p)
{
	int	r;

	r = lookup(text, host);
	if (r != 0)
		fprintf(stderr, "netrc \"%s\" for %s: %d (%.*s)\n", text, host,
		    r, r == -1 ? (int)sizeof(why) : 0, why);
	CHECK(r == 0);
	if (r == 0) {
		CHECK_STR(login, l);
		CHECK_STR(password, p);
	}
}

/* text must have no entry for host. */
static void
none(const char *text, const char *host)
{
	int	r;

	r = lookup(text, host);
	if (r != 1)
		fprintf(stderr, "netrc \"%s\" for %s: %d, want 1\n", text,
		    host, r);
	CHECK(r == 1);
}

/* text must be refused with exactly this reason. */
static void
bad(const char *text, const char *want)
{
	int	r;

	r = lookup(text, HOST);
	CHECK(r == -1);
	if (r == -1) {
		CHECK(memchr(why, '\0', sizeof(why)) != NULL);
		CHECK_STR(why, want);
	}
}

static void
test_match(void)
{
	found("machine mirror.example.com login alice password s3cret\n",
	    HOST, "alice", "s3cret");
	found("machine mirror.example.com login alice password s3cret",
	    HOST, "alice", "s3cret");
	/* ASCII case is ignored in the host, not in the values. */
	found("machine MIRROR.Example.COM login Alice password S3cret\n",
	    HOST, "Alice", "S3cret");
	found("machine mirror.example.com login a password b\n",
	    "Mirror.EXAMPLE.com", "a", "b");
	/* Layout: one keyword a line, tabs, CRLF, blank lines. */
	found("\n\nmachine\tmirror.example.com\r\n\tlogin  alice\r\n"
	    "\tpassword\ts3cret\r\n\r\n", HOST, "alice", "s3cret");
	/* Order within an entry does not matter; account is ignored. */
	found("machine mirror.example.com password p account acct login l\n",
	    HOST, "l", "p");
	/* The entry after another host's. */
	found("machine other.example.com login x password y\n"
	    "machine mirror.example.com login a password b\n", HOST, "a", "b");
	found("machine other.example.com login x password y "
	    "machine mirror.example.com login a password b", HOST, "a", "b");
	/* Another host's values are not ours, whatever the order. */
	found("machine mirror.example.com login a password b\n"
	    "machine other.example.com login x password y\n", HOST, "a", "b");
}

static void
test_no_match(void)
{
	none("", HOST);
	none("   \n\t\r\n", HOST);
	none("machine other.example.com login a password b\n", HOST);
	/* A name is a whole host, not a part of it. */
	none("machine example.com login a password b\n", HOST);
	none("machine mirror.example.com.evil login a password b\n", HOST);
	none("machine mirror.example.co login a password b\n", HOST);
	none("machine mirror.example.com login a password b\n", "example.com");
	/* Found without both values: none. */
	none("machine mirror.example.com login a\n", HOST);
	none("machine mirror.example.com password b\n", HOST);
	none("machine mirror.example.com\n", HOST);
	none("machine mirror.example.com login \"\" password b\n", HOST);
	none("machine mirror.example.com login a password \"\"\n", HOST);
	/* The first entry for the host is the one: not completed later. */
	none("machine mirror.example.com login a\n"
	    "machine mirror.example.com login c password d\n", HOST);
	/* Nor by a default. */
	none("machine mirror.example.com login a\n"
	    "default login c password d\n", HOST);
}

static void
test_first_wins(void)
{
	found("machine mirror.example.com login first password one\n"
	    "machine mirror.example.com login second password two\n",
	    HOST, "first", "one");
	found("machine MIRROR.example.com login first password one\n"
	    "machine mirror.example.com login second password two\n",
	    HOST, "first", "one");
	found("default login d1 password p1\ndefault login d2 password p2\n",
	    HOST, "d1", "p1");
}

static void
test_default(void)
{
	found("default login anon password guest\n", HOST, "anon", "guest");
	found("machine other.example.com login a password b\n"
	    "default login anon password guest\n", HOST, "anon", "guest");
	/* The host's own entry over a default, before or after it. */
	found("machine mirror.example.com login a password b\n"
	    "default login anon password guest\n", HOST, "a", "b");
	found("default login anon password guest\n"
	    "machine mirror.example.com login a password b\n", HOST, "a", "b");
	/* A default without both values is no default. */
	none("default login anon\n", HOST);
	none("machine other.example.com login a password b\ndefault\n", HOST);
	/* "default" takes no name: the next word is a keyword. */
	bad("default mirror.example.com login a password b\n",
	    "line 1: unknown keyword");
}

static void
test_quoted(void)
{
	found("machine \"mirror.example.com\" login \"al ice\" "
	    "password \"s3 cr\\\"et\\\\\"\n", HOST, "al ice", "s3 cr\"et\\");
	found("machine mirror.example.com login \"a\tb\" password "
	    "\"#;$' x\"\n", HOST, "a\tb", "#;$' x");
	/* Any other escaped character is itself. */
	found("machine mirror.example.com login \"a\\zb\" password "
	    "\"\\p\\\\\\\"\"\n", HOST, "azb", "p\\\"");
	/* A quoted word ends at its quote. */
	found("machine mirror.example.com login \"a\"password \"b\"\n",
	    HOST, "a", "b");
	/* Unquoted words keep their quotes and backslashes. */
	found("machine mirror.example.com login a\\b password c\"d\n", HOST,
	    "a\\b", "c\"d");
	/* A newline in a quoted word is not allowed. */
	bad("machine mirror.example.com login \"a\nb\" password c\n",
	    "line 1: bad character in a word");
	bad("machine mirror.example.com login \"a\\\nb\" password c\n",
	    "line 1: bad character in a word");
}

static void
test_macdef(void)
{
	static const char text[] =
	    "machine other.example.com login x password y\n"
	    "macdef init\n"
	    "cd /pub\n"
	    "machine mirror.example.com login evil password evil\n"
	    "bogus words \"here\n"
	    "\n"
	    "machine mirror.example.com login a password b\n";

	found(text, HOST, "a", "b");
	found(text, "other.example.com", "x", "y");
	/* A macdef's body runs to the end of the text. */
	none("machine other.example.com login x password y\n"
	    "macdef m\nmachine mirror.example.com login a password b\n", HOST);
	none("machine other.example.com login x password y\nmacdef m", HOST);
	/* An empty body; a CRLF empty line. */
	found("machine other.example.com login x password y macdef m\n\n"
	    "machine mirror.example.com login a password b\n", HOST, "a", "b");
	found("machine other.example.com login x password y\r\n"
	    "macdef m\r\nls\r\n\r\n"
	    "machine mirror.example.com login a password b\r\n", HOST, "a",
	    "b");
	/* Counted in the line numbers. */
	bad("machine other.example.com login x password y\n"
	    "macdef m\n1\n2\n\nmachine", "line 6: machine without a name");
}

static void
test_missing_values(void)
{
	bad("machine", "line 1: machine without a name");
	bad("machine mirror.example.com login",
	    "line 1: login without a value");
	bad("machine mirror.example.com login a password",
	    "line 1: password without a value");
	bad("machine mirror.example.com login a password b account",
	    "line 1: account without a value");
	bad("machine mirror.example.com macdef",
	    "line 1: macdef without a name");
	bad("machine mirror.example.com login a\npassword",
	    "line 2: password without a value");
}

static void
test_unknown_keyword(void)
{
	bad("machine mirror.example.com user a password b\n",
	    "line 1: unknown keyword");
	bad("\n\nmachine mirror.example.com login a password b\nport 21\n",
	    "line 4: unknown keyword");
	/* Keywords are lower case. */
	bad("Machine mirror.example.com login a password b\n",
	    "line 1: unknown keyword");
	bad("machine mirror.example.com LOGIN a password b\n",
	    "line 1: unknown keyword");
	/* An error anywhere refuses the whole file, even after a match. */
	bad("machine mirror.example.com login a password b\n\nbogus\n",
	    "line 3: unknown keyword");
	bad("\"\"\n", "line 1: unknown keyword");
}

static void
test_before_machine(void)
{
	bad("login a\nmachine mirror.example.com password b\n",
	    "line 1: login or password before \"machine\"");
	bad("\npassword b\nmachine mirror.example.com login a\n",
	    "line 2: login or password before \"machine\"");
}

static void
test_bad_characters(void)
{
	static const char nul1[] = "machine mirror.example.com login a\0 "
	    "password b\n";
	static const char nul2[] = "machine mirror.example.com login a "
	    "password \"b\0c\"\n";
	static const char nul3[] = "machine mirror.example.com login a\n\n"
	    "\0password b\n";

	CHECK(lookup_n(nul1, sizeof(nul1) - 1, HOST) == -1);
	CHECK_STR(why, "line 1: bad character in a word");
	CHECK(lookup_n(nul2, sizeof(nul2) - 1, HOST) == -1);
	CHECK_STR(why, "line 1: bad character in a word");
	CHECK(lookup_n(nul3, sizeof(nul3) - 1, HOST) == -1);
	CHECK_STR(why, "line 3: bad character in a word");
}

static void
test_word_length(void)
{
	char	 text[4 * NETRC_WORD_MAX], word[2 * NETRC_WORD_MAX];
	size_t	 n;

	/* NETRC_WORD_MAX - 1 characters, the longest that fits a buffer. */
	n = NETRC_WORD_MAX - 1;
	memset(word, 'p', n);
	word[n] = '\0';
	snprintf(text, sizeof(text), "machine %s login a password %s\n", HOST,
	    word);
	found(text, HOST, "a", word);
	snprintf(text, sizeof(text), "machine %s login %s password b\n", HOST,
	    word);
	found(text, HOST, word, "b");
	snprintf(text, sizeof(text), "machine %s login a password \"%s\"\n",
	    HOST, word);
	found(text, HOST, "a", word);

	/* One more than NETRC_WORD_MAX: an error, without the word. */
	n = NETRC_WORD_MAX + 1;
	memset(word, 'p', n);
	word[n] = '\0';
	snprintf(text, sizeof(text), "machine %s login a\npassword %s\n",
	    HOST, word);
	bad(text, "line 2: word too long");
	snprintf(text, sizeof(text), "machine %s login a\npassword \"%s\"\n",
	    HOST, word);
	bad(text, "line 2: word too long");
	snprintf(text, sizeof(text), "machine %s\n", word);
	bad(text, "line 1: word too long");
	/* In another host's entry too. */
	snprintf(text, sizeof(text), "machine x login a password %s\n"
	    "machine %s login a password b\n", word, HOST);
	bad(text, "line 1: word too long");
}

/*
 * netrc.h: "A word longer than NETRC_WORD_MAX ... is an error": one of
 * exactly NETRC_WORD_MAX characters is not longer, and must be read.
 */
static void
test_word_length_max(void)
{
	char	 text[4 * NETRC_WORD_MAX], word[2 * NETRC_WORD_MAX];

	/* The longest word: NETRC_WORD_MAX - 1 bytes (netrc.h). */
	memset(word, 'p', NETRC_WORD_MAX - 1);
	word[NETRC_WORD_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "machine %s login a password %s\n", HOST,
	    word);
	found(text, HOST, "a", word);
	word[NETRC_WORD_MAX - 1] = 'p';
	word[NETRC_WORD_MAX] = '\0';
	snprintf(text, sizeof(text), "machine %s login a password %s\n", HOST,
	    word);
	CHECK(lookup(text, HOST) == -1);
	CHECK(strstr(why, "word too long") != NULL);
}

static void
test_no_secret_in_why(void)
{
	static const char *texts[] = {
		"machine mirror.example.com login alice password hunter2 "
		    "hunter3\n",
		"machine mirror.example.com login alice password hunter2\n"
		    "alice\n",
		"machine mirror.example.com login alice password "
		    "\"hunter2\nx\"\n",
		"login alice password hunter2\n",
		"machine mirror.example.com login alice password hunter2 "
		    "account\n",
	};
	size_t	i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		CHECK(lookup(texts[i], HOST) == -1);
		CHECK(strncmp(why, "line ", 5) == 0);
		CHECK(strstr(why, "alice") == NULL);
		CHECK(strstr(why, "hunter") == NULL);
		CHECK(strstr(why, "mirror") == NULL);
	}
}

static void
test_small_outputs(void)
{
	static const char text[] =
	    "machine mirror.example.com login alice password s3cret\n";
	char	*buf, l[16], p[16], w[16];
	size_t	 len = sizeof(text) - 1;
	int	 r;

	if ((buf = malloc(len)) == NULL)
		abort();
	memcpy(buf, text, len);

	/* Exact fits. */
	memset(l, 'L', sizeof(l));
	memset(p, 'P', sizeof(p));
	r = netrc_lookup(buf, len, HOST, l, 6, p, 7, w, sizeof(w));
	CHECK(r == 0);
	CHECK_STR(l, "alice");
	CHECK_STR(p, "s3cret");
	CHECK(l[6] == 'L' && p[7] == 'P');

	/* One byte short: not found, and nothing written past the size. */
	memset(l, 'L', sizeof(l));
	memset(p, 'P', sizeof(p));
	r = netrc_lookup(buf, len, HOST, l, 5, p, sizeof(p), w, sizeof(w));
	CHECK(r == 1);
	CHECK(memcmp(l, "LLLLL", 5) == 0);	/* untouched */
	CHECK(l[5] == 'L');
	r = netrc_lookup(buf, len, HOST, l, sizeof(l), p, 6, w, sizeof(w));
	CHECK(r == 1);
	CHECK(p[6] == 'P');
	r = netrc_lookup(buf, len, HOST, l, 0, p, 0, w, sizeof(w));
	CHECK(r == 1);
	CHECK(l[0] == 'L' && p[0] == 'P');

	/* A small why: cut, NUL-terminated, nothing written past it. */
	memcpy(buf, "bogus\n", 6);
	memset(w, 'W', sizeof(w));
	r = netrc_lookup(buf, 6, HOST, l, sizeof(l), p, sizeof(p), w, 8);
	CHECK(r == -1);
	CHECK_STR(w, "line 1:");
	CHECK(w[8] == 'W');
	r = netrc_lookup(buf, 6, HOST, l, sizeof(l), p, sizeof(p), NULL, 0);
	CHECK(r == -1);
	free(buf);
}

static void
test_length(void)
{
	static const char text[] =
	    "machine mirror.example.com login alice password s3cretXYZ";
	size_t	len = strlen(text);

	/* Only len bytes: the password ends where the text does. */
	CHECK(lookup_n(text, len - 3, HOST) == 0);
	CHECK_STR(password, "s3cret");
	CHECK(lookup_n(text, len - 10, HOST) == -1);	/* "password" */
	CHECK_STR(why, "line 1: password without a value");
	CHECK(lookup_n(text, len - 11, HOST) == -1);	/* "passwor" */
	CHECK_STR(why, "line 1: unknown keyword");
	CHECK(lookup_n(text, len - 19, HOST) == 1);	/* "login alice" */
	CHECK(lookup_n(text, 0, HOST) == 1);
}

/*
 * netrc_read_file()
 */

static char	tmpdir[] = "/tmp/test_netrc.XXXXXX";

static const char *
write_netrc(const char *name, const char *text, size_t len)
{
	static char	 path[1024];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL ||
	    fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
	return path;
}

static int
read_file(const char *path, const char *url)
{
	memset(login, 'L', sizeof(login));
	memset(password, 'P', sizeof(password));
	memset(why, 'W', sizeof(why));
	return netrc_read_file(path, url, login, sizeof(login), password,
	    sizeof(password), why, sizeof(why));
}

static void
test_read_file(void)
{
	static const char text[] =
	    "machine other.example.com login x password y\n"
	    "machine mirror.example.com login alice password s3cret\n";
	static const char bad_text[] =
	    "machine mirror.example.com login alice\n"
	    "password s3cret port 21\n";
	const char	*path;
	char		 want[1200];

	path = write_netrc("netrc", text, sizeof(text) - 1);
	CHECK(read_file(path, "https://mirror.example.com/releases") == 0);
	CHECK_STR(login, "alice");
	CHECK_STR(password, "s3cret");
	CHECK(read_file(path, "https://mirror.example.com") == 0);
	CHECK_STR(login, "alice");
	CHECK(read_file(path, "https://MIRROR.example.com:8443/a/b") == 0);
	CHECK_STR(password, "s3cret");
	CHECK(read_file(path, "http://other.example.com/x") == 0);
	CHECK_STR(login, "x");

	/* No entry for the URL's host. */
	CHECK(read_file(path, "https://example.com/mirror.example.com") == 1);
	snprintf(want, sizeof(want), "netrc %s: no login and password for "
	    "example.com", path);
	CHECK_STR(why, want);

	/* Malformed: where, and no secret. */
	path = write_netrc("bad", bad_text, sizeof(bad_text) - 1);
	CHECK(read_file(path, "https://mirror.example.com/") == -1);
	snprintf(want, sizeof(want), "netrc %s: line 2: unknown keyword",
	    path);
	CHECK_STR(why, want);

	/* Missing. */
	snprintf(want, sizeof(want), "%s/absent", tmpdir);
	CHECK(read_file(want, "https://mirror.example.com/") == -1);
	CHECK(strstr(why, "No such file or directory") != NULL);
	CHECK(strncmp(why, "netrc /", 7) == 0);
}

static void
test_read_file_size(void)
{
	static const char entry[] =
	    "machine mirror.example.com login alice password s3cret\n";
	char		*text;
	const char	*path;
	size_t		 n = NETRC_FILE_MAX;
	char		 want[1200];

	if ((text = malloc(n + 1)) == NULL)
		abort();
	memset(text, '\n', n + 1);
	memcpy(text, entry, sizeof(entry) - 1);
	/* NETRC_FILE_MAX bytes: read. */
	path = write_netrc("max", text, n);
	CHECK(read_file(path, "https://mirror.example.com/") == 0);
	CHECK_STR(password, "s3cret");
	/* One more: refused. */
	path = write_netrc("over", text, n + 1);
	CHECK(read_file(path, "https://mirror.example.com/") == -1);
	snprintf(want, sizeof(want), "netrc %s: larger than %d bytes", path,
	    NETRC_FILE_MAX);
	CHECK_STR(why, want);
	free(text);
}

/*
 * netrc.h: -1 when the file is unreadable.  A directory opens, and
 * read(2) fails on it (EISDIR): that must not read as an empty file
 * ("no login and password").
 */
static void
test_read_file_unreadable(void)
{
	char	path[1024];

	snprintf(path, sizeof(path), "%s/dir", tmpdir);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(read_file(path, "https://mirror.example.com/") == -1);
	CHECK(strstr(why, "no login and password") == NULL);
}

/*
 * "redirect to" takes an IPv6 address in brackets (config_check.c); the
 * netrc entry for it is the address, as curl looks it up ("machine ::1"),
 * not "[".
 */
static void
test_read_file_ipv6(void)
{
	static const char text[] = "machine ::1 login alice password s3cret\n";
	const char	*path;

	path = write_netrc("v6", text, sizeof(text) - 1);
	CHECK(read_file(path, "https://[::1]:8443/mirror") == 0);
	CHECK(read_file(path, "https://[::1]/") == 0);
}

static void
cleanup(void)
{
	char	cmd[sizeof(tmpdir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	UNIT_RUN(test_match);
	UNIT_RUN(test_no_match);
	UNIT_RUN(test_first_wins);
	UNIT_RUN(test_default);
	UNIT_RUN(test_quoted);
	UNIT_RUN(test_macdef);
	UNIT_RUN(test_missing_values);
	UNIT_RUN(test_unknown_keyword);
	UNIT_RUN(test_before_machine);
	UNIT_RUN(test_bad_characters);
	UNIT_RUN(test_word_length);
	UNIT_RUN(test_word_length_max);
	UNIT_RUN(test_no_secret_in_why);
	UNIT_RUN(test_small_outputs);
	UNIT_RUN(test_length);
	UNIT_RUN(test_read_file);
	UNIT_RUN(test_read_file_size);
	UNIT_RUN(test_read_file_unreadable);
	UNIT_RUN(test_read_file_ipv6);
	cleanup();
	return UNIT_DONE("test_netrc");
}
