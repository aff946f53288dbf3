// AF_PACKET sockets (SOCK_RAW: whole Ethernet frames; SOCK_DGRAM: from the network header,
// the link header made from the address), as Linux's af_packet.c serves them without rings:
// a PacketTap on the bound interface, or on every interface while unbound, queues each
// matching frame with its sockaddr_ll; SO_ATTACH_FILTER runs classic BPF (bpf.h) on it first.
// Frames are sent with Interface::transmit_frame, bypassing IP.
//
// Taps run under the StackLock on either thread: they only queue and notify(); the socket's
// waiters are woken on the kernel thread (Waker). The queue is read under the lock too.
//
// Not served: memory-mapped rings (PACKET_RX_RING/TX_RING/VERSION), fanout, PACKET_AUXDATA and
// other control-message options (the receive path carries no such cmsgs), SOCK_PACKET, and
// promiscuous mode (the NICs' address filter passes only their own unicast frames).
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/net/bpf.h"
#include "umkernel/net/interface.h"
#include "umkernel/socket/net_sockets.h"
#include "umkernel/net/interface_config.h"
#include "umkernel/net/stack.h"

namespace um::kernel::net {

namespace {

constexpr size_t kEthHeader = 14;
constexpr size_t kFrameOverhead = 512;  // what a queued frame costs the receive buffer (truesize)
constexpr uint16_t kAllProtocols = ETH_P_ALL;

bool privileged(Task& t) { return t.proc->cred.euid == 0; }

// skb->protocol as eth_type_trans sets it (network order): the EtherType, or 802.3/802.2 for
// length fields.
uint16_t frame_protocol(const uint8_t* frame, size_t len) {
  uint16_t type;
  memcpy(&type, frame + 12, 2);
  if (ntohs(type) >= ETH_P_802_3_MIN) return type;
  if (len >= 16 && frame[14] == 0xff && frame[15] == 0xff) return htons(ETH_P_802_3);  // raw 802.3 (IPX)
  return htons(ETH_P_802_2);
}

uint8_t packet_type(Interface& dev, const uint8_t* frame, bool outgoing) {
  if (outgoing) return PACKET_OUTGOING;
  static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (memcmp(frame, bcast, 6) == 0) return PACKET_BROADCAST;
  if (frame[0] & 1) return PACKET_MULTICAST;
  if (memcmp(frame, dev.mac(), 6) == 0) return PACKET_HOST;
  return PACKET_OTHERHOST;
}

// The significant bytes of a sockaddr_ll: up to the hardware address (msg_namelen as Linux).
std::string ll_address(uint16_t protocol, int ifindex, uint16_t hatype, uint8_t pkttype, const uint8_t* addr, size_t halen) {
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = protocol;
  sll.sll_ifindex = ifindex;
  sll.sll_hatype = hatype;
  sll.sll_pkttype = pkttype;
  sll.sll_halen = static_cast<unsigned char>(halen);
  if (halen) memcpy(sll.sll_addr, addr, halen);
  return std::string(reinterpret_cast<const char*>(&sll), offsetof(sockaddr_ll, sll_addr) + halen);
}

class PacketSocket : public Socket, public Waker, public PacketTap {
 public:
  PacketSocket(InodePtr inode, int flags, int type, uint16_t protocol)
      : Socket(std::move(inode), flags, AF_PACKET, type, protocol), proto_(protocol) {}
  ~PacketSocket() override {
    StackLock lock;
    unhook();
    forget(this);
  }

  // Under the lock: taps on what the binding selects.
  void hook() {
    if (proto_ == 0) return;
    if (ifindex_) {
      if (Interface* d = interface_by_index(ifindex_)) {
        d->add_tap(this);
        hooked_.push_back(d);
      }
      return;
    }
    for (Interface* d : interfaces()) {
      d->add_tap(this);
      hooked_.push_back(d);
    }
  }
  void unhook() {
    for (Interface* d : hooked_) d->remove_tap(this);
    hooked_.clear();
  }

  int64_t bind(Task& t, const std::string& addr) override;
  int64_t connect(Task&, const std::string&, WaitQueue*&) override { return -EOPNOTSUPP; }
  int64_t shutdown(int) override { return -EOPNOTSUPP; }
  int64_t send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to, Ancillary* anc) override;
  int64_t recv(Task& t, size_t len, int flags, Received& out) override;
  int64_t sockname(std::string& out) override;
  int64_t peername(std::string&) override { return -EOPNOTSUPP; }
  int64_t getsockopt(int level, int name, std::string& value) override;
  int64_t setsockopt(Task& t, int level, int name, const std::string& value) override;
  unsigned poll() override {
    StackLock lock;
    unsigned r = POLLOUT | POLLWRNORM;
    if (!queue_.empty()) r |= POLLIN | POLLRDNORM;
    if (err_) r |= POLLERR;
    return r;
  }
  WaitQueue* wait_queue() override { return &wq_; }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override;

  // PacketTap: under the lock, any thread.
  void on_frame(Interface& dev, const uint8_t* frame, size_t len, bool outgoing) override;

  // Waker
  void wake() override { wq_.wake_all(); }
  std::shared_ptr<void> hold() override { return weak_from_this().lock(); }

 protected:
  int take_error() override {
    StackLock lock;
    return std::exchange(err_, 0);
  }

 private:
  struct Frame {
    std::string data;  // what recv returns (after the link header for SOCK_DGRAM, filtered length)
    std::string from;  // sockaddr_ll bytes
  };
  struct Membership {
    int ifindex;
    uint16_t type;
    std::string addr;
  };
  int64_t attach_filter(Task& t, const std::string& value);
  int64_t membership(const std::string& value, bool add);

  uint16_t proto_;                  // network order; 0: receives nothing
  int ifindex_ = 0;                 // 0: all interfaces
  std::vector<Interface*> hooked_;
  // Under the lock (the taps touch them):
  std::deque<Frame> queue_;
  size_t queue_bytes_ = 0;
  bpf::Program filter_;             // empty: none
  bool transmitting_ = false;       // our own outgoing frame is being tapped: skip it
  unsigned stat_packets_ = 0, stat_drops_ = 0;
  int err_ = 0;
  // Kernel thread only:
  bool filter_locked_ = false;
  bool ignore_outgoing_ = false, qdisc_bypass_ = false;
  std::vector<Membership> memberships_;
  WaitQueue wq_;
};

void PacketSocket::on_frame(Interface& dev, const uint8_t* frame, size_t len, bool outgoing) {
  if (len < kEthHeader) return;
  uint16_t protocol = frame_protocol(frame, len);
  // Outgoing frames go to ETH_P_ALL sockets only, never back to the socket that sent them
  // (dev_queue_xmit_nit); incoming ones to the sockets of their protocol.
  if (outgoing && (proto_ != htons(kAllProtocols) || transmitting_ || ignore_outgoing_)) return;
  if (proto_ != htons(kAllProtocols) && proto_ != protocol) return;
  uint8_t pkttype = packet_type(dev, frame, outgoing);
  size_t start = type_ == SOCK_DGRAM ? kEthHeader : 0;
  size_t snaplen = len - start;
  if (!filter_.empty()) {
    bpf::Packet p;
    p.frame = frame;
    p.len = len;
    p.data_off = start;
    p.mac_off = 0;
    p.net_off = kEthHeader;
    p.protocol = ntohs(protocol);
    p.pkttype = pkttype;
    p.ifindex = dev.index();
    p.hatype = link_type(dev);
    uint32_t keep = bpf::run(filter_, p);
    if (keep == 0) return;
    snaplen = std::min<size_t>(snaplen, keep);
  }
  if (queue_bytes_ >= static_cast<size_t>(rcvbuf_)) {
    stat_drops_++;
    return;
  }
  stat_packets_++;
  Frame f;
  f.data.assign(reinterpret_cast<const char*>(frame + start), snaplen);
  f.from = ll_address(protocol, dev.index(), link_type(dev), pkttype, frame + 6, 6);
  queue_bytes_ += snaplen + kFrameOverhead;
  queue_.push_back(std::move(f));
  notify(this);
}

int64_t PacketSocket::bind(Task& t, const std::string& addr) {
  if (addr.size() < sizeof(sockaddr_ll)) return -EINVAL;
  sockaddr_ll sll;
  memcpy(&sll, addr.data(), sizeof sll);
  if (sll.sll_family != AF_PACKET) return -EINVAL;
  StackLock lock;
  Interface* dev = nullptr;
  if (sll.sll_ifindex) {
    dev = interface_by_index(sll.sll_ifindex);
    if (!dev) return -ENODEV;
  }
  unhook();
  ifindex_ = sll.sll_ifindex;
  if (sll.sll_protocol) proto_ = sll.sll_protocol;
  hook();
  // As Linux: binding to a device that is down reports ENETDOWN once (the tap stays).
  if (proto_ && dev && !dev->up()) err_ = ENETDOWN;
  return 0;
}

int64_t PacketSocket::sockname(std::string& out) {
  StackLock lock;
  Interface* dev = ifindex_ ? interface_by_index(ifindex_) : nullptr;
  if (dev) out = ll_address(proto_, ifindex_, link_type(*dev), 0, dev->mac(), 6);
  else out = ll_address(proto_, ifindex_, 0, 0, nullptr, 0);
  return 0;
}

int64_t PacketSocket::send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to, Ancillary*) {
  int ifindex = ifindex_;
  uint16_t proto = proto_;
  bool has_dest = false;
  uint8_t dest[6] = {};
  if (to) {
    if (to->size() < offsetof(sockaddr_ll, sll_addr)) return -EINVAL;
    sockaddr_ll sll{};
    memcpy(&sll, to->data(), std::min(to->size(), sizeof sll));
    if (to->size() < offsetof(sockaddr_ll, sll_addr) + sll.sll_halen) return -EINVAL;
    ifindex = sll.sll_ifindex;
    proto = sll.sll_protocol;
    if (type_ == SOCK_DGRAM) {
      if (to->size() < offsetof(sockaddr_ll, sll_addr) + 6) return -EINVAL;
      memcpy(dest, sll.sll_addr, 6);
      has_dest = true;
    }
  }
  size_t mtu;
  {
    StackLock lock;
    Interface* dev = interface_by_index(ifindex);
    if (!dev) return -ENXIO;
    if (!dev->up()) return -ENETDOWN;
    mtu = static_cast<size_t>(dev->mtu());
  }
  size_t reserve = type_ == SOCK_RAW ? kEthHeader : 0;
  if (len > mtu + reserve) return -EMSGSIZE;
  if (type_ == SOCK_RAW && len < kEthHeader) return -EINVAL;  // dev_validate_header
  if (type_ == SOCK_DGRAM && !has_dest) return -EINVAL;       // eth_header needs a destination
  std::string frame(len + (kEthHeader - reserve), '\0');
  size_t off = kEthHeader - reserve;
  if (len && src(0, frame.data() + off, len) < 0) return -EFAULT;
  StackLock lock;
  Interface* dev = interface_by_index(ifindex);
  if (!dev) return -ENXIO;
  if (type_ == SOCK_DGRAM) {
    memcpy(frame.data(), dest, 6);
    memcpy(frame.data() + 6, dev->mac(), 6);
    memcpy(frame.data() + 12, &proto, 2);
  }
  transmitting_ = true;
  int64_t r = dev->transmit_frame(frame.data(), frame.size());
  transmitting_ = false;
  return r < 0 ? r : static_cast<int64_t>(len);
}

int64_t PacketSocket::recv(Task& t, size_t len, int flags, Received& out) {
  if (flags & ~(MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_ERRQUEUE)) return -EINVAL;
  StackLock lock;
  if (flags & MSG_ERRQUEUE) return -EAGAIN;  // nothing ever goes to the error queue here
  if (err_) return -std::exchange(err_, 0);
  if (queue_.empty()) return -EAGAIN;
  Frame& f = queue_.front();
  size_t full = f.data.size();
  size_t n = std::min(len, full);
  out.data.assign(f.data, 0, n);
  out.from = f.from;
  if (n < full) out.msg_flags |= MSG_TRUNC;
  if (!(flags & MSG_PEEK)) {
    queue_bytes_ -= full + kFrameOverhead;
    queue_.pop_front();
  }
  return static_cast<int64_t>((flags & MSG_TRUNC) ? full : n);
}

int64_t PacketSocket::ioctl(Task& t, unsigned long req, uint64_t arg) {
  int n;
  switch (req) {
    case FIONREAD: {  // SIOCINQ: the next frame's length
      StackLock lock;
      n = queue_.empty() ? 0 : static_cast<int>(queue_.front().data.size());
      break;
    }
    case TIOCOUTQ:  // SIOCOUTQ: frames leave at once
      n = 0;
      break;
    default:
      return interface_ioctl(t, req, arg);
  }
  return put_user(t, arg, n);
}

int64_t PacketSocket::attach_filter(Task& t, const std::string& value) {
  if (value.size() != sizeof(sock_fprog)) return -EINVAL;
  if (filter_locked_) return -EPERM;
  sock_fprog fprog;
  memcpy(&fprog, value.data(), sizeof fprog);
  if (!fprog.filter) return -EINVAL;
  if (fprog.len == 0 || fprog.len > BPF_MAXINSNS) return -EINVAL;
  bpf::Program prog(fprog.len);
  if (copy_from_user(t, prog.data(), reinterpret_cast<uint64_t>(fprog.filter), prog.size() * sizeof(sock_filter)) < 0)
    return -EFAULT;
  if (int64_t e = bpf::check(prog); e < 0) return e;
  StackLock lock;
  filter_ = std::move(prog);
  return 0;
}

int64_t PacketSocket::membership(const std::string& value, bool add) {
  if (value.size() < sizeof(packet_mreq)) return -EINVAL;
  packet_mreq m{};
  memcpy(&m, value.data(), std::min(value.size(), sizeof m));
  if (value.size() < offsetof(packet_mreq, mr_address) + m.mr_alen) return -EINVAL;
  std::string addr(reinterpret_cast<const char*>(m.mr_address), std::min<size_t>(m.mr_alen, sizeof m.mr_address));
  auto same = [&](const Membership& x) { return x.ifindex == m.mr_ifindex && x.type == m.mr_type && x.addr == addr; };
  if (!add) {
    auto it = std::find_if(memberships_.begin(), memberships_.end(), same);
    if (it == memberships_.end()) return -EADDRNOTAVAIL;
    memberships_.erase(it);
    return 0;
  }
  {
    StackLock lock;
    if (!interface_by_index(m.mr_ifindex)) return -ENODEV;
  }
  if (m.mr_alen > 6) return -EINVAL;
  switch (m.mr_type) {
    case PACKET_MR_MULTICAST:
    case PACKET_MR_ALLMULTI:
      break;  // the NICs pass every multicast frame already
    case PACKET_MR_PROMISC:
      return -EOPNOTSUPP;  // the NICs' address filter drops other hosts' unicast (nic.cpp)
    case PACKET_MR_UNICAST:
      return -EOPNOTSUPP;  // ... and takes no secondary unicast addresses
    default:
      break;  // Linux accepts other types and does nothing for them
  }
  if (std::find_if(memberships_.begin(), memberships_.end(), same) == memberships_.end())
    memberships_.push_back({m.mr_ifindex, m.mr_type, addr});
  return 0;
}

int64_t PacketSocket::setsockopt(Task& t, int level, int name, const std::string& value) {
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ATTACH_FILTER:
        return attach_filter(t, value);
      case SO_DETACH_FILTER: {
        if (filter_locked_) return -EPERM;
        StackLock lock;
        if (filter_.empty()) return -ENOENT;
        filter_.clear();
        return 0;
      }
      case SO_LOCK_FILTER: {
        int v;
        if (int64_t e = int_from_option(value, v); e < 0) return e;
        if (filter_locked_ && !v) return -EPERM;
        filter_locked_ = v != 0;
        return 0;
      }
      default:
        return Socket::setsockopt(t, level, name, value);
    }
  }
  if (level != SOL_PACKET) return -ENOPROTOOPT;
  int v = 0;
  switch (name) {
    case PACKET_ADD_MEMBERSHIP:
    case PACKET_DROP_MEMBERSHIP:
      return membership(value, name == PACKET_ADD_MEMBERSHIP);
    case PACKET_IGNORE_OUTGOING: {
      if (int64_t e = int_from_option(value, v); e < 0) return e;
      if (v < 0 || v > 1) return -EINVAL;
      StackLock lock;
      ignore_outgoing_ = v;
      return 0;
    }
    case PACKET_QDISC_BYPASS:
      // There is no queueing discipline to bypass: frames always go straight to the NIC.
      if (int64_t e = int_from_option(value, v); e < 0) return e;
      qdisc_bypass_ = v != 0;
      return 0;
    default:
      // Rings, fanout, PACKET_AUXDATA/ORIGDEV/TIMESTAMP/VNET_HDR (control messages and headers
      // the receive path here cannot add): not served.
      return -ENOPROTOOPT;
  }
}

int64_t PacketSocket::getsockopt(int level, int name, std::string& value) {
  if (level == SOL_SOCKET) {
    if (name == SO_LOCK_FILTER) return value = int_option(filter_locked_), 0;
    return Socket::getsockopt(level, name, value);
  }
  if (level != SOL_PACKET) return -ENOPROTOOPT;
  switch (name) {
    case PACKET_STATISTICS: {
      StackLock lock;
      tpacket_stats st{stat_packets_ + stat_drops_, stat_drops_};  // read and reset, as Linux
      stat_packets_ = stat_drops_ = 0;
      value.assign(reinterpret_cast<const char*>(&st), sizeof st);
      return 0;
    }
    case PACKET_IGNORE_OUTGOING: return value = int_option(ignore_outgoing_), 0;
    case PACKET_QDISC_BYPASS: return value = int_option(qdisc_bypass_), 0;
    default: return -ENOPROTOOPT;
  }
}

int64_t create_packet(Task& t, int type, int protocol, int flags, SocketPtr& out) {
  if (!privileged(t)) return -EPERM;  // CAP_NET_RAW
  // SOCK_PACKET (the pre-2.2 interface with sockaddr_pkt) is not served.
  if (type != SOCK_RAW && type != SOCK_DGRAM) return -ESOCKTNOSUPPORT;
  if (!stack_started()) return -EAFNOSUPPORT;
  auto s = std::make_shared<PacketSocket>(Socket::make_inode(t), O_RDWR | (flags & O_NONBLOCK), type,
                                          static_cast<uint16_t>(protocol));
  {
    StackLock lock;
    s->hook();
  }
  out = std::move(s);
  return 0;
}

const bool registered = register_family(AF_PACKET, create_packet);

}  // namespace

}  // namespace um::kernel::net
