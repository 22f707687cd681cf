/*
 * session: per-connection and per-message state of the milter adapter,
 * and the bridge from policy verdicts to verdict-log rows.
 *
 * A session lives from xxfi_connect to xxfi_close; its memory is one
 * arena. A message lives from MAIL FROM to end-of-message or abort; its
 * memory is another arena plus the recipient lists. session_end_message
 * writes the message row and frees the message; session_free frees what
 * is left, so a connection dropped mid-message leaks nothing.
 */
#ifndef POSTERN_SESSION_H
#define POSTERN_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

struct arena;
struct config;
struct dkim_msg;
struct keys_ref;
struct db_log;

struct message {
	struct arena *arena;
	int64_t id;
	struct timespec time;
	double t0;
	char *sender;
	char *auth;
	char *queue_id;
	char *rcpts;    /* accepted, comma separated (heap) */
	char *rejected; /* rejected, comma separated (heap) */
	unsigned naccepted;
	int64_t size;
	unsigned ar_count; /* Authentication-Results seen */
	unsigned *forged;  /* indexes of those claiming to be ours */
	size_t nforged, forged_cap;
	struct verdict last_reject; /* the last rejection given */
	bool have_reject;
	bool dkim_decided;     /* dkim and dkim_signs are set */
	bool dkim_signs;       /* from inside: sign rather than verify */
	struct dkim_msg *dkim; /* header fields until EOH, then the work */
	struct keys_ref *keys; /* the key table the signer uses, held */
	enum { DKIM_IDLE, DKIM_VERIFYING, DKIM_SIGNING } dkim_mode;
	double dkim_ms; /* time spent in DKIM so far */
};

struct session {
	struct arena *arena;
	struct config *cfg; /* a reference, dropped in session_free */
	struct db_log *log;
	int64_t id;
	struct facts facts;
	struct policy_state pstate;
	struct message *msg;
	char *helo;
	int client_port;
	const char *client_given; /* client name as the MTA gave it */
	unsigned long nr;         /* SMFIP_* protocol flags negotiated: the
	                           * stages that get no reply, and NOBODY */
	bool connected;           /* the connect stage has run */
	bool refuse_pending;      /* draining was noticed at a stage without
	                           * a reply: refuse at the next that has one */
};

/* The store and counts every session's policy uses (the daemon's); NULL
 * before the filter starts. */
void session_set_services(const struct policy_services *svc);

/* A new session for a connection, holding a reference to cfg. */
struct session *session_new(struct config *cfg, struct db_log *log);
/* Start a message (ending an unfinished one as "aborted"). */
struct message *session_begin_message(struct session *s);
/* The current message, started on demand for out-of-order stages. */
struct message *session_message(struct session *s);
/* Write the message row with this action ("accept", "reject", "defer",
 * "aborted") and free the message. No-op without a message. */
void session_end_message(struct session *s, const char *action);
/* Run the policy for a stage and remember a rejection for the message. */
void session_policy(struct session *s, enum stage stage, struct verdict *v_r);
/* A policy context whose rows go to this session's log. */
void session_policy_ctx(struct session *s, struct policy_ctx *ctx_r);
/* Remember a rejection decided outside the policy stages (DKIM). */
void session_remember(struct session *s, const struct verdict *v);
/* A check row of the adapter's own (bad input, internal errors). */
void session_note(struct session *s, enum stage stage, const char *name,
                  enum check_result result, const char *detail);
/* End any message and free everything. NULL is allowed. */
void session_free(struct session *s);

/* Messages between MAIL FROM and their end, in all sessions. */
unsigned session_in_flight(void);

/* Remember the index of a forged Authentication-Results header. */
void session_index_add(struct message *m, unsigned index);

/* Append text to a comma separated heap list *list. */
void session_list_add(char **list, const char *text);

#endif
