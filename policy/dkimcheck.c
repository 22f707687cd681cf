/*
 * dkimcheck: rows, verdict and Authentication-Results for DKIM (see
 * dkimcheck.h). RFC 7372's codes: 5.7.20 when no signature passed, and
 * X.7.5 (a cryptographic failure) when a key could not be looked up.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/conf.h"
#include "policy/dkimcheck.h"
#include "policy/policy_internal.h"
#include "policy/reply.h"

/* Higher is better for the message. */
static int
rank(enum dkim_result r)
{
	switch (r) {
	case DKIM_R_PASS:
		return 6;
	case DKIM_R_TEMPERROR:
		return 5;
	case DKIM_R_FAIL:
		return 4;
	case DKIM_R_POLICY:
		return 3;
	case DKIM_R_NEUTRAL:
		return 2;
	case DKIM_R_PERMERROR:
		return 1;
	case DKIM_R_NONE:
		break;
	}
	return 0;
}

static enum check_result
row_result(enum dkim_result r)
{
	switch (r) {
	case DKIM_R_PASS:
		return CHECK_PASS;
	case DKIM_R_TEMPERROR:
		return CHECK_TEMP;
	case DKIM_R_NONE:
		return CHECK_SKIP;
	default:
		return CHECK_FAIL;
	}
}

/* "dkim=fail d=example.com s=sel a=rsa-sha256 b=AbCdEfGh i=@example.com
 * bits=2048 reason=..." */
static void
detail(const struct dkim_sig_result *r, char *buf, size_t len)
{
	const struct dkim_sig_info *in = &r->info;
	size_t used;

	str_printf(buf, len, "dkim=%s", dkim_result_name(r->result));
#define ADD(fmt, ...)                                                                    \
	do {                                                                             \
		used = strlen(buf);                                                      \
		str_printf(buf + used, len - used, fmt, __VA_ARGS__);                    \
	} while (0)
	if (in->d[0])
		ADD(" d=%s", in->d);
	if (in->s[0])
		ADD(" s=%s", in->s);
	if (in->a[0])
		ADD(" a=%s", in->a);
	if (in->b8[0])
		ADD(" b=%s", in->b8);
	if (in->i[0])
		ADD(" i=%s", in->i);
	if (r->bits > 0)
		ADD(" bits=%u", r->bits);
	if (in->has_l)
		ADD(" l=%lld", in->l);
	if (r->reason[0])
		ADD(" reason=%s", r->reason);
#undef ADD
}

static void
set_verdict(struct policy_ctx *ctx, const struct dkim_sig_result *best,
            enum result_action a, struct verdict *v)
{
	char text[400];
	const char *d = best != NULL && best->info.d[0] ? best->info.d : NULL;
	const char *why = best != NULL && best->reason[0] ? best->reason : NULL;
	enum dkim_result res = best != NULL ? best->result : DKIM_R_NONE;

	if (res == DKIM_R_NONE)
		str_printf(text, sizeof(text), "DKIM: the message has no signature");
	else if (res == DKIM_R_PASS)
		str_printf(text, sizeof(text), "DKIM: signature of %s passed",
		           d ? d : "?");
	else
		str_printf(text, sizeof(text), "DKIM %s%s%s%s%s", dkim_result_name(res),
		           d ? " for " : "", d ? d : "", why ? ": " : "", why ? why : "");
	for (char *p = text; *p != '\0'; p++)
		if (*p == '%') /* Sendmail reads a reply text as a format */
			*p = '?';
	if (a == ACT_REJECT)
		reply_set_raw(v, 550, res == DKIM_R_TEMPERROR ? "5.7.5" : "5.7.20", "%s",
		              text);
	else
		reply_set_raw(v, 451, res == DKIM_R_TEMPERROR ? "4.7.5" : "4.7.20", "%s",
		              text);
	v->check = "dkim";
	v->stage = STAGE_EOM;
	if (ctx->cfg->soft_bounce)
		reply_soft_bounce(v);
}

void
dkimcheck_verified(struct policy_ctx *ctx, const struct dkim_sig_result *r, size_t n,
                   double ms, struct verdict *v_r)
{
	const struct dkim_sig_result *best = NULL;
	enum dkim_result res = DKIM_R_NONE;
	enum result_action a;
	char buf[600];

	memset(v_r, 0, sizeof(*v_r));
	v_r->kind = VERDICT_DUNNO;
	for (size_t i = 0; i < n; i++)
		if (best == NULL || rank(r[i].result) > rank(best->result))
			best = &r[i];
	if (best != NULL)
		res = best->result;
	a = ctx->cfg->dkim_action[res];
	const char *action = a == ACT_REJECT  ? "reject"
	                     : a == ACT_DEFER ? "defer"
	                                      : "dunno";
	if (n == 0) {
		policy_report_row(ctx, STAGE_EOM, "dkim", CHECK_SKIP, action, "dkim=none",
		                  ms);
	} else {
		for (size_t i = 0; i < n; i++) {
			detail(&r[i], buf, sizeof(buf));
			policy_report_row(ctx, STAGE_EOM, "dkim", row_result(r[i].result),
			                  &r[i] == best ? action : "dunno", buf,
			                  i == 0 ? ms : 0);
		}
	}
	if (a != ACT_ACCEPT)
		set_verdict(ctx, best, a, v_r);
}

/* An RFC 8601 pvalue: a token (RFC 2045: no tspecials) as it is, else a
 * quoted-string. */
static void
put_pvalue(struct strbuf *b, const char *v)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (*p <= ' ' || *p > '~' || strchr("()<>@,;:\\\"/[]?=", *p) != NULL) {
			strbuf_quoted(b, v);
			return;
		}
	}
	strbuf_puts(b, v);
}

size_t
dkimcheck_authres(const struct dkim_sig_result *r, size_t n, char **out, size_t max)
{
	size_t k = 0;

	if (max == 0)
		return 0;
	if (n == 0) {
		out[k++] = xstrdup("dkim=none");
		return k;
	}
	for (size_t i = 0; i < n && k < max; i++) {
		const struct dkim_sig_info *in = &r[i].info;
		struct strbuf b = {0};
		strbuf_puts(&b, "dkim=");
		strbuf_puts(&b, dkim_result_name(r[i].result));
		if (r[i].reason[0] && r[i].result != DKIM_R_PASS) {
			strbuf_puts(&b, " reason=");
			strbuf_value(&b, r[i].reason, false);
		}
		const char *const names[] = {"header.d", "header.i", "header.s",
		                             "header.a", "header.b"};
		const char *const values[] = {in->d, in->i, in->s, in->a, in->b8};
		for (size_t t = 0; t < 5; t++) {
			if (values[t][0] == '\0')
				continue;
			strbuf_puts(&b, " ");
			strbuf_puts(&b, names[t]);
			strbuf_puts(&b, "=");
			if (t == 1 && values[t][0] == '@' &&
			    str_is_dot_atom(values[t] + 1, strlen(values[t] + 1)))
				strbuf_puts(&b,
				            values[t]); /* "@domain": RFC 8601 pvalue */
			else if (t == 1)
				strbuf_value(&b, values[t], true);
			else
				put_pvalue(&b, values[t]);
		}
		out[k++] = b.s;
	}
	return k;
}

void
dkimcheck_signed(struct policy_ctx *ctx, const struct dkim_made *made, size_t n,
                 double ms)
{
	char buf[400];

	for (size_t i = 0; i < n; i++) {
		if (made[i].value != NULL)
			str_printf(buf, sizeof(buf), "d=%s s=%s a=%s", made[i].d,
			           made[i].s, made[i].a);
		else
			str_printf(buf, sizeof(buf), "d=%s s=%s a=%s reason=%s",
			           made[i].d, made[i].s, made[i].a, made[i].reason);
		policy_report_row(ctx, STAGE_EOM, "dkim_sign",
		                  made[i].value != NULL ? CHECK_PASS : CHECK_FAIL, "none",
		                  buf, i == 0 ? ms : 0);
	}
}
