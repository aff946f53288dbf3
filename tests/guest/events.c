// Event APIs: epoll, eventfd, timerfd, signalfd and POSIX timers. Prints facts only (no
// timings, pids or fd numbers), so that its output natively equals its output under umkernel.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char* what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %ld\n", what, r);
  fflush(stdout);
}

static void fact(const char* what, int ok) {
  printf("%s: %s\n", what, ok ? "yes" : "no");
  fflush(stdout);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000l};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

// Forks a child that sleeps `ms`, runs `fn(arg)` and exits 0.
static pid_t later(int ms, void (*fn)(long), long arg) {
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(ms);
    fn(arg);
    _exit(0);
  }
  return pid;
}

static void reap(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

static void write_byte(long fd) { (void)!write((int)fd, "x", 1); }
static void write_one(long fd) {
  uint64_t v = 1;
  (void)!write((int)fd, &v, 8);
}
static void read_eight(long fd) {
  uint64_t v;
  (void)!read((int)fd, &v, 8);
}
static void signal_parent(long sig) { kill(getppid(), (int)sig); }

static int wait_events(int ep, struct epoll_event* evs, int max, int timeout) {
  int n;
  do n = epoll_wait(ep, evs, max, timeout); while (n < 0 && errno == EINTR && timeout < 0);
  return n;
}

// Prints what one epoll_wait returns: count, then data:events pairs.
static void show_wait(const char* what, int ep, int max, int timeout) {
  struct epoll_event evs[8];
  int n = wait_events(ep, evs, max, timeout);
  if (n < 0) {
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  } else {
    printf("%s: %d", what, n);
    for (int i = 0; i < n; i++) printf(" [%llu %#x]", (unsigned long long)evs[i].data.u64, evs[i].events);
    printf("\n");
  }
  fflush(stdout);
}

static int add(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void drain(int fd) {
  char buf[256];
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  while (read(fd, buf, sizeof buf) > 0) {
  }
  fcntl(fd, F_SETFL, fl);
}

static const char* program_path;  // argv[0]: a regular file

static void epoll_errors(void) {
  printf("== epoll errors\n");
  show("epoll_create(0)", epoll_create(0));
  show("epoll_create1(bad flag)", epoll_create1(1));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  fact("EPOLL_CLOEXEC sets FD_CLOEXEC", fcntl(ep, F_GETFD) == FD_CLOEXEC);
  int p[2];
  pipe(p);
  show("add pipe", add(ep, p[0], EPOLLIN, 1));
  show("add again", add(ep, p[0], EPOLLIN, 1));
  show("mod missing", mod(ep, p[1], EPOLLOUT, 2));
  show("del missing", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
  show("bad op", add(ep, p[1], EPOLLOUT, 2) == 0 ? epoll_ctl(ep, 99, p[1], &(struct epoll_event){0}) : -2);
  show("epfd not epoll", add(p[0], p[1], EPOLLOUT, 2));
  show("add itself", add(ep, ep, EPOLLIN, 3));
  show("bad fd", add(ep, 999, EPOLLIN, 3));
  show("bad epfd", add(999, p[0], EPOLLIN, 3));
  int dir = open("/", O_RDONLY | O_DIRECTORY);
  show("directory", add(ep, dir, EPOLLIN, 3));
  int reg = open(program_path, O_RDONLY);
  show("regular file", add(ep, reg, EPOLLIN, 3));
  show("del pipe", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  show("del again", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  show("exclusive+oneshot", add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 4));
  int inner = epoll_create1(0);
  show("exclusive epoll target", add(ep, inner, EPOLLIN | EPOLLEXCLUSIVE, 4));
  show("exclusive add", add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 4));
  show("exclusive mod", mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 4));
  show("mod of exclusive entry", mod(ep, p[0], EPOLLIN, 4));
  struct epoll_event ev;
  show("wait maxevents 0", epoll_wait(ep, &ev, 0, 0));
  show("wait on a pipe", epoll_wait(p[0], &ev, 1, 0));
  show("wait bad fd", epoll_wait(999, &ev, 1, 0));
  write(p[1], "x", 1);
  show("wait bad buffer", epoll_wait(ep, (struct epoll_event*)8, 1, 0));
  show("ctl bad event pointer", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (struct epoll_event*)8));
  show("del ignores the event pointer", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], (struct epoll_event*)8));
  show("pwait bad sigmask pointer", syscall(SYS_epoll_pwait, ep, &ev, 1, 0, (void*)8, 8));
  show("pwait2 bad timeout pointer", syscall(SYS_epoll_pwait2, ep, &ev, 1, (void*)8, NULL, 8));
  close(dir);
  close(reg);
  close(inner);
  close(p[0]);
  close(p[1]);
  close(ep);
}

static void epoll_triggers(void) {
  printf("== epoll level, edge, oneshot\n");
  int p[2];
  pipe(p);
  int ep = epoll_create1(0);
  add(ep, p[0], EPOLLIN, 10);
  show_wait("LT empty", ep, 8, 0);
  write(p[1], "ab", 2);
  show_wait("LT data", ep, 8, 0);
  show_wait("LT data again", ep, 8, 0);
  drain(p[0]);
  show_wait("LT drained", ep, 8, 0);
  close(ep);

  ep = epoll_create1(0);
  add(ep, p[0], EPOLLIN | EPOLLET, 20);
  show_wait("ET empty", ep, 8, 0);
  write(p[1], "a", 1);
  show_wait("ET write", ep, 8, 0);
  show_wait("ET no new event", ep, 8, 0);
  write(p[1], "b", 1);
  show_wait("ET second write", ep, 8, 0);
  show_wait("ET quiet", ep, 8, 0);
  mod(ep, p[0], EPOLLIN | EPOLLET, 21);
  show_wait("ET after MOD", ep, 8, 0);
  drain(p[0]);
  close(ep);

  ep = epoll_create1(0);
  write(p[1], "c", 1);
  add(ep, p[0], EPOLLIN | EPOLLET, 30);
  show_wait("ET ready at ADD", ep, 8, 0);
  show_wait("ET ready at ADD, again", ep, 8, 0);
  drain(p[0]);
  close(ep);

  ep = epoll_create1(0);
  add(ep, p[0], EPOLLIN | EPOLLONESHOT, 40);
  write(p[1], "d", 1);
  show_wait("ONESHOT first", ep, 8, 0);
  show_wait("ONESHOT disabled", ep, 8, 0);
  write(p[1], "e", 1);
  show_wait("ONESHOT disabled after write", ep, 8, 0);
  show("ONESHOT rearm", mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 41));
  show_wait("ONESHOT rearmed", ep, 8, 0);
  show_wait("ONESHOT disabled again", ep, 8, 0);
  show("ONESHOT entry still exists", add(ep, p[0], EPOLLIN, 42));
  drain(p[0]);
  close(ep);

  ep = epoll_create1(0);
  add(ep, p[0], EPOLLIN | EPOLLRDHUP, 50);
  add(ep, p[1], EPOLLOUT, 51);
  show_wait("read and write ends", ep, 8, 0);
  close(p[1]);
  show_wait("writer closed (entry gone, reader HUP)", ep, 8, 0);
  close(p[0]);
  close(ep);

  pipe(p);
  ep = epoll_create1(0);
  add(ep, p[1], EPOLLOUT, 60);
  close(p[0]);
  show_wait("reader closed", ep, 8, 0);
  close(p[1]);
  close(ep);
}

static void epoll_order_and_lifetime(void) {
  printf("== epoll round robin and file lifetime\n");
  int a[2], b[2];
  pipe(a);
  pipe(b);
  write(a[1], "a", 1);
  write(b[1], "b", 1);
  int ep = epoll_create1(0);
  add(ep, a[0], EPOLLIN, 1);
  add(ep, b[0], EPOLLIN, 2);
  for (int i = 0; i < 4; i++) show_wait("maxevents 1", ep, 1, 0);
  show_wait("maxevents 8", ep, 8, 0);

  int d = dup(a[0]);
  close(a[0]);
  show_wait("original fd closed, dup alive", ep, 8, 0);
  show("del closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, a[0], NULL));
  close(d);
  show_wait("file closed everywhere", ep, 8, 0);
  int c[2];
  pipe(c);  // takes the numbers of a's ends
  show("add a new file under the old number", add(ep, c[0], EPOLLIN, 3));
  write(c[1], "c", 1);
  show_wait("new file", ep, 8, 0);

  struct pollfd pfd = {ep, POLLIN, 0};
  show("poll on epoll fd", poll(&pfd, 1, 0));
  printf("poll revents: %#x\n", pfd.revents);
  drain(b[0]);
  drain(c[0]);
  show("poll on idle epoll fd", poll(&pfd, 1, 0));
  close(a[1]);
  close(b[0]);
  close(b[1]);
  close(c[0]);
  close(c[1]);
  close(ep);
}

static void epoll_nested(void) {
  printf("== epoll nesting\n");
  int p[2];
  pipe(p);
  int inner = epoll_create1(0), outer = epoll_create1(0);
  add(inner, p[0], EPOLLIN, 7);
  show("add inner to outer", add(outer, inner, EPOLLIN, 8));
  show("loop", add(inner, outer, EPOLLIN, 9));
  show_wait("outer idle", outer, 8, 0);
  write(p[1], "x", 1);
  show_wait("outer sees inner", outer, 8, 0);
  show_wait("inner", inner, 8, 0);
  drain(p[0]);
  show_wait("outer drained", outer, 8, 0);
  pid_t pid = later(50, write_byte, p[1]);
  show_wait("outer blocks until a child writes", outer, 8, -1);
  reap(pid);
  drain(p[0]);
  struct pollfd pfd = {outer, POLLIN, 0};
  pid = later(50, write_byte, p[1]);
  show("poll(2) blocks on the outer epoll until a child writes", poll(&pfd, 1, -1));
  printf("revents: %#x\n", pfd.revents);
  reap(pid);
  drain(p[0]);
  close(inner);
  close(outer);

  // At most EP_MAX_NESTS + 1 epolls in a chain, however it is built.
  int e[9], f[9];
  char what[64];
  for (int i = 0; i < 9; i++) e[i] = epoll_create1(0), f[i] = epoll_create1(0);
  for (int i = 0; i < 8; i++) {
    snprintf(what, sizeof what, "chain top-down %d in %d", i + 1, i);
    show(what, add(e[i], e[i + 1], EPOLLIN, i));
  }
  for (int i = 7; i >= 0; i--) {
    snprintf(what, sizeof what, "chain bottom-up %d in %d", i + 1, i);
    show(what, add(f[i], f[i + 1], EPOLLIN, i));
  }
  for (int i = 0; i < 9; i++) close(e[i]), close(f[i]);
  close(p[0]);
  close(p[1]);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { got_usr1++; }

static void epoll_blocking(void) {
  printf("== epoll blocking, timeouts, sigmask\n");
  int p[2];
  pipe(p);
  int ep = epoll_create1(0);
  add(ep, p[0], EPOLLIN, 5);
  pid_t pid = later(50, write_byte, p[1]);
  show_wait("blocks until a child writes", ep, 8, -1);
  reap(pid);
  drain(p[0]);
  int64_t t0 = now_ns();
  show_wait("timeout 100ms", ep, 8, 100);
  fact("waited at least 90ms", now_ns() - t0 >= 90000000);
  struct timespec zero = {0, 0};
  struct epoll_event ev;
  show("epoll_pwait2 zero timeout", syscall(SYS_epoll_pwait2, ep, &ev, 1, &zero, NULL, 8));
  struct timespec bad = {0, 1000000000};
  show("epoll_pwait2 bad timeout", syscall(SYS_epoll_pwait2, ep, &ev, 1, &bad, NULL, 8));
  show("epoll_pwait bad sigset size", syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &(uint64_t){0}, 4));

  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t block, empty, cur;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, NULL);
  got_usr1 = 0;
  pid = later(50, signal_parent, SIGUSR1);
  int n = epoll_pwait(ep, &ev, 1, 5000, &empty);
  printf("epoll_pwait interrupted: %d %s, handler ran %d\n", n, n < 0 ? strerrorname_np(errno) : "", got_usr1);
  sigprocmask(SIG_BLOCK, NULL, &cur);
  fact("mask restored after epoll_pwait", sigismember(&cur, SIGUSR1));
  reap(pid);
  pid = later(20, signal_parent, SIGUSR1);
  n = epoll_wait(ep, &ev, 1, 200);
  printf("epoll_wait with SIGUSR1 blocked: %d, handler ran %d\n", n, got_usr1);
  reap(pid);
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  printf("after unblocking, handler ran %d\n", got_usr1);
  pid = later(50, signal_parent, SIGUSR1);
  n = epoll_wait(ep, &ev, 1, 5000);
  printf("epoll_wait interrupted: %d %s, handler ran %d\n", n, n < 0 ? strerrorname_np(errno) : "", got_usr1);
  reap(pid);
  signal(SIGUSR1, SIG_DFL);
  close(ep);
  close(p[0]);
  close(p[1]);
}

static void eventfd_tests(void) {
  printf("== eventfd\n");
  show("eventfd2 bad flags", eventfd(0, 0x4000000));
  int fd = eventfd(5, EFD_CLOEXEC);
  fact("EFD_CLOEXEC sets FD_CLOEXEC", fcntl(fd, F_GETFD) == FD_CLOEXEC);
  uint64_t v = 0;
  show("read", read(fd, &v, 8));
  printf("value: %llu\n", (unsigned long long)v);
  show("short read", read(fd, &v, 4));
  v = 3;
  show("write 3", write(fd, &v, 8));
  show("short write", write(fd, &v, 4));
  v = UINT64_MAX;
  show("write 2^64-1", write(fd, &v, 8));
  v = 4;
  write(fd, &v, 8);
  uint64_t big[2] = {0, 0};
  show("read 16 bytes", read(fd, big, 16));
  printf("value: %llu\n", (unsigned long long)big[0]);
  struct pollfd pfd = {fd, POLLIN | POLLOUT, 0};
  poll(&pfd, 1, 0);
  printf("poll empty: %#x\n", pfd.revents);
  close(fd);

  fd = eventfd(0, EFD_NONBLOCK);
  show("nonblocking read of 0", read(fd, &v, 8));
  v = UINT64_MAX - 1;
  show("fill", write(fd, &v, 8));
  v = 1;
  show("overflowing write", write(fd, &v, 8));
  pfd.fd = fd;
  poll(&pfd, 1, 0);
  printf("poll full: %#x\n", pfd.revents);
  close(fd);

  fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  for (int i = 0; i < 4; i++) {
    v = 0;
    long r = read(fd, &v, 8);
    printf("semaphore read %d: %ld %s value %llu\n", i, r, r < 0 ? strerrorname_np(errno) : "", (unsigned long long)v);
  }
  close(fd);

  fd = eventfd(0, 0);
  pid_t pid = later(50, write_one, fd);
  v = 0;
  show("blocking read", read(fd, &v, 8));
  printf("value: %llu\n", (unsigned long long)v);
  reap(pid);
  v = UINT64_MAX - 1;
  write(fd, &v, 8);
  pid = later(50, read_eight, fd);
  v = 7;
  show("blocking write", write(fd, &v, 8));
  reap(pid);
  show("read after", read(fd, &v, 8));
  printf("value: %llu\n", (unsigned long long)v);

  int ep = epoll_create1(0);
  add(ep, fd, EPOLLIN | EPOLLET, 9);
  show_wait("ET eventfd empty", ep, 8, 0);
  write_one(fd);
  show_wait("ET eventfd write", ep, 8, 0);
  show_wait("ET eventfd quiet", ep, 8, 0);
  write_one(fd);
  show_wait("ET eventfd second write", ep, 8, 0);
  close(ep);
  close(fd);
}

static void timerfd_tests(void) {
  printf("== timerfd\n");
  show("bad clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
  show("bad flags", timerfd_create(CLOCK_MONOTONIC, 1));
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  fact("TFD_CLOEXEC sets FD_CLOEXEC", fcntl(fd, F_GETFD) == FD_CLOEXEC);
  struct itimerspec its = {0}, cur;
  show("gettime disarmed", timerfd_gettime(fd, &cur));
  printf("disarmed value %ld.%09ld interval %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec,
         cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
  its.it_value.tv_nsec = 50000000;
  show("settime 50ms", timerfd_settime(fd, 0, &its, NULL));
  timerfd_gettime(fd, &cur);
  fact("remaining in (0, 50ms]", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50000000);
  struct pollfd pfd = {fd, POLLIN, 0};
  show("poll before expiry", poll(&pfd, 1, 0));
  uint64_t ticks = 0;
  show("blocking read", read(fd, &ticks, 8));
  printf("ticks: %llu\n", (unsigned long long)ticks);
  timerfd_gettime(fd, &cur);
  printf("after expiry value %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec);
  show("short read", read(fd, &ticks, 4));

  its.it_value.tv_nsec = 10000000;
  its.it_interval.tv_nsec = 10000000;
  timerfd_settime(fd, 0, &its, NULL);
  sleep_ms(55);
  show("poll after expiries", poll(&pfd, 1, 0));
  read(fd, &ticks, 8);
  fact("interval ticks >= 4", ticks >= 4);
  timerfd_gettime(fd, &cur);
  fact("interval reported", cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 10000000);
  struct itimerspec off = {0}, old;
  show("disarm", timerfd_settime(fd, 0, &off, &old));
  fact("old interval", old.it_interval.tv_nsec == 10000000);
  timerfd_gettime(fd, &cur);
  printf("disarmed again value %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  show("nonblocking read, nothing expired", read(fd, &ticks, 8));
  fcntl(fd, F_SETFL, 0);

  struct itimerspec abs = {0};
  clock_gettime(CLOCK_MONOTONIC, &abs.it_value);
  abs.it_value.tv_sec -= 1;
  show("absolute time in the past", timerfd_settime(fd, TFD_TIMER_ABSTIME, &abs, NULL));
  show("read", read(fd, &ticks, 8));
  printf("ticks: %llu\n", (unsigned long long)ticks);
  struct itimerspec badv = {0};
  badv.it_value.tv_nsec = 1000000000;
  show("bad nsec", timerfd_settime(fd, 0, &badv, NULL));
  show("bad settime flags", timerfd_settime(fd, 4, &its, NULL));
  show("settime on eventfd", timerfd_settime(eventfd(0, 0), 0, &its, NULL));
  show("settime on bad fd", timerfd_settime(999, 0, &its, NULL));
  show("settime bad pointer", timerfd_settime(fd, 0, (struct itimerspec*)8, NULL));
  show("settime bad old pointer", timerfd_settime(fd, 0, &off, (struct itimerspec*)8));
  show("gettime bad pointer", timerfd_gettime(fd, (struct itimerspec*)8));
  struct itimerspec huge = {{0x7fffffffffffffffll, 999999999}, {0x7fffffffffffffffll, 999999999}};
  show("settime far future", timerfd_settime(fd, 0, &huge, NULL));
  timerfd_gettime(fd, &cur);
  fact("far future stays far", cur.it_value.tv_sec > 1000000000 && cur.it_interval.tv_sec > 1000000000);
  show("settime absolute far future", timerfd_settime(fd, TFD_TIMER_ABSTIME, &huge, NULL));
  show("poll far future", poll(&pfd, 1, 0));
  close(fd);

  fd = timerfd_create(CLOCK_REALTIME, 0);
  clock_gettime(CLOCK_REALTIME, &abs.it_value);
  abs.it_value.tv_nsec += 30000000;
  if (abs.it_value.tv_nsec >= 1000000000) {
    abs.it_value.tv_nsec -= 1000000000;
    abs.it_value.tv_sec++;
  }
  show("realtime absolute +30ms", timerfd_settime(fd, TFD_TIMER_ABSTIME, &abs, NULL));
  show("read", read(fd, &ticks, 8));
  printf("ticks: %llu\n", (unsigned long long)ticks);
  close(fd);

  fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
  int ep = epoll_create1(0);
  add(ep, fd, EPOLLIN, 77);
  its.it_value.tv_nsec = 30000000;
  its.it_interval.tv_nsec = 0;
  timerfd_settime(fd, 0, &its, NULL);
  show_wait("epoll before expiry", ep, 8, 0);
  show_wait("epoll waits for the boottime timer", ep, 8, -1);
  show("read", read(fd, &ticks, 8));
  printf("ticks: %llu\n", (unsigned long long)ticks);
  show("read again", read(fd, &ticks, 8));
  ticks = 5;
  show("TFD_IOC_SET_TICKS", ioctl(fd, TFD_IOC_SET_TICKS, &ticks));
  ticks = 0;
  show("TFD_IOC_SET_TICKS 0", ioctl(fd, TFD_IOC_SET_TICKS, &ticks));
  show_wait("epoll sees the ticks", ep, 8, 0);
  show("read", read(fd, &ticks, 8));
  printf("ticks: %llu\n", (unsigned long long)ticks);
  close(ep);

  // Edge-triggered: an interval timer nobody reads makes one edge (Linux restarts it on read).
  ep = epoll_create1(0);
  add(ep, fd, EPOLLIN | EPOLLET, 88);
  its.it_value.tv_nsec = 5000000;
  its.it_interval.tv_nsec = 5000000;
  timerfd_settime(fd, 0, &its, NULL);
  show_wait("ET interval first edge", ep, 8, -1);
  sleep_ms(30);
  show_wait("ET interval unread: no new edge", ep, 8, 0);
  read(fd, &ticks, 8);
  fact("ticks counted meanwhile", ticks >= 5);
  show_wait("ET interval after read", ep, 8, -1);
  close(ep);
  close(fd);
}

static void print_ssi(const char* what, const struct signalfd_siginfo* si) {
  printf("%s: signo %u code %d\n", what, si->ssi_signo, si->ssi_code);
}

static void child_exit3(long unused) { _exit(3); }

static void signalfd_tests(void) {
  printf("== signalfd\n");
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  sigaddset(&mask, SIGRTMIN + 1);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigaddset(&usr1, SIGRTMIN + 1);
  show("bad size", syscall(SYS_signalfd4, -1, &usr1, 4, 0));
  show("bad flags", syscall(SYS_signalfd4, -1, &usr1, 8, 1));
  show("bad mask pointer", syscall(SYS_signalfd4, -1, (void*)8, 8, 0));
  int fd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
  fact("SFD_CLOEXEC sets FD_CLOEXEC", fcntl(fd, F_GETFD) == FD_CLOEXEC);
  struct signalfd_siginfo si[4];
  show("read with nothing pending", read(fd, si, sizeof si));
  struct pollfd pfd = {fd, POLLIN, 0};
  show("poll with nothing pending", poll(&pfd, 1, 0));
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGRTMIN + 1);
  kill(getpid(), SIGRTMIN + 1);
  show("poll with SIGUSR1 pending", poll(&pfd, 1, 0));
  show("short read", read(fd, si, sizeof si[0] - 1));
  show("read", read(fd, si, sizeof si));
  print_ssi("first", &si[0]);
  fact("ssi_pid is ours", si[0].ssi_pid == (uint32_t)getpid());
  fact("ssi_uid is ours", si[0].ssi_uid == getuid());
  print_ssi("second", &si[1]);
  print_ssi("third", &si[2]);
  show("read one at a time", read(fd, si, sizeof si[0]));

  kill(getpid(), SIGUSR2);
  show("SIGUSR2 not in mask", read(fd, si, sizeof si));
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  show("update mask returns the same fd", signalfd(fd, &usr2, 0) == fd);
  show("read SIGUSR2", read(fd, si, sizeof si));
  print_ssi("got", &si[0]);
  show("update a non-signalfd", signalfd(0, &usr2, 0));
  show("update a bad fd", signalfd(999, &usr2, 0));

  fcntl(fd, F_SETFL, 0);
  pid_t pid = later(50, signal_parent, SIGUSR2);
  show("blocking read", read(fd, si, sizeof si));
  print_ssi("got", &si[0]);
  fact("sent by the child", si[0].ssi_pid == (uint32_t)pid);
  reap(pid);

  int ep = epoll_create1(0);
  add(ep, fd, EPOLLIN, 55);
  show_wait("epoll idle", ep, 8, 0);
  pid = later(50, signal_parent, SIGUSR2);
  show_wait("epoll woken by a signal", ep, 8, -1);
  reap(pid);
  read(fd, si, sizeof si);
  close(ep);

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  signalfd(fd, &chld, 0);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&chld, NULL, &zero) > 0) {  // SIGCHLDs of the earlier children
  }
  pid = later(0, child_exit3, 0);
  show("SIGCHLD", read(fd, si, sizeof si));
  printf("SIGCHLD: signo %u code %d status %d from child %s\n", si[0].ssi_signo, si[0].ssi_code,
         si[0].ssi_status, si[0].ssi_pid == (uint32_t)pid ? "yes" : "no");
  reap(pid);
  close(fd);
  sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

static long tcreate(clockid_t clock, struct sigevent* sev, int* id) {
  return syscall(SYS_timer_create, clock, sev, id);
}
static long tset(int id, int flags, const struct itimerspec* v, struct itimerspec* old) {
  return syscall(SYS_timer_settime, id, flags, v, old);
}

static void posix_timer_tests(void) {
  printf("== POSIX timers\n");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGALRM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);

  int id = -1;
  struct sigevent sev = {0};
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGUSR1;
  sev.sigev_value.sival_int = 42;
  show("create", tcreate(CLOCK_MONOTONIC, &sev, &id));
  struct itimerspec its = {0}, cur;
  its.it_value.tv_nsec = 20000000;
  show("settime 20ms", tset(id, 0, &its, NULL));
  syscall(SYS_timer_gettime, id, &cur);
  fact("remaining in (0, 20ms]", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
  siginfo_t info;
  int sig = sigwaitinfo(&usr1, &info);
  printf("signal %d code %s value %d timerid matches %s overrun %d\n", sig,
         info.si_code == SI_TIMER ? "SI_TIMER" : "other", info.si_value.sival_int,
         info.si_timerid == id ? "yes" : "no", info.si_overrun);
  syscall(SYS_timer_gettime, id, &cur);
  printf("after expiry value %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec);

  its.it_value.tv_nsec = 1000000;
  its.it_interval.tv_nsec = 1000000;
  tset(id, 0, &its, NULL);
  sleep_ms(30);
  sig = sigwaitinfo(&usr1, &info);
  fact("overrun counted while the signal was pending", info.si_overrun > 0);
  long ov = syscall(SYS_timer_getoverrun, id);
  fact("timer_getoverrun equals si_overrun", ov == info.si_overrun);
  struct itimerspec off = {0}, old;
  tset(id, 0, &off, &old);
  fact("old interval", old.it_interval.tv_nsec == 1000000);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&usr1, &info, &zero) > 0) {
  }
  show("delete", syscall(SYS_timer_delete, id));
  show("delete again", syscall(SYS_timer_delete, id));
  show("settime deleted", tset(id, 0, &its, NULL));
  show("gettime deleted", syscall(SYS_timer_gettime, id, &cur));

  show("create default event", tcreate(CLOCK_REALTIME, NULL, &id));
  struct itimerspec abs = {0};
  clock_gettime(CLOCK_REALTIME, &abs.it_value);
  abs.it_value.tv_nsec += 20000000;
  if (abs.it_value.tv_nsec >= 1000000000) {
    abs.it_value.tv_nsec -= 1000000000;
    abs.it_value.tv_sec++;
  }
  show("settime absolute realtime", tset(id, TIMER_ABSTIME, &abs, NULL));
  sigset_t alrm;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  sig = sigwaitinfo(&alrm, &info);
  printf("default event: signal %s value is the id %s\n", sig == SIGALRM ? "SIGALRM" : "other",
         info.si_value.sival_int == id ? "yes" : "no");
  syscall(SYS_timer_delete, id);

  sev.sigev_notify = SIGEV_NONE;
  show("create SIGEV_NONE", tcreate(CLOCK_MONOTONIC, &sev, &id));
  its.it_value.tv_sec = 1;
  its.it_value.tv_nsec = 0;
  its.it_interval.tv_sec = 2;
  its.it_interval.tv_nsec = 0;
  tset(id, 0, &its, NULL);
  syscall(SYS_timer_gettime, id, &cur);
  fact("SIGEV_NONE counts down", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0);
  fact("SIGEV_NONE interval", cur.it_interval.tv_sec == 2);
  pid_t pid = fork();
  if (pid == 0) {
    long r = syscall(SYS_timer_gettime, id, &cur);
    printf("child sees the parent's timer: %s\n", r == 0 ? "yes" : strerrorname_np(errno));
    fflush(stdout);
    _exit(0);
  }
  reap(pid);
  syscall(SYS_timer_delete, id);

  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGUSR1;
  sev._sigev_un._tid = gettid();
  show("create SIGEV_THREAD_ID", tcreate(CLOCK_MONOTONIC, &sev, &id));
  its.it_value.tv_sec = 0;
  its.it_value.tv_nsec = 10000000;
  its.it_interval.tv_sec = 0;
  tset(id, 0, &its, NULL);
  sig = sigwaitinfo(&usr1, &info);
  printf("thread-directed: signal %s\n", sig == SIGUSR1 ? "SIGUSR1" : "other");
  syscall(SYS_timer_delete, id);
  sev._sigev_un._tid = 999999;
  show("SIGEV_THREAD_ID bad tid", tcreate(CLOCK_MONOTONIC, &sev, &id));

  sev.sigev_notify = SIGEV_SIGNAL;
  show("bad clock", tcreate(99, &sev, &id));
  show("clock without timers", tcreate(CLOCK_MONOTONIC_RAW, &sev, &id));
  sev.sigev_signo = 0;
  show("bad signal", tcreate(CLOCK_MONOTONIC, &sev, &id));
  sev.sigev_signo = SIGUSR1;
  sev.sigev_notify = 99;
  show("bad notify", tcreate(CLOCK_MONOTONIC, &sev, &id));
  show("bad id", syscall(SYS_timer_getoverrun, 12345));
  sev.sigev_notify = SIGEV_NONE;
  tcreate(CLOCK_MONOTONIC, &sev, &id);
  struct itimerspec huge = {{0x7fffffffffffffffll, 999999999}, {0x7fffffffffffffffll, 999999999}};
  show("timer far future", tset(id, 0, &huge, NULL));
  syscall(SYS_timer_gettime, id, &cur);
  fact("timer far future stays far", cur.it_value.tv_sec > 1000000000);
  show("timer absolute far future", tset(id, TIMER_ABSTIME, &huge, NULL));
  syscall(SYS_timer_delete, id);
  show("bad sigevent pointer", tcreate(CLOCK_MONOTONIC, (struct sigevent*)8, &id));
  show("bad id pointer", tcreate(CLOCK_MONOTONIC, NULL, (int*)8));
  show("settime NULL value", tset(0, 0, NULL, NULL));
  sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static int thread_ep;
static void* epoll_waiter(void* arg) {
  struct epoll_event ev;
  int n = wait_events(thread_ep, &ev, 1, -1);
  printf("thread epoll_wait: %d [%llu %#x]\n", n, (unsigned long long)ev.data.u64, ev.events);
  return NULL;
}

static int thread_sfd;
static pthread_barrier_t barrier;
static void* signalfd_reader(void* arg) {
  pthread_barrier_wait(&barrier);  // main has sent us SIGUSR1
  struct signalfd_siginfo si;
  long r = read(thread_sfd, &si, sizeof si);
  printf("thread reads its own signal: %ld signo %u code %s\n", r, si.ssi_signo,
         si.ssi_code == SI_TKILL ? "SI_TKILL" : "other");
  pthread_barrier_wait(&barrier);
  return NULL;
}

static pid_t timer_thread_tid;
static void* timer_target(void* arg) {
  timer_thread_tid = gettid();
  pthread_barrier_wait(&barrier);  // the timer is being armed for us
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  siginfo_t info;
  int sig = sigwaitinfo(&usr2, &info);
  printf("timer signal reaches the thread: %s code %s\n", sig == SIGUSR2 ? "SIGUSR2" : "other",
         info.si_code == SI_TIMER ? "SI_TIMER" : "other");
  return NULL;
}

static void thread_tests(void) {
  printf("== threads\n");
  int p[2];
  pipe(p);
  thread_ep = epoll_create1(0);
  add(thread_ep, p[0], EPOLLIN, 99);
  pthread_t th;
  pthread_create(&th, NULL, epoll_waiter, NULL);
  sleep_ms(50);
  write(p[1], "x", 1);
  pthread_join(th, NULL);
  close(thread_ep);
  close(p[0]);
  close(p[1]);

  sigset_t usr;
  sigemptyset(&usr);
  sigaddset(&usr, SIGUSR1);
  sigaddset(&usr, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr, NULL);
  thread_sfd = signalfd(-1, &usr, SFD_NONBLOCK);
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_create(&th, NULL, signalfd_reader, NULL);
  pthread_kill(th, SIGUSR1);
  struct pollfd pfd = {thread_sfd, POLLIN, 0};
  show("main polls: the thread's signal is not its own", poll(&pfd, 1, 0));
  pthread_barrier_wait(&barrier);
  pthread_barrier_wait(&barrier);
  struct signalfd_siginfo si;
  show("main cannot read the thread's signal", read(thread_sfd, &si, sizeof si));
  pthread_join(th, NULL);
  close(thread_sfd);

  pthread_create(&th, NULL, timer_target, NULL);
  pthread_barrier_wait(&barrier);
  struct sigevent sev = {0};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGUSR2;
  sev._sigev_un._tid = timer_thread_tid;
  int id;
  show("create for the thread", syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id));
  struct itimerspec its = {{0, 0}, {0, 20000000}};
  syscall(SYS_timer_settime, id, 0, &its, NULL);
  pthread_join(th, NULL);
  syscall(SYS_timer_delete, id);
  pthread_barrier_destroy(&barrier);
  sigprocmask(SIG_UNBLOCK, &usr, NULL);
}

// glibc's SIGEV_THREAD: a helper thread waits for the timer's signal (SIGEV_THREAD_ID in
// the kernel) and runs the callback in a new thread.
static int callback_pipe[2];
static void timer_callback(union sigval v) {
  char c = (char)v.sival_int;
  (void)!write(callback_pipe[1], &c, 1);
}

static void sigev_thread_tests(void) {
  printf("== SIGEV_THREAD\n");
  pipe(callback_pipe);
  struct sigevent sev = {0};
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_notify_function = timer_callback;
  sev.sigev_value.sival_int = 7;
  timer_t timer;
  show("timer_create", timer_create(CLOCK_MONOTONIC, &sev, &timer));
  struct itimerspec its = {{0, 10000000}, {0, 10000000}};
  show("timer_settime", timer_settime(timer, 0, &its, NULL));
  char c[3] = {0};
  for (int i = 0; i < 3; i++) (void)!read(callback_pipe[0], &c[i], 1);
  printf("callbacks ran with values %d %d %d\n", c[0], c[1], c[2]);
  show("timer_delete", timer_delete(timer));
  close(callback_pipe[0]);
  close(callback_pipe[1]);
}

// exec: POSIX timers are dropped; eventfds survive unless close-on-exec.
static void exec_tests(void) {
  printf("== exec\n");
  struct sigevent sev = {0};
  sev.sigev_notify = SIGEV_NONE;
  int id;
  syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
  int keep = eventfd(5, 0), drop = eventfd(6, EFD_CLOEXEC);
  char ids[3][16];
  snprintf(ids[1], sizeof ids[1], "%d", keep);
  snprintf(ids[2], sizeof ids[2], "%d", drop);
  pid_t pid = fork();
  if (pid == 0) {  // a timer of the exec'ing process itself (a fork child starts with none)
    int own;
    syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &own);
    snprintf(ids[0], sizeof ids[0], "%d", own);
    execl(program_path, program_path, "after_exec", ids[0], ids[1], ids[2], (char*)NULL);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("exec child exit: %d\n", WEXITSTATUS(st));
  struct itimerspec cur;
  show("the parent keeps its timer", syscall(SYS_timer_gettime, id, &cur));
}

static int after_exec(char** argv) {
  struct itimerspec cur;
  uint64_t v = 0;
  show("timer after exec", syscall(SYS_timer_gettime, atoi(argv[2]), &cur));
  show("eventfd after exec", read(atoi(argv[3]), &v, 8));
  printf("value: %llu\n", (unsigned long long)v);
  show("close-on-exec eventfd after exec", read(atoi(argv[4]), &v, 8));
  return 3;
}

// Random operations on every kind of event file (nested epolls, closes under epoll, dups,
// forks): nothing is printed but the end, the point is that the kernel survives it all.
static unsigned rng_state = 12345;
static unsigned rng(unsigned n) {
  rng_state = rng_state * 1103515245u + 12345u;
  return (rng_state >> 16) % n;
}

static void stress_tests(void) {
  printf("== stress\n");
  if (getenv("EVENTS_SEED")) rng_state = (unsigned)atoi(getenv("EVENTS_SEED"));
  enum { kSlots = 24 };
  int fds[kSlots];
  for (int i = 0; i < kSlots; i++) fds[i] = -1;
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  for (int op = 0; op < 6000; op++) {
    int slot = rng(kSlots), other = fds[rng(kSlots)];
    int kind = rng(12);
    if (kind >= 5 && kind <= 7)  // epoll operations: prefer a slot that holds an epoll
      for (int i = 0; i < kSlots; i++) {
        struct epoll_event probe;
        int s2 = (slot + i) % kSlots;
        if (fds[s2] >= 0 && epoll_wait(fds[s2], &probe, 1, 0) >= 0) {
          slot = s2;
          break;
        }
      }
    int fd = fds[slot];
    switch (kind) {
      case 0: {
        if (fd >= 0) close(fd);
        int p[2];
        if (pipe2(p, O_NONBLOCK) == 0) {
          fds[slot] = p[0];
          int s2 = rng(kSlots);
          if (fds[s2] >= 0 && s2 != slot) close(fds[s2]);
          fds[s2 == slot ? (slot + 1) % kSlots : s2] = p[1];
        }
        break;
      }
      case 1: if (fd >= 0) close(fd); fds[slot] = epoll_create1(0); break;
      case 2: if (fd >= 0) close(fd); fds[slot] = eventfd(rng(3), EFD_NONBLOCK | (rng(2) ? EFD_SEMAPHORE : 0)); break;
      case 3: {
        if (fd >= 0) close(fd);
        fds[slot] = timerfd_create(rng(2) ? CLOCK_MONOTONIC : CLOCK_REALTIME, TFD_NONBLOCK);
        struct itimerspec its = {{0, rng(2) ? 1000 + rng(100000) : 0}, {0, 1 + rng(2000000)}};
        timerfd_settime(fds[slot], 0, &its, NULL);
        break;
      }
      case 4: {
        if (fd >= 0) close(fd);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGUSR1 + rng(2));
        fds[slot] = signalfd(-1, &m, SFD_NONBLOCK);
        break;
      }
      case 5: case 6: {
        struct epoll_event ev = {.events = (rng(2) ? EPOLLIN : 0) | (rng(2) ? EPOLLOUT : 0) | (rng(2) ? EPOLLET : 0) |
                                           (rng(4) == 0 ? EPOLLONESHOT : 0), .data.u64 = op};
        epoll_ctl(fd, EPOLL_CTL_ADD + rng(3), other, &ev);
        break;
      }
      case 7: {
        struct epoll_event evs[4];
        epoll_wait(fd, evs, 1 + rng(4), 0);
        break;
      }
      case 8: {
        uint64_t v = 1 + rng(5);
        if (rng(2)) (void)!write(fd, &v, 8);
        else (void)!read(fd, &v, 8);
        break;
      }
      case 9: if (fd >= 0) { close(fd); fds[slot] = -1; } break;
      case 10: if (other >= 0) { if (fd >= 0) close(fd); fds[slot] = dup(other); } break;
      case 11: {
        if (rng(8)) {
          kill(getpid(), SIGUSR1 + rng(2));
          break;
        }
        struct pollfd pfd[kSlots];
        for (int i = 0; i < kSlots; i++) pfd[i] = (struct pollfd){fds[i], POLLIN | POLLOUT, 0};
        poll(pfd, kSlots, 0);
        pid_t pid = fork();
        if (pid == 0) {  // the child works on the shared files and exits with them open
          struct epoll_event evs[4];
          for (int i = 0; i < kSlots; i++) epoll_wait(fds[i], evs, 4, 0);
          _exit(0);
        }
        reap(pid);
        break;
      }
    }
  }
  for (int i = 0; i < kSlots; i++)
    if (fds[i] >= 0) close(fds[i]);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&all, NULL, &zero) > 0) {
  }
  sigprocmask(SIG_UNBLOCK, &all, NULL);
  printf("survived\n");
}

static void show_link(const char* what, int fd) {
  char path[64], target[128];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  target[n < 0 ? 0 : n] = 0;
  printf("%s: %s\n", what, n < 0 ? strerrorname_np(errno) : target);
  close(fd);
}

static void proc_links(void) {
  printf("== /proc/self/fd links\n");
  sigset_t none;
  sigemptyset(&none);
  show_link("epoll", epoll_create1(0));
  show_link("eventfd", eventfd(0, 0));
  show_link("timerfd", timerfd_create(CLOCK_MONOTONIC, 0));
  show_link("signalfd", signalfd(-1, &none, 0));
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  program_path = argv[0];
  if (argc == 5 && strcmp(argv[1], "after_exec") == 0) return after_exec(argv);
  const char* only = argc > 1 ? argv[1] : NULL;
  struct { const char* name; void (*fn)(void); } parts[] = {
      {"epoll_errors", epoll_errors}, {"epoll_triggers", epoll_triggers},
      {"epoll_order", epoll_order_and_lifetime}, {"epoll_nested", epoll_nested},
      {"epoll_blocking", epoll_blocking}, {"eventfd", eventfd_tests}, {"timerfd", timerfd_tests},
      {"signalfd", signalfd_tests}, {"posix_timers", posix_timer_tests}, {"threads", thread_tests},
      {"exec", exec_tests}, {"sigev_thread", sigev_thread_tests}, {"stress", stress_tests},
      {"proc_links", proc_links},
  };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (!only || strcmp(only, parts[i].name) == 0) parts[i].fn();
  printf("done\n");
  return 0;
}
