// Character devices by major:minor (so device nodes in the image work too), and devfs, the
// /dev tree umkernel mounts at boot.
#pragma once
#include <memory>
#include <vector>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

int64_t open_char_device(Task& t, InodePtr inode, uint64_t rdev, int flags, FilePtr& out);
// A fresh devfs: null zero full random urandom tty console tty0..ttyN, fd/stdin/stdout/stderr.
std::shared_ptr<Mount> make_devfs(uint64_t dev_id, int consoles, const std::vector<int>& disks = {});

}  // namespace um::kernel
