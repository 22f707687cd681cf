/*
 * supervisor: the small parent process. It owns the signals libmilter
 * would misread (libmilter stops on SIGHUP), forks the filter process,
 * turns SIGHUP into a validated reload (SIGUSR1 to the filter) and
 * SIGTERM/SIGINT into an orderly stop (SIGUSR2), and restarts a filter
 * process that dies abnormally, at most auto_restart_rate times.
 */
#ifndef POSTERN_SUPERVISOR_H
#define POSTERN_SUPERVISOR_H

struct config;

/* The most restarts auto_restart_rate may allow (conf.c checks it). */
#define AUTO_RESTART_MAX 1000

/* Exit status of a filter process that libmilter stopped on a signal
 * sent to it directly (not through the supervisor): restart it. */
#define FILTER_EXIT_SIGNALLED 3
/* Exit status of a filter process that could not set itself up (the
 * database would not open): restarting would only fail again. */
#define FILTER_EXIT_FATAL 2

/* Run the filter function in a child process and supervise it. Returns
 * the daemon's exit status. *cfg may be replaced on reload (the
 * supervisor owns the reference). */
typedef int filter_main_fn(struct config *cfg);
int supervisor_run(struct config **cfg, filter_main_fn *filter_main);

#endif
