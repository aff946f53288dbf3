#include "core/mconsole/exec_endpoint.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "core/log.h"
#include "core/unix_socket.h"

namespace um::mconsole::exec {

namespace {
Status add(int ep, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) return Error::from_errno("epoll_ctl");
  return {};
}
}  // namespace

ExecEndpoint::ExecEndpoint(std::string path, UniqueFd listener, UniqueFd timer, UniqueFd epoll,
                           EndpointCallbacks cb)
    : path_(std::move(path)), listener_(std::move(listener)), timer_(std::move(timer)),
      epoll_(std::move(epoll)), cb_(std::move(cb)) {}

ExecEndpoint::~ExecEndpoint() { close_listener(); }

Result<std::unique_ptr<ExecEndpoint>> ExecEndpoint::listen_in(const std::string& dir, EndpointCallbacks cb,
                                                              std::chrono::milliseconds accept_timeout) {
  static std::atomic<unsigned> counter{0};
  std::string path = dir + "/exec-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  auto listener = unix_socket::listen_stream(path, 1);
  if (!listener) return std::move(listener).error();
  // Only the VM's owner may run commands (the run directory is 0700 too). chmod, not umask:
  // umask is process-wide state.
  if (chmod(path.c_str(), 0600) != 0) {
    unlink(path.c_str());
    return Error::from_errno("chmod " + path);
  }
  UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
  if (!timer || !ep) return Error::from_errno("timerfd/epoll");
  itimerspec its{};
  its.it_value.tv_sec = accept_timeout.count() / 1000;
  its.it_value.tv_nsec = (accept_timeout.count() % 1000) * 1000000 + 1;
  timerfd_settime(timer.get(), 0, &its, nullptr);
  UM_TRY(add(ep.get(), listener->get(), EPOLLIN));
  UM_TRY(add(ep.get(), timer.get(), EPOLLIN));
  auto endpoint = std::unique_ptr<ExecEndpoint>(
      new ExecEndpoint(path, std::move(listener.value()), std::move(timer), std::move(ep), std::move(cb)));
  endpoint->timeout_ = accept_timeout;
  return endpoint;
}

void ExecEndpoint::close_listener() {
  if (!listener_) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
  listener_.reset();
  unlink(path_.c_str());
}

void ExecEndpoint::stop_timer() {
  if (!timer_) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, timer_.get(), nullptr);
  timer_.reset();
}

void ExecEndpoint::on_readable() {
  epoll_event events[4];
  int n = epoll_wait(epoll_.get(), events, 4, 0);
  for (int i = 0; i < n && !finished_; ++i) {
    int fd = events[i].data.fd;
    if (listener_ && fd == listener_.get()) {
      accept_client();
    } else if (timer_ && fd == timer_.get()) {
      if (listener_) UM_WARN("um-exec: nobody connected to %s in time", path_.c_str());
      else UM_WARN("um-exec: the client of %s sent no command in time", path_.c_str());
      close_listener();
      stop_timer();
      disconnect();
    } else if (conn_ && fd == conn_.get()) {
      if (events[i].events & EPOLLOUT) flush();
      if (!finished_ && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) read_client();
    }
  }
}

void ExecEndpoint::accept_client() {
  UniqueFd c(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!c) return;
  close_listener();  // one-shot
  conn_ = std::move(c);
  if (!add(epoll_.get(), conn_.get(), EPOLLIN | EPOLLRDHUP).ok()) return disconnect();
  // A client that connects and then sends nothing must not hold the session: it has the same
  // time again to send its command.
  itimerspec its{};
  its.it_value.tv_sec = timeout_.count() / 1000;
  its.it_value.tv_nsec = (timeout_.count() % 1000) * 1000000 + 1;
  if (timer_) timerfd_settime(timer_.get(), 0, &its, nullptr);
}

void ExecEndpoint::read_client() {
  char buf[16384];
  for (int round = 0; round < 16 && !finished_; ++round) {
    ssize_t n = recv(conn_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      if (ending_) finished_ = true;  // it read what it needed and left
      else disconnect();
      return;
    }
    decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    for (;;) {
      auto f = decoder_.next();
      if (!f) {
        UM_WARN("%s", f.error().message.c_str());
        disconnect();
        return;
      }
      if (!f->has_value()) break;
      handle(**f);
      if (finished_) return;
    }
  }
}

void ExecEndpoint::handle(const Frame& f) {
  switch (f.type) {
    case FrameType::Env:
      for (auto& e : decode_strings(f.payload)) request_.env.push_back(e);
      return;
    case FrameType::Cwd:
      request_.cwd = f.payload;
      return;
    case FrameType::Argv:
      if (started_) break;
      started_ = true;
      stop_timer();
      request_.argv = decode_strings(f.payload);
      if (request_.argv.empty() || request_.argv[0].empty()) {
        send_failed("empty command");
        return;
      }
      if (cb_.on_start) cb_.on_start(request_);
      return;
    case FrameType::Stdin:
      if (started_ && cb_.on_stdin) cb_.on_stdin(f.payload);
      return;
    case FrameType::StdinEof:
      if (started_ && cb_.on_stdin_eof) cb_.on_stdin_eof();
      return;
    case FrameType::Signal:
      if (auto sig = decode_u32(f.payload); sig && started_ && *sig > 0 && *sig < 65 && cb_.on_signal)
        cb_.on_signal(static_cast<int>(*sig));
      return;
    default:
      break;
  }
  UM_WARN("um-exec: unexpected frame %d from the client", static_cast<int>(f.type));
  disconnect();
}

void ExecEndpoint::send_started(int guest_pid) { queue(FrameType::Started, encode_u32(static_cast<uint32_t>(guest_pid))); }
void ExecEndpoint::send_stdout(std::string_view bytes) {
  for (size_t off = 0; off < bytes.size(); off += kMaxFramePayload)
    queue(FrameType::Stdout, bytes.substr(off, kMaxFramePayload));
}
void ExecEndpoint::send_stderr(std::string_view bytes) {
  for (size_t off = 0; off < bytes.size(); off += kMaxFramePayload)
    queue(FrameType::Stderr, bytes.substr(off, kMaxFramePayload));
}
void ExecEndpoint::send_exit(ExitStatus status) {
  queue(FrameType::Exit, encode_exit(status));
  ending_ = true;
  flush();
}
void ExecEndpoint::send_failed(std::string_view why) {
  queue(FrameType::Failed, why);
  ending_ = true;
  flush();
}

void ExecEndpoint::queue(FrameType type, std::string_view payload) {
  if (finished_ || ending_ || !conn_) return;
  if (queued_bytes() + payload.size() > kHardLimit) {
    UM_WARN("um-exec: the client does not read its output; disconnecting");
    disconnect();
    return;
  }
  out_ += encode_frame(type, payload);
  flush();
}

void ExecEndpoint::flush() {
  while (conn_ && queued_bytes() > 0) {
    ssize_t n = send(conn_.get(), out_.data() + out_off_, queued_bytes(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) { out_off_ += static_cast<size_t>(n); continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (ending_) finished_ = true;
    else disconnect();
    return;
  }
  if (out_off_ > 0 && out_off_ * 2 >= out_.size()) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
  if (ending_ && queued_bytes() == 0) {
    finished_ = true;
    if (conn_) {
      epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn_.get(), nullptr);
      conn_.reset();
    }
    return;
  }
  watch_writable(queued_bytes() > 0);
}

void ExecEndpoint::watch_writable(bool on) {
  if (!conn_ || on == watching_writable_) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? uint32_t{EPOLLOUT} : 0u);
  ev.data.fd = conn_.get();
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, conn_.get(), &ev) == 0) watching_writable_ = on;
}

void ExecEndpoint::disconnect() {
  if (finished_) return;
  finished_ = true;
  if (conn_) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn_.get(), nullptr);
    conn_.reset();
  }
  close_listener();
  if (cb_.on_disconnect) cb_.on_disconnect();
}

}  // namespace um::mconsole::exec
