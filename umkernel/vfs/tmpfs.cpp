#include "umkernel/vfs/tmpfs.h"

#include <dirent.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <unordered_map>
#include <vector>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/memory_accounting.h"

namespace um::kernel {

namespace {

class TmpSuperBlock : public SuperBlock {
 public:
  TmpSuperBlock(uint64_t dev, uint64_t limit) : limit_(limit) { dev_id = dev; }
  std::string type() const override { return type_; }
  std::string type_ = "tmpfs";
  int64_t statfs(struct statfs& out) override {
    memset(&out, 0, sizeof out);
    out.f_type = 0x01021994;
    out.f_bsize = out.f_frsize = 4096;
    out.f_blocks = limit_ / 4096;
    out.f_bfree = out.f_bavail = (limit_ - std::min(used, limit_)) / 4096;
    out.f_files = 1 << 20;
    out.f_ffree = out.f_files - std::min<uint64_t>(inodes, out.f_files);
    out.f_namelen = 255;
    return 0;
  }
  uint64_t next_ino = 2;
  uint64_t used = 0, inodes = 0;
  uint64_t limit_;
  std::unordered_map<uint64_t, Inode*> by_ino;  // live inodes (open_by_handle_at); numbers are never reused
};

timespec now() {
  timespec ts;
  guest_clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

class TmpInode : public Inode {
 public:
  TmpInode(TmpSuperBlock* sb, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev = 0)
      : Inode(sb, sb->next_ino++), tsb_(sb) {
    st_.dev = sb->dev_id;
    st_.ino = ino_;
    st_.mode = mode;
    st_.uid = uid;
    st_.gid = gid;
    st_.rdev = rdev;
    st_.nlink = S_ISDIR(mode) ? 2 : 1;
    st_.atime = st_.mtime = st_.ctime = st_.btime = now();
    sb->inodes++;
    sb->by_ino[ino_] = this;
  }
  ~TmpInode() override {
    tsb_->by_ino.erase(ino_);
    tsb_->inodes--;
    tsb_->used -= std::min<uint64_t>(tsb_->used, size_);
    if (S_ISREG(st_.mode)) uncharge_file_data(size_);
    if (memfd_ >= 0) close(memfd_);
  }

  int64_t getattr(Stat& st) override {
    st = st_;
    st.size = S_ISDIR(st_.mode) ? 4096 : S_ISLNK(st_.mode) ? static_cast<int64_t>(target_.size())
                                                         : static_cast<int64_t>(size_);
    st.blocks = (static_cast<int64_t>(size_) + 511) / 512;
    return 0;
  }
  int64_t setattr(const AttrChange& c) override {
    if (c.set_size) {
      if (int64_t r = truncate(c.size); r < 0) return r;
    }
    if (c.set_mode) st_.mode = (st_.mode & S_IFMT) | (c.mode & 07777);
    if (c.set_uid) st_.uid = c.uid;
    if (c.set_gid) st_.gid = c.gid;
    if (c.set_atime) st_.atime = c.atime;
    if (c.set_mtime) st_.mtime = c.mtime;
    st_.ctime = now();
    return 0;
  }

  // --- directories ---
  int64_t lookup(std::string_view name, InodePtr& out) override {
    if (!S_ISDIR(st_.mode)) return -ENOTDIR;
    if (name == ".") { out = shared_from_this(); return 0; }
    if (name == "..") { out = parent_.lock(); if (!out) out = shared_from_this(); return 0; }
    auto it = children_.find(name);
    if (it == children_.end()) return -ENOENT;
    out = it->second;
    return 0;
  }
  int64_t add_child(std::string_view name, std::shared_ptr<TmpInode> child) {
    if (!S_ISDIR(st_.mode)) return -ENOTDIR;
    if (st_.nlink == 0) return -ENOENT;  // a removed directory takes no new entries
    if (children_.count(name)) return -EEXIST;
    children_.emplace(std::string(name), child);
    st_.mtime = st_.ctime = now();
    return 0;
  }
  int64_t mknod(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev,
                InodePtr& out) override {
    auto child = std::make_shared<TmpInode>(tsb_, mode, uid, gid, rdev);
    if (int64_t r = add_child(name, child); r < 0) return r;
    out = child;
    return 0;
  }
  int64_t mkdir(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid) override {
    auto child = std::make_shared<TmpInode>(tsb_, S_IFDIR | (mode & 07777), uid, gid);
    child->parent_ = std::static_pointer_cast<TmpInode>(shared_from_this());
    if (int64_t r = add_child(name, child); r < 0) return r;
    st_.nlink++;
    return 0;
  }
  int64_t symlink(std::string_view name, std::string_view target, uint32_t uid, uint32_t gid) override {
    auto child = std::make_shared<TmpInode>(tsb_, S_IFLNK | 0777, uid, gid);
    child->target_ = target;
    return add_child(name, child);
  }
  int64_t link(std::string_view name, Inode& target) override {
    if (target.sb() != sb_) return -EXDEV;
    auto t = std::static_pointer_cast<TmpInode>(target.shared_from_this());
    if (int64_t r = add_child(name, t); r < 0) return r;
    t->st_.nlink++;
    t->st_.ctime = now();
    return 0;
  }
  int64_t unlink(std::string_view name) override {
    auto it = children_.find(name);
    if (it == children_.end()) return -ENOENT;
    if (S_ISDIR(it->second->st_.mode)) return -EISDIR;
    it->second->st_.nlink--;
    it->second->st_.ctime = now();
    children_.erase(it);
    st_.mtime = st_.ctime = now();
    return 0;
  }
  int64_t rmdir(std::string_view name) override {
    auto it = children_.find(name);
    if (it == children_.end()) return -ENOENT;
    auto& d = it->second;
    if (!S_ISDIR(d->st_.mode)) return -ENOTDIR;
    if (!d->children_.empty()) return -ENOTEMPTY;
    d->st_.nlink = 0;
    children_.erase(it);
    st_.nlink--;
    st_.mtime = st_.ctime = now();
    return 0;
  }
  int64_t rename(std::string_view oldname, Inode& newdir_, std::string_view newname, unsigned flags) override {
    if (newdir_.sb() != sb_) return -EXDEV;
    auto& nd = static_cast<TmpInode&>(newdir_);
    auto it = children_.find(oldname);
    if (it == children_.end()) return -ENOENT;
    auto src = it->second;
    auto dst_it = nd.children_.find(newname);
    if (flags & RENAME_EXCHANGE) {
      if (dst_it == nd.children_.end()) return -ENOENT;
      std::swap(it->second, dst_it->second);
      return 0;
    }
    if (dst_it != nd.children_.end()) {
      if (flags & RENAME_NOREPLACE) return -EEXIST;
      auto& dst = dst_it->second;
      bool sd = S_ISDIR(src->st_.mode), dd = S_ISDIR(dst->st_.mode);
      if (sd && !dd) return -ENOTDIR;
      if (!sd && dd) return -EISDIR;
      if (dd && !dst->children_.empty()) return -ENOTEMPTY;
      if (dd) { dst->st_.nlink = 0; nd.st_.nlink--; } else { dst->st_.nlink--; }
      nd.children_.erase(dst_it);
    }
    children_.erase(it);
    nd.children_.emplace(std::string(newname), src);
    if (S_ISDIR(src->st_.mode) && &nd != this) {
      st_.nlink--;
      nd.st_.nlink++;
      src->parent_ = std::static_pointer_cast<TmpInode>(nd.shared_from_this());
    }
    src->st_.ctime = now();
    st_.mtime = st_.ctime = nd.st_.mtime = nd.st_.ctime = now();
    return 0;
  }
  int64_t readdir(uint64_t pos, const DirFiller& fill) override {
    if (!S_ISDIR(st_.mode)) return -ENOTDIR;
    uint64_t i = pos;
    if (i == 0) { if (!fill(".", ino_, DT_DIR, 1)) return 0; i = 1; }
    if (i == 1) {
      auto p = parent_.lock();
      if (!fill("..", p ? p->ino() : ino_, DT_DIR, 2)) return 0;
      i = 2;
    }
    // Cookies are positions in name order; stable while the directory is unchanged.
    auto it = children_.begin();
    std::advance(it, std::min<uint64_t>(i - 2, children_.size()));
    for (; it != children_.end(); ++it, ++i)
      if (!fill(it->first, it->second->ino(), dtype_of(it->second->st_.mode), i + 1)) return 0;
    return 0;
  }
  int64_t readlink(std::string& out) override {
    if (!S_ISLNK(st_.mode)) return -EINVAL;
    out = target_;
    return 0;
  }

  // --- data: in a host memfd, so that shared mappings of the file are real ---
  int ensure_memfd() {
    if (memfd_ < 0) memfd_ = memfd_create("umkernel-tmpfs", MFD_CLOEXEC);
    return memfd_;
  }
  int host_fd() override { return S_ISREG(st_.mode) ? ensure_memfd() : -1; }
  int64_t read(uint64_t off, void* buf, size_t n) override {
    if (S_ISDIR(st_.mode)) return -EISDIR;
    if (off >= size_ || memfd_ < 0) return 0;
    size_t c = std::min<uint64_t>(n, size_ - off);
    ssize_t r = pread(memfd_, buf, c, static_cast<off_t>(off));
    return r < 0 ? -errno : r;
  }
  int64_t write(uint64_t off, const void* buf, size_t n) override {
    if (off + n > (1ull << 40)) return -EFBIG;
    if (off + n > size_) {
      if (int64_t r = grow(off + n); r < 0) return r;
    }
    if (ensure_memfd() < 0) return -ENOMEM;
    ssize_t r = pwrite(memfd_, buf, n, static_cast<off_t>(off));
    if (r < 0) return -errno;
    st_.mtime = st_.ctime = now();
    return r;
  }
  int64_t truncate(uint64_t size) override {
    if (S_ISDIR(st_.mode)) return -EISDIR;
    if (size > size_) return grow(size);
    tsb_->used -= std::min<uint64_t>(tsb_->used, size_ - size);
    uncharge_file_data(size_ - size);
    size_ = size;
    if (memfd_ >= 0 && ftruncate(memfd_, static_cast<off_t>(size)) != 0) return -errno;
    st_.mtime = st_.ctime = now();
    return 0;
  }
  int64_t grow(uint64_t size) {
    uint64_t extra = size - size_;
    if (tsb_->used + extra > tsb_->limit_) return -ENOSPC;
    if (ensure_memfd() < 0) return -ENOMEM;
    // The data of every tmpfs and memfd together is held to mem= (kernel/memory_accounting.h).
    if (!charge_file_data(extra)) return -ENOSPC;
    if (ftruncate(memfd_, static_cast<off_t>(size)) != 0) {
      uncharge_file_data(extra);
      return -errno;
    }
    tsb_->used += extra;
    size_ = size;
    st_.mtime = st_.ctime = now();
    return 0;
  }

  // --- xattrs ---
  int64_t getxattr(std::string_view name, std::string& out) override {
    auto it = xattrs_.find(std::string(name));
    if (it == xattrs_.end()) return -ENODATA;
    out = it->second;
    return 0;
  }
  int64_t setxattr(std::string_view name, std::string_view value, int flags) override {
    bool exists = xattrs_.count(std::string(name));
    if ((flags & XATTR_CREATE) && exists) return -EEXIST;
    if ((flags & XATTR_REPLACE) && !exists) return -ENODATA;
    xattrs_[std::string(name)] = std::string(value);
    st_.ctime = now();
    return 0;
  }
  int64_t listxattr(std::string& out) override {
    out.clear();
    for (auto& [k, v] : xattrs_) { out += k; out += '\0'; }
    return 0;
  }
  int64_t removexattr(std::string_view name) override {
    return xattrs_.erase(std::string(name)) ? 0 : -ENODATA;
  }

  TmpSuperBlock* tsb_;
  Stat st_;
  int memfd_ = -1;
  uint64_t size_ = 0;
  std::string target_;
  std::map<std::string, std::shared_ptr<TmpInode>, std::less<>> children_;
  std::weak_ptr<TmpInode> parent_;
  std::map<std::string, std::string> xattrs_;
};

}  // namespace

std::shared_ptr<Mount> make_tmpfs(uint64_t dev_id, uint64_t size_limit, uint32_t root_mode,
                                  const std::string& type) {
  auto sb = std::make_shared<TmpSuperBlock>(dev_id, size_limit);
  sb->type_ = type;
  auto m = std::make_shared<Mount>();
  m->sb = sb;
  m->root = std::make_shared<TmpInode>(sb.get(), S_IFDIR | (root_mode & 07777), 0, 0);
  m->source = "tmpfs";
  m->options = "rw,nosuid,nodev";
  return m;
}

InodePtr make_anonymous_tmpfs_file(uint32_t mode) {
  static auto sb = std::make_shared<TmpSuperBlock>(0x0f00, 1ull << 40);
  return std::make_shared<TmpInode>(sb.get(), S_IFREG | (mode & 07777), 0, 0);
}

InodePtr tmpfs_inode_by_number(SuperBlock& sb, uint64_t ino) {
  auto* t = dynamic_cast<TmpSuperBlock*>(&sb);
  if (!t) return nullptr;
  auto it = t->by_ino.find(ino);
  return it == t->by_ino.end() ? nullptr : it->second->weak_from_this().lock();
}

bool is_tmpfs(SuperBlock& sb) { return dynamic_cast<TmpSuperBlock*>(&sb) != nullptr; }

}  // namespace um::kernel
