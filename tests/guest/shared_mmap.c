// MAP_SHARED mappings of a regular file: writes through the mapping reach read(), write()s
// reach the mapping, a forked child's writes reach the parent, msync, growing the file, and
// the bytes are in the file after munmap and close. Prints facts only: the same natively and
// under umkernel. Usage: shared_mmap DIR (a directory on the file system under test), or
// shared_mmap DIR store: one store through a mapping of DIR/store.dat, no msync, no close.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(const char* what, int ok) { printf("%s: %s\n", what, ok ? "yes" : "NO"); }

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char path[4096];
  if (argc == 3 && strcmp(argv[2], "store") == 0) {
    snprintf(path, sizeof path, "%s/store.dat", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 4096) < 0) return 1;
    char* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return 1;
    memcpy(m, "stored-without-msync", 20);
    return 0;
  }
  snprintf(path, sizeof path, "%s/shared_mmap.dat", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return perror("open"), 1;
  char block[8192];
  memset(block, 'a', sizeof block);
  check("write 8192", write(fd, block, sizeof block) == (ssize_t)sizeof block);
  char* m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check("mmap shared rw", m != MAP_FAILED);
  if (m == MAP_FAILED) return 1;
  check("mapping sees the file", m[0] == 'a' && m[8191] == 'a');
  memcpy(m + 100, "through-the-mapping", 19);
  char got[32] = {0};
  pread(fd, got, 19, 100);
  check("pread sees a store to the mapping", memcmp(got, "through-the-mapping", 19) == 0);
  pwrite(fd, "by-pwrite", 9, 5000);
  check("the mapping sees pwrite", memcmp(m + 5000, "by-pwrite", 9) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    memcpy(m + 7000, "from-child", 10);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  check("a child's store reaches the parent", memcmp(m + 7000, "from-child", 10) == 0);
  check("msync MS_SYNC", msync(m, 8192, MS_SYNC) == 0);
  check("msync MS_ASYNC", msync(m, 8192, MS_ASYNC) == 0);
  check("msync bad flags EINVAL", msync(m, 8192, MS_SYNC | MS_ASYNC) == -1 && errno == EINVAL);
  // Grow the file and map the new part.
  check("ftruncate 16384", ftruncate(fd, 16384) == 0);
  char* m2 = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check("map the grown file", m2 != MAP_FAILED);
  check("the new part reads as zeros", m2[12000] == 0);
  memcpy(m2 + 12000, "tail", 4);
  struct stat st;
  fstat(fd, &st);
  printf("size: %lld\n", (long long)st.st_size);
  munmap(m2, 16384);
  munmap(m, 8192);
  close(fd);
  // Everything is in the file now, for a new reader.
  fd = open(path, O_RDONLY);
  char all[16384];
  ssize_t n = read(fd, all, sizeof all);
  printf("reread: %zd bytes\n", n);
  check("reread has every store", n == 16384 && memcmp(all + 100, "through-the-mapping", 19) == 0 &&
                                      memcmp(all + 5000, "by-pwrite", 9) == 0 && memcmp(all + 7000, "from-child", 10) == 0 &&
                                      memcmp(all + 12000, "tail", 4) == 0 && all[0] == 'a');
  close(fd);
  // A read-only descriptor cannot map shared and writable.
  fd = open(path, O_RDONLY);
  void* bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check("shared rw map of an O_RDONLY fd is EACCES", bad == MAP_FAILED && errno == EACCES);
  close(fd);
  // A store through a mapping of a file with no descriptor left open reaches it too.
  fd = open(path, O_RDWR);
  m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  memcpy(m, "after-close", 11);
  msync(m, 4096, MS_SYNC);
  munmap(m, 4096);
  fd = open(path, O_RDONLY);
  pread(fd, got, 11, 0);
  check("a store after close reaches the file", memcmp(got, "after-close", 11) == 0);
  close(fd);
  return 0;
}
