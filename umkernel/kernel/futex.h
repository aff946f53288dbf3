// Futexes: waiters keyed by (address space, guest address). Private and shared futexes use
// the same key here: shared futexes between processes that map the same memory are not
// matched yet (that needs page identity).
#pragma once
#include <cstdint>

#include "umkernel/kernel/task.h"

namespace um::kernel {

// Parks `t` on the futex at `addr` (the caller has checked the value); returns kBlock.
int64_t futex_park(Task& t, uint64_t addr, uint32_t bitset);
// Wakes up to `n` waiters whose bitset intersects `bitset`; returns how many were woken.
int futex_wake(uint64_t mm, uint64_t addr, int n, uint32_t bitset = 0xffffffffu);
// Moves up to `n` waiters from addr to addr2 (after waking some): FUTEX_REQUEUE.
int futex_requeue(uint64_t mm, uint64_t addr, uint64_t addr2, int n);

// Thread exit: marks robust futexes held by `t` as owner-died and wakes a waiter.
void release_robust_futexes(Task& t);

}  // namespace um::kernel
