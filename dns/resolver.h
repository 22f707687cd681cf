/*
 * resolver: every DNS lookup of the process goes through here.
 *
 * A stub resolver on ldns. Queries go over UDP with EDNS0 (a 1232-byte
 * buffer) to the configured servers, fall back to TCP when an answer is
 * truncated, follow CNAME chains to a bound, and check every answer
 * (id, question, sizes) before using it. Each answer is classified as
 * records found (DNS_OK), NXDOMAIN, NODATA, or TEMP with a reason; a TEMP
 * answer is never reported as "not found".
 *
 * Lookups are made in batches: all queries of a batch are sent at once
 * and awaited together in one poll() loop under one deadline, so a batch
 * costs its longest chain of round trips. A query's callback may add more
 * queries to the same batch (a PTR answer asks for the A records of its
 * names), and those run under the same deadline.
 *
 * A cache shared by all threads keeps answers (positive and negative) for
 * their TTL, bounded in entries. TEMP answers are never cached.
 *
 * This module never logs and never exits: failures come back as DNS_TEMP
 * answers with a reason.
 */
#ifndef POSTERN_DNS_RESOLVER_H
#define POSTERN_DNS_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ipaddr.h"

/* Record types we ask for (the values of RFC 1035 and later). */
enum {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

enum dns_status { DNS_OK, DNS_NXDOMAIN, DNS_NODATA, DNS_TEMP };

/* "ok", "nxdomain", "nodata", "temp" */
const char *dns_status_name(enum dns_status s);
/* "A", "PTR", ... or "TYPE99" in buf */
const char *dns_type_name(uint16_t type, char *buf, size_t len);

struct dns_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t pref;      /* MX preference */
	struct ipaddr addr; /* A and AAAA */
	char *text;         /* PTR, MX, NS, CNAME target (no final dot, lower
	                     * case; "" for the root, as in a null MX); TXT:
	                     * the character-strings concatenated */
};

/* One answer. Owned by whoever received it; free with dns_answer_free. */
struct dns_answer {
	enum dns_status status;
	char reason[128]; /* for DNS_TEMP: "timeout", "SERVFAIL from
	                   * 127.0.0.1:53", "malformed answer: ..." */
	char *qname;      /* the name asked, lower case, no final dot */
	uint16_t qtype;
	char *cname;       /* the end of a CNAME chain, or NULL */
	struct dns_rr *rr; /* records of type qtype for the final name */
	size_t nrr;
	uint32_t ttl; /* how long it may be cached */
	bool cached;  /* came from the cache */
	double ms;    /* time from sending to the answer */
};

void dns_answer_free(struct dns_answer *a);
struct dns_answer *dns_answer_copy(const struct dns_answer *a);
/* An answer with no records; add them with dns_answer_add. */
struct dns_answer *dns_answer_new(const char *qname, uint16_t qtype,
                                  enum dns_status status);
/* Append a copy of rr (its text is copied). */
void dns_answer_add(struct dns_answer *a, const struct dns_rr *rr);

/* Servers and limits. Immutable once made; shared by all threads. */
struct dns_server {
	struct ipaddr addr;
	uint16_t port;
};

struct dns_resolver;

/* Parse a dns_servers value: "host[:port]" items ("127.0.0.1:5353",
 * "[::1]:5353", "::1", "192.0.2.53") separated by commas or white space.
 * At most 8. Returns 0, or -1 with a malloc'd *error_r. */
int dns_servers_parse(const char *text, struct dns_server **v_r, size_t *n_r,
                      char **error_r);

/* The nameservers of a resolv.conf file (port 53). Returns 0, or -1 with a
 * malloc'd *error_r when the file cannot be read or names no server. */
int dns_servers_from_resolv_conf(const char *path, struct dns_server **v_r, size_t *n_r,
                                 char **error_r);

/* A resolver over servers (copied). timeout_ms is the default deadline
 * of a batch. */
struct dns_resolver *dns_resolver_new(const struct dns_server *servers, size_t n,
                                      unsigned timeout_ms);
void dns_resolver_free(struct dns_resolver *r);

/* Test seam: when fn is set, every query of this resolver is answered by
 * fn(arg, name, type) instead of the network and the cache (the SPF
 * conformance suite and the fuzzers use it). fn returns a new answer,
 * or NULL for a timeout. Set it before the resolver is shared. */
typedef struct dns_answer *dns_answer_fn(void *arg, const char *name, uint16_t type);
void dns_resolver_set_answerer(struct dns_resolver *r, dns_answer_fn *fn, void *arg);
unsigned dns_resolver_timeout(const struct dns_resolver *r);

/* The process-wide cache: at most max_entries answers (0 disables it).
 * Callable at any time; shrinking drops the oldest entries. */
void dns_cache_configure(size_t max_entries);
/* Drop every cached answer (tests, benchmarks). */
void dns_cache_clear(void);
struct dns_cache_stats {
	uint64_t hits, misses, entries;
};
void dns_cache_get_stats(struct dns_cache_stats *s);

/* Batches. */
struct dns_batch;

/* Called once per query with its answer, which the callback owns. It may
 * call dns_batch_add on the same batch. */
typedef void dns_done_fn(struct dns_batch *b, void *arg, struct dns_answer *a);

struct dns_batch *dns_batch_new(struct dns_resolver *r);
/* Queue a query; it is sent by dns_batch_run. The name may end in a dot
 * and is case-insensitive. A name that cannot be a DNS name (too long,
 * empty label) is answered at once as DNS_TEMP "invalid name". */
void dns_batch_add(struct dns_batch *b, const char *name, uint16_t type, dns_done_fn *fn,
                   void *arg);
/* Send everything and wait until every query (including those added by
 * callbacks) has its answer, or until timeout_ms (0: the resolver's
 * default) have passed; queries still open then are answered DNS_TEMP
 * "timeout". Every callback has been called when it returns. */
void dns_batch_run(struct dns_batch *b, unsigned timeout_ms);
/* Free a batch. Queries not yet run are dropped without callbacks. */
void dns_batch_free(struct dns_batch *b);

/* Can name be asked (1..63-byte labels, 253 bytes in all, no control or
 * 8-bit bytes)? */
bool dns_name_ok(const char *name);

/* A name in the text form the resolver uses for questions, answers, the
 * cache and the test seam: lower case, no final dot, and each byte other
 * than a letter, digit, '-' or '_' of a label written \DDD
 * ("a b.example" is "a\032b.example"). Returns 0, or -1 as dns_name_ok. */
int dns_name_text(const char *name, char *buf, size_t len);

/* One lookup, synchronously: a batch of one. The answer is the caller's. */
struct dns_answer *dns_lookup(struct dns_resolver *r, const char *name, uint16_t type,
                              unsigned timeout_ms);

/* Statistics of the process: queries sent, answers by kind. */
struct dns_stats {
	uint64_t queries, udp, tcp, ok, nxdomain, nodata, temp;
};
void dns_get_stats(struct dns_stats *s);

#endif
