// Small shared helpers of the ext layer: error mapping, inode field accessors.
#include <dirent.h>
#include <sys/stat.h>

#include <cstddef>

extern "C" {
#include <et/com_err.h>
}

#include <cstdarg>
#include <cstdio>

#include "core/ext/ext_fs_impl.h"
#include "core/log.h"

namespace um::ext {

int errno_of(errcode_t err) {
  if (err > 0 && err < 4096) return static_cast<int>(err);
  switch (err) {
    case EXT2_ET_BLOCK_ALLOC_FAIL:
    case EXT2_ET_INODE_ALLOC_FAIL:
    case EXT2_ET_DIR_NO_SPACE:
    case EXT2_ET_EA_NO_SPACE:
    case EXT2_ET_RES_GDT_BLOCKS:
      return ENOSPC;
    case EXT2_ET_RO_FILSYS:
    case EXT2_ET_FILE_RO:
      return EROFS;
    case EXT2_ET_FILE_NOT_FOUND:
      return ENOENT;
    case EXT2_ET_NO_DIRECTORY:
      return ENOTDIR;
    case EXT2_ET_DIR_EXISTS:
      return EEXIST;
    case EXT2_ET_EA_KEY_NOT_FOUND:
    case EXT2_ET_NO_INLINE_DATA:
      return ENODATA;
    case EXT2_ET_NO_MEMORY:
      return ENOMEM;
    case EXT2_ET_FILE_TOO_BIG:
    case EXT2_ET_EXTENT_NOT_SUPPORTED:
      return EFBIG;
    case EXT2_ET_INVALID_ARGUMENT:
      return EINVAL;
    case EXT2_ET_BAD_MAGIC:
    case EXT2_ET_UNSUPP_FEATURE:
    case EXT2_ET_RO_UNSUPP_FEATURE:
    case EXT2_ET_REV_TOO_HIGH:
    case EXT2_ET_UNEXPECTED_BLOCK_SIZE:
    case EXT2_ET_CORRUPT_SUPERBLOCK:
    case EXT2_ET_SB_CSUM_INVALID:
      return EINVAL;
    case EXT2_ET_SHORT_READ:
    case EXT2_ET_SHORT_WRITE:
    default:
      return EIO;
  }
}

void setup_libext2fs() {
  static const bool ready = [] {
    initialize_ext2_error_table();
    // libext2fs reports some problems of corrupt images (e.g. "Illegal block number") with
    // com_err() straight to stderr; they are logged at debug level instead.
    set_com_err_hook([](const char* who, errcode_t code, const char* fmt, va_list args) {
      if (::um::log::level() > ::um::log::Level::Debug) return;
      char buf[512];
      vsnprintf(buf, sizeof buf, fmt ? fmt : "", args);
      UM_DEBUG("libext2fs: %s: %s%s", who ? who : "", code ? error_message(code) : "", buf);
    });
    return true;
  }();
  (void)ready;
}

Error ext_error(errcode_t err, const std::string& what) {
  setup_libext2fs();
  return Error::make(errno_of(err), what + ": " + error_message(err));
}

namespace {
timespec (*g_clock)() = nullptr;
}

void set_clock(timespec (*now)()) { g_clock = now; }

timespec now_ts() {
  if (g_clock) return g_clock();
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

namespace {
// Offset just past each *_extra field, to know whether i_extra_isize covers it.
constexpr size_t kExtraEnd[] = {
    offsetof(ext2_inode_large, i_atime_extra) + 4, offsetof(ext2_inode_large, i_mtime_extra) + 4,
    offsetof(ext2_inode_large, i_ctime_extra) + 4, offsetof(ext2_inode_large, i_crtime_extra) + 4};

bool has_extra(const ext2_inode_large& in, int which) {
  return kExtraEnd[which] <= EXT2_GOOD_OLD_INODE_SIZE + size_t(in.i_extra_isize);
}
uint32_t* sec_field(ext2_inode_large& in, int which) {
  switch (which) {
    case kAtime: return &in.i_atime;
    case kMtime: return &in.i_mtime;
    case kCtime: return &in.i_ctime;
    default: return &in.i_crtime;
  }
}
uint32_t* extra_field(ext2_inode_large& in, int which) {
  switch (which) {
    case kAtime: return &in.i_atime_extra;
    case kMtime: return &in.i_mtime_extra;
    case kCtime: return &in.i_ctime_extra;
    default: return &in.i_crtime_extra;
  }
}
}  // namespace

timespec inode_time(const ext2_inode_large& cin, int which) {
  auto& in = const_cast<ext2_inode_large&>(cin);
  timespec ts{};
  if (which == kCrtime && !has_extra(in, kCrtime)) return ts;
  int64_t sec = static_cast<int32_t>(*sec_field(in, which));
  if (has_extra(in, which)) {
    uint32_t extra = *extra_field(in, which);
    sec += static_cast<int64_t>(extra & 3) << 32;
    ts.tv_nsec = (extra >> 2) % 1000000000;
  }
  ts.tv_sec = sec;
  return ts;
}

void set_inode_time(ext2_inode_large& in, int which, timespec ts) {
  if (which == kCrtime && !has_extra(in, kCrtime)) return;
  *sec_field(in, which) = static_cast<uint32_t>(ts.tv_sec);
  if (has_extra(in, which)) {
    uint32_t epoch = static_cast<uint32_t>((ts.tv_sec - int64_t(int32_t(ts.tv_sec))) >> 32) & 3;
    *extra_field(in, which) = epoch | (static_cast<uint32_t>(ts.tv_nsec) << 2);
  }
}

uint32_t inode_uid_of(const ext2_inode_large& in) {
  return in.i_uid | uint32_t(in.osd2.linux2.l_i_uid_high) << 16;
}
uint32_t inode_gid_of(const ext2_inode_large& in) {
  return in.i_gid | uint32_t(in.osd2.linux2.l_i_gid_high) << 16;
}
void set_inode_uid(ext2_inode_large& in, uint32_t uid) {
  in.i_uid = uid & 0xffff;
  in.osd2.linux2.l_i_uid_high = uid >> 16;
}
void set_inode_gid(ext2_inode_large& in, uint32_t gid) {
  in.i_gid = gid & 0xffff;
  in.osd2.linux2.l_i_gid_high = gid >> 16;
}

uint8_t ext2_ft_of_mode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return EXT2_FT_REG_FILE;
    case S_IFDIR: return EXT2_FT_DIR;
    case S_IFLNK: return EXT2_FT_SYMLINK;
    case S_IFCHR: return EXT2_FT_CHRDEV;
    case S_IFBLK: return EXT2_FT_BLKDEV;
    case S_IFIFO: return EXT2_FT_FIFO;
    case S_IFSOCK: return EXT2_FT_SOCK;
    default: return EXT2_FT_UNKNOWN;
  }
}

uint8_t dt_of_ext2_ft(int ft) {
  switch (ft) {
    case EXT2_FT_REG_FILE: return DT_REG;
    case EXT2_FT_DIR: return DT_DIR;
    case EXT2_FT_SYMLINK: return DT_LNK;
    case EXT2_FT_CHRDEV: return DT_CHR;
    case EXT2_FT_BLKDEV: return DT_BLK;
    case EXT2_FT_FIFO: return DT_FIFO;
    case EXT2_FT_SOCK: return DT_SOCK;
    default: return DT_UNKNOWN;
  }
}

Status check_name(std::string_view name) {
  if (name.empty()) return Error::make(ENOENT, "empty file name");
  if (name.size() > EXT2_NAME_LEN)
    return Error::make(ENAMETOOLONG, "file name longer than 255 bytes");
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return Error::make(EINVAL, "file name contains '/' or NUL");
  return {};
}

}  // namespace um::ext
