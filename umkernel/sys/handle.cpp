// File handles: name_to_handle_at and open_by_handle_at (Linux's fs/fhandle.c). A handle names
// an inode of a file system that can find inodes by number again (ext2/3/4 disks and tmpfs,
// as Linux's export operations); others (proc, sysfs, devpts, hostfs...) answer EOPNOTSUPP,
// as Linux's do for file systems without them. The handle is FILEID_INO32_GEN: the inode
// number and a generation (ext: from the inode's creation time), so a handle of a deleted
// file is ESTALE even when its number is reused.
#include <fcntl.h>
#include <sys/syscall.h>

#include <cstring>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/extfs.h"
#include "umkernel/vfs/namei.h"
#include "umkernel/vfs/tmpfs.h"

namespace um::kernel {

int64_t do_open_ref(Task& t, const PathRef& ref, int flags);  // sys/fs.cpp

namespace {

constexpr int kFileIdIno32Gen = 1;
constexpr uint32_t kMaxHandleSize = 128;  // MAX_HANDLE_SZ

struct HandleHeader {  // struct file_handle without its bytes
  uint32_t handle_bytes;
  int32_t handle_type;
};
struct InoGen {
  uint32_t ino, gen;
};

bool has_handles(SuperBlock& sb) { return dynamic_cast<ExtSuperBlock*>(&sb) || is_tmpfs(sb); }

uint32_t generation(Inode& inode) {
  if (!dynamic_cast<ExtSuperBlock*>(inode.sb())) return 0;  // tmpfs never reuses a number
  Stat st;
  if (inode.getattr(st) < 0) return 0;
  return static_cast<uint32_t>(st.btime.tv_sec) ^ static_cast<uint32_t>(st.btime.tv_nsec);
}

}  // namespace

int64_t sys_name_to_handle_at(Task& t) {
  int dirfd = t.int_arg(0);
  uint64_t handle_addr = t.arg(2), mnt_addr = t.arg(3);
  int flags = t.int_arg(4);
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  std::string path;
  if (int64_t r = string_from_user(t, t.arg(1), path, 4096); r < 0) return r;
  HandleHeader h;
  if (get_user(t, handle_addr, h) < 0) return -EFAULT;
  if (h.handle_bytes > kMaxHandleSize) return -EINVAL;
  PathRef ref;
  int lf = (flags & AT_SYMLINK_FOLLOW) ? kFollow : 0;
  if (flags & AT_EMPTY_PATH) lf |= kEmptyPathOk;
  if (int64_t r = resolve(t, dirfd, path, lf, ref); r < 0) return r;
  if (!ref.mnt || !has_handles(*ref.inode->sb())) return -EOPNOTSUPP;
  int64_t result = 0;
  HandleHeader out{sizeof(InoGen), kFileIdIno32Gen};
  if (h.handle_bytes < sizeof(InoGen)) {
    out.handle_type = 0;  // too small: the size needed, and EOVERFLOW
    result = -EOVERFLOW;
  }
  int id = ref.mnt->id;  // as /proc/PID/mountinfo shows it
  if (put_user(t, mnt_addr, id) < 0 || put_user(t, handle_addr, out) < 0) return -EFAULT;
  if (result == 0) {
    InoGen ig{static_cast<uint32_t>(ref.inode->ino()), generation(*ref.inode)};
    if (put_user(t, handle_addr + sizeof out, ig) < 0) return -EFAULT;
  }
  return result;
}

int64_t sys_open_by_handle_at(Task& t) {
  int mount_fd = t.int_arg(0);
  uint64_t handle_addr = t.arg(1);
  int flags = t.int_arg(2);
  if (!capable(t, CAP_DAC_READ_SEARCH)) return -EPERM;
  PathRef where;
  if (int64_t r = dir_start(t, mount_fd, where); r < 0) return r == -ENOTDIR ? -EBADF : r;
  HandleHeader h;
  if (get_user(t, handle_addr, h) < 0) return -EFAULT;
  if (h.handle_bytes == 0 || h.handle_bytes > kMaxHandleSize) return -EINVAL;
  if (h.handle_type != kFileIdIno32Gen || h.handle_bytes < sizeof(InoGen)) return -ESTALE;
  InoGen ig;
  if (get_user(t, handle_addr + sizeof h, ig) < 0) return -EFAULT;
  SuperBlock& sb = *where.mnt->sb;
  InodePtr inode;
  if (auto* ext = dynamic_cast<ExtSuperBlock*>(&sb)) {
    if (ig.ino < 1 || ig.ino > ext->fs().info().inodes_total) return -ESTALE;
    inode = ext->inode(ig.ino);
  } else if (is_tmpfs(sb)) {
    inode = tmpfs_inode_by_number(sb, ig.ino);
  } else {
    return -EOPNOTSUPP;
  }
  Stat st;
  if (!inode || inode->getattr(st) < 0 || st.nlink == 0 || st.mode == 0 || generation(*inode) != ig.gen)
    return -ESTALE;
  // The file has no path here: it is named from the mount's root, as Linux shows "/".
  PathRef ref{where.mnt, inode, where.mnt->path.empty() ? "/" : where.mnt->path};
  return do_open_ref(t, ref, flags);
}

namespace {

const SyscallRow kRows[] = {
    UM_PARTIAL(name_to_handle_at, "fsppx", "ext2/3/4 and tmpfs; other file systems EOPNOTSUPP"),
    UM_PARTIAL(open_by_handle_at, "fpo", "ext2/3/4 and tmpfs; other file systems EOPNOTSUPP"),
};

}  // namespace

std::span<const SyscallRow> handle_syscalls() { return kRows; }

}  // namespace um::kernel
