#include "umkernel/kernel/futex_queue.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <memory>

#include "umkernel/kernel/kernel.h"

namespace um::kernel {

WaitQueue& FutexQueues::queue(FutexKey key) {
  auto& q = queues_[{key.space, key.offset}];
  if (!q) q = std::make_unique<WaitQueue>();
  return *q;
}

void FutexQueues::forget_if_empty(FutexKey key) {
  auto it = queues_.find({key.space, key.offset});
  if (it != queues_.end() && it->second->empty()) queues_.erase(it);
}

FutexKey futex_key(Task& t, uint64_t addr, bool shared) {
  FutexKey priv{t.proc->mm_id, addr};
  if (!shared) return priv;
  // Which host mapping holds addr? Shared ones ('s') are keyed by their backing object.
  for (const platform::Mapping& m : t.proc->memory->mappings()) {
    if (addr < m.start || addr >= m.end) continue;
    if (m.perms[3] != 's') return priv;
    uint64_t object = (1ull << 63) | (static_cast<uint64_t>(m.dev_major) << 52) |
                      (static_cast<uint64_t>(m.dev_minor) << 40) | m.inode;
    return FutexKey{object, m.offset + (addr - m.start)};
  }
  return priv;
}

int64_t FutexQueues::park(Task& t, FutexKey key, uint32_t bitset) {
  t.futex_bitset = bitset;
  t.wait_on(queue(key));
  return kBlock;
}

int FutexQueues::wake(FutexKey key, int n, uint32_t bitset) {
  auto it = queues_.find({key.space, key.offset});
  if (it == queues_.end()) return 0;
  int woken = it->second->wake_if([&](Task* w) {
    if (!(w->futex_bitset & bitset)) return false;
    w->progress.woken = true;  // tells the re-run handler it was woken, not timed out
    return true;
  }, n);
  forget_if_empty(key);
  return woken;
}

int FutexQueues::requeue(FutexKey fk, FutexKey tk, int n) {
  auto it = queues_.find({fk.space, fk.offset});
  if (it == queues_.end()) return 0;
  WaitQueue& from = *it->second;
  if (fk.space == tk.space && fk.offset == tk.offset)  // onto itself: nothing moves
    return static_cast<int>(std::min<size_t>(n, from.waiters().size()));
  WaitQueue& to = queue(tk);
  int moved = 0;
  while (!from.empty() && moved < n) {
    Task* w = from.waiters().front();
    from.remove(w);
    std::erase(w->waiting_on, &from);
    w->wait_on(to);
    moved++;
  }
  forget_if_empty(fk);
  return moved;
}

int64_t futex_park(Task& t, FutexKey key, uint32_t bitset) { return kernel().futexes().park(t, key, bitset); }
int futex_wake(FutexKey key, int n, uint32_t bitset) { return kernel().futexes().wake(key, n, bitset); }
int futex_requeue(FutexKey from, FutexKey to, int n) { return kernel().futexes().requeue(from, to, n); }

}  // namespace um::kernel
