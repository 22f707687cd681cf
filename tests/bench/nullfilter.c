/*
 * nullfilter: a libmilter filter that accepts everything, for the
 * protocol benchmark (tests/bench/run-protocol). It registers every
 * callback and each one only says continue, so what it costs is
 * libmilter's: a thread per connection, a read and a reply per stage.
 * It is the ceiling of what a libmilter filter can do; by default it
 * talks to the MTA as most filters do.
 *
 *   nullfilter -p inet:PORT@HOST|inet6:PORT@HOST|unix:PATH [--nodelay]
 *              [--noreply[=STAGE,...]]
 *
 * --noreply asks at option negotiation to send no reply (SMFIP_NR_*) at
 * every stage the MTA offers that for, and returns SMFIS_NOREPLY there:
 * the MTA then sends those commands without waiting. --noreply=STAGE,...
 * does so at the stages named only: conn, helo, mail, rcpt, data,
 * unknown, header, eoh, body. (Through Postfix, no reply at data costs
 * about 40 ms per message: see run-protocol.)
 *
 * --nodelay sets TCP_NODELAY on libmilter's listening socket after
 * smfi_opensocket(). libmilter keeps that socket to itself: it is found
 * among the process's descriptors as the one with SO_ACCEPTCONN. On Linux
 * the accepted connections inherit the option.
 *
 * Without either option this is plain libmilter, as most filters run: a
 * reply at every stage, and Nagle's algorithm on.
 *
 * SIGTERM or SIGINT makes it exit with status 0 at once (libmilter alone
 * would wait for the timeout of its listener's poll, about 5 s); sessions
 * still open are cut. The exit status is 2 for a usage error, 1 when the
 * socket cannot be opened.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every "no reply" flag of protocol version 6. */
#define NR_ALL                                                                           \
	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA | \
	 SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_HDR)

/* The "no reply" flags to ask for (--noreply). */
static unsigned long want_nr;

static const struct {
	const char *name;
	unsigned long flag;
} stages[] = {
    {"conn", SMFIP_NR_CONN},  {"helo", SMFIP_NR_HELO}, {"mail", SMFIP_NR_MAIL},
    {"rcpt", SMFIP_NR_RCPT},  {"data", SMFIP_NR_DATA}, {"unknown", SMFIP_NR_UNKN},
    {"header", SMFIP_NR_HDR}, {"eoh", SMFIP_NR_EOH},   {"body", SMFIP_NR_BODY},
};

/* STAGE,... as "no reply" flags; 0 for a name that is not a stage. */
static unsigned long
parse_stages(const char *list)
{
	unsigned long flags = 0;
	char *copy = strdup(list), *save = NULL;

	if (copy == NULL)
		return 0;
	for (char *t = strtok_r(copy, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
			if (strcmp(t, stages[i].name) == 0)
				break;
		if (i == sizeof(stages) / sizeof(stages[0])) {
			fprintf(stderr, "nullfilter: --noreply: no stage \"%s\"\n", t);
			flags = 0;
			break;
		}
		flags |= stages[i].flag;
	}
	free(copy);
	return flags;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: nullfilter -p inet:PORT@HOST|inet6:PORT@HOST|unix:PATH "
	           "[--nodelay]\n"
	           "                  [--noreply[=STAGE,...]]  (stages: conn helo mail "
	           "rcpt data unknown header eoh body)\n");
}

/* The reply of a stage whose "no reply" flag is NR: none if this
 * connection negotiated it. The negotiated flags are the connection's
 * private pointer, an integer, so that there is nothing to free. */
static sfsistat
reply(SMFICTX *ctx, unsigned long nr)
{
	uintptr_t flags = (uintptr_t)smfi_getpriv(ctx);
	return (flags & nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
             unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
             unsigned long *pf3)
{
	(void)f0;
	(void)f2;
	(void)f3;
	*pf0 = 0; /* no modification of the message */
	*pf1 = f1 & want_nr;
	*pf2 = 0;
	*pf3 = 0;
	smfi_setpriv(ctx, (void *)(uintptr_t)*pf1);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)host;
	(void)sa;
	return reply(ctx, SMFIP_NR_CONN);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *name)
{
	(void)name;
	return reply(ctx, SMFIP_NR_HELO);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return reply(ctx, SMFIP_NR_MAIL);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return reply(ctx, SMFIP_NR_RCPT);
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	return reply(ctx, SMFIP_NR_DATA);
}

static sfsistat
cb_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)cmd;
	return reply(ctx, SMFIP_NR_UNKN);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return reply(ctx, SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	return reply(ctx, SMFIP_NR_EOH);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)chunk;
	(void)len;
	return reply(ctx, SMFIP_NR_BODY);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static bool
is_listener(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* libmilter's listening socket: the one socket that listens. */
static int
find_listener(void)
{
	int found = -1;
	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || !is_listener(fd))
			continue;
		if (found >= 0) {
			fprintf(stderr,
			        "nullfilter: more than one listening socket (%d, %d)\n",
			        found, fd);
			return -1;
		}
		found = fd;
	}
	if (found < 0)
		fprintf(stderr, "nullfilter: libmilter's listening socket not found\n");
	return found;
}

static int
set_nodelay(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		fprintf(stderr, "nullfilter: getsockname: %s\n", strerror(errno));
		return -1;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
		fprintf(stderr, "nullfilter: --nodelay: not a TCP socket, ignored\n");
		return 0;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		fprintf(stderr, "nullfilter: TCP_NODELAY: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Waits for SIGTERM or SIGINT and exits at once: libmilter's own signal
 * thread would stop the filter only at the next timeout of its listener's
 * poll. That thread waits for the same signals, and the kernel gives a
 * signal to one of them; should it be libmilter's, smfi_main() returns a
 * few seconds later and the exit status is 0 all the same. */
static void *
watch_signals(void *arg)
{
	const sigset_t *set = arg;
	int sig = 0;

	if (sigwait(set, &sig) == 0)
		fprintf(stderr, "nullfilter: %s, exiting\n", strsignal(sig));
	fflush(stderr);
	_exit(0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 'p'},
	    {"nodelay", no_argument, NULL, 'N'},
	    {"noreply", optional_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *sock = NULL;
	bool nodelay = false, noreply = false;
	int c;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			sock = optarg;
			break;
		case 'N':
			nodelay = true;
			break;
		case 'R':
			noreply = true;
			want_nr = optarg ? parse_stages(optarg) : NR_ALL;
			if (want_nr == 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nullfilter: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (sock == NULL || *sock == '\0') {
		fprintf(stderr, "nullfilter: -p SOCKET is required\n");
		usage(stderr);
		return 2;
	}

	struct smfiDesc desc = {
	    .xxfi_name = "nullfilter",
	    .xxfi_version = SMFI_VERSION,
	    .xxfi_flags = 0,
	    .xxfi_connect = cb_connect,
	    .xxfi_helo = cb_helo,
	    .xxfi_envfrom = cb_envfrom,
	    .xxfi_envrcpt = cb_envrcpt,
	    .xxfi_header = cb_header,
	    .xxfi_eoh = cb_eoh,
	    .xxfi_body = cb_body,
	    .xxfi_eom = cb_eom,
	    .xxfi_abort = cb_abort,
	    .xxfi_close = cb_close,
	    .xxfi_unknown = cb_unknown,
	    .xxfi_data = cb_data,
	    /* Without a negotiate callback libmilter asks for a reply at
	     * every stage. */
	    .xxfi_negotiate = noreply ? cb_negotiate : NULL,
	};
	if (smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "nullfilter: smfi_register failed\n");
		return 1;
	}
	if (smfi_setconn((char *)sock) != MI_SUCCESS) {
		fprintf(stderr, "nullfilter: -p %s: not a libmilter socket\n", sock);
		return 2;
	}
	smfi_setbacklog(128);
	if (smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr,
		        "nullfilter: -p %s: cannot listen (in use, or no permission?)\n",
		        sock);
		return 1;
	}
	int listen_fd = find_listener();
	if (listen_fd < 0)
		return 1;
	if (nodelay && set_nodelay(listen_fd) < 0)
		return 1;

	/* Blocked here, so in every thread libmilter starts too; SIGHUP is
	 * left to libmilter's signal thread (it stops). */
	static sigset_t set;
	sigset_t block;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	block = set;
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	pthread_t tid;
	if (pthread_create(&tid, NULL, watch_signals, &set) != 0) {
		fprintf(stderr, "nullfilter: cannot start a thread\n");
		return 1;
	}
	fprintf(stderr, "nullfilter: listening on %s%s%s\n", sock,
	        nodelay ? ", TCP_NODELAY" : "", noreply ? ", no replies" : "");
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
