// Random system calls with random arguments, in throwaway child processes: whatever a guest
// does, umkernel must survive it (the test boots this as init and checks the final line).
// Usage: sysfuzz [ROUNDS] [CALLS_PER_ROUND] [SEED]
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t state;
static uint64_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static char buffer[65536];
static volatile pid_t current_child;
// The child may legitimately block forever (a random ppoll mask blocking SIGALRM, ...): the
// parent's alarm kills it.
static void on_alarm(int sig) { if (current_child > 0) kill(current_child, SIGKILL); }

static uint64_t arg(void) {
  switch (rnd() % 10) {
    case 0: return 0;
    case 1: return (uint64_t)-1;
    case 2: return rnd() % 16;  // small numbers, likely fds
    case 3: return rnd() % 4096;
    case 4: return (uint64_t)(buffer + rnd() % (sizeof buffer - 256));  // valid memory
    case 5: return (uint64_t)buffer + sizeof buffer - 8;  // runs off the end
    case 6: return 0x7ffffffe0000ull + (rnd() % 8192);     // umkernel's stub pages
    case 7: return rnd() & 0xffffffffull;
    case 8: return 1ull << (rnd() % 64);
    default: return rnd();
  }
}

static int skip(long nr) {
  switch (nr) {
    case SYS_exit: case SYS_exit_group: case SYS_rt_sigreturn: case SYS_reboot:
    case SYS_pause: case SYS_rt_sigsuspend: case SYS_vfork: case SYS_clone: case SYS_clone3:
    case SYS_fork: case SYS_execve: case SYS_execveat: case SYS_kill: case SYS_tkill:
    case SYS_tgkill: case SYS_rt_sigaction: case SYS_rt_sigprocmask: case SYS_wait4:
    case SYS_waitid: case SYS_setsid: case SYS_setpgid: case SYS_ptrace:
      return 1;
    default:
      return 0;
  }
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 40;
  int calls = argc > 2 ? atoi(argv[2]) : 50;
  state = argc > 3 ? strtoull(argv[3], 0, 0) : 0x9e3779b97f4a7c15ull;
  int crashed = 0, timed_out = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, 0);
  for (int r = 0; r < rounds; r++) {
    uint64_t seed = rnd();
    pid_t p = fork();
    if (p == 0) {
      state = seed | 1;
      alarm(2);  // a call that blocks forever ends the child, not the test
      for (int i = 0; i < calls; i++) {
        long nr = (long)(rnd() % 335);
        if (skip(nr)) continue;
        syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
      }
      _exit(0);
    }
    current_child = p;
    alarm(4);
    int st;
    while (waitpid(p, &st, 0) < 0) {
    }
    alarm(0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) timed_out++;
    else if (WIFSIGNALED(st)) crashed++;
  }
  // The exact counts depend on the host; the point is that we get here.
  printf("sysfuzz: %d rounds done\n", rounds);
  (void)crashed;
  (void)timed_out;
  return 0;
}
