// The stub: the only host code a guest process contains. It is a tiny static ELF, made in
// memory at start-up (a memfd, never a host file), that umkernel execs in each fresh guest
// host process. It holds one page at kStubBase with
//   kStubSyscall: syscall ; int3     -- used to run host syscalls that umkernel chooses
//   kStubEntry:   jmp .              -- the entry point; never really runs
// then (seccomp platform) its handler and thread start code at SC_CODE_OFFSET, a read-only
// scratch page (kStubScratch), a read-only page with the seccomp filter, and a page the
// seccomp platform maps at run time (platform/seccomp_layout.h).
// Everything else in the address space belongs to the guest (and, on seccomp, the thread
// slots below kStubBase).
#pragma once
#include <cstdint>

namespace um::kernel::stub {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kStubBase = 0x7ffffffe0000ull;     // one page, read+exec
constexpr uint64_t kStubSize = 4 * kPageSize;
constexpr uint64_t kStubImageSize = 3 * kPageSize;  // the pages the ELF holds
// A read-only page right after the code: umkernel writes host paths here (through
// /proc/PID/mem) for host syscalls it runs in the guest; guest threads cannot change it
// between our write and the syscall, since no guest request may touch the stub pages.
constexpr uint64_t kStubScratch = kStubBase + kPageSize;
constexpr uint64_t kStubSyscall = kStubBase;          // "syscall" instruction
constexpr uint64_t kStubAfterSyscall = kStubBase + 2; // rip once the syscall returned
constexpr uint64_t kStubTrapRip = kStubBase + 3;      // rip after the int3 trapped
constexpr uint64_t kStubEntry = kStubBase + 8;
constexpr uint64_t kTaskSize = 0x7ffffffff000ull;     // top of x86-64 user space

// Returns a memfd (O_CLOEXEC) holding the stub executable; made once, then reused.
int memfd();

inline bool overlaps_stub(uint64_t addr, uint64_t len) {
  return addr < kStubBase + kStubSize && addr + len > kStubBase;
}

}  // namespace um::kernel::stub
