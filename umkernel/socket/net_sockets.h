// The network socket families and the interface ioctls, as sys/socket.cpp and sys/file.cpp
// reach them. AF_INET/AF_INET6 (tcp_socket, udp_socket, raw_socket) sit on lwIP; AF_NETLINK
// (rtnetlink) and AF_PACKET register themselves through register_family.
#pragma once
#include <functional>

#include "umkernel/socket/socket.h"

namespace um::kernel::net {

// Makes a socket of a network family: 0 with `out` set, or -errno (-EAFNOSUPPORT for a
// family nobody serves). `flags` may hold O_NONBLOCK.
int64_t create_socket(Task& t, int family, int type, int protocol, int flags, SocketPtr& out);

using SocketFactory = std::function<int64_t(Task& t, int type, int protocol, int flags, SocketPtr& out)>;
// Called from static initializers of the family's file.
bool register_family(int family, SocketFactory factory);

// The interface ioctls every socket takes (SIOCGIFCONF, SIOCGIFFLAGS/SIOCSIFFLAGS,
// SIOCGIFADDR/SIOCSIFADDR, SIOCGIFNETMASK/..., SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFNAME,
// SIOCGIFMTU/SIOCSIFMTU, SIOCADDRT/SIOCDELRT...): the result, or -ENOTTY if `req` is not one.
int64_t interface_ioctl(Task& t, unsigned long req, uint64_t arg);

}  // namespace um::kernel::net
