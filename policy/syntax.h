/*
 * syntax: the shape of host names, address literals and mail addresses,
 * as Postfix's smtpd checks them. Pure functions, no DNS.
 */
#ifndef POSTERN_POLICY_SYNTAX_H
#define POSTERN_POLICY_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ipaddr.h"

/* A name ending in one dot (not two) loses it, as Postfix does: writes
 * into buf (at least strlen(name)+1 bytes) and returns buf. */
char *syntax_strip_dot(const char *name, char *buf, size_t len);

/* Postfix's valid_hostname: 1..255 bytes, labels of 1..63 letters,
 * digits, '-' and '_', no label starting or ending with '-', and not all
 * numeric (that is an address). why_r (may be NULL) gets a reason. */
bool syntax_hostname_valid(const char *name, const char **why_r);

/* A host name in fully-qualified form: valid and with a dot. */
bool syntax_hostname_fqdn(const char *name);

/* Is text an address literal "[...]"? */
bool syntax_is_literal(const char *text);
/* Parse "[192.0.2.1]" or "[IPv6:2001:db8::1]" (the IPv6: tag is matched
 * case-insensitively). A bare address "192.0.2.1" is accepted too, as
 * Postfix's HELO checks do. Returns 0, or -1 when not a valid literal. */
int syntax_literal_parse(const char *text, struct ipaddr *ip_r);

/* The domain part of a mail address (after the last '@'), or "" when there
 * is none. Points into addr. */
const char *syntax_address_domain(const char *addr);

/* reject_non_fqdn_sender/recipient: true when the address has a domain in
 * fully-qualified form, or an address literal domain. */
bool syntax_address_fqdn(const char *addr);

#endif
