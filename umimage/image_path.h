// Paths inside an image: walking "/a/b/c" to an inode (symlinks resolved inside the image, as
// if it were chroot'ed), finding the parent of a new name, mkdir -p, rm -r.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/ext/ext_fs.h"

namespace um::image {

// Opens IMG with a one-line error prefix naming the image. It takes UML's host locks (a
// write lock to write, a read lock to read), so an image a VM has open read-write is refused
// ("IMG is locked by pid N (umkernel): ...") rather than read half-written or corrupted.
Result<std::unique_ptr<ext::ExtFs>> open_image(const std::string& path, bool writable,
                                               ext::ExtFs::HostLock lock = ext::ExtFs::HostLock::Uml);

// Resolves `path` (absolute or relative to the image root). Symlinks in directory components
// are followed; the last component only when `follow_last`.
Result<ext::Ino> resolve(ext::ExtFs& fs, std::string_view path, bool follow_last = false);

struct ParentRef {
  ext::Ino dir = 0;
  std::string name;  // last component, never empty, "." or ".."
};
// The directory that holds (or would hold) the last component of `path`.
Result<ParentRef> resolve_parent(ext::ExtFs& fs, std::string_view path);

// Splits a path into its non-empty components ("/a//b/" -> a, b).
std::vector<std::string> split_path(std::string_view path);

// mkdir -p; existing directories are kept as they are. Returns the last directory.
Result<ext::Ino> mkdir_p(ext::ExtFs& fs, std::string_view path, uint32_t mode, uint32_t uid,
                         uint32_t gid);

// Removes dir/name and, when it is a directory, everything below it.
Status remove_tree(ext::ExtFs& fs, ext::Ino dir, const std::string& name);

// "drwxr-xr-x" style mode string.
std::string mode_string(uint32_t mode);

}  // namespace um::image
