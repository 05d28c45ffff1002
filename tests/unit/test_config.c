/*
 * test_config.c: ghp.conf(5) parsing (common/config.c, config_lex.c).
 *
 * Errors are captured through config_set_error_cb() and compared whole,
 * so every message's exact "file:line: text" is pinned down here.
 * Buffers are parsed as "t.conf"; files live under a mkdtemp(3)
 * directory.  Run from the top of the source tree (for the sample), or
 * set GHP_SRCDIR.
 *
 * Where a missing "listen on" is reported: on the main file's last line
 * (1 for an empty file), where the parser noticed, since no line holds
 * the mistake.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static char	errbuf[65536];
static char	tmpdir[] = "/tmp/test_config.XXXXXX";

static void
collect(const char *msg, void *arg)
{
	size_t	len = strlen(errbuf);

	snprintf(errbuf + len, sizeof(errbuf) - len, "%s%s",
	    len == 0 ? "" : "\n", msg);
}

static struct config *
parse(const char *text)
{
	errbuf[0] = '\0';
	return (config_parse_buffer("t.conf", text, strlen(text), 0));
}

static struct config *
load(const char *path)
{
	errbuf[0] = '\0';
	return (config_load(path));
}

/* text must fail with exactly these messages, one a line. */
static void
fails(const char *text, const char *want)
{
	struct config	*c;

	c = parse(text);
	CHECK(c == NULL);
	CHECK_STR(errbuf, want);
	config_free(c);
}

static const char *
tmppath(const char *name)
{
	static char	buf[4][1024];
	static int	n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", tmpdir, name);
	return (buf[n]);
}

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	const char	*path = tmppath(name);
	FILE		*fp;

	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
	return (path);
}

static char *
print(const struct config *c)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		exit(2);
	config_print(fp, c);
	fclose(fp);
	return (buf);
}

static int
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

static int
policy_equal(const struct policy_conf *a, const struct policy_conf *b)
{
	const struct string_entry	*x, *y;

	if (a->mode != b->mode || !str_equal(a->url, b->url) ||
	    a->check != b->check || !str_equal(a->netrc, b->netrc))
		return (0);
	for (x = TAILQ_FIRST(&a->allow), y = TAILQ_FIRST(&b->allow);
	    x != NULL && y != NULL;
	    x = TAILQ_NEXT(x, entry), y = TAILQ_NEXT(y, entry))
		if (strcmp(x->value, y->value) != 0)
			return (0);
	return (x == NULL && y == NULL);
}

/* The fields of the statements about github.com's other hosts. */
static int
web_equal(const struct config *a, const struct config *b)
{
	return (str_equal(a->upstream[UPSTREAM_RAW], b->upstream[UPSTREAM_RAW])
	    && str_equal(a->upstream_ca, b->upstream_ca) &&
	    str_equal(a->enterprise, b->enterprise) &&
	    a->block_anonymous_git == b->block_anonymous_git &&
	    policy_equal(&a->releases, &b->releases) &&
	    policy_equal(&a->codeload, &b->codeload));
}

/* print, parse what was printed, print again: the same text. */
static void
round_trip(const struct config *c)
{
	struct config	*c2;
	char		*a, *b;

	a = print(c);
	errbuf[0] = '\0';
	c2 = config_parse_buffer("printed", a, strlen(a), 0);
	CHECK(c2 != NULL);
	CHECK_STR(errbuf, "");
	if (c2 != NULL) {
		b = print(c2);
		CHECK_STR(a, b);
		CHECK(web_equal(c, c2));
		free(b);
	}
	config_free(c2);
	free(a);
}

static const char *
sample_path(void)
{
	static char	 buf[1024];
	const char	*dir = getenv("GHP_SRCDIR");

	snprintf(buf, sizeof(buf), "%s/etc/ghp.conf.sample",
	    dir != NULL ? dir : ".");
	return (buf);
}

/*
 * Valid files.
 */

static void
test_sample(void)
{
	struct config		*c;
	struct listen_conf	*l;

	c = load(sample_path());
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c == NULL)
		return;
	CHECK_STR(c->user, "nobody");
	CHECK_STR(c->chroot, "/var/empty");
	CHECK_STR(c->state_dir, "/var/db/ghp");
	CHECK_STR(c->control_socket, "/var/run/ghp.sock");
	CHECK(c->workers == 2);
	CHECK(c->shutdown_timeout == 10);
	l = TAILQ_FIRST(&c->listeners);
	CHECK(l != NULL && strcmp(l->addr, "127.0.0.1") == 0 &&
	    l->port == 8080 && !l->tls && !l->proxy);
	CHECK(l != NULL && TAILQ_NEXT(l, entry) == NULL);
	CHECK_STR(c->upstream[UPSTREAM_API], "https://api.github.com");
	CHECK_STR(TAILQ_FIRST(&c->block_tokens)->value, "ghp_");
	CHECK_STR(TAILQ_LAST(&c->block_tokens, string_list)->value,
	    "github_pat_");
	round_trip(c);
	config_free(c);

	/* As "make run" starts it. */
	CHECK(config_define("statedir=/src/run/state") == 0);
	CHECK(config_define("ctlsock=/src/run/ghp.sock") == 0);
	CHECK(config_define("chrootdir=/src/run/empty") == 0);
	CHECK(config_define("ghpuser=nobody") == 0);
	c = load(sample_path());
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c != NULL) {
		CHECK_STR(c->user, "nobody");
		CHECK_STR(c->chroot, "/src/run/empty");
		CHECK_STR(c->state_dir, "/src/run/state");
		CHECK_STR(c->control_socket, "/src/run/ghp.sock");
	}
	config_free(c);
	config_clear_defines();
}

static void
test_minimal(void)
{
	struct config	*c;
	int		 i;

	c = parse("listen on 127.0.0.1 port 8080");	/* no newline */
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c == NULL)
		return;
	CHECK_STR(c->path, "t.conf");
	CHECK_STR(c->user, CONFIG_DEFAULT_USER);
	CHECK(c->keyholder_user == NULL);
	CHECK_STR(c->chroot, CONFIG_DEFAULT_CHROOT);
	CHECK_STR(c->state_dir, CONFIG_DEFAULT_STATEDIR);
	CHECK_STR(c->control_socket, CONFIG_DEFAULT_CONTROL);
	CHECK(c->workers == CONFIG_DEFAULT_WORKERS);
	CHECK(c->shutdown_timeout == CONFIG_DEFAULT_SHUTDOWN);
	CHECK(c->timeout_header == CONFIG_DEFAULT_HEADER_TIMEOUT);
	CHECK(c->timeout_idle == CONFIG_DEFAULT_IDLE_TIMEOUT);
	CHECK(c->timeout_body == CONFIG_DEFAULT_BODY_TIMEOUT);
	CHECK(c->timeout_send == CONFIG_DEFAULT_SEND_TIMEOUT);
	CHECK(c->timeout_upstream == CONFIG_DEFAULT_UPSTREAM_TIMEOUT);
	for (i = 0; i < UPSTREAM_MAX; i++)
		CHECK_STR(c->upstream[i], config_upstream_default(i));
	CHECK(TAILQ_EMPTY(&c->apps));
	CHECK(TAILQ_EMPTY(&c->block_tokens));
	CHECK(c->log_audit == NULL && c->log_access == NULL);
	CHECK(c->metrics_addr == NULL);
	round_trip(c);
	config_free(c);

	CHECK_STR(config_upstream_name(UPSTREAM_API), "api");
	CHECK_STR(config_upstream_name(UPSTREAM_WEB), "web");
	CHECK_STR(config_upstream_name(UPSTREAM_CODELOAD), "codeload");
	CHECK_STR(config_upstream_name(UPSTREAM_COPILOT), "copilot");
	CHECK_STR(config_upstream_default(UPSTREAM_API),
	    "https://api.github.com");
	CHECK_STR(config_upstream_default(UPSTREAM_WEB), "https://github.com");
	CHECK_STR(config_upstream_default(UPSTREAM_CODELOAD),
	    "https://codeload.github.com");
	CHECK_STR(config_upstream_default(UPSTREAM_COPILOT),
	    "https://api.githubcopilot.com");
	CHECK(config_upstream_name(UPSTREAM_MAX) == NULL);
	CHECK(config_upstream_default(UPSTREAM_MAX) == NULL);
}

static const char every[] =
    "# every keyword\n"
    "user \"_ghpw\"\n"
    "keyholder user _ghpkey\n"
    "chroot \"/var/empty/ghp\"\n"
    "workers 256\n"
    "state directory \"/var/db/ghp2\"\n"
    "control socket \"/run/ghp.sock\"   # trailing comment\n"
    "shutdown timeout 3600\n"
    "header timeout 5\n"
    "idle timeout 120\n"
    "body timeout 30\n"
    "send timeout 45\n"
    "upstream timeout 90\n"
    "listen on 127.0.0.1 port 8080\n"
    "listen on :: port 8443 tls certificate \"/etc/ghp/s.crt\" "
    "key \"/etc/ghp/s.key\"\n"
    "listen on * port 3128 proxy\n"
    "listen on localhost port 1 proxy tls certificate /c key /k\n"
    "upstream api \"http://127.0.0.1:9000/api\"\n"
    "upstream web \"https://[::1]:8443\"\n"
    "upstream codeload \"https://codeload.example.com/\"\n"
    "upstream copilot \"http://copilot.local\"\n"
    "app \"agents\" {\n"
    "\tid 18446744073709551615\n"
    "\tprivate key \"/etc/ghp/agents.pem\"\n"
    "\tinstallation 987654\n"
    "\tinstallation 42 for \"octo-org\"\n"
    "}\n"
    "app other { id 7 private key /k2 }\n"
    "block tokens { \"ghp_\" github_pat_ }\n"
    "block tokens {\n"
    "\tgho_\n"
    "}\n"
    "log audit \"/var/log/ghp/audit.log\"\n"
    "log access \"/var/log/ghp/access.log\"\n"
    "metrics listen on 127.0.0.1 port 9100\n";

static void
test_every_keyword(void)
{
	struct config		*c;
	struct listen_conf	*l;
	struct app_conf		*a;
	struct app_installation	*i;
	struct string_entry	*s;

	c = parse(every);
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c == NULL)
		return;
	CHECK_STR(c->user, "_ghpw");
	CHECK_STR(c->keyholder_user, "_ghpkey");
	CHECK_STR(c->chroot, "/var/empty/ghp");
	CHECK(c->workers == 256);
	CHECK_STR(c->state_dir, "/var/db/ghp2");
	CHECK_STR(c->control_socket, "/run/ghp.sock");
	CHECK(c->shutdown_timeout == 3600);
	CHECK(c->timeout_header == 5);
	CHECK(c->timeout_idle == 120);
	CHECK(c->timeout_body == 30);
	CHECK(c->timeout_send == 45);
	CHECK(c->timeout_upstream == 90);

	l = TAILQ_FIRST(&c->listeners);
	CHECK_STR(l->addr, "127.0.0.1");
	CHECK(l->port == 8080 && !l->tls && !l->proxy && l->line == 14);
	l = TAILQ_NEXT(l, entry);
	CHECK_STR(l->addr, "::");
	CHECK(l->port == 8443 && l->tls && !l->proxy && l->line == 15);
	CHECK_STR(l->tls_cert, "/etc/ghp/s.crt");
	CHECK_STR(l->tls_key, "/etc/ghp/s.key");
	l = TAILQ_NEXT(l, entry);
	CHECK_STR(l->addr, "*");
	CHECK(l->port == 3128 && !l->tls && l->proxy);
	l = TAILQ_NEXT(l, entry);
	CHECK_STR(l->addr, "localhost");
	CHECK(l->port == 1 && l->tls && l->proxy);
	CHECK_STR(l->tls_cert, "/c");
	CHECK_STR(l->tls_key, "/k");
	CHECK(TAILQ_NEXT(l, entry) == NULL);

	CHECK_STR(c->upstream[UPSTREAM_API], "http://127.0.0.1:9000/api");
	CHECK_STR(c->upstream[UPSTREAM_WEB], "https://[::1]:8443");
	CHECK_STR(c->upstream[UPSTREAM_CODELOAD],
	    "https://codeload.example.com/");
	CHECK_STR(c->upstream[UPSTREAM_COPILOT], "http://copilot.local");

	a = TAILQ_FIRST(&c->apps);
	CHECK_STR(a->name, "agents");
	CHECK(a->id == UINT64_MAX);
	CHECK_STR(a->private_key, "/etc/ghp/agents.pem");
	i = TAILQ_FIRST(&a->installations);
	CHECK(i->id == 987654 && i->owner == NULL);
	i = TAILQ_NEXT(i, entry);
	CHECK(i->id == 42);
	CHECK_STR(i->owner, "octo-org");
	CHECK(TAILQ_NEXT(i, entry) == NULL);
	a = TAILQ_NEXT(a, entry);
	CHECK_STR(a->name, "other");
	CHECK(a->id == 7 && TAILQ_EMPTY(&a->installations));
	CHECK_STR(a->private_key, "/k2");
	CHECK(TAILQ_NEXT(a, entry) == NULL);

	s = TAILQ_FIRST(&c->block_tokens);
	CHECK_STR(s->value, "ghp_");
	s = TAILQ_NEXT(s, entry);
	CHECK_STR(s->value, "github_pat_");
	s = TAILQ_NEXT(s, entry);
	CHECK_STR(s->value, "gho_");
	CHECK(TAILQ_NEXT(s, entry) == NULL);

	CHECK_STR(c->log_audit, "/var/log/ghp/audit.log");
	CHECK_STR(c->log_access, "/var/log/ghp/access.log");
	CHECK_STR(c->metrics_addr, "127.0.0.1");
	CHECK(c->metrics_port == 9100);
	round_trip(c);
	config_free(c);
}

static void
test_syntax(void)
{
	struct config	*c;

	/* Continuation lines, CRLF, comments, quoting, escapes. */
	c = parse("listen on 127.0.0.1 \\\n  port 8080\r\n"
	    "user \"a \\\"b\\\" \\\\ # c\\td\\ne\"\n"
	    "\n   # only a comment\n"
	    "chroot \"/x\"# comment right after\n");
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c != NULL) {
		CHECK(TAILQ_FIRST(&c->listeners)->line == 1);
		CHECK_STR(c->user, "a \"b\" \\ # c\td\ne");
		CHECK_STR(c->chroot, "/x");
		round_trip(c);
	}
	config_free(c);

	/* A continuation counts its line. */
	fails("listen on 127.0.0.1 \\\nport 8080\nworkers x\n",
	    "t.conf:3: workers: invalid number \"x\"");

	/* A quoted keyword is a string, not a keyword. */
	fails("listen on 127.0.0.1 port 8080\n\"workers\" 3\n",
	    "t.conf:2: unknown keyword \"workers\"");
	/* Numbers may be quoted (values are strings). */
	c = parse("listen on \"::1\" port \"80\"\nworkers \"3\"\n");
	CHECK(c != NULL && c->workers == 3);
	config_free(c);
	/* Leading zeros are decimal, not octal. */
	c = parse("listen on ::1 port 080\nworkers 010\n");
	CHECK(c != NULL && c->workers == 10 &&
	    TAILQ_FIRST(&c->listeners)->port == 80);
	config_free(c);
}

static void
test_macros(void)
{
	struct config	*c;

	c = parse("addr = \"127.0.0.1 port 8080\"\n"
	    "opts=proxy\n"
	    "dir = \"/var/lib\"\n"
	    "n = 3\n"
	    "n = 5\n"				/* redefined: later wins */
	    "lit = \"$dir\"\n"			/* kept as "$dir" ... */
	    "listen on $addr $opts\n"
	    "chroot $dir/ghp\n"			/* runs on into the word */
	    "workers $n\n"
	    "user $lit\n"			/* ... and lexed again here */
	    "keyholder user \"$dir\"\n");	/* none inside quotes */
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c != NULL) {
		CHECK(TAILQ_FIRST(&c->listeners)->port == 8080);
		CHECK(TAILQ_FIRST(&c->listeners)->proxy);
		CHECK_STR(c->chroot, "/var/lib/ghp");
		CHECK(c->workers == 5);
		CHECK_STR(c->user, "/var/lib");
		CHECK_STR(c->keyholder_user, "$dir");
	}
	config_free(c);

	/* A macro inside a macro. */
	c = parse("a = \"$b\"\nb = 9\nlisten on ::1 port 1\nworkers $a\n");
	CHECK(c != NULL && c->workers == 9);
	config_free(c);

	/* -D wins over the file, silently; config_clear_defines forgets. */
	CHECK(config_define("w=3") == 0);
	CHECK(config_define("w=4") == 0);	/* a later -D wins */
	c = parse("w = 7\nlisten on ::1 port 1\nworkers $w\n");
	CHECK(c != NULL && c->workers == 4);
	CHECK_STR(errbuf, "");
	config_free(c);
	config_clear_defines();
	c = parse("w = 7\nlisten on ::1 port 1\nworkers $w\n");
	CHECK(c != NULL && c->workers == 7);
	config_free(c);

	/* -D alone, an empty value. */
	CHECK(config_define("x=") == 0);
	c = parse("listen on ::1 port 1 $x\n");
	CHECK(c != NULL);
	config_free(c);
	config_clear_defines();

	CHECK(config_define("novalue") == -1);
	CHECK(config_define("1x=2") == -1);
	CHECK(config_define("=2") == -1);
	CHECK(config_define("a-b=2") == -1);
	CHECK(config_define("user=x") == -1);	/* a keyword */
	CHECK(config_define("ok_2=a=b") == 0);	/* value "a=b" */
	config_clear_defines();
}

static void
test_include(void)
{
	struct config	*c;
	const char	*main_path;
	char		 want[4096];

	mkdir(tmppath("sub"), 0755);
	main_path = write_file("main.conf",
	    "listen on 127.0.0.1 port 8080\n"
	    "include \"sub/a.conf\"\n"
	    "workers $w\n", 0644);
	/* Relative to sub/, where a.conf is. */
	write_file("sub/a.conf", "include \"b.conf\"\nw = 6\n", 0600);
	write_file("sub/b.conf", "user \"fromb\"", 0644);	/* no newline */
	c = load(main_path);
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c != NULL) {
		CHECK_STR(c->path, main_path);
		CHECK_STR(c->user, "fromb");
		CHECK(c->workers == 6);
	}
	config_free(c);

	/* Absolute include, and errors that name the included file. */
	snprintf(want, sizeof(want), "listen on ::1 port 1\n"
	    "workers 2\ninclude \"%s\"\n", tmppath("sub/bad.conf"));
	main_path = write_file("main2.conf", want, 0644);
	write_file("sub/bad.conf", "\nworkers 3\nbogus\n", 0644);
	c = load(main_path);
	CHECK(c == NULL);
	snprintf(want, sizeof(want),
	    "%s:2: workers already set at %s:2\n"
	    "%s:3: unknown keyword \"bogus\"",
	    tmppath("sub/bad.conf"), main_path, tmppath("sub/bad.conf"));
	CHECK_STR(errbuf, want);

	/* A block may not run past the end of an included file. */
	main_path = write_file("main3.conf",
	    "listen on ::1 port 1\ninclude \"open.conf\"\n}\n", 0644);
	write_file("open.conf", "block tokens {\n\"x\"\n", 0644);
	c = load(main_path);
	CHECK(c == NULL);
	snprintf(want, sizeof(want),
	    "%s:1: block tokens: missing '}'\n%s:3: unexpected '}'",
	    tmppath("open.conf"), main_path);
	CHECK_STR(errbuf, want);

	/* Not from a buffer, unless asked for. */
	fails("listen on ::1 port 1\ninclude \"x.conf\"\n",
	    "t.conf:2: include: not allowed here");
	snprintf(want, sizeof(want), "listen on ::1 port 1\ninclude \"%s\"\n",
	    tmppath("sub/b.conf"));
	errbuf[0] = '\0';
	c = config_parse_buffer("buf", want, strlen(want), 1);
	CHECK(c != NULL && strcmp(c->user, "fromb") == 0);
	config_free(c);
}

static void
test_include_errors(void)
{
	struct config	*c;
	const char	*main_path;
	char		 want[4096], name[32], text[64];
	int		 i;

	/* Missing file: where the include was, then the file. */
	main_path = write_file("m1.conf",
	    "listen on ::1 port 1\ninclude \"nope.conf\"\n", 0644);
	c = load(main_path);
	CHECK(c == NULL);
	snprintf(want, sizeof(want),
	    "%s:2: %s: cannot open: No such file or directory",
	    main_path, tmppath("nope.conf"));
	CHECK_STR(errbuf, want);

	fails("listen on ::1 port 1\ninclude \"\"\n", "t.conf:2: include: "
	    "not allowed here");
	errbuf[0] = '\0';
	c = config_parse_buffer("t.conf", "include \"\"\n", 11, 1);
	CHECK(c == NULL);
	CHECK_STR(errbuf, "t.conf:1: include: empty file name\n"
	    "t.conf:1: no \"listen on\" given");

	/* A chain: main -> n1 -> ... -> n8 is fine, n9 is one too many. */
	for (i = 1; i <= 9; i++) {
		snprintf(name, sizeof(name), "n%d.conf", i);
		snprintf(text, sizeof(text), "include \"n%d.conf\"\n", i + 1);
		write_file(name, i < 9 ? text : "workers 3\n", 0644);
	}
	write_file("n8.conf", "workers 3\n", 0644);
	main_path = write_file("m2.conf",
	    "listen on ::1 port 1\ninclude \"n1.conf\"\n", 0644);
	c = load(main_path);
	CHECK(c != NULL && c->workers == 3);
	CHECK_STR(errbuf, "");
	config_free(c);
	write_file("n8.conf", "include \"n9.conf\"\n", 0644);
	c = load(main_path);
	CHECK(c == NULL);
	snprintf(want, sizeof(want),
	    "%s:1: include: nesting too deep (more than %d)",
	    tmppath("n8.conf"), CONFIG_MAX_INCLUDE);
	CHECK_STR(errbuf, want);

	/* A file that includes itself stops at the same limit. */
	main_path = write_file("self.conf",
	    "include \"self.conf\"\nlisten on ::1 port $p\n", 0644);
	CHECK(config_define("p=1") == 0);
	c = load(main_path);
	config_clear_defines();
	CHECK(c == NULL);
	snprintf(want, sizeof(want),
	    "%s:1: include: nesting too deep (more than %d)", main_path,
	    CONFIG_MAX_INCLUDE);
	CHECK(strncmp(errbuf, want, strlen(want)) == 0);
}

static void
test_file_errors(void)
{
	struct config	*c;
	const char	*path, *inc;
	char		 want[4096];

	path = tmppath("absent.conf");
	c = load(path);
	CHECK(c == NULL);
	snprintf(want, sizeof(want),
	    "%s: cannot open: No such file or directory", path);
	CHECK_STR(errbuf, want);

	path = write_file("open.conf", "listen on ::1 port 1\n", 0666);
	c = load(path);
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "%s: writable by group or others", path);
	CHECK_STR(errbuf, want);
	chmod(path, 0620);
	c = load(path);
	CHECK(c == NULL);
	CHECK_STR(errbuf, want);
	chmod(path, 0640);			/* readable is fine */
	c = load(path);
	CHECK(c != NULL);
	config_free(c);

	inc = write_file("inc-open.conf", "workers 2\n", 0602);
	path = write_file("includer.conf",
	    "listen on ::1 port 1\ninclude \"inc-open.conf\"\n", 0600);
	c = load(path);
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "%s:2: %s: writable by group or others",
	    path, inc);
	CHECK_STR(errbuf, want);

	/* Owned by someone else: only root can arrange this. */
	if (getuid() == 0) {
		path = write_file("other.conf", "listen on ::1 port 1\n",
		    0644);
		CHECK(chown(path, 12345, 12345) == 0);
		c = load(path);
		CHECK(c == NULL);
		snprintf(want, sizeof(want),
		    "%s: owner not root or current user", path);
		CHECK_STR(errbuf, want);
	}

	path = tmppath("sub");
	mkdir(path, 0755);
	c = load(path);
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	CHECK_STR(errbuf, want);
}

/*
 * Errors, each with its exact message.
 */

#define L	"listen on 127.0.0.1 port 8080\n"

static void
test_errors_keywords(void)
{
	fails(L "foo bar\n", "t.conf:2: unknown keyword \"foo\"");
	fails(L "port 80\n", "t.conf:2: unknown keyword \"port\"");
	fails(L "state dir \"/x\"\n",
	    "t.conf:2: state: expected \"directory\", got \"dir\"");
	fails(L "control\n",
	    "t.conf:2: control: expected \"socket\", got end of line");
	fails(L "log foo \"/x\"\n",
	    "t.conf:2: log: expected \"audit\" or \"access\", got \"foo\"");
	fails(L "upstream gitlab \"https://x\"\n", "t.conf:2: upstream: "
	    "expected \"api\", \"web\", \"codeload\", \"copilot\", \"raw\", "
	    "\"ca\" or \"timeout\", got \"gitlab\"");
	fails(L "user\n", "t.conf:2: user: expected a name, got end of line");
	fails(L "user \"\"\n", "t.conf:2: user: empty name");
	fails(L "keyholder user \"\"\n", "t.conf:2: keyholder user: empty name");
	fails(L "chroot {\n}\n",
	    "t.conf:2: chroot: expected a path, got '{'");
	fails(L "workers 4 5\n",
	    "t.conf:2: workers: expected end of line, got \"5\"");
	fails(L "workers 4;\n", "t.conf:2: unexpected character ';'");
	fails(L "= 4\n", "t.conf:2: unexpected '='");
	fails(L "{\nworkers 4\n}\n", "t.conf:2: unexpected '{'");
	fails(L "}\n", "t.conf:2: unexpected '}'");
	fails(L "listen\n",
	    "t.conf:2: listen: expected \"on\", got end of line");
	fails(L "metrics on ::1 port 1\n",
	    "t.conf:2: metrics: expected \"listen\", got \"on\"");
	fails(L "block \"tokens\" { x }\n",
	    "t.conf:2: block: expected \"tokens\" or \"anonymous\", got "
	    "\"tokens\"");
}

static void
test_errors_nul(void)
{
	static const char text[] = L "workers 4\0\n";
	struct config	*c;

	errbuf[0] = '\0';
	c = config_parse_buffer("t.conf", text, sizeof(text) - 1, 0);
	CHECK(c == NULL);
	CHECK_STR(errbuf, "t.conf:2: unexpected character 0x00");
}

static void
test_errors_numbers(void)
{
	fails(L "workers abc\n", "t.conf:2: workers: invalid number \"abc\"");
	fails(L "workers -1\n", "t.conf:2: workers: invalid number \"-1\"");
	fails(L "workers +1\n", "t.conf:2: workers: invalid number \"+1\"");
	fails(L "workers 0x10\n", "t.conf:2: workers: invalid number \"0x10\"");
	fails(L "workers \"\"\n", "t.conf:2: workers: invalid number \"\"");
	fails(L "workers 0\n",
	    "t.conf:2: workers: 0 is out of range (1-256)");
	fails(L "workers 257\n",
	    "t.conf:2: workers: 257 is out of range (1-256)");
	fails(L "shutdown timeout 0\n",
	    "t.conf:2: shutdown timeout: 0 is out of range (1-3600)");
	fails(L "shutdown timeout 3601\n",
	    "t.conf:2: shutdown timeout: 3601 is out of range (1-3600)");
	fails(L "upstream timeout 0\n",
	    "t.conf:2: upstream timeout: 0 is out of range (1-3600)");
	fails(L "send timeout 3601\n",
	    "t.conf:2: send timeout: 3601 is out of range (1-3600)");
	fails(L "idle timeout 1\nidle timeout 2\n",
	    "t.conf:3: idle timeout already set at line 2");
	fails(L "header\n",
	    "t.conf:2: header: expected \"timeout\", got end of line");
	fails("listen on ::1 port 0\n",
	    "t.conf:1: port: 0 is out of range (1-65535)");
	fails("listen on ::1 port 65536\n",
	    "t.conf:1: port: 65536 is out of range (1-65535)");
	fails(L "workers 99999999999999999999999\n",
	    "t.conf:2: workers: 99999999999999999999999 is out of range "
	    "(1-256)");
	fails(L "app a {\nid 18446744073709551616\nprivate key /k\n}\n",
	    "t.conf:3: id: 18446744073709551616 is out of range "
	    "(1-18446744073709551615)");
	fails(L "app a {\nid 0\nprivate key /k\n}\n",
	    "t.conf:3: id: 0 is out of range (1-18446744073709551615)");
	fails(L "app a {\nid 1\nprivate key /k\ninstallation 0\n}\n",
	    "t.conf:5: installation: 0 is out of range "
	    "(1-18446744073709551615)");
	fails(L "metrics listen on ::1 port 99999\n",
	    "t.conf:2: port: 99999 is out of range (1-65535)");
}

static void
test_allow_anonymous(void)
{
	struct config	*c;

	c = parse(L "allow anonymous\n");
	CHECK(c != NULL && c->allow_anonymous == 1);
	if (c != NULL)
		round_trip(c);
	config_free(c);
	c = parse(L);
	CHECK(c != NULL && c->allow_anonymous == 0);
	config_free(c);
	fails(L "allow everyone\n", "t.conf:2: allow: expected "
	    "\"anonymous\", got \"everyone\"");
}

/* log audit FILE [unwritable refuse|serve] */
static void
test_audit_unwritable(void)
{
	struct config	*c;

	c = parse(L "log audit \"/var/log/a\" unwritable serve\n");
	CHECK(c != NULL && c->audit_serve == 1);
	if (c != NULL) {
		CHECK_STR(c->log_audit, "/var/log/a");
		round_trip(c);
	}
	config_free(c);
	c = parse(L "log audit /var/log/a unwritable refuse\n");
	CHECK(c != NULL && c->audit_serve == 0);
	config_free(c);
	c = parse(L "log audit /var/log/a\n");
	CHECK(c != NULL && c->audit_serve == 0);
	if (c != NULL)
		round_trip(c);
	config_free(c);
	fails(L "log audit /var/log/a unwritable ignore\n", "t.conf:2: log "
	    "audit: unwritable: expected \"refuse\" or \"serve\", got "
	    "\"ignore\"");
	fails(L "log audit /var/log/a unwritable\n", "t.conf:2: log audit: "
	    "unwritable: expected \"refuse\" or \"serve\", got end of line");
	fails(L "log audit /var/log/a serve\n", "t.conf:2: log audit: "
	    "expected end of line, got \"serve\"");
}

static void
test_errors_duplicates(void)
{
	fails(L "\nworkers 3\nworkers 4\n",
	    "t.conf:4: workers already set at line 3");
	fails(L "user a\nuser b\n", "t.conf:3: user already set at line 2");
	fails(L "keyholder user a\nkeyholder user b\n",
	    "t.conf:3: keyholder user already set at line 2");
	fails(L "chroot /a\nchroot /b\n",
	    "t.conf:3: chroot already set at line 2");
	fails(L "state directory /a\nstate directory /b\n",
	    "t.conf:3: state directory already set at line 2");
	fails(L "control socket /a\ncontrol socket /b\n",
	    "t.conf:3: control socket already set at line 2");
	fails(L "shutdown timeout 1\nshutdown timeout 2\n",
	    "t.conf:3: shutdown timeout already set at line 2");
	fails(L "upstream api http://a\nupstream api http://b\n",
	    "t.conf:3: upstream api already set at line 2");
	fails(L "log audit /a\nlog audit /b\n",
	    "t.conf:3: log audit already set at line 2");
	fails(L "log access /a\nlog access /b\n",
	    "t.conf:3: log access already set at line 2");
	fails(L "metrics listen on ::1 port 1\nmetrics listen on ::1 port 2\n",
	    "t.conf:3: metrics already set at line 2");
	fails(L "allow anonymous\nallow anonymous\n",
	    "t.conf:3: allow anonymous already set at line 2");
	fails(L "app a { id 1 private key /k }\napp a { id 2 private key /k }\n",
	    "t.conf:3: app \"a\" already defined at line 2");
	fails(L "app a {\nid 1\nid 2\nprivate key /k\n}\n",
	    "t.conf:4: id already set at line 3");
	fails(L "app a {\nid 1\nprivate key /k\nprivate key /j\n}\n",
	    "t.conf:5: private key already set at line 4");
	fails(L "app a {\nid 1\nprivate key /k\ninstallation 5\n"
	    "installation 5 for x\n}\n",
	    "t.conf:6: app \"a\": installation 5 listed twice");
}

static void
test_errors_listen(void)
{
	fails("workers 2\n\n", "t.conf:2: no \"listen on\" given");
	fails("workers 2\n\nuser x", "t.conf:3: no \"listen on\" given");
	fails("", "t.conf:1: no \"listen on\" given");
	fails("metrics listen on ::1 port 1\n",
	    "t.conf:1: no \"listen on\" given");

	fails("listen on 1.2.3 port 80\n",
	    "t.conf:1: listen on: invalid address \"1.2.3\"");
	fails("listen on example.com port 80\n",
	    "t.conf:1: listen on: invalid address \"example.com\"");
	fails("listen on fe80::1%lo port 80\n",
	    "t.conf:1: unexpected character '%'");
	fails(L "metrics listen on 300.1.1.1 port 9100\n", "t.conf:2: "
	    "metrics listen on: invalid address \"300.1.1.1\"");
	fails("listen on 127.0.0.1 port 8080\nlisten on 127.0.0.1 port 8080\n",
	    "t.conf:2: listen on: 127.0.0.1 port 8080 already used at line 1");
	fails("listen on ::1 port 80\nlisten on 0:0::1 port 80 proxy\n",
	    "t.conf:2: listen on: 0:0::1 port 80 already used at line 1");
	fails(L "metrics listen on 127.0.0.1 port 8080\n",
	    "t.conf:2: metrics listen on: 127.0.0.1 port 8080 already used "
	    "at line 1");
	fails("listen on ::1 port 80 tls certificate /c\n",
	    "t.conf:1: listen on: tls: expected \"key\", got end of line");
	fails("listen on ::1 port 80 tls key /k\n",
	    "t.conf:1: listen on: tls: expected \"certificate\", got \"key\"");
	fails("listen on ::1 port 80 proxy proxy\n",
	    "t.conf:1: listen on: proxy given twice");
	fails("listen on ::1 port 80 tls certificate /c key /k "
	    "tls certificate /c key /k\n",
	    "t.conf:1: listen on: tls given twice");
	fails("listen on ::1 port 80 bogus\n",
	    "t.conf:1: listen on: expected end of line, got \"bogus\"");
	fails("listen on ::1 80\n",
	    "t.conf:1: listen on: expected \"port\", got \"80\"");
}

static void
test_errors_paths(void)
{
	fails(L "chroot var/empty\n",
	    "t.conf:2: chroot: \"var/empty\" is not an absolute path");
	fails(L "state directory \"db\"\n",
	    "t.conf:2: state directory: \"db\" is not an absolute path");
	fails(L "control socket ghp.sock\n",
	    "t.conf:2: control socket: \"ghp.sock\" is not an absolute path");
	fails(L "log audit \"\"\n",
	    "t.conf:2: log audit: \"\" is not an absolute path");
	fails(L "log access ./a.log\n",
	    "t.conf:2: log access: \"./a.log\" is not an absolute path");
	fails("listen on ::1 port 80 tls certificate c.crt key /k\n",
	    "t.conf:1: tls certificate: \"c.crt\" is not an absolute path");
	fails("listen on ::1 port 80 tls certificate /c key k\n",
	    "t.conf:1: tls key: \"k\" is not an absolute path");
	fails(L "app a {\nid 1\nprivate key \"a.pem\"\n}\n",
	    "t.conf:4: private key: \"a.pem\" is not an absolute path");
}

static void
test_errors_urls(void)
{
	fails(L "upstream api \"ftp://x\"\n", "t.conf:2: upstream api: "
	    "bad URL \"ftp://x\": must start with http:// or https://");
	fails(L "upstream api \"api.github.com\"\n", "t.conf:2: upstream api: "
	    "bad URL \"api.github.com\": must start with http:// or "
	    "https://");
	fails(L "upstream web \"https://\"\n",
	    "t.conf:2: upstream web: bad URL \"https://\": host missing");
	fails(L "upstream web \"https:///x\"\n",
	    "t.conf:2: upstream web: bad URL \"https:///x\": host missing");
	fails(L "upstream web \"https://u:p@github.com\"\n", "t.conf:2: "
	    "upstream web: bad URL \"https://u:p@github.com\": a user name "
	    "or password is not allowed");
	fails(L "upstream codeload \"https://x/?a=b\"\n", "t.conf:2: "
	    "upstream codeload: bad URL \"https://x/?a=b\": a query or "
	    "fragment is not allowed");
	fails(L "upstream codeload \"https://x/#f\"\n", "t.conf:2: "
	    "upstream codeload: bad URL \"https://x/#f\": a query or "
	    "fragment is not allowed");
	fails(L "upstream copilot \"https://a b\"\n", "t.conf:2: "
	    "upstream copilot: bad URL \"https://a b\": only printable "
	    "ASCII, no spaces");
	fails(L "upstream copilot \"https://x:0\"\n",
	    "t.conf:2: upstream copilot: bad URL \"https://x:0\": bad port");
	fails(L "upstream copilot \"https://x:65536/\"\n", "t.conf:2: "
	    "upstream copilot: bad URL \"https://x:65536/\": bad port");
	fails(L "upstream copilot \"https://x:/\"\n",
	    "t.conf:2: upstream copilot: bad URL \"https://x:/\": bad port");
	fails(L "upstream api \"https://[::g]/\"\n", "t.conf:2: "
	    "upstream api: bad URL \"https://[::g]/\": bad IPv6 address");
	fails(L "upstream api \"https://x%y/\"\n",
	    "t.conf:2: upstream api: bad URL \"https://x%y/\": bad host");
	fails(L "upstream api\n",
	    "t.conf:2: upstream api: expected a URL, got end of line");
}

static void
test_errors_strings(void)
{
	fails(L "user \"abc", "t.conf:2: unterminated quoted string");
	fails(L "user \"abc\\", "t.conf:2: unterminated quoted string");
	fails(L "user \"abc\nworkers 2\n",
	    "t.conf:2: newline in quoted string");
	fails(L "user \"abc\\\nworkers 2\n",
	    "t.conf:2: newline in quoted string");
	fails(L "user \"a\\qb\"\nworkers 0\n",
	    "t.conf:2: invalid escape \"\\q\" in quoted string\n"
	    "t.conf:3: workers: 0 is out of range (1-256)");
	fails(L "user \"a\\\tb\"\n", "t.conf:2: invalid escape in quoted "
	    "string: backslash and 0x09");
	fails(L "user \"a\001b\"\n",
	    "t.conf:2: invalid character 0x01 in quoted string");
	fails(L "user a\\b\n", "t.conf:2: unexpected character '\\'");
}

static void
test_errors_long(void)
{
	char	*text;
	size_t	 n = 9000, off;

	text = malloc(n + 64);
	off = snprintf(text, n + 64, "%suser ", L);
	memset(text + off, 'a', n);
	strcpy(text + off + n, "\nworkers 0\n");
	fails(text, "t.conf:2: word too long (more than 8192 bytes)\n"
	    "t.conf:3: workers: 0 is out of range (1-256)");
	off = snprintf(text, n + 64, "%suser \"", L);
	memset(text + off, 'a', n);
	strcpy(text + off + n, "\"\nworkers 0\n");
	fails(text, "t.conf:2: quoted string too long (more than 8192 "
	    "bytes)\nt.conf:3: workers: 0 is out of range (1-256)");
	free(text);
}

static void
test_errors_macros(void)
{
	char	text[2048];
	size_t	off;
	int	i;

	fails(L "workers $nope\n", "t.conf:2: undefined macro \"nope\"");
	fails(L "workers \"$nope\"\nworkers $\n",
	    "t.conf:2: workers: invalid number \"$nope\"\n"
	    "t.conf:3: macro name missing after '$'");
	fails(L "a = \"$a\"\nworkers $a\n", "t.conf:3: recursive macro \"a\"");
	fails(L "a = \"x $b\"\nb = \"$a\"\nuser $a\n",
	    "t.conf:4: recursive macro \"a\"");
	/* m0 -> m1 -> ... -> m16: one level too many. */
	off = snprintf(text, sizeof(text), "%s", L);
	for (i = 0; i < 16; i++)
		off += snprintf(text + off, sizeof(text) - off,
		    "m%d = \"$m%d \"\n", i, i + 1);
	off += snprintf(text + off, sizeof(text) - off,
	    "m16 = 3\nworkers $m15\nworkers $m0\n");
	fails(text, "t.conf:20: macro expansion too deep (more than 16 "
	    "levels)");
	/* Exponential expansion is bounded. */
	off = snprintf(text, sizeof(text), "%s", L);
	for (i = 0; i < 12; i++)
		off += snprintf(text + off, sizeof(text) - off,
		    "m%d = \"$m%d $m%d $m%d $m%d\"\n", i, i + 1, i + 1, i + 1,
		    i + 1);
	off += snprintf(text + off, sizeof(text) - off,
	    "m12 = x\nblock tokens { $m0 }\n");
	fails(text, "t.conf:15: macros expand to more than 1 MiB in all");

	fails(L "user = x\n",
	    "t.conf:2: cannot use keyword \"user\" as a macro name");
	fails(L "1x = x\n", "t.conf:2: invalid macro name \"1x\"");
	fails(L "a.b = x\n", "t.conf:2: invalid macro name \"a.b\"");
	fails(L "x =\n", "t.conf:2: macro: expected a value, got end of line");
	fails(L "x = a b\n",
	    "t.conf:2: macro: expected end of line, got \"b\"");
}

static void
test_errors_blocks(void)
{
	fails(L "app \"x\" {\n\tinstallation 5\n}\n",
	    "t.conf:2: app \"x\": id missing\n"
	    "t.conf:2: app \"x\": private key missing");
	fails(L "app \"x\" {\n\tprivate key \"/k\"\n}\n",
	    "t.conf:2: app \"x\": id missing");
	fails(L "app \"x\" {\n\tid 5\n}\n",
	    "t.conf:2: app \"x\": private key missing");
	fails(L "app \"x\" {\n\tid 5\n\tprivate key \"/k\"\n",
	    "t.conf:2: app \"x\": missing '}'");
	fails(L "block tokens {\n\"ghp_\"\n\n",
	    "t.conf:2: block tokens: missing '}'");
	fails(L "app \"x\"\n{\nid 1\nprivate key /k\n}\n",
	    "t.conf:2: app \"x\": expected '{', got end of line\n"
	    "t.conf:3: unexpected '{'");
	fails(L "app \"\" { id 1 private key /k }\n",
	    "t.conf:2: app: empty name");
	fails(L "app x {\nid 1\nprivate key /k\nname y\n}\n",
	    "t.conf:5: unknown keyword \"name\"");
	fails(L "app x {\nid 1\nprivate key /k\n\"id\" 2\n}\n",
	    "t.conf:5: unknown keyword \"id\"");
	fails(L "app x {\nid 1\nprivate key /k\ninstallation 2 for \"\"\n}\n",
	    "t.conf:5: installation for: empty owner");
	fails(L "app x { id 1 private key /k } extra\n",
	    "t.conf:2: app \"x\": expected end of line, got \"extra\"");
	fails(L "app x { id 1 private key /k = }\n",
	    "t.conf:2: app \"x\": expected '}', got '='");
	fails(L "block tokens { }\n", "t.conf:2: block tokens: no prefix given");
	fails(L "block tokens {\n\"\"\n}\n", "t.conf:3: block tokens: "
	    "empty prefix");
	fails(L "block tokens \"ghp_\"\n",
	    "t.conf:2: block tokens: expected '{', got \"ghp_\"");
	/* An error skips the rest of a block, not the file. */
	fails(L "bogus {\nworkers 0\n}\nworkers 0\n",
	    "t.conf:2: unknown keyword \"bogus\"\n"
	    "t.conf:5: workers: 0 is out of range (1-256)");
}

static void
test_errors_many(void)
{
	fails("foo\n"
	    "workers 0\n"
	    "user \"a\\x\"\n"
	    "chroot rel\n"
	    "app a {\n"
	    "  bogus 1\n"
	    "}\n"
	    "upstream api \"ftp://x\"\n"
	    "listen on nowhere port 1\n"
	    "workers $undefined\n"
	    "}\n",
	    "t.conf:1: unknown keyword \"foo\"\n"
	    "t.conf:2: workers: 0 is out of range (1-256)\n"
	    "t.conf:3: invalid escape \"\\x\" in quoted string\n"
	    "t.conf:4: chroot: \"rel\" is not an absolute path\n"
	    "t.conf:6: unknown keyword \"bogus\"\n"
	    "t.conf:5: app \"a\": id missing\n"
	    "t.conf:5: app \"a\": private key missing\n"
	    "t.conf:8: upstream api: bad URL \"ftp://x\": must start with "
	    "http:// or https://\n"
	    "t.conf:9: listen on: invalid address \"nowhere\"\n"
	    "t.conf:10: undefined macro \"undefined\"\n"
	    "t.conf:11: unexpected '}'");
}

/*
 * The statements about github.com's other hosts (config_web.c) and the
 * upstream scalars that came with them.
 */

#define O39	"abcdefghijklmnopqrstuvwxyz-0123456789_A"
#define N50	"abcdefghijklmnopqrstuvwxyz.0123456789-_ABCDEFGHIJK"

static void
test_web_defaults(void)
{
	struct config	*c;

	c = parse(L);
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_STR(c->upstream[UPSTREAM_RAW],
	    "https://raw.githubusercontent.com");
	CHECK_STR(c->upstream_ca, "/etc/ssl/certs/ca-certificates.crt");
	CHECK_STR(c->upstream_ca, CONFIG_DEFAULT_CA);
	CHECK(c->releases.mode == POLICY_PASS);
	CHECK(c->releases.url == NULL && c->releases.netrc == NULL &&
	    c->releases.check == 0 && TAILQ_EMPTY(&c->releases.allow));
	CHECK(c->codeload.mode == POLICY_PASS);
	CHECK(c->codeload.url == NULL && c->codeload.netrc == NULL &&
	    c->codeload.check == 0 && TAILQ_EMPTY(&c->codeload.allow));
	CHECK(c->enterprise == NULL);
	CHECK(c->block_anonymous_git == 0);
	round_trip(c);
	config_free(c);

	CHECK_STR(config_upstream_name(UPSTREAM_RAW), "raw");
	CHECK_STR(config_upstream_default(UPSTREAM_RAW),
	    "https://raw.githubusercontent.com");
}

static const char web_every[] =
    L
    "upstream raw \"https://raw.example.com/\"\n"
    "upstream ca \"/etc/ghp/ca.pem\"\n"
    "block anonymous git\n"
    "enterprise \"Acme-Corp_1.x\"\n"
    "releases redirect to \"https://mirror.example.com/releases/\" check "
    "netrc \"/etc/ghp/netrc\" allow { \"acme/widgets\" beta/* }\n"
    "codeload block allow {\n"
    "\tacme/widgets\n"
    "\t\"Acme_2/*\"\n"
    "}\n";

static void
test_web_every(void)
{
	struct config		*c;
	struct string_entry	*s;
	char			*out;

	c = parse(web_every);
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c == NULL)
		return;
	CHECK_STR(c->upstream[UPSTREAM_RAW], "https://raw.example.com/");
	CHECK_STR(c->upstream_ca, "/etc/ghp/ca.pem");
	CHECK(c->block_anonymous_git == 1);
	CHECK(c->allow_anonymous == 0);
	CHECK_STR(c->enterprise, "Acme-Corp_1.x");

	CHECK(c->releases.mode == POLICY_REDIRECT);
	CHECK_STR(c->releases.url, "https://mirror.example.com/releases");
	CHECK(c->releases.check == 1);
	CHECK_STR(c->releases.netrc, "/etc/ghp/netrc");
	s = TAILQ_FIRST(&c->releases.allow);
	CHECK(s != NULL && strcmp(s->value, "acme/widgets") == 0);
	s = s != NULL ? TAILQ_NEXT(s, entry) : NULL;
	CHECK(s != NULL && strcmp(s->value, "beta/*") == 0);
	CHECK(s == NULL || TAILQ_NEXT(s, entry) == NULL);

	CHECK(c->codeload.mode == POLICY_BLOCK);
	CHECK(c->codeload.url == NULL && c->codeload.check == 0 &&
	    c->codeload.netrc == NULL);
	s = TAILQ_FIRST(&c->codeload.allow);
	CHECK(s != NULL && strcmp(s->value, "acme/widgets") == 0);
	s = s != NULL ? TAILQ_NEXT(s, entry) : NULL;
	CHECK(s != NULL && strcmp(s->value, "Acme_2/*") == 0);
	CHECK(s == NULL || TAILQ_NEXT(s, entry) == NULL);

	/* As printed. */
	out = print(c);
	CHECK(strstr(out, "\nupstream raw \"https://raw.example.com/\"\n") !=
	    NULL);
	CHECK(strstr(out, "\nupstream ca \"/etc/ghp/ca.pem\"\n") != NULL);
	CHECK(strstr(out, "\nblock anonymous git\n") != NULL);
	CHECK(strstr(out, "\nenterprise \"Acme-Corp_1.x\"\n") != NULL);
	CHECK(strstr(out, "\nreleases redirect to "
	    "\"https://mirror.example.com/releases\" check netrc "
	    "\"/etc/ghp/netrc\" allow { \"acme/widgets\" \"beta/*\" }\n") !=
	    NULL);
	CHECK(strstr(out, "\ncodeload block allow { \"acme/widgets\" "
	    "\"Acme_2/*\" }\n") != NULL);
	free(out);
	round_trip(c);
	config_free(c);

	/* With "allow anonymous", and with the keywords in another order. */
	c = parse(L "codeload pass\nenterprise x\nallow anonymous\n"
	    "block anonymous git\nreleases block\n");
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c != NULL) {
		CHECK(c->allow_anonymous == 1 && c->block_anonymous_git == 1);
		CHECK(c->codeload.mode == POLICY_PASS);
		CHECK(c->releases.mode == POLICY_BLOCK);
		round_trip(c);
	}
	config_free(c);
}

/* Each form of a policy statement, for releases and for codeload. */
static void
test_web_policy_forms(void)
{
	static const struct {
		const char	*text;	/* after "releases " */
		enum policy_mode mode;
		const char	*url;
		int		 check;
		const char	*netrc;
		int		 nallow;
		const char	*printed;	/* NULL: nothing */
	} forms[] = {
		{ "pass", POLICY_PASS, NULL, 0, NULL, 0, NULL },
		{ "block", POLICY_BLOCK, NULL, 0, NULL, 0, " block\n" },
		{ "block allow { a/b }", POLICY_BLOCK, NULL, 0, NULL, 1,
		    " block allow { \"a/b\" }\n" },
		{ "block allow {\n\"a/b\"\nc/*\n}", POLICY_BLOCK, NULL, 0, NULL,
		    2, " block allow { \"a/b\" \"c/*\" }\n" },
		{ "redirect to https://m.example.com", POLICY_REDIRECT,
		    "https://m.example.com", 0, NULL, 0,
		    " redirect to \"https://m.example.com\"\n" },
		{ "redirect to \"http://m.example.com:8080/x/\"",
		    POLICY_REDIRECT, "http://m.example.com:8080/x", 0, NULL, 0,
		    " redirect to \"http://m.example.com:8080/x\"\n" },
		{ "redirect to https://m.example.com/// check",
		    POLICY_REDIRECT, "https://m.example.com", 1, NULL, 0,
		    " redirect to \"https://m.example.com\" check\n" },
		{ "redirect to http://m/ check", POLICY_REDIRECT, "http://m",
		    1, NULL, 0, " redirect to \"http://m\" check\n" },
		{ "redirect to \"https://[::1]:8443/a\" check netrc /etc/netrc",
		    POLICY_REDIRECT, "https://[::1]:8443/a", 1, "/etc/netrc", 0,
		    " redirect to \"https://[::1]:8443/a\" check netrc "
		    "\"/etc/netrc\"\n" },
		{ "redirect to https://m allow { a/b c/* }", POLICY_REDIRECT,
		    "https://m", 0, NULL, 2,
		    " redirect to \"https://m\" allow { \"a/b\" \"c/*\" }\n" },
		{ "redirect to https://m check allow { a/b }", POLICY_REDIRECT,
		    "https://m", 1, NULL, 1,
		    " redirect to \"https://m\" check allow { \"a/b\" }\n" },
		{ "redirect to https://m check netrc \"/n \\\"q\\\"\" allow "
		    "{ a/b }", POLICY_REDIRECT, "https://m", 1, "/n \"q\"", 1,
		    " redirect to \"https://m\" check netrc \"/n \\\"q\\\"\" "
		    "allow { \"a/b\" }\n" },
	};
	static const char *names[] = { "releases", "codeload" };
	struct config		*c;
	struct policy_conf	*pc;
	struct string_entry	*s;
	char			 text[512], want[512], *out;
	size_t			 i, n;
	int			 w;

	for (w = 0; w < 2; w++)
		for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
			snprintf(text, sizeof(text), "%s%s %s\n", L, names[w],
			    forms[i].text);
			c = parse(text);
			CHECK(c != NULL);
			CHECK_STR(errbuf, "");
			if (c == NULL) {
				fprintf(stderr, "%s", text);
				continue;
			}
			pc = w == 0 ? &c->releases : &c->codeload;
			CHECK(pc->mode == forms[i].mode);
			CHECK(str_equal(pc->url, forms[i].url));
			CHECK(pc->check == forms[i].check);
			CHECK(str_equal(pc->netrc, forms[i].netrc));
			n = 0;
			TAILQ_FOREACH(s, &pc->allow, entry)
				n++;
			CHECK(n == (size_t)forms[i].nallow);
			/* The other one is untouched. */
			pc = w == 0 ? &c->codeload : &c->releases;
			CHECK(pc->mode == POLICY_PASS && pc->url == NULL &&
			    TAILQ_EMPTY(&pc->allow));
			out = print(c);
			if (forms[i].printed != NULL) {
				snprintf(want, sizeof(want), "\n%s%s", names[w],
				    forms[i].printed);
				if (strstr(out, want) == NULL)
					fprintf(stderr, "want \"%s\" in:\n%s",
					    want, out);
				CHECK(strstr(out, want) != NULL);
			} else {
				snprintf(want, sizeof(want), "\n%s ",
				    names[w]);
				CHECK(strstr(out, want) == NULL);
			}
			free(out);
			round_trip(c);
			config_free(c);
		}
}

static void
test_web_allow_entries(void)
{
	static const char *good[] = {
		"a/b", "acme/widgets", "acme/*", "Acme-1_x/w.x-y_z", "-/_",
		"acme/.x", "acme/...", "acme/x.git", O39 "/x",
		"acme/" N50 N50,
	};
	static const char *badones[] = {
		"acme", "/x", "acme/", "/", "acme/a/b", "a.b/c", "*/*",
		"acme/.", "acme/..", "acme/wid gets", "acme/*x", "acme/**",
		"acme/w@", "ac%me/w", "acme/w+x", "ac:me/w", O39 "x/w",
		"acme/" N50 N50 "x", "acme/w\xc3\xa9",
	};
	struct config	*c;
	char		 text[512], want[512];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "%sreleases block allow { \"%s\" "
		    "}\n", L, good[i]);
		c = parse(text);
		CHECK(c != NULL);
		if (c != NULL) {
			CHECK_STR(TAILQ_FIRST(&c->releases.allow)->value,
			    good[i]);
			round_trip(c);
		} else
			fprintf(stderr, "refused: %s\n", errbuf);
		config_free(c);
	}
	for (i = 0; i < sizeof(badones) / sizeof(badones[0]); i++) {
		snprintf(text, sizeof(text), "%scodeload redirect to https://m "
		    "allow {\n\"%s\"\n}\n", L, badones[i]);
		snprintf(want, sizeof(want), "t.conf:3: codeload allow: \"%s\" "
		    "is not \"owner/repo\" or \"owner/*\"", badones[i]);
		fails(text, want);
	}
	/* Every bad one is reported, each on its line. */
	fails(L "releases block allow {\nacme/ok\n\"/x\"\nacme/\n}\n",
	    "t.conf:4: releases allow: \"/x\" is not \"owner/repo\" or "
	    "\"owner/*\"\n"
	    "t.conf:5: releases allow: \"acme/\" is not \"owner/repo\" or "
	    "\"owner/*\"");
}

static void
test_web_errors_policy(void)
{
	fails(L "releases\n", "t.conf:2: releases: expected \"pass\", "
	    "\"block\" or \"redirect\", got end of line");
	fails(L "codeload allow { a/b }\n", "t.conf:2: codeload: expected "
	    "\"pass\", \"block\" or \"redirect\", got \"allow\"");
	fails(L "releases \"pass\"\n", "t.conf:2: releases: expected "
	    "\"pass\", \"block\" or \"redirect\", got \"pass\"");
	fails(L "releases redirect https://m\n",
	    "t.conf:2: releases: expected \"to\", got \"https://m\"");
	fails(L "releases redirect\n",
	    "t.conf:2: releases: expected \"to\", got end of line");
	fails(L "releases redirect to\n",
	    "t.conf:2: releases: expected a URL, got end of line");
	fails(L "releases redirect to { a/b }\n",
	    "t.conf:2: releases: expected a URL, got '{'");

	/* Bad URLs. */
	fails(L "releases redirect to ftp://m\n", "t.conf:2: releases "
	    "redirect to: bad URL \"ftp://m\": must start with http:// or "
	    "https://");
	fails(L "codeload redirect to mirror.example.com\n", "t.conf:2: "
	    "codeload redirect to: bad URL \"mirror.example.com\": must "
	    "start with http:// or https://");
	fails(L "codeload redirect to \"https://u:p@m\"\n", "t.conf:2: "
	    "codeload redirect to: bad URL \"https://u:p@m\": a user name or "
	    "password is not allowed");
	fails(L "codeload redirect to \"https://m/?x=1\"\n", "t.conf:2: "
	    "codeload redirect to: bad URL \"https://m/?x=1\": a query or "
	    "fragment is not allowed");
	fails(L "releases redirect to \"https://\"\n", "t.conf:2: releases "
	    "redirect to: bad URL \"https://\": host missing");
	fails(L "releases redirect to \"https://m:0\" check\n", "t.conf:2: "
	    "releases redirect to: bad URL \"https://m:0\": bad port");
	fails(L "releases redirect to \"\"\n", "t.conf:2: releases redirect "
	    "to: bad URL \"\": must start with http:// or https://");

	/* netrc: https only, an absolute path, after "check". */
	fails(L "releases redirect to http://m check netrc /etc/netrc\n",
	    "t.conf:2: releases: netrc credentials are sent over https "
	    "only, and the redirect URL is not https");
	fails(L "codeload redirect to \"http://m.example.com/x/\" check netrc "
	    "\"/n\" allow { a/b }\n", "t.conf:2: codeload: netrc credentials "
	    "are sent over https only, and the redirect URL is not https");
	fails(L "releases redirect to https://m check netrc\n",
	    "t.conf:2: releases: expected a netrc file, got end of line");
	fails(L "releases redirect to https://m check netrc netrc\n",
	    "t.conf:2: netrc: \"netrc\" is not an absolute path");
	fails(L "releases redirect to https://m check netrc \"\"\n",
	    "t.conf:2: netrc: \"\" is not an absolute path");
	fails(L "releases redirect to https://m netrc /n\n",
	    "t.conf:2: releases: expected end of line, got \"netrc\"");
	fails(L "releases redirect to https://m check check\n",
	    "t.conf:2: releases: expected end of line, got \"check\"");
	fails(L "releases redirect to https://m allow { a/b } check\n",
	    "t.conf:2: releases: expected end of line, got \"check\"");

	/* pass takes nothing more; block no URL. */
	fails(L "releases pass allow { a/b }\n",
	    "t.conf:2: releases: expected end of line, got \"allow\"");
	fails(L "releases block extra\n",
	    "t.conf:2: releases: expected end of line, got \"extra\"");
	fails(L "codeload block to https://m\n",
	    "t.conf:2: codeload: expected end of line, got \"to\"");
	fails(L "codeload block check\n",
	    "t.conf:2: codeload: expected end of line, got \"check\"");

	/* allow lists. */
	fails(L "releases block allow { }\n",
	    "t.conf:2: releases allow: no repository given");
	fails(L "\ncodeload redirect to https://m allow {\n}\n",
	    "t.conf:3: codeload allow: no repository given");
	fails(L "codeload block allow a/b\n",
	    "t.conf:2: codeload: expected '{', got \"a/b\"");
	fails(L "codeload block allow\n",
	    "t.conf:2: codeload: expected '{', got end of line");
	fails(L "codeload block allow { a/b\n",
	    "t.conf:2: codeload: missing '}'");
	fails(L "releases block allow { a/b } extra\n",
	    "t.conf:2: releases: expected end of line, got \"extra\"");
	fails(L "releases block allow { a/b } allow { c/d }\n",
	    "t.conf:2: releases: expected end of line, got \"allow\"");

	/* Each at most once; releases and codeload are apart. */
	fails(L "releases pass\nreleases block\n",
	    "t.conf:3: releases already set at line 2");
	fails(L "codeload block\n\ncodeload redirect to https://m\n",
	    "t.conf:4: codeload already set at line 2");
	fails(L "releases pass\nreleases pass\n",
	    "t.conf:3: releases already set at line 2");
	fails(L "releases bogus\nreleases pass\n",
	    "t.conf:2: releases: expected \"pass\", \"block\" or "
	    "\"redirect\", got \"bogus\"\n"
	    "t.conf:3: releases already set at line 2");
	/* The second one is skipped whole, block and all. */
	fails(L "codeload pass\ncodeload block allow {\n\"/x\"\n}\nworkers 0\n",
	    "t.conf:3: codeload already set at line 2\n"
	    "t.conf:6: workers: 0 is out of range (1-256)");
}

static void
test_web_errors_other(void)
{
	char	text[256], want[512];

	/* block anonymous git */
	fails(L "block anonymous\n", "t.conf:2: block anonymous: expected "
	    "\"git\", got end of line");
	fails(L "block anonymous tokens\n", "t.conf:2: block anonymous: "
	    "expected \"git\", got \"tokens\"");
	fails(L "block anonymous \"git\"\n", "t.conf:2: block anonymous: "
	    "expected \"git\", got \"git\"");
	fails(L "block anonymous git extra\n", "t.conf:2: block anonymous "
	    "git: expected end of line, got \"extra\"");
	fails(L "block anonymous git\nblock anonymous git\n",
	    "t.conf:3: block anonymous git already set at line 2");
	fails(L "block git\n", "t.conf:2: block: expected \"tokens\" or "
	    "\"anonymous\", got \"git\"");
	fails(L "block\n", "t.conf:2: block: expected \"tokens\" or "
	    "\"anonymous\", got end of line");

	/* enterprise */
	fails(L "enterprise\n", "t.conf:2: enterprise: expected an "
	    "enterprise slug, got end of line");
	fails(L "enterprise \"a b\"\n", "t.conf:2: enterprise: \"a b\" is "
	    "not an enterprise slug (letters, digits, '-', '_', '.')");
	/* Control characters are not written into the error as they are. */
	fails(L "enterprise \"a\\nb\"\n", "t.conf:2: enterprise: \"a?b\" is "
	    "not an enterprise slug (letters, digits, '-', '_', '.')");
	fails(L "enterprise \"a\\tb\"\n", "t.conf:2: enterprise: \"a?b\" is "
	    "not an enterprise slug (letters, digits, '-', '_', '.')");
	fails(L "enterprise \"acme\\n\"\n", "t.conf:2: enterprise: \"acme?\" "
	    "is not an enterprise slug (letters, digits, '-', '_', '.')");
	fails(L "enterprise \"acme\r\"\n",
	    "t.conf:2: invalid character 0x0d in quoted string");
	fails(L "enterprise \"\"\n", "t.conf:2: enterprise: \"\" is not an "
	    "enterprise slug (letters, digits, '-', '_', '.')");
	fails(L "enterprise a/b\n", "t.conf:2: enterprise: \"a/b\" is not an "
	    "enterprise slug (letters, digits, '-', '_', '.')");
	fails(L "enterprise \"a:b\"\n", "t.conf:2: enterprise: \"a:b\" is "
	    "not an enterprise slug (letters, digits, '-', '_', '.')");
	fails(L "enterprise a b\n",
	    "t.conf:2: enterprise: expected end of line, got \"b\"");
	fails(L "enterprise a\nenterprise b\n",
	    "t.conf:3: enterprise already set at line 2");
	fails(L "enterprise a\n\nenterprise a\n",
	    "t.conf:4: enterprise already set at line 2");
	/* 100 characters at most. */
	snprintf(text, sizeof(text), "%senterprise %s%sx\n", L, N50, N50);
	snprintf(want, sizeof(want), "t.conf:2: enterprise: \"%s%sx\" is not "
	    "an enterprise slug (letters, digits, '-', '_', '.')", N50, N50);
	fails(text, want);

	/* upstream raw, upstream ca */
	fails(L "upstream raw ftp://x\n", "t.conf:2: upstream raw: bad URL "
	    "\"ftp://x\": must start with http:// or https://");
	fails(L "upstream raw \"https://u@x\"\n", "t.conf:2: upstream raw: "
	    "bad URL \"https://u@x\": a user name or password is not allowed");
	fails(L "upstream raw\n",
	    "t.conf:2: upstream raw: expected a URL, got end of line");
	fails(L "upstream raw http://a\nupstream raw http://b\n",
	    "t.conf:3: upstream raw already set at line 2");
	fails(L "upstream ca ca.pem\n",
	    "t.conf:2: upstream ca: \"ca.pem\" is not an absolute path");
	fails(L "upstream ca \"\"\n",
	    "t.conf:2: upstream ca: \"\" is not an absolute path");
	fails(L "upstream ca /a\nupstream ca /b\n",
	    "t.conf:3: upstream ca already set at line 2");
}

static void
test_web_slugs(void)
{
	static const char *good[] = {
		"a", "acme", "Acme-Corp", "acme_corp", "acme.corp", "1", "-",
		"...", N50 N50,
	};
	struct config	*c;
	char		 text[256];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "%senterprise \"%s\"\n", L,
		    good[i]);
		c = parse(text);
		CHECK(c != NULL);
		CHECK_STR(errbuf, "");
		if (c != NULL) {
			CHECK_STR(c->enterprise, good[i]);
			round_trip(c);
		}
		config_free(c);
	}
}

/* A macro may give any of the values. */
static void
test_web_macros(void)
{
	struct config	*c;

	c = parse(L "mirror = \"https://m.example.com/dl\"\n"
	    "ent = acme\n"
	    "releases redirect to $mirror check netrc \"/etc/ghp/netrc\"\n"
	    "codeload redirect to $mirror\n"
	    "enterprise $ent\n");
	CHECK(c != NULL);
	CHECK_STR(errbuf, "");
	if (c != NULL) {
		CHECK_STR(c->releases.url, "https://m.example.com/dl");
		CHECK_STR(c->codeload.url, "https://m.example.com/dl");
		CHECK_STR(c->enterprise, "acme");
		round_trip(c);
	}
	config_free(c);
}

static void
test_error_cb_default(void)
{
	struct config	*c;

	struct stat	 st;
	const char	*path = tmppath("stderr.out");
	FILE		*fp;
	char		 buf[256];
	size_t		 n;
	int		 saved, fd;

	/* No callback: to stderr, a line each. */
	fflush(stderr);
	if ((saved = dup(2)) == -1 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		exit(2);
	dup2(fd, 2);
	close(fd);
	config_set_error_cb(NULL, NULL);
	c = config_parse_buffer("stderr-test.conf", "x\n", 2, 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	config_set_error_cb(collect, NULL);
	CHECK(c == NULL);
	CHECK(stat(path, &st) == 0);
	if ((fp = fopen(path, "r")) == NULL)
		exit(2);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	CHECK_STR(buf, "stderr-test.conf:1: unknown keyword \"x\"\n"
	    "stderr-test.conf:1: no \"listen on\" given\n");
}

static void
cleanup(void)
{
	char	cmd[sizeof(tmpdir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* proxy policy, proxy allow, proxy tunnel timeout, intercept blocks */
static void
test_proxy_keywords(void)
{
	struct config			*c;
	const struct intercept_conf	*ic;
	char				*out = NULL;
	size_t				 len;
	FILE				*fp;

	c = parse(L "proxy policy permissive\n"
	    "proxy allow { \"pypi.org\" \"*.pythonhosted.org\" "
	    "\"127.0.0.1\" \"::1\" }\n"
	    "proxy tunnel timeout 60\n"
	    "intercept \"api.example.com\" credential \"ex\" "
	    "via \"127.0.0.1:8443\" {\n"
	    "\theader \"x-api-key\"\n\tplaceholder \"PLACEHOLDER1\"\n}\n"
	    "intercept \"*.models.example\" credential \"m\" "
	    "{ header \"authorization\" }\n");
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(c->proxy_permissive == 1);
	CHECK(c->timeout_tunnel == 60);
	CHECK_STR(TAILQ_FIRST(&c->proxy_allow)->value, "pypi.org");
	ic = TAILQ_FIRST(&c->intercepts);
	CHECK_STR(ic->pattern, "api.example.com");
	CHECK_STR(ic->credential, "ex");
	CHECK_STR(ic->via, "127.0.0.1:8443");
	CHECK_STR(TAILQ_FIRST(&ic->headers)->value, "x-api-key");
	CHECK_STR(TAILQ_FIRST(&ic->placeholders)->value, "PLACEHOLDER1");
	ic = TAILQ_NEXT(ic, entry);
	CHECK(ic != NULL && ic->via == NULL);
	fp = open_memstream(&out, &len);
	config_print(fp, c);
	fclose(fp);
	CHECK(strstr(out, "proxy policy permissive\nproxy tunnel timeout 60\n"
	    "proxy allow { \"pypi.org\" \"*.pythonhosted.org\" "
	    "\"127.0.0.1\" \"::1\" }\n") != NULL);
	CHECK(strstr(out, "intercept \"api.example.com\" credential \"ex\" "
	    "via \"127.0.0.1:8443\" {\n\theader \"x-api-key\"\n"
	    "\tplaceholder \"PLACEHOLDER1\"\n}\n") != NULL);
	free(out);
	config_free(c);

	c = parse(L);
	CHECK(c != NULL && c->proxy_permissive == 0 &&
	    c->timeout_tunnel == CONFIG_DEFAULT_TUNNEL_TIMEOUT &&
	    TAILQ_EMPTY(&c->intercepts));
	config_free(c);

	fails(L "proxy policy loose\n", "t.conf:2: proxy policy: expected "
	    "\"strict\" or \"permissive\", got \"loose\"");
	fails(L "proxy policy strict\nproxy policy strict\n",
	    "t.conf:3: proxy policy already set at line 2");
	fails(L "proxy allow { \"Example.com\" }\n", "t.conf:2: proxy allow: "
	    "\"Example.com\" is not a host name in lower case, \"*.domain\" "
	    "or an IP address");
	fails(L "proxy allow { }\n", "t.conf:2: proxy allow: no host given");
	fails(L "proxy tunnel timeout 0\n", "t.conf:2: proxy tunnel timeout: "
	    "0 is out of range (1-86400)");
	fails(L "proxy\n", "t.conf:2: proxy: expected \"policy\", "
	    "\"allow\" or \"tunnel\", got end of line");
	fails(L "intercept \"api.github.com\" credential \"x\" "
	    "{ header \"a\" }\n", "t.conf:2: intercept: \"api.github.com\" "
	    "is not a host name in lower case or \"*.domain\" (nor one of "
	    "GitHub's)");
	fails(L "intercept \"a.example\" credential \"x\" via \"a:1\" "
	    "{ header \"a\" }\n", "t.conf:2: intercept via: \"a:1\" is not "
	    "an IP address and a port");
	fails(L "intercept \"a.example\" credential \"x\" { }\n",
	    "t.conf:2: intercept: no header or placeholder given");
	fails(L "intercept \"a.example\" credential \"x\" "
	    "{ header \"host\" }\n", "t.conf:2: intercept header: \"host\" "
	    "is not a header ghp may set");
	fails(L "intercept \"a.example\" credential \"x\" "
	    "{ placeholder \"short\" }\n", "t.conf:2: intercept placeholder: "
	    "8 to 256 printable characters, no space");
}

int
main(void)
{
	umask(022);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	config_set_error_cb(collect, NULL);
	UNIT_RUN(test_sample);
	UNIT_RUN(test_allow_anonymous);
	UNIT_RUN(test_audit_unwritable);
	UNIT_RUN(test_minimal);
	UNIT_RUN(test_every_keyword);
	UNIT_RUN(test_syntax);
	UNIT_RUN(test_macros);
	UNIT_RUN(test_include);
	UNIT_RUN(test_include_errors);
	UNIT_RUN(test_file_errors);
	UNIT_RUN(test_errors_keywords);
	UNIT_RUN(test_errors_nul);
	UNIT_RUN(test_errors_numbers);
	UNIT_RUN(test_errors_duplicates);
	UNIT_RUN(test_errors_listen);
	UNIT_RUN(test_errors_paths);
	UNIT_RUN(test_errors_urls);
	UNIT_RUN(test_errors_strings);
	UNIT_RUN(test_errors_long);
	UNIT_RUN(test_errors_macros);
	UNIT_RUN(test_errors_blocks);
	UNIT_RUN(test_errors_many);
	UNIT_RUN(test_web_defaults);
	UNIT_RUN(test_web_every);
	UNIT_RUN(test_web_policy_forms);
	UNIT_RUN(test_web_allow_entries);
	UNIT_RUN(test_web_errors_policy);
	UNIT_RUN(test_web_errors_other);
	UNIT_RUN(test_web_slugs);
	UNIT_RUN(test_web_macros);
	UNIT_RUN(test_proxy_keywords);
	UNIT_RUN(test_error_cb_default);
	cleanup();
	return (UNIT_DONE("test_config"));
}
