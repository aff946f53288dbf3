/* Host-only: what one copy of guest memory costs umkernel (ptrace platform), 1 MiB or MIB MiB into
 * a child process: pwrite/pread of /proc/PID/mem against process_vm_writev/readv (issue 13).
 * cc -O2 -o /tmp/guest_copy_cost tests/bench/guest_copy_cost.c && /tmp/guest_copy_cost [MIB] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char** argv) {
  size_t n = (argc > 1 ? atol(argv[1]) : 1) << 20;
  char* dst = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(dst, 1, n);
  pid_t pid = fork();
  if (pid == 0) { pause(); _exit(0); }
  int memfd = memfd_create("x", 0); ftruncate(memfd, n);
  char* src = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  memset(src, 2, n);
  char path[64]; snprintf(path, sizeof path, "/proc/%d/mem", pid);
  int mem = open(path, O_RDWR);
  int iters = 2000;
  for (int mode = 0; mode < 4; mode++) {
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
      double t0 = now();
      for (int i = 0; i < iters / 5; i++) {
        if (mode == 0) pwrite(mem, src, n, (off_t)(uintptr_t)dst);
        else if (mode == 1) { struct iovec l = {src, n}, rr = {dst, n}; process_vm_writev(pid, &l, 1, &rr, 1, 0); }
        else if (mode == 2) pread(mem, src, n, (off_t)(uintptr_t)dst);
        else { struct iovec l = {src, n}, rr = {dst, n}; process_vm_readv(pid, &l, 1, &rr, 1, 0); }
      }
      double t = (now() - t0) / (iters / 5);
      if (t < best) best = t;
    }
    const char* names[] = {"pwrite /proc/mem", "process_vm_writev", "pread /proc/mem", "process_vm_readv"};
    printf("%-20s %zu KiB: %.1f us  %.0f MB/s\n", names[mode], n >> 10, best * 1e6, n / best / 1e6);
  }
  kill(pid, 9);
  return 0;
}
