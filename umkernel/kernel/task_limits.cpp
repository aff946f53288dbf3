#include "umkernel/kernel/task_limits.h"

#include <algorithm>
#include <cerrno>

#include "core/log.h"
#include "umkernel/kernel/kernel.h"

namespace um::kernel {

namespace {
int g_tasks_max = 2048;
}

int default_tasks_max(uint64_t mem_bytes) {
  return static_cast<int>(std::clamp<uint64_t>(mem_bytes / (128 << 10), 64, 32768));
}

void set_tasks_max(int n) { g_tasks_max = n; }
int tasks_max() { return g_tasks_max; }

size_t Kernel::task_count() const { return count_tasks([](const Process&) { return true; }); }

// Each process not yet reaped counts its live threads, a zombie one (it still holds its pid).
// A task that died but whose host process is not collected yet no longer counts, as in Linux
// where wait() returns after release_task: the host briefly holds at most a few more.
size_t Kernel::count_tasks(const std::function<bool(const Process&)>& which) const {
  size_t n = 0;
  for (auto& [pid, p] : processes_) {
    if (p->reaped || !which(*p)) continue;
    size_t live = 0;
    for (Task* t : p->threads) live += t->state != TaskState::Dead;
    n += std::max<size_t>(1, live);
  }
  return n;
}

int64_t check_task_limits(const Process& parent) {
  Kernel& k = kernel();
  // Tasks not yet reaped count, as in Linux's nr_threads: a zombie still holds its pid.
  size_t total = k.task_count();
  if (total >= static_cast<size_t>(g_tasks_max)) {
    static bool warned = false;
    if (!warned) UM_WARN("guest reached tasks_max=%d: fork and clone fail with EAGAIN", g_tasks_max);
    warned = true;
    return -EAGAIN;
  }
  // RLIMIT_NPROC: the tasks of the parent's real user (Linux: copy_process, ucounts); root
  // has CAP_SYS_RESOURCE and is exempt.
  uint32_t uid = parent.cred.uid;
  if (uid == 0) return 0;
  rlim_t limit = parent.rlimits[RLIMIT_NPROC].rlim_cur;
  if (limit == RLIM_INFINITY) return 0;
  size_t n = k.count_tasks([uid](const Process& p) { return p.cred.uid == uid; });
  return n >= limit ? -EAGAIN : 0;
}

}  // namespace um::kernel
