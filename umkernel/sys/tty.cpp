// The tty syscall family. Rows for the syscall table sit next to the handlers.
#include <sys/syscall.h>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel {

// vhangup(2): hangs up the caller's controlling terminal (tty_vhangup_self).
int64_t sys_vhangup(Task& t) {
  if (t.proc->cred.euid != 0) return -EPERM;
  if (t.proc->tty_index >= 0)
    if (Tty* tty = kernel().tty(t.proc->tty_index)) tty->hangup(false);
  return 0;
}

namespace {
const SyscallRow kTtyRows[] = {
    UM_FULL(vhangup, ""),
};
}  // namespace

std::span<const SyscallRow> tty_syscalls() { return kTtyRows; }

}  // namespace um::kernel
