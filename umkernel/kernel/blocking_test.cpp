#include "umkernel/kernel/blocking.h"

#include <gtest/gtest.h>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/time_ns.h"

namespace um::kernel {
namespace {

TEST(Blocking, NoTimeoutParksOnTheQueue) {
  Task t(1, 0, nullptr);
  WaitQueue q;
  EXPECT_EQ(park_on(t, q, -1), kBlock);
  ASSERT_EQ(q.waiters().size(), 1u);
  EXPECT_EQ(q.waiters()[0], &t);
  EXPECT_EQ(t.sys_deadline_ns, -1);
  EXPECT_TRUE(t.sys_restartable);
}

TEST(Blocking, ZeroTimeoutNeverWaits) {
  Task t(1, 0, nullptr);
  WaitQueue q;
  EXPECT_EQ(park_on(t, q, 0), -EAGAIN);
  EXPECT_TRUE(q.empty());
}

TEST(Blocking, ATimedWaitKeepsItsFirstDeadlineAndNeverRestarts) {
  Task t(1, 0, nullptr);
  WaitQueue q;
  int64_t before = monotonic_ns();
  EXPECT_EQ(park_on(t, q, 60 * kNsPerSec), kBlock);
  EXPECT_GE(t.sys_deadline_ns, before + 60 * kNsPerSec);
  EXPECT_FALSE(t.sys_restartable);
  int64_t first = t.sys_deadline_ns;
  t.stop_waiting();
  EXPECT_EQ(park_on(t, q, 60 * kNsPerSec), kBlock);  // a re-run: the same deadline
  EXPECT_EQ(t.sys_deadline_ns, first);
  t.stop_waiting();
  t.sys_deadline_ns = monotonic_ns() - 1;  // the deadline has passed
  EXPECT_EQ(park_on(t, q, 60 * kNsPerSec), -EAGAIN);
  EXPECT_TRUE(q.empty());
}

TEST(Blocking, HugeTimeoutsSaturate) {
  Task t(1, 0, nullptr);
  EXPECT_FALSE(deadline_passed(t, INT64_MAX));
  EXPECT_EQ(t.sys_deadline_ns, kFarNs);
  Task u(2, 0, nullptr);
  EXPECT_FALSE(deadline_passed(u, -1));
  EXPECT_EQ(u.sys_deadline_ns, -1);
}

}  // namespace
}  // namespace um::kernel
