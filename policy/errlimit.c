/*
 * errlimit: check_client_error_limit (see greylist.h).
 *
 * The counts live in memory, per client address: the times of its
 * recent rejections, oldest first, trimmed to client_error_window. A
 * client past the limit is banned in the database (client_bans), so a
 * ban survives a restart and posternctl can list and lift it; the count
 * starts over at the ban, so a lifted ban gives the client a clean
 * slate. Addresses whose newest rejection has left the window are swept
 * out every SWEEP_EVERY counts, which bounds the table by the clients
 * rejected within one window.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/greylist.h"
#include "lib/clock.h"
#include "lib/ipaddr.h"
#include "lib/xalloc.h"
#include "policy/conf.h"
#include "policy/greylist.h"
#include "policy/policy_internal.h"
#include "policy/reply.h"

#define NBUCKETS 4096
#define SWEEP_EVERY 4096

struct errclient {
	struct errclient *next;
	char addr[IPADDR_STRLEN];
	int64_t *times; /* oldest first */
	size_t n, cap;
};

struct errlimit {
	pthread_mutex_t lock;
	struct errclient *buckets[NBUCKETS];
	unsigned since_sweep;
};

struct errlimit *
errlimit_new(void)
{
	struct errlimit *el = xcalloc(1, sizeof(*el));

	pthread_mutex_init(&el->lock, NULL);
	return el;
}

static void
client_free(struct errclient *c)
{
	free(c->times);
	free(c);
}

void
errlimit_free(struct errlimit *el)
{
	if (el == NULL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		while (el->buckets[i] != NULL) {
			struct errclient *c = el->buckets[i];
			el->buckets[i] = c->next;
			client_free(c);
		}
	}
	pthread_mutex_destroy(&el->lock);
	free(el);
}

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

/* Drop the times before cut. */
static void
trim(struct errclient *c, int64_t cut)
{
	size_t k = 0;

	while (k < c->n && c->times[k] < cut)
		k++;
	if (k == 0)
		return;
	memmove(c->times, c->times + k, (c->n - k) * sizeof(*c->times));
	c->n -= k;
}

/* Under lock: forget the clients with nothing left in the window. */
static void
sweep(struct errlimit *el, int64_t cut)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		for (struct errclient **pp = &el->buckets[i]; *pp != NULL;) {
			struct errclient *c = *pp;
			trim(c, cut);
			if (c->n == 0) {
				*pp = c->next;
				client_free(c);
			} else {
				pp = &c->next;
			}
		}
	}
}

unsigned
errlimit_count(struct errlimit *el, const char *addr, int64_t now, unsigned window,
               unsigned limit)
{
	int64_t cut = now - (int64_t)window;
	struct errclient *c, **pp;
	unsigned count;

	pthread_mutex_lock(&el->lock);
	if (++el->since_sweep >= SWEEP_EVERY) {
		el->since_sweep = 0;
		sweep(el, cut);
	}
	pp = &el->buckets[hash(addr)];
	for (c = *pp; c != NULL && strcmp(c->addr, addr) != 0; c = c->next)
		;
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		snprintf(c->addr, sizeof(c->addr), "%s", addr);
		c->next = *pp;
		*pp = c;
	}
	trim(c, cut);
	/* The count only needs to reach limit + 1: keep no more times. */
	if (c->n > limit)
		c->n = limit;
	c->times = xgrow(c->times, &c->cap, c->n + 1, sizeof(*c->times));
	c->times[c->n++] = now;
	count = (unsigned)c->n;
	if (count > limit)
		c->n = 0; /* banned: start over */
	pthread_mutex_unlock(&el->lock);
	return count;
}

unsigned
errlimit_note_reply(struct policy_ctx *ctx, const struct verdict *v)
{
	const struct config *cfg = ctx->cfg;
	const struct facts *f = ctx->facts;
	int64_t now;
	unsigned n;

	if (v->kind != VERDICT_REJECT && v->kind != VERDICT_DEFER)
		return 0;
	if (!policy_uses(cfg, "check_client_error_limit") || f->client_addr[0] == '\0' ||
	    policy_bypass_reason(cfg, f) != NULL)
		return 0;
	/* A greylisting deferral is not the client's error, and a banned
	 * client is already refused. */
	if (v->check != NULL && (strcmp(v->check, "check_greylist") == 0 ||
	                         strcmp(v->check, "check_client_error_limit") == 0))
		return 0;
	/* Our own temporary failure (a DNS timeout) is not the client's
	 * error; nor is a client, HELO or sender refusal repeated at each
	 * RCPT by delay_reject counted more than once a message. */
	if (v->temp)
		return cfg->error_sleep_time;
	if (v->repeats) {
		if (ctx->state->repeat_counted)
			return cfg->error_sleep_time;
		ctx->state->repeat_counted = true;
	}
	if (ctx->svc == NULL || ctx->svc->errors == NULL)
		return cfg->error_sleep_time;
	now = clock_now().tv_sec;
	n = errlimit_count(ctx->svc->errors, f->client_addr, now,
	                   cfg->client_error_window, cfg->client_error_limit);
	if (n > cfg->client_error_limit) {
		char reason[200], detail[600], why[300];
		int64_t until = now + (int64_t)cfg->client_ban_time;

		snprintf(reason, sizeof(reason),
		         "%u rejections within %us, the last %u %s", n,
		         cfg->client_error_window, v->code, v->xcode);
		if (ctx->svc->store == NULL ||
		    gl_ban_add(ctx->svc->store, f->client_addr, now, until, n, reason,
		               why, sizeof(why)) < 0) {
			snprintf(detail, sizeof(detail), "ban: %s; not stored: %s",
			         reason, ctx->svc->store ? why : "no database");
			policy_report_row(ctx, v->stage, "check_client_error_limit",
			                  CHECK_TEMP, "none", detail, 0);
		} else {
			snprintf(detail, sizeof(detail), "ban: %s; %s banned for %us",
			         reason, f->client_addr, cfg->client_ban_time);
			policy_report_row(ctx, v->stage, "check_client_error_limit",
			                  CHECK_FAIL, "none", detail, 0);
		}
	}
	return cfg->error_sleep_time;
}

enum check_result
r_client_error_limit(struct eval *e)
{
	struct policy_ctx *ctx = e->ctx;
	const struct facts *f = ctx->facts;
	struct gl_ban ban;
	char why[300], until[32];
	int rc;

	if (f->client_addr[0] == '\0') {
		eval_detail(e, "client address unknown");
		return CHECK_SKIP;
	}
	if (ctx->svc == NULL || ctx->svc->store == NULL) {
		eval_detail(e, "no database: bans not checked");
		return CHECK_TEMP;
	}
	rc = gl_ban_lookup(ctx->svc->store, f->client_addr, clock_now().tv_sec, &ban, why,
	                   sizeof(why));
	if (rc < 0) {
		eval_detail(e, "bans not checked (fail open): %s", why);
		return CHECK_TEMP;
	}
	if (rc == 0) {
		eval_detail(e, "%s is not banned", f->client_addr);
		return CHECK_PASS;
	}
	time_t t = (time_t)ban.until;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	eval_detail(e, "%s is banned until %s: %s", f->client_addr, until, ban.reason);
	reply_set_raw(e->v, 421, "4.7.0", "Too many errors from [%s]; try again later",
	              f->client_addr);
	return CHECK_FAIL;
}
