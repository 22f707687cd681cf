/*
 * greylist: the greylist and client-ban store of the database (schema
 * version 4: tables greylist, greylist_clients, client_bans).
 *
 * A triplet is (client, sender, recipient). The client is a network
 * ("192.0.2.0/24", "2001:db8:1:2::/64", see ipaddr_network_text) or,
 * when SPF passed, the verified sender domain ("example.com"); the
 * sender and recipient come normalised by policy/greylist.c. A client
 * row (greylist_clients) counts the client's deliveries (at most one
 * an hour) and says whether it is allowed: by "auto" after enough
 * deliveries, or by "admin" (posternctl greylist allow).
 *
 * The daemon's threads share one store. Each call takes a connection of
 * its own from a small pool, so a callback never waits for another
 * callback's statement; a read needs no lock in WAL mode, and a write
 * waits for the database's write lock at most the store's timeout. When
 * the database cannot answer in time, a call returns -1 with the reason
 * and the caller fails open.
 *
 * Times are unix seconds and come from the caller (the clock seam).
 * This module never logs and never exits.
 */
#ifndef POSTERN_DB_GREYLIST_H
#define POSTERN_DB_GREYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gl_store;

/* Open the store on the database at path (creating and migrating it).
 * timeout_ms bounds each wait for a lock. Returns 0, or -1 with a
 * malloc'd reason in *error_r. */
int gl_store_open(const char *path, unsigned timeout_ms, struct gl_store **store_r,
                  char **error_r);
/* Change the lock timeout (a reload of greylist_db_timeout). */
void gl_store_set_timeout(struct gl_store *store, unsigned timeout_ms);
/* Close every pooled connection. NULL is allowed. */
void gl_store_close(struct gl_store *store);

struct gl_params {
	int64_t now;
	unsigned delay;        /* greylist_delay */
	unsigned retry_window; /* greylist_retry_window */
	unsigned max_age;      /* greylist_max_age */
	unsigned auto_allow;   /* greylist_auto_allow; 0: never */
	/* The client is an SPF-verified domain and greylist_allow_spf_known:
	 * one earlier delivery from it lets its mail through. */
	bool known_domain_passes;
	/* When the client is an SPF domain: the client's network, whose
	 * allow (admin or auto) lets the mail through too; else NULL. */
	const char *network;
};

enum gl_outcome {
	GL_NEW,          /* first attempt, or the old entry expired: defer */
	GL_EARLY,        /* retried before greylist_delay: defer */
	GL_PASSED,       /* retried after the delay: pass, the delay ends now */
	GL_KNOWN,        /* the triplet passed before: pass */
	GL_ALLOWED,      /* the client is allowed (auto or admin): pass */
	GL_DOMAIN_KNOWN, /* an SPF domain that delivered before: pass */
};

/* "new", "early", "passed", "known", "allowed", "known-domain" */
const char *gl_outcome_name(enum gl_outcome o);

struct gl_decision {
	enum gl_outcome outcome;
	int64_t first_seen;    /* of the triplet (now for GL_NEW) */
	unsigned attempts;     /* of the triplet, this one included */
	int64_t wait;          /* GL_NEW, GL_EARLY: seconds until a retry passes */
	int64_t delayed;       /* GL_PASSED: seconds since the first attempt */
	unsigned deliveries;   /* the client's counted deliveries, after this */
	bool auto_allowed_now; /* this delivery made the client allowed */
	bool network_allowed;  /* GL_ALLOWED for p->network, not the client */
	char allowed_by[8];    /* GL_ALLOWED: "auto" or "admin" */
};

/* Decide one triplet and record the attempt. Returns 0, or -1 when the
 * database did not answer in time or failed, with the reason in why
 * (whylen bytes). */
int gl_decide(struct gl_store *store, const char *client, const char *sender,
              const char *rcpt, const struct gl_params *p, struct gl_decision *d_r,
              char *why, size_t whylen);

/* Delete at most limit rows that have expired: triplets and client rows
 * unseen for max_age (admin allows stay), pending triplets whose retry
 * window has passed, and bans over for max_age. Returns the rows
 * deleted, or -1 with why. Call it again while it returns limit; each
 * DELETE is its own short transaction, so callbacks wait for it at most
 * a few milliseconds. */
int gl_cleanup(struct gl_store *store, int64_t now, unsigned max_age,
               unsigned retry_window, unsigned limit, char *why, size_t whylen);

struct gl_ban {
	int64_t since, until;
	unsigned errors;
	char reason[200];
};

/* Is addr banned at now? Returns 1 (and fills *ban_r, which may be
 * NULL), 0, or -1 with why. */
int gl_ban_lookup(struct gl_store *store, const char *addr, int64_t now,
                  struct gl_ban *ban_r, char *why, size_t whylen);

/* Ban addr from now until until (replacing any ban of it). Returns 0, or
 * -1 with why. */
int gl_ban_add(struct gl_store *store, const char *addr, int64_t now, int64_t until,
               unsigned errors, const char *reason, char *why, size_t whylen);

#endif
