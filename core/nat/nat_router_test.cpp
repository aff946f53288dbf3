#include "core/nat/nat_router.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace um::nat {
namespace {

TEST(ParseForward, Good) {
  auto f = parse_forward("tcp:8080:10.0.2.15:80");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_FALSE(f->udp);
  EXPECT_EQ(f->host_addr, "127.0.0.1");
  EXPECT_EQ(f->host_port, 8080);
  EXPECT_EQ(f->guest_addr, "10.0.2.15");
  EXPECT_EQ(f->guest_port, 80);
  auto u = parse_forward("udp:0.0.0.0:5353:10.0.2.16:53");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_TRUE(u->udp);
  EXPECT_EQ(u->host_addr, "0.0.0.0");
  EXPECT_EQ(u->host_port, 5353);
  EXPECT_EQ(u->guest_addr, "10.0.2.16");
  EXPECT_EQ(u->guest_port, 53);
}

TEST(ParseForward, Bad) {
  for (const char* spec : {"", "tcp", "tcp:8080", "tcp:8080:10.0.2.15", "sctp:1:10.0.2.15:2",
                           "tcp:1:2:3:4:5:6"}) {
    auto f = parse_forward(spec);
    ASSERT_FALSE(f) << spec;
    EXPECT_EQ(f.error().code, EINVAL);
    EXPECT_NE(f.error().message.find("expected tcp|udp:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT"),
              std::string::npos) << f.error().message;
  }
  auto port = parse_forward("tcp:nope:10.0.2.15:80");
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().message, "bad port 'nope' in forward 'tcp:nope:10.0.2.15:80'");
  EXPECT_FALSE(parse_forward("tcp:0:10.0.2.15:80"));
  EXPECT_FALSE(parse_forward("tcp:65536:10.0.2.15:80"));
  EXPECT_FALSE(parse_forward("tcp:8080:10.0.2.15:"));
  auto addr = parse_forward("tcp:localhost:8080:10.0.2.15:80");
  ASSERT_FALSE(addr);
  EXPECT_EQ(addr.error().message, "bad IPv4 address in forward 'tcp:localhost:8080:10.0.2.15:80'");
  EXPECT_FALSE(parse_forward("tcp:8080:10.0.2:80"));
}

TEST(ParseHostfwd, Good) {
  auto a = parse_hostfwd("tcp:127.0.0.1:8080-:80");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_FALSE(a->udp);
  EXPECT_EQ(a->host_addr, "127.0.0.1");
  EXPECT_EQ(a->host_port, 8080);
  EXPECT_EQ(a->guest_addr, "10.0.2.15");
  EXPECT_EQ(a->guest_port, 80);

  auto b = parse_hostfwd("tcp::8080-10.0.2.16:80");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->host_addr, "127.0.0.1");  // not 0.0.0.0
  EXPECT_EQ(b->guest_addr, "10.0.2.16");

  auto c = parse_hostfwd("udp:127.0.0.1:5353-:53", "10.0.2.20");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->udp);
  EXPECT_EQ(c->host_port, 5353);
  EXPECT_EQ(c->guest_addr, "10.0.2.20");
  EXPECT_EQ(c->guest_port, 53);

  auto d = parse_hostfwd("tcp:0.0.0.0:2222-:22");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->host_addr, "0.0.0.0");

  auto e = parse_hostfwd("::2222-:22");  // QEMU: an empty protocol is tcp
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_FALSE(e->udp);
}

TEST(ParseHostfwd, Bad) {
  for (const char* spec : {"", "tcp", "tcp:8080-:80", "tcp:127.0.0.1:8080", "tcp::8080-80",
                           "sctp::8080-:80", "tcp-127.0.0.1-8080-:80"}) {
    auto f = parse_hostfwd(spec);
    ASSERT_FALSE(f) << spec;
    EXPECT_EQ(f.error().code, EINVAL);
    EXPECT_EQ(f.error().message, std::string("bad hostfwd '") + spec +
                                     "' (expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)");
  }
  auto port = parse_hostfwd("tcp::http-:80");
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().message, "bad port 'http' in hostfwd 'tcp::http-:80'");
  EXPECT_FALSE(parse_hostfwd("tcp::0-:80"));
  EXPECT_FALSE(parse_hostfwd("tcp::8080-:"));
  EXPECT_FALSE(parse_hostfwd("tcp::8080-:70000"));
  EXPECT_FALSE(parse_hostfwd("tcp::8080-:80x"));
  auto addr = parse_hostfwd("tcp:localhost:8080-:80");
  ASSERT_FALSE(addr);
  EXPECT_EQ(addr.error().message, "bad IPv4 address 'localhost' in hostfwd 'tcp:localhost:8080-:80'");
  EXPECT_FALSE(parse_hostfwd("tcp::8080-10.0.2:80"));
  EXPECT_FALSE(parse_hostfwd("tcp::8080-:80", "nowhere"));
  for (const std::string& msg : {parse_hostfwd("x").error().message,
                                 parse_hostfwd("tcp::x-:1").error().message})
    EXPECT_EQ(msg.find('\n'), std::string::npos);
}

// ---- a DHCP DISCOVER built by hand, and the OFFER it should get ----

constexpr uint8_t kClientMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint32_t kXid = 0x1badcafe;
constexpr size_t kEth = 14, kIp = 20, kUdp = 8;

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
}
uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

uint16_t ip_checksum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += get16(p + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

std::vector<uint8_t> dhcp_discover() {
  const size_t bootp_len = 236 + 312;  // fixed BOOTP header + a full-size options field
  std::vector<uint8_t> f(kEth + kIp + kUdp + bootp_len, 0);
  memset(f.data(), 0xff, 6);  // Ethernet broadcast
  memcpy(f.data() + 6, kClientMac, 6);
  put16(f, 12, 0x0800);
  uint8_t* ip = f.data() + kEth;
  ip[0] = 0x45;
  put16(f, kEth + 2, uint16_t(kIp + kUdp + bootp_len));
  ip[8] = 64;  // TTL
  ip[9] = IPPROTO_UDP;
  memset(ip + 16, 0xff, 4);  // 0.0.0.0 -> 255.255.255.255
  put16(f, kEth + 10, ip_checksum(ip, kIp));
  put16(f, kEth + kIp, 68);
  put16(f, kEth + kIp + 2, 67);
  put16(f, kEth + kIp + 4, uint16_t(kUdp + bootp_len));  // UDP checksum 0: none
  uint8_t* bp = f.data() + kEth + kIp + kUdp;
  bp[0] = 1;  // BOOTREQUEST
  bp[1] = 1;  // Ethernet
  bp[2] = 6;
  uint32_t xid = htonl(kXid);
  memcpy(bp + 4, &xid, 4);
  memcpy(bp + 28, kClientMac, 6);  // chaddr
  const uint8_t options[] = {99, 130, 83, 99, 53, 1, 1, 255};  // cookie, DHCPDISCOVER, end
  memcpy(bp + 236, options, sizeof options);
  return f;
}

// Returns the offered address if `frame` is a DHCPOFFER for our DISCOVER, else "".
std::string offered_address(const uint8_t* f, size_t len) {
  if (len < kEth + kIp + kUdp + 240 || get16(f + 12) != 0x0800) return "";
  const uint8_t* ip = f + kEth;
  size_t ihl = (ip[0] & 0xf) * 4;
  if (ip[9] != IPPROTO_UDP || len < kEth + ihl + kUdp + 240) return "";
  const uint8_t* udp = ip + ihl;
  if (get16(udp) != 67 || get16(udp + 2) != 68) return "";
  const uint8_t* bp = udp + kUdp;
  uint32_t xid;
  memcpy(&xid, bp + 4, 4);
  if (bp[0] != 2 || ntohl(xid) != kXid || memcmp(bp + 236, "\x63\x82\x53\x63", 4) != 0) return "";
  const uint8_t* end = f + len;
  for (const uint8_t* o = bp + 240; o + 2 <= end && *o != 255;) {
    if (*o == 0) { ++o; continue; }
    if (o[0] == 53 && o[1] == 1 && o + 3 <= end && o[2] == 2) {
      char text[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, bp + 16, text, sizeof text);  // yiaddr
      return text;
    }
    o += 2 + o[1];
  }
  return "";
}

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

TEST(NatRouter, FrameFdIsNonBlockingCloexecDatagram) {
  auto router = NatRouter::start({});
  ASSERT_TRUE(router) << router.error().message;
  int fd = (*router)->frame_fd();
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  int type = 0;
  socklen_t len = sizeof type;
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
  EXPECT_EQ(type, SOCK_DGRAM);
}

TEST(NatRouter, AnswersDhcpDiscoverWithOffer) {
  auto router = NatRouter::start({.hostname = "nat-test"});
  ASSERT_TRUE(router) << router.error().message;
  int fd = (*router)->frame_fd();
  std::vector<uint8_t> discover = dhcp_discover();
  ASSERT_EQ(send(fd, discover.data(), discover.size(), 0), ssize_t(discover.size()));
  std::string offered;
  uint8_t buf[65536];
  for (int64_t deadline = now_ms() + 5000; offered.empty() && now_ms() < deadline;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, int(deadline - now_ms())) <= 0) break;
    ssize_t n;
    while (offered.empty() && (n = recv(fd, buf, sizeof buf, 0)) > 0)
      offered = offered_address(buf, size_t(n));
  }
  EXPECT_EQ(offered, "10.0.2.15");
}

std::set<std::string> entries(const char* dir) {
  std::set<std::string> out;
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.insert(e->d_name);
    closedir(d);
  }
  return out;
}

// The router thread must never take a signal: owners (umkernel) rely on signalfd.
TEST(NatRouter, ThreadBlocksAllSignalsAndStopsCleanly) {
  auto fds_before = entries("/proc/self/fd");
  auto tasks_before = entries("/proc/self/task");
  {
    auto router = NatRouter::start({});
    ASSERT_TRUE(router) << router.error().message;
    auto tasks = entries("/proc/self/task");
    std::vector<std::string> added;
    for (const auto& t : tasks)
      if (!tasks_before.count(t)) added.push_back(t);
    ASSERT_EQ(added.size(), 1u);
    std::ifstream status("/proc/self/task/" + added[0] + "/status");
    std::string line, sigblk;
    while (std::getline(status, line))
      if (line.rfind("SigBlk:", 0) == 0) sigblk = line.substr(7);
    uint64_t mask = std::stoull(sigblk, nullptr, 16);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGALRM, SIGUSR1, SIGWINCH, SIGIO})
      EXPECT_TRUE(mask & (uint64_t(1) << (sig - 1))) << "signal " << sig << " not blocked";
    // ... while the caller's mask is left as it was.
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, nullptr, &now);
    EXPECT_FALSE(sigismember(&now, SIGUSR1));
  }
  EXPECT_EQ(entries("/proc/self/task"), tasks_before);
  EXPECT_EQ(entries("/proc/self/fd"), fds_before);
}

int bound_tcp_port(int fd, bool listen_too) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  if (listen_too && listen(fd, 1) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST(NatRouter, HostfwdOnBusyPortFailsStart) {
  int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(busy, 0);
  int port = bound_tcp_port(busy, true);
  ASSERT_GT(port, 0);
  auto fwd = parse_hostfwd("tcp:127.0.0.1:" + std::to_string(port) + "-:80");
  ASSERT_TRUE(fwd) << fwd.error().message;
  auto router = NatRouter::start({.forwards = {*fwd}});
  close(busy);
  ASSERT_FALSE(router);
  EXPECT_EQ(router.error().code, EADDRINUSE);
  EXPECT_EQ(router.error().message,
            "cannot forward tcp 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST(NatRouter, HostfwdListensOnTheHost) {
  int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int port = bound_tcp_port(probe, false);  // a free port, released again just below
  close(probe);
  ASSERT_GT(port, 0);
  auto fwd = parse_hostfwd("tcp::" + std::to_string(port) + "-:80");
  ASSERT_TRUE(fwd) << fwd.error().message;
  auto router = NatRouter::start({.forwards = {*fwd}});
  ASSERT_TRUE(router) << router.error().message;
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  EXPECT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  close(c);
}

}  // namespace
}  // namespace um::nat
