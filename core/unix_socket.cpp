#include "core/unix_socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

namespace um::unix_socket {

Result<sockaddr_un> path_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path)
    return Error::make(ENAMETOOLONG, "socket path '" + path + "' is empty or longer than 107 bytes");
  memcpy(a.sun_path, path.data(), path.size());
  return a;
}

sockaddr_un abstract_address(const std::string& name) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path + 1, name.data(), std::min(name.size(), sizeof a.sun_path - 1));
  return a;
}

static bool is_abstract(const sockaddr_un& a) { return a.sun_path[0] == 0; }

Result<UniqueFd> bind(int type, const sockaddr_un& addr, bool nonblocking) {
  UniqueFd fd(socket(AF_UNIX, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0));
  if (!fd) return Error::from_errno("socket");
  socklen_t len = is_abstract(addr) ? sizeof addr
                                    : offsetof(sockaddr_un, sun_path) + strlen(addr.sun_path) + 1;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) == 0) return fd;
  if (errno != EADDRINUSE || is_abstract(addr))
    return Error::from_errno(std::string("cannot bind ") + (is_abstract(addr) ? "abstract socket" : addr.sun_path));
  // A leftover socket file: replace it only if nobody answers on it.
  UniqueFd probe(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (probe && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), len) == 0)
    return Error::make(EADDRINUSE, std::string("socket ") + addr.sun_path + " is in use");
  struct stat st;
  if (lstat(addr.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(addr.sun_path);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0)
    return Error::from_errno(std::string("cannot bind ") + addr.sun_path);
  return fd;
}

Result<UniqueFd> listen_stream(const std::string& path, int backlog) {
  auto addr = UM_TRY(path_address(path));
  auto fd = UM_TRY(bind(SOCK_STREAM, addr));
  if (::listen(fd.get(), backlog) != 0) return Error::from_errno("listen on " + path);
  return fd;
}

Result<UniqueFd> connect(int type, const std::string& path) {
  auto addr = UM_TRY(path_address(path));
  UniqueFd fd(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return Error::from_errno("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return Error::from_errno("cannot connect to " + path);
  return fd;
}

Status set_timeouts(int fd, int millis) {
  timeval tv{millis / 1000, (millis % 1000) * 1000};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
    return Error::from_errno("setsockopt timeout");
  return {};
}

}  // namespace um::unix_socket
