#include "core/mconsole/exec_client.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/mconsole/client.h"
#include "core/unix_socket.h"

namespace um::mconsole::exec {
namespace {

Status write_fd(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("writing the command's output");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// The input side is buffered and sent when the socket takes it, so that a VM that is slow to
// consume stdin never stops us from reading the command's output.
constexpr size_t kMaxPendingInput = 256 * 1024;

}  // namespace

Result<ExitStatus> run(const std::string& mconsole_socket, const ClientOptions& o) {
  if (o.argv.empty()) return Error::make(EINVAL, "no command given");
  auto reply = UM_TRY(call(mconsole_socket, kCommand, o.timeout));
  if (reply.error) {
    if (reply.text == "Unknown command")
      return Error::make(ENOTSUP, "this VM does not support exec (a UML kernel has no um-exec)");
    return Error::make(EIO, "um-exec: " + reply.text);
  }
  std::string path = UM_TRY(parse_reply(reply.text));
  UniqueFd conn = UM_TRY(unix_socket::connect(SOCK_STREAM, path));

  std::string out;  // frames not yet sent
  if (!o.env.empty()) out += encode_frame(FrameType::Env, encode_strings(o.env));
  if (!o.cwd.empty()) out += encode_frame(FrameType::Cwd, o.cwd);
  out += encode_frame(FrameType::Argv, encode_strings(o.argv));
  bool stdin_open = o.stdin_fd >= 0;
  bool send_closed = false;  // the VM stopped reading: it ended the session (Exit/Failed follow)
  if (!stdin_open) out += encode_frame(FrameType::StdinEof, "");

  FrameDecoder decoder;
  for (;;) {
    pollfd p[3] = {{conn.get(), static_cast<short>(POLLIN | (out.empty() || send_closed ? 0 : POLLOUT)), 0},
                   {o.signal_fd, POLLIN, 0},
                   {stdin_open && out.size() < kMaxPendingInput ? o.stdin_fd : -1, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("poll");
    }
    if (p[0].revents & POLLOUT) {
      ssize_t n = send(conn.get(), out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        out.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        // The VM closes right after Exit/Failed, possibly before reading all we sent (stdin):
        // those frames are still in our receive queue, so keep reading instead of failing.
        send_closed = true;
        stdin_open = false;
        out.clear();
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = recv(conn.get(), buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Error::make(ECONNRESET, "the VM closed the exec connection before the command ended");
      decoder.feed(std::string_view(buf, static_cast<size_t>(n)));
      for (;;) {
        auto f = UM_TRY(decoder.next());
        if (!f) break;
        switch (f->type) {
          case FrameType::Started: break;
          case FrameType::Stdout: UM_TRY(write_fd(o.stdout_fd, f->payload)); break;
          case FrameType::Stderr: UM_TRY(write_fd(o.stderr_fd, f->payload)); break;
          case FrameType::Exit: return decode_exit(f->payload);
          case FrameType::Failed: return Error::make(ENOEXEC, "cannot run '" + o.argv[0] + "': " + f->payload);
          default: return Error::make(EPROTO, "um-exec: unexpected frame from the VM");
        }
      }
    }
    if (p[1].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(o.signal_fd, &si, sizeof si) == sizeof si)
        out += encode_frame(FrameType::Signal, encode_u32(si.ssi_signo));
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = read(o.stdin_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        out += encode_frame(FrameType::Stdin, std::string_view(buf, static_cast<size_t>(n)));
      } else {
        stdin_open = false;
        out += encode_frame(FrameType::StdinEof, "");
      }
    }
  }
}

}  // namespace um::mconsole::exec
