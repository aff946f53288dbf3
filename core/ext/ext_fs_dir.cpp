// ExtFs name-space operations: lookup, readdir, creating, linking, removing and renaming.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <vector>

#include "core/ext/ext_fs.h"
#include "core/ext/ext_fs_impl.h"

namespace um::ext {

namespace {
constexpr unsigned kRenameNoreplace = 1, kRenameExchange = 2, kRenameWhiteout = 4;
constexpr uint16_t kLinkMax = EXT2_LINK_MAX;  // 65000

std::string ino_str(Ino ino) { return "inode " + std::to_string(ino); }
}  // namespace

// ---------------------------------------------------------------------------------------
// Impl helpers

Result<InodeBuf> FsCore::dir_inode(Ino dir) {
  InodeBuf b;
  UM_TRY(read_inode(dir, b));
  if (!LINUX_S_ISDIR(b.in.i_mode)) return Error::make(ENOTDIR, ino_str(dir) + ": not a directory");
  if (b.in.i_links_count == 0) return Error::make(ENOENT, ino_str(dir) + ": directory was removed");
  return b;
}

Status FsCore::touch_dir(Ino dir) {
  InodeBuf b;
  UM_TRY(read_inode(dir, b));
  timespec now = now_ts();
  set_inode_time(b.in, kMtime, now);
  set_inode_time(b.in, kCtime, now);
  return write_inode(dir, b);
}

namespace {
// Adds `delta` (+1/-1) to a directory's link count, following dir_nlink (1 = "too many").
Status adjust_dir_links(FsCore& im, Ino dir, int delta) {
  InodeBuf b;
  UM_TRY(im.read_inode(dir, b));
  auto& n = b.in.i_links_count;
  if (delta > 0) {
    if (n == 1 && ext2fs_has_feature_dir_nlink(im.fs->super)) {
      // already "many"
    } else if (n + 1 >= kLinkMax) {
      if (!ext2fs_has_feature_dir_nlink(im.fs->super))
        return Error::make(EMLINK, ino_str(dir) + ": too many subdirectories");
      n = 1;
    } else {
      ++n;
    }
  } else if (n > 2) {
    --n;
  } else if (n == 2) {
    n = 2;  // never below 2 for a live directory ("." and its entry)
  }
  timespec now = now_ts();
  set_inode_time(b.in, kMtime, now);
  set_inode_time(b.in, kCtime, now);
  return im.write_inode(dir, b);
}

Status check_dir_links_room(FsCore& im, Ino dir) {
  InodeBuf b;
  UM_TRY(im.read_inode(dir, b));
  if (b.in.i_links_count + 1 >= kLinkMax && !ext2fs_has_feature_dir_nlink(im.fs->super))
    return Error::make(EMLINK, ino_str(dir) + ": too many subdirectories");
  return {};
}

// Writes a brand-new inode with a zeroed full-size buffer (no stale in-inode xattrs).
Status write_new_inode(FsCore& im, Ino ino, InodeBuf& b) {
  size_t isz = EXT2_INODE_SIZE(im.fs->super);
  std::vector<char> buf(std::max(isz, sizeof b.in), 0);
  std::memcpy(buf.data(), &b.in, std::min(isz, sizeof b.in));
  if (errcode_t err = ext2fs_write_inode2(im.fs, ino, reinterpret_cast<ext2_inode*>(buf.data()),
                                          isz, 0))
    return ext_error(err, "writing new " + ino_str(ino));
  return {};
}

}  // namespace

// Gives an in-memory inode an empty extent tree (ext4) so data can be mapped into it.
Status init_extents(FsCore& im, Ino ino, InodeBuf& b) {
  if (!ext2fs_has_feature_extents(im.fs->super)) return {};
  ext2_extent_handle_t h = nullptr;
  b.in.i_flags &= ~EXT4_EXTENTS_FL;
  if (errcode_t err = ext2fs_extent_open2(im.fs, ino, b.base(), &h))
    return ext_error(err, "initialising extents");
  ext2fs_extent_free(h);
  return {};
}

Status release_blocks(FsCore& im, Ino ino, InodeBuf& b) {
  ext2_filsys fs = im.fs;
  if (!ext2fs_inode_has_valid_blocks2(fs, b.base())) return {};
  // Not ext2fs_punch: before e2fsprogs 1.47.4 it fails on an extent ending at the file
  // system's last block. Every mapped block (data and tree/indirect blocks) is released.
  blk64_t last_cluster = ~0ULL;
  auto release = [](ext2_filsys fs, blk64_t* blk, e2_blkcnt_t, blk64_t, int, void* p) -> int {
    auto* last = static_cast<blk64_t*>(p);
    blk64_t cluster = EXT2FS_B2C(fs, *blk);
    if (cluster == *last) return 0;
    *last = cluster;
    if (*blk >= fs->super->s_first_data_block && *blk < ext2fs_blocks_count(fs->super))
      ext2fs_block_alloc_stats2(fs, *blk, -1);
    return 0;
  };
  if (errcode_t err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, nullptr, release,
                                            &last_cluster))
    return ext_error(err, "freeing blocks of " + ino_str(ino));
  ext2fs_iblk_set(fs, b.base(), 0);
  return {};
}

Result<Ino> FsCore::new_inode(Ino dir, uint32_t mode, uint32_t uid, uint32_t gid,
                                   InodeBuf& b) {
  Ino ino = 0;
  if (errcode_t err = ext2fs_new_inode(fs, dir, mode, nullptr, &ino))
    return ext_error(err, "allocating an inode");
  ext2fs_inode_alloc_stats2(fs, ino, +1, LINUX_S_ISDIR(mode));
  b.in = {};
  b.in.i_mode = mode;
  set_inode_uid(b.in, uid);
  set_inode_gid(b.in, gid);
  b.in.i_links_count = 1;
  if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE)
    b.in.i_extra_isize = sizeof(ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
  timespec now = now_ts();
  for (int w : {kAtime, kMtime, kCtime, kCrtime}) set_inode_time(b.in, w, now);
  b.in.i_generation = generation++;
  return ino;
}

Result<const CachedDir*> FsCore::cached_dir(Ino dir, bool with_entries) {
  auto it = dirs.find(dir);
  if (it != dirs.end()) {
    if (it->second.entries_valid || !with_entries) return &it->second;
    forget_dir(dir);
  }
  CachedDir cd;
  struct Ctx {
    CachedDir* cd;
    bool filetype;
    Ino max_ino;
  } c{&cd, ext2fs_has_feature_filetype(fs->super) != 0, fs->super->s_inodes_count};
  auto cb = [](ext2_ino_t, int, ext2_dir_entry* d, int, int, char*, void* p) -> int {
    auto* c = static_cast<Ctx*>(p);
    if (d->inode == 0 || d->inode > c->max_ino) return 0;
    std::string name(d->name, ext2fs_dirent_name_len(d));
    uint8_t type = c->filetype ? dt_of_ext2_ft(ext2fs_dirent_file_type(d)) : uint8_t(DT_UNKNOWN);
    c->cd->by_name.emplace(name, d->inode);  // the first of duplicate names wins, as lookup
    c->cd->entries.push_back({std::move(name), d->inode, type});
    return 0;
  };
  if (errcode_t err = ext2fs_dir_iterate2(fs, dir, 0, nullptr, cb, &c))
    return ext_error(err, "reading directory " + ino_str(dir));
  if (cached_dir_entries + cd.entries.size() > kMaxCachedDirEntries) {
    dirs.clear();
    cached_dir_entries = 0;
  }
  cached_dir_entries += cd.entries.size();
  return &(dirs[dir] = std::move(cd));
}

void FsCore::note_entry(Ino dir, std::string_view name, Ino ino) {
  auto it = dirs.find(dir);
  if (it == dirs.end()) return;
  it->second.entries_valid = false;
  if (ino)
    it->second.by_name[std::string(name)] = ino;
  else
    it->second.by_name.erase(std::string(name));
}

void FsCore::forget_dir(Ino dir) {
  auto it = dirs.find(dir);
  if (it == dirs.end()) return;
  cached_dir_entries -= it->second.entries.size();
  dirs.erase(it);
}

Status FsCore::add_entry(Ino dir, std::string_view name, Ino ino, uint32_t mode) {
  std::string n(name);
  int ft = ext2_ft_of_mode(mode);
  for (int attempt = 0;; ++attempt) {
    errcode_t err = ext2fs_link(fs, dir, n.c_str(), ino, ft);
    if (!err) {
      note_entry(dir, name, ino);
      return {};
    }
    forget_dir(dir);
    if (err != EXT2_ET_DIR_NO_SPACE || attempt >= 3)
      return ext_error(err, "adding " + n + " to " + ino_str(dir));
    if ((err = ext2fs_expand_dir(fs, dir)))
      return ext_error(err, "growing directory " + ino_str(dir));
  }
}

namespace {
struct SetEntryCtx {
  std::string_view name;
  Ino ino;
  int ft;
  bool filetype;
  bool found = false;
};
int set_entry_cb(ext2_ino_t, int, ext2_dir_entry* d, int, int, char*, void* p) {
  auto* c = static_cast<SetEntryCtx*>(p);
  size_t len = ext2fs_dirent_name_len(d);
  if (d->inode == 0 || len != c->name.size() || std::memcmp(d->name, c->name.data(), len) != 0)
    return 0;
  d->inode = c->ino;
  if (c->filetype) ext2fs_dirent_set_file_type(d, c->ft);
  c->found = true;
  return DIRENT_CHANGED | DIRENT_ABORT;
}
}  // namespace

Status FsCore::set_entry(Ino dir, std::string_view name, Ino ino, uint32_t mode) {
  SetEntryCtx c{name, ino, ext2_ft_of_mode(mode), ext2fs_has_feature_filetype(fs->super) != 0};
  errcode_t err = ext2fs_dir_iterate2(fs, dir, 0, nullptr, set_entry_cb, &c);
  if (err || !c.found) forget_dir(dir);
  if (err) return ext_error(err, "updating directory " + ino_str(dir));
  note_entry(dir, name, ino);
  if (!c.found) return Error::make(ENOENT, std::string(name) + ": no such entry");
  return {};
}

Status FsCore::remove_entry(Ino dir, std::string_view name, Ino ino) {
  std::string n(name);
  if (errcode_t err = ext2fs_unlink(fs, dir, n.c_str(), ino, 0)) {
    forget_dir(dir);
    return ext_error(err, "removing " + n + " from " + ino_str(dir));
  }
  note_entry(dir, name, 0);
  return {};
}

Result<bool> FsCore::dir_is_empty(Ino dir) {
  bool empty = true;
  auto cb = [](ext2_ino_t, int entry, ext2_dir_entry* d, int, int, char*, void* p) -> int {
    if (d->inode == 0 || entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE) return 0;
    *static_cast<bool*>(p) = false;
    return DIRENT_ABORT;
  };
  if (errcode_t err = ext2fs_dir_iterate2(fs, dir, 0, nullptr, cb, &empty))
    return ext_error(err, "reading directory " + ino_str(dir));
  return empty;
}

Result<Ino> FsCore::parent_of(Ino dir) {
  const CachedDir* cd = UM_TRY(cached_dir(dir));
  auto it = cd->by_name.find("..");
  if (it == cd->by_name.end()) return Error::make(EIO, ino_str(dir) + ": directory has no '..'");
  return it->second;
}

Status FsCore::drop_link(Ino ino, bool is_dir) {
  InodeBuf b;
  UM_TRY(read_inode(ino, b));
  if (is_dir || b.in.i_links_count <= 1)
    b.in.i_links_count = 0;
  else
    --b.in.i_links_count;
  set_inode_time(b.in, kCtime, now_ts());
  UM_TRY(write_inode(ino, b));
  if (b.in.i_links_count > 0) return {};
  auto it = open_refs.find(ino);
  if (it != open_refs.end() && it->second > 0) {
    orphans.insert(ino);
    return {};
  }
  return free_inode(ino);
}

Status FsCore::free_inode(Ino ino) {
  UM_TRY(evict_file(ino));
  forget_dir(ino);
  InodeBuf b;
  UM_TRY(read_inode(ino, b));
  if (b.in.i_links_count != 0) return {};
  if (errcode_t err = ext2fs_free_ext_attr(fs, ino, &b.in))
    return ext_error(err, "freeing attributes of " + ino_str(ino));
  UM_TRY(release_blocks(*this, ino, b));
  b.in.i_dtime = static_cast<uint32_t>(time(nullptr));
  if (errcode_t err = ext2fs_write_inode2(fs, ino, b.base(), sizeof b.in, 0))
    return ext_error(err, "writing " + ino_str(ino));
  ext2fs_inode_alloc_stats2(fs, ino, -1, LINUX_S_ISDIR(b.in.i_mode));
  return {};
}

// ---------------------------------------------------------------------------------------
// lookups

Result<Ino> ExtFs::lookup(Ino dir, std::string_view name) {
  UM_TRY(check_name(name));
  UM_TRY(impl_->dir_inode(dir));
  const CachedDir* cd = UM_TRY(impl_->cached_dir(dir));
  auto it = cd->by_name.find(std::string(name));
  if (it == cd->by_name.end())
    return Error::make(ENOENT, std::string(name) + ": no such file or directory");
  return it->second;
}

Status ExtFs::readdir(Ino dir, uint64_t pos,
                      const std::function<bool(const DirEntry&, uint64_t next)>& fn) {
  UM_TRY(impl_->dir_inode(dir));
  const CachedDir* cd = UM_TRY(impl_->cached_dir(dir, true));
  // Entries are copied out first: `fn` may change the directory (and drop the cache).
  for (uint64_t i = pos; i < cd->entries.size(); ++i) {
    auto e = cd->entries[i];
    bool more = fn(DirEntry{e.name, e.ino, e.type}, i + 1);
    if (!more) break;
    cd = UM_TRY(impl_->cached_dir(dir, true));  // (re)read if `fn` changed the directory
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// creating

namespace {
Status check_new_name(ExtFs& fs, FsCore& im, Ino dir, std::string_view name) {
  UM_TRY(im.begin_change());
  UM_TRY(check_name(name));
  UM_TRY(im.dir_inode(dir));
  if (name == "." || name == "..") return Error::make(EEXIST, std::string(name) + ": exists");
  auto r = fs.lookup(dir, name);
  if (r.ok()) return Error::make(EEXIST, std::string(name) + ": file exists");
  if (r.error().code != ENOENT) return std::move(r).error();
  return {};
}

// Undoes a half-made inode after a failure to link it.
void discard_inode(FsCore& im, Ino ino) {
  InodeBuf b;
  if (!im.read_inode(ino, b)) return;
  b.in.i_links_count = 0;
  (void)im.write_inode(ino, b);
  (void)im.free_inode(ino);
}
}  // namespace

Result<Ino> ExtFs::mknod(Ino dir, std::string_view name, uint32_t mode, uint32_t uid,
                         uint32_t gid, uint64_t rdev) {
  UM_TRY(check_new_name(*this, *impl_, dir, name));
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK)
    return Error::make(EINVAL, std::string(name) + ": mknod cannot make this file type");
  auto& im = *impl_;
  InodeBuf b;
  Ino ino = UM_TRY(im.new_inode(dir, type | (mode & 07777), uid, gid, b));
  Status st;
  if (type == S_IFCHR || type == S_IFBLK) {
    unsigned ma = major(rdev), mi = minor(rdev);
    if (ma < 256 && mi < 256)
      b.in.i_block[0] = ma << 8 | mi;
    else
      b.in.i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
  } else if (type == S_IFREG) {
    if (ext2fs_has_feature_inline_data(im.fs->super))
      b.in.i_flags |= EXT4_INLINE_DATA_FL;
    else
      st = init_extents(im, ino, b);
  }
  if (st) st = write_new_inode(im, ino, b);
  if (st && (b.in.i_flags & EXT4_INLINE_DATA_FL)) {
    if (errcode_t err = ext2fs_inline_data_init(im.fs, ino)) st = ext_error(err, "inline data");
  }
  if (st) st = im.add_entry(dir, name, ino, type);
  if (!st) {
    discard_inode(im, ino);
    return std::move(st).error();
  }
  UM_TRY(im.touch_dir(dir));
  return ino;
}

Result<Ino> ExtFs::mkdir(Ino dir, std::string_view name, uint32_t mode, uint32_t uid,
                         uint32_t gid) {
  UM_TRY(check_new_name(*this, *impl_, dir, name));
  auto& im = *impl_;
  auto* fs = im.fs;
  UM_TRY(check_dir_links_room(im, dir));
  InodeBuf b;
  Ino ino = UM_TRY(im.new_inode(dir, LINUX_S_IFDIR | (mode & 07777), uid, gid, b));
  b.in.i_links_count = 2;
  Status st = init_extents(im, ino, b);
  blk64_t blk = 0;
  if (st) {
    blk64_t goal = ext2fs_find_inode_goal(fs, ino, b.base(), 0);
    if (errcode_t err = ext2fs_new_block2(fs, goal, nullptr, &blk))
      st = ext_error(err, "allocating a directory block");
    else
      ext2fs_block_alloc_stats2(fs, blk, +1);
  }
  bool mapped = false;
  if (st) {
    b.in.i_size = fs->blocksize;
    ext2fs_iblk_set(fs, b.base(), 1);
    if (!(b.in.i_flags & EXT4_EXTENTS_FL)) {
      b.in.i_block[0] = static_cast<uint32_t>(blk);
      mapped = true;
    }
    st = write_new_inode(im, ino, b);
  }
  if (st && !mapped) {
    errcode_t err = ext2fs_bmap2(fs, ino, b.base(), nullptr, BMAP_SET, 0, nullptr, &blk);
    if (!err) {
      mapped = true;
      err = ext2fs_write_inode2(fs, ino, b.base(), sizeof b.in, 0);
    }
    if (err) st = ext_error(err, "mapping the directory block");
  }
  if (st) {
    // After the inode is written: the block checksum covers the inode's generation.
    char* block = nullptr;
    errcode_t err = ext2fs_new_dir_block(fs, ino, dir, &block);
    if (!err) err = ext2fs_write_dir_block4(fs, blk, block, 0, ino);
    if (block) ext2fs_free_mem(&block);
    if (err) st = ext_error(err, "writing the directory block");
  }
  if (!st && blk && !mapped) ext2fs_block_alloc_stats2(fs, blk, -1);
  if (st) st = im.add_entry(dir, name, ino, LINUX_S_IFDIR);
  if (!st) {
    discard_inode(im, ino);
    return std::move(st).error();
  }
  UM_TRY(adjust_dir_links(im, dir, +1));
  return ino;
}

Result<Ino> ExtFs::symlink(Ino dir, std::string_view name, std::string_view target, uint32_t uid,
                           uint32_t gid) {
  UM_TRY(check_new_name(*this, *impl_, dir, name));
  auto& im = *impl_;
  if (target.empty()) return Error::make(ENOENT, "empty symlink target");
  if (target.size() >= im.fs->blocksize || target.size() >= 4096)
    return Error::make(ENAMETOOLONG, "symlink target too long");
  InodeBuf b;
  Ino ino = UM_TRY(im.new_inode(dir, LINUX_S_IFLNK | 0777, uid, gid, b));
  Status st;
  bool fast = target.size() < sizeof b.in.i_block;
  if (fast) {
    std::memcpy(b.in.i_block, target.data(), target.size());
    b.in.i_size = target.size();
    st = write_new_inode(im, ino, b);
  } else {
    st = init_extents(im, ino, b);
    if (st) st = write_new_inode(im, ino, b);
    if (st) {
      ext2_file_t f = nullptr;
      errcode_t err = ext2fs_file_open2(im.fs, ino, b.base(), EXT2_FILE_WRITE, &f);
      unsigned put = 0;
      if (!err) err = ext2fs_file_write(f, target.data(), target.size(), &put);
      if (!err && put != target.size()) err = EXT2_ET_SHORT_WRITE;
      if (f) {
        errcode_t e2 = ext2fs_file_close(f);
        if (!err) err = e2;
      }
      if (err) st = ext_error(err, "writing symlink target");
    }
  }
  if (st) st = im.add_entry(dir, name, ino, LINUX_S_IFLNK);
  if (!st) {
    discard_inode(im, ino);
    return std::move(st).error();
  }
  UM_TRY(im.touch_dir(dir));
  return ino;
}

Result<std::string> ExtFs::readlink(Ino ino) {
  auto& im = *impl_;
  InodeBuf b;
  UM_TRY(im.read_inode(ino, b));
  if (!LINUX_S_ISLNK(b.in.i_mode)) return Error::make(EINVAL, ino_str(ino) + ": not a symlink");
  uint64_t size = EXT2_I_SIZE(&b.in);
  if (size == 0 || size >= 65536) return Error::make(EIO, ino_str(ino) + ": bad symlink size");
  if (ext2fs_is_fast_symlink(b.base()))
    return std::string(reinterpret_cast<const char*>(b.in.i_block),
                       std::min<size_t>(size, sizeof b.in.i_block));
  std::string out(size, '\0');
  if (b.in.i_flags & EXT4_INLINE_DATA_FL) {
    size_t got = 0;
    std::vector<char> buf(std::max<size_t>(size, EXT4_MIN_INLINE_DATA_SIZE) + 4096);
    if (errcode_t err = ext2fs_inline_data_size(im.fs, ino, &got))
      return ext_error(err, "reading symlink");
    if (got > buf.size()) return Error::make(EIO, ino_str(ino) + ": bad inline symlink");
    if (errcode_t err = ext2fs_inline_data_get(im.fs, ino, b.base(), buf.data(), &got))
      return ext_error(err, "reading symlink");
    out.assign(buf.data(), std::min<size_t>(got, size));
    return out;
  }
  ext2_file_t f = nullptr;
  if (errcode_t err = ext2fs_file_open2(im.fs, ino, b.base(), 0, &f))
    return ext_error(err, "reading symlink");
  unsigned got = 0;
  errcode_t err = ext2fs_file_read(f, out.data(), size, &got);
  ext2fs_file_close(f);
  if (err) return ext_error(err, "reading symlink");
  out.resize(got);
  return out;
}

Status ExtFs::link(Ino dir, std::string_view name, Ino target) {
  UM_TRY(check_new_name(*this, *impl_, dir, name));
  auto& im = *impl_;
  InodeBuf b;
  UM_TRY(im.read_inode(target, b));
  if (LINUX_S_ISDIR(b.in.i_mode)) return Error::make(EPERM, "cannot hard-link a directory");
  if (b.in.i_links_count == 0) return Error::make(ENOENT, ino_str(target) + " was removed");
  if (b.in.i_links_count >= kLinkMax) return Error::make(EMLINK, "too many links");
  UM_TRY(im.add_entry(dir, name, target, b.in.i_mode));
  UM_TRY(im.read_inode(target, b));
  ++b.in.i_links_count;
  set_inode_time(b.in, kCtime, now_ts());
  UM_TRY(im.write_inode(target, b));
  return im.touch_dir(dir);
}

// ---------------------------------------------------------------------------------------
// removing

Status ExtFs::unlink(Ino dir, std::string_view name) {
  auto& im = *impl_;
  UM_TRY(im.begin_change());
  UM_TRY(check_name(name));
  if (name == "." || name == "..") return Error::make(EISDIR, std::string(name) + ": is a directory");
  Ino ino = UM_TRY(lookup(dir, name));
  InodeBuf b;
  UM_TRY(im.read_inode(ino, b));
  if (LINUX_S_ISDIR(b.in.i_mode)) return Error::make(EISDIR, std::string(name) + ": is a directory");
  UM_TRY(im.remove_entry(dir, name, ino));
  UM_TRY(im.touch_dir(dir));
  return im.drop_link(ino, false);
}

Status ExtFs::rmdir(Ino dir, std::string_view name) {
  auto& im = *impl_;
  UM_TRY(im.begin_change());
  UM_TRY(check_name(name));
  if (name == ".") return Error::make(EINVAL, "cannot remove '.'");
  if (name == "..") return Error::make(ENOTEMPTY, "cannot remove '..'");
  Ino ino = UM_TRY(lookup(dir, name));
  InodeBuf b;
  UM_TRY(im.read_inode(ino, b));
  if (!LINUX_S_ISDIR(b.in.i_mode)) return Error::make(ENOTDIR, std::string(name) + ": not a directory");
  if (ino == kRootIno) return Error::make(EBUSY, "cannot remove the root directory");
  if (!UM_TRY(im.dir_is_empty(ino)))
    return Error::make(ENOTEMPTY, std::string(name) + ": directory not empty");
  UM_TRY(im.remove_entry(dir, name, ino));
  UM_TRY(im.drop_link(ino, true));
  return adjust_dir_links(im, dir, -1);
}

// ---------------------------------------------------------------------------------------
// rename

namespace {
// True when `ancestor` is `dir` or one of its parents.
Result<bool> is_ancestor(FsCore& im, Ino ancestor, Ino dir) {
  Ino cur = dir;
  for (uint32_t steps = 0; steps <= im.fs->super->s_inodes_count; ++steps) {
    if (cur == ancestor) return true;
    if (cur == kRootIno) return false;
    cur = UM_TRY(im.parent_of(cur));
  }
  return Error::make(EIO, "directory tree has a loop");
}
}  // namespace

Status ExtFs::rename(Ino olddir, std::string_view oldname, Ino newdir, std::string_view newname,
                     unsigned flags) {
  auto& im = *impl_;
  UM_TRY(im.begin_change());
  UM_TRY(check_name(oldname));
  UM_TRY(check_name(newname));
  if (flags & ~(kRenameNoreplace | kRenameExchange) || flags & kRenameWhiteout ||
      (flags & kRenameNoreplace && flags & kRenameExchange))
    return Error::make(EINVAL, "unsupported rename flags");
  for (auto n : {oldname, newname})
    if (n == "." || n == "..") return Error::make(EBUSY, "cannot rename '.' or '..'");
  UM_TRY(im.dir_inode(olddir));
  UM_TRY(im.dir_inode(newdir));
  Ino src = UM_TRY(lookup(olddir, oldname));
  InodeBuf sb;
  UM_TRY(im.read_inode(src, sb));
  bool src_dir = LINUX_S_ISDIR(sb.in.i_mode);
  Ino dst = 0;
  if (auto r = lookup(newdir, newname); r.ok())
    dst = *r;
  else if (r.error().code != ENOENT)
    return std::move(r).error();

  if (dst && (flags & kRenameNoreplace))
    return Error::make(EEXIST, std::string(newname) + ": file exists");
  if (!dst && (flags & kRenameExchange))
    return Error::make(ENOENT, std::string(newname) + ": no such file or directory");
  if (dst == src) {
    // Same inode (same entry or two hard links): rename(2) does nothing.
    return {};
  }
  InodeBuf db;
  bool dst_dir = false;
  if (dst) {
    UM_TRY(im.read_inode(dst, db));
    dst_dir = LINUX_S_ISDIR(db.in.i_mode);
  }
  // No directory may move below itself.
  if (src_dir && olddir != newdir && UM_TRY(is_ancestor(im, src, newdir)))
    return Error::make(EINVAL, "cannot move a directory into itself");
  if ((flags & kRenameExchange) && dst_dir && olddir != newdir &&
      UM_TRY(is_ancestor(im, dst, olddir)))
    return Error::make(EINVAL, "cannot move a directory into itself");

  timespec now = now_ts();
  auto bump_ctime = [&](Ino ino) -> Status {
    InodeBuf b;
    UM_TRY(im.read_inode(ino, b));
    set_inode_time(b.in, kCtime, now);
    return im.write_inode(ino, b);
  };

  if (flags & kRenameExchange) {
    if (src_dir && olddir != newdir) UM_TRY(check_dir_links_room(im, newdir));
    if (dst_dir && olddir != newdir) UM_TRY(check_dir_links_room(im, olddir));
    UM_TRY(im.set_entry(olddir, oldname, dst, db.in.i_mode));
    UM_TRY(im.set_entry(newdir, newname, src, sb.in.i_mode));
    if (olddir != newdir) {
      if (src_dir) UM_TRY(im.set_entry(src, "..", newdir, LINUX_S_IFDIR));
      if (dst_dir) UM_TRY(im.set_entry(dst, "..", olddir, LINUX_S_IFDIR));
      if (src_dir != dst_dir) {
        // One directory changed parents without a counterpart going the other way.
        UM_TRY(adjust_dir_links(im, src_dir ? newdir : olddir, +1));
        UM_TRY(adjust_dir_links(im, src_dir ? olddir : newdir, -1));
      }
    }
    UM_TRY(bump_ctime(src));
    UM_TRY(bump_ctime(dst));
    UM_TRY(im.touch_dir(olddir));
    if (newdir != olddir) UM_TRY(im.touch_dir(newdir));
    return {};
  }

  if (dst) {
    if (src_dir && !dst_dir) return Error::make(ENOTDIR, std::string(newname) + ": not a directory");
    if (!src_dir && dst_dir) return Error::make(EISDIR, std::string(newname) + ": is a directory");
    if (dst_dir && !UM_TRY(im.dir_is_empty(dst)))
      return Error::make(ENOTEMPTY, std::string(newname) + ": directory not empty");
    if (dst == kRootIno) return Error::make(EBUSY, "cannot replace the root directory");
  } else if (src_dir && olddir != newdir) {
    UM_TRY(check_dir_links_room(im, newdir));
  }

  // The new name appears (or is repointed) before the old one goes: never a moment without.
  if (dst)
    UM_TRY(im.set_entry(newdir, newname, src, sb.in.i_mode));
  else
    UM_TRY(im.add_entry(newdir, newname, src, sb.in.i_mode));
  UM_TRY(im.remove_entry(olddir, oldname, src));
  if (src_dir && olddir != newdir) {
    UM_TRY(im.set_entry(src, "..", newdir, LINUX_S_IFDIR));
    UM_TRY(adjust_dir_links(im, olddir, -1));
    if (!dst_dir) UM_TRY(adjust_dir_links(im, newdir, +1));
  }
  if (dst) {
    UM_TRY(im.drop_link(dst, dst_dir));
    // A replaced directory took its ".." reference to newdir with it (unless src replaced it).
    if (dst_dir && !(src_dir && olddir != newdir)) UM_TRY(adjust_dir_links(im, newdir, -1));
  }
  UM_TRY(bump_ctime(src));
  UM_TRY(im.touch_dir(olddir));
  if (newdir != olddir) UM_TRY(im.touch_dir(newdir));
  return {};
}

}  // namespace um::ext
