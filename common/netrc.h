/*
 * netrc.h: the one entry of a netrc(5) file that ghp needs: the login
 * and password for a host (a mirror ghp checks before redirecting to
 * it), or the "default" entry.
 *
 * Contract:
 *  - netrc_lookup() reads text (the file's contents, len bytes, need not
 *    be NUL-terminated) and copies the login and password of the first
 *    "machine" entry whose name is host (ASCII case ignored), else of a
 *    "default" entry.  Returns 0 when one was found with both a login
 *    and a password, 1 when there is none, -1 when the text is not a
 *    netrc file: then why holds "line N: what", with no secret in it.
 *  - Words are separated by blanks and newlines; a word may be quoted
 *    with '"' (with \" and \\ inside), as curl reads them.  "macdef"
 *    bodies (up to an empty line) are skipped.  A word of
 *    NETRC_WORD_MAX bytes or more, an unknown keyword or a keyword
 *    without its value is an error.
 *  - netrc_read_file() reads the file at path (at most NETRC_FILE_MAX
 *    bytes) and looks up the host of url in it; why then says "netrc
 *    PATH: ..." for -1 (unreadable, too large, malformed) and 1.
 *  - Nothing is allocated; the caller zeroes login and password when it
 *    no longer needs them.
 */
#ifndef GHP_NETRC_H
#define GHP_NETRC_H

#include <stddef.h>

#define NETRC_WORD_MAX	256
#define NETRC_FILE_MAX	(64 * 1024)

int	netrc_lookup(const char *text, size_t len, const char *host,
	    char *login, size_t loginlen, char *password, size_t passwordlen,
	    char *why, size_t whylen);

int	netrc_read_file(const char *path, const char *url, char *login,
	    size_t loginlen, char *password, size_t passwordlen, char *why,
	    size_t whylen);

#endif /* GHP_NETRC_H */
