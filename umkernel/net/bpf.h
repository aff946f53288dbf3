// Classic BPF (SO_ATTACH_FILTER) as Linux checks and runs it: the checker is Linux's
// bpf_check_classic (allowed opcodes, jumps in range, memory cells written before they are
// read, a RET at the end), the interpreter its semantics (loads past the packet end the program
// with 0, division by a zero X returns 0, ancillary loads at SKF_AD_OFF, SKF_NET_OFF/SKF_LL_OFF
// offsets). Pure computation: safe to run under the StackLock on lwIP's thread.
#pragma once
#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace um::kernel::net::bpf {

using Program = std::vector<sock_filter>;

// 0, or -EINVAL for a program Linux refuses.
int64_t check(const Program& prog);

// The packet a filter looks at: `frame` holds the link-layer header at `mac_off` and the
// network header at `net_off`; offsets >= 0 count from `data_off` (the link header for
// SOCK_RAW packet sockets, the network header for SOCK_DGRAM ones).
struct Packet {
  const uint8_t* frame = nullptr;
  size_t len = 0;             // bytes in frame
  size_t data_off = 0, mac_off = 0, net_off = 0;
  // What the ancillary loads read (SKF_AD_*).
  uint16_t protocol = 0;      // host order, as skb->protocol after ntohs
  uint8_t pkttype = 0;
  int ifindex = 0;
  uint16_t hatype = 0;
};

// Runs a checked program: how many bytes of the packet to keep (0: drop it).
uint32_t run(const Program& prog, const Packet& p);

}  // namespace um::kernel::net::bpf
