// ptrace(2) as a tracer sees it: syscall stops with their registers and results, changing a
// call (skipping it, its result), peek/poke of memory and the user area, siginfo, signal
// injection, options and events (fork, exec, exit), seize/interrupt/listen and group-stops,
// attach and detach, single-stepping, int3 breakpoints and a hardware watchpoint. Prints facts
// only (no pids, addresses or timings), so that its output natively equals its output under
// umkernel. Usage: ptrace_calls [PART]
#define _GNU_SOURCE
#include <elf.h>
#include <stdarg.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

static void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static const char* err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

// A status as words: "stopped SIGTRAP|0x80", "stopped SIGSTOP event 128", "exited 7".
static const char* describe(int st) {
  static char b[96];
  if (WIFEXITED(st)) snprintf(b, sizeof b, "exited %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) snprintf(b, sizeof b, "killed %s", sigabbrev_np(WTERMSIG(st)));
  else if (WIFSTOPPED(st)) {
    int sig = WSTOPSIG(st);
    int ev = st >> 16;
    snprintf(b, sizeof b, "stopped SIG%s%s", sigabbrev_np(sig & 0x7f), (sig & 0x80) ? "|0x80" : "");
    if (ev) snprintf(b + strlen(b), sizeof b - strlen(b), " event %d", ev);
  } else snprintf(b, sizeof b, "status %#x", st);
  return b;
}

static int wait_for(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, __WALL) != pid) say("waitpid: %s", err(-1));
  return st;
}

// A child that asks to be traced and stops itself; returns after its first stop.
static pid_t traced_child(void (*body)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    body();
    _exit(0);
  }
  int st = wait_for(pid);
  say("first stop: %s", describe(st));
  return pid;
}

// --- syscall stops ---

static char buf[64];

static void syscall_body(void) {
  syscall(SYS_write, -1, buf, 42);            // EBADF; the tracer checks the arguments
  long r = syscall(SYS_getppid);              // the tracer skips it and makes it 12345
  long u = syscall(SYS_getuid);               // the tracer turns it into getpid
  _exit(r == 12345 && u == getpid() ? 7 : 1);
}

static void syscall_tests(void) {
  pid_t pid = traced_child(syscall_body);
  say("setoptions: %s", err(ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXIT)));
  unsigned long msg = 0;
  long last_entry = -1;
  for (int n = 0; n < 40; n++) {
    say("syscall: %s", err(ptrace(PTRACE_SYSCALL, pid, 0, 0)));
    int st = wait_for(pid);
    if (!WIFSTOPPED(st) || (st >> 16)) {
      say("stop: %s", describe(st));
      if (st >> 16 == PTRACE_EVENT_EXIT) {
        ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
        say("exit event message: %#lx", msg);
      }
      break;
    }
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    int entry = msg == 1;
    long nr = (long)r.orig_rax;
    if (entry) last_entry = nr;
    else nr = last_entry;  // a skipped call's orig_rax is -1 at its exit
    if (nr != SYS_write && nr != SYS_getppid && nr != SYS_getuid && nr != SYS_getpid && nr != SYS_exit_group)
      continue;  // raise()'s own calls
    say("%s %s: %s", entry ? "enter" : "exit", nr == SYS_write ? "write" : nr == SYS_getppid ? "getppid"
        : nr == SYS_getuid ? "getuid" : nr == SYS_getpid ? "getpid" : "exit_group", describe(st));
    if (nr == SYS_write && entry) say("  args: %d %llu (rax %lld)", (int)r.rdi, r.rdx, (long long)r.rax);
    if (nr == SYS_write && !entry) say("  result: %lld", (long long)r.rax);
    if (nr == SYS_getppid && entry) {
      r.orig_rax = -1;  // skip it
      say("  skip: %s", err(ptrace(PTRACE_SETREGS, pid, 0, &r)));
    }
    if (nr == SYS_getppid && !entry) {
      say("  skipped result: %lld", (long long)r.rax);
      say("  poke rax: %s", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, rax), 12345)));
    }
    if (nr == SYS_getuid && entry) {
      say("  to getpid: %s", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, orig_rax), SYS_getpid)));
    }
    if (nr == SYS_exit_group && entry) say("  status arg: %llu", r.rdi);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    if (nr == SYS_write) say("  siginfo: signo %d code %#x", si.si_signo, si.si_code);
  }
  say("cont: %s", err(ptrace(PTRACE_CONT, pid, 0, 0)));
  say("end: %s", describe(wait_for(pid)));
  say("again: %s", err(ptrace(PTRACE_CONT, pid, 0, 0)));
}

// --- memory, user area, siginfo, injection ---

static volatile long value = 0x1122334455667788;
static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

static void memory_body(void) {
  _exit(value == 0x0badc0de && got_usr1 ? 9 : 2);
}

static void memory_tests(void) {
  signal(SIGUSR1, on_usr1);
  pid_t pid = traced_child(memory_body);
  errno = 0;
  long w = ptrace(PTRACE_PEEKDATA, pid, &value, 0);
  say("peek: %#lx %s", w, err(errno ? -1 : 0));
  say("poke: %s", err(ptrace(PTRACE_POKEDATA, pid, &value, 0x0badc0de)));
  errno = 0;
  w = ptrace(PTRACE_PEEKDATA, pid, &value, 0);
  say("peek again: %#lx", w);
  errno = 0;
  ptrace(PTRACE_PEEKDATA, pid, (void*)8, 0);
  say("peek at 8: %s", strerrorname_np(errno));
  say("poke at 8: %s", err(ptrace(PTRACE_POKEDATA, pid, (void*)8, 1)));
  struct user_regs_struct r;
  say("getregs: %s", err(ptrace(PTRACE_GETREGS, pid, 0, &r)));
  errno = 0;
  long rip = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, rip), 0);
  say("peekuser rip matches: %d, rax %lld, cs %#llx", rip == (long)r.rip, (long long)r.rax, r.cs);
  errno = 0;
  ptrace(PTRACE_PEEKUSER, pid, 3, 0);
  say("peekuser misaligned: %s", strerrorname_np(errno));
  errno = 0;
  ptrace(PTRACE_PEEKUSER, pid, 4096, 0);
  say("peekuser past the end: %s", strerrorname_np(errno));
  errno = 0;
  long dr7 = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, u_debugreg[7]), 0);
  say("peekuser dr7: %ld %s", dr7, strerrorname_np(errno) ? strerrorname_np(errno) : "ok");
  say("pokeuser cs 0: %s", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, cs), 0)));
  say("pokeuser fs_base high: %s", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, fs_base), -4096L)));
  struct iovec iov = {&r, sizeof r};
  say("getregset prstatus: %s len %zu", err(ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov)), iov.iov_len);
  struct user_fpregs_struct fp;
  long rc = ptrace(PTRACE_GETFPREGS, pid, 0, &fp);
  say("getfpregs: %s mxcsr %#x", err(rc), fp.mxcsr & 0xffc0);
  say("setfpregs: %s", err(ptrace(PTRACE_SETFPREGS, pid, 0, &fp)));
  iov.iov_base = &fp;
  iov.iov_len = sizeof fp;
  say("getregset prfpreg: %s len %zu", err(ptrace(PTRACE_GETREGSET, pid, NT_PRFPREG, &iov)), iov.iov_len);
  iov.iov_len = 7;
  say("getregset odd length: %s", err(ptrace(PTRACE_GETREGSET, pid, NT_PRFPREG, &iov)));
  siginfo_t si;
  rc = ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
  say("getsiginfo: %s signo %s code %d", err(rc), sigabbrev_np(si.si_signo), si.si_code);
  say("setsiginfo: %s", err(ptrace(PTRACE_SETSIGINFO, pid, 0, &si)));
  uint64_t mask = 0;
  say("getsigmask: %s", err(ptrace(PTRACE_GETSIGMASK, pid, sizeof mask, &mask)));
  say("bad request: %s", err(ptrace((enum __ptrace_request)0x4fff, pid, 0, 0)));
  say("bad signal: %s", err(ptrace(PTRACE_CONT, pid, 0, 65)));
  // Replaced by SIGUSR1: its handler runs.
  say("cont with SIGUSR1: %s", err(ptrace(PTRACE_CONT, pid, 0, SIGUSR1)));
  int st = wait_for(pid);
  say("then: %s", describe(st));
  if (WIFSTOPPED(st)) {
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    say("  siginfo from the tracer: signo %s code %d", sigabbrev_np(si.si_signo), si.si_code);
    ptrace(PTRACE_CONT, pid, 0, SIGUSR1);
    st = wait_for(pid);
    say("end: %s", describe(st));
  }
  signal(SIGUSR1, SIG_DFL);
}

// --- events: fork, exec, exit; the tracer reaps a tracee that is not its child ---

static char* self_path;

static void events_body(void) {
  pid_t gc = fork();
  if (gc == 0) _exit(3);
  int st;
  waitpid(gc, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 3) _exit(1);
  char* argv[] = {"ptrace_calls", "exec-target", NULL};
  execv(self_path, argv);
  _exit(4);
}

static void events_tests(void) {
  pid_t pid = traced_child(events_body);
  say("setoptions: %s", err(ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT)));
  ptrace(PTRACE_CONT, pid, 0, 0);
  int st = wait_for(pid);
  say("child: %s", describe(st));
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
  pid_t gc = (pid_t)msg;
  say("new pid is a child of the child: %d", gc > 0 && gc != pid);
  st = wait_for(gc);
  say("grandchild: %s", describe(st));
  ptrace(PTRACE_CONT, gc, 0, 0);
  ptrace(PTRACE_CONT, pid, 0, 0);
  while (WIFSTOPPED(st = wait_for(gc))) {
    say("grandchild: %s", describe(st));
    ptrace(PTRACE_CONT, gc, 0, 0);
  }
  say("grandchild: %s", describe(st));
  say("grandchild reaped (not our child): %d", waitpid(gc, &st, WNOHANG | __WALL) < 0 && errno == ECHILD);
  // Then: SIGCHLD for the grandchild, the exec event, the exit event, the exit.
  for (;;) {
    st = wait_for(pid);
    say("child: %s", describe(st));
    if (!WIFSTOPPED(st)) break;
    int sig = 0;
    if (st >> 16) {
      ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
      if (st >> 16 == PTRACE_EVENT_EXEC) say("  message is the pid: %d", (pid_t)msg == pid);
      else say("  message: %#lx", msg);
    } else {
      sig = WSTOPSIG(st);
    }
    ptrace(PTRACE_CONT, pid, 0, sig);
  }
}

// --- seize, interrupt, group-stop, listen, attach, detach ---

static int tracer_pid_of(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* f = fopen(path, "r");
  int v = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "TracerPid: %d", &v) == 1) break;
  if (f) fclose(f);
  return v;
}

static pid_t reader_child(int* wfd) {
  int p[2];
  if (pipe(p) != 0) exit(1);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[1]);
    char c = 0;
    ssize_t n = read(p[0], &c, 1);  // interrupted by the tracer's stops, restarted
    _exit(n == 1 ? c : 100 + (int)errno);
  }
  close(p[0]);
  *wfd = p[1];
  return pid;
}

static void seize_tests(void) {
  int wfd;
  pid_t pid = reader_child(&wfd);
  usleep(20000);
  say("seize with addr: %s", err(ptrace(PTRACE_SEIZE, pid, 1, 0)));
  say("seize: %s", err(ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD)));
  say("seize again: %s", err(ptrace(PTRACE_SEIZE, pid, 0, 0)));
  say("tracer pid is ours: %d", tracer_pid_of(pid) == getpid());
  say("getregs while running: %s", err(ptrace(PTRACE_GETREGS, pid, 0, buf)));
  say("interrupt: %s", err(ptrace(PTRACE_INTERRUPT, pid, 0, 0)));
  int st = wait_for(pid);
  say("stop: %s", describe(st));
  siginfo_t si;
  long rc = ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
  say("getsiginfo: %s signo %s code %#x", err(rc), sigabbrev_np(si.si_signo), si.si_code);
  ptrace(PTRACE_CONT, pid, 0, 0);
  kill(pid, SIGSTOP);
  st = wait_for(pid);
  say("stop: %s", describe(st));
  say("cont with SIGSTOP: %s", err(ptrace(PTRACE_CONT, pid, 0, SIGSTOP)));
  st = wait_for(pid);
  say("group-stop: %s", describe(st));
  rc = ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
  say("getsiginfo: %s signo %s code %#x", err(rc), sigabbrev_np(si.si_signo), si.si_code);
  say("listen: %s", err(ptrace(PTRACE_LISTEN, pid, 0, 0)));
  say("getregs while listening: %s", err(ptrace(PTRACE_GETREGS, pid, 0, buf)));
  kill(pid, SIGCONT);
  st = wait_for(pid);
  say("after SIGCONT: %s", describe(st));
  ptrace(PTRACE_CONT, pid, 0, 0);
  st = wait_for(pid);
  say("then: %s", describe(st));
  say("detach with the signal: %s", err(ptrace(PTRACE_DETACH, pid, 0, WSTOPSIG(st))));
  say("tracer pid after detach: %d", tracer_pid_of(pid));
  if (write(wfd, "\x2a", 1) != 1) say("write failed");
  st = wait_for(pid);
  say("end: %s", describe(st));
  close(wfd);
}

static void attach_tests(void) {
  say("attach to ourselves: %s", err(ptrace(PTRACE_ATTACH, getpid(), 0, 0)));
  say("attach to nobody: %s", err(ptrace(PTRACE_ATTACH, 999999, 0, 0)));
  int wfd;
  pid_t pid = reader_child(&wfd);
  usleep(20000);
  say("cont untraced: %s", err(ptrace(PTRACE_CONT, pid, 0, 0)));
  say("attach: %s", err(ptrace(PTRACE_ATTACH, pid, 0, 0)));
  int st = wait_for(pid);
  say("stop: %s", describe(st));
  siginfo_t si;
  long rc = ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
  say("getsiginfo: %s signo %s code %d", err(rc), sigabbrev_np(si.si_signo), si.si_code);
  say("detach: %s", err(ptrace(PTRACE_DETACH, pid, 0, 0)));
  if (write(wfd, "\x15", 1) != 1) say("write failed");
  say("end: %s", describe(wait_for(pid)));
  close(wfd);
  // PTRACE_O_EXITKILL: the tracer's exit kills the tracee.
  pid = reader_child(&wfd);
  fflush(stdout);
  pid_t tracer = fork();
  if (tracer == 0) {
    ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_EXITKILL);
    _exit(0);
  }
  wait_for(tracer);
  say("exitkill: %s", describe(wait_for(pid)));
  close(wfd);
}

// --- single-step, int3, watchpoint ---

static volatile long watched;

static void step_body(void) {
  __asm__ volatile("nop; nop; int3; nop");
  for (int i = 0; i < 5; i++) watched += 10;
  _exit(watched == 50 ? 11 : 3);
}

static void step_tests(void) {
  pid_t pid = traced_child(step_body);
  struct user_regs_struct r0, r;
  ptrace(PTRACE_GETREGS, pid, 0, &r0);
  int traps = 0, moved = 0, codes_ok = 0, tf_hidden = 0;
  for (int i = 0; i < 5; i++) {
    ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
    int st = wait_for(pid);
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    traps += WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP;
    codes_ok += si.si_code == TRAP_TRACE || si.si_code == TRAP_BRKPT;
    moved += r.rip != r0.rip;
    tf_hidden += !(r.eflags & 0x100);
    r0 = r;
  }
  say("5 steps: %d SIGTRAPs, %d with a trace code, %d moved, TF hidden %d", traps, codes_ok, moved, tf_hidden);
  // Run to the int3.
  int st;
  for (;;) {
    ptrace(PTRACE_CONT, pid, 0, 0);
    st = wait_for(pid);
    if (!WIFSTOPPED(st) || WSTOPSIG(st) == SIGTRAP) break;
  }
  siginfo_t si;
  ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
  ptrace(PTRACE_GETREGS, pid, 0, &r);
  unsigned char code[8];
  long w = ptrace(PTRACE_PEEKTEXT, pid, r.rip - 1, 0);
  memcpy(code, &w, sizeof w);
  say("int3: %s code %#x, byte before rip %#x", describe(st), si.si_code, code[0]);
  // A watchpoint on `watched` (DR0, write, 8 bytes).
  say("dr0: %s", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[0]), &watched)));
  say("dr7 with an I/O breakpoint: %s", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[7]), 0x1 | (2ul << 16))));
  say("dr7: %s", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[7]), 0x1 | (1ul << 16) | (2ul << 18))));
  for (int hit = 0; hit < 2; hit++) {
    ptrace(PTRACE_CONT, pid, 0, 0);
    st = wait_for(pid);
    ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
    long dr6 = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, u_debugreg[6]), 0);
    errno = 0;
    long v = ptrace(PTRACE_PEEKDATA, pid, &watched, 0);
    say("watch: %s code %d dr6 bit %ld value %ld", describe(st), si.si_code, dr6 & 1, v);
    ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[6]), 0);
  }
  ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[7]), 0);
  ptrace(PTRACE_CONT, pid, 0, 0);
  say("end: %s", describe(wait_for(pid)));
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  self_path = argv[0][0] == '/' ? argv[0] : realpath(argv[0], NULL);
  if (argc > 1 && strcmp(argv[1], "exec-target") == 0) return 5;
  const char* only = argc > 1 ? argv[1] : NULL;
  if (getpid() == 1) {  // init in a VM: /proc for TracerPid
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, NULL);
  }
  struct { const char* name; void (*fn)(void); } parts[] = {
      {"syscalls", syscall_tests}, {"memory", memory_tests}, {"events", events_tests},
      {"seize", seize_tests},       {"attach", attach_tests}, {"step", step_tests},
  };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (!only || strcmp(only, parts[i].name) == 0) {
      say("== %s", parts[i].name);
      parts[i].fn();
    }
  return 0;
}
