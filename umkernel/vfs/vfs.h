// The virtual file system: inodes of every file system behind one interface, mounts, and
// open file descriptions. All results are >= 0 or -errno (kernel convention).
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "umkernel/kernel/wait_queue.h"

namespace um::kernel {

class Task;
class Process;
class Inode;
class File;
struct Mount;
using InodePtr = std::shared_ptr<Inode>;
using FilePtr = std::shared_ptr<File>;

struct Stat {
  uint64_t dev = 0, ino = 0;
  uint32_t mode = 0, nlink = 1, uid = 0, gid = 0;
  uint64_t rdev = 0;
  int64_t size = 0, blksize = 4096, blocks = 0;
  timespec atime{}, mtime{}, ctime{}, btime{};
};

struct AttrChange {
  bool set_mode = false, set_uid = false, set_gid = false, set_atime = false,
       set_mtime = false, set_size = false;
  uint32_t mode = 0, uid = 0, gid = 0;
  uint64_t size = 0;
  timespec atime{}, mtime{};
};

class SuperBlock {
 public:
  virtual ~SuperBlock() = default;
  virtual std::string type() const = 0;
  virtual int64_t statfs(struct statfs& out) = 0;
  virtual int64_t sync() { return 0; }
  // Everything written reaches the disk and the file system is left as a clean unmount leaves
  // it (a remount read-only, the last unmount): fsck of the device then sees it clean.
  virtual int64_t quiesce() { return sync(); }
  uint64_t dev_id = 0;
  bool read_only = false;
};

using DirFiller = std::function<bool(std::string_view name, uint64_t ino, unsigned type, uint64_t next)>;

class Inode : public std::enable_shared_from_this<Inode> {
 public:
  Inode(SuperBlock* sb, uint64_t ino) : sb_(sb), ino_(ino) {}
  virtual ~Inode() = default;
  SuperBlock* sb() const { return sb_; }
  uint64_t ino() const { return ino_; }

  virtual int64_t getattr(Stat& st) = 0;
  virtual int64_t setattr(const AttrChange&) { return -EPERM; }

  // Directory operations. `out` receives the new or found inode.
  virtual int64_t lookup(std::string_view name, InodePtr& out) { return -ENOTDIR; }
  virtual int64_t mknod(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid,
                        uint64_t rdev, InodePtr& out) { return -EPERM; }
  virtual int64_t mkdir(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid) { return -EPERM; }
  virtual int64_t symlink(std::string_view name, std::string_view target, uint32_t uid, uint32_t gid) { return -EPERM; }
  virtual int64_t link(std::string_view name, Inode& target) { return -EPERM; }
  virtual int64_t unlink(std::string_view name) { return -EPERM; }
  virtual int64_t rmdir(std::string_view name) { return -EPERM; }
  virtual int64_t rename(std::string_view oldname, Inode& newdir, std::string_view newname,
                         unsigned flags) { return -EXDEV; }
  // Iterates entries from cookie `pos`; the filler returns false when its buffer is full.
  virtual int64_t readdir(uint64_t pos, const DirFiller& fill) { return -ENOTDIR; }
  virtual int64_t readlink(std::string& out) { return -EINVAL; }
  // Symlinks whose target is computed per task (/proc/self, /proc/PID/cwd...).
  virtual int64_t readlink_for(Task& t, std::string& out) { return readlink(out); }
  // "Magic" links (/proc/PID/fd/N): following one reaches the open file itself, not a path.
  // Null for ordinary symlinks.
  virtual FilePtr magic_target(Task&) { return nullptr; }

  // Opens this inode: makes the open file description for it.
  virtual int64_t open(Task& t, int flags, FilePtr& out);

  // Regular file data.
  virtual int64_t read(uint64_t off, void* buf, size_t n) { return -EINVAL; }
  virtual int64_t write(uint64_t off, const void* buf, size_t n) { return -EINVAL; }
  virtual int64_t truncate(uint64_t size) { return -EINVAL; }
  virtual int64_t fsync() { return 0; }
  // A host file descriptor holding this file's data, if it has one (tmpfs files live in
  // memfds): mmap maps it into the guest so that MAP_SHARED mappings really are shared.
  virtual int host_fd() { return -1; }
  // The host descriptor a MAP_SHARED mapping maps: host_fd(), or for file systems without
  // one a shared copy they keep coherent and write back (ext files); -1 if there is none.
  virtual int shared_mapping_fd() { return host_fd(); }
  // The host descriptor mmap maps for [off, off+len) of this file (MAP_SHARED with
  // `shared_writable` when the guest may write through it, else MAP_PRIVATE or read-only):
  // page-cached files fill that range first. -1: no host descriptor (a private copy is made).
  virtual int map_fd(uint64_t off, uint64_t len, bool shared, bool shared_writable) {
    return shared ? shared_mapping_fd() : host_fd();
  }
  // Page-cached regular files (vfs/page_cache.h), so that read/write move data between guest
  // memory and the cache with one copy. -ENOSYS: no cache, use read()/write().
  // cache_read_view: makes [off, off+n) cached; *out = host memory of it; the count there (0
  // at the end of the file; clipped to the size).
  virtual int64_t cache_read_view(uint64_t off, size_t n, const char** out) { return -ENOSYS; }
  // cache_write_begin: *out = host memory for [off, off+n), the file grown to cover it; the
  // caller copies into it and then calls cache_write_end (ok false: nothing was copied).
  virtual int64_t cache_write_begin(uint64_t off, size_t n, char** out) { return -ENOSYS; }
  virtual void cache_write_end(uint64_t off, size_t n, bool ok) {}
  // Extended attributes (EOPNOTSUPP where the file system has none).
  virtual int64_t getxattr(std::string_view name, std::string& out) { return -EOPNOTSUPP; }
  virtual int64_t setxattr(std::string_view name, std::string_view value, int flags) { return -EOPNOTSUPP; }
  virtual int64_t listxattr(std::string& out) { out.clear(); return 0; }  // NUL-separated names
  virtual int64_t removexattr(std::string_view name) { return -EOPNOTSUPP; }
  virtual void opened() {}   // an open file description now refers to this inode
  virtual void closed() {}   // ... and no longer does

 protected:
  SuperBlock* sb_;
  uint64_t ino_;
};

// An open file description (what fds point at; shared across dup and fork).
class File : public std::enable_shared_from_this<File> {
 public:
  File(InodePtr inode, int flags) : inode_(std::move(inode)), flags_(flags) {
    if (inode_) inode_->opened();
  }
  virtual ~File();

  Inode* inode() const { return inode_.get(); }
  const InodePtr& inode_ptr() const { return inode_; }
  int flags() const { return flags_; }
  void set_status_flags(int f);  // F_SETFL: O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME
  bool readable() const { return (flags_ & O_ACCMODE) != O_WRONLY && !(flags_ & O_PATH); }
  bool writable() const { return (flags_ & O_ACCMODE) != O_RDONLY && !(flags_ & O_PATH); }
  bool nonblocking() const { return flags_ & O_NONBLOCK; }

  // Data transfer with host buffers. `off` is the position to use (pread) or nullptr to use
  // and advance the file position. -EAGAIN means "would block": the syscall layer parks
  // blocking callers on wait_queue().
  virtual int64_t read(Task& t, void* buf, size_t n, int64_t* off);
  virtual int64_t write(Task& t, const void* buf, size_t n, int64_t* off);
  virtual int64_t seek(int64_t off, int whence);
  virtual int64_t ioctl(Task& t, unsigned long req, uint64_t arg) { return -ENOTTY; }
  virtual int64_t getdents(uint64_t pos, const DirFiller& fill);
  // Readiness for poll/select (POLLIN, POLLOUT, POLLHUP, POLLERR...).
  virtual unsigned poll() { return 0x001 | 0x004; }  // POLLIN | POLLOUT
  virtual WaitQueue* wait_queue() { return nullptr; }
  // poll()'s events were reported to the guest (epoll_wait, poll, select): a file whose POLLPRI
  // announces one change (the mount table's, /proc/swaps') takes the change as seen, as
  // Linux's mounts_poll does when it reports it.
  virtual void poll_reported(unsigned events) {}
  // How long a blocking read or write may wait (sockets' SO_RCVTIMEO/SO_SNDTIMEO); -1: forever.
  virtual int64_t block_timeout_ns(bool writing) const { return -1; }
  virtual bool is_tty() const { return false; }
  // open() of /proc/PID/fd/N for a file with no inode (a pipe): a new open file description of
  // the same object with `flags`' access mode.
  virtual int64_t reopen(Task&, int flags, FilePtr& out) { return -ENXIO; }
  virtual bool seekable() const { return true; }
  // An open regular file (its inode's data: read/write may go through Inode::cache_*).
  virtual bool regular() const { return false; }
  // A process closes one of its descriptors of this file (Linux's f_op->flush).
  virtual void flush(Process&) {}

  // The path it was opened by, for /proc/PID/fd, fchdir and *at() calls.
  std::shared_ptr<Mount> mount;
  std::string path;
  int64_t pos = 0;

 protected:
  InodePtr inode_;
  int flags_;
};

// Mount IDs as Linux gives them (mountinfo's first field, fdinfo's mnt_id, statx's
// STATX_MNT_ID, name_to_handle_at's mount_id): unique for the life of the VM.
int next_mount_id();

struct Mount {
  int id = next_mount_id();
  std::shared_ptr<SuperBlock> sb;
  InodePtr root;
  std::shared_ptr<Mount> parent;   // null for the root mount
  InodePtr mountpoint;             // inode in parent covered by this mount
  std::string path;                // where it is mounted, for /proc/mounts
  std::string source, options;
  std::string root_path = "/";     // the mount's root within its file system (bind mounts)
};

// A position in the tree: a mount plus an inode in it.
struct PathRef {
  std::shared_ptr<Mount> mnt;
  InodePtr inode;
  std::string path;  // absolute, as seen from the process root
  explicit operator bool() const { return inode != nullptr; }
  bool same(const PathRef& o) const { return mnt == o.mnt && inode == o.inode; }
};

inline unsigned dtype_of(uint32_t mode) { return (mode & S_IFMT) >> 12; }

}  // namespace um::kernel
