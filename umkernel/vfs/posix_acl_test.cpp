#include "umkernel/vfs/posix_acl.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace um::kernel::posix_acl {
namespace {

std::string acl(std::initializer_list<Entry> entries, uint32_t version = 2) {
  std::string out(reinterpret_cast<const char*>(&version), 4);
  for (const Entry& e : entries) {
    char b[8];
    memcpy(b, &e.tag, 2);
    memcpy(b + 2, &e.perm, 2);
    memcpy(b + 4, &e.id, 4);
    out.append(b, 8);
  }
  return out;
}

TEST(PosixAcl, AMinimalAclIsTheModeAndNeedNotBeKept) {
  // What GNU cp -a writes for a 0755 directory (acl_from_mode).
  std::vector<Entry> e;
  ASSERT_EQ(parse(acl({{1, 7, ~0u}, {4, 5, ~0u}, {0x20, 5, ~0u}}), e), 0);
  uint32_t mode = 040700;
  EXPECT_FALSE(to_mode(e, mode));
  EXPECT_EQ(mode, 040755u);
}

TEST(PosixAcl, AMaskGivesTheGroupBitsAndTheAclIsKept) {
  std::vector<Entry> e;
  ASSERT_EQ(parse(acl({{1, 6, ~0u}, {2, 7, 1000}, {4, 4, ~0u}, {0x10, 5, ~0u}, {0x20, 0, ~0u}}), e), 0);
  uint32_t mode = 0100644;
  EXPECT_TRUE(to_mode(e, mode));
  EXPECT_EQ(mode, 0100650u);
}

TEST(PosixAcl, InvalidAclsAreRefusedAsLinuxDoes) {
  std::vector<Entry> e;
  EXPECT_EQ(parse(acl({{1, 7, ~0u}}, 1), e), -EOPNOTSUPP);                          // version
  EXPECT_EQ(parse(std::string("\2\0\0\0\1", 5), e), -EINVAL);                         // size
  EXPECT_EQ(parse(acl({{4, 5, ~0u}, {1, 7, ~0u}, {0x20, 5, ~0u}}), e), -EINVAL);      // order
  EXPECT_EQ(parse(acl({{1, 7, ~0u}, {2, 7, 5}, {4, 5, ~0u}, {0x20, 5, ~0u}}), e), -EINVAL);  // no mask
  EXPECT_EQ(parse(acl({{1, 8, ~0u}, {4, 5, ~0u}, {0x20, 5, ~0u}}), e), -EINVAL);      // perm
  EXPECT_EQ(parse(acl({{1, 7, ~0u}, {4, 5, ~0u}}), e), -EINVAL);                      // no other
  EXPECT_EQ(parse(acl({}), e), 0);                                                     // removal
  EXPECT_TRUE(e.empty());
}

TEST(PosixAcl, ChmodRewritesOwnerMaskAndOther) {
  std::string a = acl({{1, 7, ~0u}, {2, 7, 1000}, {4, 5, ~0u}, {0x10, 7, ~0u}, {0x20, 5, ~0u}});
  std::vector<Entry> e;
  ASSERT_EQ(parse(chmod(a, 0640), e), 0);
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].perm, 6);  // owner
  EXPECT_EQ(e[1].perm, 7);  // the named user keeps its entry
  EXPECT_EQ(e[2].perm, 5);  // the group entry is not the group bits when there is a mask
  EXPECT_EQ(e[3].perm, 4);  // mask
  EXPECT_EQ(e[4].perm, 0);  // other
}

}  // namespace
}  // namespace um::kernel::posix_acl
