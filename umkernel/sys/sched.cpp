// Scheduling attributes: CPU affinity, policies and real-time priorities (sched_*), I/O
// priorities (ioprio_*). umkernel does not schedule guest threads itself (the host runs them),
// so these are the attributes Linux keeps and reports, with Linux's checks: who may change
// whose, which values are valid, what fork inherits (SCHED_RESET_ON_FORK).
#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/kernel/user_ptr.h"

namespace um::kernel {

uint64_t all_cpus_mask() {
  static const uint64_t mask = [] {
    long n = std::clamp<long>(sysconf(_SC_NPROCESSORS_ONLN), 1, 64);
    return n >= 64 ? ~0ull : ((1ull << n) - 1);
  }();
  return mask;
}

TaskSched TaskSched::forked() const {
  TaskSched c = *this;
  if (reset_on_fork) {
    if (policy == SCHED_FIFO || policy == SCHED_RR || policy == SCHED_DEADLINE) {
      c.policy = SCHED_OTHER;
      c.rt_priority = 0;
      c.dl_runtime = c.dl_deadline = c.dl_period = 0;
    }
    c.reset_on_fork = false;
  }
  return c;
}

namespace {

constexpr int kIoprioClassShift = 13;
constexpr int kIoprioWhoProcess = 1, kIoprioWhoPgrp = 2, kIoprioWhoUser = 3;
constexpr int kIoprioClassNone = 0, kIoprioClassRt = 1, kIoprioClassBe = 2, kIoprioClassIdle = 3;
constexpr uint32_t kSchedAttrSizeVer0 = 48, kSchedAttrSizeVer1 = 56;

// Linux's struct sched_attr (version 1, with the utilization clamps).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
  uint32_t sched_util_min, sched_util_max;
};
static_assert(sizeof(SchedAttr) == kSchedAttrSizeVer1);

// The thread `pid` names (0: the caller), or nullptr.
Task* find_task(Task& t, int64_t pid) {
  if (pid == 0) return &t;
  if (pid < 0 || pid > INT32_MAX) return nullptr;
  Task* o = kernel().task_by_tid(static_cast<int>(pid));
  return o && o->state != TaskState::Dead ? o : nullptr;
}

// Linux's check_same_owner() || CAP_SYS_NICE.
bool may_change(Task& t, Task& target) {
  const Credentials& c = t.proc->cred;
  const Credentials& o = target.proc->cred;
  return c.euid == o.euid || c.euid == o.uid || capable(t, CAP_SYS_NICE);
}

bool rt_policy(int p) { return p == SCHED_FIFO || p == SCHED_RR; }
bool valid_policy(int p) {
  return p == SCHED_OTHER || p == SCHED_FIFO || p == SCHED_RR || p == SCHED_BATCH ||
         p == SCHED_IDLE || p == SCHED_DEADLINE;
}

struct NewSched {
  int policy;           // -1: keep the current one
  int priority;
  bool reset_on_fork;
  bool set_nice = false;
  int nice = 0;
  uint64_t runtime = 0, deadline = 0, period = 0;
};

// __sched_setscheduler(): validates and applies.
int64_t set_sched(Task& t, Task& target, NewSched n) {
  TaskSched& s = target.sched;
  if (n.policy < 0) {
    n.policy = s.policy;
    n.reset_on_fork = s.reset_on_fork;
  }
  if (!valid_policy(n.policy)) return -EINVAL;
  if (n.priority < 0 || n.priority > 99) return -EINVAL;
  if (rt_policy(n.policy) != (n.priority != 0)) return -EINVAL;
  if (n.policy == SCHED_DEADLINE) {
    uint64_t period = n.period ? n.period : n.deadline;
    if (n.deadline == 0 || n.runtime < 1024 || n.runtime > n.deadline || n.deadline > period ||
        (period >> 63) || (n.deadline >> 63))
      return -EINVAL;
    n.period = period;
  }
  if (!capable(t, CAP_SYS_NICE)) {
    const rlimit& rtprio = target.proc->rlimits[RLIMIT_RTPRIO];
    if (rt_policy(n.policy)) {
      // Unprivileged: raising the RT priority is bounded by RLIMIT_RTPRIO.
      uint64_t cur = rt_policy(s.policy) ? static_cast<uint64_t>(s.rt_priority) : 0;
      if (n.policy != s.policy && rtprio.rlim_cur == 0) return -EPERM;
      if (static_cast<uint64_t>(n.priority) > cur && static_cast<uint64_t>(n.priority) > rtprio.rlim_cur)
        return -EPERM;
    }
    if (n.policy == SCHED_DEADLINE) return -EPERM;
    // Leaving SCHED_IDLE needs a nice value the caller may have.
    if (s.policy == SCHED_IDLE && n.policy != SCHED_IDLE) {
      rlim_t lim = target.proc->rlimits[RLIMIT_NICE].rlim_cur;
      if (static_cast<rlim_t>(20 - target.proc->nice) > lim) return -EPERM;
    }
    if (s.reset_on_fork && !n.reset_on_fork) return -EPERM;
    if (!may_change(t, target)) return -EPERM;
    if (n.set_nice && n.nice < target.proc->nice &&
        static_cast<rlim_t>(20 - n.nice) > target.proc->rlimits[RLIMIT_NICE].rlim_cur)
      return -EPERM;
  }
  s.policy = n.policy;
  s.rt_priority = n.priority;
  s.reset_on_fork = n.reset_on_fork;
  if (n.policy == SCHED_DEADLINE) {
    s.dl_runtime = n.runtime;
    s.dl_deadline = n.deadline;
    s.dl_period = n.period;
  }
  if (n.set_nice) target.proc->nice = std::clamp(n.nice, -20, 19);
  return 0;
}

int64_t setscheduler(Task& t, int64_t pid, int policy, UserPtr<sched_param> param_addr) {
  if (param_addr.null() || pid < 0) return -EINVAL;
  sched_param p = UM_TRY(param_addr.read(t));
  Task* target = find_task(t, pid);
  if (!target) return -ESRCH;
  bool reset = false;
  if (policy >= 0) {
    reset = policy & SCHED_RESET_ON_FORK;
    policy &= ~SCHED_RESET_ON_FORK;
    if (policy == SCHED_DEADLINE) return -EINVAL;  // only through sched_setattr
  }
  return set_sched(t, *target, {policy, p.sched_priority, reset});
}

}  // namespace

int64_t sys_sched_setscheduler(Task& t) {
  return setscheduler(t, t.int_arg(0), t.int_arg(1), t.ptr_arg<sched_param>(2));
}

int64_t sys_sched_setparam(Task& t) { return setscheduler(t, t.int_arg(0), -1, t.ptr_arg<sched_param>(1)); }

int64_t sys_sched_getscheduler(Task& t) {
  int64_t pid = t.int_arg(0);
  if (pid < 0) return -EINVAL;
  Task* target = find_task(t, pid);
  if (!target) return -ESRCH;
  return target->sched.policy | (target->sched.reset_on_fork ? SCHED_RESET_ON_FORK : 0);
}

int64_t sys_sched_getparam(Task& t) {
  int64_t pid = t.int_arg(0);
  auto out = t.ptr_arg<sched_param>(1);
  if (out.null() || pid < 0) return -EINVAL;
  Task* target = find_task(t, pid);
  if (!target) return -ESRCH;
  sched_param p{};
  p.sched_priority = rt_policy(target->sched.policy) ? target->sched.rt_priority : 0;
  UM_TRY(out.write(t, p));
  return 0;
}

int64_t sys_sched_setattr(Task& t) {
  int64_t pid = static_cast<int32_t>(t.arg(0));
  uint64_t addr = t.arg(1);
  if (!addr || pid < 0 || t.arg(2) != 0) return -EINVAL;
  uint32_t size;
  if (get_user(t, addr, size) < 0) return -EFAULT;
  if (size == 0) size = kSchedAttrSizeVer0;
  if (size < kSchedAttrSizeVer0 || size > 4096) {
    (void)put_user(t, addr, kSchedAttrSizeVer1);  // sched_copy_attr ignores a fault here too
    return -E2BIG;
  }
  SchedAttr a{};
  if (copy_from_user(t, &a, addr, std::min<size_t>(size, sizeof a)) < 0) return -EFAULT;
  // A larger structure than ours is accepted only if what we do not know is zero.
  for (uint32_t off = sizeof a; off < size; off += 8) {
    uint64_t v = 0;
    if (copy_from_user(t, &v, addr + off, std::min<uint32_t>(8, size - off)) < 0) return -EFAULT;
    if (v) {
      (void)put_user(t, addr, kSchedAttrSizeVer1);
      return -E2BIG;
    }
  }
  constexpr uint64_t kKnownFlags = 0x01 /* RESET_ON_FORK */ | 0x02 /* RECLAIM */ |
                                   0x04 /* DL_OVERRUN */ | 0x08 /* KEEP_POLICY */ |
                                   0x10 /* KEEP_PARAMS */ | 0x20 | 0x40 /* UTIL_CLAMP */;
  if (a.sched_flags & ~kKnownFlags) return -EINVAL;
  if (static_cast<int32_t>(a.sched_policy) < 0) return -EINVAL;
  Task* target = find_task(t, pid);
  if (!target) return -ESRCH;
  NewSched n{static_cast<int>(a.sched_policy), static_cast<int>(a.sched_priority),
             (a.sched_flags & 0x01) != 0};
  if (a.sched_flags & 0x08) n.policy = -1;
  if (n.policy == SCHED_OTHER || n.policy == SCHED_BATCH) {
    n.set_nice = true;
    n.nice = std::clamp(a.sched_nice, -20, 19);
  }
  n.runtime = a.sched_runtime;
  n.deadline = a.sched_deadline;
  n.period = a.sched_period;
  if (n.policy < 0) n.reset_on_fork = (a.sched_flags & 0x01) != 0;
  int64_t r = set_sched(t, *target, n);
  if (r == 0 && (a.sched_flags & 0x08)) target->sched.reset_on_fork = (a.sched_flags & 0x01) != 0;
  return r;
}

int64_t sys_sched_getattr(Task& t) {
  int64_t pid = static_cast<int32_t>(t.arg(0));
  uint64_t addr = t.arg(1);
  uint32_t usize = static_cast<uint32_t>(t.arg(2));
  if (!addr || pid < 0 || usize > 4096 || usize < kSchedAttrSizeVer0 || t.arg(3) != 0) return -EINVAL;
  Task* target = find_task(t, pid);
  if (!target) return -ESRCH;
  const TaskSched& s = target->sched;
  SchedAttr a{};
  a.size = std::min<uint32_t>(usize, sizeof a);
  a.sched_policy = static_cast<uint32_t>(s.policy);
  a.sched_flags = s.reset_on_fork ? 0x01 : 0;
  if (rt_policy(s.policy)) a.sched_priority = static_cast<uint32_t>(s.rt_priority);
  else if (s.policy == SCHED_DEADLINE) {
    a.sched_runtime = s.dl_runtime;
    a.sched_deadline = s.dl_deadline;
    a.sched_period = s.dl_period;
  } else a.sched_nice = target->proc->nice;
  a.sched_util_min = 0;
  a.sched_util_max = 1024;
  return copy_to_user(t, addr, &a, a.size);
}

int64_t sys_sched_get_priority_max(Task& t) {
  int p = t.int_arg(0);
  if (!valid_policy(p)) return -EINVAL;
  return rt_policy(p) ? 99 : 0;
}

int64_t sys_sched_get_priority_min(Task& t) {
  int p = t.int_arg(0);
  if (!valid_policy(p)) return -EINVAL;
  return rt_policy(p) ? 1 : 0;
}

int64_t sys_sched_rr_get_interval(Task& t) {
  int64_t pid = t.int_arg(0);
  if (pid < 0) return -EINVAL;
  Task* target = find_task(t, pid);
  if (!target) return -ESRCH;
  // SCHED_RR's time slice (RR_TIMESLICE, 100 ms); FIFO has none. Fair-class threads report
  // 0 too: with EEVDF a slice is only known while the thread is queued on a run queue.
  timespec ts{0, target->sched.policy == SCHED_RR ? 100000000 : 0};
  UM_TRY(t.ptr_arg<timespec>(1).write(t, ts));
  return 0;
}

int64_t sys_sched_getaffinity(Task& t) {
  int64_t pid = t.int_arg(0);
  uint64_t len = t.uint_arg(1);
  // cpumask_size() is one long for up to 64 CPUs.
  if (len * 8 < static_cast<uint64_t>(std::popcount(all_cpus_mask()))) return -EINVAL;
  if (len & 7) return -EINVAL;
  Task* target = find_task(t, pid);
  if (!target) return -ESRCH;
  uint64_t mask = target->sched.affinity & all_cpus_mask();
  UM_TRY(t.ptr_arg<uint64_t>(2).write(t, mask));
  return 8;
}

int64_t sys_sched_setaffinity(Task& t) {
  int64_t pid = t.int_arg(0);
  uint64_t len = t.uint_arg(1);
  uint64_t mask = 0;
  UM_TRY(t.ptr_arg<uint8_t>(2).read_array(t, reinterpret_cast<uint8_t*>(&mask), std::min<uint64_t>(len, 8)));
  Task* target = find_task(t, pid);
  if (!target) return -ESRCH;
  if (!may_change(t, *target)) return -EPERM;
  if (!(mask & all_cpus_mask())) return -EINVAL;
  target->sched.affinity = mask & all_cpus_mask();
  return 0;
}

// --- I/O priorities ---

namespace {

bool valid_ioprio(Task& t, int prio) {
  int cls = prio >> kIoprioClassShift, data = prio & ((1 << kIoprioClassShift) - 1);
  // The data is a level (3 bits) and hints (the bits above it, Linux 6.5+).
  switch (cls) {
    case kIoprioClassRt: case kIoprioClassBe: case kIoprioClassIdle: return true;
    case kIoprioClassNone: return (data & 7) == 0;
    default: return false;
  }
}

// Visits the threads `which`/`who` name; returns -ESRCH if none, -EINVAL for a bad `which`.
template <class Fn>
int64_t for_ioprio_targets(Task& t, int which, int who, Fn fn) {
  bool found = false;
  auto visit_process = [&](Process& p) {
    for (Task* th : p.threads) {
      if (th->state == TaskState::Dead) continue;
      found = true;
      if (int64_t r = fn(*th); r < 0) return r;
    }
    return int64_t{0};
  };
  switch (which) {
    case kIoprioWhoProcess: {
      Task* target = find_task(t, who);
      if (!target) return -ESRCH;
      found = true;
      if (int64_t r = fn(*target); r < 0) return r;
      break;
    }
    case kIoprioWhoPgrp: {
      int pgid = who ? who : t.proc->pgid;
      for (auto& [pid, p] : kernel().processes())
        if (p->pgid == pgid && !p->zombie)
          if (int64_t r = visit_process(*p); r < 0) return r;
      break;
    }
    case kIoprioWhoUser: {
      uint32_t uid = who ? static_cast<uint32_t>(who) : t.proc->cred.uid;
      for (auto& [pid, p] : kernel().processes())
        if (p->cred.uid == uid && !p->zombie)
          if (int64_t r = visit_process(*p); r < 0) return r;
      break;
    }
    default:
      return -EINVAL;
  }
  return found ? 0 : -ESRCH;
}

}  // namespace

int64_t sys_ioprio_set(Task& t) {
  int which = t.int_arg(0), who = t.int_arg(1);
  int prio = t.int_arg(2);
  if (which < kIoprioWhoProcess || which > kIoprioWhoUser) return -EINVAL;
  if (!valid_ioprio(t, prio)) return -EINVAL;
  if ((prio >> kIoprioClassShift) == kIoprioClassRt && !capable(t, CAP_SYS_ADMIN) &&
      !capable(t, CAP_SYS_NICE))
    return -EPERM;
  return for_ioprio_targets(t, which, who, [&](Task& target) -> int64_t {
    const Credentials& c = t.proc->cred;
    const Credentials& o = target.proc->cred;
    if (c.uid != o.euid && c.uid != o.uid && c.euid != o.euid && c.euid != o.uid &&
        !capable(t, CAP_SYS_NICE))
      return -EPERM;
    target.sched.ioprio = prio;
    return 0;
  });
}

int64_t sys_ioprio_get(Task& t) {
  int which = t.int_arg(0), who = t.int_arg(1);
  int best = -1;
  int64_t r = for_ioprio_targets(t, which, who, [&](Task& target) -> int64_t {
    int p = target.sched.ioprio;
    // The "best" of several: the lowest class (RT < BE < IDLE; NONE counts as BE), then data.
    auto rank = [](int v) {
      int cls = v >> kIoprioClassShift;
      if (cls == kIoprioClassNone) cls = kIoprioClassBe;
      return cls * 16 + (v & 7);
    };
    if (best < 0 || rank(p) < rank(best)) best = p;
    return 0;
  });
  return r < 0 ? r : best;
}

namespace {

#define F(name, args) UM_FULL(name, args)
#define P(name, args, note) UM_PARTIAL(name, args, note)

const SyscallRow kSchedRows[] = {
    P(sched_setscheduler, "ddp", "kept and reported; the host schedules guest threads"),
    P(sched_setparam, "dp", "kept and reported; the host schedules guest threads"),
    F(sched_getscheduler, "d"), F(sched_getparam, "dp"),
    P(sched_setattr, "dpx", "kept and reported (also SCHED_DEADLINE); the host schedules guest threads"),
    F(sched_getattr, "dpux"), F(sched_get_priority_max, "d"), F(sched_get_priority_min, "d"),
    F(sched_rr_get_interval, "dp"),
    P(sched_setaffinity, "dup", "kept and reported; guest threads run on any host CPU"),
    F(sched_getaffinity, "dup"),
    P(ioprio_set, "ddx", "kept and reported; guest disk I/O is not scheduled by priority"),
    F(ioprio_get, "dd"),
};

#undef F
#undef P

}  // namespace

std::span<const SyscallRow> sched_syscalls() { return kSchedRows; }

}  // namespace um::kernel
