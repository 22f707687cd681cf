/*
 * keys: the daemon's current DKIM key table, swapped whole when it
 * changes. A message takes a reference for the time it uses the table;
 * a reload builds the new table first and keeps the old one when the new
 * one cannot be loaded.
 */
#ifndef POSTERN_MILTER_KEYS_H
#define POSTERN_MILTER_KEYS_H

struct config;
struct dkim_keytable;
struct keys_ref;

/* Load the table the configuration names and make it current. Returns
 * 0, or -1 with a malloc'd *error_r (the old table stays current). */
int keys_load(const struct config *cfg, char **error_r);
/* Reload when the source has changed (data_version, files); logs what it
 * did. Called from one thread only. */
void keys_poll(const struct config *cfg);
/* Drop the current table (at exit). */
void keys_clear(void);

/* The current table with a reference, or NULL when none is loaded. */
struct keys_ref *keys_acquire(void);
const struct dkim_keytable *keys_table(const struct keys_ref *r);
void keys_release(struct keys_ref *r);

#endif
