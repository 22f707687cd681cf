/*
 * dnscheck: the DNS restrictions (reverse DNS, DNS lists, host and mail
 * domain existence) and what they learn about a connection.
 *
 * Answers are kept per connection (client), per HELO and per message
 * (sender and recipients), so a restriction that runs again at each RCPT
 * (delay_reject) asks nothing twice. Before the lists of a stage run,
 * dnscheck_prefetch sends every lookup the configured restrictions will
 * need for that stage's facts in one parallel batch; a restriction that
 * finds its answer missing looks it up itself.
 */
#ifndef POSTERN_DNSCHECK_H
#define POSTERN_DNSCHECK_H

#include <stddef.h>

#include "policy/policy.h"

void dnscheck_prefetch(struct policy_ctx *ctx, enum stage stage);
void dnscheck_new_helo(struct policy_state *st);
void dnscheck_new_message(struct policy_state *st);
void dnscheck_state_free(struct policy_state *st);

/* Reverse DNS of the client, RFC 8601's "iprev". */
enum iprev_result { IPREV_PASS, IPREV_FAIL, IPREV_TEMP };
struct iprev {
	enum iprev_result result;
	const char *ptr_name; /* first valid PTR name, or NULL */
	const char *name;     /* the PTR name that resolves back, or NULL */
	char detail[400];     /* what was asked and answered */
	double ms;
};
/* "pass", "fail", "temperror" */
const char *iprev_result_name(enum iprev_result r);

/* The client's iprev, looked up on first use; NULL without a client
 * address. Valid until the connection's state is freed. */
const struct iprev *dnscheck_iprev(struct policy_ctx *ctx);

/* The DNS allow-list that listed the client (permit_dnswl_client, or a
 * negative weight of reject_dnsbl_score), or NULL. */
const char *dnscheck_dnswl_zone(struct policy_ctx *ctx);

/* The Authentication-Results methods learnt so far ("iprev=pass
 * policy.iprev=192.0.2.1 (mx.example.com)", "dnswl=pass dns.zone=...").
 * Fills methods (pointers into the state) and returns how many. */
size_t dnscheck_authres(struct policy_ctx *ctx, const char **methods, size_t max);

#endif
