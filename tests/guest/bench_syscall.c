/* getppid round trip: the cheapest system call, so the time per call is the cost of entering
 * and leaving the kernel (natively) or of a trap to umkernel / UML and back.
 * Usage: bench_syscall [ITERATIONS [ROUNDS]]   (default 20000 x 5).
 * Prints "getppid <best> ns/op median <median>": best and median round (wall clock, so a
 * loaded host inflates rounds in which we lost the CPU; the best round is the least disturbed). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  if (rounds < 1 || rounds > 100) rounds = 5;
  double r[100];
  syscall(SYS_getppid); /* warm up */
  for (int k = 0; k < rounds; k++) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    r[k] = (now_ns() - t0) / n;
  }
  sort(r, rounds);
  printf("getppid %.0f ns/op median %.0f\n", r[0], r[rounds / 2]);
  return 0;
}
