// TCP sockets (SOCK_STREAM over AF_INET/AF_INET6) on lwIP's raw TCP API.
#pragma once
#include "umkernel/socket/socket.h"

namespace um::kernel::net {

int64_t create_tcp_socket(Task& t, int family, int flags, SocketPtr& out);

}  // namespace um::kernel::net
