// Path resolution: components, "." and "..", mount points, symlinks (at most 40), the
// process root as a ceiling ("/.." is "/"), search permission on every directory.
#pragma once
#include <string>

#include "umkernel/kernel/task.h"

namespace um::kernel {

enum LookupFlags : int {
  kFollow = 1,         // follow a symlink in the last component
  kMustBeDir = 2,      // the result must be a directory
  kEmptyPathOk = 4,    // AT_EMPTY_PATH: "" means dirfd itself
};

// openat2's RESOLVE_* restrictions (linux/openat2.h) on every lookup of one system call: made
// by openat2 for the span of its open (ScopedResolve), read by the walk. `root` is the dirfd
// RESOLVE_BENEATH keeps below and RESOLVE_IN_ROOT treats as "/".
struct ResolveScope {
  uint64_t flags = 0;
  PathRef root;
};
class ScopedResolve {
 public:
  explicit ScopedResolve(const ResolveScope& s);
  ~ScopedResolve();
  ScopedResolve(const ScopedResolve&) = delete;
  ScopedResolve& operator=(const ScopedResolve&) = delete;

 private:
  const ResolveScope* saved_;
};

// Resolves `path` relative to dirfd (AT_FDCWD for the cwd).
int64_t resolve(Task& t, int dirfd, const std::string& path, int flags, PathRef& out);

// Resolves all but the last component; `last` receives it ("" when the path is "/").
// `trailing_slash` tells whether the path ended in '/'.
int64_t resolve_parent(Task& t, int dirfd, const std::string& path, PathRef& parent,
                       std::string& last, bool* trailing_slash = nullptr);

// Access check against the task's fs credentials: mask of 4 (read), 2 (write), 1 (exec).
int64_t check_permission(Task& t, Inode& inode, int mask, bool use_real_ids = false);

// The starting point for dirfd (AT_FDCWD or a directory fd).
int64_t dir_start(Task& t, int dirfd, PathRef& out);

std::string join_path(const std::string& dir, std::string_view name);

}  // namespace um::kernel
