/*
 * dns_internal: what the resolver's files share and nobody else uses.
 */
#ifndef POSTERN_DNS_INTERNAL_H
#define POSTERN_DNS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/resolver.h"

/* Longest CNAME chain we follow, over all queries of one lookup. */
#define DNS_CNAME_MAX 8
/* EDNS0 buffer we announce (the DNS flag day 2020 figure). */
#define DNS_EDNS_SIZE 1232
/* Longest DNS name in presentation form, without the final dot. */
#define DNS_NAME_MAX 253
/* Room for a name in our text form, where a byte other than a letter,
 * digit, '-' or '_' is written \DDD. */
#define DNS_NAME_TEXT_MAX (4 * DNS_NAME_MAX)

/* What one datagram or TCP message from a server means for a query. */
enum reply_kind {
	REPLY_IGNORE,    /* not an answer to this query (id, question) */
	REPLY_MALFORMED, /* claims to answer it but cannot be used */
	REPLY_TRUNCATED, /* TC set: ask again over TCP */
	REPLY_RCODE,     /* SERVFAIL, REFUSED, ...: try another server */
	REPLY_FOLLOW,    /* a CNAME chain whose end must be asked for */
	REPLY_FINAL,     /* an answer: records, NXDOMAIN or NODATA */
};

struct reply {
	enum reply_kind kind;
	char why[96]; /* MALFORMED, RCODE: what was wrong */
	bool final; /* MALFORMED: no other server can do better (CNAME chain too long) */
	char *follow;              /* FOLLOW: the name to ask next (malloc'd) */
	unsigned chain;            /* CNAME records followed in this reply */
	struct dns_answer *answer; /* FINAL (malloc'd) */
};

/* Build a query packet (wire format, malloc'd into *buf_r). Returns 0,
 * or -1 when name is not a usable DNS name. */
int dns_wire_query(const char *name, uint16_t type, uint16_t id, uint8_t **buf_r,
                   size_t *len_r);

/* Read a reply to the query (id, name, type). name is lower case with no
 * final dot. On REPLY_FINAL the answer's qname is set to orig_name. */
void dns_wire_reply(const uint8_t *buf, size_t len, uint16_t id, const char *name,
                    uint16_t type, const char *orig_name, struct reply *r);

/* Normalise a name for asking, into our text form: lower case, one final
 * dot removed, and every byte other than a letter, digit, '-' or '_' of
 * a label written \DDD (as ldns reads it and as names from answers are
 * written). Returns -1 when it is not a name we send (empty or long
 * labels, over 253 bytes, control or 8-bit bytes, too long for buf). */
int dns_name_normalise(const char *name, char *buf, size_t len);

/* A TEMP answer with a reason. */
struct dns_answer *dns_answer_temp(const char *qname, uint16_t qtype, const char *fmt,
                                   ...) __attribute__((format(printf, 3, 4)));

/* The cache (dns/cache.c). Get returns a copy or NULL. */
struct dns_answer *dns_cache_get(const char *name, uint16_t type);
void dns_cache_put(const struct dns_answer *a);

/* Statistics (dns/resolver.c). */
void dns_stats_count(const struct dns_answer *a);

#endif
