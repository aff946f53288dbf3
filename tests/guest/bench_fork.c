/* fork + _exit + wait: process creation and teardown, the child doing nothing.
 * Usage: bench_fork [ITERATIONS [ROUNDS]]   (default 50 x 5).
 * Prints "fork_wait <best> us/op median <median>" (best and median round, wall clock). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 50;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  if (rounds < 1 || rounds > 100) rounds = 5;
  double r[100];
  for (int k = 0; k < rounds; k++) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      pid_t p = fork();
      if (p < 0) { perror("fork"); return 1; }
      if (p == 0) _exit(0);
      int st;
      if (waitpid(p, &st, 0) != p || !WIFEXITED(st)) { fprintf(stderr, "fork_wait: bad wait\n"); return 1; }
    }
    r[k] = (now_ns() - t0) / n / 1e3;
  }
  sort(r, rounds);
  printf("fork_wait %.1f us/op median %.1f\n", r[0], r[rounds / 2]);
  return 0;
}
