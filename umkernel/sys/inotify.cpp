// inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch over vfs/inotify.h.
#include <sys/inotify.h>
#include <sys/syscall.h>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/inotify.h"
#include "umkernel/vfs/namei.h"

namespace um::kernel {

namespace {

int64_t init(Task& t, int flags) {
  if (flags & ~(IN_NONBLOCK | IN_CLOEXEC)) return -EINVAL;
  FilePtr f;
  make_inotify(flags, f);
  return t.proc->fds->install(f, flags & IN_CLOEXEC);
}

int64_t check_read_permission(Task& t, Inode& ino) {
  Stat st;
  if (int64_t r = ino.getattr(st); r < 0) return r;
  const Credentials& c = t.proc->cred;
  if (c.fsuid == 0) return 0;
  uint32_t bits = c.fsuid == st.uid ? (st.mode >> 6) : c.in_group(st.gid) ? (st.mode >> 3) : st.mode;
  return (bits & 4) ? 0 : -EACCES;
}

}  // namespace

int64_t sys_inotify_init(Task& t) { return init(t, 0); }
int64_t sys_inotify_init1(Task& t) { return init(t, static_cast<int>(t.arg(0))); }

int64_t sys_inotify_add_watch(Task& t) {
  int fd = static_cast<int>(t.arg(0));
  uint32_t mask = static_cast<uint32_t>(t.arg(2));
  if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE)) return -EINVAL;
  if (!(mask & IN_ALL_EVENTS)) return -EINVAL;
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  if (!is_inotify(*f)) return -EINVAL;
  std::string path;
  if (int64_t r = string_from_user(t, t.arg(1), path, 4096); r < 0) return r;
  if (path.empty()) return -ENOENT;
  int flags = (mask & IN_DONT_FOLLOW) ? 0 : kFollow;
  if (mask & IN_ONLYDIR) flags |= kMustBeDir;
  PathRef ref;
  if (int64_t r = resolve(t, AT_FDCWD, path, flags, ref); r < 0) return r;
  if (int64_t r = check_read_permission(t, *ref.inode); r < 0) return r;
  return inotify_add(*f, ref.inode, mask);
}

int64_t sys_inotify_rm_watch(Task& t) {
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  if (!is_inotify(*f)) return -EINVAL;
  return inotify_remove(*f, static_cast<int>(t.arg(1)));
}

namespace {
const SyscallRow kRows[] = {
    UM_FULL(inotify_init, ""),
    UM_FULL(inotify_init1, "x"),
    UM_PARTIAL(inotify_add_watch, "fsx", "events from every file system through the VFS calls; "
               "a directory sees no IN_ATTRIB for a child changed through another name"),
    UM_FULL(inotify_rm_watch, "fd"),
};
}  // namespace

std::span<const SyscallRow> inotify_syscalls() { return kRows; }

}  // namespace um::kernel
