// Block-level reads for page caches above ExtFs: which physical blocks hold a file's data,
// and reading many of them in one go.
#include <algorithm>

#include "core/ext/ext_blocks.h"

#include "core/ext/ext_fs_impl.h"

namespace um::ext {

namespace {

void add_run(std::vector<DataRun>& runs, uint64_t lblk, uint64_t pblk, uint64_t count) {
  if (!runs.empty()) {
    auto& r = runs.back();
    if (r.lblk + r.count == lblk && r.pblk + r.count == pblk) {
      r.count += count;
      return;
    }
  }
  runs.push_back({lblk, pblk, count});
}

int collect_block(ext2_filsys, blk64_t* blocknr, e2_blkcnt_t blockcnt, blk64_t, int, void* priv) {
  if (blockcnt >= 0 && *blocknr)
    add_run(*static_cast<std::vector<DataRun>*>(priv), static_cast<uint64_t>(blockcnt), *blocknr, 1);
  return 0;
}

}  // namespace

Result<std::vector<DataRun>> data_runs(ExtFs& efs, Ino ino) {
  ext2_filsys fs = efs.raw();
  InodeBuf b;
  // The block map as the image has it: libext2fs writes an inode whenever a write allocates.
  if (errcode_t err = ext2fs_read_inode2(fs, ino, b.base(), sizeof b.in, 0))
    return ext_error(err, "reading inode " + std::to_string(ino));
  if (!LINUX_S_ISREG(b.in.i_mode)) return Error::make(EINVAL, "not a regular file");
  if (b.in.i_flags & EXT4_INLINE_DATA_FL) return Error::make(ENOTSUP, "inline data");
  std::vector<DataRun> runs;
  if (b.in.i_flags & EXT4_EXTENTS_FL) {
    ext2_extent_handle_t h;
    if (errcode_t err = ext2fs_extent_open2(fs, ino, b.base(), &h))
      return ext_error(err, "extents of inode " + std::to_string(ino));
    ext2fs_extent e;
    errcode_t err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &e);
    while (!err) {
      if ((e.e_flags & EXT2_EXTENT_FLAGS_LEAF) && !(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) && e.e_len)
        add_run(runs, e.e_lblk, e.e_pblk, e.e_len);
      err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &e);
    }
    ext2fs_extent_free(h);
    if (err != EXT2_ET_EXTENT_NO_NEXT && err != EXT2_ET_NO_CURRENT_NODE)
      return ext_error(err, "extents of inode " + std::to_string(ino));
    std::sort(runs.begin(), runs.end(), [](auto& x, auto& y) { return x.lblk < y.lblk; });
  } else {
    if (errcode_t err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, nullptr,
                                              collect_block, &runs))
      return ext_error(err, "blocks of inode " + std::to_string(ino));
  }
  return runs;
}

Status read_blocks(ExtFs& efs, uint64_t pblk, uint64_t count, void* buf) {
  ext2_filsys fs = efs.raw();
  uint64_t total = ext2fs_blocks_count(fs->super);
  if (pblk < fs->super->s_first_data_block || pblk >= total || count > total - pblk)
    return Error::make(EIO, "block " + std::to_string(pblk) + " is outside the file system");
  auto* p = static_cast<char*>(buf);
  while (count) {
    uint64_t n = std::min<uint64_t>(count, 1u << 16);
    if (errcode_t err = io_channel_read_blk64(fs->io, pblk, static_cast<int>(n), p))
      return ext_error(err, "reading block " + std::to_string(pblk));
    pblk += n;
    count -= n;
    p += n * fs->blocksize;
  }
  return {};
}

uint32_t block_size(ExtFs& efs) { return efs.raw()->blocksize; }

}  // namespace um::ext
