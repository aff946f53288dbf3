// strace=FILE: one line per guest system call, in strace's style.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "umkernel/kernel/task.h"

namespace um::kernel {
void strace_syscall(FILE* out, Task& t, int64_t result);
// execve/execveat's arguments as strace prints them (dirfd INT32_MIN: execve), kept in
// Task::strace_exec before the exec replaces the memory they were read from.
std::string strace_exec_args(Task& t, int dirfd, const std::string& path, const std::vector<std::string>& argv,
                             const std::vector<std::string>& envp, uint64_t envp_addr);
}
