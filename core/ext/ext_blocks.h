// Block-level access for page caches above ExtFs (umkernel's vfs/page_cache): which
// physical blocks hold a regular file's data, and reading many of them with one call.
#pragma once
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/ext/ext_fs.h"

namespace um::ext {

// `count` blocks from logical block `lblk` at physical block `pblk`.
struct DataRun {
  uint64_t lblk, pblk, count;
};

// Where a regular file's data is, in logical order. Holes and unwritten (fallocated) extents
// are left out: they read as zeros. ENOTSUP for inline-data files (ExtFs::read them).
Result<std::vector<DataRun>> data_runs(ExtFs& fs, Ino ino);
// Reads `count` blocks from physical block `pblk` (large reads of the image). EIO when they
// are not all inside the file system.
Status read_blocks(ExtFs& fs, uint64_t pblk, uint64_t count, void* buf);
uint32_t block_size(ExtFs& fs);

}  // namespace um::ext
