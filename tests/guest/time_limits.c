// Timeouts a guest may choose as large as it likes: every blocking call given a timeout of
// about LONG_MAX seconds must wait (here until a SIGALRM interrupts it), never overflow into a
// deadline in the past and return at once. Prints facts only, so its output under umkernel
// must equal its native output.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; }

// A SIGALRM in 30 ms that interrupts (no SA_RESTART).
static void arm(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 30000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void report(const char* what, long r) {
  printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct timespec huge = {LONG_MAX, 999999999};

  arm();
  report("nanosleep", nanosleep(&huge, NULL));

  arm();
  errno = clock_nanosleep(CLOCK_MONOTONIC, 0, &huge, NULL);
  report("clock_nanosleep", errno ? -1 : 0);

  arm();
  struct pollfd pfd = {-1, POLLIN, 0};
  report("ppoll", ppoll(&pfd, 1, &huge, NULL));

  arm();
  struct timeval tv = {LONG_MAX, 999999};
  report("select", select(0, NULL, NULL, NULL, &tv));

  arm();
  uint32_t word = 0;
  report("futex_wait", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &huge, NULL, 0));

  arm();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  report("sigtimedwait", sigtimedwait(&set, NULL, &huge));

  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct timeval rcv = {LONG_MAX / 2, 0};
  report("setsockopt SO_RCVTIMEO", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv));
  arm();
  char c;
  report("recv", recv(sv[0], &c, 1, 0));

  // An interval timer set ~LONG_MAX seconds away stays armed far in the future.
  struct itimerval far = {{0, 0}, {LONG_MAX, 0}}, cur;
  report("setitimer", setitimer(ITIMER_REAL, &far, NULL));
  getitimer(ITIMER_REAL, &cur);
  printf("getitimer: armed more than a century ahead: %d\n", cur.it_value.tv_sec > 100L * 365 * 86400);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);

  // Results copied out to an unwritable address are EFAULT, also when the call itself is done.
  void* bad = (void*)1;
  report("getitimer ITIMER_VIRTUAL to a bad address", syscall(SYS_getitimer, ITIMER_VIRTUAL, bad));
  report("clock_gettime to a bad address", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad));
  arm();
  struct timespec second = {1, 0};
  report("nanosleep interrupted, rem at a bad address", syscall(SYS_nanosleep, &second, bad));
  return 0;
}
