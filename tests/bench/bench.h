/*
 * bench: what the benchmark programs share. Latency histograms
 * (tests/bench/greylist, logbench): a fixed array of buckets about 3 %
 * wide, which threads fill without locks and merge at the end; quantiles
 * of small arrays of samples (dns_connect, spf_eval); and the process's
 * own peak memory and CPU time (greylist, logbench, miltergen).
 */
#ifndef POSTERN_BENCH_H
#define POSTERN_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

/* Buckets: exact below 32 ns, then 32 per power of two (about 3 %). */
#define HIST_SUB 32
#define HIST_SUB_BITS 5
#define HIST_N (64 * HIST_SUB)

struct hist {
	uint64_t n[HIST_N];
	uint64_t count, max;
};

static inline unsigned
hist_index(uint64_t ns)
{
	unsigned msb = 0;

	if (ns < HIST_SUB)
		return (unsigned)ns;
	for (uint64_t v = ns; v > 1; v >>= 1)
		msb++;
	unsigned shift = msb - HIST_SUB_BITS;
	return (shift + 1) * HIST_SUB + (unsigned)((ns >> shift) & (HIST_SUB - 1));
}

/* The middle of bucket i, in ns. */
static inline double
hist_value(unsigned i)
{
	if (i < 2 * HIST_SUB)
		return i;
	unsigned shift = i / HIST_SUB - 1;
	uint64_t low = (uint64_t)(HIST_SUB + i % HIST_SUB) << shift;
	return (double)low + (double)((uint64_t)1 << shift) / 2;
}

static inline void
hist_add(struct hist *h, uint64_t ns)
{
	h->n[hist_index(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

static inline void
hist_merge(struct hist *into, const struct hist *h)
{
	for (unsigned i = 0; i < HIST_N; i++)
		into->n[i] += h->n[i];
	into->count += h->count;
	if (h->max > into->max)
		into->max = h->max;
}

/* The p-quantile in µs (nearest rank). */
static inline double
hist_quantile_us(const struct hist *h, double p)
{
	uint64_t rank = (uint64_t)(p * (double)h->count + 0.999999), seen = 0;

	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < HIST_N; i++) {
		seen += h->n[i];
		if (seen >= rank)
			return hist_value(i) / 1e3;
	}
	return (double)h->max / 1e3;
}

#include <stdlib.h>

static inline int
sample_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The p-quantile of n samples (sorts them in place). */
static inline double
sample_pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), sample_cmp);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* This process's peak resident memory (VmHWM), in kB; 0 if unknown. */
static inline unsigned long
peak_rss_kb(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %lu", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* This process's CPU time (user + system) so far, in seconds. */
static inline double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

#endif
