/*
 * syntax: host names, address literals and the domains of mail addresses
 * checked for shape, the way Postfix's smtpd does before it asks the DNS
 * anything. A host name follows Postfix's valid_hostname: labels of
 * letters, digits, '-' and '_' (the underscore because real mail hosts
 * use it), no hyphen at either end of a label, and never all digits and
 * dots, since that is an address written without brackets. A final dot
 * is not part of the check: callers strip one first (syntax_strip_dot),
 * as Postfix does, so "example.com." passes and "example.com.." does not.
 *
 * Pure functions over the caller's strings: no allocation, no DNS.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "lib/ipaddr.h"
#include "policy/syntax.h"

#define SYNTAX_HOSTNAME_MAX 255
#define SYNTAX_LABEL_MAX 63
/* Longest address text between the brackets of a literal. */
#define SYNTAX_LITERAL_MAX 64

/* The length of name's first n bytes without one final dot ("a." is
 * "a", "a.." stays "a..", "." is ""). */
static size_t
syntax_strip_len(const char *name, size_t n)
{
	if (n > 0 && name[n - 1] == '.' && (n < 2 || name[n - 2] != '.'))
		n--;
	return n;
}

char *
syntax_strip_dot(const char *name, char *buf, size_t len)
{
	size_t n = syntax_strip_len(name, strlen(name));

	if (len == 0)
		return buf;
	if (n >= len)
		n = len - 1;
	memmove(buf, name, n);
	buf[n] = '\0';
	return buf;
}

static bool
syntax_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Why the first n bytes of name are not a host name, or NULL. */
static const char *
syntax_hostname_why(const char *name, size_t n)
{
	size_t label = 0;
	bool numeric = true;

	if (n == 0)
		return "empty name";
	if (n > SYNTAX_HOSTNAME_MAX)
		return "name too long";
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				return "empty label";
			if (name[i - 1] == '-')
				return "label ends with '-'";
			label = 0;
			continue;
		}
		if (!syntax_is_alnum(c) && c != '-' && c != '_')
			return "bad character";
		if (c == '-' && label == 0)
			return "label starts with '-'";
		if (++label > SYNTAX_LABEL_MAX)
			return "label too long";
		if (c < '0' || c > '9')
			numeric = false;
	}
	if (label == 0)
		return "empty label";
	if (name[n - 1] == '-')
		return "label ends with '-'";
	return numeric ? "numeric hostname" : NULL;
}

bool
syntax_hostname_valid(const char *name, const char **why_r)
{
	const char *why = syntax_hostname_why(name, name != NULL ? strlen(name) : 0);

	if (why_r != NULL)
		*why_r = why;
	return why == NULL;
}

/* Are the first n bytes of name a host name with a dot inside? */
static bool
syntax_fqdn_n(const char *name, size_t n)
{
	return syntax_hostname_why(name, n) == NULL && memchr(name, '.', n) != NULL;
}

bool
syntax_hostname_fqdn(const char *name)
{
	return name != NULL && syntax_fqdn_n(name, syntax_strip_len(name, strlen(name)));
}

bool
syntax_is_literal(const char *text)
{
	size_t n = text != NULL ? strlen(text) : 0;

	return n >= 2 && text[0] == '[' && text[n - 1] == ']';
}

/* Parse n bytes of address text, which holds no brackets; an IPv6
 * address must have a colon (so no IPv4 one passes as IPv6) and an IPv4
 * address none (so no v4-mapped IPv6 one passes as IPv4). */
static int
syntax_address_parse(const char *text, size_t n, bool v6, struct ipaddr *ip_r)
{
	char buf[SYNTAX_LITERAL_MAX];

	if (n == 0 || n >= sizeof(buf) || memchr(text, '[', n) != NULL ||
	    memchr(text, ']', n) != NULL || (memchr(text, ':', n) != NULL) != v6)
		return -1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return ipaddr_parse(buf, ip_r);
}

int
syntax_literal_parse(const char *text, struct ipaddr *ip_r)
{
	size_t n = text != NULL ? strlen(text) : 0;

	memset(ip_r, 0, sizeof(*ip_r));
	if (n == 0)
		return -1;
	if (!syntax_is_literal(text))
		return syntax_address_parse(text, n, memchr(text, ':', n) != NULL, ip_r);
	text++;
	n -= 2;
	if (n >= 5 && strncasecmp(text, "IPv6:", 5) == 0)
		return syntax_address_parse(text + 5, n - 5, true, ip_r);
	return syntax_address_parse(text, n, false, ip_r);
}

const char *
syntax_address_domain(const char *addr)
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;

	return at != NULL ? at + 1 : "";
}

bool
syntax_address_fqdn(const char *addr)
{
	const char *domain = syntax_address_domain(addr);
	size_t n = syntax_strip_len(domain, strlen(domain));

	if (n >= 2 && domain[0] == '[' && domain[n - 1] == ']')
		return true;
	return syntax_fqdn_n(domain, n);
}
