#include "umkernel/vfs/synthetic.h"

#include <dirent.h>
#include <poll.h>

#include <cstdlib>
#include <cstring>

namespace um::kernel {

int64_t SyntheticSuperBlock::statfs(struct statfs& out) {
  memset(&out, 0, sizeof out);
  out.f_type = magic_;
  out.f_bsize = 4096;
  out.f_frsize = 4096;
  out.f_namelen = 255;
  return 0;
}

int64_t SyntheticInode::getattr(Stat& st) {
  st = Stat{};
  st.dev = sb_->dev_id;
  st.ino = ino_;
  st.mode = mode_;
  st.nlink = S_ISDIR(mode_) ? 2 : 1;
  st.uid = uid_;
  st.gid = gid_;
  st.rdev = rdev_;
  st.size = size();
  st.atime = st.mtime = st.ctime = st.btime = time_;
  return 0;
}

int64_t SyntheticInode::setattr(const AttrChange& c) {
  if (c.set_mode) mode_ = (mode_ & S_IFMT) | (c.mode & 07777);
  if (c.set_uid) uid_ = c.uid;
  if (c.set_gid) gid_ = c.gid;
  if (c.set_mtime) time_ = c.mtime;
  if (c.set_size) return S_ISREG(mode_) ? 0 : -EINVAL;
  return 0;
}

std::vector<std::pair<std::string, InodePtr>> SyntheticDir::entries() {
  std::vector<std::pair<std::string, InodePtr>> out(children_.begin(), children_.end());
  if (dynamic_) {
    auto more = dynamic_();
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

int64_t SyntheticDir::lookup(std::string_view name, InodePtr& out) {
  if (name == ".") { out = shared_from_this(); return 0; }
  if (name == "..") {
    out = parent.lock();
    if (!out) out = shared_from_this();
    return 0;
  }
  if (auto it = children_.find(name); it != children_.end()) {
    out = it->second;
    return 0;
  }
  if (dynamic_)
    for (auto& [n, i] : dynamic_())
      if (n == name) { out = i; return 0; }
  return -ENOENT;
}

int64_t SyntheticDir::readdir(uint64_t pos, const DirFiller& fill) {
  if (numbered_) return readdir_numbered(pos, fill);
  auto list = entries();
  uint64_t i = pos;
  if (i == 0) {
    if (!fill(".", ino_, DT_DIR, 1)) return 0;
    i = 1;
  }
  if (i == 1) {
    auto p = parent.lock();
    if (!fill("..", p ? p->ino() : ino_, DT_DIR, 2)) return 0;
    i = 2;
  }
  for (; i - 2 < list.size(); i++) {
    auto& [name, inode] = list[i - 2];
    Stat st;
    inode->getattr(st);
    if (!fill(name, inode->ino(), dtype_of(st.mode), i + 1)) return 0;
  }
  return 0;
}

int64_t SyntheticDir::readdir_numbered(uint64_t pos, const DirFiller& fill) {
  if (pos == 0) {
    if (!fill(".", ino_, DT_DIR, 1)) return 0;
    pos = 1;
  }
  if (pos == 1) {
    auto p = parent.lock();
    if (!fill("..", p ? p->ino() : ino_, DT_DIR, 2)) return 0;
    pos = 2;
  }
  // Fixed children: cookies 2..; computed ones: base + their number.
  uint64_t base = 2 + children_.size();
  uint64_t i = 2;
  for (auto& [name, inode] : children_) {
    if (i++ < pos) continue;
    Stat st;
    inode->getattr(st);
    if (!fill(name, inode->ino(), dtype_of(st.mode), i)) return 0;
  }
  if (!dynamic_) return 0;
  for (auto& [name, inode] : dynamic_()) {
    uint64_t cookie = base + strtoull(name.c_str(), nullptr, 10);
    if (cookie < pos) continue;
    Stat st;
    inode->getattr(st);
    if (!fill(name, inode->ino(), dtype_of(st.mode), cookie + 1)) return 0;
  }
  return 0;
}

namespace {
class GeneratedFileHandle : public File {
 public:
  GeneratedFileHandle(InodePtr inode, int flags, std::string data)
      : File(std::move(inode), flags), data_(std::move(data)) {
    if (auto* c = changes()) seen_ = c->count;
  }
  unsigned poll() override {
    if (ChangeSource* c = changes()) return POLLIN | POLLRDNORM | (c->count != seen_ ? POLLPRI | POLLERR : 0);
    return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;  // DEFAULT_POLLMASK
  }
  WaitQueue* wait_queue() override {
    ChangeSource* c = changes();
    return c ? &c->queue : &never_woken_;  // nothing changes: pollers wait for their other files
  }
  void poll_reported(unsigned events) override {
    if (ChangeSource* c = changes(); c && (events & (POLLPRI | POLLERR))) seen_ = c->count;
  }
  int64_t read(Task&, void* buf, size_t n, int64_t* off) override {
    int64_t p = off ? *off : pos;
    if (p >= static_cast<int64_t>(data_.size())) return 0;
    size_t c = std::min(n, data_.size() - p);
    memcpy(buf, data_.data() + p, c);
    if (!off) pos += c;
    return static_cast<int64_t>(c);
  }
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EACCES; }

 private:
  ChangeSource* changes() const { return static_cast<GeneratedFile*>(inode())->changes(); }
  std::string data_;
  uint64_t seen_ = 0;
  WaitQueue never_woken_;
};
}  // namespace

namespace {
class KnobHandle : public GeneratedFileHandle {
 public:
  using GeneratedFileHandle::GeneratedFileHandle;
  int64_t write(Task& t, const void* buf, size_t n, int64_t* off) override {
    if (off && *off != 0) return -EINVAL;  // a knob takes its whole value at offset 0
    int64_t r = static_cast<KnobFile*>(inode())->set(t, std::string_view(static_cast<const char*>(buf), n));
    return r < 0 ? r : static_cast<int64_t>(n);
  }
};
}  // namespace

int64_t KnobFile::open(Task& t, int flags, FilePtr& out) {
  out = std::make_shared<KnobHandle>(shared_from_this(), flags, (flags & O_ACCMODE) == O_WRONLY ? std::string() : generate());
  return 0;
}

namespace {
class AnonFileInode : public Inode {
 public:
  AnonFileInode(SuperBlock* sb, FilePtr f, uint32_t uid, uint32_t gid)
      : Inode(sb, 0), file_(std::move(f)), uid_(uid), gid_(gid) {}
  int64_t getattr(Stat& st) override {
    if (file_->inode()) return file_->inode()->getattr(st);
    st = Stat{};
    st.mode = S_IFIFO | 0600;  // an anonymous pipe
    st.uid = uid_;
    st.gid = gid_;
    return 0;
  }
  int64_t open(Task& t, int flags, FilePtr& out) override {
    if (flags & O_PATH) return Inode::open(t, flags, out);
    return file_->reopen(t, flags, out);
  }

 private:
  FilePtr file_;
  uint32_t uid_, gid_;
};
}  // namespace

InodePtr anon_file_inode(FilePtr f, SuperBlock* sb, uint32_t uid, uint32_t gid) {
  return std::make_shared<AnonFileInode>(sb, std::move(f), uid, gid);
}

int64_t GeneratedFile::open(Task& t, int flags, FilePtr& out) {
  if ((flags & O_ACCMODE) != O_RDONLY && !(mode_ & 0222)) return -EACCES;
  out = std::make_shared<GeneratedFileHandle>(shared_from_this(), flags, gen_());
  return 0;
}

}  // namespace um::kernel
