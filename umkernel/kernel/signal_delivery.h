// Guest signals are emulated: umkernel keeps dispositions, masks and pending sets, and
// delivers a signal by building a Linux x86-64 rt_sigframe on the guest stack and pointing
// the guest at its handler, exactly as Linux does; rt_sigreturn undoes it.
#pragma once
#include <signal.h>

#include "umkernel/kernel/task.h"

namespace um::kernel {

enum class DefaultAction { Term, Core, Ignore, Stop, Cont };
DefaultAction default_action(int sig);

// Delivers what is deliverable to `t` before it returns to user mode. Returns false if the
// task must not be resumed (it died or stopped).
bool deliver_signals(Task& t);
bool has_deliverable_signal(Task& t);
// Takes a pending signal from `set` (blocked or not), for rt_sigtimedwait.
bool dequeue_from_set(Task& t, uint64_t set, PendingSignal& out);
// A synchronous fault: delivered even if blocked or ignored (then it kills, as Linux does).
void force_signal(Task& t, int sig, const siginfo_t* info);
// rt_sigreturn: restores registers, mask and FP state from the frame on the stack.
int64_t sigreturn(Task& t);
// The temporary signal mask of ppoll, pselect6 and epoll_pwait: installed on the first run of
// the handler (t.progress.mask_applied marks it), restored when the call ends; if a signal interrupts
// the call, the handler's frame saves the old mask instead, as for sigsuspend.
int64_t apply_temporary_sigmask(Task& t, uint64_t mask_addr, uint64_t size);
void restore_temporary_sigmask(Task& t);
// SIGCONT side effects on a stopped process; SIGKILL also resumes.
void continue_process(Process& p);

}  // namespace um::kernel
