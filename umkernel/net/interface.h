// Network interfaces as the guest sees them: lo and eth0..ethN, each an lwIP netif plus what
// Linux keeps beside it (index, flags, counters, MAC, MTU) for ifconfig's ioctls, rtnetlink,
// /proc/net/dev and AF_PACKET sockets. Everything here is called under the StackLock.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct netif;

namespace um::kernel::net {

class Interface;

// Counters as /proc/net/dev shows them.
struct IfCounters {
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0, rx_multicast = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

// An AF_PACKET socket listening on interfaces: gets every frame sent or received (whole
// Ethernet frames; on lo a zero Ethernet header is made up, as Linux). Called under the lock
// on any thread.
class PacketTap {
 public:
  virtual ~PacketTap() = default;
  virtual void on_frame(Interface& dev, const uint8_t* frame, size_t len, bool outgoing) = 0;
};

class Interface {
 public:
  virtual ~Interface() = default;
  const std::string& name() const { return name_; }
  int index() const { return index_; }          // ifindex: lo = 1, eth0 = 2, ...
  virtual bool loopback() const = 0;
  const uint8_t* mac() const { return mac_; }   // 6 bytes (zeros for lo)
  netif* lwip() { return netif_; }

  // Linux interface flags (IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_MULTICAST,
  // IFF_LOWER_UP...), from the administrative state and the link.
  unsigned flags() const;
  // Sets IFF_UP (the other flags are the device's): brings the interface up or down.
  int64_t set_flags(unsigned flags);
  bool up() const;
  bool link_up() const;
  int mtu() const;
  int64_t set_mtu(int mtu);                      // -EINVAL outside 68..65535
  int64_t set_mac(const uint8_t mac[6]);         // -EBUSY while up, as most Linux drivers

  // IPv4 configuration, addresses in network byte order. One address per interface (lwIP's
  // model); setting 0.0.0.0 removes it.
  uint32_t addr() const;
  uint32_t netmask() const;
  uint32_t broadcast() const;
  int64_t set_addr(uint32_t addr);
  int64_t set_netmask(uint32_t mask);            // -EINVAL for a non-contiguous mask
  int64_t set_addr_and_mask(uint32_t addr, uint32_t mask);

  // IPv4 address lifetimes (rtnetlink IFA_CACHEINFO; `ip addr add ... valid_lft N
  // preferred_lft N`, as dhclient-script sets the lease time), in seconds; kForever never ends.
  // Every set_addr makes the address permanent; set_lifetimes then gives it lifetimes counted
  // from now. When the valid lifetime ends the address is removed, as Linux's check_lifetime.
  static constexpr uint32_t kForever = 0xffffffffu;
  void set_lifetimes(uint32_t valid, uint32_t preferred);
  uint32_t valid_left() const { return left(valid_lft_); }
  uint32_t preferred_left() const { return left(preferred_lft_); }
  bool permanent() const { return valid_lft_ == kForever; }
  int64_t addr_created_ns() const { return addr_created_ns_; }  // CLOCK_MONOTONIC
  int64_t addr_updated_ns() const { return lft_set_ns_; }

  IfCounters counters() const { return counters_; }

  // AF_PACKET: taps see every frame from now on.
  void add_tap(PacketTap* t);
  void remove_tap(PacketTap* t);
  // Sends a whole Ethernet frame as AF_PACKET does (bypassing IP): bytes sent or -errno
  // (-ENETDOWN while down, -EMSGSIZE beyond the MTU).
  virtual int64_t transmit_frame(const void* frame, size_t len) = 0;

 protected:
  Interface(std::string name, int index) : name_(std::move(name)), index_(index) {}
  void tap_frame(const uint8_t* frame, size_t len, bool outgoing);

  std::string name_;
  int index_;
  uint8_t mac_[6] = {};
  netif* netif_ = nullptr;
  IfCounters counters_;
  std::vector<PacketTap*> taps_;

 private:
  uint32_t left(uint32_t lft) const;
  uint32_t valid_lft_ = kForever, preferred_lft_ = kForever;
  int64_t lft_set_ns_ = 0, addr_created_ns_ = 0;
  uint64_t expiry_timer_ = 0;
};

std::vector<Interface*> interfaces();            // lo first, then ethN in order
Interface* interface_by_name(std::string_view name);
Interface* interface_by_index(int index);
void register_interface(Interface* dev);         // at boot

// IPv4 routes. lwIP routes to the subnets of its interfaces and sends everything else to one
// default gateway; that is the routing table here: connected routes (implicit, from the
// addresses) plus at most one default route.
struct Route {
  uint32_t dst = 0, mask = 0, gateway = 0;       // network byte order
  Interface* dev = nullptr;
  bool is_default() const { return mask == 0; }
};
std::vector<Route> routes();                      // connected routes of up interfaces + default
// Sets the default route through `gateway` on `dev` (dev null: the interface whose subnet
// holds the gateway; -ENETUNREACH if none).
int64_t set_default_route(uint32_t gateway, Interface* dev);
int64_t delete_default_route();                   // -ESRCH if there is none

}  // namespace um::kernel::net
