/*
 * record: the screen every SPF record passes before libspf2 sees it.
 *
 * A record is checked against the grammar of RFC 7208 section 12 (terms,
 * qualifiers, domain-specs, macro-strings, CIDR lengths, IP literals)
 * and against our limits, which sit inside libspf2's buffers:
 *   - a record is at most SPF_RECORD_MAX bytes, a term at most
 *     SPF_TERM_MAX, and there are at most SPF_TERMS_MAX terms;
 *   - a macro's digit transformer is 1..999 and is written back as at
 *     most 128 (a name has no more labels), "c", "r" and "t" macros are
 *     refused outside exp=, as the RFC says;
 *   - redirect= and exp= appear at most once.
 * What we hand to libspf2 (spf_record_text) is the record without exp=
 * and unknown modifiers, so the library never fetches or expands an
 * explanation, with digit transformers rewritten, redirect= last, and
 * only the ip4/ip6 terms that can match the client.
 */
#ifndef POSTERN_SPF_RECORD_H
#define POSTERN_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ipaddr.h"

#define SPF_RECORD_MAX 2048
#define SPF_TERM_MAX 255
#define SPF_TERMS_MAX 128

enum spf_term_kind {
	SPF_T_ALL,
	SPF_T_INCLUDE,
	SPF_T_A,
	SPF_T_MX,
	SPF_T_PTR,
	SPF_T_IP4,
	SPF_T_IP6,
	SPF_T_EXISTS,
	SPF_T_REDIRECT, /* modifiers from here */
	SPF_T_EXP,
	SPF_T_UNKNOWN,
};

struct spf_term {
	enum spf_term_kind kind;
	char qualifier;   /* '+', '-', '~' or '?' for mechanisms */
	char *text;       /* as written, for reports */
	char *domain;     /* the domain-spec, or NULL when absent */
	bool macro;       /* the domain-spec has macros */
	int cidr4;        /* a, mx, ip4: prefix length; -1 when absent */
	int cidr6;        /* a, mx, ip6 */
	struct ipaddr ip; /* ip4, ip6 */
	char *clean;      /* the term as libspf2 gets it; NULL for ip4, ip6
	                   * (see spf_record_text), exp= and unknown modifiers */
};

struct spf_record {
	struct spf_term *terms;
	size_t nterms;
	int redirect; /* index of redirect=, or -1 */
	bool has_all;
};

/* Does this TXT string announce an SPF record ("v=spf1" followed by a
 * space or the end, without regard to case)? */
bool spf_record_is_spf(const char *text, size_t len);

/* Parse and check a record. Returns 0 with *rec filled, or -1 with a
 * reason in why (and nothing to free). */
int spf_record_parse(const char *text, size_t len, struct spf_record *rec, char *why,
                     size_t whylen);
void spf_record_free(struct spf_record *rec);

/* Does an ip4 or ip6 term match the client? */
bool spf_term_matches_ip(const struct spf_term *t, const struct ipaddr *client);

/* The text of rec for libspf2 when it evaluates for client: the
 * mechanisms in order (their clean form), then redirect=, which applies
 * only after all of them and not at all beside an "all" (RFC 7208
 * section 6.1; libspf2 would take it where it is written). An ip4 or ip6
 * term that cannot match the client is left out and one that matches is
 * written as the client's own address (libspf2 refuses a /0).
 * Nothing changes for the evaluation (those terms ask no DNS), but the
 * compiled record stays small: libspf2 keeps at most 511 bytes of
 * compiled mechanisms and silently drops the rest. *nmech_r is the
 * number of mechanisms libspf2 must find in it (redirect= counts).
 * Malloc'd. */
char *spf_record_text(const struct spf_record *rec, const struct ipaddr *client,
                      size_t *nmech_r);

/* Is name a domain check_host() can be asked about (RFC 7208 section
 * 4.3: labels of 1..63 bytes, at most 253 in all, at least two labels;
 * letters, digits, '-' and '_')? A final dot is allowed. */
bool spf_domain_ok(const char *name);

#endif
