/*
 * session: connection and message state, and the rows they write.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "dkim/message.h"
#include "lib/arena.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "milter/keys.h"
#include "milter/session.h"
#include "policy/conf.h"
#include "policy/reply.h"

static atomic_uint in_flight;

unsigned
session_in_flight(void)
{
	return atomic_load(&in_flight);
}

struct session *
session_new(struct config *cfg, struct db_log *log)
{
	struct arena *a = arena_new();
	struct session *s = arena_alloc(a, sizeof(*s));

	s->arena = a;
	s->cfg = config_ref(cfg);
	s->log = log;
	s->id = db_new_id();
	return s;
}

void
session_index_add(struct message *m, unsigned index)
{
	m->forged = xgrow(m->forged, &m->forged_cap, m->nforged + 1, sizeof(*m->forged));
	m->forged[m->nforged++] = index;
}

void
session_list_add(char **list, const char *text)
{
	size_t old = *list ? strlen(*list) : 0, add = strlen(text);

	*list = xrealloc(*list, old + add + 2);
	if (old > 0)
		(*list)[old++] = ',';
	memcpy(*list + old, text, add + 1);
}

static void
write_message_row(struct session *s, struct message *m, const char *action)
{
	char reply[700];
	const char *r = NULL, *stage = "eom";

	if (m->have_reject && strcmp(action, "accept") != 0) {
		r = reply_format(&m->last_reject, reply, sizeof(reply));
		stage = stage_name(m->last_reject.stage);
	} else if (strcmp(action, "aborted") == 0) {
		stage = "abort";
	}
	struct db_message_row row = {
	    .id = m->id,
	    .conn_id = s->id,
	    .time = m->time,
	    .queue_id = m->queue_id,
	    .helo = s->helo,
	    .sender = m->sender ? m->sender : "",
	    .recipients = m->rcpts ? m->rcpts : "",
	    .rejected_recipients = m->rejected ? m->rejected : "",
	    .auth = m->auth,
	    .size = m->size,
	    .action = action,
	    .reply = r,
	    .stage = stage,
	    .ms = (int64_t)(clock_ms() - m->t0),
	    .decided_by = r != NULL ? m->last_reject.check : NULL,
	};
	db_log_message(s->log, &row);
}

void
session_end_message(struct session *s, const char *action)
{
	struct message *m = s->msg;

	if (m == NULL)
		return;
	/* A message refused at DATA, or whose every recipient was refused,
	 * ends as refused when the MTA aborts it. */
	if (strcmp(action, "aborted") == 0 && m->have_reject &&
	    (m->naccepted == 0 || m->last_reject.stage >= STAGE_DATA))
		action = m->last_reject.kind == VERDICT_DEFER ? "defer" : "reject";
	write_message_row(s, m, action);
	dkim_msg_free(m->dkim);
	keys_release(m->keys);
	free(m->rcpts);
	free(m->rejected);
	free(m->forged);
	arena_free(m->arena);
	free(m);
	s->msg = NULL;
	atomic_fetch_sub(&in_flight, 1);
	s->facts.sender = NULL;
	s->facts.rcpt = NULL;
	s->facts.queue_id = NULL;
	s->facts.auth_authen = NULL;
}

struct message *
session_begin_message(struct session *s)
{
	struct message *m;

	session_end_message(s, "aborted");
	m = xcalloc(1, sizeof(*m));
	m->arena = arena_new();
	m->id = db_new_id();
	m->time = clock_now();
	m->t0 = clock_ms();
	s->msg = m;
	atomic_fetch_add(&in_flight, 1);
	policy_new_message(&s->pstate);
	return m;
}

struct message *
session_message(struct session *s)
{
	return s->msg != NULL ? s->msg : session_begin_message(s);
}

static void
report_row(void *arg, const struct check_report *r)
{
	struct session *s = arg;
	bool conn_stage = r->stage == STAGE_CONNECT || r->stage == STAGE_HELO;
	struct db_check_row row = {
	    .conn_id = s->id,
	    .msg_id = (s->msg != NULL && !conn_stage) ? s->msg->id : 0,
	    .time = clock_now(),
	    .stage = stage_name(r->stage),
	    .name = r->name,
	    .result = check_result_name(r->result),
	    .action = r->action,
	    .detail = r->detail,
	    .ms = r->ms,
	};
	db_log_check(s->log, &row);
	if (r->result == CHECK_TEMP)
		log_warnx("conn %lld: %s at %s: temporary failure: %s", (long long)s->id,
		          r->name, row.stage, r->detail ? r->detail : "");
	if (strcmp(r->action, "warn") == 0)
		log_info("conn %lld: warn: %s at %s from %s[%s]: %s", (long long)s->id,
		         r->name, row.stage,
		         s->facts.client_name ? s->facts.client_name : "unknown",
		         s->facts.client_addr, r->detail ? r->detail : "");
}

static const struct policy_services *services;

void
session_set_services(const struct policy_services *svc)
{
	services = svc;
}

void
session_policy(struct session *s, enum stage stage, struct verdict *v_r)
{
	struct policy_ctx ctx;

	session_policy_ctx(s, &ctx);

	policy_stage(&ctx, stage, v_r);
	if (v_r->kind != VERDICT_REJECT && v_r->kind != VERDICT_DEFER)
		return;
	if (s->msg != NULL && stage >= STAGE_MAIL) {
		s->msg->last_reject = *v_r;
		s->msg->have_reject = true;
	}
}

void
session_policy_ctx(struct session *s, struct policy_ctx *ctx_r)
{
	struct policy_ctx ctx = {s->cfg, &s->facts, &s->pstate, report_row,
	                         s,      true,      services};

	*ctx_r = ctx;
}

void
session_remember(struct session *s, const struct verdict *v)
{
	if (s->msg != NULL && (v->kind == VERDICT_REJECT || v->kind == VERDICT_DEFER)) {
		s->msg->last_reject = *v;
		s->msg->have_reject = true;
	}
}

void
session_note(struct session *s, enum stage stage, const char *name,
             enum check_result result, const char *detail)
{
	struct check_report r = {stage, name, result, "none", detail, 0};
	report_row(s, &r);
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	session_end_message(s, "aborted");
	policy_state_free(&s->pstate);
	config_unref(s->cfg);
	arena_free(s->arena);
}
