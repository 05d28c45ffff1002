/*
 * log.h: the daemon's own log (not the audit or access logs).
 *
 * The master writes to stderr (-d) or syslog(3).  Children cannot reach
 * syslog from their chroot and sandbox, so once log_set_sink() is called
 * their lines go to the master over their channel, which writes them
 * with the child's name in front.  log_warn() appends strerror(errno).
 * fatal()/fatalx() log and exit(1).  Levels: log_debug() shows with -v,
 * log_trace() with -vv.
 *
 * Nothing logged may contain a credential or a full client token.
 */
#ifndef GHP_LOG_H
#define GHP_LOG_H

#include <stdarg.h>
#include <syslog.h>

typedef void	(*log_sink_fn)(int priority, const char *line);

void	log_init(int foreground, int verbose, const char *procname);
void	log_procname(const char *);
void	log_set_sink(log_sink_fn);
int	log_verbose(void);
/* Write a finished line as-is (the master, for its children's lines). */
void	log_emit(int priority, const char *line);

void	log_warn(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_trace(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((__format__(printf, 1, 2), __noreturn__));
void	fatalx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2), __noreturn__));

#endif /* GHP_LOG_H */
