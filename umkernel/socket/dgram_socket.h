// Message sockets over lwIP: UDP and UDP-Lite (SOCK_DGRAM), ICMP echo "ping" sockets (SOCK_DGRAM,
// IPPROTO_ICMP, as Linux's net.ipv4.ping_group_range allows) and raw IPv4 sockets (SOCK_RAW,
// root only: whole IP packets in, the payload after lwIP's IP header out, or IP_HDRINCL).
#pragma once
#include "umkernel/socket/socket.h"

namespace um::kernel::net {

int64_t create_udp_socket(Task& t, int family, int flags, SocketPtr& out, bool lite = false);
int64_t create_ping_socket(Task& t, int flags, SocketPtr& out);
int64_t create_raw_socket(Task& t, int protocol, int flags, SocketPtr& out);
// Starts watching ICMP errors for connected UDP sockets (ECONNREFUSED). Under the lock, once.
void start_udp_error_watch();

}  // namespace um::kernel::net
