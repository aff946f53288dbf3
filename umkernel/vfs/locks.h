// Advisory file locks: flock(2) locks (owned by open file descriptions) and POSIX record
// locks from fcntl (owned by processes, or by open file descriptions for OFD locks), with
// blocking waits that park the task.
#pragma once
#include <fcntl.h>

#include <cstdint>

#include "umkernel/kernel/task.h"

namespace um::kernel {

// flock: op is LOCK_SH, LOCK_EX or LOCK_UN, optionally | LOCK_NB.
int64_t flock_file(Task& t, File& f, int op);
// fcntl F_GETLK/F_SETLK/F_SETLKW and the F_OFD_ variants; `fl` is in/out.
int64_t posix_lock(Task& t, File& f, int cmd, struct flock& fl);
// Drops every lock a process holds on files (on close of any fd of the file, and at exit).
void release_posix_locks(Process& p, Inode* inode = nullptr);
// Drops the locks owned by an open file description that is going away.
void release_file_locks(File& f);

}  // namespace um::kernel
