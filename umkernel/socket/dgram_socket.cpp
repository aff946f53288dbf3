#include "umkernel/socket/dgram_socket.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <vector>

#include "umkernel/kernel/kernel.h"
#include "umkernel/socket/inet_socket.h"
#include "umkernel/net/input_guard.h"

namespace um::kernel::net {

namespace {

constexpr size_t kMaxUdpPayload = 65507;
constexpr size_t kDatagramOverhead = 768;  // what a queued datagram costs beyond its bytes (skb)

ip_addr_t source_for(const ip_addr_t& dst);

struct Datagram {
  std::string data;
  ip_addr_t from{};
  uint16_t port = 0;
  int hoplimit = -1, tclass = -1;  // of an IPv6 packet, for IPV6_RECVHOPLIMIT/RECVTCLASS
};

// The IPv6 header fields of the packet lwIP is delivering (inside its receive callbacks).
void note_ip6_header(Datagram& d) {
  if (!ip_current_is_v6()) return;
  d.hoplimit = IP6H_HOPLIM(ip6_current_header());
  d.tclass = static_cast<int>(IP6H_TC(ip6_current_header()));
}

// What UDP, ping and raw sockets share: a receive queue bounded by SO_RCVBUF and the calls
// around it. The lwIP-side parts (queue_, pcb) are touched only under the StackLock.
class DgramSocket : public InetSocket {
 public:
  using InetSocket::InetSocket;

  int64_t recv(Task&, size_t len, int flags, Received& out) override {
    if (flags & MSG_OOB) return -EOPNOTSUPP;
    StackLock lock;
    if (queue_.empty()) {
      if (err_) return -std::exchange(err_, 0);
      if (shut_rd_) return 0;
      return -EAGAIN;
    }
    Datagram& d = queue_.front();
    size_t n = std::min(len, d.data.size());
    out.data.assign(d.data, 0, n);
    out.from = inet_address(family_, d.from, d.port);
    if (d.data.size() > n) out.msg_flags |= MSG_TRUNC;
    auto control = [&](int type, int v) {
      out.controls.push_back({IPPROTO_IPV6, type, std::string(reinterpret_cast<const char*>(&v), sizeof v)});
    };
    if (recv_hoplimit_ && d.hoplimit >= 0) control(IPV6_HOPLIMIT, d.hoplimit);  // Linux's order
    if (recv_tclass_ && d.tclass >= 0) control(IPV6_TCLASS, d.tclass);
    int64_t r = static_cast<int64_t>((flags & MSG_TRUNC) ? d.data.size() : n);
    if (!(flags & MSG_PEEK)) {
      queued_ -= d.data.size() + kDatagramOverhead;
      queue_.pop_front();
    }
    return r;
  }

  int64_t shutdown(int how) override {
    if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
    StackLock lock;
    if (!connected_) return -ENOTCONN;
    if (how != SHUT_WR) shut_rd_ = true;
    if (how != SHUT_RD) shut_wr_ = true;
    notify(this);
    return 0;
  }

  int64_t sockname(std::string& out) override {
    StackLock lock;
    ip_addr_t ip = local_ip();
    if (connected_ && ip_addr_isany(&ip)) ip = source_for(peer_ip_);  // as Linux picks it on connect
    if (family_ == AF_INET6 && IP_IS_V4(&ip) && ip_addr_isany(&ip)) ip_addr_copy(ip, *IP_ANY_TYPE);
    out = inet_address(family_, ip, local_port());
    return 0;
  }

  int64_t peername(std::string& out) override {
    StackLock lock;
    if (!connected_) return -ENOTCONN;
    out = inet_address(family_, peer_ip_, peer_port_);
    return 0;
  }

 protected:
  virtual uint16_t local_port() = 0;
  // The pcb's part of connect(): made on demand; disconnect (AF_UNSPEC) needs none.
  virtual int64_t ensure_pcb() = 0;
  virtual err_t pcb_connect(const ip_addr_t& ip, uint16_t port) = 0;
  virtual void pcb_disconnect() = 0;

  ip_addr_t local_ip() {
    ip_addr_t a;
    if (ip_pcb* p = ip()) ip_addr_copy(a, p->local_ip);
    else ip_addr_set_zero(&a);
    return a;
  }

 public:
  int64_t connect(Task&, const std::string& raw, WaitQueue*&) override {
    sa_family_t f = AF_UNSPEC;
    if (raw.size() >= sizeof f) memcpy(&f, raw.data(), sizeof f);
    StackLock lock;
    if (f == AF_UNSPEC && raw.size() >= sizeof f) {
      if (ip()) pcb_disconnect();
      connected_ = false;
      return 0;
    }
    ip_addr_t ip;
    uint16_t port;
    if (int64_t e = destination(&raw, ip, port); e < 0) return e;
    if (int64_t e = ensure_pcb(); e < 0) return e;
    if (int64_t e = errno_of(pcb_connect(ip, port)); e < 0) return e;
    connected_ = true;
    peer_ip_ = ip;
    peer_port_ = protocol_ == IPPROTO_UDP ? port : 0;  // raw and ping sockets have no peer port
    return 0;
  }

 protected:

  // Under the lock, any thread: a datagram for us (dropped when the queue is full).
  void deliver(Datagram d) {
    size_t cost = d.data.size() + kDatagramOverhead;
    if (shut_rd_ || queued_ + cost > static_cast<size_t>(rcvbuf_)) {
      drops_++;
      return;
    }
    queued_ += cost;
    queue_.push_back(std::move(d));
    notify(this);
  }

  unsigned readiness() override {
    unsigned m = POLLOUT | POLLWRNORM;
    if (!queue_.empty() || shut_rd_) m |= POLLIN | POLLRDNORM;
    if (err_) m |= POLLERR;
    if (shut_rd_ && shut_wr_) m |= POLLHUP;
    return m;
  }
  int64_t bytes_readable() override { return queue_.empty() ? 0 : static_cast<int64_t>(queue_.front().data.size()); }
  int take_error() override {
    StackLock lock;
    return std::exchange(err_, 0);
  }

  // The destination of a send: `to`, or the connected peer.
  int64_t destination(const std::string* to, ip_addr_t& ip, uint16_t& port) {
    if (!to) {
      if (!connected_) return -EDESTADDRREQ;
      ip = peer_ip_;
      port = peer_port_;
      return 0;
    }
    if (int64_t e = parse_inet_address(family_, *to, ip, port); e < 0) return e;
    if (family_ == AF_INET6 && IP_IS_V4(&ip) && v6only_) return -ENETUNREACH;
    if (ip_addr_isany(&ip)) {  // to "any": this machine
      if (IP_IS_V4(&ip)) ip_addr_set_ip4_u32_val(ip, PP_HTONL(0x7f000001));
      else IP_ADDR6(&ip, 0, 0, 0, PP_HTONL(1));
    }
    return check_broadcast(ip);
  }

  std::deque<Datagram> queue_;
  size_t queued_ = 0;
  uint64_t drops_ = 0;
  int err_ = 0;
  bool connected_ = false, shut_rd_ = false, shut_wr_ = false;
  ip_addr_t peer_ip_{};
  uint16_t peer_port_ = 0;
};

// The source address Linux would give a socket connected to `dst`: the address of the
// interface the route leaves by (127.0.0.1 and ::1 for this machine).
ip_addr_t source_for(const ip_addr_t& dst) {
  ip_addr_t src;
  ip_addr_set_zero(&src);
  if (IP_IS_V4(&dst)) {
    const ip4_addr_t* d = ip_2_ip4(&dst);
    if (ip4_addr_isloopback(d)) {
      ip_addr_set_ip4_u32_val(src, PP_HTONL(0x7f000001));
    } else if (netif* n = ip4_route(d)) {
      ip_addr_copy_from_ip4(src, *netif_ip4_addr(n));
    }
    return src;
  }
  if (ip6_addr_isloopback(ip_2_ip6(&dst))) {
    IP_ADDR6(&src, 0, 0, 0, PP_HTONL(1));
  } else if (netif* n = ip6_route(IP6_ADDR_ANY6, ip_2_ip6(&dst))) {
    if (const ip_addr_t* a = ip6_select_source_address(n, ip_2_ip6(&dst))) ip_addr_copy(src, *a);
  }
  return src;
}

// Copies `len` bytes from the guest into a fresh pbuf for layer `layer`.
int64_t pbuf_from_guest(const SendSource& src, size_t len, pbuf_layer layer, pbuf*& out) {
  out = pbuf_alloc(layer, static_cast<u16_t>(len), PBUF_RAM);
  if (!out) return -ENOBUFS;
  if (len && src(0, static_cast<char*>(out->payload), len) < 0) {
    pbuf_free(out);
    return -EFAULT;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------

class UdpSocket;
std::vector<UdpSocket*>& udp_sockets() {  // under the lock
  static auto* v = new std::vector<UdpSocket*>;
  return *v;
}

constexpr int kSendCscov = 10, kRecvCscov = 11;  // UDPLITE_SEND_CSCOV, UDPLITE_RECV_CSCOV (linux/udp.h)

// UDP, and UDP-Lite (RFC 3828: IPPROTO_UDPLITE, a checksum covering only the first
// UDPLITE_SEND_CSCOV bytes; lwIP's UDP pcbs with UDP_FLAGS_UDPLITE).
class UdpSocket : public DgramSocket {
 public:
  UdpSocket(InodePtr inode, int flags, int family, bool lite)
      : DgramSocket(std::move(inode), flags, family, SOCK_DGRAM, lite ? IPPROTO_UDPLITE : IPPROTO_UDP), lite_(lite) {
    StackLock lock;
    udp_sockets().push_back(this);
  }
  ~UdpSocket() override {
    StackLock lock;
    std::erase(udp_sockets(), this);
    if (pcb_) udp_remove(pcb_);
    forget(this);
  }

  // An ICMP port (or host/network) unreachable came back for a datagram from local port
  // `lport` to `dst`:`dport`: a connected socket learns it as ECONNREFUSED (Linux reports
  // such errors only to connected sockets unless IP_RECVERR). Under the lock, any thread.
  static void icmp_unreachable(uint16_t lport, const ip_addr_t& dst, uint16_t dport, int err) {
    for (UdpSocket* u : udp_sockets()) {
      if (!u->connected_ || !u->pcb_ || u->pcb_->local_port != lport || u->peer_port_ != dport) continue;
      if (!ip_addr_cmp(&u->peer_ip_, &dst)) continue;
      u->err_ = err;
      notify(u);
    }
  }

  int64_t bind(Task& t, const std::string& raw) override {
    ip_addr_t ip;
    uint16_t port;
    if (int64_t e = bind_address(t, raw, ip, port); e < 0) return e;
    StackLock lock;
    if (bound_) return -EINVAL;
    if (int64_t e = ensure_pcb(); e < 0) return e;
    if (int64_t e = errno_of(udp_bind(pcb_, &ip, port)); e < 0) return e;
    bound_ = true;
    return 0;
  }

  int64_t send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to, Ancillary*) override {
    if (flags & MSG_OOB) return -EOPNOTSUPP;
    if (len > kMaxUdpPayload) return -EMSGSIZE;
    StackLock lock;
    if (shut_wr_) return -EPIPE;
    ip_addr_t ip;
    uint16_t port;
    if (int64_t e = destination(to, ip, port); e < 0) return e;
    if (port == 0) return -EINVAL;
    if (int64_t e = ensure_pcb(); e < 0) return e;
    pbuf* p;
    if (int64_t e = pbuf_from_guest(src, len, PBUF_TRANSPORT, p); e < 0) return e;
    err_t err = udp_sendto(pcb_, p, &ip, port);
    pbuf_free(p);
    if (err != ERR_OK) return errno_of(err);
    bound_ = true;
    return static_cast<int64_t>(len);
  }

 protected:
  ip_pcb* ip() override { return reinterpret_cast<ip_pcb*>(pcb_); }
  uint16_t local_port() override { return pcb_ ? pcb_->local_port : 0; }
  bool has_port() override { return local_port() != 0; }
  err_t pcb_connect(const ip_addr_t& ip, uint16_t port) override {
    err_t e = udp_connect(pcb_, &ip, port);
    if (e == ERR_OK) bound_ = true;
    return e;
  }
  void pcb_disconnect() override { udp_disconnect(pcb_); }

  int64_t ensure_pcb() override {
    if (pcb_) return 0;
    pcb_ = udp_new_ip_type(ip_type());
    if (!pcb_) return -ENOBUFS;
    if (lite_) {
      udp_setflags(pcb_, udp_flags(pcb_) | UDP_FLAGS_UDPLITE);
      pcb_->chksum_len_tx = send_cscov_;
    }
    apply_options(reinterpret_cast<ip_pcb*>(pcb_));
    udp_recv(pcb_, on_recv, this);
    return 0;
  }

  static void on_recv(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* addr, u16_t port) {
    auto* self = static_cast<UdpSocket*>(arg);
    // lwIP keeps one port space for both: a datagram of the other protocol is not ours.
    bool lite = ip_current_header_proto() == IP_PROTO_UDPLITE;
    if (lite != self->lite_) {
      pbuf_free(p);
      return;
    }
    if (lite && self->recv_cscov_) {
      // UDPLITE_RECV_CSCOV: datagrams covering less than asked for are dropped.
      auto* h = static_cast<const udp_hdr*>(ip_next_header_ptr());
      size_t cov = lwip_ntohs(h->len);
      if (cov == 0) cov = p->tot_len + UDP_HLEN;
      if (cov < self->recv_cscov_) {
        pbuf_free(p);
        return;
      }
    }
    Datagram d;
    d.data.resize(p->tot_len);
    pbuf_copy_partial(p, d.data.data(), p->tot_len, 0);
    ip_addr_copy(d.from, *addr);
    d.port = port;
    note_ip6_header(d);
    pbuf_free(p);
    self->deliver(std::move(d));
  }

  // UDPLITE_SEND_CSCOV / UDPLITE_RECV_CSCOV (level SOL_UDPLITE): 0 (all) or 8..65535.
  int64_t getsockopt(int level, int name, std::string& value) override {
    if (level == IPPROTO_UDPLITE || level == IPPROTO_UDP) {
      if (name == kSendCscov || name == kRecvCscov) {
        if (!lite_) return -ENOPROTOOPT;
        return value = int_option(name == kSendCscov ? send_cscov_ : recv_cscov_), 0;
      }
      return -ENOPROTOOPT;
    }
    return DgramSocket::getsockopt(level, name, value);
  }
  int64_t setsockopt(Task& t, int level, int name, const std::string& value) override {
    if (level == IPPROTO_UDPLITE || level == IPPROTO_UDP) {
      if (name != kSendCscov && name != kRecvCscov) return -ENOPROTOOPT;
      int v;
      if (int64_t e = int_from_option(value, v); e < 0) return e;
      if (!lite_) return -ENOPROTOOPT;
      if (v != 0 && v < 8) v = 8;
      else if (v > 65535) v = 65535;
      StackLock lock;
      if (name == kSendCscov) {
        send_cscov_ = static_cast<uint16_t>(v);
        if (pcb_) pcb_->chksum_len_tx = send_cscov_;
      } else {
        recv_cscov_ = static_cast<uint16_t>(v);
      }
      return 0;
    }
    return DgramSocket::setsockopt(t, level, name, value);
  }

  udp_pcb* pcb_ = nullptr;
  bool bound_ = false;
  bool lite_;
  uint16_t send_cscov_ = 0, recv_cscov_ = 0;
};

// ---------------------------------------------------------------------------------------
// Raw IPv4 sockets and ping sockets: both are lwIP raw pcbs. lwIP hands raw pcbs whole IP
// packets before its own protocols see them; returning 0 lets lwIP go on (so it still answers
// echo requests itself).

uint16_t checksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

class RawSocket : public DgramSocket {
 public:
  // ping: SOCK_DGRAM/IPPROTO_ICMP; else a SOCK_RAW socket of `protocol`.
  RawSocket(InodePtr inode, int flags, int type, int protocol)
      : DgramSocket(std::move(inode), flags, AF_INET, type, protocol), ping_(type == SOCK_DGRAM) {
    hdrincl_ = !ping_ && protocol == IPPROTO_RAW;
  }
  ~RawSocket() override {
    StackLock lock;
    if (pcb_) raw_remove(pcb_);
    forget(this);
  }

  int64_t bind(Task& t, const std::string& raw) override {
    ip_addr_t ip;
    uint16_t port;
    if (int64_t e = bind_address(t, raw, ip, port); e < 0) return e;
    StackLock lock;
    if (int64_t e = ensure_pcb(); e < 0) return e;
    if (int64_t e = errno_of(raw_bind(pcb_, &ip)); e < 0) return e;
    if (ping_) ident_ = port ? port : ident_;
    return 0;
  }

  int64_t send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to, Ancillary*) override {
    if (flags & MSG_OOB) return -EOPNOTSUPP;
    if (len > 65535 - 20) return -EMSGSIZE;
    StackLock lock;
    if (shut_wr_) return -EPIPE;
    ip_addr_t ip;
    uint16_t port;
    if (int64_t e = destination(to, ip, port); e < 0) return e;
    if (int64_t e = ensure_pcb(); e < 0) return e;
    pbuf* p;
    if (int64_t e = pbuf_from_guest(src, len, PBUF_IP, p); e < 0) return e;
    if (hdrincl_ && !ip_packet_acceptable(static_cast<const uint8_t*>(p->payload), len)) {
      pbuf_free(p);
      return -EPROTONOSUPPORT;  // would reach an lwIP assertion when looped back (input_guard.h)
    }
    if (ping_) {
      // Linux's ping sockets take an ICMP echo request and put the socket's identifier in it.
      auto* h = static_cast<uint8_t*>(p->payload);
      if (len < 8 || h[0] != ICMP_ECHO || h[1] != 0) {
        pbuf_free(p);
        return -EINVAL;
      }
      h[4] = static_cast<uint8_t>(ident_ >> 8);
      h[5] = static_cast<uint8_t>(ident_);
      h[2] = h[3] = 0;
      uint16_t sum = checksum(h, len);
      h[2] = static_cast<uint8_t>(sum >> 8);
      h[3] = static_cast<uint8_t>(sum);
    }
    err_t err = raw_sendto(pcb_, p, &ip);
    pbuf_free(p);
    if (err != ERR_OK) return errno_of(err);
    return static_cast<int64_t>(len);
  }

  int64_t getsockopt(int level, int name, std::string& value) override {
    if (level == IPPROTO_IP && name == IP_HDRINCL) return value = int_option(hdrincl_), 0;
    return DgramSocket::getsockopt(level, name, value);
  }
  int64_t setsockopt(Task& t, int level, int name, const std::string& value) override {
    if (level == IPPROTO_IP && name == IP_HDRINCL && !ping_) {
      int v;
      if (int64_t e = int_from_option(value, v); e < 0) return e;
      StackLock lock;
      hdrincl_ = v != 0;
      if (pcb_) raw_setflags(pcb_, hdrincl_ ? RAW_FLAGS_HDRINCL : 0);
      return 0;
    }
    if (level == SOL_RAW || (level == IPPROTO_ICMP && !ping_)) return 0;  // ICMP_FILTER: accepted
    return DgramSocket::setsockopt(t, level, name, value);
  }

 protected:
  ip_pcb* ip() override { return reinterpret_cast<ip_pcb*>(pcb_); }
  uint16_t local_port() override { return ping_ ? ident_ : 0; }
  err_t pcb_connect(const ip_addr_t& ip, uint16_t) override { return raw_connect(pcb_, &ip); }
  void pcb_disconnect() override { raw_disconnect(pcb_); }

  int64_t ensure_pcb() override {
    if (pcb_) return 0;
    pcb_ = raw_new_ip_type(IPADDR_TYPE_V4, static_cast<u8_t>(protocol_ == IPPROTO_RAW ? 255 : protocol_));
    if (!pcb_) return -ENOBUFS;
    apply_options(reinterpret_cast<ip_pcb*>(pcb_));
    if (hdrincl_) raw_setflags(pcb_, RAW_FLAGS_HDRINCL);
    raw_recv(pcb_, on_recv, this);
    if (ping_ && ident_ == 0) ident_ = static_cast<uint16_t>(next_ident_++ | 0x8000);
    return 0;
  }

  static u8_t on_recv(void* arg, raw_pcb*, pbuf* p, const ip_addr_t* addr) {
    auto* self = static_cast<RawSocket*>(arg);
    Datagram d;
    d.data.resize(p->tot_len);
    pbuf_copy_partial(p, d.data.data(), p->tot_len, 0);
    ip_addr_copy(d.from, *addr);
    if (self->ping_) {
      // Only echo replies to our identifier, without the IP header.
      auto* h = reinterpret_cast<const uint8_t*>(d.data.data());
      size_t ihl = (h[0] & 0x0f) * 4u;
      if (d.data.size() < ihl + 8) return 0;
      const uint8_t* icmp = h + ihl;
      if (icmp[0] != ICMP_ECHOREPLY || (icmp[4] << 8 | icmp[5]) != self->ident_) return 0;
      d.data.erase(0, ihl);
    }
    self->deliver(std::move(d));
    return 0;  // not eaten: lwIP's own ICMP still sees it
  }

  raw_pcb* pcb_ = nullptr;
  bool ping_, hdrincl_ = false;
  uint16_t ident_ = 0;
  static inline uint16_t next_ident_ = 1;
};

// Watches ICMP for destination-unreachable messages about UDP datagrams (lwIP tells its UDP
// pcbs nothing of them). A raw pcb sees every ICMP packet before lwIP's own ICMP code.
u8_t on_icmp(void*, raw_pcb*, pbuf* p, const ip_addr_t*) {
  uint8_t b[20 + 8 + 60 + 8];
  size_t n = pbuf_copy_partial(p, b, static_cast<u16_t>(std::min<size_t>(p->tot_len, sizeof b)), 0);
  if (n < 20 || (b[0] >> 4) != 4) return 0;
  size_t ihl = (b[0] & 0x0f) * 4u;
  if (n < ihl + 8 || b[ihl] != 3) return 0;  // ICMP destination unreachable
  const uint8_t* inner = b + ihl + 8;
  size_t inner_ihl = (inner[0] & 0x0f) * 4u;
  if (n < ihl + 8 + inner_ihl + 4 || inner[9] != IPPROTO_UDP) return 0;
  const uint8_t* udp = inner + inner_ihl;
  uint16_t lport = static_cast<uint16_t>(udp[0] << 8 | udp[1]), dport = static_cast<uint16_t>(udp[2] << 8 | udp[3]);
  uint32_t daddr;
  memcpy(&daddr, inner + 16, 4);
  ip_addr_t dst;
  ip_addr_set_ip4_u32_val(dst, daddr);
  int code = b[ihl + 1];
  UdpSocket::icmp_unreachable(lport, dst, dport, code == 3 ? ECONNREFUSED : code == 1 ? EHOSTUNREACH : ENETUNREACH);
  return 0;
}

}  // namespace

void start_udp_error_watch() {
  if (raw_pcb* pcb = raw_new_ip_type(IPADDR_TYPE_V4, IP_PROTO_ICMP)) raw_recv(pcb, on_icmp, nullptr);
}

int64_t create_udp_socket(Task& t, int family, int flags, SocketPtr& out, bool lite) {
  out = std::make_shared<UdpSocket>(Socket::make_inode(t), O_RDWR | flags, family, lite);
  return 0;
}

int64_t create_ping_socket(Task& t, int flags, SocketPtr& out) {
  out = std::make_shared<RawSocket>(Socket::make_inode(t), O_RDWR | flags, SOCK_DGRAM, IPPROTO_ICMP);
  return 0;
}

int64_t create_raw_socket(Task& t, int protocol, int flags, SocketPtr& out) {
  if (t.proc->cred.euid != 0) return -EPERM;  // CAP_NET_RAW
  if (protocol <= 0 || protocol > 255 || protocol == IPPROTO_UDPLITE) return -EPROTONOSUPPORT;
  out = std::make_shared<RawSocket>(Socket::make_inode(t), O_RDWR | flags, SOCK_RAW, protocol);
  return 0;
}

}  // namespace um::kernel::net
