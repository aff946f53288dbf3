#include "core/mconsole/protocol.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace um::mconsole {
namespace {

std::string header(uint32_t a, uint32_t b, uint32_t c) {
  std::string s(12, '\0');
  memcpy(s.data(), &a, 4);
  memcpy(s.data() + 4, &b, 4);
  memcpy(s.data() + 8, &c, 4);
  return s;
}

TEST(MconsoleProtocol, RequestIsTheFull524ByteStruct) {
  auto r = encode_request("version");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 524u);
  EXPECT_EQ(r->substr(0, 12), header(0xcafebabe, 2, 7));
  EXPECT_EQ(r->substr(12, 7), "version");
  auto d = decode_request(*r);
  EXPECT_EQ(d.problem, RequestProblem::None);
  EXPECT_EQ(d.request.command, "version");
}

TEST(MconsoleProtocol, RequestOf511BytesFits512DoesNot) {
  EXPECT_TRUE(encode_request(std::string(511, 'x')).ok());
  auto r = encode_request(std::string(512, 'x'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EINVAL);
}

TEST(MconsoleProtocol, ShortRequestWithOnlyLenBytesIsAccepted) {
  auto d = decode_request(header(0xcafebabe, 2, 4) + "halt");
  EXPECT_EQ(d.problem, RequestProblem::None);
  EXPECT_EQ(d.request.command, "halt");
}

TEST(MconsoleProtocol, MalformedRequests) {
  EXPECT_EQ(decode_request("").problem, RequestProblem::NotMagic);
  EXPECT_EQ(decode_request("ab").problem, RequestProblem::NotMagic);
  EXPECT_EQ(decode_request("version").problem, RequestProblem::NotMagic);
  EXPECT_EQ(decode_request(header(0xdeadbeef, 2, 4) + "halt").problem, RequestProblem::NotMagic);
  EXPECT_EQ(decode_request(header(0xcafebabe, 2, 4).substr(0, 8)).problem, RequestProblem::Truncated);
  EXPECT_EQ(decode_request(header(0xcafebabe, 2, 10) + "halt").problem, RequestProblem::Truncated);
  EXPECT_EQ(decode_request(header(0xcafebabe, 2, 512) + std::string(512, 'a')).problem,
            RequestProblem::TooLarge);
  EXPECT_EQ(decode_request(header(0xcafebabe, 2, 0xffffffff)).problem, RequestProblem::TooLarge);
  auto v1 = decode_request(header(0xcafebabe, 1, 4) + "halt");
  EXPECT_EQ(v1.problem, RequestProblem::WrongVersion);
  EXPECT_EQ(v1.request.command, "halt");
}

TEST(MconsoleProtocol, RequestTextStopsAtNul) {
  auto d = decode_request(header(0xcafebabe, 2, 9) + std::string("halt\0xyz!", 9));
  EXPECT_EQ(d.request.command, "halt");
}

TEST(MconsoleProtocol, ReplyPacketLayout) {
  std::string p = encode_reply_packet({true, false, "oops"});
  EXPECT_EQ(p, header(1, 0, 5) + std::string("oops\0", 5));
  auto d = decode_reply_packet(p);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->error);
  EXPECT_FALSE(d->more);
  EXPECT_EQ(d->text, "oops");
}

TEST(MconsoleProtocol, EmptyReplyIsOnePacket) {
  auto packets = encode_reply(false, "");
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0], header(0, 0, 1) + std::string(1, '\0'));
}

TEST(MconsoleProtocol, LongReplySplitsAt511WithErrOnFirstOnly) {
  std::string text(511 * 2 + 100, 'q');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  auto packets = encode_reply(true, text);
  ASSERT_EQ(packets.size(), 3u);
  std::string joined;
  for (size_t i = 0; i < packets.size(); ++i) {
    auto d = decode_reply_packet(packets[i]);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->error, i == 0);
    EXPECT_EQ(d->more, i + 1 < packets.size());
    EXPECT_LE(d->text.size(), 511u);
    joined += d->text;
  }
  EXPECT_EQ(joined, text);
  EXPECT_EQ(packets[0].size(), 12u + 512u);
}

TEST(MconsoleProtocol, ExactMultipleOf511HasNoEmptyTail) {
  auto packets = encode_reply(false, std::string(511 * 2, 'x'));
  EXPECT_EQ(packets.size(), 2u);
}

TEST(MconsoleProtocol, MalformedReplies) {
  EXPECT_FALSE(decode_reply_packet("").ok());
  EXPECT_FALSE(decode_reply_packet(kVersion0Reply).ok());
  EXPECT_FALSE(decode_reply_packet(header(0, 0, 600) + std::string(600, 'a')).ok());
  EXPECT_FALSE(decode_reply_packet(header(0, 0, 10) + "abc").ok());
  EXPECT_FALSE(decode_reply_packet(header(0, 7, 1) + std::string(1, '\0')).ok());
}

TEST(MconsoleProtocol, Notifications) {
  Notification n{NotifyType::Socket, "/home/u/.uml/vm/mconsole"};
  std::string wire = encode_notification(n);
  EXPECT_EQ(wire.size(), 16 + n.data.size() + 1);  // the path goes with its NUL, as UML sends
  auto d = decode_notification(wire);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->type, NotifyType::Socket);
  EXPECT_EQ(d->data, n.data);

  Notification user{NotifyType::UserNotify, std::string("raw\0bytes", 9)};
  auto du = decode_notification(encode_notification(user));
  ASSERT_TRUE(du.ok());
  EXPECT_EQ(du->data, user.data);

  EXPECT_EQ(encode_notification({NotifyType::UserNotify, std::string(2000, 'z')}).size(), 16u + 512u);
  EXPECT_FALSE(decode_notification("short").ok());
  std::string bad_type = wire;
  bad_type[8] = 9;
  EXPECT_FALSE(decode_notification(bad_type).ok());
}

// Random datagrams (random bytes, and mutations of valid ones) must never crash the decoders,
// and every decoded result must respect the protocol limits.
TEST(MconsoleProtocol, RandomizedDecodingNeverBreaksLimits) {
  std::mt19937 rng(12345);
  auto valid = *encode_request("config ubd1=/tmp/disk.img");
  auto reply = encode_reply(false, std::string(700, 'r'));
  for (int i = 0; i < 20000; ++i) {
    std::string d;
    switch (i % 3) {
      case 0: {
        d.resize(rng() % 600);
        for (auto& c : d) c = static_cast<char>(rng());
        break;
      }
      case 1:
        d = valid.substr(0, rng() % (valid.size() + 1));
        if (!d.empty()) d[rng() % d.size()] = static_cast<char>(rng());
        break;
      default:
        d = reply[rng() % reply.size()];
        d = d.substr(0, rng() % (d.size() + 1));
        if (!d.empty()) d[rng() % d.size()] ^= static_cast<char>(1 << (rng() % 8));
        break;
    }
    auto r = decode_request(d);
    if (r.problem == RequestProblem::None || r.problem == RequestProblem::WrongVersion) {
      EXPECT_LT(r.request.command.size(), 512u);
      EXPECT_GE(d.size(), 12u + r.request.command.size());
    }
    auto p = decode_reply_packet(d);
    if (p.ok()) {
      EXPECT_LE(p->text.size(), 511u);
    }
    auto n = decode_notification(d);
    if (n.ok()) {
      EXPECT_LE(n->data.size(), 512u);
    }
  }
}

}  // namespace
}  // namespace um::mconsole
