// ExtFs: opening/closing, inode attributes, file data, open references, xattrs.
// Directory-changing operations live in ext_fs_dir.cpp, mkfs in ext_fs_create.cpp.
#include "core/ext/ext_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/ext/ext_fs_impl.h"
#include "core/log.h"
#include "core/ext/image_io.h"
#include "core/cow/cow_file.h"
#include "core/unique_fd.h"

// Exported by libext2fs since 1.43 but declared only in its private header.
extern "C" errcode_t ext2fs_inline_data_expand(ext2_filsys fs, ext2_ino_t ino);

namespace um::ext {

ExtFs::ExtFs(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ExtFs::~ExtFs() = default;

FsCore::~FsCore() {
  (void)close_fs();
  if (lock_fd >= 0) ::close(lock_fd);  // only once everything is flushed
}

Status FsCore::close_fs() {
  if (!fs) return {};
  Status st;
  if (auto s = evict_all_files(); !s) st = s;
  if (!ro && dirtied) {
    // Inodes still open at exit have no one left to close them.
    auto pending = orphans;
    for (Ino ino : pending) {
      open_refs.erase(ino);
      if (auto s = free_inode(ino); !s && st) st = s;
    }
    orphans.clear();
    if (auto s = stop_journal(); !s && st) st = s;
    if (was_valid) {
      fs->super->s_state |= EXT2_VALID_FS;
      ext2fs_mark_super_dirty(fs);
    }
  }
  errcode_t err = ext2fs_close2(fs, 0);
  if (err) {
    ext2fs_free(fs);
    if (st) st = ext_error(err, "closing " + path);
  }
  fs = nullptr;
  return st;
}

namespace {

Status validate_open_fs(ext2_filsys fs, const std::string& path, bool plain, uint64_t file_size) {
  auto* sb = fs->super;
  auto bad = [&](const std::string& why) {
    return Error::make(EINVAL, path + ": corrupt ext2/3/4 image (" + why + ")");
  };
  if (fs->blocksize < 1024 || fs->blocksize > 65536) return bad("bad block size");
  if (sb->s_inodes_count == 0 || sb->s_inodes_per_group == 0 || fs->group_desc_count == 0)
    return bad("no inodes");
  if (uint64_t(sb->s_inodes_per_group) * fs->group_desc_count < sb->s_inodes_count)
    return bad("inode count does not match the groups");
  if (EXT2_INODE_SIZE(sb) < EXT2_GOOD_OLD_INODE_SIZE || EXT2_INODE_SIZE(sb) > fs->blocksize)
    return bad("bad inode size");
  if (EXT2_FIRST_INO(sb) > sb->s_inodes_count) return bad("bad first inode");
  if (errcode_t err = ext2fs_check_desc(fs)) return bad(error_message(err));
  uint64_t need = ext2fs_blocks_count(sb) * fs->blocksize;
  if (plain && file_size < need)
    return Error::make(EINVAL, path + ": image is truncated (file system needs " +
                                   std::to_string(need) + " bytes, file has " +
                                   std::to_string(file_size) + ")");
  ext2_inode_large root{};
  if (errcode_t err = ext2fs_read_inode2(fs, EXT2_ROOT_INO, reinterpret_cast<ext2_inode*>(&root),
                                         sizeof root, 0))
    return bad(std::string("root inode: ") + error_message(err));
  if (!LINUX_S_ISDIR(root.i_mode)) return bad("root inode is not a directory");
  return {};
}

}  // namespace

Result<std::unique_ptr<ExtFs>> ExtFs::open(const std::string& path, Mode mode, HostLock lock) {
  setup_libext2fs();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::from_errno(path);
  if (S_ISDIR(st.st_mode)) return Error::make(EISDIR, path + ": is a directory, not an image");
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    return Error::make(EINVAL, path + ": not a regular file");
  bool rw = mode == Mode::ReadWrite;
  if (::access(path.c_str(), rw ? (R_OK | W_OK) : R_OK) != 0) return Error::from_errno(path);

  ImageIo io = UM_TRY(image_io_for(path));
  if (io.plain && S_ISREG(st.st_mode) && st.st_size < 2048)
    return Error::make(EINVAL, path + ": not an ext2/3/4 image (file too small)");

  // A plain image's lock is taken here, before anything is read; the COW io manager takes a
  // COW file's locks itself when it opens it (unless told not to).
  UniqueFd lock_fd;
  if (lock == HostLock::Uml && io.plain) {
    lock_fd.reset(::open(path.c_str(), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC));
    if (!lock_fd) return Error::from_errno(path);
    UM_TRY(cow::lock_file(lock_fd.get(), rw, path));
  }
  std::optional<cow::IoManagerWithoutLocks> no_cow_locks;
  if (lock == HostLock::None) no_cow_locks.emplace();

  int flags = EXT2_FLAG_64BITS | (rw ? EXT2_FLAG_RW : 0);
  auto journal = std::make_shared<Journal>();
  JournalIoOpen via(io.manager, journal);
  ext2_filsys fs = nullptr;
  errcode_t err = ext2fs_open2(path.c_str(), nullptr, flags, 0, 0, journal_io_manager(), &fs);
  if (err) {
    if (fs) ext2fs_free(fs);
    if (std::string why = image_io_error(io); !why.empty())
      return Error::make(errno_of(err) == EIO ? EINVAL : errno_of(err), path + ": " + why);
    if (err == EXT2_ET_BAD_MAGIC)
      return Error::make(EINVAL, path + ": not an ext2/3/4 image (no ext2 superblock)");
    return ext_error(err, path + ": cannot open image");
  }
  auto impl = std::make_unique<Impl>();
  impl->fs = fs;
  impl->path = path;
  impl->ro = !rw;
  impl->lock_fd = lock_fd.release();
  impl->journal = journal;
  auto fail = [&](Error e) -> Error {
    if (impl->fs) ext2fs_free(impl->fs);
    impl->fs = nullptr;
    return e;
  };
  uint64_t file_size = S_ISREG(st.st_mode) ? st.st_size : ~0ULL;
  if (auto s = validate_open_fs(fs, path, io.plain, file_size); !s) return fail(std::move(s).error());
  if (auto s = journal->attach(fs); !s) return fail(std::move(s).error());
  if (ext2fs_has_feature_journal_needs_recovery(fs->super)) {
    // A crash left the journal in use. As a mount does: replay what it committed (in memory
    // only when read-only), then read the file system again.
    if (!journal->attached()) {
      if (rw)
        return fail(Error::make(EROFS, path + ": the journal needs recovery (" +
                                           journal->unusable_reason() + "); run e2fsck -fy on it first"));
    } else if (journal->needs_replay()) {
      if (auto s = journal->recover(); !s) return fail(std::move(s).error());
      if (rw)
        if (auto s = journal->finish_recovery(); !s) return fail(std::move(s).error());
      ext2fs_free(fs);
      impl->fs = fs = nullptr;
      if ((err = ext2fs_open2(path.c_str(), nullptr, flags, 0, 0, journal_io_manager(), &fs))) {
        if (fs) ext2fs_free(fs);
        return ext_error(err, path + ": cannot open image after replaying its journal");
      }
      impl->fs = fs;
      if (auto s = validate_open_fs(fs, path, io.plain, file_size); !s) return fail(std::move(s).error());
    }
  }
  if (rw) {
    if ((err = ext2fs_read_bitmaps(fs)))
      return fail(ext_error(err, path + ": reading allocation bitmaps"));
    fs->umask = 0;
    if (ext2fs_has_feature_journal_needs_recovery(fs->super) && journal->attached()) {
      // Replayed (or there was nothing to replay): the journal is empty, the image not in use.
      ext2fs_clear_feature_journal_needs_recovery(fs->super);
      ext2fs_mark_super_dirty(fs);
      if ((err = ext2fs_flush(fs))) return fail(ext_error(err, path + ": writing the superblock"));
    }
    impl->was_valid = fs->super->s_state & EXT2_VALID_FS;
  }
  uint32_t seed = 0;
  if (getentropy(&seed, sizeof seed) != 0) seed = static_cast<uint32_t>(time(nullptr));
  impl->generation = seed;
  return std::unique_ptr<ExtFs>(new ExtFs(std::move(impl)));
}

bool ExtFs::read_only() const { return impl_->ro; }
ext2_filsys ExtFs::raw() { return impl_->fs; }

// ---------------------------------------------------------------------------------------
// inode I/O and the file-handle cache

Status FsCore::check_writable() {
  if (ro) return Error::make(EROFS, path + ": image is open read-only");
  if (journal->failed())
    return Error::make(EIO, path + ": writing to the image failed earlier; no more changes until it is opened again");
  changed = true;
  if (!dirtied) {
    // Nothing is written before the first change, so failed edits leave the image as it was.
    dirtied = true;
    if (journal->attached()) {
      // As Linux mounts a journaled file system: needs_recovery marks it in use (a crash
      // leaves a journal e2fsck and the next open replay), and from here on every block
      // reaches the image through a journal transaction.
      ext2fs_set_feature_journal_needs_recovery(fs->super);
      ext2fs_mark_super_dirty(fs);
      Status st;
      if (errcode_t err = ext2fs_flush(fs)) st = ext_error(err, path + ": writing the superblock");
      if (st) st = journal->start_logging();
      if (!st) dirtied = false;  // nothing changes unless the journal runs
      return st;
    }
    // Without a journal it is "not clean" until closed: a crash leaves one e2fsck will check.
    fs->super->s_state &= ~EXT2_VALID_FS;
    ext2fs_mark_super_dirty(fs);
    if (errcode_t err = ext2fs_flush(fs)) return ext_error(err, path + ": writing the superblock");
  }
  return {};
}

Status FsCore::begin_change() {
  UM_TRY(check_writable());
  if (journal->mode() == Journal::Mode::Logging &&
      journal->pending_blocks() >= journal->commit_threshold())
    return commit();
  return {};
}

Status FsCore::commit() {
  UM_TRY(evict_all_files());
  if (errcode_t err = ext2fs_flush(fs)) return ext_error(err, "flushing " + path);
  // ext2fs_flush leaves the in-memory state "clean"; the image stays marked in use.
  if (auto s = journal->commit(); !s) {
    if (journal->failed() && !failure_reported) {
      failure_reported = true;
      UM_WARN("%s: %s; the file system takes no more changes (as Linux's ext4 after a journal "
              "abort), what was committed stays", path.c_str(), s.error().message.c_str());
    }
    return Error::make(EIO, path + ": " + s.error().message);
  }
  changed = false;
  return {};
}

Status FsCore::stop_journal() {
  if (journal->mode() != Journal::Mode::Logging) return {};
  if (journal->failed()) return Error::make(EIO, path + ": the journal stopped after a failed write");
  if (errcode_t err = ext2fs_flush(fs)) return ext_error(err, "flushing " + path);
  if (auto s = journal->stop_logging(); !s)
    return Error::make(s.error().code, path + ": " + s.error().message);
  // The journal is empty: the image is no longer in use (written straight to it).
  ext2fs_clear_feature_journal_needs_recovery(fs->super);
  ext2fs_mark_super_dirty(fs);
  if (errcode_t err = ext2fs_flush(fs)) return ext_error(err, "flushing " + path);
  return {};
}

Status FsCore::check_ino(Ino ino) {
  if (ino < 1 || ino > fs->super->s_inodes_count)
    return Error::make(ESTALE, "inode " + std::to_string(ino) + " out of range");
  return {};
}

Status FsCore::read_inode(Ino ino, InodeBuf& b) {
  UM_TRY(check_ino(ino));
  b.in = {};
  if (errcode_t err = ext2fs_read_inode2(fs, ino, b.base(), sizeof b.in, 0))
    return ext_error(err, "reading inode " + std::to_string(ino));
  auto it = files.find(ino);
  if (it != files.end()) {
    // The cached handle holds the newest size / block map.
    std::memcpy(&b.in, ext2fs_file_get_inode(it->second.file), sizeof(ext2_inode));
    if (it->second.times_dirty) {
      set_inode_time(b.in, kMtime, it->second.mtime);
      set_inode_time(b.in, kCtime, it->second.mtime);
    }
  }
  return {};
}

Status FsCore::write_inode(Ino ino, InodeBuf& b) {
  UM_TRY(check_writable());
  UM_TRY(evict_file(ino));
  if (errcode_t err = ext2fs_write_inode2(fs, ino, b.base(), sizeof b.in, 0))
    return ext_error(err, "writing inode " + std::to_string(ino));
  return {};
}

Status FsCore::evict_file(Ino ino) {
  auto it = files.find(ino);
  if (it == files.end()) return {};
  CachedFile cf = it->second;
  files.erase(it);
  errcode_t err = 0;
  if (cf.writable) err = ext2fs_file_flush(cf.file);
  if (!err && cf.times_dirty) {
    InodeBuf b;
    err = ext2fs_read_inode2(fs, ino, b.base(), sizeof b.in, 0);
    if (!err) {
      std::memcpy(&b.in, ext2fs_file_get_inode(cf.file), sizeof(ext2_inode));
      set_inode_time(b.in, kMtime, cf.mtime);
      set_inode_time(b.in, kCtime, cf.mtime);
      err = ext2fs_write_inode2(fs, ino, b.base(), sizeof b.in, 0);
    }
  }
  errcode_t err2 = ext2fs_file_close(cf.file);
  if (!err) err = err2;
  if (err) return ext_error(err, "writing inode " + std::to_string(ino));
  return {};
}

Status FsCore::evict_all_files() {
  Status st;
  while (!files.empty()) {
    if (auto s = evict_file(files.begin()->first); !s && st) st = s;
  }
  return st;
}

Result<CachedFile*> FsCore::file_for(Ino ino, bool write) {
  auto it = files.find(ino);
  if (it != files.end()) {
    if (!write || it->second.writable) {
      it->second.last_use = ++use_clock;
      return &it->second;
    }
    UM_TRY(evict_file(ino));
  }
  UM_TRY(check_ino(ino));
  if (write) UM_TRY(check_writable());
  if (files.size() >= kMaxCachedFiles) {
    auto oldest = std::min_element(files.begin(), files.end(), [](auto& a, auto& b) {
      return a.second.last_use < b.second.last_use;
    });
    UM_TRY(evict_file(oldest->first));
  }
  ext2_inode inode;
  if (errcode_t err = ext2fs_read_inode(fs, ino, &inode))
    return ext_error(err, "reading inode " + std::to_string(ino));
  if (LINUX_S_ISDIR(inode.i_mode)) return Error::make(EISDIR, "is a directory");
  if (!LINUX_S_ISREG(inode.i_mode) && !LINUX_S_ISLNK(inode.i_mode))
    return Error::make(EINVAL, "not a regular file");
  CachedFile cf;
  cf.writable = write;
  if (errcode_t err = ext2fs_file_open2(fs, ino, &inode, write ? EXT2_FILE_WRITE : 0, &cf.file))
    return ext_error(err, "opening inode " + std::to_string(ino));
  cf.last_use = ++use_clock;
  return &(files[ino] = cf);
}

// ---------------------------------------------------------------------------------------
// attributes

namespace {
uint64_t rdev_of(const ext2_inode_large& in) {
  if (in.i_block[0]) {
    uint32_t d = in.i_block[0];
    return makedev((d >> 8) & 0xff, d & 0xff);
  }
  uint32_t d = in.i_block[1];
  return makedev((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00));
}
}  // namespace

Result<Attr> ExtFs::getattr(Ino ino) {
  InodeBuf b;
  UM_TRY(impl_->read_inode(ino, b));
  auto& in = b.in;
  bool unused = in.i_links_count == 0 && !impl_->orphans.count(ino);
  if (!unused && impl_->fs->inode_map && ino >= EXT2_FIRST_INO(impl_->fs->super))
    unused = !ext2fs_test_inode_bitmap2(impl_->fs->inode_map, ino);
  if (unused || in.i_mode == 0)
    return Error::make(ESTALE, "inode " + std::to_string(ino) + " is not in use");
  Attr a;
  a.ino = ino;
  a.mode = in.i_mode;
  a.uid = inode_uid_of(in);
  a.gid = inode_gid_of(in);
  a.nlink = in.i_links_count;
  a.size = EXT2_I_SIZE(&in);
  a.blocks = ext2fs_get_stat_i_blocks(impl_->fs, b.base());
  if (LINUX_S_ISCHR(in.i_mode) || LINUX_S_ISBLK(in.i_mode)) a.rdev = rdev_of(in);
  a.atime = inode_time(in, kAtime);
  a.mtime = inode_time(in, kMtime);
  a.ctime = inode_time(in, kCtime);
  a.crtime = inode_time(in, kCrtime);
  a.generation = in.i_generation;
  return a;
}

Status ExtFs::setattr(Ino ino, const SetAttr& c) {
  UM_TRY(impl_->begin_change());
  UM_TRY(impl_->evict_file(ino));
  InodeBuf b;
  UM_TRY(impl_->read_inode(ino, b));
  auto& in = b.in;
  if (c.mode) in.i_mode = (in.i_mode & LINUX_S_IFMT) | (*c.mode & 07777);
  if (c.uid) set_inode_uid(in, *c.uid);
  if (c.gid) set_inode_gid(in, *c.gid);
  if (c.atime) set_inode_time(in, kAtime, *c.atime);
  if (c.mtime) set_inode_time(in, kMtime, *c.mtime);
  set_inode_time(in, kCtime, c.ctime ? *c.ctime : now_ts());
  return impl_->write_inode(ino, b);
}

// ---------------------------------------------------------------------------------------
// file data

Result<size_t> ExtFs::read(Ino ino, uint64_t offset, void* buf, size_t len) {
  CachedFile* cf = UM_TRY(impl_->file_for(ino, false));
  uint64_t size = EXT2_I_SIZE(ext2fs_file_get_inode(cf->file));
  if (offset >= size || len == 0) return size_t(0);
  len = std::min<uint64_t>(len, size - offset);
  if (errcode_t err = ext2fs_file_llseek(cf->file, offset, EXT2_SEEK_SET, nullptr))
    return ext_error(err, "seek");
  size_t done = 0;
  auto* p = static_cast<char*>(buf);
  while (done < len) {
    unsigned want = static_cast<unsigned>(std::min<size_t>(len - done, 1u << 30));
    unsigned got = 0;
    errcode_t err = ext2fs_file_read(cf->file, p + done, want, &got);
    if (err) {
      if (done + got > 0) return done + got;
      return ext_error(err, "reading inode " + std::to_string(ino));
    }
    done += got;
    if (got == 0) break;
  }
  return done;
}

Result<size_t> ExtFs::write(Ino ino, uint64_t offset, const void* buf, size_t len) {
  // Large writes in pieces: between them the journal may commit what it holds (a piece is
  // at most half a transaction, so that one always fits the journal).
  size_t kPiece = 1 << 20;
  if (impl_->journal->attached())
    kPiece = std::max<size_t>(impl_->fs->blocksize,
                              std::min(kPiece, impl_->journal->commit_threshold() * impl_->fs->blocksize / 2));
  if (len > kPiece) {
    size_t done = 0;
    auto* p = static_cast<const char*>(buf);
    while (done < len) {
      size_t n = std::min(kPiece, len - done);
      auto r = write(ino, offset + done, p + done, n);
      if (!r) {
        if (done) return done;
        return r;
      }
      done += *r;
      if (*r < n) break;
    }
    return done;
  }
  UM_TRY(impl_->begin_change());
  CachedFile* cf = UM_TRY(impl_->file_for(ino, true));
  if (len == 0) return size_t(0);
  if ((ext2fs_file_get_inode(cf->file)->i_flags & EXT4_INLINE_DATA_FL) &&
      offset + len > EXT4_MIN_INLINE_DATA_SIZE) {
    // libext2fs (1.47) overflows its block buffer writing past the inline area: move the data
    // out to a block first, then write normally.
    UM_TRY(impl_->evict_file(ino));
    if (errcode_t err = ext2fs_inline_data_expand(impl_->fs, ino))
      return ext_error(err, "moving inline data of inode " + std::to_string(ino));
    cf = UM_TRY(impl_->file_for(ino, true));
  }
  uint64_t max_size = uint64_t(1) << 44;  // far below ext4's 16 TiB limit for 4K blocks
  if (offset >= max_size || len > max_size - offset)
    return Error::make(EFBIG, "file would be too large");
  if (errcode_t err = ext2fs_file_llseek(cf->file, offset, EXT2_SEEK_SET, nullptr))
    return ext_error(err, "seek");
  size_t done = 0;
  auto* p = static_cast<const char*>(buf);
  errcode_t err = 0;
  while (done < len) {
    unsigned want = static_cast<unsigned>(std::min<size_t>(len - done, 1u << 30));
    unsigned put = 0;
    err = ext2fs_file_write(cf->file, p + done, want, &put);
    done += put;
    if (err || put == 0) break;
  }
  // A failed block allocation can leave a dirty buffer that cannot be flushed; make sure
  // the size covers only what the caller was told was written.
  if (!err) err = ext2fs_file_flush(cf->file);
  cf->times_dirty = true;
  cf->mtime = now_ts();
  if (err) {
    Error e = ext_error(err, "writing inode " + std::to_string(ino));
    (void)impl_->evict_file(ino);
    // As write(2): a short count when some bytes made it (the size says how many), else the
    // error.
    InodeBuf b;
    if (done > 0 && impl_->read_inode(ino, b).ok()) {
      uint64_t size = EXT2_I_SIZE(&b.in);
      size_t stored = size > offset ? size_t(std::min<uint64_t>(done, size - offset)) : 0;
      if (stored > 0) return stored;
    }
    return e;
  }
  return done;
}

Status ExtFs::truncate(Ino ino, uint64_t size) {
  UM_TRY(impl_->begin_change());
  if (size >= (uint64_t(1) << 44)) return Error::make(EFBIG, "file would be too large");
  {
    // Inline-data files get a real block first: libext2fs cannot truncate them safely.
    CachedFile* cf = UM_TRY(impl_->file_for(ino, true));
    if (ext2fs_file_get_inode(cf->file)->i_flags & EXT4_INLINE_DATA_FL) {
      UM_TRY(impl_->evict_file(ino));
      if (errcode_t err = ext2fs_inline_data_expand(impl_->fs, ino))
        return ext_error(err, "moving inline data of inode " + std::to_string(ino));
    }
  }
  if (size == 0) {
    // The common O_TRUNC case, done without ext2fs_punch (see release_blocks).
    UM_TRY(impl_->evict_file(ino));
    InodeBuf b;
    UM_TRY(impl_->read_inode(ino, b));
    if (!LINUX_S_ISREG(b.in.i_mode))
      return Error::make(LINUX_S_ISDIR(b.in.i_mode) ? EISDIR : EINVAL, "not a regular file");
    if (!(b.in.i_flags & EXT4_INLINE_DATA_FL)) {
      UM_TRY(release_blocks(*impl_, ino, b));
      std::memset(b.in.i_block, 0, sizeof b.in.i_block);
      b.in.i_size = b.in.i_size_high = 0;
      if (b.in.i_flags & EXT4_EXTENTS_FL) UM_TRY(init_extents(*impl_, ino, b));
      timespec now = now_ts();
      set_inode_time(b.in, kMtime, now);
      set_inode_time(b.in, kCtime, now);
      return impl_->write_inode(ino, b);
    }
  }
  CachedFile* cf = UM_TRY(impl_->file_for(ino, true));
  ext2_file_t f = cf->file;
  uint64_t old = EXT2_I_SIZE(ext2fs_file_get_inode(f));
  errcode_t err = ext2fs_file_set_size2(f, size);
  uint32_t bs = impl_->fs->blocksize;
  if (!err && size < old && size % bs) {
    // Zero the rest of the now-last block so a later extension reads zeros there.
    blk64_t pblk = 0;
    err = ext2fs_bmap2(impl_->fs, ino, ext2fs_file_get_inode(f), nullptr, 0, size / bs, nullptr,
                       &pblk);
    if (!err && pblk) {
      std::vector<char> zeros(bs - size % bs);
      unsigned put = 0;
      err = ext2fs_file_llseek(f, size, EXT2_SEEK_SET, nullptr);
      if (!err) err = ext2fs_file_write(f, zeros.data(), zeros.size(), &put);
      if (!err) err = ext2fs_file_flush(f);
      if (!err) err = ext2fs_file_set_size2(f, size);
    }
  }
  cf->times_dirty = true;
  cf->mtime = now_ts();
  if (err) {
    (void)impl_->evict_file(ino);
    return ext_error(err, "truncating inode " + std::to_string(ino));
  }
  return impl_->evict_file(ino);
}

// ---------------------------------------------------------------------------------------
// open references

void ExtFs::open_ref(Ino ino) { ++impl_->open_refs[ino]; }

void ExtFs::close_ref(Ino ino) {
  auto it = impl_->open_refs.find(ino);
  if (it == impl_->open_refs.end()) return;
  if (--it->second > 0) return;
  impl_->open_refs.erase(it);
  if (impl_->orphans.erase(ino)) (void)impl_->free_inode(ino);
}

// ---------------------------------------------------------------------------------------
// extended attributes

namespace {
struct XattrHandle {
  ext2_xattr_handle* h = nullptr;
  ~XattrHandle() {
    if (h) ext2fs_xattrs_close(&h);
  }
};

Status open_xattrs(FsCore& im, Ino ino, XattrHandle& xh) {
  UM_TRY(im.check_ino(ino));
  UM_TRY(im.evict_file(ino));
  if (errcode_t err = ext2fs_xattrs_open(im.fs, ino, &xh.h))
    return ext_error(err, "extended attributes of inode " + std::to_string(ino));
  if (errcode_t err = ext2fs_xattrs_read(xh.h))
    return ext_error(err, "reading extended attributes of inode " + std::to_string(ino));
  return {};
}

Status check_xattr_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return Error::make(ERANGE, "bad xattr name");
  if (name == "system.data") return Error::make(EPERM, "system.data is reserved");
  return {};
}
}  // namespace

Result<std::string> ExtFs::getxattr(Ino ino, std::string_view name) {
  UM_TRY(check_xattr_name(name));
  XattrHandle xh;
  UM_TRY(open_xattrs(*impl_, ino, xh));
  void* value = nullptr;
  size_t len = 0;
  std::string key(name);
  if (errcode_t err = ext2fs_xattr_get(xh.h, key.c_str(), &value, &len)) {
    if (err == EXT2_ET_EA_KEY_NOT_FOUND) return Error::make(ENODATA, key + ": no such attribute");
    return ext_error(err, "reading attribute " + key);
  }
  std::string out(static_cast<char*>(value), len);
  ext2fs_free_mem(&value);
  return out;
}

Status ExtFs::setxattr(Ino ino, std::string_view name, std::string_view value, int flags) {
  UM_TRY(impl_->begin_change());
  UM_TRY(check_xattr_name(name));
  if (value.size() > 65536) return Error::make(E2BIG, "attribute value too large");
  XattrHandle xh;
  UM_TRY(open_xattrs(*impl_, ino, xh));
  std::string key(name);
  if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
    void* v = nullptr;
    size_t len = 0;
    errcode_t err = ext2fs_xattr_get(xh.h, key.c_str(), &v, &len);
    if (!err) ext2fs_free_mem(&v);
    if (!err && (flags & XATTR_CREATE)) return Error::make(EEXIST, key + ": attribute exists");
    if (err == EXT2_ET_EA_KEY_NOT_FOUND && (flags & XATTR_REPLACE))
      return Error::make(ENODATA, key + ": no such attribute");
  }
  if (errcode_t err = ext2fs_xattr_set(xh.h, key.c_str(), value.data(), value.size()))
    return ext_error(err, "setting attribute " + key);
  if (errcode_t err = ext2fs_xattrs_close(&xh.h)) return ext_error(err, "writing attributes");
  InodeBuf b;
  UM_TRY(impl_->read_inode(ino, b));
  set_inode_time(b.in, kCtime, now_ts());
  return impl_->write_inode(ino, b);
}

Result<std::vector<std::string>> ExtFs::listxattr(Ino ino) {
  XattrHandle xh;
  UM_TRY(open_xattrs(*impl_, ino, xh));
  std::vector<std::string> names;
  auto cb = [](char* name, char*, size_t, void* data) -> int {
    if (std::strcmp(name, "system.data") != 0)
      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  if (errcode_t err = ext2fs_xattrs_iterate(xh.h, cb, &names))
    return ext_error(err, "listing attributes");
  return names;
}

Status ExtFs::removexattr(Ino ino, std::string_view name) {
  UM_TRY(impl_->begin_change());
  UM_TRY(check_xattr_name(name));
  XattrHandle xh;
  UM_TRY(open_xattrs(*impl_, ino, xh));
  std::string key(name);
  void* v = nullptr;
  size_t len = 0;
  errcode_t err = ext2fs_xattr_get(xh.h, key.c_str(), &v, &len);
  if (err == EXT2_ET_EA_KEY_NOT_FOUND) return Error::make(ENODATA, key + ": no such attribute");
  if (!err) ext2fs_free_mem(&v);
  if ((err = ext2fs_xattr_remove(xh.h, key.c_str()))) return ext_error(err, "removing " + key);
  if ((err = ext2fs_xattrs_close(&xh.h))) return ext_error(err, "writing attributes");
  InodeBuf b;
  UM_TRY(impl_->read_inode(ino, b));
  set_inode_time(b.in, kCtime, now_ts());
  return impl_->write_inode(ino, b);
}

// ---------------------------------------------------------------------------------------

Status ExtFs::flush() {
  if (impl_->ro || !impl_->dirtied || !impl_->changed) return {};
  return impl_->commit();
}

Status ExtFs::mark_clean() {
  Impl& i = *impl_;
  if (i.ro || !i.dirtied) return {};
  // Unlinked inodes still open are freed only when closed: until then the image is in use.
  if (!i.orphans.empty()) return i.commit();
  UM_TRY(i.evict_all_files());
  if (i.journal->mode() == Journal::Mode::Logging) {
    UM_TRY(i.stop_journal());
    i.dirtied = false;
    return {};
  }
  if (i.was_valid) {
    i.fs->super->s_state |= EXT2_VALID_FS;
    i.dirtied = false;
  }
  ext2fs_mark_super_dirty(i.fs);
  if (errcode_t err = ext2fs_flush(i.fs)) return ext_error(err, "flushing " + i.path);
  return {};
}

namespace {
struct FeatureName {
  int kind;  // 0 compat, 1 incompat, 2 ro_compat
  uint32_t mask;
  const char* name;
};
constexpr FeatureName kFeatures[] = {
    {0, EXT3_FEATURE_COMPAT_HAS_JOURNAL, "has_journal"},
    {0, EXT2_FEATURE_COMPAT_EXT_ATTR, "ext_attr"},
    {0, EXT2_FEATURE_COMPAT_RESIZE_INODE, "resize_inode"},
    {0, EXT2_FEATURE_COMPAT_DIR_INDEX, "dir_index"},
    {0, EXT4_FEATURE_COMPAT_SPARSE_SUPER2, "sparse_super2"},
    {0, EXT4_FEATURE_COMPAT_FAST_COMMIT, "fast_commit"},
    {0, EXT4_FEATURE_COMPAT_STABLE_INODES, "stable_inodes"},
    {0, EXT4_FEATURE_COMPAT_ORPHAN_FILE, "orphan_file"},
    {1, EXT2_FEATURE_INCOMPAT_FILETYPE, "filetype"},
    {1, EXT3_FEATURE_INCOMPAT_RECOVER, "needs_recovery"},
    {1, EXT2_FEATURE_INCOMPAT_META_BG, "meta_bg"},
    {1, EXT3_FEATURE_INCOMPAT_EXTENTS, "extent"},
    {1, EXT4_FEATURE_INCOMPAT_64BIT, "64bit"},
    {1, EXT4_FEATURE_INCOMPAT_MMP, "mmp"},
    {1, EXT4_FEATURE_INCOMPAT_FLEX_BG, "flex_bg"},
    {1, EXT4_FEATURE_INCOMPAT_EA_INODE, "ea_inode"},
    {1, EXT4_FEATURE_INCOMPAT_CSUM_SEED, "metadata_csum_seed"},
    {1, EXT4_FEATURE_INCOMPAT_LARGEDIR, "large_dir"},
    {1, EXT4_FEATURE_INCOMPAT_INLINE_DATA, "inline_data"},
    {1, EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt"},
    {1, EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold"},
    {2, EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER, "sparse_super"},
    {2, EXT2_FEATURE_RO_COMPAT_LARGE_FILE, "large_file"},
    {2, EXT4_FEATURE_RO_COMPAT_HUGE_FILE, "huge_file"},
    {2, EXT4_FEATURE_RO_COMPAT_GDT_CSUM, "uninit_bg"},
    {2, EXT4_FEATURE_RO_COMPAT_DIR_NLINK, "dir_nlink"},
    {2, EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE, "extra_isize"},
    {2, EXT4_FEATURE_RO_COMPAT_QUOTA, "quota"},
    {2, EXT4_FEATURE_RO_COMPAT_BIGALLOC, "bigalloc"},
    {2, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM, "metadata_csum"},
    {2, EXT4_FEATURE_RO_COMPAT_PROJECT, "project"},
    {2, EXT4_FEATURE_RO_COMPAT_VERITY, "verity"},
};
}  // namespace

FsInfo ExtFs::info() {
  auto* fs = impl_->fs;
  auto* sb = fs->super;
  FsInfo i;
  constexpr uint32_t ext3_incompat =
      EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_RECOVER | EXT2_FEATURE_INCOMPAT_META_BG;
  constexpr uint32_t ext3_ro = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE;
  if ((sb->s_feature_incompat & ~ext3_incompat) || (sb->s_feature_ro_compat & ~ext3_ro))
    i.type = "ext4";
  else if (ext2fs_has_feature_journal(sb))
    i.type = "ext3";
  else
    i.type = "ext2";
  i.block_size = fs->blocksize;
  i.blocks_total = ext2fs_blocks_count(sb);
  i.blocks_free = ext2fs_free_blocks_count(sb);
  i.blocks_reserved = ext2fs_r_blocks_count(sb);
  i.inodes_total = sb->s_inodes_count;
  i.inodes_free = sb->s_free_inodes_count;
  if (!impl_->ro && fs->block_map) {
    // The superblock counters are refreshed only on flush; count from the group descriptors.
    uint64_t fb = 0, fi = 0;
    for (dgrp_t g = 0; g < fs->group_desc_count; ++g) {
      fb += ext2fs_bg_free_blocks_count(fs, g);
      fi += ext2fs_bg_free_inodes_count(fs, g);
    }
    i.blocks_free = EXT2FS_C2B(fs, fb);
    i.inodes_free = fi;
  }
  const char* vn = reinterpret_cast<const char*>(sb->s_volume_name);
  i.label.assign(vn, strnlen(vn, sizeof sb->s_volume_name));
  char uuid[40];
  const uint8_t* u = sb->s_uuid;
  snprintf(uuid, sizeof uuid,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
           u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  i.uuid = uuid;
  for (auto& f : kFeatures) {
    uint32_t v = f.kind == 0 ? sb->s_feature_compat
                 : f.kind == 1 ? sb->s_feature_incompat
                               : sb->s_feature_ro_compat;
    if (v & f.mask) i.features.emplace_back(f.name);
  }
  struct stat st;
  if (::stat(impl_->path.c_str(), &st) == 0) i.image_bytes = uint64_t(st.st_size);
  return i;
}

}  // namespace um::ext
