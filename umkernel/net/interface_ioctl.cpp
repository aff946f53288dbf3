// The interface ioctls every socket takes (ifconfig, route, ip link set...), answered as
// Linux's dev_ioctl (device settings), devinet_ioctl (IPv4 addresses) and ip_rt_ioctl
// (routes) answer them, in the same order of checks: the ifreq is read (EFAULT), then the
// privilege (EPERM: euid 0 stands for CAP_NET_ADMIN), then the device (ENODEV), then the
// address (EADDRNOTAVAIL). Also the flag and route logic rtnetlink shares (interface_config.h).
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "umkernel/kernel/kernel.h"
#include <string>

#include "umkernel/kernel/user_memory.h"
#include "umkernel/net/interface.h"
#include "umkernel/socket/net_sockets.h"
#include "umkernel/net/interface_config.h"
#include "umkernel/net/stack.h"

namespace um::kernel::net {

namespace {

// Flags Linux's dev_change_flags lets anyone set that change nothing for these devices; they
// are kept per interface index and reported. (IFF_ALLMULTI is even true: the NICs pass every
// multicast frame.)
constexpr unsigned kKeptFlags = IFF_DEBUG | IFF_NOTRAILERS | IFF_DYNAMIC | IFF_PORTSEL | IFF_AUTOMEDIA | IFF_ALLMULTI;

struct KeptFlags {
  std::map<int, unsigned> by_index;
};
std::map<int, unsigned>& kept_flags() { return kernel().state<KeptFlags>().by_index; }

bool privileged(Task& t) { return t.proc->cred.euid == 0; }

bool contiguous(uint32_t mask_be) {
  uint32_t m = ntohl(mask_be);
  return (~m & (~m + 1)) == 0;
}

// Linux's inet_abc_len: the classful prefix of an address SIOCSIFADDR gives it; -1 for a
// multicast address.
int classful_prefix(uint32_t addr_be) {
  uint32_t h = ntohl(addr_be);
  if ((h >> 24) == 0 || h == 0xffffffffu) return 0;
  if ((h & 0x80000000u) == 0) return 8;
  if ((h & 0xc0000000u) == 0x80000000u) return 16;
  if ((h & 0xe0000000u) == 0xc0000000u) return 24;
  if ((h & 0xf0000000u) == 0xe0000000u) return -1;  // class D: multicast
  return 32;
}

uint32_t mask_of(int prefix) { return prefix <= 0 ? 0 : htonl(~0u << (32 - prefix)); }

uint32_t broadcast_of(Interface& dev) { return dev.loopback() ? 0 : dev.broadcast(); }

bool sets_something(unsigned long req) {
  switch (req) {
    case SIOCSIFFLAGS: case SIOCSIFADDR: case SIOCSIFNETMASK: case SIOCSIFBRDADDR:
    case SIOCSIFDSTADDR: case SIOCSIFHWADDR: case SIOCSIFMTU: case SIOCSIFMETRIC:
    case SIOCSIFTXQLEN: case SIOCSIFNAME: case SIOCSIFMAP: case SIOCSIFHWBROADCAST:
    case SIOCADDMULTI: case SIOCDELMULTI:
      return true;
    default:
      return false;
  }
}

// Reads the ifreq and terminates its name, as Linux does.
int64_t read_ifreq(Task& t, uint64_t arg, ifreq& ifr) {
  if (copy_from_user(t, &ifr, arg, sizeof ifr) < 0) return -EFAULT;
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  return 0;
}

int64_t write_ifreq(Task& t, uint64_t arg, const ifreq& ifr) {
  return copy_to_user(t, arg, &ifr, sizeof ifr) < 0 ? -EFAULT : 0;
}

void put_inet(sockaddr& sa, uint32_t addr_be) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = addr_be;
  memcpy(&sa, &sin, sizeof sin);
}

uint32_t inet_of(const sockaddr& sa) {
  sockaddr_in sin;
  memcpy(&sin, &sa, sizeof sin);
  return sin.sin_addr.s_addr;
}

// SIOCGIFCONF: one ifreq (name, AF_INET address) per IPv4 address, as inet_gifconf; without
// a buffer, only the length needed.
int64_t get_ifconf(Task& t, uint64_t arg) {
  ifconf ifc;
  if (copy_from_user(t, &ifc, arg, sizeof ifc) < 0) return -EFAULT;
  uint64_t buf = reinterpret_cast<uint64_t>(ifc.ifc_buf);
  int len = ifc.ifc_len;
  int total = 0;
  std::vector<ifreq> entries;
  {
    StackLock lock;
    for (Interface* d : interfaces()) {
      if (d->addr() == 0) continue;
      ifreq r{};
      strncpy(r.ifr_name, d->name().c_str(), IFNAMSIZ - 1);
      put_inet(r.ifr_addr, d->addr());
      entries.push_back(r);
    }
  }
  constexpr int size = sizeof(ifreq);
  for (const ifreq& r : entries) {
    if (!buf) {
      total += size;
      continue;
    }
    if (len - total < size) break;
    if (copy_to_user(t, buf + total, &r, size) < 0) return -EFAULT;
    total += size;
  }
  return put_user(t, arg + offsetof(ifconf, ifc_len), total);
}

// Device settings (Linux's dev_ioctl). `name` is the interface name without an alias suffix.
int64_t device_ioctl(Task& t, unsigned long req, uint64_t arg, ifreq& ifr) {
  StackLock lock;
  Interface* dev = interface_by_name(ifr.ifr_name);
  if (!dev) return -ENODEV;
  switch (req) {
    case SIOCGIFFLAGS:
      ifr.ifr_flags = static_cast<short>(link_flags(*dev));  // IFF_LOWER_UP does not fit, as on Linux
      return write_ifreq(t, arg, ifr);
    case SIOCSIFFLAGS:
      // The short ifr_flags: the high flags (IFF_LOWER_UP...) are the device's anyway.
      return change_link_flags(*dev, static_cast<unsigned short>(ifr.ifr_flags));
    case SIOCGIFMETRIC:
      ifr.ifr_metric = 0;
      return write_ifreq(t, arg, ifr);
    case SIOCSIFMETRIC:
      return -EOPNOTSUPP;  // as Linux: interface metrics are not implemented there either
    case SIOCGIFMTU:
      ifr.ifr_mtu = dev->mtu();
      return write_ifreq(t, arg, ifr);
    case SIOCSIFMTU:
      if (ifr.ifr_mtu < 0) return -EINVAL;
      return ifr.ifr_mtu == dev->mtu() ? 0 : dev->set_mtu(ifr.ifr_mtu);
    case SIOCGIFHWADDR:
      memset(&ifr.ifr_hwaddr, 0, sizeof ifr.ifr_hwaddr);
      ifr.ifr_hwaddr.sa_family = link_type(*dev);
      memcpy(ifr.ifr_hwaddr.sa_data, dev->mac(), 6);
      return write_ifreq(t, arg, ifr);
    case SIOCSIFHWADDR: {
      if (ifr.ifr_hwaddr.sa_family != link_type(*dev)) return -EINVAL;
      if (dev->loopback()) return -EOPNOTSUPP;  // as Linux: lo has no set_mac_address
      uint8_t mac[6];
      memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
      static const uint8_t zero[6] = {};
      if (memcmp(mac, zero, 6) == 0) return -EADDRNOTAVAIL;  // is_valid_ether_addr
      if (memcmp(mac, dev->mac(), 6) == 0) return 0;
      return dev->set_mac(mac);
    }
    case SIOCGIFINDEX:
      ifr.ifr_ifindex = dev->index();
      return write_ifreq(t, arg, ifr);
    case SIOCGIFTXQLEN:
      ifr.ifr_qlen = kTxQueueLen;
      return write_ifreq(t, arg, ifr);
    case SIOCSIFTXQLEN:
      // There is no transmit queue (lwIP hands frames to the NIC at once): the length is only
      // reported, so a different one cannot be honored.
      if (ifr.ifr_qlen < 0) return -EINVAL;
      return ifr.ifr_qlen == kTxQueueLen ? 0 : -EOPNOTSUPP;
    case SIOCGIFMAP:
      memset(&ifr.ifr_map, 0, sizeof ifr.ifr_map);  // no I/O ports, memory or IRQ: virtual devices
      return write_ifreq(t, arg, ifr);
    case SIOCSIFMAP:
      return -EOPNOTSUPP;  // as Linux for devices without ndo_set_config
    case SIOCSIFNAME:
      return -EOPNOTSUPP;  // interface names are fixed (lo, ethN from the command line)
    case SIOCSIFHWBROADCAST:
      return -EOPNOTSUPP;  // Ethernet's broadcast address is ff:ff:ff:ff:ff:ff
    case SIOCADDMULTI:
    case SIOCDELMULTI:
      // Link-layer multicast filters: the NICs pass every multicast frame already, so there
      // is nothing to add; Linux checks the address family the same way.
      if (ifr.ifr_hwaddr.sa_family != AF_UNSPEC) return -EINVAL;
      return dev->loopback() ? -EINVAL : 0;
    case SIOCETHTOOL:
    case SIOCGMIIPHY:
    case SIOCGMIIREG:
    case SIOCSMIIREG:
      return -EOPNOTSUPP;  // no ethtool or MII: virtual devices without driver operations
    default:
      return -ENOTTY;
  }
}

// IPv4 address settings (Linux's devinet_ioctl). One address per interface (lwIP's model), so
// an alias label ("eth0:1") never has one.
int64_t address_ioctl(Task& t, unsigned long req, uint64_t arg, ifreq& ifr, bool alias) {
  bool set = sets_something(req);
  if (set && !privileged(t)) return -EPERM;
  if (set && ifr.ifr_addr.sa_family != AF_INET) return -EINVAL;
  uint32_t value = inet_of(ifr.ifr_addr);
  StackLock lock;
  Interface* dev = interface_by_name(ifr.ifr_name);
  if (!dev) return -ENODEV;
  if (alias) {
    // Secondary addresses need more than lwIP's one address per interface.
    return req == SIOCSIFADDR ? -EOPNOTSUPP : -EADDRNOTAVAIL;
  }
  uint32_t addr = dev->addr();
  if (req == SIOCSIFADDR) {
    int prefix = classful_prefix(value);
    if (prefix < 0) return -EINVAL;
    if (value == addr) return 0;
    if (value == 0) return dev->set_addr(0);
    // As Linux: a new address gets its class's mask (SIOCSIFNETMASK follows it).
    return dev->set_addr_and_mask(value, mask_of(prefix));
  }
  if (addr == 0) return -EADDRNOTAVAIL;
  switch (req) {
    case SIOCGIFADDR:
    case SIOCGIFDSTADDR:  // not point-to-point: the peer is the address itself, as Linux
      put_inet(ifr.ifr_addr, addr);
      return write_ifreq(t, arg, ifr);
    case SIOCGIFNETMASK:
      put_inet(ifr.ifr_netmask, dev->netmask());
      return write_ifreq(t, arg, ifr);
    case SIOCGIFBRDADDR:
      put_inet(ifr.ifr_broadaddr, broadcast_of(*dev));
      return write_ifreq(t, arg, ifr);
    case SIOCSIFNETMASK:
      if (!contiguous(value)) return -EINVAL;
      return value == dev->netmask() ? 0 : dev->set_netmask(value);
    case SIOCSIFBRDADDR:
      // lwIP broadcasts to the subnet's directed broadcast address; another one cannot be set.
      return value == broadcast_of(*dev) ? 0 : -EOPNOTSUPP;
    case SIOCSIFDSTADDR:
      // Only point-to-point links have a separate peer address; these interfaces are not.
      return value == addr ? 0 : -EOPNOTSUPP;
    default:
      return -ENOTTY;
  }
}

// SIOCADDRT/SIOCDELRT with a struct rtentry, as Linux's ip_rt_ioctl/rtentry_to_fib_config.
int64_t route_ioctl(Task& t, unsigned long req, uint64_t arg) {
  if (!privileged(t)) return -EPERM;
  rtentry rt;
  if (copy_from_user(t, &rt, arg, sizeof rt) < 0) return -EFAULT;
  if (rt.rt_dst.sa_family != AF_INET) return -EAFNOSUPPORT;
  RouteChange c;
  c.dst = inet_of(rt.rt_dst);
  if (rt.rt_flags & RTF_HOST) {
    c.mask = 0xffffffffu;
  } else {
    c.mask = inet_of(rt.rt_genmask);
    if (rt.rt_genmask.sa_family != AF_INET && (c.mask || rt.rt_genmask.sa_family)) return -EAFNOSUPPORT;
    if (rt.rt_genmask.sa_family != AF_INET) c.mask = 0;
  }
  if (!contiguous(c.mask) || (c.dst & ~c.mask)) return -EINVAL;  // bad_mask
  if (rt.rt_metric) c.priority = rt.rt_metric - 1;
  if (rt.rt_flags & RTF_REJECT) return -EOPNOTSUPP;  // unreachable routes: lwIP has no such type
  StackLock lock;
  if (rt.rt_dev) {
    std::string name;
    int64_t r = string_from_user(t, reinterpret_cast<uint64_t>(rt.rt_dev), name, 256);
    if (r == -EFAULT) return -EFAULT;
    if (r < 0) return -ENODEV;
    if (name.size() > IFNAMSIZ - 1) name.resize(IFNAMSIZ - 1);
    if (auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
    c.dev = interface_by_name(name);
    if (!c.dev) return -ENODEV;
  }
  if (rt.rt_gateway.sa_family == AF_INET) c.gateway = inet_of(rt.rt_gateway);
  if (req == SIOCDELRT) return delete_route(c);
  if ((rt.rt_flags & RTF_GATEWAY) && !c.gateway) return -EINVAL;
  return add_route(c);  // not exclusive: an equal route is EEXIST, another one is appended
}

}  // namespace

// --- shared with rtnetlink (interface_config.h) ---

uint16_t link_type(Interface& dev) { return dev.loopback() ? ARPHRD_LOOPBACK : ARPHRD_ETHER; }

unsigned link_flags(Interface& dev) {
  auto it = kept_flags().find(dev.index());
  return dev.flags() | (it == kept_flags().end() ? 0 : it->second);
}

int64_t change_link_flags(Interface& dev, unsigned flags) {
  unsigned now = link_flags(dev);
  unsigned changed = flags ^ now;
  // The NIC's address filter passes only its own unicast frames (nic.cpp), lwIP always
  // resolves with ARP, and which devices do multicast is lwIP's: these flags cannot change.
  if (changed & (IFF_PROMISC | IFF_NOARP | IFF_MULTICAST)) return -EOPNOTSUPP;
  if (changed & IFF_UP) {
    if (int64_t r = dev.set_flags((flags & IFF_UP) ? (dev.flags() | IFF_UP) : (dev.flags() & ~IFF_UP)); r < 0) return r;
  }
  kept_flags()[dev.index()] = flags & kKeptFlags;
  return 0;
}

std::vector<Route> main_routes() {
  std::vector<Route> out;
  for (const Route& r : routes())
    if (!(r.dev && r.dev->loopback() && !r.is_default())) out.push_back(r);
  std::stable_sort(out.begin(), out.end(), [](const Route& a, const Route& b) {
    if (ntohl(a.dst) != ntohl(b.dst)) return ntohl(a.dst) < ntohl(b.dst);
    return ntohl(a.mask) > ntohl(b.mask);
  });
  return out;
}

namespace {

const Route* find_default(const std::vector<Route>& rs) {
  for (const Route& r : rs)
    if (r.is_default()) return &r;
  return nullptr;
}

// The interface whose connected subnet is exactly dst/mask (up, with an address).
Interface* connected_to(uint32_t dst, uint32_t mask, Interface* dev) {
  for (Interface* d : interfaces()) {
    if (!d->up() || d->addr() == 0) continue;
    if (d->netmask() != mask || (d->addr() & mask) != dst) continue;
    if (dev && dev != d) continue;
    return d;
  }
  return nullptr;
}

}  // namespace

int64_t add_route(const RouteChange& r) {
  if (r.dev && !r.dev->up()) return -ENETDOWN;
  // lwIP keeps no metrics: it has one default route and the connected subnets.
  if (r.priority != 0) return -EOPNOTSUPP;
  // NLM_F_EXCL: any route to the same prefix (with the same metric) is EEXIST, as
  // fib_table_insert answers, whatever its device or gateway.
  if (r.exclusive && !r.replace)
    for (const Route& x : main_routes())
      if (x.dst == r.dst && x.mask == r.mask) return -EEXIST;
  if (r.mask == 0) {
    // lwIP sends off-subnet traffic only to a gateway (etharp_output: ERR_RTE without one),
    // so a default route straight out of a device cannot be made.
    if (!r.gateway) return -EOPNOTSUPP;
    auto rs = routes();
    if (const Route* cur = find_default(rs)) {
      bool same = cur->gateway == r.gateway && (!r.dev || r.dev == cur->dev);
      if (r.replace) {
        if (same) return 0;
        // Replace: the new one must be reachable before the old one goes.
        Interface* dev = r.dev ? r.dev : nullptr;
        if (!dev) {
          for (Interface* d : interfaces())
            if (!d->loopback() && d->up() && d->addr() && ((d->addr() ^ r.gateway) & d->netmask()) == 0) dev = d;
          if (!dev) return -ENETUNREACH;
        } else if ((dev->addr() ^ r.gateway) & dev->netmask()) {
          return -ENETUNREACH;
        }
        delete_default_route();
        return set_default_route(r.gateway, dev);
      }
      // Linux would add a second default route unless this one is equal (and NLM_F_EXCL
      // refuses any); lwIP has room for one.
      return -EEXIST;
    }
    return set_default_route(r.gateway, r.dev);
  }
  // A subnet route: the connected ones exist already (as Linux's kernel routes, protocol
  // "kernel"). Linux would add an equal route beside that one unless NLM_F_EXCL; here the
  // connected route already does what it would do. lwIP routes nothing else: no routes via
  // gateways other than the default one, no host routes, no routes to other subnets.
  if (!r.gateway && connected_to(r.dst, r.mask, r.dev)) return r.exclusive ? -EEXIST : 0;
  return -EOPNOTSUPP;
}

int64_t delete_route(const RouteChange& r) {
  if (r.mask == 0) {
    auto rs = routes();
    const Route* cur = find_default(rs);
    if (!cur || (r.gateway && r.gateway != cur->gateway) || (r.dev && r.dev != cur->dev) || r.priority != 0)
      return -ESRCH;
    return delete_default_route();
  }
  // A connected route follows from the interface's address in lwIP: it goes with the address
  // (or when the interface goes down), not on its own.
  if (!r.gateway && connected_to(r.dst, r.mask, r.dev)) return -EOPNOTSUPP;
  return -ESRCH;
}

int64_t interface_ioctl(Task& t, unsigned long req, uint64_t arg) {
  switch (req) {
    case SIOCGIFCONF:
      if (!stack_started()) return put_user(t, arg + offsetof(ifconf, ifc_len), 0);
      return get_ifconf(t, arg);
    case SIOCADDRT:
    case SIOCDELRT:
      if (!stack_started()) return privileged(t) ? -ENETUNREACH : -EPERM;
      return route_ioctl(t, req, arg);
    case SIOCGARP:
    case SIOCSARP:
    case SIOCDARP:
      // The ARP table is lwIP's, built without static entries (ETHARP_SUPPORT_STATIC_ENTRIES
      // is 0 in Debian's liblwip): read it in /proc/net/arp.
      return -EOPNOTSUPP;
    case SIOCGIFNAME: {
      ifreq ifr;
      if (int64_t r = read_ifreq(t, arg, ifr); r < 0) return r;
      if (!stack_started()) return -ENODEV;
      StackLock lock;
      Interface* dev = interface_by_index(ifr.ifr_ifindex);
      if (!dev) return -ENODEV;
      memset(ifr.ifr_name, 0, IFNAMSIZ);
      strncpy(ifr.ifr_name, dev->name().c_str(), IFNAMSIZ - 1);
      return write_ifreq(t, arg, ifr);
    }
    case SIOCGIFADDR: case SIOCSIFADDR: case SIOCGIFNETMASK: case SIOCSIFNETMASK:
    case SIOCGIFBRDADDR: case SIOCSIFBRDADDR: case SIOCGIFDSTADDR: case SIOCSIFDSTADDR: {
      ifreq ifr;
      if (int64_t r = read_ifreq(t, arg, ifr); r < 0) return r;
      char* colon = strchr(ifr.ifr_name, ':');
      if (colon) *colon = '\0';
      if (!stack_started()) return sets_something(req) && !privileged(t) ? -EPERM : -ENODEV;
      return address_ioctl(t, req, arg, ifr, colon != nullptr);
    }
    case SIOCGIFFLAGS: case SIOCSIFFLAGS: case SIOCGIFMETRIC: case SIOCSIFMETRIC:
    case SIOCGIFMTU: case SIOCSIFMTU: case SIOCGIFHWADDR: case SIOCSIFHWADDR:
    case SIOCGIFINDEX: case SIOCGIFTXQLEN: case SIOCSIFTXQLEN: case SIOCGIFMAP:
    case SIOCSIFMAP: case SIOCSIFNAME: case SIOCSIFHWBROADCAST: case SIOCADDMULTI:
    case SIOCDELMULTI: case SIOCETHTOOL: case SIOCGMIIPHY: case SIOCGMIIREG: case SIOCSMIIREG: {
      ifreq ifr;
      if (int64_t r = read_ifreq(t, arg, ifr); r < 0) return r;
      if (char* colon = strchr(ifr.ifr_name, ':')) *colon = '\0';  // aliases name their device
      bool needs_admin = sets_something(req) || req == SIOCSMIIREG;
      if (needs_admin && !privileged(t)) return -EPERM;
      if (!stack_started()) return -ENODEV;
      return device_ioctl(t, req, arg, ifr);
    }
    default:
      return -ENOTTY;
  }
}

}  // namespace um::kernel::net
