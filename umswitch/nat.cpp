#include "umswitch/nat.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <thread>

#include <libslirp.h>

#include "core/log.h"

namespace um::sw {

namespace {

Result<int> parse_port(const std::string& text, const std::string& spec) {
  char* end = nullptr;
  long v = strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || v < 1 || v > 65535)
    return Error::make(EINVAL, "bad port '" + text + "' in forward '" + spec + "'");
  return static_cast<int>(v);
}

bool valid_ipv4(const std::string& text) {
  in_addr a;
  return inet_pton(AF_INET, text.c_str(), &a) == 1;
}

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

Result<Forward> parse_forward(const std::string& spec) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  auto usage = Error::make(EINVAL, "bad forward '" + spec +
                                       "' (expected tcp|udp:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT)");
  if (parts.size() != 4 && parts.size() != 5) return usage;
  Forward f;
  if (parts[0] == "udp") f.udp = true;
  else if (parts[0] != "tcp") return usage;
  size_t i = 1;
  if (parts.size() == 5) f.host_addr = parts[i++];
  f.host_port = UM_TRY(parse_port(parts[i++], spec));
  f.guest_addr = parts[i++];
  f.guest_port = UM_TRY(parse_port(parts[i++], spec));
  if (!valid_ipv4(f.host_addr) || !valid_ipv4(f.guest_addr))
    return Error::make(EINVAL, "bad IPv4 address in forward '" + spec + "'");
  return f;
}

// Owns the Slirp instance and its thread. Everything slirp is touched only on that thread
// (after construction), as libslirp is not thread safe.
class NatRouter {
 public:
  NatRouter(int fd, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {}
  ~NatRouter() {
    uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) {}
    if (thread_.joinable()) thread_.join();
    if (slirp_) slirp_cleanup(slirp_);
    for (Timer* t : timers_) delete t;
    close(fd_);
    close(stop_fd_);
  }

  Status init(const std::vector<Forward>& forwards) {
    SlirpConfig cfg{};
    cfg.version = 1;
    cfg.in_enabled = true;
    inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
    inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
    cfg.vhostname = "umswitch";
    cfg.disable_host_loopback = false;  // 10.0.2.2 reaches the host's 127.0.0.1
    static const SlirpCb callbacks = make_callbacks();
    slirp_ = slirp_new(&cfg, &callbacks, this);
    if (!slirp_) return Error::make(EIO, "cannot start the NAT router (slirp_new failed)");
    for (const Forward& f : forwards) {
      in_addr host, guest;
      inet_pton(AF_INET, f.host_addr.c_str(), &host);
      inet_pton(AF_INET, f.guest_addr.c_str(), &guest);
      if (slirp_add_hostfwd(slirp_, f.udp, host, f.host_port, guest, f.guest_port) < 0)
        return Error::make(EADDRINUSE, "cannot forward " + std::string(f.udp ? "udp" : "tcp") +
                                           " " + f.host_addr + ":" + std::to_string(f.host_port) +
                                           " (port in use or not permitted)");
    }
    thread_ = std::thread([this] { run(); });
    return {};
  }

 private:
  struct Timer {
    SlirpTimerCb cb;
    void* opaque;
    int64_t expire_ms = -1;
  };

  static SlirpCb make_callbacks() {
    SlirpCb cb{};
    cb.send_packet = [](const void* buf, size_t len, void* self) -> ssize_t {
      // Towards the switch; a full socketpair means the switch is behind: drop like a NIC.
      send(static_cast<NatRouter*>(self)->fd_, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      return static_cast<ssize_t>(len);
    };
    cb.guest_error = [](const char* msg, void*) { UM_WARN("nat: guest error: %s", msg); };
    cb.clock_get_ns = [](void*) -> int64_t { return monotonic_ns(); };
    cb.timer_new = [](SlirpTimerCb fn, void* cb_opaque, void* self) -> void* {
      auto* t = new Timer{fn, cb_opaque};
      static_cast<NatRouter*>(self)->timers_.push_back(t);
      return t;
    };
    cb.timer_free = [](void* timer, void* self) {
      auto& timers = static_cast<NatRouter*>(self)->timers_;
      std::erase(timers, static_cast<Timer*>(timer));
      delete static_cast<Timer*>(timer);
    };
    cb.timer_mod = [](void* timer, int64_t expire_ms, void*) {
      static_cast<Timer*>(timer)->expire_ms = expire_ms;
    };
    cb.register_poll_fd = [](int, void*) {};
    cb.unregister_poll_fd = [](int, void*) {};
    cb.notify = [](void*) {};  // slirp only runs on our thread, which polls again anyway
    return cb;
  }

  static short to_poll(int slirp_events) {
    short e = 0;
    if (slirp_events & SLIRP_POLL_IN) e |= POLLIN;
    if (slirp_events & SLIRP_POLL_OUT) e |= POLLOUT;
    if (slirp_events & SLIRP_POLL_PRI) e |= POLLPRI;
    return e;
  }
  static int from_poll(short revents) {
    int e = 0;
    if (revents & POLLIN) e |= SLIRP_POLL_IN;
    if (revents & POLLOUT) e |= SLIRP_POLL_OUT;
    if (revents & POLLPRI) e |= SLIRP_POLL_PRI;
    if (revents & POLLERR) e |= SLIRP_POLL_ERR;
    if (revents & POLLHUP) e |= SLIRP_POLL_HUP;
    return e;
  }

  void run() {
    uint8_t frame[65536];
    while (true) {
      pollfds_.clear();
      pollfds_.push_back({stop_fd_, POLLIN, 0});
      pollfds_.push_back({fd_, POLLIN, 0});
      uint32_t timeout = 1000;
      slirp_pollfds_fill(slirp_, &timeout, [](int fd, int events, void* self) -> int {
        auto& fds = static_cast<NatRouter*>(self)->pollfds_;
        fds.push_back({fd, to_poll(events), 0});
        return static_cast<int>(fds.size() - 1);
      }, this);
      int64_t now_ms = monotonic_ns() / 1000000;
      for (Timer* t : timers_)
        if (t->expire_ms >= 0) timeout = static_cast<uint32_t>(std::clamp<int64_t>(t->expire_ms - now_ms, 0, timeout));
      int r = poll(pollfds_.data(), pollfds_.size(), static_cast<int>(timeout));
      if (pollfds_[0].revents) return;
      slirp_pollfds_poll(slirp_, r < 0, [](int idx, void* self) -> int {
        return from_poll(static_cast<NatRouter*>(self)->pollfds_[idx].revents);
      }, this);
      if (pollfds_[1].revents & POLLIN) {
        for (int i = 0; i < 64; ++i) {
          ssize_t n = recv(fd_, frame, sizeof frame, MSG_DONTWAIT);
          if (n <= 0) break;
          slirp_input(slirp_, frame, static_cast<int>(n));
        }
      }
      now_ms = monotonic_ns() / 1000000;
      // Callbacks may add or free timers: fire from a snapshot, re-checking membership.
      std::vector<Timer*> due;
      for (Timer* t : timers_)
        if (t->expire_ms >= 0 && t->expire_ms <= now_ms) due.push_back(t);
      for (Timer* t : due) {
        if (std::find(timers_.begin(), timers_.end(), t) == timers_.end()) continue;
        t->expire_ms = -1;
        t->cb(t->opaque);
      }
    }
  }

  int fd_;
  int stop_fd_;
  Slirp* slirp_ = nullptr;
  std::thread thread_;
  std::vector<Timer*> timers_;
  std::vector<pollfd> pollfds_;
};

NatPort::NatPort(int fd, std::unique_ptr<NatRouter> router)
    : DatagramPort(fd), router_(std::move(router)) {}

NatPort::~NatPort() { router_.reset(); }  // stop the thread before our socket closes

Result<std::unique_ptr<NatPort>> NatPort::start(const std::vector<Forward>& forwards) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
    return Error::from_errno("socketpair");
  int stop_fd = eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    return Error::from_errno("eventfd", err);
  }
  auto router = std::make_unique<NatRouter>(sv[1], stop_fd);
  if (auto st = router->init(forwards); !st) {
    close(sv[0]);
    return std::move(st).error();
  }
  return std::unique_ptr<NatPort>(new NatPort(sv[0], std::move(router)));
}

}  // namespace um::sw
