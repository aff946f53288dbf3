#include "core/nat/nat_router.h"

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <system_error>
#include <thread>

#include <libslirp.h>

#include "core/log.h"
#include "core/unique_fd.h"

namespace um::nat {

namespace {

Result<int> parse_port(const std::string& text, const std::string& what) {
  char* end = nullptr;
  long v = strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || v < 1 || v > 65535)
    return Error::make(EINVAL, "bad port '" + text + "' in " + what);
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

// Splits off the text before the first `sep` in `rest`; false if there is none.
bool take_until(std::string& rest, char sep, std::string& out) {
  size_t pos = rest.find(sep);
  if (pos == std::string::npos) return false;
  out = rest.substr(0, pos);
  rest.erase(0, pos + 1);
  return true;
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
  std::string what = "forward '" + spec + "'";
  if (parts.size() == 5) f.host_addr = parts[i++];
  f.host_port = UM_TRY(parse_port(parts[i++], what));
  f.guest_addr = parts[i++];
  f.guest_port = UM_TRY(parse_port(parts[i++], what));
  if (!valid_ipv4(f.host_addr) || !valid_ipv4(f.guest_addr))
    return Error::make(EINVAL, "bad IPv4 address in forward '" + spec + "'");
  return f;
}

// Split in the same order as QEMU's slirp_hostfwd: proto ':' hostaddr ':' hostport '-'
// guestaddr ':' guestport.
Result<Forward> parse_hostfwd(const std::string& spec, const std::string& default_guest) {
  auto usage = Error::make(EINVAL, "bad hostfwd '" + spec +
                                       "' (expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)");
  std::string rest = spec, proto, host_addr, host_port, guest_addr;
  if (!take_until(rest, ':', proto) || !take_until(rest, ':', host_addr) ||
      !take_until(rest, '-', host_port) || !take_until(rest, ':', guest_addr))
    return usage;
  Forward f;
  if (proto == "udp") f.udp = true;
  else if (proto != "tcp" && !proto.empty()) return usage;
  std::string what = "hostfwd '" + spec + "'";
  if (!host_addr.empty()) f.host_addr = host_addr;
  f.host_port = UM_TRY(parse_port(host_port, what));
  f.guest_addr = guest_addr.empty() ? default_guest : guest_addr;
  f.guest_port = UM_TRY(parse_port(rest, what));
  for (const std::string* a : {&f.host_addr, &f.guest_addr})
    if (!valid_ipv4(*a)) return Error::make(EINVAL, "bad IPv4 address '" + *a + "' in " + what);
  return f;
}

// Owns the Slirp instance and its thread. Everything slirp is touched only on that thread
// once it runs (before, only by start()), as libslirp is not thread safe.
struct NatRouter::Impl {
  struct Timer {
    SlirpTimerCb cb;
    void* opaque;
    int64_t expire_ms = -1;
  };

  UniqueFd user_fd;  // the owner's end of the socketpair
  UniqueFd fd;       // ours
  UniqueFd stop_fd;  // eventfd: written once to end the thread
  Slirp* slirp = nullptr;
  std::thread thread;
  std::vector<Timer*> timers;
  std::vector<pollfd> pollfds;

  ~Impl() {
    if (thread.joinable()) {
      uint64_t one = 1;
      if (write(stop_fd.get(), &one, sizeof one) < 0) {}
      thread.join();
    }
    if (slirp) slirp_cleanup(slirp);
    for (Timer* t : timers) delete t;
  }

  Status init(const NatOptions& options) {
    SlirpConfig cfg{};
    cfg.version = 1;
    cfg.in_enabled = true;
    inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
    inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
    cfg.vhostname = options.hostname.empty() ? nullptr : options.hostname.c_str();  // copied
    cfg.restricted = options.restricted ? 1 : 0;
    // 10.0.2.2 reaches the host's 127.0.0.1, unless restricted.
    cfg.disable_host_loopback = options.restricted;
    static const SlirpCb callbacks = make_callbacks();
    slirp = slirp_new(&cfg, &callbacks, this);
    if (!slirp) return Error::make(EIO, "cannot start the NAT router (slirp_new failed)");
    for (const Forward& f : options.forwards) UM_TRY(add_forward(f));
    return start_thread();
  }

  Status add_forward(const Forward& f) {
    in_addr host, guest;
    if (inet_pton(AF_INET, f.host_addr.c_str(), &host) != 1 ||
        inet_pton(AF_INET, f.guest_addr.c_str(), &guest) != 1)
      return Error::make(EINVAL, "bad IPv4 address in forward to " + f.guest_addr);
    std::string what = std::string("cannot forward ") + (f.udp ? "udp " : "tcp ") + f.host_addr +
                       ":" + std::to_string(f.host_port);
    // slirp binds the host socket right here and keeps the socket/bind/listen errno.
    errno = 0;
    if (slirp_add_hostfwd(slirp, f.udp, host, f.host_port, guest, f.guest_port) < 0) {
      if (errno == 0) return Error::make(EADDRINUSE, what + " (port in use or not permitted)");
      return Error::from_errno(what);
    }
    return {};
  }

  // The thread is created with every signal blocked (it inherits the creator's mask): the
  // owner may take signals through signalfd, which only works if no thread can receive them.
  Status start_thread() {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    Status st;
    try {
      thread = std::thread([this] { run(); });
      pthread_setname_np(thread.native_handle(), "um-nat");
    } catch (const std::system_error& e) {
      st = Error::make(e.code().value(), std::string("cannot start the NAT thread: ") + e.what());
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return st;
  }

  static SlirpCb make_callbacks() {
    SlirpCb cb{};
    cb.send_packet = [](const void* buf, size_t len, void* self) -> ssize_t {
      // Towards the owner; a full socketpair means the owner is behind: drop like a NIC.
      send(static_cast<Impl*>(self)->fd.get(), buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      return static_cast<ssize_t>(len);
    };
    cb.guest_error = [](const char* msg, void*) { UM_WARN("nat: guest error: %s", msg); };
    cb.clock_get_ns = [](void*) -> int64_t { return monotonic_ns(); };
    cb.timer_new = [](SlirpTimerCb fn, void* cb_opaque, void* self) -> void* {
      auto* t = new Timer{fn, cb_opaque};
      static_cast<Impl*>(self)->timers.push_back(t);
      return t;
    };
    cb.timer_free = [](void* timer, void* self) {
      std::erase(static_cast<Impl*>(self)->timers, static_cast<Timer*>(timer));
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
      pollfds.clear();
      pollfds.push_back({stop_fd.get(), POLLIN, 0});
      pollfds.push_back({fd.get(), POLLIN, 0});
      uint32_t timeout = 1000;
      slirp_pollfds_fill(slirp, &timeout, [](int sfd, int events, void* self) -> int {
        auto& fds = static_cast<Impl*>(self)->pollfds;
        fds.push_back({sfd, to_poll(events), 0});
        return static_cast<int>(fds.size() - 1);
      }, this);
      int64_t now_ms = monotonic_ns() / 1000000;
      for (Timer* t : timers)
        if (t->expire_ms >= 0)
          timeout = static_cast<uint32_t>(std::clamp<int64_t>(t->expire_ms - now_ms, 0, timeout));
      int r = poll(pollfds.data(), pollfds.size(), static_cast<int>(timeout));
      if (pollfds[0].revents) return;
      slirp_pollfds_poll(slirp, r < 0, [](int idx, void* self) -> int {
        return from_poll(static_cast<Impl*>(self)->pollfds[idx].revents);
      }, this);
      if (pollfds[1].revents & POLLIN) {
        for (int i = 0; i < 64; ++i) {
          ssize_t n = recv(fd.get(), frame, sizeof frame, MSG_DONTWAIT);
          if (n <= 0) break;
          slirp_input(slirp, frame, static_cast<int>(n));
        }
      }
      now_ms = monotonic_ns() / 1000000;
      // Callbacks may add or free timers: fire from a snapshot, re-checking membership.
      std::vector<Timer*> due;
      for (Timer* t : timers)
        if (t->expire_ms >= 0 && t->expire_ms <= now_ms) due.push_back(t);
      for (Timer* t : due) {
        if (std::find(timers.begin(), timers.end(), t) == timers.end()) continue;
        t->expire_ms = -1;
        t->cb(t->opaque);
      }
    }
  }
};

NatRouter::NatRouter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NatRouter::~NatRouter() = default;

int NatRouter::frame_fd() const { return impl_->user_fd.get(); }

Result<std::unique_ptr<NatRouter>> NatRouter::start(const NatOptions& options) {
  auto impl = std::make_unique<Impl>();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
    return Error::from_errno("socketpair");
  impl->user_fd.reset(sv[0]);
  impl->fd.reset(sv[1]);
  impl->stop_fd.reset(eventfd(0, EFD_CLOEXEC));
  if (!impl->stop_fd) return Error::from_errno("eventfd");
  UM_TRY(impl->init(options));
  return std::unique_ptr<NatRouter>(new NatRouter(std::move(impl)));
}

}  // namespace um::nat
