// The socket syscall family. Rows for the syscall table sit next to the handlers.
#include "umkernel/kernel/syscall_table.h"

namespace um::kernel {

std::span<const SyscallRow> socket_rows() { return {}; }

}  // namespace um::kernel
