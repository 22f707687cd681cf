/*
 * greylist_admin: the admin's side of the greylist and client-ban
 * tables (schema version 4: greylist, greylist_clients, client_bans),
 * for "posternctl greylist" and "posternctl bans": list triplets and
 * allowed clients, allow a client, remove a client's entries, purge old
 * entries, count them, list and lift bans.
 *
 * The daemon's store (db/greylist.h) decides and records; this module
 * reads and changes the same rows over a connection of its own, opened
 * by db_open as every store's is. Each change is one statement or one
 * transaction, so the daemon sees all of it or nothing of it; purge
 * works in short transactions so that the daemon's lookups never wait
 * long for it.
 *
 * A client key comes in the form the daemon writes: a network text from
 * ipaddr_network_text ("192.0.2.0/24") or a lower-case domain
 * ("example.com"); the caller turns what the admin typed into it. Times
 * are unix seconds, from the caller. Every function returns 0 (or 1
 * where it says so), or -1 with a malloc'd reason in *error_r; none logs
 * or exits.
 */
#ifndef POSTERN_DB_GREYLIST_ADMIN_H
#define POSTERN_DB_GREYLIST_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gl_admin;

/* Open the database at path, creating and migrating it as the daemon
 * would. Close with gl_admin_close (NULL is allowed). */
int gl_admin_open(const char *path, struct gl_admin **ga_r, char **error_r);
void gl_admin_close(struct gl_admin *ga);

/* ---- triplets and clients ---- */

enum gl_admin_state {
	GL_ADMIN_ANY,     /* every triplet */
	GL_ADMIN_PENDING, /* no retry has passed yet */
	GL_ADMIN_PASSED,  /* a retry passed */
};

struct gl_admin_filter {
	enum gl_admin_state state; /* ignored by gl_admin_list_allowed */
	const char *client;        /* one client key; NULL: every client */
	unsigned limit;            /* at most this many rows; 0: no limit */
};

struct gl_admin_triplet {
	char *client;
	char *sender; /* "" for the null sender */
	char *rcpt;
	int64_t first_seen;
	int64_t last_seen;
	int64_t passed; /* when the first retry passed; 0: pending */
	unsigned attempts;
};

/* The triplets that pass the filter, the most recently seen first (then
 * by client, sender, recipient). The rows are the caller's: free them
 * with gl_admin_triplets_free. */
int gl_admin_list(struct gl_admin *ga, const struct gl_admin_filter *f,
                  struct gl_admin_triplet **rows_r, size_t *n_r, char **error_r);
void gl_admin_triplets_free(struct gl_admin_triplet *rows, size_t n);

struct gl_admin_client {
	char *client;
	char *allowed_by; /* "auto" or "admin" */
	unsigned deliveries;
	int64_t allowed; /* since when */
	int64_t last_seen;
};

/* The allowed clients (greylist_clients rows with an allowed time,
 * automatically or by an admin) that pass the filter's client and limit,
 * the most recently allowed first. Free with gl_admin_clients_free. */
int gl_admin_list_allowed(struct gl_admin *ga, const struct gl_admin_filter *f,
                          struct gl_admin_client **rows_r, size_t *n_r, char **error_r);
void gl_admin_clients_free(struct gl_admin_client *rows, size_t n);

/* Who allowed a client before gl_admin_allow: "", "auto" or "admin". */
#define GL_ADMIN_BY_LEN 8

/* Allow client: its greylist_clients row gets allowed = now and
 * allowed_by = 'admin' (a new row has no deliveries and last_seen = now;
 * an existing row keeps its deliveries and last_seen). A client an admin
 * allowed before keeps its first allowed time. was_r (GL_ADMIN_BY_LEN
 * bytes, may be NULL) gets who had allowed the client before: "" when
 * nobody had. */
int gl_admin_allow(struct gl_admin *ga, const char *client, int64_t now, char *was_r,
                   char **error_r);

struct gl_admin_counts {
	size_t triplets;
	size_t clients; /* greylist_clients rows */
};

/* Remove client's triplets, or only those of sender and/or rcpt when
 * either is not NULL (compared as stored: lower case, "" for the null
 * sender). Without sender and rcpt, the client's greylist_clients row
 * goes too, an admin's allow included. All in one transaction; counts
 * in *counts_r. Returns 0, 1 when nothing matched, or -1. */
int gl_admin_remove(struct gl_admin *ga, const char *client, const char *sender,
                    const char *rcpt, struct gl_admin_counts *counts_r, char **error_r);

/* Rows deleted per transaction by gl_admin_purge. */
#define GL_ADMIN_PURGE_CHUNK 5000

/* Delete the triplets and the greylist_clients rows not allowed by an
 * admin that were last seen before now - older_than, in transactions of
 * at most GL_ADMIN_PURGE_CHUNK rows. Counts in *counts_r (what was
 * deleted, also when a later transaction fails). */
int gl_admin_purge(struct gl_admin *ga, int64_t now, unsigned older_than,
                   struct gl_admin_counts *counts_r, char **error_r);

struct gl_admin_stats {
	uint64_t triplets;
	uint64_t pending;
	uint64_t passed;
	uint64_t clients;       /* greylist_clients rows */
	uint64_t auto_allowed;  /* allowed by "auto" */
	uint64_t admin_allowed; /* allowed by "admin" */
	int64_t oldest;         /* the oldest first_seen; 0 without triplets */
	uint64_t active_bans;   /* client_bans rows with until > now */
};

/* The counts, from one consistent reading of the tables. */
int gl_admin_stats(struct gl_admin *ga, int64_t now, struct gl_admin_stats *stats_r,
                   char **error_r);

/* ---- client bans ---- */

struct gl_admin_ban {
	char *addr; /* canonical text (ipaddr_format) */
	int64_t since;
	int64_t until;
	unsigned errors;
	char *reason; /* "" when none */
	bool active;  /* until > now */
};

/* The bans active at now (with all, the expired rows too), the most
 * recent first. Free with gl_admin_bans_free. */
int gl_admin_bans(struct gl_admin *ga, int64_t now, bool all,
                  struct gl_admin_ban **rows_r, size_t *n_r, char **error_r);
void gl_admin_bans_free(struct gl_admin_ban *rows, size_t n);

/* Lift the ban of addr (canonical text): delete its row if the ban is
 * active at now. Returns 0, 1 when addr is not banned (no row, or an
 * expired one, which is left as it is), or -1. */
int gl_admin_lift(struct gl_admin *ga, const char *addr, int64_t now, char **error_r);

#endif
