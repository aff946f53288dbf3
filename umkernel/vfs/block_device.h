// ubd block devices (/dev/ubdX, 98:16*N): the disk image as a seekable byte device with the
// block ioctls fsck, mkfs, blkid and dd use. Coherent with a mounted file system the way Linux's
// shared buffer cache makes it: opening the device writes the file system's changes back first,
// and writing to a disk whose file system is not mounted drops umkernel's open copy of it, so the
// next mount reads what was written (mkfs then mount).
#pragma once
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

int64_t open_block_device(Task& t, InodePtr inode, uint64_t rdev, int flags, FilePtr& out);

}  // namespace um::kernel
