/* Futex ping-pong between two threads: a token (one shared int) is handed back and forth with
 * raw syscall(SYS_futex) FUTEX_WAIT / FUTEX_WAKE (private), never spinning in user space, so
 * every hand-off is a wake-up of the other thread through the kernel.
 * Usage: bench_futex [ROUND_TRIPS [ROUNDS]]   (default 20000 x 3).
 * Prints "futex_pingpong <best> rt/s median <median>": round trips per second (main -> peer ->
 * main) of the best and the median round, each round timed in the main thread. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench_common.h"

static _Atomic int turn; /* 0: the main thread holds the token, 1: the peer does */
static long total;       /* round trips the peer serves (all rounds) */

static void futex_wait(int expected) {
  syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}
static void futex_wake(void) { syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void *peer(void *arg) {
  (void)arg;
  for (long i = 0; i < total; i++) {
    while (atomic_load(&turn) != 1) futex_wait(0); /* sleeps only while turn is still 0 */
    atomic_store(&turn, 0);
    futex_wake();
  }
  return NULL;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  if (n < 1) n = 20000;
  if (rounds < 1 || rounds > 100) rounds = 3;
  total = n * rounds;
  pthread_t t;
  if (pthread_create(&t, NULL, peer, NULL) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
  double r[100];
  for (int k = 0; k < rounds; k++) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      atomic_store(&turn, 1);
      futex_wake();
      while (atomic_load(&turn) != 0) futex_wait(1);
    }
    r[k] = n / ((now_ns() - t0) / 1e9);
  }
  pthread_join(t, NULL);
  sort(r, rounds);
  printf("futex_pingpong %.0f rt/s median %.0f\n", r[rounds - 1], r[rounds / 2]);
  return 0;
}
