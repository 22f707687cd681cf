/*
 * strbuf: see strbuf.h.
 */
#include "config.h"

#include <string.h>

#include "lib/strbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

void
strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

void
strbuf_quoted(struct strbuf *b, const char *s)
{
	strbuf_puts(b, "\"");
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_puts(b, "\\");
		strbuf_add(b, p, 1);
	}
	strbuf_puts(b, "\"");
}

void
strbuf_value(struct strbuf *b, const char *s, bool address)
{
	const char *at = address ? strrchr(s, '@') : NULL;
	bool plain = at != NULL ? str_is_dot_atom(s, (size_t)(at - s)) &&
	                              str_is_dot_atom(at + 1, strlen(at + 1))
	                        : str_is_dot_atom(s, strlen(s));

	if (plain)
		strbuf_puts(b, s);
	else
		strbuf_quoted(b, s);
}
