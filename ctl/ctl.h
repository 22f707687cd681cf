/*
 * ctl: what the files of posternctl share: the context of one run (the
 * configuration, --json), exit statuses, argument parsing for the
 * subcommands, messages, and JSON output.
 */
#ifndef POSTERN_CTL_H
#define POSTERN_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "policy/conf.h"

/* Exit statuses: what was asked was done or checked out fine; a check or
 * an operation failed; the command line was wrong. */
enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

struct ctl {
	const char *config_path; /* NULL: built-in defaults */
	struct config *cfg;      /* loaded on first use by ctl_config */
	bool json;
};

/* The configuration, loaded once; NULL after printing why. */
struct config *ctl_config(struct ctl *c);

/* A subcommand: argv[0] is its name. Returns an exit status. */
struct ctl_command {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
	const char *usage; /* "DOMAIN [--selector S]" */
};

/* One option of a subcommand: "--name VALUE" (value != NULL) or
 * "--name" (flag != NULL). "--name=VALUE" works too. */
struct ctl_opt {
	const char *name;
	const char **value;
	bool *flag;
};

/* Split argv[1..] into options of opts (and --json, for every
 * subcommand) and positional arguments (stored in pos, at most max).
 * Returns the number of positional arguments, or -1 after printing a
 * usage error. */
int ctl_args(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts, char **pos,
             int max);

/* "posternctl: ..." on stderr. ctl_usage_error adds "usage: posternctl
 * CMD ..." and returns CTL_USAGE; ctl_fail returns CTL_FAIL. */
int ctl_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ctl_fail with a malloc'd error, which it frees. */
int ctl_fail_free(char *error);

/* The daemon's user (config key user) when we run as root, so that files
 * we create belong to it: returns 0 and its ids, or -1 when we are not
 * root or there is no such user (files then stay ours). */
int ctl_daemon_user(struct ctl *c, uid_t *uid_r, gid_t *gid_r);

/* JSON: a string with every character that needs it escaped. */
void json_string(FILE *out, const char *s);

/* Unix time as "2026-11-21 10:00:00Z" (UTC), or "-" for 0. */
void ctl_format_time(int64_t t, char buf[32]);
/* --limit N: N >= 1 into *limit_r; text NULL leaves it. Returns 0, or -1
 * for anything else. */
int ctl_parse_limit(const char *text, unsigned *limit_r);
/* The wider of a column's width w and the length of s. */
int ctl_width(int w, const char *s);

/* The subcommand groups. */
int ctl_keys(struct ctl *c, int argc, char **argv);
int ctl_greylist(struct ctl *c, int argc, char **argv); /* greylist.c */
int ctl_bans(struct ctl *c, int argc, char **argv);     /* greylist.c */
int ctl_log(struct ctl *c, int argc, char **argv);      /* log.c */
int ctl_explain(struct ctl *c, int argc, char **argv);  /* log.c */
int ctl_stats(struct ctl *c, int argc, char **argv);    /* log.c */
int ctl_check(struct ctl *c, int argc, char **argv);    /* check.c */

/* keys import-opendkim (keys_import.c). */
struct db_keys;
int keys_import_opendkim(struct ctl *c, struct db_keys *ks, int argc, char **argv);

#endif
