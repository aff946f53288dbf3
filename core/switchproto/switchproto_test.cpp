#include "core/switchproto/switchproto.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace um::switchproto;

namespace {

sockaddr_un abstract_name(const char* name) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path + 1, name, sizeof a.sun_path - 2);
  return a;
}

std::span<const uint8_t> bytes_of(const std::vector<uint8_t>& v) { return {v.data(), v.size()}; }

template <class T>
std::vector<uint8_t> raw(const T& t) {
  return {reinterpret_cast<const uint8_t*>(&t), reinterpret_cast<const uint8_t*>(&t) + sizeof t};
}

}  // namespace

TEST(SwitchProto, V3AsUmlSendsIt) {
  auto addr = abstract_name("client");
  auto req = encode_request_v3(addr);
  ASSERT_EQ(req.size(), 124u);
  EXPECT_EQ(req[0], 0xce);  // ce fa ed fe
  EXPECT_EQ(req[3], 0xfe);
  ParseResult r = parse_request(bytes_of(req));
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_EQ(r.request.version, 3u);
  EXPECT_EQ(memcmp(&r.request.data_addr, &addr, sizeof addr), 0);
  EXPECT_TRUE(r.request.description.empty());
}

TEST(SwitchProto, V3NeedsAllOf122Bytes) {
  auto req = encode_request_v3(abstract_name("x"));
  for (size_t n = 0; n < kV3MinSize; ++n)
    EXPECT_EQ(parse_request({req.data(), n}).status, ParseStatus::NeedMore) << n;
  EXPECT_EQ(parse_request({req.data(), kV3MinSize}).status, ParseStatus::Ok);
}

TEST(SwitchProto, V3WithVdeDescription) {
  auto req = encode_request_v3(abstract_name("x"), kReqNewPort0 | (5 << 8));
  req.resize(kV3MinSize);
  const char descr[] = "vde_plug user=root PID=42";
  req.insert(req.end(), descr, descr + sizeof descr);
  ParseResult r = parse_request(bytes_of(req));
  ASSERT_EQ(r.status, ParseStatus::Ok);
  EXPECT_EQ(r.request.description, "vde_plug user=root PID=42");
  EXPECT_EQ(r.request.type >> 8, 5u);
}

TEST(SwitchProto, V1AndV0) {
  RequestV1 v1{};
  v1.magic = kMagic;
  v1.sock = abstract_name("one");
  ParseResult r1 = parse_request(bytes_of(raw(v1)));
  ASSERT_EQ(r1.status, ParseStatus::Ok);
  EXPECT_EQ(r1.request.version, 1u);
  EXPECT_STREQ(r1.request.data_addr.sun_path + 1, "one");

  RequestV0 v0{};
  v0.sock = abstract_name("zero");
  ParseResult r0 = parse_request(bytes_of(raw(v0)));
  ASSERT_EQ(r0.status, ParseStatus::Ok);
  EXPECT_EQ(r0.request.version, 0u);
  EXPECT_STREQ(r0.request.data_addr.sun_path + 1, "zero");
  EXPECT_EQ(parse_request({raw(v0).data(), sizeof v0 - 1}).status, ParseStatus::NeedMore);
}

TEST(SwitchProto, RejectsWhatUmlSwitchRejects) {
  auto req = encode_request_v3(abstract_name("x"));
  req[4] = 2;  // version 2
  EXPECT_EQ(parse_request(bytes_of(req)).status, ParseStatus::Invalid);
  req[4] = 4;
  EXPECT_EQ(parse_request(bytes_of(req)).status, ParseStatus::Invalid);
  req[4] = 3;
  req[8] = 7;  // type
  EXPECT_EQ(parse_request(bytes_of(req)).status, ParseStatus::Invalid);
  req[8] = 0;
  req[12] = AF_INET;  // family
  EXPECT_EQ(parse_request(bytes_of(req)).status, ParseStatus::Invalid);
  // Garbage is rejected from its first word, without waiting for more.
  std::vector<uint8_t> junk = {'G', 'E', 'T', ' '};
  EXPECT_EQ(parse_request(bytes_of(junk)).status, ParseStatus::Invalid);
}

// Random byte strings, and valid requests with random corruption and truncation: the parser
// never reads out of bounds (ASan/valgrind would say) and its answers are consistent.
TEST(SwitchProto, RandomizedInputs) {
  std::mt19937 rng(20261125);
  auto valid = encode_request_v3(abstract_name("fuzz"));
  for (int iter = 0; iter < 200000; ++iter) {
    std::vector<uint8_t> b;
    if (iter % 2) {
      b.resize(rng() % (kMaxRequestSize + 64));
      for (auto& x : b) x = static_cast<uint8_t>(rng());
    } else {
      b = valid;
      b.resize(rng() % (valid.size() + 140), static_cast<uint8_t>(rng()));
      for (int k = rng() % 4; k > 0; --k)
        if (!b.empty()) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    }
    ParseResult r = parse_request(bytes_of(b));
    if (r.status == ParseStatus::Ok) {
      EXPECT_EQ(r.request.data_addr.sun_family, AF_UNIX);
      EXPECT_TRUE(r.request.version == 0 || r.request.version == 1 || r.request.version == 3);
      EXPECT_LE(r.request.description.size(), kMaxRequestSize);
      for (char c : r.request.description) EXPECT_TRUE(c >= 0x20 && c <= 0x7e);
      // A complete request stays complete when more bytes follow.
      b.push_back(0);
      EXPECT_EQ(parse_request(bytes_of(b)).status, ParseStatus::Ok);
    } else if (r.status == ParseStatus::Invalid) {
      EXPECT_FALSE(r.error.empty());
      // Invalid stays invalid whatever follows.
      b.push_back(static_cast<uint8_t>(rng()));
      EXPECT_EQ(parse_request(bytes_of(b)).status, ParseStatus::Invalid);
    } else {
      EXPECT_LT(b.size(), sizeof(RequestV1));
    }
    (void)describe_address(r.request.data_addr);
  }
}

TEST(SwitchProto, Frames) {
  EXPECT_EQ(check_frame(13), FrameCheck::TooShort);
  EXPECT_EQ(check_frame(14), FrameCheck::Ok);
  EXPECT_EQ(check_frame(1518), FrameCheck::Ok);
  EXPECT_EQ(check_frame(1519), FrameCheck::TooLong);
  uint8_t f[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 8, 6};
  EXPECT_TRUE(is_group(frame_dst(f)));
  EXPECT_FALSE(is_group(frame_src(f)));
  EXPECT_EQ(mac_key(frame_src(f)), 0x020000000001u);
  EXPECT_EQ(format_mac(frame_src(f)), "02:00:00:00:00:01");
}

TEST(SwitchProto, MacParsing) {
  Mac m;
  ASSERT_TRUE(parse_mac("02:AB:cd:00:00:ff", m));
  EXPECT_EQ(format_mac(m.data()), "02:ab:cd:00:00:ff");
  EXPECT_TRUE(parse_mac("02-ab-cd-00-00-ff", m));
  EXPECT_FALSE(parse_mac("02:ab:cd:00:00", m));
  EXPECT_FALSE(parse_mac("02:ab:cd:00:00:fg", m));
  EXPECT_FALSE(parse_mac("02:ab:cd:00:00:ff:", m));
}

TEST(SwitchProto, AddressDescriptions) {
  EXPECT_EQ(describe_address(abstract_name("umswitch.1.2")), "@umswitch.1.2");
  sockaddr_un path{};
  path.sun_family = AF_UNIX;
  strcpy(path.sun_path, "/tmp/x.sock");
  EXPECT_EQ(describe_address(path), "/tmp/x.sock");
  EXPECT_EQ(address_length(path), offsetof(sockaddr_un, sun_path) + 12);
  EXPECT_EQ(address_length(abstract_name("a")), sizeof(sockaddr_un));
  sockaddr_un bin = abstract_name("");
  bin.sun_path[2] = 1;
  EXPECT_EQ(describe_address(bin), "@0x000001");
}
