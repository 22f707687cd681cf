/*
 * supervisor: fork, watch, forward signals, restart. Single-threaded:
 * every signal it cares about is blocked and taken with sigtimedwait.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "milter/supervisor.h"
#include "policy/conf.h"

static pid_t
start_filter(struct config *cfg, filter_main_fn *filter_main, const sigset_t *orig)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_err("fork");
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, orig, NULL);
		_exit(filter_main(cfg));
	}
	log_info("filter process %ld started", (long)pid);
	return pid;
}

/* SIGHUP: check the new configuration here, then let the filter load it. */
static void
reload(struct config **cfg, pid_t child)
{
	char *error = NULL;
	struct config *next = config_load((*cfg)->path, &error);

	if (next == NULL) {
		log_errx("reload refused, keeping the running configuration: %s", error);
		free(error);
		return;
	}
	if (strcmp(next->socket, (*cfg)->socket) != 0 ||
	    strcmp(next->database, (*cfg)->database) != 0 ||
	    strcmp(next->user, (*cfg)->user) != 0)
		log_warnx("socket, database and user changes take effect at the next "
		          "restart");
	config_unref(*cfg);
	*cfg = next;
	if (child > 0)
		kill(child, SIGUSR1);
	log_info("configuration %s checked, filter process reloading",
	         (*cfg)->path ? (*cfg)->path : "(built-in defaults)");
}

/* May another restart happen now? Keeps the last restart times. */
static int
restart_allowed(const struct config *cfg, time_t *times, unsigned *n)
{
	time_t now = time(NULL);
	unsigned kept = 0;

	for (unsigned i = 0; i < *n; i++)
		if (now - times[i] < (time_t)cfg->auto_restart_window)
			times[kept++] = times[i];
	*n = kept;
	if (kept >= cfg->auto_restart_count)
		return 0;
	times[(*n)++] = now;
	return 1;
}

int
supervisor_run(struct config **cfg, filter_main_fn *filter_main)
{
	sigset_t set, orig;
	siginfo_t info;
	time_t restarts[AUTO_RESTART_MAX];
	unsigned nrestarts = 0;
	int stopping = 0, status;
	struct timespec tick = {1, 0};
	time_t stop_deadline = 0;
	pid_t child;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1); /* meant for the filter process: ignored here */
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &orig);
	if ((child = start_filter(*cfg, filter_main, &orig)) < 0)
		return 1;

	for (;;) {
		int sig = sigtimedwait(&set, &info, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping)
				log_info("stopping on signal %d", sig);
			stopping = 1;
			stop_deadline = time(NULL) + (time_t)(*cfg)->shutdown_timeout + 5;
			kill(child, SIGUSR2);
		} else if (sig == SIGHUP && !stopping) {
			reload(cfg, child);
		} else if (sig < 0 && stopping && time(NULL) > stop_deadline) {
			log_errx("filter process %ld did not stop in time, killing it",
			         (long)child);
			kill(child, SIGKILL);
		}
		if (waitpid(child, &status, WNOHANG) != child)
			continue;
		if (stopping) {
			log_info("stopped");
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			log_info("filter process exited, stopping");
			return 0;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == FILTER_EXIT_FATAL) {
			log_errx("filter process could not start: giving up");
			return 1;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == FILTER_EXIT_SIGNALLED) {
			log_warnx(
			    "filter process was stopped by a signal sent to it directly; "
			    "restarting it (signal the supervisor instead)");
		} else {
			if (WIFSIGNALED(status))
				log_errx("filter process %ld died on signal %d",
				         (long)child, WTERMSIG(status));
			else
				log_errx("filter process %ld exited with status %d",
				         (long)child, WEXITSTATUS(status));
			if (!(*cfg)->auto_restart) {
				log_errx("auto_restart = no: giving up");
				return 1;
			}
			if (!restart_allowed(*cfg, restarts, &nrestarts)) {
				log_errx("auto_restart_rate %u/%us reached: giving up",
				         (*cfg)->auto_restart_count,
				         (*cfg)->auto_restart_window);
				return 1;
			}
		}
		if ((child = start_filter(*cfg, filter_main, &orig)) < 0)
			return 1;
	}
}
