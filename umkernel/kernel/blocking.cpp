#include "umkernel/kernel/blocking.h"

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/time_ns.h"

namespace um::kernel {

bool deadline_passed(Task& t, int64_t timeout_ns) {
  if (timeout_ns < 0) return false;
  int64_t now = monotonic_ns();
  if (t.sys_deadline_ns < 0) t.sys_deadline_ns = deadline_after(now, timeout_ns);
  return now >= t.sys_deadline_ns;
}

int64_t park_on(Task& t, WaitQueue& q, int64_t timeout_ns) {
  if (timeout_ns == 0) return -EAGAIN;
  if (timeout_ns > 0) {
    if (deadline_passed(t, timeout_ns)) return -EAGAIN;
    t.sys_restartable = false;
  }
  t.wait_on(q);
  return kBlock;
}

}  // namespace um::kernel
