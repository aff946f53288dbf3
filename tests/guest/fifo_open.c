// FIFO open semantics (Linux fs/pipe.c fifo_open) and reopening pipes through /proc/self/fd:
// prints facts only, so the output under umkernel must equal the native one.
//   fifo_open PART   (PART: reader_first, writer_first, nonblock, rdwr, proc_fd)
// Nothing here depends on timing: each blocking open is released by the other process's open.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[64];

static void make_fifo(void) {
  snprintf(path, sizeof path, "/tmp/fifo_open.%d", getpid());
  unlink(path);
  if (mkfifo(path, 0600) != 0) { perror("mkfifo"); exit(1); }
}

static void report(const char* what, long r) {
  if (r < 0) printf("%s: %s\n", what, strerror(errno));
  else printf("%s: ok\n", what);
}

// A child writes a line into the FIFO (its open waits for a reader).
static pid_t writer_child(const char* msg) {
  pid_t p = fork();
  if (p == 0) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) _exit(1);
    write(fd, msg, strlen(msg));
    close(fd);
    _exit(0);
  }
  return p;
}

static void read_all(int fd, const char* who) {
  char buf[256];
  size_t n = 0;
  ssize_t r;
  while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
  buf[n] = 0;
  printf("%s read %zu bytes: %s", who, n, buf);
}

static void reader_first(void) {
  make_fifo();
  pid_t c = writer_child("from the writer\n");
  int fd = open(path, O_RDONLY);  // waits for the writer, then reads until it closes
  report("blocking open for reading", fd);
  read_all(fd, "reader");
  close(fd);
  int st;
  waitpid(c, &st, 0);
  printf("writer exit %d\n", WEXITSTATUS(st));
}

static void writer_first(void) {
  make_fifo();
  pid_t c = fork();
  if (c == 0) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) _exit(1);
    read_all(fd, "child");
    fflush(stdout);
    _exit(0);
  }
  int fd = open(path, O_WRONLY);  // waits for the child's open
  report("blocking open for writing", fd);
  write(fd, "parent data\n", 12);
  close(fd);
  int st;
  waitpid(c, &st, 0);
  printf("reader exit %d\n", WEXITSTATUS(st));
}

static void nonblock(void) {
  make_fifo();
  int w = open(path, O_WRONLY | O_NONBLOCK);
  report("non-blocking open for writing without a reader", w);
  int r = open(path, O_RDONLY | O_NONBLOCK);
  report("non-blocking open for reading without a writer", r);
  char c;
  ssize_t n = read(r, &c, 1);
  printf("read with no writer: %zd\n", n);
  w = open(path, O_WRONLY | O_NONBLOCK);
  report("non-blocking open for writing with a reader", w);
  n = read(r, &c, 1);
  printf("read with a writer and no data: %zd (%s)\n", n, n < 0 ? strerror(errno) : "-");
  write(w, "z", 1);
  n = read(r, &c, 1);
  printf("read after a write: %zd %c\n", n, c);
  close(w);
  close(r);
}

static void rdwr(void) {
  make_fifo();
  int fd = open(path, O_RDWR);  // never waits
  report("open read-write", fd);
  write(fd, "loop", 4);
  char buf[8] = {0};
  printf("read back %zd: %s\n", read(fd, buf, sizeof buf - 1), buf);
  close(fd);
}

static void proc_fd(void) {
  int p[2];
  if (pipe(p) != 0) { perror("pipe"); exit(1); }
  char name[64];
  snprintf(name, sizeof name, "/proc/self/fd/%d", p[0]);
  int again = open(name, O_RDONLY);
  report("open /proc/self/fd of a pipe's read end", again);
  snprintf(name, sizeof name, "/dev/fd/%d", p[1]);
  int w2 = open(name, O_WRONLY);
  report("open /dev/fd of its write end", w2);
  write(w2, "through the reopened end\n", 25);
  close(w2);
  close(p[1]);
  char buf[64] = {0};
  ssize_t n = read(again, buf, sizeof buf - 1);
  printf("read %zd: %s", n, buf);
  struct stat st;
  fstat(again, &st);
  printf("is a fifo: %d\n", S_ISFIFO(st.st_mode));
  close(again);
  close(p[0]);
  // A regular file reopened through /dev/fd gets its own position.
  int f = open("/tmp/fifo_open.file", O_RDWR | O_CREAT | O_TRUNC, 0600);
  write(f, "abcdef", 6);
  snprintf(name, sizeof name, "/dev/fd/%d", f);
  int f2 = open(name, O_RDONLY);
  char b[4] = {0};
  printf("reopened file reads from 0: %zd %.3s\n", read(f2, b, 3), b);
  close(f);
  close(f2);
  unlink("/tmp/fifo_open.file");
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (getpid() == 1) {  // init in a VM: the directories the parts use
    mount("proc", "/proc", "proc", 0, NULL);
    mount("tmp", "/tmp", "tmpfs", 0, NULL);
    mount("dev", "/dev", "devtmpfs", 0, NULL);
  }
  const char* part = argc > 1 ? argv[1] : "";
  if (!strcmp(part, "reader_first")) reader_first();
  else if (!strcmp(part, "writer_first")) writer_first();
  else if (!strcmp(part, "nonblock")) nonblock();
  else if (!strcmp(part, "rdwr")) rdwr();
  else if (!strcmp(part, "proc_fd")) proc_fd();
  else { fprintf(stderr, "usage: fifo_open reader_first|writer_first|nonblock|rdwr|proc_fd\n"); return 2; }
  if (path[0]) unlink(path);
  return 0;
}
