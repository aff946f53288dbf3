#include "umkernel/kernel/kernel.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"
#include "umkernel/kernel/ptrace.h"
#include "umkernel/kernel/signal_delivery.h"
#include "umkernel/kernel/strace.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel {

namespace {
Kernel* g_kernel = nullptr;
}

Kernel& kernel() { return *g_kernel; }
bool kernel_exists() { return g_kernel != nullptr && !g_kernel->torn_down(); }

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int64_t realtime_offset_ns() { return g_kernel ? g_kernel->realtime_offset_ns_ : 0; }
void set_realtime_offset_ns(int64_t off) {
  if (g_kernel) g_kernel->realtime_offset_ns_ = off;
}

int guest_clock_gettime(clockid_t clock, timespec* ts) {
  int r = clock_gettime(clock, ts);
  int64_t offset = realtime_offset_ns();
  if (r == 0 && offset &&
      (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_REALTIME_ALARM ||
       clock == CLOCK_TAI)) {
    int64_t ns = ts->tv_sec * 1000000000ll + ts->tv_nsec + offset;
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
    if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000; ts->tv_sec--; }
  }
  return r;
}

int64_t realtime_ns() {
  timespec ts;
  guest_clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

WaitQueue::~WaitQueue() {
  for (Task* t : waiters_) std::erase(t->waiting_on, this);
}

void WaitQueue::wake_all() {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (Task* t : waiters) {
    std::erase(t->waiting_on, this);
    kernel().wake(*t);
  }
  if (callbacks_.empty()) return;
  auto callbacks = callbacks_;  // a callback may add or drop listeners
  for (auto& w : callbacks)
    if (auto cb = w.lock()) (*cb)();
}

void WaitQueue::wake_task(Task* t) {
  std::erase(waiters_, t);
  std::erase(t->waiting_on, this);
  kernel().wake(*t);
}

Task::Task(int tid_, std::unique_ptr<platform::Context> c, std::shared_ptr<Process> p)
    : tid(tid_), ctx(std::move(c)), proc(std::move(p)) {
  if (ctx) ctx->owner = this;  // unit tests make tasks without a platform
}
Task::~Task() {
  stop_waiting();
  ptrace_unlink(*this);
}

void Task::stop_waiting() {
  for (WaitQueue* q : waiting_on) q->remove(this);
  waiting_on.clear();
}

Kernel::Registration::Registration(Kernel* k) { g_kernel = k; }
Kernel::Registration::~Registration() { g_kernel = nullptr; }

Kernel::Kernel() {
  boot_ns_ = monotonic_ns();
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  unimplemented_seen_.assign(1024, false);
}

Kernel::~Kernel() {
  shutdown_all();
  management.reset();  // removes the run directory once the disks are synced
  if (strace_ && strace_ != stderr) fclose(strace_);
  torn_down_ = true;  // kernel_exists() says false from here; kernel() answers until the
                      // last member is gone (their destructors may still reach states_)
}

Task* Kernel::task_by_tid(int tid) {
  auto it = tasks_by_tid_.find(tid);
  return it == tasks_by_tid_.end() || it->second->state == TaskState::Dead ? nullptr : it->second.get();
}

std::shared_ptr<Process> Kernel::process_by_pid(int pid) {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : it->second;
}

int Kernel::alloc_pid() {
  // Linux-like: increasing, wrapping at pid_max, skipping ids still in use.
  constexpr int kPidMax = 32768;
  for (int tries = 0; tries < kPidMax; tries++) {
    int pid = next_pid_++;
    if (next_pid_ >= kPidMax) next_pid_ = 300;
    if (!processes_.count(pid) && !tasks_by_tid_.count(pid)) return pid;
  }
  return -EAGAIN;
}

bool Kernel::start_platform(const std::string& kind, std::string* error) {
  platform_ = platform::create(kind, error);
  if (!platform_) return false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = platform_->wait_fd();
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, platform_->wait_fd(), &ev);
  return true;
}

Task* Kernel::add_task(int tid, std::unique_ptr<platform::Context> ctx, std::shared_ptr<Process> proc) {
  auto t = std::make_unique<Task>(tid, std::move(ctx), proc);
  Task* raw = t.get();
  tasks_by_tid_[tid] = std::move(t);
  live_tasks_.insert(raw);
  proc->threads.push_back(raw);
  return raw;
}

void Kernel::become_sole_thread(Task& t) {
  Process& p = *t.proc;
  for (Task* th : p.threads) {
    if (th == &t || th->state == TaskState::Dead) continue;
    th->state = TaskState::Dead;
    ptrace_task_died(*th, SIGKILL);
    th->stop_waiting();
    std::erase(runnable_, th);
    th->in_runnable = false;
    for (auto it = deadlines_.begin(); it != deadlines_.end();)
      it = it->second == th ? deadlines_.erase(it) : std::next(it);
    th->ctx->kill();
  }
  if (t.tid != p.pid) {
    // The exec'ing thread takes over the thread-group id, as Linux's de_thread does.
    auto own = std::move(tasks_by_tid_[t.tid]);
    tasks_by_tid_.erase(t.tid);
    if (auto old = tasks_by_tid_.find(p.pid); old != tasks_by_tid_.end()) {
      old->second->tid = -old->second->tid;  // the dead leader keeps a private id until reaped
      tasks_by_tid_[old->second->tid] = std::move(old->second);
      tasks_by_tid_.erase(p.pid);
    }
    t.tid = p.pid;
    tasks_by_tid_[t.tid] = std::move(own);
  }
}

void Kernel::note_unimplemented(long nr) {
  if (nr >= 0 && nr < static_cast<long>(unimplemented_seen_.size())) {
    if (unimplemented_seen_[nr]) return;
    unimplemented_seen_[nr] = true;
  }
  const char* name = syscall_name(nr);
  UM_WARN("unimplemented syscall %ld (%s) returns ENOSYS", nr, name ? name : "unknown");
}

// ---------------------------------------------------------------------------------------
// Event sources

bool Kernel::add_event_source(int fd, uint32_t events, EventSource* src) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  sources_[fd] = src;
  return true;
}

void Kernel::modify_event_source(int fd, uint32_t events, EventSource* src) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
  sources_[fd] = src;
}

void Kernel::remove_event_source(int fd) {
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  sources_.erase(fd);
}

// ---------------------------------------------------------------------------------------
// Scheduling: parking, waking, deadlines

void Kernel::park(Task& t) {
  t.state = TaskState::Blocked;
  if (t.sys_deadline_ns >= 0) deadlines_.emplace(t.sys_deadline_ns, &t);
}

void Kernel::set_deadline(Task& t, int64_t deadline_ns) { t.sys_deadline_ns = deadline_ns; }

void Kernel::wake(Task& t) {
  if (t.state != TaskState::Blocked || t.in_runnable) return;
  t.stop_waiting();
  if (t.sys_deadline_ns >= 0) {
    auto range = deadlines_.equal_range(t.sys_deadline_ns);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second == &t) { deadlines_.erase(it); break; }
  }
  t.in_runnable = true;
  runnable_.push_back(&t);
}

void Kernel::run_runnable() {
  while (!runnable_.empty() || !ptrace_resumes_.empty()) {
    // Tracees their tracer resumed (or detached) since the last round.
    auto resumes = std::move(ptrace_resumes_);
    ptrace_resumes_.clear();
    for (int tid : resumes) {
      Task* t = task_by_tid(tid);
      if (t && t->state == TaskState::Traced && t->ptrace.resume_requested) ptrace_continue(*t);
    }
    auto batch = std::move(runnable_);
    runnable_.clear();
    for (Task* t : batch) {
      t->in_runnable = false;
      if (t->state != TaskState::Blocked) continue;
      t->state = TaskState::Running;
      if (t->interrupted) {
        t->interrupted = false;
        // Linux checks for completion first: an event that came with the signal still counts.
        t->sys_restartable_saved = t->sys_restartable;
        int64_t r = run_handler(*t);
        if (r != kBlock) {
          complete(*t, r);
          continue;
        }
        t->sys_restartable = t->sys_restartable_saved;
        t->stop_waiting();
        int64_t result = t->sys_partial > 0 ? t->sys_partial : t->sys_restartable ? kERestartSys : -EINTR;
        if (t->sys_remaining_addr && t->sys_deadline_ns >= 0) {
          int64_t left = std::max<int64_t>(0, t->sys_deadline_ns - monotonic_ns());
          timespec rem{left / 1000000000, left % 1000000000};
          // nanosleep's rem: an unwritable one is EFAULT, as Linux's hrtimer_nanosleep.
          if (copy_to_user(*t, t->sys_remaining_addr, &rem, sizeof rem) < 0) result = -EFAULT;
        }
        finish_syscall(*t, result);
      } else {
        run_syscall(*t);
      }
    }
  }
}

uint64_t Kernel::add_timer(int64_t deadline_ns, std::function<void()> fn) {
  uint64_t id = next_timer_id_++;
  timers_.emplace(deadline_ns, KernelTimer{id, std::move(fn)});
  return id;
}

void Kernel::cancel_timer(uint64_t id) {
  for (auto it = timers_.begin(); it != timers_.end(); ++it)
    if (it->second.id == id) { timers_.erase(it); return; }
}

void Kernel::run_timers() {
  int64_t now = monotonic_ns();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto fn = std::move(timers_.begin()->second.fn);
    timers_.erase(timers_.begin());
    fn();
  }
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    Task* t = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    // The handler sees its deadline has passed when it re-runs.
    if (t->state == TaskState::Blocked && !t->in_runnable) {
      t->stop_waiting();
      t->in_runnable = true;
      runnable_.push_back(t);
    }
  }
}

int Kernel::next_timeout_ms() {
  if (!runnable_.empty()) return 0;
  if (deadlines_.empty() && timers_.empty()) return -1;
  int64_t next = INT64_MAX;
  if (!deadlines_.empty()) next = deadlines_.begin()->first;
  if (!timers_.empty()) next = std::min(next, timers_.begin()->first);
  int64_t delta = next - monotonic_ns();
  if (delta <= 0) return 0;
  return static_cast<int>(std::min<int64_t>((delta + 999999) / 1000000, 60000));
}

// ---------------------------------------------------------------------------------------
// The loop

int Kernel::run() {
  // Empty polls for guest stops before sleeping in epoll: a few catch a guest that stops
  // again within microseconds; more only take the CPU from the guests (tests/bench/README.md).
  epoll_event events[16];
  while (!init_exited_ && !halting_) {
    bool progressed = false;
    // Collect guest stops. Spin briefly when guests are active: a stop usually follows a
    // resume within microseconds, and sleeping in epoll costs a wake-up.
    for (int spin = 0; spin < 64 && !frozen_; spin++) {
      platform::Stop stop;
      if (platform::Context* c = platform_->next_stop(stop)) {
        handle_stop(*static_cast<Task*>(c->owner), stop);
        progressed = true;
        spin = 0;
        if (init_exited_ || halting_) break;
        continue;
      }
      if (!runnable_.empty() || live_tasks_.empty()) break;
    }
    if (!frozen_) {  // mconsole stop: guests wait, timers too
      run_timers();
      run_runnable();
    }
    if (init_exited_ || halting_) break;
    // Busy guests must not starve event sources (NIC frames, consoles): while there is
    // progress, look at them without waiting.
    int timeout = progressed ? 0 : frozen_ ? -1 : next_timeout_ms();
    if (timeout != 0 && !frozen_ && platform_->wait_briefly()) timeout = 0;
    int n = epoll_wait(epoll_.get(), events, 16, timeout);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == platform_->wait_fd()) {
        platform_->drain_wait_fd();
        continue;
      }
      auto it = sources_.find(fd);
      if (it != sources_.end()) it->second->on_event(events[i].events);
    }
    if (!frozen_) run_runnable();
  }
  shutdown_all();
  return exit_code_;
}

void Kernel::handle_stop(Task& t, const platform::Stop& stop) {
  if (stop.kind == platform::StopKind::Exited) {
    reap_host(t, stop.status);
    return;
  }
  if (t.state == TaskState::Dead) {
    t.ctx->kill();
    return;
  }
  switch (stop.kind) {
    case platform::StopKind::Syscall:
      handle_syscall(t);
      return;
    case platform::StopKind::BadSyscall: {
      // int 0x80, sysenter or a call from 32-bit code: umkernel has no IA32 emulation, and
      // Linux built without it answers with SIGSEGV at the instruction (never a 64-bit call).
      t.regs().rip -= 2;
      siginfo_t info{};
      info.si_signo = SIGSEGV;
      info.si_code = SI_KERNEL;
      force_signal(t, SIGSEGV, &info);
      resume_task(t);
      return;
    }
    case platform::StopKind::Interrupted:
      t.interrupt_sent = false;
      resume_task(t);
      return;
    case platform::StopKind::Fault:
      handle_fault(t, stop.info);
      return;
    case platform::StopKind::Exited:
      return;
  }
}

void Kernel::handle_fault(Task& t, const siginfo_t& host_info) {
  siginfo_t info = host_info;
  int host_sig = info.si_signo;
  UM_DEBUG("task %d: host signal %d at rip %#llx (addr %p)", t.tid, host_sig, t.regs().rip, info.si_addr);
  if (host_sig == SIGTRAP && t.ptrace.watch_stepping && info.si_code == TRAP_TRACE) {
    // Stepping for an emulated watchpoint: report only when one fired.
    int hit = ptrace_watch_hit(t);
    if (hit < 0) {
      resume_task(t);
      return;
    }
    info.si_code = TRAP_HWBKPT;
    info.si_addr = reinterpret_cast<void*>(t.ptrace.debugreg[hit]);
  }
  force_signal(t, host_sig, &info);
  resume_task(t);
}

void Kernel::handle_syscall(Task& t) {
  const platform::SyscallArgs& sc = t.ctx->syscall();
  t.sys_nr = sc.nr;
  for (int i = 0; i < 6; i++) t.sys_args[i] = sc.args[i];
  t.progress = {};
  t.sys_partial = 0;
  t.sys_remaining_addr = 0;
  t.sys_deadline_ns = -1;
  t.sys_restartable = true;
  t.interrupted = false;
  t.uninterruptible = false;
  if (t.ptrace.attached && ptrace_syscall_entry(t)) return;
  run_syscall(t);
}

int64_t Kernel::run_handler(Task& t) {
  const SyscallRow* info = syscall_info(t.sys_nr);
  int64_t r;
  if (info && info->handler) {
    FdTable::set_caller_limit(t.proc->rlimits[RLIMIT_NOFILE].rlim_cur);
    try {
      r = info->handler(t);
    } catch (const std::exception& e) {
      // A guest request must never take the kernel down (e.g. an absurd allocation).
      UM_WARN("%s in syscall %ld of task %d: %s", "exception", t.sys_nr, t.tid, e.what());
      r = -ENOMEM;
    }
  } else {
    // Rows refused on purpose (Support::Enosys) are not logged: libc falls back.
    if (!info) note_unimplemented(t.sys_nr);
    r = -ENOSYS;
  }
  return r;
}

void Kernel::run_syscall(Task& t) {
  int64_t r = run_handler(t);
  if (r == kTaskGone) return;
  if (r == kBlock && t.ptrace.pending_event) {
    // The handler stops for a ptrace event (vfork, exit) and runs again when resumed.
    t.stop_waiting();
    t.sys_deadline_ns = -1;
    t.ptrace.message = t.ptrace.pending_message;
    int ev = t.ptrace.pending_event;
    t.ptrace.pending_event = 0;
    ptrace_stop(t, SIGTRAP | (ev << 8), PtraceAfter::Rerun, nullptr);
    return;
  }
  if (r == kBlock) {
    // A signal may already be waiting: then do not sleep at all.
    if (!t.uninterruptible && has_deliverable_signal(t)) {
      t.stop_waiting();
      t.sys_deadline_ns = -1;
      finish_syscall(t, t.sys_partial > 0 ? t.sys_partial : t.sys_restartable ? kERestartSys : -EINTR);
      return;
    }
    park(t);
    return;
  }
  complete(t, r);
}

void Kernel::complete(Task& t, int64_t r) {
  if (r == kTaskGone) return;
  if (strace_) strace_syscall(strace_, t, r);
  if (t.ptrace.pending_event) {  // fork, clone, vfork-done, exec: a ptrace event stop first
    t.ptrace.message = t.ptrace.pending_message;
    t.ptrace.saved_result = r;
    int ev = t.ptrace.pending_event;
    t.ptrace.pending_event = 0;
    ptrace_stop(t, SIGTRAP | (ev << 8), PtraceAfter::Event, nullptr);
    return;
  }
  if (r == kNoReturn) {
    t.sys_nr = -1;
    syscall_exit(t);
    return;
  }
  finish_syscall(t, r);
}

void Kernel::finish_syscall(Task& t, int64_t result) {
  if (strace_ && (result == kERestartSys || result == -EINTR)) strace_syscall(strace_, t, result);
  t.ctx->set_result(result);
  t.sys_nr = -1;
  t.stop_waiting();
  syscall_exit(t);
}

void Kernel::resume_task(Task& t) {
  if (t.state == TaskState::Dead) return;
  if (!deliver_signals(t)) return;  // the task died or stopped
  if (t.state != TaskState::Running) return;
  t.ctx->resume();
}

void Kernel::reap_host(Task& task, int status) {
  Task* t = &task;
  live_tasks_.erase(t);
  if (t->state != TaskState::Dead) {
    // The host killed our task behind our back (OOM killer, a stray kill -9).
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    UM_WARN("guest task %d (host pid %d) died on the host (signal %d)", t->tid, t->ctx->host_id(), sig);
    exit_process(*t->proc, sig);
  }
  std::erase(t->proc->threads, t);
  tasks_by_tid_.erase(t->tid);
}

void Kernel::shutdown_all() {
  for (Task* t : live_tasks_) t->state = TaskState::Dead;
  if (platform_) platform_->shutdown();
  live_tasks_.clear();
  for (auto& m : mounts_) if (m->sb) m->sb->sync();
}

void Kernel::halt(int exit_code) {
  halting_ = true;
  exit_code_ = exit_code;
}

}  // namespace um::kernel
