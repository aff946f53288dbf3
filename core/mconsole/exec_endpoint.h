// The kernel's side of one um-exec session (protocol in exec_protocol.h): the one-shot
// listening socket, frame decoding and non-blocking output. No threads.
//
//   server.add_command(exec::kCommand, [&](const std::string&, mconsole::ReplyPtr r) {
//     auto ep = exec::ExecEndpoint::listen_in(rundir::vm_dir(umid), callbacks_for_new_session);
//     if (!ep) return r->fail(ep.error().message);
//     r->write(exec::make_reply((*ep)->path()));
//     add (*ep)->fd() to epoll (EPOLLIN); keep the endpoint; on EPOLLIN call on_readable();
//   });
//   callbacks: on_start(req) → start req.argv in the guest, then send_started(pid) or
//   send_failed(why); guest output → send_stdout/send_stderr (stop reading the guest's pipes
//   while queued_bytes() > kHighWater); on exit → send_exit(status). Destroy when finished()
//   (checked after on_readable()/send_*; never from inside a callback).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mconsole/exec_protocol.h"
#include "core/unique_fd.h"

namespace um::mconsole::exec {

struct ExecRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // NAME=VALUE additions
  std::string cwd;               // empty = the default
};

struct EndpointCallbacks {
  std::function<void(const ExecRequest&)> on_start;
  std::function<void(std::string_view)> on_stdin;
  std::function<void()> on_stdin_eof;
  std::function<void(int signal)> on_signal;
  // The client went away (or broke the protocol, or never connected) before Exit/Failed was
  // sent: stop the command (SIGHUP) and drop the endpoint.
  std::function<void()> on_disconnect;
};

class ExecEndpoint {
 public:
  static inline constexpr size_t kHighWater = 256 * 1024;  // pause guest output above this
  static inline constexpr size_t kHardLimit = 8 << 20;     // client hopelessly behind: disconnect

  // Listens at <dir>/exec-<pid>-<n>. The client must connect within accept_timeout and then
  // send its command within accept_timeout again, else the session ends.
  static Result<std::unique_ptr<ExecEndpoint>> listen_in(
      const std::string& dir, EndpointCallbacks callbacks,
      std::chrono::milliseconds accept_timeout = std::chrono::seconds(10));
  ~ExecEndpoint();

  int fd() const { return epoll_.get(); }  // one stable fd for the kernel's epoll set (EPOLLIN)
  void on_readable();
  const std::string& path() const { return path_; }

  void send_started(int guest_pid);
  void send_stdout(std::string_view bytes);
  void send_stderr(std::string_view bytes);
  void send_exit(ExitStatus status);  // last frame
  void send_failed(std::string_view why);  // last frame
  size_t queued_bytes() const { return out_.size() - out_off_; }
  // Nothing more will happen: the session ended (normally, by disconnect or by timeout).
  bool finished() const { return finished_; }

 private:
  ExecEndpoint(std::string path, UniqueFd listener, UniqueFd timer, UniqueFd epoll, EndpointCallbacks cb);
  void accept_client();
  void read_client();
  void handle(const Frame& f);
  void queue(FrameType type, std::string_view payload);
  void flush();
  void watch_writable(bool on);
  void disconnect();  // client lost before the end
  void close_listener();
  void stop_timer();

  std::string path_;
  UniqueFd listener_, timer_, epoll_, conn_;
  std::chrono::milliseconds timeout_{10000};  // to connect, then to send the command
  EndpointCallbacks cb_;
  FrameDecoder decoder_;
  ExecRequest request_;
  bool started_ = false;
  bool ending_ = false;     // Exit/Failed queued: close once flushed
  bool finished_ = false;
  bool watching_writable_ = false;
  std::string out_;
  size_t out_off_ = 0;
};

}  // namespace um::mconsole::exec
