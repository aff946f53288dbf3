#include "umswitch/vxlan.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace um::sw {

namespace {

uint64_t mac_key(const uint8_t mac[6]) {
  uint64_t k = 0;
  for (int i = 0; i < 6; i++) k = (k << 8) | mac[i];
  return k;
}

uint64_t monotonic_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec);
}

std::string endpoint_text(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

}  // namespace

Result<sockaddr_in> parse_vxlan_endpoint(const std::string& text, uint16_t default_port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  std::string host = text;
  a.sin_port = htons(default_port);
  if (size_t colon = text.rfind(':'); colon != std::string::npos) {
    if (text.find(':') != colon)
      return Error::make(EINVAL, "'" + text + "': only IPv4 underlays are supported (ADDR[:PORT])");
    host = text.substr(0, colon);
    std::string port = text.substr(colon + 1);
    char* end = nullptr;
    long p = port.empty() || !isdigit(static_cast<unsigned char>(port[0])) ? -1 : strtol(port.c_str(), &end, 10);
    if (p < 1 || p > 65535 || *end) return Error::make(EINVAL, "'" + text + "': bad UDP port '" + port + "'");
    a.sin_port = htons(static_cast<uint16_t>(p));
  }
  if (host.empty() && !text.empty()) {
    a.sin_addr.s_addr = htonl(INADDR_ANY);  // ":PORT" (for --vxlan-local)
    return a;
  }
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1)
    return Error::make(EINVAL, "'" + text + "': not an IPv4 address (ADDR[:PORT], numeric)");
  return a;
}

void vxlan_header(uint32_t vni, uint8_t out[kVxlanHeader]) {
  memset(out, 0, kVxlanHeader);
  out[0] = 0x08;
  out[4] = static_cast<uint8_t>(vni >> 16);
  out[5] = static_cast<uint8_t>(vni >> 8);
  out[6] = static_cast<uint8_t>(vni);
}

bool vxlan_vni(const uint8_t hdr[kVxlanHeader], uint32_t* vni) {
  if (!(hdr[0] & 0x08)) return false;
  *vni = (uint32_t{hdr[4]} << 16) | (uint32_t{hdr[5]} << 8) | hdr[6];
  return true;
}

bool VtepTable::learn(const uint8_t mac[6], const sockaddr_in& vtep, uint64_t now) {
  uint64_t k = mac_key(mac);
  auto it = entries_.find(k);
  if (it != entries_.end()) {
    it->second = {vtep, now};
    return true;
  }
  if (entries_.size() >= capacity_) {
    age(now);
    if (entries_.size() >= capacity_) return false;
  }
  entries_.emplace(k, Entry{vtep, now});
  return true;
}

const sockaddr_in* VtepTable::lookup(const uint8_t mac[6], uint64_t now) const {
  auto it = entries_.find(mac_key(mac));
  if (it == entries_.end() || now - it->second.seen >= age_) return nullptr;
  return &it->second.vtep;
}

void VtepTable::age(uint64_t now) {
  std::erase_if(entries_, [&](const auto& e) { return now - e.second.seen >= age_; });
}

VxlanPort::VxlanPort(const VxlanOptions& options) : opt_(options), vteps_(kMaxLearned, options.mac_age_seconds) {
  vxlan_header(opt_.vni, header_);
  for (const sockaddr_in& r : opt_.remotes) has_group_ |= IN_MULTICAST(ntohl(r.sin_addr.s_addr));
}

Result<std::unique_ptr<VxlanPort>> VxlanPort::open(const VxlanOptions& options) {
  if (options.remotes.empty()) return Error::make(EINVAL, "--vxlan needs at least one remote");
  if (options.vni > kMaxVni) return Error::make(EINVAL, "--vni must be 0..16777215");
  std::unique_ptr<VxlanPort> p(new VxlanPort(options));
  auto fail = [&](const std::string& what) {
    return Error::make(errno, "vxlan: " + what + " " + endpoint_text(options.local) + ": " + strerror(errno));
  };
  p->fd_ = UniqueFd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int fd = p->fd_.get();
  if (fd < 0) return fail("cannot open a UDP socket for");
  int yes = 1, no = 0;
  // Several VTEPs of one host may share a multicast group's port.
  if (p->has_group_) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  // Encapsulated full-size frames exceed a 1500-byte underlay: let IP fragment them (as Linux's
  // vxlan does without df set) rather than refuse them.
  int pmtu = IP_PMTUDISC_DONT;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  // As Linux's vxlan: our own multicast is not looped back to us.
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &no, sizeof no);
  int mttl = options.ttl > 0 ? options.ttl : 1;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &mttl, sizeof mttl);
  if (options.ttl > 0) setsockopt(fd, IPPROTO_IP, IP_TTL, &options.ttl, sizeof options.ttl);
  // A big receive buffer: a burst of a TCP transfer arrives faster than one loop turn.
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&options.local), sizeof options.local) < 0)
    return fail("cannot listen on");
  for (const sockaddr_in& r : options.remotes) {
    if (!IN_MULTICAST(ntohl(r.sin_addr.s_addr))) continue;
    ip_mreqn mreq{};
    mreq.imr_multiaddr = r.sin_addr;
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0)
      return Error::make(errno, "vxlan: cannot join the group " + endpoint_text(r) + ": " + strerror(errno) +
                                    " (the host needs a multicast route)");
  }
  return p;
}

std::string VxlanPort::peer() const {
  std::string s = "vni " + std::to_string(opt_.vni) + " on " + endpoint_text(opt_.local) + " to";
  for (const sockaddr_in& r : opt_.remotes) s += " " + endpoint_text(r);
  return s;
}

// With a multicast group anyone in the group is a peer (RFC 7348's learning); with unicast
// remotes only they are, whatever their UDP source port (senders spread flows over ports).
bool VxlanPort::accepted_source(const sockaddr_in& from) const {
  if (has_group_) return true;
  for (const sockaddr_in& r : opt_.remotes)
    if (r.sin_addr.s_addr == from.sin_addr.s_addr) return true;
  return false;
}

// Where frames for a MAC seen from `from` go: the remote's VXLAN port, not the flow-hashed
// source port it may have sent from. A configured remote with that address and port, else the
// first with that address, else (a group member) the group's port.
sockaddr_in VxlanPort::reply_address(const sockaddr_in& from) const {
  const sockaddr_in* same_ip = nullptr;
  const sockaddr_in* group = nullptr;
  for (const sockaddr_in& r : opt_.remotes) {
    if (r.sin_addr.s_addr == from.sin_addr.s_addr) {
      if (r.sin_port == from.sin_port) return r;
      if (!same_ip) same_ip = &r;
    }
    if (!group && IN_MULTICAST(ntohl(r.sin_addr.s_addr))) group = &r;
  }
  sockaddr_in to = from;
  to.sin_port = same_ip ? same_ip->sin_port : group ? group->sin_port : htons(kVxlanPort);
  return to;
}

int VxlanPort::receive(RxBatch& batch) {
  constexpr int n = RxBatch::kFrames;
  uint8_t hdr[n][kVxlanHeader];
  sockaddr_in from[n];
  iovec iov[n][2];
  mmsghdr msgs[n];
  for (int i = 0; i < n; i++) {
    iov[i][0] = {hdr[i], kVxlanHeader};
    iov[i][1] = {batch.data[i], RxBatch::kBufSize};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = iov[i];
    msgs[i].msg_hdr.msg_iovlen = 2;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int got;
  do got = recvmmsg(fd_.get(), msgs, n, MSG_DONTWAIT, nullptr); while (got < 0 && errno == EINTR);
  if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED ? 0 : -1;
  uint64_t now = monotonic_seconds();
  int kept = 0;
  for (int i = 0; i < got; i++) {
    uint32_t vni = 0;
    size_t len = msgs[i].msg_len;
    if (!accepted_source(from[i])) {
      ++rx_foreign;
      ++counters.rx_drops;
      continue;
    }
    if (len < kVxlanHeader + 14 || !vxlan_vni(hdr[i], &vni) || vni != opt_.vni) {
      ++rx_bad;
      ++counters.rx_drops;
      continue;
    }
    if (kept != i) memcpy(batch.data[kept], batch.data[i], len - kVxlanHeader);
    batch.len[kept] = static_cast<uint32_t>(len - kVxlanHeader);
    batch.truncated[kept] = msgs[i].msg_hdr.msg_flags & MSG_TRUNC;
    // The inner source MAC lives behind the sender (a group member answers from its own address).
    const uint8_t* src = batch.data[kept] + 6;
    if (!(src[0] & 1)) {
      vteps_.learn(src, reply_address(from[i]), now);
    }
    ++kept;
  }
  return kept;  // 0 when all were dropped: the loop comes back while more are waiting
}

void VxlanPort::flush(SwitchStats& stats) {
  if (txq.empty()) return;
  uint64_t now = monotonic_seconds();
  // One datagram per (frame, destination): header and frame gathered, never copied.
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<size_t> frame_of;  // msgs[i] carries txq[frame_of[i]]
  size_t fanout = opt_.remotes.size();
  msgs.reserve(txq.size() * fanout);
  iov.reserve(txq.size() * fanout * 2);
  frame_of.reserve(txq.size() * fanout);
  auto add = [&](size_t f, const sockaddr_in* to) {
    iov.push_back({header_, kVxlanHeader});
    iov.push_back({const_cast<uint8_t*>(txq[f].data), txq[f].len});
    mmsghdr m{};
    m.msg_hdr.msg_name = const_cast<sockaddr_in*>(to);
    m.msg_hdr.msg_namelen = sizeof *to;
    msgs.push_back(m);
    frame_of.push_back(f);
  };
  for (size_t f = 0; f < txq.size(); f++) {
    const uint8_t* dst = txq[f].data;
    const sockaddr_in* known = (dst[0] & 1) ? nullptr : vteps_.lookup(dst, now);
    if (known) {
      add(f, known);
      continue;
    }
    for (const sockaddr_in& r : opt_.remotes) add(f, &r);
  }
  for (size_t i = 0; i < msgs.size(); i++) {  // iov has its final address now
    msgs[i].msg_hdr.msg_iov = &iov[2 * i];
    msgs[i].msg_hdr.msg_iovlen = 2;
  }
  // A frame counts as sent when at least one of its copies left.
  std::vector<bool> sent(txq.size(), false);
  size_t done = 0;
  while (done < msgs.size()) {
    int r = sendmmsg(fd_.get(), &msgs[done], static_cast<unsigned>(msgs.size() - done), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == ENOBUFS) break;  // the host's queue is full: drop the rest
      ++done;  // this destination is unreachable (no route...): the others still get theirs
      continue;
    }
    for (int i = 0; i < r; i++) sent[frame_of[done + i]] = true;
    done += static_cast<size_t>(r);
  }
  for (size_t f = 0; f < txq.size(); f++) {
    if (sent[f]) count_sent(stats, txq[f]);
    else count_dropped(stats, EAGAIN);
  }
  txq.clear();
}

}  // namespace um::sw
