// What the path-taking syscall families (fs.cpp, xattr.cpp, mount.cpp) share: reading their
// fd and path arguments, and the owner check.
#pragma once
#include <string>

#include "umkernel/kernel/task.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/namei.h"

namespace um::kernel::fs_args {

inline int fdarg(Task& t, int i) { return static_cast<int>(t.arg(i)); }

inline int64_t get_path(Task& t, int i, std::string& out) { return string_from_user(t, t.arg(i), out, 4096); }

inline bool is_owner_or_root(Task& t, const Stat& st) {
  return t.proc->cred.fsuid == 0 || t.proc->cred.fsuid == st.uid;
}

inline int64_t resolve_target(Task& t, int dirfd, uint64_t pathp, int lf, PathRef& ref) {
  std::string p;
  if (int64_t r = string_from_user(t, pathp, p, 4096); r < 0) return r;
  return resolve(t, dirfd, p, lf, ref);
}

}  // namespace um::kernel::fs_args
