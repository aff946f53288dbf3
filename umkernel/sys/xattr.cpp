// Extended attributes: getxattr, setxattr, listxattr, removexattr and their l- and f- forms.
#include <sys/xattr.h>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/sys/fs_args.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/vfs/posix_acl.h"

namespace um::kernel {

using namespace fs_args;

// --- extended attributes ---
namespace {
enum class XattrTarget { Path, LinkPath, Fd };

int64_t xattr_inode(Task& t, XattrTarget how, InodePtr& out) {
  if (how == XattrTarget::Fd) {
    FilePtr f = t.proc->fds->get(fdarg(t, 0));
    if (!f) return -EBADF;
    if (!f->inode()) return -EOPNOTSUPP;
    out = f->inode_ptr();
    return 0;
  }
  PathRef ref;
  if (int64_t r = resolve_target(t, AT_FDCWD, t.arg(0), how == XattrTarget::Path ? kFollow : 0, ref); r < 0) return r;
  out = ref.inode;
  return 0;
}

int64_t xattr_name(Task& t, uint64_t addr, std::string& name) {
  if (int64_t r = string_from_user(t, addr, name, 255); r < 0) return r == -ENAMETOOLONG ? -ERANGE : r;
  if (name.empty()) return -ERANGE;
  if (name.find('.') == std::string::npos) return -EOPNOTSUPP;
  return 0;
}

// getxattr/listxattr's reply: size 0 asks for the length, a smaller buffer is ERANGE.
int64_t copy_out_sized(Task& t, uint64_t addr, uint64_t size, const std::string& data) {
  if (size == 0) return static_cast<int64_t>(data.size());
  if (size < data.size()) return -ERANGE;
  if (!data.empty() && copy_to_user(t, addr, data.data(), data.size()) < 0) return -EFAULT;
  return static_cast<int64_t>(data.size());
}

int64_t do_getxattr(Task& t, XattrTarget how) {
  InodePtr ino;
  if (int64_t r = xattr_inode(t, how, ino); r < 0) return r;
  std::string name, value;
  if (int64_t r = xattr_name(t, t.arg(1), name); r < 0) return r;
  if (int64_t r = ino->getxattr(name, value); r < 0) return r;
  return copy_out_sized(t, t.arg(2), t.arg(3), value);
}

// xattr_permission for a change (set or remove): the owner or root for the trusted, security
// and system namespaces, and write permission on the inode for every namespace.
int64_t may_change_xattr(Task& t, Inode& ino, const std::string& name) {
  Stat st;
  if (int64_t r = ino.getattr(st); r < 0) return r;
  if (!is_owner_or_root(t, st) && name.rfind("user.", 0) != 0) return -EPERM;
  return check_permission(t, ino, 2);
}

// An ACL attribute, as Linux's posix_acl_xattr_set: the owner (or CAP_FOWNER) may set it
// whatever the file's permission bits; an access ACL the mode bits can say is only a chmod
// (the attribute is not stored); a default ACL is for directories only.
int64_t set_acl(Task& t, Inode& ino, const std::string& name, const std::string& value, int flags) {
  Stat st;
  if (int64_t r = ino.getattr(st); r < 0) return r;
  if (S_ISLNK(st.mode)) return -EOPNOTSUPP;
  if (!is_owner_or_root(t, st) && !capable(t, CAP_FOWNER)) return -EPERM;
  if (ino.sb()->read_only) return -EROFS;
  std::vector<posix_acl::Entry> acl;
  if (int64_t r = posix_acl::parse(value, acl); r < 0) return r;
  auto remove = [&]() -> int64_t {
    int64_t r = ino.removexattr(name);
    return r == -ENODATA ? 0 : r;
  };
  if (name == posix_acl::kDefault) {
    if (!S_ISDIR(st.mode)) return acl.empty() ? 0 : -EACCES;
    return acl.empty() ? remove() : ino.setxattr(name, value, flags);
  }
  if (acl.empty()) return remove();  // no entries: the ACL goes, the mode stays
  uint32_t mode = st.mode & 07777;
  bool keep = posix_acl::to_mode(acl, mode);
  // posix_acl_update_mode: the setgid bit goes for a caller outside the group without CAP_FSETID.
  const Credentials& c = t.proc->cred;
  if (c.fsuid != 0 && st.gid != c.fsgid && !c.in_group(st.gid) && !capable(t, CAP_FSETID)) mode &= ~S_ISGID;
  if (int64_t r = keep ? ino.setxattr(name, value, flags) : remove(); r < 0) return r;
  AttrChange ch;
  ch.set_mode = true;
  ch.mode = mode;
  return ino.setattr(ch);
}

int64_t do_setxattr(Task& t, XattrTarget how) {
  InodePtr ino;
  if (int64_t r = xattr_inode(t, how, ino); r < 0) return r;
  std::string name;
  if (int64_t r = xattr_name(t, t.arg(1), name); r < 0) return r;
  uint64_t size = t.arg(3);
  int flags = static_cast<int>(t.arg(4));
  if (size > 65536) return -E2BIG;
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return -EINVAL;
  std::string value(size, '\0');
  if (size && copy_from_user(t, value.data(), t.arg(2), size) < 0) return -EFAULT;
  if (name == posix_acl::kAccess || name == posix_acl::kDefault) return set_acl(t, *ino, name, value, flags);
  if (int64_t r = may_change_xattr(t, *ino, name); r < 0) return r;
  return ino->setxattr(name, value, flags);
}

int64_t do_listxattr(Task& t, XattrTarget how) {
  InodePtr ino;
  if (int64_t r = xattr_inode(t, how, ino); r < 0) return r;
  std::string names;
  if (int64_t r = ino->listxattr(names); r < 0) return r;
  return copy_out_sized(t, t.arg(1), t.arg(2), names);
}

int64_t do_removexattr(Task& t, XattrTarget how) {
  InodePtr ino;
  if (int64_t r = xattr_inode(t, how, ino); r < 0) return r;
  std::string name;
  if (int64_t r = xattr_name(t, t.arg(1), name); r < 0) return r;
  if (int64_t r = may_change_xattr(t, *ino, name); r < 0) return r;
  return ino->removexattr(name);
}
}  // namespace

int64_t sys_getxattr(Task& t) { return do_getxattr(t, XattrTarget::Path); }
int64_t sys_lgetxattr(Task& t) { return do_getxattr(t, XattrTarget::LinkPath); }
int64_t sys_fgetxattr(Task& t) { return do_getxattr(t, XattrTarget::Fd); }
int64_t sys_setxattr(Task& t) { return do_setxattr(t, XattrTarget::Path); }
int64_t sys_lsetxattr(Task& t) { return do_setxattr(t, XattrTarget::LinkPath); }
int64_t sys_fsetxattr(Task& t) { return do_setxattr(t, XattrTarget::Fd); }
int64_t sys_listxattr(Task& t) { return do_listxattr(t, XattrTarget::Path); }
int64_t sys_llistxattr(Task& t) { return do_listxattr(t, XattrTarget::LinkPath); }
int64_t sys_flistxattr(Task& t) { return do_listxattr(t, XattrTarget::Fd); }
int64_t sys_removexattr(Task& t) { return do_removexattr(t, XattrTarget::Path); }
int64_t sys_lremovexattr(Task& t) { return do_removexattr(t, XattrTarget::LinkPath); }
int64_t sys_fremovexattr(Task& t) { return do_removexattr(t, XattrTarget::Fd); }

namespace {

const SyscallRow kRows[] = {
    UM_FULL(getxattr, "sspu"), UM_FULL(lgetxattr, "sspu"), UM_FULL(fgetxattr, "fspu"),
    UM_FULL(setxattr, "sspux"), UM_FULL(lsetxattr, "sspux"), UM_FULL(fsetxattr, "fspux"),
    UM_FULL(listxattr, "spu"), UM_FULL(llistxattr, "spu"), UM_FULL(flistxattr, "fpu"),
    UM_FULL(removexattr, "ss"), UM_FULL(lremovexattr, "ss"), UM_FULL(fremovexattr, "fs"),
};

}  // namespace

std::span<const SyscallRow> xattr_syscalls() { return kRows; }

}  // namespace um::kernel
