#include "umkernel/net/input_guard.h"

#include <gtest/gtest.h>

#include <vector>

namespace um::kernel::net {
namespace {

// An IPv4 packet of protocol `proto` with a UDP(-Lite) header whose length field is `cov`.
std::vector<uint8_t> ipv4(uint8_t proto, uint16_t cov, size_t payload, bool more_fragments = false) {
  size_t total = 20 + 8 + payload;
  std::vector<uint8_t> p(total);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[6] = more_fragments ? 0x20 : 0x40;
  p[9] = proto;
  p[24] = static_cast<uint8_t>(cov >> 8);
  p[25] = static_cast<uint8_t>(cov);
  return p;
}

std::vector<uint8_t> ipv6(uint8_t proto, uint16_t cov, size_t payload, bool fragment_header = false) {
  size_t ext = fragment_header ? 8 : 0;
  size_t plen = ext + 8 + payload;
  std::vector<uint8_t> p(40 + plen);
  p[0] = 0x60;
  p[4] = static_cast<uint8_t>(plen >> 8);
  p[5] = static_cast<uint8_t>(plen);
  p[6] = fragment_header ? 44 : proto;
  if (fragment_header) p[40] = proto;
  size_t u = 40 + ext;
  p[u + 4] = static_cast<uint8_t>(cov >> 8);
  p[u + 5] = static_cast<uint8_t>(cov);
  return p;
}

TEST(InputGuard, UdpLiteCoverage) {
  for (uint16_t cov : {0, 8, 20, 28}) {
    auto p = ipv4(136, cov, 20);
    EXPECT_TRUE(ip_packet_acceptable(p.data(), p.size())) << cov;
    auto q = ipv6(136, cov, 20);
    EXPECT_TRUE(ip_packet_acceptable(q.data(), q.size())) << cov;
  }
  for (uint16_t cov : {1, 7, 29, 40000, 65535}) {
    auto p = ipv4(136, cov, 20);
    EXPECT_FALSE(ip_packet_acceptable(p.data(), p.size())) << cov;
    auto q = ipv6(136, cov, 20);
    EXPECT_FALSE(ip_packet_acceptable(q.data(), q.size())) << cov;
  }
}

TEST(InputGuard, UdpLiteFragmentsAndShortPackets) {
  auto p = ipv4(136, 0, 20, true);
  EXPECT_FALSE(ip_packet_acceptable(p.data(), p.size()));
  auto q = ipv6(136, 0, 20, true);
  EXPECT_FALSE(ip_packet_acceptable(q.data(), q.size()));
  auto r = ipv4(136, 8, 0);
  EXPECT_FALSE(ip_packet_acceptable(r.data(), 24));  // cut inside the UDP-Lite header
}

TEST(InputGuard, OtherProtocolsPass) {
  auto p = ipv4(17, 65535, 4);  // UDP: lwIP checks its own length field
  EXPECT_TRUE(ip_packet_acceptable(p.data(), p.size()));
  auto q = ipv6(17, 65535, 4);
  EXPECT_TRUE(ip_packet_acceptable(q.data(), q.size()));
}

}  // namespace
}  // namespace um::kernel::net
