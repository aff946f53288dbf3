/* Shared by the tests/guest/bench_*.c programs: a monotonic clock in ns and a small sort for
 * picking the best and median of the rounds. */
#ifndef UM_BENCH_COMMON_H
#define UM_BENCH_COMMON_H
#include <time.h>

static inline double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline void sort(double *x, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && x[j - 1] > x[j]; j--) { double t = x[j]; x[j] = x[j - 1]; x[j - 1] = t; }
}
#endif
