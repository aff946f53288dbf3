// File system calls that take paths: open, stat, mkdir, unlink, rename, links, permissions,
// times, cwd and root, statfs, mknod (mount is in mount.cpp, extended attributes in xattr.cpp).
#include <linux/fs.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <utime.h>

#include <cstring>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/sys/fs_args.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/vfs/devices.h"
#include "umkernel/vfs/inotify.h"
#include "umkernel/vfs/namei.h"
#include "umkernel/vfs/posix_acl.h"
#include "umkernel/vfs/procfs.h"
#include "umkernel/vfs/pty.h"
#include "umkernel/vfs/tmpfs.h"

namespace um::kernel {

using namespace fs_args;

namespace {

// Sticky directories: only the owner of the file or of the directory (or root) may remove.
int64_t check_sticky(Task& t, Inode& dir, Inode& victim) {
  Stat ds, vs;
  if (dir.getattr(ds) < 0 || victim.getattr(vs) < 0) return 0;
  if (!(ds.mode & S_ISVTX)) return 0;
  uint32_t u = t.proc->cred.fsuid;
  return u == 0 || u == ds.uid || u == vs.uid ? 0 : -EPERM;
}

int64_t may_modify_dir(Task& t, Inode& dir) { return check_permission(t, dir, 2 | 1); }

void fill_stat(const Stat& s, struct stat& out) {
  memset(&out, 0, sizeof out);
  out.st_dev = s.dev;
  out.st_ino = s.ino;
  out.st_mode = s.mode;
  out.st_nlink = s.nlink;
  out.st_uid = s.uid;
  out.st_gid = s.gid;
  out.st_rdev = s.rdev;
  out.st_size = s.size;
  out.st_blksize = s.blksize;
  out.st_blocks = s.blocks;
  out.st_atim = s.atime;
  out.st_mtim = s.mtime;
  out.st_ctim = s.ctime;
}

int64_t stat_to_user(Task& t, Inode& inode, uint64_t addr) {
  Stat s;
  if (int64_t r = inode.getattr(s); r < 0) return r;
  struct stat out;
  fill_stat(s, out);
  return put_user(t, addr, out);
}

uint32_t new_gid(Task& t, Inode& dir) {
  Stat ds;
  if (dir.getattr(ds) == 0 && (ds.mode & S_ISGID)) return ds.gid;
  return t.proc->cred.fsgid;
}

}  // namespace

int64_t open_resolved(Task& t, const PathRef& ref, int flags, bool created);

// open_by_handle_at (sys/handle.cpp): the open of an inode found by its handle.
int64_t do_open_ref(Task& t, const PathRef& ref, int flags) {
  if (!t.proc->fds->has_free_fd()) return -EMFILE;
  if (flags & O_CREAT) flags &= ~(O_CREAT | O_EXCL);
  if (flags & O_PATH) flags &= O_PATH | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY;
  if (flags & O_DIRECTORY) {
    Stat st;
    if (int64_t r = ref.inode->getattr(st); r < 0) return r;
    if (!S_ISDIR(st.mode)) return -ENOTDIR;
  }
  return open_resolved(t, ref, flags, false);
}

int64_t do_open(Task& t, int dirfd, const std::string& path, int flags, uint32_t mode) {
  // Linux takes the fd first: EMFILE before the path is looked at or anything is created.
  if (!t.proc->fds->has_free_fd()) return -EMFILE;
  // O_PATH opens nothing: no access mode, no creation, no truncation (as Linux ignores them).
  if (flags & O_PATH) flags &= O_PATH | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY;
  PathRef ref;
  bool created = false;
  int lookup = (flags & O_NOFOLLOW) ? 0 : kFollow;
  if (flags & O_DIRECTORY) lookup |= kMustBeDir;
  if (flags & O_CREAT) {
    if (flags & O_DIRECTORY) return -EINVAL;
    PathRef parent;
    std::string last;
    bool slash = false;
    if (int64_t r = resolve_parent(t, dirfd, path, parent, last, &slash); r < 0) return r;
    if (last.empty() || last == "." || last == "..") return -EISDIR;
    InodePtr existing;
    int64_t r = parent.inode->lookup(last, existing);
    if (r == 0) {
      if (flags & O_EXCL) return -EEXIST;
      if (int64_t e = resolve(t, dirfd, path, lookup, ref); e < 0) return e;
    } else if (r == -ENOENT) {
      if (slash) return -EISDIR;
      if (int64_t e = may_modify_dir(t, *parent.inode); e < 0) return e;
      uint32_t m = S_IFREG | (mode & 07777 & ~t.proc->fs->umask);
      InodePtr ino;
      if (int64_t e = parent.inode->mknod(last, m, t.proc->cred.fsuid, new_gid(t, *parent.inode), 0, ino); e < 0) return e;
      ref = PathRef{parent.mnt, ino, join_path(parent.path, last)};
      created = true;
      fsnotify_child(*parent.inode, IN_CREATE, last);
    } else {
      return r;
    }
  } else {
    if (int64_t r = resolve(t, dirfd, path, lookup, ref); r < 0) return r;
  }
  return open_resolved(t, ref, flags, created);
}

// The open of a file found (or just made, `created`): checks, the open file, O_TRUNC, the fd.
int64_t open_resolved(Task& t, const PathRef& ref, int flags, bool created) {
  Stat st;
  if (int64_t r = ref.inode->getattr(st); r < 0) return r;
  if (S_ISLNK(st.mode) && !(flags & O_PATH)) return -ELOOP;
  int acc = flags & O_ACCMODE;
  if (!(flags & O_PATH)) {
    if (S_ISDIR(st.mode) && (acc != O_RDONLY || (flags & O_TRUNC))) return -EISDIR;
    if (!created) {
      int mask = 0;
      if (acc == O_RDONLY || acc == O_RDWR) mask |= 4;
      if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC)) mask |= 2;
      if (int64_t r = check_permission(t, *ref.inode, mask); r < 0) return r;
    }
  }
  FilePtr f;
  if (int64_t r = ref.inode->open(t, flags, f); r < 0) return r;
  f->mount = ref.mnt;
  f->path = ref.path;
  if ((flags & O_TRUNC) && S_ISREG(st.mode) && acc != O_RDONLY && !created && st.size > 0) {
    AttrChange c;
    c.set_size = true;
    if (int64_t r = ref.inode->setattr(c); r < 0) return r;
    fsnotify_file(t, *f, IN_MODIFY);
  }
  int fd = t.proc->fds->install(f, flags & O_CLOEXEC);
  if (fd >= 0) fsnotify_file(t, *f, IN_OPEN);
  return fd;
}

int64_t sys_open(Task& t) {
  std::string p;
  if (int64_t r = get_path(t, 0, p); r < 0) return r;
  return do_open(t, AT_FDCWD, p, static_cast<int>(t.arg(1)), static_cast<uint32_t>(t.arg(2)));
}
int64_t sys_openat(Task& t) {
  std::string p;
  if (int64_t r = get_path(t, 1, p); r < 0) return r;
  return do_open(t, fdarg(t, 0), p, static_cast<int>(t.arg(2)), static_cast<uint32_t>(t.arg(3)));
}
// openat2: openat with a struct open_how (strict about unknown flags) and RESOLVE_* limits
// on the lookup (vfs/namei.h's ResolveScope).
int64_t sys_openat2(Task& t) {
  int dirfd = fdarg(t, 0);
  uint64_t how_addr = t.arg(2), size = t.arg(3);
  if (size < 24) return -EINVAL;  // OPEN_HOW_SIZE_VER0
  if (size > 4096) return -E2BIG;
  open_how how{};
  if (copy_from_user(t, &how, how_addr, std::min<uint64_t>(size, sizeof how)) < 0) return -EFAULT;
  // copy_struct_from_user: a larger struct is fine if what we do not know is zero.
  for (uint64_t off = sizeof how; off < size; off += 8) {
    uint64_t chunk = 0;
    size_t n = std::min<uint64_t>(8, size - off);
    if (copy_from_user(t, &chunk, how_addr + off, n) < 0) return -EFAULT;
    if (chunk) return -E2BIG;
  }
  constexpr uint64_t kValid = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK |
                              O_SYNC | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW |
                              O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE;
  constexpr uint64_t kResolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |
                                RESOLVE_IN_ROOT | RESOLVE_CACHED;
  if ((how.flags & ~kValid) || (how.resolve & ~kResolve)) return -EINVAL;
  int flags = static_cast<int>(how.flags);
  if ((flags & O_ACCMODE) == O_ACCMODE) return -EINVAL;
  if (how.mode & ~07777ull) return -EINVAL;
  if (how.mode && !(flags & O_CREAT) && (flags & O_TMPFILE) != O_TMPFILE) return -EINVAL;
  if ((flags & O_PATH) && (flags & ~(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))) return -EINVAL;
  if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT)) return -EINVAL;
  // Every lookup here is "cached" (the trees are in umkernel's memory), but one that would
  // create or truncate is refused as Linux does.
  if ((how.resolve & RESOLVE_CACHED) && (flags & (O_TRUNC | O_CREAT | O_TMPFILE))) return -EAGAIN;
  std::string p;
  if (int64_t r = get_path(t, 1, p); r < 0) return r;
  ResolveScope scope;
  scope.flags = how.resolve;
  if (how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_NO_XDEV)) {
    if (int64_t r = dir_start(t, dirfd, scope.root); r < 0) return r;
  }
  ScopedResolve guard(scope);
  return do_open(t, dirfd, p, flags | O_LARGEFILE, static_cast<uint32_t>(how.mode));
}

int64_t sys_creat(Task& t) {
  std::string p;
  if (int64_t r = get_path(t, 0, p); r < 0) return r;
  return do_open(t, AT_FDCWD, p, O_CREAT | O_WRONLY | O_TRUNC, static_cast<uint32_t>(t.arg(1)));
}

// --- stat ---
namespace {
int64_t fstat_file(Task& t, File& f, uint64_t addr) {
  if (!f.inode()) {
    // Anonymous pipes: a FIFO with no file system.
    struct stat out{};
    out.st_mode = S_IFIFO | 0600;
    out.st_nlink = 1;
    out.st_blksize = 4096;
    out.st_uid = t.proc->cred.euid;
    out.st_gid = t.proc->cred.egid;
    return put_user(t, addr, out);
  }
  return stat_to_user(t, *f.inode(), addr);
}

int64_t stat_at(Task& t, int dirfd, uint64_t path_addr, uint64_t out, int flags) {
  std::string p;
  if (int64_t r = string_from_user(t, path_addr, p, 4096); r < 0) return r;
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) return -EINVAL;
  if (p.empty() && (flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD) {
    FilePtr f = t.proc->fds->get(dirfd);
    if (!f) return -EBADF;
    return fstat_file(t, *f, out);
  }
  int lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : kFollow;
  if (flags & AT_EMPTY_PATH) lf |= kEmptyPathOk;
  PathRef ref;
  if (int64_t r = resolve(t, dirfd, p, lf, ref); r < 0) return r;
  return stat_to_user(t, *ref.inode, out);
}
}  // namespace

int64_t sys_stat(Task& t) { return stat_at(t, AT_FDCWD, t.arg(0), t.arg(1), 0); }
int64_t sys_lstat(Task& t) { return stat_at(t, AT_FDCWD, t.arg(0), t.arg(1), AT_SYMLINK_NOFOLLOW); }
int64_t sys_newfstatat(Task& t) { return stat_at(t, fdarg(t, 0), t.arg(1), t.arg(2), static_cast<int>(t.arg(3))); }

int64_t sys_fstat(Task& t) {
  FilePtr f = t.proc->fds->get(fdarg(t, 0));
  if (!f) return -EBADF;
  return fstat_file(t, *f, t.arg(1));
}

int64_t sys_statx(Task& t) {
  std::string p;
  if (int64_t r = get_path(t, 1, p); r < 0) return r;
  int flags = static_cast<int>(t.arg(2));
  int lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : kFollow;
  if (flags & AT_EMPTY_PATH) lf |= kEmptyPathOk;
  Stat s;
  FilePtr f;
  if (p.empty() && (flags & AT_EMPTY_PATH) && fdarg(t, 0) != AT_FDCWD) {
    f = t.proc->fds->get(fdarg(t, 0));
    if (!f) return -EBADF;
    if (!f->inode()) {
      s.mode = S_IFIFO | 0600;
    } else if (int64_t r = f->inode()->getattr(s); r < 0) {
      return r;
    }
  } else {
    PathRef ref;
    if (int64_t r = resolve(t, fdarg(t, 0), p, lf, ref); r < 0) return r;
    if (int64_t r = ref.inode->getattr(s); r < 0) return r;
  }
  struct statx x{};
  x.stx_mask = STATX_BASIC_STATS | STATX_BTIME;
  x.stx_blksize = static_cast<uint32_t>(s.blksize);
  x.stx_nlink = s.nlink;
  x.stx_uid = s.uid;
  x.stx_gid = s.gid;
  x.stx_mode = static_cast<uint16_t>(s.mode);
  x.stx_ino = s.ino;
  x.stx_size = static_cast<uint64_t>(s.size);
  x.stx_blocks = static_cast<uint64_t>(s.blocks);
  auto ts = [](const timespec& a) { return statx_timestamp{a.tv_sec, static_cast<uint32_t>(a.tv_nsec), 0}; };
  x.stx_atime = ts(s.atime);
  x.stx_btime = ts(s.btime);
  x.stx_ctime = ts(s.ctime);
  x.stx_mtime = ts(s.mtime);
  x.stx_rdev_major = major(s.rdev);
  x.stx_rdev_minor = minor(s.rdev);
  x.stx_dev_major = major(s.dev);
  x.stx_dev_minor = minor(s.dev);
  return put_user(t, t.arg(4), x);
}

// --- access ---
namespace {
int64_t do_access(Task& t, int dirfd, uint64_t path_addr, int mode, int flags) {
  std::string p;
  if (int64_t r = string_from_user(t, path_addr, p, 4096); r < 0) return r;
  if (mode & ~7) return -EINVAL;
  int lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : kFollow;
  if (flags & AT_EMPTY_PATH) lf |= kEmptyPathOk;
  PathRef ref;
  if (int64_t r = resolve(t, dirfd, p, lf, ref); r < 0) return r;
  return check_permission(t, *ref.inode, mode, !(flags & AT_EACCESS));
}
}  // namespace

int64_t sys_access(Task& t) { return do_access(t, AT_FDCWD, t.arg(0), static_cast<int>(t.arg(1)), 0); }
int64_t sys_faccessat(Task& t) { return do_access(t, fdarg(t, 0), t.arg(1), static_cast<int>(t.arg(2)), 0); }
int64_t sys_faccessat2(Task& t) {
  return do_access(t, fdarg(t, 0), t.arg(1), static_cast<int>(t.arg(2)), static_cast<int>(t.arg(3)));
}

// --- mkdir, mknod, unlink, rmdir ---
namespace {
// The directory and last component of a path argument (`slash`: it ended in '/').
int64_t parent_of_path_arg(Task& t, int dirfd, uint64_t path_addr, PathRef& parent, std::string& last, bool& slash) {
  std::string p;
  if (int64_t r = string_from_user(t, path_addr, p, 4096); r < 0) return r;
  slash = false;
  return resolve_parent(t, dirfd, p, parent, last, &slash);
}

int64_t do_mknod(Task& t, int dirfd, uint64_t path_addr, uint32_t mode, uint64_t dev, bool is_dir) {
  PathRef parent;
  std::string last;
  bool slash;
  if (int64_t r = parent_of_path_arg(t, dirfd, path_addr, parent, last, slash); r < 0) return r;
  if (last.empty() || last == "." || last == "..") return -EEXIST;
  if (slash && !is_dir) return -ENOENT;
  InodePtr existing;
  if (parent.inode->lookup(last, existing) == 0) return -EEXIST;
  if (int64_t r = may_modify_dir(t, *parent.inode); r < 0) return r;
  uint32_t perm = mode & 07777 & ~t.proc->fs->umask;
  uint32_t gid = new_gid(t, *parent.inode);
  if (is_dir) {
    // vfs_mkdir keeps only the permission and sticky bits of the mode asked for; setgid
    // comes from the parent alone (GNU cp -a's mkdir(02700) must not make a setgid copy).
    perm &= 01777;
    Stat ps;
    parent.inode->getattr(ps);
    if (ps.mode & S_ISGID) perm |= S_ISGID;
    int64_t r = parent.inode->mkdir(last, perm, t.proc->cred.fsuid, gid);
    if (r == 0) fsnotify_child(*parent.inode, IN_CREATE | IN_ISDIR, last);
    return r;
  }
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK) return -EINVAL;
  if ((type == S_IFCHR || type == S_IFBLK) && t.proc->cred.euid != 0) return -EPERM;
  InodePtr ino;
  int64_t r = parent.inode->mknod(last, type | perm, t.proc->cred.fsuid, gid, dev, ino);
  if (r == 0) fsnotify_child(*parent.inode, IN_CREATE, last);
  return r;
}

int64_t do_unlink(Task& t, int dirfd, uint64_t path_addr, bool dir) {
  PathRef parent;
  std::string last;
  bool slash;
  if (int64_t r = parent_of_path_arg(t, dirfd, path_addr, parent, last, slash); r < 0) return r;
  if (last.empty()) return -EBUSY;
  if (last == ".") return dir ? -EINVAL : -EISDIR;
  if (last == "..") return dir ? -ENOTEMPTY : -EISDIR;
  InodePtr victim;
  if (int64_t r = parent.inode->lookup(last, victim); r < 0) return r;
  Stat vs;
  if (int64_t r = victim->getattr(vs); r < 0) return r;
  if (!dir && S_ISDIR(vs.mode)) return -EISDIR;
  if (!dir && slash) return S_ISDIR(vs.mode) ? -EISDIR : -ENOTDIR;
  if (dir && !S_ISDIR(vs.mode)) return -ENOTDIR;
  if (int64_t r = may_modify_dir(t, *parent.inode); r < 0) return r;
  if (int64_t r = check_sticky(t, *parent.inode, *victim); r < 0) return r;
  for (auto& m : kernel().mounts())
    if (m->mountpoint == victim) return -EBUSY;
  int64_t r = dir ? parent.inode->rmdir(last) : parent.inode->unlink(last);
  if (r == 0 && fsnotify_active()) {
    // As Linux: the link count change, the inode's end (when it was the last link), then
    // the directory's IN_DELETE.
    if (!dir) fsnotify_inode(*victim, IN_ATTRIB);
    Stat after;
    if (dir || victim->getattr(after) < 0 || after.nlink == 0) fsnotify_deleted(*victim);
    fsnotify_child(*parent.inode, IN_DELETE | (dir ? IN_ISDIR : 0), last);
  }
  return r;
}
}  // namespace

int64_t sys_mkdir(Task& t) { return do_mknod(t, AT_FDCWD, t.arg(0), static_cast<uint32_t>(t.arg(1)), 0, true); }
int64_t sys_mkdirat(Task& t) { return do_mknod(t, fdarg(t, 0), t.arg(1), static_cast<uint32_t>(t.arg(2)), 0, true); }
int64_t sys_mknod(Task& t) { return do_mknod(t, AT_FDCWD, t.arg(0), static_cast<uint32_t>(t.arg(1)), t.arg(2), false); }
int64_t sys_mknodat(Task& t) { return do_mknod(t, fdarg(t, 0), t.arg(1), static_cast<uint32_t>(t.arg(2)), t.arg(3), false); }
int64_t sys_rmdir(Task& t) { return do_unlink(t, AT_FDCWD, t.arg(0), true); }
int64_t sys_unlink(Task& t) { return do_unlink(t, AT_FDCWD, t.arg(0), false); }
int64_t sys_unlinkat(Task& t) {
  int flags = static_cast<int>(t.arg(2));
  if (flags & ~AT_REMOVEDIR) return -EINVAL;
  return do_unlink(t, fdarg(t, 0), t.arg(1), flags & AT_REMOVEDIR);
}

// --- rename, link, symlink, readlink ---
namespace {
int64_t do_rename(Task& t, int olddfd, uint64_t oldp, int newdfd, uint64_t newp, unsigned flags) {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return -EINVAL;
  std::string op, np;
  if (int64_t r = string_from_user(t, oldp, op, 4096); r < 0) return r;
  if (int64_t r = string_from_user(t, newp, np, 4096); r < 0) return r;
  PathRef odir, ndir;
  std::string olast, nlast;
  if (int64_t r = resolve_parent(t, olddfd, op, odir, olast); r < 0) return r;
  if (int64_t r = resolve_parent(t, newdfd, np, ndir, nlast); r < 0) return r;
  if (olast.empty() || olast == "." || olast == ".." || nlast.empty() || nlast == "." || nlast == "..")
    return -EBUSY;
  if (odir.mnt != ndir.mnt) return -EXDEV;
  InodePtr src;
  if (int64_t r = odir.inode->lookup(olast, src); r < 0) return r;
  if (int64_t r = may_modify_dir(t, *odir.inode); r < 0) return r;
  if (int64_t r = may_modify_dir(t, *ndir.inode); r < 0) return r;
  if (int64_t r = check_sticky(t, *odir.inode, *src); r < 0) return r;
  Stat ss;
  src->getattr(ss);
  if (S_ISDIR(ss.mode)) {
    // Not into its own subtree: walk up from the new parent by inode (path strings can be stale).
    InodePtr cur = ndir.inode;
    for (int depth = 0; cur && depth < 4096; depth++) {
      if (cur == src) return -EINVAL;
      if (cur == ndir.mnt->root) break;
      InodePtr up;
      if (cur->lookup("..", up) < 0 || up == cur) break;
      cur = up;
    }
  }
  InodePtr dst;
  bool replaced = false;
  if (ndir.inode->lookup(nlast, dst) == 0) {
    replaced = dst != src;
    if (dst == src) return (flags & RENAME_NOREPLACE) ? -EEXIST : 0;
    if (int64_t r = check_sticky(t, *ndir.inode, *dst); r < 0) return r;
    for (auto& m : kernel().mounts())
      if (m->mountpoint == dst || m->mountpoint == src) return -EBUSY;
  }
  int64_t r = odir.inode->rename(olast, *ndir.inode, nlast, flags);
  if (r == 0 && fsnotify_active() && !(flags & RENAME_EXCHANGE)) {
    uint32_t cookie = fsnotify_next_cookie(), isdir = S_ISDIR(ss.mode) ? IN_ISDIR : 0;
    fsnotify_child(*odir.inode, IN_MOVED_FROM | isdir, olast, cookie);
    fsnotify_child(*ndir.inode, IN_MOVED_TO | isdir, nlast, cookie);
    fsnotify_inode(*src, IN_MOVE_SELF);
    Stat ds;
    if (replaced && (dst->getattr(ds) < 0 || ds.nlink == 0 || S_ISDIR(ds.mode))) fsnotify_deleted(*dst);
  }
  return r;
}

int64_t do_link(Task& t, int olddfd, uint64_t oldp, int newdfd, uint64_t newp, int flags) {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  std::string op, np;
  if (int64_t r = string_from_user(t, oldp, op, 4096); r < 0) return r;
  if (int64_t r = string_from_user(t, newp, np, 4096); r < 0) return r;
  PathRef src;
  int lf = (flags & AT_SYMLINK_FOLLOW) ? kFollow : 0;
  if (flags & AT_EMPTY_PATH) lf |= kEmptyPathOk;
  if (int64_t r = resolve(t, olddfd, op, lf, src); r < 0) return r;
  Stat ss;
  if (int64_t r = src.inode->getattr(ss); r < 0) return r;
  if (S_ISDIR(ss.mode)) return -EPERM;
  PathRef ndir;
  std::string nlast;
  bool slash = false;
  if (int64_t r = resolve_parent(t, newdfd, np, ndir, nlast, &slash); r < 0) return r;
  if (nlast.empty() || nlast == "." || nlast == "..") return -EEXIST;
  if (slash) return -ENOENT;
  if (ndir.mnt != src.mnt) return -EXDEV;
  InodePtr existing;
  if (ndir.inode->lookup(nlast, existing) == 0) return -EEXIST;
  if (int64_t r = may_modify_dir(t, *ndir.inode); r < 0) return r;
  int64_t r = ndir.inode->link(nlast, *src.inode);
  if (r == 0) {
    fsnotify_inode(*src.inode, IN_ATTRIB);
    fsnotify_child(*ndir.inode, IN_CREATE, nlast);
  }
  return r;
}

int64_t do_symlink(Task& t, uint64_t targetp, int newdfd, uint64_t newp) {
  std::string target, np;
  if (int64_t r = string_from_user(t, targetp, target, 4096); r < 0) return r;
  if (target.empty()) return -ENOENT;
  if (int64_t r = string_from_user(t, newp, np, 4096); r < 0) return r;
  PathRef ndir;
  std::string nlast;
  if (int64_t r = resolve_parent(t, newdfd, np, ndir, nlast); r < 0) return r;
  if (nlast.empty() || nlast == "." || nlast == "..") return -EEXIST;
  InodePtr existing;
  if (ndir.inode->lookup(nlast, existing) == 0) return -EEXIST;
  if (int64_t r = may_modify_dir(t, *ndir.inode); r < 0) return r;
  int64_t r = ndir.inode->symlink(nlast, target, t.proc->cred.fsuid, new_gid(t, *ndir.inode));
  if (r == 0) fsnotify_child(*ndir.inode, IN_CREATE, nlast);
  return r;
}

int64_t do_readlink(Task& t, int dirfd, uint64_t pathp, uint64_t buf, int64_t size) {
  if (size <= 0) return -EINVAL;
  std::string p;
  if (int64_t r = string_from_user(t, pathp, p, 4096); r < 0) return r;
  PathRef ref;
  if (int64_t r = resolve(t, dirfd, p, kEmptyPathOk, ref); r < 0) return r;
  Stat st;
  if (int64_t r = ref.inode->getattr(st); r < 0) return r;
  if (!S_ISLNK(st.mode)) return -EINVAL;
  std::string target;
  if (int64_t r = ref.inode->readlink_for(t, target); r < 0) return r;
  size_t n = std::min<size_t>(target.size(), static_cast<size_t>(size));
  if (copy_to_user(t, buf, target.data(), n) < 0) return -EFAULT;
  return static_cast<int64_t>(n);
}
}  // namespace

int64_t sys_rename(Task& t) { return do_rename(t, AT_FDCWD, t.arg(0), AT_FDCWD, t.arg(1), 0); }
int64_t sys_renameat(Task& t) { return do_rename(t, fdarg(t, 0), t.arg(1), fdarg(t, 2), t.arg(3), 0); }
int64_t sys_renameat2(Task& t) {
  return do_rename(t, fdarg(t, 0), t.arg(1), fdarg(t, 2), t.arg(3), static_cast<unsigned>(t.arg(4)));
}
int64_t sys_link(Task& t) { return do_link(t, AT_FDCWD, t.arg(0), AT_FDCWD, t.arg(1), 0); }
int64_t sys_linkat(Task& t) { return do_link(t, fdarg(t, 0), t.arg(1), fdarg(t, 2), t.arg(3), static_cast<int>(t.arg(4))); }
int64_t sys_symlink(Task& t) { return do_symlink(t, t.arg(0), AT_FDCWD, t.arg(1)); }
int64_t sys_symlinkat(Task& t) { return do_symlink(t, t.arg(0), fdarg(t, 1), t.arg(2)); }
int64_t sys_readlink(Task& t) { return do_readlink(t, AT_FDCWD, t.arg(0), t.arg(1), static_cast<int64_t>(t.arg(2))); }
int64_t sys_readlinkat(Task& t) { return do_readlink(t, fdarg(t, 0), t.arg(1), t.arg(2), static_cast<int64_t>(t.arg(3))); }

// --- attributes ---
namespace {

int64_t do_chmod(Task& t, Inode& ino, uint32_t mode, const std::string& path) {
  Stat st;
  if (int64_t r = ino.getattr(st); r < 0) return r;
  if (!is_owner_or_root(t, st)) return -EPERM;
  if (ino.sb()->read_only) return -EROFS;
  // A non-root owner outside the file's group loses the setgid bit.
  if (t.proc->cred.fsuid != 0 && st.gid != t.proc->cred.fsgid && !t.proc->cred.in_group(st.gid)) mode &= ~S_ISGID;
  AttrChange c;
  c.set_mode = true;
  c.mode = mode & 07777;
  int64_t r = ino.setattr(c);
  if (r < 0) return r;
  // posix_acl_chmod: a stored access ACL follows the new bits.
  std::string acl;
  if (!S_ISLNK(st.mode) && ino.getxattr(posix_acl::kAccess, acl) >= 0)
    if (std::string updated = posix_acl::chmod(acl, mode); !updated.empty())
      (void)ino.setxattr(posix_acl::kAccess, updated, XATTR_REPLACE);
  fsnotify_path(t, ino, path, IN_ATTRIB);
  return 0;
}

int64_t do_chown(Task& t, Inode& ino, uint32_t uid, uint32_t gid, const std::string& path) {
  Stat st;
  if (int64_t r = ino.getattr(st); r < 0) return r;
  const Credentials& c = t.proc->cred;
  if (ino.sb()->read_only) return -EROFS;
  if (c.fsuid != 0) {
    if (uid != 0xffffffffu && uid != st.uid) return -EPERM;
    if (st.uid != c.fsuid) return -EPERM;
    if (gid != 0xffffffffu && gid != st.gid && !c.in_group(gid)) return -EPERM;
  }
  AttrChange ch;
  if (uid != 0xffffffffu) { ch.set_uid = true; ch.uid = uid; }
  if (gid != 0xffffffffu) { ch.set_gid = true; ch.gid = gid; }
  // Changing owners clears setuid/setgid on non-directories, as Linux does.
  if ((ch.set_uid || ch.set_gid) && !S_ISDIR(st.mode) && (st.mode & (S_ISUID | S_ISGID))) {
    ch.set_mode = true;
    ch.mode = st.mode & 07777 & ~(S_ISUID | ((st.mode & S_IXGRP) ? S_ISGID : 0));
  }
  int64_t r = ino.setattr(ch);
  if (r == 0) fsnotify_path(t, ino, path, IN_ATTRIB);
  return r;
}

int64_t set_times(Task& t, Inode& ino, const timespec* ts, const std::string& path) {
  Stat st;
  if (int64_t r = ino.getattr(st); r < 0) return r;
  if (ino.sb()->read_only) return -EROFS;
  timespec now;
  guest_clock_gettime(CLOCK_REALTIME, &now);
  AttrChange c;
  bool explicit_times = ts && !(ts[0].tv_nsec == UTIME_NOW && ts[1].tv_nsec == UTIME_NOW);
  if (explicit_times) {
    if (!is_owner_or_root(t, st)) return -EPERM;
  } else if (!is_owner_or_root(t, st) && check_permission(t, ino, 2) < 0) {
    return -EACCES;
  }
  for (int i = 0; i < 2; i++) {
    timespec v = ts ? ts[i] : now;
    if (ts && v.tv_nsec == UTIME_OMIT) continue;
    if (ts && v.tv_nsec == UTIME_NOW) v = now;
    else if (ts && (v.tv_nsec < 0 || v.tv_nsec >= 1000000000)) return -EINVAL;
    if (i == 0) { c.set_atime = true; c.atime = v; }
    else { c.set_mtime = true; c.mtime = v; }
  }
  int64_t r = ino.setattr(c);
  if (r == 0) fsnotify_path(t, ino, path, IN_ATTRIB);
  return r;
}
}  // namespace

int64_t sys_chmod(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), kFollow, ref); r < 0) return r;
  return do_chmod(t, *ref.inode, static_cast<uint32_t>(t.arg(1)), ref.path);
}
int64_t sys_fchmodat(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, fdarg(t, 0), t.arg(1), kFollow, ref); r < 0) return r;
  return do_chmod(t, *ref.inode, static_cast<uint32_t>(t.arg(2)), ref.path);
}
int64_t sys_fchmod(Task& t) {
  FilePtr f = t.proc->fds->get(fdarg(t, 0));
  if (!f) return -EBADF;
  if (!f->inode()) return -EINVAL;
  return do_chmod(t, *f->inode(), static_cast<uint32_t>(t.arg(1)), f->path);
}
int64_t sys_chown(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), kFollow, ref); r < 0) return r;
  return do_chown(t, *ref.inode, static_cast<uint32_t>(t.arg(1)), static_cast<uint32_t>(t.arg(2)), ref.path);
}
int64_t sys_lchown(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), 0, ref); r < 0) return r;
  return do_chown(t, *ref.inode, static_cast<uint32_t>(t.arg(1)), static_cast<uint32_t>(t.arg(2)), ref.path);
}
int64_t sys_fchown(Task& t) {
  FilePtr f = t.proc->fds->get(fdarg(t, 0));
  if (!f) return -EBADF;
  if (!f->inode()) return -EINVAL;
  return do_chown(t, *f->inode(), static_cast<uint32_t>(t.arg(1)), static_cast<uint32_t>(t.arg(2)), f->path);
}
int64_t sys_fchownat(Task& t) {
  int flags = static_cast<int>(t.arg(4));
  int lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : kFollow;
  if (flags & AT_EMPTY_PATH) lf |= kEmptyPathOk;
  PathRef ref;
  if (int64_t r = resolve_target(t, fdarg(t, 0), t.arg(1), lf, ref); r < 0) return r;
  return do_chown(t, *ref.inode, static_cast<uint32_t>(t.arg(2)), static_cast<uint32_t>(t.arg(3)), ref.path);
}

int64_t sys_utimensat(Task& t) {
  int flags = static_cast<int>(t.arg(3));
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  timespec ts[2];
  bool have = t.arg(2) != 0;
  if (have && copy_from_user(t, ts, t.arg(2), sizeof ts) < 0) return -EFAULT;
  Inode* ino;
  PathRef ref;
  FilePtr f;
  if (t.arg(1) == 0) {  // futimens
    f = t.proc->fds->get(fdarg(t, 0));
    if (!f) return -EBADF;
    if (!f->inode()) return -EINVAL;
    ino = f->inode();
  } else {
    int lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : kFollow;
    if (flags & AT_EMPTY_PATH) lf |= kEmptyPathOk;
    if (int64_t r = resolve_target(t, fdarg(t, 0), t.arg(1), lf, ref); r < 0) return r;
    ino = ref.inode.get();
  }
  return set_times(t, *ino, have ? ts : nullptr, (f ? f->path : ref.path));
}

int64_t sys_utimes(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), kFollow, ref); r < 0) return r;
  if (!t.arg(1)) return set_times(t, *ref.inode, nullptr, ref.path);
  timeval tv[2];
  if (copy_from_user(t, tv, t.arg(1), sizeof tv) < 0) return -EFAULT;
  timespec ts[2] = {{tv[0].tv_sec, tv[0].tv_usec * 1000}, {tv[1].tv_sec, tv[1].tv_usec * 1000}};
  return set_times(t, *ref.inode, ts, ref.path);
}

int64_t sys_utime(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), kFollow, ref); r < 0) return r;
  if (!t.arg(1)) return set_times(t, *ref.inode, nullptr, ref.path);
  struct utimbuf ub;
  if (get_user(t, t.arg(1), ub) < 0) return -EFAULT;
  timespec ts[2] = {{ub.actime, 0}, {ub.modtime, 0}};
  return set_times(t, *ref.inode, ts, ref.path);
}

int64_t sys_truncate(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), kFollow, ref); r < 0) return r;
  int64_t len = static_cast<int64_t>(t.arg(1));
  if (len < 0) return -EINVAL;
  Stat st;
  if (int64_t r = ref.inode->getattr(st); r < 0) return r;
  if (S_ISDIR(st.mode)) return -EISDIR;
  if (!S_ISREG(st.mode)) return -EINVAL;
  if (int64_t r = check_permission(t, *ref.inode, 2); r < 0) return r;
  AttrChange c;
  c.set_size = true;
  c.size = static_cast<uint64_t>(len);
  return ref.inode->setattr(c);
}

// --- cwd and root ---
int64_t sys_chdir(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), kFollow | kMustBeDir, ref); r < 0) return r;
  if (int64_t r = check_permission(t, *ref.inode, 1); r < 0) return r;
  t.proc->fs->cwd = ref;
  return 0;
}

int64_t sys_fchdir(Task& t) {
  FilePtr f = t.proc->fds->get(fdarg(t, 0));
  if (!f) return -EBADF;
  if (!f->inode() || !f->mount) return -ENOTDIR;
  Stat st;
  if (int64_t r = f->inode()->getattr(st); r < 0) return r;
  if (!S_ISDIR(st.mode)) return -ENOTDIR;
  if (int64_t r = check_permission(t, *f->inode(), 1); r < 0) return r;
  t.proc->fs->cwd = PathRef{f->mount, f->inode_ptr(), f->path};
  return 0;
}

int64_t sys_getcwd(Task& t) {
  const std::string& p = t.proc->fs->cwd.path.empty() ? std::string("/") : t.proc->fs->cwd.path;
  if (t.arg(1) < p.size() + 1) return -ERANGE;
  if (copy_to_user(t, t.arg(0), p.c_str(), p.size() + 1) < 0) return -EFAULT;
  return static_cast<int64_t>(p.size() + 1);
}

int64_t sys_chroot(Task& t) {
  if (t.proc->cred.euid != 0) return -EPERM;
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), kFollow | kMustBeDir, ref); r < 0) return r;
  ref.path = "/";
  t.proc->fs->root = ref;
  return 0;
}

// --- statfs ---
namespace {
int64_t statfs_to_user(Task& t, Inode& ino, uint64_t addr) {
  struct statfs s;
  if (int64_t r = ino.sb()->statfs(s); r < 0) return r;
  return put_user(t, addr, s);
}
}  // namespace

int64_t sys_statfs(Task& t) {
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), kFollow, ref); r < 0) return r;
  return statfs_to_user(t, *ref.inode, t.arg(1));
}
int64_t sys_fstatfs(Task& t) {
  FilePtr f = t.proc->fds->get(fdarg(t, 0));
  if (!f) return -EBADF;
  if (!f->inode()) return -EINVAL;
  return statfs_to_user(t, *f->inode(), t.arg(1));
}

int64_t sys_memfd_create(Task& t) {
  std::string name;
  if (int64_t r = string_from_user(t, t.arg(0), name, 249); r < 0) return r == -ENAMETOOLONG ? -EINVAL : r;
  unsigned flags = static_cast<unsigned>(t.arg(1));
  if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING)) return -EINVAL;
  InodePtr ino = make_anonymous_tmpfs_file(0777);
  FilePtr f;
  if (int64_t r = ino->open(t, O_RDWR, f); r < 0) return r;
  f->path = "/memfd:" + name + " (deleted)";
  return t.proc->fds->install(f, flags & MFD_CLOEXEC);
}

int64_t sys_sync(Task& t) {
  for (auto& m : kernel().mounts()) m->sb->sync();
  return 0;
}
int64_t sys_syncfs(Task& t) {
  FilePtr f = t.proc->fds->get(fdarg(t, 0));
  if (!f) return -EBADF;
  return f->inode() ? f->inode()->sb()->sync() : 0;
}


namespace {

const SyscallRow kRows[] = {
    UM_FULL(open, "som"), UM_FULL(openat, "fsom"), UM_FULL(openat2, "fspu"), UM_FULL(creat, "sm"), UM_FULL(stat, "sp"),
    UM_FULL(lstat, "sp"), UM_FULL(fstat, "fp"), UM_FULL(newfstatat, "fspx"),
    UM_FULL(statx, "fsxxp"), UM_FULL(access, "sd"), UM_FULL(faccessat, "fsd"),
    UM_FULL(faccessat2, "fsdx"), UM_FULL(mkdir, "sm"), UM_FULL(mkdirat, "fsm"), UM_FULL(rmdir, "s"),
    UM_FULL(unlink, "s"), UM_FULL(unlinkat, "fsx"), UM_FULL(rename, "ss"),
    UM_FULL(renameat, "fsfs"), UM_FULL(renameat2, "fsfsx"), UM_FULL(link, "ss"),
    UM_FULL(linkat, "fsfsx"), UM_FULL(symlink, "ss"), UM_FULL(symlinkat, "sfs"),
    UM_FULL(readlink, "sBu"), UM_FULL(readlinkat, "fsBu"), UM_FULL(chmod, "sm"),
    UM_FULL(fchmod, "fm"), UM_FULL(fchmodat, "fsm"), UM_FULL(chown, "sdd"), UM_FULL(fchown, "fdd"),
    UM_FULL(lchown, "sdd"), UM_FULL(fchownat, "fsddx"), UM_FULL(utimensat, "fspx"),
    UM_FULL(utimes, "sp"), UM_FULL(utime, "sp"), UM_FULL(truncate, "sd"), UM_FULL(chdir, "s"),
    UM_FULL(fchdir, "f"), UM_FULL(getcwd, "Bu"), UM_FULL(statfs, "sp"), UM_FULL(fstatfs, "fp"),
    UM_FULL(mknod, "smx"), UM_FULL(mknodat, "fsmx"), UM_FULL(sync, ""), UM_FULL(syncfs, "f"),
    UM_FULL(chroot, "s"),
    UM_PARTIAL(memfd_create, "sx", "no file seals"),
};

}  // namespace

std::span<const SyscallRow> fs_syscalls() { return kRows; }

}  // namespace um::kernel
