/*
 * strbuf: a growing, NUL-terminated string, for texts built piece by
 * piece (the record text for libspf2, header values). Zero-initialise it;
 * b.s is NULL until something is added and is the caller's to free.
 */
#ifndef POSTERN_STRBUF_H
#define POSTERN_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
};

void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);

#endif
