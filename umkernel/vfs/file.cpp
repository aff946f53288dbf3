// Open file descriptions: the generic behaviour, regular files and directories.
#include <sys/stat.h>

#include "umkernel/vfs/block_device.h"
#include "umkernel/vfs/devices.h"
#include "umkernel/vfs/inotify.h"
#include "umkernel/vfs/locks.h"
#include "umkernel/vfs/pipe.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

namespace {
struct MountIds {
  int next = 21;  // Linux's first mounts take the small ones
};
}  // namespace

int next_mount_id() { return kernel_exists() ? kernel().state<MountIds>().next++ : 0; }

File::~File() {
  fsnotify_closed(*this);
  release_file_locks(*this);
  if (inode_) inode_->closed();
}

void File::set_status_flags(int f) {
  constexpr int kChangeable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
  flags_ = (flags_ & ~kChangeable) | (f & kChangeable);
}

int64_t File::read(Task&, void* buf, size_t n, int64_t* off) { return -EINVAL; }
int64_t File::write(Task&, const void* buf, size_t n, int64_t* off) { return -EINVAL; }
int64_t File::getdents(uint64_t, const DirFiller&) { return -ENOTDIR; }

int64_t File::seek(int64_t off, int whence) {
  if (!seekable()) return -ESPIPE;
  int64_t base;
  switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = pos; break;
    case SEEK_END: {
      Stat st;
      if (!inode_) return -EINVAL;
      if (int64_t r = inode_->getattr(st); r < 0) return r;
      base = st.size;
      break;
    }
    case SEEK_DATA: case SEEK_HOLE: {
      Stat st;
      if (!inode_) return -EINVAL;
      if (int64_t r = inode_->getattr(st); r < 0) return r;
      if (off < 0 || off >= st.size) return -ENXIO;
      return pos = (whence == SEEK_DATA ? off : st.size);
    }
    default: return -EINVAL;
  }
  if (off > 0 && base > INT64_MAX - off) return -EOVERFLOW;
  int64_t np = base + off;
  if (np < 0) return -EINVAL;
  return pos = np;
}

namespace {

class RegularFile : public File {
 public:
  using File::File;
  bool regular() const override { return true; }
  int64_t read(Task&, void* buf, size_t n, int64_t* off) override {
    int64_t p = off ? *off : pos;
    int64_t r = inode_->read(static_cast<uint64_t>(p), buf, n);
    if (r > 0 && !off) pos += r;
    return r;
  }
  int64_t write(Task&, const void* buf, size_t n, int64_t* off) override {
    int64_t p = off ? *off : pos;
    if ((flags_ & O_APPEND) && !off) {
      Stat st;
      if (int64_t r = inode_->getattr(st); r < 0) return r;
      p = st.size;
    }
    int64_t r = inode_->write(static_cast<uint64_t>(p), buf, n);
    if (r > 0 && !off) pos = p + r;
    return r;
  }
};

class DirFile : public File {
 public:
  using File::File;
  int64_t read(Task&, void*, size_t, int64_t*) override { return -EISDIR; }
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EISDIR; }
  int64_t getdents(uint64_t p, const DirFiller& fill) override { return inode_->readdir(p, fill); }
  int64_t seek(int64_t off, int whence) override {
    if (whence == SEEK_SET && off >= 0) return pos = off;
    if (whence == SEEK_CUR && pos + off >= 0) return pos += off;
    return -EINVAL;
  }
};

class PathOnlyFile : public File {  // O_PATH: a handle for *at() calls, fchdir, fstat
 public:
  using File::File;
  int64_t read(Task&, void*, size_t, int64_t*) override { return -EBADF; }
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EBADF; }
  int64_t seek(int64_t, int) override { return -EBADF; }
  int64_t getdents(uint64_t, const DirFiller&) override { return -EBADF; }
};

}  // namespace

int64_t Inode::open(Task& t, int flags, FilePtr& out) {
  Stat st;
  if (int64_t r = getattr(st); r < 0) return r;
  if (flags & O_PATH) {
    out = std::make_shared<PathOnlyFile>(shared_from_this(), flags);
    return 0;
  }
  switch (st.mode & S_IFMT) {
    case S_IFREG:
      out = std::make_shared<RegularFile>(shared_from_this(), flags);
      break;
    case S_IFDIR:
      if ((flags & O_ACCMODE) != O_RDONLY) return -EISDIR;
      out = std::make_shared<DirFile>(shared_from_this(), flags);
      break;
    case S_IFCHR:
      return open_char_device(t, shared_from_this(), st.rdev, flags, out);
    case S_IFBLK:
      return open_block_device(t, shared_from_this(), st.rdev, flags, out);
    case S_IFIFO:
      return open_fifo(t, shared_from_this(), flags, out);
    case S_IFLNK:
      return -ELOOP;
    default:
      return -ENXIO;
  }
  return 0;
}

}  // namespace um::kernel
