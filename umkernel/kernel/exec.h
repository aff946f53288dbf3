// Program loading: umkernel reads ELF executables (static, static-PIE and dynamic with their
// PT_INTERP) and #! scripts from the guest's file systems and builds the new image in the
// task's host process: anonymous mappings filled through /proc/PID/mem, the initial stack
// with argv, envp and auxv, and the registers at the entry point.
#pragma once
#include <string>
#include <vector>

#include "umkernel/kernel/task.h"

namespace um::kernel {

// Returns 0 (registers set: resume the task) or -errno with the old image intact; after the
// point of no return a failure kills the process instead (and returns kTaskGone).
int64_t do_execve(Task& t, int dirfd, const std::string& path, std::vector<std::string> argv,
                  std::vector<std::string> envp, int at_flags);

constexpr uint64_t kStackTop = 0x7ffffffde000ull;
constexpr uint64_t kStackSize = 8ull << 20;
constexpr uint64_t kPieBase = 0x555555554000ull;

}  // namespace um::kernel
