/*
 * spf: Sender Policy Framework (RFC 7208) with libspf2, over postern's
 * resolver.
 *
 * libspf2 interprets the records; everything it needs from DNS comes
 * through a DNS layer of ours (spf/spf.c) that asks dns/ and guards the
 * library against what a hostile zone can send it:
 *   - every SPF record is checked against RFC 7208's grammar and our
 *     limits (spf/record.h) before libspf2 compiles it; a bad record is
 *     a permerror decided here;
 *   - exp= and unknown modifiers are removed from the text libspf2 sees,
 *     so it never fetches or expands a remote explanation;
 *   - the RFC 7208 section 4.6.4 limits are kept per evaluation (10
 *     lookup terms in all, including those of nested includes; 2 void
 *     lookups; 10 names per mx or ptr), and a whole evaluation has one
 *     deadline;
 *   - addresses are normalised (::ffff:a.b.c.d is IPv4) and loopback
 *     clients are evaluated like any other;
 *   - the identity (HELO name, MAIL FROM) is validated before any lookup;
 *   - libspf2's result is mapped by us: a failed lookup is temperror, a
 *     record it cannot use permerror, never "invalid".
 *
 * Never logs, never exits: the outcome says what happened and why.
 */
#ifndef POSTERN_SPF_H
#define POSTERN_SPF_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ipaddr.h"

struct dns_resolver;

/* RFC 7208 section 2.6. */
enum spf_result {
	SPF_R_NONE,
	SPF_R_NEUTRAL,
	SPF_R_PASS,
	SPF_R_FAIL,
	SPF_R_SOFTFAIL,
	SPF_R_TEMPERROR,
	SPF_R_PERMERROR,
};
#define SPF_R__COUNT 7

/* "none", "neutral", "pass", "fail", "softfail", "temperror",
 * "permerror" */
const char *spf_result_name(enum spf_result r);
/* The inverse; -1 for an unknown name. */
int spf_result_parse(const char *name);

enum spf_identity { SPF_ID_MAILFROM, SPF_ID_HELO };

struct spf_request {
	struct ipaddr client;       /* the SMTP client */
	enum spf_identity identity; /* which identity to check */
	const char *sender;         /* MAIL FROM without <>; "" or NULL for
	                             * the null sender (then the HELO identity
	                             * is used as postmaster@HELO, RFC 7208
	                             * section 2.4). Ignored for SPF_ID_HELO. */
	const char *helo;           /* HELO/EHLO argument, or NULL */
	const char *receiver;       /* our host name, for %{r}; NULL: "unknown" */
	unsigned deadline_ms;       /* for the whole evaluation; 0: 20 s */
};

struct spf_outcome {
	enum spf_result result;
	char domain[256];      /* the domain checked (sanitised), "" if none */
	char sender[320];      /* the identity as checked: local@domain */
	char mechanism[256];   /* the mechanism that matched, as RFC 7208 section
	                        * 9.1 means it: the term of the record evaluated
	                        * ("ip4:192.0.2.0/24", "include:_spf.example.net",
	                        * "-all"; after a redirect=, the term of the
	                        * record it led to), "default" when none
	                        * matched, "" when no record was evaluated */
	char path[256];        /* how it was reached, when that says more:
	                        * "redirect=x > include:y > ip4:192.0.2.1";
	                        * else "" */
	char reason[256];      /* why, for none, temperror and permerror:
	                        * "no SPF record", "more than 10 DNS lookup terms",
	                        * "invalid record at example.com: ..."; else "" */
	unsigned lookups;      /* lookup terms evaluated (RFC 7208 4.6.4) */
	unsigned void_lookups; /* of them, answered NXDOMAIN or no records */
	unsigned queries;      /* DNS lookups made (some answered by the
	                        * prefetch) */
	unsigned prefetched;   /* queries the prefetch sent ahead of them */
	double ms;             /* time spent */
};

/* Evaluate. The resolver is used through dns_lookup; the request's
 * strings need only live for the call. Always fills *out. */
void spf_check(struct dns_resolver *resolver, const struct spf_request *req,
               struct spf_outcome *out);

/* The value of a Received-SPF header (RFC 7208 section 9.1) for an
 * outcome, built by us with proper quoting:
 *   pass (mx.example.org: domain of a@example.com designates 192.0.2.1 as
 *   permitted sender) client-ip=192.0.2.1; envelope-from="a@example.com";
 *   helo=mail.example.com; receiver=mx.example.org; identity=mailfrom;
 *   mechanism="ip4:192.0.2.0/24"
 * Malloc'd. */
char *spf_received_spf(const struct spf_request *req, const struct spf_outcome *out);

#endif
