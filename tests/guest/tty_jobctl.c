// Controlling terminals and job control on a pty: acquiring the terminal on open, ISIG
// signals to the foreground group, SIGTTIN/SIGTTOU for background groups (EIO when ignored
// or orphaned), tcsetpgrp from the background, SIGWINCH, hangup when the session leader
// exits. Prints the same natively and under umkernel.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int master;
static volatile sig_atomic_t got_int, got_winch, got_hup;
static void on_int(int s) { (void)s; got_int = 1; }
static void on_winch(int s) { (void)s; got_winch = 1; }

static const char* describe(int st) {
  static char buf[64];
  if (WIFEXITED(st)) snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) snprintf(buf, sizeof buf, "killed by %s", strsignal(WTERMSIG(st)));
  else if (WIFSTOPPED(st)) snprintf(buf, sizeof buf, "stopped by %s", strsignal(WSTOPSIG(st)));
  else snprintf(buf, sizeof buf, "status %x", st);
  return buf;
}

// Runs fn in a new background process group of the session; reports how it ended.
static void in_background(const char* label, int (*fn)(int), int fd) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    _exit(fn(fd));
  }
  setpgid(pid, pid);
  int st;
  waitpid(pid, &st, WUNTRACED);
  printf("%s: %s\n", label, describe(st));
  if (WIFSTOPPED(st)) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
}

static int bg_read(int fd) {
  char c;
  ssize_t n = read(fd, &c, 1);
  return n < 0 ? (errno == EIO ? 5 : 1) : 0;
}
static int bg_read_ignoring(int fd) {
  signal(SIGTTIN, SIG_IGN);
  return bg_read(fd);
}
static int bg_write(int fd) { return write(fd, "bg\n", 3) == 3 ? 0 : 1; }
static int bg_write_ignoring(int fd) {
  signal(SIGTTOU, SIG_IGN);
  return bg_write(fd);
}
static int bg_tcsetpgrp(int fd) { return tcsetpgrp(fd, getpgrp()) == 0 ? 0 : 1; }
static int bg_tcsetpgrp_ignoring(int fd) {
  signal(SIGTTOU, SIG_IGN);
  return bg_tcsetpgrp(fd);
}
// A group whose only parent link leaves the session is orphaned: reads get EIO.
static int orphan_read(int fd) {
  pid_t gc = fork();
  if (gc == 0) {
    char c;
    usleep(100000);  // until the parent has exited and we are orphaned
    char r = read(fd, &c, 1) < 0 && errno == EIO ? 'E' : '?';
    write(3, &r, 1);
    _exit(0);
  }
  return 0;  // exits: the child's group (ours) is orphaned now; the session leader reads p[0]
}

static int session_leader(const char* slave_name) {
  setsid();
  int fd = open(slave_name, O_RDWR);  // no O_NOCTTY: becomes our controlling terminal
  printf("open acquires ctty: sid=%d pgrp=%d\n", tcgetsid(fd) == getpid(), tcgetpgrp(fd) == getpgrp());
  int fd2 = open("/dev/tty", O_RDWR);
  printf("/dev/tty opens: %d\n", fd2 >= 0);
  close(fd2);
  printf("TIOCSCTTY again: %d\n", ioctl(fd, TIOCSCTTY, 0));

  // ^C from the master reaches the foreground group.
  struct sigaction sa = {0};
  sa.sa_handler = on_int;
  sigaction(SIGINT, &sa, NULL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &old);
  write(fd, "R", 1);  // tells the parent to type ^C
  while (!got_int) sigsuspend(&old);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("SIGINT from ^C: %d\n", got_int);

  in_background("background read", bg_read, fd);
  in_background("background read, SIGTTIN ignored", bg_read_ignoring, fd);
  in_background("background write without TOSTOP", bg_write, fd);
  struct termios t;
  tcgetattr(fd, &t);
  t.c_lflag |= TOSTOP;
  tcsetattr(fd, TCSANOW, &t);
  in_background("background write with TOSTOP", bg_write, fd);
  in_background("background write with TOSTOP, SIGTTOU ignored", bg_write_ignoring, fd);
  in_background("tcsetpgrp from background", bg_tcsetpgrp, fd);
  in_background("tcsetpgrp from background, SIGTTOU ignored", bg_tcsetpgrp_ignoring, fd);
  printf("foreground group moved: %d\n", tcgetpgrp(fd) != getpgrp());
  signal(SIGTTOU, SIG_IGN);
  tcsetpgrp(fd, getpgrp());
  signal(SIGTTOU, SIG_DFL);
  printf("foreground again: %d\n", tcgetpgrp(fd) == getpgrp());

  int p[2];
  pipe(p);
  pid_t mid = fork();
  if (mid == 0) {
    setpgid(0, 0);
    close(p[0]);
    dup2(p[1], 3);
    _exit(orphan_read(fd));
  }
  close(p[1]);
  waitpid(mid, NULL, 0);
  char r = 0;
  read(p[0], &r, 1);
  printf("orphaned group read: %c\n", r);

  // A stopped group that the exit of its parent orphans gets SIGHUP and SIGCONT.
  int q[2];
  pipe(q);
  pid_t mid2 = fork();
  if (mid2 == 0) {
    pid_t victim = fork();
    if (victim == 0) {
      setpgid(0, 0);
      close(q[0]);
      raise(SIGSTOP);
      write(q[1], "survived", 8);  // only if SIGHUP did not end us
      _exit(0);
    }
    setpgid(victim, victim);
    int vst;
    waitpid(victim, &vst, WUNTRACED);
    _exit(0);  // orphans the victim's stopped group
  }
  close(q[1]);
  waitpid(mid2, NULL, 0);
  struct pollfd pq = {q[0], POLLIN, 0};
  int ready = poll(&pq, 1, 3000);
  char vb[16] = {0};
  ssize_t vn = ready == 1 ? read(q[0], vb, sizeof vb - 1) : -1;
  printf("orphaned stopped group killed by SIGHUP: %d\n", vn == 0);
  close(q[0]);

  signal(SIGWINCH, on_winch);
  struct winsize ws = {40, 120, 0, 0};
  ioctl(master, TIOCSWINSZ, &ws);
  printf("SIGWINCH: %d\n", got_winch);

  // The session leader's exit hangs the terminal up for its foreground group.
  pid_t fg = fork();
  if (fg == 0) {
    setpgid(0, 0);
    signal(SIGTTOU, SIG_IGN);
    tcsetpgrp(fd, getpgrp());
    pause();
    _exit(0);
  }
  setpgid(fg, fg);
  usleep(100000);
  printf("leader exits with a foreground job\n");
  fflush(stdout);
  char pidbuf[16];
  snprintf(pidbuf, sizeof pidbuf, "%d", fg);
  write(4, pidbuf, strlen(pidbuf));
  return 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  master = posix_openpt(O_RDWR | O_NOCTTY);
  grantpt(master);
  unlockpt(master);
  char name[64];
  strcpy(name, ptsname(master));
  int report[2];
  pipe(report);
  pid_t leader = fork();
  if (leader == 0) {
    close(report[0]);
    dup2(report[1], 4);
    _exit(session_leader(name));
  }
  close(report[1]);
  // Wait for "R", then type ^C.
  char buf[256];
  size_t got = 0;
  while (got == 0 || buf[got - 1] != 'R') {
    ssize_t n = read(master, buf + got, sizeof buf - got);
    if (n <= 0) break;
    got += n;
  }
  write(master, "\x03", 1);
  int st;
  waitpid(leader, &st, 0);
  printf("leader: %s\n", describe(st));
  ssize_t n = read(report[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  pid_t fg = atoi(buf);
  int fst = 0;
  // The foreground job got SIGHUP (it is not our child: poll for its disappearance).
  int gone = 0;
  for (int i = 0; i < 100 && !gone; i++) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }  // as PID 1 (under umkernel) the orphans are ours to reap
    if (kill(fg, 0) < 0 && errno == ESRCH) gone = 1;
    else usleep(20000);
  }
  (void)fst;
  printf("foreground job ended by the hangup: %d\n", gone);
  // Echo of ^C and the output of the jobs, seen by the master.
  n = 0;
  got = 0;
  for (;;) {
    n = read(master, buf + got, sizeof buf - 1 - got);
    if (n <= 0) break;
    got += n;
  }
  buf[got] = 0;
  printf("master saw ^C echo: %d, bg output: %d\n", strstr(buf, "^C") != NULL, strstr(buf, "bg\r\n") != NULL);
  printf("master read at end: %s\n", n < 0 && errno == EIO ? "EIO" : "other");
  return 0;
}
