// tmpfs: a file system in umkernel's memory (/tmp, /dev/shm, memfd_create).
#pragma once
#include <memory>
#include <string>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

std::shared_ptr<Mount> make_tmpfs(uint64_t dev_id, uint64_t size_limit, uint32_t root_mode,
                                  const std::string& type = "tmpfs");
// An unlinked regular tmpfs file (memfd_create).
InodePtr make_anonymous_tmpfs_file(uint32_t mode);
// name_to_handle_at/open_by_handle_at: whether `sb` is a tmpfs, and its live inode numbered
// `ino` (null if none).
bool is_tmpfs(SuperBlock& sb);
InodePtr tmpfs_inode_by_number(SuperBlock& sb, uint64_t ino);

}  // namespace um::kernel
