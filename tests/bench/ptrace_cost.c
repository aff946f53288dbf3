/* Micro-benchmark of the host side of one emulated system call, the way umkernel serves it
 * (PTRACE_SYSEMU), with variants that umkernel could adopt. A traced child makes N getppid
 * calls under PTRACE_SYSEMU; the tracer answers each with a fake result. Prints ns per
 * emulated call for each variant, and the cost of each ptrace request alone.
 *   cc -O2 -o ptrace_cost ptrace_cost.c && ./ptrace_cost [N [ROUNDS]]   (default 20000 calls, 5 rounds)
 * PTRACE_COST_SETSID=1: the child calls setsid() first, as umkernel's guests do (with
 * sched_autogroup that puts it in its own scheduling group); PTRACE_COST_SETSID=pgrp: setpgid(0, 0)
 * instead (own process group, same session, same autogroup).
 * Not a guest program: it runs on the host (tests/bench/analyse.sh builds and runs it). */
#define _GNU_SOURCE
#include <elf.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SYSEMU
#define PTRACE_SYSEMU 31
#endif

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long n_calls;

static pid_t start_child(void) {
  pid_t p = fork();
  if (p == 0) {
    const char *how = getenv("PTRACE_COST_SETSID");  /* umkernel's guests call setsid() */
    if (how && strcmp(how, "pgrp") == 0) setpgid(0, 0);
    else if (how) setsid();
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    for (long i = 0; i < n_calls; i++) syscall(SYS_getppid);
    syscall(SYS_exit_group, 0);  /* emulated too: the tracer kills us */
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  ptrace(PTRACE_SETOPTIONS, p, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
  return p;
}

static void finish_child(pid_t p) {
  kill(p, SIGKILL);
  int st;
  waitpid(p, &st, __WALL);
}

enum wait_mode { WAIT_BLOCK, WAIT_SPIN, WAIT_UMKERNEL };
enum regs_mode { REGS_GETSET, REGS_REGSET, REGS_PEEKPOKE, REGS_GET_POKE };

static int sfd = -1, efd = -1;
static int spin_limit = 64;
static long epoll_sleeps;

/* Waits for the next stop of p the given way. */
static int wait_stop(pid_t p, enum wait_mode m) {
  int st;
  if (m == WAIT_BLOCK) { waitpid(p, &st, __WALL); return st; }
  if (m == WAIT_SPIN) {
    while (waitpid(-1, &st, __WALL | WNOHANG) == 0) {}
    return st;
  }
  /* umkernel's Kernel::run: up to 64 waitpid(WNOHANG), then epoll_wait on a SIGCHLD signalfd */
  for (;;) {
    for (int spin = 0; spin < spin_limit || spin == 0; spin++)
      if (waitpid(-1, &st, __WALL | WNOHANG) > 0) return st;
    struct epoll_event ev;
    epoll_sleeps++;
    if (epoll_wait(efd, &ev, 1, -1) == 1) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {}
    }
  }
}

static double run_variant(enum wait_mode wm, enum regs_mode rm) {
  pid_t p = start_child();
  struct user_regs_struct regs;
  struct iovec iov = {&regs, sizeof regs};
  long served = 0;
  epoll_sleeps = 0;
  double t0 = now_ns();
  ptrace(PTRACE_SYSEMU, p, 0, 0);
  for (;;) {
    int st = wait_stop(p, wm);
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != (SIGTRAP | 0x80)) break;
    long nr;
    switch (rm) {
      case REGS_GETSET:
        ptrace(PTRACE_GETREGS, p, 0, &regs);
        nr = regs.orig_rax;
        break;
      case REGS_REGSET:
        ptrace(PTRACE_GETREGSET, p, (void *)NT_PRSTATUS, &iov);
        nr = regs.orig_rax;
        break;
      default:
        if (rm == REGS_GET_POKE) { ptrace(PTRACE_GETREGS, p, 0, &regs); nr = regs.orig_rax; }
        else nr = ptrace(PTRACE_PEEKUSER, p, (void *)offsetof(struct user_regs_struct, orig_rax), 0);
        break;
    }
    if (nr != SYS_getppid) break;
    served++;
    long result = 1;
    switch (rm) {
      case REGS_GETSET:
        regs.rax = result;
        ptrace(PTRACE_SETREGS, p, 0, &regs);
        break;
      case REGS_REGSET:
        regs.rax = result;
        ptrace(PTRACE_SETREGSET, p, (void *)NT_PRSTATUS, &iov);
        break;
      default:
        ptrace(PTRACE_POKEUSER, p, (void *)offsetof(struct user_regs_struct, rax), (void *)result);
        break;
    }
    ptrace(PTRACE_SYSEMU, p, 0, 0);
  }
  double t1 = now_ns();
  finish_child(p);
  if (served != n_calls) fprintf(stderr, "variant served %ld of %ld calls\n", served, n_calls);
  return (t1 - t0) / served;
}

/* The cost of one ptrace request on a stopped child, alone. */
static double cost_alone(int what) {
  pid_t p = start_child();
  ptrace(PTRACE_SYSEMU, p, 0, 0);
  int st;
  waitpid(p, &st, __WALL);
  struct user_regs_struct regs;
  struct iovec iov = {&regs, sizeof regs};
  ptrace(PTRACE_GETREGS, p, 0, &regs);
  long reps = n_calls;
  double t0 = now_ns();
  for (long i = 0; i < reps; i++) {
    switch (what) {
      case 0: ptrace(PTRACE_GETREGS, p, 0, &regs); break;
      case 1: ptrace(PTRACE_SETREGS, p, 0, &regs); break;
      case 2: ptrace(PTRACE_GETREGSET, p, (void *)NT_PRSTATUS, &iov); break;
      case 3: ptrace(PTRACE_SETREGSET, p, (void *)NT_PRSTATUS, &iov); break;
      case 4: ptrace(PTRACE_PEEKUSER, p, (void *)offsetof(struct user_regs_struct, orig_rax), 0); break;
      case 5: ptrace(PTRACE_POKEUSER, p, (void *)offsetof(struct user_regs_struct, rax), (void *)regs.rax); break;
      case 6: waitpid(-1, &st, __WALL | WNOHANG); break;       /* nothing to collect */
      case 7: { struct epoll_event ev; epoll_wait(efd, &ev, 1, 0); } break;
      case 8: syscall(SYS_getppid); break;                      /* native, for scale */
    }
  }
  double t1 = now_ns();
  finish_child(p);
  return (t1 - t0) / reps;
}

static void sort(double *x, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && x[j - 1] > x[j]; j--) { double t = x[j]; x[j] = x[j - 1]; x[j - 1] = t; }
}

int main(int argc, char **argv) {
  n_calls = argc > 1 ? atol(argv[1]) : 20000;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGCHLD);
  sigprocmask(SIG_BLOCK, &m, NULL);
  sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
  efd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = sfd};
  epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev);

  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  static const char *names[] = {"PTRACE_GETREGS", "PTRACE_SETREGS", "PTRACE_GETREGSET", "PTRACE_SETREGSET",
                                "PTRACE_PEEKUSER", "PTRACE_POKEUSER", "waitpid(WNOHANG) empty",
                                "epoll_wait(timeout 0)", "native getppid"};
  struct { const char *name; enum wait_mode w; enum regs_mode r; int spin; } v[] = {
    {"umkernel: spin64+epoll, GETREGS+SETREGS", WAIT_UMKERNEL, REGS_GETSET, 64},
    {"spin8+epoll, GETREGS+SETREGS", WAIT_UMKERNEL, REGS_GETSET, 8},
    {"spin1+epoll, GETREGS+SETREGS", WAIT_UMKERNEL, REGS_GETSET, 1},
    {"blocking waitpid, GETREGS+SETREGS", WAIT_BLOCK, REGS_GETSET},
    {"blocking waitpid, GETREGSET+SETREGSET", WAIT_BLOCK, REGS_REGSET},
    {"blocking waitpid, GETREGS+POKEUSER rax", WAIT_BLOCK, REGS_GET_POKE},
    {"blocking waitpid, PEEKUSER+POKEUSER", WAIT_BLOCK, REGS_PEEKPOKE},
    {"pure spin waitpid, GETREGS+SETREGS", WAIT_SPIN, REGS_GETSET},
    {"pure spin waitpid, GETREGS+POKEUSER rax", WAIT_SPIN, REGS_GET_POKE},
  };
  enum { NA = 9, NV = sizeof v / sizeof v[0], MAXR = 64 };
  if (rounds > MAXR) rounds = MAXR;
  static double a[NA][MAXR], b[NV][MAXR];
  double sleeps = 0;
  /* Round-robin over all variants so that the machine's load hits them alike. */
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < NA; i++) a[i][r] = cost_alone(i);
    for (int i = 0; i < NV; i++) {
      spin_limit = v[i].spin;
      b[i][r] = run_variant(v[i].w, v[i].r);
      if (i == 0) sleeps += (double)epoll_sleeps / n_calls;
    }
  }
  printf("# %ld calls x %d rounds; min and median over rounds, ns\n", n_calls, rounds);
  printf("%-42s %8s %8s\n", "# one request alone", "min", "median");
  for (int i = 0; i < NA; i++) { sort(a[i], rounds); printf("%-42s %8.0f %8.0f\n", names[i], a[i][0], a[i][rounds / 2]); }
  printf("%-42s %8s %8s\n", "# one emulated getppid, round trip", "min", "median");
  for (int i = 0; i < NV; i++) { sort(b[i], rounds); printf("%-42s %8.0f %8.0f\n", v[i].name, b[i][0], b[i][rounds / 2]); }
  printf("# umkernel-style loop fell back to epoll_wait on %.2f of the calls\n", sleeps / rounds);
  return 0;
}
