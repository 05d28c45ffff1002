/*
 * netrc.c: see netrc.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "netrc.h"

struct nrc {
	const char	*p;
	const char	*end;
	int		 line;
	char		*why;
	size_t		 whylen;
};

static int
nrc_error(struct nrc *n, const char *what)
{
	(void)snprintf(n->why, n->whylen, "line %d: %s", n->line, what);
	return -1;
}

static void
nrc_blanks(struct nrc *n)
{
	while (n->p < n->end && (*n->p == ' ' || *n->p == '\t' ||
	    *n->p == '\n' || *n->p == '\r')) {
		if (*n->p == '\n')
			n->line++;
		n->p++;
	}
}

/* The next word into w; 1 when there is one, 0 at the end, -1 bad. */
static int
nrc_word(struct nrc *n, char *w)
{
	size_t len = 0;
	int quoted;

	nrc_blanks(n);
	if (n->p == n->end)
		return 0;
	if ((quoted = *n->p == '"'))
		n->p++;
	while (n->p < n->end) {
		if (quoted && *n->p == '"') {
			n->p++;
			break;
		}
		if (!quoted && (*n->p == ' ' || *n->p == '\t' ||
		    *n->p == '\n' || *n->p == '\r'))
			break;
		if (quoted && *n->p == '\\' && n->p + 1 < n->end)
			n->p++;
		if (*n->p == '\0' || (quoted && *n->p == '\n'))
			return nrc_error(n, "bad character in a word");
		if (len + 1 >= NETRC_WORD_MAX)
			return nrc_error(n, "word too long");
		w[len++] = *n->p++;
	}
	w[len] = '\0';
	return 1;
}

/* A macdef's body: up to an empty line. */
static void
nrc_skip_macdef(struct nrc *n)
{
	const char *nl;

	while (n->p < n->end &&
	    (nl = memchr(n->p, '\n', (size_t)(n->end - n->p))) != NULL) {
		n->line++;
		n->p = nl + 1;
		if (n->p < n->end && (*n->p == '\n' || (*n->p == '\r' &&
		    n->p + 1 < n->end && n->p[1] == '\n'))) {
			return;
		}
	}
	n->p = n->end;
}

struct nrc_entry {
	int	 which;		/* 0 none, 1 the host, 2 default */
	char	 login[NETRC_WORD_MAX];
	char	 password[NETRC_WORD_MAX];
};

static int
nrc_value(struct nrc *n, char *w, const char *kw)
{
	int r;

	if ((r = nrc_word(n, w)) == 0)
		return nrc_error(n, kw);
	return r;
}

static int
nrc_parse(struct nrc *n, const char *host, struct nrc_entry *best)
{
	char w[NETRC_WORD_MAX];
	struct nrc_entry cur;
	int r;

	memset(&cur, 0, sizeof(cur));
	while ((r = nrc_word(n, w)) == 1) {
		if (strcmp(w, "machine") == 0 || strcmp(w, "default") == 0) {
			if (cur.which != 0 && (best->which == 0 ||
			    cur.which < best->which))
				*best = cur;
			memset(&cur, 0, sizeof(cur));
			cur.which = 3;	/* another host */
			if (strcmp(w, "default") == 0)
				cur.which = 2;
			else if ((r = nrc_value(n, w, "machine without a "
			    "name")) == -1)
				break;
			else if (strcasecmp(w, host) == 0)
				cur.which = 1;
		} else if (strcmp(w, "login") == 0) {
			if ((r = nrc_value(n, cur.login, "login without a "
			    "value")) == -1)
				break;
		} else if (strcmp(w, "password") == 0) {
			if ((r = nrc_value(n, cur.password, "password "
			    "without a value")) == -1)
				break;
		} else if (strcmp(w, "account") == 0) {
			if ((r = nrc_value(n, w, "account without a "
			    "value")) == -1)
				break;
		} else if (strcmp(w, "macdef") == 0) {
			if ((r = nrc_value(n, w, "macdef without a name")) ==
			    -1)
				break;
			nrc_skip_macdef(n);
		} else {
			r = nrc_error(n, "unknown keyword");
			break;
		}
		if (cur.which == 0) {
			r = nrc_error(n, "login or password before "
			    "\"machine\"");
			break;
		}
	}
	if (r != -1 && cur.which != 0 && (best->which == 0 ||
	    cur.which < best->which))
		*best = cur;
	sodium_memzero(&cur, sizeof(cur));
	sodium_memzero(w, sizeof(w));
	return r == -1 ? -1 : 0;
}

int
netrc_lookup(const char *text, size_t len, const char *host, char *login,
    size_t loginlen, char *password, size_t passwordlen, char *why,
    size_t whylen)
{
	struct nrc n;
	struct nrc_entry best;
	int r = 1;

	n.p = text;
	n.end = text + len;
	n.line = 1;
	n.why = why;
	n.whylen = whylen;
	memset(&best, 0, sizeof(best));
	if (nrc_parse(&n, host, &best) == -1)
		r = -1;
	else if ((best.which == 1 || best.which == 2) &&
	    best.login[0] != '\0' && best.password[0] != '\0' &&
	    strlen(best.login) < loginlen &&
	    strlen(best.password) < passwordlen) {
		memcpy(login, best.login, strlen(best.login) + 1);
		memcpy(password, best.password, strlen(best.password) + 1);
		r = 0;
	}
	sodium_memzero(&best, sizeof(best));
	return r;
}

int
netrc_read_file(const char *path, const char *url, char *login,
    size_t loginlen, char *password, size_t passwordlen, char *why,
    size_t whylen)
{
	char text[NETRC_FILE_MAX + 1], host[256], what[128];
	const char *h;
	ssize_t n = 0;
	size_t len = 0;
	int fd, r;

	h = strstr(url, "://") ? strstr(url, "://") + 3 : url;
	if (*h == '[')		/* an IPv6 address: without its brackets */
		(void)snprintf(host, sizeof(host), "%.*s",
		    (int)strcspn(h + 1, "]"), h + 1);
	else
		(void)snprintf(host, sizeof(host), "%.*s",
		    (int)strcspn(h, ":/"), h);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(why, whylen, "netrc %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (len < sizeof(text) && (n = read(fd, text + len,
	    sizeof(text) - len)) > 0)
		len += (size_t)n;
	if (n == -1) {
		(void)snprintf(why, whylen, "netrc %s: %s", path,
		    strerror(errno));
		close(fd);
		sodium_memzero(text, sizeof(text));
		return -1;
	}
	close(fd);
	if (len > NETRC_FILE_MAX) {
		sodium_memzero(text, sizeof(text));
		(void)snprintf(why, whylen, "netrc %s: larger than %d bytes",
		    path, NETRC_FILE_MAX);
		return -1;
	}
	r = netrc_lookup(text, len, host, login, loginlen, password,
	    passwordlen, what, sizeof(what));
	sodium_memzero(text, sizeof(text));
	if (r == -1)
		(void)snprintf(why, whylen, "netrc %s: %s", path, what);
	else if (r == 1)
		(void)snprintf(why, whylen, "netrc %s: no login and password "
		    "for %s", path, host);
	return r;
}
