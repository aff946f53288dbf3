// mconsole server for umkernel: owns the SOCK_DGRAM socket at rundir::mconsole_path(umid),
// parses requests exactly as UML does (spec §2.2) and dispatches them by prefix to handlers
// the kernel registers. Never blocks: replies that cannot be sent now (a client's receive
// queue is full) are queued, retried from a timer, and dropped after a bounded time/size.
//
// Clients that never read cannot starve the others. A reply datagram stays charged to the
// server socket's send buffer until its client reads it (Linux's AF_UNIX accounting), so a
// crowd of such clients could fill that buffer and every send would fail. Each client may
// have at most Options::max_peer_queued_bytes waiting here (more: its replies are dropped);
// and when the socket's budget is held by unread replies (3/4 full, and nothing read from it
// for Options::stall_time), the socket is renewed: a fresh one
// is bound and renamed over the path, and the old one (with the memory its unread replies
// hold) is closed. Clients that connect()ed to the old socket must reconnect (umconsole and
// uml_mconsole open a socket per session anyway).
//
// Handlers and ReplySinks may outlive the request; do not destroy the Server from inside a
// handler. Embedding (no threads):
//   auto srv = UM_TRY(mconsole::Server::open(rundir::mconsole_path(umid)));
//   srv->add_command("version", [](const std::string& args, mconsole::ReplyPtr r) {
//     r->write(uname_text); });                       // finishes when r is released
//   srv->add_command("sysrq", [&](const std::string& args, mconsole::ReplyPtr r) {
//     pending_sysrq = r; ... later: r->write(chunk); ...; r->finish(); });
//   epoll_ctl(kernel_epoll, EPOLL_CTL_ADD, srv->fd(), {EPOLLIN})   // one stable fd
//   on EPOLLIN of srv->fd():  srv->on_readable();
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace um::mconsole {

class Outbox;

// Where a handler writes its reply. Text is sent in packets of 511 bytes as it accumulates
// (so long or late output streams out); finish() sends the rest with more=0. The reply is
// finished automatically when the last ReplyPtr goes away, so a client is never left waiting.
// Safe to keep after the Server is gone (writes are then dropped).
class ReplySink {
 public:
  ReplySink(std::weak_ptr<Outbox> outbox, const sockaddr_un& peer, socklen_t peer_len);
  ~ReplySink();
  ReplySink(const ReplySink&) = delete;
  ReplySink& operator=(const ReplySink&) = delete;

  // Marks the reply as an error. Only effective before the first packet went out (the
  // protocol carries err on the first packet only).
  void set_error();
  void write(std::string_view text);
  // Sends what is buffered now (more=1) instead of waiting for a full packet: for output
  // that trickles in (sysrq), so the client sees it promptly.
  void flush();
  void finish();
  // set_error + write + finish.
  void fail(std::string_view message);
  bool finished() const { return finished_; }

 private:
  void send_packet(std::string_view text, bool more);

  std::weak_ptr<Outbox> outbox_;
  sockaddr_un peer_;
  socklen_t peer_len_;
  std::string buffer_;
  bool error_ = false;
  bool started_ = false;
  bool finished_ = false;
};
using ReplyPtr = std::shared_ptr<ReplySink>;

// args: the request text after the command name, leading blanks removed
// ("sysrq m" → "m"; "config ubd1=x" → "ubd1=x").
using Handler = std::function<void(const std::string& args, ReplyPtr reply)>;

class Server {
 public:
  struct Options {
    size_t max_queued_bytes = 4 << 20;                   // all unsent reply packets together
    std::chrono::milliseconds max_queue_time{3000};      // per packet, then its client is dropped
    std::chrono::milliseconds retry_interval{10};
    size_t max_peer_queued_bytes = 1 << 20;              // one client's unsent packets
    size_t send_buffer_bytes = 4 << 20;                  // SO_SNDBUF asked for (host caps it)
    std::chrono::milliseconds min_renew_interval{1000};  // between socket renewals
    // The send buffer counts as held by clients that do not read when it is 3/4 full and no
    // client has read anything from it for this long (a client reading a long reply keeps
    // reading, so it never triggers a renewal).
    std::chrono::milliseconds stall_time{2000};
  };

  static Result<std::unique_ptr<Server>> open(const std::string& socket_path);
  static Result<std::unique_ptr<Server>> open(const std::string& socket_path, Options options);
  ~Server();  // unlinks the socket file

  // Commands are matched by prefix in registration order, as UML does ("versionx" runs
  // "version"), so register longer names sharing a prefix first. A later add_command with the
  // same name replaces the handler.
  void add_command(std::string name, Handler handler);

  // One stable descriptor for the kernel's epoll set (EPOLLIN); internally an epoll set of
  // the socket and a retry timer.
  int fd() const { return epoll_.get(); }
  // Reads all waiting requests, runs handlers, retries queued replies. Never blocks.
  void on_readable();

  const std::string& path() const { return path_; }
  size_t queued_packets() const;
  // How often the socket was renewed because unread replies held its send buffer.
  uint64_t renewals() const { return renewals_; }
  // The bound socket (e.g. for mconsole=notify: "socket" announcements).
  int socket_fd() const;

 private:
  Server(std::string path, UniqueFd epoll, std::shared_ptr<Outbox> outbox);
  void handle_datagram(std::string_view datagram, const sockaddr_un& peer, socklen_t peer_len);
  void dispatch(const std::string& command, const ReplyPtr& reply);
  void read_requests(int sock, int max);
  void renew_socket();

  struct Command {
    std::string name;
    Handler handler;
  };
  std::string path_;
  UniqueFd epoll_;
  std::shared_ptr<Outbox> outbox_;
  std::vector<Command> commands_;
  Options options_;
  uint64_t renewals_ = 0;
  std::chrono::steady_clock::time_point last_renewal_{};
};

}  // namespace um::mconsole
