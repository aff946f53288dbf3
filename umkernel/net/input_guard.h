// What must never reach lwIP: Debian's liblwip is built with assertions that abort the whole
// process, and some are reachable from the wire. UDP-Lite (IP protocol 136) aborts in its checksum
// code on a coverage length past the packet: UDP-Lite packets pass only with a coverage Linux
// accepts (0 = all, or 8 up to the datagram's length) and not fragmented. Frames from
// a NIC, packets a guest loops back on lo and raw IP_HDRINCL sends are checked here first.
#pragma once
#include <cstddef>
#include <cstdint>

namespace um::kernel::net {

// An IPv4 or IPv6 packet (starting at its IP header) lwIP may be given.
bool ip_packet_acceptable(const uint8_t* ip, size_t len);
// An Ethernet frame lwIP may be given (non-IP frames are left to lwIP's own checks).
bool frame_acceptable(const uint8_t* frame, size_t len);
// A UDP-Lite datagram (from its UDP-Lite header, `len` bytes to the end of the IP payload)
// whose checksum coverage lwIP can check.
bool udplite_acceptable(const uint8_t* udp, size_t len);

}  // namespace um::kernel::net

namespace um::kernel::net {

// lwIP 2.1 answers every zero-length segment that falls outside a zero receive window with an
// ACK. When both ends of a connection have closed their windows (two guest programs that
// stopped reading), each such ACK draws the other end's, and on lo, where nothing is ever
// late or lost, the two answer each other forever inside one netif_poll, holding the core
// lock. This installs a filter (a raw pcb, which lwIP runs before TCP) that drops the
// ACKs that tell a zero-window connection nothing new. Under the lock, once.
void start_tcp_ack_guard();

}  // namespace um::kernel::net
