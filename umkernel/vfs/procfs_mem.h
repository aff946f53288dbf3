// /proc/PID/mem (and /proc/PID/task/TID/mem): the process's memory as a file, read and written
// at the offset that is the guest address (debuggers use it instead of PTRACE_PEEKDATA). Who
// may open it is ptrace's rule: the process itself, or a process with its credentials or
// CAP_SYS_PTRACE. Writes ignore page protections, as Linux's FOLL_FORCE.
#pragma once
#include <memory>

#include "umkernel/vfs/synthetic.h"

namespace um::kernel {

class Process;
InodePtr make_proc_mem(SyntheticSuperBlock* sb, std::weak_ptr<Process> wp);

}  // namespace um::kernel
