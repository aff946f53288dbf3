// Memory calls that the guest's own host process makes for real, because guest memory is
// that process's memory: mlock/munlock/mlockall (pages really pinned, counted against
// the guest's RLIMIT_MEMLOCK without CAP_IPC_LOCK), mincore (residency as the host sees it)
// and membarrier (guest threads are host threads of one host address space).
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <fstream>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/exec.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"

namespace um::kernel {

namespace {

constexpr uint64_t kPage = 4096;

// The page-aligned range [addr, addr+len) covers; false if it wraps.
bool page_range(uint64_t addr, uint64_t len, uint64_t& start, uint64_t& size) {
  start = addr & ~(kPage - 1);
  uint64_t end = addr + len;
  if (end < addr) return false;
  end = (end + kPage - 1) & ~(kPage - 1);
  if (end < start) return false;
  size = end - start;
  return true;
}

uint64_t host_vm_bytes(const Process& p) {
  return p.memory ? p.memory->usage().vsize_pages * kPage : 0;
}

// The caller may lock `bytes` more: 0, -EPERM (no allowance at all) or -ENOMEM.
int64_t may_lock(Task& t, uint64_t bytes) {
  if (capable(t, CAP_IPC_LOCK)) return 0;
  rlim_t lim = t.proc->rlimits[RLIMIT_MEMLOCK].rlim_cur;
  if (lim == RLIM_INFINITY) return 0;
  if (lim == 0) return -EPERM;
  if (t.proc->locked_bytes + bytes > lim) return -ENOMEM;
  return 0;
}

int64_t do_mlock(Task& t, uint64_t addr, uint64_t len, bool onfault) {
  uint64_t start, size;
  if (!page_range(addr, len, start, size)) return -EINVAL;
  if (size == 0) return 0;
  if (t.proc->memory->reserved(start, size)) return -ENOMEM;
  if (int64_t r = may_lock(t, size); r < 0) return r;
  int64_t r = onfault ? t.proc->memory->memory_call(SYS_mlock2, start, size, MLOCK_ONFAULT)
                      : t.proc->memory->memory_call(SYS_mlock, start, size);
  if (r == 0) t.proc->locked_bytes += size;
  return r;
}

}  // namespace

int64_t sys_mlock(Task& t) { return do_mlock(t, t.arg(0), t.arg(1), false); }

int64_t sys_mlock2(Task& t) {
  if (t.arg(2) & ~static_cast<uint64_t>(MLOCK_ONFAULT)) return -EINVAL;
  return do_mlock(t, t.arg(0), t.arg(1), t.arg(2) & MLOCK_ONFAULT);
}

int64_t sys_munlock(Task& t) {
  uint64_t start, size;
  if (!page_range(t.arg(0), t.arg(1), start, size)) return -EINVAL;
  if (size == 0) return 0;
  if (t.proc->memory->reserved(start, size)) return -ENOMEM;
  int64_t r = t.proc->memory->memory_call(SYS_munlock, start, size);
  if (r == 0) t.proc->locked_bytes -= std::min(t.proc->locked_bytes, size);
  return r;
}

int64_t sys_mlockall(Task& t) {
  uint64_t flags = t.arg(0);
  if (!flags || (flags & ~static_cast<uint64_t>(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
      flags == MCL_ONFAULT)
    return -EINVAL;
  if (!capable(t, CAP_IPC_LOCK)) {
    rlim_t lim = t.proc->rlimits[RLIMIT_MEMLOCK].rlim_cur;
    if (lim == 0) return -EPERM;
    if ((flags & MCL_CURRENT) && lim != RLIM_INFINITY && host_vm_bytes(*t.proc) > lim) return -ENOMEM;
  }
  int64_t r = t.proc->memory->memory_call(SYS_mlockall, flags);
  if (r == 0 && (flags & MCL_CURRENT)) t.proc->locked_bytes = host_vm_bytes(*t.proc);
  return r;
}

int64_t sys_munlockall(Task& t) {
  int64_t r = t.proc->memory->memory_call(SYS_munlockall);
  if (r == 0) t.proc->locked_bytes = 0;
  return r;
}

int64_t sys_mincore(Task& t) {
  uint64_t addr = t.arg(0), len = t.arg(1);
  if (addr & (kPage - 1)) return -EINVAL;
  uint64_t start, size;
  if (!page_range(addr, len, start, size)) return -ENOMEM;
  if (size && t.proc->memory->reserved(start, size)) return -ENOMEM;
  // The vector is guest memory in the same host address space: the host fills it.
  return t.proc->memory->memory_call(SYS_mincore, addr, len, t.arg(2));
}

int64_t sys_membarrier(Task& t) {
  int cmd = static_cast<int>(t.arg(0));
  unsigned flags = static_cast<unsigned>(t.arg(1));
  // Guest threads are host threads of one host process per guest process, so the host's
  // barriers are the guest's. RSEQ variants need rseq, which umkernel does not offer.
  constexpr int kRseqCmds = MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ;
  if (cmd & kRseqCmds) return -EINVAL;
  int64_t r = t.proc->memory->memory_call(SYS_membarrier, static_cast<uint64_t>(cmd), flags, t.arg(2));
  if (cmd == MEMBARRIER_CMD_QUERY && r > 0) r &= ~static_cast<int64_t>(kRseqCmds);
  return r;
}

namespace {
const SyscallRow kMemlockRows[] = {
    UM_FULL(mlock, "xu"),
    UM_FULL(mlock2, "xux"),
    UM_FULL(munlock, "xu"),
    UM_FULL(mlockall, "x"),
    UM_FULL(munlockall, ""),
    UM_FULL(mincore, "xup"),
    UM_PARTIAL(membarrier, "dxd", "no RSEQ commands (umkernel has no rseq)"),
};
}  // namespace

std::span<const SyscallRow> memlock_syscalls() { return kMemlockRows; }

}  // namespace um::kernel
