/*
 * envelope: restrictions on the shape of the HELO name and the envelope
 * addresses, with Postfix's names, codes and texts. No DNS here.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/strutil.h"
#include "policy/conf.h"
#include "policy/policy_internal.h"
#include "policy/reply.h"
#include "policy/syntax.h"

static enum check_result
no_helo(struct eval *e)
{
	eval_detail(e, "no HELO");
	return CHECK_SKIP;
}

/* A HELO address literal: valid, or rejected as Postfix does. */
static enum check_result
helo_literal(struct eval *e, const char *helo)
{
	struct ipaddr ip;

	if (syntax_literal_parse(helo, &ip) == 0) {
		eval_detail(e, "address literal");
		return CHECK_PASS;
	}
	eval_detail(e, "bad address literal");
	reply_set(e->v, e->ctx->facts, OBJ_HELO,
	          e->ctx->cfg->invalid_hostname_reject_code, "5.5.2",
	          "invalid ip address");
	return CHECK_FAIL;
}

enum check_result
r_invalid_helo(struct eval *e)
{
	const char *helo = e->ctx->facts->helo, *why = NULL;
	char name[600];
	struct ipaddr ip;

	if (helo == NULL || *helo == '\0')
		return no_helo(e);
	if (syntax_is_literal(helo))
		return helo_literal(e, helo);
	syntax_strip_dot(helo, name, sizeof(name));
	if (syntax_hostname_valid(name, &why) || syntax_literal_parse(name, &ip) == 0) {
		eval_detail(e, "valid");
		return CHECK_PASS;
	}
	eval_detail(e, "%s", why ? why : "invalid");
	reply_set(e->v, e->ctx->facts, OBJ_HELO,
	          e->ctx->cfg->invalid_hostname_reject_code, "5.5.2", "Invalid name");
	return CHECK_FAIL;
}

enum check_result
r_non_fqdn_helo(struct eval *e)
{
	const char *helo = e->ctx->facts->helo;
	char name[600];

	if (helo == NULL || *helo == '\0')
		return no_helo(e);
	if (syntax_is_literal(helo))
		return helo_literal(e, helo);
	syntax_strip_dot(helo, name, sizeof(name));
	if (syntax_hostname_fqdn(name)) {
		eval_detail(e, "fully qualified");
		return CHECK_PASS;
	}
	eval_detail(e, "not fully qualified");
	reply_set(e->v, e->ctx->facts, OBJ_HELO, e->ctx->cfg->non_fqdn_reject_code,
	          "5.5.2", "need fully-qualified hostname");
	return CHECK_FAIL;
}

static bool
is_own_addr(const struct config *cfg, const struct ipaddr *ip)
{
	for (size_t i = 0; i < cfg->nown_addrs; i++)
		if (ipaddr_equal(&cfg->own_addrs[i], ip))
			return true;
	return false;
}

enum check_result
r_helo_is_us(struct eval *e)
{
	const struct config *cfg = e->ctx->cfg;
	const char *helo = e->ctx->facts->helo;
	char name[600], addr[IPADDR_STRLEN];
	struct ipaddr ip;
	bool us = false;

	if (helo == NULL || *helo == '\0')
		return no_helo(e);
	if (syntax_literal_parse(helo, &ip) == 0) {
		us = is_own_addr(cfg, &ip);
		eval_detail(e, "%s is %sone of our addresses",
		            ipaddr_format(&ip, addr, sizeof(addr)), us ? "" : "not ");
	} else {
		syntax_strip_dot(helo, name, sizeof(name));
		us = strcasecmp(name, cfg->myhostname) == 0;
		for (char **n = cfg->my_helo_names; !us && n && *n; n++)
			us = strcasecmp(name, *n) == 0;
		eval_detail(e, "%s our name", us ? "is" : "is not");
	}
	if (!us)
		return CHECK_PASS;
	reply_set(e->v, e->ctx->facts, OBJ_HELO, cfg->reject_code, "5.7.1",
	          "You are not me");
	return CHECK_FAIL;
}

static enum check_result
non_fqdn_address(struct eval *e, const char *addr, enum reply_object obj)
{
	if (addr == NULL) {
		eval_detail(e, "no address yet");
		return CHECK_SKIP;
	}
	if (*addr == '\0') {
		eval_detail(e, "null sender");
		return CHECK_PASS;
	}
	/* RFC 5321 4.5.1: <postmaster> without a domain must be accepted. */
	if (obj == OBJ_RECIPIENT && strcasecmp(addr, "postmaster") == 0) {
		eval_detail(e, "postmaster");
		return CHECK_PASS;
	}
	if (syntax_address_fqdn(addr)) {
		eval_detail(e, "fully qualified");
		return CHECK_PASS;
	}
	eval_detail(e, "not fully qualified");
	reply_set(e->v, e->ctx->facts, obj, e->ctx->cfg->non_fqdn_reject_code, "5.5.2",
	          "need fully-qualified address");
	return CHECK_FAIL;
}

enum check_result
r_non_fqdn_sender(struct eval *e)
{
	return non_fqdn_address(e, e->ctx->facts->sender, OBJ_SENDER);
}

enum check_result
r_non_fqdn_recipient(struct eval *e)
{
	return non_fqdn_address(e, e->ctx->facts->rcpt, OBJ_RECIPIENT);
}

/* A bounce (null sender) goes to one recipient. At RCPT the second one
 * is refused; at DATA a message with more than one. */
enum check_result
r_multi_recipient_bounce(struct eval *e)
{
	const struct facts *f = e->ctx->facts;
	bool at_rcpt = f->rcpt != NULL;
	unsigned count = f->rcpt_count + (at_rcpt ? 1 : 0);

	if (f->sender == NULL || *f->sender != '\0') {
		eval_detail(e, "not a bounce");
		return CHECK_PASS;
	}
	eval_detail(e, "bounce, %u recipients", count);
	if (count <= 1)
		return CHECK_PASS;
	if (at_rcpt)
		reply_set(e->v, f, OBJ_SENDER,
		          e->ctx->cfg->multi_recipient_bounce_reject_code, "5.5.3",
		          "Multi-recipient bounce");
	else
		reply_set_raw(e->v, e->ctx->cfg->multi_recipient_bounce_reject_code,
		              "5.5.3",
		              "<>: Data command rejected: Multi-recipient bounce");
	return CHECK_FAIL;
}
