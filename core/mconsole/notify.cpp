#include "core/mconsole/notify.h"

#include <sys/socket.h>

#include "core/unix_socket.h"
#include "core/unique_fd.h"

namespace um::mconsole {

Status send_notification(const std::string& listener_path, const Notification& n) {
  auto addr = UM_TRY(unix_socket::path_address(listener_path));
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error::from_errno("socket");
  std::string packet = encode_notification(n);
  if (sendto(fd.get(), packet.data(), packet.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
             sizeof addr) < 0)
    return Error::from_errno("mconsole notify to " + listener_path);
  return {};
}

}  // namespace um::mconsole
