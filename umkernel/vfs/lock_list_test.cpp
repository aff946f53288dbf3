#include "umkernel/vfs/lock_list.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

namespace um::kernel {
namespace {

constexpr uint64_t kEof = UINT64_MAX;
int a_owner, b_owner;
const void* A = &a_owner;
const void* B = &b_owner;

RangeLock posix(const void* owner, bool write, uint64_t s, uint64_t e) { return {owner, 1, write, s, e, false}; }
RangeLock flock_of(const void* owner, bool write) { return {owner, 1, write, 0, kEof, true}; }

TEST(LockList, ReadersShareWritersExclude) {
  LockList l;
  l.lock(posix(A, false, 0, 99));
  EXPECT_EQ(l.conflict(B, false, 50, 60, false), nullptr);
  ASSERT_NE(l.conflict(B, true, 50, 60, false), nullptr);
  EXPECT_EQ(l.conflict(B, true, 100, 200, false), nullptr);  // just past the end
  EXPECT_EQ(l.conflict(A, true, 0, 99, false), nullptr);     // one's own locks never conflict
}

TEST(LockList, FlockAndPosixLocksDoNotSeeEachOther) {
  LockList l;
  l.lock(flock_of(A, true));
  EXPECT_EQ(l.conflict(B, true, 0, kEof, false), nullptr);
  EXPECT_NE(l.conflict(B, false, 0, kEof, true), nullptr);
}

TEST(LockList, UnlockingTheMiddleSplitsALock) {
  LockList l;
  l.lock(posix(A, true, 0, 99));
  l.unlock(A, 40, 59, false);
  ASSERT_EQ(l.locks().size(), 2u);
  EXPECT_EQ(l.conflict(B, true, 40, 59, false), nullptr);
  EXPECT_NE(l.conflict(B, true, 39, 39, false), nullptr);
  EXPECT_NE(l.conflict(B, true, 60, 60, false), nullptr);
}

TEST(LockList, ALockReplacesTheOwnersEarlierCoverage) {
  LockList l;
  l.lock(posix(A, true, 0, kEof));
  l.lock(posix(A, false, 10, 19));  // a downgrade of part of it
  EXPECT_EQ(l.conflict(B, false, 10, 19, false), nullptr);
  EXPECT_NE(l.conflict(B, false, 9, 9, false), nullptr);
  EXPECT_NE(l.conflict(B, false, 20, 20, false), nullptr);
  auto runs = l.coverage(0, kEof);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].type, F_WRLCK);
  EXPECT_EQ(runs[1].start, 10u);
  EXPECT_EQ(runs[1].end, 19u);
  EXPECT_EQ(runs[1].type, F_RDLCK);
  EXPECT_EQ(runs[2].start, 20u);
  EXPECT_EQ(runs[2].end, kEof);
  EXPECT_EQ(runs[2].type, F_WRLCK);
}

TEST(LockList, CoverageIsTheStrongestLockOfAnyOwner) {
  LockList l;
  l.lock(posix(A, false, 0, 9));
  l.lock(posix(B, false, 5, 14));
  auto runs = l.coverage(0, 19);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].end, 4u);
  EXPECT_EQ(runs[1].type, F_RDLCK);
  EXPECT_EQ(runs[2].start, 10u);
  EXPECT_EQ(runs[2].type, F_RDLCK);
  EXPECT_EQ(runs[3].start, 15u);
  EXPECT_EQ(runs[3].type, F_UNLCK);
}

TEST(LockList, ReleaseDropsOneOwnersLocksOfTheKindsAsked) {
  LockList l;
  l.lock(posix(A, true, 0, 9));
  l.lock(flock_of(A, false));
  l.lock(posix(B, false, 20, 29));
  EXPECT_TRUE(l.release(A, true, false));
  EXPECT_EQ(l.flock_strength(), LOCK_SH);
  EXPECT_FALSE(l.release(A, true, false));
  EXPECT_TRUE(l.release(A, false, true));
  EXPECT_EQ(l.flock_strength(), LOCK_UN);
  EXPECT_FALSE(l.empty());
  EXPECT_TRUE(l.release(B, true, true));
  EXPECT_TRUE(l.empty());
}

TEST(LockList, FlockStrengthAndOtherHolders) {
  LockList l;
  EXPECT_EQ(l.flock_strength(), LOCK_UN);
  l.lock(flock_of(A, false));
  EXPECT_FALSE(l.flock_held_by_other(A));
  EXPECT_TRUE(l.flock_held_by_other(B));
  l.lock(flock_of(A, true));  // a conversion: still one lock
  EXPECT_EQ(l.locks().size(), 1u);
  EXPECT_EQ(l.flock_strength(), LOCK_EX);
}

}  // namespace
}  // namespace um::kernel
