/*
 * dnscheck: Postfix's DNS restrictions over postern's resolver.
 *
 * Every answer a check uses comes from a memo (per connection, per HELO,
 * per message) that the stage's prefetch batch fills in parallel; a
 * check whose answer is missing asks for it alone. A TEMP answer is
 * never read as "not found": each check turns it into a deferral (or,
 * for DNS lists with dnsbl_temp_action = dunno, a logged temp row).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns/dnsbl.h"
#include "dns/resolver.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/conf.h"
#include "policy/dnscheck.h"
#include "policy/policy_internal.h"
#include "policy/reply.h"
#include "policy/syntax.h"

/* PTR names we try to confirm; more are ignored (RFC 8601 §3 suggests
 * a bound). */
#define PTR_NAMES_MAX 10
/* Answers one memo keeps before the next stage empties it (a message
 * with thousands of recipient domains). */
#define MEMO_MAX 2048

struct memo_entry {
	char *name;
	uint16_t type;
	struct dns_answer *a; /* NULL while its query is in flight */
};

struct memo {
	struct memo_entry **v;
	size_t n, cap;
};

struct dnscheck_state {
	struct memo conn, helo, msg;
	bool iprev_done;
	struct iprev iprev;
	char ptr_name[256], name[256];
	char dnswl_zone[256], dnswl_ip[IPADDR_STRLEN];
	char ar_iprev[600], ar_dnswl[400];
};

static void
memo_clear(struct memo *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i]->name);
		dns_answer_free(m->v[i]->a);
		free(m->v[i]);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static struct memo_entry *
memo_find(struct memo *m, const char *name, uint16_t type)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->type == type && strcasecmp(m->v[i]->name, name) == 0)
			return m->v[i];
	return NULL;
}

static struct memo_entry *
memo_add(struct memo *m, const char *name, uint16_t type)
{
	struct memo_entry *e = xcalloc(1, sizeof(*e));

	e->name = xstrdup(name);
	e->type = type;
	m->v = xgrow(m->v, &m->cap, m->n + 1, sizeof(*m->v));
	m->v[m->n++] = e;
	return e;
}

static struct dnscheck_state *
state(struct policy_ctx *ctx)
{
	if (ctx->state->dns == NULL)
		ctx->state->dns = xcalloc(1, sizeof(*ctx->state->dns));
	return ctx->state->dns;
}

void
dnscheck_new_helo(struct policy_state *st)
{
	if (st->dns != NULL)
		memo_clear(&st->dns->helo);
}

void
dnscheck_new_message(struct policy_state *st)
{
	if (st->dns != NULL)
		memo_clear(&st->dns->msg);
}

void
dnscheck_state_free(struct policy_state *st)
{
	if (st->dns == NULL)
		return;
	memo_clear(&st->dns->conn);
	memo_clear(&st->dns->helo);
	memo_clear(&st->dns->msg);
	free(st->dns);
	st->dns = NULL;
}

/* The memo of the facts a stage brings. */
static struct memo *
memo_for(struct policy_ctx *ctx, enum stage object)
{
	struct dnscheck_state *s = state(ctx);

	switch (object) {
	case STAGE_CONNECT:
		return &s->conn;
	case STAGE_HELO:
		return &s->helo;
	default:
		return &s->msg;
	}
}

/* An answer from the memo, or looked up now. Never NULL; owned by the
 * memo. */
static const struct dns_answer *
answer(struct policy_ctx *ctx, struct memo *m, const char *name, uint16_t type)
{
	struct memo_entry *e = memo_find(m, name, type);

	if (e != NULL && e->a != NULL)
		return e->a;
	if (e == NULL)
		e = memo_add(m, name, type);
	e->a = dns_lookup(ctx->cfg->resolver, name, type, 0);
	return e->a;
}

/* Prefetching. */

struct fetch;
typedef void then_fn(struct dns_batch *b, struct fetch *f, const struct dns_answer *a);

struct fetch {
	struct policy_ctx *ctx;
	struct memo *m;
	struct memo_entry *e;
	then_fn *then;
	const struct dnsbl_site *site;
};

static void
fetched(struct dns_batch *b, void *arg, struct dns_answer *a)
{
	struct fetch *f = arg;

	f->e->a = a;
	if (f->then != NULL)
		f->then(b, f, a);
	free(f);
}

static void
fetch(struct policy_ctx *ctx, struct memo *m, struct dns_batch *b, const char *name,
      uint16_t type, then_fn *then, const struct dnsbl_site *site)
{
	struct fetch *f;

	if (memo_find(m, name, type) != NULL)
		return;
	f = xcalloc(1, sizeof(*f));
	f->ctx = ctx;
	f->m = m;
	f->e = memo_add(m, name, type);
	f->then = then;
	f->site = site;
	dns_batch_add(b, name, type, fetched, f);
}

static uint16_t
addr_type(const struct ipaddr *ip)
{
	return ip->family == AF_INET6 ? DNS_T_AAAA : DNS_T_A;
}

static bool
usable_ptr(const struct dns_rr *rr)
{
	return rr->type == DNS_T_PTR && syntax_hostname_valid(rr->text, NULL);
}

/* A PTR answer came: ask for the addresses of its names. */
static void
then_forward(struct dns_batch *b, struct fetch *f, const struct dns_answer *a)
{
	size_t n = 0;

	for (size_t i = 0; a->status == DNS_OK && i < a->nrr && n < PTR_NAMES_MAX; i++) {
		if (!usable_ptr(&a->rr[i]))
			continue;
		fetch(f->ctx, f->m, b, a->rr[i].text,
		      addr_type(&f->ctx->facts->client_ip), NULL, NULL);
		n++;
	}
}

/* A list answered: when it lists us, ask for its reason too. */
static void
then_txt(struct dns_batch *b, struct fetch *f, const struct dns_answer *a)
{
	if (dnsbl_classify(f->site, a, NULL, NULL, 0) == DNSBL_LISTED)
		fetch(f->ctx, f->m, b, a->qname, DNS_T_TXT, NULL, NULL);
}

static void
prefetch_iprev(struct policy_ctx *ctx, struct dns_batch *b)
{
	char name[128];

	if (ctx->facts->client_ip.family == 0 ||
	    dnsbl_reverse_name(&ctx->facts->client_ip, NULL, name, sizeof(name)) == NULL)
		return;
	fetch(ctx, &state(ctx)->conn, b, name, DNS_T_PTR, then_forward, NULL);
}

static void
prefetch_site(struct policy_ctx *ctx, struct dns_batch *b, const struct dnsbl_site *site)
{
	char name[300];

	if (ctx->facts->client_ip.family == 0 ||
	    dnsbl_reverse_name(&ctx->facts->client_ip, site->domain, name,
	                       sizeof(name)) == NULL)
		return;
	fetch(ctx, &state(ctx)->conn, b, name, DNS_T_A, then_txt, site);
}

/* Restrictions on the client's names: its PTR and their addresses. */
void
p_client_names(struct policy_ctx *ctx, const struct restriction *r, struct dns_batch *b)
{
	(void)r;
	prefetch_iprev(ctx, b);
}

/* A DNS list about the client address. */
void
p_client_list(struct policy_ctx *ctx, const struct restriction *r, struct dns_batch *b)
{
	prefetch_site(ctx, b, r->site);
}

void
p_dnsbl_score(struct policy_ctx *ctx, const struct restriction *r, struct dns_batch *b)
{
	(void)r;
	for (size_t i = 0; i < ctx->cfg->ndnsbl_sites; i++)
		prefetch_site(ctx, b, &ctx->cfg->dnsbl_sites[i]);
}

/* The name a HELO, sender or recipient check asks about, without a final
 * dot; NULL when there is none to ask (literal, null sender, no domain). */
static const char *
object_name(struct policy_ctx *ctx, enum stage object, char *buf, size_t len)
{
	const struct facts *f = ctx->facts;
	const char *name;

	switch (object) {
	case STAGE_HELO:
		name = f->helo;
		break;
	case STAGE_MAIL:
		name = f->sender ? syntax_address_domain(f->sender) : NULL;
		break;
	case STAGE_RCPT:
		name = f->rcpt ? syntax_address_domain(f->rcpt) : NULL;
		break;
	default:
		return NULL;
	}
	if (name == NULL || *name == '\0' || syntax_is_literal(name) ||
	    strlen(name) >= len)
		return NULL;
	syntax_strip_dot(name, buf, len);
	if (!syntax_hostname_valid(buf, NULL))
		return NULL;
	return buf;
}

void
p_host(struct policy_ctx *ctx, const struct restriction *r, struct dns_batch *b)
{
	char buf[256];
	const char *name = object_name(ctx, r->def->object, buf, sizeof(buf));
	struct memo *m = memo_for(ctx, r->def->object);

	if (name == NULL)
		return;
	fetch(ctx, m, b, name, DNS_T_A, NULL, NULL);
	fetch(ctx, m, b, name, DNS_T_AAAA, NULL, NULL);
	fetch(ctx, m, b, name, DNS_T_MX, NULL, NULL);
}

void
p_rhsbl(struct policy_ctx *ctx, const struct restriction *r, struct dns_batch *b)
{
	char buf[256], q[300];
	const char *name = object_name(ctx, r->def->object, buf, sizeof(buf));

	if (name != NULL && dnsbl_name_query(name, r->site->domain, q, sizeof(q)) != NULL)
		fetch(ctx, memo_for(ctx, r->def->object), b, q, DNS_T_A, then_txt,
		      r->site);
}

void
dnscheck_prefetch(struct policy_ctx *ctx, enum stage stage)
{
	struct dns_batch *b = dns_batch_new(ctx->cfg->resolver);
	struct memo *m = memo_for(ctx, stage);

	/* Answers are borrowed only while one restriction runs, so a memo
	 * can be emptied between stages. */
	if (m->n > MEMO_MAX)
		memo_clear(m);
	if (stage == STAGE_CONNECT && ctx->want_iprev)
		prefetch_iprev(ctx, b);
	for (int l = 0; l < RL__COUNT; l++) {
		const struct restriction_list *list = &ctx->cfg->lists[l];
		for (size_t i = 0; i < list->n; i++) {
			const struct restriction *r = &list->v[i];
			if (r->def->prefetch != NULL && r->def->object == stage)
				r->def->prefetch(ctx, r, b);
		}
	}
	dns_batch_run(b, 0);
	dns_batch_free(b);
}

/* Reverse DNS. */

static const char *const iprev_names[] = {"pass", "fail", "temperror"};

const char *
iprev_result_name(enum iprev_result r)
{
	return iprev_names[r];
}

static bool
has_addr(const struct dns_answer *a, const struct ipaddr *ip)
{
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++)
		if (ipaddr_equal(&a->rr[i].addr, ip))
			return true;
	return false;
}

static void
iprev_compute(struct policy_ctx *ctx, struct dnscheck_state *s)
{
	const struct ipaddr *ip = &ctx->facts->client_ip;
	const char *addr = ctx->facts->client_addr;
	struct iprev *ir = &s->iprev;
	char rev[128];
	bool temp = false;
	size_t names = 0;
	char tried[300] = "";

	s->iprev_done = true;
	dnsbl_reverse_name(ip, NULL, rev, sizeof(rev));
	const struct dns_answer *ptr = answer(ctx, &s->conn, rev, DNS_T_PTR);
	ir->ms = ptr->ms;
	if (ptr->status == DNS_TEMP) {
		ir->result = IPREV_TEMP;
		snprintf(ir->detail, sizeof(ir->detail), "PTR %s: %s", addr, ptr->reason);
		return;
	}
	for (size_t i = 0; ptr->status == DNS_OK && i < ptr->nrr && names < PTR_NAMES_MAX;
	     i++) {
		const char *name = ptr->rr[i].text;
		if (!usable_ptr(&ptr->rr[i]))
			continue;
		if (names++ == 0) {
			snprintf(s->ptr_name, sizeof(s->ptr_name), "%s", name);
			ir->ptr_name = s->ptr_name;
		}
		const struct dns_answer *fwd = answer(ctx, &s->conn, name, addr_type(ip));
		if (ptr->ms + fwd->ms > ir->ms)
			ir->ms = ptr->ms + fwd->ms;
		if (has_addr(fwd, ip)) {
			snprintf(s->name, sizeof(s->name), "%s", name);
			ir->name = s->name;
			ir->result = IPREV_PASS;
			snprintf(ir->detail, sizeof(ir->detail),
			         "PTR %s: %s, which resolves back", addr, name);
			return;
		}
		if (fwd->status == DNS_TEMP)
			temp = true;
		size_t used = strlen(tried);
		snprintf(tried + used, sizeof(tried) - used, "%s%s (%s)",
		         used ? ", " : "", name,
		         fwd->status == DNS_TEMP ? fwd->reason
		         : fwd->status == DNS_OK ? "other addresses"
		                                 : dns_status_name(fwd->status));
	}
	if (names == 0) {
		ir->result = IPREV_FAIL;
		snprintf(ir->detail, sizeof(ir->detail), "PTR %s: %s", addr,
		         ptr->status == DNS_OK ? "no valid host name"
		                               : dns_status_name(ptr->status));
		return;
	}
	ir->result = temp ? IPREV_TEMP : IPREV_FAIL;
	snprintf(ir->detail, sizeof(ir->detail), "PTR %s: %s", addr, tried);
}

const struct iprev *
dnscheck_iprev(struct policy_ctx *ctx)
{
	struct dnscheck_state *s = state(ctx);

	if (ctx->facts->client_ip.family == 0)
		return NULL;
	if (!s->iprev_done)
		iprev_compute(ctx, s);
	return &s->iprev;
}

size_t
dnscheck_authres(struct policy_ctx *ctx, const char **methods, size_t max)
{
	struct dnscheck_state *s = state(ctx);
	const struct iprev *ir = dnscheck_iprev(ctx);
	size_t n = 0;

	if (ir != NULL && n < max) {
		const char *comment = ir->name ? ir->name : ir->ptr_name;
		if (ir->result == IPREV_TEMP)
			comment = NULL;
		snprintf(s->ar_iprev, sizeof(s->ar_iprev),
		         "iprev=%s policy.iprev=%s%s%s%s", iprev_result_name(ir->result),
		         ctx->facts->client_addr, comment ? " (" : "",
		         comment ? comment : "", comment ? ")" : "");
		methods[n++] = s->ar_iprev;
	}
	if (s->dnswl_zone[0] != '\0' && n < max) {
		snprintf(s->ar_dnswl, sizeof(s->ar_dnswl),
		         "dnswl=pass dns.zone=%s policy.ip=%s", s->dnswl_zone,
		         s->dnswl_ip);
		methods[n++] = s->ar_dnswl;
	}
	return n;
}

static enum check_result
no_client(struct eval *e)
{
	eval_detail(e, "client address unknown");
	return CHECK_SKIP;
}

enum check_result
r_unknown_reverse_client(struct eval *e)
{
	struct policy_ctx *ctx = e->ctx;
	const struct iprev *ir = dnscheck_iprev(ctx);

	if (ir == NULL)
		return no_client(e);
	e->dns_ms = ir->ms;
	if (ir->ptr_name != NULL) {
		eval_detail(e, "PTR %s: %s", ctx->facts->client_addr, ir->ptr_name);
		return CHECK_PASS;
	}
	bool temp = ir->result == IPREV_TEMP;
	eval_detail(e, "%s", ir->detail);
	reply_set_raw(e->v, temp ? 450 : ctx->cfg->unknown_client_reject_code, "4.7.1",
	              "Client host rejected: cannot find your reverse hostname, [%s]",
	              ctx->facts->client_addr);
	return temp ? CHECK_TEMP : CHECK_FAIL;
}

enum check_result
r_unknown_client(struct eval *e)
{
	struct policy_ctx *ctx = e->ctx;
	const struct iprev *ir = dnscheck_iprev(ctx);

	if (ir == NULL)
		return no_client(e);
	e->dns_ms = ir->ms;
	eval_detail(e, "%s", ir->detail);
	if (ir->result == IPREV_PASS)
		return CHECK_PASS;
	bool temp = ir->result == IPREV_TEMP;
	reply_set_raw(e->v, temp ? 450 : ctx->cfg->unknown_client_reject_code, "4.7.25",
	              "Client host rejected: cannot find your hostname, [%s]",
	              ctx->facts->client_addr);
	return temp ? CHECK_TEMP : CHECK_FAIL;
}

/* DNS lists. */

/* The list's reason (its TXT record), or "". */
static const char *
list_reason(struct policy_ctx *ctx, struct memo *m, const char *qname)
{
	const struct dns_answer *txt = answer(ctx, m, qname, DNS_T_TXT);

	for (size_t i = 0; txt->status == DNS_OK && i < txt->nrr; i++)
		if (txt->rr[i].text != NULL && txt->rr[i].text[0] != '\0')
			return txt->rr[i].text;
	return "";
}

/* Ask one list about qname and judge the answer. Fills the verdict for a
 * listing (REJECT) and a temporary failure (DEFER, when configured).
 * what/class name the object in the reply: "Client host [192.0.2.1]". */
static enum check_result
ask_list(struct eval *e, struct memo *m, const struct dnsbl_site *site, const char *qname,
         const char *class, const char *what, bool allow, struct ipaddr *match_r)
{
	struct policy_ctx *ctx = e->ctx;
	const struct dns_answer *a = answer(ctx, m, qname, DNS_T_A);
	char detail[300];
	struct ipaddr match = {0};

	e->dns_ms = a->ms;
	switch (dnsbl_classify(site, a, &match, detail, sizeof(detail))) {
	case DNSBL_NOT_LISTED:
		eval_detail(e, "%s: %s", qname, detail);
		return CHECK_PASS;
	case DNSBL_LIST_ERROR:
		/* "Your queries are blocked" is no verdict on the client. */
		eval_detail(e, "%s: list error: %s", qname, detail);
		return CHECK_TEMP;
	case DNSBL_TEMP:
		eval_detail(e, "%s: %s", qname, detail);
		if (!allow && ctx->cfg->dnsbl_temp_defer)
			reply_set_raw(
			    e->v, ctx->cfg->defer_code, "4.7.1",
			    "Service unavailable; %s [%s] not checked against %s: "
			    "temporary DNS failure",
			    class, what, site->domain);
		return CHECK_TEMP;
	case DNSBL_LISTED:
		break;
	}
	eval_detail(e, "%s: %s", qname, detail);
	if (match_r != NULL)
		*match_r = match;
	if (allow)
		return CHECK_PASS;
	const char *reason = list_reason(ctx, m, qname);
	reply_set_raw(e->v, ctx->cfg->maps_rbl_reject_code, "5.7.1",
	              "Service unavailable; %s [%s] blocked using %s%s%s", class, what,
	              site->domain, *reason ? "; " : "", reason);
	return CHECK_FAIL;
}

static void
note_dnswl(struct policy_ctx *ctx, const struct dnsbl_site *site, const struct ipaddr *ip)
{
	struct dnscheck_state *s = state(ctx);

	if (s->dnswl_zone[0] != '\0')
		return;
	snprintf(s->dnswl_zone, sizeof(s->dnswl_zone), "%s", site->domain);
	ipaddr_format(ip, s->dnswl_ip, sizeof(s->dnswl_ip));
}

const char *
dnscheck_dnswl_zone(struct policy_ctx *ctx)
{
	struct dnscheck_state *s = ctx->state->dns;

	return s != NULL && s->dnswl_zone[0] != '\0' ? s->dnswl_zone : NULL;
}

static enum check_result
client_list(struct eval *e, bool allow)
{
	struct policy_ctx *ctx = e->ctx;
	const struct dnsbl_site *site = e->r->site;
	char q[300];
	struct ipaddr match = {0};

	if (ctx->facts->client_ip.family == 0)
		return no_client(e);
	if (dnsbl_reverse_name(&ctx->facts->client_ip, site->domain, q, sizeof(q)) ==
	    NULL) {
		eval_detail(e, "%s: query name too long", site->domain);
		return CHECK_SKIP;
	}
	enum check_result res = ask_list(e, &state(ctx)->conn, site, q, "Client host",
	                                 ctx->facts->client_addr, allow, &match);
	if (allow && match.family != 0) {
		note_dnswl(ctx, site, &match);
		e->v->kind = VERDICT_PERMIT;
	}
	return res;
}

enum check_result
r_rbl_client(struct eval *e)
{
	return client_list(e, false);
}

enum check_result
r_dnswl_client(struct eval *e)
{
	return client_list(e, true);
}

/* A name list (RHSBL) about one name. */
static enum check_result
name_list(struct eval *e, enum stage object, const char *name, const char *class,
          const char *missing)
{
	char q[300];

	if (name == NULL) {
		eval_detail(e, "%s", missing);
		return CHECK_SKIP;
	}
	if (dnsbl_name_query(name, e->r->site->domain, q, sizeof(q)) == NULL) {
		eval_detail(e, "%s.%s: query name too long", name, e->r->site->domain);
		return CHECK_SKIP;
	}
	return ask_list(e, memo_for(e->ctx, object), e->r->site, q, class, name, false,
	                NULL);
}

enum check_result
r_rhsbl_client(struct eval *e)
{
	const struct iprev *ir = dnscheck_iprev(e->ctx);

	if (ir == NULL)
		return no_client(e);
	return name_list(e, STAGE_CONNECT, ir->name, "Client host",
	                 "client name not verified");
}

enum check_result
r_rhsbl_reverse_client(struct eval *e)
{
	const struct iprev *ir = dnscheck_iprev(e->ctx);

	if (ir == NULL)
		return no_client(e);
	return name_list(e, STAGE_CONNECT, ir->ptr_name, "Unverified Client host",
	                 "client has no PTR name");
}

enum check_result
r_rhsbl_helo(struct eval *e)
{
	char buf[256];

	return name_list(e, STAGE_HELO, object_name(e->ctx, STAGE_HELO, buf, sizeof(buf)),
	                 "Helo command", "no HELO host name");
}

enum check_result
r_rhsbl_sender(struct eval *e)
{
	char buf[256];

	return name_list(e, STAGE_MAIL, object_name(e->ctx, STAGE_MAIL, buf, sizeof(buf)),
	                 "Sender address", "no sender domain");
}

enum check_result
r_rhsbl_recipient(struct eval *e)
{
	char buf[256];

	return name_list(e, STAGE_RCPT, object_name(e->ctx, STAGE_RCPT, buf, sizeof(buf)),
	                 "Recipient address", "no recipient domain");
}

/* postscreen's weighted sum over dnsbl_sites. TEMP lists make the score
 * uncertain: it is decided only when every possible outcome agrees. */
enum check_result
r_dnsbl_score(struct eval *e)
{
	struct policy_ctx *ctx = e->ctx;
	const struct config *cfg = ctx->cfg;
	int score = 0, temp_pos = 0, temp_neg = 0;
	char listed[600] = "", q[300];
	double ms = 0;

	if (ctx->facts->client_ip.family == 0)
		return no_client(e);
	if (cfg->ndnsbl_sites == 0) {
		eval_detail(e, "dnsbl_sites is empty");
		return CHECK_SKIP;
	}
	for (size_t i = 0; i < cfg->ndnsbl_sites; i++) {
		const struct dnsbl_site *site = &cfg->dnsbl_sites[i];
		struct ipaddr match;
		char detail[300];
		if (dnsbl_reverse_name(&ctx->facts->client_ip, site->domain, q,
		                       sizeof(q)) == NULL)
			continue;
		const struct dns_answer *a = answer(ctx, &state(ctx)->conn, q, DNS_T_A);
		if (a->ms > ms)
			ms = a->ms;
		enum dnsbl_result res =
		    dnsbl_classify(site, a, &match, detail, sizeof(detail));
		eval_detail(e, "%s: %s", site->text, detail);
		if (res == DNSBL_TEMP) {
			if (site->weight > 0)
				temp_pos += site->weight;
			else
				temp_neg += site->weight;
		} else if (res == DNSBL_LISTED) {
			score += site->weight;
			if (site->weight < 0) {
				note_dnswl(ctx, site, &match);
			} else {
				size_t used = strlen(listed);
				snprintf(listed + used, sizeof(listed) - used, "%s%s",
				         used ? ", " : "", site->domain);
			}
		}
	}
	e->dns_ms = ms;
	eval_detail(e, "score %d, threshold %d", score, cfg->dnsbl_threshold);
	if (score + temp_neg >= cfg->dnsbl_threshold) {
		reply_set_raw(e->v, cfg->maps_rbl_reject_code, "5.7.1",
		              "Service unavailable; Client host [%s] blocked using %s "
		              "(score %d >= threshold %d)",
		              ctx->facts->client_addr, listed, score,
		              cfg->dnsbl_threshold);
		return CHECK_FAIL;
	}
	if (score + temp_pos < cfg->dnsbl_threshold)
		return CHECK_PASS;
	if (cfg->dnsbl_temp_defer)
		reply_set_raw(e->v, cfg->defer_code, "4.7.1",
		              "Service unavailable; Client host [%s] not scored: "
		              "temporary DNS failure",
		              ctx->facts->client_addr);
	return CHECK_TEMP;
}

/* Host and domain existence. */

enum existence { EXISTS, NULL_MX, NO_DOMAIN, NO_RECORDS, UNSURE };

/* MX, A and AAAA of name, as Postfix's reject_unknown_*: any MX or
 * address is enough; a lone null MX says the domain takes no mail. */
static enum existence
existence(struct eval *e, struct memo *m, const char *name)
{
	const struct dns_answer *mx = answer(e->ctx, m, name, DNS_T_MX);
	const struct dns_answer *a4 = answer(e->ctx, m, name, DNS_T_A);
	const struct dns_answer *a6 = answer(e->ctx, m, name, DNS_T_AAAA);
	const struct dns_answer *all[] = {mx, a4, a6};
	bool null_mx = false, real_mx = false;

	for (size_t i = 0; i < 3; i++)
		if (all[i]->ms > e->dns_ms)
			e->dns_ms = all[i]->ms;
	for (size_t i = 0; mx->status == DNS_OK && i < mx->nrr; i++) {
		if (mx->rr[i].text[0] == '\0')
			null_mx = true;
		else
			real_mx = true;
	}
	eval_detail(e, "%s: MX %s, A %s, AAAA %s", name,
	            mx->status == DNS_TEMP ? mx->reason
	            : null_mx && !real_mx  ? "null"
	                                   : dns_status_name(mx->status),
	            a4->status == DNS_TEMP ? a4->reason : dns_status_name(a4->status),
	            a6->status == DNS_TEMP ? a6->reason : dns_status_name(a6->status));
	if (real_mx || a4->status == DNS_OK || a6->status == DNS_OK)
		return EXISTS;
	if (null_mx)
		return NULL_MX;
	if (mx->status == DNS_TEMP || a4->status == DNS_TEMP || a6->status == DNS_TEMP)
		return UNSURE;
	if (mx->status == DNS_NXDOMAIN || a4->status == DNS_NXDOMAIN ||
	    a6->status == DNS_NXDOMAIN)
		return NO_DOMAIN;
	return NO_RECORDS;
}

enum check_result
r_unknown_helo(struct eval *e)
{
	const struct facts *f = e->ctx->facts;
	char buf[256];
	const char *name = object_name(e->ctx, STAGE_HELO, buf, sizeof(buf));

	if (f->helo == NULL || *f->helo == '\0') {
		eval_detail(e, "no HELO");
		return CHECK_SKIP;
	}
	if (name == NULL) {
		eval_detail(e, "%s",
		            syntax_is_literal(f->helo) ? "address literal"
		                                       : "not a valid host name");
		return CHECK_SKIP;
	}
	switch (existence(e, &state(e->ctx)->helo, name)) {
	case EXISTS:
	case NULL_MX: /* a host may well take no mail */
		return CHECK_PASS;
	case UNSURE:
		reply_set(e->v, f, OBJ_HELO, 450, "4.7.1", "Host not found");
		return CHECK_TEMP;
	default:
		reply_set(e->v, f, OBJ_HELO, e->ctx->cfg->unknown_hostname_reject_code,
		          "4.7.1", "Host not found");
		return CHECK_FAIL;
	}
}

static enum check_result
unknown_domain(struct eval *e, enum stage object)
{
	const struct facts *f = e->ctx->facts;
	bool sender = object == STAGE_MAIL;
	const char *addr = sender ? f->sender : f->rcpt;
	enum reply_object obj = sender ? OBJ_SENDER : OBJ_RECIPIENT;
	const char *xcode = sender ? "4.1.8" : "4.1.2";
	char buf[256];
	const char *name = object_name(e->ctx, object, buf, sizeof(buf));

	if (addr == NULL) {
		eval_detail(e, "no %s yet", sender ? "sender" : "recipient");
		return CHECK_SKIP;
	}
	if (name == NULL) {
		const char *dom = syntax_address_domain(addr);
		eval_detail(e, "%s",
		            *addr == '\0'            ? "null sender"
		            : *dom == '\0'           ? "address without a domain"
		            : syntax_is_literal(dom) ? "address literal"
		                                     : "domain is not a valid name");
		return CHECK_SKIP;
	}
	switch (existence(e, &state(e->ctx)->msg, name)) {
	case EXISTS:
		return CHECK_PASS;
	case NULL_MX: {
		char text[400];
		snprintf(text, sizeof(text), "Domain %s does not accept mail (nullMX)",
		         name);
		reply_set(e->v, f, obj, sender ? 550 : 556, sender ? "5.7.27" : "5.1.10",
		          text);
		return CHECK_FAIL;
	}
	case NO_DOMAIN:
		reply_set(e->v, f, obj, 550, xcode, "Domain not found");
		return CHECK_FAIL;
	case NO_RECORDS:
		reply_set(e->v, f, obj, e->ctx->cfg->unknown_address_reject_code, xcode,
		          "Domain not found");
		return CHECK_FAIL;
	case UNSURE:
		break;
	}
	reply_set(e->v, f, obj, 450, xcode, "Domain not found");
	return CHECK_TEMP;
}

enum check_result
r_unknown_sender_domain(struct eval *e)
{
	return unknown_domain(e, STAGE_MAIL);
}

enum check_result
r_unknown_recipient_domain(struct eval *e)
{
	return unknown_domain(e, STAGE_RCPT);
}
