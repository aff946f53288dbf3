// Kernel objects for processes: Task (one host thread, one guest thread), Process (a thread
// group), and what processes share or copy across fork: credentials, fd table, fs context,
// signal handlers.
#pragma once
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/unique_fd.h"
#include "umkernel/kernel/ptrace_state.h"
#include "umkernel/kernel/wait_queue.h"
#include "umkernel/platform/platform.h"
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

class Process;
template <class T>
class UserPtr;

struct Credentials {
  uint32_t uid = 0, euid = 0, suid = 0, fsuid = 0;
  uint32_t gid = 0, egid = 0, sgid = 0, fsgid = 0;
  std::vector<uint32_t> groups;
  // Capability sets (kernel/capability.h); bits 0..40. Root starts with all of them.
  uint64_t cap_inheritable = 0, cap_permitted = (1ull << 41) - 1, cap_effective = (1ull << 41) - 1,
           cap_bounding = (1ull << 41) - 1, cap_ambient = 0;
  uint32_t securebits = 0;
  bool in_group(uint32_t g) const;
};

// Scheduling attributes a thread keeps (sys/sched.cpp); the host schedules the threads.
// What a parked system call has done so far, for its re-run on wake-up (Linux's
// restart_block, gVisor's SyscallRestartBlock): one field per meaning. Cleared when the task
// starts a new system call.
struct SyscallProgress {
  uint64_t bytes_done = 0;        // read/write/send/sendmsg: bytes moved before it blocked
  bool woken = false;             // FUTEX_WAIT: a FUTEX_WAKE woke it (not its timeout)
  bool connect_started = false;   // connect: the handshake it started is under way
  int vfork_child = 0;            // vfork, clone(CLONE_VFORK): the child it waits for
  bool mask_applied = false;      // sigsuspend, ppoll, pselect6, epoll_pwait: the temporary mask is in place
  uint64_t fifo_other_opens = 0;  // open of a FIFO: the other side's open count + 1 when it began waiting
  bool ipc_waited = false;        // semop, msgsnd, msgrcv: it waited on its object (gone now: EIDRM)
};

struct TaskSched {
  uint64_t affinity = ~0ull;    // CPUs allowed (masked with the VM's CPUs when read)
  int policy = 0;               // SCHED_OTHER, FIFO, RR, BATCH, IDLE, DEADLINE
  int rt_priority = 0;
  bool reset_on_fork = false;
  uint64_t dl_runtime = 0, dl_deadline = 0, dl_period = 0;
  int ioprio = 0;               // IOPRIO_PRIO_VALUE(class, data); 0 = none (follows nice)
  TaskSched forked() const;     // what a child inherits
};
uint64_t all_cpus_mask();
// The process a pidfd refers to (sys/pidfd.cpp); nullptr if `fd` is not a pidfd.
std::shared_ptr<Process> pidfd_process(Task& t, int fd);       // the VM's CPUs (the host's online CPUs, at most 64)

uint64_t new_mm_id();

struct FdEntry {
  FilePtr file;
  bool cloexec = false;
};

class FdTable {
 public:
  static constexpr int kMaxFds = 1024;
  // New fds stay below the calling task's RLIMIT_NOFILE (as Linux reads current's): the
  // kernel sets it before each system call.
  static void set_caller_limit(uint64_t rlim_cur);
  FilePtr get(int fd) const;
  // Installs `f` at the lowest free fd >= min_fd; returns the fd, -EMFILE, or -EINVAL when
  // min_fd is at or above the limit (F_DUPFD).
  int install(FilePtr f, bool cloexec, int min_fd = 0);
  int install_at(int fd, FilePtr f, bool cloexec);  // dup2 semantics (closes what was there); -EBADF above the limit
  bool has_free_fd() const;  // an install would succeed (open checks before creating anything)
  int close(int fd);
  bool cloexec(int fd) const;
  void set_cloexec(int fd, bool on);
  void close_on_exec();
  void close_all();
  int max_fd() const { return static_cast<int>(fds_.size()) - 1; }
  const std::vector<FdEntry>& entries() const { return fds_; }

 private:
  std::vector<FdEntry> fds_;
};

struct FsContext {
  PathRef root, cwd;
  uint32_t umask = 022;
};

struct SigAction {
  uint64_t handler = 0;  // SIG_DFL (0), SIG_IGN (1) or a guest address
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};

struct SignalHandlers {
  std::array<SigAction, 65> actions{};  // indexed by signal number 1..64
};

struct PendingSignal {
  int sig;
  siginfo_t info;
};

// Signal numbers as bits: bit (sig-1).
inline uint64_t sigbit(int sig) { return 1ull << (sig - 1); }
constexpr uint64_t kUnblockable = (1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1));

enum class TaskState {
  Running,   // executing guest code on the host, or about to be resumed
  Blocked,   // parked inside a syscall, waiting on queues and/or a deadline
  Stopped,   // job-control stop
  Traced,    // in a ptrace-stop (kernel/ptrace.cpp): only its tracer resumes it
  Dead,      // exited; its host thread is gone or going
};

class Task {
 public:
  Task(int tid, std::unique_ptr<platform::Context> ctx, std::shared_ptr<Process> proc);
  ~Task();

  int tid;                      // guest thread id
  std::unique_ptr<platform::Context> ctx;  // how the platform runs this thread
  std::shared_ptr<Process> proc;
  TaskState state = TaskState::Running;

  // Guest registers as of the last stop (fetched from the platform on first use).
  platform::Regs& regs() { return ctx->regs(); }

  // The syscall in progress (kept while parked so that it can be re-run on wake-up).
  long sys_nr = -1;
  uint64_t sys_args[6]{};
  SyscallProgress progress;     // what a parked syscall has done so far (cleared at each new one)
  int64_t sys_partial = 0;      // what to return if a signal cuts it short after progress
  uint64_t sys_remaining_addr = 0;  // nanosleep's rem: written with the time left if interrupted
  int64_t sys_deadline_ns = -1; // absolute CLOCK_MONOTONIC deadline of a parked syscall
  bool sys_restartable = true;  // ERESTARTSYS semantics (SA_RESTART decides) vs EINTR
  bool sys_restartable_saved = true;
  bool interrupted = false;     // woken by a signal rather than by its event
  bool uninterruptible = false; // signals do not cut this wait short (vfork)
  std::vector<WaitQueue*> waiting_on;
  bool in_runnable = false;
  bool interrupt_sent = false;  // a host interrupt signal is on its way

  uint64_t blocked = 0;         // signal mask
  uint64_t sigwait_set = 0;     // rt_sigtimedwait: these signals wake the task even if blocked
  uint64_t saved_mask = 0;      // restored after rt_sigsuspend's handler
  bool has_saved_mask = false;
  std::deque<PendingSignal> pending;
  uint64_t pending_set = 0;
  uint64_t altstack_sp = 0, altstack_size = 0;
  int altstack_flags = SS_DISABLE;

  uint64_t clear_child_tid = 0;
  uint64_t robust_list = 0;
  uint32_t futex_bitset = 0;    // FUTEX_WAIT_BITSET: which wakes apply
  bool vfork_parent_waiting = false;
  TaskSched sched;
  PtraceState ptrace;           // ptrace(2): its tracer, options and ptrace-stop
  std::string strace_exec;      // strace=: execve's arguments, read before the exec

  void wait_on(WaitQueue& q) { q.add(this); waiting_on.push_back(&q); }
  void stop_waiting();
  uint64_t arg(int i) const { return sys_args[i]; }
  // Typed arguments: ptr_arg<T>(i) is a guest pointer (kernel/user_ptr.h), int_arg(i) an int
  // or fd (the low 32 bits, as Linux's int parameters), size_arg(i) a length.
  template <class T>
  UserPtr<T> ptr_arg(int i) const;
  int int_arg(int i) const { return static_cast<int>(sys_args[i]); }
  uint32_t uint_arg(int i) const { return static_cast<uint32_t>(sys_args[i]); }
  size_t size_arg(int i) const { return sys_args[i]; }
};

class Process {
 public:
  int pid = 0;                  // guest pid (== tgid)
  int pgid = 0, sid = 0;
  std::weak_ptr<Process> parent;
  std::vector<std::shared_ptr<Process>> children;
  std::vector<Task*> threads;
  uint64_t mm_id = 0;           // identity of the address space (threads share it)
  std::shared_ptr<platform::AddressSpace> memory;  // the platform's address space
  Credentials cred;
  std::shared_ptr<FdTable> fds;
  std::shared_ptr<FsContext> fs;
  std::shared_ptr<SignalHandlers> sighand;
  std::deque<PendingSignal> shared_pending;
  uint64_t shared_pending_set = 0;

  // Memory layout bookkeeping for brk.
  uint64_t brk_start = 0, brk_cur = 0, brk_mapped = 0;
  // Guest file names of file-backed ranges (umkernel maps them as anonymous copies), for
  // /proc/PID/maps: start -> (end, path).
  std::map<uint64_t, std::pair<uint64_t, std::string>> mapped_files;
  void note_mapping(uint64_t start, uint64_t end, const std::string& path);
  void forget_mappings(uint64_t start, uint64_t end);

  std::string comm;             // executable name (up to 15 chars)
  std::string exe_path;
  std::vector<std::string> cmdline, environ;
  std::vector<uint64_t> auxv;   // the ELF auxiliary vector exec gave it (/proc/PID/auxv)
  int64_t start_time_ns = 0;
  uint32_t personality = 0;     // personality(2): PER_LINUX and flags, kept across exec
  uint64_t locked_bytes = 0;    // mlock'ed, counted against RLIMIT_MEMLOCK (sys/memlock.cpp)
  // System V IPC (ipc/sysv.h): attached shared memory segments, and the SEM_UNDO adjustments
  // (shared with CLONE_SYSVSEM children); null until first used.
  std::shared_ptr<struct ShmAttachments> shm_attached;
  std::shared_ptr<struct SemUndoList> sem_undo;

  // Linux's SIGNAL_UNKILLABLE: init drops every signal it leaves at SIG_DFL (SIGKILL and
  // SIGSTOP included) until a synchronous fault forces a default action on it.
  bool unkillable = false;
  bool zombie = false;
  bool reaped = false;
  int exit_status = 0;          // wait status encoding
  int exit_signal = SIGCHLD;    // sent to the parent when we die
  bool stopped = false;         // job control
  int stop_report = 0;          // pending stop/continue report for wait (0 = none)
  int last_stop_sig = 0;
  WaitQueue child_wait;         // parents wait4() here for our children
  WaitQueue exited;             // woken when this process becomes a zombie (pidfds poll it)
  WaitQueue vfork_done;
  bool vfork_child = false;
  bool vfork_released = true;
  int tty_index = -1;           // controlling terminal (console index), -1 = none
  // ptrace(2), the tracer's side: the threads it traces, and the traced threads that died
  // and that its wait has not reported yet (kernel/ptrace.cpp).
  std::vector<Task*> tracees;
  struct TraceeExit {
    int tid, pgid, status;
    uint32_t uid;
    std::shared_ptr<Process> defer_parent;  // a traced leader: its parent hears of it afterwards
  };
  std::deque<TraceeExit> tracee_exits;
  bool parent_notify_deferred = false;  // its tracer reports its death first

  uint64_t utime_ns = 0, stime_ns = 0;
  int nice = 0;
  int oom_score_adj = 0;        // /proc/PID/oom_score_adj (inherited)
  std::shared_ptr<struct Cgroup> cgroup;  // cgroup2 membership (vfs/cgroupfs.cpp); null = root
  WaitQueue signal_queued;      // woken whenever a signal is queued (signalfd readers)
  std::shared_ptr<struct PosixTimers> posix_timers;  // timer_create (sys/event.cpp)
  uint64_t alarm_timer = 0;     // kernel timer id of alarm()/ITIMER_REAL, 0 = none
  int64_t alarm_deadline = 0;
  int64_t alarm_interval = 0;
  std::array<rlimit, RLIM_NLIMITS> rlimits = default_rlimits();
  static std::array<rlimit, RLIM_NLIMITS> default_rlimits();
};

}  // namespace um::kernel
