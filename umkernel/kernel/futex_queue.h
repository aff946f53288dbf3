// Futex wait queues: waiters keyed by (address space, guest address). Private and shared futexes use
// the same key here: shared futexes between processes that map the same memory are not
// matched yet (that needs page identity).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "umkernel/kernel/task.h"

namespace um::kernel {

// A futex's identity: (address space, address) for private memory; (backing object, offset)
// for shared mappings, so that processes sharing memory meet on the same futex.
struct FutexKey {
  uint64_t space, offset;
};
// `shared`: the caller did not say FUTEX_PRIVATE_FLAG, so look at what backs the address.
FutexKey futex_key(Task& t, uint64_t addr, bool shared);

// The wait queues of every futex with waiters (Kernel::futexes() owns the one table); a
// queue exists only while tasks wait on it.
class FutexQueues {
 public:
  // Parks `t` on the futex (the caller has checked the value); returns kBlock.
  int64_t park(Task& t, FutexKey key, uint32_t bitset);
  // Wakes up to `n` waiters whose bitset intersects `bitset`; returns how many were woken.
  int wake(FutexKey key, int n, uint32_t bitset = 0xffffffffu);
  // Moves up to `n` waiters from one futex to another (after waking some): FUTEX_REQUEUE.
  int requeue(FutexKey from, FutexKey to, int n);
  size_t size() const { return queues_.size(); }  // futexes with waiters

 private:
  using Key = std::pair<uint64_t, uint64_t>;
  WaitQueue& queue(FutexKey key);
  void forget_if_empty(FutexKey key);
  std::map<Key, std::unique_ptr<WaitQueue>> queues_;
};

// The kernel's table (kernel().futexes()).
int64_t futex_park(Task& t, FutexKey key, uint32_t bitset);
int futex_wake(FutexKey key, int n, uint32_t bitset = 0xffffffffu);
int futex_requeue(FutexKey from, FutexKey to, int n);

// Thread exit: marks robust futexes held by `t` as owner-died and wakes a waiter.
void release_robust_futexes(Task& t);

}  // namespace um::kernel
