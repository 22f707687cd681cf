/*
 * postern(8): the daemon's entry point. Reads the configuration, opens
 * the milter socket and prepares the database while privileged, drops to
 * the configured user, and hands over to the supervisor, which runs the
 * filter process (filter_main below): the verdict-log writer, a control
 * thread for reload and stop, and libmilter's smfi_main.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "db/db.h"
#include "db/greylist.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "milter/callbacks.h"
#include "milter/keys.h"
#include "milter/session.h"
#include "milter/supervisor.h"
#include "policy/conf.h"
#include "policy/greylist.h"

static bool foreground;
static struct db_log *filter_log;
static struct policy_services services;
static atomic_bool stop_requested;

static void drain_messages(const struct config *cfg);

/* How often the control thread looks for a changed key table. */
#define KEYS_POLL_SECONDS 2

static void
usage(void)
{
	fprintf(stderr,
	        "usage: postern [-fnV] [-c config]\n"
	        "  -c FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	        "  -f       stay in the foreground and log to stderr\n"
	        "  -n       check the configuration, print the effective settings\n"
	        "  -V       print the version\n");
}

/* Built-in defaults when no -c was given and the default file is absent. */
static const char *
config_path(const char *given)
{
	static char abs[PATH_MAX];

	/* Absolute, so a reload still finds it after daemonize's chdir("/"). */
	if (given != NULL)
		return realpath(given, abs) != NULL ? abs : given;
	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		return CONFIG_DEFAULT_PATH;
	return NULL;
}

/* The unix socket path of a libmilter spec, or NULL for inet sockets. */
static const char *
unix_path(const char *spec)
{
	if (str_has_prefix(spec, "unix:"))
		return spec + 5;
	if (str_has_prefix(spec, "local:"))
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

/* Connect once to our own socket: libmilter's listener polls, and a
 * connection wakes it at once after smfi_stop(). */
static void
wake_listener(const char *spec)
{
	const char *path = unix_path(spec);
	char host[256] = "127.0.0.1", port[16];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int fd = -1;

	if (path != NULL) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0)
			(void)connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		const char *colon = strchr(spec, ':'), *at = strchr(spec, '@');
		if (colon == NULL)
			return;
		snprintf(port, sizeof(port), "%.*s",
		         (int)((at ? at : spec + strlen(spec)) - colon - 1), colon + 1);
		if (at != NULL && strcmp(at + 1, "0.0.0.0") != 0 &&
		    strcmp(at + 1, "::") != 0)
			snprintf(host, sizeof(host), "%s", at + 1);
		if (getaddrinfo(host, port, &hints, &res) != 0)
			return;
		if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) >= 0)
			(void)connect(fd, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
	}
	if (fd >= 0)
		close(fd);
}

/* Wakes libmilter's listener until smfi_stop() has returned: smfi_stop
 * waits for the listener's mutex, which the listener holds inside a
 * select() of up to 5 s, and only a new connection ends that select. */
struct waker {
	const char *socket;
	atomic_bool done;
};

static void *
waker_thread(void *arg)
{
	struct waker *w = arg;
	struct timespec pause = {0, 20 * 1000 * 1000};

	while (!atomic_load(&w->done)) {
		wake_listener(w->socket);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void
stop_listener(const struct config *cfg)
{
	struct waker w = {.socket = cfg->socket};
	pthread_t tid;
	bool waking = pthread_create(&tid, NULL, waker_thread, &w) == 0;

	smfi_stop();
	atomic_store(&w.done, true);
	if (waking)
		pthread_join(tid, NULL);
}

static void
reload_config(void)
{
	struct config *cur = filter_config(), *next;
	char *error = NULL;

	if ((next = config_load(cur->path, &error)) == NULL) {
		log_errx("reload refused, keeping the running configuration: %s", error);
		free(error);
	} else if (keys_load(next, &error) < 0) {
		log_errx("reload refused, keeping the running configuration: DKIM key "
		         "table: %s",
		         error);
		free(error);
		config_unref(next);
	} else {
		gl_store_set_timeout(services.store, next->greylist_db_timeout * 1000u);
		filter_set_config(next);
		log_info("configuration reloaded");
	}
	config_unref(cur);
}

/* The filter process's control thread: SIGUSR1 reloads, SIGUSR2 stops;
 * in between, it looks for a changed DKIM key table every two seconds. */
static void *
control_thread(void *arg)
{
	const sigset_t *set = arg;
	const struct timespec poll = {KEYS_POLL_SECONDS, 0};
	int sig;

	for (;;) {
		if ((sig = sigtimedwait(set, NULL, &poll)) < 0) {
			struct config *cfg;
			if (errno == EAGAIN && (cfg = filter_config()) != NULL) {
				keys_poll(cfg);
				config_unref(cfg);
			}
			continue;
		}
		if (sig == SIGUSR1) {
			reload_config();
			continue;
		}
		struct config *cfg = filter_config();
		atomic_store(&stop_requested, true);
		drain_messages(cfg);
		stop_listener(cfg);
		config_unref(cfg);
		return NULL;
	}
}

/* Expire greylist entries every CLEANUP_SECONDS, in chunks of
 * CLEANUP_CHUNK rows, each its own short transaction, with a pause
 * between them: a callback waits for the write lock a few milliseconds
 * at most. */
#define CLEANUP_SECONDS 600
#define CLEANUP_CHUNK 100

static void *
cleanup_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec pause = {CLEANUP_SECONDS, 0}, breath = {0, 20000000};
		struct config *cfg = filter_config();
		long total = 0;
		char why[300];
		int n = 0;

		if (cfg == NULL) /* stopping */
			return NULL;
		do {
			n = gl_cleanup(services.store, clock_now().tv_sec,
			               cfg->greylist_max_age, cfg->greylist_retry_window,
			               CLEANUP_CHUNK, why, sizeof(why));
			if (n > 0)
				total += n;
			if (n == CLEANUP_CHUNK)
				nanosleep(&breath, NULL);
		} while (n == CLEANUP_CHUNK);
		config_unref(cfg);
		if (n < 0)
			log_warnx("greylist cleanup: %s", why);
		if (total > 0)
			log_info("greylist cleanup: %ld expired entries removed", total);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void
report_lost(void *arg, uint64_t lost, const char *reason)
{
	(void)arg;
	log_errx("verdict log: %llu rows lost so far: %s", (unsigned long long)lost,
	         reason);
}

/* Before stopping libmilter (which stops reading from every connection
 * at once): refuse new connections and messages, and let the messages in
 * flight end, for at most shutdown_timeout. */
static void
drain_messages(const struct config *cfg)
{
	time_t deadline = time(NULL) + (time_t)cfg->shutdown_timeout;
	struct timespec pause = {0, 10 * 1000 * 1000};

	filter_drain();
	log_info("stopping: no new connections, finishing %u messages in flight",
	         session_in_flight());
	while (session_in_flight() > 0 && time(NULL) < deadline)
		nanosleep(&pause, NULL);
	if (session_in_flight() > 0)
		log_warnx("%u messages still in flight after shutdown_timeout: they are "
		          "tempfailed by the MTA",
		          session_in_flight());
}

/* After smfi_main: give the connections' close callbacks a moment. */
static bool
connections_closed(void)
{
	struct timespec pause = {0, 10 * 1000 * 1000};

	for (int i = 0; i < 200 && filter_active() > 0; i++)
		nanosleep(&pause, NULL);
	return filter_active() == 0;
}

static int
filter_main(struct config *cfg)
{
	static sigset_t ctl;
	struct db_log_options opt = {.report = report_lost};
	struct db_log_stats st;
	pthread_t tid;
	char *error = NULL;
	int rc;

	sigset_t milter_sigs;

	/* Our threads must not take the signals libmilter's own signal
	 * thread waits for (HUP, TERM, INT): block them before any thread. */
	sigemptyset(&milter_sigs);
	sigaddset(&milter_sigs, SIGHUP);
	sigaddset(&milter_sigs, SIGTERM);
	sigaddset(&milter_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &milter_sigs, NULL);
	sigemptyset(&ctl);
	sigaddset(&ctl, SIGUSR1);
	sigaddset(&ctl, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &ctl, NULL);
	if ((filter_log = db_log_start(cfg->database, &opt, &error)) == NULL) {
		log_errx("%s", error);
		free(error);
		return FILTER_EXIT_FATAL;
	}
	if (keys_load(cfg, &error) < 0) {
		log_errx("DKIM key table: %s", error);
		free(error);
		db_log_stop(filter_log);
		return FILTER_EXIT_FATAL;
	}
	if (gl_store_open(cfg->database, cfg->greylist_db_timeout * 1000u,
	                  &services.store, &error) < 0) {
		log_errx("greylist store: %s", error);
		free(error);
		keys_clear();
		db_log_stop(filter_log);
		return FILTER_EXIT_FATAL;
	}
	services.errors = errlimit_new();
	session_set_services(&services);
	filter_set_log(filter_log);
	filter_set_config(config_ref(cfg));
	pthread_create(&tid, NULL, cleanup_thread, NULL);
	pthread_detach(tid);
	pthread_create(&tid, NULL, control_thread, &ctl);
	pthread_detach(tid);
	log_info("filter ready on %s", cfg->socket);
	rc = smfi_main();
	bool closed = connections_closed();
	filter_set_config(NULL);
	keys_clear();
	db_log_flush(filter_log);
	db_log_get_stats(filter_log, &st);
	log_info("verdict log: %llu rows written, %llu lost",
	         (unsigned long long)st.written, (unsigned long long)st.lost);
	/* With a connection still open its thread may yet log: keep the
	 * writer; the process exits next and frees everything anyway. */
	if (closed)
		db_log_stop(filter_log);
	else
		log_warnx("%u idle connections still open at exit", filter_active());
	if (rc != MI_SUCCESS) {
		log_errx("libmilter stopped with an error");
		return 1;
	}
	return atomic_load(&stop_requested) ? 0 : FILTER_EXIT_SIGNALLED;
}

/* libmilter keeps its listening socket to itself; find it by
 * SO_ACCEPTCONN and set TCP_NODELAY, which accepted sockets inherit
 * (Nagle and delayed ACKs otherwise cost 40 ms per message). */
static void
set_nodelay_on_listener(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int on = 0, one = 1;
		socklen_t len = sizeof(on);
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 || !on)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}

static int
chown_if_exists(const char *path, uid_t uid, gid_t gid)
{
	if (chown(path, uid, gid) < 0 && errno != ENOENT) {
		log_err("chown %s", path);
		return -1;
	}
	return 0;
}

/* Create and migrate the database while privileged, and give it (and its
 * directory, if we create it) to the daemon's user. */
static int
prepare_database(const struct config *cfg, const struct passwd *pw)
{
	char *dir = xstrdup(cfg->database), *slash = strrchr(dir, '/'), *error = NULL;
	int rc = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) == 0 && pw != NULL &&
		    chown(dir, pw->pw_uid, pw->pw_gid) < 0)
			log_err("chown %s", dir);
	}
	free(dir);
	if (db_migrate(cfg->database, &error) < 0) {
		log_errx("%s", error);
		free(error);
		return -1;
	}
	if (pw != NULL) {
		char *wal = xasprintf("%s-wal", cfg->database);
		char *shm = xasprintf("%s-shm", cfg->database);
		rc = chown_if_exists(cfg->database, pw->pw_uid, pw->pw_gid) |
		     chown_if_exists(wal, pw->pw_uid, pw->pw_gid) |
		     chown_if_exists(shm, pw->pw_uid, pw->pw_gid);
		free(wal);
		free(shm);
	}
	return rc;
}

static int
open_socket(const struct config *cfg, const struct passwd *pw)
{
	const char *path = unix_path(cfg->socket);

	if (smfi_register(filter_desc) != MI_SUCCESS) {
		log_errx("smfi_register failed");
		return -1;
	}
	if (smfi_setconn((char *)cfg->socket) != MI_SUCCESS) {
		log_errx("socket = %s: not a valid libmilter socket", cfg->socket);
		return -1;
	}
	if (smfi_opensocket(true) != MI_SUCCESS) {
		log_errx("socket = %s: cannot listen (in use, or no permission?)",
		         cfg->socket);
		return -1;
	}
	if (path != NULL && pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) < 0)
		log_err("chown %s", path);
	set_nodelay_on_listener();
	return 0;
}

/* Who to become. Returns 0 with *pw_r NULL when no change is needed. */
static int
resolve_user(const struct config *cfg, struct passwd **pw_r)
{
	struct passwd *pw = getpwnam(cfg->user);

	*pw_r = NULL;
	if (geteuid() != 0) {
		if (pw != NULL && pw->pw_uid != geteuid())
			log_info("not started as root: running as uid %ld, not user %s",
			         (long)geteuid(), cfg->user);
		return 0;
	}
	if (pw == NULL) {
		log_errx(
		    "user = %s: no such user (create it with \"adduser --system --group "
		    "%s\", or set user)",
		    cfg->user, cfg->user);
		return -1;
	}
	if (pw->pw_uid == 0 && strcmp(cfg->user, "root") != 0) {
		log_errx(
		    "user = %s has uid 0: refusing to run as root unless user = root",
		    cfg->user);
		return -1;
	}
	if (pw->pw_uid == 0)
		log_warnx("user = root: running with full privileges");
	else
		*pw_r = pw;
	return 0;
}

static int
drop_privileges(const struct passwd *pw)
{
	if (pw == NULL)
		return 0;
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_err("dropping privileges to %s", pw->pw_name);
		return -1;
	}
	if (setuid(0) == 0 || getuid() != pw->pw_uid || geteuid() != pw->pw_uid) {
		log_errx("privileges were not dropped to %s", pw->pw_name);
		return -1;
	}
	log_info("running as user %s (uid %ld)", pw->pw_name, (long)pw->pw_uid);
	return 0;
}

/* After dropping privileges: can we write the database and beside it?
 * SQLite keeps its -wal and -shm files in the same directory. */
static int
check_database_access(const struct config *cfg)
{
	char *dir = xstrdup(cfg->database), *slash = strrchr(dir, '/'), *error = NULL;
	int rc = 0;

	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (access(slash != NULL ? dir : ".", W_OK) < 0) {
		log_errx("database directory %s is not writable by uid %ld (SQLite keeps "
		         "its -wal and -shm files there): give it to the daemon's user",
		         slash != NULL ? dir : ".", (long)geteuid());
		rc = -1;
	} else if (db_migrate(cfg->database, &error) < 0) {
		log_errx("%s", error);
		free(error);
		rc = -1;
	}
	free(dir);
	return rc;
}

/* Another postern whose pid is in the pid file? Then starting would take
 * its socket away (libmilter removes a unix socket it finds). */
static int
check_running(const char *path)
{
	FILE *fp;
	long pid = 0;

	if (path == NULL || *path == '\0' || (fp = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) == 0) {
		log_errx("postern is already running (pid %ld in %s)", pid, path);
		return -1;
	}
	return 0;
}

static int
write_pid_file(const char *path)
{
	FILE *fp;

	if (path == NULL || *path == '\0')
		return 0;
	if ((fp = fopen(path, "w")) == NULL) {
		log_err("pid_file %s", path);
		return -1;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	return fclose(fp) == 0 ? 0 : -1;
}

static int
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	setsid();
	if (chdir("/") < 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	log_init("postern", false);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *given = NULL;
	bool check_only = false;
	struct config *cfg;
	struct passwd *pw;
	char *error = NULL;
	int opt, rc;

	while ((opt = getopt(argc, argv, "c:fnVh")) != -1) {
		switch (opt) {
		case 'c':
			given = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'V':
			printf("postern %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
			return opt == 'h' ? 0 : 1;
		}
	}
	if (optind != argc) {
		usage();
		return 1;
	}
	log_init("postern", true);
	if ((cfg = config_load(config_path(given), &error)) == NULL) {
		log_errx("%s", error);
		free(error);
		return 1;
	}
	if (check_only) {
		config_print(cfg, stdout);
		config_unref(cfg);
		return 0;
	}
	if (check_running(cfg->pid_file) < 0 || resolve_user(cfg, &pw) < 0 ||
	    open_socket(cfg, pw) < 0 || prepare_database(cfg, pw) < 0)
		return 1;
	if (!foreground && daemonize() < 0)
		return 1;
	if (write_pid_file(cfg->pid_file) < 0 || drop_privileges(pw) < 0 ||
	    check_database_access(cfg) < 0)
		return 1;
	log_info("postern %s starting, config %s", PACKAGE_VERSION,
	         cfg->path ? cfg->path : "(built-in defaults)");
	rc = supervisor_run(&cfg, filter_main);
	if (cfg->pid_file[0] != '\0')
		(void)unlink(cfg->pid_file);
	config_unref(cfg);
	return rc;
}
