/* fork + execve of this (static) program with the argument "-x", which exits at once + wait.
 * Usage: bench_exec [ITERATIONS [ROUNDS]]   (default 30 x 5).
 * Prints "fork_exec_wait <best> us/op median <median>" (best and median round, wall clock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-x") == 0) _exit(0);
  long n = argc > 1 ? atol(argv[1]) : 30;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  if (rounds < 1 || rounds > 100) rounds = 5;
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) { strncpy(self, argv[0], sizeof self - 1); len = strlen(argv[0]); }
  self[len] = 0;
  char *args[] = {self, "-x", NULL};
  char *env[] = {NULL};
  double r[100];
  for (int k = 0; k < rounds; k++) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      pid_t p = fork();
      if (p < 0) { perror("fork"); return 1; }
      if (p == 0) { execve(self, args, env); _exit(127); }
      int st;
      if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "fork_exec_wait: exec of %s failed\n", self);
        return 1;
      }
    }
    r[k] = (now_ns() - t0) / n / 1e3;
  }
  sort(r, rounds);
  printf("fork_exec_wait %.1f us/op median %.1f\n", r[0], r[rounds / 2]);
  return 0;
}
