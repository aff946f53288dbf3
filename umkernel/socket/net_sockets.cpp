#include "umkernel/socket/net_sockets.h"

#include <netinet/in.h>

#include <map>

#include "umkernel/socket/dgram_socket.h"
#include "umkernel/net/stack.h"
#include "umkernel/socket/tcp_socket.h"

namespace um::kernel::net {

namespace {

std::map<int, SocketFactory>& families() {
  static std::map<int, SocketFactory> f;
  return f;
}

int64_t create_inet(Task& t, int family, int type, int protocol, int flags, SocketPtr& out) {
  if (!stack_started()) return -EAFNOSUPPORT;
  switch (type) {
    case SOCK_STREAM:
      if (protocol != 0 && protocol != IPPROTO_TCP) return -EPROTONOSUPPORT;
      return create_tcp_socket(t, family, flags, out);
    case SOCK_DGRAM:
      if (protocol == 0 || protocol == IPPROTO_UDP) return create_udp_socket(t, family, flags, out);
      if (protocol == IPPROTO_UDPLITE) return create_udp_socket(t, family, flags, out, true);
      if (protocol == IPPROTO_ICMP && family == AF_INET) return create_ping_socket(t, flags, out);
      return -EPROTONOSUPPORT;
    case SOCK_RAW:
      if (family != AF_INET) return -EPROTONOSUPPORT;  // IPv6 raw sockets are not served
      return create_raw_socket(t, protocol, flags, out);
    default:
      return -ESOCKTNOSUPPORT;
  }
}

}  // namespace

bool register_family(int family, SocketFactory factory) {
  families()[family] = std::move(factory);
  return true;
}

int64_t create_socket(Task& t, int family, int type, int protocol, int flags, SocketPtr& out) {
  if (family == AF_INET || family == AF_INET6) return create_inet(t, family, type, protocol, flags, out);
  auto it = families().find(family);
  if (it == families().end()) return -EAFNOSUPPORT;
  return it->second(t, type, protocol, flags, out);
}

}  // namespace um::kernel::net
