#include "core/switchproto/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "core/switchproto/switchproto.h"
#include "core/unix_socket.h"

namespace um::switchproto {

namespace {

template <class T>
std::vector<uint8_t> bytes_of(const T& t) {
  auto* p = reinterpret_cast<const uint8_t*>(&t);
  return {p, p + sizeof t};
}

std::vector<uint8_t> encode(uint32_t version, const sockaddr_un& addr) {
  if (version == 1) {
    RequestV1 r{};
    r.magic = kMagic;
    r.type = kReqNewControl;
    r.sock = addr;
    return bytes_of(r);
  }
  if (version == 0) {
    RequestV0 r{};
    r.type = kReqNewControl;
    r.sock = addr;
    return bytes_of(r);
  }
  return encode_request_v3(addr);
}

}  // namespace

Result<SwitchConnection> connect_to_switch(const std::string& ctl_path, const ConnectOptions& o) {
  if (o.version != 0 && o.version != 1 && o.version != 3)
    return Error::make(EINVAL, "request version must be 0, 1 or 3");
  static std::atomic<unsigned> counter{0};
  SwitchConnection c;
  std::string name = o.name.empty() ? "um." + std::to_string(getpid()) + "." + std::to_string(counter++) : o.name;
  c.local = unix_socket::abstract_address(name);
  c.data = UM_TRY(unix_socket::bind(SOCK_DGRAM, c.local));
  c.control = UM_TRY(unix_socket::connect(SOCK_STREAM, ctl_path));
  std::vector<uint8_t> req = encode(o.version, c.local);
  if (send(c.control.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return Error::from_errno("cannot send the request to " + ctl_path);
  size_t got = 0;
  while (got < kAddrSize) {
    pollfd p{c.control.get(), POLLIN, 0};
    int r = poll(&p, 1, o.timeout_ms);
    if (r == 0) return Error::make(ETIMEDOUT, "no reply from the switch at " + ctl_path);
    if (r < 0 && errno == EINTR) continue;
    ssize_t n = recv(c.control.get(), reinterpret_cast<char*>(&c.remote) + got, kAddrSize - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("reading the switch's reply");
    if (n == 0) return Error::make(ECONNREFUSED, "the switch at " + ctl_path + " refused the port");
    got += static_cast<size_t>(n);
  }
  if (c.remote.sun_family != AF_UNIX) return Error::make(EPROTO, "malformed reply from the switch");
  if (connect(c.data.get(), reinterpret_cast<const sockaddr*>(&c.remote), address_length(c.remote)) != 0)
    return Error::from_errno("cannot connect to the switch's data socket " + describe_address(c.remote));
  return c;
}

}  // namespace um::switchproto
