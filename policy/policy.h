/*
 * policy: the restriction engine. It runs the configured restriction
 * lists for an SMTP stage and returns a verdict, reporting one check row
 * per restriction that ran. It knows nothing of libmilter: the milter
 * adapter, posternctl and the tests drive it with a struct facts.
 *
 * Lists are evaluated in order and the first decisive verdict of a list
 * (PERMIT, REJECT, DEFER) ends that list. As in Postfix, PERMIT ends
 * only its own list: the next list still runs. With delay_reject the
 * client, HELO and sender lists run at each RCPT, before the recipient
 * list, so a restriction sees the same facts wherever it is listed.
 *
 * Mail from internal networks, from authenticated clients and local
 * submissions (Postfix's non_smtpd_milters) bypasses every list: it is
 * never rejected, and a "bypass" check row says why.
 */
#ifndef POSTERN_POLICY_H
#define POSTERN_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ipaddr.h"

struct config;
struct map;
struct dnsbl_site;
struct dnscheck_state;
struct spfcheck_state;
struct greylist_state;
struct gl_store;
struct errlimit;

enum stage { STAGE_CONNECT, STAGE_HELO, STAGE_MAIL, STAGE_RCPT, STAGE_DATA, STAGE_EOM };
const char *stage_name(enum stage s);

/* The restriction lists, in evaluation order. */
enum rlist { RL_CLIENT, RL_HELO, RL_SENDER, RL_RECIPIENT, RL_DATA, RL__COUNT };
/* "client_restrictions", ... */
const char *rlist_key(enum rlist l);

enum verdict_kind { VERDICT_DUNNO, VERDICT_PERMIT, VERDICT_REJECT, VERDICT_DEFER };

struct verdict {
	enum verdict_kind kind;
	unsigned code;     /* 4xx or 5xx for REJECT and DEFER */
	char xcode[16];    /* enhanced status code, "5.7.1" */
	char text[512];    /* reply text after the codes */
	const char *check; /* name of the deciding restriction */
	enum stage stage;  /* stage at which it was decided */
	bool temp;         /* the check could not answer (DNS timeout ...) */
	bool repeats;      /* a client, HELO or sender list's verdict: with
	                    * delay_reject it comes again at every RCPT */
};

enum check_result { CHECK_PASS, CHECK_FAIL, CHECK_TEMP, CHECK_SKIP };
const char *check_result_name(enum check_result r);

/* What the MTA told us so far. Strings may be NULL when not known yet. */
struct facts {
	struct ipaddr client_ip;         /* family 0 when unknown */
	char client_addr[IPADDR_STRLEN]; /* "" when unknown */
	const char *client_name;         /* verified name, NULL when "unknown" */
	const char *helo;
	const char *sender;      /* without <>; "" for the null sender */
	const char *rcpt;        /* the recipient being checked, without <> */
	const char *auth_authen; /* {auth_authen} */
	const char *daemon_name;
	const char *queue_id;
	unsigned rcpt_count;   /* recipients accepted so far in this message */
	bool local_submission; /* non_smtpd_milters (Postfix cleanup) */
};

/* One compiled restriction of a list. */
struct restriction_def;
struct restriction {
	const struct restriction_def *def;
	bool warn_only;          /* warn_if_reject prefix */
	char *arg;               /* argument as written, or NULL */
	struct map *map;         /* access table, for check_*_access */
	struct dnsbl_site *site; /* DNS list, for reject_rbl_client and kin */
};

struct restriction_list {
	struct restriction *v;
	size_t n;
};

/* Compile the text of one list ("permit_mynetworks, check_client_access
 * cidr:/x, reject"). Access tables are opened now, so a bad table is a
 * config error. Returns 0, or -1 with a malloc'd *error_r. */
int policy_compile(const char *text, struct restriction_list *list_r, char **error_r);
void policy_list_free(struct restriction_list *list);

/* The name of restriction i of the table, or NULL past the end (docs). */
const char *policy_restriction_name(size_t i);

struct check_report {
	enum stage stage;
	const char *name;
	enum check_result result;
	const char *action; /* permit, reject, defer, dunno, warn, none */
	const char *detail;
	double ms;
};
typedef void policy_report_fn(void *arg, const struct check_report *r);

/* Per-connection memory of the engine, owned by the caller (zero it at
 * connect; call policy_new_message at each MAIL FROM). */
struct policy_state {
	bool bypass_reported;
	struct dnscheck_state *dns; /* DNS answers and results, or NULL */
	struct spfcheck_state *spf; /* SPF outcomes, or NULL */
	struct greylist_state *gl;  /* this message's greylisting, or NULL */
	bool repeat_counted;        /* a repeating refusal of this message has
	                             * counted against the client already */
};
void policy_new_message(struct policy_state *st);
/* A new HELO/EHLO: forget what was learnt about the previous one. */
void policy_new_helo(struct policy_state *st);
/* Free what the engine keeps for a connection. */
void policy_state_free(struct policy_state *st);

/* What the engine uses beyond the configuration: the daemon's state
 * store and error counts. Either may be NULL: check_greylist then fails
 * open, and client errors are not counted. */
struct policy_services {
	struct gl_store *store;
	struct errlimit *errors;
};

struct policy_ctx {
	const struct config *cfg;
	const struct facts *facts;
	struct policy_state *state;
	policy_report_fn *report; /* may be NULL */
	void *report_arg;
	bool want_iprev; /* look up the client's reverse DNS at connect even
	                  * when no restriction needs it (for the headers) */
	const struct policy_services *svc; /* may be NULL */
};

/* Is the restriction named in any list of cfg? */
bool policy_uses(const struct config *cfg, const char *name);

/* Why this client bypasses the restrictions ("internal",
 * "authenticated", "local") or NULL. */
const char *policy_bypass_reason(const struct config *cfg, const struct facts *f);

/* Can the configuration refuse anything at this stage? false means every
 * verdict of the stage is "continue" for every client (the milter then
 * negotiates no reply for it); the stage still runs and logs its checks.
 * The end of the message is always true (DKIM results act there). */
bool policy_stage_may_refuse(const struct config *cfg, enum stage stage);

/* Run what the configuration asks for at this stage and fill *v_r. The
 * verdict is final: soft_bounce has been applied. */
void policy_stage(struct policy_ctx *ctx, enum stage stage, struct verdict *v_r);

#endif
