/*
 * greylist: the benchmark of issue 6. Fills a fresh database with a
 * greylist of ROWS triplets (a million by default) and then times
 * gl_decide(), the RCPT-stage decision, as the daemon calls it: one
 * store shared by THREADS threads, each deciding one recipient after
 * another as fast as it can for SECONDS seconds. Cases:
 *
 *   known  triplets that passed before and were seen in the last minute:
 *          a read of two rows and no write (the steady state)
 *   new    first attempts: a write each (half from networks never seen,
 *          half from known networks)
 *   mix    80 % known, 15 % new, 5 % retries that pass after the delay
 *   touch  known triplets last seen over a minute ago (the clock two
 *          hours on): each refreshes last_seen, the first of a client
 *          also counts its delivery: a write each
 *
 * and then gl_cleanup() over the table, in calls of at most
 * --clean-limit rows (100), as the daemon's periodic cleanup runs it.
 *
 *   greylist [--rows N] [--seconds S] [--threads 1,4] [--clean-limit N]
 *            [--dir DIR] [--keep] [--mmap MB]
 *
 * --mmap sets SQLite's default mmap_size for the store's connections
 * (sqlite3_config), to see what memory-mapped reads would change.
 *
 * The table holds, by row number modulo 20: 55 % passed and seen in the
 * last minute, 20 % passed and last seen an hour to 30 days ago, 5 %
 * passed and unseen for more than greylist_max_age (35 days), 15 %
 * pending within the retry window, 5 % pending past it. Clients are
 * ROWS/10 networks, keyed as the policy keys them
 * (ipaddr_network_text): 90 % IPv4 /24, 5 % IPv6 /64, 5 % SPF-verified
 * domains, whose decisions also look up the network the mail came
 * from); each has a greylist_clients row (20 % of them allowed), and
 * ROWS/200 more client rows are expired. Senders are unique per row
 * ("user123@domain456.example"), recipients one of 2000 local ones.
 *
 * The fill runs in a child process (its large page cache would
 * otherwise count in the peak RSS). Output: one line of KEY=VALUE
 * fields per step, for tests/bench/run-greylist; per_sec counts the
 * decisions of all threads over the wall time, the latencies are those
 * of single gl_decide() calls (CLOCK_MONOTONIC), from a histogram with
 * about 3 % resolution. A decision that fails (the database did not
 * answer within greylist_db_timeout, 1 s, so the daemon would fail
 * open) is counted in errors=, its first reason goes to stderr. The
 * exit status is 1 when the fill or the cleanup failed, 2 for a usage
 * error.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/greylist.h"
#include "lib/ipaddr.h"
#include "lib/xalloc.h"
#include "tests/bench/bench.h"

#define T0 1790000000LL /* "now" of the filled table */
#define HOUR 3600
#define DAY 86400
#define DELAY 300
#define RETRY_WINDOW (2 * DAY)
#define MAX_AGE (35 * DAY)
#define AUTO_ALLOW 5
#define NRCPTS 2000
#define NDOMAINS 50000
#define TIMEOUT_MS 1000 /* greylist_db_timeout's default */

static struct {
	uint64_t rows;
	double secs;
	unsigned threads[8];
	size_t nthreads;
	const char *dir;
	bool keep;
	unsigned mmap_mb;
	unsigned clean_limit;
} opt;

static double file_mb(const char *suffix);

static uint64_t nnet;   /* client networks of the table */
static char path[4096]; /* the database */
static _Atomic uint64_t new_seq;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("greylist: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* splitmix64's finaliser: the pseudo-random facts of row i. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
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

/* ---- Keys ---------------------------------------------------------------- */

struct triplet {
	char client[IPADDR_STRLEN + 4];
	char sender[96];
	char rcpt[64];
	bool domain;                     /* the client is an SPF-verified domain */
	char network[IPADDR_STRLEN + 4]; /* then: its network (gl_params) */
};

/* Network k: an IPv4 /24, an IPv6 /64 or (k % 20 == 19) a domain; host
 * picks the address inside the network, which the key drops. */
static bool
net_key(uint64_t k, uint64_t host, char *buf, size_t len)
{
	struct ipaddr ip;
	unsigned prefix;

	memset(&ip, 0, sizeof(ip));
	if (k % 20 == 19) {
		snprintf(buf, len, "spf%llu.example", (unsigned long long)k);
		return true;
	}
	if (k % 20 == 18) {
		static const uint8_t db8[] = {0x20, 0x01, 0x0d, 0xb8};
		ip.family = AF_INET6;
		memcpy(ip.a, db8, sizeof(db8));
		for (int i = 0; i < 4; i++)
			ip.a[4 + i] = (uint8_t)(k >> (24 - 8 * i));
		for (int i = 0; i < 8; i++)
			ip.a[8 + i] = (uint8_t)(host >> (8 * i));
		prefix = 64;
	} else {
		ip.family = AF_INET;
		ip.a[0] = (uint8_t)(23 + (k >> 16) % 200);
		ip.a[1] = (uint8_t)(k >> 8);
		ip.a[2] = (uint8_t)k;
		ip.a[3] = (uint8_t)host;
		prefix = 24;
	}
	ipaddr_network_text(&ip, prefix, buf, len);
	return false;
}

/* The client of network k into t; for a domain, also the network the
 * mail came from (that of k - 2, an IPv4 one never allowed). */
static void
client_key(uint64_t k, uint64_t host, struct triplet *t)
{
	t->domain = net_key(k, host, t->client, sizeof(t->client));
	if (t->domain)
		net_key(k - 2, host, t->network, sizeof(t->network));
}

/* Networks of the table whose client row is allowed: k % 10 < 2. */
static bool
net_allowed(uint64_t k)
{
	return k < nnet && k % 10 < 2;
}

/* A network of the table that is neither allowed nor a domain. */
static uint64_t
net_plain(uint64_t k)
{
	if (k % 10 < 2)
		k += 2;
	if (k % 20 == 19)
		k--;
	while (k >= nnet)
		k -= 20;
	return k;
}

enum row_class { RC_HOT, RC_STALE, RC_EXPIRED, RC_PENDING, RC_PENDING_OLD };

/* First and last residue (row number modulo 20) of each class. */
static const unsigned class_lo[] = {0, 11, 15, 16, 19};
static const unsigned class_hi[] = {10, 14, 15, 18, 19};

static enum row_class
row_class(uint64_t i)
{
	unsigned r = (unsigned)(i % 20);

	for (int c = RC_PENDING_OLD; c > RC_HOT; c--)
		if (r >= class_lo[c])
			return (enum row_class)c;
	return RC_HOT;
}

/* The triplet of row i. */
static void
row_triplet(uint64_t i, struct triplet *t)
{
	uint64_t h = mix64(i), k = h % nnet;
	enum row_class c = row_class(i);

	if (c == RC_PENDING || c == RC_PENDING_OLD)
		k = net_plain(k);
	client_key(k, h >> 40, t);
	if (t->domain)
		snprintf(t->sender, sizeof(t->sender), "user%llu@%s",
		         (unsigned long long)i, t->client);
	else
		snprintf(t->sender, sizeof(t->sender), "user%llu@domain%llu.example",
		         (unsigned long long)i,
		         (unsigned long long)((h >> 20) % NDOMAINS));
	snprintf(t->rcpt, sizeof(t->rcpt), "rcpt%llu@ourdomain.example",
	         (unsigned long long)((h >> 8) % NRCPTS));
}

/* A triplet never seen: half from networks never seen either. */
static void
new_triplet(struct triplet *t)
{
	uint64_t id = atomic_fetch_add(&new_seq, 1), h = mix64(id ^ 0x5bd1e995u);
	uint64_t k = id % 2 ? net_plain(h % nnet) : 2 * nnet + id;

	client_key(k, h >> 40, t);
	if (t->domain)
		snprintf(t->sender, sizeof(t->sender), "new%llu@%s",
		         (unsigned long long)id, t->client);
	else
		snprintf(t->sender, sizeof(t->sender), "new%llu@domain%llu.example",
		         (unsigned long long)id,
		         (unsigned long long)((h >> 20) % NDOMAINS));
	snprintf(t->rcpt, sizeof(t->rcpt), "rcpt%llu@ourdomain.example",
	         (unsigned long long)((h >> 8) % NRCPTS));
}

/* A random row of class c. */
static uint64_t
pick_row(uint64_t *rs, enum row_class c)
{
	uint64_t blocks = (opt.rows + 19) / 20, i;
	unsigned width = class_hi[c] - class_lo[c] + 1;

	do
		i = rnd(rs) % blocks * 20 + class_lo[c] + rnd(rs) % width;
	while (i >= opt.rows);
	return i;
}

/* ---- The fill ------------------------------------------------------------ */

static void
fill_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("%s: %s", sql, err);
}

static void
step_done(sqlite3 *db, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die("insert: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
}

/* Times of row i: first_seen, last_seen, passed (0: pending). */
static void
row_times(uint64_t i, int64_t *first_r, int64_t *last_r, int64_t *passed_r)
{
	uint64_t h = mix64(i ^ 0x9e37u);
	int64_t u = (int64_t)(h % 1000000007u);

	switch (row_class(i)) {
	case RC_HOT:
		*first_r = T0 - DAY - u % (30 * DAY);
		*passed_r = *first_r + DELAY + u % 3000;
		*last_r = T0 - u % 60;
		break;
	case RC_STALE:
		*first_r = T0 - 40 * DAY - u % (20 * DAY);
		*passed_r = *first_r + DELAY + u % 3000;
		*last_r = T0 - HOUR - u % (29 * DAY);
		break;
	case RC_EXPIRED:
		*first_r = T0 - 100 * DAY - u % (10 * DAY);
		*passed_r = *first_r + DELAY + u % 3000;
		*last_r = T0 - 36 * DAY - u % (54 * DAY);
		break;
	case RC_PENDING:
		*first_r = *last_r = T0 - 2 * DELAY - u % (RETRY_WINDOW - HOUR);
		*passed_r = 0;
		break;
	case RC_PENDING_OLD:
		*first_r = *last_r = T0 - 3 * DAY - u % (27 * DAY);
		*passed_r = 0;
		break;
	}
}

static void
fill_triplets(sqlite3 *db)
{
	sqlite3_stmt *st;
	struct triplet t;

	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO greylist (client, sender, rcpt, first_seen,"
	                       " last_seen, passed, attempts) VALUES (?,?,?,?,?,?,?)",
	                       -1, &st, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db));
	for (uint64_t i = 0; i < opt.rows; i++) {
		int64_t first, last, passed;

		row_triplet(i, &t);
		row_times(i, &first, &last, &passed);
		sqlite3_bind_text(st, 1, t.client, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, t.sender, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, t.rcpt, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, first);
		sqlite3_bind_int64(st, 5, last);
		if (passed != 0)
			sqlite3_bind_int64(st, 6, passed);
		else
			sqlite3_bind_null(st, 6);
		sqlite3_bind_int64(st, 7, passed != 0 ? 2 + (int64_t)(i % 3) : 1);
		step_done(db, st);
	}
	sqlite3_finalize(st);
}

/* A client row per network of the table (seen in the last minute,
 * counted in the last hour; 20 % allowed, 1 % of them by an admin), and
 * nnet/20 more unseen for 40 days. */
static void
fill_clients(sqlite3 *db)
{
	sqlite3_stmt *st;
	char client[IPADDR_STRLEN + 4];

	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO greylist_clients (client, deliveries,"
	                       " last_counted, allowed, allowed_by, last_seen)"
	                       " VALUES (?,?,?,?,?,?)",
	                       -1, &st, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db));
	for (uint64_t k = 0; k < nnet + nnet / 20; k++) {
		uint64_t h = mix64(k ^ 0xc1u);
		int64_t ago = k < nnet ? 0 : 40 * DAY;

		net_key(k, h >> 40, client, sizeof(client));
		sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
		sqlite3_bind_int64(
		    st, 2, net_allowed(k) ? 5 + (int64_t)(h % 20) : 1 + (int64_t)(h % 4));
		sqlite3_bind_int64(st, 3, T0 - ago - (int64_t)(h % HOUR));
		if (net_allowed(k)) {
			sqlite3_bind_int64(st, 4, T0 - (int64_t)(h % (30 * DAY)));
			sqlite3_bind_text(st, 5, k % 100 == 0 ? "admin" : "auto", -1,
			                  SQLITE_STATIC);
		} else {
			sqlite3_bind_null(st, 4);
			sqlite3_bind_null(st, 5);
		}
		sqlite3_bind_int64(st, 6, T0 - ago - (int64_t)(h % 60));
		step_done(db, st);
	}
	sqlite3_finalize(st);
}

/* In a child process: create the database through the store (schema
 * and all), then fill it in one transaction. */
static void
fill(void)
{
	struct gl_store *store;
	char *error = NULL;
	sqlite3 *db;

	if (gl_store_open(path, TIMEOUT_MS, &store, &error) < 0)
		die("%s", error);
	gl_store_close(store);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("%s: %s", path, sqlite3_errmsg(db));
	fill_exec(db, "PRAGMA cache_size=-524288; PRAGMA synchronous=OFF; BEGIN");
	fill_triplets(db);
	fill_clients(db);
	fill_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE); ANALYZE");
	if (sqlite3_close(db) != SQLITE_OK)
		die("close: %s", sqlite3_errmsg(db));
}

static void
fill_in_child(void)
{
	double t0 = now_s();
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		fill();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("the fill failed");
	double secs = now_s() - t0;
	printf("step=fill rows=%llu clients=%llu secs=%.2f rows_per_sec=%.0f\n",
	       (unsigned long long)opt.rows, (unsigned long long)(nnet + nnet / 20), secs,
	       (double)opt.rows / secs);
}

/* ---- Latency histogram: tests/bench/bench.h ---------------------------------- */

/* ---- Timed decisions ------------------------------------------------------- */

enum bench_case { BC_KNOWN, BC_NEW, BC_MIX, BC_TOUCH };

static const char *const case_names[] = {"known", "new", "mix", "touch"};

struct worker {
	pthread_t thread;
	struct gl_store *store;
	enum bench_case bc;
	uint64_t seed;
	pthread_barrier_t *start;
	const double *deadline;
	struct hist hist;
	uint64_t outcomes[GL_DOMAIN_KNOWN + 1];
	uint64_t errors;
	char why[256];
};

/* The next triplet of the case, and the clock it is decided at. */
static int64_t
next_triplet(struct worker *w, struct triplet *t)
{
	unsigned r;

	switch (w->bc) {
	case BC_KNOWN:
		row_triplet(pick_row(&w->seed, RC_HOT), t);
		return T0;
	case BC_NEW:
		new_triplet(t);
		return T0;
	case BC_MIX:
		r = (unsigned)(rnd(&w->seed) % 100);
		if (r < 80)
			row_triplet(pick_row(&w->seed, RC_HOT), t);
		else if (r < 95)
			new_triplet(t);
		else
			row_triplet(pick_row(&w->seed, RC_PENDING), t);
		return T0;
	case BC_TOUCH:
		row_triplet(
		    pick_row(&w->seed, rnd(&w->seed) % 15 < 11 ? RC_HOT : RC_STALE), t);
		return T0 + 2 * HOUR;
	}
	return T0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct gl_params p = {.delay = DELAY,
	                      .retry_window = RETRY_WINDOW,
	                      .max_age = MAX_AGE,
	                      .auto_allow = AUTO_ALLOW};
	struct gl_decision d;
	struct triplet t;
	char why[256];
	unsigned n = 0;

	pthread_barrier_wait(w->start);
	for (;;) {
		/* The clock is read for every decision anyway. */
		p.now = next_triplet(w, &t);
		p.known_domain_passes = t.domain;
		p.network = t.domain ? t.network : NULL;
		uint64_t t0 = now_ns();
		int rc = gl_decide(w->store, t.client, t.sender, t.rcpt, &p, &d, why,
		                   sizeof(why));
		uint64_t t1 = now_ns();
		hist_add(&w->hist, t1 - t0);
		if (rc < 0) {
			if (w->errors++ == 0)
				snprintf(w->why, sizeof(w->why), "%s", why);
		} else {
			w->outcomes[d.outcome]++;
		}
		if (++n % 16 == 0 && (double)t1 / 1e9 >= *w->deadline)
			break;
	}
	return NULL;
}

static void
run_case(struct gl_store *store, enum bench_case bc, unsigned nthreads)
{
	struct worker *w = xcalloc(nthreads, sizeof(*w));
	struct hist *all = xcalloc(1, sizeof(*all));
	uint64_t outcomes[GL_DOMAIN_KNOWN + 1] = {0}, errors = 0;
	pthread_barrier_t start;
	double deadline, t0;

	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].store = store;
		w[i].bc = bc;
		w[i].seed = mix64(((uint64_t)bc << 32) + nthreads * 100 + i + 1);
		w[i].start = &start;
		w[i].deadline = &deadline;
		int rc = pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
		if (rc != 0)
			die("pthread_create: %s", strerror(rc));
	}
	t0 = now_s();
	deadline = t0 + opt.secs;
	pthread_barrier_wait(&start);
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(w[i].thread, NULL);
		hist_merge(all, &w[i].hist);
		for (int o = 0; o <= GL_DOMAIN_KNOWN; o++)
			outcomes[o] += w[i].outcomes[o];
		errors += w[i].errors;
	}
	double secs = now_s() - t0;
	pthread_barrier_destroy(&start);

	printf("step=decide case=%s threads=%u decisions=%llu secs=%.3f per_sec=%.0f"
	       " p50_us=%.1f p99_us=%.1f p999_us=%.0f max_us=%.0f errors=%llu wal_mb=%.1f"
	       " outcomes=",
	       case_names[bc], nthreads, (unsigned long long)all->count, secs,
	       (double)all->count / secs, hist_quantile_us(all, 0.5),
	       hist_quantile_us(all, 0.99), hist_quantile_us(all, 0.999),
	       (double)all->max / 1e3, (unsigned long long)errors, file_mb("-wal"));
	const char *sep = "";
	for (int o = 0; o <= GL_DOMAIN_KNOWN; o++) {
		if (outcomes[o] == 0)
			continue;
		printf("%s%s:%llu", sep, gl_outcome_name((enum gl_outcome)o),
		       (unsigned long long)outcomes[o]);
		sep = ",";
	}
	printf("\n");
	fflush(stdout);
	for (unsigned i = 0; i < nthreads; i++)
		if (w[i].errors > 0) {
			fprintf(
			    stderr, "greylist: %s, thread %u: %llu errors, first: %s\n",
			    case_names[bc], i, (unsigned long long)w[i].errors, w[i].why);
			break;
		}
	free(all);
	free(w);
}

/* ---- Cleanup ---------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Run gl_cleanup() until it has nothing left, then once more. */
static bool
run_cleanup(struct gl_store *store)
{
	int64_t now = T0 + 2 * HOUR;
	size_t ncalls = 0, cap = 256;
	double *ms = xmalloc(cap * sizeof(*ms)), t0 = now_s(), secs;
	uint64_t rows = 0;
	char why[256];
	int n;

	do {
		double c0 = now_s();
		n = gl_cleanup(store, now, MAX_AGE, RETRY_WINDOW, opt.clean_limit, why,
		               sizeof(why));
		if (ncalls == cap)
			ms = xrealloc(ms, (cap *= 2) * sizeof(*ms));
		ms[ncalls++] = (now_s() - c0) * 1e3;
		if (n < 0) {
			fprintf(stderr, "greylist: cleanup: %s\n", why);
			free(ms);
			return false;
		}
		rows += (uint64_t)n;
	} while (n == (int)opt.clean_limit);
	secs = now_s() - t0;

	double c0 = now_s();
	n = gl_cleanup(store, now, MAX_AGE, RETRY_WINDOW, opt.clean_limit, why,
	               sizeof(why));
	double idle_ms = (now_s() - c0) * 1e3;

	qsort(ms, ncalls, sizeof(*ms), cmp_double);
	printf("step=cleanup rows=%llu calls=%zu secs=%.3f rows_per_sec=%.0f"
	       " p50_call_ms=%.2f max_call_ms=%.2f idle_call_ms=%.3f idle_rows=%d\n",
	       (unsigned long long)rows, ncalls, secs, (double)rows / secs,
	       ms[(ncalls - 1) / 2], ms[ncalls - 1], idle_ms, n);
	free(ms);
	return n >= 0;
}

/* ---- Sizes and memory ---------------------------------------------------------- */

static double
file_mb(const char *suffix)
{
	char name[4200];
	struct stat sb;

	snprintf(name, sizeof(name), "%s%s", path, suffix);
	return stat(name, &sb) == 0 ? (double)sb.st_size / 1048576 : 0;
}

static void
print_size(const char *when)
{
	printf("step=size when=%s db_mb=%.1f wal_mb=%.1f\n", when, file_mb(""),
	       file_mb("-wal"));
}

/* ---- Options and main ------------------------------------------------------------ */

static void
usage(void)
{
	fputs("usage: greylist [--rows N] [--seconds S] [--threads N[,N...]]"
	      " [--clean-limit N]\n       [--dir DIR] [--keep] [--mmap MB]\n",
	      stderr);
	exit(2);
}

static double
number(const char *arg, const char *what, double min, double max)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "greylist: bad %s: %s\n", what, arg);
		usage();
	}
	return v;
}

static void
parse_threads(const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL;

	opt.nthreads = 0;
	for (char *s = strtok_r(copy, ",", &save); s != NULL;
	     s = strtok_r(NULL, ",", &save)) {
		if (opt.nthreads == sizeof(opt.threads) / sizeof(opt.threads[0]))
			usage();
		opt.threads[opt.nthreads++] = (unsigned)number(s, "thread count", 1, 256);
	}
	free(copy);
	if (opt.nthreads == 0)
		usage();
}

static void
parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"rows", required_argument, NULL, 'r'},
	    {"seconds", required_argument, NULL, 's'},
	    {"threads", required_argument, NULL, 't'},
	    {"dir", required_argument, NULL, 'd'},
	    {"keep", no_argument, NULL, 'k'},
	    {"mmap", required_argument, NULL, 'm'},
	    {"clean-limit", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	opt.rows = 1000000;
	opt.secs = 5;
	opt.threads[0] = 1;
	opt.threads[1] = 4;
	opt.nthreads = 2;
	opt.clean_limit = 100;
	while ((ch = getopt_long(argc, argv, "r:s:t:d:km:c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			opt.rows = (uint64_t)number(optarg, "row count", 1000, 1e9);
			break;
		case 's':
			opt.secs = number(optarg, "seconds", 0.01, 1e5);
			break;
		case 't':
			parse_threads(optarg);
			break;
		case 'd':
			opt.dir = optarg;
			break;
		case 'k':
			opt.keep = true;
			break;
		case 'm':
			opt.mmap_mb = (unsigned)number(optarg, "mmap size", 0, 1e6);
			break;
		case 'c':
			opt.clean_limit =
			    (unsigned)number(optarg, "cleanup limit", 1, 1e6);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* A fresh directory for the database, postern-greylist.<random> under
 * --dir, else $TMPDIR, else /tmp. */
static char *
make_dir(void)
{
	const char *base = opt.dir;

	if (base == NULL && (base = getenv("TMPDIR")) == NULL)
		base = "/tmp";
	char *dir = xasprintf("%s/postern-greylist.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

static void
remove_db(char *dir)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char name[4200];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
		unlink(name);
	}
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const enum bench_case cases[] = {BC_KNOWN, BC_NEW, BC_MIX, BC_TOUCH};
	struct gl_store *store;
	char *error = NULL, *dir;
	bool ok = true;

	parse_options(argc, argv);
	nnet = opt.rows / 10;
	dir = make_dir();
	snprintf(path, sizeof(path), "%s/postern.db", dir);
	printf("step=setup rows=%llu seconds=%g clean_limit=%u sqlite=%s mmap_mb=%u"
	       " db=%s\n",
	       (unsigned long long)opt.rows, opt.secs, opt.clean_limit,
	       sqlite3_libversion(), opt.mmap_mb, path);
	fill_in_child();
	print_size("filled");
	if (opt.mmap_mb > 0 &&
	    sqlite3_config(SQLITE_CONFIG_MMAP_SIZE, (sqlite3_int64)opt.mmap_mb << 20,
	                   (sqlite3_int64)opt.mmap_mb << 20) != SQLITE_OK)
		die("sqlite3_config(SQLITE_CONFIG_MMAP_SIZE) failed");
	if (gl_store_open(path, TIMEOUT_MS, &store, &error) < 0)
		die("%s", error);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t t = 0; t < opt.nthreads; t++)
			run_case(store, cases[c], opt.threads[t]);
	print_size("decided");
	ok &= run_cleanup(store);
	gl_store_close(store);
	print_size("cleaned");
	printf("step=memory peak_rss_kb=%lu\n", peak_rss_kb());
	if (opt.keep)
		fprintf(stderr, "greylist: kept %s\n", path);
	else
		remove_db(dir);
	free(dir);
	return ok ? 0 : 1;
}
