/*
 * zone: a small in-memory DNS zone answered through the resolver's test
 * seam (dns_resolver_set_answerer), with the DNS rules the RFC 7208 test
 * suite was written for. For the conformance runner and the fuzzers;
 * not part of postern.
 *
 *   - a name that is not in the zone is NXDOMAIN, except that a name
 *     starting with "error." times out; a name with no record of the
 *     asked type is NODATA; names compare without regard to case and to
 *     a final dot;
 *   - a TIMEOUT marker among a name's records makes a query time out
 *     when no record of the asked type comes before it;
 *   - a name with a CNAME answers with its target's records of the asked
 *     type, one level deep (the target's own CNAMEs are not followed);
 *   - TXT text keeps its bytes, except that a NUL becomes DEL (0x7f), as
 *     dns/wire.c hands a NUL in a real answer to its callers.
 * Label lengths are not checked here: the resolver refuses a name with a
 * label over 63 bytes before it reaches the seam (DNS_TEMP).
 */
#ifndef POSTERN_TESTS_ZONE_H
#define POSTERN_TESTS_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/resolver.h"

#define ZONE_T_SPF 99 /* served, though postern never asks for it */

struct zone;

struct zone *zone_new(void);
void zone_free(struct zone *z);

/* Add a record to name. type is "A", "AAAA", "MX", "PTR", "CNAME",
 * "TXT", "SPF" (case-insensitive) or "TIMEOUT" (value ignored). value is
 * vlen bytes: an address, "PREF NAME" for MX, a name, or the text. The
 * arguments are copied. Returns 0, or -1 with a reason in why. */
int zone_add(struct zone *z, const char *name, const char *type, const char *value,
             size_t vlen, char *why, size_t whylen);

/* Add a record written "NAME TYPE DATA" (line[0..len), no newline; DATA
 * is the rest of the line, raw). Returns 0, or -1 for a line that is not
 * one (the fuzzers skip those). */
int zone_add_line(struct zone *z, const char *line, size_t len);

/* Drop every record (the zone can be filled again). */
void zone_clear(struct zone *z);

/* The answerer for dns_resolver_set_answerer; arg is the zone. */
struct dns_answer *zone_answer(void *arg, const char *name, uint16_t type);

#endif
