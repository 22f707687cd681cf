/*
 * strutil: small string helpers shared by the config parser, the policy
 * engine and the milter adapter. None allocates unless it says so.
 */
#ifndef POSTERN_STRUTIL_H
#define POSTERN_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Trim white space at both ends, in place; returns s. */
char *str_trim(char *s);
/* Lower-case ASCII letters in place; returns s. */
char *str_lower(char *s);
bool str_iequal(const char *a, const char *b);
bool str_has_prefix(const char *s, const char *prefix);
/* Next token of a list separated by commas and/or white space: returns
 * it (NUL-terminated in place) and advances *cursor, or NULL at the end. */
char *str_next_token(char **cursor);
/* Copy src into dst (len bytes), replacing control characters and
 * non-ASCII bytes by '?' and truncating; for SMTP reply texts and log
 * lines built from data the client sent. Returns dst. */
char *str_sanitize(char *dst, size_t len, const char *src);
/* Does s hold a control character (byte < 0x20 or 0x7f)? */
bool str_has_ctl(const char *s);

/* Is s[0..n) an RFC 5322 dot-atom (atext runs joined by single dots)? */
bool str_is_dot_atom(const char *s, size_t n);

/* snprintf that may cut the text short, on purpose (reasons, labels).
 * Returns buf. */
char *str_printf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
