// ptrace(2) for guest processes, above the platform: a tracee's stops (syscall-enter and -exit,
// signal-delivery, group-stop, PTRACE_EVENT_*) are states of the kernel's Task, its registers
// and memory are reached through platform::Context and AddressSpace, and its tracer learns of
// its stops through wait like Linux (kernel/ptrace_state.h holds the per-thread state,
// sys/ptrace.cpp the requests). Single-stepping sets the trap flag in the tracee's registers:
// the host traps after one instruction and the platform reports a SIGTRAP fault; hardware
// watchpoints (debug registers) are emulated by stepping while one is enabled.
#pragma once
#include <signal.h>

#include <cstdint>
#include <memory>

#include "umkernel/kernel/task.h"

namespace um::kernel {

constexpr uint64_t kTrapFlag = 0x100;

// The tracer of `t`, or null.
std::shared_ptr<Process> ptrace_tracer(const Task& t);
// The tracer's pid for /proc/PID/status (0: none).
int ptrace_tracer_pid(const Process& p);
// Makes `tracer` trace `t`.
void ptrace_link(Task& t, const std::shared_ptr<Process>& tracer, bool seized, uint32_t options);
// Ends the tracing of `t` (detach, tracer gone, task gone); a pending ptrace-stop continuation
// is kept so that the kernel resumes it as a detach does.
void ptrace_unlink(Task& t);
// `t` died with `status` (wait encoding): its tracer's wait reports it.
void ptrace_task_died(Task& t, int status);
// The tracer exits: its tracees are detached (or killed under PTRACE_O_EXITKILL).
void ptrace_tracer_exiting(Process& tracer);
// Detaches `t` from its tracer; a tracee in a signal-delivery-stop gets `sig` (0: none).
void ptrace_detach(Task& t, int sig);

// Queues a traced task's own signal (ATTACH's SIGSTOP) and makes it notice.
void ptrace_queue_signal(Task& t, int sig);
// Makes a running or parked tracee come back to the kernel (PTRACE_INTERRUPT, attach).
void ptrace_kick(Task& t);

// Handlers' events. clone: the PTRACE_EVENT_* a clone with `flags` reports (0: none), and the
// auto-attach of the new thread or process.
int ptrace_clone_event(const Task& parent, uint64_t flags);
void ptrace_attach_child(Task& parent, Task& child);
void ptrace_exec_event(Task& t, int old_tid);
// exit and exit_group: true when the call must first stop for PTRACE_EVENT_EXIT (return kBlock).
bool ptrace_exit_event(Task& t, int status);
// vfork's parent was released: PTRACE_EVENT_VFORK_DONE if asked for.
void ptrace_vfork_done(Task& t, int child_pid);

// wait4/waitid over the tracer's tracees: a stop or exit to report. Returns the tid, 0 if none,
// and sets *any when some tracee matches `pid`.
int64_t ptrace_wait(Task& t, int64_t pid, int options, int* status_out, siginfo_t* info, bool nowait,
                    bool* any);
// The child process `c` is traced by `tracer` (its stops go to the tracer's ptrace reports).
bool ptrace_traced_by(const Process& c, const Process& tracer);

// Single-step and watchpoint emulation.
void ptrace_prepare_step(Task& t);              // before the tracee runs again
bool ptrace_watch_enabled(const Task& t);
int ptrace_watch_hit(Task& t);                  // index of a debug register that fired, or -1

}  // namespace um::kernel
