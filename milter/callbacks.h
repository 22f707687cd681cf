/*
 * callbacks: the libmilter callbacks, thin: each gathers the stage's
 * facts, asks the policy engine, and turns the verdict into SMFIS_* and
 * smfi_setreply. The only code besides main.c that sees libmilter.
 */
#ifndef POSTERN_CALLBACKS_H
#define POSTERN_CALLBACKS_H

#include <libmilter/mfapi.h>

struct config;
struct db_log;

/* The filter description to pass to smfi_register. */
extern struct smfiDesc filter_desc;

/* Where rows go; set before smfi_main. */
void filter_set_log(struct db_log *log);
/* Make cfg the snapshot new connections get (takes over the caller's
 * reference; the old snapshot lives on until its connections close). */
void filter_set_config(struct config *cfg);
/* A new reference to the current snapshot; NULL once the filter stops. */
struct config *filter_config(void);
/* Connections open right now. */
unsigned filter_active(void);
/* Start draining for a stop: new connections and new messages are
 * refused with 451 4.3.2; messages in flight go on. */
void filter_drain(void);

#endif
