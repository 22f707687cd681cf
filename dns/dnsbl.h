/*
 * dnsbl: DNS block and allow lists (RFC 5782) as Postfix names them.
 *
 * A list is "domain[=filter][*weight]". The filter is Postfix's pattern
 * for the A record a list answers: four dot-separated octets, each a
 * number or a bracketed set of numbers and ranges separated by ';'
 * ("127.0.0.[2..11]", "127.0.[0;1].[2;4..6]"). Without a filter any
 * answer in 127.0.0.0/8 is a listing. Answers in 127.255.255.0/24 are
 * the lists' way of saying "your queries are blocked" and are never a
 * listing; nor is an answer outside 127.0.0.0/8. Both are list errors.
 *
 * Client lists are asked with the reversed address (IPv4 octets, IPv6
 * nibbles); name lists (RHSBL) with the name itself.
 */
#ifndef POSTERN_DNS_DNSBL_H
#define POSTERN_DNS_DNSBL_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/resolver.h"
#include "lib/ipaddr.h"

struct dnsbl_filter {
	unsigned char bits[4][32]; /* allowed values of each octet */
};

struct dnsbl_site {
	char *domain; /* lower case, no final dot */
	bool has_filter;
	struct dnsbl_filter filter;
	int weight; /* 1 unless "*N" was given */
	char *text; /* as written, for logs */
};

/* Parse "127.0.0.[2..11]". Returns 0, or -1 with a malloc'd *error_r. */
int dnsbl_filter_parse(const char *text, struct dnsbl_filter *f_r, char **error_r);
bool dnsbl_filter_match(const struct dnsbl_filter *f, const struct ipaddr *a);

/* Parse one "domain[=filter][*weight]"; the weight is accepted only when
 * with_weight is true. Returns 0, or -1 with a malloc'd *error_r. */
int dnsbl_site_parse(const char *text, bool with_weight, struct dnsbl_site *s_r,
                     char **error_r);
void dnsbl_site_free(struct dnsbl_site *s);

/* A dnsbl_sites value: items separated by commas or white space. */
int dnsbl_sites_parse(const char *text, struct dnsbl_site **v_r, size_t *n_r,
                      char **error_r);
void dnsbl_sites_free(struct dnsbl_site *v, size_t n);

/* The query name for a client address: "2.0.0.127.zen.example" or the
 * 32 nibbles of an IPv6 address. Also the PTR name when domain is
 * "in-addr.arpa" (IPv4) or "ip6.arpa" (IPv6); NULL for the default.
 * Writes into buf; returns buf, or NULL when it does not fit. */
char *dnsbl_reverse_name(const struct ipaddr *ip, const char *domain, char *buf,
                         size_t len);

/* "name.domain" for a name list, or NULL when name is empty or the
 * result is not a valid query name (over 253 bytes). */
char *dnsbl_name_query(const char *name, const char *domain, char *buf, size_t len);

enum dnsbl_result {
	DNSBL_NOT_LISTED,
	DNSBL_LISTED,
	DNSBL_LIST_ERROR, /* 127.255.255.x or an answer outside 127/8 */
	DNSBL_TEMP,
};

/* Classify a list's answer to an A query. *match_r (may be NULL) gets the
 * first address that made it a listing; detail gets what was answered
 * ("127.0.0.2", "127.0.0.1 outside the filter", "127.255.255.254: the
 * list refuses our queries", "timeout"). */
enum dnsbl_result dnsbl_classify(const struct dnsbl_site *s, const struct dns_answer *a,
                                 struct ipaddr *match_r, char *detail, size_t len);

#endif
