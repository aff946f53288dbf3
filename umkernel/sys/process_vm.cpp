// process_vm_readv/process_vm_writev: copying between the caller's memory and another guest
// process's (both through their /proc/PID/mem, kernel/user_memory.h), with ptrace's access
// rule; and sync_file_range.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <algorithm>
#include <vector>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

constexpr int64_t kIovMax = 1024;

int64_t read_iovs(Task& t, uint64_t addr, uint64_t cnt, std::vector<iovec>& out) {
  if (cnt > kIovMax) return -EINVAL;
  out.resize(cnt);
  if (cnt && copy_from_user(t, out.data(), addr, cnt * sizeof(iovec)) < 0) return -EFAULT;
  uint64_t total = 0;
  for (auto& v : out) {
    if (static_cast<int64_t>(v.iov_len) < 0) return -EINVAL;
    total += v.iov_len;
    if (total > static_cast<uint64_t>(INT64_MAX)) return -EINVAL;
  }
  return 0;
}

// Copies piece by piece until the first fault: bytes copied, or -EFAULT if none.
int64_t vm_copy(Task& t, bool write) {
  int64_t pid = static_cast<int32_t>(t.arg(0));
  if (t.arg(5) != 0) return -EINVAL;
  std::vector<iovec> local, remote;
  if (int64_t r = read_iovs(t, t.arg(1), t.arg(2), local); r < 0) return r;
  if (int64_t r = read_iovs(t, t.arg(3), t.arg(4), remote); r < 0) return r;
  Task* target = pid > 0 ? kernel().task_by_tid(static_cast<int>(pid)) : nullptr;
  if (!target || target->state == TaskState::Dead || !target->proc || target->proc->zombie) return -ESRCH;
  // ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS).
  const Credentials& c = t.proc->cred;
  const Credentials& d = target->proc->cred;
  bool same = c.uid == d.uid && c.uid == d.euid && c.uid == d.suid && c.gid == d.gid &&
              c.gid == d.egid && c.gid == d.sgid;
  if (target->proc != t.proc && !same && !capable(t, CAP_SYS_PTRACE)) return -EPERM;
  size_t li = 0, ri = 0;
  uint64_t loff = 0, roff = 0;
  int64_t done = 0;
  std::vector<char> buf;
  while (li < local.size() && ri < remote.size()) {
    if (local[li].iov_len == loff) { li++; loff = 0; continue; }
    if (remote[ri].iov_len == roff) { ri++; roff = 0; continue; }
    size_t n = std::min<uint64_t>({local[li].iov_len - loff, remote[ri].iov_len - roff, 1 << 20});
    buf.resize(n);
    uint64_t la = reinterpret_cast<uint64_t>(local[li].iov_base) + loff;
    uint64_t ra = reinterpret_cast<uint64_t>(remote[ri].iov_base) + roff;
    int64_t r = write ? copy_from_user(t, buf.data(), la, n) : copy_from_user(*target, buf.data(), ra, n);
    if (r == 0) r = write ? copy_to_user(*target, ra, buf.data(), n) : copy_to_user(t, la, buf.data(), n);
    if (r < 0) return done ? done : -EFAULT;
    done += static_cast<int64_t>(n);
    loff += n;
    roff += n;
  }
  return done;
}

}  // namespace

int64_t sys_process_vm_readv(Task& t) { return vm_copy(t, false); }
int64_t sys_process_vm_writev(Task& t) { return vm_copy(t, true); }

int64_t sys_sync_file_range(Task& t) {
  int64_t off = static_cast<int64_t>(t.arg(1)), n = static_cast<int64_t>(t.arg(2));
  unsigned flags = static_cast<unsigned>(t.arg(3));
  constexpr unsigned kValid = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  if (flags & ~kValid) return -EINVAL;
  if (off < 0 || n < 0 || off + n < off) return -EINVAL;
  FilePtr f = t.proc->fds->get(static_cast<int>(t.arg(0)));
  if (!f) return -EBADF;
  if (!f->inode()) return -ESPIPE;
  Stat st;
  if (f->inode()->getattr(st) == 0 && !S_ISREG(st.mode) && !S_ISBLK(st.mode) && !S_ISDIR(st.mode) &&
      !S_ISLNK(st.mode))
    return -ESPIPE;
  // Writing back a range is writing back the file here (the file systems sync whole files).
  if (flags & SYNC_FILE_RANGE_WRITE) return f->inode()->fsync();
  return 0;
}

namespace {
const SyscallRow kRows[] = {
    UM_FULL(process_vm_readv, "dpupux"),
    UM_FULL(process_vm_writev, "dpupux"),
    UM_PARTIAL(sync_file_range, "fddx", "SYNC_FILE_RANGE_WRITE writes the whole file back"),
};
}  // namespace

std::span<const SyscallRow> process_vm_syscalls() { return kRows; }

}  // namespace um::kernel
