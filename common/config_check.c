/*
 * config_check.c: the checks of ghp.conf(5) values, made as the
 * statements are read (config_parse.c): numbers in range, absolute
 * paths, URLs ghp can forward to, addresses, and what may be given only
 * once; then, after the last line, what needs the whole file, and the
 * defaults for what was not given.  A check that fails reports the error
 * at the token and the parse goes on.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_priv.h"

static const struct {
	const char	*name;
	const char	*url;
} upstreams[UPSTREAM_MAX] = {
	[UPSTREAM_API] =	{ "api", "https://api.github.com" },
	[UPSTREAM_WEB] =	{ "web", "https://github.com" },
	[UPSTREAM_CODELOAD] =	{ "codeload", "https://codeload.github.com" },
	[UPSTREAM_COPILOT] =	{ "copilot", "https://api.githubcopilot.com" },
	[UPSTREAM_RAW] =	{ "raw", "https://raw.githubusercontent.com" }
};

/*
 * Values.
 */

/* 0 if t is a decimal number in min..max; else reported, -1. */
int
conf_get_number(struct parse *p, const struct token *t, const char *what,
    uint64_t min, uint64_t max, uint64_t *out)
{
	const char	*s = t->str;
	uint64_t	 v = 0;
	int		 over = 0, d;

	if (*s == '\0') {
		conf_perr(p, t, "%s: invalid number \"\"", what);
		return (-1);
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9') {
			conf_perr(p, t, "%s: invalid number \"%s\"", what,
			    t->str);
			return (-1);
		}
		d = *s - '0';
		if (v > (UINT64_MAX - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	if (over || v < min || v > max) {
		conf_perr(p, t, "%s: %s is out of range (%llu-%llu)", what,
		    t->str, (unsigned long long)min, (unsigned long long)max);
		return (-1);
	}
	*out = v;
	return (0);
}

int
conf_check_path(struct parse *p, const struct token *t, const char *what)
{
	if (t->str[0] == '/')
		return (0);
	conf_perr(p, t, "%s: \"%s\" is not an absolute path", what, t->str);
	return (-1);
}

static int
is_host_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_');
}

/* NULL if u is a URL ghp can forward to, else what is wrong with it. */
const char *
conf_url_problem(const char *u)
{
	const char	*s, *h, *e;
	char		 a[INET6_ADDRSTRLEN];
	struct in6_addr	 in6;
	long		 port = 0;

	if (strncmp(u, "https://", 8) == 0)
		h = u + 8;
	else if (strncmp(u, "http://", 7) == 0)
		h = u + 7;
	else
		return ("must start with http:// or https://");
	for (s = u; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return ("only printable ASCII, no spaces");
		if (*s == '@')
			return ("a user name or password is not allowed");
		if (*s == '?' || *s == '#')
			return ("a query or fragment is not allowed");
	}
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL ||
		    (size_t)(e - h - 1) >= sizeof(a))
			return ("bad IPv6 address");
		memcpy(a, h + 1, e - h - 1);
		a[e - h - 1] = '\0';
		if (inet_pton(AF_INET6, a, &in6) != 1)
			return ("bad IPv6 address");
		s = e + 1;
	} else {
		for (s = h; is_host_char((unsigned char)*s); s++)
			;
		if (s == h)
			return ("host missing");
	}
	if (*s == ':') {
		for (e = ++s; *s >= '0' && *s <= '9' && s - e < 6; s++)
			port = port * 10 + (*s - '0');
		if (s == e || port < 1 || port > 65535)
			return ("bad port");
	}
	if (*s != '\0' && *s != '/')
		return ("bad host");
	return (NULL);
}

/* Canonical text for an address, to find duplicates; -1 if invalid. */
int
conf_addr_key(const char *addr, char *buf, size_t len)
{
	struct in_addr	 in4;
	struct in6_addr	 in6;

	if (strcmp(addr, "*") == 0 || strcmp(addr, "localhost") == 0) {
		snprintf(buf, len, "%s", addr);
		return (0);
	}
	if (inet_pton(AF_INET, addr, &in4) == 1 &&
	    inet_ntop(AF_INET, &in4, buf, len) != NULL)
		return (0);
	if (inet_pton(AF_INET6, addr, &in6) == 1 &&
	    inet_ntop(AF_INET6, &in6, buf, len) != NULL)
		return (0);
	return (-1);
}

/*
 * What may be given once.
 */

/* "line 3", or "other.conf:3" when it was in another file. */
const char *
conf_where(const struct where *w, const struct token *now, char *buf,
    size_t len)
{
	if (strcmp(w->file, now->file) == 0)
		snprintf(buf, len, "line %d", w->line);
	else
		snprintf(buf, len, "%s:%d", w->file, w->line);
	return (buf);
}

static struct seen *
seen_find(struct parse *p, const char *key)
{
	struct seen	*s;

	TAILQ_FOREACH(s, &p->seen, entry)
		if (strcmp(s->key, key) == 0)
			return (s);
	return (NULL);
}

/* 0: added; 1: already there (reported by the caller); -1: no memory. */
int
conf_seen_add(struct parse *p, const char *key, const struct token *at,
    struct seen **old)
{
	struct seen	*s;
	size_t		 len = strlen(key) + 1;

	if ((*old = seen_find(p, key)) != NULL)
		return (1);
	if ((s = malloc(sizeof(*s) + len)) == NULL) {
		lex_oom(p->lx);
		return (-1);
	}
	memcpy(s->key, key, len);
	s->at.file = at->file;
	s->at.line = at->line;
	TAILQ_INSERT_TAIL(&p->seen, s, entry);
	return (0);
}

/* Report a second listener on an address and port; 0 if it is new. */
int
conf_check_addr_dup(struct parse *p, const char *key, const struct token *at,
    const char *ctx, const char *addr, uint16_t port)
{
	struct seen	*old;
	char		 w[256];
	int		 r;

	if ((r = conf_seen_add(p, key, at, &old)) == 1)
		conf_perr(p, at, "%s: %s port %u already used at %s", ctx, addr,
		    port, conf_where(&old->at, at, w, sizeof(w)));
	return (r);
}

/*
 * After the last line.
 */

static int
fill_defaults(struct config *c)
{
	static const struct {
		size_t		 off;
		const char	*value;
	} defs[] = {
		{ offsetof(struct config, user), CONFIG_DEFAULT_USER },
		{ offsetof(struct config, chroot), CONFIG_DEFAULT_CHROOT },
		{ offsetof(struct config, state_dir), CONFIG_DEFAULT_STATEDIR },
		{ offsetof(struct config, control_socket),
		    CONFIG_DEFAULT_CONTROL },
		{ offsetof(struct config, upstream_ca), CONFIG_DEFAULT_CA }
	};
	char	**field;
	size_t	  i;

	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		field = (char **)(void *)((char *)c + defs[i].off);
		if (*field == NULL && (*field = strdup(defs[i].value)) == NULL)
			return (-1);
	}
	for (i = 0; i < UPSTREAM_MAX; i++)
		if (c->upstream[i] == NULL &&
		    (c->upstream[i] = strdup(upstreams[i].url)) == NULL)
			return (-1);
	if (c->workers == 0)
		c->workers = CONFIG_DEFAULT_WORKERS;
	if (c->shutdown_timeout == 0)
		c->shutdown_timeout = CONFIG_DEFAULT_SHUTDOWN;
	if (c->timeout_header == 0)
		c->timeout_header = CONFIG_DEFAULT_HEADER_TIMEOUT;
	if (c->timeout_idle == 0)
		c->timeout_idle = CONFIG_DEFAULT_IDLE_TIMEOUT;
	if (c->timeout_body == 0)
		c->timeout_body = CONFIG_DEFAULT_BODY_TIMEOUT;
	if (c->timeout_send == 0)
		c->timeout_send = CONFIG_DEFAULT_SEND_TIMEOUT;
	if (c->timeout_upstream == 0)
		c->timeout_upstream = CONFIG_DEFAULT_UPSTREAM_TIMEOUT;
	if (c->timeout_tunnel == 0)
		c->timeout_tunnel = CONFIG_DEFAULT_TUNNEL_TIMEOUT;
	return (0);
}

/* What needs the whole file; then, if all is well, the defaults. */
void
conf_check_whole(struct parse *p)
{
	if (p->eof_line != 0 && !p->lx->abort && p->nlisten == 0)
		lex_error(p->lx, p->conf->path, p->eof_line,
		    "no \"listen on\" given");
	if (p->lx->errors == 0 && fill_defaults(p->conf) == -1)
		lex_oom(p->lx);
}

const char *
config_upstream_name(enum upstream_kind k)
{
	if ((unsigned)k >= UPSTREAM_MAX)
		return (NULL);
	return (upstreams[k].name);
}

const char *
config_upstream_default(enum upstream_kind k)
{
	if ((unsigned)k >= UPSTREAM_MAX)
		return (NULL);
	return (upstreams[k].url);
}
