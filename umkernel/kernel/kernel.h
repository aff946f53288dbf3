// The kernel: owns every task, process and mount, and runs the event loop that serves guest
// system calls. One host thread does all of it; guest tasks run natively and in parallel on
// the host's cores between their system calls. A guest that blocks is parked (see
// WaitQueue), never the loop.
#pragma once
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/unique_fd.h"
#include "umkernel/kernel/futex_queue.h"
#include "umkernel/kernel/subsystem_state.h"
#include "umkernel/kernel/task.h"

namespace um::kernel {

// Special handler results (outside the -4095..-1 errno range and all valid results).
constexpr int64_t kBlock = INT64_MIN + 1;     // the task was parked; re-run the handler on wake
constexpr int64_t kNoReturn = INT64_MIN + 2;  // registers were set by the handler (execve...)
constexpr int64_t kTaskGone = INT64_MIN + 3;  // the task exited; do not resume it
// Linux's internal restart codes.
constexpr int64_t kERestartSys = -512;
constexpr int64_t kERestartNoIntr = -513;
constexpr int64_t kERestartNoHand = -514;

namespace mgmt { class Management; }
struct BootConfig;
struct DiskSpec;

// A ubd disk's file system, opened on first mount.
struct DiskMount {
  std::shared_ptr<SuperBlock> sb;
  InodePtr root;
  int64_t err = 0;
  bool ok() const { return err == 0; }
  int64_t error() const { return err; }
};
class Tty;

int64_t monotonic_ns();
int64_t realtime_ns();  // the guest's CLOCK_REALTIME (the host's, shifted by clock_settime)
// Reads a clock as the guest sees it: the realtime clocks (REALTIME, its coarse and alarm
// forms, TAI) are the host's plus the VM's offset, which clock_settime/settimeofday set.
int guest_clock_gettime(clockid_t clock, timespec* ts);
int64_t realtime_offset_ns();
void set_realtime_offset_ns(int64_t off);
const struct timezone& guest_timezone();  // settimeofday's (sys/clock.cpp)

// Something other than a guest task that the loop waits on: console input, sockets...
struct EventSource {
  virtual ~EventSource() = default;
  virtual void on_event(uint32_t events) = 0;
};

class Kernel {
 public:
  Kernel();
  ~Kernel();

  // Boots: mounts root, starts init. Returns false with a message on failure.
  bool boot(const BootConfig& cfg, std::string* error);
  // Runs until init exits or the guest halts; returns umkernel's exit status.
  int run();

  // --- tasks and processes ---
  Task* task_by_tid(int tid);
  std::shared_ptr<Process> process_by_pid(int pid);
  const std::map<int, std::shared_ptr<Process>>& processes() const { return processes_; }
  int alloc_pid();
  Task* add_task(int tid, std::unique_ptr<platform::Context> ctx, std::shared_ptr<Process> proc);
  // The platform guest code runs on (platform=...), made by boot.
  platform::Platform& platform() { return *platform_; }
  bool start_platform(const std::string& kind, std::string* error);
  // execve in a multithreaded process: the other threads die and `t` becomes the leader.
  void become_sole_thread(Task& t);
  void register_process(std::shared_ptr<Process> p) { processes_[p->pid] = p; }
  void reap_process(int pid) { processes_.erase(pid); }
  std::shared_ptr<Process> init_process() { return process_by_pid(1); }
  // Tasks that hold a pid: live and dying threads, and zombies not yet reaped.
  size_t task_count() const;
  size_t count_tasks(const std::function<bool(const Process&)>& which) const;
  int64_t boot_time_ns() const { return boot_ns_; }

  // --- scheduling ---
  void park(Task& t);                 // the task waits on its queues/deadline
  void wake(Task& t);                 // makes a parked task runnable (re-runs its syscall)
  void set_deadline(Task& t, int64_t deadline_ns);
  // A one-shot kernel timer (alarm, interval timers); returns an id for cancel_timer.
  uint64_t add_timer(int64_t deadline_ns, std::function<void()> fn);
  void cancel_timer(uint64_t id);

  // --- signals ---
  void send_signal_to_process(Process& p, int sig, const siginfo_t* info = nullptr);
  void send_signal_to_task(Task& t, int sig, const siginfo_t* info = nullptr);
  int send_signal_to_group(int pgid, int sig, const siginfo_t* info = nullptr);  // 0 or -ESRCH
  bool signal_ignored(Process& p, int sig);

  // --- lifecycle ---
  // Ends the whole process with the given wait status (exit_group, fatal signal).
  void exit_process(Process& p, int wait_status);
  void exit_task(Task& t, int wait_status);
  void halt(int exit_code);           // reboot(2): power off / halt / restart
  void resume_after_stop(Task& t) { resume_task(t); }
  void request_restart() { halting_ = true; restart_ = true; exit_code_ = 0; }
  bool restart_requested() const { return restart_; }
  bool halting() const { return halting_; }

  // --- event loop helpers ---
  bool add_event_source(int fd, uint32_t events, EventSource* src);
  void modify_event_source(int fd, uint32_t events, EventSource* src);
  void remove_event_source(int fd);

  // --- VFS ---
  std::shared_ptr<Mount> root_mount() { return root_mount_; }
  std::vector<std::shared_ptr<Mount>>& mounts() { return mounts_; }
  std::shared_ptr<Mount> mount_at(const PathRef& where);  // the mount covering `where`, if any
  Tty* console() { return console_.get(); }
  // The file system on block device `rdev` (98:16*N = ubdN); nullopt if there is no such disk.
  std::optional<DiskMount> disk_superblock(uint64_t rdev, bool read_only);
  const std::vector<int>& disk_indices() const { return disk_indices_; }
  // ubdN's command-line spec (image, backing, flags); null if there is no such disk.
  std::shared_ptr<const DiskSpec> disk_spec(int index) const;
  // The guest opens ubdN raw (vfs/block_device.cpp): its file system's changes are written
  // back first; when the disk is written and not mounted, umkernel's open copy of its file
  // system is closed, so that the next mount reads what was written.
  void disk_raw_access(int index, bool writing);
  Tty* tty(int index);
  FutexQueues& futexes() { return futexes_; }  // every futex with waiters
  bool torn_down() const { return torn_down_; }  // ~Kernel's body has run
  // A subsystem's own state, made on first use (kernel/subsystem_state.h).
  template <class T>
  T& state() { return states_.get<T>(); }

  // --- management from the host (umkernel/mgmt) ---
  std::shared_ptr<mgmt::Management> management;  // run directory, mconsole; released in ~Kernel
  // mconsole stop/go: while frozen, guest stops are not collected and nothing is resumed;
  // event sources (the mconsole) are still served.
  void set_frozen(bool on) { frozen_ = on; }
  bool frozen() const { return frozen_; }
  // Hot-plugged disks (mconsole config/remove, kernel/kernel_disks.cpp): 0 or -errno
  // (-EEXIST, -ENODEV, -EBUSY while mounted).
  int64_t add_disk(const DiskSpec& d);
  int64_t remove_disk(int index);

  // --- ptrace (kernel/kernel_ptrace.cpp, kernel/ptrace.*) ---
  // Puts a traced task in a ptrace-stop that wait reports as `exit_code` (status >> 8) and
  // tells its tracer; `after` says what resuming it does. `info`: its siginfo (null: the
  // SIGTRAP Linux makes for syscall and event stops; none for a non-seized group-stop).
  void ptrace_stop(Task& t, int exit_code, PtraceAfter after, const siginfo_t* info);
  // The tracer resumed (or detached) a stopped tracee: the loop continues it.
  void ptrace_queue_resume(Task& t);
  // Tells the parent of a dead process (deferred while its tracer had it).
  void notify_exit(Process& p);

  // Logs an unimplemented syscall once per number.
  void note_unimplemented(long nr);
  std::string strace_path;
  bool strace_on() const { return strace_ != nullptr; }

 private:
  void handle_stop(Task& t, const platform::Stop& stop);
  void handle_syscall(Task& t);
  void run_syscall(Task& t);          // dispatches t.sys_nr and finishes or parks
  int64_t run_handler(Task& t);       // the handler's raw result
  void complete(Task& t, int64_t r);  // finishes a syscall with a non-kBlock result
  void finish_syscall(Task& t, int64_t result);
  void resume_task(Task& t);          // delivers pending signals, writes regs, resumes
  void handle_fault(Task& t, const siginfo_t& info);
  void run_runnable();
  void run_timers();
  void reap_host(Task& t, int status);
  void syscall_exit(Task& t);         // back to user mode after a system call (exit stop)
  void ptrace_continue(Task& t);      // runs what a resumed ptrace-stop was to do
  bool ptrace_syscall_entry(Task& t); // a syscall-enter-stop if the tracer asked for one
  void shutdown_all();
  int next_timeout_ms();

  // Declared first, so destroyed last: kernel() answers while the members below go.
  struct Registration {
    explicit Registration(Kernel* k);
    ~Registration();
  } registration_{this};
  bool torn_down_ = false;
  int64_t realtime_offset_ns_ = 0;  // the guest's CLOCK_REALTIME minus the host's
  friend int64_t realtime_offset_ns();
  friend void set_realtime_offset_ns(int64_t off);
  // Tasks and processes hold its contexts.
  std::unique_ptr<platform::Platform> platform_;
  // Destroyed after tasks and processes, whose files and waits still reach it.
  SubsystemStates states_;
  std::map<int, std::shared_ptr<Process>> processes_;
  std::unordered_map<int, std::unique_ptr<Task>> tasks_by_tid_;
  std::unordered_set<Task*> live_tasks_;  // tasks whose host thread has not been reaped
  int next_pid_ = 1;
  std::vector<Task*> runnable_;
  std::vector<int> ptrace_resumes_;   // tids of tracees their tracer resumed
  std::multimap<int64_t, Task*> deadlines_;
  struct KernelTimer { uint64_t id; std::function<void()> fn; };
  std::multimap<int64_t, KernelTimer> timers_;
  uint64_t next_timer_id_ = 1;
  UniqueFd epoll_;
  std::unordered_map<int, EventSource*> sources_;
  std::shared_ptr<Mount> root_mount_;
  std::vector<std::shared_ptr<DiskSpec>> disks_;
  std::vector<int> disk_indices_;
  std::map<int, DiskMount> open_disks_;
  std::vector<std::shared_ptr<Mount>> mounts_;
  std::unique_ptr<Tty> console_;
  std::shared_ptr<SuperBlock> console_keepalive_;
  std::vector<std::unique_ptr<Tty>> ttys_;
  std::vector<bool> unimplemented_seen_;
  int64_t boot_ns_ = 0;
  bool halting_ = false;
  bool restart_ = false;
  int exit_code_ = 0;
  bool init_exited_ = false;
  bool frozen_ = false;
  FILE* strace_ = nullptr;
  FutexQueues futexes_;
  friend class Strace;
};

Kernel& kernel();
bool kernel_exists();  // false once ~Kernel has run (objects it owned may go after it)

}  // namespace um::kernel
