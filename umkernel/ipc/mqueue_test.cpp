#include "umkernel/ipc/mqueue.h"

#include <gtest/gtest.h>

namespace um::kernel {
namespace {

TEST(MqMessages, HighestPriorityFirstFifoWithin) {
  MqMessages m;
  m.push("a", 1);
  m.push("b", 5);
  m.push("c", 1);
  m.push("dd", 5);
  EXPECT_EQ(m.count(), 4u);
  EXPECT_EQ(m.bytes(), 5u);
  std::string text;
  unsigned prio = 0;
  const char* want[] = {"b", "dd", "a", "c"};
  unsigned prios[] = {5, 5, 1, 1};
  for (int i = 0; i < 4; i++) {
    ASSERT_TRUE(m.pop(text, prio));
    EXPECT_EQ(text, want[i]);
    EXPECT_EQ(prio, prios[i]);
  }
  EXPECT_FALSE(m.pop(text, prio));
  EXPECT_EQ(m.count(), 0u);
  EXPECT_EQ(m.bytes(), 0u);
}

TEST(MqMessages, ChargeAsLinux) {
  // 10 messages of 8192 bytes: the data, one msg_msg and one tree node each.
  EXPECT_EQ(mq_charge(10, 8192), 10u * 8192 + 10u * 48 + 10u * 48);
  // Tree nodes are counted up to MQ_PRIO_MAX.
  EXPECT_EQ(mq_charge(40000, 1), 40000u + 40000u * 48 + 32768u * 48);
}

}  // namespace
}  // namespace um::kernel
