#include "umkernel/kernel/futex_queue.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
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

FutexKey futex_key(Task& t, uint64_t addr, bool shared) {
  FutexKey priv{t.proc->mm_id, addr};
  if (!shared) return priv;
  // Which host mapping holds addr? Shared ones ('s') are keyed by their backing object.
  std::ifstream maps("/proc/" + std::to_string(t.host_tid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long start, end, pgoff, ino;
    unsigned dmaj, dmin;
    char perms[5];
    if (sscanf(line.c_str(), "%lx-%lx %4s %lx %x:%x %lu", &start, &end, perms, &pgoff, &dmaj, &dmin, &ino) != 7)
      continue;
    if (addr < start || addr >= end) continue;
    if (perms[3] != 's') return priv;
    uint64_t object = (1ull << 63) | (static_cast<uint64_t>(dmaj) << 52) | (static_cast<uint64_t>(dmin) << 40) | ino;
    return FutexKey{object, pgoff + (addr - start)};
  }
  return priv;
}

int64_t futex_park(Task& t, FutexKey key, uint32_t bitset) {
  t.futex_bitset = bitset;
  t.wait_on(queue(key.space, key.offset));
  return kBlock;
}

int futex_wake(FutexKey key, int n, uint32_t bitset) {
  uint64_t mm = key.space, addr = key.offset;
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

int futex_requeue(FutexKey fk, FutexKey tk, int n) {
  uint64_t mm = fk.space, addr = fk.offset;
  auto it = table().find({mm, addr});
  if (it == table().end()) return 0;
  WaitQueue& from = *it->second;
  if (fk.space == tk.space && fk.offset == tk.offset)  // onto itself: nothing moves
    return static_cast<int>(std::min<size_t>(n, from.waiters().size()));
  WaitQueue& to = queue(tk.space, tk.offset);
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
