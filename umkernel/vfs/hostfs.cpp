#include "umkernel/vfs/hostfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/file.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/log.h"
#include "core/unique_fd.h"

namespace um::kernel {

namespace {

constexpr uint32_t kNobody = 65534;
constexpr long kHostfsMagic = 0x00c0ffee;  // HOSTFS_SUPER_MAGIC
// One name below a directory descriptor: no symlink is ever followed on the host, no "..",
// no /proc magic link, nothing outside the directory.
constexpr uint64_t kOneName = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
// A mount's root below an allowed tree: symlinks that stay inside the tree are followed.
constexpr uint64_t kInTree = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

int open_beneath(int dirfd, const char* path, int flags, uint64_t resolve, mode_t mode = 0) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = resolve;
  long r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  return r < 0 ? -errno : static_cast<int>(r);
}

// Our own descriptor reopened or operated on through /proc/self/fd/N: the object it already
// is, never a path the guest chose.
std::string self_fd(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

bool valid_name(std::string_view n) {
  return !n.empty() && n != "." && n != ".." && n.size() <= NAME_MAX &&
         n.find('/') == std::string_view::npos && n.find('\0') == std::string_view::npos;
}

struct AllowedTree {
  std::string canonical;               // for matching the guest's mount data only
  std::vector<std::string> parts;
  UniqueFd fd;                         // the authority: everything is resolved below it
  bool read_only = false;
};

std::vector<AllowedTree>& allowed() {
  static std::vector<AllowedTree> trees;
  return trees;
}

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i);
    if (!c.empty() && c != ".") out.push_back(c);  // ".." is kept: the host refuses to climb
    i = j + 1;
  }
  return out;
}

// Host ids as the guest sees them (see hostfs.h).
struct IdMap {
  bool identity = geteuid() == 0;
  uint32_t uid = geteuid(), gid = getegid();
  uint32_t guest_uid(uint32_t u) const { return identity ? u : u == uid ? 0 : kNobody; }
  uint32_t guest_gid(uint32_t g) const { return identity ? g : g == gid ? 0 : kNobody; }
};
const IdMap& ids() {
  static IdMap m;
  return m;
}

class HostInode;

class HostSuperBlock : public SuperBlock {
 public:
  std::string type() const override { return "hostfs"; }
  int64_t statfs(struct statfs& out) override {
    if (fstatfs(root_fd.get(), &out) != 0) return -errno;
    out.f_type = kHostfsMagic;
    if (!writable()) out.f_flags |= ST_RDONLY;
    return 0;
  }
  bool writable() const { return !read_only && !tree_read_only; }

  UniqueFd root_fd;
  dev_t root_dev = 0;
  bool tree_read_only = false;  // hostfs=DIR,ro: no remount makes it writable
  std::map<std::pair<dev_t, ino_t>, std::weak_ptr<HostInode>> inodes;  // live ones
};

uint64_t guest_ino(const HostSuperBlock& sb, dev_t dev, ino_t ino) {
  // Trees spanning host file systems: keep inode numbers apart.
  return dev == sb.root_dev ? ino : ino ^ (static_cast<uint64_t>(dev) << 40);
}

class HostInode : public Inode, public HostLockable {
 public:
  HostInode(std::shared_ptr<HostSuperBlock> sb, UniqueFd path_fd, const struct stat& st)
      : Inode(sb.get(), guest_ino(*sb, st.st_dev, st.st_ino)), hsb_(std::move(sb)),
        path_fd_(std::move(path_fd)), type_(st.st_mode & S_IFMT), key_{st.st_dev, st.st_ino} {}
  ~HostInode() override {
    auto it = hsb_->inodes.find(key_);
    if (it != hsb_->inodes.end() && it->second.expired()) hsb_->inodes.erase(it);
  }

  // The inode for host object `fd` (an O_PATH descriptor) found as `name` in `parent`: the
  // live one when the guest already has it, so that locks, FIFOs and mount points agree.
  static int64_t get(const std::shared_ptr<HostSuperBlock>& sb, UniqueFd fd,
                     std::shared_ptr<HostInode> parent, std::string_view name, InodePtr& out) {
    struct stat st;
    if (fstatat(fd.get(), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return -errno;
    std::shared_ptr<HostInode> node;
    if (auto it = sb->inodes.find({st.st_dev, st.st_ino}); it != sb->inodes.end()) node = it->second.lock();
    if (!node) {
      node = std::make_shared<HostInode>(sb, std::move(fd), st);
      sb->inodes[{st.st_dev, st.st_ino}] = node;
    }
    if (parent && !node->is_root_) {  // where the guest last found it (".." of a directory)
      node->parent_ = std::move(parent);
      node->name_ = name;
    }
    out = node;
    return 0;
  }

  int64_t getattr(Stat& st) override {
    struct statx sx;
    if (statx(path_fd_.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
              STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
      return -errno;
    st.dev = sb_->dev_id;
    st.ino = ino_;
    st.mode = sx.stx_mode;
    st.nlink = sx.stx_nlink;
    st.uid = ids().guest_uid(sx.stx_uid);
    st.gid = ids().guest_gid(sx.stx_gid);
    st.rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
    st.size = static_cast<int64_t>(sx.stx_size);
    st.blksize = sx.stx_blksize;
    st.blocks = static_cast<int64_t>(sx.stx_blocks);
    auto ts = [](const statx_timestamp& t) { return timespec{t.tv_sec, t.tv_nsec}; };
    st.atime = ts(sx.stx_atime);
    st.mtime = ts(sx.stx_mtime);
    st.ctime = ts(sx.stx_ctime);
    st.btime = (sx.stx_mask & STATX_BTIME) ? ts(sx.stx_btime) : st.ctime;
    return 0;
  }

  int64_t setattr(const AttrChange& c) override {
    if (!hsb_->writable()) return -EROFS;
    if (c.set_uid || c.set_gid) {
      if (ids().identity) {
        if (fchownat(path_fd_.get(), "", c.set_uid ? c.uid : ~0u, c.set_gid ? c.gid : ~0u,
                     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
          return -errno;
      } else {
        // Rootless: no host file can change hands; a chown to the owner it already has is fine.
        Stat now;
        if (int64_t r = getattr(now); r < 0) return r;
        if ((c.set_uid && c.uid != now.uid) || (c.set_gid && c.gid != now.gid)) return -EPERM;
      }
    }
    if (c.set_mode) {
      if (type_ == S_IFLNK) return -EOPNOTSUPP;
      if (fchmodat(AT_FDCWD, self_fd(path_fd_.get()).c_str(), c.mode & 07777, 0) != 0) return -errno;
    }
    if (c.set_size) {
      if (int64_t r = truncate(c.size); r < 0) return r;
    }
    if (c.set_atime || c.set_mtime) {
      timespec ts[2] = {c.set_atime ? c.atime : timespec{0, UTIME_OMIT},
                        c.set_mtime ? c.mtime : timespec{0, UTIME_OMIT}};
      int r;
      if (type_ == S_IFLNK) {  // a symlink's own times: by name, in the directory it is in
        if (!parent_) return -EOPNOTSUPP;
        r = utimensat(parent_->path_fd_.get(), name_.c_str(), ts, AT_SYMLINK_NOFOLLOW);
      } else {
        r = utimensat(AT_FDCWD, self_fd(path_fd_.get()).c_str(), ts, 0);
      }
      if (r != 0) return -errno;
    }
    return 0;
  }

  // --- directories ---
  int64_t lookup(std::string_view name, InodePtr& out) override {
    if (type_ != S_IFDIR) return -ENOTDIR;
    if (name == ".") { out = shared_from_this(); return 0; }
    if (name == "..") {  // the parent the guest came through; the root is its own
      out = parent_ ? InodePtr(parent_) : shared_from_this();
      return 0;
    }
    if (!valid_name(name)) return -ENOENT;
    int fd = open_beneath(path_fd_.get(), std::string(name).c_str(), O_PATH | O_NOFOLLOW, kOneName);
    if (fd < 0) return fd == -EXDEV ? -EACCES : fd;
    return get(hsb_, UniqueFd(fd), self(), name, out);
  }

  int64_t mknod(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev,
                InodePtr& out) override {
    if (int64_t r = check_create(name); r < 0) return r;
    std::string n(name);
    switch (mode & S_IFMT) {
      case S_IFREG: {
        int fd = open_beneath(path_fd_.get(), n.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, kOneName, mode & 07777);
        if (fd < 0) return fd == -EXDEV ? -EACCES : fd;
        UniqueFd data(fd);
        (void)fchmod(fd, mode & 07777);  // exactly the guest's mode: umkernel's own umask is not the guest's
        int pfd = ::open(self_fd(fd).c_str(), O_PATH | O_CLOEXEC);
        if (pfd < 0) return -errno;
        if (int64_t r = get(hsb_, UniqueFd(pfd), self(), name, out); r < 0) return r;
        auto node = std::static_pointer_cast<HostInode>(out);
        node->data_fd_ = std::move(data);
        node->data_writable_ = true;
        node->set_owner(uid, gid);
        return 0;
      }
      case S_IFIFO:
      case S_IFSOCK:
        if (mknodat(path_fd_.get(), n.c_str(), (mode & S_IFMT) | (mode & 07777), 0) != 0) return -errno;
        break;
      default:
        return -EPERM;  // device nodes: nodev, and never a host device
    }
    if (int64_t r = lookup(name, out); r < 0) return r;
    auto node = std::static_pointer_cast<HostInode>(out);
    node->chmod_exact(mode);
    node->set_owner(uid, gid);
    return 0;
  }
  int64_t mkdir(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid) override {
    if (int64_t r = check_create(name); r < 0) return r;
    if (mkdirat(path_fd_.get(), std::string(name).c_str(), mode & 07777) != 0) return -errno;
    InodePtr made;
    if (lookup(name, made) == 0) {
      auto node = std::static_pointer_cast<HostInode>(made);
      node->chmod_exact(S_IFDIR | mode);
      node->set_owner(uid, gid);
    }
    return 0;
  }
  int64_t symlink(std::string_view name, std::string_view target, uint32_t uid, uint32_t gid) override {
    if (int64_t r = check_create(name); r < 0) return r;
    if (symlinkat(std::string(target).c_str(), path_fd_.get(), std::string(name).c_str()) != 0) return -errno;
    InodePtr made;
    if (lookup(name, made) == 0) std::static_pointer_cast<HostInode>(made)->set_owner(uid, gid);
    return 0;
  }
  int64_t link(std::string_view name, Inode& target) override {
    if (target.sb() != sb_) return -EXDEV;
    if (int64_t r = check_create(name); r < 0) return r;
    auto& t = static_cast<HostInode&>(target);
    if (t.type_ == S_IFDIR) return -EPERM;
    // The object the guest has, by our own descriptor: never a name that could be swapped.
    if (linkat(AT_FDCWD, self_fd(t.path_fd_.get()).c_str(), path_fd_.get(), std::string(name).c_str(),
               AT_SYMLINK_FOLLOW) != 0)
      return -errno;
    return 0;
  }
  int64_t unlink(std::string_view name) override {
    if (!hsb_->writable()) return -EROFS;
    if (!valid_name(name)) return -ENOENT;
    return unlinkat(path_fd_.get(), std::string(name).c_str(), 0) == 0 ? 0 : -errno;
  }
  int64_t rmdir(std::string_view name) override {
    if (!hsb_->writable()) return -EROFS;
    if (!valid_name(name)) return name == "." ? -EINVAL : -ENOTEMPTY;
    return unlinkat(path_fd_.get(), std::string(name).c_str(), AT_REMOVEDIR) == 0 ? 0 : -errno;
  }
  int64_t rename(std::string_view oldname, Inode& newdir, std::string_view newname, unsigned flags) override {
    if (newdir.sb() != sb_) return -EXDEV;
    if (!hsb_->writable()) return -EROFS;
    if (!valid_name(oldname) || !valid_name(newname)) return -EINVAL;
    auto& nd = static_cast<HostInode&>(newdir);
    std::string o(oldname), n(newname);
    if (syscall(SYS_renameat2, path_fd_.get(), o.c_str(), nd.path_fd_.get(), n.c_str(), flags) != 0) return -errno;
    // Directories moved by the guest: ".." is their new parent.
    InodePtr moved;
    if (nd.lookup(newname, moved) == 0 && (flags & RENAME_EXCHANGE)) lookup(oldname, moved);
    return 0;
  }
  int64_t readdir(uint64_t pos, const DirFiller& fill) override {
    if (type_ != S_IFDIR) return -ENOTDIR;
    int fd = dir_fd();
    if (fd < 0) return fd;
    if (lseek(fd, static_cast<off_t>(pos), SEEK_SET) < 0) return -errno;
    alignas(8) char buf[16384];
    for (;;) {
      long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n < 0) return -errno;
      if (n == 0) return 0;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        off += d->d_reclen;
        uint64_t ino = d->d_ino;
        if (!fill(d->d_name, ino, d->d_type, static_cast<uint64_t>(d->d_off))) return 0;
      }
    }
  }
  int64_t readlink(std::string& out) override {
    if (type_ != S_IFLNK) return -EINVAL;
    char buf[PATH_MAX];
    ssize_t n = readlinkat(path_fd_.get(), "", buf, sizeof buf);
    if (n < 0) return -errno;
    out.assign(buf, static_cast<size_t>(n));
    return 0;
  }

  int64_t open(Task& t, int flags, FilePtr& out) override {
    if (!(flags & O_PATH)) {
      if (type_ == S_IFCHR || type_ == S_IFBLK) return -EACCES;  // nodev
      if (type_ == S_IFREG) {
        bool write = (flags & O_ACCMODE) != O_RDONLY;
        if (write && !hsb_->writable()) return -EROFS;
        int fd = data_fd(write);  // the host's own permission check, now
        if (fd < 0) return fd;
      }
    }
    return Inode::open(t, flags, out);
  }

  // --- data ---
  int64_t read(uint64_t off, void* buf, size_t n) override {
    if (type_ == S_IFDIR) return -EISDIR;
    int fd = data_fd(false);
    if (fd < 0) return fd;
    ssize_t r = pread(fd, buf, n, static_cast<off_t>(off));
    return r < 0 ? -errno : r;
  }
  int64_t write(uint64_t off, const void* buf, size_t n) override {
    if (!hsb_->writable()) return -EROFS;
    int fd = data_fd(true);
    if (fd < 0) return fd;
    ssize_t r = pwrite(fd, buf, n, static_cast<off_t>(off));
    return r < 0 ? -errno : r;
  }
  int64_t truncate(uint64_t size) override {
    if (type_ == S_IFDIR) return -EISDIR;
    if (type_ != S_IFREG) return -EINVAL;
    if (!hsb_->writable()) return -EROFS;
    int fd = data_fd(true);
    if (fd < 0) return fd;
    return ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : -errno;
  }
  int64_t fsync() override {
    if (data_fd_ && ::fsync(data_fd_.get()) != 0) return -errno;
    return 0;
  }
  // The host file itself: guest mappings are the host's page cache, MAP_SHARED really shared
  // (with other guests' mappings and with host processes).
  int host_fd() override { return type_ == S_IFREG ? data_fd(false) : -1; }

  // --- locks host processes see (HostLockable) ---
  int64_t host_range_lock(int type, uint64_t start, uint64_t end) override {
    int fd = lock_fd();
    if (fd < 0) return fd == -EINVAL ? 0 : fd;  // FIFOs, sockets...: nothing on the host to lock
    struct flock fl = range(type, start, end);
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
    if (errno == EBADF && type == F_WRLCK) return 0;  // a file only we may not write: guest-wide only
    return errno == EACCES ? -EAGAIN : -errno;
  }
  int64_t host_flock(int op) override {
    int fd = lock_fd();
    if (fd < 0) return fd == -EINVAL ? 0 : fd;
    return ::flock(fd, op | LOCK_NB) == 0 ? 0 : -errno;
  }
  bool host_range_conflict(int type, uint64_t start, uint64_t end, struct flock& out) override {
    int fd = lock_fd();
    if (fd < 0) return false;
    out = range(type, start, end);
    return fcntl(fd, F_OFD_GETLK, &out) == 0 && out.l_type != F_UNLCK;
  }

  // --- extended attributes: the host file's own (user.* for an unprivileged run) ---
  int64_t getxattr(std::string_view name, std::string& out) override {
    if (type_ == S_IFLNK) return -EOPNOTSUPP;
    std::string p = self_fd(path_fd_.get()), n(name);
    for (;;) {
      ssize_t size = ::getxattr(p.c_str(), n.c_str(), nullptr, 0);
      if (size < 0) return -errno;
      out.resize(static_cast<size_t>(size));
      ssize_t got = ::getxattr(p.c_str(), n.c_str(), out.data(), out.size());
      if (got >= 0) { out.resize(static_cast<size_t>(got)); return 0; }
      if (errno != ERANGE) return -errno;
    }
  }
  int64_t setxattr(std::string_view name, std::string_view value, int flags) override {
    if (!hsb_->writable()) return -EROFS;
    if (type_ == S_IFLNK) return -EPERM;
    return ::setxattr(self_fd(path_fd_.get()).c_str(), std::string(name).c_str(), value.data(),
                      value.size(), flags) == 0 ? 0 : -errno;
  }
  int64_t listxattr(std::string& out) override {
    out.clear();
    if (type_ == S_IFLNK) return 0;
    std::string p = self_fd(path_fd_.get());
    for (;;) {
      ssize_t size = ::listxattr(p.c_str(), nullptr, 0);
      if (size < 0) return errno == ENOTSUP ? 0 : -errno;
      out.resize(static_cast<size_t>(size));
      ssize_t got = ::listxattr(p.c_str(), out.data(), out.size());
      if (got >= 0) { out.resize(static_cast<size_t>(got)); return 0; }
      if (errno != ERANGE) return -errno;
    }
  }
  int64_t removexattr(std::string_view name) override {
    if (!hsb_->writable()) return -EROFS;
    if (type_ == S_IFLNK) return -EPERM;
    return ::removexattr(self_fd(path_fd_.get()).c_str(), std::string(name).c_str()) == 0 ? 0 : -errno;
  }

 private:
  std::shared_ptr<HostInode> self() { return std::static_pointer_cast<HostInode>(shared_from_this()); }

  int64_t check_create(std::string_view name) {
    if (type_ != S_IFDIR) return -ENOTDIR;
    if (!hsb_->writable()) return -EROFS;
    if (!valid_name(name)) return -EEXIST;  // "." and ".." exist; namei never passes a '/'
    return 0;
  }

  // A regular file's data (O_RDWR once anything writes) or a directory's stream, reopened
  // from our O_PATH descriptor: the same host object, whatever its name is now.
  int data_fd(bool write) {
    if (data_fd_ && (data_writable_ || !write)) return data_fd_.get();
    if (type_ != S_IFREG) return -EINVAL;
    bool rw = hsb_->writable();
    int fd = ::open(self_fd(path_fd_.get()).c_str(), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && rw && !write && (errno == EACCES || errno == EROFS || errno == ETXTBSY)) {
      rw = false;
      fd = ::open(self_fd(path_fd_.get()).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    }
    if (fd < 0) return -errno;
    data_fd_.reset(fd);
    data_writable_ = rw;
    return fd;
  }
  int dir_fd() {
    if (!data_fd_) {
      int fd = openat(path_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return -errno;
      data_fd_.reset(fd);
    }
    return data_fd_.get();
  }
  // Our own open file description for host locks (never replaced while the inode lives, so
  // its locks last): read-write where we may, so that write locks can be taken.
  int lock_fd() {
    if (lock_fd_) return lock_fd_.get();
    if (type_ != S_IFREG && type_ != S_IFDIR) return -EINVAL;
    int fd = -1;
    if (type_ == S_IFDIR) {
      fd = openat(path_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
      std::string p = self_fd(path_fd_.get());
      if (hsb_->writable()) fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (fd < 0) fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    }
    if (fd < 0) return -errno;
    lock_fd_.reset(fd);
    return fd;
  }
  static struct flock range(int type, uint64_t start, uint64_t end) {
    struct flock fl {};
    fl.l_type = static_cast<short>(type);
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(start);
    fl.l_len = end == UINT64_MAX ? 0 : static_cast<off_t>(end - start + 1);
    return fl;
  }
  // The guest's mode exactly (umkernel's umask has no say over the guest's files).
  void chmod_exact(uint32_t mode) {
    if (type_ == S_IFLNK) return;
    fchmodat(AT_FDCWD, self_fd(path_fd_.get()).c_str(), mode & 07777, 0);
  }
  // The creator's ids when ids pass through (host root); rootless, files are the host user's.
  void set_owner(uint32_t uid, uint32_t gid) {
    if (!ids().identity || (uid == ids().uid && gid == ids().gid)) return;
    fchownat(path_fd_.get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  }

  std::shared_ptr<HostSuperBlock> hsb_;
  UniqueFd path_fd_;                    // O_PATH | O_NOFOLLOW: the host object itself
  uint32_t type_;
  std::pair<dev_t, ino_t> key_;
  std::shared_ptr<HostInode> parent_;   // where the guest found it (null for the root)
 public:
  bool is_root_ = false;                // a mount's root: its ".." is itself, it has no name
 private:
  std::string name_;
  UniqueFd data_fd_;
  bool data_writable_ = false;
  UniqueFd lock_fd_;
};

// Which tree and which path below it the guest's mount data names.
struct Target {
  const AllowedTree* tree = nullptr;
  std::string rel;
};

}  // namespace

bool hostfs_configure(const std::vector<HostfsRoot>& roots, std::string* error) {
  auto& trees = allowed();
  trees.clear();
  for (const auto& r : roots) {
    char real[PATH_MAX];
    if (!realpath(r.dir.c_str(), real)) {
      *error = "hostfs=" + r.dir + ": " + strerror(errno);
      return false;
    }
    AllowedTree t;
    t.canonical = real;
    t.parts = components(t.canonical);
    t.read_only = r.read_only;
    t.fd.reset(::open(real, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!t.fd) {
      *error = "hostfs=" + r.dir + ": " + strerror(errno);
      return false;
    }
    trees.push_back(std::move(t));
  }
  return true;
}

bool hostfs_may_write(const SuperBlock& sb) {
  auto* h = dynamic_cast<const HostSuperBlock*>(&sb);
  return !h || !h->tree_read_only;
}

int64_t hostfs_mount(const std::string& data, bool read_only, uint64_t dev_id,
                     std::shared_ptr<Mount>& out) {
  const auto& trees = allowed();
  if (trees.empty()) {
    UM_INFO("hostfs: mount refused: no host directory is allowed (boot with hostfs=DIR)");
    return -EPERM;
  }
  // UML's data is the host path itself (relative paths are relative to the allowed tree);
  // newer kernels also take "hostfs=PATH" ("hostfs=" alone: the tree's root). mount(8) may
  // leave "ro"/"rw" in the data too.
  std::string path;
  bool have_path = false;
  size_t i = 0;
  while (i <= data.size()) {
    size_t j = data.find(',', i);
    if (j == std::string::npos) j = data.size();
    std::string opt = data.substr(i, j - i);
    i = j + 1;
    if (opt.empty() || opt == "rw") continue;
    if (opt == "ro") { read_only = true; continue; }
    std::string p;
    if (opt.rfind("hostfs=", 0) == 0) p = opt.substr(7);
    else if (opt.find('=') == std::string::npos) p = opt;
    else return -EINVAL;  // an option hostfs does not have
    if (have_path) return -EINVAL;  // one directory per mount
    path = p;
    have_path = true;
  }
  // A host path inside an allowed tree; else, as UML, a path relative to an allowed tree.
  std::vector<Target> candidates;
  auto parts = components(path);
  for (const auto& t : trees) {
    if (parts.size() < t.parts.size() || !std::equal(t.parts.begin(), t.parts.end(), parts.begin())) continue;
    std::string rel;
    for (size_t k = t.parts.size(); k < parts.size(); k++) rel += (rel.empty() ? "" : "/") + parts[k];
    candidates.push_back({&t, rel.empty() ? "." : rel});
  }
  if (candidates.empty()) {
    std::string rel;
    for (auto& p : parts) rel += (rel.empty() ? "" : "/") + p;
    for (const auto& t : trees) candidates.push_back({&t, rel.empty() ? "." : rel});
  }
  int64_t err = -ENOENT;
  for (const auto& c : candidates) {
    int fd = open_beneath(c.tree->fd.get(), c.rel.c_str(), O_PATH | O_DIRECTORY, kInTree);
    if (fd < 0) {
      if (err == -ENOENT) err = fd == -EXDEV ? -EACCES : fd;  // EXDEV: it would leave the tree
      continue;
    }
    UniqueFd root(fd);
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    auto sb = std::make_shared<HostSuperBlock>();
    sb->dev_id = dev_id;
    sb->root_dev = st.st_dev;
    sb->tree_read_only = c.tree->read_only;
    sb->read_only = c.tree->read_only || read_only;
    int pfd = ::open(self_fd(fd).c_str(), O_PATH | O_CLOEXEC);
    if (pfd < 0) return -errno;
    sb->root_fd = std::move(root);
    InodePtr root_inode;
    if (int64_t r = HostInode::get(sb, UniqueFd(pfd), nullptr, "", root_inode); r < 0) return r;
    static_cast<HostInode&>(*root_inode).is_root_ = true;
    auto m = std::make_shared<Mount>();
    m->sb = sb;
    m->root = root_inode;
    m->source = "none";
    m->options = sb->read_only ? "ro" : "rw";
    out = m;
    return 0;
  }
  return err;
}

}  // namespace um::kernel
