#include "umkernel/kernel/time_ns.h"

#include <gtest/gtest.h>

namespace um::kernel {
namespace {

TEST(TimeNs, ConvertsOrdinaryValues) {
  EXPECT_EQ(timespec_to_ns({0, 0}), 0);
  EXPECT_EQ(timespec_to_ns({1, 5}), 1000000005);
  EXPECT_EQ(timeval_to_ns({2, 3}), 2000003000);
  EXPECT_EQ(seconds_to_ns(3), 3000000000);
  EXPECT_EQ(timespec_to_ns({-1, 500000000}), -500000000);
}

TEST(TimeNs, GuestChosenSecondsSaturateInsteadOfOverflowing) {
  EXPECT_EQ(timespec_to_ns({INT64_MAX, 999999999}), kFarNs);
  EXPECT_EQ(timespec_to_ns({INT64_MAX / kNsPerSec, 0}), kFarNs);
  EXPECT_EQ(timeval_to_ns({INT64_MAX, 999999}), kFarNs);
  EXPECT_EQ(timespec_to_ns({INT64_MIN, 0}), -kFarNs);
  // A deadline from a saturated timeout stays far away and positive.
  int64_t now = 123456789012345;
  EXPECT_EQ(deadline_after(now, timespec_to_ns({INT64_MAX, 0})), kFarNs);
  EXPECT_GT(deadline_after(now, timespec_to_ns({INT64_MAX, 0})), now);
  EXPECT_EQ(deadline_after(now, 5), now + 5);
  // ~146 years is still exact below the limit.
  EXPECT_EQ(timespec_to_ns({4000000000, 1}), 4000000000 * kNsPerSec + 1);
}

TEST(TimeNs, ValidTimespecIsLinuxs) {
  EXPECT_TRUE(valid_timespec({0, 0}));
  EXPECT_TRUE(valid_timespec({INT64_MAX, 999999999}));
  EXPECT_FALSE(valid_timespec({-1, 0}));
  EXPECT_FALSE(valid_timespec({0, -1}));
  EXPECT_FALSE(valid_timespec({0, 1000000000}));
}

TEST(TimeNs, BackToTimespecAndTimeval) {
  timespec ts = ns_to_timespec(1500000000);
  EXPECT_EQ(ts.tv_sec, 1);
  EXPECT_EQ(ts.tv_nsec, 500000000);
  ts = ns_to_timespec(-1);
  EXPECT_EQ(ts.tv_sec, -1);
  EXPECT_EQ(ts.tv_nsec, 999999999);
  timeval tv = ns_to_timeval(2000001999);
  EXPECT_EQ(tv.tv_sec, 2);
  EXPECT_EQ(tv.tv_usec, 1);
}

}  // namespace
}  // namespace um::kernel
