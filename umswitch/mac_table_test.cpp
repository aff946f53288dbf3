#include "umswitch/mac_table.h"

#include <gtest/gtest.h>

using um::sw::MacTable;

TEST(MacTable, LearnsLooksUpAndMoves) {
  MacTable t(300);
  EXPECT_EQ(t.lookup(0x020000000001, 10), 0);
  EXPECT_TRUE(t.learn(0x020000000001, 3, 10));
  EXPECT_EQ(t.lookup(0x020000000001, 11), 3);
  EXPECT_TRUE(t.learn(0x020000000001, 5, 12));  // moved to another port
  EXPECT_EQ(t.lookup(0x020000000001, 12), 5);
  EXPECT_EQ(t.size(), 1u);
}

TEST(MacTable, AgesOut) {
  MacTable t(5);
  ASSERT_TRUE(t.learn(1, 2, 100));
  EXPECT_EQ(t.lookup(1, 105), 2);
  EXPECT_EQ(t.lookup(1, 106), 0);
  t.expire(106);
  EXPECT_EQ(t.size(), 0u);
}

TEST(MacTable, ForgetsAPortsEntries) {
  MacTable t(300);
  ASSERT_TRUE(t.learn(1, 2, 0));
  ASSERT_TRUE(t.learn(2, 2, 0));
  ASSERT_TRUE(t.learn(3, 4, 0));
  t.forget_port(2);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.lookup(3, 0), 4);
}

TEST(MacTable, IsBounded) {
  MacTable t(300, 4);
  for (uint64_t m = 1; m <= 4; ++m) ASSERT_TRUE(t.learn(m, 1, 0));
  EXPECT_FALSE(t.learn(99, 1, 0));
  EXPECT_TRUE(t.learn(1, 2, 0));  // updating a known MAC still works when full
  EXPECT_FALSE(t.learn(100, 1, 0));  // same second: no second sweep
  EXPECT_TRUE(t.learn(99, 1, 400));  // after ageing there is room again
}
