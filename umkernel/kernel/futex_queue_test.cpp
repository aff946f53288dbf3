#include "umkernel/kernel/futex_queue.h"

#include <gtest/gtest.h>

#include "umkernel/kernel/kernel.h"

namespace um::kernel {
namespace {

// Waking goes through the kernel's run queue, so the tests have a Kernel (no guest runs).
struct FutexQueuesTest : ::testing::Test {
  Kernel k;
  FutexQueues q;
  Task a{1, 0, nullptr}, b{2, 0, nullptr}, c{3, 0, nullptr};
  static constexpr FutexKey kX{7, 0x1000}, kY{7, 0x2000}, kOtherSpace{8, 0x1000};

  void park(Task& t, FutexKey key, uint32_t bitset = 0xffffffffu) {
    t.state = TaskState::Blocked;
    EXPECT_EQ(q.park(t, key, bitset), kBlock);
  }
  static bool waiting(const Task& t) { return !t.waiting_on.empty(); }
};

TEST_F(FutexQueuesTest, WakeTakesTheOldestWaitersUpToN) {
  park(a, kX);
  park(b, kX);
  park(c, kX);
  EXPECT_EQ(q.wake(kX, 2), 2);
  EXPECT_FALSE(waiting(a));
  EXPECT_FALSE(waiting(b));
  EXPECT_TRUE(waiting(c));
  EXPECT_TRUE(a.progress.woken);  // tells the re-run FUTEX_WAIT it was woken
  EXPECT_FALSE(c.progress.woken);
  EXPECT_EQ(q.wake(kX, 10), 1);
  EXPECT_EQ(q.size(), 0u);  // queues go with their last waiter
}

TEST_F(FutexQueuesTest, KeysInOtherSpacesOrAddressesDoNotMeet) {
  park(a, kX);
  EXPECT_EQ(q.wake(kY, 1), 0);
  EXPECT_EQ(q.wake(kOtherSpace, 1), 0);
  EXPECT_TRUE(waiting(a));
  EXPECT_EQ(q.wake(kX, 1), 1);
}

TEST_F(FutexQueuesTest, BitsetsSelectWaiters) {
  park(a, kX, 0x1);
  park(b, kX, 0x2);
  EXPECT_EQ(q.wake(kX, 10, 0x2), 1);
  EXPECT_TRUE(waiting(a));
  EXPECT_FALSE(waiting(b));
  EXPECT_EQ(q.wake(kX, 10, 0x4), 0);
}

TEST_F(FutexQueuesTest, RequeueMovesWaitersToAnotherFutex) {
  park(a, kX);
  park(b, kX);
  park(c, kX);
  EXPECT_EQ(q.requeue(kX, kY, 2), 2);
  EXPECT_EQ(q.wake(kY, 10), 2);  // a and b now wait on Y
  EXPECT_FALSE(waiting(a));
  EXPECT_FALSE(waiting(b));
  EXPECT_TRUE(waiting(c));
  EXPECT_EQ(q.wake(kX, 10), 1);
  EXPECT_EQ(q.size(), 0u);
}

TEST_F(FutexQueuesTest, RequeueOntoItselfMovesNothingButCounts) {
  park(a, kX);
  park(b, kX);
  EXPECT_EQ(q.requeue(kX, kX, 1), 1);
  EXPECT_TRUE(waiting(a));
  EXPECT_TRUE(waiting(b));
  EXPECT_EQ(q.requeue(kY, kX, 5), 0);  // no waiters on Y
}

TEST_F(FutexQueuesTest, ATaskThatStopsWaitingLeavesTheQueue) {
  park(a, kX);
  a.stop_waiting();
  EXPECT_EQ(q.wake(kX, 10), 0);
}

}  // namespace
}  // namespace um::kernel
