/*
 * log.c: see log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048

static int		 log_foreground = 1;
static int		 log_level;
static const char	*log_name = "ghp";
static log_sink_fn	 log_sink;

void
log_init(int foreground, int verbose, const char *procname)
{
	log_foreground = foreground;
	log_level = verbose;
	log_name = procname;
	if (!foreground)
		openlog("ghp", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_procname(const char *procname)
{
	log_name = procname;
}

void
log_set_sink(log_sink_fn sink)
{
	log_sink = sink;
}

int
log_verbose(void)
{
	return log_level;
}

void
log_emit(int priority, const char *line)
{
	int saved = errno;

	if (log_foreground) {
		(void)dprintf(STDERR_FILENO, "%s\n", line);
	} else
		syslog(priority, "%s", line);
	errno = saved;
}

static void __attribute__((__format__(printf, 3, 0)))
log_vwrite(int priority, const char *errstr, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 64];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errstr != NULL)
		(void)snprintf(line, sizeof(line), "%s: %s: %s", log_name,
		    msg, errstr);
	else
		(void)snprintf(line, sizeof(line), "%s: %s", log_name, msg);
	if (log_sink != NULL)
		log_sink(priority, line);
	else
		log_emit(priority, line);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	/* Single-threaded processes: strerror() is fine (the GNU
	 * strerror_r() may leave its buffer untouched). */
	va_start(ap, fmt);
	log_vwrite(LOG_ERR, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
log_trace(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *why = strerror(errno);

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, why, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
