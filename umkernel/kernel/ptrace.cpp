#include "umkernel/kernel/ptrace.h"

#include <linux/ptrace.h>
#include <sched.h>
#include <sys/wait.h>

#include <cstring>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/signal_delivery.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

std::shared_ptr<Process> ptrace_tracer(const Task& t) {
  return t.ptrace.attached ? t.ptrace.tracer.lock() : nullptr;
}

int ptrace_tracer_pid(const Process& p) {
  for (Task* t : p.threads)
    if (t->state != TaskState::Dead && (t->tid == p.pid || p.threads.size() == 1))
      if (auto tr = ptrace_tracer(*t)) return tr->pid;
  return 0;
}

void ptrace_link(Task& t, const std::shared_ptr<Process>& tracer, bool seized, uint32_t options) {
  PtraceState& s = t.ptrace;
  s = PtraceState{};
  s.tracer = tracer;
  s.attached = true;
  s.seized = seized;
  s.options = options;
  tracer->tracees.push_back(&t);
}

void ptrace_unlink(Task& t) {
  PtraceState& s = t.ptrace;
  if (!s.attached) return;
  if (auto tr = s.tracer.lock()) std::erase(tr->tracees, &t);
  if ((s.forced_tf || s.watch_stepping) && t.state != TaskState::Dead && t.ctx) t.regs().eflags &= ~kTrapFlag;
  // What a ptrace-stop was to do next stays (the kernel resumes it); the rest goes.
  PtraceState keep;
  keep.after = s.after;
  keep.saved_result = s.saved_result;
  keep.exit_status = s.exit_status;
  keep.siginfo = s.siginfo;
  keep.inject_sig = s.inject_sig;
  keep.resume_requested = s.resume_requested;
  s = keep;
}

bool ptrace_traced_by(const Process& c, const Process& tracer) {
  for (Task* t : c.threads)
    if (t->tid == c.pid) {
      auto tr = ptrace_tracer(*t);
      return tr.get() == &tracer;
    }
  return false;
}

void ptrace_task_died(Task& t, int status) {
  auto tr = ptrace_tracer(t);
  if (!tr) return;
  Process& p = *t.proc;
  bool leader = t.tid == p.pid;
  auto parent = p.parent.lock();
  // A leader whose tracer is its parent is reported once, by the parent's own wait.
  if (!(leader && parent == tr)) {
    Process::TraceeExit e{t.tid, p.pgid, status, p.cred.uid, nullptr};
    if (leader && parent) {
      e.defer_parent = kernel().process_by_pid(p.pid);
      p.parent_notify_deferred = true;
    }
    tr->tracee_exits.push_back(e);
    siginfo_t si{};
    si.si_signo = SIGCHLD;
    si.si_pid = t.tid;
    si.si_uid = p.cred.uid;
    if (WIFEXITED(status)) { si.si_code = CLD_EXITED; si.si_status = WEXITSTATUS(status); }
    else { si.si_code = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED; si.si_status = WTERMSIG(status); }
    kernel().send_signal_to_process(*tr, SIGCHLD, &si);
    tr->child_wait.wake_all();
  }
  t.ptrace.after = PtraceAfter::None;
  ptrace_unlink(t);
}

void ptrace_detach(Task& t, int sig) {
  bool stopped = t.state == TaskState::Traced && !t.ptrace.resume_requested;
  PtraceAfter after = t.ptrace.after;
  ptrace_unlink(t);
  if (!stopped) return;
  t.ptrace.listening = false;
  t.ptrace.inject_sig = after == PtraceAfter::Signal ? sig : -1;
  kernel().ptrace_queue_resume(t);
}

void ptrace_tracer_exiting(Process& tracer) {
  auto tracees = tracer.tracees;
  for (Task* t : tracees) {
    if (t->ptrace.options & PTRACE_O_EXITKILL) {
      ptrace_unlink(*t);
      kernel().send_signal_to_process(*t->proc, SIGKILL);
    } else {
      ptrace_detach(*t, 0);
    }
  }
  tracer.tracees.clear();
  auto exits = std::move(tracer.tracee_exits);
  tracer.tracee_exits.clear();
  for (auto& e : exits)
    if (e.defer_parent) {
      e.defer_parent->parent_notify_deferred = false;
      kernel().notify_exit(*e.defer_parent);
    }
}

void ptrace_queue_signal(Task& t, int sig) {
  PendingSignal ps{sig, {}};
  ps.info.si_signo = sig;
  ps.info.si_code = SI_KERNEL;  // Linux's SEND_SIG_PRIV
  if (!(t.pending_set & sigbit(sig))) {
    t.pending.push_back(ps);
    t.pending_set |= sigbit(sig);
  }
  ptrace_kick(t);
}

void ptrace_kick(Task& t) {
  switch (t.state) {
    case TaskState::Running:
      if (!t.interrupt_sent && t.sys_nr < 0) {
        t.interrupt_sent = true;
        t.ctx->interrupt();
      }
      break;
    case TaskState::Blocked:
      if (!t.uninterruptible) {
        t.interrupted = true;
        kernel().wake(t);
      }
      break;
    case TaskState::Stopped: {
      // A job-control-stopped tracee goes into a ptrace-stop at once (Linux's JOBCTL_TRAP_STOP).
      t.ptrace.group_stop_pending = false;
      t.ptrace.interrupt_pending = false;
      int sig = t.proc->last_stop_sig ? t.proc->last_stop_sig : SIGSTOP;
      kernel().ptrace_stop(t, t.ptrace.seized ? sig | (PTRACE_EVENT_STOP << 8) : sig, PtraceAfter::Group, nullptr);
      break;
    }
    case TaskState::Traced:
    case TaskState::Dead:
      break;
  }
}

int ptrace_clone_event(const Task& parent, uint64_t flags) {
  if (!parent.ptrace.attached || (flags & CLONE_UNTRACED)) return 0;
  int event;
  uint32_t option;
  if (flags & CLONE_VFORK) { event = PTRACE_EVENT_VFORK; option = PTRACE_O_TRACEVFORK; }
  else if ((flags & CSIGNAL) != SIGCHLD) { event = PTRACE_EVENT_CLONE; option = PTRACE_O_TRACECLONE; }
  else { event = PTRACE_EVENT_FORK; option = PTRACE_O_TRACEFORK; }
  return (parent.ptrace.options & option) ? event : 0;
}

void ptrace_attach_child(Task& parent, Task& child) {
  auto tr = ptrace_tracer(parent);
  if (!tr) return;
  ptrace_link(child, tr, parent.ptrace.seized, parent.ptrace.options);
  // Its first stop: SIGSTOP, or under PTRACE_SEIZE a PTRACE_EVENT_STOP trap.
  if (parent.ptrace.seized) {
    child.ptrace.interrupt_pending = true;
  } else {
    PendingSignal ps{SIGSTOP, {}};
    ps.info.si_signo = SIGSTOP;
    ps.info.si_code = SI_USER;
    child.pending.push_back(ps);
    child.pending_set |= sigbit(SIGSTOP);
  }
}

void ptrace_exec_event(Task& t, int old_tid) {
  if (!t.ptrace.attached) return;
  if (t.ptrace.options & PTRACE_O_TRACEEXEC) {
    t.ptrace.pending_event = PTRACE_EVENT_EXEC;
    t.ptrace.pending_message = static_cast<uint64_t>(old_tid);
  } else if (!t.ptrace.seized) {
    kernel().send_signal_to_task(t, SIGTRAP);  // the traditional post-exec SIGTRAP
  }
}

bool ptrace_exit_event(Task& t, int status) {
  if (!t.ptrace.attached || !(t.ptrace.options & PTRACE_O_TRACEEXIT) || t.ptrace.exit_event_done) return false;
  t.ptrace.exit_event_done = true;
  t.ptrace.pending_event = PTRACE_EVENT_EXIT;
  t.ptrace.pending_message = static_cast<uint64_t>(status);
  return true;
}

void ptrace_vfork_done(Task& t, int child_pid) {
  if (!t.ptrace.attached || !(t.ptrace.options & PTRACE_O_TRACEVFORKDONE)) return;
  t.ptrace.pending_event = PTRACE_EVENT_VFORK_DONE;
  t.ptrace.pending_message = static_cast<uint64_t>(child_pid);
}

namespace {

bool wait_matches(const Process& self, int tid, int pgid, int64_t pid) {
  if (pid > 0) return tid == pid;
  if (pid == 0) return pgid == self.pgid;
  if (pid == -1) return true;
  return pgid == -pid;
}

}  // namespace

int64_t ptrace_wait(Task& t, int64_t pid, int options, int* status_out, siginfo_t* info, bool nowait, bool* any) {
  Process& self = *t.proc;
  for (Task* tr : self.tracees) {
    if (!wait_matches(self, tr->tid, tr->proc->pgid, pid)) continue;
    *any = true;
    PtraceState& s = tr->ptrace;
    if (tr->state != TaskState::Traced || s.resume_requested || s.listening || !s.exit_code) continue;
    if (status_out) *status_out = (s.exit_code << 8) | 0x7f;
    if (info) {
      info->si_signo = SIGCHLD;
      info->si_code = CLD_TRAPPED;
      info->si_pid = tr->tid;
      info->si_uid = tr->proc->cred.uid;
      info->si_status = s.exit_code;
    }
    int tid = tr->tid;
    if (!nowait) s.exit_code = 0;
    return tid;
  }
  bool want_exited = info ? (options & WEXITED) : true;
  for (auto it = self.tracee_exits.begin(); it != self.tracee_exits.end(); ++it) {
    if (!wait_matches(self, it->tid, it->pgid, pid)) continue;
    *any = true;
    if (!want_exited) continue;
    int st = it->status;
    if (status_out) *status_out = st;
    if (info) {
      info->si_signo = SIGCHLD;
      info->si_pid = it->tid;
      info->si_uid = it->uid;
      if (WIFEXITED(st)) { info->si_code = CLD_EXITED; info->si_status = WEXITSTATUS(st); }
      else { info->si_code = WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED; info->si_status = WTERMSIG(st); }
    }
    int tid = it->tid;
    if (!nowait) {
      auto defer = std::move(it->defer_parent);
      self.tracee_exits.erase(it);
      if (defer) {
        defer->parent_notify_deferred = false;
        kernel().notify_exit(*defer);
      }
    }
    return tid;
  }
  return 0;
}

// --- single-step and debug registers ---

bool ptrace_watch_enabled(const Task& t) {
  if (!t.ptrace.attached) return false;
  return (t.ptrace.debugreg[7] & 0xff) != 0;
}

namespace {

size_t watch_len(uint64_t dr7, int i) {
  switch ((dr7 >> (18 + 4 * i)) & 3) {
    case 0: return 1;
    case 1: return 2;
    case 2: return 8;
    default: return 4;
  }
}

uint64_t watch_read(Task& t, int i) {
  uint64_t v = 0;
  size_t n = watch_len(t.ptrace.debugreg[7], i);
  if (t.proc->memory->read(&v, t.ptrace.debugreg[i], n) != 0) return ~0ull;
  return v;
}

bool slot_enabled(uint64_t dr7, int i) { return (dr7 >> (2 * i)) & 3; }
int slot_rw(uint64_t dr7, int i) { return static_cast<int>((dr7 >> (16 + 4 * i)) & 3); }

}  // namespace

void ptrace_prepare_step(Task& t) {
  PtraceState& s = t.ptrace;
  if (!s.attached) return;
  bool step = s.mode == PtraceMode::SingleStep || s.mode == PtraceMode::SysemuSingleStep;
  bool watch = ptrace_watch_enabled(t);
  if (!step && !watch) return;
  auto& r = t.regs();
  if (!(r.eflags & kTrapFlag)) {
    r.eflags |= kTrapFlag;
    if (step) s.forced_tf = true;
    else s.watch_stepping = true;
  }
  if (watch)
    for (int i = 0; i < 4; i++)
      if (slot_enabled(s.debugreg[7], i) && slot_rw(s.debugreg[7], i) != 0) s.watch_value[i] = watch_read(t, i);
}

int ptrace_watch_hit(Task& t) {
  PtraceState& s = t.ptrace;
  uint64_t dr7 = s.debugreg[7];
  int hit = -1;
  for (int i = 0; i < 4; i++) {
    if (!slot_enabled(dr7, i)) continue;
    int rw = slot_rw(dr7, i);
    if (rw == 0) {
      if (t.regs().rip == s.debugreg[i] && hit < 0) hit = i;
    } else if (rw != 2) {
      uint64_t v = watch_read(t, i);
      if (v != s.watch_value[i]) {
        s.watch_value[i] = v;
        if (hit < 0) hit = i;
      }
    }
  }
  if (hit >= 0) s.debugreg[6] |= 1ull << hit;
  return hit;
}

}  // namespace um::kernel
