#include "core/mconsole/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstddef>

#include "core/mconsole/protocol.h"
#include "core/rundir.h"
#include "core/unix_socket.h"
#include "core/unique_fd.h"

namespace um::mconsole {
namespace {

bool is_socket(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// A datagram socket with a kernel-chosen unique abstract address (autobind), so the server
// can reply to us, connected to the server so that every reply packet is delivered.
Result<UniqueFd> open_connected(const std::string& socket_path) {
  auto addr = UM_TRY(unix_socket::path_address(socket_path));
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::from_errno("socket");
  sockaddr_un autobind{};
  autobind.sun_family = AF_UNIX;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&autobind), sizeof(sa_family_t)) != 0)
    return Error::from_errno("cannot bind the mconsole client socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == ECONNREFUSED)
      return Error::make(err, "nobody is listening on " + socket_path + " (the VM is gone?)");
    if (err == ENOENT) return Error::make(err, "no mconsole socket at " + socket_path);
    return Error::from_errno("cannot connect to " + socket_path, err);
  }
  return fd;
}

Result<std::string> receive(int fd, std::chrono::milliseconds timeout, const std::string& path) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int r = poll(&p, 1, static_cast<int>(timeout.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::from_errno("poll");
    if (r == 0)
      return Error::make(ETIMEDOUT, "no reply from " + path + " within " +
                                        std::to_string(timeout.count()) + " ms");
    break;
  }
  char buf[8192];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0) {
    if (errno == ECONNREFUSED) return Error::make(ECONNREFUSED, "the VM went away before replying");
    return Error::from_errno("receiving from " + path);
  }
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

Result<Reply> call(const std::string& socket_path, const std::string& command,
                   std::chrono::milliseconds timeout) {
  std::string request = UM_TRY(encode_request(command));
  UniqueFd fd = UM_TRY(open_connected(socket_path));
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0)
    return Error::from_errno("cannot send to " + socket_path);
  Reply reply;
  for (bool first = true;; first = false) {
    std::string datagram = UM_TRY(receive(fd.get(), timeout, socket_path));
    auto packet = decode_reply_packet(datagram);
    if (!packet) {
      // A server that took us for a version-0 client answers in bare text.
      if (first && datagram.starts_with("ERR ")) return Reply{true, datagram.substr(4)};
      return Error::make(EPROTO, socket_path + " sent a malformed reply (not an mconsole?)");
    }
    if (first) reply.error = packet->error;
    reply.text += packet->text;
    if (!packet->more) return reply;
  }
}

std::vector<std::string> candidate_sockets(const std::string& name) {
  std::vector<std::string> c;
  if (rundir::validate_umid(name).ok()) {
    c.push_back(rundir::mconsole_path(name));
    c.push_back("/tmp/uml/" + name + "/mconsole");
  }
  c.push_back(name + "/mconsole");
  c.push_back(name);
  return c;
}

Result<std::string> resolve_socket(const std::string& name) {
  if (name.empty()) return Error::make(EINVAL, "empty VM name");
  auto candidates = candidate_sockets(name);
  for (const auto& path : candidates)
    if (is_socket(path)) return path;
  std::string tried;
  for (const auto& path : candidates) tried += (tried.empty() ? "" : ", ") + path;
  return Error::make(ENOENT, "no VM named '" + name + "' (no mconsole socket at " + tried + ")");
}

}  // namespace um::mconsole
