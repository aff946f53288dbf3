/* Sequential file I/O on the root file system: write FILE (default /bench.dat) in 1 MiB blocks
 * and fsync it, then read it back. Usage: bench_file [MIB [ROUNDS [FILE]]]   (default 64 MiB x 2).
 * Prints "file_write <best> MB/s median <m>" (write + fsync) and "file_read <best> MB/s
 * median <m>" (MB = 10^6 bytes). The read may be served from a page cache (native, UML):
 * that is what a program sees. The file is removed after each round. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define BLOCK (1 << 20)

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 64;
  int rounds = argc > 2 ? atoi(argv[2]) : 2;
  if (rounds < 1 || rounds > 100) rounds = 2;
  const char *path = argc > 3 ? argv[3] : "/bench.dat";
  static char buf[BLOCK];
  for (int i = 0; i < BLOCK; i++) buf[i] = (char)(i * 7);
  long long total = (long long)mib * BLOCK;
  double wr[100], rd[100];
  for (int k = 0; k < rounds; k++) {
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { perror(path); return 1; }
    double t0 = now_ns();
    for (long i = 0; i < mib; i++) {
      buf[0] = (char)i;
      if (write(fd, buf, BLOCK) != BLOCK) { perror("write"); return 1; }
    }
    if (fsync(fd) != 0) { perror("fsync"); return 1; }
    double t1 = now_ns();
    if (lseek(fd, 0, SEEK_SET) != 0) { perror("lseek"); return 1; }
    long long got = 0;
    ssize_t n;
    while ((n = read(fd, buf, BLOCK)) > 0) got += n;
    double t2 = now_ns();
    close(fd);
    unlink(path);
    if (got != total) { fprintf(stderr, "file: read %lld of %lld bytes\n", got, total); return 1; }
    wr[k] = total / ((t1 - t0) / 1e9) / 1e6;
    rd[k] = total / ((t2 - t1) / 1e9) / 1e6;
  }
  sort(wr, rounds);
  sort(rd, rounds);
  printf("file_write %.0f MB/s median %.0f\n", wr[rounds - 1], wr[rounds / 2]);
  printf("file_read %.0f MB/s median %.0f\n", rd[rounds - 1], rd[rounds / 2]);
  return 0;
}
