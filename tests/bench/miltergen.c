/*
 * miltergen: a load generator that speaks the MTA side of the milter
 * protocol (version 6, the one Sendmail and Postfix speak), for the
 * benchmarks. Each of CONCURRENCY threads runs sessions back to back, one
 * connection per message as an MTA does for a session with one message:
 * option negotiation, CONNECT, HELO, MAIL, RCPT, DATA, the headers one by
 * one, EOH, the body in chunks, end of message; then it reads the
 * modifications and the final answer and says QUIT.
 *
 * It honours what the filter negotiates, as Postfix's milter8 client
 * does: a stage the filter asked to skip (SMFIP_NO*) is not sent, a reply
 * it said it will not send (SMFIP_NR_*) is not waited for (those commands
 * go out together with the next one that has a reply), the macro lists
 * it sets are the macros sent at each stage, a header value keeps its
 * leading space only with SMFIP_HDR_LEADSPC, and SMFIR_SKIP stops the body.
 *
 *   miltergen -s inet:PORT@HOST|unix:PATH -m MESSAGE [-c CONCURRENCY]
 *             [-n MESSAGES] [-t SECONDS] [--client-ip A] [--client-name N]
 *             [--helo N] [--from A] [--rcpt A]... [--auth USER]
 *             [--macro [STAGE:]NAME=VALUE]... [--expect-header NAME[:TEXT]]...
 *             [--pid PID] [--timeout SECONDS] [--chunk BYTES] [-v]
 *
 * -n counts messages over all threads, -t stops starting sessions after
 * SECONDS; with both, whichever comes first. MESSAGE is a file of headers,
 * an empty line and a body, with LF or CRLF line ends. The macros are
 * Postfix's defaults (j, {daemon_name}, i, {auth_authen} with --auth,
 * {mail_addr}, {rcpt_addr}, ...) plus --macro; STAGE is connect, helo,
 * mail, rcpt, data, eoh or eom, by default the stage where Postfix sends
 * that macro. -v shows the negotiation and the header changes of the first
 * message on stderr.
 *
 * It is not an MTA: it applies no modification, keeps no queue and sends
 * the same message each time. It counts a message as ok when the filter
 * accepts it and, with --expect-header, when every expected header was
 * added or inserted at the end of the message, so that a filter that
 * fails cannot look fast. Results are one line on stdout:
 *
 *   msgs=N secs=S msgs_per_sec=X p50_ms=L p99_ms=L max_ms=L
 *   cpu_ms_per_msg=C peak_rss_kb=K gen_cpu_ms_per_msg=G ok=N failed=N
 *
 * msgs_per_sec counts the ok messages; the latencies run from connect()
 * to the final answer at the end of the message, over the ok messages.
 * cpu_ms_per_msg and peak_rss_kb are those of --pid and its children
 * (postern's supervisor and its filter process): utime+stime from
 * /proc/PID/stat before and after, and the sum of their VmHWM (the peak
 * since each process started) at the end; "-"
 * without --pid. gen_cpu_ms_per_msg is this program's own CPU time.
 * Failure reasons go to stderr; the exit status is 1 when any message
 * failed, 2 for a usage error.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libmilter/mfdef.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "tests/bench/bench.h"

#define MAX_PACKET (1024 * 1024) /* the longest reply we accept */
#define MAX_EXPECT 8
#define MAX_REASONS 16

/* The macro stages, numbered as libmilter's SMFIM_* (the index in a
 * SMFIC_OPTNEG reply's macro lists). */
enum stage { ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT, ST_DATA, ST_EOM, ST_EOH, NSTAGES };

/* Each stage: its command, the flag that skips it, the flag that says
 * the filter will not answer it, and the macros Postfix sends there by
 * default (its milter_*_macros). */
static const struct stage_info {
	const char *name;
	char cmd;
	uint32_t no, nr;
	const char *macros;
} stages[NSTAGES] = {
    [ST_CONNECT] = {"connect", SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN,
                    "j {daemon_name} {daemon_addr} v _"},
    [ST_HELO] = {"helo", SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, ""},
    [ST_MAIL] = {"mail", SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL,
                 "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} "
                 "{mail_mailer}"},
    [ST_RCPT] = {"rcpt", SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT,
                 "{rcpt_addr} {rcpt_host} {rcpt_mailer}"},
    [ST_DATA] = {"data", SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, "i"},
    [ST_EOM] = {"eom", SMFIC_BODYEOB, 0, 0, "i"},
    [ST_EOH] = {"eoh", SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, "i"},
};

struct header {
	char *name;
	char *value; /* after the colon, leading white space kept */
};

struct expect {
	char *name;
	char *text; /* NULL, or what the value must contain */
};

struct macro {
	char *name, *value;
};

/* What the command line asked for; read-only once the threads run. */
static struct options {
	const char *socket, *msgfile;
	unsigned concurrency;
	long nmsgs;
	double secs, timeout;
	const char *client_ip, *client_name, *helo, *from, *mta_name, *auth;
	const char **rcpts;
	size_t nrcpts;
	struct macro *macros; /* --macro, added to the stage lists below */
	size_t nmacros;
	char *stage_macros[NSTAGES];
	struct expect expect[MAX_EXPECT];
	size_t nexpect;
	long pid;
	size_t chunk;
	int verbose;
} opt;

/* The message, parsed once. */
static struct header *headers;
static size_t nheaders;
static char *body; /* CRLF line ends */
static size_t body_len;

static struct sockaddr_storage peer;
static socklen_t peer_len;

static atomic_long started;
static double deadline_ms;
static atomic_bool verbose_done;

/* Failure reasons, counted. */
static pthread_mutex_t reasons_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char text[200];
	unsigned long n;
} reasons[MAX_REASONS];
static size_t nreasons;
static unsigned long other_reasons;

/* One connection to the filter: buffered output (commands without a
 * reply wait there for the next one that has one) and buffered input. */
struct conn {
	int fd;
	uint32_t version, actions, pflags;
	char *symlist[NSTAGES]; /* macro lists the filter set, or NULL */
	struct strbuf out;
	unsigned char *in;
	size_t in_off, in_len, in_cap;
	char err[240];
	bool skip_body, verbose;
	bool seen[MAX_EXPECT];
	char reply[240]; /* the text of an SMFIR_REPLYCODE */
};

/* One thread: its connection buffers and its results. */
struct worker {
	pthread_t thread;
	unsigned id;
	unsigned long seq;
	struct conn c;
	double *lat;
	size_t nlat, cap;
	unsigned long ok, failed;
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("miltergen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
count_reason(const char *why)
{
	pthread_mutex_lock(&reasons_lock);
	size_t i;
	for (i = 0; i < nreasons; i++)
		if (strcmp(reasons[i].text, why) == 0)
			break;
	if (i < nreasons) {
		reasons[i].n++;
	} else if (nreasons < MAX_REASONS) {
		snprintf(reasons[nreasons].text, sizeof(reasons[0].text), "%s", why);
		reasons[nreasons++].n = 1;
	} else {
		other_reasons++;
	}
	pthread_mutex_unlock(&reasons_lock);
}

/* ---- The message ------------------------------------------------------ */

/* Read FILE (LF or CRLF) into headers (folded lines joined by "\n", as
 * MTAs send them) and a body with CRLF line ends. */
static void
message_load(const char *file)
{
	FILE *f = fopen(file, "rb");
	struct strbuf b = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool in_body = false;

	if (f == NULL)
		die("%s: %s", file, strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (in_body) {
			strbuf_add(&b, line, (size_t)n);
			strbuf_add(&b, "\r\n", 2);
		} else if (n == 0) {
			in_body = true;
		} else if ((line[0] == ' ' || line[0] == '\t') && nheaders > 0) {
			struct header *h = &headers[nheaders - 1];
			char *v = xasprintf("%s\n%s", h->value, line);
			free(h->value);
			h->value = v;
		} else {
			char *colon = strchr(line, ':');
			if (colon == NULL || colon == line)
				die("%s: not a header line: %.60s", file, line);
			size_t nlen = (size_t)(colon - line);
			while (nlen > 0 &&
			       (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
				nlen--;
			headers = xrealloc(headers, (nheaders + 1) * sizeof(*headers));
			headers[nheaders].name = xstrndup(line, nlen);
			headers[nheaders++].value = xstrdup(colon + 1);
		}
	}
	free(line);
	fclose(f);
	if (nheaders == 0)
		die("%s: no headers", file);
	body = b.s ? b.s : xstrdup("");
	body_len = b.len;
}

/* ---- Options ---------------------------------------------------------- */

static void
parse_socket(const char *spec)
{
	memset(&peer, 0, sizeof(peer));
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&peer;
		const char *path = strchr(spec, ':') + 1;
		if (strlen(path) >= sizeof(sun->sun_path))
			die("socket path too long: %s", path);
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		peer_len = sizeof(*sun);
		return;
	}
	const char *p = spec;
	int family = AF_UNSPEC;
	if (strncmp(p, "inet:", 5) == 0) {
		family = AF_INET;
		p += 5;
	} else if (strncmp(p, "inet6:", 6) == 0) {
		family = AF_INET6;
		p += 6;
	}
	const char *at = strchr(p, '@');
	char *port = xstrndup(p, at ? (size_t)(at - p) : strlen(p));
	const char *host = at ? at + 1 : "127.0.0.1";
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		die("%s: %s", spec, gai_strerror(rc));
	memcpy(&peer, res->ai_addr, res->ai_addrlen);
	peer_len = res->ai_addrlen;
	freeaddrinfo(res);
	free(port);
}

static enum stage
stage_by_name(const char *name, size_t len)
{
	for (int i = 0; i < NSTAGES; i++)
		if (strlen(stages[i].name) == len &&
		    strncmp(stages[i].name, name, len) == 0)
			return (enum stage)i;
	die("unknown macro stage \"%.*s\"", (int)len, name);
	return ST_CONNECT;
}

/* Whether a space-separated list of macro names has name. */
static bool
list_has(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *m = list, *hit; (hit = strstr(m, name)) != NULL; m = hit + 1)
		if ((hit == list || hit[-1] == ' ') &&
		    (hit[len] == ' ' || hit[len] == '\0'))
			return true;
	return false;
}

/* The stage where Postfix sends a macro by default, else connect. */
static enum stage
default_stage(const char *name)
{
	for (int i = 0; i < NSTAGES; i++)
		if (list_has(stages[i].macros, name))
			return (enum stage)i;
	return ST_CONNECT;
}

/* --macro [STAGE:]NAME=VALUE */
static void
add_macro(const char *arg)
{
	const char *eq = strchr(arg, '='), *colon = strchr(arg, ':');
	enum stage st;

	if (eq == NULL)
		die("--macro %s: want [STAGE:]NAME=VALUE", arg);
	bool staged = colon != NULL && colon < eq && arg[0] != '{';
	const char *n = staged ? colon + 1 : arg;
	char *name = xstrndup(n, (size_t)(eq - n));
	st = staged ? stage_by_name(arg, (size_t)(colon - arg)) : default_stage(name);
	opt.macros = xrealloc(opt.macros, (opt.nmacros + 1) * sizeof(*opt.macros));
	opt.macros[opt.nmacros].name = name;
	opt.macros[opt.nmacros++].value = xstrdup(eq + 1);
	if (!list_has(opt.stage_macros[st], name)) {
		char *list = xasprintf("%s %s", opt.stage_macros[st], name);
		free(opt.stage_macros[st]);
		opt.stage_macros[st] = list;
	}
}

static void
add_expect(const char *arg)
{
	const char *colon = strchr(arg, ':');

	if (opt.nexpect == MAX_EXPECT)
		die("at most %d --expect-header", MAX_EXPECT);
	struct expect *e = &opt.expect[opt.nexpect++];
	e->name = colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
	e->text = colon ? xstrdup(colon + 1) : NULL;
}

static void
usage(void)
{
	fputs("usage: miltergen -s SOCKET -m MESSAGE [-c CONCURRENCY] [-n MESSAGES] "
	      "[-t SECONDS]\n"
	      "  [--client-ip ADDR] [--client-name NAME] [--helo NAME] [--from ADDR]\n"
	      "  [--rcpt ADDR]... [--auth USER] [--mta-name NAME]\n"
	      "  [--macro [STAGE:]NAME=VALUE]... [--expect-header NAME[:TEXT]]...\n"
	      "  [--pid PID] [--timeout SECONDS] [--chunk BYTES] [-v]\n"
	      "SOCKET: inet:PORT@HOST, inet6:PORT@HOST or unix:PATH\n",
	      stderr);
	exit(2);
}

static double
number(const char *arg, const char *what, double min, double max)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end != '\0' || !(v >= min && v <= max))
		die("bad %s: %s", what, arg);
	return v;
}

static void
parse_options(int argc, char **argv)
{
	enum {
		O_CLIENT_IP = 256,
		O_CLIENT_NAME,
		O_HELO,
		O_FROM,
		O_RCPT,
		O_AUTH,
		O_MTA,
		O_EXPECT,
		O_PID,
		O_TIMEOUT,
		O_CHUNK,
	};
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"messages", required_argument, NULL, 'n'},
	    {"seconds", required_argument, NULL, 't'},
	    {"message", required_argument, NULL, 'm'},
	    {"macro", required_argument, NULL, 'D'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"client-ip", required_argument, NULL, O_CLIENT_IP},
	    {"client-name", required_argument, NULL, O_CLIENT_NAME},
	    {"helo", required_argument, NULL, O_HELO},
	    {"from", required_argument, NULL, O_FROM},
	    {"rcpt", required_argument, NULL, O_RCPT},
	    {"auth", required_argument, NULL, O_AUTH},
	    {"mta-name", required_argument, NULL, O_MTA},
	    {"expect-header", required_argument, NULL, O_EXPECT},
	    {"pid", required_argument, NULL, O_PID},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"chunk", required_argument, NULL, O_CHUNK},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	opt.concurrency = 1;
	opt.timeout = 30;
	opt.chunk = MILTER_CHUNK_SIZE;
	opt.client_ip = "127.0.0.1";
	opt.client_name = "unknown";
	opt.helo = "client.example";
	opt.from = "sender@example.com";
	opt.mta_name = "mta.miltergen.test";
	opt.pid = -1;
	for (int i = 0; i < NSTAGES; i++)
		opt.stage_macros[i] = xstrdup(stages[i].macros);
	while ((ch = getopt_long(argc, argv, "s:c:n:t:m:D:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt.socket = optarg;
			break;
		case 'c':
			opt.concurrency =
			    (unsigned)number(optarg, "concurrency", 1, 4096);
			break;
		case 'n':
			opt.nmsgs = (long)number(optarg, "message count", 1, 1e12);
			break;
		case 't':
			opt.secs = number(optarg, "seconds", 0.001, 1e6);
			break;
		case 'm':
			opt.msgfile = optarg;
			break;
		case 'D':
			add_macro(optarg);
			break;
		case 'v':
			opt.verbose++;
			break;
		case O_CLIENT_IP:
			opt.client_ip = optarg;
			break;
		case O_CLIENT_NAME:
			opt.client_name = optarg;
			break;
		case O_HELO:
			opt.helo = optarg;
			break;
		case O_FROM:
			opt.from = optarg;
			break;
		case O_RCPT:
			opt.rcpts =
			    xrealloc(opt.rcpts, (opt.nrcpts + 1) * sizeof(*opt.rcpts));
			opt.rcpts[opt.nrcpts++] = optarg;
			break;
		case O_AUTH:
			opt.auth = optarg;
			break;
		case O_MTA:
			opt.mta_name = optarg;
			break;
		case O_EXPECT:
			add_expect(optarg);
			break;
		case O_PID:
			opt.pid = (long)number(optarg, "pid", 1, 1e9);
			break;
		case O_TIMEOUT:
			opt.timeout = number(optarg, "timeout", 0.001, 1e6);
			break;
		case O_CHUNK:
			opt.chunk =
			    (size_t)number(optarg, "chunk size", 1, MILTER_CHUNK_SIZE);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt.socket == NULL || opt.msgfile == NULL)
		usage();
	if (opt.nmsgs == 0 && opt.secs == 0)
		opt.nmsgs = 100;
	if (opt.nrcpts == 0) {
		static const char *dflt[] = {"rcpt@example.net"};
		opt.rcpts = dflt;
		opt.nrcpts = 1;
	}
}

/* ---- Wire ------------------------------------------------------------- */

static int fail(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Start a packet: length (patched by put_end), command. */
static size_t
put_begin(struct conn *c, char cmd)
{
	size_t at = c->out.len;

	strbuf_add(&c->out, "\0\0\0\0", 4);
	strbuf_add(&c->out, &cmd, 1);
	return at;
}

static void
put_bytes(struct conn *c, const void *p, size_t n)
{
	strbuf_add(&c->out, p, n);
}

/* A string with its NUL. */
static void
put_str(struct conn *c, const char *s)
{
	strbuf_add(&c->out, s, strlen(s) + 1);
}

static void
put_u32(struct conn *c, uint32_t v)
{
	uint32_t n = htonl(v);
	strbuf_add(&c->out, (const char *)&n, 4);
}

static void
put_end(struct conn *c, size_t at)
{
	uint32_t n = htonl((uint32_t)(c->out.len - at - 4));
	memcpy(c->out.s + at, &n, 4);
}

static int
flush(struct conn *c)
{
	size_t off = 0;

	while (off < c->out.len) {
		ssize_t n = send(c->fd, c->out.s + off, c->out.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(c, "write: %s",
			            errno == EAGAIN ? "timed out" : strerror(errno));
		off += (size_t)n;
	}
	c->out.len = 0;
	return 0;
}

/* Make n bytes available at c->in + c->in_off. */
static int
fill(struct conn *c, size_t n)
{
	while (c->in_len - c->in_off < n) {
		if (c->in_off > 0) {
			memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		if (c->in_cap < n || c->in_cap - c->in_len < 4096) {
			c->in_cap = c->in_cap * 2 > n + 4096 ? c->in_cap * 2 : n + 4096;
			c->in = xrealloc(c->in, c->in_cap);
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return fail(c, "the filter closed the connection");
		if (r < 0)
			return fail(c, "read: %s",
			            errno == EAGAIN ? "timed out" : strerror(errno));
		c->in_len += (size_t)r;
	}
	return 0;
}

/* Read one packet: its command, and its data (valid until the next read). */
static int
get_packet(struct conn *c, char *cmd_r, const char **data_r, size_t *len_r)
{
	uint32_t n;

	if (fill(c, 4) < 0)
		return -1;
	memcpy(&n, c->in + c->in_off, 4);
	n = ntohl(n);
	if (n < 1 || n > MAX_PACKET)
		return fail(c, "bad packet length %u", n);
	if (fill(c, 4 + (size_t)n) < 0)
		return -1;
	*cmd_r = (char)c->in[c->in_off + 4];
	*data_r = (const char *)c->in + c->in_off + 5;
	*len_r = n - 1;
	c->in_off += 4 + (size_t)n;
	return 0;
}

/* The next NUL-terminated string of a packet's data, or NULL. */
static const char *
next_str(const char **p, const char *end)
{
	const char *s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', (size_t)(end - s))) == NULL)
		return NULL;
	*p = nul + 1;
	return s;
}

/* ---- The session ------------------------------------------------------ */

/* Values of the macros this session knows, by name. */
struct session_vals {
	char qid[32], port[8], client[300];
};

static const char *
macro_value(const struct session_vals *sv, const char *name, const char *rcpt)
{
	static const char mailer[] = "smtp";

	for (size_t i = 0; i < opt.nmacros; i++)
		if (strcmp(opt.macros[i].name, name) == 0)
			return opt.macros[i].value;
	if (strcmp(name, "j") == 0)
		return opt.mta_name;
	if (strcmp(name, "{daemon_name}") == 0 || strcmp(name, "v") == 0)
		return "miltergen";
	if (strcmp(name, "_") == 0)
		return sv->client;
	if (strcmp(name, "{client_addr}") == 0)
		return opt.client_ip;
	if (strcmp(name, "{client_name}") == 0 || strcmp(name, "{client_ptr}") == 0)
		return opt.client_name;
	if (strcmp(name, "{client_port}") == 0)
		return sv->port;
	if (strcmp(name, "i") == 0)
		return sv->qid;
	if (opt.auth != NULL && strcmp(name, "{auth_authen}") == 0)
		return opt.auth;
	if (opt.auth != NULL && strcmp(name, "{auth_type}") == 0)
		return "PLAIN";
	if (strcmp(name, "{mail_addr}") == 0)
		return opt.from;
	if (strcmp(name, "{rcpt_addr}") == 0)
		return rcpt;
	if (strcmp(name, "{mail_mailer}") == 0 || strcmp(name, "{rcpt_mailer}") == 0)
		return mailer;
	return NULL;
}

/* The macros of a stage: the filter's list if it set one, else ours. */
static void
put_macros(struct conn *c, const struct session_vals *sv, enum stage st, const char *rcpt)
{
	const char *list = c->symlist[st] ? c->symlist[st] : opt.stage_macros[st];
	size_t at = 0;
	bool any = false;

	while (*list != '\0') {
		size_t len = strcspn(list, " ,");
		char name[64];
		if (len > 0 && len < sizeof(name)) {
			memcpy(name, list, len);
			name[len] = '\0';
			const char *v = macro_value(sv, name, rcpt);
			if (v != NULL && *v != '\0') {
				if (!any) {
					at = put_begin(c, SMFIC_MACRO);
					put_bytes(c, &stages[st].cmd, 1);
					any = true;
				}
				put_str(c, name);
				put_str(c, v);
			}
		}
		list += len;
		list += strspn(list, " ,");
	}
	if (any)
		put_end(c, at);
}

/* The filter's answer to a command, unless it said it sends none:
 * SMFIR_PROGRESS is read past; the text of a reply code is kept. */
static int
answer(struct conn *c, uint32_t nr, char *reply_r)
{
	const char *data;
	size_t len;

	*reply_r = SMFIR_CONTINUE;
	if (nr != 0 && (c->pflags & nr) != 0)
		return 0;
	if (flush(c) < 0)
		return -1;
	do {
		if (get_packet(c, reply_r, &data, &len) < 0)
			return -1;
	} while (*reply_r == SMFIR_PROGRESS);
	if (*reply_r == SMFIR_REPLYCODE)
		snprintf(c->reply, sizeof(c->reply), "%.*s", (int)strnlen(data, len),
		         data);
	return 0;
}

enum next { GO_ON, STOP_OK, STOP_FAIL };

/* What a stage's answer means for the message; why_r says why it fails. */
static enum next
judge(struct conn *c, enum stage st, char reply, char *why, size_t size)
{
	switch (reply) {
	case SMFIR_CONTINUE:
		return GO_ON;
	case SMFIR_ACCEPT:
		return STOP_OK;
	case SMFIR_REPLYCODE:
		snprintf(why, size, "%s: %s", stages[st].name, c->reply);
		return STOP_FAIL;
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_DISCARD:
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		snprintf(why, size, "%s: answer '%c'", stages[st].name, reply);
		return STOP_FAIL;
	default:
		snprintf(why, size, "%s: unexpected answer '%c'", stages[st].name, reply);
		return STOP_FAIL;
	}
}

static int
negotiate(struct conn *c)
{
	const char *data, *p, *end;
	size_t len, at = put_begin(c, SMFIC_OPTNEG);
	char cmd;

	put_u32(c, SMFI_PROT_VERSION);
	put_u32(c, SMFI_CURR_ACTS);
	put_u32(c, SMFI_CURR_PROT);
	put_end(c, at);
	if (flush(c) < 0 || get_packet(c, &cmd, &data, &len) < 0)
		return -1;
	if (cmd != SMFIC_OPTNEG || len < MILTER_OPTLEN)
		return fail(c, "negotiation: answer '%c' of %zu bytes", cmd, len);
	uint32_t v[3];
	memcpy(v, data, sizeof(v));
	c->version = ntohl(v[0]);
	c->actions = ntohl(v[1]);
	c->pflags = ntohl(v[2]);
	/* What we did not offer (the data size bits) we do not honour. */
	c->pflags &= SMFI_CURR_PROT;
	/* Macro lists: pairs of a stage number and a list of names. */
	for (p = data + MILTER_OPTLEN, end = data + len; end - p >= 4;) {
		uint32_t idx;
		memcpy(&idx, p, 4);
		idx = ntohl(idx);
		p += 4;
		const char *list = next_str(&p, end);
		if (list == NULL || idx >= NSTAGES)
			return fail(c, "negotiation: bad macro list");
		free(c->symlist[idx]);
		c->symlist[idx] = xstrdup(list);
	}
	if (c->verbose) {
		fprintf(stderr, "negotiated: version %u actions %#x protocol %#x\n",
		        c->version, c->actions, c->pflags);
		for (int i = 0; i < NSTAGES; i++)
			if (c->symlist[i] != NULL)
				fprintf(stderr, "  macros at %s: %s\n", stages[i].name,
				        c->symlist[i]);
	}
	return 0;
}

static int
conn_open(struct conn *c)
{
	int one = 1;
	struct timeval tv = {(time_t)opt.timeout,
	                     (suseconds_t)((opt.timeout - floor(opt.timeout)) * 1e6)};

	c->fd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail(c, "socket: %s", strerror(errno));
	if (peer.ss_family != AF_UNIX)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&peer, peer_len) < 0)
		return fail(c, "connect: %s", strerror(errno));
	return 0;
}

static void
conn_reset(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	for (int i = 0; i < NSTAGES; i++) {
		free(c->symlist[i]);
		c->symlist[i] = NULL;
	}
	c->out.len = 0;
	c->in_off = c->in_len = 0;
	c->skip_body = false;
}

static void
put_connect(struct conn *c, const struct session_vals *sv)
{
	size_t at = put_begin(c, SMFIC_CONNECT);
	bool v6 = strchr(opt.client_ip, ':') != NULL;
	uint16_t port = htons((uint16_t)atoi(sv->port));

	put_str(c, opt.client_name);
	put_bytes(c, v6 ? "6" : "4", 1);
	put_bytes(c, &port, 2);
	put_str(c, opt.client_ip);
	put_end(c, at);
}

/* "<addr>" unless it has its brackets already. */
static void
put_addr(struct conn *c, char cmd, const char *addr)
{
	size_t at = put_begin(c, cmd);

	if (addr[0] == '<') {
		put_str(c, addr);
	} else {
		put_bytes(c, "<", 1);
		put_bytes(c, addr, strlen(addr));
		put_str(c, ">");
	}
	put_end(c, at);
}

/* One stage of the envelope: macros, the command unless skipped, the
 * answer unless the filter sends none. */
static enum next
envelope_stage(struct conn *c, const struct session_vals *sv, enum stage st,
               const char *arg, char *why, size_t size)
{
	char reply;

	put_macros(c, sv, st, st == ST_RCPT ? arg : NULL);
	if ((c->pflags & stages[st].no) != 0)
		return GO_ON;
	switch (st) {
	case ST_CONNECT:
		put_connect(c, sv);
		break;
	case ST_HELO: {
		size_t at = put_begin(c, SMFIC_HELO);
		put_str(c, arg);
		put_end(c, at);
		break;
	}
	case ST_MAIL:
	case ST_RCPT:
		put_addr(c, stages[st].cmd, arg);
		break;
	default:
		put_end(c, put_begin(c, stages[st].cmd));
		break;
	}
	if (answer(c, stages[st].nr, &reply) < 0)
		return STOP_FAIL;
	return judge(c, st, reply, why, size);
}

/* Headers one by one, as Postfix sends them: one space after the colon
 * eaten unless the filter asked for SMFIP_HDR_LEADSPC. */
static enum next
send_headers(struct conn *c, char *why, size_t size)
{
	char reply;

	if (c->pflags & SMFIP_NOHDRS)
		return GO_ON;
	for (size_t i = 0; i < nheaders; i++) {
		const char *v = headers[i].value;
		if (!(c->pflags & SMFIP_HDR_LEADSPC) && *v == ' ')
			v++;
		size_t at = put_begin(c, SMFIC_HEADER);
		put_str(c, headers[i].name);
		put_str(c, v);
		put_end(c, at);
		if (answer(c, SMFIP_NR_HDR, &reply) < 0)
			return STOP_FAIL;
		enum next n = judge(c, ST_EOH, reply, why, size);
		if (n != GO_ON)
			return n;
	}
	return GO_ON;
}

static enum next
send_body(struct conn *c, char *why, size_t size)
{
	char reply;

	if (c->pflags & SMFIP_NOBODY)
		return GO_ON;
	for (size_t off = 0; off < body_len && !c->skip_body; off += opt.chunk) {
		size_t n = body_len - off < opt.chunk ? body_len - off : opt.chunk;
		size_t at = put_begin(c, SMFIC_BODY);
		put_bytes(c, body + off, n);
		put_end(c, at);
		if (answer(c, SMFIP_NR_BODY, &reply) < 0)
			return STOP_FAIL;
		if (reply == SMFIR_SKIP) {
			c->skip_body = true;
			break;
		}
		enum next nx = judge(c, ST_EOM, reply, why, size);
		if (nx != GO_ON)
			return nx;
	}
	return GO_ON;
}

/* Note a header the filter adds or inserts against --expect-header. */
static void
note_header(struct conn *c, char kind, const char *name, const char *value)
{
	if (c->verbose)
		fprintf(stderr, "%c %s: %s\n", kind, name, value);
	for (size_t i = 0; i < opt.nexpect; i++)
		if (strcasecmp(opt.expect[i].name, name) == 0 &&
		    (opt.expect[i].text == NULL ||
		     strstr(value, opt.expect[i].text) != NULL))
			c->seen[i] = true;
}

/* End of message: the modifications, then the final answer. */
static enum next
end_of_message(struct conn *c, const struct session_vals *sv, char *why, size_t size)
{
	const char *data, *p, *end, *name, *value;
	size_t len;
	char cmd;

	put_macros(c, sv, ST_EOM, NULL);
	put_end(c, put_begin(c, SMFIC_BODYEOB));
	if (flush(c) < 0)
		return STOP_FAIL;
	for (;;) {
		if (get_packet(c, &cmd, &data, &len) < 0)
			return STOP_FAIL;
		p = data;
		end = data + len;
		switch (cmd) {
		case SMFIR_ADDHEADER:
			if ((name = next_str(&p, end)) == NULL ||
			    (value = next_str(&p, end)) == NULL) {
				fail(c, "eom: bad add header");
				return STOP_FAIL;
			}
			note_header(c, cmd, name, value);
			continue;
		case SMFIR_INSHEADER:
		case SMFIR_CHGHEADER:
			p += len < 4 ? len : 4;
			if (len < 4 || (name = next_str(&p, end)) == NULL ||
			    (value = next_str(&p, end)) == NULL) {
				fail(c, "eom: bad header change '%c'", cmd);
				return STOP_FAIL;
			}
			if (cmd == SMFIR_INSHEADER)
				note_header(c, cmd, name, value);
			else if (c->verbose)
				fprintf(stderr, "m %s: %s\n", name, value);
			continue;
		case SMFIR_PROGRESS:
		case SMFIR_ADDRCPT:
		case SMFIR_DELRCPT:
		case SMFIR_ADDRCPT_PAR:
		case SMFIR_CHGFROM:
		case SMFIR_REPLBODY:
		case SMFIR_QUARANTINE:
			continue;
		case SMFIR_REPLYCODE:
			snprintf(c->reply, sizeof(c->reply), "%.*s",
			         (int)strnlen(data, len), data);
			break;
		default:
			break;
		}
		return judge(c, ST_EOM, cmd, why, size);
	}
}

/* Which --expect-header the message did not get, if any. */
static bool
expectations_met(const struct conn *c, char *why, size_t size)
{
	for (size_t i = 0; i < opt.nexpect; i++) {
		if (c->seen[i])
			continue;
		if (opt.expect[i].text)
			snprintf(why, size, "no %s header containing \"%s\"",
			         opt.expect[i].name, opt.expect[i].text);
		else
			snprintf(why, size, "no %s header", opt.expect[i].name);
		return false;
	}
	return true;
}

/* One session with one message; 0 if the message was accepted (and got
 * what --expect-header asks for), else -1 and why. */
static int
session_run(struct worker *w, char *why, size_t size)
{
	struct conn *c = &w->c;
	struct session_vals sv;
	enum next n = GO_ON;

	w->seq++;
	snprintf(sv.qid, sizeof(sv.qid), "MG%02X%08lX", w->id, w->seq);
	snprintf(sv.port, sizeof(sv.port), "%lu", 10000 + (w->seq * 97 + w->id) % 50000);
	snprintf(sv.client, sizeof(sv.client), "%s [%s]", opt.client_name, opt.client_ip);
	c->verbose = opt.verbose > 0 && !atomic_exchange(&verbose_done, true);
	why[0] = '\0';
	c->err[0] = '\0';
	memset(c->seen, 0, sizeof(c->seen));
	if (conn_open(c) < 0 || negotiate(c) < 0) {
		snprintf(why, size, "%s", c->err);
		conn_reset(c);
		return -1;
	}
	n = envelope_stage(c, &sv, ST_CONNECT, NULL, why, size);
	if (n == GO_ON)
		n = envelope_stage(c, &sv, ST_HELO, opt.helo, why, size);
	if (n == GO_ON)
		n = envelope_stage(c, &sv, ST_MAIL, opt.from, why, size);
	for (size_t i = 0; n == GO_ON && i < opt.nrcpts; i++)
		n = envelope_stage(c, &sv, ST_RCPT, opt.rcpts[i], why, size);
	if (n == GO_ON)
		n = envelope_stage(c, &sv, ST_DATA, NULL, why, size);
	if (n == GO_ON)
		n = send_headers(c, why, size);
	if (n == GO_ON)
		n = envelope_stage(c, &sv, ST_EOH, NULL, why, size);
	if (n == GO_ON)
		n = send_body(c, why, size);
	if (n == GO_ON)
		n = end_of_message(c, &sv, why, size);
	if (c->err[0] != '\0') {
		snprintf(why, size, "%s", c->err);
		conn_reset(c);
		return -1;
	}
	/* As Postfix: say QUIT and close without waiting. */
	put_end(c, put_begin(c, SMFIC_QUIT));
	(void)flush(c);
	conn_reset(c);
	if (n == STOP_FAIL)
		return -1;
	return expectations_met(c, why, size) ? 0 : -1;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char why[300];

	for (;;) {
		if (opt.nmsgs > 0 && atomic_fetch_add(&started, 1) >= opt.nmsgs)
			break;
		double t0 = now_ms();
		if (opt.secs > 0 && t0 >= deadline_ms)
			break;
		if (session_run(w, why, sizeof(why)) < 0) {
			w->failed++;
			count_reason(why);
			/* A filter that is down fails fast: do not spin. */
			if (strncmp(why, "connect:", 8) == 0)
				usleep(10000);
			continue;
		}
		w->ok++;
		w->lat = xgrow(w->lat, &w->cap, w->nlat + 1, sizeof(*w->lat));
		w->lat[w->nlat++] = now_ms() - t0;
	}
	return NULL;
}

/* ---- Measuring the filter process -------------------------------------- */

struct proc_sample {
	unsigned long long ticks; /* utime + stime */
	unsigned long hwm_kb;     /* VmHWM */
	bool ok;
};

/* utime+stime and the parent of /proc/PID/stat; -1 if it is gone. */
static int
proc_stat(long pid, unsigned long long *ticks_r, long *ppid_r)
{
	char path[64], buf[1024];
	FILE *f;
	unsigned long long ut, st;
	long ppid;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command name in parentheses: state ppid ... field 14, 15. */
	const char *p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ppid,
	           &ut, &st) != 3)
		return -1;
	*ticks_r = ut + st;
	*ppid_r = ppid;
	return 0;
}

static unsigned long
proc_hwm(long pid)
{
	char path[64], line[256];
	unsigned long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %lu", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* PID and its children: their CPU time and the sum of their peaks. */
static struct proc_sample
proc_sample(long pid)
{
	struct proc_sample s = {0, 0, false};
	unsigned long long t;
	long ppid;
	DIR *d;
	struct dirent *e;

	if (pid <= 0 || proc_stat(pid, &t, &ppid) < 0)
		return s;
	s.ok = true;
	s.ticks = t;
	s.hwm_kb = proc_hwm(pid);
	if ((d = opendir("/proc")) == NULL)
		return s;
	while ((e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		long child = atol(e->d_name);
		if (child != pid && proc_stat(child, &t, &ppid) == 0 && ppid == pid) {
			s.ticks += t;
			s.hwm_kb += proc_hwm(child);
		}
	}
	closedir(d);
	return s;
}

/* ---- Results ---------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank. */
static double
percentile(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p * (double)n);

	return v[rank > 0 ? rank - 1 : 0];
}

int
main(int argc, char **argv)
{
	parse_options(argc, argv);
	message_load(opt.msgfile);
	parse_socket(opt.socket);

	struct worker *w = xcalloc(opt.concurrency, sizeof(*w));
	struct proc_sample before = proc_sample(opt.pid);
	double cpu0 = self_cpu_s() * 1e3, t0 = now_ms();

	if (opt.pid > 0 && !before.ok)
		die("no process %ld", opt.pid);
	deadline_ms = t0 + opt.secs * 1e3;
	for (unsigned i = 0; i < opt.concurrency; i++) {
		w[i].id = i;
		w[i].c.fd = -1;
		int rc = pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
		if (rc != 0)
			die("pthread_create: %s", strerror(rc));
	}
	size_t nlat = 0;
	unsigned long ok = 0, failed = 0;
	for (unsigned i = 0; i < opt.concurrency; i++) {
		pthread_join(w[i].thread, NULL);
		nlat += w[i].nlat;
		ok += w[i].ok;
		failed += w[i].failed;
	}
	double secs = (now_ms() - t0) / 1e3, gen_ms = self_cpu_s() * 1e3 - cpu0;
	struct proc_sample after = proc_sample(opt.pid);

	double *lat = xmalloc((nlat + 1) * sizeof(*lat));
	size_t k = 0;
	for (unsigned i = 0; i < opt.concurrency; i++) {
		memcpy(lat + k, w[i].lat, w[i].nlat * sizeof(*lat));
		k += w[i].nlat;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	unsigned long msgs = ok + failed;
	printf("msgs=%lu secs=%.3f msgs_per_sec=%.1f", msgs, secs, (double)ok / secs);
	if (nlat > 0)
		printf(" p50_ms=%.2f p99_ms=%.2f max_ms=%.2f", percentile(lat, nlat, 0.5),
		       percentile(lat, nlat, 0.99), lat[nlat - 1]);
	else
		printf(" p50_ms=- p99_ms=- max_ms=-");
	if (before.ok && after.ok && msgs > 0)
		printf(" cpu_ms_per_msg=%.3f peak_rss_kb=%lu",
		       (double)(after.ticks - before.ticks) * 1e3 /
		           (double)sysconf(_SC_CLK_TCK) / (double)msgs,
		       after.hwm_kb);
	else
		printf(" cpu_ms_per_msg=- peak_rss_kb=-");
	printf(" gen_cpu_ms_per_msg=%.3f ok=%lu failed=%lu\n",
	       msgs > 0 ? gen_ms / (double)msgs : 0.0, ok, failed);
	fflush(stdout);
	for (size_t i = 0; i < nreasons; i++)
		fprintf(stderr, "miltergen: %lu failed: %s\n", reasons[i].n,
		        reasons[i].text);
	if (other_reasons > 0)
		fprintf(stderr, "miltergen: %lu failed for other reasons\n",
		        other_reasons);
	return failed > 0 || ok == 0 ? 1 : 0;
}
