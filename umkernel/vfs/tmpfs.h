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

}  // namespace um::kernel
