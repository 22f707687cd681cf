/*
 * authres: Authentication-Results values. Ours are folded one method to
 * a line; milter header values fold with "\n\t" and the MTA writes the
 * line ends it uses.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xalloc.h"
#include "policy/authres.h"

/* Skip white space and RFC 5322 comments "(...)", nested. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		for (; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

bool
authres_is_ours(const char *value, const char *authserv_id)
{
	const char *p = skip_cfws(value), *end = p;
	size_t idlen = strlen(authserv_id);

	while (*end != '\0' && *end != ';' && *end != '(' &&
	       !isspace((unsigned char)*end))
		end++;
	return idlen > 0 && (size_t)(end - p) == idlen &&
	       strncasecmp(p, authserv_id, idlen) == 0;
}

char *
authres_build(const char *authserv_id, const char *const *methods, size_t n)
{
	size_t len = strlen(authserv_id) + 8;
	char *out, *o;

	for (size_t i = 0; i < n; i++)
		len += strlen(methods[i]) + 4;
	out = o = xmalloc(len);
	o = stpcpy(o, authserv_id);
	if (n == 0)
		o = stpcpy(o, "; none");
	for (size_t i = 0; i < n; i++) {
		o = stpcpy(o, ";\n\t");
		o = stpcpy(o, methods[i]);
	}
	*o = '\0';
	return out;
}
