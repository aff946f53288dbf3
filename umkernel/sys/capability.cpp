// capget/capset: the capability sets of kernel/capability.h, in the three header versions
// Linux accepts (v1: 32 bits; v2 and v3: 64 bits as two 32-bit halves).
#include "umkernel/kernel/capability.h"

#include <sys/syscall.h>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

// Reads the header; returns the number of 32-bit words in the data (1 or 2), or -errno
// (-EINVAL with the preferred version written back for an unknown one).
int64_t read_header(Task& t, uint64_t addr, __user_cap_header_struct& h) {
  if (get_user(t, addr, h) < 0) return -EFAULT;
  switch (h.version) {
    case _LINUX_CAPABILITY_VERSION_1: return 1;
    case _LINUX_CAPABILITY_VERSION_2: case _LINUX_CAPABILITY_VERSION_3: return 2;
    default:
      h.version = _LINUX_CAPABILITY_VERSION_3;
      if (put_user(t, addr, h.version) < 0) return -EFAULT;
      return -EINVAL;
  }
}

}  // namespace

int64_t sys_capget(Task& t) {
  __user_cap_header_struct h;
  int64_t words = read_header(t, t.arg(0), h);
  // A probe (no data) for the version succeeds, also when it wrote the preferred one back.
  if (!t.arg(1)) return words >= 0 || words == -EINVAL ? 0 : words;
  if (words < 0) return words;
  if (h.pid < 0) return -EINVAL;
  std::shared_ptr<Process> p = h.pid == 0 ? t.proc : kernel().process_by_pid(h.pid);
  if (!p) {
    Task* other = kernel().task_by_tid(h.pid);
    if (!other) return -ESRCH;
    p = other->proc;
  }
  const Credentials& c = p->cred;
  __user_cap_data_struct d[2];
  for (int i = 0; i < 2; i++) {
    d[i].effective = static_cast<uint32_t>(c.cap_effective >> (32 * i));
    d[i].permitted = static_cast<uint32_t>(c.cap_permitted >> (32 * i));
    d[i].inheritable = static_cast<uint32_t>(c.cap_inheritable >> (32 * i));
  }
  return copy_to_user(t, t.arg(1), d, sizeof d[0] * static_cast<size_t>(words));
}

int64_t sys_capset(Task& t) {
  __user_cap_header_struct h;
  int64_t words = read_header(t, t.arg(0), h);
  if (words < 0) return words;
  // Only the caller's own sets can change.
  if (h.pid != 0 && h.pid != t.tid && h.pid != t.proc->pid) return -EPERM;
  __user_cap_data_struct d[2] = {};
  if (copy_from_user(t, d, t.arg(1), sizeof d[0] * static_cast<size_t>(words)) < 0) return -EFAULT;
  auto join = [&](uint32_t __user_cap_data_struct::*f) {
    return (static_cast<uint64_t>(d[1].*f) << 32 | d[0].*f) & kAllCaps;
  };
  uint64_t e = join(&__user_cap_data_struct::effective);
  uint64_t p = join(&__user_cap_data_struct::permitted);
  uint64_t i = join(&__user_cap_data_struct::inheritable);
  Credentials& c = t.proc->cred;
  // cap_capset(): inheritable within old inheritable | permitted (| bounding with
  // CAP_SETPCAP) and within inheritable | bounding; permitted can only shrink; effective
  // within the new permitted.
  uint64_t inh_limit = c.cap_inheritable | (has_cap(c, CAP_SETPCAP) ? c.cap_bounding : c.cap_permitted);
  if (i & ~inh_limit) return -EPERM;
  if (i & ~(c.cap_inheritable | c.cap_bounding)) return -EPERM;
  if (p & ~c.cap_permitted) return -EPERM;
  if (e & ~p) return -EPERM;
  c.cap_effective = e;
  c.cap_permitted = p;
  c.cap_inheritable = i;
  c.cap_ambient &= p & i;
  return 0;
}

namespace {
const SyscallRow kCapabilityRows[] = {
    UM_FULL(capget, "pp"),
    UM_FULL(capset, "pp"),
};
}  // namespace

std::span<const SyscallRow> capability_syscalls() { return kCapabilityRows; }

}  // namespace um::kernel
