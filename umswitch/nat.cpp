#include "umswitch/nat.h"

#include <fcntl.h>

namespace um::sw {

NatPort::NatPort(int fd, std::unique_ptr<nat::NatRouter> router)
    : DatagramPort(fd), router_(std::move(router)) {}

Result<std::unique_ptr<NatPort>> NatPort::start(const nat::NatOptions& options) {
  auto router = UM_TRY(nat::NatRouter::start(options));
  // DatagramPort closes its descriptor, the router closes frame_fd(): the port gets a copy.
  int fd = fcntl(router->frame_fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Error::from_errno("cannot attach the NAT router");
  return std::unique_ptr<NatPort>(new NatPort(fd, std::move(router)));
}

}  // namespace um::sw
