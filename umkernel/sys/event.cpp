// The event syscall family. Rows for the syscall table sit next to the handlers.
#include "umkernel/kernel/syscall_table.h"

namespace um::kernel {

std::span<const SyscallRow> event_rows() { return {}; }

}  // namespace um::kernel
