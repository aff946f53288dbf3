#include "umswitch/unix_port.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>

#include "core/unix_socket.h"

namespace um::sw {

using namespace um::switchproto;

namespace {

// Frames in flight per port. Unix datagrams are charged to the sender until read, so this
// bounds what one slow client can hold before its frames are dropped.
constexpr int kSendBuffer = 1 << 20;

sockaddr_un port_address() {
  static std::atomic<unsigned> counter{0};
  return unix_socket::abstract_address("umswitch." + std::to_string(getpid()) + "." +
                                       std::to_string(counter++));
}

// UML binds its abstract name with all 110 bytes; a client that bound a shorter abstract
// name (and zero padded what it registered) is reachable under the trimmed length.
Status connect_to_client(int fd, const sockaddr_un& client) {
  auto* sa = reinterpret_cast<const sockaddr*>(&client);
  if (connect(fd, sa, address_length(client)) == 0) return {};
  int err = errno;
  if (is_abstract(client)) {
    size_t end = sizeof client.sun_path;
    while (end > 1 && client.sun_path[end - 1] == 0) --end;
    if (connect(fd, sa, offsetof(sockaddr_un, sun_path) + end) == 0) return {};
  }
  return Error::from_errno("cannot reach the client's data socket " + describe_address(client), err);
}

}  // namespace

UnixPort::UnixPort(int data_fd, UniqueFd control, const ConnectRequest& req)
    : DatagramPort(data_fd), control_(std::move(control)), client_(req.data_addr),
      version_(req.version), description_(req.description) {}

Result<std::unique_ptr<UnixPort>> UnixPort::create(UniqueFd control, const ConnectRequest& req) {
  sockaddr_un own = port_address();
  UniqueFd data = UM_TRY(unix_socket::bind(SOCK_DGRAM, own, /*nonblocking=*/true));
  setsockopt(data.get(), SOL_SOCKET, SO_SNDBUF, &kSendBuffer, sizeof kSendBuffer);
  UM_TRY(connect_to_client(data.get(), req.data_addr));
  ssize_t n = send(control.get(), &own, kAddrSize, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(kAddrSize)) return Error::from_errno("cannot reply to the client");
  return std::unique_ptr<UnixPort>(new UnixPort(data.release(), std::move(control), req));
}

std::string UnixPort::peer() const {
  std::string p = describe_address(client_);
  if (!description_.empty()) p += " (" + description_ + ")";
  return p;
}

}  // namespace um::sw
