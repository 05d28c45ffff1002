/*
 * ghpctl.c: the control tool.  It speaks msg.h's protocol to the master
 * over the control socket: a hello with the protocol version, one
 * command, then text records until the end record, whose status is the
 * exit code (0 done, 1 refused or failed; 2 is ours, for usage).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "ghpctl.h"
#include "msg.h"
#include "util.h"

#define GHPCTL_TIMEOUT	30	/* seconds to wait for an answer */

static const char *opt_sock, *opt_conf;
static int said_hello;		/* on the current connection */

void
usage(void)
{
	fprintf(stderr,
	    "usage: ghpctl [-f config] [-s socket] command [args]\n"
	    "commands:\n"
	    "  status [--json]\n"
	    "  reload\n"
	    "  token create --owner NAME --repo OWNER/REPO[,...] "
	    "--perm NAME:LEVEL[,...]\n"
	    "               [--type user|agent] [--ttl DURATION] "
	    "[--session ID] [--note TEXT]\n"
	    "  token list [--owner NAME] [--json]\n"
	    "  token revoke ID\n"
	    "  credential add --owner NAME     (the credential on stdin)\n"
	    "  credential list [--json]\n"
	    "  credential remove --owner NAME\n"
	    "  ca export\n");
	exit(2);
}

void
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ghpctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { GHPCTL_TIMEOUT, 0 };
	int s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path)
	    >= sizeof(sun.sun_path))
		fail("%s: path too long", path);
	if ((s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		fail("socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fail("%s: %s (is ghp running?)", path, strerror(errno));
	(void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	said_hello = 0;
	return s;
}

/* The master's reason, one "ghpctl: " line per line of it. */
static void
print_reason(const char *p, size_t n)
{
	const char *nl;
	size_t len;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		len = nl != NULL ? (size_t)(nl - p) : n;
		fprintf(stderr, "ghpctl: %.*s\n", (int)len, p);
		if (nl == NULL)
			break;
		n -= len + 1;
		p = nl + 1;
	}
}

/*
 * Send one command and collect the answer's text; returns the status the
 * master gave, and prints its reason on stderr.
 */
int
ctl_command(int s, uint16_t type, const void *data, size_t dlen, char **text)
{
	static uint8_t buf[MSG_MAX_SIZE];
	struct msg_ctl_hello hello = { MSG_PROTOCOL_VERSION };
	struct msg_ctl_end end;
	enum msg_error e;
	struct msg m;
	size_t len = 0;
	int r;

	*text = NULL;
	if ((!said_hello && msg_send(s, MSG_CTL_HELLO, 0, 0, -1, &hello,
	    sizeof(hello)) == -1) || msg_send(s, type, 0, 0, -1, data, dlen)
	    == -1)
		fail("send: %s", strerror(errno));
	for (;;) {
		if ((r = msg_recv(s, buf, &m, &e)) == 0)
			fail("the master closed the connection");
		if (r == -1) {
			if (e != MSG_OK)
				fail("bad answer: %s", msg_strerror(e));
			fail("receive: %s", errno == EAGAIN ?
			    "timed out" : strerror(errno));
		}
		if (m.hdr.type == MSG_CTL_DATA) {
			if ((*text = realloc(*text, len + m.len + 1)) == NULL)
				fail("out of memory");
			memcpy(*text + len, m.data, m.len);
			len += m.len;
			(*text)[len] = '\0';
			continue;
		}
		if (m.hdr.type != MSG_CTL_END)
			fail("unexpected %s message", msg_type_name(m.hdr.type));
		said_hello = 1;
		memcpy(&end, m.data, sizeof(end));
		print_reason((const char *)m.data + sizeof(end),
		    m.len - sizeof(end));
		return end.status == 0 ? 0 : 1;
	}
}

static void
format_duration(char *buf, size_t len, json_int_t s)
{
	if (s >= 86400)
		(void)snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		(void)snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else if (s >= 60)
		(void)snprintf(buf, len, "%lldm%02llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		(void)snprintf(buf, len, "%llds", (long long)s);
}

static json_int_t
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

void
format_utc(char *buf, size_t len, const json_t *v, enum utc_form form)
{
	time_t t;

	if (!json_is_integer(v)) {
		(void)snprintf(buf, len, "-");
		return;
	}
	t = (time_t)json_integer_value(v);
	if (form == UTC_DATE)
		strftime(buf, len, "%Y-%m-%dT%H:%MZ", gmtime(&t));
	else
		strftime(buf, len, "%H:%M:%SZ", gmtime(&t));
}

/* One line per App installation: cached tokens and rate-limit room. */
static void
print_apps(const json_t *apps)
{
	const json_t *a, *in;
	char exp[16], room[24], until[16];
	size_t i, j;

	if (json_array_size(apps) == 0)
		return;
	printf("\n%-12s %12s %-14s %6s %9s %10s %9s\n", "APP", "INSTALLATION",
	    "ACCOUNT", "TOKENS", "EXPIRES", "RATELIMIT", "EXHAUSTED");
	json_array_foreach(apps, i, a) {
		json_array_foreach(json_object_get(a, "installations"), j,
		    in) {
			format_utc(exp, sizeof(exp), json_object_get(in,
			    "earliest_expiry"), UTC_TIME);
			format_utc(until, sizeof(until), json_object_get(in,
			    "exhausted_until"), UTC_TIME);
			if (json_is_integer(json_object_get(in,
			    "ratelimit_remaining")))
				(void)snprintf(room, sizeof(room), "%lld",
				    (long long)jint(in,
				    "ratelimit_remaining"));
			else
				(void)snprintf(room, sizeof(room), "-");
			printf("%-12s %12lld %-14s %6lld %9s %10s %9s\n",
			    jstr(a, "name"), (long long)jint(in, "id"),
			    jstr(in, "account"), (long long)jint(in, "tokens"),
			    exp, room, until);
		}
	}
}

/* The human form of status: one line per process, then the Apps. */
static int
print_status(const char *text)
{
	json_t *root, *procs, *p;
	json_error_t err;
	char up[32], gen[16], req[24];
	size_t i;

	if ((root = json_loads(text, 0, &err)) == NULL)
		fail("bad status answer: %s", err.text);
	format_duration(up, sizeof(up), jint(root, "uptime_s"));
	printf("ghp: generation %lld, config %s, up %s\n",
	    (long long)jint(root, "generation"), jstr(root, "config"), up);
	printf("%-10s %7s %-9s %4s %8s %9s\n", "ROLE", "PID", "STATE", "GEN",
	    "UPTIME", "REQUESTS");
	procs = json_object_get(root, "processes");
	json_array_foreach(procs, i, p) {
		format_duration(up, sizeof(up), jint(p, "uptime_s"));
		(void)snprintf(gen, sizeof(gen), "%lld",
		    (long long)jint(p, "generation"));
		(void)snprintf(req, sizeof(req), "%lld",
		    (long long)jint(p, "requests"));
		printf("%-10s %7lld %-9s %4s %8s %9s\n", jstr(p, "role"),
		    (long long)jint(p, "pid"), jstr(p, "state"),
		    json_object_get(p, "generation") ? gen : "-", up,
		    json_object_get(p, "requests") ? req : "-");
	}
	print_apps(json_object_get(root, "apps"));
	json_decref(root);
	return 0;
}

static const char *
socket_path(const char *sock, const char *conf_path)
{
	struct config *conf;
	const char *path;

	if (sock != NULL)
		return sock;
	if (conf_path == NULL)
		return CONFIG_DEFAULT_CONTROL;
	if ((conf = config_load(conf_path)) == NULL)
		exit(1);
	path = strdup(conf->control_socket);
	config_free(conf);
	if (path == NULL)
		fail("out of memory");
	return path;
}

int
ctl_open(void)
{
	return ctl_connect(socket_path(opt_sock, opt_conf));
}

static int
cmd_status(int argc, char *argv[])
{
	char *text;
	int s, status, json = 0;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		json = 1;
	else if (argc != 1)
		usage();
	s = ctl_open();
	if ((status = ctl_command(s, MSG_CTL_STATUS, NULL, 0, &text)) == 0 &&
	    text != NULL) {
		if (json)
			fputs(text, stdout);
		else
			print_status(text);
	}
	free(text);
	close(s);
	return status;
}

static int
cmd_reload(int argc, char *argv[])
{
	char *text;
	int s, status;

	if (argc != 1)
		usage();
	s = ctl_open();
	status = ctl_command(s, MSG_CTL_RELOAD, NULL, 0, &text);
	if (text != NULL)
		fputs(text, stdout);
	free(text);
	close(s);
	return status;
}

/* ca export: the interception CA's certificate, PEM, on stdout. */
static int
cmd_ca(int argc, char *argv[])
{
	json_t *cmd;
	char *text = NULL;
	int status;

	if (argc != 2 || strcmp(argv[1], "export") != 0)
		usage();
	cmd = json_pack("{s:s}", "cmd", "ca-export");
	status = keyholder_command(cmd, &text);
	json_decref(cmd);
	if (text != NULL)
		fputs(text, status == 0 ? stdout : stderr);
	free(text);
	return status;
}

int
main(int argc, char *argv[])
{
	int ch;

	json_zero_on_free();
	while ((ch = getopt(argc, argv, "+f:s:")) != -1) {
		switch (ch) {
		case 'f':
			opt_conf = optarg;
			break;
		case 's':
			opt_sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "status") == 0)
		return cmd_status(argc, argv);
	if (strcmp(argv[0], "reload") == 0)
		return cmd_reload(argc, argv);
	if (strcmp(argv[0], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	if (strcmp(argv[0], "credential") == 0)
		return cmd_credential(argc - 1, argv + 1);
	if (strcmp(argv[0], "ca") == 0)
		return cmd_ca(argc, argv);
	usage();
}
