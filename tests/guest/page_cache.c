// File data as the page cache must keep it: what one process writes another reads through
// read() and through shared and private mappings; growing, shrinking, sparse files, O_APPEND,
// large and unaligned transfers. Prints facts only: the same natively and under umkernel.
// Usage:
//   page_cache DIR          the checks, in DIR (a directory on the file system under test)
//   page_cache DIR write    writes DIR/persist.dat (no fsync) and exits
//   page_cache DIR fsync    writes DIR/synced.dat, fsyncs it, prints "synced", then waits
//   page_cache DIR verify   checks both files' bytes (after a reboot)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void check(const char* what, int ok) { printf("%s: %s\n", what, ok ? "yes" : "NO"); }

static unsigned char pattern(uint64_t i, unsigned seed) { return (unsigned char)((i * 2654435761u + seed) >> 7); }

static void fill(unsigned char* b, uint64_t off, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) b[i] = pattern(off + i, seed);
}

static int matches(const unsigned char* b, uint64_t off, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != pattern(off + i, seed)) return 0;
  return 1;
}

// Writes `size` bytes of pattern `seed` to `path` in pieces of odd sizes.
static int write_file(const char* path, uint64_t size, unsigned seed, int do_fsync) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  static unsigned char buf[1 << 20];
  uint64_t off = 0;
  size_t step = 4093;
  while (off < size) {
    size_t n = step < size - off ? step : (size_t)(size - off);
    fill(buf, off, n, seed);
    if (write(fd, buf, n) != (ssize_t)n) return close(fd), -1;
    off += n;
    step = step * 3 % (1 << 20) + 1;
  }
  if (do_fsync && fsync(fd) < 0) return close(fd), -1;
  return close(fd);
}

// Reads `path` back in pieces of `piece` bytes and checks the pattern.
static int read_matches(const char* path, uint64_t size, unsigned seed, size_t piece) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  unsigned char* buf = malloc(piece);
  uint64_t off = 0;
  int ok = 1;
  for (;;) {
    ssize_t n = read(fd, buf, piece);
    if (n < 0) { ok = 0; break; }
    if (n == 0) break;
    if (!matches(buf, off, (size_t)n, seed)) ok = 0;
    off += (uint64_t)n;
  }
  free(buf);
  close(fd);
  return ok && off == size;
}

static int child_reads(const char* path, uint64_t size, unsigned seed) {
  pid_t pid = fork();
  if (pid == 0) _exit(read_matches(path, size, seed, 65536 + 17) ? 0 : 1);
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

// A shared mapping grown with mremap, stored to beyond what mmap asked for.
static int grown_mapping(const char* dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/mremap.dat", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) < 0) return -1;
  char* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return -1;
  memcpy(m, "first-page", 10);
  if (ftruncate(fd, 16384) < 0) return -1;
  char* g = mremap(m, 4096, 16384, MREMAP_MAYMOVE);
  if (g == MAP_FAILED) return -1;
  memcpy(g + 12000, "grown-part", 10);
  munmap(g, 16384);
  return close(fd);
}

static int persist(const char* dir, int mode_fsync) {
  char path[4096];
  if (!mode_fsync && grown_mapping(dir) < 0) return perror("mremap"), 1;
  snprintf(path, sizeof path, "%s/%s", dir, mode_fsync ? "synced.dat" : "persist.dat");
  if (write_file(path, 5 << 20, mode_fsync ? 7 : 5, mode_fsync) < 0) return perror("write"), 1;
  if (mode_fsync) {
    printf("synced\n");
    fflush(stdout);
    for (;;) pause();
  }
  return 0;
}

static int verify(const char* dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/persist.dat", dir);
  check("persist.dat after reboot", read_matches(path, 5 << 20, 5, 1 << 20));
  snprintf(path, sizeof path, "%s/synced.dat", dir);
  check("synced.dat after reboot", read_matches(path, 5 << 20, 7, 1 << 20));
  snprintf(path, sizeof path, "%s/mremap.dat", dir);
  char got[16] = {0}, got2[16] = {0};
  int fd = open(path, O_RDONLY);
  pread(fd, got, 10, 0);
  pread(fd, got2, 10, 12000);
  close(fd);
  check("stores through a grown shared mapping after reboot",
        memcmp(got, "first-page", 10) == 0 && memcmp(got2, "grown-part", 10) == 0);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* dir = argv[1];
  if (argc == 3 && strcmp(argv[2], "write") == 0) return persist(dir, 0);
  if (argc == 3 && strcmp(argv[2], "fsync") == 0) return persist(dir, 1);
  if (argc == 3 && strcmp(argv[2], "verify") == 0) return verify(dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/page_cache.dat", dir);
  const uint64_t size = 9 << 20;  // 9 MiB

  // 1. write() in odd pieces; read by another process, in other pieces; and by us in one read.
  check("write 9 MiB in odd pieces", write_file(path, size, 1, 0) == 0);
  check("another process reads it", child_reads(path, size, 1));
  check("one 9 MiB read", read_matches(path, size, 1, size + 4096));
  check("4 KiB reads", read_matches(path, size, 1, 4096));

  // 2. Mappings: shared (read and write), private (copy on write), coherent with read/write.
  int fd = open(path, O_RDWR);
  unsigned char* sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  unsigned char* pr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  check("mmap shared and private", sh != MAP_FAILED && pr != MAP_FAILED);
  if (sh == MAP_FAILED || pr == MAP_FAILED) return 1;
  check("the shared mapping holds the file", matches(sh, 0, size, 1));
  check("the private mapping holds the file", matches(pr, 0, size, 1));
  pid_t pid = fork();
  if (pid == 0) {  // a child stores through its shared mapping
    memcpy(sh + 5000000, "child-store", 11);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  unsigned char got[16] = {0};
  pread(fd, got, 11, 5000000);
  check("read() sees a child's store through a shared mapping", memcmp(got, "child-store", 11) == 0);
  check("an untouched private page sees it too", memcmp(pr + 5000000, "child-store", 11) == 0);
  pr[100] = 'P';
  pread(fd, got, 1, 100);
  check("a private store stays private", got[0] == pattern(100, 1) && sh[100] == pattern(100, 1));
  pwrite(fd, "pwritten", 8, 8000000);
  check("the shared mapping sees pwrite", memcmp(sh + 8000000, "pwritten", 8) == 0);
  check("msync", msync(sh, size, MS_SYNC) == 0);
  munmap(sh, size);
  munmap(pr, size);
  close(fd);
  fd = open(path, O_RDONLY);
  pread(fd, got, 11, 5000000);
  check("after munmap and close the store is in the file", memcmp(got, "child-store", 11) == 0);
  close(fd);

  // 3. Shrink, grow, and what a hole reads as.
  fd = open(path, O_RDWR);
  check("ftruncate to 10000", ftruncate(fd, 10000) == 0);
  check("ftruncate to 3 MiB", ftruncate(fd, 3 << 20) == 0);
  unsigned char* b = calloc(1, 3 << 20);
  check("pread 3 MiB", pread(fd, b, 3 << 20, 0) == 3 << 20);
  int zeros = 1;
  for (size_t i = 10000; i < (3 << 20); i++) zeros &= b[i] == 0;
  check("the kept head", matches(b, 0, 10000, 1));
  check("the cut part reads as zeros", zeros);
  struct stat st;
  fstat(fd, &st);
  check("size 3 MiB", st.st_size == 3 << 20);
  // Write far past the end: a sparse file; map a page at each end.
  check("pwrite at 1 GiB", pwrite(fd, "tail", 4, 1ull << 30) == 4);
  fstat(fd, &st);
  check("size 1 GiB + 4", st.st_size == (1ll << 30) + 4);
  unsigned char* head = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  unsigned char* tail = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 1ull << 30);
  check("map 4 KiB at each end of the sparse file", head != MAP_FAILED && tail != MAP_FAILED);
  if (head != MAP_FAILED && tail != MAP_FAILED) {
    check("its head", matches(head, 0, 4096, 1));
    check("its tail", memcmp(tail, "tail", 4) == 0 && tail[4] == 0);
  }
  check("the middle reads as zeros", pread(fd, b, 4096, 512 << 20) == 4096 && b[0] == 0 && b[4095] == 0);
  close(fd);
  unlink(path);

  // 4. Times: what utimes set survives the data's write-back; a write moves mtime.
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  write(fd, "data", 4);
  struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  check("futimens", futimens(fd, times) == 0);
  sync();
  fstat(fd, &st);
  check("mtime after sync is what futimens set", st.st_mtim.tv_sec == 1000000000);
  write(fd, "more", 4);
  fstat(fd, &st);
  check("a write moves mtime", st.st_mtim.tv_sec > 1000000000);
  time_t written = st.st_mtim.tv_sec;
  fsync(fd);
  fstat(fd, &st);
  check("fsync keeps that mtime", st.st_mtim.tv_sec == written);
  close(fd);
  unlink(path);

  // 5. O_APPEND from two descriptors; unaligned pieces across page edges.
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644);
  int fd2 = open(path, O_WRONLY | O_APPEND);
  for (int i = 0; i < 100; i++) {
    char line[64];
    int n = snprintf(line, sizeof line, "%s line %d\n", i % 2 ? "two" : "one", i);
    write(i % 2 ? fd2 : fd, line, n);
  }
  fstat(fd, &st);
  printf("appended size: %lld\n", (long long)st.st_size);
  lseek(fd, 0, SEEK_SET);
  char text[4096] = {0};
  ssize_t n = read(fd, text, sizeof text - 1);
  check("appended lines in order", n == st.st_size && strstr(text, "one line 98\ntwo line 99\n") != NULL);
  check("read at EOF returns 0", read(fd, text, 10) == 0);
  check("read into a bad buffer: EFAULT", pread(fd, (void*)8, 100, 0) == -1 && errno == EFAULT);
  check("write from a bad buffer: EFAULT", pwrite(fd2, (void*)8, 100, 0) == -1 && errno == EFAULT);
  fstat(fd, &st);
  printf("size after the failed write: %lld\n", (long long)st.st_size);
  close(fd);
  close(fd2);
  unlink(path);
  free(b);
  return 0;
}
