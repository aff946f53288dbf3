// File descriptors: read, write and friends, dup, fcntl, pipes, ioctl, getdents.
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <cstring>
#include <vector>

#include "umkernel/kernel/blocking.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/vfs/inotify.h"
#include "umkernel/vfs/locks.h"
#include "umkernel/vfs/pipe.h"

namespace um::kernel {

namespace {

constexpr size_t kChunk = 1 << 20;

std::vector<char>& scratch(size_t n) {
  static std::vector<char> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

// Parks a read or write that would block, with the file's own timeout (a socket's
// SO_RCVTIMEO/SO_SNDTIMEO).
int64_t block_on(Task& t, File& f, bool writing = false) {
  WaitQueue* q = f.wait_queue();
  return q ? park_on(t, *q, f.block_timeout_ns(writing)) : -EAGAIN;
}

// Page-cached files (vfs/page_cache.h): guest memory <-> the cache's host memory, one copy,
// in pieces of kCachedPiece (each filled from the image first). -ENOSYS: not cached.
constexpr size_t kCachedPiece = 16 << 20;

int64_t read_cached(Task& t, File& f, uint64_t buf, uint64_t count, int64_t* off) {
  Inode* in = f.inode();
  if (!in || !f.regular()) return -ENOSYS;
  int64_t start = off ? *off : f.pos;
  if (start < 0) return -EINVAL;
  uint64_t done = 0;
  while (done < count) {
    const char* src = nullptr;
    int64_t n = in->cache_read_view(static_cast<uint64_t>(start) + done, std::min<uint64_t>(count - done, kCachedPiece), &src);
    if (n == -ENOSYS && done == 0) return n;
    if (n < 0) return done ? static_cast<int64_t>(done) : n;
    if (n == 0) break;
    if (copy_to_user(t, buf + done, src, static_cast<size_t>(n)) < 0) return done ? static_cast<int64_t>(done) : -EFAULT;
    done += static_cast<uint64_t>(n);
  }
  if (!off) f.pos = start + static_cast<int64_t>(done);
  return static_cast<int64_t>(done);
}

int64_t write_cached(Task& t, File& f, uint64_t buf, uint64_t count, int64_t* off) {
  Inode* in = f.inode();
  if (!in || !f.regular()) return -ENOSYS;
  int64_t start = off ? *off : f.pos;
  if ((f.flags() & O_APPEND) && !off) {
    Stat st;
    if (int64_t r = in->getattr(st); r < 0) return r;
    start = st.size;
  }
  if (start < 0) return -EINVAL;
  uint64_t done = 0;
  while (done < count) {
    size_t n = std::min<uint64_t>(count - done, kCachedPiece);
    char* dst = nullptr;
    uint64_t at = static_cast<uint64_t>(start) + done;
    int64_t r = in->cache_write_begin(at, n, &dst);
    if (r == -ENOSYS && done == 0) return r;
    if (r < 0) return done ? static_cast<int64_t>(done) : r;
    bool ok = copy_from_user(t, dst, buf + done, n) == 0;
    in->cache_write_end(at, n, ok);
    if (!ok) return done ? static_cast<int64_t>(done) : -EFAULT;
    done += n;
  }
  if (!off) f.pos = start + static_cast<int64_t>(done);
  return static_cast<int64_t>(done);
}

int64_t do_read(Task& t, int fd, uint64_t buf, uint64_t count, int64_t* off) {
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  if ((f->flags() & O_ACCMODE) == O_WRONLY || (f->flags() & O_PATH)) return -EBADF;
  if (static_cast<int64_t>(count) < 0) return -EINVAL;
  if (count == 0) return 0;
  if (int64_t r = read_cached(t, *f, buf, count, off); r != -ENOSYS) return r;
  uint64_t done = 0;
  while (done < count) {
    size_t n = std::min<uint64_t>(count - done, kChunk);
    auto& tmp = scratch(n);
    int64_t pos = off ? *off + static_cast<int64_t>(done) : 0;
    int64_t r = f->read(t, tmp.data(), n, off ? &pos : nullptr);
    if (r == -EAGAIN && done == 0) return f->nonblocking() ? -EAGAIN : block_on(t, *f);
    if (r < 0) return done ? static_cast<int64_t>(done) : r;
    if (r > 0 && copy_to_user(t, buf + done, tmp.data(), r) < 0) return done ? static_cast<int64_t>(done) : -EFAULT;
    done += r;
    // Only regular files are read in several pieces; pipes and ttys return what they have.
    if (r < static_cast<int64_t>(n) || !f->seekable()) break;
  }
  return static_cast<int64_t>(done);
}

int64_t write_buffer(Task& t, File& f, const char* data, uint64_t count, int64_t* off) {
  // Blocking writes to pipes continue where they stopped when woken (t.progress.bytes_done).
  uint64_t done = off ? 0 : t.progress.bytes_done;
  while (done < count) {
    int64_t pos = off ? *off + static_cast<int64_t>(done) : 0;
    int64_t r = f.write(t, data + done, count - done, off ? &pos : nullptr);
    if (r == -EAGAIN) {
      if (f.nonblocking()) return done ? static_cast<int64_t>(done) : -EAGAIN;
      t.progress.bytes_done = done;
      t.sys_partial = static_cast<int64_t>(done);
      int64_t b = block_on(t, f, true);
      return b == -EAGAIN && done ? static_cast<int64_t>(done) : b;  // timed out after some
    }
    if (r < 0) return done ? static_cast<int64_t>(done) : r;
    if (r == 0) break;
    done += r;
  }
  return static_cast<int64_t>(done);
}

int64_t do_write(Task& t, int fd, uint64_t buf, uint64_t count, int64_t* off) {
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  if (!f->writable() || (f->flags() & O_PATH)) return -EBADF;
  if (static_cast<int64_t>(count) < 0) return -EINVAL;
  if (count == 0) return 0;
  if (int64_t r = write_cached(t, *f, buf, count, off); r != -ENOSYS) return r;
  if (count <= kChunk) {
    // One piece: pipes need the whole buffer to keep PIPE_BUF atomicity and partial resumes.
    std::vector<char> data(count);
    if (copy_from_user(t, data.data(), buf, count) < 0) return -EFAULT;
    return write_buffer(t, *f, data.data(), count, off);
  }
  // Large writes go in chunks; a blocked pipe or terminal write resumes at t.progress.bytes_done.
  uint64_t done = off ? 0 : t.progress.bytes_done;
  auto& tmp = scratch(kChunk);
  while (done < count) {
    size_t n = std::min<uint64_t>(count - done, kChunk);
    if (copy_from_user(t, tmp.data(), buf + done, n) < 0) return done ? static_cast<int64_t>(done) : -EFAULT;
    int64_t pos = off ? *off + static_cast<int64_t>(done) : 0;
    int64_t r = f->write(t, tmp.data(), n, off ? &pos : nullptr);
    if (r == -EAGAIN && !f->seekable()) {
      if (f->nonblocking()) return done ? static_cast<int64_t>(done) : -EAGAIN;
      t.progress.bytes_done = done;
      t.sys_partial = static_cast<int64_t>(done);
      int64_t b = block_on(t, *f, true);
      return b == -EAGAIN && done ? static_cast<int64_t>(done) : b;
    }
    if (r < 0) return done ? static_cast<int64_t>(done) : r;
    done += r;
    if (r < static_cast<int64_t>(n) && f->seekable()) break;
  }
  return static_cast<int64_t>(done);
}

int64_t read_iov(Task& t, uint64_t iov_addr, int64_t cnt, std::vector<iovec>& iov, uint64_t& total) {
  if (cnt < 0 || cnt > 1024) return -EINVAL;
  iov.resize(static_cast<size_t>(cnt));
  if (cnt && copy_from_user(t, iov.data(), iov_addr, cnt * sizeof(iovec)) < 0) return -EFAULT;
  total = 0;
  for (auto& v : iov) {
    if (static_cast<int64_t>(v.iov_len) < 0) return -EINVAL;
    total += v.iov_len;
    if (total > (1ull << 31)) return -EINVAL;
  }
  total = std::min<uint64_t>(total, 16 << 20);  // one bounded host buffer: a short transfer beyond
  return 0;
}

int64_t do_readv(Task& t, int fd, uint64_t iov_addr, int64_t cnt, int64_t* off) {
  std::vector<iovec> iov;
  uint64_t total;
  if (int64_t r = read_iov(t, iov_addr, cnt, iov, total); r < 0) return r;
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  if ((f->flags() & O_ACCMODE) == O_WRONLY) return -EBADF;
  if (total == 0) return 0;
  std::vector<char> buf(total);
  int64_t pos = off ? *off : 0;
  int64_t r = f->read(t, buf.data(), total, off ? &pos : nullptr);
  if (r == -EAGAIN) return f->nonblocking() ? -EAGAIN : block_on(t, *f);
  if (r <= 0) return r;
  uint64_t done = 0;
  for (auto& v : iov) {
    if (done >= static_cast<uint64_t>(r)) break;
    size_t n = std::min<uint64_t>(v.iov_len, r - done);
    if (copy_to_user(t, reinterpret_cast<uint64_t>(v.iov_base), buf.data() + done, n) < 0) return -EFAULT;
    done += n;
  }
  return r;
}

int64_t do_writev(Task& t, int fd, uint64_t iov_addr, int64_t cnt, int64_t* off) {
  std::vector<iovec> iov;
  uint64_t total;
  if (int64_t r = read_iov(t, iov_addr, cnt, iov, total); r < 0) return r;
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  if (!f->writable()) return -EBADF;
  if (total == 0) return 0;
  std::vector<char> buf(total);
  uint64_t done = 0;
  for (auto& v : iov) {
    size_t n = std::min<uint64_t>(v.iov_len, total - done);
    if (n && copy_from_user(t, buf.data() + done, reinterpret_cast<uint64_t>(v.iov_base), n) < 0) return -EFAULT;
    done += n;
    if (done == total) break;
  }
  return write_buffer(t, *f, buf.data(), total, off);
}

}  // namespace

namespace {
// IN_ACCESS / IN_MODIFY for a transfer that moved data.
int64_t notified(Task& t, int fd, bool write, int64_t r) {
  if (r > 0 && fsnotify_active())
    if (FilePtr f = t.proc->fds->get(fd)) fsnotify_file(t, *f, write ? IN_MODIFY : IN_ACCESS);
  return r;
}
}  // namespace

int64_t sys_read(Task& t) { return notified(t, static_cast<int>(t.arg(0)), false, do_read(t, static_cast<int>(t.arg(0)), t.arg(1), t.arg(2), nullptr)); }
int64_t sys_write(Task& t) { return notified(t, static_cast<int>(t.arg(0)), true, do_write(t, static_cast<int>(t.arg(0)), t.arg(1), t.arg(2), nullptr)); }

int64_t sys_pread64(Task& t) {
  int64_t off = static_cast<int64_t>(t.arg(3));
  if (off < 0) return -EINVAL;
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (f && !f->seekable()) return -ESPIPE;
  return notified(t, static_cast<int>(t.arg(0)), false, do_read(t, static_cast<int>(t.arg(0)), t.arg(1), t.arg(2), &off));
}
int64_t sys_pwrite64(Task& t) {
  int64_t off = static_cast<int64_t>(t.arg(3));
  if (off < 0) return -EINVAL;
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (f && !f->seekable()) return -ESPIPE;
  return notified(t, static_cast<int>(t.arg(0)), true, do_write(t, static_cast<int>(t.arg(0)), t.arg(1), t.arg(2), &off));
}
int64_t sys_readv(Task& t) { return notified(t, static_cast<int>(t.arg(0)), false, do_readv(t, static_cast<int>(t.arg(0)), t.arg(1), static_cast<int32_t>(t.arg(2)), nullptr)); }
int64_t sys_writev(Task& t) { return notified(t, static_cast<int>(t.arg(0)), true, do_writev(t, static_cast<int>(t.arg(0)), t.arg(1), static_cast<int32_t>(t.arg(2)), nullptr)); }
int64_t sys_preadv(Task& t) {
  int64_t off = static_cast<int64_t>(t.arg(3));
  if (off < 0) return -EINVAL;
  return notified(t, static_cast<int>(t.arg(0)), false, do_readv(t, static_cast<int>(t.arg(0)), t.arg(1), static_cast<int32_t>(t.arg(2)), &off));
}
int64_t sys_pwritev(Task& t) {
  int64_t off = static_cast<int64_t>(t.arg(3));
  if (off < 0) return -EINVAL;
  return notified(t, static_cast<int>(t.arg(0)), true, do_writev(t, static_cast<int>(t.arg(0)), t.arg(1), static_cast<int32_t>(t.arg(2)), &off));
}

// preadv2/pwritev2: an offset of -1 means the file position; per-call flags (RWF_*).
namespace {
constexpr int kRwfHipri = 0x1, kRwfDsync = 0x2, kRwfSync = 0x4, kRwfNowait = 0x8, kRwfAppend = 0x10;
constexpr int kRwfKnown = kRwfHipri | kRwfDsync | kRwfSync | kRwfNowait | kRwfAppend;

int64_t rw2(Task& t, bool write) {
  int fd = static_cast<int>(t.arg(0));
  int64_t off = static_cast<int64_t>(t.arg(3));
  int flags = static_cast<int>(t.arg(5));
  if (flags & ~kRwfKnown) return -EOPNOTSUPP;
  if (off < -1) return -EINVAL;
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  if (off != -1 && !f->seekable()) return -ESPIPE;
  // RWF_NOWAIT: what would block answers EAGAIN instead (files never block here).
  if ((flags & kRwfNowait) && !f->seekable() && !(f->poll() & (write ? POLLOUT : POLLIN)))
    return -EAGAIN;
  if (write && (flags & kRwfAppend) && f->seekable()) {
    // Appends at the end whatever the offset; the position moves only for offset -1.
    Stat st;
    if (f->inode() && f->inode()->getattr(st) == 0) {
      int64_t end = st.size;
      int64_t r = do_writev(t, fd, t.arg(1), static_cast<int32_t>(t.arg(2)), &end);
      if (r > 0 && off == -1) f->pos = end;
      return r;
    }
  }
  int64_t r = write ? do_writev(t, fd, t.arg(1), static_cast<int32_t>(t.arg(2)), off == -1 ? nullptr : &off)
                    : do_readv(t, fd, t.arg(1), static_cast<int32_t>(t.arg(2)), off == -1 ? nullptr : &off);
  if (r == kBlock && (flags & kRwfNowait)) {
    t.stop_waiting();
    return -EAGAIN;
  }
  if (write && r > 0 && (flags & (kRwfDsync | kRwfSync)) && f->inode()) f->inode()->fsync();
  return r;
}
}  // namespace

int64_t sys_preadv2(Task& t) { return notified(t, static_cast<int>(t.arg(0)), false, rw2(t, false)); }
int64_t sys_pwritev2(Task& t) { return notified(t, static_cast<int>(t.arg(0)), true, rw2(t, true)); }

int64_t sys_lseek(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  return f->seek(static_cast<int64_t>(t.arg(1)), static_cast<int>(t.arg(2)));
}

int64_t sys_close(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  // POSIX: closing any descriptor of a file drops the process's record locks on it.
  if (f && f->inode()) release_posix_locks(*t.proc, f->inode());
  if (f) f->flush(*t.proc);
  return t.proc->fds->close(static_cast<int>(t.arg(0)));
}

int64_t sys_flock(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  return flock_file(t, *f, static_cast<int>(t.arg(1)));
}

int64_t sys_dup(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  return t.proc->fds->install(f, false);
}

int64_t sys_dup2(Task& t) {
  int oldfd = static_cast<int>(t.arg(0)), newfd = static_cast<int>(t.arg(1));
  FilePtr f = t.proc->fds->get(oldfd);
  if (!f) return -EBADF;
  if (oldfd == newfd) return newfd;
  // Replacing an open fd closes it: its POSIX locks go, as with close().
  if (FilePtr old = t.proc->fds->get(newfd); old && old->inode()) release_posix_locks(*t.proc, old->inode());
  return t.proc->fds->install_at(newfd, f, false);
}

int64_t sys_dup3(Task& t) {
  int oldfd = static_cast<int>(t.arg(0)), newfd = static_cast<int>(t.arg(1));
  int flags = static_cast<int>(t.arg(2));
  if (flags & ~O_CLOEXEC) return -EINVAL;
  if (oldfd == newfd) return -EINVAL;
  FilePtr f = t.proc->fds->get(oldfd);
  if (!f) return -EBADF;
  if (FilePtr old = t.proc->fds->get(newfd); old && old->inode()) release_posix_locks(*t.proc, old->inode());
  return t.proc->fds->install_at(newfd, f, flags & O_CLOEXEC);
}

int64_t sys_fcntl(Task& t) {
  int fd = static_cast<int>(t.arg(0));
  int cmd = static_cast<int>(t.arg(1));
  uint64_t arg = t.arg(2);
  FdTable& fds = *t.proc->fds;
  FilePtr f = fds.get(fd);
  if (!f) return -EBADF;
  switch (cmd) {
    case F_DUPFD: return fds.install(f, false, static_cast<int>(arg));
    case F_DUPFD_CLOEXEC: return fds.install(f, true, static_cast<int>(arg));
    case F_GETFD: return fds.cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD: fds.set_cloexec(fd, arg & FD_CLOEXEC); return 0;
    case F_GETFL: return f->flags() & ~O_CLOEXEC;
    case F_SETFL: f->set_status_flags(static_cast<int>(arg)); return 0;
    case F_GETPIPE_SZ: return pipe_get_size(*f);
    case F_SETPIPE_SZ: return pipe_set_size(*f, arg, capable(t, CAP_SYS_RESOURCE));
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW: {
      struct flock fl;
      if (get_user(t, arg, fl) < 0) return -EFAULT;
      int64_t r = posix_lock(t, *f, cmd, fl);
      if (r == 0 && (cmd == F_GETLK || cmd == F_OFD_GETLK) && put_user(t, arg, fl) < 0) return -EFAULT;
      return r;
    }
    case F_NOTIFY: return dnotify_set(t, *f, arg);
    case F_GETOWN: case F_SETOWN: case F_GETSIG: case F_SETSIG:
      return 0;
    default: return -EINVAL;
  }
}

int64_t sys_pipe2(Task& t) {
  int flags = static_cast<int>(t.arg(1));
  if (flags & ~(O_NONBLOCK | O_CLOEXEC | O_DIRECT)) return -EINVAL;
  FilePtr r, w;
  make_pipe(flags, r, w, nullptr);
  FdTable& fds = *t.proc->fds;
  int rfd = fds.install(r, flags & O_CLOEXEC);
  if (rfd < 0) return rfd;
  int wfd = fds.install(w, flags & O_CLOEXEC);
  if (wfd < 0) { fds.close(rfd); return wfd; }
  int pair[2] = {rfd, wfd};
  if (copy_to_user(t, t.arg(0), pair, sizeof pair) < 0) {
    fds.close(rfd);
    fds.close(wfd);
    return -EFAULT;
  }
  return 0;
}

int64_t sys_pipe(Task& t) {
  t.sys_args[1] = 0;
  return sys_pipe2(t);
}

int64_t sys_ioctl(Task& t) {
  int fd = static_cast<int>(t.arg(0));
  unsigned long req = t.arg(1);
  FdTable& fds = *t.proc->fds;
  FilePtr f = fds.get(fd);
  if (!f) return -EBADF;
  switch (req) {
    case FIOCLEX: fds.set_cloexec(fd, true); return 0;
    case FIONCLEX: fds.set_cloexec(fd, false); return 0;
    case FIONBIO: {
      int on;
      if (get_user(t, t.arg(2), on) < 0) return -EFAULT;
      f->set_status_flags(on ? (f->flags() | O_NONBLOCK) : (f->flags() & ~O_NONBLOCK));
      return 0;
    }
    case FIOASYNC: return 0;
    default: break;
  }
  int64_t r = f->ioctl(t, req, t.arg(2));
  return r;
}

int64_t sys_fsync(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  return f->inode() ? f->inode()->fsync() : 0;
}
int64_t sys_fdatasync(Task& t) { return sys_fsync(t); }

int64_t sys_ftruncate(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  int64_t len = static_cast<int64_t>(t.arg(1));
  if (len < 0) return -EINVAL;
  if (!f->writable() || !f->inode()) return -EINVAL;
  Stat st;
  if (int64_t r = f->inode()->getattr(st); r < 0) return r;
  if (S_ISDIR(st.mode)) return -EISDIR;
  if (!S_ISREG(st.mode)) return -EINVAL;
  AttrChange c;
  c.set_size = true;
  c.size = static_cast<uint64_t>(len);
  return f->inode()->setattr(c);
}

namespace {
int64_t do_getdents(Task& t, bool is64) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  uint64_t buf = t.arg(1);
  size_t cap = std::min<uint64_t>(t.arg(2), 1 << 20);
  std::vector<char> out(cap);
  size_t used = 0;
  bool too_small = false;
  uint64_t next_pos = static_cast<uint64_t>(f->pos);
  int64_t r = f->getdents(static_cast<uint64_t>(f->pos), [&](std::string_view name, uint64_t ino, unsigned type, uint64_t next) {
    size_t reclen = is64 ? (19 + name.size() + 1 + 7) & ~size_t{7} : (18 + name.size() + 2 + 7) & ~size_t{7};
    if (used + reclen > cap) {
      if (used == 0) too_small = true;
      return false;
    }
    char* p = out.data() + used;
    memset(p, 0, reclen);
    uint64_t off = next;
    uint16_t rl = static_cast<uint16_t>(reclen);
    memcpy(p, &ino, 8);
    memcpy(p + 8, &off, 8);
    memcpy(p + 16, &rl, 2);
    if (is64) {
      p[18] = static_cast<char>(type);
      memcpy(p + 19, name.data(), name.size());
    } else {
      memcpy(p + 18, name.data(), name.size());
      p[reclen - 1] = static_cast<char>(type);
    }
    used += reclen;
    next_pos = next;
    return true;
  });
  if (r < 0) return r;
  if (too_small) return -EINVAL;
  if (used && copy_to_user(t, buf, out.data(), used) < 0) return -EFAULT;
  f->pos = static_cast<int64_t>(next_pos);
  return static_cast<int64_t>(used);
}
}  // namespace

int64_t sys_getdents64(Task& t) { return do_getdents(t, true); }
int64_t sys_getdents(Task& t) { return do_getdents(t, false); }

int64_t sys_close_range(Task& t) {
  unsigned first = static_cast<unsigned>(t.arg(0)), last = static_cast<unsigned>(t.arg(1));
  unsigned flags = static_cast<unsigned>(t.arg(2));
  if (first > last || (flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE))) return -EINVAL;
  FdTable& fds = *t.proc->fds;
  int top = std::min<int64_t>(last, fds.max_fd());
  for (int fd = static_cast<int>(first); fd <= top; fd++) {
    if (!fds.get(fd)) continue;
    if (flags & CLOSE_RANGE_CLOEXEC) fds.set_cloexec(fd, true);
    else fds.close(fd);
  }
  return 0;
}

}  // namespace um::kernel

namespace um::kernel {

// sendfile: in-kernel copy between two open files (cat, cp use it).
int64_t sys_sendfile(Task& t) {
  int out_fd = static_cast<int>(t.arg(0)), in_fd = static_cast<int>(t.arg(1));
  uint64_t off_addr = t.arg(2), count = std::min<uint64_t>(t.arg(3), 0x7ffff000);
  FilePtr in = t.proc->fds->get(in_fd), out = t.proc->fds->get(out_fd);
  if (!in || !out) return -EBADF;
  if (!in->readable() || (in->flags() & O_ACCMODE) == O_WRONLY || !out->writable()) return -EBADF;
  if (out->flags() & O_APPEND) return -EINVAL;
  int64_t off = 0;
  if (off_addr) {
    if (get_user(t, off_addr, off) < 0) return -EFAULT;
    if (off < 0) return -EINVAL;
  }
  // Resume after a blocked write: what was already read sits in the task's progress.
  uint64_t done = 0;
  std::vector<char> buf(std::min<uint64_t>(count, 1 << 16));
  while (done < count) {
    size_t n = std::min<uint64_t>(count - done, buf.size());
    int64_t pos = off + static_cast<int64_t>(done);
    int64_t r = in->read(t, buf.data(), n, off_addr ? &pos : nullptr);
    if (r == -EAGAIN && done == 0) return in->nonblocking() ? -EAGAIN : (in->wait_queue() ? (t.wait_on(*in->wait_queue()), kBlock) : -EAGAIN);
    if (r <= 0) { if (r < 0 && done == 0) return r; break; }
    int64_t w = 0;
    while (w < r) {
      int64_t x = out->write(t, buf.data() + w, static_cast<size_t>(r - w), nullptr);
      if (x == -EAGAIN) {
        // Keep it simple and correct: put the unwritten part back for seekable input, and
        // report what went through; the caller loops (as cat/cp do).
        if (!off_addr && in->seekable()) in->pos -= (r - w);
        if (done + w == 0) return out->wait_queue() ? (t.wait_on(*out->wait_queue()), kBlock) : -EAGAIN;
        done += w;
        if (off_addr) {
          int64_t no = off + static_cast<int64_t>(done);
          if (put_user(t, off_addr, no) < 0) return -EFAULT;  // as Linux's sendfile64
        }
        return static_cast<int64_t>(done);
      }
      if (x < 0) return done + w ? static_cast<int64_t>(done + w) : x;
      w += x;
    }
    done += r;
    if (r < static_cast<int64_t>(n)) break;
  }
  if (off_addr) {
    int64_t no = off + static_cast<int64_t>(done);
    if (put_user(t, off_addr, no) < 0) return -EFAULT;
  }
  return static_cast<int64_t>(done);
}

}  // namespace um::kernel

namespace um::kernel {

int64_t sys_fadvise64(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  if (!f->seekable()) return -ESPIPE;
  int advice = static_cast<int>(t.arg(3));
  if (advice < 0 || advice > 5 || static_cast<int64_t>(t.arg(2)) < 0) return -EINVAL;
  return 0;  // advice only: umkernel has no page cache to tune
}

}  // namespace um::kernel

namespace um::kernel {

// copy_file_range: an in-kernel copy between regular files (cp from coreutils uses it).
int64_t sys_copy_file_range(Task& t) {
  FilePtr in = t.proc->fds->get(static_cast<int>(t.arg(0)));
  FilePtr out = t.proc->fds->get(static_cast<int>(t.arg(2)));
  if (!in || !out) return -EBADF;
  if (t.arg(5) != 0) return -EINVAL;
  if ((in->flags() & O_ACCMODE) == O_WRONLY || !out->writable() || (out->flags() & O_APPEND)) return -EBADF;
  if (!in->inode() || !out->inode()) return -EINVAL;
  Stat si, so;
  if (in->inode()->getattr(si) < 0 || out->inode()->getattr(so) < 0) return -EINVAL;
  if (S_ISDIR(si.mode) || S_ISDIR(so.mode)) return -EISDIR;
  if (!S_ISREG(si.mode) || !S_ISREG(so.mode)) return -EINVAL;
  int64_t ipos = in->pos, opos = out->pos;
  if (t.arg(1) && get_user(t, t.arg(1), ipos) < 0) return -EFAULT;
  if (t.arg(3) && get_user(t, t.arg(3), opos) < 0) return -EFAULT;
  if (ipos < 0 || opos < 0) return -EINVAL;
  uint64_t len = std::min<uint64_t>(t.arg(4), 1 << 30);
  std::vector<char> buf(std::min<uint64_t>(len, 1 << 20));
  uint64_t done = 0;
  while (done < len) {
    int64_t r = in->inode()->read(ipos + done, buf.data(), std::min<uint64_t>(len - done, buf.size()));
    if (r < 0) { if (done == 0) return r; break; }
    if (r == 0) break;
    int64_t w = out->inode()->write(opos + done, buf.data(), static_cast<size_t>(r));
    if (w < 0) { if (done == 0) return w; break; }
    done += w;
    if (w < r) break;
  }
  // An unwritable offset pointer makes the call EFAULT (the data has moved), as on Linux.
  int64_t r = static_cast<int64_t>(done);
  if (t.arg(1)) { int64_t v = ipos + done; if (put_user(t, t.arg(1), v) < 0) r = -EFAULT; } else in->pos = ipos + done;
  if (t.arg(3)) { int64_t v = opos + done; if (put_user(t, t.arg(3), v) < 0) r = -EFAULT; } else out->pos = opos + done;
  return r;
}

// fallocate: reserving space (mode 0) grows the file; umkernel's images are allocated on write.
int64_t sys_fallocate(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  int mode = static_cast<int>(t.arg(1));
  int64_t off = static_cast<int64_t>(t.arg(2)), len = static_cast<int64_t>(t.arg(3));
  if (off < 0 || len <= 0) return -EINVAL;
  if (!f->writable()) return -EBADF;
  if (!f->inode()) return -ESPIPE;
  Stat st;
  if (int64_t r = f->inode()->getattr(st); r < 0) return r;
  if (S_ISDIR(st.mode)) return -EISDIR;
  if (!S_ISREG(st.mode)) return -ENODEV;
  constexpr int kKeepSize = 0x01;
  if (mode & ~kKeepSize) return -EOPNOTSUPP;
  if ((mode & kKeepSize) || off + len <= st.size) return 0;
  AttrChange c;
  c.set_size = true;
  c.size = static_cast<uint64_t>(off + len);
  return f->inode()->setattr(c);
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(read, "fBu"), UM_FULL(write, "fbu"), UM_FULL(readv, "fpd"), UM_FULL(writev, "fpd"),
    UM_FULL(pread64, "fBud"), UM_FULL(pwrite64, "fbud"), UM_FULL(preadv, "fpdd"),
    UM_FULL(pwritev, "fpdd"),
    UM_PARTIAL(preadv2, "fpddix", "RWF_HIPRI, DSYNC, SYNC, NOWAIT, APPEND (not NOAPPEND, ATOMIC, DONTCACHE)"),
    UM_PARTIAL(pwritev2, "fpddix", "RWF_HIPRI, DSYNC, SYNC, NOWAIT, APPEND (not NOAPPEND, ATOMIC, DONTCACHE)"),
    UM_FULL(lseek, "fdd"), UM_FULL(close, "f"), UM_FULL(dup, "f"),
    UM_FULL(dup2, "ff"), UM_FULL(dup3, "ffo"), UM_FULL(fcntl, "fdx"), UM_FULL(pipe, "p"),
    UM_FULL(pipe2, "po"),
    UM_PARTIAL(ioctl, "fxx",
               "terminals and ptys, FIONREAD, socket and interface SIOC* requests, FIONBIO, "
               "FIOCLEX, FIONCLEX (FIOASYNC accepted); others ENOTTY"),
    UM_FULL(fsync, "f"), UM_FULL(fdatasync, "f"), UM_FULL(ftruncate, "fd"),
    UM_FULL(getdents64, "fpu"), UM_FULL(getdents, "fpu"), UM_FULL(close_range, "ffx"),
    UM_FULL(sendfile, "ffpu"), UM_FULL(fadvise64, "fddd"), UM_FULL(flock, "fd"),
    UM_FULL(copy_file_range, "fpfpux"),
    UM_PARTIAL(fallocate, "fddd", "mode 0 and KEEP_SIZE; holes and zero ranges EOPNOTSUPP"),
};

}  // namespace

std::span<const SyscallRow> file_syscalls() { return kRows; }

}  // namespace um::kernel
