/*
 * policy: the restriction table and the engine that runs the lists.
 *
 * A restriction is a row of `restrictions` below: its name, whether it
 * takes a table argument, and the function that checks it. The engine
 * times each restriction, applies warn_if_reject, reports one check row
 * per restriction that ran and stops a list at its first decisive
 * verdict. Stage order and delay_reject live in policy_stage().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/access.h"
#include "policy/conf.h"
#include "policy/maps.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"
#include "policy/reply.h"
#include "dns/dnsbl.h"
#include "policy/dnscheck.h"
#include "policy/greylist.h"
#include "policy/spfcheck.h"
#include <stdarg.h>

const enum reply_object policy_list_object[RL__COUNT] = {OBJ_CLIENT, OBJ_HELO, OBJ_SENDER,
                                                         OBJ_RECIPIENT, OBJ_DATA};

static enum check_result
r_permit(struct eval *e)
{
	e->v->kind = VERDICT_PERMIT;
	return CHECK_PASS;
}

static enum check_result
r_reject(struct eval *e)
{
	reply_set(e->v, e->ctx->facts, policy_list_object[e->list],
	          e->ctx->cfg->reject_code, NULL, "Access denied");
	return CHECK_FAIL;
}

static enum check_result
r_defer(struct eval *e)
{
	reply_set(e->v, e->ctx->facts, policy_list_object[e->list],
	          e->ctx->cfg->defer_code, NULL, "Try again later");
	return CHECK_FAIL;
}

static enum check_result
r_permit_internal(struct eval *e)
{
	const struct facts *f = e->ctx->facts;

	if (f->client_ip.family != 0 &&
	    cidr_list_match(&e->ctx->cfg->internal_networks, &f->client_ip)) {
		snprintf(e->detail, sizeof(e->detail), "%s is internal", f->client_addr);
		e->v->kind = VERDICT_PERMIT;
	} else {
		snprintf(e->detail, sizeof(e->detail), "not internal");
	}
	return CHECK_PASS;
}

static enum check_result
r_permit_sasl(struct eval *e)
{
	const char *who = e->ctx->facts->auth_authen;

	if (who != NULL && *who != '\0') {
		char clean[256];
		snprintf(e->detail, sizeof(e->detail), "authenticated as %s",
		         str_sanitize(clean, sizeof(clean), who));
		e->v->kind = VERDICT_PERMIT;
	} else {
		snprintf(e->detail, sizeof(e->detail), "not authenticated");
	}
	return CHECK_PASS;
}

static enum check_result
r_access(struct eval *e)
{
	return access_check(e->ctx->cfg, e->r->map, (enum access_what)e->r->def->what,
	                    e->ctx->facts, e->v, &e->warn, e->detail, sizeof(e->detail));
}

static const struct restriction_def restrictions[] = {
    {"permit", ARG_NONE, r_permit, 0, STAGE_CONNECT, NULL},
    {"reject", ARG_NONE, r_reject, 0, STAGE_CONNECT, NULL},
    {"defer", ARG_NONE, r_defer, 0, STAGE_CONNECT, NULL},
    {"permit_internal_networks", ARG_NONE, r_permit_internal, 0, STAGE_CONNECT, NULL},
    {"permit_mynetworks", ARG_NONE, r_permit_internal, 0, STAGE_CONNECT, NULL},
    {"permit_sasl_authenticated", ARG_NONE, r_permit_sasl, 0, STAGE_MAIL, NULL},
    {"check_client_access", ARG_MAP, r_access, ACCESS_CLIENT, STAGE_CONNECT, NULL},
    {"check_helo_access", ARG_MAP, r_access, ACCESS_HELO, STAGE_HELO, NULL},
    {"check_sender_access", ARG_MAP, r_access, ACCESS_SENDER, STAGE_MAIL, NULL},
    {"check_recipient_access", ARG_MAP, r_access, ACCESS_RECIPIENT, STAGE_RCPT, NULL},
    /* Client: reverse DNS and DNS lists. */
    {"reject_unknown_reverse_client_hostname", ARG_NONE, r_unknown_reverse_client, 0,
     STAGE_CONNECT, p_client_names},
    {"reject_unknown_client_hostname", ARG_NONE, r_unknown_client, 0, STAGE_CONNECT,
     p_client_names},
    {"reject_rbl_client", ARG_SITE, r_rbl_client, 0, STAGE_CONNECT, p_client_list},
    {"permit_dnswl_client", ARG_SITE, r_dnswl_client, 0, STAGE_CONNECT, p_client_list},
    {"reject_rhsbl_client", ARG_SITE, r_rhsbl_client, 0, STAGE_CONNECT, p_client_names},
    {"reject_rhsbl_reverse_client", ARG_SITE, r_rhsbl_reverse_client, 0, STAGE_CONNECT,
     p_client_names},
    {"reject_dnsbl_score", ARG_NONE, r_dnsbl_score, 0, STAGE_CONNECT, p_dnsbl_score},
    /* HELO. */
    {"reject_invalid_helo_hostname", ARG_NONE, r_invalid_helo, 0, STAGE_HELO, NULL},
    {"reject_non_fqdn_helo_hostname", ARG_NONE, r_non_fqdn_helo, 0, STAGE_HELO, NULL},
    {"reject_unknown_helo_hostname", ARG_NONE, r_unknown_helo, 0, STAGE_HELO, p_host},
    {"reject_rhsbl_helo", ARG_SITE, r_rhsbl_helo, 0, STAGE_HELO, p_rhsbl},
    {"reject_helo_is_us", ARG_NONE, r_helo_is_us, 0, STAGE_HELO, NULL},
    /* Sender and recipient. */
    {"reject_non_fqdn_sender", ARG_NONE, r_non_fqdn_sender, 0, STAGE_MAIL, NULL},
    {"reject_unknown_sender_domain", ARG_NONE, r_unknown_sender_domain, 0, STAGE_MAIL,
     p_host},
    {"reject_rhsbl_sender", ARG_SITE, r_rhsbl_sender, 0, STAGE_MAIL, p_rhsbl},
    {"reject_non_fqdn_recipient", ARG_NONE, r_non_fqdn_recipient, 0, STAGE_RCPT, NULL},
    {"reject_unknown_recipient_domain", ARG_NONE, r_unknown_recipient_domain, 0,
     STAGE_RCPT, p_host},
    {"reject_rhsbl_recipient", ARG_SITE, r_rhsbl_recipient, 0, STAGE_RCPT, p_rhsbl},
    {"reject_multi_recipient_bounce", ARG_NONE, r_multi_recipient_bounce, 0, STAGE_RCPT,
     NULL},
    /* postern's own. */
    {"check_spf", ARG_NONE, r_check_spf, 0, STAGE_MAIL, NULL},
    {"check_greylist", ARG_NONE, r_check_greylist, 0, STAGE_RCPT, NULL},
    {"check_client_error_limit", ARG_NONE, r_client_error_limit, 0, STAGE_CONNECT, NULL},
};
#define NRESTRICTIONS (sizeof(restrictions) / sizeof(restrictions[0]))

const char *
policy_restriction_name(size_t i)
{
	return i < NRESTRICTIONS ? restrictions[i].name : NULL;
}

static const char *const stage_names[] = {"connect", "helo", "mail",
                                          "rcpt",    "data", "eom"};
static const char *const rlist_keys[RL__COUNT] = {
    "client_restrictions", "helo_restrictions", "sender_restrictions",
    "recipient_restrictions", "data_restrictions"};
static const char *const result_names[] = {"pass", "fail", "temp", "skip"};

const char *
stage_name(enum stage s)
{
	return stage_names[s];
}

const char *
rlist_key(enum rlist l)
{
	return rlist_keys[l];
}

const char *
check_result_name(enum check_result r)
{
	return result_names[r];
}

void
eval_detail(struct eval *e, const char *fmt, ...)
{
	size_t used = strnlen(e->detail, sizeof(e->detail) - 1);
	va_list ap;

	if (used > 0 && used + 2 < sizeof(e->detail)) {
		memcpy(e->detail + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(e->detail + used, sizeof(e->detail) - used, fmt, ap);
	va_end(ap);
}

/* Compiling. */

static const struct restriction_def *
find_def(const char *name)
{
	for (size_t i = 0; i < NRESTRICTIONS; i++)
		if (strcmp(restrictions[i].name, name) == 0)
			return &restrictions[i];
	return NULL;
}

void
policy_list_free(struct restriction_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->v[i].arg);
		if (list->v[i].map != NULL)
			map_free(list->v[i].map);
		if (list->v[i].site != NULL) {
			dnsbl_site_free(list->v[i].site);
			free(list->v[i].site);
		}
	}
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

int
policy_compile(const char *text, struct restriction_list *list_r, char **error_r)
{
	char *copy = xstrdup(text), *cursor = copy, *tok;
	size_t cap = 0;
	bool warn = false;

	list_r->v = NULL;
	list_r->n = 0;
	while ((tok = str_next_token(&cursor)) != NULL) {
		if (strcmp(tok, "warn_if_reject") == 0) {
			warn = true;
			continue;
		}
		const struct restriction_def *def = find_def(tok);
		if (def == NULL) {
			*error_r = xasprintf("unknown restriction \"%.80s\"", tok);
			goto fail;
		}
		list_r->v = xgrow(list_r->v, &cap, list_r->n + 1, sizeof(*list_r->v));
		struct restriction *r = &list_r->v[list_r->n++];
		memset(r, 0, sizeof(*r));
		r->def = def;
		r->warn_only = warn;
		warn = false;
		if (def->arg == ARG_SITE) {
			char *arg = str_next_token(&cursor);
			if (arg == NULL) {
				*error_r =
				    xasprintf("%s needs a list domain "
				              "(e.g. %s zen.example=127.0.0.[2..11])",
				              def->name, def->name);
				goto fail;
			}
			r->arg = xstrdup(arg);
			r->site = xcalloc(1, sizeof(*r->site));
			char *why = NULL;
			if (dnsbl_site_parse(arg, false, r->site, &why) != 0) {
				*error_r = xasprintf("%s %s: %s", def->name, arg, why);
				free(why);
				goto fail;
			}
		}
		if (def->arg == ARG_MAP) {
			char *arg = str_next_token(&cursor);
			if (arg == NULL) {
				*error_r = xasprintf("%s needs a table argument "
				                     "(e.g. cidr:/etc/postern/clients)",
				                     def->name);
				goto fail;
			}
			const char *colon = strchr(arg, ':');
			if (colon != NULL && colon[1] != '/') {
				*error_r =
				    xasprintf("%s %s: the table path must be absolute "
				              "(a reload runs from /)",
				              def->name, arg);
				goto fail;
			}
			r->arg = xstrdup(arg);
			if ((r->map = map_open(arg, error_r)) == NULL)
				goto fail;
		}
	}
	if (warn) {
		*error_r = xstrdup("warn_if_reject must be followed by a restriction");
		goto fail;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	policy_list_free(list_r);
	return -1;
}

/* Evaluating. */

static const char *
action_name(enum verdict_kind k)
{
	static const char *const names[] = {"dunno", "permit", "reject", "defer"};
	return names[k];
}

static void
report(struct policy_ctx *ctx, enum stage stage, const char *name,
       enum check_result result, const char *action, const char *detail, double ms)
{
	struct check_report row = {stage, name, result, action, detail, ms};

	if (ctx->report != NULL)
		ctx->report(ctx->report_arg, &row);
}

void
policy_report_row(struct policy_ctx *ctx, enum stage stage, const char *name,
                  enum check_result result, const char *action, const char *detail,
                  double ms)
{
	report(ctx, stage, name, result, action, detail, ms);
}

/* The first use of a restriction in the lists of the configuration, or
 * NULL (*list_r says which list). */
static const struct restriction *
find_use(const struct config *cfg, restriction_fn *fn, enum rlist *list_r)
{
	for (int l = 0; l < RL__COUNT; l++)
		for (size_t i = 0; i < cfg->lists[l].n; i++)
			if (cfg->lists[l].v[i].def->fn == fn) {
				if (list_r != NULL)
					*list_r = (enum rlist)l;
				return &cfg->lists[l].v[i];
			}
	return NULL;
}

static bool
configured(const struct config *cfg, restriction_fn *fn)
{
	return find_use(cfg, fn, NULL) != NULL;
}

bool
policy_uses(const struct config *cfg, const char *name)
{
	const struct restriction_def *def = find_def(name);

	return def != NULL && configured(cfg, def->fn);
}

static void
run_one(struct policy_ctx *ctx, const struct restriction *r, enum rlist list,
        enum stage stage, struct verdict *v)
{
	struct eval e = {.ctx = ctx, .r = r, .list = list, .stage = stage, .v = v};
	const char *action;
	double t0 = clock_ms();
	enum check_result res;

	memset(v, 0, sizeof(*v));
	res = r->def->fn(&e);
	action = action_name(v->kind);
	if (e.warn) {
		action = "warn";
	} else if (r->warn_only &&
	           (v->kind == VERDICT_REJECT || v->kind == VERDICT_DEFER)) {
		size_t used = strnlen(e.detail, sizeof(e.detail) - 1);
		snprintf(e.detail + used, sizeof(e.detail) - used,
		         "%swould have been: %u %s %s", used ? "; " : "", v->code,
		         v->xcode, v->text);
		action = "warn";
		v->kind = VERDICT_DUNNO;
	}
	double ms = clock_ms() - t0;
	if (!e.quiet || strcmp(action, "dunno") != 0)
		report(ctx, stage, r->def->name, res, action,
		       e.detail[0] ? e.detail : NULL, e.dns_ms > ms ? e.dns_ms : ms);
	v->check = r->def->name;
	v->stage = stage;
	v->temp = res == CHECK_TEMP;
	v->repeats = list == RL_CLIENT || list == RL_HELO || list == RL_SENDER;
}

/* Run one list; the first decisive verdict ends it. */
static void
eval_list(struct policy_ctx *ctx, enum rlist list, enum stage stage, struct verdict *v_r)
{
	const struct restriction_list *l = &ctx->cfg->lists[list];
	struct verdict v;

	memset(v_r, 0, sizeof(*v_r));
	for (size_t i = 0; i < l->n; i++) {
		/* Bans are decided at connect, whatever list names them. */
		if (l->v[i].def->fn == r_client_error_limit)
			continue;
		run_one(ctx, &l->v[i], list, stage, &v);
		if (v.kind != VERDICT_DUNNO) {
			*v_r = v;
			return;
		}
	}
}

const char *
policy_bypass_reason(const struct config *cfg, const struct facts *f)
{
	if (f->local_submission)
		return "local";
	if (f->client_ip.family != 0 &&
	    cidr_list_match(&cfg->internal_networks, &f->client_ip))
		return "internal";
	if (f->auth_authen != NULL && *f->auth_authen != '\0')
		return "authenticated";
	return NULL;
}

void
policy_new_message(struct policy_state *st)
{
	st->bypass_reported = false;
	st->repeat_counted = false;
	dnscheck_new_message(st);
	spfcheck_new_message(st);
	greylist_new_message(st);
}

void
policy_new_helo(struct policy_state *st)
{
	dnscheck_new_helo(st);
	spfcheck_new_helo(st);
}

void
policy_state_free(struct policy_state *st)
{
	dnscheck_state_free(st);
	spfcheck_state_free(st);
	greylist_state_free(st);
}

/* Run a list; true when its verdict ends the stage (REJECT or DEFER). */
static bool
refuses(struct policy_ctx *ctx, enum rlist list, enum stage stage, struct verdict *v_r)
{
	eval_list(ctx, list, stage, v_r);
	return v_r->kind == VERDICT_REJECT || v_r->kind == VERDICT_DEFER;
}

static void
decide(struct policy_ctx *ctx, enum stage stage, struct verdict *v_r)
{
	bool delay = ctx->cfg->delay_reject;

	memset(v_r, 0, sizeof(*v_r));
	switch (stage) {
	case STAGE_CONNECT: {
		/* A banned client is refused at connect, with or without
		 * delay_reject: 421 makes the MTA hang up. */
		enum rlist l;
		const struct restriction *ban =
		    find_use(ctx->cfg, r_client_error_limit, &l);
		if (ban != NULL) {
			run_one(ctx, ban, l, stage, v_r);
			if (v_r->kind == VERDICT_DEFER || v_r->kind == VERDICT_REJECT)
				return;
			memset(v_r, 0, sizeof(*v_r));
		}
		if (!delay)
			eval_list(ctx, RL_CLIENT, stage, v_r);
		return;
	}
	case STAGE_HELO:
		if (!delay)
			eval_list(ctx, RL_HELO, stage, v_r);
		return;
	case STAGE_MAIL:
		if (!delay)
			eval_list(ctx, RL_SENDER, stage, v_r);
		return;
	case STAGE_RCPT:
		/* As Postfix: with delay_reject the client, HELO and sender
		 * lists run again for each recipient. */
		if (delay && (refuses(ctx, RL_CLIENT, stage, v_r) ||
		              refuses(ctx, RL_HELO, stage, v_r) ||
		              refuses(ctx, RL_SENDER, stage, v_r)))
			return;
		eval_list(ctx, RL_RECIPIENT, stage, v_r);
		return;
	case STAGE_DATA:
		if (greylist_data(ctx, v_r))
			return;
		eval_list(ctx, RL_DATA, stage, v_r);
		return;
	case STAGE_EOM:
		return;
	}
}

/* Can a list refuse? Only the permit_* restrictions never do. */
static bool
list_may_refuse(const struct config *cfg, enum rlist l)
{
	for (size_t i = 0; i < cfg->lists[l].n; i++) {
		restriction_fn *fn = cfg->lists[l].v[i].def->fn;
		if (fn != r_permit && fn != r_permit_internal && fn != r_permit_sasl)
			return true;
	}
	return false;
}

/* Mirrors decide(): keep the two in step. */
bool
policy_stage_may_refuse(const struct config *cfg, enum stage stage)
{
	bool delay = cfg->delay_reject;

	switch (stage) {
	case STAGE_CONNECT:
		return configured(cfg, r_client_error_limit) ||
		       (!delay && list_may_refuse(cfg, RL_CLIENT));
	case STAGE_HELO:
		return !delay && list_may_refuse(cfg, RL_HELO);
	case STAGE_MAIL:
		return !delay && list_may_refuse(cfg, RL_SENDER);
	case STAGE_RCPT:
		return list_may_refuse(cfg, RL_RECIPIENT) ||
		       (delay && (list_may_refuse(cfg, RL_CLIENT) ||
		                  list_may_refuse(cfg, RL_HELO) ||
		                  list_may_refuse(cfg, RL_SENDER)));
	case STAGE_DATA:
		return configured(cfg, r_check_greylist) || list_may_refuse(cfg, RL_DATA);
	case STAGE_EOM:
		return true;
	}
	return true;
}

void
policy_stage(struct policy_ctx *ctx, enum stage stage, struct verdict *v_r)
{
	const char *why = policy_bypass_reason(ctx->cfg, ctx->facts);

	if (why != NULL) {
		memset(v_r, 0, sizeof(*v_r));
		if (!ctx->state->bypass_reported) {
			char detail[64];
			snprintf(detail, sizeof(detail),
			         "%s client: restrictions skipped", why);
			report(ctx, stage, "bypass", CHECK_SKIP, "none", detail, 0);
			if (configured(ctx->cfg, r_check_spf)) {
				snprintf(detail, sizeof(detail),
				         "%s client: SPF not checked", why);
				report(ctx, stage, "check_spf", CHECK_SKIP, "none",
				       detail, 0);
			}
			ctx->state->bypass_reported = true;
		}
		return;
	}
	dnscheck_prefetch(ctx, stage);
	decide(ctx, stage, v_r);
	if (v_r->kind == VERDICT_REJECT || v_r->kind == VERDICT_DEFER) {
		if (ctx->cfg->soft_bounce)
			reply_soft_bounce(v_r);
	}
}
