/*
 * log: one line per event, to syslog or stderr. Thread-safe: syslog() is,
 * and stderr lines are written with a single fprintf under flockfile.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "lib/log.h"

static bool use_stderr = true;
static bool debug_on;
static const char *log_ident = "postern";

void
log_init(const char *ident, bool to_stderr)
{
	log_ident = ident;
	use_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_debug(bool on)
{
	debug_on = on;
}

static void
vlog(int prio, int errnum, const char *fmt, va_list ap)
{
	char msg[2048];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(errnum));
	}
	if (!use_stderr) {
		syslog(prio, "%s", msg);
		return;
	}
	static const char *const names[] = {"emerg",   "alert",  "crit", "error",
	                                    "warning", "notice", "info", "debug"};
	flockfile(stderr);
	fprintf(stderr, "%s: %s: %s\n", log_ident, names[prio & 7], msg);
	funlockfile(stderr);
}

#define LOG_FN(name, prio, with_errno)                                                   \
	void name(const char *fmt, ...)                                                  \
	{                                                                                \
		int saved = errno;                                                       \
		va_list ap;                                                              \
		va_start(ap, fmt);                                                       \
		vlog(prio, with_errno ? saved : 0, fmt, ap);                             \
		va_end(ap);                                                              \
		errno = saved;                                                           \
	}

LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_errx, LOG_ERR, 0)
LOG_FN(log_err, LOG_ERR, 1)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}
