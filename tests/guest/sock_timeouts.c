// SO_RCVTIMEO and SO_SNDTIMEO bound plain read() and write() on sockets too, not only the
// socket calls: each ends with EAGAIN after about the timeout. Prints facts only.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long since_ms(const struct timespec* a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void report(const char* what, ssize_t r, long ms) {
  printf("%s: %zd %s, %s\n", what, r, r < 0 ? strerror(errno) : "", ms >= 190 && ms < 2000 ? "after the timeout" : "WRONG TIME");
}

int main(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct timeval tv = {0, 200000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct timespec a;
  char c;
  clock_gettime(CLOCK_MONOTONIC, &a);
  ssize_t r = read(sv[0], &c, 1);
  report("read with nothing to read", r, since_ms(&a));
  static char big[1 << 16];
  ssize_t total = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (;;) {  // fill the peer's buffer until a write times out
    r = write(sv[0], big, sizeof big);
    if (r < 0) break;
    total += r;
    clock_gettime(CLOCK_MONOTONIC, &a);
  }
  report("write into a full buffer", r, since_ms(&a));
  printf("wrote something first: %s\n", total > 0 ? "yes" : "no");
  return 0;
}
