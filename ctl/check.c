/*
 * check: "posternctl check", one SMTP transaction run through the
 * configured policy offline. The stages run in the order the milter
 * adapter (milter/callbacks.c) runs them: connect, HELO, MAIL, each
 * RCPT, DATA and the end of the message, where the MESSAGE given (if
 * any) is verified with DKIM. The output is every check row the policy
 * reported, the header fields postern would add, and the reply the SMTP
 * client would get.
 *
 * DNS is real: the configured resolver answers. Nothing is written
 * unless --log: then the rows go to the verdict log as the daemon's
 * would, and check_greylist and check_client_error_limit use the
 * database. Without --log those two are shown as not evaluated, since
 * greylisting would record the attempt.
 *
 * It is not the daemon: it does not sign mail from internal clients,
 * does not count rejections against the client (client_error_limit) and
 * does not sleep error_sleep_time.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "db/db.h"
#include "db/greylist.h"
#include "dkim/message.h"
#include "lib/clock.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/authres.h"
#include "policy/conf.h"
#include "policy/dkimcheck.h"
#include "policy/dnscheck.h"
#include "policy/greylist.h"
#include "policy/reply.h"
#include "policy/spfcheck.h"

/* Exit statuses of check beyond ctl.h's: the SMTP client would get a
 * 4xx; the check could not run (configuration, MESSAGE, database). */
enum { CHECK_EXIT_REJECT = CTL_FAIL, CHECK_EXIT_DEFER = 3, CHECK_EXIT_ERROR = 4 };

#define USE                                                                              \
	"--client IP [--client-name NAME] --helo NAME --from ADDR --rcpt ADDR "          \
	"[--rcpt ADDR ...] [--auth USER] [--queue-id ID] [--log] [--json] [MESSAGE]"

/* Longest argument taken, as the milter adapter's INPUT_MAX. */
#define ARG_MAX_LEN 512
/* Largest MESSAGE read. */
#define MESSAGE_MAX (64u * 1024 * 1024)
/* Body chunks as libmilter hands them over. */
#define BODY_CHUNK 65535

struct row {
	enum stage stage;
	char *name, *result, *action, *detail; /* detail may be NULL */
	double ms;
};

struct header {
	const char *name;
	char *value;
};

struct field {
	char *name, *value;
};

/* MESSAGE as the MTA would hand it over: header fields (values without
 * the space after the colon, folded with LF) and the body with CRLF. */
struct message_text {
	struct field *fields;
	size_t nfields, cap;
	char *body;
	size_t body_len;
};

struct rcpt_outcome {
	const char *rcpt;
	struct verdict v; /* REJECT or DEFER; DUNNO when accepted */
};

struct checkrun {
	struct ctl *ctl;
	struct config *cfg;
	struct facts facts;
	struct policy_state st;
	struct policy_services svc;
	struct policy_ctx pctx;
	const char *client_name_given;
	const char *auth, *queue_id; /* facts from MAIL on, as the MTA's macros */
	const char **rcpts;
	size_t nrcpts;
	const char *message_path; /* NULL: no MESSAGE */
	struct message_text msg;
	/* The transaction. */
	bool in_message;
	struct rcpt_outcome *outcomes;
	unsigned naccepted;
	struct verdict last_reject; /* of the message: what a row records */
	bool have_reject;
	struct verdict final; /* what the client gets: REJECT, DEFER, or DUNNO */
	unsigned warnings;
	int64_t size;
	/* --log */
	bool logging;
	struct db_log *log; /* NULL once closed */
	int64_t conn_id, msg_id;
	struct timespec msg_time;
	double msg_t0;
	/* Output. */
	struct row *rows;
	size_t nrows, rows_cap;
	struct header *headers; /* in the order they would be inserted at the top */
	size_t nheaders, headers_cap;
};

/* ---- rows ---- */

static void
add_row(struct checkrun *k, enum stage stage, const char *name, const char *result,
        const char *action, const char *detail, double ms)
{
	k->rows = xgrow(k->rows, &k->rows_cap, k->nrows + 1, sizeof(*k->rows));
	k->rows[k->nrows++] = (struct row){stage,
	                                   xstrdup(name),
	                                   xstrdup(result),
	                                   xstrdup(action),
	                                   detail ? xstrdup(detail) : NULL,
	                                   ms};
	if (strcmp(action, "warn") == 0)
		k->warnings++;
}

/* Without --log there is no database: what check_greylist and
 * check_client_error_limit would have asked it is not asked, and their
 * fail-open answer is shown for what it is. */
static const char *
offline_detail(const struct checkrun *k, const struct check_report *r)
{
	if (k->log != NULL || r->result != CHECK_TEMP)
		return NULL;
	if (strcmp(r->name, "check_greylist") == 0)
		return "not evaluated offline: the greylist would record this attempt "
		       "(use --log)";
	if (strcmp(r->name, "check_client_error_limit") == 0)
		return "not evaluated offline: bans are read with --log only";
	return NULL;
}

static void
log_check_row(struct checkrun *k, const struct check_report *r)
{
	bool conn_stage = r->stage == STAGE_CONNECT || r->stage == STAGE_HELO;
	struct db_check_row row = {
	    .conn_id = k->conn_id,
	    .msg_id = k->in_message && !conn_stage ? k->msg_id : 0,
	    .time = clock_now(),
	    .stage = stage_name(r->stage),
	    .name = r->name,
	    .result = check_result_name(r->result),
	    .action = r->action,
	    .detail = r->detail,
	    .ms = r->ms,
	};

	db_log_check(k->log, &row);
}

static void
report_row(void *arg, const struct check_report *r)
{
	struct checkrun *k = arg;
	const char *offline = offline_detail(k, r);

	if (offline != NULL) {
		add_row(k, r->stage, r->name, "skip", "none", offline, r->ms);
		return;
	}
	add_row(k, r->stage, r->name, check_result_name(r->result), r->action, r->detail,
	        r->ms);
	if (k->log != NULL)
		log_check_row(k, r);
}

/* A row of the adapter's own (as session_note). */
static void
note(struct checkrun *k, enum stage stage, const char *name, enum check_result result,
     const char *detail)
{
	struct check_report r = {stage, name, result, "none", detail, 0};

	report_row(k, &r);
}

/* ---- arguments ---- */

/* "<user@example.com>" -> "user@example.com"; "<>" -> "". */
static const char *
strip_brackets(char *addr)
{
	size_t len = strlen(addr);

	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr[len - 1] = '\0';
		return addr + 1;
	}
	return addr;
}

/* Take the --rcpt options (there may be several) out of argv: the rest
 * goes to rest (argv[0] first), for ctl_args. Returns 0, or -1 after a
 * message. */
static int
take_rcpts(struct checkrun *k, int argc, char **argv, char **rest, int *nrest_r)
{
	int n = 0;
	bool only_pos = false;

	k->rcpts = xcalloc((size_t)argc, sizeof(*k->rcpts));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (i > 0 && !only_pos && strcmp(a, "--") == 0)
			only_pos = true;
		if (i == 0 || only_pos || strncmp(a, "--rcpt", 6) != 0 ||
		    (a[6] != '\0' && a[6] != '=')) {
			rest[n++] = argv[i];
			continue;
		}
		if (a[6] == '=') {
			k->rcpts[k->nrcpts++] = strip_brackets(argv[i] + 7);
		} else if (i + 1 < argc) {
			k->rcpts[k->nrcpts++] = strip_brackets(argv[++i]);
		} else {
			fprintf(stderr, "posternctl: check: --rcpt needs a value\n");
			return -1;
		}
	}
	*nrest_r = n;
	return 0;
}

/* Text from the command line, taken as the adapter takes the MTA's:
 * at most 512 bytes, without control characters. */
static bool
arg_ok(const char *what, const char *text)
{
	if (text != NULL && (strlen(text) > ARG_MAX_LEN || str_has_ctl(text))) {
		fprintf(stderr,
		        "posternctl: check: %s is over %d bytes or has control "
		        "characters\n",
		        what, ARG_MAX_LEN);
		return false;
	}
	return true;
}

struct check_args {
	const char *client, *client_name, *helo, *from, *auth, *queue_id;
	bool log;
};

static int
parse_args(struct checkrun *k, int argc, char **argv, struct check_args *a)
{
	char **rest = xcalloc((size_t)argc + 1, sizeof(*rest)), *pos[1];
	int nrest, npos;
	const struct ctl_opt opts[] = {
	    {"client", &a->client, NULL}, {"client-name", &a->client_name, NULL},
	    {"helo", &a->helo, NULL},     {"from", &a->from, NULL},
	    {"auth", &a->auth, NULL},     {"queue-id", &a->queue_id, NULL},
	    {"log", NULL, &a->log},       {0}};

	if (take_rcpts(k, argc, argv, rest, &nrest) < 0 ||
	    (npos = ctl_args(k->ctl, nrest, rest, opts, pos, 1)) < 0) {
		free(rest);
		return ctl_usage_error("check", USE, "bad arguments");
	}
	free(rest);
	if (a->client == NULL || a->helo == NULL || a->from == NULL || k->nrcpts == 0)
		return ctl_usage_error("check", USE,
		                       "--client, --helo, --from and --rcpt are needed");
	if (ipaddr_parse(a->client, &k->facts.client_ip) < 0)
		return ctl_usage_error("check", USE, "--client %s: not an IP address",
		                       a->client);
	if (!arg_ok("--client-name", a->client_name) || !arg_ok("--helo", a->helo) ||
	    !arg_ok("--from", a->from) || !arg_ok("--auth", a->auth) ||
	    !arg_ok("--queue-id", a->queue_id))
		return CTL_USAGE;
	for (size_t i = 0; i < k->nrcpts; i++)
		if (!arg_ok("--rcpt", k->rcpts[i]))
			return CTL_USAGE;
	k->message_path = npos == 1 ? pos[0] : NULL;
	return CTL_OK;
}

/* ---- MESSAGE ---- */

static int
read_all(const char *path, char **text_r, size_t *len_r, char **error_r)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t len = 0, cap = 0, n;
	char *buf = NULL;

	if (f == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	do {
		buf = xgrow(buf, &cap, len + 65536, 1);
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len <= MESSAGE_MAX);
	bool bad = ferror(f) != 0;
	if (f != stdin)
		fclose(f);
	if (bad || len > MESSAGE_MAX) {
		*error_r = bad ? xasprintf("%s: read error", path)
		               : xasprintf("%s: larger than %u bytes", path, MESSAGE_MAX);
		free(buf);
		return -1;
	}
	*text_r = buf;
	*len_r = len;
	return 0;
}

/* A header field's name: printable ASCII but ':' and space, RFC 5322. */
static bool
field_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

/* One header line: a new field, a continuation of the last one, or
 * false when the header has ended. */
static bool
message_header_line(struct message_text *m, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);

	if ((line[0] == ' ' || line[0] == '\t') && m->nfields > 0) {
		struct field *f = &m->fields[m->nfields - 1];
		char *v = xasprintf("%s\n%.*s", f->value, (int)n, line);
		free(f->value);
		f->value = v;
		return true;
	}
	if (colon == NULL || !field_name_ok(line, (size_t)(colon - line)))
		return false;
	const char *v = colon + 1;
	/* Without SMFIP_HDR_LEADSPC the MTA drops the space after the colon. */
	if (v < line + n && *v == ' ')
		v++;
	m->fields = xgrow(m->fields, &m->cap, m->nfields + 1, sizeof(*m->fields));
	m->fields[m->nfields++] = (struct field){
	    xstrndup(line, (size_t)(colon - line)),
	    xstrndup(v, (size_t)(line + n - v)),
	};
	return true;
}

/* Split text into header fields and body, with LF or CRLF line ends; a
 * leading mbox "From " line is skipped, and a line that is not a field
 * ends the header as it does for the MTA. */
static void
message_parse(const char *text, size_t len, struct message_text *m)
{
	const char *p = text, *end = text + len;
	bool in_header = true;
	size_t cap = len + len / 8 + 3;

	m->body = xmalloc(cap);
	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', len);
		p = nl ? nl + 1 : end;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (in_header) {
			if (n == 0) {
				in_header = false;
				p = next;
				continue;
			}
			if (message_header_line(m, p, n)) {
				p = next;
				continue;
			}
			in_header = false;
		}
		if (m->body_len + n + 2 > cap) {
			cap = (m->body_len + n + 2) * 2;
			m->body = xrealloc(m->body, cap);
		}
		memcpy(m->body + m->body_len, p, n);
		memcpy(m->body + m->body_len + n, "\r\n", 2);
		m->body_len += n + 2;
		p = next;
	}
}

static void
message_free(struct message_text *m)
{
	for (size_t i = 0; i < m->nfields; i++) {
		free(m->fields[i].name);
		free(m->fields[i].value);
	}
	free(m->fields);
	free(m->body);
}

/* ---- the transaction ---- */

static bool
refusal(const struct verdict *v)
{
	return v->kind == VERDICT_REJECT || v->kind == VERDICT_DEFER;
}

/* Run the policy for a stage; a refusal ends the transaction (true). */
static bool
run_stage(struct checkrun *k, enum stage stage, struct verdict *v_r)
{
	policy_stage(&k->pctx, stage, v_r);
	if (!refusal(v_r))
		return false;
	if (k->in_message && stage >= STAGE_MAIL) {
		k->last_reject = *v_r;
		k->have_reject = true;
	}
	return true;
}

/* After the connect stage: the client's reverse DNS, looked up without
 * a row when no restriction needed it (for the headers), and the
 * connections row; as the daemon's log_connection. */
static void
log_connection(struct checkrun *k)
{
	const char *bypass = policy_bypass_reason(k->cfg, &k->facts);
	struct policy_ctx quiet = k->pctx;

	quiet.report = NULL;
	const struct iprev *ir = bypass == NULL ? dnscheck_iprev(&quiet) : NULL;

	if (k->log == NULL)
		return;
	struct db_connection_row row = {
	    .id = k->conn_id,
	    .time = clock_now(),
	    .client_addr = k->facts.client_addr,
	    .client_port = 0,
	    .client_name = k->client_name_given,
	    .daemon_name = k->facts.daemon_name,
	    .bypass = bypass,
	    .ptr_name = ir ? ir->ptr_name : NULL,
	    .iprev = ir ? iprev_result_name(ir->result) : NULL,
	};
	db_log_connection(k->log, &row);
}

typedef bool step_fn(struct checkrun *k);

static bool
step_connect(struct checkrun *k)
{
	struct verdict v;
	bool refused = run_stage(k, STAGE_CONNECT, &v);

	log_connection(k);
	if (refused)
		k->final = v;
	return !refused;
}

static bool
step_helo(struct checkrun *k)
{
	struct verdict v;

	policy_new_helo(&k->st);
	if (run_stage(k, STAGE_HELO, &v))
		k->final = v;
	return !refusal(&v);
}

static bool
step_mail(struct checkrun *k)
{
	struct verdict v;

	policy_new_message(&k->st);
	k->in_message = true;
	k->msg_id = k->log != NULL ? db_new_id() : 0;
	k->msg_time = clock_now();
	k->msg_t0 = clock_ms();
	k->facts.auth_authen = k->auth;
	k->facts.queue_id = k->queue_id;
	if (run_stage(k, STAGE_MAIL, &v))
		k->final = v;
	return !refusal(&v);
}

static bool
step_rcpt(struct checkrun *k)
{
	k->outcomes = xcalloc(k->nrcpts, sizeof(*k->outcomes));
	for (size_t i = 0; i < k->nrcpts; i++) {
		struct rcpt_outcome *o = &k->outcomes[i];

		o->rcpt = k->rcpts[i];
		k->facts.rcpt = o->rcpt;
		k->facts.rcpt_count = k->naccepted;
		if (!run_stage(k, STAGE_RCPT, &o->v)) {
			o->v.kind = VERDICT_DUNNO;
			k->naccepted++;
		}
	}
	/* Without a recipient there is no DATA: the client has the last
	 * refusal. */
	if (k->naccepted == 0)
		k->final = k->last_reject;
	return k->naccepted > 0;
}

static bool
step_data(struct checkrun *k)
{
	struct verdict v;

	k->facts.rcpt = NULL;
	k->facts.rcpt_count = k->naccepted;
	if (run_stage(k, STAGE_DATA, &v))
		k->final = v;
	return !refusal(&v);
}

/* The header and body of MESSAGE into dkim (when verifying), counting
 * the size and the Authentication-Results that claim to be ours. */
static unsigned
feed_message(struct checkrun *k, struct dkim_msg *dkim)
{
	const struct message_text *m = &k->msg;
	unsigned forged = 0;

	for (size_t i = 0; i < m->nfields; i++) {
		const struct field *f = &m->fields[i];

		k->size += (int64_t)(strlen(f->name) + strlen(f->value) + 4);
		if (dkim != NULL)
			dkim_msg_header(dkim, f->name, f->value);
		if (strcasecmp(f->name, "Authentication-Results") == 0 &&
		    authres_is_ours(f->value, k->cfg->authserv_id))
			forged++;
	}
	k->size += 2 + (int64_t)m->body_len;
	if (dkim == NULL)
		return forged;
	struct dkim_verify_opts o = {k->cfg->dkim_max_signatures,
	                             k->cfg->dkim_min_rsa_bits, k->cfg->dkim_allow_l_tag};
	dkim_msg_verify_start(dkim, &o);
	for (size_t off = 0; off < m->body_len; off += BODY_CHUNK) {
		size_t n =
		    m->body_len - off < BODY_CHUNK ? m->body_len - off : BODY_CHUNK;
		dkim_msg_body(dkim, (const unsigned char *)m->body + off, n);
	}
	return forged;
}

static void
add_header(struct checkrun *k, const char *name, char *value)
{
	k->headers =
	    xgrow(k->headers, &k->headers_cap, k->nheaders + 1, sizeof(*k->headers));
	k->headers[k->nheaders++] = (struct header){name, value};
}

/* The fields write_headers() would insert at the top, in its order. */
static void
build_headers(struct checkrun *k, const struct dkim_sig_result *dr, size_t ndr,
              bool verified)
{
	const char *methods[16];
	char *dkim_methods[8], xgrey[300], spf_methods[2][400];
	size_t n, ndkim = 0;

	if (greylist_header(&k->pctx, xgrey, sizeof(xgrey)))
		add_header(k, "X-Greylist", xstrdup(xgrey));
	if (k->cfg->received_spf_header) {
		char *received[2];
		size_t nr = spfcheck_received(&k->pctx, received, 2);
		for (size_t i = 0; i < nr; i++)
			add_header(k, "Received-SPF", received[i]);
	}
	n = dnscheck_authres(&k->pctx, methods, 16);
	size_t nspf = spfcheck_authres(&k->pctx, spf_methods, 2);
	for (size_t i = 0; i < nspf && n < 16; i++)
		methods[n++] = spf_methods[i];
	if (verified)
		ndkim = dkimcheck_authres(dr, ndr, dkim_methods, 8);
	for (size_t i = 0; i < ndkim && n < 16; i++)
		methods[n++] = dkim_methods[i];
	add_header(k, "Authentication-Results",
	           authres_build(k->cfg->authserv_id, methods, n));
	for (size_t i = 0; i < ndkim; i++)
		free(dkim_methods[i]);
}

/* The end of the message: verify its DKIM signatures (when dkim is not
 * NULL; fed already, dkim_ms so far) and fill *v_r with the verdict. */
static void
eom_verdict(struct checkrun *k, struct dkim_msg *dkim, double dkim_ms,
            const struct dkim_sig_result **dr_r, size_t *ndr_r, struct verdict *v_r)
{
	struct verdict dv;
	double t0 = clock_ms();

	run_stage(k, STAGE_EOM, v_r);
	if (dkim == NULL)
		return;
	*ndr_r = dkim_msg_verify_finish(dkim, dr_r);
	dkimcheck_verified(&k->pctx, *dr_r, *ndr_r, dkim_ms + clock_ms() - t0, &dv);
	if (!refusal(v_r) && refusal(&dv)) {
		*v_r = dv;
		k->last_reject = dv;
		k->have_reject = true;
	}
}

static bool
step_eom(struct checkrun *k)
{
	const char *bypass = policy_bypass_reason(k->cfg, &k->facts);
	const struct dkim_sig_result *dr = NULL;
	struct dkim_msg *dkim = NULL;
	struct verdict v;
	size_t ndr = 0;
	unsigned forged = 0;
	double t0 = clock_ms();

	if (k->message_path != NULL && bypass == NULL && k->cfg->dkim_engine != NULL &&
	    k->cfg->dkim_verify)
		dkim = dkim_msg_new(k->cfg->dkim_engine, k->facts.queue_id);
	if (k->message_path != NULL)
		forged = feed_message(k, dkim);
	eom_verdict(k, dkim, clock_ms() - t0, &dr, &ndr, &v);
	if (refusal(&v))
		k->final = v;
	if (!refusal(&v) && forged > 0)
		note(k, STAGE_EOM, "authres", CHECK_FAIL,
		     "removed Authentication-Results that claimed our authserv_id");
	if (!refusal(&v) && bypass != NULL && k->message_path != NULL &&
	    k->cfg->dkim_sign)
		add_row(k, STAGE_EOM, "dkim_sign", "skip", "none",
		        "not signed offline: postern signs mail from this client when "
		        "the signing table has its From:",
		        0);
	if (!refusal(&v) && bypass == NULL)
		build_headers(k, dr, ndr, dkim != NULL);
	dkim_msg_free(dkim);
	return !refusal(&v);
}

/* The stages, in the order the MTA reaches them; each returns false
 * when the transaction ends there. */
static step_fn *const steps[] = {step_connect, step_helo, step_mail,
                                 step_rcpt,    step_data, step_eom};

/* ---- --log ---- */

static void
list_add(char **list, const char *text)
{
	char *s = *list ? xasprintf("%s,%s", *list, text) : xstrdup(text);

	free(*list);
	*list = s;
}

/* The messages row (as write_message_row). */
static void
log_message(struct checkrun *k, const char *action)
{
	char reply[700], *rcpts = NULL, *rejected = NULL;
	const char *r = NULL, *stage = "eom";

	if (k->outcomes != NULL)
		for (size_t i = 0; i < k->nrcpts; i++)
			list_add(refusal(&k->outcomes[i].v) ? &rejected : &rcpts,
			         k->outcomes[i].rcpt);
	if (k->have_reject && strcmp(action, "accept") != 0) {
		r = reply_format(&k->last_reject, reply, sizeof(reply));
		stage = stage_name(k->last_reject.stage);
	}
	struct db_message_row row = {
	    .id = k->msg_id,
	    .conn_id = k->conn_id,
	    .time = k->msg_time,
	    .queue_id = k->facts.queue_id,
	    .helo = k->facts.helo,
	    .sender = k->facts.sender,
	    .recipients = rcpts ? rcpts : "",
	    .rejected_recipients = rejected ? rejected : "",
	    .auth = k->facts.auth_authen,
	    .size = k->size,
	    .action = action,
	    .reply = r,
	    .stage = stage,
	    .ms = (int64_t)(clock_ms() - k->msg_t0),
	    .decided_by = r != NULL ? k->last_reject.check : NULL,
	};
	db_log_message(k->log, &row);
	free(rcpts);
	free(rejected);
}

static int
log_open(struct checkrun *k)
{
	char *error = NULL;

	if ((k->log = db_log_start(k->cfg->database, NULL, &error)) == NULL ||
	    gl_store_open(k->cfg->database, k->cfg->greylist_db_timeout * 1000u,
	                  &k->svc.store, &error) < 0) {
		ctl_fail_free(error); /* it names the database */
		db_log_stop(k->log);
		k->log = NULL;
		return -1;
	}
	k->conn_id = db_new_id();
	k->logging = true;
	return 0;
}

/* Run as root on a database that did not exist: give it to the
 * daemon's user, as postern does when it creates it. */
static void
log_chown(struct checkrun *k)
{
	const char *suffixes[] = {"", "-wal", "-shm"};
	uid_t uid;
	gid_t gid;

	if (ctl_daemon_user(k->ctl, &uid, &gid) < 0)
		return;
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s%s", k->cfg->database, suffixes[i]);
		if (chown(p, uid, gid) < 0 && errno != ENOENT)
			fprintf(stderr, "posternctl: chown %s: %s\n", p, strerror(errno));
		free(p);
	}
}

/* Write what is left and close; false when rows were lost. */
static bool
log_close(struct checkrun *k, const char *action)
{
	struct db_log_stats st = {0};

	if (k->in_message)
		log_message(k, action);
	db_log_flush(k->log);
	db_log_get_stats(k->log, &st);
	db_log_stop(k->log);
	gl_store_close(k->svc.store);
	k->log = NULL;
	k->svc.store = NULL;
	if (st.lost > 0)
		fprintf(stderr, "posternctl: check: %llu rows not written to %s\n",
		        (unsigned long long)st.lost, k->cfg->database);
	return st.lost == 0;
}

/* ---- output ---- */

static const char *
final_action(const struct verdict *v)
{
	return v->kind == VERDICT_REJECT  ? "reject"
	       : v->kind == VERDICT_DEFER ? "defer"
	                                  : "accept";
}

static int
max_width(int w, const char *s)
{
	int n = (int)strlen(s);
	return n > w ? n : w;
}

static void
print_rows_text(const struct checkrun *k)
{
	int ws = 5, wc = 5, wr = 6, wa = 6;

	for (size_t i = 0; i < k->nrows; i++) {
		ws = max_width(ws, stage_name(k->rows[i].stage));
		wc = max_width(wc, k->rows[i].name);
		wr = max_width(wr, k->rows[i].result);
		wa = max_width(wa, k->rows[i].action);
	}
	printf("%-*s  %-*s  %-*s  %-*s  %8s  %s\n", ws, "STAGE", wc, "CHECK", wr,
	       "RESULT", wa, "ACTION", "MS", "DETAIL");
	for (size_t i = 0; i < k->nrows; i++) {
		const struct row *r = &k->rows[i];
		printf("%-*s  %-*s  %-*s  %-*s  %8.2f  %s\n", ws, stage_name(r->stage),
		       wc, r->name, wr, r->result, wa, r->action, r->ms,
		       r->detail ? r->detail : "-");
	}
}

static void
print_text(const struct checkrun *k)
{
	char reply[700];

	print_rows_text(k);
	if (k->nheaders > 0)
		printf("\n");
	for (size_t i = k->nheaders; i > 0; i--)
		printf("%s: %s\n", k->headers[i - 1].name, k->headers[i - 1].value);
	printf("\n");
	if (k->outcomes != NULL && k->nrcpts > 1)
		for (size_t i = 0; i < k->nrcpts; i++)
			printf("rcpt <%s>: %s\n", k->outcomes[i].rcpt,
			       refusal(&k->outcomes[i].v)
			           ? reply_format(&k->outcomes[i].v, reply, sizeof(reply))
			           : "accepted");
	if (refusal(&k->final))
		printf("verdict: %s at %s (%s): %s\n", final_action(&k->final),
		       stage_name(k->final.stage), k->final.check ? k->final.check : "-",
		       reply_format(&k->final, reply, sizeof(reply)));
	else if (k->warnings > 0)
		printf("verdict: accept: 250 accepted (%u warning%s)\n", k->warnings,
		       k->warnings == 1 ? "" : "s");
	else
		printf("verdict: accept: 250 accepted\n");
	if (k->logging && k->in_message)
		printf("logged: connection %lld, message %lld\n", (long long)k->conn_id,
		       (long long)k->msg_id);
	else if (k->logging)
		printf("logged: connection %lld\n", (long long)k->conn_id);
}

static void
json_nullable(const char *s)
{
	if (s == NULL)
		printf("null");
	else
		json_string(stdout, s);
}

static void
print_rows_json(const struct checkrun *k)
{
	printf("{\"checks\": [");
	for (size_t i = 0; i < k->nrows; i++) {
		const struct row *r = &k->rows[i];
		printf("%s\n  {\"stage\": \"%s\", \"check\": ", i ? "," : "",
		       stage_name(r->stage));
		json_string(stdout, r->name);
		printf(", \"result\": \"%s\", \"action\": \"%s\", \"detail\": ",
		       r->result, r->action);
		json_nullable(r->detail);
		printf(", \"ms\": %.2f}", r->ms);
	}
	printf("%s],\n \"headers\": [", k->nrows ? "\n" : "");
	for (size_t i = k->nheaders; i > 0; i--) {
		printf("%s\n  {\"name\": \"%s\", \"value\": ", i < k->nheaders ? "," : "",
		       k->headers[i - 1].name);
		json_string(stdout, k->headers[i - 1].value);
		printf("}");
	}
	printf("%s],\n", k->nheaders ? "\n" : "");
}

static void
print_verdict_json(const struct checkrun *k)
{
	const struct verdict *v = &k->final;
	char reply[700];

	printf(" \"verdict\": {\"action\": \"%s\", ", final_action(v));
	if (refusal(v)) {
		printf("\"stage\": \"%s\", \"check\": ", stage_name(v->stage));
		json_nullable(v->check);
		printf(", \"code\": %u, \"xcode\": \"%s\", \"reply\": ", v->code,
		       v->xcode);
		json_string(stdout, reply_format(v, reply, sizeof(reply)));
	} else {
		printf("\"stage\": \"eom\", \"check\": null, \"code\": 250, "
		       "\"xcode\": null, \"reply\": \"250 accepted\"");
	}
	printf(", \"warnings\": %u, \"recipients\": [", k->warnings);
	for (size_t i = 0; k->outcomes != NULL && i < k->nrcpts; i++) {
		const struct rcpt_outcome *o = &k->outcomes[i];
		printf("%s\n  {\"rcpt\": ", i ? "," : "");
		json_string(stdout, o->rcpt);
		printf(", \"action\": \"%s\", \"reply\": ", final_action(&o->v));
		json_nullable(refusal(&o->v) ? reply_format(&o->v, reply, sizeof(reply))
		                             : NULL);
		printf("}");
	}
	printf("%s]}", k->outcomes != NULL && k->nrcpts ? "\n " : "");
	if (k->logging) {
		printf(",\n \"logged\": {\"connection\": %lld, \"message\": ",
		       (long long)k->conn_id);
		if (k->in_message)
			printf("%lld}", (long long)k->msg_id);
		else
			printf("null}");
	}
	printf("}\n");
}

static int
exit_status(const struct verdict *v)
{
	return v->kind == VERDICT_REJECT  ? CHECK_EXIT_REJECT
	       : v->kind == VERDICT_DEFER ? CHECK_EXIT_DEFER
	                                  : CTL_OK;
}

/* ---- the command ---- */

static void
checkrun_free(struct checkrun *k)
{
	policy_state_free(&k->st);
	message_free(&k->msg);
	for (size_t i = 0; i < k->nrows; i++) {
		free(k->rows[i].name);
		free(k->rows[i].result);
		free(k->rows[i].action);
		free(k->rows[i].detail);
	}
	free(k->rows);
	for (size_t i = 0; i < k->nheaders; i++)
		free(k->headers[i].value);
	free(k->headers);
	free(k->outcomes);
	free(k->rcpts);
}

/* The facts of the transaction from the arguments. */
static void
set_facts(struct checkrun *k, struct check_args *a, char *from)
{
	struct facts *f = &k->facts;

	ipaddr_format(&f->client_ip, f->client_addr, sizeof(f->client_addr));
	/* As the MTA says it: a verified name, or "unknown". */
	if (a->client_name != NULL && *a->client_name != '\0' &&
	    strcmp(a->client_name, "unknown") != 0 && a->client_name[0] != '[')
		f->client_name = a->client_name;
	k->client_name_given = f->client_name ? f->client_name : "unknown";
	f->daemon_name = "posternctl";
	f->helo = a->helo;
	f->sender = strip_brackets(from);
	k->auth = a->auth != NULL && *a->auth != '\0' ? a->auth : NULL;
	k->queue_id = a->queue_id != NULL && *a->queue_id != '\0' ? a->queue_id : NULL;
}

static int
run(struct checkrun *k, struct check_args *a)
{
	char *from = xstrdup(a->from), *text = NULL, *error = NULL;
	size_t len = 0;
	int rc;

	set_facts(k, a, from);
	if (k->message_path != NULL) {
		if (read_all(k->message_path, &text, &len, &error) < 0) {
			ctl_fail_free(error);
			free(from);
			return CHECK_EXIT_ERROR;
		}
		message_parse(text, len, &k->msg);
		free(text);
	}
	bool existed = access(k->cfg->database, F_OK) == 0;
	if (a->log && log_open(k) < 0) {
		free(from);
		return CHECK_EXIT_ERROR;
	}
	k->pctx =
	    (struct policy_ctx){k->cfg, &k->facts, &k->st, report_row, k, true, &k->svc};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (!steps[i](k))
			break;
	rc = exit_status(&k->final);
	if (k->logging && !log_close(k, final_action(&k->final)))
		rc = CHECK_EXIT_ERROR;
	if (k->logging && !existed && geteuid() == 0)
		log_chown(k);
	if (k->ctl->json) {
		print_rows_json(k);
		print_verdict_json(k);
	} else {
		print_text(k);
	}
	free(from);
	return rc;
}

int
ctl_check(struct ctl *c, int argc, char **argv)
{
	struct checkrun k = {.ctl = c};
	struct check_args a = {0};
	int rc;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: posternctl [-c FILE] check %s\n", USE);
		return CTL_OK;
	}
	if ((rc = parse_args(&k, argc, argv, &a)) != CTL_OK) {
		free(k.rcpts);
		return rc;
	}
	if ((k.cfg = ctl_config(c)) == NULL) {
		free(k.rcpts);
		return CHECK_EXIT_ERROR;
	}
	rc = run(&k, &a);
	checkrun_free(&k);
	return rc;
}
