// What a traced guest thread carries for ptrace(2) (kernel/ptrace.*): who traces it, with
// which options and resume mode, and the ptrace-stop it is in (what wait reports, what happens
// when the tracer resumes it). The tracer's side is Process::tracees.
#pragma once
#include <signal.h>

#include <cstdint>
#include <memory>

namespace um::kernel {

class Process;

// How the tracer last resumed the tracee.
enum class PtraceMode { Cont, Syscall, Sysemu, SingleStep, SysemuSingleStep };

// What the tracee does when the tracer resumes it from its ptrace-stop.
enum class PtraceAfter {
  None,          // not in a ptrace-stop
  SyscallEntry,  // run (or, under SYSEMU, skip) the system call the registers now name
  SyscallExit,   // return to user mode (signals first)
  Signal,        // deliver the signal the tracer gave (0: none), then return to user mode
  Event,         // finish the system call with `saved_result` (fork, clone, vfork-done, exec)
  Rerun,         // run the system call's handler again (vfork's wait; exit after its event)
  Group,         // a group-stop or PTRACE_EVENT_STOP trap: return to user mode
  Exit,          // a fatal signal's PTRACE_EVENT_EXIT: the process dies with `exit_status`
};

struct PtraceState {
  std::weak_ptr<Process> tracer;  // empty: not traced
  bool attached = false;
  bool seized = false;
  uint32_t options = 0;           // PTRACE_O_*
  PtraceMode mode = PtraceMode::Cont;

  // The ptrace-stop.
  PtraceAfter after = PtraceAfter::None;
  int exit_code = 0;              // wait's report (status >> 8); 0 once reported
  bool has_siginfo = false;       // GETSIGINFO works (not in a non-seized group-stop)
  siginfo_t siginfo{};
  uint64_t message = 0;           // PTRACE_GETEVENTMSG
  int64_t saved_result = 0;       // the system call's result, for PtraceAfter::Event
  int exit_status = 0;            // PtraceAfter::Exit
  bool resume_requested = false;  // the tracer resumed it; the loop has yet to run it
  bool listening = false;         // PTRACE_LISTEN: still stopped, not in a ptrace-stop
  bool notify_pending = false;    // SIGCONT came during a seized group-stop: trap again

  // Set by handlers, acted on by the kernel.
  int pending_event = 0;          // PTRACE_EVENT_* to stop for before the call goes on
  uint64_t pending_message = 0;
  bool exit_event_done = false;   // exit/exit_group already stopped for PTRACE_EVENT_EXIT
  bool interrupt_pending = false; // PTRACE_INTERRUPT, SEIZE of a stopped task, a seized new child
  bool group_stop_pending = false;// the process stopped: a traced thread reports it
  int inject_sig = -1;            // the signal to deliver after a signal-delivery-stop (-1: none)
  bool forced_tf = false;         // SINGLESTEP set the trap flag (hidden from the tracer)

  // Hardware watchpoints and breakpoints (PTRACE_POKEUSER into u_debugreg): emulated by
  // stepping the tracee while any is enabled (kernel/ptrace.cpp).
  uint64_t debugreg[8]{};
  uint64_t watch_value[4]{};      // the watched bytes as of the last step
  bool watch_stepping = false;    // TF set by umkernel for watchpoints
};

}  // namespace um::kernel
