// The ptrace platform: the only code in umkernel that calls ptrace. A guest task is a host
// process (or thread) traced with PTRACE_SYSEMU: every system call it makes stops it before
// the host kernel runs it, and the host kernel never runs it. umkernel then serves the call
// from its own state and resumes the task with the result in rax.
// Host system calls that umkernel wants the guest process to make (mmap, munmap, fork...)
// are run through the stub's "syscall; int3" instructions: see host_syscall().
#pragma once
#include <sys/types.h>
#include <signal.h>
#include <sys/user.h>

#include <cstdint>
#include <string>

namespace um::kernel::platform {

using Regs = user_regs_struct;
using FpRegs = user_fpregs_struct;

// Starts a fresh host process that holds nothing but the stub page, stopped under our trace.
// Returns its host pid, or -errno.
pid_t spawn_empty_process(std::string* error);

bool get_regs(pid_t tid, Regs& regs);
bool set_regs(pid_t tid, const Regs& regs);
bool get_fpregs(pid_t tid, FpRegs& fp);
bool set_fpregs(pid_t tid, const FpRegs& fp);

// Resumes the task until its next system call (PTRACE_SYSEMU); `sig` is a host signal to
// deliver (always 0: guest signals are emulated).
bool resume(pid_t tid);
// Sets only rax: a syscall result (one cheap POKEUSER instead of SETREGS).
bool set_result(pid_t tid, uint64_t rax);

// Runs host syscall `nr` inside the stopped task `tid` and returns its result (or -errno).
// The task's registers are clobbered; callers restore the guest's registers afterwards.
// When the syscall creates a traced child (fork/clone), its host pid is stored in *child.
int64_t host_syscall(pid_t tid, const Regs& base, long nr, uint64_t a0 = 0, uint64_t a1 = 0,
                     uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0,
                     pid_t* child = nullptr);

// Waits for the first stop of a child created by host_syscall (its SIGSTOP).
bool wait_new_child(pid_t child);

// Interrupts a running task: it stops soon with kInterruptSignal (ignored by resume paths).
constexpr int kInterruptSignal = SIGUSR2;
void interrupt(pid_t tid);

void kill_task(pid_t tid);

}  // namespace um::kernel::platform
