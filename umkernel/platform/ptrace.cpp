#include "umkernel/platform/ptrace.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "core/log.h"
#include "umkernel/platform/stub.h"

namespace um::kernel::platform {

namespace {
constexpr long kTraceOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                               PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;

// In the forked child, before exec: only async-signal-safe calls.
[[noreturn]] void become_stub(int stub_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Its own process group keeps it away from the host terminal's signals; a new session
  // (setsid) would also put it in its own scheduler autogroup, which made every guest system
  // call 2-5x slower (tests/bench/README.md).
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(126);
  syscall(SYS_close_range, 0, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  char name[] = "um-guest";
  char* argv[] = {name, nullptr};
  char* envp[] = {nullptr};
  syscall(SYS_execveat, stub_fd, "", argv, envp, AT_EMPTY_PATH);
  _exit(127);
}
}  // namespace

pid_t spawn_empty_process(std::string* error) {
  int fd = stub::memfd();
  if (fd < 0) {
    *error = std::string("cannot create the stub: ") + strerror(errno);
    return -errno;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    return -errno;
  }
  if (pid == 0) become_stub(fd);
  int status = 0;
  if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
    *error = "the stub process did not start (status " + std::to_string(status) + ")";
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, __WALL);
    return -ECHILD;
  }
  if (ptrace(PTRACE_SETOPTIONS, pid, nullptr, kTraceOptions) != 0) {
    *error = std::string("PTRACE_SETOPTIONS: ") + strerror(errno);
    kill_task(pid);
    return -EPERM;
  }
  // Clear the address space: everything but the stub page goes (exec'd stack, vdso, vvar).
  Regs regs;
  get_regs(pid, regs);
  int64_t r1 = host_syscall(pid, regs, SYS_munmap, 0, stub::kStubBase);
  int64_t r2 = host_syscall(pid, regs, SYS_munmap, stub::kStubBase + stub::kStubSize,
                            stub::kTaskSize - stub::kStubBase - stub::kStubSize);
  if (r1 != 0 || r2 != 0) {
    *error = "cannot clear the stub's address space";
    kill_task(pid);
    return -EFAULT;
  }
  return pid;
}

bool get_regs(pid_t tid, Regs& regs) { return ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0; }
bool set_regs(pid_t tid, const Regs& regs) { return ptrace(PTRACE_SETREGS, tid, nullptr, &regs) == 0; }
bool get_fpregs(pid_t tid, FpRegs& fp) { return ptrace(PTRACE_GETFPREGS, tid, nullptr, &fp) == 0; }
bool set_fpregs(pid_t tid, const FpRegs& fp) { return ptrace(PTRACE_SETFPREGS, tid, nullptr, &fp) == 0; }

bool resume(pid_t tid) { return ptrace(PTRACE_SYSEMU, tid, nullptr, nullptr) == 0; }

bool set_result(pid_t tid, uint64_t rax) {
  return ptrace(PTRACE_POKEUSER, tid, offsetof(struct user_regs_struct, rax), rax) == 0;
}

int64_t host_syscall(pid_t tid, const Regs& base, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
                     uint64_t a3, uint64_t a4, uint64_t a5, pid_t* child) {
  Regs r = base;
  r.rip = stub::kStubSyscall;
  r.rax = nr;
  r.orig_rax = ~0ull;  // not inside a syscall: no restart logic on the way back
  r.rdi = a0; r.rsi = a1; r.rdx = a2; r.r10 = a3; r.r8 = a4; r.r9 = a5;
  if (!set_regs(tid, r)) return -ESRCH;
  if (ptrace(PTRACE_CONT, tid, nullptr, nullptr) != 0) return -ESRCH;
  for (;;) {
    int status = 0;
    if (waitpid(tid, &status, __WALL) != tid) return -ESRCH;
    if (!WIFSTOPPED(status)) return -ESRCH;  // the task died
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
      unsigned long msg = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &msg);
      if (child) *child = static_cast<pid_t>(msg);
    } else if (sig == SIGTRAP && event == 0) {
      Regs out;
      if (!get_regs(tid, out)) return -ESRCH;
      if (out.rip == stub::kStubTrapRip) return static_cast<int64_t>(out.rax);
      UM_ERROR("host syscall %ld in task %d trapped at unexpected rip %#llx", nr, tid, out.rip);
      return -EFAULT;
    }
    // Any other stop (our interrupt signal, a stray signal) is swallowed: guest signals
    // are emulated, never delivered by the host.
    if (ptrace(PTRACE_CONT, tid, nullptr, nullptr) != 0) return -ESRCH;
  }
}

bool wait_new_child(pid_t child) {
  int status = 0;
  if (waitpid(child, &status, __WALL) != child) return false;
  return WIFSTOPPED(status);
}

void interrupt(pid_t tid) { syscall(SYS_tgkill, tid, tid, kInterruptSignal); }

void kill_task(pid_t tid) { ::kill(tid, SIGKILL); }

}  // namespace um::kernel::platform
