// rtnetlink (AF_NETLINK, protocol NETLINK_ROUTE): what requests ask and what dumps report, as
// Linux's af_netlink.c and rtnetlink.c/devinet.c/fib_frontend.c answer them: requests go to the kernel (port 0) in
// datagrams of nlmsghdr-framed messages; replies, acks and NLMSG_ERRORs come back as datagrams
// on the socket's queue; dumps end with NLMSG_DONE and are cut into datagrams as Linux cuts
// them (NLMSG_GOODSIZE, or the largest recvmsg buffer seen, up to 32 KiB).
//
// What lwIP cannot do is refused with a real errno (EOPNOTSUPP): secondary IPv4 addresses,
// IPv6 address changes, routes other than the connected ones and one default, other tables.
// Multicast groups (RTMGRP_*) are accepted in bind and NETLINK_ADD_MEMBERSHIP, but the kernel
// sends no notifications to them: nothing here watches for changes. Messages that root sends
// to groups or to other netlink ports are delivered, as on Linux.
//
// All of this runs on the kernel thread; interface state is read and changed under the
// StackLock.
#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/net/lwip.h"
#include "umkernel/net/interface_config.h"
#include "umkernel/net/stack.h"
#include "umkernel/socket/net_sockets.h"
#include "umkernel/socket/netlink/netlink_socket.h"

namespace um::kernel::net::netlink {

namespace {

constexpr uint32_t kInfiniteLife = 0xffffffffu;  // INFINITY_LIFE_TIME (net/addrconf.h)
// Linux's IF_OPER_* (linux/if.h, which clashes with net/if.h).
constexpr uint8_t kOperUnknown = 0, kOperDown = 2, kOperUp = 6;

uint32_t prefix_len(uint32_t mask_be) { return static_cast<uint32_t>(__builtin_popcount(mask_be)); }
uint32_t mask_of(uint32_t prefix) { return prefix == 0 ? 0 : htonl(~0u << (32 - prefix)); }

// --- what rtnetlink reports ---

uint8_t operstate(Interface& d) {
  if (!d.up() || !d.link_up()) return kOperDown;
  return d.loopback() ? kOperUnknown : kOperUp;  // lo does not track its operational state
}

std::string link_message(Interface& d, uint16_t flags, uint32_t seq, uint32_t pid) {
  Message m(RTM_NEWLINK, flags, seq, pid);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_type = link_type(d);
  ifi.ifi_index = d.index();
  ifi.ifi_flags = link_flags(d);
  m.body(ifi);
  m.str(IFLA_IFNAME, d.name());
  m.u32(IFLA_TXQLEN, kTxQueueLen);
  m.u8(IFLA_OPERSTATE, operstate(d));
  m.u8(IFLA_LINKMODE, 0);
  m.u32(IFLA_MTU, static_cast<uint32_t>(d.mtu()));
  m.u32(IFLA_MIN_MTU, 68);
  m.u32(IFLA_MAX_MTU, 65535);
  m.u32(IFLA_GROUP, 0);
  m.u32(IFLA_PROMISCUITY, 0);
  m.u32(IFLA_NUM_TX_QUEUES, 1);
  m.u32(IFLA_NUM_RX_QUEUES, 1);
  m.u8(IFLA_CARRIER, d.link_up() ? 1 : 0);
  rtnl_link_ifmap map{};
  m.attr(IFLA_MAP, &map, sizeof map);
  m.attr(IFLA_ADDRESS, d.mac(), 6);
  uint8_t brd[6];
  memset(brd, d.loopback() ? 0 : 0xff, sizeof brd);
  m.attr(IFLA_BROADCAST, brd, 6);
  IfCounters c = d.counters();
  rtnl_link_stats64 s64{};
  s64.rx_packets = c.rx_packets;
  s64.tx_packets = c.tx_packets;
  s64.rx_bytes = c.rx_bytes;
  s64.tx_bytes = c.tx_bytes;
  s64.rx_errors = c.rx_errors;
  s64.tx_errors = c.tx_errors;
  s64.rx_dropped = c.rx_dropped;
  s64.tx_dropped = c.tx_dropped;
  s64.multicast = c.rx_multicast;
  m.attr(IFLA_STATS64, &s64, sizeof s64);
  rtnl_link_stats s32{};
  s32.rx_packets = static_cast<uint32_t>(c.rx_packets);
  s32.tx_packets = static_cast<uint32_t>(c.tx_packets);
  s32.rx_bytes = static_cast<uint32_t>(c.rx_bytes);
  s32.tx_bytes = static_cast<uint32_t>(c.tx_bytes);
  s32.rx_errors = static_cast<uint32_t>(c.rx_errors);
  s32.tx_errors = static_cast<uint32_t>(c.tx_errors);
  s32.rx_dropped = static_cast<uint32_t>(c.rx_dropped);
  s32.tx_dropped = static_cast<uint32_t>(c.tx_dropped);
  s32.multicast = static_cast<uint32_t>(c.rx_multicast);
  m.attr(IFLA_STATS, &s32, sizeof s32);
  return m.finish();
}

// Address lifetimes: seconds left; creation and update times in hundredths of a second since
// boot, as Linux's cstamp/tstamp.
void put_cacheinfo(Message& m, Interface& d) {
  auto stamp = [](int64_t ns) { return static_cast<uint32_t>((ns - kernel().boot_time_ns()) / 10'000'000); };
  ifa_cacheinfo ci{d.preferred_left(), d.valid_left(), stamp(d.addr_created_ns()), stamp(d.addr_updated_ns())};
  m.attr(IFA_CACHEINFO, &ci, sizeof ci);
}
void put_cacheinfo(Message& m) {  // addresses that never expire (IPv6: lwIP's own)
  ifa_cacheinfo ci{kInfiniteLife, kInfiniteLife, 0, 0};
  m.attr(IFA_CACHEINFO, &ci, sizeof ci);
}

std::string inet_addr_message(Interface& d, uint16_t flags, uint32_t seq, uint32_t pid) {
  Message m(RTM_NEWADDR, flags, seq, pid);
  uint32_t a = d.addr();
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<uint8_t>(prefix_len(d.netmask()));
  uint32_t aflags = d.permanent() ? IFA_F_PERMANENT : d.preferred_left() == 0 ? IFA_F_DEPRECATED : 0;
  ifa.ifa_flags = static_cast<uint8_t>(aflags);
  ifa.ifa_scope = (ntohl(a) >> 24) == 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
  ifa.ifa_index = d.index();
  m.body(ifa);
  m.u32(IFA_ADDRESS, a);
  m.u32(IFA_LOCAL, a);
  if (!d.loopback() && d.broadcast()) m.u32(IFA_BROADCAST, d.broadcast());
  m.str(IFA_LABEL, d.name());
  m.u32(IFA_FLAGS, aflags);
  put_cacheinfo(m, d);
  return m.finish();
}

// lwIP's IPv6 addresses of an interface (::1 on lo, link-local and autoconfigured ones).
void inet6_addr_messages(Interface& d, uint16_t flags, uint32_t seq, uint32_t pid, std::vector<std::string>& out) {
  netif* n = d.lwip();
  if (!n) return;
  for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
    u8_t state = netif_ip6_addr_state(n, i);
    if (!ip6_addr_isvalid(state) && !ip6_addr_istentative(state)) continue;
    const ip6_addr_t* a = netif_ip6_addr(n, i);
    bool loop = ip6_addr_isloopback(a), link = ip6_addr_islinklocal(a);
    Message m(RTM_NEWADDR, flags, seq, pid);
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_INET6;
    ifa.ifa_prefixlen = loop ? 128 : 64;
    ifa.ifa_flags = static_cast<uint8_t>(((loop || link) ? IFA_F_PERMANENT : 0) | (ip6_addr_istentative(state) ? IFA_F_TENTATIVE : 0));
    ifa.ifa_scope = loop ? RT_SCOPE_HOST : link ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    ifa.ifa_index = d.index();
    m.body(ifa);
    m.attr(IFA_ADDRESS, a->addr, 16);
    put_cacheinfo(m);
    m.u32(IFA_FLAGS, ifa.ifa_flags);
    out.push_back(m.finish());
  }
}

struct RouteInfo {
  uint32_t dst = 0, prefix = 0, gateway = 0, prefsrc = 0;
  Interface* dev = nullptr;
  uint8_t table = RT_TABLE_MAIN, protocol = RTPROT_KERNEL, scope = RT_SCOPE_LINK, type = RTN_UNICAST;
  unsigned flags = 0;
};

std::string route_message(const RouteInfo& r, uint16_t flags, uint32_t seq, uint32_t pid) {
  Message m(RTM_NEWROUTE, flags, seq, pid);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_dst_len = static_cast<uint8_t>(r.prefix);
  rt.rtm_table = r.table;
  rt.rtm_protocol = r.protocol;
  rt.rtm_scope = r.scope;
  rt.rtm_type = r.type;
  rt.rtm_flags = r.flags;
  m.body(rt);
  m.u32(RTA_TABLE, r.table);
  if (r.prefix) m.u32(RTA_DST, r.dst);
  if (r.prefsrc) m.u32(RTA_PREFSRC, r.prefsrc);
  if (r.gateway) m.u32(RTA_GATEWAY, r.gateway);
  if (r.dev) m.u32(RTA_OIF, static_cast<uint32_t>(r.dev->index()));
  return m.finish();
}

// The main table (connected routes and the default one), then the local table Linux keeps
// for the addresses themselves: lwIP delivers those locally and knows the broadcasts.
std::vector<RouteInfo> all_routes() {
  std::vector<RouteInfo> out;
  for (const Route& r : main_routes()) {
    RouteInfo i;
    i.dst = r.dst;
    i.prefix = prefix_len(r.mask);
    i.gateway = r.gateway;
    i.dev = r.dev;
    if (r.is_default()) {
      i.protocol = RTPROT_BOOT;
      i.scope = RT_SCOPE_UNIVERSE;
    } else if (r.dev) {
      i.prefsrc = r.dev->addr();
    }
    if (r.dev && !r.dev->link_up()) i.flags |= RTNH_F_LINKDOWN;
    out.push_back(i);
  }
  for (Interface* d : interfaces()) {
    if (!d->up() || d->addr() == 0) continue;
    auto local = [&](uint32_t dst, uint32_t prefix, uint8_t type, uint8_t scope) {
      RouteInfo i;
      i.dst = dst;
      i.prefix = prefix;
      i.dev = d;
      i.prefsrc = d->addr();
      i.table = RT_TABLE_LOCAL;
      i.type = type;
      i.scope = scope;
      out.push_back(i);
    };
    if (d->loopback()) local(d->addr() & d->netmask(), prefix_len(d->netmask()), RTN_LOCAL, RT_SCOPE_HOST);
    local(d->addr(), 32, RTN_LOCAL, RT_SCOPE_HOST);
    if (!d->loopback() && d->broadcast()) local(d->broadcast(), 32, RTN_BROADCAST, RT_SCOPE_LINK);
  }
  return out;
}

std::string neigh_message(Interface& d, uint32_t ip, const uint8_t* mac, uint16_t flags, uint32_t seq, uint32_t pid) {
  Message m(RTM_NEWNEIGH, flags, seq, pid);
  ndmsg nd{};
  nd.ndm_family = AF_INET;
  nd.ndm_ifindex = d.index();
  nd.ndm_state = NUD_REACHABLE;  // lwIP's table holds complete ("stable") entries
  nd.ndm_type = RTN_UNICAST;
  m.body(nd);
  m.u32(NDA_DST, ip);
  m.attr(NDA_LLADDR, mac, 6);
  return m.finish();
}

Interface* interface_of(const netif* n) {
  for (Interface* d : interfaces())
    if (d->lwip() == n) return d;
  return nullptr;
}

bool is_local_v4(uint32_t a) {
  if ((ntohl(a) >> 24) == 127) return true;
  for (Interface* d : interfaces())
    if (d->addr() && d->addr() == a) return true;
  return false;
}

}  // namespace

// --- rtnetlink ---

// netlink_rcv_skb: every message of the datagram in turn.
void NetlinkSocket::process(Task& t, const std::string& data) {
  size_t off = 0;
  while (data.size() - off >= NLMSG_HDRLEN) {
    nlmsghdr h;
    memcpy(&h, data.data() + off, sizeof h);
    if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > data.size() - off) return;
    Request r{reinterpret_cast<const nlmsghdr*>(data.data() + off), data.data() + off + NLMSG_HDRLEN,
              h.nlmsg_len - NLMSG_HDRLEN};
    int64_t err = 0;
    bool skip_ack = false;
    // Only requests are handled, control messages are skipped (both acked if asked).
    if ((h.nlmsg_flags & NLM_F_REQUEST) && h.nlmsg_type >= NLMSG_MIN_TYPE) {
      err = handle(t, r);
      if (err == 1) {  // a dump started: its NLMSG_DONE is the answer
        err = 0;
        skip_ack = true;
      }
    }
    if (!skip_ack && ((h.nlmsg_flags & NLM_F_ACK) || err)) ack(r, err);
    off += std::min(nl_align(h.nlmsg_len), data.size() - off);
  }
}

// netlink_ack: NLMSG_ERROR with the error and the request (only its header for a success or
// with NETLINK_CAP_ACK).
void NetlinkSocket::ack(const Request& r, int64_t err) {
  bool capped = err == 0 || cap_ack_;
  Message m(NLMSG_ERROR, capped ? NLM_F_CAPPED : 0, r.h->nlmsg_seq, portid_);
  nlmsgerr e{};
  e.error = static_cast<int>(err);
  memcpy(&e.msg, r.h, sizeof e.msg);
  std::string body(reinterpret_cast<const char*>(&e), sizeof e);
  if (!capped) body.append(r.payload, r.len);
  std::string msg = m.finish();
  msg += body;
  msg.resize(nl_align(msg.size()), '\0');
  uint32_t total = static_cast<uint32_t>(msg.size());
  memcpy(msg.data(), &total, sizeof total);
  reply(std::move(msg));
}

int64_t NetlinkSocket::handle(Task& t, const Request& r) {
  uint16_t type = r.type();
  if (type > RTM_MAX) return -EOPNOTSUPP;
  if (r.len < sizeof(rtgenmsg)) return 0;  // "all the messages must have at least 1 byte"
  int kind = (type - RTM_BASE) & 3;         // new, del, get, set
  if (kind != 2 && !privileged(t)) return -EPERM;
  StackLock lock;
  if (kind == 2 && (r.flags() & NLM_F_DUMP)) {
    if (!dump_.empty()) return -EBUSY;       // one dump at a time per socket
    std::vector<std::string> msgs;
    if (int64_t e = start_dump(r, msgs); e < 0) return e;
    Message done(NLMSG_DONE, NLM_F_MULTI, r.h->nlmsg_seq, portid_);
    int zero = 0;
    done.body(zero);
    msgs.push_back(done.finish());
    for (auto& m : msgs) dump_.push_back(std::move(m));
    fill_from_dump();
    return 1;
  }
  switch (type) {
    case RTM_GETLINK: return get_link(r);
    case RTM_NEWLINK:
    case RTM_SETLINK: return set_link(r);
    case RTM_DELLINK: return -EOPNOTSUPP;  // lo and the NICs cannot be deleted, as physical devices
    case RTM_NEWADDR: return new_addr(r);
    case RTM_DELADDR: return del_addr(r);
    case RTM_NEWROUTE:
    case RTM_DELROUTE: return route_change(t, r);
    case RTM_GETROUTE: return get_route(r);
    default: return -EOPNOTSUPP;  // no handler for it (GETADDR for IPv4 has none on Linux either)
  }
}

int64_t NetlinkSocket::start_dump(const Request& r, std::vector<std::string>& msgs) {
  uint8_t family = static_cast<uint8_t>(r.payload[0]);
  uint32_t seq = r.h->nlmsg_seq;
  switch (r.type()) {
    case RTM_GETLINK:
      for (Interface* d : interfaces()) msgs.push_back(link_message(*d, NLM_F_MULTI, seq, portid_));
      return 0;
    case RTM_GETADDR:
      // AF_INET, AF_INET6, or every family (rtnl_dump_all) for anything else.
      if (family != AF_INET6)
        for (Interface* d : interfaces())
          if (d->addr()) msgs.push_back(inet_addr_message(*d, NLM_F_MULTI, seq, portid_));
      if (family != AF_INET)
        for (Interface* d : interfaces()) inet6_addr_messages(*d, NLM_F_MULTI, seq, portid_, msgs);
      return 0;
    case RTM_GETROUTE:
      // IPv6 routes are lwIP's own (on-link prefixes, router advertisements) and not listed.
      if (family != AF_INET6)
        for (const RouteInfo& i : all_routes()) msgs.push_back(route_message(i, NLM_F_MULTI, seq, portid_));
      return 0;
    case RTM_GETNEIGH:
      // lwIP's ARP table; its IPv6 neighbour cache is not reachable from outside lwIP.
      if (family != AF_INET6) {
        for (size_t i = 0; i < ARP_TABLE_SIZE; i++) {
          ip4_addr_t* ip = nullptr;
          netif* n = nullptr;
          eth_addr* eth = nullptr;
          if (!etharp_get_entry(i, &ip, &n, &eth) || !ip || !eth) continue;
          if (Interface* d = interface_of(n))
            msgs.push_back(neigh_message(*d, ip4_addr_get_u32(ip), eth->addr, NLM_F_MULTI, seq, portid_));
        }
      }
      return 0;
    case RTM_GETRULE:
      // The lookup order lwIP follows: the local addresses, then the main table.
      if (family == AF_UNSPEC || family == AF_INET) {
        for (auto [prio, table] : {std::pair{0u, RT_TABLE_LOCAL}, {32766u, RT_TABLE_MAIN}}) {
          Message m(RTM_NEWRULE, NLM_F_MULTI, seq, portid_);
          rtmsg rule{};  // struct fib_rule_hdr has rtmsg's layout
          rule.rtm_family = AF_INET;
          rule.rtm_table = static_cast<uint8_t>(table);
          rule.rtm_type = FR_ACT_TO_TBL;
          m.body(rule);
          m.u32(FRA_TABLE, table);
          if (prio) m.u32(FRA_PRIORITY, prio);
          msgs.push_back(m.finish());
        }
      }
      return 0;
    default:
      return -EOPNOTSUPP;
  }
}

Interface* link_target(const ifinfomsg& ifi, const Attrs& at) {
  if (ifi.ifi_index > 0) return interface_by_index(ifi.ifi_index);
  if (auto name = attr_string(at, IFLA_IFNAME)) return interface_by_name(*name);
  return nullptr;
}

int64_t NetlinkSocket::get_link(const Request& r) {
  Attrs at;
  if (int64_t e = parse(r, sizeof(ifinfomsg), at); e < 0) return e;
  auto ifi = header_of<ifinfomsg>(r);
  if (ifi.ifi_index <= 0 && !at.has(IFLA_IFNAME)) return -EINVAL;
  Interface* d = link_target(ifi, at);
  if (!d) return -ENODEV;
  reply(link_message(*d, 0, r.h->nlmsg_seq, portid_));
  return 0;
}

// rtnl_newlink/rtnl_setlink on an existing device (do_setlink), in Linux's order.
int64_t NetlinkSocket::set_link(const Request& r) {
  Attrs at;
  if (int64_t e = parse(r, sizeof(ifinfomsg), at); e < 0) return e;
  auto ifi = header_of<ifinfomsg>(r);
  if (auto name = attr_string(at, IFLA_IFNAME); name && name->size() >= IFNAMSIZ) return -ERANGE;
  if (ifi.ifi_index <= 0 && !at.has(IFLA_IFNAME) && r.type() == RTM_SETLINK) return -EINVAL;
  Interface* d = link_target(ifi, at);
  if (!d) {
    if (r.type() == RTM_NEWLINK && (r.flags() & NLM_F_CREATE)) {
      // Virtual links (dummy, veth, bridge, vlan...) have no lwIP counterpart here.
      return -EOPNOTSUPP;
    }
    return -ENODEV;
  }
  if (r.type() == RTM_NEWLINK) {
    if (r.flags() & NLM_F_EXCL) return -EEXIST;
    if (r.flags() & NLM_F_REPLACE) return -EOPNOTSUPP;
  }
  // Settings that need what these devices do not have.
  for (uint16_t unsupported : {IFLA_NET_NS_PID, IFLA_NET_NS_FD, IFLA_MAP, IFLA_IFALIAS, IFLA_MASTER, IFLA_CARRIER,
                               IFLA_AF_SPEC, IFLA_PROTO_DOWN, IFLA_XDP, IFLA_LINKINFO, IFLA_VFINFO_LIST})
    if (at.has(unsupported)) return -EOPNOTSUPP;
  if (const std::string* a = at.get(IFLA_ADDRESS)) {
    if (a->size() < 6) return -EINVAL;
    if (memcmp(a->data(), d->mac(), 6) != 0) {
      if (d->loopback()) return -EOPNOTSUPP;
      uint8_t mac[6];
      memcpy(mac, a->data(), 6);
      static const uint8_t zero[6] = {};
      if (memcmp(mac, zero, 6) == 0) return -EADDRNOTAVAIL;
      if (int64_t e = d->set_mac(mac); e < 0) return e;
    }
  }
  std::optional<uint32_t> mtu, txqlen, group;
  std::optional<uint8_t> oper, linkmode;
  if (int64_t e = attr_value(at, IFLA_MTU, mtu); e < 0) return e;
  if (int64_t e = attr_value(at, IFLA_TXQLEN, txqlen); e < 0) return e;
  if (int64_t e = attr_value(at, IFLA_GROUP, group); e < 0) return e;
  if (int64_t e = attr_value(at, IFLA_OPERSTATE, oper); e < 0) return e;
  if (int64_t e = attr_value(at, IFLA_LINKMODE, linkmode); e < 0) return e;
  if (mtu && static_cast<int>(*mtu) != d->mtu()) {
    if (int64_t e = d->set_mtu(static_cast<int>(*mtu)); e < 0) return e;
  }
  if (group && *group != 0) return -EOPNOTSUPP;  // device groups are not kept
  if (ifi.ifi_index > 0) {
    if (auto name = attr_string(at, IFLA_IFNAME); name && *name != d->name()) return -EOPNOTSUPP;  // no renames
  }
  if (const std::string* b = at.get(IFLA_BROADCAST)) {
    uint8_t brd[6];
    memset(brd, d->loopback() ? 0 : 0xff, sizeof brd);
    if (b->size() < 6 || memcmp(b->data(), brd, 6) != 0) return -EOPNOTSUPP;  // Ethernet's is fixed
  }
  if (ifi.ifi_flags || ifi.ifi_change) {
    unsigned flags = ifi.ifi_flags;
    if (ifi.ifi_change) flags = (flags & ifi.ifi_change) | (link_flags(*d) & ~ifi.ifi_change);
    if (int64_t e = change_link_flags(*d, flags); e < 0) return e;
  }
  if (txqlen && *txqlen != static_cast<uint32_t>(kTxQueueLen)) return -EOPNOTSUPP;  // no queue to size
  if (oper && *oper != operstate(*d)) return -EOPNOTSUPP;  // the operational state is the link's
  if (linkmode && *linkmode != 0) return -EOPNOTSUPP;      // no dormant mode
  return 0;
}

int64_t NetlinkSocket::new_addr(const Request& r) {
  Attrs at;
  if (int64_t e = parse(r, sizeof(ifaddrmsg), at); e < 0) return e;
  auto ifa = header_of<ifaddrmsg>(r);
  // IPv6 addresses are lwIP's (::1, link-local, autoconfiguration): lwIP keeps no prefix
  // length for one added by hand. Other families have no addresses.
  if (ifa.ifa_family != AF_INET) return -EOPNOTSUPP;
  std::optional<uint32_t> local, address, brd;
  if (int64_t e = attr_value(at, IFA_LOCAL, local); e < 0) return e;
  if (int64_t e = attr_value(at, IFA_ADDRESS, address); e < 0) return e;
  if (int64_t e = attr_value(at, IFA_BROADCAST, brd); e < 0) return e;
  if (ifa.ifa_prefixlen > 32 || !local) return -EINVAL;
  Interface* d = interface_by_index(static_cast<int>(ifa.ifa_index));
  if (!d) return -ENODEV;
  if (!address) address = local;
  uint32_t mask = mask_of(ifa.ifa_prefixlen);
  // Lifetimes (seconds; 0xffffffff = forever): a valid lifetime of 0 is refused, as by Linux.
  std::optional<ifa_cacheinfo> ci;
  if (int64_t e = attr_value(at, IFA_CACHEINFO, ci); e < 0) return e;
  uint32_t valid = ci ? ci->ifa_valid : kInfiniteLife, preferred = ci ? ci->ifa_prefered : kInfiniteLife;
  if (valid == 0 || preferred > valid) return -EINVAL;
  if (d->addr() == *local && d->netmask() == mask) {
    if ((r.flags() & NLM_F_EXCL) || !(r.flags() & NLM_F_REPLACE)) return -EEXIST;
    d->set_lifetimes(valid, preferred);  // `ip addr change/replace`: a renewed lease
    return 0;
  }
  // lwIP holds one IPv4 address per interface: no secondary addresses, no peers.
  if (d->addr() != 0) return -EOPNOTSUPP;
  if (*address != *local) return -EOPNOTSUPP;  // point-to-point peer
  if (auto label = attr_string(at, IFA_LABEL); label && *label != d->name()) return -EOPNOTSUPP;
  if (brd) {
    uint32_t expect = ifa.ifa_prefixlen < 31 ? (*local | ~mask) : 0;
    if (*brd != expect) return -EOPNOTSUPP;  // lwIP uses the subnet's directed broadcast
  }
  if (int64_t e = d->set_addr_and_mask(*local, mask); e < 0) return e;
  d->set_lifetimes(valid, preferred);
  return 0;
}

int64_t NetlinkSocket::del_addr(const Request& r) {
  Attrs at;
  if (int64_t e = parse(r, sizeof(ifaddrmsg), at); e < 0) return e;
  auto ifa = header_of<ifaddrmsg>(r);
  if (ifa.ifa_family == AF_INET6) return del_addr6(r, ifa, at);
  if (ifa.ifa_family != AF_INET) return -EOPNOTSUPP;
  std::optional<uint32_t> local, address;
  if (int64_t e = attr_value(at, IFA_LOCAL, local); e < 0) return e;
  if (int64_t e = attr_value(at, IFA_ADDRESS, address); e < 0) return e;
  Interface* d = interface_by_index(static_cast<int>(ifa.ifa_index));
  if (!d) return -ENODEV;
  uint32_t a = d->addr();
  if (a == 0) return -EADDRNOTAVAIL;
  if (local && *local != a) return -EADDRNOTAVAIL;
  if (auto label = attr_string(at, IFA_LABEL); label && *label != d->name()) return -EADDRNOTAVAIL;
  if (address && (ifa.ifa_prefixlen != prefix_len(d->netmask()) || ((*address ^ a) & d->netmask())))
    return -EADDRNOTAVAIL;
  return d->set_addr(0);
}

// inet6_addr_del: an IPv6 address goes from lwIP's slots of the interface (`ip addr flush`
// removes link-local addresses too). Adding IPv6 addresses is not served: lwIP keeps no prefix
// length for them.
int64_t NetlinkSocket::del_addr6(const Request& r, const ifaddrmsg& ifa, const Attrs& at) {
  const std::string* a = at.get(IFA_LOCAL);
  if (!a) a = at.get(IFA_ADDRESS);
  if (!a) return -EINVAL;
  if (a->size() < 16) return -ERANGE;
  Interface* d = interface_by_index(static_cast<int>(ifa.ifa_index));
  if (!d) return -ENODEV;
  netif* n = d->lwip();
  for (int i = 0; n && i < LWIP_IPV6_NUM_ADDRESSES; i++) {
    u8_t state = netif_ip6_addr_state(n, i);
    if (!ip6_addr_isvalid(state) && !ip6_addr_istentative(state)) continue;
    const ip6_addr_t* x = netif_ip6_addr(n, i);
    if (memcmp(x->addr, a->data(), 16) != 0) continue;
    if (ifa.ifa_prefixlen != (ip6_addr_isloopback(x) ? 128 : 64)) continue;
    netif_ip6_addr_set_state(n, static_cast<s8_t>(i), IP6_ADDR_INVALID);
    return 0;
  }
  return -EADDRNOTAVAIL;
}

int64_t NetlinkSocket::route_change(Task& t, const Request& r) {
  Attrs at;
  if (int64_t e = parse(r, sizeof(rtmsg), at); e < 0) return e;
  auto rt = header_of<rtmsg>(r);
  // IPv6 routes are lwIP's own; no other family has routes.
  if (rt.rtm_family != AF_INET) return -EOPNOTSUPP;
  bool del = r.type() == RTM_DELROUTE;
  std::optional<uint32_t> dst, gw, oif, prio, prefsrc, table;
  for (auto [type, slot] : {std::pair{RTA_DST, &dst}, {RTA_GATEWAY, &gw}, {RTA_OIF, &oif}, {RTA_PRIORITY, &prio},
                            {RTA_PREFSRC, &prefsrc}, {RTA_TABLE, &table}})
    if (int64_t e = attr_value(at, static_cast<uint16_t>(type), *slot); e < 0) return e;
  if (rt.rtm_dst_len > 32) return -EINVAL;
  uint32_t mask = mask_of(rt.rtm_dst_len);
  uint32_t d = dst.value_or(0);
  if (d & ~mask) return -EINVAL;  // "invalid prefix for given prefix length"
  uint32_t tb = table ? *table : rt.rtm_table;
  if (tb == RT_TABLE_UNSPEC) tb = RT_TABLE_MAIN;
  if (tb != RT_TABLE_MAIN) return del && tb != RT_TABLE_LOCAL ? -ESRCH : -EOPNOTSUPP;  // lwIP has one table
  // Multipath, metrics, encapsulation, nexthop objects, other types, TOS: not lwIP's.
  for (uint16_t unsupported : {RTA_MULTIPATH, RTA_METRICS, RTA_ENCAP, RTA_VIA, RTA_NH_ID, RTA_FLOW})
    if (at.has(unsupported)) return -EOPNOTSUPP;
  if (rt.rtm_tos) return -EOPNOTSUPP;
  RouteChange c;
  c.dst = d;
  c.mask = mask;
  c.gateway = gw.value_or(0);
  c.priority = static_cast<int>(prio.value_or(0));
  c.exclusive = r.flags() & NLM_F_EXCL;
  c.replace = r.flags() & NLM_F_REPLACE;
  if (oif) {
    c.dev = interface_by_index(static_cast<int>(*oif));
    if (!c.dev) return -ENODEV;
  }
  if (del) {
    // A route matches when the given type, protocol and scope are its own.
    bool is_default = mask == 0;
    uint8_t proto = is_default ? RTPROT_BOOT : RTPROT_KERNEL, scope = is_default ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    if ((rt.rtm_type && rt.rtm_type != RTN_UNICAST) || (rt.rtm_protocol && rt.rtm_protocol != proto) ||
        (rt.rtm_scope != RT_SCOPE_NOWHERE && rt.rtm_scope != scope))
      return -ESRCH;
    return delete_route(c);
  }
  if (rt.rtm_type != RTN_UNICAST) return -EOPNOTSUPP;  // local, blackhole, unreachable...: lwIP has none
  if (prefsrc) {
    if (!is_local_v4(*prefsrc)) return -EINVAL;
    // lwIP sends from the address of the interface it routes through.
    Interface* via = c.dev;
    if (!via)
      for (Interface* i : interfaces())
        if (i->addr() && c.gateway && ((i->addr() ^ c.gateway) & i->netmask()) == 0) via = i;
    if (!via || via->addr() != *prefsrc) return -EOPNOTSUPP;
  }
  if (mask == 0 && !(r.flags() & NLM_F_CREATE)) {
    bool have = false;
    for (const Route& x : routes()) have |= x.is_default();
    if (!have) return -ENOENT;
  }
  return add_route(c);
}

// `ip route get`: where lwIP would send a packet to RTA_DST.
int64_t NetlinkSocket::get_route(const Request& r) {
  Attrs at;
  if (int64_t e = parse(r, sizeof(rtmsg), at); e < 0) return e;
  auto rt = header_of<rtmsg>(r);
  if (rt.rtm_family != AF_INET) return -EOPNOTSUPP;  // IPv6 lookups are lwIP's
  std::optional<uint32_t> dst, oif;
  if (int64_t e = attr_value(at, RTA_DST, dst); e < 0) return e;
  if (int64_t e = attr_value(at, RTA_OIF, oif); e < 0) return e;
  RouteInfo i;
  i.dst = dst.value_or(0);
  i.prefix = 32;
  i.protocol = RTPROT_UNSPEC;
  i.scope = RT_SCOPE_UNIVERSE;
  i.flags = RTM_F_CLONED;
  if (is_local_v4(i.dst)) {
    i.type = RTN_LOCAL;
    i.table = RT_TABLE_LOCAL;
    i.scope = RT_SCOPE_HOST;
    i.dev = interface_by_name("lo");
    i.prefsrc = i.dst;
  } else {
    const Route* best = nullptr;
    auto rs = main_routes();
    for (const Route& x : rs) {
      if ((i.dst & x.mask) != x.dst) continue;
      if (oif && x.dev && x.dev->index() != static_cast<int>(*oif)) continue;
      if (!best || ntohl(x.mask) > ntohl(best->mask)) best = &x;
    }
    if (!best) return -ENETUNREACH;
    i.dev = best->dev;
    i.gateway = best->gateway;
    i.prefsrc = best->dev ? best->dev->addr() : 0;
    if (i.dst == 0xffffffffu || (best->dev && i.dst == best->dev->broadcast())) i.type = RTN_BROADCAST;
  }
  reply(route_message(i, 0, r.h->nlmsg_seq, portid_));
  return 0;
}

}  // namespace um::kernel::net::netlink
