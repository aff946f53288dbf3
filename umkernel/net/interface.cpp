#include "umkernel/net/interface.h"

#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "umkernel/kernel/kernel.h"
#include "umkernel/net/lwip.h"
#include "umkernel/net/stack.h"

namespace um::kernel::net {

namespace {

std::vector<Interface*>& registry() {
  static auto* r = new std::vector<Interface*>;  // outlives static destruction (lwIP's thread)
  return *r;
}

bool contiguous(uint32_t mask_be) {
  uint32_t m = lwip_ntohl(mask_be);
  return (~m & (~m + 1)) == 0;  // ones then zeros
}

bool have_default = false;

}  // namespace

unsigned Interface::flags() const {
  constexpr unsigned kLowerUp = 0x10000;  // IFF_LOWER_UP (linux/if.h, which clashes with net/if.h)
  unsigned f = loopback() ? IFF_LOOPBACK : (IFF_BROADCAST | IFF_MULTICAST);
  if (up()) {
    f |= IFF_UP;
    if (link_up()) f |= IFF_RUNNING | kLowerUp;
  }
  return f;
}

int64_t Interface::set_flags(unsigned f) {
  if ((f & IFF_UP) && !up()) netif_set_up(netif_);
  else if (!(f & IFF_UP) && up()) netif_set_down(netif_);
  return 0;
}

bool Interface::up() const { return netif_is_up(netif_); }
bool Interface::link_up() const { return netif_is_link_up(netif_); }
int Interface::mtu() const { return netif_->mtu; }

int64_t Interface::set_mtu(int mtu) {
  // An Ethernet NIC carries frames of at most 1518 bytes (a switch port's datagrams).
  if (mtu < 68 || mtu > (loopback() ? 65535 : 1500)) return -EINVAL;
  netif_->mtu = static_cast<u16_t>(mtu);
  return 0;
}

int64_t Interface::set_mac(const uint8_t mac[6]) {
  if (loopback()) return -EOPNOTSUPP;
  if (up()) return -EBUSY;
  if (mac[0] & 1) return -EADDRNOTAVAIL;  // multicast
  memcpy(mac_, mac, 6);
  memcpy(netif_->hwaddr, mac, 6);
  return 0;
}

uint32_t Interface::addr() const { return ip4_addr_get_u32(netif_ip4_addr(netif_)); }
uint32_t Interface::netmask() const { return ip4_addr_get_u32(netif_ip4_netmask(netif_)); }
uint32_t Interface::broadcast() const {
  uint32_t a = addr();
  return a ? (a | ~netmask()) : 0;
}

int64_t Interface::set_addr(uint32_t a) {
  if (expiry_timer_) kernel().cancel_timer(expiry_timer_);
  expiry_timer_ = 0;
  valid_lft_ = preferred_lft_ = kForever;
  lft_set_ns_ = addr_created_ns_ = monotonic_ns();
  ip4_addr_t ip;
  ip4_addr_set_u32(&ip, a);
  netif_set_ipaddr(netif_, &ip);
  // Linux gives an address without a mask its class's mask; a zero mask would route nothing.
  if (a && netmask() == 0) {
    uint32_t h = lwip_ntohl(a);
    uint32_t m = h < 0x80000000u ? 0xff000000u : h < 0xc0000000u ? 0xffff0000u : 0xffffff00u;
    set_netmask(lwip_htonl(m));
  }
  return 0;
}

int64_t Interface::set_netmask(uint32_t mask) {
  if (!contiguous(mask)) return -EINVAL;
  ip4_addr_t m;
  ip4_addr_set_u32(&m, mask);
  netif_set_netmask(netif_, &m);
  return 0;
}

int64_t Interface::set_addr_and_mask(uint32_t a, uint32_t mask) {
  if (!contiguous(mask)) return -EINVAL;
  if (int64_t e = set_netmask(mask); e < 0) return e;
  return set_addr(a);
}

void Interface::set_lifetimes(uint32_t valid, uint32_t preferred) {
  if (expiry_timer_) kernel().cancel_timer(expiry_timer_);
  expiry_timer_ = 0;
  valid_lft_ = valid;
  preferred_lft_ = std::min(preferred, valid);
  lft_set_ns_ = monotonic_ns();
  if (valid == kForever || addr() == 0) return;
  uint32_t expiring = addr();
  expiry_timer_ = kernel().add_timer(lft_set_ns_ + int64_t{valid} * 1'000'000'000, [this, expiring] {
    expiry_timer_ = 0;
    StackLock lock;
    if (addr() == expiring) set_addr(0);
  });
}

uint32_t Interface::left(uint32_t lft) const {
  if (lft == kForever) return kForever;
  int64_t gone = (monotonic_ns() - lft_set_ns_) / 1'000'000'000;
  return gone >= lft ? 0 : static_cast<uint32_t>(lft - gone);
}

void Interface::add_tap(PacketTap* t) {
  if (std::find(taps_.begin(), taps_.end(), t) == taps_.end()) taps_.push_back(t);
}
void Interface::remove_tap(PacketTap* t) { std::erase(taps_, t); }

void Interface::tap_frame(const uint8_t* frame, size_t len, bool outgoing) {
  auto taps = taps_;  // a tap may remove itself
  for (PacketTap* t : taps) t->on_frame(*this, frame, len, outgoing);
}

std::vector<Interface*> interfaces() { return registry(); }

Interface* interface_by_name(std::string_view name) {
  for (Interface* d : registry())
    if (d->name() == name) return d;
  return nullptr;
}

Interface* interface_by_index(int index) {
  for (Interface* d : registry())
    if (d->index() == index) return d;
  return nullptr;
}

void register_interface(Interface* dev) { registry().push_back(dev); }

std::vector<Route> routes() {
  std::vector<Route> out;
  for (Interface* d : registry()) {
    if (!d->up() || d->addr() == 0) continue;
    out.push_back({d->addr() & d->netmask(), d->netmask(), 0, d});
  }
  if (have_default && netif_default) {
    for (Interface* d : registry())
      if (d->lwip() == netif_default) out.push_back({0, 0, ip4_addr_get_u32(netif_ip4_gw(netif_default)), d});
  }
  return out;
}

int64_t set_default_route(uint32_t gateway, Interface* dev) {
  if (!dev) {
    for (Interface* d : registry()) {
      if (d->loopback() || !d->up() || d->addr() == 0) continue;
      if ((d->addr() & d->netmask()) == (gateway & d->netmask())) {
        dev = d;
        break;
      }
    }
    if (!dev) return -ENETUNREACH;
  } else if (gateway && ((dev->addr() ^ gateway) & dev->netmask())) {
    return -ENETUNREACH;  // the gateway must be on the device's network
  }
  if (have_default) return -EEXIST;
  ip4_addr_t gw;
  ip4_addr_set_u32(&gw, gateway);
  netif_set_gw(dev->lwip(), &gw);
  netif_set_default(dev->lwip());
  have_default = true;
  return 0;
}

int64_t delete_default_route() {
  if (!have_default) return -ESRCH;
  if (netif_default) {
    ip4_addr_t zero;
    ip4_addr_set_zero(&zero);
    netif_set_gw(netif_default, &zero);
  }
  netif_set_default(nullptr);
  have_default = false;
  return 0;
}

}  // namespace um::kernel::net
