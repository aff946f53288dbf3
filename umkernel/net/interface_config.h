// What the interface ioctls (interface_ioctl.cpp, which implements it) and rtnetlink
// (socket/netlink/) share: the interface flags as Linux reports and changes them, and route
// changes as Linux's FIB answers them. Everything here is called under the StackLock.
#pragma once
#include <cstdint>
#include <vector>

#include "umkernel/net/interface.h"

namespace um::kernel::net {

// Linux's default txqueuelen for lo and Ethernet devices (reported; there is no queue here).
constexpr int kTxQueueLen = 1000;

// ARPHRD_ETHER or ARPHRD_LOOPBACK: the device's hardware type.
uint16_t link_type(Interface& dev);

// Linux's dev_get_flags(): the device's flags (Interface::flags) plus the settable flags that
// change nothing here but are kept and reported (IFF_DEBUG, IFF_ALLMULTI...).
unsigned link_flags(Interface& dev);

// Linux's dev_change_flags(): IFF_UP brings the interface up or down; the flags Linux lets
// anyone set are kept; the device's own flags (IFF_RUNNING, IFF_LOOPBACK...) are ignored.
// -EOPNOTSUPP for a change this stack cannot make (IFF_PROMISC, IFF_NOARP, IFF_MULTICAST).
int64_t change_link_flags(Interface& dev, unsigned flags);

// The main table as Linux shows it: connected routes of up interfaces other than lo (Linux
// keeps 127.0.0.0/8 in the local table) and the default route, default first.
std::vector<Route> main_routes();

// A route to add or delete (SIOCADDRT/SIOCDELRT, RTM_NEWROUTE/RTM_DELROUTE).
struct RouteChange {
  uint32_t dst = 0, mask = 0, gateway = 0;  // network byte order; gateway 0: none
  Interface* dev = nullptr;                  // null: not given
  int priority = 0;                          // metric
  bool exclusive = false;                    // NLM_F_EXCL: an existing equal route is EEXIST
  bool replace = false;                      // NLM_F_REPLACE
};
// 0 or -errno as Linux's fib_table_insert/fib_table_delete would answer, within what lwIP
// routes: connected subnets (implied by the addresses) and one default gateway.
int64_t add_route(const RouteChange& r);
int64_t delete_route(const RouteChange& r);

}  // namespace um::kernel::net
