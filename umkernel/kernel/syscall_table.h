// The syscall table: the one place that says which x86-64 system calls umkernel serves, how
// well, and how strace= prints their arguments.
#pragma once
#include <cstdint>

namespace um::kernel {

class Task;
using SyscallHandler = int64_t (*)(Task&);

enum class Support { Full, Partial, Stub };

struct SyscallInfo {
  const char* name = nullptr;
  SyscallHandler handler = nullptr;
  // One letter per argument for strace=: d int, u unsigned, x hex, s string, p pointer,
  // f fd (AT_FDCWD aware), o open flags, m mode (octal), b buffer written by the caller,
  // B buffer filled by the kernel (printed from the result), i ignored.
  const char* args = "";
  Support support = Support::Full;
  const char* note = "";
};

const SyscallInfo* syscall_info(long nr);
// The Linux name of any x86-64 syscall number (served or not); nullptr if unknown.
const char* syscall_name(long nr);
constexpr long kMaxSyscall = 460;

}  // namespace um::kernel
