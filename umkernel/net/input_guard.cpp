#include "umkernel/net/input_guard.h"

namespace um::kernel::net {

namespace {

constexpr uint8_t kUdpLite = 136;

bool ipv6_extension(uint8_t next) {
  return next == 0 || next == 43 || next == 44 || next == 60 || next == 51 || next == 135;
}

}  // namespace

bool ip_packet_acceptable(const uint8_t* ip, size_t len) {
  if (len < 1) return true;  // lwIP drops it
  uint8_t version = ip[0] >> 4;
  if (version == 4) return len < 20 || ip[9] != kUdpLite;
  if (version != 6 || len < 40) return true;
  // Follow the extension headers to the upper-layer protocol.
  uint8_t next = ip[6];
  size_t off = 40;
  for (int hops = 0; hops < 16 && ipv6_extension(next); hops++) {
    if (off + 2 > len) return true;
    size_t hlen = next == 44 ? 8 : next == 51 ? (ip[off + 1] + 2u) * 4 : (ip[off + 1] + 1u) * 8;
    next = ip[off];
    off += hlen;
  }
  return next != kUdpLite;
}

bool frame_acceptable(const uint8_t* frame, size_t len) {
  if (len < 14) return true;
  size_t off = 14;
  uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
  if (type == 0x8100 && len >= 18) {  // a VLAN tag (lwIP passes tagged frames on)
    type = static_cast<uint16_t>(frame[16] << 8 | frame[17]);
    off = 18;
  }
  if (type != 0x0800 && type != 0x86dd) return true;
  return ip_packet_acceptable(frame + off, len - off);
}

}  // namespace um::kernel::net
