// The seccomp platform (platform=seccomp). A guest thread is a host process (CLONE_VM with
// its siblings) that is not traced: a seccomp filter makes every system call it makes raise
// SIGSYS, and the stub's handler (seccomp_stub.S) hands the thread's registers to umkernel
// through the thread's slot, a page shared with umkernel, and waits (spinning, then on a
// futex) for the answer. Faults reach the same handler and are posted the same way; SIGUSR2
// (tgkill) interrupts a thread that computes without system calls.
// Each guest process also holds one ptraced host thread, T0, that never runs guest code:
// address-space changes (mmap, munmap, mprotect, clone of threads and processes) run in it
// as on the ptrace platform (traced_address_space.h).
#pragma once
#include <memory>
#include <string>

#include "umkernel/platform/platform.h"

namespace um::kernel::platform {

// nullptr + *error when the host cannot run it (no FSGSBASE, no seccomp filter).
std::unique_ptr<Platform> make_seccomp_platform(std::string* error);
// Whether this host can run it (cheap: checked once).
bool seccomp_supported();

}  // namespace um::kernel::platform
