/*
 * ghpctl.h: what ghpctl's command files share.
 *
 * ghpctl.c   main, the control connection, status and reload
 * tokens.c   token and credential commands (answered by the keyholder)
 */
#ifndef GHPCTL_H
#define GHPCTL_H

#include <stdint.h>

#include <jansson.h>

/* Exit 1 with "ghpctl: message". */
void	fail(const char *, ...)
	    __attribute__((__format__(printf, 1, 2), __noreturn__));
/* Exit 2 with the usage text. */
void	usage(void) __attribute__((__noreturn__));
/* The control socket, connected. */
int	ctl_open(void);
/* One command; *text gets the answer's text (malloc'd or NULL). */
int	ctl_command(int s, uint16_t type, const void *data, size_t len,
	    char **text);

/* A JSON epoch-seconds value in UTC, or "-". */
enum utc_form {
	UTC_DATE,	/* 2026-11-23T13:05Z */
	UTC_TIME	/* 13:05:42Z */
};
void	format_utc(char *, size_t, const json_t *, enum utc_form);
/* A JSON command for the keyholder; *text gets its answer. */
int	keyholder_command(json_t *, char **text);
int	cmd_token(int argc, char *argv[]);
int	cmd_credential(int argc, char *argv[]);

#endif /* GHPCTL_H */
