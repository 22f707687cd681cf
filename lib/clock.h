/*
 * clock: the time seam. Checks and the log ask here for "now", so tests
 * can fix the clock (clock_set_fixed) and nothing else reads it directly.
 */
#ifndef POSTERN_CLOCK_H
#define POSTERN_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Wall-clock time (CLOCK_REALTIME, or the fixed time in tests). */
struct timespec clock_now(void);
/* Monotonic milliseconds, for durations. */
double clock_ms(void);
/* Tests: fix the wall clock at t (t.tv_sec == 0 restores the real one). */
void clock_set_fixed(struct timespec t);

#endif
