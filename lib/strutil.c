/*
 * strutil: trimming, case, tokens and sanitising of untrusted text.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/strutil.h"

char *
str_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

char *
str_lower(char *s)
{
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

bool
str_iequal(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool
str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *
str_next_token(char **cursor)
{
	char *p = *cursor, *tok;

	while (*p && is_sep(*p))
		p++;
	if (*p == '\0') {
		*cursor = p;
		return NULL;
	}
	tok = p;
	while (*p && !is_sep(*p))
		p++;
	if (*p)
		*p++ = '\0';
	*cursor = p;
	return tok;
}

char *
str_sanitize(char *dst, size_t len, const char *src)
{
	size_t i;

	if (len == 0)
		return dst;
	for (i = 0; src[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[i] = '\0';
	return dst;
}

bool
str_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

char *
str_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

bool
str_is_dot_atom(const char *s, size_t n)
{
	bool prev_dot = true;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
		} else if ((isascii(c) && isalnum(c)) ||
		           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL)) {
			prev_dot = false;
		} else {
			return false;
		}
	}
	return !prev_dot;
}
