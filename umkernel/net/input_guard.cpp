#include "umkernel/net/input_guard.h"

#include <algorithm>

namespace um::kernel::net {

namespace {

constexpr uint8_t kUdpLite = 136;

bool ipv6_extension(uint8_t next) {
  return next == 0 || next == 43 || next == 44 || next == 60 || next == 51 || next == 135;
}

}  // namespace

bool udplite_acceptable(const uint8_t* udp, size_t len) {
  if (len < 8) return false;
  size_t cov = static_cast<size_t>(udp[4] << 8 | udp[5]);
  return cov == 0 || (cov >= 8 && cov <= len);
}

bool ip_packet_acceptable(const uint8_t* ip, size_t len) {
  if (len < 1) return true;  // lwIP drops it
  uint8_t version = ip[0] >> 4;
  if (version == 4) {
    if (len < 20 || ip[9] != kUdpLite) return true;
    size_t ihl = (ip[0] & 0x0fu) * 4u;
    size_t total = std::min<size_t>(len, static_cast<size_t>(ip[2] << 8 | ip[3]));
    bool fragment = (ip[6] & 0x20) || ((ip[6] & 0x1f) << 8 | ip[7]);
    if (fragment || ihl < 20 || total < ihl) return false;
    return udplite_acceptable(ip + ihl, total - ihl);
  }
  if (version != 6 || len < 40) return true;
  // Follow the extension headers to the upper-layer protocol.
  uint8_t next = ip[6];
  size_t off = 40;
  bool fragment = false;
  for (int hops = 0; hops < 16 && ipv6_extension(next); hops++) {
    if (off + 2 > len) return true;
    if (next == 44) fragment = true;
    size_t hlen = next == 44 ? 8 : next == 51 ? (ip[off + 1] + 2u) * 4 : (ip[off + 1] + 1u) * 8;
    next = ip[off];
    off += hlen;
  }
  if (next != kUdpLite) return true;
  size_t total = std::min<size_t>(len, 40u + static_cast<size_t>(ip[4] << 8 | ip[5]));
  if (fragment || off > total) return false;
  return udplite_acceptable(ip + off, total - off);
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

// ---------------------------------------------------------------------------------------

#include "umkernel/net/lwip.h"

namespace um::kernel::net {

namespace {

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Whether `tcp` (a segment with no payload, only ACK set, window 0) tells the connection it is
// for nothing: the receiver has no window either, the segment is at rcv_nxt and acknowledges
// nothing new. Such a segment only makes lwIP answer with the same kind of ACK.
bool pointless_ack(const uint8_t* tcp, size_t len, const ip_addr_t* src) {
  if (len < 20) return false;
  size_t hlen = (tcp[12] >> 4) * 4u;
  if (hlen < 20 || hlen != len) return false;             // payload or bad header: lwIP decides
  if ((tcp[13] & 0x3f) != 0x10 || be16(tcp + 14) != 0) return false;  // only ACK, window 0
  uint16_t sport = be16(tcp), dport = be16(tcp + 2);
  uint32_t seq = be32(tcp + 4), ack = be32(tcp + 8);
  for (tcp_pcb* p = tcp_active_pcbs; p; p = p->next) {
    if (p->local_port != dport || p->remote_port != sport || !ip_addr_cmp(&p->remote_ip, src)) continue;
    return p->state == ESTABLISHED && p->rcv_wnd == 0 && p->snd_wnd == 0 && seq == p->rcv_nxt &&
           ack == p->lastack && p->unacked == nullptr;
  }
  return false;
}

u8_t on_tcp_segment(void*, raw_pcb*, pbuf* p, const ip_addr_t* src) {
  uint8_t hdr[60 + 40];
  size_t n = pbuf_copy_partial(p, hdr, static_cast<u16_t>(std::min<size_t>(p->tot_len, sizeof hdr)), 0);
  if (n < 1) return 0;
  size_t ip_len, tcp_len;
  if ((hdr[0] >> 4) == 4) {
    ip_len = (hdr[0] & 0x0f) * 4u;
    size_t total = be16(hdr + 2);
    if (ip_len < 20 || total > p->tot_len || total < ip_len) return 0;
    tcp_len = total - ip_len;
  } else if ((hdr[0] >> 4) == 6 && n >= 40 && hdr[6] == 6) {  // TCP right after the IPv6 header
    ip_len = 40;
    tcp_len = be16(hdr + 4);
  } else {
    return 0;
  }
  if (ip_len + tcp_len > n) return 0;  // longer than a bare ACK: not one of them
  if (!pointless_ack(hdr + ip_len, tcp_len, src)) return 0;
  pbuf_free(p);
  return 1;  // eaten: TCP never sees it
}

}  // namespace

void start_tcp_ack_guard() {
  raw_pcb* pcb = raw_new_ip_type(IPADDR_TYPE_ANY, IP_PROTO_TCP);
  if (pcb) raw_recv(pcb, on_tcp_segment, nullptr);
}

}  // namespace um::kernel::net
