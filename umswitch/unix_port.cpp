#include "umswitch/unix_port.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <set>

#include "core/unix_socket.h"

namespace um::sw {

using namespace um::switchproto;

namespace {

// Frames in flight per port. Unix datagrams are charged to the sender until read, so this
// bounds what one slow client can hold before its frames are dropped.
constexpr int kSendBuffer = 1 << 20;

// The switch's own port addresses: a client naming one of them as its data address would make
// two ports talk to each other (one broadcast then loops forever).
std::set<std::string>& own_addresses() {
  static std::set<std::string> s;
  return s;
}

std::string address_key(const sockaddr_un& a) {
  size_t end = sizeof a.sun_path;
  while (end > 1 && a.sun_path[end - 1] == 0) --end;  // abstract names are zero padded
  return std::string(a.sun_path, end);
}

// An unpredictable name: a client cannot name a port before it exists.
sockaddr_un port_address() {
  uint8_t bytes[12];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    static std::atomic<uint64_t> counter{0};  // never expected; still unique
    uint64_t c = counter++ ^ static_cast<uint64_t>(getpid()) << 32;
    memcpy(bytes, &c, sizeof c);
  }
  char hex[2 * sizeof bytes + 1];
  for (size_t i = 0; i < sizeof bytes; i++) snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return unix_socket::abstract_address(std::string("umswitch.") + hex);
}

// Refuses data addresses that are not the client's to give: the switch's own ports, and a
// pathname socket owned by another user than the one on the control connection (a VM's
// mconsole socket, say). Stream sockets (the control and management sockets) are refused by
// connect() itself (EPROTOTYPE): they are not datagram peers.
Status check_data_address(int control_fd, const sockaddr_un& addr) {
  if (own_addresses().count(address_key(addr)))
    return Error::make(EINVAL, "the data address " + describe_address(addr) + " is one of the switch's own ports");
  ucred cred{};
  socklen_t len = sizeof cred;
  if (is_abstract(addr) || getsockopt(control_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid == 0)
    return {};
  std::string path(addr.sun_path, strnlen(addr.sun_path, sizeof addr.sun_path));
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && st.st_uid != cred.uid)
    return Error::make(EPERM, "the data socket " + path + " belongs to uid " + std::to_string(st.st_uid) +
                                  ", not to the client (uid " + std::to_string(cred.uid) + ")");
  return {};
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
  UM_TRY(check_data_address(control.get(), req.data_addr));
  sockaddr_un own = port_address();
  UniqueFd data = UM_TRY(unix_socket::bind(SOCK_DGRAM, own, /*nonblocking=*/true));
  setsockopt(data.get(), SOL_SOCKET, SO_SNDBUF, &kSendBuffer, sizeof kSendBuffer);
  UM_TRY(connect_to_client(data.get(), req.data_addr));
  ssize_t n = send(control.get(), &own, kAddrSize, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(kAddrSize)) return Error::from_errno("cannot reply to the client");
  auto port = std::unique_ptr<UnixPort>(new UnixPort(data.release(), std::move(control), req));
  port->own_ = own;
  own_addresses().insert(address_key(own));
  return port;
}

UnixPort::~UnixPort() { own_addresses().erase(address_key(own_)); }

std::string UnixPort::peer() const {
  std::string p = describe_address(client_);
  if (!description_.empty()) p += " (" + description_ + ")";
  return p;
}

}  // namespace um::sw
