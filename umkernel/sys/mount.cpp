// mount and umount2.
#include <sys/mount.h>

#include <cstring>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/memory_accounting.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/ipc/mqueue.h"
#include "umkernel/sys/fs_args.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/vfs/cgroupfs.h"
#include "umkernel/vfs/devices.h"
#include "umkernel/vfs/hostfs.h"
#include "umkernel/vfs/namei.h"
#include "umkernel/vfs/procfs.h"
#include "umkernel/vfs/pty.h"
#include "umkernel/vfs/synthetic.h"
#include "umkernel/vfs/tmpfs.h"

namespace um::kernel {

using namespace fs_args;

namespace {

// MS_MOVE: the mount at `source` (which must be a mount's root) goes to `where` with every
// mount below it (do_move_mount: EINVAL for no mount root or the root mount, ELOOP for a
// target inside the subtree that moves).
int64_t move_mount(Task& t, const std::string& source, const PathRef& where) {
  PathRef src;
  if (int64_t r = resolve(t, AT_FDCWD, source, kFollow, src); r < 0) return r;
  std::shared_ptr<Mount> m = src.mnt;
  if (src.inode != m->root || !m->parent) return -EINVAL;
  for (auto at = where.mnt; at; at = at->parent)
    if (at == m) return -ELOOP;
  std::string old_path = m->path, new_path = where.path == "/" ? "" : where.path;
  m->parent = where.mnt;
  m->mountpoint = where.inode;
  // m and the mounts below it take the new prefix and go last: on top at their new place.
  auto& mounts = kernel().mounts();
  std::vector<std::shared_ptr<Mount>> moved;
  std::erase_if(mounts, [&](const std::shared_ptr<Mount>& other) {
    bool below = false;
    for (auto at = other; at; at = at->parent) below |= at == m;
    if (!below) return false;
    other->path = new_path + other->path.substr(old_path.size());
    moved.push_back(other);
    return true;
  });
  mounts.insert(mounts.end(), moved.begin(), moved.end());
  mount_changes().changed();
  return 0;
}

}  // namespace

// --- mount ---
int64_t sys_mount(Task& t) {
  if (t.proc->cred.euid != 0) return -EPERM;
  std::string source, target, type;
  if (t.arg(0) && string_from_user(t, t.arg(0), source, 4096) < 0) return -EFAULT;
  if (int64_t r = get_path(t, 1, target); r < 0) return r;
  if (t.arg(2) && string_from_user(t, t.arg(2), type, 256) < 0) return -EFAULT;
  uint64_t flags = t.arg(3);
  PathRef where;
  if (int64_t r = resolve(t, AT_FDCWD, target, kFollow | kMustBeDir, where); r < 0) return r;
  Kernel& k = kernel();
  if ((flags & (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)) && !(flags & (MS_REMOUNT | MS_BIND | MS_MOVE))) {
    // Propagation types: with one mount namespace there is nowhere to propagate to, so every
    // type behaves alike; what Linux checks is checked (a mount's root, one type at a time).
    uint64_t types = flags & (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE);
    if (types & (types - 1)) return -EINVAL;
    if (where.inode != where.mnt->root) return -EINVAL;
    mount_changes().changed();
    return 0;
  }
  if (flags & MS_REMOUNT) {
    for (auto& m : k.mounts()) {
      if (m->root == where.inode && m == where.mnt) {
        // hostfs=DIR,ro: the command line's word is final (EACCES, as a write-protected disk)
        if (!(flags & MS_RDONLY) && m->sb->type() == "hostfs" && !hostfs_may_write(*m->sb)) return -EACCES;
        // Read-only: written back and marked clean, so that fsck may check it (checkroot).
        if (flags & MS_RDONLY) m->sb->quiesce();
        else m->sb->sync();
        m->sb->read_only = flags & MS_RDONLY;
        m->options = (flags & MS_RDONLY) ? "ro" : "rw";
        mount_changes().changed();
        return 0;
      }
    }
    return -EINVAL;
  }
  if (flags & MS_MOVE) return move_mount(t, source, where);
  std::shared_ptr<Mount> m;
  if (flags & MS_BIND) {
    PathRef src;
    if (int64_t r = resolve(t, AT_FDCWD, source, kFollow, src); r < 0) return r;
    m = std::make_shared<Mount>();
    m->sb = src.mnt->sb;
    m->root = src.inode;
    m->source = source;
    m->options = src.mnt->options;
    // Where the source lies within its file system: its path below its own mount's.
    std::string below = src.path.substr(std::min(src.path.size(), src.mnt->path.size()));
    std::string base = src.mnt->root_path == "/" ? "" : src.mnt->root_path;
    m->root_path = below.empty() ? (base.empty() ? "/" : base) : base + (below[0] == '/' ? "" : "/") + below;
  } else if (type == "proc") {
    m = make_procfs(k.mounts().size() + 100);
  } else if (type == "devpts") {
    m = make_devpts_mount();
  } else if (type == "devtmpfs") {
    m = make_devfs(k.mounts().size() + 100, 8, k.disk_indices());
  } else if (type == "tmpfs") {
    std::string data;
    if (t.arg(4) && string_from_user(t, t.arg(4), data, 4096) < 0) return -EFAULT;
    uint64_t size = proc_memory_total() / 2;
    uint32_t mode = 01777;
    size_t i = 0;
    while (i <= data.size()) {  // comma-separated size=, mode= (others ignored, as tmpfs does for uid= etc.)
      size_t j = data.find(',', i);
      if (j == std::string::npos) j = data.size();
      std::string opt = data.substr(i, j - i);
      if (opt.rfind("size=", 0) == 0) {
        char* end;
        double v = strtod(opt.c_str() + 5, &end);
        uint64_t mult = *end == 'k' || *end == 'K' ? 1024 : *end == 'm' || *end == 'M' ? 1 << 20 : *end == 'g' || *end == 'G' ? 1 << 30 : 1;
        if (*end == '%') size = static_cast<uint64_t>(proc_memory_total() * v / 100);
        else size = static_cast<uint64_t>(v * mult);
      } else if (opt.rfind("mode=", 0) == 0) {
        mode = static_cast<uint32_t>(strtoul(opt.c_str() + 5, nullptr, 8)) & 07777;
      }
      i = j + 1;
    }
    // A tmpfs can never hold more than the VM's memory (its data is charged to mem=).
    size = std::min(size, memory_limit());
    m = make_tmpfs(k.mounts().size() + 100, size, mode);
  } else if (type == "sysfs") {
    m = make_sysfs(k.mounts().size() + 100);
  } else if (type == "hostfs") {
    std::string data;
    if (t.arg(4) && string_from_user(t, t.arg(4), data, 4096) < 0) return -EFAULT;
    if (int64_t r = hostfs_mount(data, flags & MS_RDONLY, k.mounts().size() + 100, m); r < 0) return r;
  } else if (type == "mqueue") {
    m = make_mqueue_mount();  // the VM's one mqueue tree (ipc/mqueue.h)
  } else if (type == "cgroup2") {
    m = make_cgroupfs(k.mounts().size() + 100);
  } else if (type == "ext2" || type == "ext3" || type == "ext4" || type.empty() || type == "auto") {
    PathRef src;
    if (int64_t r = resolve(t, AT_FDCWD, source, kFollow, src); r < 0) return r;
    Stat st;
    if (int64_t r = src.inode->getattr(st); r < 0) return r;
    if (!S_ISBLK(st.mode)) return -ENOTBLK;
    auto sb = k.disk_superblock(st.rdev, flags & MS_RDONLY);
    if (!sb) return -ENXIO;
    if (!sb->ok()) return sb->error();
    m = std::make_shared<Mount>();
    m->sb = sb->sb;
    m->root = sb->root;
    m->source = source;
    m->options = sb->sb->read_only ? "ro" : "rw";
  } else {
    return -ENODEV;
  }
  if (!source.empty()) m->source = source;
  else if (m->source.empty()) m->source = type;
  if (flags & MS_RDONLY) m->options = "ro";
  m->parent = where.mnt;
  m->mountpoint = where.inode;
  m->path = where.path;
  k.mounts().push_back(m);
  mount_changes().changed();
  return 0;
}

int64_t sys_umount2(Task& t) {
  if (t.proc->cred.euid != 0) return -EPERM;
  std::string target;
  if (int64_t r = get_path(t, 0, target); r < 0) return r;
  PathRef where;
  if (int64_t r = resolve(t, AT_FDCWD, target, kFollow, where); r < 0) return r;
  auto& mounts = kernel().mounts();
  if (where.inode != where.mnt->root || !where.mnt->parent) return -EINVAL;
  for (auto& m : mounts)
    if (m->parent == where.mnt) return -EBUSY;
  std::erase(mounts, where.mnt);
  mount_changes().changed();
  bool still_mounted = false;
  for (auto& m : mounts) still_mounted |= m->sb == where.mnt->sb;
  if (still_mounted) where.mnt->sb->sync();
  else where.mnt->sb->quiesce();
  return 0;
}

namespace {

const SyscallRow kRows[] = {
    UM_PARTIAL(mount, "sssxp",
               "ext2/3/4 ubd disks, proc, sysfs, cgroup2, devpts, tmpfs, devtmpfs, mqueue; bind mounts, MS_MOVE, ro/rw remounts, "
               "propagation flags (one namespace: no effect)"),
    UM_FULL(umount2, "sx"),
};

}  // namespace

std::span<const SyscallRow> mount_syscalls() { return kRows; }

}  // namespace um::kernel
