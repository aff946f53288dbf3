// Attacks on the VM's limits from inside: signals to init, non-canonical segment bases,
// process limits, memory limits. Every attempt prints "ok: WHAT" or "FAIL: WHAT (detail)";
// tests/e2e/umkernel_limits.bats counts them. Parts are chosen by the first argument.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(const char* what, int ok, const char* detail) {
  if (ok) printf("ok: %s\n", what);
  else {
    printf("FAIL: %s (%s)\n", what, detail ? detail : strerrorname_np(errno));
    failures++;
  }
  fflush(stdout);
}

static void expect_errno(const char* what, long r, int err) {
  char detail[96];
  snprintf(detail, sizeof detail, "returned %ld, errno %s", r, r < 0 ? strerrorname_np(errno) : "-");
  check(what, r < 0 && errno == err, detail);
}

static void expect_zero(const char* what, long r) {
  char detail[96];
  snprintf(detail, sizeof detail, "returned %ld, errno %s", r, r < 0 ? strerrorname_np(errno) : "-");
  check(what, r == 0, detail);
}

// ---------------------------------------------------------------------------------------
// Signals to init (run as PID 1): Linux's SIGNAL_UNKILLABLE drops every signal init leaves
// at SIG_DFL, from its children and from the kernel alike.

static volatile sig_atomic_t usr2_seen;
static void on_usr2(int sig) { usr2_seen = 1; }

static void init_signals(void) {
  if (getpid() != 1) {
    check("runs as init", 0, "not PID 1");
    return;
  }
  // A child in init's process group stops the whole group: itself, never init.
  pid_t c = fork();
  if (c == 0) {
    kill(0, SIGSTOP);
    _exit(7);
  }
  int st;
  check("kill(0, SIGSTOP) from a child stops the child", waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st), "not stopped");
  kill(c, SIGKILL);
  waitpid(c, &st, 0);
  check("kill(0, SIGSTOP) from a child leaves init running", 1, NULL);

  // A child throws every default-action signal at init by every route; all report success.
  static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE,
                             SIGKILL, SIGUSR1, SIGSEGV, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT,
                             SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGXCPU, SIGXFSZ, SIGVTALRM,
                             SIGPROF, SIGIO, SIGPWR, SIGSYS, 34, 50, 64};
  int n = sizeof sigs / sizeof *sigs;
  int pipefd[2];
  pipe(pipefd);
  c = fork();
  if (c == 0) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
      siginfo_t si = {0};
      si.si_code = SI_QUEUE;
      si.si_pid = getpid();
      if (kill(1, sigs[i]) != 0) bad = 100 + sigs[i];
      if (syscall(SYS_tkill, 1, sigs[i]) != 0) bad = 200 + sigs[i];
      if (syscall(SYS_tgkill, 1, 1, sigs[i]) != 0) bad = 300 + sigs[i];
      if (syscall(SYS_rt_sigqueueinfo, 1, sigs[i], &si) != 0) bad = 400 + sigs[i];
    }
    write(pipefd[1], &bad, sizeof bad);
    _exit(0);
  }
  int bad = -1;
  read(pipefd[0], &bad, sizeof bad);
  waitpid(c, &st, 0);
  char detail[64];
  snprintf(detail, sizeof detail, "route %d failed for signal %d", bad / 100, bad % 100);
  check("kill, tkill, tgkill and rt_sigqueueinfo to init report success", bad == 0, detail);
  for (int i = 0; i < n; i++) {
    char what[96];
    snprintf(what, sizeof what, "signal %d (%s) at SIG_DFL from a child does not reach init", sigs[i], sigabbrev_np(sigs[i]) ? sigabbrev_np(sigs[i]) : "RT");
    sigset_t pend;
    sigpending(&pend);
    check(what, !sigismember(&pend, sigs[i]), "left pending");
  }
  close(pipefd[0]);
  close(pipefd[1]);

  // The process group route: kill(0, sig) from a child reaches the child, not init.
  static const int group_sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGTSTP, SIGKILL};
  for (size_t i = 0; i < sizeof group_sigs / sizeof *group_sigs; i++) {
    c = fork();
    if (c == 0) {
      kill(0, group_sigs[i]);
      if (group_sigs[i] == SIGTSTP) _exit(0);  // resumed below
      for (;;) pause();
    }
    waitpid(c, &st, WUNTRACED);
    if (WIFSTOPPED(st)) {
      kill(c, SIGKILL);
      waitpid(c, &st, 0);
    }
    char what[96];
    snprintf(what, sizeof what, "kill(0, %s) from a child ends the child, not init", sigabbrev_np(group_sigs[i]));
    check(what, WIFSIGNALED(st) || WIFEXITED(st), "child not ended");
  }

  // The kernel's own signals: SIGPIPE on a write to a pipe without readers.
  pipe(pipefd);
  close(pipefd[0]);
  errno = 0;
  long w = write(pipefd[1], "x", 1);
  expect_errno("a write to a broken pipe gives init EPIPE, not SIGPIPE's death", w, EPIPE);
  close(pipefd[1]);

  // A signal init blocks is queued (it may take a handler first): sigtimedwait gets it.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  c = fork();
  if (c == 0) {
    kill(1, SIGUSR1);
    _exit(0);
  }
  waitpid(c, &st, 0);
  struct timespec ts = {5, 0};
  check("a signal init blocks is queued for sigtimedwait", sigtimedwait(&set, NULL, &ts) == SIGUSR1, "not received");
  // Blocked and still at SIG_DFL when unblocked: dropped at delivery.
  c = fork();
  if (c == 0) {
    kill(1, SIGUSR1);
    _exit(0);
  }
  waitpid(c, &st, 0);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  check("a blocked default-action signal is dropped when init unblocks it", 1, NULL);

  // A signal with a handler is delivered.
  signal(SIGUSR2, on_usr2);
  c = fork();
  if (c == 0) {
    kill(1, SIGUSR2);
    _exit(0);
  }
  waitpid(c, &st, 0);
  for (int i = 0; i < 100 && !usr2_seen; i++) usleep(10000);
  check("a signal init handles is delivered", usr2_seen, "handler not run");
}

// ---------------------------------------------------------------------------------------
// arch_prctl: segment bases at or above TASK_SIZE_MAX are refused with EPERM (as on Linux).

static void arch_prctl_bases(void) {
  static const uint64_t bad[] = {0x7ffffffff000ull, 1ull << 47, 0x800000000000ull + 4096,
                                 0xffff800000000000ull, 0x8000000000000000ull, ~0ull};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char what[96];
    snprintf(what, sizeof what, "ARCH_SET_FS 0x%llx is refused with EPERM", (unsigned long long)bad[i]);
    expect_errno(what, syscall(SYS_arch_prctl, ARCH_SET_FS, bad[i]), EPERM);
    snprintf(what, sizeof what, "ARCH_SET_GS 0x%llx is refused with EPERM", (unsigned long long)bad[i]);
    expect_errno(what, syscall(SYS_arch_prctl, ARCH_SET_GS, bad[i]), EPERM);
  }
  uint64_t gs = 0;
  expect_zero("ARCH_SET_GS just below TASK_SIZE_MAX is accepted", syscall(SYS_arch_prctl, ARCH_SET_GS, 0x7fffffffe000ull));
  syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
  check("ARCH_GET_GS reads it back", gs == 0x7fffffffe000ull, "other value");
  syscall(SYS_arch_prctl, ARCH_SET_GS, 0);
  uint64_t fs = 0;
  syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
  check("the refused ARCH_SET_FS left FS alone (TLS still works)", fs != 0, "FS cleared");
}

// ---------------------------------------------------------------------------------------
// Process limits.

static void* idle_thread(void* arg) {
  for (;;) pause();
  return NULL;
}

// Forks children that wait on a pipe until it closes; returns how many forks succeeded
// before the first failure (its errno in *err), at most `max`.
static int fork_until_refused(int max, int* err, pid_t* pids) {
  int n = 0;
  *err = 0;
  while (n < max) {
    pid_t c = fork();
    if (c < 0) {
      *err = errno;
      break;
    }
    if (c == 0) {
      for (;;) pause();
    }
    pids[n++] = c;
  }
  return n;
}

static void kill_all(pid_t* pids, int n) {
  for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
  for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
}

static void nproc(void) {
  static pid_t pids[8192];
  int err;
  // RLIMIT_NPROC counts the tasks of the real user; root is exempt (CAP_SYS_RESOURCE).
  struct rlimit rl = {6, 6};
  expect_zero("setrlimit(RLIMIT_NPROC, 6)", setrlimit(RLIMIT_NPROC, &rl));
  int n = fork_until_refused(10, &err, pids);
  check("root is not held to RLIMIT_NPROC", n == 10, "refused");
  kill_all(pids, n);

  pid_t c = fork();
  if (c == 0) {
    if (setuid(1000) != 0) _exit(99);
    int n = fork_until_refused(100, &err, pids);
    char detail[64];
    snprintf(detail, sizeof detail, "%d forks, errno %s", n, strerrorname_np(err));
    check("a user with RLIMIT_NPROC 6 gets 5 children (itself counts)", n == 5, detail);
    check("the next fork fails with EAGAIN", err == EAGAIN, detail);
    pthread_t th;
    int r = pthread_create(&th, NULL, idle_thread, NULL);
    check("a thread past RLIMIT_NPROC fails with EAGAIN", r == EAGAIN, strerrorname_np(r));
    kill_all(pids, 1);
    r = pthread_create(&th, NULL, idle_thread, NULL);
    check("a thread counts as a task: one freed slot lets one thread in", r == 0, strerrorname_np(r));
    n = fork_until_refused(100, &err, pids + 1);
    check("and then no fork", n == 0 && err == EAGAIN, strerrorname_np(err));
    kill_all(pids + 1, 4);
    n = fork_until_refused(3, &err, pids);
    check("children gone, forks work again", n == 3, strerrorname_np(err));
    kill_all(pids, n);
    _exit(failures ? 1 : 0);
  }
  int st;
  waitpid(c, &st, 0);
  check("the limited user's checks ran", WIFEXITED(st) && WEXITSTATUS(st) != 99, "setuid failed");
  if (WIFEXITED(st) && WEXITSTATUS(st) == 1) failures++;
}

// A fork bomb against the VM-wide task cap (umkernel's tasks= option): forks stop with
// EAGAIN, the VM stays usable. Prints the number of tasks reached.
static void forkbomb(void) {
  static pid_t pids[65536];
  int err;
  int n = fork_until_refused(65536, &err, pids);
  printf("forks: %d\n", n);
  check("a fork bomb stops with EAGAIN", err == EAGAIN, strerrorname_np(err));
  pthread_t th;
  int r = pthread_create(&th, NULL, idle_thread, NULL);
  check("threads stop at the cap as well", r == EAGAIN, strerrorname_np(r));
  kill_all(pids, n);
  int m = fork_until_refused(n, &err, pids);
  char detail[64];
  snprintf(detail, sizeof detail, "%d of %d", m, n);
  check("after the bomb the same number of forks works again", m == n, detail);
  kill_all(pids, m);
  pid_t c = fork();
  if (c == 0) {
    execl("/bin/true", "true", (char*)NULL);
    _exit(127);
  }
  int st;
  waitpid(c, &st, 0);
  check("and programs still run", c > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec failed");
}

// ---------------------------------------------------------------------------------------
// Memory (run with mem=64M): nothing the guest does makes the host hold more than that.

#define MB (1024l * 1024)

static long touch_until_refused(long max_mb) {
  long n = 0;
  while (n < max_mb) {
    char* p = malloc(MB);
    if (!p) break;
    memset(p, 1, MB);
    n++;
  }
  return n;
}

static void mem_single(long mem_mb) {
  errno = 0;
  long n = touch_until_refused(2048);
  char detail[64];
  snprintf(detail, sizeof detail, "%ld MB, errno %s", n, strerrorname_np(errno));
  check("one process allocating and touching 2 GB is refused before mem=", n < mem_mb && errno == ENOMEM, detail);
  void* big = mmap(NULL, 1l << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_errno("a 1 GB private mapping is refused with ENOMEM", big == MAP_FAILED ? -1 : 0, ENOMEM);
  big = mmap(NULL, 1l << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  expect_errno("MAP_NORESERVE does not get around it", big == MAP_FAILED ? -1 : 0, ENOMEM);
  long b = 0;
  while (b < 2048 && sbrk(MB) != (void*)-1) b++;
  snprintf(detail, sizeof detail, "%ld MB, errno %s", b, strerrorname_np(errno));
  check("brk stops with ENOMEM before mem=", b < mem_mb && errno == ENOMEM, detail);
}

// Children that each stay under mem= but together do not: the OOM killer ends some of them
// (SIGKILL), never init, until what is left fits.
static void mem_many(long mem_mb) {
  enum { kChildren = 8 };
  long each = mem_mb / 4;  // 8 x mem/4 = 2 x mem
  pid_t pids[kChildren];
  int ready[2];
  pipe(ready);
  for (int i = 0; i < kChildren; i++) {
    pids[i] = fork();
    if (pids[i] == 0) {
      touch_until_refused(each);
      write(ready[1], "x", 1);
      for (;;) pause();
    }
  }
  close(ready[1]);
  int alive = kChildren, killed = 0, st;
  // Each child reports once it touched all its memory, or dies first.
  char c;
  int reported = 0;
  for (int waited = 0; waited < 600 && reported + killed < kChildren; waited++) {
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    fcntl(ready[0], F_SETFL, O_NONBLOCK);
    while (read(ready[0], &c, 1) == 1) reported++;
    for (int i = 0; i < kChildren; i++)
      if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) killed++;
        pids[i] = 0;
        alive--;
      }
  }
  // Those still alive fit: give the killer a few periods to finish its work.
  for (int waited = 0; waited < 100 && alive * each > mem_mb; waited++) {
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    for (int i = 0; i < kChildren; i++)
      if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) killed++;
        pids[i] = 0;
        alive--;
      }
  }
  char detail[96];
  snprintf(detail, sizeof detail, "%d alive x %ld MB, %d killed, mem %ld MB", alive, each, killed, mem_mb);
  check("the OOM killer ends guest processes until the rest fit in mem=", alive * each <= mem_mb, detail);
  check("it killed with SIGKILL", killed >= kChildren - mem_mb / each, detail);
  for (int i = 0; i < kChildren; i++)
    if (pids[i] > 0) {
      kill(pids[i], SIGKILL);
      waitpid(pids[i], NULL, 0);
    }
  long n = touch_until_refused(each);
  check("with them gone the memory is usable again", n == each, NULL);
}

static void mem_files(long mem_mb) {
  mkdir("/mnt", 0755);
  expect_zero("mount a tmpfs with size=1G", mount("tmpfs", "/mnt", "tmpfs", 0, "size=1G"));
  struct statfs sf;
  statfs("/mnt", &sf);
  char detail[96];
  snprintf(detail, sizeof detail, "%ld MB", (long)(sf.f_blocks * sf.f_bsize / MB));
  check("its size is bounded by mem=", (long)(sf.f_blocks * sf.f_bsize) <= mem_mb * MB, detail);
  static char buf[1 << 20];
  memset(buf, 7, sizeof buf);
  int fd = open("/mnt/fill", O_CREAT | O_WRONLY, 0644);
  long n = 0;
  while (n < 2048 && write(fd, buf, sizeof buf) == sizeof buf) n++;
  snprintf(detail, sizeof detail, "%ld MB, errno %s", n, strerrorname_np(errno));
  // mem= bounds tmpfs and memfd data together (ENOSPC past it); whether other charged memory
  // leaves less than all of it free depends on what else the VM holds at that moment.
  check("tmpfs writes stop with ENOSPC at mem=", n <= mem_mb && errno == ENOSPC, detail);
  close(fd);
  int mfd = memfd_create("fill", 0);
  long m = 0;
  while (m < 2048 && write(mfd, buf, sizeof buf) == sizeof buf) m++;
  snprintf(detail, sizeof detail, "tmpfs %ld MB + memfd %ld MB, errno %s", n, m, strerrorname_np(errno));
  check("memfd data is held to what is left of mem=, ENOSPC", n + m <= mem_mb && errno == ENOSPC, detail);
  expect_errno("ftruncate of a memfd past mem= fails", ftruncate(mfd, 4l << 30), ENOSPC);
  expect_errno("fallocate-free sparse growth is charged too", ftruncate(mfd, (long)mem_mb * MB), ENOSPC);
  unlink("/mnt/fill");
  long m2 = 0;
  while (m2 < n && write(mfd, buf, sizeof buf) == sizeof buf) m2++;
  snprintf(detail, sizeof detail, "%ld of %ld MB", m2, n);
  // Other memory the VM is charged for moves by a few MB between these steps (seen: 62 of 64),
  // so "given back" means all but that: a file whose memory stayed charged would give 0.
  check("a removed tmpfs file gives its memory back", m2 >= n - 4, detail);
  close(mfd);
  umount("/mnt");
}

// Pipe contents and unix socket queues are kernel memory the guest makes umkernel hold: they
// count against mem= (ENOMEM / ENOBUFS past it) and are given back when the files close.
static long fill_pipes(long limit, int* fds, int* nfds, int* err) {
  static char buf[1 << 20];
  memset(buf, 5, sizeof buf);
  long held = 0;
  *nfds = 0;
  *err = 0;
  while (held < limit && *nfds < 1000) {
    int p[2];
    if (pipe2(p, O_NONBLOCK) != 0) { *err = errno; break; }
    fds[(*nfds)++] = p[0];
    fds[(*nfds)++] = p[1];
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    ssize_t w = write(p[1], buf, sizeof buf);
    if (w < 0) { *err = errno; break; }
    held += w;
  }
  return held;
}

static long fill_sockets(long limit, int* fds, int* nfds, int* err) {
  static char buf[65536];
  memset(buf, 6, sizeof buf);
  long held = 0;
  *nfds = 0;
  *err = 0;
  while (held < limit && *nfds < 1000) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) { *err = errno; break; }
    fds[(*nfds)++] = sv[0];
    fds[(*nfds)++] = sv[1];
    ssize_t w;
    while ((w = write(sv[0], buf, sizeof buf)) > 0) held += w;
    if (errno != EAGAIN) { *err = errno; break; }
  }
  return held;
}

static void close_all(int* fds, int n) {
  for (int i = 0; i < n; i++) close(fds[i]);
}

static void mem_buffers(long mem_mb) {
  static int fds[1000];
  int n = 0, err = 0;
  char detail[128];
  long limit = 4 * mem_mb * MB;
  long held = fill_pipes(limit, fds, &n, &err);
  snprintf(detail, sizeof detail, "%d pipes hold %ld MB, errno %s", n / 2, held / MB, strerrorname_np(err));
  check("pipes filled with data stop at mem= with ENOMEM", err == ENOMEM && held <= mem_mb * MB, detail);
  close_all(fds, n);
  long again = fill_pipes(limit, fds, &n, &err);
  snprintf(detail, sizeof detail, "%ld MB, then %ld MB", held / MB, again / MB);
  check("closed pipes give their memory back", again >= held - 8 * MB, detail);
  close_all(fds, n);
  held = fill_sockets(limit, fds, &n, &err);
  snprintf(detail, sizeof detail, "%d socket pairs hold %ld MB, errno %s", n / 2, held / MB, strerrorname_np(err));
  check("unix socket queues stop at mem= with ENOBUFS", err == ENOBUFS && held <= mem_mb * MB, detail);
  close_all(fds, n);
  again = fill_sockets(limit, fds, &n, &err);
  snprintf(detail, sizeof detail, "%ld MB, then %ld MB", held / MB, again / MB);
  check("closed sockets give their memory back", again >= held - 8 * MB, detail);
  close_all(fds, n);
}

// The host's disk fills under the image: writes and fsync fail (ENOSPC or EIO), nothing
// crashes, and the guest carries on.
static void diskfull(const char* path) {
  static char buf[1 << 20];
  memset(buf, 9, sizeof buf);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  long mb = 0;
  int err = 0;
  for (; mb < 4096; mb++) {
    errno = 0;
    ssize_t w = write(fd, buf, sizeof buf);
    if (w >= 0 && w < (ssize_t)sizeof buf) w = write(fd, buf, sizeof buf);  // short: then the error
    if (w != sizeof buf) {
      err = errno;
      printf("write returned %zd (%s)\n", w, strerrorname_np(err));
      break;
    }
    if (mb % 8 == 7 && fsync(fd) != 0) { err = errno; break; }
  }
  char detail[96];
  snprintf(detail, sizeof detail, "after %ld MB: %s", mb, strerrorname_np(err));
  check("writing past the host's free space fails with ENOSPC or EIO", err == ENOSPC || err == EIO, detail);
  close(fd);
  printf("alive after the failure\n");
  fflush(stdout);
}

// A tree-shaped fork bomb that never gives up: every process forks forever, retrying after
// EAGAIN. The caller waits for a line on stdin (the host counts host processes meanwhile),
// then kills it with kill(-1, SIGKILL) until nothing is left and checks the VM works.
static void bombtree(void) {
  pid_t root = fork();
  if (root == 0) {
    for (;;)
      if (fork() < 0) usleep(2000);
  }
  check("the bomb started", root > 0, NULL);
  printf("bombing\n");
  char line[16];
  read(0, line, sizeof line);
  int sweeps = 0;
  while (kill(-1, SIGKILL) == 0) sweeps++;
  while (waitpid(-1, NULL, 0) > 0) {
  }
  check("kill(-1, SIGKILL) ends the bomb", errno == ECHILD, NULL);
  printf("sweeps: %d\n", sweeps);
  pid_t c = fork();
  if (c == 0) {
    execl("/bin/true", "true", (char*)NULL);
    _exit(127);
  }
  int st = 0;
  waitpid(c, &st, 0);
  check("after the bomb programs run again", c > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec failed");
}

// Tries to reach ADDR: a TCP connection to TCPPORT (3 s) and datagrams to UDPPORT. Prints
// what happened; the host side knows what arrived.
static void reach(const char* addr, int tcp_port, int udp_port) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, addr, &a.sin_addr);
  a.sin_port = htons(tcp_port);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {3, 0};
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int r = connect(s, (struct sockaddr*)&a, sizeof a);
  if (r == 0) write(s, "guest-was-here\n", 15);
  printf("tcp %s:%d: %s\n", addr, tcp_port, r == 0 ? "connected" : "failed");
  close(s);
  s = socket(AF_INET, SOCK_DGRAM, 0);
  a.sin_port = htons(udp_port);
  for (int i = 0; i < 3; i++) sendto(s, "guest-was-here\n", 15, 0, (struct sockaddr*)&a, sizeof a);
  close(s);
  usleep(300000);
  printf("udp %s:%d: sent\n", addr, udp_port);
}

// A write-heavy workload for the crash campaign (tests/e2e/umkernel_crash.bats): in DIR,
// files are written to a temporary name, fsync'd, renamed into place and the directory
// fsync'd; a log is appended and fsync'd; scratch files are written, overwritten and removed
// without fsync. Prints "SYNCED NAME SIZE" and "LOG SIZE" only once durable: whatever the
// host saw printed before it killed umkernel must be in the image.
static unsigned char content(int file, long k) { return (unsigned char)(file * 31 + k * 7 + (k >> 8)); }

static void write_all(int fd, const unsigned char* p, long n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= w;
  }
}

static void writer(const char* dir, int seed) {
  srand(seed);
  mkdir(dir, 0755);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  char path[256], tmp[256];
  static unsigned char buf[256 * 1024];
  snprintf(path, sizeof path, "%s/log", dir);
  int log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  long log_size = 0;
  printf("START\n");
  for (int i = 0;; i++) {
    long size = 1 + rand() % (i % 7 == 0 ? sizeof buf : 16384);
    for (long k = 0; k < size; k++) buf[k] = content(i, k);
    snprintf(tmp, sizeof tmp, "%s/tmp.%d", dir, i);
    snprintf(path, sizeof path, "%s/f.%d", dir, i);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_all(fd, buf, size);
    if (fsync(fd) != 0) printf("fsync failed: %s\n", strerror(errno));
    close(fd);
    rename(tmp, path);
    fsync(dfd);
    printf("SYNCED f.%d %ld\n", i, size);
    char line[64];
    int n = snprintf(line, sizeof line, "entry %d size %ld\n", i, size);
    write(log, line, n);
    fsync(log);
    log_size += n;
    printf("LOG %ld\n", log_size);
    // Churn that is never synced: scratch files written, overwritten, renamed over, removed.
    snprintf(tmp, sizeof tmp, "%s/scratch.%d", dir, i % 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_all(fd, buf, rand() % sizeof buf);
    close(fd);
    if (i % 3 == 0) unlink(tmp);
    if (i % 4 == 0) {
      snprintf(path, sizeof path, "%s/scratch.%d", dir, (i + 1) % 5);
      rename(tmp, path);
    }
  }
}

// Creates and drops kernel objects N times (threads, sockets, pipes, event files, children,
// /proc reads) for the leak check, which watches umkernel's RSS and fds from the host.
static void churn(int n) {
  for (int i = 0; i < n; i++) {
    pthread_t th;
    if (pthread_create(&th, NULL, (void* (*)(void*))getpid, NULL) == 0) pthread_join(th, NULL);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
      write(sv[0], "x", 1);
      close(sv[0]);
      close(sv[1]);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0) {
      struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
      bind(s, (struct sockaddr*)&a, sizeof a);
      listen(s, 1);
      close(s);
    }
    s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s >= 0) close(s);
    int p[2];
    if (pipe(p) == 0) {
      close(p[0]);
      close(p[1]);
    }
    pid_t c = fork();
    if (c == 0) _exit(0);
    if (c > 0) waitpid(c, NULL, 0);
    int fd = open("/proc/self/stat", O_RDONLY);
    if (fd >= 0) {
      char buf[512];
      read(fd, buf, sizeof buf);
      close(fd);
    }
    char link[64];
    readlink("/proc/self/exe", link, sizeof link);
  }
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char* part = argc > 1 ? argv[1] : "";
  if (!strcmp(part, "init_signals")) init_signals();
  else if (!strcmp(part, "arch_prctl")) arch_prctl_bases();
  else if (!strcmp(part, "nproc")) nproc();
  else if (!strcmp(part, "forkbomb")) forkbomb();
  else if (!strcmp(part, "bombtree")) bombtree();
  else if (!strcmp(part, "mem_single")) mem_single(atol(argv[2]));
  else if (!strcmp(part, "mem_many")) mem_many(atol(argv[2]));
  else if (!strcmp(part, "mem_files")) mem_files(atol(argv[2]));
  else if (!strcmp(part, "mem_buffers")) mem_buffers(atol(argv[2]));
  else if (!strcmp(part, "diskfull")) diskfull(argv[2]);
  else if (!strcmp(part, "reach")) reach(argv[2], atoi(argv[3]), atoi(argv[4]));
  else if (!strcmp(part, "writer")) writer(argv[2], atoi(argv[3]));
  else if (!strcmp(part, "churn")) churn(argc > 2 ? atoi(argv[2]) : 100);
  else {
    fprintf(stderr, "usage: limits init_signals|arch_prctl|nproc|forkbomb\n");
    return 2;
  }
  printf("failures: %d\n", failures);
  return failures ? 1 : 0;
}
