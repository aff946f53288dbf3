// --nat: a user-mode NAT router (libslirp) attached to the switch as a port, addressed like
// QEMU's user networking: network 10.0.2.0/24, gateway 10.0.2.2 (also reaches the host's
// 127.0.0.1), DNS 10.0.2.3, DHCP leases from 10.0.2.15. Slirp runs in its own thread with its
// own poll loop; frames cross to the switch over a datagram socketpair, so to the engine the
// router is just another datagram port.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "umswitch/port.h"

namespace um::sw {

struct Forward {
  bool udp = false;
  std::string host_addr = "127.0.0.1";
  int host_port = 0;
  std::string guest_addr;
  int guest_port = 0;
};

// "tcp:HOSTPORT:GUESTIP:GUESTPORT" or "tcp|udp:HOSTADDR:HOSTPORT:GUESTIP:GUESTPORT".
Result<Forward> parse_forward(const std::string& spec);

class NatRouter;

class NatPort : public DatagramPort {
 public:
  static Result<std::unique_ptr<NatPort>> start(const std::vector<Forward>& forwards);
  ~NatPort() override;
  const char* kind() const override { return "nat"; }
  std::string peer() const override { return "slirp 10.0.2.2/24"; }

 private:
  NatPort(int fd, std::unique_ptr<NatRouter> router);
  std::unique_ptr<NatRouter> router_;
};

}  // namespace um::sw
