#include "umswitch/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>
#include <unordered_map>

#include "core/cli.h"
#include "core/log.h"
#include "core/unix_socket.h"
#include "umswitch/engine.h"
#include "umswitch/mgmt.h"
#include "umswitch/tap_port.h"
#include "umswitch/vxlan.h"
#include "umswitch/unix_port.h"

namespace um::sw {

using namespace um::switchproto;

namespace {

constexpr int kRequestTimeoutSeconds = 5;  // a new connection must send its request by then
constexpr size_t kMaxPendingRequests = 128;
constexpr size_t kMaxMgmtRequest = 256;
constexpr size_t kMaxMgmtSessions = 32;
constexpr int kWarningsPerSecond = 5;  // garbage floods must not flood the log too

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

// What an epoll event belongs to.
struct Watch {
  enum Kind { ControlListen, MgmtListen, Signal, Tick, Request, PortData, PortControl, Mgmt } kind;
  int port = 0;                 // PortData / PortControl
  UniqueFd fd;                  // Request / Mgmt: the connection
  std::string buffer;           // Request: bytes so far; Mgmt: request, then the answer
  size_t sent = 0;              // Mgmt: answer bytes written
  bool answering = false;       // Mgmt: request read, answer being written
  uint64_t deadline = 0;        // Request
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions o)
      : opt_(std::move(o)),
        engine_({.hub = opt_.hub, .max_ports = opt_.max_ports, .mac_age_seconds = opt_.mac_age_seconds}) {}
  ~Daemon() { shutdown(); }

  Status setup();
  void run();

 private:
  uint64_t watch(int fd, uint32_t events, Watch w);
  void unwatch(uint64_t token, int fd);
  void dispatch(uint64_t token, uint32_t events);
  void accept_control();
  void accept_mgmt();
  void read_request(uint64_t token, Watch& w);
  Status add_port(std::unique_ptr<Port> port, int control_fd);
  void remove_port(int id, const char* why);
  void on_port_control(int id);
  void on_mgmt(uint64_t token, Watch& w, uint32_t events);
  void end_mgmt(uint64_t token, int fd);
  void on_tick();
  // Closes the connection of `kind` (Request or Mgmt) that has waited longest; false if none.
  bool evict_oldest(Watch::Kind kind);
  void shutdown();

  DaemonOptions opt_;
  Engine engine_;
  UniqueFd epoll_, control_, mgmt_, signal_, tick_;
  std::optional<PcapWriter> pcap_;
  std::unordered_map<uint64_t, Watch> watches_;
  struct PortWatches { uint64_t data = 0, control = 0; };
  std::unordered_map<int, PortWatches> port_watches_;
  uint64_t next_token_ = 1;
  size_t pending_requests_ = 0;
  size_t mgmt_sessions_ = 0;
  uint64_t warn_second_ = 0;
  int warnings_this_second_ = 0;
  uint64_t warnings_suppressed_ = 0;
  void warn_limited(const char* fmt, const std::string& arg);
  bool running_ = true;
  bool cleaned_up_ = false;
  bool wrote_pidfile_ = false;
};

uint64_t Daemon::watch(int fd, uint32_t events, Watch w) {
  uint64_t token = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    UM_ERROR("epoll_ctl: %s", strerror(errno));
    return 0;
  }
  watches_.emplace(token, std::move(w));
  return token;
}

void Daemon::unwatch(uint64_t token, int fd) {
  if (fd >= 0) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(token);
}

Status Daemon::setup() {
  epoll_ = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return Error::from_errno("epoll_create1");
  engine_.on_backlog_change([this](Port& p, bool want_writable) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want_writable ? uint32_t(EPOLLOUT) : 0u);
    ev.data.u64 = port_watches_[p.id].data;
    epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, p.data_fd(), &ev);
  });

  // Signals arrive through signalfd; block them before the NAT thread exists so it inherits
  // the mask and they always reach the loop.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_ = UniqueFd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_) return Error::from_errno("signalfd");
  watch(signal_.get(), EPOLLIN, {.kind = Watch::Signal});

  tick_ = UniqueFd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!tick_) return Error::from_errno("timerfd_create");
  itimerspec every_second{{1, 0}, {1, 0}};
  timerfd_settime(tick_.get(), 0, &every_second, nullptr);
  watch(tick_.get(), EPOLLIN, {.kind = Watch::Tick});

  control_ = UM_TRY(unix_socket::listen_stream(opt_.ctl_path, 128));
  fcntl(control_.get(), F_SETFL, O_NONBLOCK);
  watch(control_.get(), EPOLLIN, {.kind = Watch::ControlListen});
  auto mgmt = unix_socket::listen_stream(opt_.mgmt_path, 16);
  if (!mgmt) {
    unlink(opt_.ctl_path.c_str());
    return std::move(mgmt).error();
  }
  mgmt_ = std::move(mgmt).value();
  fcntl(mgmt_.get(), F_SETFL, O_NONBLOCK);
  watch(mgmt_.get(), EPOLLIN, {.kind = Watch::MgmtListen});

  // Only once the sockets are ours: a second instance must not truncate a running one's
  // capture or take its tap device.
  if (!opt_.pcap.empty()) {
    pcap_.emplace(UM_TRY(PcapWriter::open(opt_.pcap)));
    engine_.set_capture(&*pcap_);
  }
  if (!opt_.tap.empty()) UM_TRY(add_port(UM_TRY(TapPort::open(opt_.tap)), -1));
  if (opt_.nat) {
    nat::NatOptions nat_options{.forwards = opt_.forwards, .hostname = "umswitch", .restricted = opt_.nat_restricted};
    UM_TRY(add_port(UM_TRY(NatPort::start(nat_options)), -1));
  }
  std::string vxlan_peer;
  if (opt_.vxlan) {
    opt_.vxlan_options.mac_age_seconds = opt_.mac_age_seconds;
    auto port = UM_TRY(VxlanPort::open(opt_.vxlan_options));
    vxlan_peer = port->peer();
    UM_TRY(add_port(std::move(port), -1));
  }

  if (!opt_.pidfile.empty()) {
    FILE* f = fopen(opt_.pidfile.c_str(), "w");
    if (!f) return Error::from_errno("cannot write pid file " + opt_.pidfile);
    fprintf(f, "%d\n", getpid());
    fclose(f);
    wrote_pidfile_ = true;
  }
  printf("umswitch: control socket %s\n", opt_.ctl_path.c_str());
  printf("umswitch: management socket %s\n", opt_.mgmt_path.c_str());
  if (opt_.hub) printf("umswitch: hub mode\n");
  if (!opt_.tap.empty()) printf("umswitch: tap %s attached\n", opt_.tap.c_str());
  if (opt_.nat) printf("umswitch: NAT router 10.0.2.2, DHCP from 10.0.2.15, DNS 10.0.2.3\n");
  if (opt_.vxlan) printf("umswitch: vxlan %s\n", vxlan_peer.c_str());
  if (!opt_.pcap.empty()) printf("umswitch: capturing to %s\n", opt_.pcap.c_str());
  fflush(stdout);
  return {};
}

Status Daemon::add_port(std::unique_ptr<Port> port, int control_fd) {
  int data_fd = port->data_fd();
  std::string peer = port->peer();
  const char* kind = port->kind();
  Port* p = UM_TRY(engine_.add_port(std::move(port)));
  PortWatches pw;
  pw.data = watch(data_fd, EPOLLIN, {.kind = Watch::PortData, .port = p->id});
  if (control_fd >= 0) pw.control = watch(control_fd, EPOLLIN | EPOLLRDHUP, {.kind = Watch::PortControl, .port = p->id});
  port_watches_[p->id] = pw;
  UM_INFO("port %d: %s %s connected", p->id, kind, peer.c_str());
  return {};
}

void Daemon::remove_port(int id, const char* why) {
  Port* p = engine_.port(id);
  if (!p) return;
  UM_INFO("port %d: %s %s", id, p->peer().c_str(), why);
  auto pw = port_watches_[id];
  unwatch(pw.data, p->data_fd());
  if (auto* up = dynamic_cast<UnixPort*>(p)) unwatch(pw.control, up->control_fd());
  port_watches_.erase(id);
  engine_.remove_port(id);
}

void Daemon::warn_limited(const char* fmt, const std::string& arg) {
  uint64_t now = engine_.now();
  if (now != warn_second_) {
    if (warnings_suppressed_) UM_WARN("(%llu similar warnings suppressed)", (unsigned long long)warnings_suppressed_);
    warn_second_ = now;
    warnings_this_second_ = 0;
    warnings_suppressed_ = 0;
  }
  if (warnings_this_second_++ < kWarningsPerSecond) UM_WARN(fmt, arg.c_str());
  else ++warnings_suppressed_;
}

void Daemon::accept_control() {
  for (int i = 0; i < 16; ++i) {
    UniqueFd fd(accept4(control_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    if (pending_requests_ >= kMaxPendingRequests) {
      // Full of connections that have not sent their request: the one waiting longest goes,
      // so that a flood of idle connections cannot keep clients that do send out.
      if (!evict_oldest(Watch::Request)) continue;
      --pending_requests_;
      ++engine_.stats().bad_requests;
      warn_limited("control connection: %s pending, the oldest dropped for a new one",
                   std::to_string(kMaxPendingRequests));
    }
    int raw = fd.get();
    ++pending_requests_;
    watch(raw, EPOLLIN | EPOLLRDHUP,
          {.kind = Watch::Request, .fd = std::move(fd), .deadline = engine_.now() + kRequestTimeoutSeconds});
  }
}

void Daemon::read_request(uint64_t token, Watch& w) {
  char buf[kMaxRequestSize];
  size_t room = kMaxRequestSize - w.buffer.size();
  ssize_t n = recv(w.fd.get(), buf, room, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  auto drop = [&](const std::string& why) {
    if (!why.empty()) {
      ++engine_.stats().bad_requests;
      warn_limited("control connection: %s", why);
    }
    --pending_requests_;
    unwatch(token, w.fd.get());  // destroys w and closes the connection
  };
  if (n <= 0) return drop(w.buffer.empty() ? "" : "connection closed inside a request");
  w.buffer.append(buf, static_cast<size_t>(n));
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(w.buffer.data()), w.buffer.size());
  ParseResult r = parse_request(bytes);
  if (r.status == ParseStatus::NeedMore) {
    if (w.buffer.size() >= kMaxRequestSize) drop("request too long");
    return;
  }
  if (r.status == ParseStatus::Invalid) return drop(r.error);
  UniqueFd control = std::move(w.fd);
  int control_fd = control.get();
  drop("");
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, control_fd, nullptr);
  if (engine_.full()) {  // refuse before replying, so the client sees a failed connect
    ++engine_.stats().ports_refused;
    warn_limited("new port refused: all %s ports are in use", std::to_string(opt_.max_ports));
    return;
  }
  auto port = UnixPort::create(std::move(control), r.request);
  if (!port) {
    ++engine_.stats().bad_requests;
    warn_limited("new port refused: %s", port.error().message);
    return;
  }
  if (auto st = add_port(std::move(port).value(), control_fd); !st)
    UM_WARN("new port refused: %s", st.error().message.c_str());
}

void Daemon::on_port_control(int id) {
  auto* p = dynamic_cast<UnixPort*>(engine_.port(id));
  if (!p) return;
  char buf[512];
  ssize_t n = recv(p->control_fd(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return remove_port(id, "disconnected");
  ++engine_.stats().bad_requests;  // nothing is expected after the request
  if (!p->garbage_reported)
    UM_WARN("port %d: unexpected bytes on the control connection, ignored", id);
  p->garbage_reported = true;
}

void Daemon::accept_mgmt() {
  for (int i = 0; i < 16; ++i) {
    UniqueFd fd(accept4(mgmt_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    if (mgmt_sessions_ >= kMaxMgmtSessions) {
      // The session waiting longest goes (each has kRequestTimeoutSeconds anyway).
      if (!evict_oldest(Watch::Mgmt)) continue;
      --mgmt_sessions_;
      warn_limited("management: %s sessions open, the oldest dropped for a new one",
                   std::to_string(kMaxMgmtSessions));
    }
    ++mgmt_sessions_;
    int raw = fd.get();
    watch(raw, EPOLLIN | EPOLLRDHUP, {.kind = Watch::Mgmt, .fd = std::move(fd), .deadline = engine_.now() + kRequestTimeoutSeconds});
  }
}

void Daemon::end_mgmt(uint64_t token, int fd) {
  --mgmt_sessions_;
  unwatch(token, fd);
}

void Daemon::on_mgmt(uint64_t token, Watch& w, uint32_t events) {
  int fd = w.fd.get();
  if (!w.answering) {
    char buf[kMaxMgmtRequest];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return end_mgmt(token, fd);
    w.buffer.append(buf, static_cast<size_t>(n));
    size_t nl = w.buffer.find('\n');
    if (nl == std::string::npos) {
      if (w.buffer.size() > kMaxMgmtRequest) end_mgmt(token, fd);
      return;
    }
    w.buffer = answer_mgmt(engine_, w.buffer.substr(0, nl));
    w.answering = true;
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = token;
    epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
  }
  while (w.sent < w.buffer.size()) {
    ssize_t n = send(fd, w.buffer.data() + w.sent, w.buffer.size() - w.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // EPOLLOUT brings us back
    if (n <= 0) break;
    w.sent += static_cast<size_t>(n);
  }
  end_mgmt(token, fd);
}

bool Daemon::evict_oldest(Watch::Kind kind) {
  // Tokens grow with every watch made: the smallest is the oldest.
  uint64_t oldest = UINT64_MAX;
  int fd = -1;
  for (auto& [token, w] : watches_)
    if (w.kind == kind && token < oldest) {
      oldest = token;
      fd = w.fd.get();
    }
  if (fd < 0) return false;
  unwatch(oldest, fd);
  return true;
}

void Daemon::on_tick() {
  uint64_t expirations;
  if (read(tick_.get(), &expirations, sizeof expirations) < 0) {}
  engine_.tick();
  uint64_t now = engine_.now();
  std::vector<std::pair<uint64_t, int>> expired;
  for (auto& [token, w] : watches_)
    if ((w.kind == Watch::Request || w.kind == Watch::Mgmt) && w.deadline && w.deadline < now)
      expired.emplace_back(token, w.fd.get());
  for (auto [token, fd] : expired) {
    if (watches_[token].kind == Watch::Request) {
      --pending_requests_;
      ++engine_.stats().bad_requests;
      warn_limited("control connection: no request within %s s", std::to_string(kRequestTimeoutSeconds));
    } else {
      --mgmt_sessions_;
    }
    unwatch(token, fd);
  }
}

void Daemon::dispatch(uint64_t token, uint32_t events) {
  auto it = watches_.find(token);
  if (it == watches_.end()) return;  // closed earlier in this round
  Watch& w = it->second;
  switch (w.kind) {
    case Watch::ControlListen: return accept_control();
    case Watch::MgmtListen: return accept_mgmt();
    case Watch::Tick: return on_tick();
    case Watch::Signal: {
      signalfd_siginfo si;
      if (read(signal_.get(), &si, sizeof si) == sizeof si)
        UM_INFO("signal %u, shutting down", si.ssi_signo);
      running_ = false;
      return;
    }
    case Watch::Request: return read_request(token, w);
    case Watch::PortControl: return on_port_control(w.port);
    case Watch::PortData: {
      Port* p = engine_.port(w.port);
      if (p && (events & EPOLLOUT)) engine_.drain(*p);
      if (p && (events & (EPOLLIN | EPOLLERR)) && !engine_.pump(*p)) remove_port(w.port, "failed");
      return;
    }
    case Watch::Mgmt: return on_mgmt(token, w, events);
  }
}

void Daemon::run() {
  epoll_event events[64];
  while (running_) {
    int n = epoll_wait(epoll_.get(), events, 64, -1);
    if (n < 0 && errno != EINTR) {
      UM_ERROR("epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n && running_; ++i) dispatch(events[i].data.u64, events[i].events);
    if (pcap_) pcap_->flush();
  }
}

void Daemon::shutdown() {
  if (cleaned_up_) return;
  cleaned_up_ = true;
  std::vector<int> ids;
  for (Port* p : engine_.ports()) ids.push_back(p->id);
  for (int id : ids) remove_port(id, "closed (shutdown)");
  watches_.clear();
  if (pcap_) pcap_->flush();
  if (control_) unlink(opt_.ctl_path.c_str());
  if (mgmt_) unlink(opt_.mgmt_path.c_str());
  if (wrote_pidfile_) unlink(opt_.pidfile.c_str());
}

// --daemon: the child does all the setup and tells the waiting parent when it is ready, so
// errors still reach the caller and the sockets exist once the parent has exited.
int daemonize_and_wait(int& ready_fd) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return cli::fail(Error::from_errno("pipe"));
  pid_t pid = fork();
  if (pid < 0) return cli::fail(Error::from_errno("fork"));
  if (pid > 0) {
    close(pipefd[1]);
    char c;
    ssize_t n = read(pipefd[0], &c, 1);
    return n == 1 ? kExitOk : kExitFailure;  // the child printed its own error
  }
  close(pipefd[0]);
  setsid();
  ready_fd = pipefd[1];
  return -1;
}

}  // namespace

int run_daemon(DaemonOptions options) {
  options.ctl_path = absolute(options.ctl_path);
  options.mgmt_path = absolute(options.mgmt_path);
  options.pidfile = absolute(options.pidfile);
  if (options.ctl_path == options.mgmt_path)
    return cli::fail("the control and management sockets must differ");
  int ready_fd = -1;
  if (options.daemonize) {
    if (int rc = daemonize_and_wait(ready_fd); rc >= 0) return rc;
  }
  int rc = kExitOk;
  {
    Daemon d(std::move(options));
    if (auto st = d.setup(); !st) {
      rc = cli::fail(st.error());
    } else {
      if (ready_fd >= 0) {
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO), close(devnull);
        if (write(ready_fd, "1", 1) < 0) {}
        close(ready_fd);
        ready_fd = -1;
        chdir("/");
      }
      d.run();
    }
  }
  if (ready_fd >= 0) close(ready_fd);
  return rc;
}

}  // namespace um::sw
