#include "umkernel/vfs/extfs.h"

#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"
#include "core/unique_fd.h"
#include "umkernel/kernel/kernel.h"

namespace um::kernel {

int64_t errno_of(const Error& e) { return -(e.code > 0 ? e.code : EIO); }

namespace {

class ExtInode : public Inode {
 public:
  ExtInode(ExtSuperBlock* sb, ext::Ino ino) : Inode(sb, ino), esb_(sb) {}
  ~ExtInode() override {
    if (cache_) fs().close_ref(eino());
  }

  ext::ExtFs& fs() { return esb_->fs(); }
  ext::Ino eino() const { return static_cast<ext::Ino>(ino_); }

  int64_t getattr(Stat& st) override {
    auto a = fs().getattr(eino());
    if (!a) return errno_of(a.error());
    st.dev = sb_->dev_id;
    st.ino = a->ino;
    st.mode = a->mode;
    st.nlink = a->nlink;
    st.uid = a->uid;
    st.gid = a->gid;
    st.rdev = a->rdev;
    st.size = static_cast<int64_t>(a->size);
    st.blocks = static_cast<int64_t>(a->blocks);
    if (cache_) {  // the shared copy is the file's content now
      struct stat hs;
      if (fstat(cache_.get(), &hs) == 0) st.size = hs.st_size;
    }
    st.blksize = 4096;
    st.atime = a->atime;
    st.mtime = a->mtime;
    st.ctime = a->ctime;
    st.btime = a->crtime;
    return 0;
  }

  int64_t setattr(const AttrChange& c) override {
    if (sb_->read_only) return -EROFS;
    if (c.set_size) {
      if (cache_ && ftruncate(cache_.get(), static_cast<off_t>(c.size)) < 0) return -errno;
      auto r = fs().truncate(eino(), c.size);
      if (!r) return errno_of(r.error());
    }
    ext::SetAttr s;
    if (c.set_mode) s.mode = c.mode & 07777;
    if (c.set_uid) s.uid = c.uid;
    if (c.set_gid) s.gid = c.gid;
    if (c.set_atime) s.atime = c.atime;
    if (c.set_mtime) s.mtime = c.mtime;
    timespec now;
    guest_clock_gettime(CLOCK_REALTIME, &now);
    s.ctime = now;
    if (c.set_size && !c.set_mtime) s.mtime = now;
    auto r = fs().setattr(eino(), s);
    return r ? 0 : errno_of(r.error());
  }

  int64_t lookup(std::string_view name, InodePtr& out) override {
    auto r = fs().lookup(eino(), name);
    if (!r) return errno_of(r.error());
    out = esb_->inode(*r);
    return 0;
  }

  int64_t mknod(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev,
                InodePtr& out) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().mknod(eino(), name, mode, uid, gid, rdev);
    if (!r) return errno_of(r.error());
    out = esb_->inode(*r);
    return 0;
  }

  int64_t mkdir(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().mkdir(eino(), name, mode, uid, gid);
    return r ? 0 : errno_of(r.error());
  }

  int64_t symlink(std::string_view name, std::string_view target, uint32_t uid, uint32_t gid) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().symlink(eino(), name, target, uid, gid);
    return r ? 0 : errno_of(r.error());
  }

  int64_t link(std::string_view name, Inode& target) override {
    if (sb_->read_only) return -EROFS;
    if (target.sb() != sb_) return -EXDEV;
    auto r = fs().link(eino(), name, static_cast<ext::Ino>(target.ino()));
    return r ? 0 : errno_of(r.error());
  }

  int64_t unlink(std::string_view name) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().unlink(eino(), name);
    return r ? 0 : errno_of(r.error());
  }

  int64_t rmdir(std::string_view name) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().rmdir(eino(), name);
    return r ? 0 : errno_of(r.error());
  }

  int64_t rename(std::string_view oldname, Inode& newdir, std::string_view newname,
                 unsigned flags) override {
    if (sb_->read_only) return -EROFS;
    if (newdir.sb() != sb_) return -EXDEV;
    auto r = fs().rename(eino(), oldname, static_cast<ext::Ino>(newdir.ino()), newname, flags);
    return r ? 0 : errno_of(r.error());
  }

  int64_t readdir(uint64_t pos, const DirFiller& fill) override {
    auto r = fs().readdir(eino(), pos, [&](const ext::DirEntry& e, uint64_t next) {
      return fill(e.name, e.ino, e.type, next);
    });
    return r ? 0 : errno_of(r.error());
  }

  int64_t readlink(std::string& out) override {
    auto r = fs().readlink(eino());
    if (!r) return errno_of(r.error());
    out = std::move(*r);
    return 0;
  }

  // While a shared copy exists (see shared_mapping_fd), reads and writes go to it, so that
  // they and the guest's shared mappings see the same bytes.
  int64_t read(uint64_t off, void* buf, size_t n) override {
    if (cache_) {
      ssize_t r = pread(cache_.get(), buf, n, static_cast<off_t>(off));
      return r < 0 ? -errno : r;
    }
    auto r = fs().read(eino(), off, buf, n);
    return r ? static_cast<int64_t>(*r) : errno_of(r.error());
  }

  int64_t write(uint64_t off, const void* buf, size_t n) override {
    if (sb_->read_only) return -EROFS;
    if (cache_) {
      ssize_t r = pwrite(cache_.get(), buf, n, static_cast<off_t>(off));
      return r < 0 ? -errno : r;
    }
    auto r = fs().write(eino(), off, buf, n);
    return r ? static_cast<int64_t>(*r) : errno_of(r.error());
  }

  int64_t truncate(uint64_t size) override {
    if (sb_->read_only) return -EROFS;
    if (cache_ && ftruncate(cache_.get(), static_cast<off_t>(size)) < 0) return -errno;
    auto r = fs().truncate(eino(), size);
    return r ? 0 : errno_of(r.error());
  }

  int64_t fsync() override {
    if (int64_t e = write_back(); e < 0) return e;
    auto r = fs().flush();
    return r ? 0 : errno_of(r.error());
  }

  int host_fd() override { return cache_ ? cache_.get() : -1; }

  // A MAP_SHARED mapping of an image file maps a memfd holding the file (Linux maps its page
  // cache); the superblock keeps this inode alive and writes the copy back to the image on
  // fsync, msync(MS_SYNC), sync, unmount, halt and every few seconds.
  int shared_mapping_fd() override {
    if (cache_) return cache_.get();
    auto a = fs().getattr(eino());
    if (!a) return -1;
    UniqueFd fd(memfd_create("um-ext-shared", MFD_CLOEXEC));
    if (!fd || ftruncate(fd.get(), static_cast<off_t>(a->size)) < 0) return -1;
    std::vector<char> buf(1 << 20);
    for (uint64_t off = 0; off < a->size;) {
      auto r = fs().read(eino(), off, buf.data(), std::min<uint64_t>(buf.size(), a->size - off));
      if (!r || *r == 0) break;
      if (pwrite(fd.get(), buf.data(), *r, static_cast<off_t>(off)) != static_cast<ssize_t>(*r)) return -1;
      off += *r;
    }
    cache_ = std::move(fd);
    fs().open_ref(eino());  // an unlinked file stays allocated while its copy may be written back
    written_hash_ = content_hash();
    esb_->keep_shared(std::static_pointer_cast<ExtInode>(shared_from_this()));
    return cache_.get();
  }

  // Copies the shared copy to the image if it changed since the last time.
  int64_t write_back() {
    if (!cache_ || sb_->read_only) return 0;
    uint64_t h = content_hash();
    if (h == written_hash_) return 0;
    struct stat hs;
    if (fstat(cache_.get(), &hs) < 0) return -errno;
    uint64_t size = static_cast<uint64_t>(hs.st_size);
    std::vector<char> buf(1 << 20);
    for (uint64_t off = 0; off < size;) {
      ssize_t n = pread(cache_.get(), buf.data(), std::min<uint64_t>(buf.size(), size - off), static_cast<off_t>(off));
      if (n <= 0) return n < 0 ? -errno : -EIO;
      auto r = fs().write(eino(), off, buf.data(), static_cast<size_t>(n));
      if (!r) return errno_of(r.error());
      off += static_cast<uint64_t>(n);
    }
    auto a = fs().getattr(eino());
    if (a && a->size != size) {
      if (auto r = fs().truncate(eino(), size); !r) return errno_of(r.error());
    }
    written_hash_ = h;
    return 0;
  }

  int64_t getxattr(std::string_view name, std::string& out) override {
    auto r = fs().getxattr(eino(), name);
    if (!r) return errno_of(r.error());
    out = std::move(*r);
    return 0;
  }
  int64_t setxattr(std::string_view name, std::string_view value, int flags) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().setxattr(eino(), name, value, flags);
    return r ? 0 : errno_of(r.error());
  }
  int64_t listxattr(std::string& out) override {
    auto r = fs().listxattr(eino());
    if (!r) return errno_of(r.error());
    out.clear();
    for (auto& n : *r) { out += n; out += '\0'; }
    return 0;
  }
  int64_t removexattr(std::string_view name) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().removexattr(eino(), name);
    return r ? 0 : errno_of(r.error());
  }

  void opened() override { fs().open_ref(eino()); }
  void closed() override { fs().close_ref(eino()); }

 private:
  // FNV-1a over the copy's words: cheap next to rewriting the file, and it tells whether the
  // guest wrote through its mapping since the last write-back.
  uint64_t content_hash() {
    struct stat hs;
    if (fstat(cache_.get(), &hs) < 0 || hs.st_size == 0) return 0x9e3779b97f4a7c15ull;
    size_t size = static_cast<size_t>(hs.st_size);
    void* m = mmap(nullptr, size, PROT_READ, MAP_SHARED, cache_.get(), 0);
    if (m == MAP_FAILED) return 0;
    uint64_t h = 1469598103934665603ull ^ size;
    const auto* w = static_cast<const uint64_t*>(m);
    for (size_t i = 0; i < size / 8; i++) h = (h ^ w[i]) * 1099511628211ull;
    const auto* b = static_cast<const uint8_t*>(m);
    for (size_t i = size & ~size_t{7}; i < size; i++) h = (h ^ b[i]) * 1099511628211ull;
    munmap(m, size);
    return h;
  }

  ExtSuperBlock* esb_;
  UniqueFd cache_;               // the shared copy, once a MAP_SHARED mapping asked for it
  uint64_t written_hash_ = 0;    // content_hash() of what the image holds
};

}  // namespace

ExtSuperBlock::ExtSuperBlock(std::unique_ptr<ext::ExtFs> fs, uint64_t dev) : fs_(std::move(fs)) {
  dev_id = dev;
  read_only = fs_->read_only();
  fs_type_ = fs_->info().type;
  if (fs_type_.empty()) fs_type_ = "ext2";
  // Changes not fsync'd reach the image (its journal) every few seconds, as Linux commits.
  if (!read_only && kernel_exists()) arm_timer();
}

InodePtr ExtSuperBlock::inode(ext::Ino ino) {
  auto& w = cache_[ino];
  if (auto p = w.lock()) return p;
  auto p = std::make_shared<ExtInode>(this, ino);
  w = p;
  if (cache_.size() > 4096) {  // drop dead entries now and then
    for (auto it = cache_.begin(); it != cache_.end();)
      it = it->second.expired() ? cache_.erase(it) : std::next(it);
  }
  return p;
}

int64_t ExtSuperBlock::statfs(struct statfs& out) {
  auto i = fs_->info();
  memset(&out, 0, sizeof out);
  out.f_type = 0xEF53;
  out.f_bsize = i.block_size;
  out.f_frsize = i.block_size;
  out.f_blocks = i.blocks_total;
  out.f_bfree = i.blocks_free;
  out.f_bavail = i.blocks_free > i.blocks_reserved ? i.blocks_free - i.blocks_reserved : 0;
  out.f_files = i.inodes_total;
  out.f_ffree = i.inodes_free;
  out.f_namelen = 255;
  out.f_fsid.__val[0] = static_cast<int>(dev_id);
  out.f_flags = read_only ? ST_RDONLY : 0;
  return 0;
}

ExtSuperBlock::~ExtSuperBlock() {
  write_back_shared();
  if (timer_ && kernel_exists()) kernel().cancel_timer(timer_);
}

void ExtSuperBlock::keep_shared(std::shared_ptr<Inode> inode) {
  shared_.push_back(std::move(inode));
  if (!timer_) arm_timer();
}

void ExtSuperBlock::arm_timer() {
  constexpr int64_t kWriteBackNs = 5'000'000'000;  // as Linux's dirty_writeback, roughly
  timer_ = kernel().add_timer(monotonic_ns() + kWriteBackNs, [this] {
    timer_ = 0;
    write_back_shared();
    if (!read_only)
      if (auto r = fs_->flush(); !r) UM_WARN("ubd: writing changes to the image failed: %s", r.error().message.c_str());
    arm_timer();
  });
}

int64_t ExtSuperBlock::write_back_shared() {
  int64_t err = 0;
  for (auto& i : shared_)
    if (int64_t e = static_cast<ExtInode*>(i.get())->write_back(); e < 0 && !err) err = e;
  if (err) UM_WARN("ubd: writing shared mappings back to the image failed: %s", strerror(static_cast<int>(-err)));
  return err;
}

int64_t ExtSuperBlock::sync() {
  int64_t e = write_back_shared();
  auto r = fs_->flush();
  if (!r) return errno_of(r.error());
  return e;
}

int64_t ExtSuperBlock::quiesce() {
  int64_t e = write_back_shared();
  auto r = fs_->mark_clean();
  if (!r) return errno_of(r.error());
  return e;
}

}  // namespace um::kernel
