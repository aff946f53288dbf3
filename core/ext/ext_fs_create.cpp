// ExtFs::create: an in-process mke2fs (the steps of e2fsprogs' misc/mke2fs.c that matter for
// a fresh image file) writing a sparse image.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "core/ext/ext_fs.h"
#include "core/ext/ext_fs_impl.h"

namespace um::ext {

namespace {

void random_bytes(void* p, size_t n) {
  auto* c = static_cast<uint8_t*>(p);
  while (n > 0) {
    ssize_t r = getrandom(c, n, 0);
    if (r <= 0) {
      for (size_t i = 0; i < n; ++i) c[i] = static_cast<uint8_t>(rand());
      return;
    }
    c += r;
    n -= size_t(r);
  }
}

void random_uuid(uint8_t u[16]) {
  random_bytes(u, 16);
  u[6] = (u[6] & 0x0f) | 0x40;  // version 4
  u[8] = (u[8] & 0x3f) | 0x80;  // RFC 4122 variant
}

struct FsGuard {
  ext2_filsys fs = nullptr;
  ~FsGuard() {
    if (fs) ext2fs_free(fs);
  }
};

Status fail(errcode_t err, const std::string& what) { return ext_error(err, what); }

Status build_fs(ext2_filsys fs, const CreateOptions& o) {
  auto* sb = fs->super;
  random_uuid(sb->s_uuid);
  if (ext2fs_has_feature_metadata_csum(sb)) sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
  ext2fs_init_csum_seed(fs);
  random_bytes(sb->s_hash_seed, sizeof sb->s_hash_seed);
  sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
  sb->s_flags |= (static_cast<char>(0xff) < 0) ? EXT2_FLAGS_SIGNED_HASH : EXT2_FLAGS_UNSIGNED_HASH;
  sb->s_max_mnt_count = static_cast<__u16>(-1);
  sb->s_checkinterval = 0;
  std::strncpy(reinterpret_cast<char*>(sb->s_volume_name), o.label.c_str(), sizeof sb->s_volume_name);
  uint32_t now = static_cast<uint32_t>(time(nullptr));
  sb->s_mkfs_time = sb->s_wtime = sb->s_lastcheck = now;

  if (errcode_t err = ext2fs_allocate_tables(fs)) return fail(err, "allocating group tables");
  if (errcode_t err = ext2fs_convert_subcluster_bitmap(fs, &fs->block_map))
    return fail(err, "block bitmap");
  // The image file is new and sparse, so every inode table already reads as zeros.
  for (dgrp_t g = 0; g < fs->group_desc_count; ++g) {
    ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
    ext2fs_group_desc_csum_set(fs, g);
  }

  fs->umask = 022;
  if (errcode_t err = ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, nullptr))
    return fail(err, "making the root directory");
  fs->umask = 077;
  if (errcode_t err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found"))
    return fail(err, "making lost+found");
  fs->umask = 0;
  ext2_ino_t lpf = 0;
  if (errcode_t err = ext2fs_lookup(fs, EXT2_ROOT_INO, "lost+found", 10, nullptr, &lpf))
    return fail(err, "finding lost+found");
  // e2fsck wants room in lost+found without allocating: 16 KiB as mke2fs makes it.
  for (unsigned size = fs->blocksize; size < 16384 || size < 2 * fs->blocksize;
       size += fs->blocksize) {
    if (errcode_t err = ext2fs_expand_dir(fs, lpf)) return fail(err, "growing lost+found");
  }

  for (ext2_ino_t i = EXT2_ROOT_INO + 1; i < EXT2_FIRST_INODE(sb); ++i)
    ext2fs_inode_alloc_stats2(fs, i, +1, 0);
  ext2fs_mark_ib_dirty(fs);
  ext2fs_mark_inode_bitmap2(fs->inode_map, EXT2_BAD_INO);
  ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
  if (errcode_t err = ext2fs_update_bb_inode(fs, nullptr)) return fail(err, "bad-block inode");

  if (ext2fs_has_feature_resize_inode(sb)) {
    if (errcode_t err = ext2fs_create_resize_inode(fs)) return fail(err, "making the resize inode");
  }
  if (o.type != "ext2") {
    ext2fs_journal_params jp{};
    if (ext2fs_get_journal_params(&jp, fs))
      return Error::make(ENOSPC, "image too small for a journal (use --type ext2 or a larger size)");
    if (errcode_t err = ext2fs_add_journal_inode3(fs, &jp, ~0ULL, EXT2_MKJOURNAL_LAZYINIT))
      return fail(err, "making the journal");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<ExtFs>> ExtFs::create(const std::string& path, const CreateOptions& o) {
  setup_libext2fs();
  if (o.type != "ext2" && o.type != "ext3" && o.type != "ext4")
    return Error::make(EINVAL, "unknown file system type '" + o.type + "' (ext2, ext3 or ext4)");
  if (o.block_size != 1024 && o.block_size != 2048 && o.block_size != 4096)
    return Error::make(EINVAL, "block size must be 1024, 2048 or 4096");
  uint64_t blocks = o.size_bytes / o.block_size;
  uint64_t min_bytes = o.type == "ext2" ? (1 << 20) : (8 << 20);
  if (o.size_bytes < min_bytes)
    return Error::make(EINVAL, "image size too small: " + o.type + " needs at least " +
                                   std::to_string(min_bytes >> 20) + " MiB");
  if (blocks > (uint64_t(1) << 32) * 16)
    return Error::make(EFBIG, "image size too large");
  if (o.label.size() > 16) return Error::make(EINVAL, "label longer than 16 bytes");

  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return Error::from_errno(path);
  bool ok = ::ftruncate(fd, off_t(blocks * o.block_size)) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Error::from_errno(path + ": setting the image size", saved);
  }

  ext2_super_block param{};
  ext2fs_blocks_count_set(&param, blocks);
  param.s_log_block_size = o.block_size == 1024 ? 0 : o.block_size == 2048 ? 1 : 2;
  param.s_rev_level = EXT2_DYNAMIC_REV;
  param.s_inode_size = 256;
  uint64_t ratio = o.size_bytes >= (uint64_t(512) << 20) ? 16384 : 8192;
  uint64_t inodes = o.inode_count ? o.inode_count : o.size_bytes / ratio;
  param.s_inodes_count = static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(inodes, 64),
                                                                   0xffffffffULL - 1));
  ext2fs_r_blocks_count_set(&param, blocks * 5 / 100);
  param.s_feature_compat = EXT2_FEATURE_COMPAT_EXT_ATTR | EXT2_FEATURE_COMPAT_RESIZE_INODE |
                           EXT2_FEATURE_COMPAT_DIR_INDEX;
  param.s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE;
  param.s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE;
  if (o.type == "ext4") {
    param.s_feature_incompat |= EXT3_FEATURE_INCOMPAT_EXTENTS | EXT4_FEATURE_INCOMPAT_64BIT |
                                EXT4_FEATURE_INCOMPAT_FLEX_BG;
    param.s_feature_ro_compat |= EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_DIR_NLINK |
                                 EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE |
                                 EXT4_FEATURE_RO_COMPAT_METADATA_CSUM;
    param.s_desc_size = EXT2_MIN_DESC_SIZE_64BIT;
    param.s_log_groups_per_flex = 4;
    param.s_min_extra_isize = param.s_want_extra_isize =
        sizeof(ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
  }

  FsGuard g;
  errcode_t err = ext2fs_initialize(path.c_str(), EXT2_FLAG_64BITS, &param, unix_io_manager, &g.fs);
  Status st = err ? fail(err, path + ": making the file system") : build_fs(g.fs, o);
  if (st) {
    if ((err = ext2fs_flush2(g.fs, EXT2_FLAG_FLUSH_NO_SYNC))) st = fail(err, path + ": writing the file system");
  }
  if (!st) {
    ::unlink(path.c_str());
    return std::move(st).error();
  }
  auto impl = std::make_unique<Impl>();
  impl->fs = g.fs;
  g.fs = nullptr;
  impl->path = path;
  impl->ro = false;
  impl->was_valid = true;
  impl->dirtied = true;
  impl->fs->umask = 0;
  uint32_t seed = 0;
  random_bytes(&seed, sizeof seed);
  impl->generation = seed;
  return std::unique_ptr<ExtFs>(new ExtFs(std::move(impl)));
}

}  // namespace um::ext
