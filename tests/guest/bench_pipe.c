/* Throughput through a pipe between two processes: the parent writes 64 KiB chunks, the child
 * reads them. Usage: bench_pipe [MIB [ROUNDS]]   (default 64 MiB x 3).
 * Prints "pipe <best> MB/s median <median>" (MB = 10^6 bytes), each round timed in the parent
 * from the fork to the reader's exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define CHUNK (64 * 1024)

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 64;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  if (rounds < 1 || rounds > 100) rounds = 3;
  long long total = (long long)mib << 20;
  static char buf[CHUNK];
  memset(buf, 'x', sizeof buf);
  double r[100];
  for (int k = 0; k < rounds; k++) {
    int fd[2];
    if (pipe(fd) != 0) { perror("pipe"); return 1; }
    double t0 = now_ns();
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) {
      close(fd[1]);
      long long got = 0;
      ssize_t n;
      while ((n = read(fd[0], buf, sizeof buf)) > 0) got += n;
      _exit(got == total ? 0 : 1);
    }
    close(fd[0]);
    for (long long done = 0; done < total;) {
      ssize_t w = write(fd[1], buf, CHUNK);
      if (w <= 0) { perror("write"); return 1; }
      done += w;
    }
    close(fd[1]);
    int st;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "pipe: reader saw a wrong byte count\n");
      return 1;
    }
    r[k] = total / ((now_ns() - t0) / 1e9) / 1e6;
  }
  sort(r, rounds);
  printf("pipe %.0f MB/s median %.0f\n", r[rounds - 1], r[rounds / 2]);
  return 0;
}
