// kcmp: whether two processes share a kernel object (open file, fd table, address space,
// fs context, signal handlers...), and personality(2).
#include <linux/kcmp.h>
#include <sys/personality.h>
#include <sys/syscall.h>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/event_files.h"

namespace um::kernel {

namespace {

// Linux orders objects by (obfuscated) address: 0 equal, 1 less, 2 greater.
int64_t order(const void* a, const void* b) {
  auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return x == y ? 0 : x < y ? 1 : 2;
}
int64_t order(uint64_t x, uint64_t y) { return x == y ? 0 : x < y ? 1 : 2; }

// ptrace_may_access(PTRACE_MODE_READ_REALCREDS): same real and saved ids, or CAP_SYS_PTRACE.
bool may_inspect(Task& t, const Process& p) {
  if (&p == t.proc.get() || capable(t, CAP_SYS_PTRACE)) return true;
  const Credentials& c = t.proc->cred;
  const Credentials& o = p.cred;
  return c.uid == o.uid && c.uid == o.euid && c.uid == o.suid && c.gid == o.gid && c.gid == o.egid &&
         c.gid == o.sgid;
}

}  // namespace

int64_t sys_kcmp(Task& t) {
  int pid1 = static_cast<int>(t.arg(0)), pid2 = static_cast<int>(t.arg(1));
  int type = static_cast<int>(t.arg(2));
  uint64_t idx1 = t.arg(3), idx2 = t.arg(4);
  Task* t1 = kernel().task_by_tid(pid1);
  Task* t2 = kernel().task_by_tid(pid2);
  if (!t1 || !t2 || t1->state == TaskState::Dead || t2->state == TaskState::Dead) return -ESRCH;
  Process& p1 = *t1->proc;
  Process& p2 = *t2->proc;
  if (!may_inspect(t, p1) || !may_inspect(t, p2)) return -EPERM;
  switch (type) {
    case KCMP_FILE: {
      FilePtr f1 = p1.fds ? p1.fds->get(static_cast<int>(idx1)) : nullptr;
      FilePtr f2 = p2.fds ? p2.fds->get(static_cast<int>(idx2)) : nullptr;
      if (!f1 || !f2 || idx1 > INT32_MAX || idx2 > INT32_MAX) return -EBADF;
      return order(f1.get(), f2.get());
    }
    case KCMP_VM: return order(p1.mm_id, p2.mm_id);
    case KCMP_FILES: return order(p1.fds.get(), p2.fds.get());
    case KCMP_FS: return order(p1.fs.get(), p2.fs.get());
    case KCMP_SIGHAND: return order(p1.sighand.get(), p2.sighand.get());
    // I/O contexts are shared by CLONE_IO only, which umkernel never does: per thread.
    case KCMP_IO: return order(t1, t2);
    // SysV semaphore undo lists go with the thread group (CLONE_SYSVSEM, as glibc's threads).
    case KCMP_SYSVSEM: return order(&p1, &p2);
    case KCMP_EPOLL_TFD: {
      kcmp_epoll_slot slot;
      if (get_user(t, idx2, slot) < 0) return -EFAULT;
      FilePtr f1 = p1.fds ? p1.fds->get(static_cast<int>(idx1)) : nullptr;
      FilePtr ep = p2.fds ? p2.fds->get(static_cast<int>(slot.efd)) : nullptr;
      if (!f1 || !ep || idx1 > INT32_MAX) return -EBADF;
      auto* epoll = dynamic_cast<EpollFile*>(ep.get());
      if (!epoll) return -EINVAL;
      FilePtr target = epoll->registered(static_cast<int>(slot.tfd), slot.toff);
      if (!target) return -ENOENT;
      return order(f1.get(), target.get());
    }
    default:
      return -EINVAL;
  }
}

int64_t sys_personality(Task& t) {
  uint32_t old = t.proc->personality;
  uint32_t nv = static_cast<uint32_t>(t.arg(0));
  if (nv != 0xffffffffu) t.proc->personality = nv;
  return old;
}

namespace {
const SyscallRow kKcmpRows[] = {
    UM_FULL(kcmp, "dddxx"),
    UM_PARTIAL(personality, "x", "kept and inherited; only PER_LINUX behaviour (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC... change nothing)"),
};
}  // namespace

std::span<const SyscallRow> kcmp_syscalls() { return kKcmpRows; }

}  // namespace um::kernel
