/*
 * config_file.c: what the ghp.conf(5) lexer reads: the macros, the
 * file's own and those given with -D, and the files, read whole into
 * memory once they have passed the checks OpenBSD's parsers make
 * (regular file, owned by root or the current user, not writable by
 * others), or a buffer given in memory.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_lex.h"

static struct lex_macro_list defines = TAILQ_HEAD_INITIALIZER(defines);

/*
 * Macros.
 */

static struct lex_macro *
macro_find(struct lex_macro_list *list, const char *name)
{
	struct lex_macro	*m;

	TAILQ_FOREACH(m, list, entry)
		if (strcmp(m->name, name) == 0)
			return (m);
	return (NULL);
}

static int
macro_set(struct lex_macro_list *list, const char *name, const char *value)
{
	struct lex_macro	*m;
	char			*v;

	if ((v = strdup(value)) == NULL)
		return (-1);
	if ((m = macro_find(list, name)) != NULL) {
		free(m->value);
		m->value = v;
		return (0);
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->name = strdup(name)) == NULL) {
		free(m);
		free(v);
		return (-1);
	}
	m->value = v;
	TAILQ_INSERT_TAIL(list, m, entry);
	return (0);
}

void
lex_macro_clear(struct lex_macro_list *list)
{
	struct lex_macro	*m;

	while ((m = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, m, entry);
		free(m->name);
		free(m->value);
		free(m);
	}
}

int
config_define(const char *assignment)
{
	const char	*eq;
	char		*name;
	int		 r = -1;

	if ((eq = strchr(assignment, '=')) == NULL ||
	    (name = strndup(assignment, eq - assignment)) == NULL)
		return (-1);
	if (lex_macro_name_ok(name) && lex_keyword(name) == K_NONE)
		r = macro_set(&defines, name, eq + 1);
	free(name);
	return (r);
}

void
config_clear_defines(void)
{
	lex_macro_clear(&defines);
}

/* A file's definition never overrides one given with -D. */
int
lex_set_macro(struct lex *lx, const char *name, const char *value)
{
	if (macro_find(&defines, name) != NULL)
		return (0);
	if (macro_set(&lx->macros, name, value) == -1) {
		lex_oom(lx);
		return (-1);
	}
	return (0);
}

const char *
lex_macro_value(struct lex *lx, const char *name)
{
	struct lex_macro	*m;

	if ((m = macro_find(&defines, name)) == NULL &&
	    (m = macro_find(&lx->macros, name)) == NULL)
		return (NULL);
	return (m->value);
}

/*
 * Files.
 */

/* Takes buf; a file's name is kept until lex_free() for tokens to use. */
static int
push_file_buf(struct lex *lx, const char *name, char *buf, size_t len)
{
	struct lex_src	*s;
	struct lex_name	*n;
	size_t		 nlen = strlen(name) + 1;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (n = malloc(sizeof(*n) + nlen)) == NULL) {
		free(s);
		free(buf);
		lex_oom(lx);
		return (-1);
	}
	memcpy(n->name, name, nlen);
	SLIST_INSERT_HEAD(&lx->names, n, next);
	s->buf = buf;
	s->len = len;
	s->name = n->name;
	s->is_file = 1;
	s->lineno = 1;
	s->file = s;
	SLIST_INSERT_HEAD(&lx->stack, s, next);
	lx->nfiles++;
	return (0);
}

int
lex_push_buffer(struct lex *lx, const char *name, const char *buf,
    size_t len)
{
	char	*copy;

	if (len > LEX_MAX_FILE) {
		lex_error(lx, name, 0, "file too large (more than %d bytes)",
		    LEX_MAX_FILE);
		return (-1);
	}
	if ((copy = malloc(len + 1)) == NULL) {
		lex_oom(lx);
		return (-1);
	}
	if (len > 0)
		memcpy(copy, buf, len);
	lx->total += len;
	return (push_file_buf(lx, name, copy, len));
}

/* "path: message", or "from:line: path: message" for an include. */
static int __attribute__((__format__(printf, 4, 5)))
file_error(struct lex *lx, const char *path, const struct token *from,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		lex_oom(lx);
	else if (from != NULL)
		lex_error(lx, from->file, from->line, "%s: %s", path, msg);
	else
		lex_error(lx, path, 0, "%s", msg);
	free(msg);
	return (-1);
}

/* Like OpenBSD's check_file_secrecy(): nobody else may change it. */
static int
file_secrecy(struct lex *lx, const char *path, const struct token *from,
    const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return (file_error(lx, path, from, "not a regular file"));
	if (st->st_uid != 0 && st->st_uid != getuid())
		return (file_error(lx, path, from,
		    "owner not root or current user"));
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return (file_error(lx, path, from,
		    "writable by group or others"));
	return (0);
}

static int
read_fd(struct lex *lx, int fd, const char *path, const struct token *from,
    const struct stat *st)
{
	char	*buf;
	size_t	 len = 0, size = st->st_size;
	ssize_t	 n;

	if (st->st_size < 0 || st->st_size > LEX_MAX_FILE)
		return (file_error(lx, path, from,
		    "file too large (more than %d bytes)", LEX_MAX_FILE));
	if (lx->total + size > LEX_MAX_TOTAL)
		return (file_error(lx, path, from,
		    "configuration too large (more than %d bytes)",
		    LEX_MAX_TOTAL));
	if ((buf = malloc(size + 1)) == NULL) {
		lex_oom(lx);
		return (-1);
	}
	while (len < size) {
		if ((n = read(fd, buf + len, size - len)) == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return (file_error(lx, path, from, "read: %s",
			    strerror(errno)));
		}
		if (n == 0)
			break;
		len += n;
	}
	lx->total += len;
	return (push_file_buf(lx, path, buf, len));
}

int
lex_push_file(struct lex *lx, const char *path, const struct token *from)
{
	struct stat	st;
	int		fd, r;

	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return (file_error(lx, path, from, "cannot open: %s",
		    strerror(errno)));
	if (fstat(fd, &st) == -1)
		r = file_error(lx, path, from, "cannot stat: %s",
		    strerror(errno));
	else if ((r = file_secrecy(lx, path, from, &st)) == 0)
		r = read_fd(lx, fd, path, from, &st);
	close(fd);
	return (r);
}
