#include "umkernel/vfs/extfs.h"

#include <linux/fs.h>
#include <sys/statvfs.h>

#include <cstring>

namespace um::kernel {

int64_t errno_of(const Error& e) { return -(e.code > 0 ? e.code : EIO); }

namespace {

class ExtInode : public Inode {
 public:
  ExtInode(ExtSuperBlock* sb, ext::Ino ino) : Inode(sb, ino), esb_(sb) {}
  ~ExtInode() override = default;

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
    clock_gettime(CLOCK_REALTIME, &now);
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

  int64_t read(uint64_t off, void* buf, size_t n) override {
    auto r = fs().read(eino(), off, buf, n);
    return r ? static_cast<int64_t>(*r) : errno_of(r.error());
  }

  int64_t write(uint64_t off, const void* buf, size_t n) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().write(eino(), off, buf, n);
    return r ? static_cast<int64_t>(*r) : errno_of(r.error());
  }

  int64_t truncate(uint64_t size) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().truncate(eino(), size);
    return r ? 0 : errno_of(r.error());
  }

  int64_t fsync() override {
    auto r = fs().flush();
    return r ? 0 : errno_of(r.error());
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
  ExtSuperBlock* esb_;
};

}  // namespace

ExtSuperBlock::ExtSuperBlock(std::unique_ptr<ext::ExtFs> fs, uint64_t dev) : fs_(std::move(fs)) {
  dev_id = dev;
  read_only = fs_->read_only();
  fs_type_ = fs_->info().type;
  if (fs_type_.empty()) fs_type_ = "ext2";
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

int64_t ExtSuperBlock::sync() {
  auto r = fs_->flush();
  return r ? 0 : errno_of(r.error());
}

}  // namespace um::kernel
