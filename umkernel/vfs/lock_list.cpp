#include "umkernel/vfs/lock_list.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>

namespace um::kernel {

namespace {
bool overlaps(const RangeLock& a, uint64_t s, uint64_t e) { return a.start <= e && s <= a.end; }
}  // namespace

const RangeLock* LockList::conflict(const void* owner, bool write, uint64_t s, uint64_t e, bool is_flock) const {
  for (auto& l : locks_) {
    if (l.is_flock != is_flock || l.owner == owner) continue;
    if (!overlaps(l, s, e)) continue;
    if (write || l.write) return &l;
  }
  return nullptr;
}

void LockList::unlock(const void* owner, uint64_t s, uint64_t e, bool is_flock) {
  for (auto it = locks_.begin(); it != locks_.end();) {
    if (it->owner != owner || it->is_flock != is_flock || !overlaps(*it, s, e)) { ++it; continue; }
    RangeLock l = *it;
    it = locks_.erase(it);
    if (l.start < s) { RangeLock left = l; left.end = s - 1; locks_.insert(it, left); }
    if (l.end > e) { RangeLock right = l; right.start = e + 1; locks_.insert(it, right); }
  }
}

void LockList::lock(const RangeLock& l) {
  unlock(l.owner, l.start, l.end, l.is_flock);
  locks_.push_back(l);
}

bool LockList::release(const void* owner, bool posix, bool flock) {
  size_t before = locks_.size();
  locks_.remove_if([&](const RangeLock& l) { return l.owner == owner && (l.is_flock ? flock : posix); });
  return locks_.size() != before;
}

std::vector<LockRun> LockList::coverage(uint64_t s, uint64_t e) const {
  std::vector<uint64_t> cuts{s};
  for (auto& l : locks_) {
    if (l.is_flock || !overlaps(l, s, e)) continue;
    if (l.start > s) cuts.push_back(l.start);
    if (l.end < e) cuts.push_back(l.end + 1);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<LockRun> runs;
  for (size_t i = 0; i < cuts.size(); i++) {
    uint64_t a = cuts[i], b = i + 1 < cuts.size() ? cuts[i + 1] - 1 : e;
    int type = F_UNLCK;
    for (auto& l : locks_)
      if (!l.is_flock && overlaps(l, a, b)) type = l.write ? F_WRLCK : (type == F_WRLCK ? F_WRLCK : F_RDLCK);
    runs.push_back({a, b, type});
  }
  return runs;
}

int LockList::flock_strength() const {
  int op = LOCK_UN;
  for (auto& l : locks_)
    if (l.is_flock) op = l.write ? LOCK_EX : (op == LOCK_EX ? LOCK_EX : LOCK_SH);
  return op;
}

bool LockList::flock_held_by_other(const void* owner) const {
  for (auto& l : locks_)
    if (l.is_flock && l.owner != owner) return true;
  return false;
}

}  // namespace um::kernel
