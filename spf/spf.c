/*
 * spf: libspf2 over our resolver, with the guards of spf.h.
 *
 * One evaluation owns a struct eval, an SPF_server_t and a DNS layer (an
 * SPF_dns_server_t whose hook points back at the eval). We fetch and
 * screen the top-level record ourselves and hand libspf2 the compiled
 * record to interpret; from then on libspf2 calls our layer for every
 * lookup (lookup) and for the record of every include: and redirect=
 * (get_spf).
 *
 * libspf2 counts lookup terms per record, restarting at each include, so
 * the layer keeps its own count for the whole evaluation. To tell a
 * lookup term (a, mx, ptr, exists, include, redirect) from the lookups
 * made inside one (the A records of MX and PTR names, a %{p} macro), the
 * layer follows the evaluation with a shadow of libspf2's walk: a stack
 * of the records being evaluated with a cursor in each. Lookups arrive
 * in evaluation order, so the next lookup belongs to the next DNS term
 * of the innermost record; ip4, ip6 and all are matched by the shadow
 * itself, and a, mx, exists and ptr from the answers it passes on. The
 * same walk names the term that decided. If the shadow ever loses its
 * place (a macro it cannot expand hides a name), it stops naming terms
 * and counts every lookup that is not inside a term as a term: the
 * limits stay, on the safe side.
 *
 * Before libspf2 walks the top record, a prefetch sends the lookups the
 * walk will make, in parallel rounds, and keeps the answers for the
 * layer (see "The prefetch" below).
 *
 * When a limit is passed or the deadline is reached, the layer decides
 * the result (permerror or temperror) and answers every further lookup
 * "try again", which makes libspf2 return at once; its result is then
 * ignored.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "dns/dnsbl.h"
#include "dns/resolver.h"
#include "lib/clock.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "spf/record.h"
#include "spf/spf.h"

#define LOOKUP_TERMS_MAX 10
#define VOID_LOOKUPS_MAX 2
#define NAMES_MAX 10 /* MX or PTR names looked at per term */
#define FRAMES_MAX 24
#define DEFAULT_DEADLINE_MS 20000
#define PREFETCH_ROUNDS_MAX 16 /* each round adds lookups: a bound, never reached */
#define KEY_MAX 1024           /* a name in dns_name_text form */

static const char *const result_names[SPF_R__COUNT] = {
    "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"};

const char *
spf_result_name(enum spf_result r)
{
	return (unsigned)r < SPF_R__COUNT ? result_names[r] : "permerror";
}

int
spf_result_parse(const char *name)
{
	for (int i = 0; i < SPF_R__COUNT; i++)
		if (strcasecmp(name, result_names[i]) == 0)
			return i;
	return -1;
}

/* One lookup of the prefetch and, once in, its answer. */
struct pre {
	struct pre *next;
	char key[KEY_MAX]; /* the name, as dns_name_text writes it */
	uint16_t type;
	bool done;             /* answered (or failed) */
	struct dns_answer *a;  /* the answer; NULL when it failed (TEMP) */
	int rec_state;         /* TXT: REC_* once screened */
	struct spf_record rec; /* TXT: the record, when REC_OK */
};

/* One record being evaluated, as the shadow sees it. */
struct frame {
	struct spf_record rec;
	char domain[256]; /* its <domain> */
	size_t next;      /* next term to look at */
	int term;         /* the DNS term in progress, or -1 */
	bool ended;       /* the record has decided */
	int end_term;     /* the term that matched, or -1: no match */
	bool include;     /* opened by an include: of the frame below */
	bool redirected;  /* its redirect= is being followed */
	char via[256];    /* what decided inside, for an include that matched */
	char prefix[256]; /* "redirect=x > " when reached by redirects */
};

struct eval {
	struct dns_resolver *resolver;
	struct ipaddr client;
	char reverse[80]; /* the client's reverse name */
	double deadline;
	unsigned lookups, voids, queries, prefetched;
	struct pre *pre; /* answers the prefetch brought, for ask() */

	bool stopped; /* a limit or the deadline decided */
	enum spf_result stop_result;
	char reason[256];

	struct frame *frames[FRAMES_MAX];
	size_t depth;
	bool lost;
	char decided[256]; /* the deciding term, once the top frame ended */

	/* The names whose A/AAAA lookups belong to the current term. */
	char *pending[NAMES_MAX];
	size_t npending;
	int pending_term;        /* MX or PTR term they came from, -1 for %{p} */
	struct frame *pending_f; /* its frame */
};

/* Setup that libspf2 needs once: keep its messages off stderr. */
static void
quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
init_library(void)
{
	SPF_warning_handler = quiet;
	SPF_info_handler = quiet;
	SPF_debug_handler = quiet;
}

static void stop(struct eval *ev, enum spf_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
stop(struct eval *ev, enum spf_result r, const char *fmt, ...)
{
	va_list ap;

	if (ev->stopped)
		return;
	ev->stopped = true;
	ev->stop_result = r;
	va_start(ap, fmt);
	vsnprintf(ev->reason, sizeof(ev->reason), fmt, ap);
	va_end(ap);
}

static void set_reason(struct eval *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_reason(struct eval *ev, const char *fmt, ...)
{
	va_list ap;

	if (ev->reason[0] != '\0')
		return; /* the first cause is the one to tell */
	va_start(ap, fmt);
	vsnprintf(ev->reason, sizeof(ev->reason), fmt, ap);
	va_end(ap);
}

/* Names: compare without regard to case or a final dot. */
static bool
name_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Is name equal to domain or below it? */
static bool
name_within(const char *name, const char *domain)
{
	size_t ln = strlen(name), ld = strlen(domain);

	if (ln > 0 && name[ln - 1] == '.')
		ln--;
	if (ld > 0 && domain[ld - 1] == '.')
		ld--;
	if (ln < ld || strncasecmp(name + ln - ld, domain, ld) != 0)
		return false;
	return ln == ld || name[ln - ld - 1] == '.';
}

/* A host name we pass on to libspf2 (MX and PTR targets): letters,
 * digits, '-', '_' and dots, so no macro can expand it into anything
 * else. */
static bool
host_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 253)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* The shadow. */

static void
frame_free(struct frame *f)
{
	if (f == NULL)
		return;
	spf_record_free(&f->rec);
	free(f);
}

/* The next DNS term of f, deciding ip4, ip6 and all on the way. Returns
 * its index, or -1 when f has ended. */
static int
frame_scan(struct eval *ev, struct frame *f)
{
	if (f->ended)
		return -1;
	while (f->next < f->rec.nterms) {
		size_t i = f->next;
		const struct spf_term *t = &f->rec.terms[i];
		switch (t->kind) {
		case SPF_T_IP4:
		case SPF_T_IP6:
			if (spf_term_matches_ip(t, &ev->client)) {
				f->ended = true;
				f->end_term = (int)i;
				return -1;
			}
			break;
		case SPF_T_ALL:
			f->ended = true;
			f->end_term = (int)i;
			return -1;
		case SPF_T_A:
		case SPF_T_MX:
		case SPF_T_PTR:
		case SPF_T_EXISTS:
		case SPF_T_INCLUDE:
			return (int)i;
		default:
			break; /* modifiers: redirect comes after all mechanisms */
		}
		f->next++;
	}
	if (f->rec.redirect >= 0 && !f->redirected)
		return f->rec.redirect;
	f->ended = true;
	f->end_term = -1;
	return -1;
}

static void
describe(const struct frame *f, char *buf, size_t len)
{
	if (f->end_term < 0) {
		str_printf(buf, len, "%sdefault", f->prefix);
		return;
	}
	const struct spf_term *t = &f->rec.terms[f->end_term];
	char clean[200];
	str_sanitize(clean, sizeof(clean), t->text);
	if (f->via[0] != '\0')
		str_printf(buf, len, "%s%s > %s", f->prefix, clean, f->via);
	else
		str_printf(buf, len, "%s%s", f->prefix, clean);
}

/* Pop the frames that have ended, passing include results down. */
static void
unwind(struct eval *ev)
{
	while (ev->depth > 0) {
		struct frame *f = ev->frames[ev->depth - 1];
		if (!f->ended)
			return;
		if (ev->depth == 1) {
			describe(f, ev->decided, sizeof(ev->decided));
			return;
		}
		struct frame *parent = ev->frames[ev->depth - 2];
		if (f->include) {
			bool pass = f->end_term >= 0 &&
			            f->rec.terms[f->end_term].qualifier == '+';
			if (pass && parent->term >= 0) {
				parent->ended = true;
				parent->end_term = parent->term;
				describe(f, parent->via, sizeof(parent->via));
			}
			parent->term = -1;
		}
		frame_free(f);
		ev->frames[--ev->depth] = NULL;
	}
}

/* libspf2 has finished: walk what is left (ip4, ip6, all after the last
 * lookup) to the term that decided. */
static void
shadow_finish(struct eval *ev)
{
	while (!ev->lost && ev->depth > 0 && ev->decided[0] == '\0') {
		struct frame *f = ev->frames[ev->depth - 1];
		if (!f->ended && frame_scan(ev, f) >= 0)
			return; /* a term that was never looked up: unknown */
		unwind(ev);
		if (ev->depth == 1 && ev->frames[0]->ended)
			return;
	}
}

enum event { EV_RECORD, EV_A, EV_AAAA, EV_MX, EV_PTR };

/* Does event (kind, name) fit term t of frame f? */
static bool
fits(const struct eval *ev, const struct frame *f, const struct spf_term *t,
     enum event kind, const char *name)
{
	switch (t->kind) {
	case SPF_T_INCLUDE:
	case SPF_T_REDIRECT:
		if (kind != EV_RECORD)
			return false;
		break;
	case SPF_T_A:
		if (kind != (ev->client.family == AF_INET ? EV_A : EV_AAAA))
			return false;
		break;
	case SPF_T_EXISTS:
		if (kind != EV_A)
			return false;
		break;
	case SPF_T_MX:
		if (kind != EV_MX)
			return false;
		break;
	case SPF_T_PTR:
		return kind == EV_PTR && name_equal(name, ev->reverse);
	default:
		return false;
	}
	if (t->macro)
		return true;
	return name_equal(name, t->domain != NULL ? t->domain : f->domain);
}

/* A lookup term starts: find it in the shadow. Returns the frame and
 * sets *term, or NULL when the shadow is lost. */
static struct frame *
shadow_term(struct eval *ev, enum event kind, const char *name, int *term)
{
	if (ev->lost)
		return NULL;
	for (;;) {
		unwind(ev);
		if (ev->depth == 0 || ev->frames[ev->depth - 1]->ended)
			break; /* the top record has decided: nothing should follow */
		struct frame *f = ev->frames[ev->depth - 1];
		int i = frame_scan(ev, f);
		if (i < 0)
			continue; /* ended: unwind it */
		if (!fits(ev, f, &f->rec.terms[i], kind, name))
			break;
		if (f->rec.terms[i].kind == SPF_T_REDIRECT)
			f->redirected = true;
		else
			f->next = (size_t)i + 1;
		f->term = i;
		*term = i;
		return f;
	}
	ev->lost = true;
	return NULL;
}

static void pending_clear(struct eval *ev);
static bool frame_live(const struct eval *ev, const struct frame *f);

/* A PTR lookup of the client: is it the ptr term the shadow expects
 * next (rather than a %{p} macro)? When lost, count it as a term. */
static bool
shadow_next_is_ptr(struct eval *ev)
{
	if (ev->lost)
		return true;
	for (;;) {
		unwind(ev);
		if (ev->depth == 0 || ev->frames[ev->depth - 1]->ended)
			return true;
		struct frame *f = ev->frames[ev->depth - 1];
		int i = frame_scan(ev, f);
		if (i >= 0)
			return f->rec.terms[i].kind == SPF_T_PTR;
	}
}

/* Is this A/AAAA lookup one made inside the current term? */
static bool
pending_take(struct eval *ev, const char *name)
{
	/* Names left over from a term that has ended (libspf2 stops at the
	 * first name that matches) belong to nobody any more. */
	if (ev->pending_f != NULL &&
	    (!frame_live(ev, ev->pending_f) || ev->pending_f->ended)) {
		pending_clear(ev);
		return false;
	}
	for (size_t i = 0; i < ev->npending; i++) {
		if (ev->pending[i] != NULL && name_equal(ev->pending[i], name)) {
			free(ev->pending[i]);
			ev->pending[i] = NULL;
			return true;
		}
	}
	return false;
}

static void
pending_clear(struct eval *ev)
{
	for (size_t i = 0; i < ev->npending; i++) {
		free(ev->pending[i]);
		ev->pending[i] = NULL;
	}
	ev->npending = 0;
	ev->pending_term = -1;
	ev->pending_f = NULL;
}

static bool
answer_has(const struct dns_answer *a, const struct ipaddr *client, int len)
{
	for (size_t i = 0; i < a->nrr; i++) {
		struct cidr c = {a->rr[i].addr, (unsigned)len};
		if (a->rr[i].addr.family == client->family && cidr_match(&c, client))
			return true;
	}
	return false;
}

static int
term_cidr(const struct spf_term *t, int family)
{
	if (family == AF_INET)
		return t->cidr4 >= 0 ? t->cidr4 : 32;
	return t->cidr6 >= 0 ? t->cidr6 : 128;
}

static bool
frame_live(const struct eval *ev, const struct frame *f)
{
	for (size_t i = 0; i < ev->depth; i++)
		if (ev->frames[i] == f)
			return true;
	return false;
}

/* The answer to a term's own lookup: did the term match? */
static void
shadow_answer(struct eval *ev, struct frame *f, int term, const struct dns_answer *a)
{
	const struct spf_term *t = &f->rec.terms[term];
	bool match = false;

	if (a->status != DNS_OK)
		return;
	if (t->kind == SPF_T_A)
		match = answer_has(a, &ev->client, term_cidr(t, ev->client.family));
	else if (t->kind == SPF_T_EXISTS)
		match = a->nrr > 0;
	if (match) {
		f->ended = true;
		f->end_term = term;
	}
}

/* The answer to a lookup inside a term (MX or PTR names). */
static void
shadow_sub_answer(struct eval *ev, const char *name, const struct dns_answer *a)
{
	struct frame *f = ev->pending_f;
	int full = ev->client.family == AF_INET ? 32 : 128;

	if (a->status != DNS_OK)
		return;
	if (f == NULL) {
		/* %{p}: libspf2 stops at the first name that is the client's. */
		if (answer_has(a, &ev->client, full))
			pending_clear(ev);
		return;
	}
	if (ev->pending_term < 0 || !frame_live(ev, f) || f->ended)
		return;
	const struct spf_term *t = &f->rec.terms[ev->pending_term];
	bool match = false;
	if (t->kind == SPF_T_MX) {
		match = answer_has(a, &ev->client, term_cidr(t, ev->client.family));
	} else if (t->kind == SPF_T_PTR && !t->macro) {
		const char *target = t->domain != NULL ? t->domain : f->domain;
		match = answer_has(a, &ev->client, full) && name_within(name, target);
	}
	if (match) {
		f->ended = true;
		f->end_term = ev->pending_term;
		pending_clear(ev); /* libspf2 looks at no more of them */
	}
}

/* Fetching records. */

enum fetch { FETCH_OK, FETCH_NONE, FETCH_TEMP, FETCH_PERM };

static double
remaining(const struct eval *ev)
{
	return ev->deadline - clock_ms();
}

static struct dns_answer *pre_take(struct eval *ev, const char *name, uint16_t type);

/* Ask our resolver, within the evaluation's deadline. NULL when the
 * deadline has passed (and the evaluation is stopped). */
static struct dns_answer *
ask(struct eval *ev, const char *name, uint16_t type)
{
	double left = remaining(ev);
	unsigned timeout = dns_resolver_timeout(ev->resolver);

	if (left < 1) {
		stop(ev, SPF_R_TEMPERROR, "SPF evaluation took longer than its deadline");
		return NULL;
	}
	if (left < timeout)
		timeout = (unsigned)left;
	ev->queries++;
	struct dns_answer *a = pre_take(ev, name, type);
	if (a != NULL)
		return a;
	return dns_lookup(ev->resolver, name, type, timeout);
}

/* The SPF record of domain: fetched, selected and screened. */
static enum fetch
fetch_record(struct eval *ev, const char *domain, struct spf_record *rec, bool *void_r)
{
	struct dns_answer *a = ask(ev, domain, DNS_T_TXT);
	size_t found = 0, idx = 0;
	char why[200];
	char clean[128];

	*void_r = false;
	if (a == NULL)
		return FETCH_TEMP;
	str_sanitize(clean, sizeof(clean), domain);
	if (a->status == DNS_TEMP) {
		set_reason(ev, "looking up TXT %s: %s", clean, a->reason);
		dns_answer_free(a);
		return FETCH_TEMP;
	}
	if (a->status != DNS_OK || a->nrr == 0) {
		*void_r = true;
		set_reason(ev, "no SPF record at %s (%s)", clean,
		           a->status == DNS_NXDOMAIN ? "no such domain"
		                                     : "no TXT record");
		dns_answer_free(a);
		return FETCH_NONE;
	}
	for (size_t i = 0; i < a->nrr; i++) {
		const char *t = a->rr[i].text;
		if (t != NULL && spf_record_is_spf(t, strlen(t))) {
			found++;
			idx = i;
		}
	}
	if (found == 0) {
		set_reason(ev, "no SPF record at %s", clean);
		dns_answer_free(a);
		return FETCH_NONE;
	}
	if (found > 1) {
		set_reason(ev, "%zu SPF records at %s", found, clean);
		dns_answer_free(a);
		return FETCH_PERM;
	}
	const char *text = a->rr[idx].text;
	if (spf_record_parse(text, strlen(text), rec, why, sizeof(why)) != 0) {
		set_reason(ev, "invalid SPF record at %s: %s", clean, why);
		dns_answer_free(a);
		return FETCH_PERM;
	}
	dns_answer_free(a);
	return FETCH_OK;
}

static struct frame *
frame_new(const char *domain)
{
	struct frame *f = xcalloc(1, sizeof(*f));

	snprintf(f->domain, sizeof(f->domain), "%s", domain);
	f->term = -1;
	f->end_term = -1;
	return f;
}

/* Compile rec for this evaluation's client. libspf2 drops mechanisms
 * past 511 compiled bytes without a word: a record it shortened is
 * refused. Returns 0, or -1 with the reason set. */
static int
compile(struct eval *ev, SPF_server_t *server, SPF_response_t *resp,
        const struct spf_record *rec, const char *domain, SPF_record_t **out)
{
	size_t nmech;
	char *text = spf_record_text(rec, &ev->client, &nmech);
	SPF_errcode_t err = SPF_record_compile(server, resp, out, text);
	char clean[128];

	free(text);
	str_sanitize(clean, sizeof(clean), domain);
	if (err != SPF_E_SUCCESS || *out == NULL) {
		set_reason(ev, "SPF record at %s: libspf2 cannot use it (%s)", clean,
		           SPF_strerror(err));
	} else if ((*out)->num_mech != nmech) {
		set_reason(
		    ev, "SPF record at %s: too large for libspf2 (%u of %zu terms kept)",
		    clean, (unsigned)(*out)->num_mech, nmech);
	} else {
		return 0;
	}
	if (*out != NULL) {
		SPF_record_free(*out);
		*out = NULL;
	}
	return -1;
}

/* The prefetch.
 *
 * libspf2 walks a record one lookup at a time, so every lookup costs a
 * round trip even when the record names it from the start. Before the
 * walk we send the lookups it is going to make, in rounds: each round is
 * one batch of every lookup whose name is known by then (the TXT of
 * include: and redirect= targets, A or AAAA for a, MX for mx, the A or
 * AAAA of the first 10 names of an MX answer), and the answers are kept
 * for ask(). The walk then finds them there, whether or not the cache is
 * on. Each round is planned by a walk of what has come in so far, in
 * evaluation order (plan_record), which
 *   - counts lookup terms as the evaluation does and asks nothing for a
 *     term past the tenth. Behind an include: or redirect= whose record
 *     is not in yet the count is not known, so the round stops there:
 *     whatever the prefetch asks, the evaluation asks too if it gets that
 *     far, and a hostile record gets no more queries out of us;
 *   - stops at the first term it knows matches, so a record that
 *     decides early costs what it did, and where the evaluation stops
 *     (a third void lookup, an include: without a record);
 *   - asks nothing for ptr or exists, and stops at a macro: its name is
 *     not known, and a macro can hide a lookup from the shadow, which
 *     then counts terms its own way.
 * A TEMP answer is not kept: the walk asks again and decides, as it did
 * without the prefetch. The prefetch gives up after one (a slow or
 * failing server) and takes at most half of what is left of the
 * deadline, so a speculative lookup that never comes back cannot make
 * the walk run out of time.
 */

enum { REC_UNSCREENED, REC_OK, REC_VOID, REC_BAD };

struct plan {
	struct eval *ev;
	struct dns_batch *b;   /* this round's lookups */
	unsigned terms, voids; /* as the evaluation counts them, so far */
	bool stop;             /* nothing further can be planned */
	unsigned added;
};

static void
pre_done(struct dns_batch *b, void *arg, struct dns_answer *a)
{
	struct pre *e = arg;
	(void)b;

	e->done = true;
	if (a->status == DNS_TEMP)
		dns_answer_free(a);
	else
		e->a = a;
}

static struct pre *
pre_find(const struct eval *ev, const char *key, uint16_t type)
{
	for (struct pre *e = ev->pre; e != NULL; e = e->next)
		if (e->type == type && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* The lookup (name, type), added to this round when it is new. NULL
 * when the name cannot be asked. */
static struct pre *
pre_need(struct plan *p, const char *name, uint16_t type)
{
	char key[KEY_MAX];
	struct pre *e;

	if (!dns_name_ok(name) || dns_name_text(name, key, sizeof(key)) != 0)
		return NULL;
	if ((e = pre_find(p->ev, key, type)) != NULL)
		return e;
	e = xcalloc(1, sizeof(*e));
	memcpy(e->key, key, sizeof(e->key));
	e->type = type;
	e->next = p->ev->pre;
	p->ev->pre = e;
	dns_batch_add(p->b, name, type, pre_done, e);
	p->added++;
	p->ev->prefetched++;
	return e;
}

/* The answer to (name, type) if the prefetch has it; the caller's. */
static struct dns_answer *
pre_take(struct eval *ev, const char *name, uint16_t type)
{
	char key[KEY_MAX];
	struct pre *e;

	if (ev->pre == NULL || dns_name_text(name, key, sizeof(key)) != 0 ||
	    (e = pre_find(ev, key, type)) == NULL || e->a == NULL)
		return NULL;
	return dns_answer_copy(e->a);
}

static void
pre_free(struct eval *ev)
{
	while (ev->pre != NULL) {
		struct pre *e = ev->pre;
		ev->pre = e->next;
		dns_answer_free(e->a);
		if (e->rec_state == REC_OK)
			spf_record_free(&e->rec);
		free(e);
	}
}

/* A TXT answer as fetch_record sees it. */
static void
pre_screen(struct pre *e)
{
	size_t found = 0, idx = 0;
	char why[200];

	if (e->rec_state != REC_UNSCREENED)
		return;
	if (e->a->status != DNS_OK || e->a->nrr == 0) {
		e->rec_state = REC_VOID;
		return;
	}
	for (size_t i = 0; i < e->a->nrr; i++) {
		const char *t = e->a->rr[i].text;
		if (t != NULL && spf_record_is_spf(t, strlen(t))) {
			found++;
			idx = i;
		}
	}
	const char *text = found == 1 ? e->a->rr[idx].text : NULL;
	e->rec_state = text != NULL && spf_record_parse(text, strlen(text), &e->rec, why,
	                                                sizeof(why)) == 0
	                   ? REC_OK
	                   : REC_BAD;
}

enum outcome { O_PASS, O_OTHER, O_UNKNOWN };

static enum outcome plan_record(struct plan *p, const struct spf_record *rec,
                                const char *domain, unsigned depth);

static bool
answer_void(const struct dns_answer *a)
{
	return a->status != DNS_OK || a->nrr == 0;
}

/* An MX name layer_lookup hands to libspf2. */
static bool
mx_name(const struct dns_rr *r)
{
	return r->type == DNS_T_MX && r->text != NULL && dns_name_ok(r->text);
}

static void
plan_void(struct plan *p)
{
	if (++p->voids > VOID_LOOKUPS_MAX)
		p->stop = true; /* the evaluation stops here, if it gets here */
}

/* The record of an include: or redirect= target. */
static enum outcome
plan_target(struct plan *p, const char *target, unsigned depth)
{
	struct pre *e = pre_need(p, target, DNS_T_TXT);

	if (e == NULL || !e->done || e->a == NULL || depth + 1 >= FRAMES_MAX) {
		/* Its terms are not known yet, nor how many they are. */
		p->stop = true;
		return O_UNKNOWN;
	}
	pre_screen(e);
	if (e->rec_state != REC_OK) {
		/* No record, or a bad one: a permerror, where the walk ends. */
		if (e->rec_state == REC_VOID)
			plan_void(p);
		p->stop = true;
		return O_UNKNOWN;
	}
	return plan_record(p, &e->rec, target, depth + 1);
}

/* A lookup term: 1 when it is known to match, 0 known not to, -1 not
 * known (yet). */
static int
plan_term(struct plan *p, const struct spf_term *t, const char *domain, unsigned depth)
{
	const struct ipaddr *client = &p->ev->client;
	uint16_t atype = client->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	const char *target = t->domain != NULL ? t->domain : domain;
	struct pre *e;

	if (++p->terms > LOOKUP_TERMS_MAX || t->macro) {
		p->stop = true;
		return -1;
	}
	switch (t->kind) {
	case SPF_T_INCLUDE:
		switch (plan_target(p, target, depth)) {
		case O_PASS:
			return 1;
		case O_OTHER:
			return 0;
		default:
			return -1;
		}
	case SPF_T_A:
		e = pre_need(p, target, atype);
		if (e == NULL || e->a == NULL)
			return -1;
		if (answer_void(e->a)) {
			plan_void(p);
			return 0;
		}
		return answer_has(e->a, client, term_cidr(t, client->family));
	case SPF_T_MX:
		break;
	default:
		return -1; /* ptr, exists: for the walk alone */
	}
	e = pre_need(p, target, DNS_T_MX);
	if (e == NULL || e->a == NULL)
		return -1;
	if (answer_void(e->a)) {
		plan_void(p);
		return 0;
	}
	/* The names layer_lookup passes on, which libspf2 looks at in order
	 * up to the first that matches; it looks at 10 and makes an 11th a
	 * permerror. */
	int m = 0;
	size_t n = 0;
	for (size_t i = 0; i < e->a->nrr; i++) {
		const struct dns_rr *r = &e->a->rr[i];
		if (!mx_name(r))
			continue;
		if (n++ == NAMES_MAX) {
			p->stop = true;
			return -1;
		}
		struct pre *h = pre_need(p, r->text, atype);
		if (h == NULL || h->a == NULL)
			m = -1;
		else if (answer_has(h->a, client, term_cidr(t, client->family)))
			return 1;
	}
	return m;
}

/* Walk rec as the evaluation will, as far as the answers in allow,
 * adding the lookups not asked yet. */
static enum outcome
plan_record(struct plan *p, const struct spf_record *rec, const char *domain,
            unsigned depth)
{
	bool certain = true; /* every term so far is known not to match */

	for (size_t i = 0; i < rec->nterms && !p->stop; i++) {
		const struct spf_term *t = &rec->terms[i];
		int m;
		switch (t->kind) {
		case SPF_T_IP4:
		case SPF_T_IP6:
			m = spf_term_matches_ip(t, &p->ev->client);
			break;
		case SPF_T_ALL:
			m = 1;
			break;
		case SPF_T_A:
		case SPF_T_MX:
		case SPF_T_PTR:
		case SPF_T_EXISTS:
		case SPF_T_INCLUDE:
			m = plan_term(p, t, domain, depth);
			break;
		default:
			continue; /* modifiers */
		}
		if (m == 1) {
			/* Nothing after it is ever looked at. */
			if (!certain)
				return O_UNKNOWN;
			return t->qualifier == '+' ? O_PASS : O_OTHER;
		}
		if (m < 0)
			certain = false;
	}
	if (p->stop)
		return O_UNKNOWN;
	if (rec->redirect >= 0) {
		const struct spf_term *t = &rec->terms[rec->redirect];
		if (++p->terms > LOOKUP_TERMS_MAX || t->macro || t->domain == NULL) {
			p->stop = true;
			return O_UNKNOWN;
		}
		enum outcome o = plan_target(p, t->domain, depth);
		return certain ? o : O_UNKNOWN;
	}
	return certain ? O_OTHER : O_UNKNOWN;
}

/* Fetch, round by round, what the walk of rec (the top record) will ask. */
static void
prefetch(struct eval *ev, const struct spf_record *rec, const char *domain)
{
	double until = clock_ms() + remaining(ev) / 2;

	for (int round = 0; round < PREFETCH_ROUNDS_MAX; round++) {
		double left = until - clock_ms();
		if (left < 1)
			return;
		struct plan p = {.ev = ev, .b = dns_batch_new(ev->resolver)};
		plan_record(&p, rec, domain, 0);
		if (p.added > 0) {
			unsigned timeout = dns_resolver_timeout(ev->resolver);
			if (left < timeout)
				timeout = (unsigned)left;
			dns_batch_run(p.b, timeout);
		}
		dns_batch_free(p.b);
		if (p.added == 0)
			return;
		for (const struct pre *e = ev->pre; e != NULL; e = e->next)
			if (e->done && e->a == NULL)
				return;
	}
}

/* The DNS layer. */

static SPF_dns_rr_t *
rr_status(SPF_dns_server_t *s, const char *domain, ns_type type, SPF_dns_stat_t herrno)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(s, domain, type, 0, herrno);

	if (rr == NULL)
		abort(); /* libspf2 aborts on a NULL answer anyway */
	return rr;
}

/* libspf2 truncates nothing: a name over 253 bytes loses labels on the
 * left (RFC 7208 section 4.8). */
static size_t
wire_length(const char *name)
{
	size_t n = 0;

	for (const char *p = name; *p != '\0'; p++, n++)
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
		    p[2] <= '9' && p[3] >= '0' && p[3] <= '9')
			p += 3;
	return n;
}

static const char *
truncate_name(const char *name)
{
	while (wire_length(name) > 253) {
		const char *dot = strchr(name, '.');
		if (dot == NULL)
			break;
		name = dot + 1;
	}
	return name;
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *s, const char *domain, ns_type type, int should_cache)
{
	struct eval *ev = s->hook;
	enum event kind;
	uint16_t qtype;
	(void)should_cache;

	if (ev->stopped)
		return rr_status(s, domain, type, TRY_AGAIN);
	switch ((int)type) {
	case ns_t_a:
		kind = EV_A;
		qtype = DNS_T_A;
		break;
	case ns_t_aaaa:
		kind = EV_AAAA;
		qtype = DNS_T_AAAA;
		break;
	case ns_t_mx:
		kind = EV_MX;
		qtype = DNS_T_MX;
		break;
	case ns_t_ptr:
		kind = EV_PTR;
		qtype = DNS_T_PTR;
		break;
	default:
		/* TXT for an explanation, or anything else: never asked. */
		return rr_status(s, domain, type, NO_DATA);
	}
	const char *name = truncate_name(domain);
	/* Inside a term (the names of an MX or PTR answer, a %{p} macro),
	 * or a term of its own? */
	bool sub = false;
	struct frame *f = NULL;
	int term = -1;
	if ((kind == EV_A || kind == EV_AAAA) && pending_take(ev, name)) {
		sub = true;
	} else if (kind == EV_PTR && !shadow_next_is_ptr(ev)) {
		/* The client's PTR for a %{p} macro: not a term. */
		sub = true;
		pending_clear(ev);
	} else {
		pending_clear(ev);
		f = shadow_term(ev, kind, name, &term);
	}
	if (!sub && ++ev->lookups > LOOKUP_TERMS_MAX) {
		stop(ev, SPF_R_PERMERROR, "more than %d DNS lookup terms",
		     LOOKUP_TERMS_MAX);
		return rr_status(s, domain, type, TRY_AGAIN);
	}

	if (!dns_name_ok(name)) {
		/* A macro made something that is not a name: no such host. */
		if (!sub && ++ev->voids > VOID_LOOKUPS_MAX) {
			stop(ev, SPF_R_PERMERROR, "more than %d void DNS lookups",
			     VOID_LOOKUPS_MAX);
			return rr_status(s, domain, type, TRY_AGAIN);
		}
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	}

	struct dns_answer *a = ask(ev, name, qtype);
	if (a == NULL)
		return rr_status(s, domain, type, TRY_AGAIN);
	char clean[128];
	str_sanitize(clean, sizeof(clean), name);
	if (a->status == DNS_TEMP) {
		char tn[16];
		set_reason(ev, "looking up %s %s: %s",
		           dns_type_name(qtype, tn, sizeof(tn)), clean, a->reason);
		dns_answer_free(a);
		return rr_status(s, domain, type, TRY_AGAIN);
	}
	if (!sub && (a->status != DNS_OK || a->nrr == 0) &&
	    ++ev->voids > VOID_LOOKUPS_MAX) {
		stop(ev, SPF_R_PERMERROR, "more than %d void DNS lookups (the last: %s)",
		     VOID_LOOKUPS_MAX, clean);
		dns_answer_free(a);
		return rr_status(s, domain, type, TRY_AGAIN);
	}
	if (a->status == DNS_NXDOMAIN) {
		dns_answer_free(a);
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	}
	if (a->status == DNS_NODATA) {
		dns_answer_free(a);
		return rr_status(s, domain, type, NO_DATA);
	}

	SPF_dns_rr_t *rr = rr_status(s, domain, type, NETDB_SUCCESS);
	int n = 0;
	if (kind == EV_MX || kind == EV_PTR) {
		pending_clear(ev);
		ev->pending_term = term;
		ev->pending_f = f;
	}
	/* A term with a CIDR length of 0, which libspf2 cannot take: any
	 * address matches, so every address becomes the client's. */
	const struct spf_term *zt = NULL;
	if (sub && ev->pending_f != NULL && ev->pending_term >= 0 &&
	    frame_live(ev, ev->pending_f))
		zt = &ev->pending_f->rec.terms[ev->pending_term];
	else if (!sub && f != NULL)
		zt = &f->rec.terms[term];
	bool any = zt != NULL && (zt->kind == SPF_T_A || zt->kind == SPF_T_MX) &&
	           (kind == EV_A ? zt->cidr4 == 0 : zt->cidr6 == 0);
	for (size_t i = 0; i < a->nrr; i++) {
		const struct dns_rr *r = &a->rr[i];
		if (r->type != qtype)
			continue;
		if (kind == EV_A || kind == EV_AAAA) {
			if (SPF_dns_rr_buf_realloc(rr, n, sizeof(SPF_dns_rr_data_t)) != 0)
				abort();
			const uint8_t *addr = r->addr.a;
			if (any && ev->client.family == r->addr.family)
				addr = ev->client.a;
			if (kind == EV_A)
				memcpy(&rr->rr[n]->a, addr, 4);
			else
				memcpy(&rr->rr[n]->aaaa, addr, 16);
			n++;
			continue;
		}
		/* PTR names may be expanded by %{p}: host names only. MX
		 * names are only asked about (a null MX names no host). */
		if (r->text == NULL ||
		    (kind == EV_PTR ? !host_ok(r->text) : !dns_name_ok(r->text)))
			continue;
		/* RFC 7208 section 4.6.4: at most 10 PTR names are looked at
		 * (libspf2 would make more a permerror). */
		if (kind == EV_PTR && n == NAMES_MAX)
			break;
		size_t len = strlen(r->text) + 1;
		if (SPF_dns_rr_buf_realloc(rr, n, len) != 0)
			abort();
		memcpy(kind == EV_MX ? rr->rr[n]->mx : rr->rr[n]->ptr, r->text, len);
		if (ev->npending < NAMES_MAX)
			ev->pending[ev->npending++] = xstrdup(r->text);
		n++;
	}
	rr->num_rr = n;
	if (n == 0)
		rr->herrno = NO_DATA;
	if (sub)
		shadow_sub_answer(ev, name, a);
	else if (f != NULL)
		shadow_answer(ev, f, term, a);
	dns_answer_free(a);
	return rr;
}

/* The record of an include: or redirect= target. */
static SPF_errcode_t
layer_get_spf(SPF_server_t *server, SPF_request_t *req, SPF_response_t *resp,
              SPF_record_t **recordp)
{
	struct eval *ev = server->resolver->hook;
	const char *domain = truncate_name(req->cur_dom);
	struct spf_record rec;
	bool isvoid;
	int term = -1;

	*recordp = NULL;
	if (ev->stopped)
		return SPF_E_DNS_ERROR;
	pending_clear(ev);
	struct frame *parent = shadow_term(ev, EV_RECORD, domain, &term);
	if (++ev->lookups > LOOKUP_TERMS_MAX) {
		stop(ev, SPF_R_PERMERROR, "more than %d DNS lookup terms",
		     LOOKUP_TERMS_MAX);
		return SPF_E_DNS_ERROR;
	}
	if (ev->depth >= FRAMES_MAX) {
		stop(ev, SPF_R_PERMERROR, "includes nested too deeply");
		return SPF_E_DNS_ERROR;
	}
	if (!dns_name_ok(domain)) {
		/* A macro made a target that is not a name: no record there,
		 * which for include: and redirect= is a permerror. */
		char clean[128];
		set_reason(ev, "\"%s\" is not a domain",
		           str_sanitize(clean, sizeof(clean), domain));
		if (++ev->voids > VOID_LOOKUPS_MAX) {
			stop(ev, SPF_R_PERMERROR, "more than %d void DNS lookups",
			     VOID_LOOKUPS_MAX);
			return SPF_E_DNS_ERROR;
		}
		return SPF_E_NOT_SPF;
	}
	switch (fetch_record(ev, domain, &rec, &isvoid)) {
	case FETCH_TEMP:
		return SPF_E_DNS_ERROR;
	case FETCH_NONE:
		if (isvoid && ++ev->voids > VOID_LOOKUPS_MAX) {
			stop(ev, SPF_R_PERMERROR, "more than %d void DNS lookups",
			     VOID_LOOKUPS_MAX);
			return SPF_E_DNS_ERROR;
		}
		return SPF_E_NOT_SPF;
	case FETCH_PERM:
		return SPF_E_SYNTAX;
	case FETCH_OK:
		break;
	}
	if (compile(ev, server, resp, &rec, domain, recordp) != 0) {
		spf_record_free(&rec);
		return SPF_E_SYNTAX;
	}
	if (parent != NULL) {
		struct frame *f = frame_new(domain);
		f->rec = rec;
		const struct spf_term *t = &parent->rec.terms[term];
		if (t->kind == SPF_T_REDIRECT) {
			/* The redirect takes the record's place. */
			char clean[200];
			str_printf(f->prefix, sizeof(f->prefix), "%s%s > ",
			           parent->prefix,
			           str_sanitize(clean, sizeof(clean), t->text));
			f->include = parent->include;
			frame_free(parent);
			ev->frames[ev->depth - 1] = f;
		} else {
			f->include = true;
			ev->frames[ev->depth++] = f;
		}
	} else {
		spf_record_free(&rec);
	}
	return SPF_E_SUCCESS;
}

/* Evaluation. */

/* Local-part: printable ASCII (a quoted local-part may hold spaces). */
static bool
local_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static enum spf_result
map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_NEUTRAL:
		return SPF_R_NEUTRAL;
	case SPF_RESULT_PASS:
		return SPF_R_PASS;
	case SPF_RESULT_FAIL:
		return SPF_R_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return SPF_R_SOFTFAIL;
	case SPF_RESULT_NONE:
		return SPF_R_NONE;
	case SPF_RESULT_TEMPERROR:
		return SPF_R_TEMPERROR;
	default:
		return SPF_R_PERMERROR;
	}
}

static void
finish(struct eval *ev, struct spf_outcome *out, double t0)
{
	out->lookups =
	    ev->lookups > LOOKUP_TERMS_MAX + 1 ? LOOKUP_TERMS_MAX + 1 : ev->lookups;
	out->void_lookups = ev->voids;
	out->queries = ev->queries;
	out->prefetched = ev->prefetched;
	out->ms = clock_ms() - t0;
	pending_clear(ev);
	while (ev->depth > 0)
		frame_free(ev->frames[--ev->depth]);
	pre_free(ev);
}

/* The mechanism (RFC 7208 section 9.1) and, when it says more, the path,
 * from "redirect=x > include:y > ip4:z". */
static void
set_mechanism(struct spf_outcome *out, const char *path)
{
	const char *m = path;
	const char *sep;

	while (strncmp(m, "redirect=", 9) == 0 && (sep = strstr(m, " > ")) != NULL)
		m = sep + 3;
	sep = strstr(m, " > ");
	snprintf(out->mechanism, sizeof(out->mechanism), "%.*s",
	         (int)(sep != NULL ? (size_t)(sep - m) : strlen(m)), m);
	if (strcmp(out->mechanism, path) != 0)
		snprintf(out->path, sizeof(out->path), "%s", path);
}

/* Run libspf2 on the screened top-level record. */
static void
interpret(struct eval *ev, const struct spf_request *q, const char *local,
          const char *domain, struct spf_record *rec, struct spf_outcome *out)
{
	SPF_dns_server_t layer = {
	    .destroy = NULL,
	    .lookup = layer_lookup,
	    .get_spf = layer_get_spf,
	    .get_exp = NULL,
	    .add_cache = NULL,
	    .layer_below = NULL,
	    .name = "postern",
	    .debug = 0,
	    .hook = ev,
	};
	SPF_server_t *server = SPF_server_new_dns(&layer, 0);
	SPF_response_t *resp = NULL;
	SPF_record_t *compiled = NULL;

	if (server == NULL)
		abort();
	/* A fixed explanation: nothing of ours is ever expanded for it. */
	SPF_server_set_explanation(server, "postern", &resp);
	SPF_response_free(resp);
	resp = NULL;
	SPF_server_set_rec_dom(server, q->receiver != NULL && host_ok(q->receiver)
	                                   ? q->receiver
	                                   : "unknown");
	SPF_request_t *req = SPF_request_new(server);
	if (ev->client.family == AF_INET) {
		struct in_addr in;
		memcpy(&in, ev->client.a, 4);
		SPF_request_set_ipv4(req, in);
	} else {
		struct in6_addr in6;
		memcpy(&in6, ev->client.a, 16);
		SPF_request_set_ipv6(req, in6);
	}
	const char *helo = q->helo != NULL && host_ok(q->helo) ? q->helo : "unknown";
	SPF_request_set_helo_dom(req, helo);
	char *sender = xasprintf("%s@%s", local, domain);
	SPF_request_set_env_from(req, sender);
	free(sender);
	req->cur_dom = domain;

	resp = SPF_response_new(req);
	if (compile(ev, server, resp, rec, domain, &compiled) != 0) {
		out->result = SPF_R_PERMERROR;
	} else {
		struct frame *f = frame_new(domain);
		f->rec = *rec;
		memset(rec, 0, sizeof(*rec));
		ev->frames[ev->depth++] = f;
		resp->spf_record_exp = compiled;
		prefetch(ev, &f->rec, domain);
		/* Not SPF_request_query_mailfrom: it passes every 127/8 and
		 * ::1 client without looking. */
		SPF_record_interpret(compiled, req, resp, 0);
		SPF_record_free(compiled);
		if (ev->stopped) {
			out->result = ev->stop_result;
		} else {
			out->result = map_result(SPF_response_result(resp));
			if (out->result == SPF_R_NONE)
				out->result =
				    SPF_R_PERMERROR; /* an include without record */
			if (out->result == SPF_R_PERMERROR && ev->reason[0] == '\0')
				set_reason(ev, "%s",
				           SPF_strerror(SPF_response_errcode(resp)));
			if (out->result == SPF_R_TEMPERROR && ev->reason[0] == '\0')
				set_reason(ev, "DNS lookup failed");
		}
		if (out->result != SPF_R_TEMPERROR && out->result != SPF_R_PERMERROR) {
			if (SPF_response_reason(resp) == SPF_REASON_DEFAULT) {
				snprintf(out->mechanism, sizeof(out->mechanism),
				         "default");
			} else {
				shadow_finish(ev);
				set_mechanism(out, ev->lost || ev->decided[0] == '\0'
				                       ? "unknown"
				                       : ev->decided);
			}
		}
	}
	SPF_response_free(resp);
	SPF_request_free(req);
	SPF_server_free(server);
}

void
spf_check(struct dns_resolver *resolver, const struct spf_request *q,
          struct spf_outcome *out)
{
	struct eval ev;
	double t0 = clock_ms();
	char local[80];
	const char *domain, *at;
	struct spf_record rec;
	bool isvoid;

	pthread_once(&init_once, init_library);
	memset(out, 0, sizeof(*out));
	memset(&ev, 0, sizeof(ev));
	ev.resolver = resolver;
	ev.client = q->client;
	ev.deadline = t0 + (q->deadline_ms ? q->deadline_ms : DEFAULT_DEADLINE_MS);
	ev.pending_term = -1;

	/* The identity. */
	const char *helo = q->helo != NULL ? q->helo : "";
	const char *sender =
	    q->identity == SPF_ID_MAILFROM && q->sender != NULL ? q->sender : "";
	if (q->identity == SPF_ID_HELO || sender[0] == '\0') {
		snprintf(local, sizeof(local), "postmaster");
		domain = helo;
	} else if ((at = strrchr(sender, '@')) != NULL && at != sender) {
		if (!local_ok(sender, (size_t)(at - sender))) {
			char clean[128];
			out->result = SPF_R_NONE;
			snprintf(out->reason, sizeof(out->reason),
			         "the local-part of %s cannot be checked",
			         str_sanitize(clean, sizeof(clean), sender));
			finish(&ev, out, t0);
			return;
		}
		snprintf(local, sizeof(local), "%.*s", (int)(at - sender), sender);
		domain = at + 1;
	} else {
		/* No local-part: postmaster (RFC 7208 section 4.3). */
		snprintf(local, sizeof(local), "postmaster");
		domain = at != NULL ? at + 1 : sender;
	}
	{
		char clean[256];
		str_sanitize(clean, sizeof(clean), domain);
		snprintf(out->domain, sizeof(out->domain), "%s", clean);
		str_sanitize(clean, sizeof(clean), local);
		str_printf(out->sender, sizeof(out->sender), "%s@%s", clean, out->domain);
	}
	if (!spf_domain_ok(domain)) {
		out->result = SPF_R_NONE;
		str_printf(out->reason, sizeof(out->reason),
		           "\"%s\" is not a domain SPF can check", out->domain);
		finish(&ev, out, t0);
		return;
	}
	if (q->client.family != AF_INET && q->client.family != AF_INET6) {
		out->result = SPF_R_NONE;
		snprintf(out->reason, sizeof(out->reason), "no client address");
		finish(&ev, out, t0);
		return;
	}
	dnsbl_reverse_name(&ev.client, NULL, ev.reverse, sizeof(ev.reverse));

	/* The record: ours to fetch and screen. */
	char dom[256];
	snprintf(dom, sizeof(dom), "%s", domain);
	size_t dl = strlen(dom);
	if (dl > 0 && dom[dl - 1] == '.')
		dom[dl - 1] = '\0';
	switch (fetch_record(&ev, dom, &rec, &isvoid)) {
	case FETCH_TEMP:
		out->result = SPF_R_TEMPERROR;
		break;
	case FETCH_NONE:
		out->result = SPF_R_NONE;
		break;
	case FETCH_PERM:
		out->result = SPF_R_PERMERROR;
		break;
	case FETCH_OK:
		interpret(&ev, q, local, dom, &rec, out);
		spf_record_free(&rec);
		break;
	}
	if (ev.stopped)
		out->result = ev.stop_result;
	if (out->result == SPF_R_NONE || out->result == SPF_R_TEMPERROR ||
	    out->result == SPF_R_PERMERROR)
		snprintf(out->reason, sizeof(out->reason), "%s", ev.reason);
	finish(&ev, out, t0);
}
