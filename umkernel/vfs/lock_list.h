// The locks one inode holds, as ranges: the conflict, split and coverage rules of flock(2)
// locks and POSIX record locks, apart from who waits and from the host (vfs/locks.cpp).
// Ranges are inclusive: [start, end], end = UINT64_MAX for "to the end of the file".
#pragma once
#include <cstdint>
#include <list>
#include <vector>

namespace um::kernel {

struct RangeLock {
  const void* owner;     // Process* (POSIX) or File* (flock, OFD)
  int pid;               // reported by F_GETLK (-1 for OFD locks)
  bool write;
  uint64_t start, end;
  bool is_flock;
};

// A stretch of a file and the strongest POSIX lock any owner holds on it (F_UNLCK: none).
struct LockRun {
  uint64_t start, end;
  int type;  // F_UNLCK, F_RDLCK or F_WRLCK
};

class LockList {
 public:
  // The first lock of another owner, of the same kind, that conflicts with the request.
  const RangeLock* conflict(const void* owner, bool write, uint64_t start, uint64_t end, bool is_flock) const;
  // Removes the owner's coverage of [start, end], splitting locks that stick out.
  void unlock(const void* owner, uint64_t start, uint64_t end, bool is_flock);
  // Takes a lock: the owner's earlier coverage of the range is replaced (a conversion).
  void lock(const RangeLock& l);
  // Drops every lock `owner` holds (of one kind, or both); true if any went.
  bool release(const void* owner, bool posix, bool flock);
  // [start, end] cut where the POSIX locks begin or end, each run with its strongest type.
  std::vector<LockRun> coverage(uint64_t start, uint64_t end) const;
  // The strongest flock held: LOCK_UN, LOCK_SH or LOCK_EX.
  int flock_strength() const;
  // Whether an owner other than `owner` holds a flock.
  bool flock_held_by_other(const void* owner) const;
  bool empty() const { return locks_.empty(); }
  const std::list<RangeLock>& locks() const { return locks_; }

 private:
  std::list<RangeLock> locks_;
};

}  // namespace um::kernel
