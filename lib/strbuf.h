/*
 * strbuf: a growing, NUL-terminated string, for texts built piece by
 * piece (the record text for libspf2, header values). Zero-initialise it;
 * b.s is NULL until something is added and is the caller's to free.
 */
#ifndef POSTERN_STRBUF_H
#define POSTERN_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
};

void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);

/* A header parameter value: s as it is when it is a dot-atom (or, with
 * address, a dot-atom "@" dot-atom, as RFC 8601 allows), else as a
 * quoted-string with '"' and '\\' escaped. */
void strbuf_value(struct strbuf *b, const char *s, bool address);
/* s as a quoted-string, '"' and '\\' escaped. */
void strbuf_quoted(struct strbuf *b, const char *s);

#endif
