#include "umkernel/socket/inet_socket.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <cstring>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/net/interface.h"
#include "umkernel/socket/net_sockets.h"

namespace um::kernel::net {

namespace {
constexpr int kDefaultTtl = 64;  // Linux's net.ipv4.ip_default_ttl
}  // namespace

int64_t parse_inet_address(int family, const std::string& raw, ip_addr_t& ip, uint16_t& port) {
  sa_family_t f = AF_UNSPEC;
  if (raw.size() >= sizeof f) memcpy(&f, raw.data(), sizeof f);
  if (family == AF_INET) {
    if (raw.size() < sizeof(sockaddr_in)) return -EINVAL;
    if (f != AF_INET) return -EAFNOSUPPORT;
    sockaddr_in sin;
    memcpy(&sin, raw.data(), sizeof sin);
    ip_addr_set_ip4_u32_val(ip, sin.sin_addr.s_addr);
    port = ntohs(sin.sin_port);
    return 0;
  }
  if (raw.size() < sizeof(sockaddr_in6)) return -EINVAL;
  if (f != AF_INET6) return -EAFNOSUPPORT;
  sockaddr_in6 sin6;
  memcpy(&sin6, raw.data(), sizeof sin6);
  port = ntohs(sin6.sin6_port);
  const uint32_t* w = reinterpret_cast<const uint32_t*>(&sin6.sin6_addr);
  if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
    ip_addr_set_ip4_u32_val(ip, w[3]);
  } else if (IN6_IS_ADDR_UNSPECIFIED(&sin6.sin6_addr)) {
    ip_addr_copy(ip, *IP_ANY_TYPE);
  } else {
    IP_ADDR6(&ip, w[0], w[1], w[2], w[3]);
    ip6_addr_set_zone(ip_2_ip6(&ip), static_cast<u8_t>(sin6.sin6_scope_id));
  }
  return 0;
}

std::string inet_address(int family, const ip_addr_t& ip, uint16_t port) {
  if (family == AF_INET) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = IP_IS_V4(&ip) ? ip4_addr_get_u32(ip_2_ip4(&ip)) : 0;
    return std::string(reinterpret_cast<const char*>(&sin), sizeof sin);
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  uint32_t* w = reinterpret_cast<uint32_t*>(&sin6.sin6_addr);
  if (IP_IS_ANY_TYPE_VAL(ip)) {
    // "any": all zeros
  } else if (IP_IS_V4(&ip)) {
    uint32_t a = ip4_addr_get_u32(ip_2_ip4(&ip));
    if (a != 0) {  // an unbound dual-stack socket shows ::, not ::ffff:0.0.0.0
      w[2] = htonl(0xffff);
      w[3] = a;
    }
  } else {
    memcpy(w, ip_2_ip6(&ip)->addr, 16);
  }
  return std::string(reinterpret_cast<const char*>(&sin6), sizeof sin6);
}

bool is_local_address(const ip_addr_t& ip) {
  if (ip_addr_isany(&ip)) return true;
  if (IP_IS_V4(&ip)) {
    uint32_t a = ip4_addr_get_u32(ip_2_ip4(&ip));
    if ((ntohl(a) >> 24) == 127) return true;
    if (ip4_addr_ismulticast(ip_2_ip4(&ip))) return true;
    for (Interface* d : interfaces())
      if (d->addr() == a || (d->addr() && d->broadcast() == a)) return true;
    return a == 0xffffffffu;
  }
  for (Interface* d : interfaces()) {
    netif* n = d->lwip();
    for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
      if (ip6_addr_isvalid(netif_ip6_addr_state(n, i)) && ip6_addr_cmp_zoneless(netif_ip6_addr(n, i), ip_2_ip6(&ip)))
        return true;
  }
  return false;
}

int64_t errno_of(err_t e) {
  switch (e) {
    case ERR_OK: return 0;
    case ERR_MEM: return -ENOBUFS;
    case ERR_BUF: return -ENOBUFS;
    case ERR_TIMEOUT: return -ETIMEDOUT;
    case ERR_RTE: return -ENETUNREACH;
    case ERR_INPROGRESS: return -EINPROGRESS;
    case ERR_VAL: return -EINVAL;
    case ERR_WOULDBLOCK: return -EAGAIN;
    case ERR_USE: return -EADDRINUSE;
    case ERR_ALREADY: return -EALREADY;
    case ERR_ISCONN: return -EISCONN;
    case ERR_CONN: return -ENOTCONN;
    case ERR_IF: return -ENETDOWN;
    case ERR_ABRT: return -ECONNABORTED;
    case ERR_RST: return -ECONNRESET;
    case ERR_CLSD: return -ENOTCONN;
    case ERR_ARG: return -EINVAL;
    default: return -EIO;
  }
}

InetSocket::InetSocket(InodePtr inode, int flags, int family, int type, int protocol)
    : Socket(std::move(inode), flags, family, type, protocol) {}

u8_t InetSocket::ip_type() const {
  if (family_ == AF_INET) return IPADDR_TYPE_V4;
  return v6only_ ? IPADDR_TYPE_V6 : IPADDR_TYPE_ANY;
}

unsigned InetSocket::poll() {
  StackLock lock;
  return readiness();
}

int64_t InetSocket::bind_address(Task& t, const std::string& raw, ip_addr_t& ip, uint16_t& port) {
  sa_family_t f = AF_UNSPEC;
  if (raw.size() >= sizeof f) memcpy(&f, raw.data(), sizeof f);
  // Linux takes AF_UNSPEC with INADDR_ANY from old programs binding AF_INET sockets.
  if (family_ == AF_INET && f == AF_UNSPEC && raw.size() >= sizeof(sockaddr_in)) {
    sockaddr_in sin;
    memcpy(&sin, raw.data(), sizeof sin);
    if (sin.sin_addr.s_addr != 0) return -EAFNOSUPPORT;
    std::string fixed = raw;
    sin.sin_family = AF_INET;
    memcpy(fixed.data(), &sin, sizeof sin);
    return bind_address(t, fixed, ip, port);
  }
  if (int64_t e = parse_inet_address(family_, raw, ip, port); e < 0) return e;
  if (family_ == AF_INET6 && IP_IS_ANY_TYPE_VAL(ip) && v6only_) ip_addr_copy(ip, *IP6_ADDR_ANY);
  if (family_ == AF_INET6 && IP_IS_V4(&ip) && v6only_) return -EINVAL;
  if (!is_local_address(ip)) return -EADDRNOTAVAIL;
  if (port != 0 && port < 1024 && t.proc->cred.euid != 0) return -EACCES;
  return 0;
}

void InetSocket::apply_options(ip_pcb* p) {
  if (option_flag(SO_REUSEADDR)) ip_set_option(p, SOF_REUSEADDR);
  if (option_flag(SO_KEEPALIVE)) ip_set_option(p, SOF_KEEPALIVE);
  if (option_flag(SO_BROADCAST)) ip_set_option(p, SOF_BROADCAST);
  p->ttl = static_cast<u8_t>(ttl_ >= 0 ? ttl_ : kDefaultTtl);  // lwIP's default is 255
  p->tos = static_cast<u8_t>(tos_);
}

int64_t InetSocket::check_broadcast(const ip_addr_t& dst) const {
  if (!IP_IS_V4(&dst) || option_flag(SO_BROADCAST)) return 0;
  uint32_t a = ip4_addr_get_u32(ip_2_ip4(&dst));
  if (a == 0xffffffffu) return -EACCES;
  for (Interface* d : interfaces())
    if (d->addr() && d->broadcast() == a) return -EACCES;
  return 0;
}

int64_t InetSocket::ioctl(Task& t, unsigned long req, uint64_t arg) {
  int n;
  switch (req) {
    case FIONREAD: {
      StackLock lock;
      n = static_cast<int>(bytes_readable());
      if (n < 0) return n;
      break;
    }
    case TIOCOUTQ: {
      StackLock lock;
      n = static_cast<int>(bytes_unsent());
      break;
    }
    default:
      return interface_ioctl(t, req, arg);
  }
  return put_user(t, arg, n);
}

int64_t InetSocket::getsockopt(int level, int name, std::string& value) {
  if (level == IPPROTO_IP && family_ == AF_INET) {
    switch (name) {
      case IP_TTL: {
        StackLock lock;
        ip_pcb* p = ip();
        return value = int_option(ttl_ >= 0 ? ttl_ : p ? p->ttl : kDefaultTtl), 0;
      }
      case IP_TOS: return value = int_option(tos_), 0;
      default: break;
    }
  }
  if (level == IPPROTO_IPV6 && family_ == AF_INET6) {
    if (name == IPV6_V6ONLY) return value = int_option(v6only_), 0;
    if (name == IPV6_UNICAST_HOPS) return value = int_option(ttl_ >= 0 ? ttl_ : 64), 0;
    if (name == IPV6_RECVHOPLIMIT) return value = int_option(recv_hoplimit_), 0;
    if (name == IPV6_RECVTCLASS) return value = int_option(recv_tclass_), 0;
    if (name == IPV6_TCLASS) return value = int_option(tos_), 0;
  }
  // Linux's ip_getsockopt: an unknown IP option is ENOPROTOOPT, an unknown level EOPNOTSUPP
  // (setsockopt answers ENOPROTOOPT for both).
  if (level == IPPROTO_IP || level == IPPROTO_IPV6) return -ENOPROTOOPT;
  if (level != SOL_SOCKET) return -EOPNOTSUPP;
  return Socket::getsockopt(level, name, value);
}

int64_t InetSocket::setsockopt(Task& t, int level, int name, const std::string& value) {
  int v = 0;
  if (level == IPPROTO_IP && family_ == AF_INET) {
    if (name == IP_TTL || name == IP_TOS) {
      if (value.size() < 1) return -EINVAL;
      if (value.size() >= sizeof(int)) int_from_option(value, v);
      else v = static_cast<uint8_t>(value[0]);
      StackLock lock;
      ip_pcb* p = ip();
      if (name == IP_TTL) {
        if (v == -1) v = 64;
        if (v < 1 || v > 255) return -EINVAL;
        ttl_ = v;
        if (p) p->ttl = static_cast<u8_t>(v);
      } else {
        tos_ = v & 0xff;
        if (p) p->tos = static_cast<u8_t>(tos_);
      }
      return 0;
    }
    return -ENOPROTOOPT;
  }
  if (level == IPPROTO_IPV6 && family_ == AF_INET6) {
    if (int64_t e = int_from_option(value, v); e < 0) return e;
    if (name == IPV6_V6ONLY) {
      StackLock lock;
      if (has_port()) return -EINVAL;  // fixed once the socket is bound or connected (Linux)
      v6only_ = v != 0;
      // A pcb made already (sockets make theirs early) takes the new address type: IPv6 only,
      // or IPv6 + IPv4.
      if (ip_pcb* p = ip()) {
        IP_SET_TYPE_VAL(p->local_ip, ip_type());
        IP_SET_TYPE_VAL(p->remote_ip, ip_type());
      }
      return 0;
    }
    if (name == IPV6_RECVHOPLIMIT || name == IPV6_RECVTCLASS) {
      (name == IPV6_RECVHOPLIMIT ? recv_hoplimit_ : recv_tclass_) = v != 0;
      return 0;
    }
    if (name == IPV6_TCLASS) {  // the traffic class sent: lwIP's tos byte
      if (v < -1 || v > 255) return -EINVAL;
      tos_ = v == -1 ? 0 : v;
      StackLock lock;
      if (ip_pcb* p = ip()) p->tos = static_cast<u8_t>(tos_);
      return 0;
    }
    if (name == IPV6_UNICAST_HOPS) {
      if (v < -1 || v > 255) return -EINVAL;
      ttl_ = v == -1 ? 64 : v;
      StackLock lock;
      if (ip_pcb* p = ip()) p->ttl = static_cast<u8_t>(ttl_);
      return 0;
    }
    return -ENOPROTOOPT;
  }
  if (level != SOL_SOCKET) return -ENOPROTOOPT;
  if (int64_t e = Socket::setsockopt(t, level, name, value); e < 0) return e;
  // The options lwIP itself acts on.
  if (level == SOL_SOCKET && (name == SO_REUSEADDR || name == SO_KEEPALIVE || name == SO_BROADCAST)) {
    StackLock lock;
    if (ip_pcb* p = ip()) {
      u8_t opt = name == SO_REUSEADDR ? SOF_REUSEADDR : name == SO_KEEPALIVE ? SOF_KEEPALIVE : SOF_BROADCAST;
      if (option_flag(name)) ip_set_option(p, opt);
      else ip_reset_option(p, opt);
    }
  }
  return 0;
}

}  // namespace um::kernel::net
