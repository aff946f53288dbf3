// Limits on the number of guest tasks. Every guest task (process or thread) is a host process
// or thread, so a VM-wide cap protects the host and the other VMs from a guest fork bomb:
// Linux's threads-max (all users, root too) and RLIMIT_NPROC (per real user, root exempt).
#pragma once
#include <cstdint>

namespace um::kernel {

class Process;

// The VM-wide cap, from tasks_max= or derived from mem= as Linux derives threads-max from
// RAM (one task per 128 KiB, at least 64, at most 32768).
int default_tasks_max(uint64_t mem_bytes);
void set_tasks_max(int n);
int tasks_max();

// Whether `parent` may create one more task (fork, vfork, clone, a thread): 0 or -EAGAIN.
int64_t check_task_limits(const Process& parent);

}  // namespace um::kernel
