#include "core/mconsole/um_info.h"

#include <gtest/gtest.h>

#include "core/mconsole/json_lite.h"

namespace um::mconsole {
namespace {

TEST(UmInfo, RoundTrip) {
  VmInfo in;
  in.umid = "vm\"1";
  in.pid = 4242;
  in.kernel = "umkernel 0.1.0";
  in.mem = 64ull << 20;
  in.disks = {{"ubd0", "/x/root img\n", "", true}, {"ubd1", "/x/c.cow", "/x/base", false}};
  in.consoles = {{"con0", "fd:0,fd:1", ""}, {"con1", "socket", "/r/vm1/con1"}};
  in.networks = {{"eth0", "daemon,,unix,/tmp/sw.ctl"}};
  auto out = decode_info(encode_info(in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->umid, in.umid);
  EXPECT_EQ(out->pid, 4242);
  EXPECT_EQ(out->mem, in.mem);
  ASSERT_EQ(out->disks.size(), 2u);
  EXPECT_EQ(out->disks[0].file, "/x/root img\n");
  EXPECT_TRUE(out->disks[0].readonly);
  EXPECT_FALSE(out->disks[1].readonly);
  EXPECT_EQ(out->disks[1].backing, "/x/base");
  ASSERT_EQ(out->consoles.size(), 2u);
  EXPECT_EQ(out->consoles[1].socket, "/r/vm1/con1");
  ASSERT_EQ(out->networks.size(), 1u);
}

TEST(UmInfo, ToleratesMissingAndExtraKeys) {
  auto out = decode_info(R"({"umid":"a","future":{"x":[1,2,null]},"disks":[{"dev":"ubd0"}]})");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->umid, "a");
  EXPECT_EQ(out->pid, 0);
  ASSERT_EQ(out->disks.size(), 1u);
  EXPECT_EQ(out->disks[0].file, "");
}

TEST(UmInfo, RejectsGarbage) {
  EXPECT_FALSE(decode_info("Unknown command").ok());
  EXPECT_FALSE(decode_info("[1,2]").ok());
  EXPECT_FALSE(decode_info("{\"a\":").ok());
  EXPECT_FALSE(decode_info(std::string(100, '[')).ok());
}

TEST(JsonLite, Scalars) {
  auto v = json::parse(R"({"t":true,"f":false,"n":null,"x":-1.5e2,"s":"a\u00e9\\"})");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE((*v)["t"].boolean);
  EXPECT_FALSE((*v)["f"].boolean);
  EXPECT_EQ((*v)["n"].kind, json::Value::Kind::Null);
  EXPECT_EQ((*v)["x"].num(), -150);
  EXPECT_EQ((*v)["s"].str(), "a\xc3\xa9\\");
}

}  // namespace
}  // namespace um::mconsole
