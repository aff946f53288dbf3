// --nat: the shared NAT router (core/nat: libslirp in its own thread) attached to the switch
// as a port. Frames cross over the router's datagram socketpair, so to the engine the router
// is just another datagram port.
#pragma once
#include <memory>
#include <string>

#include "core/error.h"
#include "core/nat/nat_router.h"
#include "umswitch/port.h"

namespace um::sw {

class NatPort : public DatagramPort {
 public:
  static Result<std::unique_ptr<NatPort>> start(const nat::NatOptions& options);
  const char* kind() const override { return "nat"; }
  std::string peer() const override { return "slirp 10.0.2.2/24"; }

 private:
  NatPort(int fd, std::unique_ptr<nat::NatRouter> router);
  std::unique_ptr<nat::NatRouter> router_;
};

}  // namespace um::sw
