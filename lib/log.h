/*
 * log: the daemon's log lines, to syslog (facility mail) or, in the
 * foreground, to stderr. Only milter/ and the programs' main() log;
 * library modules return reasons instead.
 *
 * log_warn/log_err append ": strerror(errno)"; the x variants do not, as
 * in OpenSMTPD.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdbool.h>

#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))

/* Start logging. ident is the program name; to_stderr picks stderr over
 * syslog. Call again to switch (e.g. after -n). */
void log_init(const char *ident, bool to_stderr);
void log_set_debug(bool on);

void log_info(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_debug(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_warnx(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_warn(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_errx(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_err(const char *fmt, ...) PRINTFLIKE(1, 2);

#endif
