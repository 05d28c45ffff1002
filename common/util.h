/*
 * util.h: small helpers every process uses.  The x* allocators never
 * return NULL: they call fatal() when memory runs out, which for a daemon
 * is the only honest answer.
 */
#ifndef GHP_UTIL_H
#define GHP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));

/* Seconds on the monotonic clock. */
time_t	 monotime(void);
/* Milliseconds, microseconds on the monotonic clock. */
uint64_t monotime_ms(void);
uint64_t monotime_us(void);

/*
 * Make jansson zero every block it frees: its copies of tokens and
 * credentials (decoded strings, parser buffers) must not linger in
 * freed memory.  Once per process, before it first uses jansson; forked
 * children keep it.
 */
void	 json_zero_on_free(void);

/* 1 if s[0..n) is non-empty printable ASCII without space (fit for a
 * header value word: a token, a key, a login). */
int	 visible_ascii(const char *, size_t);

int	 fd_nonblock(int);
int	 fd_cloexec(int);

#endif /* GHP_UTIL_H */
