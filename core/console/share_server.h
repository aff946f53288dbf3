// A console shared by any number of clients, for the consoles umkernel exposes as sockets:
//   * listen_unix(path): the attach protocol of attach_protocol.h, at rundir::console_path(umid, N)
//     (conN) or rundir::serial_path(umid, N) (sslN). `umconsole attach/send/log` speak it.
//   * listen_tcp(port): `port:PORT` consoles, raw bytes with basic telnet on 127.0.0.1:PORT.
// Every reading client sees all output; every rw client may type (bytes go to on_input); a new
// client first gets the scrollback. Slow or vanished clients are dropped, never waited for.
//
// Embedding (no threads; the kernel's epoll loop drives it):
//   auto con = UM_TRY(console::ShareServer::listen_unix(rundir::console_path(umid, 1), {},
//                     {.on_input = [&](std::string_view b) { tty1.receive(b); },
//                      .on_window_size = [&](uint16_t r, uint16_t c) { tty1.set_winsize(r, c); }}));
//   epoll_ctl(kernel_epoll, EPOLL_CTL_ADD, con->fd(), {EPOLLIN});   // one stable fd
//   on EPOLLIN of con->fd():  con->on_readable();
//   guest writes to the tty:  con->write_output(bytes);
// Callbacks may call write_output (echo) but must not destroy the server.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/console/attach_protocol.h"
#include "core/console/scrollback.h"
#include "core/error.h"
#include "core/unique_fd.h"

namespace um::console {

struct ShareOptions {
  size_t scrollback_bytes = 64 * 1024;
  // Output a client may lag behind before it is dropped; at least scrollback + 64 KiB.
  size_t client_queue_bytes = 256 * 1024;
  size_t max_clients = 32;
};

struct ShareCallbacks {
  std::function<void(std::string_view bytes)> on_input;
  std::function<void(uint16_t rows, uint16_t cols)> on_window_size;
};

class ShareServer {
 public:
  static Result<std::unique_ptr<ShareServer>> listen_unix(const std::string& path, ShareOptions options,
                                                          ShareCallbacks callbacks);
  // 127.0.0.1:port only (never all interfaces, unlike UML's port: channel). port 0 = any free
  // port, see tcp_port().
  static Result<std::unique_ptr<ShareServer>> listen_tcp(uint16_t port, ShareOptions options,
                                                         ShareCallbacks callbacks);
  ~ShareServer();  // closes every client; removes the unix socket file

  // One stable descriptor (an epoll set of our own) for the kernel's epoll set, EPOLLIN.
  int fd() const { return epoll_.get(); }
  void on_readable();
  // The same, for loops that register a list of fds.
  std::vector<int> fds() const { return {fd()}; }
  void on_event(int /*fd*/, uint32_t /*events*/) { on_readable(); }

  // Console output: kept in the scrollback and sent to every reading client.
  void write_output(std::string_view bytes);

  size_t client_count() const { return clients_.size(); }
  const Scrollback& scrollback() const { return scrollback_; }
  const std::string& unix_path() const { return unix_path_; }
  uint16_t tcp_port() const { return tcp_port_; }

 private:
  enum class Transport { Unix, Telnet };
  struct Client;

  ShareServer(Transport t, UniqueFd listener, UniqueFd epoll, ShareOptions o, ShareCallbacks c);
  void accept_clients();
  void on_client_event(int fd, uint32_t events);
  void handle_client_bytes(Client& c, std::string_view bytes);
  void start_output(Client& c);
  // Queues (or sends) bytes; false when the client must be dropped.
  bool send_to(Client& c, std::string_view bytes);
  bool flush(Client& c);
  void update_interest(Client& c);
  void drop(int fd);

  Transport transport_;
  UniqueFd listener_;
  UniqueFd epoll_;
  ShareOptions options_;
  ShareCallbacks callbacks_;
  Scrollback scrollback_;
  std::map<int, std::unique_ptr<Client>> clients_;
  std::vector<int> doomed_;  // clients to drop once the current event is handled
  bool in_event_ = false;
  std::string unix_path_;
  uint16_t tcp_port_ = 0;
};

// `file:PATH` consoles: output appended to a host file (created 0600 if missing). Writes are
// synchronous (regular files); after a write error the log stops and warns once.
class FileLog {
 public:
  static Result<FileLog> open(const std::string& path);
  void write_output(std::string_view bytes);
  const std::string& path() const { return path_; }

 private:
  FileLog(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace um::console
