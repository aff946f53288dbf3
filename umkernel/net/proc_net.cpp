#include "umkernel/net/proc_net.h"

#include <arpa/inet.h>
#include <net/if_arp.h>
#include <net/route.h>

#include <cstdarg>
#include <cstdio>

#include "umkernel/net/interface.h"
#include "umkernel/net/lwip.h"
#include "umkernel/net/interface_config.h"
#include "umkernel/net/stack.h"

namespace um::kernel::net {

namespace {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return std::string(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

// Linux's seq_pad: lines of some files are padded with spaces to a fixed width.
std::string padded(std::string line, size_t width) {
  if (line.size() < width) line.append(width - line.size(), ' ');
  return line + "\n";
}

Interface* interface_of(const netif* n) {
  for (Interface* d : interfaces())
    if (d->lwip() == n) return d;
  return nullptr;
}

// --- /proc/net/dev (dev_seq_show) ---
std::string dev_text() {
  std::string o =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";
  if (!stack_started()) return o;
  StackLock lock;
  for (Interface* d : interfaces()) {
    IfCounters c = d->counters();
    o += format("%6s: %7llu %7llu %4llu %4llu %4llu %5llu %10llu %9llu %8llu %7llu %4llu %4llu %4llu %5llu %7llu %10llu\n",
                d->name().c_str(), (unsigned long long)c.rx_bytes, (unsigned long long)c.rx_packets,
                (unsigned long long)c.rx_errors, (unsigned long long)c.rx_dropped, 0ull, 0ull, 0ull,
                (unsigned long long)c.rx_multicast, (unsigned long long)c.tx_bytes,
                (unsigned long long)c.tx_packets, (unsigned long long)c.tx_errors,
                (unsigned long long)c.tx_dropped, 0ull, 0ull, 0ull, 0ull);
  }
  return o;
}

// --- /proc/net/route (fib_route_seq_show): the main table, lines padded to 127 ---
std::string route_text() {
  std::string o = padded("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT", 127);
  if (!stack_started()) return o;
  StackLock lock;
  for (const Route& r : main_routes()) {
    unsigned flags = RTF_UP | (r.gateway ? RTF_GATEWAY : 0) | (r.mask == 0xffffffffu ? RTF_HOST : 0);
    o += padded(format("%s\t%08X\t%08X\t%04X\t%d\t%u\t%d\t%08X\t%d\t%u\t%u", r.dev ? r.dev->name().c_str() : "*",
                       r.dst, r.gateway, flags, 0, 0u, 0, r.mask, 0, 0u, 0u),
                127);
  }
  return o;
}

// --- /proc/net/arp (arp_seq_show), from lwIP's ARP table ---
std::string arp_text() {
  std::string o = "IP address       HW type     Flags       HW address            Mask     Device\n";
  if (!stack_started()) return o;
  StackLock lock;
  for (size_t i = 0; i < ARP_TABLE_SIZE; i++) {
    ip4_addr_t* ip = nullptr;
    netif* n = nullptr;
    eth_addr* eth = nullptr;
    if (!etharp_get_entry(i, &ip, &n, &eth) || !ip || !eth) continue;  // only complete entries
    Interface* d = interface_of(n);
    char addr[INET_ADDRSTRLEN];
    uint32_t a = ip4_addr_get_u32(ip);
    inet_ntop(AF_INET, &a, addr, sizeof addr);
    const uint8_t* m = eth->addr;
    std::string hw = format("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    o += format("%-16s 0x%-10x0x%-10x%-17s     %-8s %s\n", addr, ARPHRD_ETHER, 0x2 /* ATF_COM */, hw.c_str(), "*",
                d ? d->name().c_str() : "?");
  }
  return o;
}

// --- /proc/net/if_inet6 (if6_seq_show) ---
std::string if_inet6_text() {
  std::string o;
  if (!stack_started()) return o;
  StackLock lock;
  for (Interface* d : interfaces()) {
    netif* n = d->lwip();
    if (!n) continue;
    for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
      u8_t state = netif_ip6_addr_state(n, i);
      if (!ip6_addr_isvalid(state) && !ip6_addr_istentative(state)) continue;
      const ip6_addr_t* a = netif_ip6_addr(n, i);
      const auto* b = reinterpret_cast<const uint8_t*>(a->addr);
      std::string hex;
      for (int k = 0; k < 16; k++) hex += format("%02x", b[k]);
      // Scope as Linux's ipv6_addr_scope (loopback 0x10, link 0x20, site 0x40, global 0);
      // ::1 and link-local addresses are permanent (0x80), others come from autoconfiguration.
      bool loop = ip6_addr_isloopback(a), link = ip6_addr_islinklocal(a), site = ip6_addr_issitelocal(a);
      unsigned scope = loop ? 0x10 : link ? 0x20 : site ? 0x40 : 0;
      unsigned flags = (loop || link) ? 0x80 : 0;
      if (ip6_addr_istentative(state)) flags |= 0x40;  // IFA_F_TENTATIVE
      o += format("%s %02x %02x %02x %02x %8s\n", hex.c_str(), d->index(), loop ? 128 : 64, scope, flags,
                  d->name().c_str());
    }
  }
  return o;
}

// Linux's TCP states, from lwIP's.
int linux_tcp_state(tcp_state s) {
  switch (s) {
    case ESTABLISHED: return 1;
    case SYN_SENT: return 2;
    case SYN_RCVD: return 3;
    case FIN_WAIT_1: return 4;
    case FIN_WAIT_2: return 5;
    case TIME_WAIT: return 6;
    case CLOSED: return 7;
    case CLOSE_WAIT: return 8;
    case LAST_ACK: return 9;
    case LISTEN: return 10;
    case CLOSING: return 11;
  }
  return 7;
}

bool is_v4(const ip_addr_t& a) { return IP_IS_V4_VAL(a); }

std::string v4_endpoint(const ip_addr_t& a, u16_t port) {
  return format("%08X:%04X", ip4_addr_get_u32(ip_2_ip4(&a)), port);
}

std::string v6_endpoint(const ip_addr_t& a, u16_t port) {
  uint32_t w[4] = {0, 0, 0, 0};
  if (IP_IS_V6_VAL(a)) {
    const ip6_addr_t* b = ip_2_ip6(&a);
    for (int i = 0; i < 4; i++) w[i] = b->addr[i];
  } else if (!ip_addr_isany_val(a)) {  // an IPv4 address of a dual-stack socket: ::ffff:a.b.c.d
    w[2] = PP_HTONL(0xffff);
    w[3] = ip4_addr_get_u32(ip_2_ip4(&a));
  }
  return format("%08X%08X%08X%08X:%04X", w[0], w[1], w[2], w[3], port);
}

// One line of /proc/net/tcp or tcp6 (get_tcp4_sock / get_tcp6_sock). lwIP's pcbs do not know
// which guest socket owns them, so uid and inode read 0.
std::string tcp_line(int sl, const tcp_pcb* p, bool v6) {
  int state = linux_tcp_state(p->state);
  std::string local = v6 ? v6_endpoint(p->local_ip, p->local_port) : v4_endpoint(p->local_ip, p->local_port);
  bool listen = p->state == LISTEN;
  std::string remote = v6 ? v6_endpoint(listen ? ip_addr_t{} : p->remote_ip, listen ? 0 : p->remote_port)
                          : v4_endpoint(listen ? ip_addr_t{} : p->remote_ip, listen ? 0 : p->remote_port);
  const char* sl_fmt = "%4d: ";
  std::string head = format(sl_fmt, sl) + local + " " + remote;
  if (p->state == TIME_WAIT) {
    // Time left of lwIP's 2*MSL wait, in clock ticks (1/100 s).
    uint32_t total = 2 * TCP_MSL / TCP_SLOW_INTERVAL, waited = tcp_ticks - p->tmr;
    long left = waited < total ? static_cast<long>((total - waited) * TCP_SLOW_INTERVAL / 10) : 0;
    return head + format(" %02X %08X:%08X %02X:%08lX %08X %5d %8d %d %d 0000000000000000", state, 0, 0, 3, left, 0, 0, 0, 0, 1);
  }
  uint32_t tx_queue = listen ? 0 : p->snd_lbb - p->lastack;
  // Received bytes the guest has not read yet: lwIP's window shrinks by them until the socket
  // layer hands them over (tcp_recved).
  uint32_t rx_queue = listen ? 0 : static_cast<uint32_t>(TCP_WND_MAX(p) - p->rcv_wnd);
  long rto = listen ? 100 : static_cast<long>(p->rto) * TCP_SLOW_INTERVAL / 10;
  unsigned long ato = listen ? 0 : 4;  // delayed-ACK timeout in clock ticks (lwIP: one fast timer)
  unsigned cwnd = listen ? 10 : (p->mss ? p->cwnd / p->mss : 0);
  int ssthresh = listen ? 0 : (p->mss ? static_cast<int>(p->ssthresh / p->mss) : -1);
  return head + format(" %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu %d 0000000000000000 %lu %lu %u %u %d", state,
                       tx_queue, rx_queue, (!listen && p->unacked) ? 1 : 0, 0L, listen ? 0 : p->nrtx, 0u, 0, 0ul, 1,
                       rto, ato, 0u, cwnd, ssthresh);
}

std::string tcp_text(bool v6) {
  std::string o = v6 ? "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                     : padded("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", 149);
  if (!stack_started()) return o;
  StackLock lock;
  int sl = 0;
  auto add = [&](const tcp_pcb* p) {
    if (is_v4(p->local_ip) == v6) return;
    std::string line = tcp_line(sl++, p, v6);
    o += v6 ? line + "\n" : padded(line, 149);
  };
  // Linux lists the listening sockets first, then the others (time-wait ones among them).
  for (const tcp_pcb_listen* p = tcp_listen_pcbs.listen_pcbs; p; p = p->next)
    add(reinterpret_cast<const tcp_pcb*>(p));
  for (const tcp_pcb* p = tcp_active_pcbs; p; p = p->next) add(p);
  for (const tcp_pcb* p = tcp_tw_pcbs; p; p = p->next) add(p);
  return o;
}

// /proc/net/udp and udp6 (udp4_format_sock / __ip6_dgram_sock_seq_show). The first column is
// Linux's hash bucket: the port modulo a 256-bucket table.
std::string udp_text(bool v6) {
  std::string o = v6 ? "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
                     : padded("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops", 127);
  if (!stack_started()) return o;
  StackLock lock;
  for (const udp_pcb* p = udp_pcbs; p; p = p->next) {
    if (is_v4(p->local_ip) == v6) continue;
    bool connected = p->flags & UDP_FLAGS_CONNECTED;
    std::string local = v6 ? v6_endpoint(p->local_ip, p->local_port) : v4_endpoint(p->local_ip, p->local_port);
    ip_addr_t none{};
    std::string remote = v6 ? v6_endpoint(connected ? p->remote_ip : none, connected ? p->remote_port : 0)
                            : v4_endpoint(connected ? p->remote_ip : none, connected ? p->remote_port : 0);
    std::string line = format("%5d: ", p->local_port & 255) + local + " " + remote +
                       format(" %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu %d 0000000000000000 %u", connected ? 1 : 7, 0,
                              0, 0, 0L, 0, 0u, 0, 0ul, 2, 0u);
    o += v6 ? line + "\n" : padded(line, 127);
  }
  return o;
}

}  // namespace

std::vector<std::pair<std::string, GeneratedFile::Generator>> proc_net_files() {
  return {
      {"dev", [] { return dev_text(); }},
      {"route", [] { return route_text(); }},
      {"arp", [] { return arp_text(); }},
      {"if_inet6", [] { return if_inet6_text(); }},
      {"tcp", [] { return tcp_text(false); }},
      {"tcp6", [] { return tcp_text(true); }},
      {"udp", [] { return udp_text(false); }},
      {"udp6", [] { return udp_text(true); }},
      // AF_UNIX sockets are not listed: their registry (vfs/unix_socket.cpp) is not reachable
      // from here. The header is Linux's.
      {"unix", [] { return std::string("Num       RefCount Protocol Flags    Type St Inode Path\n"); }},
  };
}

InodePtr make_proc_net_dir(SyntheticSuperBlock* sb, InodePtr parent) {
  auto dir = std::make_shared<SyntheticDir>(sb, sb->next_ino(), 0555);
  dir->parent = std::move(parent);
  for (auto& [name, gen] : proc_net_files())
    dir->add(name, std::make_shared<GeneratedFile>(sb, sb->next_ino(), gen));
  return dir;
}

}  // namespace um::kernel::net
