// Image access over libext2fs: the one layer through which umimage and umkernel read and
// write ext2/3/4 images (plain files or UML COW files). Inode-level, path-free: callers walk
// paths themselves (umkernel's VFS does; umimage has a small helper). Not thread-safe.
#pragma once
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

struct struct_ext2_filsys;
typedef struct struct_ext2_filsys* ext2_filsys;

namespace um::ext {

using Ino = uint32_t;
constexpr Ino kRootIno = 2;

struct Attr {
  Ino ino = 0;
  uint32_t mode = 0;        // type and permission bits (S_IFREG | 0644 ...)
  uint32_t uid = 0, gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;      // 512-byte units, as st_blocks
  uint64_t rdev = 0;        // makedev(major, minor) for device nodes
  timespec atime{}, mtime{}, ctime{}, crtime{};
  uint32_t generation = 0;
};

struct DirEntry {
  std::string_view name;
  Ino ino;
  uint8_t type;             // DT_REG, DT_DIR, ... (DT_UNKNOWN if the image has no filetype)
};

struct FsInfo {
  std::string type;         // "ext2", "ext3" or "ext4"
  uint32_t block_size = 0;
  uint64_t blocks_total = 0, blocks_free = 0, blocks_reserved = 0;
  uint64_t inodes_total = 0, inodes_free = 0;
  std::string label, uuid;  // uuid in the usual 8-4-4-4-12 text form
  std::vector<std::string> features;
  uint64_t image_bytes = 0;
};

struct CreateOptions {
  uint64_t size_bytes = 0;
  std::string type = "ext4";      // ext2 | ext3 | ext4
  std::string label;
  uint32_t block_size = 4096;
  uint64_t inode_count = 0;       // 0 = default ratio
};

struct SetAttr {
  std::optional<uint32_t> mode;   // permission bits only (07777); type bits are kept
  std::optional<uint32_t> uid, gid;
  std::optional<timespec> atime, mtime, ctime;
};

// Where new timestamps come from (default: the host's CLOCK_REALTIME). umkernel points it at
// the VM's clock, which clock_settime can move.
void set_clock(timespec (*now)());

class ExtFs {
 public:
  enum class Mode { ReadOnly, ReadWrite };
  // Host locks as UML's ubd driver takes them (whole-file fcntl locks, see core/cow/cow_file.h):
  // a write lock on an image or COW file opened read-write, a read lock on one opened
  // read-only and on a COW's backing file, held until the ExtFs is destroyed. None: the
  // caller holds the locks itself, or was asked not to lock (UML's `c` disk flag).
  enum class HostLock { Uml, None };

  // Opens a plain image or a UML COW file (detected by its magic; reads fall through to the
  // backing file named in its header, writes land in the COW file). A lock held by another
  // process fails with EAGAIN: "PATH is locked by pid N (NAME): ...".
  static Result<std::unique_ptr<ExtFs>> open(const std::string& path, Mode mode,
                                             HostLock lock = HostLock::Uml);
  // Makes a new, empty file system in a new sparse file `path` (fails if it exists).
  static Result<std::unique_ptr<ExtFs>> create(const std::string& path, const CreateOptions& opts);
  ~ExtFs();  // flushes and closes

  bool read_only() const;
  Ino root() const { return kRootIno; }

  Result<Ino> lookup(Ino dir, std::string_view name);
  Result<Attr> getattr(Ino ino);
  Status setattr(Ino ino, const SetAttr& changes);  // also bumps ctime

  Result<size_t> read(Ino ino, uint64_t offset, void* buf, size_t len);
  Result<size_t> write(Ino ino, uint64_t offset, const void* buf, size_t len);  // grows the file
  Status truncate(Ino ino, uint64_t size);

  // Creates a non-directory inode of any type (S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK)
  // and links it as dir/name. EEXIST if the name exists.
  Result<Ino> mknod(Ino dir, std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid,
                    uint64_t rdev = 0);
  Result<Ino> mkdir(Ino dir, std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid);
  Result<Ino> symlink(Ino dir, std::string_view name, std::string_view target, uint32_t uid,
                      uint32_t gid);
  Result<std::string> readlink(Ino ino);
  Status link(Ino dir, std::string_view name, Ino target);      // hard link; EEXIST if taken
  Status unlink(Ino dir, std::string_view name);                // not for directories (EISDIR)
  Status rmdir(Ino dir, std::string_view name);                 // ENOTEMPTY unless empty
  // flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (linux/fs.h values). Replaces an existing
  // target as rename(2) does (a directory only by an empty directory).
  Status rename(Ino olddir, std::string_view oldname, Ino newdir, std::string_view newname,
                unsigned flags = 0);

  // Iterates entries from cookie `pos` (0 = start; "." and ".." included). `fn` gets each entry
  // and the cookie that resumes after it; returning false stops. Cookies stay valid while the
  // directory is not modified.
  Status readdir(Ino dir, uint64_t pos,
                 const std::function<bool(const DirEntry&, uint64_t next)>& fn);

  // Open references: an inode whose link count drops to 0 is freed only when it has no open
  // reference (unlinked-but-open files, as Linux keeps them).
  void open_ref(Ino ino);
  void close_ref(Ino ino);

  Result<std::string> getxattr(Ino ino, std::string_view name);      // ENODATA if absent
  Status setxattr(Ino ino, std::string_view name, std::string_view value, int flags = 0);  // XATTR_CREATE/REPLACE
  Result<std::vector<std::string>> listxattr(Ino ino);
  Status removexattr(Ino ino, std::string_view name);

  Status flush();   // everything written so far reaches the image file
  // flush(), and the image marked clean as at close (a remount read-only, an unmount): e2fsck
  // then sees a clean file system. The next change marks it not clean again.
  Status mark_clean();
  FsInfo info();
  ext2_filsys raw();  // escape hatch for bulk work in umimage

 private:
  struct Impl;
  explicit ExtFs(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace um::ext
