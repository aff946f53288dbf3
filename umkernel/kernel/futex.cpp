#include "umkernel/kernel/futex.h"

#include <map>
#include <memory>

#include "umkernel/kernel/kernel.h"

namespace um::kernel {

namespace {
using Key = std::pair<uint64_t, uint64_t>;
std::map<Key, std::unique_ptr<WaitQueue>>& table() {
  static std::map<Key, std::unique_ptr<WaitQueue>> t;
  return t;
}
WaitQueue& queue(uint64_t mm, uint64_t addr) {
  auto& q = table()[{mm, addr}];
  if (!q) q = std::make_unique<WaitQueue>();
  return *q;
}
void forget_if_empty(uint64_t mm, uint64_t addr) {
  auto it = table().find({mm, addr});
  if (it != table().end() && it->second->empty()) table().erase(it);
}
}  // namespace

int64_t futex_park(Task& t, uint64_t addr, uint32_t bitset) {
  t.futex_bitset = bitset;
  t.wait_on(queue(t.proc->mm_id, addr));
  return kBlock;
}

int futex_wake(uint64_t mm, uint64_t addr, int n, uint32_t bitset) {
  auto it = table().find({mm, addr});
  if (it == table().end()) return 0;
  int woken = it->second->wake_if([&](Task* w) {
    if (!(w->futex_bitset & bitset)) return false;
    w->sys_progress = 1;  // tells the re-run handler it was woken, not timed out
    return true;
  }, n);
  forget_if_empty(mm, addr);
  return woken;
}

int futex_requeue(uint64_t mm, uint64_t addr, uint64_t addr2, int n) {
  auto it = table().find({mm, addr});
  if (it == table().end()) return 0;
  WaitQueue& from = *it->second;
  WaitQueue& to = queue(mm, addr2);
  int moved = 0;
  while (!from.empty() && moved < n) {
    Task* w = from.waiters().front();
    from.remove(w);
    std::erase(w->waiting_on, &from);
    w->wait_on(to);
    moved++;
  }
  forget_if_empty(mm, addr);
  return moved;
}

}  // namespace um::kernel
