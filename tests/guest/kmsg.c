// /dev/kmsg as Linux's devkmsg serves it: a record written from user space comes back with
// LOG_USER as its facility when it names none, one record per read(2), sequence numbers that
// grow by one, EINVAL for a buffer too small, EAGAIN at the end for a non-blocking reader and a
// wakeup for a blocking one, lseek(SEEK_END), ESPIPE for a non-zero offset, escapes.
// Run as root in a guest; prints facts (no times or sequence values), so the output is fixed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char* what, long r) { printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : ""); }

// Reads records until one whose text ends with `text`; prints its prefix and text.
static long find(int fd, const char* text, unsigned long long* seq) {
  char buf[2048];
  for (;;) {
    long n = read(fd, buf, sizeof buf - 1);
    if (n <= 0) return n;
    buf[n] = 0;
    char* semi = strchr(buf, ';');
    if (!semi) continue;
    *strchr(semi, '\n') = 0;
    if (strcmp(semi + 1, text) != 0) continue;
    unsigned prefix;
    unsigned long long ts;
    char flag;
    if (sscanf(buf, "%u,%llu,%llu,%c", &prefix, seq, &ts, &flag) != 4) return -1;
    printf("record: prefix %u flag %c text %s\n", prefix, flag, semi + 1);
    return n;
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int w = open("/dev/kmsg", O_WRONLY);
  report("open for writing", w < 0 ? -1 : 0);
  report("write plain", write(w, "um kmsg one\n", 12));
  report("write <3>", write(w, "<3>um kmsg two", 14));
  report("write <30>", write(w, "<30>um kmsg three", 17));
  report("write with a tab and a backslash", write(w, "um\tkmsg\\four", 12));
  char big[2000];
  memset(big, 'x', sizeof big);
  report("write 2000 bytes", write(w, big, sizeof big));

  int r = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  unsigned long long s1 = 0, s2 = 0, s3 = 0;
  find(r, "um kmsg one", &s1);
  find(r, "um kmsg two", &s2);
  find(r, "um kmsg three", &s3);
  find(r, "um\\x09kmsg\\x5cfour", &s3);
  printf("sequence numbers follow: %s\n", s2 == s1 + 1 ? "yes" : "no");
  char small[8];
  report("read at the end (non-blocking)", read(r, small, sizeof small));
  report("lseek(1, SEEK_SET)", lseek(r, 1, SEEK_SET));
  report("lseek(0, SEEK_SET)", lseek(r, 0, SEEK_SET));
  report("read into 8 bytes", read(r, small, sizeof small));
  report("lseek(0, SEEK_END)", lseek(r, 0, SEEK_END));
  struct pollfd p = {r, POLLIN, 0};
  report("poll at the end", poll(&p, 1, 0));

  int b = open("/dev/kmsg", O_RDONLY);
  lseek(b, 0, SEEK_END);
  pid_t child = fork();
  if (child == 0) {
    usleep(100000);
    write(w, "um kmsg later", 13);
    _exit(0);
  }
  unsigned long long s4;
  find(b, "um kmsg later", &s4);  // blocks until the child writes
  waitpid(child, NULL, 0);
  report("poll after a write", poll(&p, 1, 0));
  printf("revents: %s\n", p.revents & POLLIN ? "POLLIN" : "-");
  return 0;
}
