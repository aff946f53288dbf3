// Signals: dispositions, masks, sending, waiting, sigreturn.
#include <signal.h>
#include <sys/time.h>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/signal_delivery.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/time_ns.h"

namespace um::kernel {

namespace {

// The kernel's struct sigaction for x86-64 (not glibc's).
struct KSigAction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

siginfo_t user_info(Task& t, int sig) {
  siginfo_t si{};
  si.si_signo = sig;
  si.si_code = SI_USER;
  si.si_pid = t.proc->pid;
  si.si_uid = t.proc->cred.uid;
  return si;
}

bool may_signal(Task& t, Process& target, int sig) {
  const Credentials& c = t.proc->cred;
  if (c.euid == 0) return true;
  if (sig == SIGCONT && target.sid == t.proc->sid) return true;
  const Credentials& d = target.cred;
  return c.euid == d.uid || c.euid == d.suid || c.uid == d.uid || c.uid == d.suid;
}

}  // namespace

int64_t sys_rt_sigaction(Task& t) {
  int sig = static_cast<int>(t.arg(0));
  if (t.arg(3) != 8) return -EINVAL;
  if (sig < 1 || sig > 64) return -EINVAL;
  SigAction& a = t.proc->sighand->actions[sig];
  if (t.arg(2)) {
    KSigAction old{a.handler, a.flags, a.restorer, a.mask};
    if (put_user(t, t.arg(2), old) < 0) return -EFAULT;
  }
  if (t.arg(1)) {
    if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
    KSigAction n;
    if (get_user(t, t.arg(1), n) < 0) return -EFAULT;
    a = SigAction{n.handler, n.flags, n.restorer, n.mask & ~kUnblockable};
    // Setting SIG_IGN (or SIG_DFL where the default ignores) discards what is pending.
    if (kernel().signal_ignored(*t.proc, sig)) {
      Process& p = *t.proc;
      p.shared_pending_set &= ~sigbit(sig);
      std::erase_if(p.shared_pending, [&](auto& s) { return s.sig == sig; });
      for (Task* th : p.threads) {
        th->pending_set &= ~sigbit(sig);
        std::erase_if(th->pending, [&](auto& s) { return s.sig == sig; });
      }
    }
  }
  return 0;
}

int64_t sys_rt_sigprocmask(Task& t) {
  int how = static_cast<int>(t.arg(0));
  if (t.arg(3) != 8) return -EINVAL;
  uint64_t old = t.blocked;
  if (t.arg(1)) {
    uint64_t set;
    if (get_user(t, t.arg(1), set) < 0) return -EFAULT;
    switch (how) {
      case SIG_BLOCK: t.blocked |= set; break;
      case SIG_UNBLOCK: t.blocked &= ~set; break;
      case SIG_SETMASK: t.blocked = set; break;
      default: return -EINVAL;
    }
    t.blocked &= ~kUnblockable;
  }
  if (t.arg(2) && put_user(t, t.arg(2), old) < 0) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigreturn(Task& t) { return sigreturn(t); }

int64_t sys_kill(Task& t) {
  int pid = static_cast<int>(t.arg(0)), sig = static_cast<int>(t.arg(1));
  if (sig < 0 || sig > 64) return -EINVAL;
  Kernel& k = kernel();
  siginfo_t si = user_info(t, sig);
  std::vector<std::shared_ptr<Process>> targets;
  if (pid > 0) {
    auto p = k.process_by_pid(pid);
    if (!p || p->zombie) return -ESRCH;
    targets.push_back(p);
  } else {
    int pgid = pid == 0 ? t.proc->pgid : -pid;
    for (auto& [id, p] : k.processes()) {
      if (p->zombie) continue;
      if (pid == -1 ? (p->pid != 1 && p.get() != t.proc.get()) : p->pgid == pgid) targets.push_back(p);
    }
    if (targets.empty()) return -ESRCH;
  }
  int sent = 0;
  for (auto& p : targets) {
    if (!may_signal(t, *p, sig)) continue;
    sent++;
    // init drops what it leaves at SIG_DFL (Process::unkillable, kernel/signals.cpp).
    if (sig) k.send_signal_to_process(*p, sig, &si);
  }
  return sent ? 0 : -EPERM;
}

static int64_t signal_thread(Task& t, int tgid, int tid, int sig) {
  if (sig < 0 || sig > 64 || tid <= 0) return -EINVAL;
  Task* target = kernel().task_by_tid(tid);
  if (!target || (tgid > 0 && target->proc->pid != tgid)) return -ESRCH;
  if (!may_signal(t, *target->proc, sig)) return -EPERM;
  if (sig == 0) return 0;
  siginfo_t si = user_info(t, sig);
  si.si_code = SI_TKILL;
  kernel().send_signal_to_task(*target, sig, &si);
  return 0;
}

// rt_sigqueueinfo / rt_tgsigqueueinfo: a caller-made siginfo. Linux lets a process forge
// kernel-looking codes (si_code >= 0, or SI_TKILL) only when it signals itself.
static int64_t queue_info(Task& t, int tgid, int tid, int sig, uint64_t info_addr) {
  if (sig < 0 || sig > 64) return -EINVAL;
  siginfo_t si;
  if (copy_from_user(t, &si, info_addr, sizeof si) < 0) return -EFAULT;
  bool self = tid > 0 ? tid == t.tid : tgid == t.proc->pid;
  if ((si.si_code >= 0 || si.si_code == SI_TKILL) && !self) return -EPERM;
  si.si_signo = sig;
  if (tid > 0) {
    Task* target = kernel().task_by_tid(tid);
    if (!target || target->proc->pid != tgid) return -ESRCH;
    if (!may_signal(t, *target->proc, sig)) return -EPERM;
    if (sig) kernel().send_signal_to_task(*target, sig, &si);
    return 0;
  }
  if (tgid <= 0) return -ESRCH;
  auto p = kernel().process_by_pid(tgid);
  if (!p || p->zombie) return -ESRCH;
  if (!may_signal(t, *p, sig)) return -EPERM;
  if (sig) kernel().send_signal_to_process(*p, sig, &si);
  return 0;
}

int64_t sys_rt_sigqueueinfo(Task& t) {
  return queue_info(t, static_cast<int>(t.arg(0)), 0, static_cast<int>(t.arg(1)), t.arg(2));
}

int64_t sys_rt_tgsigqueueinfo(Task& t) {
  int tgid = static_cast<int>(t.arg(0)), tid = static_cast<int>(t.arg(1));
  if (tgid <= 0 || tid <= 0) return -EINVAL;
  return queue_info(t, tgid, tid, static_cast<int>(t.arg(2)), t.arg(3));
}

int64_t sys_tgkill(Task& t) {
  int tgid = static_cast<int>(t.arg(0));
  if (tgid <= 0) return -EINVAL;
  return signal_thread(t, tgid, static_cast<int>(t.arg(1)), static_cast<int>(t.arg(2)));
}
int64_t sys_tkill(Task& t) { return signal_thread(t, 0, static_cast<int>(t.arg(0)), static_cast<int>(t.arg(1))); }

int64_t sys_rt_sigpending(Task& t) {
  if (t.arg(1) > 8) return -EINVAL;
  uint64_t set = (t.pending_set | t.proc->shared_pending_set) & t.blocked;
  return copy_to_user(t, t.arg(0), &set, t.arg(1));
}

int64_t sys_rt_sigsuspend(Task& t) {
  if (t.arg(1) != 8) return -EINVAL;
  if (!t.progress.mask_applied) {
    uint64_t mask;
    if (get_user(t, t.arg(0), mask) < 0) return -EFAULT;
    t.saved_mask = t.blocked;
    t.has_saved_mask = true;
    t.blocked = mask & ~kUnblockable;
    t.progress.mask_applied = true;
  }
  t.sys_restartable = false;
  return kBlock;  // only a signal ends it: -EINTR, and the handler runs with the old mask saved
}

int64_t sys_pause(Task& t) {
  t.sys_restartable = false;
  return kBlock;
}

int64_t sys_sigaltstack(Task& t) {
  bool on = t.altstack_flags != SS_DISABLE && t.regs().rsp > t.altstack_sp &&
            t.regs().rsp <= t.altstack_sp + t.altstack_size;
  if (t.arg(1)) {
    stack_t old{};
    old.ss_sp = reinterpret_cast<void*>(t.altstack_sp);
    old.ss_size = t.altstack_size;
    old.ss_flags = t.altstack_flags == SS_DISABLE ? SS_DISABLE : (on ? SS_ONSTACK : 0);
    if (put_user(t, t.arg(1), old) < 0) return -EFAULT;
  }
  if (t.arg(0)) {
    stack_t ns;
    if (get_user(t, t.arg(0), ns) < 0) return -EFAULT;
    if (on) return -EPERM;
    int flags = ns.ss_flags & ~(1 << 31) /* SS_AUTODISARM */;
    if (flags == SS_DISABLE) {
      t.altstack_flags = SS_DISABLE;
      t.altstack_sp = t.altstack_size = 0;
    } else if (flags == 0 || flags == SS_ONSTACK) {
      if (ns.ss_size < 2048) return -ENOMEM;
      t.altstack_sp = reinterpret_cast<uint64_t>(ns.ss_sp);
      t.altstack_size = ns.ss_size;
      t.altstack_flags = 0;
    } else {
      return -EINVAL;
    }
  }
  return 0;
}

}  // namespace um::kernel

namespace um::kernel {

int64_t sys_rt_sigtimedwait(Task& t) {
  if (t.arg(3) != 8) return -EINVAL;
  uint64_t set;
  if (get_user(t, t.arg(0), set) < 0) return -EFAULT;
  set &= ~kUnblockable;
  PendingSignal ps;
  if (dequeue_from_set(t, set, ps)) {
    t.sigwait_set = 0;
    if (t.arg(1) && put_user(t, t.arg(1), ps.info) < 0) return -EFAULT;
    return ps.sig;
  }
  if (t.arg(2) && t.sys_deadline_ns < 0) {
    timespec ts;
    if (get_user(t, t.arg(2), ts) < 0) return -EFAULT;
    if (!valid_timespec(ts)) return -EINVAL;
    t.sys_deadline_ns = deadline_after(monotonic_ns(), timespec_to_ns(ts));
  }
  if (t.sys_deadline_ns >= 0 && monotonic_ns() >= t.sys_deadline_ns) {
    t.sigwait_set = 0;
    return -EAGAIN;
  }
  t.sigwait_set = set;
  t.sys_restartable = false;
  return kBlock;
}

namespace {
void arm_alarm(Process& p, int64_t deadline, int64_t interval) {
  Kernel& k = kernel();
  if (p.alarm_timer) k.cancel_timer(p.alarm_timer);
  p.alarm_timer = 0;
  p.alarm_deadline = deadline;
  p.alarm_interval = interval;
  if (!deadline) return;
  std::weak_ptr<Process> wp = k.process_by_pid(p.pid);
  p.alarm_timer = k.add_timer(deadline, [wp]() {
    auto proc = wp.lock();
    if (!proc || proc->zombie) return;
    proc->alarm_timer = 0;
    siginfo_t si{};
    si.si_code = SI_KERNEL;
    int64_t next = proc->alarm_interval ? proc->alarm_deadline + proc->alarm_interval : 0;
    if (next && next < monotonic_ns()) next = monotonic_ns() + proc->alarm_interval;
    arm_alarm(*proc, next, proc->alarm_interval);
    kernel().send_signal_to_process(*proc, SIGALRM, &si);
  });
}

int64_t left_ns(Process& p) {
  return p.alarm_deadline ? std::max<int64_t>(0, p.alarm_deadline - monotonic_ns()) : 0;
}
}  // namespace

int64_t sys_alarm(Task& t) {
  Process& p = *t.proc;
  int64_t left = left_ns(p);
  unsigned secs = static_cast<unsigned>(t.arg(0));
  arm_alarm(p, secs ? deadline_after(monotonic_ns(), seconds_to_ns(secs)) : 0, 0);
  return left ? (left + 500000000) / 1000000000 + (left < 1000000000 ? (left + 500000000 < 1000000000) : 0) : 0;
}

int64_t sys_getitimer(Task& t) {
  if (t.arg(0) != ITIMER_REAL) return t.arg(0) <= 2 ? put_user(t, t.arg(1), itimerval{}) : -EINVAL;
  Process& p = *t.proc;
  int64_t left = left_ns(p);
  itimerval v{{p.alarm_interval / 1000000000, (p.alarm_interval % 1000000000) / 1000},
              {left / 1000000000, (left % 1000000000) / 1000}};
  return put_user(t, t.arg(1), v);
}

int64_t sys_setitimer(Task& t) {
  int which = static_cast<int>(t.arg(0));
  if (which < 0 || which > 2) return -EINVAL;
  if (which != ITIMER_REAL) {
    kernel().note_unimplemented(38 /* setitimer: virtual/prof timers */);
    return -EINVAL;
  }
  Process& p = *t.proc;
  if (t.arg(2)) {
    int64_t left = left_ns(p);
    itimerval old{{p.alarm_interval / 1000000000, (p.alarm_interval % 1000000000) / 1000},
                  {left / 1000000000, (left % 1000000000) / 1000}};
    if (put_user(t, t.arg(2), old) < 0) return -EFAULT;
  }
  if (!t.arg(1)) return 0;
  itimerval v;
  if (get_user(t, t.arg(1), v) < 0) return -EFAULT;
  if (v.it_value.tv_usec < 0 || v.it_value.tv_usec >= 1000000 || v.it_interval.tv_usec < 0 || v.it_interval.tv_usec >= 1000000) return -EINVAL;
  int64_t value = timeval_to_ns(v.it_value);
  int64_t interval = timeval_to_ns(v.it_interval);
  arm_alarm(p, value ? deadline_after(monotonic_ns(), value) : 0, interval);
  return 0;
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(rt_sigaction, "dppu"), UM_FULL(rt_sigprocmask, "dppu"), UM_FULL(rt_sigreturn, ""),
    UM_FULL(kill, "dd"), UM_FULL(tgkill, "ddd"), UM_FULL(tkill, "dd"), UM_FULL(rt_sigpending, "pu"),
    UM_FULL(rt_sigqueueinfo, "ddp"), UM_FULL(rt_tgsigqueueinfo, "dddp"),
    UM_FULL(rt_sigsuspend, "pu"), UM_FULL(sigaltstack, "pp"), UM_FULL(pause, ""),
    UM_FULL(rt_sigtimedwait, "pppu"), UM_FULL(alarm, "u"),
    UM_PARTIAL(getitimer, "dp", "ITIMER_VIRTUAL and ITIMER_PROF read as disarmed"),
    UM_PARTIAL(setitimer, "dpp", "ITIMER_REAL only (ITIMER_VIRTUAL and ITIMER_PROF are EINVAL)"),
};

}  // namespace

std::span<const SyscallRow> signal_syscalls() { return kRows; }

}  // namespace um::kernel
