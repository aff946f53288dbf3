// The syscall table: the one place that says which x86-64 system calls umkernel serves, how
// well, and how strace= prints their arguments.
//
// Each family file in sys/ lists its rows next to its handlers, one row per syscall:
//
//   const SyscallRow kRows[] = {
//       UM_FULL(read, "fBu"),
//       UM_PARTIAL(ioctl, "fxx", "terminals, sockets and interfaces, FIONBIO, FIOCLEX"),
//       UM_ENOSYS(clone3, "pu", "libc falls back to clone"),
//   };
//   std::span<const SyscallRow> file_syscalls() { return kRows; }
//
// and syscall_table.cpp collects the families at start-up. Two rows for one number are a hard
// error (umkernel refuses to start; the unit test fails). Names come from the kernel's headers
// (scripts/gen_syscall_names.py writes syscall_names.cpp); `umkernel --syscalls` prints the
// table and README.md's support list is generated from it (scripts/syscall_support.py).
#pragma once
#include <sys/syscall.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace um::kernel {

class Task;
using SyscallHandler = int64_t (*)(Task&);

// Full: as Linux. Partial: served, with the differences the note says. Enosys: deliberately
// answered ENOSYS (libc falls back or does without; the note says why), not logged.
enum class Support { Full, Partial, Enosys };
const char* support_name(Support s);  // "full", "partial", "enosys"

// One letter per argument for strace=: d int, u unsigned, x hex, s string, p pointer,
// f fd (AT_FDCWD aware), o open flags, m mode (octal), b buffer written by the caller,
// B buffer filled by the kernel (printed from the result), a socket address given by the
// caller (its length is the next argument), A one the kernel fills (the next argument points
// to its length), i ignored.
inline constexpr const char* kSyscallArgLetters = "duxspfombBaAi";

struct SyscallRow {
  long nr = -1;
  const char* name = nullptr;
  SyscallHandler handler = nullptr;  // null only for Support::Enosys
  const char* args = "";
  Support support = Support::Full;
  const char* note = "";
};

#define UM_FULL(name, args) \
  ::um::kernel::SyscallRow { SYS_##name, #name, sys_##name, args, ::um::kernel::Support::Full, "" }
#define UM_PARTIAL(name, args, note) \
  ::um::kernel::SyscallRow { SYS_##name, #name, sys_##name, args, ::um::kernel::Support::Partial, note }
#define UM_ENOSYS(name, args, note) \
  ::um::kernel::SyscallRow { SYS_##name, #name, nullptr, args, ::um::kernel::Support::Enosys, note }

// A family: the file its rows sit in (for messages) and the rows.
struct SyscallFamily {
  const char* file;
  std::span<const SyscallRow> rows;
};

constexpr long kMaxSyscall = 460;

// The table, indexed by number.
class SyscallTable {
 public:
  // Collects the families' rows. Fails on a number outside 0..kMaxSyscall-1, a number with two
  // rows, a row whose name is not the kernel's name for its number, an unknown argument
  // letter, a row without a handler that is not an ENOSYS row, or an ENOSYS/partial row
  // without a note. The message names the rows and their files.
  static Result<SyscallTable> build(std::span<const SyscallFamily> families);

  const SyscallRow* row(long nr) const {
    return nr >= 0 && nr < kMaxSyscall && rows_[static_cast<size_t>(nr)].name ? &rows_[static_cast<size_t>(nr)] : nullptr;
  }
  // The rows in number order.
  std::vector<const SyscallRow*> rows() const;

 private:
  std::vector<SyscallRow> rows_ = std::vector<SyscallRow>(kMaxSyscall);
};

// Every family in sys/ (syscall_table.cpp).
std::span<const SyscallFamily> syscall_families();

// The table of every family, built on first use; a broken table is a fatal error there (main
// builds it before booting, so umkernel stops at start-up with the message).
const SyscallTable& syscall_table();

// The row of a served or deliberately refused syscall; nullptr when the table has none.
inline const SyscallRow* syscall_info(long nr) { return syscall_table().row(nr); }

// The Linux name of any x86-64 syscall number (served or not); nullptr if unknown
// (syscall_names.cpp, generated).
const char* syscall_name(long nr);

// `umkernel --syscalls [--json]`: the table, every number with a Linux name, and the counts per
// support level ("not served" for numbers without a row).
std::string format_syscall_table(const SyscallTable& table, bool json);

// The families (each defined in its sys/ file).
std::span<const SyscallRow> process_syscalls();  // sys/process.cpp
std::span<const SyscallRow> signal_syscalls();   // sys/signal.cpp
std::span<const SyscallRow> file_syscalls();     // sys/file.cpp
std::span<const SyscallRow> fs_syscalls();       // sys/fs.cpp
std::span<const SyscallRow> mount_syscalls();    // sys/mount.cpp
std::span<const SyscallRow> xattr_syscalls();    // sys/xattr.cpp
std::span<const SyscallRow> mm_syscalls();       // sys/mm.cpp
std::span<const SyscallRow> time_syscalls();     // sys/time.cpp
std::span<const SyscallRow> poll_syscalls();     // sys/poll.cpp
std::span<const SyscallRow> misc_syscalls();     // sys/misc.cpp
std::span<const SyscallRow> socket_syscalls();   // sys/socket.cpp
std::span<const SyscallRow> event_syscalls();    // sys/event.cpp
std::span<const SyscallRow> tty_syscalls();      // sys/tty.cpp
std::span<const SyscallRow> futex_syscalls();    // sys/futex.cpp
std::span<const SyscallRow> sched_syscalls();       // sys/sched.cpp
std::span<const SyscallRow> capability_syscalls();  // sys/capability.cpp
std::span<const SyscallRow> syslog_syscalls();      // sys/syslog.cpp
std::span<const SyscallRow> clock_syscalls();       // sys/clock.cpp
std::span<const SyscallRow> memlock_syscalls();     // sys/memlock.cpp
std::span<const SyscallRow> kcmp_syscalls();        // sys/kcmp.cpp
std::span<const SyscallRow> pidfd_syscalls();       // sys/pidfd.cpp
std::span<const SyscallRow> splice_syscalls();      // sys/splice.cpp
std::span<const SyscallRow> inotify_syscalls();     // sys/inotify.cpp
std::span<const SyscallRow> process_vm_syscalls();  // sys/process_vm.cpp
std::span<const SyscallRow> ptrace_syscalls();      // sys/ptrace.cpp
std::span<const SyscallRow> sysv_shm_syscalls();    // sys/sysv_shm.cpp
std::span<const SyscallRow> sysv_sem_syscalls();    // sys/sysv_sem.cpp
std::span<const SyscallRow> sysv_msg_syscalls();    // sys/sysv_msg.cpp
std::span<const SyscallRow> mqueue_syscalls();      // sys/mqueue.cpp
std::span<const SyscallRow> keyctl_syscalls();      // sys/keyctl.cpp
std::span<const SyscallRow> handle_syscalls();      // sys/handle.cpp

}  // namespace um::kernel
