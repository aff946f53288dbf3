#include "umkernel/kernel/subsystem_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "umkernel/kernel/kernel.h"

namespace um::kernel {
namespace {

std::vector<std::string>* g_log = nullptr;

struct Counter {
  int n = 0;
};
struct First {
  ~First() { if (g_log) g_log->push_back("first"); }
};
struct Second {
  ~Second() { if (g_log) g_log->push_back("second"); }
};
// Reaches for a state made before it while being destroyed (as a registry's entries do).
struct UsesFirstOnTeardown {
  SubsystemStates* owner = nullptr;
  ~UsesFirstOnTeardown() {
    if (owner) owner->get<Counter>().n++;
    if (g_log) g_log->push_back("user");
  }
};

TEST(SubsystemStates, OneInstancePerTypeMadeOnFirstUse) {
  SubsystemStates s;
  EXPECT_FALSE(s.has<Counter>());
  s.get<Counter>().n = 5;
  EXPECT_TRUE(s.has<Counter>());
  EXPECT_EQ(s.get<Counter>().n, 5);
  EXPECT_EQ(&s.get<Counter>(), &s.get<Counter>());
  EXPECT_EQ(s.size(), 1u);
}

TEST(SubsystemStates, DestroyedNewestFirst) {
  std::vector<std::string> log;
  g_log = &log;
  {
    SubsystemStates s;
    s.get<First>();
    s.get<Second>();
  }
  g_log = nullptr;
  EXPECT_EQ(log, (std::vector<std::string>{"second", "first"}));
}

TEST(SubsystemStates, ADestructorThatReachesADestroyedStateGetsAFreshOne) {
  std::vector<std::string> log;
  g_log = &log;
  {
    SubsystemStates s;
    s.get<UsesFirstOnTeardown>().owner = &s;
    s.get<First>();
    s.get<Counter>();  // newest: destroyed before the user needs it
  }
  g_log = nullptr;
  EXPECT_EQ(log, (std::vector<std::string>{"first", "user"}));
}

TEST(SubsystemStates, EachKernelHasItsOwn) {
  {
    Kernel k;
    k.state<Counter>().n = 3;
    EXPECT_EQ(kernel().state<Counter>().n, 3);
  }
  Kernel k2;
  EXPECT_EQ(k2.state<Counter>().n, 0);
  EXPECT_TRUE(kernel_exists());
}

}  // namespace
}  // namespace um::kernel
