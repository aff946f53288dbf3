// The syscall table: the one place that says which x86-64 system calls umkernel serves, how
// well, and how strace= prints their arguments.
#pragma once
#include <cstdint>
#include <span>

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

struct SyscallRow {
  long nr;
  SyscallInfo info;
};

const SyscallInfo* syscall_info(long nr);
// The Linux name of any x86-64 syscall number (served or not); nullptr if unknown.
const char* syscall_name(long nr);
constexpr long kMaxSyscall = 460;

// Families whose rows live next to their handlers (one function per family file); the table
// in syscall_table.cpp lists them all.
std::span<const SyscallRow> socket_rows();   // sys/socket.cpp
std::span<const SyscallRow> event_rows();    // sys/event.cpp
std::span<const SyscallRow> tty_rows();      // sys/tty.cpp
std::span<const SyscallRow> futex_rows();   // sys/futex.cpp

}  // namespace um::kernel
