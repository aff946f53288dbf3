// The ptrace platform. A guest thread is a host process traced with PTRACE_SYSEMU: every
// system call it makes stops it before the host kernel runs it, and the host kernel never
// runs it. umkernel serves the call and resumes the thread with the result in rax.
// Host system calls that the address space needs (mmap, munmap, mprotect, fork...) are run
// inside a stopped thread of it through the stub's "syscall; int3" (platform/stub.h), with
// registers umkernel chooses (64-bit code segment, clean flags), never the guest's.
#pragma once
#include <memory>
#include <string>

#include "umkernel/platform/platform.h"

namespace um::kernel::platform {

std::unique_ptr<Platform> make_ptrace_platform(std::string* error);

}  // namespace um::kernel::platform
