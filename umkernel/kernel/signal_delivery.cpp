#include "umkernel/kernel/signal_delivery.h"

#include <linux/ptrace.h>
#include <sys/ucontext.h>

#include <cstring>

#include "core/log.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/ptrace.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

// The x86-64 Linux signal frame (arch/x86/include/uapi/asm/sigcontext.h, asm/sigframe.h).
struct SigContext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved1[8];
};
struct UContext {
  uint64_t uc_flags;
  uint64_t uc_link;
  uint64_t ss_sp;
  int32_t ss_flags;
  int32_t pad;
  uint64_t ss_size;
  SigContext mcontext;
  uint64_t sigmask;
};
struct RtSigFrame {
  uint64_t pretcode;
  UContext uc;
  siginfo_t info;
};
static_assert(sizeof(siginfo_t) == 128);

constexpr uint64_t kUserEflagsMask = 0x40DD5;  // CF PF AF ZF SF TF DF OF RF AC (FIX_EFLAGS)

bool is_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

// Picks the next deliverable signal (task-private first, then process-wide) and removes it.
bool dequeue(Task& t, PendingSignal& out) {
  uint64_t allowed = ~t.blocked | kUnblockable;
  auto take = [&](std::deque<PendingSignal>& q, uint64_t& set) {
    if (!(set & allowed)) return false;
    // Lowest-numbered signal first, as Linux does for standard signals.
    int best = -1;
    for (size_t i = 0; i < q.size(); i++)
      if ((sigbit(q[i].sig) & allowed) && (best < 0 || q[i].sig < q[best].sig)) best = static_cast<int>(i);
    if (best < 0) return false;
    out = q[best];
    q.erase(q.begin() + best);
    bool more = false;
    for (auto& p : q) more |= p.sig == out.sig;
    if (!more) set &= ~sigbit(out.sig);
    return true;
  };
  return take(t.pending, t.pending_set) || take(t.proc->shared_pending, t.proc->shared_pending_set);
}

// Handles a restart code left in rax by an interrupted syscall.
void fix_restart(Task& t, int64_t code, const SigAction* act) {
  bool restart;
  switch (code) {
    case kERestartNoIntr: restart = true; break;
    case kERestartSys: restart = !act || (act->flags & SA_RESTART); break;
    case kERestartNoHand: restart = !act; break;
    default: return;
  }
  if (restart) {
    t.regs().rax = t.regs().orig_rax;
    t.regs().rip -= 2;  // back onto the syscall instruction
  } else {
    t.regs().rax = static_cast<uint64_t>(-EINTR);
  }
}

bool setup_frame(Task& t, int sig, const siginfo_t& info, const SigAction& act) {
  uint64_t sp = t.regs().rsp;
  bool on_altstack = t.altstack_flags != SS_DISABLE && sp > t.altstack_sp &&
                     sp <= t.altstack_sp + t.altstack_size;
  if ((act.flags & SA_ONSTACK) && t.altstack_flags != SS_DISABLE && !on_altstack)
    sp = t.altstack_sp + t.altstack_size;
  sp -= 128;  // red zone
  platform::FpRegs fp{};
  t.ctx->get_fpregs(fp);
  uint64_t fp_addr = (sp - sizeof fp) & ~63ull;
  uint64_t frame_addr = ((fp_addr - sizeof(RtSigFrame)) & ~15ull) - 8;

  RtSigFrame f{};
  f.pretcode = act.restorer;
  f.uc.uc_flags = 0;
  f.uc.ss_sp = t.altstack_sp;
  f.uc.ss_flags = t.altstack_flags == SS_DISABLE ? SS_DISABLE : (on_altstack ? SS_ONSTACK : 0);
  f.uc.ss_size = t.altstack_size;
  auto& m = f.uc.mcontext;
  const auto& r = t.regs();
  m.r8 = r.r8; m.r9 = r.r9; m.r10 = r.r10; m.r11 = r.r11; m.r12 = r.r12; m.r13 = r.r13;
  m.r14 = r.r14; m.r15 = r.r15; m.rdi = r.rdi; m.rsi = r.rsi; m.rbp = r.rbp; m.rbx = r.rbx;
  m.rdx = r.rdx; m.rax = r.rax; m.rcx = r.rcx; m.rsp = r.rsp; m.rip = r.rip; m.eflags = r.eflags;
  m.cs = static_cast<uint16_t>(r.cs); m.ss = static_cast<uint16_t>(r.ss);
  m.oldmask = t.has_saved_mask ? t.saved_mask : t.blocked;
  m.fpstate = fp_addr;
  if (info.si_signo == SIGSEGV || info.si_signo == SIGBUS) m.cr2 = reinterpret_cast<uint64_t>(info.si_addr);
  f.uc.sigmask = m.oldmask;
  f.info = info;

  if (copy_to_user(t, fp_addr, &fp, sizeof fp) < 0 || copy_to_user(t, frame_addr, &f, sizeof f) < 0)
    return false;
  t.has_saved_mask = false;
  t.regs().rsp = frame_addr;
  t.regs().rip = act.handler;
  t.regs().rdi = static_cast<uint64_t>(sig);
  t.regs().rsi = frame_addr + offsetof(RtSigFrame, info);
  t.regs().rdx = frame_addr + offsetof(RtSigFrame, uc);
  t.regs().rax = 0;
  t.regs().eflags &= ~(0x400ull | 0x100ull);  // clear DF and TF
  t.regs().orig_rax = ~0ull;
  t.regs().cs = 0x33;  // the handler runs as 64-bit code, whatever mode the task was in
  t.regs().ss = 0x2b;
  return true;
}

}  // namespace

DefaultAction default_action(int sig) {
  switch (sig) {
    case SIGCHLD: case SIGURG: case SIGWINCH: return DefaultAction::Ignore;
    case SIGCONT: return DefaultAction::Cont;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return DefaultAction::Stop;
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS: return DefaultAction::Core;
    default: return sig >= SIGRTMIN && sig <= 64 ? DefaultAction::Term : DefaultAction::Term;
  }
}

bool Kernel::signal_ignored(Process& p, int sig) {
  const SigAction& a = p.sighand->actions[sig];
  if (a.handler == reinterpret_cast<uint64_t>(SIG_IGN)) return sig != SIGKILL && sig != SIGSTOP;
  return a.handler == 0 && default_action(sig) == DefaultAction::Ignore;
}

static void fill_info(siginfo_t& si, int sig, const siginfo_t* info) {
  if (info) {
    si = *info;
  } else {
    memset(&si, 0, sizeof si);
    si.si_code = SI_KERNEL;
  }
  si.si_signo = sig;
}

static Task* pick_target(Process& p, int sig) {
  for (Task* t : p.threads)
    if (t->state != TaskState::Dead && !(t->blocked & sigbit(sig))) return t;
  for (Task* t : p.threads)
    if (t->state != TaskState::Dead) return t;
  return nullptr;
}

// Makes the task notice a newly pending signal: wakes it if parked, interrupts it if running.
static void kick(Task& t, int sig) {
  if (t.state == TaskState::Blocked && (t.sigwait_set & sigbit(sig))) {
    kernel().wake(t);  // rt_sigtimedwait takes it
    return;
  }
  if (t.blocked & sigbit(sig) & ~kUnblockable) return;
  if (t.state == TaskState::Blocked) {
    if (t.uninterruptible && sig != SIGKILL) return;
    t.interrupted = true;
    kernel().wake(t);
  } else if (t.state == TaskState::Running && !t.interrupt_sent && t.sys_nr < 0) {
    t.interrupt_sent = true;
    t.ctx->interrupt();
  }
}

// Linux never drops an ignored signal that the thread blocks or waits for (signalfd,
// sigtimedwait): its disposition may change before it is unblocked.
static bool blocked_by(const Task* t, int sig) { return t && ((t->blocked | t->sigwait_set) & sigbit(sig)); }

// Linux's sig_task_ignored for SIGNAL_UNKILLABLE (kernel/signal.c): init never receives a
// signal whose action is the default from inside the VM (from its children, kill(0) or
// kill(-1), tkill, or the kernel: SIGPIPE, SIGHUP, SIGTTOU...). SIGKILL and SIGSTOP are
// dropped even though they cannot be blocked; others are queued while init blocks them, as
// their handler may be set before they are unblocked, and dropped at delivery if it is not.
static bool unkillable_drops(Process& p, int sig, const Task* t) {
  if (!p.unkillable || p.sighand->actions[sig].handler != 0) return false;
  return sig == SIGKILL || sig == SIGSTOP || !blocked_by(t, sig);
}

void Kernel::send_signal_to_process(Process& p, int sig, const siginfo_t* info) {
  if (sig <= 0 || sig > 64 || p.zombie) return;
  if (sig == SIGCONT) continue_process(p);  // before the drop, as in Linux's prepare_signal
  if (unkillable_drops(p, sig, p.threads.empty() ? nullptr : p.threads.front())) return;
  if (sig == SIGKILL) {
    exit_process(p, SIGKILL);
    return;
  }
  if (is_stop_signal(sig)) {  // a stop cancels pending SIGCONT and vice versa
    p.shared_pending_set &= ~sigbit(SIGCONT);
    std::erase_if(p.shared_pending, [](auto& s) { return s.sig == SIGCONT; });
  }
  // A tracer sees even ignored signals (Linux's sig_ignored), at their signal-delivery-stop.
  const Task* first = p.threads.empty() ? nullptr : p.threads.front();
  if (signal_ignored(p, sig) && sig != SIGCONT && !blocked_by(first, sig) && !(first && first->ptrace.attached))
    return;
  if (sig < SIGRTMIN && (p.shared_pending_set & sigbit(sig))) return;  // not queued twice
  PendingSignal ps{sig, {}};
  fill_info(ps.info, sig, info);
  p.shared_pending.push_back(ps);
  p.shared_pending_set |= sigbit(sig);
  p.signal_queued.wake_all();
  if (Task* t = pick_target(p, sig)) kick(*t, sig);
}

void Kernel::send_signal_to_task(Task& t, int sig, const siginfo_t* info) {
  if (sig <= 0 || sig > 64 || t.state == TaskState::Dead) return;
  if (sig == SIGKILL || sig == SIGCONT || is_stop_signal(sig)) {
    send_signal_to_process(*t.proc, sig, info);
    return;
  }
  if (unkillable_drops(*t.proc, sig, &t)) return;
  if (signal_ignored(*t.proc, sig) && !blocked_by(&t, sig) && !t.ptrace.attached) return;
  if (sig < SIGRTMIN && (t.pending_set & sigbit(sig))) return;
  PendingSignal ps{sig, {}};
  fill_info(ps.info, sig, info);
  t.pending.push_back(ps);
  t.pending_set |= sigbit(sig);
  t.proc->signal_queued.wake_all();
  kick(t, sig);
}

int Kernel::send_signal_to_group(int pgid, int sig, const siginfo_t* info) {
  bool found = false;
  std::vector<std::shared_ptr<Process>> targets;
  for (auto& [pid, p] : processes_)
    if (p->pgid == pgid && !p->zombie) targets.push_back(p);
  for (auto& p : targets) {
    found = true;
    send_signal_to_process(*p, sig, info);
  }
  return found ? 0 : -ESRCH;
}

// Job-control news for the parent: SIGCHLD (unless SA_NOCLDSTOP) and a wake-up of its waits.
static void notify_parent_of_stop_change(Process& p, int code, int status) {
  auto parent = p.parent.lock();
  if (!parent) return;
  siginfo_t si{};
  si.si_signo = SIGCHLD;
  si.si_code = code;
  si.si_pid = p.pid;
  si.si_status = status;
  if (!(parent->sighand->actions[SIGCHLD].flags & SA_NOCLDSTOP))
    kernel().send_signal_to_process(*parent, SIGCHLD, &si);
  parent->child_wait.wake_all();
}

void continue_process(Process& p) {
  // Pending stop signals are discarded by SIGCONT.
  uint64_t stops = sigbit(SIGSTOP) | sigbit(SIGTSTP) | sigbit(SIGTTIN) | sigbit(SIGTTOU);
  p.shared_pending_set &= ~stops;
  std::erase_if(p.shared_pending, [&](auto& s) { return (sigbit(s.sig) & stops) != 0; });
  for (Task* t : p.threads) {
    t->ptrace.group_stop_pending = false;
    // A seized tracee traps (PTRACE_EVENT_STOP) to tell its tracer (Linux's ptrace_trap_notify):
    // at once if it PTRACE_LISTENs, when resumed if in another ptrace-stop, else soon.
    if (t->ptrace.attached && t->ptrace.seized && t->state != TaskState::Dead) {
      t->ptrace.interrupt_pending = true;
      if (t->state == TaskState::Traced) {
        if (t->ptrace.listening && !t->ptrace.resume_requested) kernel().ptrace_queue_resume(*t);
      } else if (t->state != TaskState::Stopped) {
        ptrace_kick(*t);
      }
    }
  }
  if (!p.stopped) return;
  p.stopped = false;
  p.stop_report = 0xffff;  // WIFCONTINUED
  for (Task* t : p.threads) {
    if (t->state == TaskState::Stopped) {
      t->state = TaskState::Running;
      kernel().resume_after_stop(*t);
    }
  }
  notify_parent_of_stop_change(p, CLD_CONTINUED, SIGCONT);
}

static void stop_process(Task& t, int sig) {
  Process& p = *t.proc;
  p.stopped = true;
  p.last_stop_sig = sig;
  p.stop_report = 0x7f | (sig << 8);
  for (Task* th : p.threads) {
    if (th->ptrace.attached) th->ptrace.group_stop_pending = th != &t;
    if (th->state == TaskState::Running && th != &t) th->ctx->interrupt();
  }
  t.state = TaskState::Stopped;
  notify_parent_of_stop_change(p, CLD_STOPPED, sig);
  if (t.ptrace.attached) {
    // A traced thread's group-stop is a ptrace-stop its tracer sees (and may end).
    t.state = TaskState::Running;
    kernel().ptrace_stop(t, t.ptrace.seized ? sig | (PTRACE_EVENT_STOP << 8) : sig, PtraceAfter::Group, nullptr);
  }
}

bool dequeue_from_set(Task& t, uint64_t set, PendingSignal& out) {
  uint64_t saved = t.blocked;
  t.blocked = ~set & ~kUnblockable;  // only what is in `set` is "deliverable" here
  bool ok = dequeue(t, out);
  t.blocked = saved;
  return ok;
}

bool has_deliverable_signal(Task& t) {
  uint64_t allowed = ~t.blocked | kUnblockable;
  return ((t.pending_set | t.proc->shared_pending_set) & allowed) != 0;
}

bool deliver_signals(Task& t) {
  auto is_restart = [](int64_t v) { return v == kERestartSys || v == kERestartNoIntr || v == kERestartNoHand; };
  PtraceState& pt = t.ptrace;
  bool ptrace_work = pt.inject_sig >= 0 || (pt.attached && (pt.interrupt_pending || pt.group_stop_pending));
  // The common case touches no registers (the platform fetches them only when asked).
  if (!ptrace_work && !t.proc->stopped && !has_deliverable_signal(t) && !is_restart(t.ctx->result())) return true;
  int64_t rax = static_cast<int64_t>(t.regs().rax);
  bool restart_pending = t.regs().orig_rax != ~0ull &&
                         (rax == kERestartSys || rax == kERestartNoIntr || rax == kERestartNoHand);
  if (pt.attached && (pt.group_stop_pending || pt.interrupt_pending)) {
    // A traced thread reports the group-stop (or PTRACE_INTERRUPT's trap) to its tracer.
    bool group = pt.group_stop_pending && t.proc->stopped;
    pt.group_stop_pending = pt.interrupt_pending = false;
    int sig = group ? t.proc->last_stop_sig : SIGTRAP;
    if (group && !pt.seized) kernel().ptrace_stop(t, sig, PtraceAfter::Group, nullptr);
    else kernel().ptrace_stop(t, sig | (PTRACE_EVENT_STOP << 8), PtraceAfter::Group, nullptr);
    return false;
  }
  if (t.proc->stopped && !pt.attached) {
    t.state = TaskState::Stopped;
    return false;
  }
  PendingSignal ps;
  for (;;) {
    if (pt.inject_sig >= 0) {
      // The signal the tracer resumed a signal-delivery-stop with (0: suppressed).
      int sig = pt.inject_sig;
      pt.inject_sig = -1;
      if (sig == 0) continue;
      ps.sig = sig;
      ps.info = pt.siginfo;
      if (ps.info.si_signo != sig) {  // a different signal: it comes from the tracer
        memset(&ps.info, 0, sizeof ps.info);
        ps.info.si_signo = sig;
        ps.info.si_code = SI_USER;
        if (auto tr = ptrace_tracer(t)) { ps.info.si_pid = tr->pid; ps.info.si_uid = tr->cred.uid; }
      }
      if (t.blocked & sigbit(sig) & ~kUnblockable) {  // now blocked: queued again, as Linux
        t.pending.push_back(ps);
        t.pending_set |= sigbit(sig);
        continue;
      }
    } else {
      if (!dequeue(t, ps)) break;
      if (pt.attached && ps.sig != SIGKILL) {  // signal-delivery-stop
        kernel().ptrace_stop(t, ps.sig, PtraceAfter::Signal, &ps.info);
        return false;
      }
    }
    int sig = ps.sig;
    SigAction& act = t.proc->sighand->actions[sig];
    if (act.handler == reinterpret_cast<uint64_t>(SIG_IGN) && sig != SIGKILL) continue;
    if (act.handler == 0 || sig == SIGKILL) {
      if (t.proc->unkillable && sig != SIGKILL && sig != SIGSTOP) continue;  // Linux's get_signal
      switch (default_action(sig)) {
        case DefaultAction::Ignore:
        case DefaultAction::Cont:
          continue;
        case DefaultAction::Stop:
          if (restart_pending) fix_restart(t, rax, nullptr);
          stop_process(t, sig);
          return false;
        case DefaultAction::Term:
        case DefaultAction::Core: {
          int status = default_action(sig) == DefaultAction::Core ? sig | 0x80 : sig;
          if (pt.attached && (pt.options & PTRACE_O_TRACEEXIT) && sig != SIGKILL) {
            pt.exit_status = status;
            pt.message = static_cast<uint64_t>(status);
            kernel().ptrace_stop(t, SIGTRAP | (PTRACE_EVENT_EXIT << 8), PtraceAfter::Exit, nullptr);
            return false;
          }
          kernel().exit_process(*t.proc, status);
          return false;
        }
      }
    }
    if (restart_pending) {
      fix_restart(t, rax, &act);
      restart_pending = false;
    }
    if (!setup_frame(t, sig, ps.info, act)) {
      // Could not write the frame: Linux kills the task with SIGSEGV.
      kernel().exit_process(*t.proc, SIGSEGV | 0x80);
      return false;
    }
    t.blocked |= act.mask;
    if (!(act.flags & SA_NODEFER)) t.blocked |= sigbit(sig);
    t.blocked &= ~kUnblockable;
    if (act.flags & SA_RESETHAND) act = SigAction{};
    // One frame per stop; if more are deliverable, come back right away.
    if (has_deliverable_signal(t) && !t.interrupt_sent) {
      t.interrupt_sent = true;
      t.ctx->interrupt();
    }
    return true;
  }
  if (restart_pending) fix_restart(t, rax, nullptr);
  if (t.has_saved_mask) {  // sigsuspend returned without running a handler
    t.blocked = t.saved_mask;
    t.has_saved_mask = false;
  }
  return true;
}

void force_signal(Task& t, int sig, const siginfo_t* info) {
  SigAction& act = t.proc->sighand->actions[sig];
  bool blocked = t.blocked & sigbit(sig);
  if (blocked || act.handler == reinterpret_cast<uint64_t>(SIG_IGN)) {
    act = SigAction{};
    t.blocked &= ~sigbit(sig);
  }
  // A fault init cannot handle kills it (and so ends the VM), as Linux's force_sig_info does.
  if (act.handler == 0) t.proc->unkillable = false;
  PendingSignal ps{sig, *info};
  t.pending.push_front(ps);
  t.pending_set |= sigbit(sig);
}

int64_t apply_temporary_sigmask(Task& t, uint64_t mask_addr, uint64_t size) {
  if (!mask_addr || t.progress.mask_applied) return 0;
  if (size != sizeof(uint64_t)) return -EINVAL;
  uint64_t mask;
  if (get_user(t, mask_addr, mask) < 0) return -EFAULT;
  t.saved_mask = t.blocked;
  t.has_saved_mask = true;
  t.blocked = mask & ~kUnblockable;
  t.progress.mask_applied = true;
  return 0;
}

void restore_temporary_sigmask(Task& t) {
  if (t.has_saved_mask && t.progress.mask_applied) {
    t.blocked = t.saved_mask;
    t.has_saved_mask = false;
  }
}

int64_t sigreturn(Task& t) {
  uint64_t frame_addr = t.regs().rsp - 8;
  RtSigFrame f;
  if (copy_from_user(t, &f, frame_addr, sizeof f) < 0) {
    kernel().exit_process(*t.proc, SIGSEGV | 0x80);
    return kTaskGone;
  }
  const auto& m = f.uc.mcontext;
  auto& r = t.regs();
  r.r8 = m.r8; r.r9 = m.r9; r.r10 = m.r10; r.r11 = m.r11; r.r12 = m.r12; r.r13 = m.r13;
  r.r14 = m.r14; r.r15 = m.r15; r.rdi = m.rdi; r.rsi = m.rsi; r.rbp = m.rbp; r.rbx = m.rbx;
  r.rdx = m.rdx; r.rax = m.rax; r.rcx = m.rcx; r.rsp = m.rsp; r.rip = m.rip;
  r.eflags = (r.eflags & ~kUserEflagsMask) | (m.eflags & kUserEflagsMask);
  // As Linux, the frame's code segment comes back: 64-bit or 32-bit user code only.
  if (m.cs == 0x33 || m.cs == 0x23) r.cs = m.cs;
  r.ss = 0x2b;
  r.orig_rax = ~0ull;  // never treated as an interrupted syscall
  t.blocked = f.uc.sigmask & ~kUnblockable;
  if (m.fpstate) {
    platform::FpRegs fp;
    if (copy_from_user(t, &fp, m.fpstate, sizeof fp) == 0) {
      fp.mxcsr &= 0xffff;  // reserved bits would make the host refuse the state
      t.ctx->set_fpregs(fp);
    }
  }
  if (!(f.uc.ss_flags & SS_DISABLE) && f.uc.ss_size) {
    t.altstack_sp = f.uc.ss_sp;
    t.altstack_size = f.uc.ss_size;
    t.altstack_flags = 0;
  }
  return kNoReturn;
}

}  // namespace um::kernel
