// Futex and robust-list syscalls (thread creation itself is clone in sys/process.cpp; the wait
// queues are in kernel/futex_queue.cpp).
#include <linux/futex.h>
#include <sys/syscall.h>

#include "umkernel/kernel/futex_queue.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/time_ns.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

int64_t futex_wait(Task& t, uint64_t addr, uint32_t val, uint64_t timeout_addr, uint32_t bitset,
                   bool absolute, bool realtime, bool shared) {
  if (bitset == 0) return -EINVAL;
  if (t.progress.woken) return 0;  // woken by FUTEX_WAKE
  if (t.sys_deadline_ns >= 0 && monotonic_ns() >= t.sys_deadline_ns) return -ETIMEDOUT;
  if (addr & 3) return -EINVAL;
  uint32_t cur;
  if (get_user(t, addr, cur) < 0) return -EFAULT;
  if (cur != val) return -EAGAIN;
  if (timeout_addr && t.sys_deadline_ns < 0) {
    timespec ts;
    if (get_user(t, timeout_addr, ts) < 0) return -EFAULT;
    if (!valid_timespec(ts)) return -EINVAL;
    int64_t ns = timespec_to_ns(ts);
    if (absolute) {
      timespec now;
      guest_clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
      ns -= timespec_to_ns(now);
    }
    t.sys_deadline_ns = deadline_after(monotonic_ns(), std::max<int64_t>(ns, 0));
    if (ns <= 0) return -ETIMEDOUT;
  }
  t.sys_restartable = !timeout_addr;  // Linux restarts untimed waits transparently
  return futex_park(t, futex_key(t, addr, shared), bitset);
}

// FUTEX_WAKE_OP's operation on *uaddr2 (not atomic against running guest threads).
int64_t wake_op(Task& t, uint64_t addr, int n, uint64_t addr2, int n2, uint32_t op, bool shared) {
  uint32_t old;
  if (get_user(t, addr2, old) < 0) return -EFAULT;
  uint32_t oparg = (op >> 12) & 0xfff, cmparg = op & 0xfff;
  if ((op >> 28) & 8) oparg = 1u << (oparg & 31);
  uint32_t nv;
  switch ((op >> 28) & 7) {
    case FUTEX_OP_SET: nv = oparg; break;
    case FUTEX_OP_ADD: nv = old + oparg; break;
    case FUTEX_OP_OR: nv = old | oparg; break;
    case FUTEX_OP_ANDN: nv = old & ~oparg; break;
    case FUTEX_OP_XOR: nv = old ^ oparg; break;
    default: return -ENOSYS;
  }
  if (put_user(t, addr2, nv) < 0) return -EFAULT;
  int32_t o = static_cast<int32_t>(old), c = static_cast<int32_t>(cmparg);
  bool cond;
  switch ((op >> 24) & 15) {
    case FUTEX_OP_CMP_EQ: cond = o == c; break;
    case FUTEX_OP_CMP_NE: cond = o != c; break;
    case FUTEX_OP_CMP_LT: cond = o < c; break;
    case FUTEX_OP_CMP_LE: cond = o <= c; break;
    case FUTEX_OP_CMP_GT: cond = o > c; break;
    case FUTEX_OP_CMP_GE: cond = o >= c; break;
    default: return -ENOSYS;
  }
  int woken = futex_wake(futex_key(t, addr, shared), n);
  if (cond) woken += futex_wake(futex_key(t, addr2, shared), n2);
  return woken;
}

}  // namespace

int64_t sys_futex(Task& t) {
  uint64_t addr = t.arg(0);
  int op = static_cast<int>(t.arg(1));
  uint32_t val = static_cast<uint32_t>(t.arg(2));
  uint64_t timeout = t.arg(3), addr2 = t.arg(4);
  uint32_t val3 = static_cast<uint32_t>(t.arg(5));
  bool realtime = op & FUTEX_CLOCK_REALTIME;
  int cmd = op & FUTEX_CMD_MASK;
  bool shared = !(op & FUTEX_PRIVATE_FLAG);
  switch (cmd) {
    case FUTEX_WAIT:
      return futex_wait(t, addr, val, timeout, FUTEX_BITSET_MATCH_ANY, false, realtime, shared);
    case FUTEX_WAIT_BITSET:
      return futex_wait(t, addr, val, timeout, val3, true, realtime, shared);
    case FUTEX_WAKE:
      return futex_wake(futex_key(t, addr, shared), static_cast<int>(std::min<uint32_t>(val, INT32_MAX)));
    case FUTEX_WAKE_BITSET:
      if (val3 == 0) return -EINVAL;
      return futex_wake(futex_key(t, addr, shared), static_cast<int>(std::min<uint32_t>(val, INT32_MAX)), val3);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      if (cmd == FUTEX_CMP_REQUEUE) {
        uint32_t cur;
        if (get_user(t, addr, cur) < 0) return -EFAULT;
        if (cur != val3) return -EAGAIN;
      }
      FutexKey from = futex_key(t, addr, shared);
      int woken = futex_wake(from, static_cast<int>(std::min<uint32_t>(val, INT32_MAX)));
      int moved = futex_requeue(from, futex_key(t, addr2, shared), static_cast<int>(std::min<uint64_t>(timeout, INT32_MAX)));
      return cmd == FUTEX_CMP_REQUEUE ? woken + moved : woken;
    }
    case FUTEX_WAKE_OP:
      return wake_op(t, addr, static_cast<int>(val), addr2, static_cast<int>(timeout), val3, shared);
    default:
      kernel().note_unimplemented(SYS_futex);
      return -ENOSYS;
  }
}

int64_t sys_set_robust_list(Task& t) {
  if (t.arg(1) != 24) return -EINVAL;  // sizeof(struct robust_list_head)
  t.robust_list = t.arg(0);
  return 0;
}

int64_t sys_get_robust_list(Task& t) {
  int tid = static_cast<int>(t.arg(0));
  Task* target = tid == 0 ? &t : kernel().task_by_tid(tid);
  if (!target) return -ESRCH;
  if (put_user(t, t.arg(1), target->robust_list) < 0) return -EFAULT;
  uint64_t len = 24;
  return put_user(t, t.arg(2), len);
}

// On thread exit: futexes held by the thread in its robust list get FUTEX_OWNER_DIED and a
// waiter is woken, as Linux's exit_robust_list does.
void release_robust_futexes(Task& t) {
  if (!t.robust_list) return;
  struct { uint64_t next; int64_t offset; uint64_t pending; } head;
  if (get_user(t, t.robust_list, head) < 0) return;
  auto handle = [&](uint64_t entry) {
    uint64_t uaddr = entry + head.offset;
    uint32_t v;
    if (get_user(t, uaddr, v) < 0) return;
    if ((v & FUTEX_TID_MASK) != static_cast<uint32_t>(t.tid)) return;
    uint32_t nv = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if (put_user(t, uaddr, nv) < 0) return;  // handle_futex_death stops at a fault
    if (v & FUTEX_WAITERS) futex_wake(futex_key(t, uaddr, true), 1);
  };
  uint64_t entry = head.next & ~1ull;
  for (int limit = 0; entry != t.robust_list && entry && limit < 2048; limit++) {
    uint64_t next;
    if (get_user(t, entry, next) < 0) break;
    handle(entry);
    entry = next & ~1ull;
  }
  if (head.pending) handle(head.pending & ~1ull);
}

namespace {

const SyscallRow kRows[] = {
    UM_PARTIAL(futex, "pxupdx", "no PI futexes"),
    UM_FULL(set_robust_list, "pu"),
    UM_FULL(get_robust_list, "dpp"),
};

}  // namespace

std::span<const SyscallRow> futex_syscalls() { return kRows; }

}  // namespace um::kernel
