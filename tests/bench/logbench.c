/*
 * logbench: the verdict log benchmark of issue 8. THREADS producer
 * threads, standing in for milter callbacks, hand verdict rows to the
 * log as the daemon does: for each message the connect-stage check rows,
 * the connection row, the HELO, MAIL, RCPT and end-of-message check rows
 * (12 checks in all) and the message row, 14 rows with strings of the
 * lengths the daemon writes (client names, addresses, SPF and DNSBL
 * details, a Postfix queue id, ...). Each hand-off call is timed.
 *
 *   logbench --db PATH [--threads N] [--seconds S] [--rate ROWS_PER_S|max]
 *            [--mode queue|direct] [--window ROWS] [--batch N]
 *
 * Modes:
 *
 *   queue   the daemon's way: db_log_connection/_message/_check hand the
 *           row to db/log.c's queue and its writer thread commits
 *           batches (batch_max --batch, by default the daemon's 256)
 *   direct  the naive way, the peer: each call binds and steps its own
 *           INSERT on one connection shared under a mutex, in autocommit
 *           (a commit per row), opened as the daemon opens its database
 *           (WAL, synchronous=NORMAL, db_open)
 *
 * --rate max runs the producers flat out; a number offers that many rows
 * per second in all, each thread pacing its rows evenly (open loop:
 * a thread that falls behind catches up without sleeping). The log has
 * no back-pressure: past queue_max (100,000) queued rows it counts new
 * ones as lost. So flat out in queue mode a producer holds back (sleeps
 * 1 ms at a time, not timed) while the rows handed over but not yet
 * committed exceed --window (10,000; 0 holds never, so rows may be
 * lost); held_pct says how much of the producers' time went so. At a
 * fixed rate nobody holds back.
 *
 * After S seconds the producers stop, the log is flushed (db_log_flush)
 * and stopped, and the rows in the file are counted with a connection
 * of their own. Output: one line of KEY=VALUE fields:
 *
 *   mode threads rate seconds batch_max window sqlite
 *   rows          rows handed over
 *   rows_in_db    rows counted in the file (all three tables)
 *   written lost  the log's stats (direct: the inserts that succeeded
 *                 and those that failed)
 *   secs          from the start until the flush returned (direct: until
 *                 the last producer returned)
 *   drain_secs    of those, the time from the producers' stop
 *   rows_per_sec  rows_in_db / secs: what was sustained, backlog included
 *   offered_per_sec rows handed over per second while producing
 *   p50_us p99_us p999_us max_us  one hand-off call (CLOCK_MONOTONIC,
 *                 histogram buckets of about 3 %)
 *   peak_backlog  queued - written - lost, sampled every millisecond (the
 *                 rows in the queue or in the batch being written); the
 *                 writer's own queue depth is not exposed. "-" for direct
 *   held_pct      the share of the producers' time spent held back
 *   cpu_us_per_row user + system CPU of the whole process per row handed
 *                 over (producers' formatting and pacing included)
 *   writer_cpu_us_per_row  of that, what the process spent outside the
 *                 producers and the main thread: the writer thread's
 *                 (CLOCK_THREAD_CPUTIME_ID of the others); "-" for direct
 *   peak_rss_kb   VmHWM
 *
 * The exit status is 1 when a row was lost or the counts disagree (the
 * reason on stderr), 2 for a usage error. PATH must not exist; it is
 * left behind for the caller to inspect or remove.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_internal.h"
#include "lib/xalloc.h"
#include "tests/bench/bench.h"

#define ROWS_PER_MSG 14
#define CHECKS_PER_MSG 12
#define HOLD_NS 1000000 /* a held producer's nap */
#define DETAIL_LEN 256

enum mode { MODE_QUEUE, MODE_DIRECT };

static struct {
	const char *db;
	unsigned threads;
	double secs;
	double rate; /* rows/s in all; 0: flat out */
	enum mode mode;
	unsigned window;
	unsigned batch;
} opt;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("logbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void
sleep_until_ns(uint64_t ns)
{
	struct timespec t = {.tv_sec = (time_t)(ns / 1000000000u),
	                     .tv_nsec = (long)(ns % 1000000000u)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

/* xorshift64*: a thread's random numbers. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1du;
}

/* ---- The peer: an INSERT per call under a mutex ------------------------------ */

enum kind { K_CONNECTION, K_MESSAGE, K_CHECK, K_N };

static const char *const table_names[K_N] = {"connections", "messages", "checks"};

/* The statements of db/log.c. */
static const char *const insert_sql[K_N] = {db_insert_connection_sql,
                                            db_insert_message_sql, db_insert_check_sql};

struct direct {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *insert[K_N];
	/* Under lock. */
	uint64_t written, failed;
	char why[256];
};

static struct direct *
direct_open(const char *path)
{
	struct direct *d = xcalloc(1, sizeof(*d));
	char *error = NULL;

	if (db_open(path, DB_LOG_BUSY_TIMEOUT_MS, &d->db, &error) < 0)
		die("%s", error);
	for (int k = 0; k < K_N; k++)
		if (sqlite3_prepare_v3(d->db, insert_sql[k], -1,
		                       SQLITE_PREPARE_PERSISTENT, &d->insert[k],
		                       NULL) != SQLITE_OK)
			die("%s: %s", insert_sql[k], sqlite3_errmsg(d->db));
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

static void
direct_close(struct direct *d)
{
	for (int k = 0; k < K_N; k++)
		sqlite3_finalize(d->insert[k]);
	if (sqlite3_close(d->db) != SQLITE_OK)
		die("close: %s", sqlite3_errmsg(d->db));
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Under lock: step the bound statement, reset it, count the outcome. */
static void
direct_step(struct direct *d, sqlite3_stmt *st)
{
	if (sqlite3_step(st) == SQLITE_DONE) {
		d->written++;
	} else {
		if (d->failed++ == 0)
			snprintf(d->why, sizeof(d->why), "%s", sqlite3_errmsg(d->db));
	}
	sqlite3_reset(st);
}

/* One row, bound as db/log.c binds it, in a transaction of its own. */
static void
direct_insert(struct direct *d, enum kind k, const void *row)
{
	sqlite3_stmt *st = d->insert[k];
	char time_buf[DB_TIME_LEN];
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = k == K_CONNECTION ? db_bind_connection(st, row, time_buf)
	     : k == K_MESSAGE  ? db_bind_message(st, row, time_buf)
	                       : db_bind_check(st, row, time_buf);
	if (rc != SQLITE_OK)
		die("binding a %s row: %s", table_names[k], sqlite3_errmsg(d->db));
	direct_step(d, st);
	pthread_mutex_unlock(&d->lock);
}

/* ---- Rows as the daemon writes them ------------------------------------------- */

/* The text of one connection with one message. */
struct session_text {
	char addr[16], ptr[64], helo[64], sender[96], sender_domain[48];
	char rcpt[2][64], rcpts[130], queue_id[16], reply[200];
	char detail[CHECKS_PER_MSG][DETAIL_LEN];
	bool deferred; /* greylisted: the message ends at RCPT */
};

struct check_tmpl {
	const char *stage, *name;
};

static const struct check_tmpl checks[CHECKS_PER_MSG] = {
    {"connect", "check_client_error_limit"},
    {"connect", "reject_rbl_client"},
    {"connect", "reject_rbl_client"},
    {"connect", "reject_unknown_reverse_client_hostname"},
    {"helo", "reject_invalid_helo_hostname"},
    {"helo", "reject_non_fqdn_helo_hostname"},
    {"mail", "reject_non_fqdn_sender"},
    {"mail", "reject_unknown_sender_domain"},
    {"mail", "check_spf"},
    {"rcpt", "check_recipient_access"},
    {"rcpt", "check_greylist"},
    {"eom", "dkim"}, /* a second check_greylist when greylisted */
};
#define FIRST_MSG_CHECK 6  /* checks before it belong to the connection */
#define CONN_AFTER_CHECK 4 /* the connection row comes after the connect checks */

static const char *const isps[] = {"mail.protection.outlook.example", "mx.google.example",
                                   "smtp-out.amazonses.example",
                                   "outbound.mailchimp.example", "mta.sendgrid.example"};
static const char *const locals[] = {"alice",           "bob", "postmaster", "sales",
                                     "j.random.hacker", "info"};

static void
session_text(uint64_t *rs, unsigned thread, uint64_t seq, struct session_text *t)
{
	static const char b52[] = "BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789";
	uint64_t r = rnd(rs);
	uint64_t q = rnd(rs);
	/* The client's address, octet by octet. */
	unsigned o0 = 23 + (unsigned)(r % 180), o1 = (unsigned)(r >> 8) % 256,
	         o2 = (unsigned)(r >> 16) % 256, o3 = 1 + (unsigned)(q % 250);
	const char *isp = isps[(r >> 24) % 5];
	unsigned rcpt0 = (unsigned)(q >> 8) % 6,
	         rcpt1 = (rcpt0 + 1 + (unsigned)(q >> 12) % 5) % 6;

	snprintf(t->addr, sizeof(t->addr), "%u.%u.%u.%u", o0, o1, o2, o3);
	snprintf(t->ptr, sizeof(t->ptr), "mail-%u-%u-%u-%u.%s", o0, o1, o2, o3, isp);
	snprintf(t->helo, sizeof(t->helo), "%s", t->ptr);
	snprintf(t->sender_domain, sizeof(t->sender_domain), "news%u.example.com",
	         (unsigned)(r >> 32) % 5000);
	snprintf(t->sender, sizeof(t->sender), "bounce-%u-%llu@%s", thread,
	         (unsigned long long)seq, t->sender_domain);
	snprintf(t->rcpt[0], sizeof(t->rcpt[0]), "%s@ourdomain.example", locals[rcpt0]);
	snprintf(t->rcpt[1], sizeof(t->rcpt[1]), "%s@ourdomain.example", locals[rcpt1]);
	snprintf(t->rcpts, sizeof(t->rcpts), "%s,%s", t->rcpt[0], t->rcpt[1]);
	for (int i = 0; i < 15; i++)
		t->queue_id[i] = b52[(q >> (4 * i)) % 52];
	t->queue_id[15] = '\0';
	t->deferred = (r >> 40) % 10 == 0;

	char(*d)[DETAIL_LEN] = t->detail;
	snprintf(d[0], DETAIL_LEN, "%s is not banned", t->addr);
	snprintf(d[1], DETAIL_LEN,
	         "zen.spamhaus.org: %u.%u.%u.%u.zen.spamhaus.org: not listed", o3, o2, o1,
	         o0);
	snprintf(d[2], DETAIL_LEN,
	         "bl.spamcop.net: %u.%u.%u.%u.bl.spamcop.net: not listed", o3, o2, o1,
	         o0);
	snprintf(d[3], DETAIL_LEN, "PTR %s: %s, which resolves back", t->addr, t->ptr);
	snprintf(d[4], DETAIL_LEN, "%s: a valid host name", t->helo);
	snprintf(d[5], DETAIL_LEN, "%s: fully qualified", t->helo);
	snprintf(d[6], DETAIL_LEN, "<%s>: fully qualified", t->sender);
	snprintf(d[7], DETAIL_LEN, "%s: MX mx1.%s", t->sender_domain, t->sender_domain);
	snprintf(d[8], DETAIL_LEN,
	         "mailfrom %s: spf=pass mechanism=ip4:%s/24 lookups=2 void=0 queries=3",
	         t->sender, t->addr);
	snprintf(d[9], DETAIL_LEN, "texthash:/etc/postern/recipients: no match");
	for (int i = 0; i < 2; i++) {
		char *g = d[10 + i];

		if (t->deferred)
			snprintf(g, DETAIL_LEN,
			         "new: client=%u.%u.%u.0/24 sender=<%s> rcpt=<%s>;"
			         " retry after 300s",
			         o0, o1, o2, t->sender, t->rcpt[i]);
		else if (i == 0)
			snprintf(g, DETAIL_LEN,
			         "known: client=%u.%u.%u.0/24 sender=<%s> rcpt=<%s>", o0,
			         o1, o2, t->sender, t->rcpt[i]);
		else
			snprintf(g, DETAIL_LEN,
			         "dkim=pass d=%s s=s2025 a=rsa-sha256 b=%.8s i=@%s"
			         " bits=2048",
			         t->sender_domain, t->queue_id, t->sender_domain);
	}
	if (t->deferred)
		snprintf(t->reply, sizeof(t->reply),
		         "450 4.7.1 <%s>: Recipient address rejected: Greylisted, please"
		         " try again in 300 seconds",
		         t->rcpt[1]);
}

static double
thread_cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- Producers ----------------------------------------------------------------- */

struct bench {
	struct db_log *log;
	struct direct *direct;
	uint64_t start_ns, stop_ns;
	_Atomic uint64_t handed; /* rows about to be or already handed over */
	_Atomic uint64_t done;   /* written + lost, as last seen */
};

struct producer {
	pthread_t thread;
	struct bench *b;
	unsigned index;
	uint64_t seed;
	pthread_barrier_t *start;
	struct hist hist;
	uint64_t rows[K_N];
	uint64_t held_ns;
	double cpu_secs; /* the thread's CPU time while producing */
};

static struct timespec
wall_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

/* Pace the row numbered n of this thread (rate mode). */
static void
pace(struct producer *p, uint64_t n)
{
	double interval = (double)opt.threads * 1e9 / opt.rate;
	uint64_t due =
	    p->b->start_ns +
	    (uint64_t)(interval * ((double)n + (double)p->index / opt.threads));

	if (now_ns() < due)
		sleep_until_ns(due);
}

/* Flat out in queue mode: wait while more than --window rows are handed
 * over but not finished. False when the run is over meanwhile. */
static bool
hold(struct producer *p)
{
	struct bench *b = p->b;
	struct db_log_stats st;
	uint64_t t0 = 0;
	bool ok = true;

	while (atomic_load(&b->handed) - atomic_load(&b->done) > opt.window) {
		uint64_t t = now_ns();

		if (t0 == 0)
			t0 = t;
		if (t >= b->stop_ns) {
			ok = false;
			break;
		}
		sleep_until_ns(t + HOLD_NS);
		db_log_get_stats(b->log, &st);
		uint64_t done = st.written + st.lost, seen = atomic_load(&b->done);
		while (seen < done &&
		       !atomic_compare_exchange_weak(&b->done, &seen, done))
			;
	}
	if (t0 != 0)
		p->held_ns += now_ns() - t0;
	return ok;
}

/* Hand over one row, timed. */
static void
hand(struct producer *p, enum kind k, const void *row)
{
	struct bench *b = p->b;
	uint64_t t0 = now_ns();

	if (b->log != NULL) {
		switch (k) {
		case K_CONNECTION:
			db_log_connection(b->log, row);
			break;
		case K_MESSAGE:
			db_log_message(b->log, row);
			break;
		default:
			db_log_check(b->log, row);
		}
	} else {
		direct_insert(b->direct, k, row);
	}
	hist_add(&p->hist, now_ns() - t0);
	p->rows[k]++;
}

/* The rows of one connection with one message, in the daemon's order. */
static void
produce_session(struct producer *p, uint64_t seq, struct session_text *t, uint64_t *n)
{
	int64_t conn_id = db_new_id(), msg_id = db_new_id();
	struct timespec mail_time = {0};

	session_text(&p->seed, p->index, seq, t);
	for (int i = 0; i < CHECKS_PER_MSG; i++) {
		if (i == CONN_AFTER_CHECK) {
			struct db_connection_row c = {
			    .id = conn_id,
			    .time = wall_now(),
			    .client_addr = t->addr,
			    .client_port = 1024 + (int)(seq % 60000),
			    .client_name = t->ptr,
			    .daemon_name = "smtpd",
			    .ptr_name = t->ptr,
			    .iprev = "pass",
			};
			if (opt.rate > 0)
				pace(p, (*n)++);
			hand(p, K_CONNECTION, &c);
		}
		bool second_rcpt = i == CHECKS_PER_MSG - 1 && t->deferred;
		struct db_check_row k = {
		    .conn_id = conn_id,
		    .msg_id = i >= FIRST_MSG_CHECK ? msg_id : 0,
		    .time = wall_now(),
		    .stage = second_rcpt ? "rcpt" : checks[i].stage,
		    .name = second_rcpt ? "check_greylist" : checks[i].name,
		    .result = t->deferred && i >= 10 ? "fail" : "pass",
		    .action = t->deferred && i >= 10 ? "defer" : "dunno",
		    .detail = t->detail[i],
		    .ms = 0.01 * (double)(rnd(&p->seed) % 5000),
		};
		if (i == FIRST_MSG_CHECK)
			mail_time = k.time;
		if (opt.rate > 0)
			pace(p, (*n)++);
		hand(p, K_CHECK, &k);
	}
	struct db_message_row m = {
	    .id = msg_id,
	    .conn_id = conn_id,
	    .time = mail_time,
	    .queue_id = t->deferred ? NULL : t->queue_id,
	    .helo = t->helo,
	    .sender = t->sender,
	    .recipients = t->deferred ? "" : t->rcpts,
	    .rejected_recipients = t->deferred ? t->rcpts : "",
	    .size = t->deferred ? 0 : 2000 + (int64_t)(rnd(&p->seed) % 60000),
	    .action = t->deferred ? "defer" : "accept",
	    .reply = t->deferred ? t->reply : NULL,
	    .stage = t->deferred ? "rcpt" : "eom",
	    .ms = (int64_t)(rnd(&p->seed) % 900),
	    .decided_by = t->deferred ? "check_greylist" : NULL,
	};
	if (opt.rate > 0)
		pace(p, (*n)++);
	hand(p, K_MESSAGE, &m);
}

static void *
producer_main(void *arg)
{
	struct producer *p = arg;
	struct bench *b = p->b;
	struct session_text *t = xmalloc(sizeof(*t));
	uint64_t n = 0;

	/* Paced sleeps end on time, not up to 50 µs late. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pthread_barrier_wait(p->start);
	double cpu0 = thread_cpu_s();
	for (uint64_t seq = 0;; seq++) {
		if (opt.rate == 0 && b->log != NULL && opt.window > 0 && !hold(p))
			break;
		atomic_fetch_add(&b->handed, ROWS_PER_MSG);
		produce_session(p, seq, t, &n);
		if (now_ns() >= b->stop_ns)
			break;
	}
	p->cpu_secs = thread_cpu_s() - cpu0;
	free(t);
	return NULL;
}

/* ---- Counting, memory, CPU -------------------------------------------------------- */

static void
count_rows(const char *path, uint64_t counts_r[K_N])
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
	for (int k = 0; k < K_N; k++) {
		char sql[64];
		sqlite3_stmt *st;

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table_names[k]);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW)
			die("%s: %s", sql, sqlite3_errmsg(db));
		counts_r[k] = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

/* ---- Options and main ------------------------------------------------------------- */

static void
usage(void)
{
	fputs("usage: logbench --db PATH [--threads N] [--seconds S]"
	      " [--rate ROWS_PER_S|max]\n                [--mode queue|direct]"
	      " [--window ROWS] [--batch N]\n",
	      stderr);
	exit(2);
}

static double
number(const char *arg, const char *what, double min, double max)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "logbench: bad %s: %s\n", what, arg);
		usage();
	}
	return v;
}

static void
parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"threads", required_argument, NULL, 't'},
	    {"seconds", required_argument, NULL, 's'},
	    {"rate", required_argument, NULL, 'r'},
	    {"mode", required_argument, NULL, 'm'},
	    {"window", required_argument, NULL, 'w'},
	    {"batch", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	opt.threads = 1;
	opt.secs = 5;
	opt.window = 10000;
	while ((ch = getopt_long(argc, argv, "d:t:s:r:m:w:b:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			opt.db = optarg;
			break;
		case 't':
			opt.threads = (unsigned)number(optarg, "thread count", 1, 256);
			break;
		case 's':
			opt.secs = number(optarg, "seconds", 0.01, 1e5);
			break;
		case 'r':
			opt.rate = strcmp(optarg, "max") == 0
			               ? 0
			               : number(optarg, "rate", 1, 1e8);
			break;
		case 'm':
			if (strcmp(optarg, "queue") == 0)
				opt.mode = MODE_QUEUE;
			else if (strcmp(optarg, "direct") == 0)
				opt.mode = MODE_DIRECT;
			else
				usage();
			break;
		case 'w':
			opt.window = (unsigned)number(optarg, "window", 0, 1e7);
			break;
		case 'b':
			opt.batch = (unsigned)number(optarg, "batch size", 1, 1e6);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt.db == NULL)
		usage();
}

/* Start the log or the peer on a new file. */
static void
bench_open(struct bench *b)
{
	struct stat sb;
	char *error = NULL;

	if (stat(opt.db, &sb) == 0)
		die("%s exists: --db must name a new file", opt.db);
	if (opt.mode == MODE_DIRECT) {
		b->direct = direct_open(opt.db);
		return;
	}
	struct db_log_options o = {.batch_max = opt.batch};
	if ((b->log = db_log_start(opt.db, &o, &error)) == NULL)
		die("%s", error);
}

/* Until the producers stop: the peak backlog, sampled every ms. */
static uint64_t
sample_backlog(struct bench *b)
{
	struct timespec ms = {0, 1000000};
	struct db_log_stats st;
	uint64_t peak = 0;

	while (now_ns() < b->stop_ns) {
		nanosleep(&ms, NULL);
		db_log_get_stats(b->log, &st);
		uint64_t backlog = st.queued - st.written - st.lost;
		if (backlog > peak)
			peak = backlog;
	}
	return peak;
}

/* What a run found. */
struct result {
	struct hist all;                /* hand-off latencies */
	uint64_t rows[K_N], in_db[K_N]; /* handed over, counted in the file */
	struct db_log_stats st;
	uint64_t held_ns, peak_backlog;
	double secs, produce_secs;
	double cpu, producers_cpu, main_cpu; /* seconds */
};

/* The counts of the peer, as if it were the log's. */
static void
direct_stats(struct direct *d, struct db_log_stats *st_r)
{
	pthread_mutex_lock(&d->lock);
	st_r->written = d->written;
	st_r->lost = d->failed;
	st_r->queued = d->written + d->failed;
	if (d->failed > 0)
		fprintf(stderr, "logbench: the first failed insert: %s\n", d->why);
	pthread_mutex_unlock(&d->lock);
}

/* Produce for --seconds, flush, stop and count. */
static void
run(struct bench *b, struct result *r)
{
	struct producer *p = xcalloc(opt.threads, sizeof(*p));
	pthread_barrier_t start;

	pthread_barrier_init(&start, NULL, opt.threads + 1);
	for (unsigned i = 0; i < opt.threads; i++) {
		p[i].b = b;
		p[i].index = i;
		p[i].seed = 0x9e3779b97f4a7c15u * (i + 1);
		p[i].start = &start;
		int rc = pthread_create(&p[i].thread, NULL, producer_main, &p[i]);
		if (rc != 0)
			die("pthread_create: %s", strerror(rc));
	}
	double cpu0 = self_cpu_s();
	b->start_ns = now_ns();
	b->stop_ns = b->start_ns + (uint64_t)(opt.secs * 1e9);
	pthread_barrier_wait(&start);
	double main_cpu0 = thread_cpu_s();
	if (b->log != NULL)
		r->peak_backlog = sample_backlog(b);
	for (unsigned i = 0; i < opt.threads; i++) {
		pthread_join(p[i].thread, NULL);
		hist_merge(&r->all, &p[i].hist);
		for (int k = 0; k < K_N; k++)
			r->rows[k] += p[i].rows[k];
		r->held_ns += p[i].held_ns;
		r->producers_cpu += p[i].cpu_secs;
	}
	uint64_t produced_ns = now_ns();
	if (b->log != NULL) {
		db_log_flush(b->log);
		db_log_get_stats(b->log, &r->st);
	} else {
		direct_stats(b->direct, &r->st);
	}
	uint64_t end_ns = now_ns();
	r->cpu = self_cpu_s() - cpu0;
	r->main_cpu = thread_cpu_s() - main_cpu0;
	r->secs = (double)(end_ns - b->start_ns) / 1e9;
	r->produce_secs = (double)(produced_ns - b->start_ns) / 1e9;
	if (b->log != NULL)
		db_log_stop(b->log);
	else
		direct_close(b->direct);
	pthread_barrier_destroy(&start);
	free(p);
	count_rows(opt.db, r->in_db);
}

static uint64_t
sum(const uint64_t n[K_N])
{
	return n[K_CONNECTION] + n[K_MESSAGE] + n[K_CHECK];
}

static void
print_result(const struct result *r)
{
	uint64_t handed = sum(r->rows), total = sum(r->in_db);
	double per_row = 1e6 / (double)(handed ? handed : 1);
	bool queue = opt.mode == MODE_QUEUE;
	char rate[32] = "max", backlog[32] = "-", writer[32] = "-";

	if (opt.rate > 0)
		snprintf(rate, sizeof(rate), "%.0f", opt.rate);
	if (queue) {
		snprintf(backlog, sizeof(backlog), "%llu",
		         (unsigned long long)r->peak_backlog);
		snprintf(writer, sizeof(writer), "%.2f",
		         (r->cpu - r->producers_cpu - r->main_cpu) * per_row);
	}
	printf("mode=%s threads=%u rate=%s seconds=%g batch_max=%u window=%u sqlite=%s"
	       " rows=%llu rows_in_db=%llu written=%llu lost=%llu secs=%.3f"
	       " drain_secs=%.3f rows_per_sec=%.0f offered_per_sec=%.0f p50_us=%.2f"
	       " p99_us=%.2f p999_us=%.1f max_us=%.0f peak_backlog=%s held_pct=%.1f"
	       " cpu_us_per_row=%.2f writer_cpu_us_per_row=%s peak_rss_kb=%lu\n",
	       queue ? "queue" : "direct", opt.threads, rate, opt.secs,
	       queue ? (opt.batch ? opt.batch : DB_LOG_BATCH_MAX) : 1,
	       queue && opt.rate == 0 ? opt.window : 0, sqlite3_libversion(),
	       (unsigned long long)handed, (unsigned long long)total,
	       (unsigned long long)r->st.written, (unsigned long long)r->st.lost, r->secs,
	       r->secs - r->produce_secs, (double)total / r->secs,
	       (double)handed / r->produce_secs, hist_quantile_us(&r->all, 0.5),
	       hist_quantile_us(&r->all, 0.99), hist_quantile_us(&r->all, 0.999),
	       (double)r->all.max / 1e3, backlog,
	       100.0 * (double)r->held_ns / 1e9 / (opt.threads * r->produce_secs),
	       r->cpu * per_row, writer, peak_rss_kb());
	fflush(stdout);
}

/* Every row handed over is in the file and none was lost. */
static bool
check_result(const struct result *r)
{
	uint64_t handed = sum(r->rows), total = sum(r->in_db);
	bool ok = true;

	if (r->st.lost > 0) {
		fprintf(stderr, "logbench: %llu rows lost\n",
		        (unsigned long long)r->st.lost);
		ok = false;
	}
	if (r->st.queued != handed) {
		fprintf(stderr, "logbench: handed over %llu rows, the log queued %llu\n",
		        (unsigned long long)handed, (unsigned long long)r->st.queued);
		ok = false;
	}
	if (r->st.written != total) {
		fprintf(stderr, "logbench: %llu rows written, %llu in the file\n",
		        (unsigned long long)r->st.written, (unsigned long long)total);
		ok = false;
	}
	for (int k = 0; k < K_N; k++)
		if (r->in_db[k] != r->rows[k]) {
			fprintf(stderr,
			        "logbench: %s: %llu rows handed over, %llu in the file\n",
			        table_names[k], (unsigned long long)r->rows[k],
			        (unsigned long long)r->in_db[k]);
			ok = false;
		}
	return ok;
}

int
main(int argc, char **argv)
{
	struct bench b = {0};
	struct result *r = xcalloc(1, sizeof(*r));
	bool ok;

	parse_options(argc, argv);
	bench_open(&b);
	run(&b, r);
	print_result(r);
	ok = check_result(r);
	free(r);
	return ok ? 0 : 1;
}
