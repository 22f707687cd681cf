/*
 * spfcheck: the check_spf restriction, on top of spf/.
 *
 * The MAIL FROM identity is evaluated once per message and the HELO
 * identity (spf_helo_check) once per HELO; with delay_reject the
 * restriction runs again at each RCPT and reuses the outcome. What each
 * result does is the admin's choice (spf_<result>_action), with RFC
 * 7372's codes: 5.7.23 for a failed check, X.7.24 for an error. The
 * outcomes also feed the Authentication-Results and Received-SPF headers
 * written at the end of the message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/conf.h"
#include "policy/policy_internal.h"
#include "policy/reply.h"
#include "policy/spfcheck.h"
#include "spf/spf.h"

/* One evaluation and the strings its request points at. */
struct spf_memo {
	bool done;
	struct spf_request req;
	char *sender, *helo;
	struct spf_outcome out;
};

struct spfcheck_state {
	struct spf_memo helo, mail;
	bool skip_reported; /* this message's "skipped" row is written */
};

static void
memo_clear(struct spf_memo *m)
{
	free(m->sender);
	free(m->helo);
	memset(m, 0, sizeof(*m));
}

void
spfcheck_new_message(struct policy_state *st)
{
	if (st->spf != NULL) {
		memo_clear(&st->spf->mail);
		st->spf->skip_reported = false;
	}
}

void
spfcheck_new_helo(struct policy_state *st)
{
	if (st->spf != NULL) {
		memo_clear(&st->spf->helo);
		memo_clear(&st->spf->mail);
	}
}

void
spfcheck_state_free(struct policy_state *st)
{
	if (st->spf == NULL)
		return;
	memo_clear(&st->spf->helo);
	memo_clear(&st->spf->mail);
	free(st->spf);
	st->spf = NULL;
}

static struct spfcheck_state *
state(struct policy_state *st)
{
	if (st->spf == NULL)
		st->spf = xcalloc(1, sizeof(*st->spf));
	return st->spf;
}

/* Evaluate an identity unless done; true when it ran now. */
static bool
evaluate(struct policy_ctx *ctx, struct spf_memo *m, enum spf_identity id)
{
	const struct facts *f = ctx->facts;
	const struct config *cfg = ctx->cfg;

	if (m->done)
		return false;
	m->sender = xstrdup(f->sender != NULL ? f->sender : "");
	m->helo = f->helo != NULL ? xstrdup(f->helo) : NULL;
	m->req.client = f->client_ip;
	m->req.identity = id;
	m->req.sender = m->sender;
	m->req.helo = m->helo;
	m->req.receiver = cfg->myhostname;
	m->req.deadline_ms = cfg->spf_timeout * 1000u;
	spf_check(cfg->resolver, &m->req, &m->out);
	m->done = true;
	return true;
}

static enum check_result
row_result(enum spf_result r)
{
	switch (r) {
	case SPF_R_FAIL:
	case SPF_R_SOFTFAIL:
	case SPF_R_PERMERROR:
		return CHECK_FAIL;
	case SPF_R_TEMPERROR:
		return CHECK_TEMP;
	default:
		return CHECK_PASS;
	}
}

/* "mailfrom a@example.com: spf=pass mechanism=ip4:... lookups=1 void=0" */
static void
detail(char *buf, size_t len, const struct spf_memo *m)
{
	const struct spf_outcome *o = &m->out;
	char who[400];
	size_t used;

	if (m->req.identity == SPF_ID_HELO)
		str_printf(who, sizeof(who), "helo %s",
		           o->domain[0] ? o->domain : "(none)");
	else
		str_printf(who, sizeof(who), "mailfrom %s", o->sender);
	str_printf(buf, len, "%s: spf=%s", who, spf_result_name(o->result));
	used = strlen(buf);
	if (o->mechanism[0] != '\0' && used < len)
		str_printf(buf + used, len - used, " mechanism=%s", o->mechanism);
	used = strlen(buf);
	if (o->path[0] != '\0' && used < len)
		str_printf(buf + used, len - used, " path=\"%s\"", o->path);
	used = strlen(buf);
	if (used < len)
		str_printf(buf + used, len - used, " lookups=%u void=%u queries=%u",
		           o->lookups, o->void_lookups, o->queries);
	used = strlen(buf);
	if (o->reason[0] != '\0' && used < len)
		str_printf(buf + used, len - used, " reason=%s", o->reason);
	used = strlen(buf);
	if (m->req.identity == SPF_ID_MAILFROM && m->sender[0] == '\0' && used < len)
		str_printf(buf + used, len - used, " (null sender)");
}

/* Apply the configured action of the outcome to the verdict. */
static void
act(struct eval *e, const struct spf_memo *m)
{
	const struct spf_outcome *o = &m->out;
	enum result_action a = e->ctx->cfg->spf_action[o->result];
	bool error = o->result == SPF_R_TEMPERROR || o->result == SPF_R_PERMERROR;
	char ip[IPADDR_STRLEN] = "unknown";
	char text[400];

	if (a == ACT_ACCEPT)
		return;
	if (m->req.client.family != 0)
		ipaddr_format(&m->req.client, ip, sizeof(ip));
	switch (o->result) {
	case SPF_R_FAIL:
	case SPF_R_SOFTFAIL:
		str_printf(text, sizeof(text),
		           "SPF %s: %s does not designate %s as permitted sender",
		           spf_result_name(o->result), o->domain, ip);
		break;
	case SPF_R_NEUTRAL:
		str_printf(text, sizeof(text),
		           "SPF neutral: %s neither permits nor denies %s", o->domain,
		           ip);
		break;
	case SPF_R_NONE:
		str_printf(text, sizeof(text), "SPF none: %s publishes no SPF policy",
		           o->domain[0] ? o->domain : "the sender");
		break;
	case SPF_R_PASS:
		str_printf(text, sizeof(text), "SPF pass: %s designates %s", o->domain,
		           ip);
		break;
	case SPF_R_TEMPERROR:
		str_printf(text, sizeof(text), "SPF temporary error: %s",
		           o->reason[0] ? o->reason : "DNS lookup failed");
		break;
	case SPF_R_PERMERROR:
	default:
		str_printf(text, sizeof(text), "SPF permanent error: %s",
		           o->reason[0] ? o->reason : "invalid SPF policy");
		break;
	}
	/* Sendmail reads a reply text as a format: no '%' from a zone. */
	for (char *p = text; *p != '\0'; p++)
		if (*p == '%')
			*p = '?';
	enum reply_object obj = m->req.identity == SPF_ID_HELO ? OBJ_HELO : OBJ_SENDER;
	if (a == ACT_REJECT)
		reply_set(e->v, e->ctx->facts, obj, 550, error ? "5.7.24" : "5.7.23",
		          text);
	else
		reply_set(e->v, e->ctx->facts, obj,
		          o->result == SPF_R_TEMPERROR ? 451 : 450,
		          error ? "4.7.24" : "4.7.23", text);
}

static bool
decisive(const struct eval *e, const struct spf_memo *m)
{
	return e->ctx->cfg->spf_action[m->out.result] != ACT_ACCEPT;
}

enum check_result
r_check_spf(struct eval *e)
{
	struct policy_ctx *ctx = e->ctx;
	const struct facts *f = ctx->facts;
	const struct config *cfg = ctx->cfg;
	struct spfcheck_state *st = state(ctx->state);

	if (client_list_match(&cfg->spf_skip_clients, &f->client_ip, f->client_name)) {
		eval_detail(e, "client %s is in spf_skip_clients: SPF not checked",
		            f->client_addr[0] ? f->client_addr : "unknown");
		e->quiet = st->skip_reported;
		st->skip_reported = true;
		return CHECK_SKIP;
	}
	if (cfg->spf_helo_check && f->helo != NULL && f->helo[0] != '\0') {
		bool fresh = evaluate(ctx, &st->helo, SPF_ID_HELO);
		if (decisive(e, &st->helo) || f->sender == NULL) {
			detail(e->detail, sizeof(e->detail), &st->helo);
			e->dns_ms = fresh ? st->helo.out.ms : 0;
			e->quiet = !fresh;
			act(e, &st->helo);
			return row_result(st->helo.out.result);
		}
		if (fresh) {
			char d[sizeof(e->detail)];
			detail(d, sizeof(d), &st->helo);
			policy_report_row(ctx, e->stage, "check_spf",
			                  row_result(st->helo.out.result), "dunno", d,
			                  st->helo.out.ms);
		}
	}
	if (f->sender == NULL) {
		eval_detail(e, "no MAIL FROM yet: SPF not checked");
		return CHECK_SKIP;
	}
	bool fresh = evaluate(ctx, &st->mail, SPF_ID_MAILFROM);
	detail(e->detail, sizeof(e->detail), &st->mail);
	e->dns_ms = fresh ? st->mail.out.ms : 0;
	e->quiet = !fresh; /* one row per evaluation, unless it refuses */
	act(e, &st->mail);
	return row_result(st->mail.out.result);
}

/* A-R: "spf=pass smtp.mailfrom=a@example.com", the value quoted when it
 * is not a plain local-part@domain or domain. */
static void
authres_method(char *buf, size_t len, const char *result, const char *ptype,
               const char *value)
{
	struct strbuf v = {0};

	strbuf_value(&v, value, true);
	str_printf(buf, len, "spf=%s %s=%s", result, ptype, v.s);
	free(v.s);
}

size_t
spfcheck_authres(struct policy_ctx *ctx, char methods[][400], size_t max)
{
	struct spfcheck_state *st = ctx->state->spf;
	size_t n = 0;

	if (st == NULL)
		return 0;
	if (st->mail.done && n < max)
		authres_method(methods[n++], 400, spf_result_name(st->mail.out.result),
		               "smtp.mailfrom", st->mail.out.sender);
	if (st->helo.done && n < max && st->helo.out.domain[0] != '\0')
		authres_method(methods[n++], 400, spf_result_name(st->helo.out.result),
		               "smtp.helo", st->helo.out.domain);
	return n;
}

size_t
spfcheck_received(struct policy_ctx *ctx, char **values, size_t max)
{
	struct spfcheck_state *st = ctx->state->spf;
	size_t n = 0;

	if (st == NULL)
		return 0;
	if (st->helo.done && n < max)
		values[n++] = spf_received_spf(&st->helo.req, &st->helo.out);
	if (st->mail.done && n < max)
		values[n++] = spf_received_spf(&st->mail.req, &st->mail.out);
	return n;
}

const char *
spfcheck_mail_pass_domain(struct policy_ctx *ctx)
{
	struct spfcheck_state *st = ctx->state->spf;

	if (st == NULL || !st->mail.done || st->mail.out.result != SPF_R_PASS ||
	    st->mail.out.domain[0] == '\0')
		return NULL;
	return st->mail.out.domain;
}
