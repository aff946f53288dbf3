// Kernel's side of ptrace(2): entering a ptrace-stop, the syscall-enter and -exit stops, and
// what happens when the tracer resumes a tracee (kernel/ptrace.h explains the whole).
#include <linux/ptrace.h>

#include <cstring>

#include "core/log.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/ptrace.h"
#include "umkernel/kernel/signal_delivery.h"
#include "umkernel/kernel/strace.h"

namespace um::kernel {

void Kernel::ptrace_stop(Task& t, int exit_code, PtraceAfter after, const siginfo_t* info) {
  PtraceState& s = t.ptrace;
  auto tracer = ptrace_tracer(t);
  if (!tracer) {  // nobody to stop for: carry on as a resume would
    t.state = TaskState::Traced;
    s.after = after;
    ptrace_queue_resume(t);
    return;
  }
  t.state = TaskState::Traced;
  t.stop_waiting();
  s.after = after;
  s.exit_code = exit_code;
  s.resume_requested = false;
  s.listening = false;
  if (info) {
    s.siginfo = *info;
    s.has_siginfo = true;
  } else if (after == PtraceAfter::Group && !s.seized) {
    s.has_siginfo = false;  // GETSIGINFO fails in a group-stop: how a tracer tells it apart
  } else {
    memset(&s.siginfo, 0, sizeof s.siginfo);
    s.siginfo.si_signo = exit_code & 0x7f;  // SIGTRAP, or a seized group-stop's signal
    s.siginfo.si_code = exit_code;
    s.siginfo.si_pid = t.tid;
    s.siginfo.si_uid = t.proc->cred.uid;
    s.has_siginfo = true;
  }
  // The trap flag umkernel set for stepping is never seen by the tracer.
  if (s.forced_tf || s.watch_stepping) {
    t.regs().eflags &= ~kTrapFlag;
    s.forced_tf = s.watch_stepping = false;
  }
  siginfo_t si{};
  si.si_signo = SIGCHLD;
  si.si_code = CLD_TRAPPED;
  si.si_pid = t.tid;
  si.si_uid = t.proc->cred.uid;
  si.si_status = exit_code & 0x7f;
  if (!(tracer->sighand->actions[SIGCHLD].flags & SA_NOCLDSTOP)) send_signal_to_process(*tracer, SIGCHLD, &si);
  tracer->child_wait.wake_all();
}

void Kernel::ptrace_queue_resume(Task& t) {
  t.ptrace.resume_requested = true;
  ptrace_resumes_.push_back(t.tid);
}

bool Kernel::ptrace_syscall_entry(Task& t) {
  PtraceState& s = t.ptrace;
  if (!s.attached || s.mode == PtraceMode::Cont || s.mode == PtraceMode::SingleStep) return false;
  s.message = PTRACE_EVENTMSG_SYSCALL_ENTRY;
  s.saved_result = s.mode == PtraceMode::Sysemu || s.mode == PtraceMode::SysemuSingleStep;  // skip it
  ptrace_stop(t, SIGTRAP | ((s.options & PTRACE_O_TRACESYSGOOD) ? 0x80 : 0), PtraceAfter::SyscallEntry, nullptr);
  return true;
}

void Kernel::syscall_exit(Task& t) {
  PtraceState& s = t.ptrace;
  if (s.attached) {
    if (s.mode == PtraceMode::Syscall) {
      s.message = PTRACE_EVENTMSG_SYSCALL_EXIT;
      ptrace_stop(t, SIGTRAP | ((s.options & PTRACE_O_TRACESYSGOOD) ? 0x80 : 0), PtraceAfter::SyscallExit, nullptr);
      return;
    }
    siginfo_t info{};
    info.si_signo = SIGTRAP;
    if (s.forced_tf) {
      // A step over a system call stops right after it (Linux's user_single_step_report).
      info.si_code = TRAP_BRKPT;
      force_signal(t, SIGTRAP, &info);
    } else if (s.watch_stepping) {
      int hit = ptrace_watch_hit(t);  // the call itself may have written the watched bytes
      if (hit >= 0) {
        info.si_code = TRAP_HWBKPT;
        info.si_addr = reinterpret_cast<void*>(s.debugreg[hit]);
        force_signal(t, SIGTRAP, &info);
      }
    }
  }
  resume_task(t);
}

void Kernel::ptrace_continue(Task& t) {
  PtraceState& s = t.ptrace;
  PtraceAfter after = s.after;
  s.after = PtraceAfter::None;
  s.resume_requested = false;
  s.listening = false;
  s.exit_code = 0;
  t.state = TaskState::Running;
  ptrace_prepare_step(t);
  switch (after) {
    case PtraceAfter::SyscallEntry: {
      auto& r = t.regs();
      if (s.saved_result) {  // PTRACE_SYSEMU: the call is not run; rax is what the tracer left
        t.sys_nr = -1;
        if (s.mode == PtraceMode::SysemuSingleStep) {
          siginfo_t info{};
          info.si_signo = SIGTRAP;
          info.si_code = TRAP_BRKPT;
          force_signal(t, SIGTRAP, &info);
        }
        resume_task(t);
        return;
      }
      // The tracer may have changed the call: its number and arguments come from the registers.
      long nr = static_cast<long>(r.orig_rax);
      if (nr < 0) {  // orig_rax -1: skipped, returning rax (-ENOSYS unless the tracer set it)
        finish_syscall(t, static_cast<int64_t>(r.rax));
        return;
      }
      t.sys_nr = nr;
      uint64_t args[6] = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
      memcpy(t.sys_args, args, sizeof args);
      run_syscall(t);
      return;
    }
    case PtraceAfter::Event:
      if (s.saved_result == kNoReturn) {
        t.sys_nr = -1;
        syscall_exit(t);
      } else {
        finish_syscall(t, s.saved_result);
      }
      return;
    case PtraceAfter::Rerun:
      run_syscall(t);
      return;
    case PtraceAfter::Exit:
      exit_process(*t.proc, s.exit_status);
      return;
    case PtraceAfter::None:
    case PtraceAfter::SyscallExit:
    case PtraceAfter::Signal:
    case PtraceAfter::Group:
      resume_task(t);
      return;
  }
}

}  // namespace um::kernel
