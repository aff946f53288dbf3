// capget/capset: the capability sets of kernel/capability.h, in the three header versions
// Linux accepts (v1: 32 bits; v2 and v3: 64 bits as two 32-bit halves).
#include "umkernel/kernel/capability.h"

#include <sys/syscall.h>

#include <cstddef>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_ptr.h"

namespace um::kernel {

namespace {

using CapHeader = __user_cap_header_struct;
using CapData = __user_cap_data_struct;

// Reads the header; returns the number of 32-bit words in the data (1 or 2), or the errno
// (EINVAL with the preferred version written back for an unknown one).
KResult<size_t> read_header(Task& t, UserPtr<CapHeader> addr, CapHeader& h) {
  h = UM_TRY(addr.read(t));
  switch (h.version) {
    case _LINUX_CAPABILITY_VERSION_1: return size_t{1};
    case _LINUX_CAPABILITY_VERSION_2: case _LINUX_CAPABILITY_VERSION_3: return size_t{2};
    default: {
      UserPtr<uint32_t> version(addr.addr() + offsetof(CapHeader, version));
      UM_TRY(version.write(t, _LINUX_CAPABILITY_VERSION_3));
      return Errno{EINVAL};
    }
  }
}

}  // namespace

int64_t sys_capget(Task& t) {
  CapHeader h;
  auto data = t.ptr_arg<CapData>(1);
  KResult<size_t> header = read_header(t, t.ptr_arg<CapHeader>(0), h);
  // A probe (no data) for the version succeeds, also when it wrote the preferred one back.
  if (data.null()) return header.ok() || header.error().code == EINVAL ? 0 : int64_t{header.error()};
  size_t words = UM_TRY(std::move(header));
  if (h.pid < 0) return -EINVAL;
  std::shared_ptr<Process> p = h.pid == 0 ? t.proc : kernel().process_by_pid(h.pid);
  if (!p) {
    Task* other = kernel().task_by_tid(h.pid);
    if (!other) return -ESRCH;
    p = other->proc;
  }
  const Credentials& c = p->cred;
  CapData d[2];
  for (int i = 0; i < 2; i++) {
    d[i].effective = static_cast<uint32_t>(c.cap_effective >> (32 * i));
    d[i].permitted = static_cast<uint32_t>(c.cap_permitted >> (32 * i));
    d[i].inheritable = static_cast<uint32_t>(c.cap_inheritable >> (32 * i));
  }
  UM_TRY(data.write_array(t, d, words));
  return 0;
}

int64_t sys_capset(Task& t) {
  CapHeader h;
  size_t words = UM_TRY(read_header(t, t.ptr_arg<CapHeader>(0), h));
  // Only the caller's own sets can change.
  if (h.pid != 0 && h.pid != t.tid && h.pid != t.proc->pid) return -EPERM;
  CapData d[2] = {};
  UM_TRY(t.ptr_arg<CapData>(1).read_array(t, d, words));
  auto join = [&](uint32_t CapData::*f) {
    return (static_cast<uint64_t>(d[1].*f) << 32 | d[0].*f) & kAllCaps;
  };
  uint64_t e = join(&CapData::effective);
  uint64_t p = join(&CapData::permitted);
  uint64_t i = join(&CapData::inheritable);
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
