// The AF_NETLINK socket: port ids (netlink_autobind), datagram queues and dumps cut as Linux
// cuts them, multicast groups, options. What a request asks is answered in rtnetlink.cpp.
#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/net/stack.h"
#include "umkernel/socket/net_sockets.h"
#include "umkernel/socket/netlink/netlink_socket.h"
#include "umkernel/socket/netlink/kernel_message.h"

namespace um::kernel::net::netlink {

namespace {
// One table of bound ports per protocol (Linux's nl_table).
struct PortTables {
  std::map<int, Ports> by_protocol;
};
}  // namespace

Ports& ports(int protocol) { return kernel().state<PortTables>().by_protocol[protocol]; }

NetlinkSocket* port_owner(int protocol, uint32_t port) {
  auto& bound = ports(protocol).bound;
  auto it = bound.find(port);
  return it == bound.end() ? nullptr : it->second;
}

// Groups a protocol has: rtnetlink's RTNLGRP_*; 32 for the others (Linux's minimum).
int NetlinkSocket::num_groups() const { return protocol() == NETLINK_ROUTE ? kNumGroups : 32; }

int64_t NetlinkSocket::insert(uint32_t port) {
  if (port_owner(protocol(), port)) return -EADDRINUSE;
  ports(protocol()).bound[port] = this;
  portid_ = port;
  bound_ = true;
  return 0;
}

// netlink_autobind: the process's pid if free, else negative ids from -4096 down.
void NetlinkSocket::autobind(Task& t) {
  if (bound_) return;
  int32_t id = t.proc->pid;
  Ports& p = ports(protocol());
  while (port_owner(protocol(), static_cast<uint32_t>(id))) {
    id = p.rover--;
    if (p.rover > -4096) p.rover = -4096;
  }
  insert(static_cast<uint32_t>(id));
}

int64_t NetlinkSocket::bind(Task& t, const std::string& addr) {
  if (addr.size() < sizeof(sockaddr_nl)) return -EINVAL;
  sockaddr_nl nl;
  memcpy(&nl, addr.data(), sizeof nl);
  if (nl.nl_family != AF_NETLINK) return -EINVAL;
  // Joining groups needs no privilege for rtnetlink (NL_CFG_F_NONROOT_RECV).
  if (bound_) {
    if (nl.nl_pid != portid_) return -EINVAL;
  } else if (nl.nl_pid) {
    if (int64_t r = insert(nl.nl_pid); r < 0) return r;
  } else {
    autobind(t);
  }
  groups_ = (groups_ & ~uint64_t{0xffffffff}) | nl.nl_groups;
  return 0;
}

int64_t NetlinkSocket::connect(Task& t, const std::string& addr, WaitQueue*&) {
  if (addr.size() < sizeof(sa_family_t)) return -EINVAL;
  sa_family_t f;
  memcpy(&f, addr.data(), sizeof f);
  if (f == AF_UNSPEC) {
    dst_portid_ = 0;
    dst_group_ = 0;
    return 0;
  }
  if (f != AF_NETLINK || addr.size() < sizeof(sockaddr_nl)) return -EINVAL;
  sockaddr_nl nl;
  memcpy(&nl, addr.data(), sizeof nl);
  // Sending anywhere but to the kernel needs privilege for rtnetlink (no NL_CFG_F_NONROOT_SEND).
  if ((nl.nl_groups || nl.nl_pid) && !privileged(t)) return -EPERM;
  autobind(t);
  dst_portid_ = nl.nl_pid;
  dst_group_ = nl.nl_groups ? static_cast<uint32_t>(__builtin_ffs(static_cast<int>(nl.nl_groups))) : 0;
  return 0;
}

bool NetlinkSocket::deliver(Datagram d) {
  if (!filter_.empty()) {  // sk_filter: a datagram the filter drops is not queued at all
    bpf::Packet p;
    p.frame = reinterpret_cast<const uint8_t*>(d.data.data());
    p.len = d.data.size();
    p.protocol = static_cast<uint16_t>(protocol());
    uint32_t keep = bpf::run(filter_, p);
    if (keep == 0) return true;
    if (keep < d.data.size()) d.data.resize(keep);
  }
  if (!room()) {
    overrun();
    return false;
  }
  queue_bytes_ += d.data.size() + kDatagramOverhead;
  queue_.push_back(std::move(d));
  wq_.wake_all();
  return true;
}

void NetlinkSocket::fill_from_dump() {
  if (dump_.empty() || !room()) return;
  size_t size = std::max(kGoodSize, max_recvmsg_len_);
  Datagram d;
  while (!dump_.empty() && (d.data.empty() || d.data.size() + dump_.front().size() <= size)) {
    d.data += dump_.front();
    dump_.pop_front();
  }
  queue_bytes_ += d.data.size() + kDatagramOverhead;
  queue_.push_back(std::move(d));
  wq_.wake_all();
}

void NetlinkSocket::multicast(const std::string& data, uint32_t group) {
  uint64_t bit = uint64_t{1} << (group - 1);
  for (auto& [port, s] : ports(protocol()).bound) {
    if (s == this || !(s->groups_ & bit)) continue;
    s->deliver({data, portid_, group <= 32 ? static_cast<uint32_t>(bit) : 0, group, sender_});
  }
}

void NetlinkSocket::kernel_multicast(int protocol, const std::string& data, uint32_t group) {
  uint64_t bit = uint64_t{1} << (group - 1);
  for (auto& [port, s] : ports(protocol).bound)
    if (s->groups_ & bit) s->deliver({data, 0, group <= 32 ? static_cast<uint32_t>(bit) : 0, group, PeerCred{}});
}

int64_t NetlinkSocket::send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to, Ancillary*) {
  if (flags & MSG_OOB) return -EOPNOTSUPP;
  uint32_t dst_port = dst_portid_, dst_group = dst_group_;
  if (to) {
    if (to->size() < sizeof(sockaddr_nl)) return -EINVAL;
    sockaddr_nl nl;
    memcpy(&nl, to->data(), sizeof nl);
    if (nl.nl_family != AF_NETLINK) return -EINVAL;
    dst_port = nl.nl_pid;
    dst_group = nl.nl_groups ? static_cast<uint32_t>(__builtin_ffs(static_cast<int>(nl.nl_groups))) : 0;
    if ((dst_group || dst_port) && !privileged(t)) return -EPERM;
  }
  autobind(t);
  if (len > static_cast<size_t>(sndbuf_) - 32) return -EMSGSIZE;
  // A user port that is not there: ECONNREFUSED before anything is read, as netlink_unicast.
  NetlinkSocket* peer = nullptr;
  if (dst_port) {
    peer = port_owner(protocol(), dst_port);
    if (!peer && !dst_group) return -ECONNREFUSED;
    if (peer && !peer->room()) {
      bool nonblock = nonblocking() || (flags & MSG_DONTWAIT) || send_timeout_ns() == 0;
      if (nonblock) {
        peer->overrun();
        return -EAGAIN;
      }
      t.wait_on(peer->wq_);  // its reader makes room; sys/socket.cpp parks us
      return -EAGAIN;
    }
  }
  std::string data(len, '\0');
  if (len && src(0, data.data(), len) < 0) return -EFAULT;
  sender_ = PeerCred{t.proc->pid, t.proc->cred.euid, t.proc->cred.egid};
  if (dst_group) multicast(data, dst_group);
  if (dst_port) {
    if (peer) peer->deliver({std::move(data), portid_, 0, 0, sender_});
  } else if (protocol() == NETLINK_ROUTE) {
    process(t, data);
  }  // the uevent socket's kernel side takes what it is sent and does nothing with it
  return static_cast<int64_t>(len);
}

int64_t NetlinkSocket::recv(Task& t, size_t len, int flags, Received& out) {
  if (flags & MSG_OOB) return -EOPNOTSUPP;
  if (err_) return -std::exchange(err_, 0);
  if (queue_.empty()) fill_from_dump();
  if (queue_.empty()) return -EAGAIN;
  Datagram& d = queue_.front();
  size_t full = d.data.size();
  size_t n = std::min(len, full);
  out.data.assign(d.data, 0, n);
  out.from = address(d.from_port, d.from_groups);
  if (n < full) out.msg_flags |= MSG_TRUNC;
  if (pktinfo_) {
    nl_pktinfo info{d.group};
    out.controls.push_back({SOL_NETLINK, NETLINK_PKTINFO, std::string(reinterpret_cast<char*>(&info), sizeof info)});
  }
  if (passcred_) {
    out.anc.has_cred = true;
    out.anc.cred = d.cred;
  }
  if (!(flags & MSG_PEEK)) {
    queue_bytes_ -= full + kDatagramOverhead;
    queue_.pop_front();
  }
  // Later dump datagrams are sized for the largest buffer seen (Linux's max_recvmsg_len).
  max_recvmsg_len_ = std::min(std::max(max_recvmsg_len_, len), kMaxDumpSize);
  if (queue_.empty()) fill_from_dump();
  return static_cast<int64_t>((flags & MSG_TRUNC) ? full : n);
}

int64_t NetlinkSocket::getsockopt(int level, int name, std::string& value) {
  if (level == SOL_SOCKET && name == SO_PASSCRED) return value = int_option(passcred_), 0;
  if (level == SOL_SOCKET && name == SO_LOCK_FILTER) return value = int_option(filter_locked_), 0;
  if (level == SOL_SOCKET) return Socket::getsockopt(level, name, value);
  if (level != SOL_NETLINK) return -ENOPROTOOPT;
  switch (name) {
    case NETLINK_NO_ENOBUFS: return value = int_option(no_enobufs_), 0;
    case NETLINK_CAP_ACK: return value = int_option(cap_ack_), 0;
    case NETLINK_EXT_ACK: return value = int_option(ext_ack_), 0;
    case NETLINK_BROADCAST_ERROR: return value = int_option(broadcast_error_), 0;
    case NETLINK_LISTEN_ALL_NSID: return value = int_option(listen_all_nsid_), 0;
    case NETLINK_PKTINFO: return value = int_option(pktinfo_), 0;
    case NETLINK_LIST_MEMBERSHIPS: {
      uint32_t words[(kNumGroups + 31) / 32] = {};
      for (int i = 0; i < kNumGroups; i++)
        if (groups_ & (uint64_t{1} << i)) words[i / 32] |= 1u << (i % 32);
      value.assign(reinterpret_cast<const char*>(words), sizeof words);
      return 0;
    }
    default:
      return -ENOPROTOOPT;
  }
}

int64_t NetlinkSocket::setsockopt(Task& t, int level, int name, const std::string& value) {
  if (level == SOL_SOCKET && name == SO_PASSCRED) {
    if (value.size() < sizeof(int)) return -EINVAL;
    int on;
    memcpy(&on, value.data(), sizeof on);
    passcred_ = on != 0;
    return 0;
  }
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ATTACH_FILTER: return attach_filter(t, value);
      case SO_DETACH_FILTER:
        if (filter_locked_) return -EPERM;
        if (filter_.empty()) return -ENOENT;
        filter_.clear();
        return 0;
      case SO_LOCK_FILTER: {
        if (value.size() < sizeof(int)) return -EINVAL;
        int on;
        memcpy(&on, value.data(), sizeof on);
        if (filter_locked_ && !on) return -EPERM;
        filter_locked_ = on != 0;
        return 0;
      }
      default:
        return Socket::setsockopt(t, level, name, value);
    }
  }
  if (level != SOL_NETLINK) return -ENOPROTOOPT;
  unsigned v = 0;
  if (value.size() >= sizeof(int)) memcpy(&v, value.data(), sizeof v);
  switch (name) {
    case NETLINK_ADD_MEMBERSHIP:
    case NETLINK_DROP_MEMBERSHIP:
      if (v == 0 || v - 1 >= static_cast<unsigned>(num_groups())) return -EINVAL;
      if (name == NETLINK_ADD_MEMBERSHIP) {
        autobind(t);
        groups_ |= uint64_t{1} << (v - 1);
      } else {
        groups_ &= ~(uint64_t{1} << (v - 1));
      }
      return 0;
    case NETLINK_NO_ENOBUFS:
      no_enobufs_ = v != 0;
      if (no_enobufs_) err_ = 0;
      return 0;
    case NETLINK_CAP_ACK: cap_ack_ = v != 0; return 0;
    case NETLINK_EXT_ACK: ext_ack_ = v != 0; return 0;
    case NETLINK_BROADCAST_ERROR: broadcast_error_ = v != 0; return 0;
    case NETLINK_LISTEN_ALL_NSID:
      // There is one network namespace, so this changes nothing; Linux asks for privilege.
      if (!privileged(t)) return -EPERM;
      listen_all_nsid_ = v != 0;
      return 0;
    case NETLINK_PKTINFO:  // each message then carries the group it came to (0: unicast)
      pktinfo_ = v != 0;
      return 0;
    case NETLINK_GET_STRICT_CHK:
      // Strict checking (reject malformed dump requests, filter dumps by header fields) is
      // not implemented; programs fall back as on kernels older than 4.20.
      return -ENOPROTOOPT;
    default:
      return -ENOPROTOOPT;
  }
}

int64_t NetlinkSocket::attach_filter(Task& t, const std::string& value) {
  if (value.size() != sizeof(sock_fprog)) return -EINVAL;
  if (filter_locked_) return -EPERM;
  sock_fprog fprog;
  memcpy(&fprog, value.data(), sizeof fprog);
  if (!fprog.filter || fprog.len == 0 || fprog.len > BPF_MAXINSNS) return -EINVAL;
  bpf::Program prog(fprog.len);
  if (copy_from_user(t, prog.data(), reinterpret_cast<uint64_t>(fprog.filter), prog.size() * sizeof(sock_filter)) < 0)
    return -EFAULT;
  if (int64_t e = bpf::check(prog); e < 0) return e;
  filter_ = std::move(prog);
  return 0;
}

int64_t NetlinkSocket::ioctl(Task& t, unsigned long req, uint64_t arg) {
  switch (req) {
    // Linux routes only the device ioctls (dev_ioctl) through non-inet sockets; the IPv4
    // address and route ones are inet's.
    case SIOCGIFADDR: case SIOCSIFADDR: case SIOCGIFNETMASK: case SIOCSIFNETMASK:
    case SIOCGIFBRDADDR: case SIOCSIFBRDADDR: case SIOCGIFDSTADDR: case SIOCSIFDSTADDR:
    case SIOCADDRT: case SIOCDELRT: case SIOCGARP: case SIOCSARP: case SIOCDARP:
      return -ENOTTY;
    default:
      return interface_ioctl(t, req, arg);
  }
}

namespace {

int64_t create_netlink(Task& t, int type, int protocol, int flags, SocketPtr& out) {
  if (type != SOCK_RAW && type != SOCK_DGRAM) return -ESOCKTNOSUPPORT;
  if (protocol < 0 || protocol >= MAX_LINKS) return -EPROTONOSUPPORT;
  // rtnetlink and uevents are served: no generic netlink, audit, sock_diag... (EPROTONOSUPPORT,
  // as a kernel built without them).
  if (protocol != NETLINK_ROUTE && protocol != NETLINK_KOBJECT_UEVENT) return -EPROTONOSUPPORT;
  if (protocol == NETLINK_ROUTE && !stack_started()) return -EPROTONOSUPPORT;
  out = std::make_shared<NetlinkSocket>(Socket::make_inode(t), O_RDWR | (flags & O_NONBLOCK), type, protocol);
  return 0;
}

const bool registered = register_family(AF_NETLINK, create_netlink);

}  // namespace

}  // namespace um::kernel::net::netlink

namespace um::kernel::net::netlink {

bool is_netlink_socket(const FilePtr& f) { return dynamic_cast<NetlinkSocket*>(f.get()) != nullptr; }

bool send_kernel_message(const FilePtr& f, std::string data) {
  auto* s = dynamic_cast<NetlinkSocket*>(f.get());
  return s && s->kernel_message(std::move(data));
}

}  // namespace um::kernel::net::netlink
