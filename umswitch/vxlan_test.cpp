#include "umswitch/vxlan.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace um::sw {
namespace {

TEST(Vxlan, HeaderCarriesTheVniWithTheIFlag) {
  uint8_t h[kVxlanHeader];
  vxlan_header(0x123456, h);
  const uint8_t want[kVxlanHeader] = {0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0};
  EXPECT_EQ(memcmp(h, want, sizeof want), 0);
  uint32_t vni = 0;
  ASSERT_TRUE(vxlan_vni(h, &vni));
  EXPECT_EQ(vni, 0x123456u);
}

TEST(Vxlan, ReceivedHeadersIgnoreReservedBitsButNeedTheIFlag) {
  uint8_t h[kVxlanHeader] = {0x08 | 0x80, 0xff, 0xff, 0xff, 0, 0, 42, 0xff};
  uint32_t vni = 0;
  ASSERT_TRUE(vxlan_vni(h, &vni));
  EXPECT_EQ(vni, 42u);
  h[0] = 0x80;
  EXPECT_FALSE(vxlan_vni(h, &vni));
}

TEST(Vxlan, Endpoints) {
  auto a = parse_vxlan_endpoint("127.0.0.1", kVxlanPort);
  ASSERT_TRUE(a);
  EXPECT_EQ(ntohs(a->sin_port), 4789);
  EXPECT_EQ(a->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  auto b = parse_vxlan_endpoint("239.1.2.3:8472", kVxlanPort);
  ASSERT_TRUE(b);
  EXPECT_EQ(ntohs(b->sin_port), 8472);
  auto any = parse_vxlan_endpoint(":4790", kVxlanPort);
  ASSERT_TRUE(any);
  EXPECT_EQ(any->sin_addr.s_addr, 0u);
  EXPECT_EQ(ntohs(any->sin_port), 4790);
  for (const char* bad : {"", "host.example", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:12x", "::1",
                          "[::1]:4789", "1.2.3.4:-5"})
    EXPECT_FALSE(parse_vxlan_endpoint(bad, kVxlanPort)) << bad;
}

sockaddr_in vtep(const char* ip) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(kVxlanPort);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

TEST(VtepTable, LearnsMovesAgesAndStaysBounded) {
  VtepTable t(2, 300);
  const uint8_t m1[6] = {2, 0, 0, 0, 0, 1}, m2[6] = {2, 0, 0, 0, 0, 2}, m3[6] = {2, 0, 0, 0, 0, 3};
  EXPECT_EQ(t.lookup(m1, 0), nullptr);
  EXPECT_TRUE(t.learn(m1, vtep("10.0.0.1"), 0));
  ASSERT_NE(t.lookup(m1, 10), nullptr);
  EXPECT_EQ(t.lookup(m1, 10)->sin_addr.s_addr, vtep("10.0.0.1").sin_addr.s_addr);
  // The MAC moved to another remote.
  EXPECT_TRUE(t.learn(m1, vtep("10.0.0.2"), 20));
  EXPECT_EQ(t.lookup(m1, 30)->sin_addr.s_addr, vtep("10.0.0.2").sin_addr.s_addr);
  EXPECT_TRUE(t.learn(m2, vtep("10.0.0.1"), 30));
  EXPECT_FALSE(t.learn(m3, vtep("10.0.0.1"), 40));  // full
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.lookup(m1, 320), nullptr);  // aged
  EXPECT_TRUE(t.learn(m3, vtep("10.0.0.1"), 321));  // room again once m1 aged out
  EXPECT_EQ(t.size(), 2u);
  EXPECT_NE(t.lookup(m2, 321), nullptr);
}

TEST(VxlanPort, RefusesWhatCannotWork) {
  VxlanOptions o;
  EXPECT_FALSE(VxlanPort::open(o));  // no remote
  o.remotes.push_back(vtep("127.0.0.1"));
  o.vni = kMaxVni + 1;
  EXPECT_FALSE(VxlanPort::open(o));
}

// Two ports on loopback: a frame flooded by one arrives at the other, decapsulated; the
// answer goes to the learned remote only; another VNI and strangers are dropped.
TEST(VxlanPort, CarriesFramesBetweenTwoPortsOnLoopback) {
  VxlanOptions a, b;
  a.vni = b.vni = 77;
  // Ports chosen by the kernel: find them, then make the pair.
  int probe = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in la = vtep("127.0.0.1"), lb = vtep("127.0.0.1");
  la.sin_port = lb.sin_port = 0;
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&la), sizeof la), 0);
  socklen_t sl = sizeof la;
  getsockname(probe, reinterpret_cast<sockaddr*>(&la), &sl);
  int probe2 = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(bind(probe2, reinterpret_cast<sockaddr*>(&lb), sizeof lb), 0);
  sl = sizeof lb;
  getsockname(probe2, reinterpret_cast<sockaddr*>(&lb), &sl);
  close(probe);
  close(probe2);
  a.local = la;
  a.remotes = {lb};
  b.local = lb;
  b.remotes = {la};
  auto A = VxlanPort::open(a);
  auto B = VxlanPort::open(b);
  ASSERT_TRUE(A && B);
  SwitchStats stats;
  uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0xa, 0x08, 0x06};
  (*A)->txq.push_back({frame, sizeof frame});
  (*A)->flush(stats);
  EXPECT_EQ((*A)->counters.tx_frames, 1u);
  auto batch = std::make_unique<RxBatch>();
  int n = 0;
  for (int i = 0; i < 100 && n == 0; i++) n = (*B)->receive(*batch);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(batch->len[0], sizeof frame);
  EXPECT_EQ(memcmp(batch->data[0], frame, sizeof frame), 0);
  EXPECT_EQ((*B)->vteps().size(), 1u);
  // A datagram with another VNI is not for this segment.
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  uint8_t wrong[kVxlanHeader + 60] = {};
  vxlan_header(78, wrong);
  memcpy(wrong + kVxlanHeader, frame, sizeof frame);
  sendto(s, wrong, sizeof wrong, 0, reinterpret_cast<sockaddr*>(&lb), sizeof lb);
  n = 0;
  for (int i = 0; i < 100 && (*B)->rx_bad == 0; i++) n += (*B)->receive(*batch);
  EXPECT_EQ(n, 0);
  EXPECT_EQ((*B)->rx_bad, 1u);
  close(s);
}

// A UDP socket on 127.0.0.1 with a kernel-chosen port: a stand-in remote VTEP.
struct Remote {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr = vtep("127.0.0.1");
  Remote() {
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t l = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &l);
  }
  ~Remote() { close(fd); }
  int pending() {  // datagrams waiting, drained
    uint8_t b[2048];
    int n = 0;
    for (int i = 0; i < 200; i++) {
      if (recv(fd, b, sizeof b, 0) > 0) n++;
      else if (n > 0 || i > 100) break;
      else usleep(1000);
    }
    return n;
  }
};

// Several remotes: a broadcast goes to each (head-end replication); once a MAC has been seen
// behind one remote, frames for it go to that remote only.
TEST(VxlanPort, FloodsToEveryRemoteAndSendsLearnedMacsToOne) {
  Remote r1, r2;
  VxlanOptions o;
  o.vni = 9;
  o.local = vtep("127.0.0.1");
  o.local.sin_port = 0;
  o.remotes = {r1.addr, r2.addr};
  auto p = VxlanPort::open(o);
  ASSERT_TRUE(p) << p.error().message;
  sockaddr_in local{};
  socklen_t l = sizeof local;
  getsockname((*p)->data_fd(), reinterpret_cast<sockaddr*>(&local), &l);
  SwitchStats stats;
  uint8_t bcast[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  (*p)->txq.push_back({bcast, sizeof bcast});
  (*p)->flush(stats);
  EXPECT_EQ(r1.pending(), 1);
  EXPECT_EQ(r2.pending(), 1);
  // r2 sends a frame from MAC 02::2: the port learns it behind r2 (its address; port as configured).
  uint8_t from2[kVxlanHeader + 60] = {};
  vxlan_header(9, from2);
  const uint8_t inner[14] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00};
  memcpy(from2 + kVxlanHeader, inner, sizeof inner);
  sendto(r2.fd, from2, sizeof from2, 0, reinterpret_cast<sockaddr*>(&local), sizeof local);
  auto batch = std::make_unique<RxBatch>();
  int n = 0;
  for (int i = 0; i < 200 && n == 0; i++) {
    n = (*p)->receive(*batch);
    if (n == 0) usleep(1000);
  }
  ASSERT_EQ(n, 1);
  EXPECT_EQ((*p)->vteps().size(), 1u);
  uint8_t to2[60] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
  (*p)->txq.push_back({to2, sizeof to2});
  (*p)->flush(stats);
  EXPECT_EQ(r2.pending(), 1);
  EXPECT_EQ(r1.pending(), 0);
}

}  // namespace
}  // namespace um::sw
