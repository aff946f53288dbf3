#include "core/console/attach_client.h"

#include <poll.h>
#include <sys/socket.h>

#include "core/unix_socket.h"

namespace um::console {

namespace {
Status wait_for(int fd, short events, std::chrono::milliseconds timeout, const char* what) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = poll(&p, 1, static_cast<int>(timeout.count()));
    if (r > 0) return {};
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::from_errno("poll");
    return Error::make(ETIMEDOUT, std::string("timed out ") + what);
  }
}
}  // namespace

Result<UniqueFd> attach(const std::string& path, Mode mode, std::chrono::milliseconds timeout) {
  auto fd = unix_socket::connect(SOCK_STREAM, path);
  if (!fd) {
    int code = fd.error().code;
    if (code == ENOENT || code == ECONNREFUSED)
      return Error::make(code, "no console is served at " + path +
                                   (code == ENOENT ? "" : " (stale socket: the VM is gone?)"));
    return std::move(fd).error();
  }
  UM_TRY(write_all(fd->get(), encode_hello(mode), timeout));
  std::string line;
  while (line.size() <= kMaxHelloLine) {
    UM_TRY(wait_for(fd->get(), POLLIN, timeout, ("waiting for the console at " + path).c_str()));
    char c;
    ssize_t n = recv(fd->get(), &c, 1, 0);  // byte by byte: the output after the line is not ours
    if (n == 0) return Error::make(ECONNRESET, "the console at " + path + " closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("reading from " + path);
    }
    if (c == '\n') {
      UM_TRY(decode_answer(line));
      return std::move(fd.value());
    }
    line += c;
  }
  return Error::make(EPROTO, "the console at " + path + " does not speak the umconsole attach protocol");
}

Status write_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout) {
  while (!bytes.empty()) {
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) { bytes.remove_prefix(static_cast<size_t>(n)); continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      UM_TRY(wait_for(fd, POLLOUT, timeout, "sending to the console"));
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET) return Error::make(EPIPE, "the console connection was closed");
    return Error::from_errno("writing to the console");
  }
  return {};
}

}  // namespace um::console
