// Small helpers over AF_UNIX sockets (pathname and abstract), used by the mconsole, the
// console sockets and the switch. All descriptors are O_CLOEXEC.
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace um::unix_socket {

// A pathname address; fails with ENAMETOOLONG past 107 bytes.
Result<sockaddr_un> path_address(const std::string& path);
// An abstract address: sun_path[0] = 0 followed by `name` (zero padded to all 108 bytes, as
// UML does, so the address length is always sizeof(sockaddr_un)).
sockaddr_un abstract_address(const std::string& name);

// socket + bind. For pathname addresses a stale socket file (nobody listening) is replaced.
Result<UniqueFd> bind(int type, const sockaddr_un& addr, bool nonblocking = false);
Result<UniqueFd> listen_stream(const std::string& path, int backlog = 16);
Result<UniqueFd> connect(int type, const std::string& path);
// Sets SO_RCVTIMEO/SO_SNDTIMEO.
Status set_timeouts(int fd, int millis);

}  // namespace um::unix_socket
