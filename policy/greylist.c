/*
 * greylist: the check_greylist restriction (see greylist.h).
 *
 * The restriction builds the triplet (client network or SPF domain,
 * normalised sender, recipient), skips the clients and recipients that
 * are never greylisted, and asks the store. The store's outcome becomes
 * the verdict and one check row whose detail starts with the outcome
 * ("new: ", "early: ", "passed: ", ...). A database that does not answer
 * in greylist_db_timeout makes the check TEMP and lets the mail through:
 * greylisting is a delay, not a judgement, and must never stop mail.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/greylist.h"
#include "lib/clock.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/conf.h"
#include "policy/dnscheck.h"
#include "policy/greylist.h"
#include "policy/policy_internal.h"
#include "policy/reply.h"
#include "policy/spfcheck.h"

struct greylist_state {
	int64_t delayed;    /* longest delay that ended in this message */
	bool data_defer;    /* a null-sender triplet is not through */
	bool data_warn;     /* ... and the restriction is warn_if_reject */
	int64_t data_wait;  /* seconds left for it */
	char data_why[300]; /* which triplet */
};

void
greylist_new_message(struct policy_state *st)
{
	if (st->gl != NULL)
		memset(st->gl, 0, sizeof(*st->gl));
}

void
greylist_state_free(struct policy_state *st)
{
	free(st->gl);
	st->gl = NULL;
}

static struct greylist_state *
state(struct policy_state *st)
{
	if (st->gl == NULL)
		st->gl = xcalloc(1, sizeof(*st->gl));
	return st->gl;
}

/* Sender normalisation. */

/* The part after the n-th occurrence of sep in s, or NULL. */
static const char *
after_nth(const char *s, const char *sep, int n)
{
	for (; n > 0; n--) {
		const char *p = strstr(s, sep);
		if (p == NULL)
			return NULL;
		s = p + strlen(sep);
	}
	return s;
}

/* SRS0=HASH=TT=domain=user: writes "user@domain" and returns true. */
static bool
srs0_unwrap(const char *fields, char *out, size_t len)
{
	const char *domain = after_nth(fields, "=", 2), *user;

	if (domain == NULL || (user = strchr(domain, '=')) == NULL || user == domain ||
	    user[1] == '\0')
		return false;
	snprintf(out, len, "%s@%.*s", user + 1, (int)(user - domain), domain);
	return true;
}

static bool
is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

const char *
greylist_normalize_sender(const char *sender, char *out, size_t len)
{
	char buf[512], local[512], domain[512];
	const char *at, *l;
	size_t o = 0;

	snprintf(buf, sizeof(buf), "%s", sender);
	str_lower(buf);
	at = strrchr(buf, '@');
	if (at == NULL) {
		snprintf(out, len, "%s", buf);
		return out;
	}
	snprintf(local, sizeof(local), "%.*s", (int)(at - buf), buf);
	snprintf(domain, sizeof(domain), "%s", at);
	/* SRS: the original sender is inside the local part. */
	if ((strncmp(local, "srs0", 4) == 0 || strncmp(local, "srs1", 4) == 0) &&
	    strchr("=+-", local[4]) != NULL && local[4] != '\0') {
		const char *fields =
		    local[3] == '0' ? local + 5 : after_nth(local + 5, "==", 1);
		char unwrapped[512];
		if (fields != NULL && srs0_unwrap(fields, unwrapped, sizeof(unwrapped))) {
			at = strrchr(unwrapped, '@');
			snprintf(local, sizeof(local), "%.*s", (int)(at - unwrapped),
			         unwrapped);
			snprintf(domain, sizeof(domain), "%s", at);
		}
	}
	/* BATV: prvs=TAG=user, msprvs1=TAG=user, btv1==TAG==user. */
	l = local;
	if (strncmp(l, "prvs=", 5) == 0 || strncmp(l, "msprvs1=", 8) == 0) {
		const char *u = after_nth(l, "=", 2);
		if (u != NULL && *u != '\0')
			l = u;
	} else if (strncmp(l, "btv1==", 6) == 0) {
		const char *u = after_nth(l + 6, "==", 1);
		if (u != NULL && *u != '\0')
			l = u;
	}
	/* VERP: drop "+ext"; a number that is a word becomes '#'. */
	for (size_t i = 0; l[i] != '\0' && l[i] != '+' && o + 1 < sizeof(local); i++) {
		if (isdigit((unsigned char)l[i]) && (i == 0 || !is_word(l[i - 1]))) {
			size_t j = i;
			while (isdigit((unsigned char)l[j]))
				j++;
			if (!is_word(l[j])) {
				buf[o++] = '#';
				i = j - 1;
				continue;
			}
		}
		buf[o++] = l[i];
	}
	buf[o] = '\0';
	snprintf(out, len, "%s%s", buf, domain);
	return out;
}

/* greylist_allow_recipients: "local@", "@domain" or the address. */
static bool
recipient_allowed(char **pats, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t local_len = at ? (size_t)(at - rcpt) : strlen(rcpt);

	for (size_t i = 0; pats != NULL && pats[i] != NULL; i++) {
		const char *p = pats[i];
		size_t plen = strlen(p);
		if (p[0] == '@') {
			if (at != NULL && strcasecmp(at, p) == 0)
				return true;
		} else if (p[plen - 1] == '@') {
			if (plen - 1 == local_len && strncasecmp(rcpt, p, local_len) == 0)
				return true;
		} else if (strcasecmp(rcpt, p) == 0) {
			return true;
		}
	}
	return false;
}

/* greylist_text with "{wait}" replaced by the seconds left. */
static void
retry_text(const char *tmpl, int64_t wait, char *out, size_t len)
{
	const char *p = strstr(tmpl, "{wait}");

	if (p == NULL)
		snprintf(out, len, "%s", tmpl);
	else
		snprintf(out, len, "%.*s%lld%s", (int)(p - tmpl), tmpl, (long long)wait,
		         p + 6);
}

static void
defer(struct eval *e, enum reply_object obj, int64_t wait)
{
	char text[400];

	retry_text(e->ctx->cfg->greylist_text, wait, text, sizeof(text));
	reply_set(e->v, e->ctx->facts, obj, 450, "4.7.1", text);
}

enum check_result
r_check_greylist(struct eval *e)
{
	struct policy_ctx *ctx = e->ctx;
	const struct config *cfg = ctx->cfg;
	const struct facts *f = ctx->facts;
	char client[300], network[IPADDR_STRLEN + 8], sender[512], rcpt[512], why[300],
	    clean[3][200];
	const char *spf_domain, *zone;
	struct gl_decision d;

	if (f->rcpt == NULL) {
		/* Listed before RCPT without delay_reject: nothing to key. */
		e->quiet = true;
		return CHECK_SKIP;
	}
	snprintf(rcpt, sizeof(rcpt), "%s", f->rcpt);
	str_lower(rcpt);
	if (recipient_allowed(cfg->greylist_allow_recipients, rcpt)) {
		eval_detail(e, "recipient %s is in greylist_allow_recipients",
		            str_sanitize(clean[0], sizeof(clean[0]), rcpt));
		return CHECK_SKIP;
	}
	if (client_list_match(&cfg->greylist_allow_clients, &f->client_ip,
	                      f->client_name)) {
		eval_detail(e, "client %s%s%s is in greylist_allow_clients",
		            f->client_name ? f->client_name : "",
		            f->client_name ? " " : "", f->client_addr);
		return CHECK_SKIP;
	}
	if ((zone = dnscheck_dnswl_zone(ctx)) != NULL) {
		eval_detail(e, "client %s is listed by the DNS allow-list %s",
		            f->client_addr, zone);
		return CHECK_SKIP;
	}
	if (f->client_ip.family == 0) {
		eval_detail(e, "client address unknown: not greylisted");
		return CHECK_SKIP;
	}
	ipaddr_network_text(&f->client_ip,
	                    f->client_ip.family == AF_INET ? cfg->greylist_ipv4_prefix
	                                                   : cfg->greylist_ipv6_prefix,
	                    network, sizeof(network));
	spf_domain = spfcheck_mail_pass_domain(ctx);
	if (spf_domain != NULL) {
		/* Keys compare as text: "Example.COM." is example.com. */
		snprintf(client, sizeof(client), "%s", spf_domain);
		size_t n = strlen(str_lower(client));
		if (n > 1 && client[n - 1] == '.')
			client[n - 1] = '\0';
	} else {
		snprintf(client, sizeof(client), "%s", network);
	}
	greylist_normalize_sender(f->sender ? f->sender : "", sender, sizeof(sender));

	struct gl_params p = {
	    .now = clock_now().tv_sec,
	    .delay = cfg->greylist_delay,
	    .retry_window = cfg->greylist_retry_window,
	    .max_age = cfg->greylist_max_age,
	    .auto_allow = cfg->greylist_auto_allow,
	    .known_domain_passes = spf_domain != NULL && cfg->greylist_allow_spf_known,
	    .network = spf_domain != NULL ? network : NULL,
	};
	str_sanitize(clean[0], sizeof(clean[0]), client);
	str_sanitize(clean[1], sizeof(clean[1]), sender);
	str_sanitize(clean[2], sizeof(clean[2]), rcpt);
	if (ctx->svc == NULL || ctx->svc->store == NULL) {
		eval_detail(e, "no greylist database: not greylisted (fail open)");
		return CHECK_TEMP;
	}
	if (gl_decide(ctx->svc->store, client, sender, rcpt, &p, &d, why, sizeof(why)) <
	    0) {
		eval_detail(e,
		            "no answer from the database: not greylisted (fail open): %s",
		            why);
		return CHECK_TEMP;
	}

	char triplet[700];
	snprintf(triplet, sizeof(triplet), "client=%s%s sender=<%s> rcpt=<%s>", clean[0],
	         spf_domain ? " (SPF pass)" : "", clean[1], clean[2]);
	enum check_result res = CHECK_PASS;
	switch (d.outcome) {
	case GL_NEW:
	case GL_EARLY:
		if (d.outcome == GL_NEW)
			eval_detail(e, "new: %s; retry after %llds", triplet,
			            (long long)d.wait);
		else
			eval_detail(e, "early: %s; attempt %u, %llds left of %us",
			            triplet, d.attempts, (long long)d.wait,
			            cfg->greylist_delay);
		if (f->sender != NULL && f->sender[0] == '\0') {
			/* Bounces and callouts: decided at DATA. */
			struct greylist_state *gs = state(ctx->state);
			if (!gs->data_defer || d.wait > gs->data_wait)
				gs->data_wait = d.wait;
			if (!gs->data_defer)
				snprintf(gs->data_why, sizeof(gs->data_why), "%.299s",
				         e->detail);
			gs->data_defer = true;
			gs->data_warn = e->r->warn_only;
			eval_detail(e, "null sender: decided at DATA");
			return CHECK_SKIP;
		}
		defer(e, OBJ_RECIPIENT, d.wait);
		res = CHECK_FAIL;
		break;
	case GL_PASSED: {
		struct greylist_state *gs = state(ctx->state);
		if (d.delayed > gs->delayed)
			gs->delayed = d.delayed;
		eval_detail(e, "passed: delayed %llds, attempt %u; %s",
		            (long long)d.delayed, d.attempts, triplet);
		break;
	}
	case GL_KNOWN:
		eval_detail(e, "known: %s; first seen %llds ago", triplet,
		            (long long)(p.now - d.first_seen));
		break;
	case GL_ALLOWED:
		eval_detail(e, "allowed: client %s allowed by %s", clean[0],
		            d.allowed_by);
		break;
	case GL_DOMAIN_KNOWN:
		eval_detail(e, "known domain: %s delivered before (SPF pass)", clean[0]);
		break;
	}
	if (d.auto_allowed_now)
		eval_detail(e, "client %s now allowed after %u deliveries", clean[0],
		            d.deliveries);
	return res;
}

bool
greylist_data(struct policy_ctx *ctx, struct verdict *v_r)
{
	struct greylist_state *gs = ctx->state->gl;
	char text[400], detail[400];

	if (gs == NULL || !gs->data_defer)
		return false;
	snprintf(detail, sizeof(detail), "null sender: %s", gs->data_why);
	if (gs->data_warn) {
		char would[900];
		retry_text(ctx->cfg->greylist_text, gs->data_wait, text, sizeof(text));
		snprintf(would, sizeof(would), "%s; would have been: 450 4.7.1 %s",
		         detail, text);
		policy_report_row(ctx, STAGE_DATA, "check_greylist", CHECK_FAIL, "warn",
		                  would, 0);
		return false;
	}
	retry_text(ctx->cfg->greylist_text, gs->data_wait, text, sizeof(text));
	memset(v_r, 0, sizeof(*v_r));
	reply_set(v_r, ctx->facts, OBJ_DATA, 450, "4.7.1", text);
	v_r->check = "check_greylist";
	v_r->stage = STAGE_DATA;
	policy_report_row(ctx, STAGE_DATA, "check_greylist", CHECK_FAIL, "defer", detail,
	                  0);
	return true;
}

bool
greylist_header(struct policy_ctx *ctx, char *buf, size_t len)
{
	struct greylist_state *gs = ctx->state->gl;
	struct timespec now = clock_now();
	char date[64];
	struct tm tm;

	if (gs == NULL || gs->delayed <= 0 || !ctx->cfg->greylist_header)
		return false;
	gmtime_r(&now.tv_sec, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(buf, len, "delayed %lld seconds by postern at %s; %s",
	         (long long)gs->delayed, ctx->cfg->myhostname, date);
	return true;
}
