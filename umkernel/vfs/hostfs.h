// hostfs: host directories in the guest, as UML's hostfs (`mount -t hostfs none /mnt -o DIR`),
// confined to the trees the command line allows (`hostfs=DIR[,ro]`, several allowed; nothing
// without one).
//
// Confinement never trusts a host path string: each allowed tree is a directory descriptor
// opened at boot, a mount's root is resolved below it with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS), and every later lookup opens one name (never "." or "..", never with
// a '/') below its directory's descriptor with O_PATH | O_NOFOLLOW and RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS. The host thus never follows a symlink: the guest
// reads its target and resolves it in the guest's own tree, as with any file system. ".." is
// the parent the guest came through, and the guest's namei stops it at the mount's root.
// Device nodes cannot be made and are not opened (nodev), FIFOs are the guest's own pipes.
//
// Ownership for a rootless run: the user running umkernel owns its files on the host; in the
// guest they belong to root (uid/gid 0), every other host id shows as 65534 (nobody), and
// chown to anything else fails with EPERM, as in a user namespace. Run as host root, ids pass
// through unchanged. Data goes through host descriptors, so MAP_SHARED mappings are the host
// file's own pages, shared with host processes; flock and record locks are mirrored onto the
// host file (HostLockable), so host and guest processes exclude each other.
#pragma once
#include <fcntl.h>

#include <memory>
#include <string>
#include <vector>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

struct HostfsRoot {
  std::string dir;         // as given on the command line
  bool read_only = false;
};

// Locks the host sees too (umkernel/vfs/locks.cpp asks for this interface): a hostfs inode
// mirrors the guest's flock and record locks onto one host open file description of its own,
// so host processes and guest processes exclude each other. Nothing waits: -EAGAIN (or
// -EWOULDBLOCK) when a host process holds a conflicting lock.
class HostLockable {
 public:
  virtual ~HostLockable() = default;
  // Sets [start, end] (end UINT64_MAX: to the end of the file) to F_RDLCK, F_WRLCK or F_UNLCK.
  virtual int64_t host_range_lock(int type, uint64_t start, uint64_t end) = 0;
  // flock's LOCK_SH, LOCK_EX or LOCK_UN for the whole file.
  virtual int64_t host_flock(int op) = 0;
  // A host process's lock conflicting with `type` over [start, end] (F_GETLK), if any.
  virtual bool host_range_conflict(int type, uint64_t start, uint64_t end, struct flock& out) = 0;
};

// Opens the allowed trees (at boot). False with a one-line message when one is unusable.
bool hostfs_configure(const std::vector<HostfsRoot>& roots, std::string* error);

// mount(2) of type "hostfs": `data` is UML's mount data ("/host/dir", "hostfs=/host/dir" or
// empty for the first allowed tree; a path outside every allowed tree is taken, as UML does,
// relative to an allowed tree). 0 or -errno (EPERM without any hostfs=, ENOENT, ENOTDIR,
// EACCES for a path that would leave its tree).
int64_t hostfs_mount(const std::string& data, bool read_only, uint64_t dev_id,
                     std::shared_ptr<Mount>& out);

// False for a hostfs mount of a tree the command line allows read-only (remount rw refused).
bool hostfs_may_write(const SuperBlock& sb);

}  // namespace um::kernel
