// strace=FILE: one line per guest system call, in strace's style.
#pragma once
#include <cstdio>

#include "umkernel/kernel/task.h"

namespace um::kernel {
void strace_syscall(FILE* out, Task& t, int64_t result);
}
