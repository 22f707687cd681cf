/*
 * callbacks: one short function per milter stage. Facts from the MTA are
 * checked and copied into the session's arenas (untrusted text is
 * bounded and stripped of control characters first, with a check row
 * that says so); decisions are the policy engine's.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db/db.h"
#include "dkim/keytable.h"
#include "dkim/message.h"
#include "dns/resolver.h"
#include "lib/arena.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "milter/callbacks.h"
#include "milter/keys.h"
#include "milter/session.h"
#include "policy/authres.h"
#include "policy/conf.h"
#include "policy/dkimcheck.h"
#include "policy/dnscheck.h"
#include "policy/greylist.h"
#include "policy/spfcheck.h"
#include "policy/reply.h"

/* Longest HELO name or address we keep; longer input is cut and noted. */
#define INPUT_MAX 512

static struct db_log *the_log;
static struct config *current;
static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint active;

static void set_client(struct session *s, const char *hostname,
                       const struct sockaddr *sa);
static void log_connection(struct session *s);
static atomic_bool draining;

void
filter_set_log(struct db_log *log)
{
	the_log = log;
}

void
filter_set_config(struct config *cfg)
{
	struct config *old;

	if (cfg != NULL)
		dns_cache_configure(cfg->dns_cache_size);
	pthread_mutex_lock(&current_lock);
	old = current;
	current = cfg;
	pthread_mutex_unlock(&current_lock);
	config_unref(old);
}

struct config *
filter_config(void)
{
	struct config *cfg;

	pthread_mutex_lock(&current_lock);
	cfg = current != NULL ? config_ref(current) : NULL;
	pthread_mutex_unlock(&current_lock);
	return cfg;
}

unsigned
filter_active(void)
{
	return atomic_load(&active);
}

void
filter_drain(void)
{
	atomic_store(&draining, true);
}

/* While draining for a stop, new connections and messages get a
 * temporary failure so that the MTA retries them after the restart. */
static sfsistat
refuse_while_draining(SMFICTX *ctx)
{
	smfi_setreply(ctx, "451", "4.3.2", "Mail filter restarting, try again later");
	return SMFIS_TEMPFAIL;
}

/* The connection's session: made at option negotiation, which comes
 * first, so that the stages negotiated without a reply and the
 * configuration that decided them are the session's own. */
static struct session *
start_session(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s == NULL) {
		struct config *cfg = filter_config();
		s = session_new(cfg, the_log);
		config_unref(cfg);
		atomic_fetch_add(&active, 1);
		smfi_setpriv(ctx, s);
	}
	return s;
}

static struct session *
get_session(SMFICTX *ctx)
{
	struct session *s = start_session(ctx);

	if (!s->connected) {
		/* A stage before connect: a client out of order. */
		s->connected = true;
		set_client(s, NULL, NULL);
		log_connection(s);
		session_note(s, STAGE_CONNECT, "input", CHECK_FAIL,
		             "stage before connect: client unknown");
	}
	return s;
}

/* The answer of a stage: none when the MTA was told that the stage gets
 * no reply (SMFIP_NR_*). policy_stage_may_refuse() decided that from the
 * session's configuration, so a refusal cannot come here; if one does,
 * say so rather than let libmilter drop it silently. */
static sfsistat
reply(struct session *s, unsigned long nr_bit, sfsistat rc)
{
	if ((s->nr & nr_bit) == 0)
		return rc;
	if (rc != SMFIS_CONTINUE)
		log_warnx("conn %lld: a refusal at a stage negotiated without a reply "
		          "was not sent",
		          (long long)s->id);
	return SMFIS_NOREPLY;
}

/* Refuse a new connection or message while draining, at this stage if it
 * has a reply, else at the next message stage that has one. */
static bool
drain_refuses(struct session *s, unsigned long nr_bit, bool check_draining)
{
	if (!s->refuse_pending && !(check_draining && atomic_load(&draining)))
		return false;
	if ((s->nr & nr_bit) != 0) {
		s->refuse_pending = true;
		return false;
	}
	return true;
}

/* Copy untrusted text into the arena: bounded and without control
 * characters. Notes a check row saying what was wrong. */
static char *
take_input(struct session *s, struct arena *a, enum stage stage, const char *what,
           const char *text)
{
	char clean[INPUT_MAX + 1], why[160];
	size_t len = strlen(text);

	if (len <= INPUT_MAX && !str_has_ctl(text))
		return arena_strdup(a, text);
	str_sanitize(clean, sizeof(clean), text);
	snprintf(why, sizeof(why), "%s has %s; %zu bytes, kept %zu", what,
	         str_has_ctl(text) ? "control characters" : "over 512 bytes", len,
	         strlen(clean));
	log_warnx("conn %lld: malformed %s from [%s]: %s", (long long)s->id, what,
	          s->facts.client_addr, why);
	session_note(s, stage, "input", CHECK_FAIL, why);
	return arena_strdup(a, clean);
}

/* "<user@example.com>" -> "user@example.com" */
static const char *
strip_brackets(struct arena *a, const char *addr)
{
	size_t len = strlen(addr);

	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		return arena_strndup(a, addr + 1, len - 2);
	return addr;
}

static const char *
macro(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);
	return (v != NULL && *v != '\0') ? v : NULL;
}

/* Turn a verdict into the milter answer, logging decisions. A refusal
 * counts against the client (check_client_error_limit) and waits
 * error_sleep_time first: only this connection's thread sleeps. */
static sfsistat
answer(SMFICTX *ctx, struct session *s, const struct verdict *v)
{
	char code[8], line[700];
	struct policy_ctx pctx;
	unsigned pause;

	if (v->kind != VERDICT_REJECT && v->kind != VERDICT_DEFER)
		return SMFIS_CONTINUE;
	session_policy_ctx(s, &pctx);
	if ((pause = errlimit_note_reply(&pctx, v)) > 0) {
		struct timespec t = {(time_t)pause, 0};
		while (nanosleep(&t, &t) < 0 && errno == EINTR)
			;
	}
	snprintf(code, sizeof(code), "%u", v->code);
	if (smfi_setreply(ctx, code, (char *)v->xcode, (char *)v->text) != MI_SUCCESS)
		log_warnx("conn %lld: smfi_setreply refused \"%s\"", (long long)s->id,
		          reply_format(v, line, sizeof(line)));
	log_info("%s: %s: %s from %s[%s]: %s; from=<%s> to=<%s> helo=<%s>",
	         s->msg && s->msg->queue_id ? s->msg->queue_id : "NOQUEUE",
	         v->kind == VERDICT_REJECT ? "reject" : "defer", stage_name(v->stage),
	         s->facts.client_name ? s->facts.client_name : "unknown",
	         s->facts.client_addr, reply_format(v, line, sizeof(line)),
	         s->facts.sender ? s->facts.sender : "",
	         s->facts.rcpt ? s->facts.rcpt : "", s->helo ? s->helo : "");
	return v->kind == VERDICT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
             unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
             unsigned long *pf3)
{
	struct session *s = start_session(ctx);
	const struct config *cfg = s->cfg;
	/* Headers, their end and the body never get an answer but continue;
	 * a stage at which the configuration cannot refuse gets none either.
	 * Each reply the MTA waits for costs a round trip (design section 9). */
	unsigned long want =
	    SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NOUNKNOWN;
	static const struct {
		enum stage stage;
		unsigned long bit;
	} stages[] = {{STAGE_CONNECT, SMFIP_NR_CONN},
	              {STAGE_HELO, SMFIP_NR_HELO},
	              {STAGE_MAIL, SMFIP_NR_MAIL},
	              {STAGE_RCPT, SMFIP_NR_RCPT}};
	/* DATA always gets a reply, even when nothing can be refused there:
	 * Postfix's smtpd hands the connection to its cleanup server after
	 * DATA, whose first write would wait for our delayed ACK (about
	 * 40 ms a message, tests/bench/run-protocol). */

	(void)f2;
	(void)f3;
	if (cfg != NULL) {
		for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
			if (!policy_stage_may_refuse(cfg, stages[i].stage))
				want |= stages[i].bit;
		/* The body is always asked for, even without DKIM work: its
		 * size goes into the messages row. */
	} else {
		want = 0; /* stopping: every stage may refuse (draining) */
	}
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST);
	*pf1 = f1 & want;
	*pf2 = 0;
	*pf3 = 0;
	s->nr = *pf1;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT,
		                "j {daemon_name} {client_ptr} {client_port}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen} {auth_type}");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i {auth_authen}");
		smfi_setsymlist(ctx, SMFIM_DATA, "i");
		smfi_setsymlist(ctx, SMFIM_EOH, "i");
		smfi_setsymlist(ctx, SMFIM_EOM, "i {auth_authen}");
	}
	return SMFIS_CONTINUE;
}

static void
set_client(struct session *s, const char *hostname, const struct sockaddr *sa)
{
	struct facts *f = &s->facts;
	int port = 0;

	if (ipaddr_from_sockaddr(sa, &f->client_ip) == 0)
		ipaddr_format(&f->client_ip, f->client_addr, sizeof(f->client_addr));
	if (sa != NULL && sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	/* The name as the MTA gave it ("[192.0.2.1]" or "unknown" when it has
	 * none), cleaned; only a real name becomes a fact for the checks. */
	const char *given =
	    hostname ? take_input(s, s->arena, STAGE_CONNECT, "client name", hostname)
	             : "";
	if (*given != '\0' && given[0] != '[' && strcmp(given, "unknown") != 0)
		f->client_name = given;
	/* Postfix's cleanup presents local submissions as localhost[127.0.0.1]:0. */
	f->local_submission = port == 0 && f->client_name != NULL &&
	                      strcmp(f->client_name, "localhost") == 0 &&
	                      strcmp(f->client_addr, "127.0.0.1") == 0;
	s->client_port = port;
	s->client_given = given;
}

/* The connections row, once the connect stage has looked up the
 * client's reverse DNS. */
static void
log_connection(struct session *s)
{
	const char *bypass = policy_bypass_reason(s->cfg, &s->facts);
	const struct iprev *ir = NULL;

	if (bypass == NULL) {
		struct policy_ctx pctx = {s->cfg, &s->facts, &s->pstate, NULL,
		                          NULL,   true,      NULL};
		ir = dnscheck_iprev(&pctx);
	}
	struct db_connection_row row = {
	    .id = s->id,
	    .time = clock_now(),
	    .client_addr = s->facts.client_addr,
	    .client_port = s->client_port,
	    .client_name = s->client_given,
	    .daemon_name = s->facts.daemon_name,
	    .bypass = bypass,
	    .ptr_name = ir ? ir->ptr_name : NULL,
	    .iprev = ir ? iprev_result_name(ir->result) : NULL,
	};
	db_log_connection(s->log, &row);
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct session *s = start_session(ctx);
	struct verdict v;

	if (s->connected) /* a second connect on one connection */
		session_note(s, STAGE_CONNECT, "input", CHECK_FAIL,
		             "connect information sent twice");
	s->connected = true;
	if (drain_refuses(s, SMFIP_NR_CONN, true))
		return refuse_while_draining(ctx);
	const char *daemon = macro(ctx, "{daemon_name}");
	if (daemon != NULL)
		s->facts.daemon_name =
		    take_input(s, s->arena, STAGE_CONNECT, "daemon name", daemon);
	set_client(s, hostname, hostaddr);
	session_policy(s, STAGE_CONNECT, &v);
	log_connection(s);
	return reply(s, SMFIP_NR_CONN, answer(ctx, s, &v));
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helohost)
{
	struct session *s = get_session(ctx);
	struct verdict v;

	s->helo = take_input(s, s->arena, STAGE_HELO, "HELO", helohost ? helohost : "");
	s->facts.helo = s->helo;
	policy_new_helo(&s->pstate);
	session_policy(s, STAGE_HELO, &v);
	return reply(s, SMFIP_NR_HELO, answer(ctx, s, &v));
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = get_session(ctx);
	struct message *m;

	if (drain_refuses(s, SMFIP_NR_MAIL, true))
		return refuse_while_draining(ctx);
	m = session_begin_message(s);
	const char *auth = macro(ctx, "{auth_authen}"), *qid = macro(ctx, "i");
	struct verdict v;

	m->sender = take_input(s, m->arena, STAGE_MAIL, "sender",
	                       strip_brackets(m->arena, argv && argv[0] ? argv[0] : ""));
	m->auth = auth ? take_input(s, m->arena, STAGE_MAIL, "auth name", auth) : NULL;
	m->queue_id = qid ? take_input(s, m->arena, STAGE_MAIL, "queue id", qid) : NULL;
	s->facts.sender = m->sender;
	s->facts.auth_authen = m->auth;
	s->facts.queue_id = m->queue_id;
	session_policy(s, STAGE_MAIL, &v);
	return reply(s, SMFIP_NR_MAIL, answer(ctx, s, &v));
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session *s = get_session(ctx);
	struct message *m = session_message(s);
	struct verdict v;
	const char *rcpt =
	    take_input(s, m->arena, STAGE_RCPT, "recipient",
	               strip_brackets(m->arena, argv && argv[0] ? argv[0] : ""));

	s->facts.rcpt = rcpt;
	s->facts.rcpt_count = m->naccepted;
	if (drain_refuses(s, SMFIP_NR_RCPT, false)) {
		session_list_add(&m->rejected, rcpt);
		return refuse_while_draining(ctx);
	}
	session_policy(s, STAGE_RCPT, &v);
	if (v.kind == VERDICT_REJECT || v.kind == VERDICT_DEFER) {
		session_list_add(&m->rejected, rcpt);
	} else {
		session_list_add(&m->rcpts, rcpt);
		m->naccepted++;
	}
	return reply(s, SMFIP_NR_RCPT, answer(ctx, s, &v));
}

/* The current message, learning its queue id ("i") once the MTA has one:
 * Postfix assigns it at MAIL, Sendmail later. */
static struct message *
message_with_qid(SMFICTX *ctx, struct session *s, enum stage stage)
{
	struct message *m = session_message(s);
	const char *qid;

	if (m->queue_id == NULL && (qid = macro(ctx, "i")) != NULL) {
		m->queue_id = take_input(s, m->arena, stage, "queue id", qid);
		s->facts.queue_id = m->queue_id;
	}
	return m;
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	struct session *s = get_session(ctx);
	struct verdict v;

	s->facts.rcpt_count = message_with_qid(ctx, s, STAGE_DATA)->naccepted;
	s->facts.rcpt = NULL;
	if (s->refuse_pending) /* DATA always has a reply: see cb_negotiate */
		return refuse_while_draining(ctx);
	session_policy(s, STAGE_DATA, &v);
	return answer(ctx, s, &v);
}

/* The DKIM work of the message, decided at its first header field:
 * signing for mail from inside (when dkim_sign), verifying for the rest
 * (when dkim_verify), or NULL when there is none, so that no field is
 * kept for nothing. */
static struct dkim_msg *
message_dkim(struct session *s, struct message *m)
{
	const struct config *cfg = s->cfg;

	if (!m->dkim_decided) {
		m->dkim_decided = true;
		m->dkim_signs = policy_bypass_reason(cfg, &s->facts) != NULL;
		if (cfg->dkim_engine != NULL &&
		    (m->dkim_signs ? cfg->dkim_sign : cfg->dkim_verify))
			m->dkim = dkim_msg_new(cfg->dkim_engine, m->queue_id);
	}
	return m->dkim;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = get_session(ctx);
	struct message *m = session_message(s);

	m->size += (int64_t)(strlen(name) + strlen(value) + 4);
	if (message_dkim(s, m) != NULL)
		dkim_msg_header(m->dkim, name, value);
	if (strcasecmp(name, "Authentication-Results") == 0) {
		m->ar_count++;
		if (authres_is_ours(value, s->cfg->authserv_id))
			session_index_add(m, m->ar_count);
	}
	return reply(s, SMFIP_NR_HDR, SMFIS_CONTINUE);
}

/* Mail from inside: sign it when the signing table has its From:. */
static void
start_signing(struct session *s, struct message *m)
{
	struct keys_ref *ref = keys_acquire();
	const struct dkim_keytable *kt = keys_table(ref);
	const char *from = dkim_msg_from(m->dkim);
	const struct dkim_key *keys[16];
	size_t n = 0;
	char why[300];

	/* Without signing rules there is nothing to say about each message. */
	if (kt == NULL || kt->nrules == 0) {
		keys_release(ref);
		return;
	}
	if (from != NULL)
		n = dkim_keytable_match(kt, from, keys, sizeof(keys) / sizeof(keys[0]));
	if (n == 0) {
		if (from != NULL)
			str_printf(why, sizeof(why), "no signing table entry for %s",
			           from);
		else
			str_printf(why, sizeof(why), "no From: address to sign for");
		session_note(s, STAGE_EOM, "dkim_sign", CHECK_SKIP, why);
	} else if (dkim_msg_sign_start(m->dkim, keys, n, why, sizeof(why)) < 0) {
		session_note(s, STAGE_EOM, "dkim_sign", CHECK_FAIL, why);
	} else {
		/* The signer points into the table: hold it until the end of
		 * the message, whatever reload comes. */
		m->dkim_mode = DKIM_SIGNING;
		m->keys = ref;
		return;
	}
	keys_release(ref);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct session *s = get_session(ctx);
	struct message *m = message_with_qid(ctx, s, STAGE_DATA);
	const struct config *cfg = s->cfg;
	double t0 = clock_ms();

	m->size += 2;
	if (message_dkim(s, m) == NULL)
		return reply(s, SMFIP_NR_EOH, SMFIS_CONTINUE);
	if (m->dkim_signs) {
		start_signing(s, m);
	} else {
		struct dkim_verify_opts o = {cfg->dkim_max_signatures,
		                             cfg->dkim_min_rsa_bits,
		                             cfg->dkim_allow_l_tag};
		dkim_msg_verify_start(m->dkim, &o);
		m->dkim_mode = DKIM_VERIFYING;
	}
	m->dkim_ms += clock_ms() - t0;
	return reply(s, SMFIP_NR_EOH, SMFIS_CONTINUE);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session *s = get_session(ctx);
	struct message *m = session_message(s);

	m->size += (int64_t)len;
	if (m->dkim != NULL && m->dkim_mode != DKIM_IDLE) {
		double t0 = clock_ms();
		dkim_msg_body(m->dkim, chunk, len);
		m->dkim_ms += clock_ms() - t0;
	}
	return reply(s, SMFIP_NR_BODY, SMFIS_CONTINUE);
}

/* Remove Authentication-Results that claim to be ours (each by its own
 * index among those headers, highest first, so the others keep theirs),
 * then put ours at the top. */
static void
write_headers(SMFICTX *ctx, struct session *s, const struct dkim_sig_result *dr,
              size_t ndr)
{
	struct message *m = s->msg;
	const char *methods[8 + 8];
	char *dkim_methods[8];
	size_t n, ndkim = 0;

	for (size_t i = m->nforged; i > 0; i--) {
		if (smfi_chgheader(ctx, "Authentication-Results", (int)m->forged[i - 1],
		                   NULL) != MI_SUCCESS)
			log_warnx(
			    "conn %lld: cannot remove a forged Authentication-Results",
			    (long long)s->id);
	}
	if (m->nforged > 0)
		session_note(
		    s, STAGE_EOM, "authres", CHECK_FAIL,
		    "removed Authentication-Results that claimed our authserv_id");
	if (policy_bypass_reason(s->cfg, &s->facts) != NULL)
		return;
	struct policy_ctx pctx;
	session_policy_ctx(s, &pctx);
	char xgrey[300];
	if (greylist_header(&pctx, xgrey, sizeof(xgrey)) &&
	    smfi_insheader(ctx, 0, "X-Greylist", xgrey) != MI_SUCCESS)
		log_warnx("conn %lld: cannot add X-Greylist", (long long)s->id);
	if (s->cfg->received_spf_header) {
		char *received[2];
		size_t nr = spfcheck_received(&pctx, received, 2);
		for (size_t i = 0; i < nr; i++) {
			if (smfi_insheader(ctx, 0, "Received-SPF", received[i]) !=
			    MI_SUCCESS)
				log_warnx("conn %lld: cannot add Received-SPF",
				          (long long)s->id);
			free(received[i]);
		}
	}
	n = dnscheck_authres(&pctx, methods, sizeof(methods) / sizeof(methods[0]));
	char spf_methods[2][400];
	size_t nspf = spfcheck_authres(&pctx, spf_methods, 2);
	for (size_t i = 0; i < nspf && n < sizeof(methods) / sizeof(methods[0]); i++)
		methods[n++] = spf_methods[i];
	if (m->dkim_mode == DKIM_VERIFYING)
		ndkim = dkimcheck_authres(dr, ndr, dkim_methods, 8);
	for (size_t i = 0; i < ndkim && n < sizeof(methods) / sizeof(methods[0]); i++)
		methods[n++] = dkim_methods[i];
	char *value = authres_build(s->cfg->authserv_id, methods, n);
	if (smfi_insheader(ctx, 0, "Authentication-Results", value) != MI_SUCCESS)
		log_warnx("conn %lld: cannot add Authentication-Results",
		          (long long)s->id);
	free(value);
	for (size_t i = 0; i < ndkim; i++)
		free(dkim_methods[i]);
}

/* Mail from inside: add the signatures, the first key's on top. */
static void
write_signatures(SMFICTX *ctx, struct session *s)
{
	struct message *m = s->msg;
	const struct dkim_made *made;
	struct policy_ctx pctx;
	double t0 = clock_ms();
	size_t n = dkim_msg_sign_finish(m->dkim, &made);

	m->dkim_ms += clock_ms() - t0;
	for (size_t i = n; i > 0; i--) {
		if (made[i - 1].value == NULL)
			continue;
		if (smfi_insheader(ctx, 0, "DKIM-Signature", made[i - 1].value) !=
		    MI_SUCCESS)
			log_warnx("conn %lld: cannot add DKIM-Signature",
			          (long long)s->id);
	}
	for (size_t i = 0; i < n; i++)
		if (made[i].value == NULL)
			log_warnx("conn %lld: not signed with d=%s s=%s: %s",
			          (long long)s->id, made[i].d, made[i].s, made[i].reason);
	session_policy_ctx(s, &pctx);
	dkimcheck_signed(&pctx, made, n, m->dkim_ms);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct session *s = get_session(ctx);
	struct verdict v;

	struct message *m = message_with_qid(ctx, s, STAGE_EOM);
	const struct dkim_sig_result *dr = NULL;
	size_t ndr = 0;

	if (s->refuse_pending) {
		session_end_message(s, "defer");
		return refuse_while_draining(ctx);
	}
	session_policy(s, STAGE_EOM, &v);
	if (m->dkim_mode == DKIM_VERIFYING) {
		struct policy_ctx pctx;
		struct verdict dv;
		double t0 = clock_ms();
		ndr = dkim_msg_verify_finish(m->dkim, &dr);
		m->dkim_ms += clock_ms() - t0;
		session_policy_ctx(s, &pctx);
		dkimcheck_verified(&pctx, dr, ndr, m->dkim_ms, &dv);
		if (v.kind != VERDICT_REJECT && v.kind != VERDICT_DEFER &&
		    (dv.kind == VERDICT_REJECT || dv.kind == VERDICT_DEFER)) {
			v = dv;
			session_remember(s, &v);
		}
	}
	sfsistat rc = answer(ctx, s, &v);
	if (rc == SMFIS_CONTINUE && m->dkim_mode == DKIM_SIGNING)
		write_signatures(ctx, s);
	if (rc == SMFIS_CONTINUE)
		write_headers(ctx, s, dr, ndr);
	session_end_message(s, v.kind == VERDICT_REJECT  ? "reject"
	                       : v.kind == VERDICT_DEFER ? "defer"
	                                                 : "accept");
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s != NULL)
		session_end_message(s, "aborted");
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s == NULL)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	session_free(s);
	atomic_fetch_sub(&active, 1);
	return SMFIS_CONTINUE;
}

struct smfiDesc filter_desc = {
    .xxfi_name = "postern",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST,
    .xxfi_connect = cb_connect,
    .xxfi_helo = cb_helo,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_unknown = NULL,
    .xxfi_data = cb_data,
    .xxfi_negotiate = cb_negotiate,
};
