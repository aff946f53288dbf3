// umswitch-peer: a client of the uml_switch daemon protocol for tests and benchmarks. Works
// against umswitch, uml_switch and vde_switch (DIR/ctl).
//
//   umswitch-peer script CTLPATH          run test commands from stdin (see usage())
//   umswitch-peer gen CTLPATH [--pairs N] [--size BYTES] [--seconds S] [--window W]
//                                         traffic generator: N senders blast unicast frames
//                                         at N receivers through the switch, prints rates;
//                                         with --window at most W frames per pair in flight
//   umswitch-peer soak CTLPATH [--ports N] [--seconds S]
//                                         N peers join, talk, misbehave and leave at random
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/switchproto/client.h"
#include "core/switchproto/switchproto.h"
#include "core/unix_socket.h"

using namespace um;
using namespace um::switchproto;

namespace {

[[noreturn]] void die(const std::string& msg) {
  fprintf(stderr, "umswitch-peer: %s\n", msg.c_str());
  exit(1);
}

double now_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

Mac mac_for(unsigned index) { return {0x02, 0x00, 0x5e, uint8_t(index >> 16), uint8_t(index >> 8), uint8_t(index)}; }

// One switch port as a UML would hold it: a full-length abstract data socket and the
// control stream.
class Peer {
 public:
  Peer(const std::string& ctl, Mac mac, int version = 3) : mac_(mac) {
    static std::atomic<unsigned> counter{0};
    ConnectOptions o;
    o.version = uint32_t(version);
    o.name = "umswitch-peer." + std::to_string(getpid()) + "." + std::to_string(counter++);
    auto c = connect_to_switch(ctl, o);
    if (!c) die(c.error().message);
    data_ = std::move(c->data);
    control_ = std::move(c->control);
    int buf = 4 << 20;
    setsockopt(data_.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  }

  const Mac& mac() const { return mac_; }
  int data_fd() const { return data_.get(); }
  int control_fd() const { return control_.get(); }
  void close_data() { data_.reset(); }
  void close_control() { control_.reset(); }

  bool send_raw(const uint8_t* p, size_t len, int flags = 0) {
    return send(data_.get(), p, len, flags | MSG_NOSIGNAL) == ssize_t(len);
  }
  std::vector<uint8_t> frame_to(const Mac& dst, size_t len, uint32_t seq = 0) const {
    len = std::max<size_t>(len, kEthHeaderSize + 4);
    std::vector<uint8_t> f(len, 0);
    memcpy(f.data(), dst.data(), 6);
    memcpy(f.data() + 6, mac_.data(), 6);
    f[12] = 0x88;  // local experimental ethertype
    f[13] = 0xb5;
    memcpy(f.data() + 14, &seq, 4);
    return f;
  }
  // Next frame within timeout_ms, empty when none.
  std::vector<uint8_t> receive(int timeout_ms) {
    pollfd p{data_.get(), POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return {};
    std::vector<uint8_t> buf(4096);
    ssize_t n = recv(data_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return {};
    buf.resize(size_t(n));
    return buf;
  }

 private:
  Mac mac_;
  UniqueFd data_, control_;
};

std::vector<uint8_t> parse_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// ---- script mode ------------------------------------------------------------------------

void usage_script() {
  fputs(
      "script commands (one per line, '#' comments):\n"
      "  port NAME [v0|v1|v3]     connect a port; NAME's MAC is 02:00:5e:00:00:<n>\n"
      "  send NAME DST [LEN]      frame from NAME to DST (a port name, 'broadcast',\n"
      "                           'multicast' or a MAC)\n"
      "  expect NAME SRC [DST]    the next frame at NAME (within 3 s) comes from SRC\n"
      "                           (and is addressed to DST)\n"
      "  silent NAME [MS]         no frame arrives at NAME within MS (default 300)\n"
      "  raw NAME LEN             send a datagram of LEN bytes (malformed frames)\n"
      "  flood NAME DST COUNT     COUNT 1000-byte frames as fast as the switch takes them\n"
      "  close NAME               leave: close the control stream and the data socket\n"
      "  vanish NAME              close only the data socket (peer died, stream lingers)\n"
      "  garbage HEX [MS]         open a control connection, send HEX, expect the switch\n"
      "                           to close it without a reply within MS (default 3000)\n"
      "  sleep MS\n",
      stderr);
}

int run_script(const std::string& ctl) {
  std::map<std::string, std::unique_ptr<Peer>> peers;
  std::map<std::string, unsigned> index;
  auto peer = [&](const std::string& name) -> Peer& {
    auto it = peers.find(name);
    if (it == peers.end()) die("unknown port '" + name + "'");
    return *it->second;
  };
  auto mac_of = [&](const std::string& what) -> Mac {
    if (what == "broadcast") return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (what == "multicast") return {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    Mac m;
    if (parse_mac(what, m)) return m;
    if (index.count(what)) return mac_for(index[what]);
    die("unknown destination '" + what + "'");
  };
  std::string line;
  int lineno = 0;
  unsigned next_index = 1;
  while (std::getline(std::cin, line)) {
    ++lineno;
    std::istringstream in(line);
    std::string cmd, a, b, c;
    in >> cmd >> a >> b >> c;
    if (cmd.empty() || cmd[0] == '#') continue;
    auto fail = [&](const std::string& why) { die("line " + std::to_string(lineno) + " '" + line + "': " + why); };
    if (cmd == "port") {
      int version = b.empty() ? 3 : std::stoi(b.substr(1));
      if (!index.count(a)) index[a] = next_index++;
      peers[a] = std::make_unique<Peer>(ctl, mac_for(index[a]), version);
    } else if (cmd == "send") {
      Peer& p = peer(a);
      auto f = p.frame_to(mac_of(b), c.empty() ? 60 : std::stoul(c), lineno);
      if (!p.send_raw(f.data(), f.size())) fail(std::string("send failed: ") + strerror(errno));
    } else if (cmd == "expect") {
      auto f = peer(a).receive(3000);
      if (f.empty()) fail("no frame arrived");
      if (f.size() < kEthHeaderSize) fail("runt frame arrived");
      Mac src = mac_of(b);
      if (memcmp(frame_src(f.data()), src.data(), 6) != 0)
        fail("frame came from " + format_mac(frame_src(f.data())) + ", expected " + format_mac(src.data()));
      if (!c.empty()) {
        Mac dst = mac_of(c);
        if (memcmp(frame_dst(f.data()), dst.data(), 6) != 0)
          fail("frame went to " + format_mac(frame_dst(f.data())) + ", expected " + format_mac(dst.data()));
      }
    } else if (cmd == "silent") {
      auto f = peer(a).receive(b.empty() ? 300 : std::stoi(b));
      if (!f.empty())
        fail("unexpected frame " + format_mac(frame_src(f.data())) + " -> " + format_mac(frame_dst(f.data())));
    } else if (cmd == "raw") {
      std::vector<uint8_t> d(std::stoul(b), 0xab);
      peer(a).send_raw(d.data(), d.size());  // oversize sends may fail locally too; fine
    } else if (cmd == "flood") {
      // COUNT frames of 1000 bytes as fast as the switch takes them (blocking sends).
      Peer& p = peer(a);
      auto f = p.frame_to(mac_of(b), 1000);
      unsigned long count = std::stoul(c);
      for (unsigned long k = 0; k < count; ++k)
        if (!p.send_raw(f.data(), f.size())) fail(std::string("send failed: ") + strerror(errno));
    } else if (cmd == "close") {
      peers.erase(a);
    } else if (cmd == "vanish") {
      peer(a).close_data();
    } else if (cmd == "garbage") {
      auto fd = unix_socket::connect(SOCK_STREAM, ctl);
      if (!fd) fail(fd.error().message);
      auto bytes = parse_hex(a);
      if (send(fd->get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) != ssize_t(bytes.size())) fail("send failed");
      pollfd p{fd->get(), POLLIN, 0};
      if (poll(&p, 1, b.empty() ? 3000 : std::stoi(b)) != 1) fail("switch kept the garbage connection open");
      char buf[256];
      ssize_t n = recv(fd->get(), buf, sizeof buf, 0);
      if (n > 0) fail("switch replied " + std::to_string(n) + " bytes to garbage");
    } else if (cmd == "sleep") {
      usleep(unsigned(std::stoi(a)) * 1000);
    } else {
      usage_script();
      fail("unknown command");
    }
  }
  printf("script ok (%d lines)\n", lineno);
  return 0;
}

// ---- traffic generator ------------------------------------------------------------------

struct Options {
  int pairs = 1;
  size_t size = 64;
  double seconds = 3;
  int ports = 32;
  unsigned window = 0;  // gen: max frames in flight per pair (0 = send as fast as possible)
};

int run_gen(const std::string& ctl, const Options& o) {
  std::vector<std::unique_ptr<Peer>> tx, rx;
  for (int i = 0; i < o.pairs; ++i) {
    tx.push_back(std::make_unique<Peer>(ctl, mac_for(unsigned(2 * i + 1))));
    rx.push_back(std::make_unique<Peer>(ctl, mac_for(unsigned(2 * i + 2))));
  }
  // Let the switch learn every MAC so the measured traffic is unicast.
  Mac bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  for (auto& p : rx) { auto f = p->frame_to(bcast, 60); p->send_raw(f.data(), f.size()); }
  for (auto& p : tx) { auto f = p->frame_to(bcast, 60); p->send_raw(f.data(), f.size()); }
  usleep(200000);
  for (auto* set : {&tx, &rx})
    for (auto& p : *set) while (!p->receive(0).empty()) {}

  std::atomic<bool> stop{false};
  std::vector<uint64_t> sent(o.pairs), received_bytes(o.pairs);
  std::unique_ptr<std::atomic<uint64_t>[]> received(new std::atomic<uint64_t>[o.pairs]);
  for (int i = 0; i < o.pairs; ++i) received[i] = 0;
  std::vector<std::thread> threads;
  double start = now_seconds();
  for (int i = 0; i < o.pairs; ++i) {
    threads.emplace_back([&, i] {
      auto f = tx[i]->frame_to(rx[i]->mac(), o.size);
      constexpr int kBatch = 32;
      mmsghdr msgs[kBatch];
      iovec iov{f.data(), f.size()};
      for (auto& m : msgs) { m = {}; m.msg_hdr.msg_iov = &iov; m.msg_hdr.msg_iovlen = 1; }
      uint64_t written_off = 0;  // frames given up as lost by the window logic
      double stalled_since = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        unsigned batch = kBatch;
        if (o.window) {
          // Closed loop: at most `window` frames in flight, like a transport with a window.
          uint64_t in_flight = sent[i] - written_off - received[i].load(std::memory_order_relaxed);
          if (in_flight >= o.window) {
            double t = now_seconds();
            if (stalled_since == 0) stalled_since = t;
            if (t - stalled_since > 0.02) {  // frames were dropped: stop waiting for them
              written_off += in_flight;
              stalled_since = 0;
            }
            usleep(20);
            continue;
          }
          stalled_since = 0;
          batch = std::min<unsigned>(kBatch, unsigned(o.window - in_flight));
        }
        int n = sendmmsg(tx[i]->data_fd(), msgs, batch, MSG_NOSIGNAL);
        if (n > 0) sent[i] += unsigned(n);
        else if (errno != EINTR && errno != EAGAIN) break;
      }
    });
    threads.emplace_back([&, i] {
      constexpr int kBatch = 64;
      static thread_local uint8_t bufs[kBatch][2048];
      mmsghdr msgs[kBatch];
      iovec iov[kBatch];
      for (int k = 0; k < kBatch; ++k) {
        iov[k] = {bufs[k], sizeof bufs[k]};
        msgs[k] = {};
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
      }
      while (!stop.load(std::memory_order_relaxed)) {
        pollfd p{rx[i]->data_fd(), POLLIN, 0};
        if (poll(&p, 1, 100) != 1) continue;
        int n = recvmmsg(rx[i]->data_fd(), msgs, kBatch, MSG_DONTWAIT, nullptr);
        for (int k = 0; k < n; ++k) {
          received[i].fetch_add(1, std::memory_order_relaxed);
          received_bytes[i] += msgs[k].msg_len;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  stop = true;
  double elapsed = now_seconds() - start;
  // Unblock senders stuck in a full queue.
  for (auto& p : tx) shutdown(p->data_fd(), SHUT_RDWR);
  for (auto& t : threads) t.join();
  uint64_t s = 0, r = 0, rb = 0;
  for (int i = 0; i < o.pairs; ++i) { s += sent[i]; r += received[i]; rb += received_bytes[i]; }
  printf("window=%u pairs=%d size=%zu seconds=%.2f sent=%llu received=%llu fps=%.0f mbps=%.1f loss=%.1f%%\n",
         o.window, o.pairs, o.size, elapsed, (unsigned long long)s, (unsigned long long)r, r / elapsed,
         rb * 8 / elapsed / 1e6, s ? 100.0 * double(s - std::min(s, r)) / double(s) : 0.0);
  return r > 0 ? 0 : 1;
}

// ---- soak -------------------------------------------------------------------------------

int run_soak(const std::string& ctl, const Options& o) {
  std::mt19937 rng(12345);
  std::vector<std::unique_ptr<Peer>> slots(size_t(o.ports));
  std::vector<unsigned> generation(size_t(o.ports), 0);
  auto join = [&](size_t i) {
    slots[i] = std::make_unique<Peer>(ctl, mac_for(unsigned(i * 1000 + ++generation[i])));
  };
  for (size_t i = 0; i < slots.size(); ++i) join(i);
  uint64_t joins = slots.size(), leaves = 0, vanished = 0, sent = 0, received = 0, malformed = 0;
  double end = now_seconds() + o.seconds;
  std::vector<pollfd> fds;
  while (now_seconds() < end) {
    size_t i = rng() % slots.size();
    unsigned action = rng() % 100;
    if (action < 3) {  // leave cleanly (or vanish first), then rejoin
      if (action == 0 && slots[i]) { slots[i]->close_data(); ++vanished; }
      slots[i].reset();
      ++leaves;
      join(i);
      ++joins;
    } else if (action < 5) {  // malformed frame
      uint8_t junk[3000];
      memset(junk, 0x55, sizeof junk);
      slots[i]->send_raw(junk, action == 3 ? 7 : sizeof junk, MSG_DONTWAIT);
      ++malformed;
    } else {
      size_t j = rng() % slots.size();
      Mac dst = action < 20 ? Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : slots[j]->mac();
      auto f = slots[i]->frame_to(dst, 60 + rng() % 1400);
      if (slots[i]->send_raw(f.data(), f.size(), MSG_DONTWAIT)) ++sent;
    }
    // Drain whatever arrived.
    fds.clear();
    for (auto& p : slots) fds.push_back({p->data_fd(), POLLIN, 0});
    if (poll(fds.data(), fds.size(), 0) > 0) {
      for (size_t k = 0; k < fds.size(); ++k)
        if (fds[k].revents & POLLIN) while (!slots[k]->receive(0).empty()) ++received;
    }
  }
  slots.clear();
  printf("soak ports=%d joins=%llu leaves=%llu vanished=%llu sent=%llu received=%llu malformed=%llu\n",
         o.ports, (unsigned long long)joins, (unsigned long long)leaves, (unsigned long long)vanished,
         (unsigned long long)sent, (unsigned long long)received, (unsigned long long)malformed);
  return received > 0 && leaves > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fputs("usage: umswitch-peer script|gen|soak CTLPATH [--pairs N] [--size BYTES] [--seconds S] [--ports N] [--window W]\n", stderr);
    usage_script();
    return 2;
  }
  std::string mode = argv[1], ctl = argv[2];
  Options o;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--pairs") o.pairs = std::stoi(v);
    else if (k == "--size") o.size = std::stoul(v);
    else if (k == "--seconds") o.seconds = std::stod(v);
    else if (k == "--ports") o.ports = std::stoi(v);
    else if (k == "--window") o.window = unsigned(std::stoul(v));
    else { fprintf(stderr, "umswitch-peer: unknown option %s\n", k.c_str()); return 2; }
  }
  if (mode == "script") return run_script(ctl);
  if (mode == "gen") return run_gen(ctl, o);
  if (mode == "soak") return run_soak(ctl, o);
  fprintf(stderr, "umswitch-peer: unknown mode %s\n", mode.c_str());
  return 2;
}
