// Looking up mounts in /proc/self/mountinfo (for umimage mount/umount).
#pragma once
#include <optional>
#include <string>

namespace um::image {

struct MountEntry {
  std::string mount_point, fstype, source;  // fstype "fuse.umimage" for our mounts
};

// The topmost mount whose mount point is exactly `dir` (an absolute, canonical path).
std::optional<MountEntry> find_mount(const std::string& dir);

// `path` made absolute without touching the file system beyond getcwd (a dead FUSE mount
// point cannot be stat'ed: ENOTCONN).
std::string absolute_lexical(const std::string& path);

}  // namespace um::image
