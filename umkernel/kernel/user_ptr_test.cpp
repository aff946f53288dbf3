#include "umkernel/kernel/user_ptr.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace um::kernel {
namespace {

static_assert(!std::is_convertible_v<uint64_t, UserPtr<int>>, "a guest address is never implicitly a pointer");
static_assert(!std::is_convertible_v<UserPtr<int>, uint64_t>);
static_assert(!std::is_convertible_v<UserPtr<int>, UserPtr<long>>);

KResult<int> half(int v) {
  if (v % 2) return Errno{EINVAL};
  return v / 2;
}

// A handler-shaped function: UM_TRY returns the errno as -errno.
int64_t quarter_handler(int v) {
  int h = UM_TRY(half(v));
  int q = UM_TRY(half(h));
  return q;
}

// A helper returning another KResult: UM_TRY passes the errno on.
KResult<long> quarter_helper(int v) {
  int h = UM_TRY(half(v));
  return static_cast<long>(UM_TRY(half(h)));
}

TEST(KResult, UmTryReturnsTheErrnoFromHandlersAndHelpers) {
  EXPECT_EQ(quarter_handler(8), 2);
  EXPECT_EQ(quarter_handler(6), -EINVAL);
  EXPECT_EQ(quarter_handler(3), -EINVAL);
  auto ok = quarter_helper(12);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), 3);
  auto bad = quarter_helper(10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, EINVAL);
  EXPECT_EQ(static_cast<int64_t>(bad.error()), -EINVAL);
}

TEST(KResult, StatusOfWrapsZeroOrMinusErrno) {
  EXPECT_TRUE(status_of(0).ok());
  EXPECT_TRUE(status_of(5).ok());
  auto e = status_of(-EFAULT);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, EFAULT);
}

TEST(UserPtr, AddressesAndArithmeticInElements) {
  UserPtr<uint32_t> p(0x1000);
  EXPECT_EQ(p.addr(), 0x1000u);
  EXPECT_EQ((p + 3).addr(), 0x100cu);
  EXPECT_TRUE(static_cast<bool>(p));
  EXPECT_TRUE(UserPtr<int>().null());
  Task t(1, 0, nullptr);
  t.sys_args[2] = 0x7000;
  t.sys_args[3] = 0xffffffff00000005ull;
  EXPECT_EQ(t.ptr_arg<timespec>(2).addr(), 0x7000u);
  EXPECT_EQ(t.int_arg(3), 5);  // an int parameter is the low 32 bits
}

}  // namespace
}  // namespace um::kernel
