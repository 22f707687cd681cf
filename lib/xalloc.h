/*
 * xalloc: allocation that never returns NULL. On exhaustion the process
 * prints a message and aborts: a mail filter that half-works without
 * memory is worse than one the supervisor restarts. For the daemon and
 * the tools; the same functions are fine in tests.
 */
#ifndef POSTERN_XALLOC_H
#define POSTERN_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array to at least `need` elements of `size` bytes, doubling. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
