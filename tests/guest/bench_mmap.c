/* File mappings on the root file system. Usage: bench_mmap [MIB [ROUNDS [DIR]]] (default 64 x 3).
 * Prints "mmap_read <best> MB/s median <m>": a MIB MiB file (written and fsync'd first) mapped
 * MAP_SHARED read-only and every byte summed, mmap to munmap (MB = 10^6 bytes); and
 * "mmap_sparse_4k <best> us median <m>": the first mmap of 4 KiB of a new 4 GiB sparse file
 * plus a read of it. The files are removed after each round. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_common.h"

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 64;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  if (rounds < 1 || rounds > 100) rounds = 3;
  const char *dir = argc > 3 ? argv[3] : "/";
  char path[4096], sparse[4096];
  snprintf(path, sizeof path, "%s/bench_mmap.dat", dir);
  snprintf(sparse, sizeof sparse, "%s/bench_sparse.dat", dir);
  size_t size = (size_t)mib << 20;
  static char buf[1 << 20];
  for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (char)(i * 13);
  double rd[100], sp[100];
  volatile uint64_t sink = 0;
  for (int k = 0; k < rounds; k++) {
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { perror(path); return 1; }
    for (long i = 0; i < mib; i++)
      if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) { perror("write"); return 1; }
    if (fsync(fd) != 0) { perror("fsync"); return 1; }
    double t0 = now_ns();
    const uint64_t *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    uint64_t s = 0;
    for (size_t i = 0; i < size / 8; i++) s += m[i];
    munmap((void *)m, size);
    double t1 = now_ns();
    sink += s;
    close(fd);
    unlink(path);
    rd[k] = size / ((t1 - t0) / 1e9) / 1e6;

    fd = open(sparse, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0 || ftruncate(fd, 4ll << 30) != 0) { perror(sparse); return 1; }
    t0 = now_ns();
    const char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap sparse"); return 1; }
    sink += p[100];
    munmap((void *)p, 4096);
    t1 = now_ns();
    close(fd);
    unlink(sparse);
    sp[k] = (t1 - t0) / 1e3;
  }
  sort(rd, rounds);
  sort(sp, rounds);
  printf("mmap_read %.0f MB/s median %.0f\n", rd[rounds - 1], rd[rounds / 2]);
  printf("mmap_sparse_4k %.1f us median %.1f\n", sp[0], sp[rounds / 2]);
  return (int)(sink & 0);
}
