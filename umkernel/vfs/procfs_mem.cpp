#include "umkernel/vfs/procfs_mem.h"

#include <fcntl.h>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"

namespace um::kernel {

namespace {

class MemFile : public File {
 public:
  MemFile(InodePtr inode, int flags, std::shared_ptr<platform::AddressSpace> as)
      : File(std::move(inode), flags), as_(std::move(as)) {}
  int64_t read(Task&, void* buf, size_t n, int64_t* off) override {
    uint64_t at = static_cast<uint64_t>(off ? *off : pos);
    n = std::min<size_t>(n, 1 << 20);
    size_t got = as_->read_partial(buf, at, n);
    if (got == 0 && n) return -EIO;
    if (!off) pos += static_cast<int64_t>(got);
    return static_cast<int64_t>(got);
  }
  int64_t write(Task&, const void* buf, size_t n, int64_t* off) override {
    uint64_t at = static_cast<uint64_t>(off ? *off : pos);
    n = std::min<size_t>(n, 1 << 20);
    if (n && as_->write(at, buf, n) != 0) return -EIO;
    if (!off) pos += static_cast<int64_t>(n);
    return static_cast<int64_t>(n);
  }
  int64_t seek(int64_t o, int whence) override {
    if (whence == SEEK_SET) pos = o;
    else if (whence == SEEK_CUR) pos += o;
    else return -EINVAL;
    return pos;
  }

 private:
  std::shared_ptr<platform::AddressSpace> as_;
};

class MemInode : public SyntheticInode {
 public:
  MemInode(SyntheticSuperBlock* sb, uint64_t ino, std::weak_ptr<Process> wp)
      : SyntheticInode(sb, ino, S_IFREG | 0600), wp_(std::move(wp)) {}
  int64_t getattr(Stat& st) override {  // owned by the process's user, as Linux's
    if (auto p = wp_.lock()) { uid_ = p->cred.euid; gid_ = p->cred.egid; }
    return SyntheticInode::getattr(st);
  }
  int64_t open(Task& t, int flags, FilePtr& out) override {
    auto p = wp_.lock();
    if (!p || p->zombie || !p->memory) return -ESRCH;
    // ptrace_may_access(PTRACE_MODE_ATTACH_FSCREDS).
    const Credentials& c = t.proc->cred;
    const Credentials& d = p->cred;
    bool same = c.fsuid == d.uid && c.fsuid == d.euid && c.fsuid == d.suid && c.fsgid == d.gid &&
                c.fsgid == d.egid && c.fsgid == d.sgid;
    if (p.get() != t.proc.get() && !same && !capable(t, CAP_SYS_PTRACE)) return -EACCES;
    out = std::make_shared<MemFile>(shared_from_this(), flags, p->memory);
    return 0;
  }

 private:
  std::weak_ptr<Process> wp_;
};

}  // namespace

InodePtr make_proc_mem(SyntheticSuperBlock* sb, std::weak_ptr<Process> wp) {
  return std::make_shared<MemInode>(sb, sb->next_ino(), std::move(wp));
}

}  // namespace um::kernel
