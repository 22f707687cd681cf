/*
 * clock: real time by default, a fixed time for tests.
 */
#include "config.h"

#include <stdatomic.h>

#include "lib/clock.h"

static _Atomic int64_t fixed_sec;

struct timespec
clock_now(void)
{
	struct timespec t;
	int64_t f = atomic_load(&fixed_sec);

	if (f != 0) {
		t.tv_sec = (time_t)f;
		t.tv_nsec = 0;
		return t;
	}
	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

double
clock_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

void
clock_set_fixed(struct timespec t)
{
	atomic_store(&fixed_sec, (int64_t)t.tv_sec);
}
