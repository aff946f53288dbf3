#include "umkernel/mgmt/console_channel.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>

#include "core/console/share_server.h"
#include "core/log.h"
#include "core/rundir.h"
#include "core/unique_fd.h"

namespace um::kernel::mgmt {

namespace {

// An fd in the kernel's epoll set that runs a function when ready.
struct Watch : EventSource {
  std::function<void()> fn;
  void on_event(uint32_t) override { fn(); }
};

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// One side (or both) of a channel.
struct Endpoint {
  std::string spec;
  std::unique_ptr<console::ShareServer> share;  // socket, port:N
  std::optional<console::FileLog> log;          // file:PATH (output only)
  UniqueFd pty_master, pty_slave;               // pty: the slave is held open so the master never hangs up
  int fd = -1;                                  // fd:N (not owned), or the pty master
  Watch watch;
};

class ChannelTty : public Tty {
 public:
  explicit ChannelTty(int n) : Tty(n, -1, -1) {}

  Status setup(const ChannelSpec& ch, ConsoleRecord* rec) {
    name_ = rec->name;
    std::string socket_path = rec->socket;
    rec->socket.clear();
    out_ = UM_TRY(open_endpoint(ch.out, socket_path, rec));
    in_ = ch.in == ch.out ? out_ : UM_TRY(open_endpoint(ch.in, socket_path, rec));
    // No input source (null, file:) means no input, never end of input: as UML's null
    // channel, and a shell there waits instead of exiting and being respawned forever.
    in_closed_ = false;
    // As the fd console: a log file wants plain newlines, piped input is not echoed.
    KernelTermios tio = ldisc_.termios();
    if (out_->log) tio.c_oflag &= ~ONLCR;
    if (in_->fd >= 0 && !in_->pty_master && !isatty(in_->fd)) tio.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHOKE | ECHOCTL);
    ldisc_.set_termios(tio);
    if (in_->fd >= 0) {
      in_->watch.fn = [this] { read_host(); };
      fcntl(in_->fd, F_SETFL, fcntl(in_->fd, F_GETFL) | O_NONBLOCK);
      if (!kernel().add_event_source(in_->fd, EPOLLIN, &in_->watch)) in_closed_ = true;  // not pollable
    }
    if (out_->fd >= 0 && out_ != in_) fcntl(out_->fd, F_SETFL, fcntl(out_->fd, F_GETFL) | O_NONBLOCK);
    return {};
  }

 protected:
  void transmit(const char* data, size_t n) override {
    std::string_view bytes(data, n);
    if (out_->share) out_->share->write_output(bytes);
    if (out_->log) out_->log->write_output(bytes);
    if (out_->fd >= 0) {
      // Never wait for a host reader: what it cannot take now is lost, as on a serial line
      // nobody listens to.
      while (!bytes.empty()) {
        ssize_t w = ::write(out_->fd, bytes.data(), bytes.size());
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        bytes.remove_prefix(static_cast<size_t>(w));
      }
    }
  }
  bool input_closed() const override { return in_closed_; }

 private:
  Result<std::shared_ptr<Endpoint>> open_endpoint(const std::string& spec, const std::string& socket_path,
                                                  ConsoleRecord* rec) {
    auto ep = std::make_shared<Endpoint>();
    ep->spec = spec;
    const std::string& name = name_;
    console::ShareCallbacks cb{
        .on_input = [this](std::string_view b) { input(b.data(), b.size()); },
        .on_window_size = [this](uint16_t rows, uint16_t cols) { resize(rows, cols); }};
    if (spec == "null") return ep;
    if (starts_with(spec, "fd:")) {
      ep->fd = std::stoi(spec.substr(3));
      if (fcntl(ep->fd, F_GETFD) == -1)
        return Error::make(EBADF, name + ": host file descriptor in '" + spec + "' is not open");
      return ep;
    }
    if (starts_with(spec, "file:")) {
      ep->log = UM_TRY(console::FileLog::open(spec.substr(5)));
      return ep;
    }
    if (spec == "socket") {
      ep->share = UM_TRY(console::ShareServer::listen_unix(socket_path, {}, cb));
      rec->socket = ep->share->unix_path();
    } else if (starts_with(spec, "port:")) {
      int port = std::stoi(spec.substr(5));
      ep->share = UM_TRY(console::ShareServer::listen_tcp(static_cast<uint16_t>(port), {}, cb));
      UM_INFO("%s: telnet 127.0.0.1 %u", name.c_str(), ep->share->tcp_port());
    } else if (spec == "pty" || spec == "pts") {
      UM_TRY(open_pty(*ep, rec));
      if (index() >= kSerialTtyBase)
        UM_INFO("Serial line %d assigned device '%s'", index() - kSerialTtyBase, rec->device.c_str());
      else
        UM_INFO("Virtual console %d assigned device '%s'", index(), rec->device.c_str());
      return ep;
    } else {
      return Error::make(EINVAL, name + ": unknown channel '" + spec + "'");
    }
    ep->watch.fn = [raw = ep.get()] { raw->share->on_readable(); };
    if (!kernel().add_event_source(ep->share->fd(), EPOLLIN, &ep->watch))
      return Error::from_errno(name + ": cannot watch the console socket");
    return ep;
  }

  Status open_pty(Endpoint& ep, ConsoleRecord* rec) {
    const std::string& name = name_;
    ep.pty_master.reset(posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (!ep.pty_master || grantpt(ep.pty_master.get()) != 0 || unlockpt(ep.pty_master.get()) != 0)
      return Error::from_errno(name + ": cannot create a host pseudo-terminal");
    char path[128];
    if (ptsname_r(ep.pty_master.get(), path, sizeof path) != 0)
      return Error::from_errno(name + ": cannot name the host pseudo-terminal");
    ep.pty_slave.reset(::open(path, O_RDWR | O_NOCTTY | O_CLOEXEC));
    // Raw, as UML sets its ptys: the guest's line discipline does the terminal work.
    struct termios tio;
    if (ep.pty_slave && tcgetattr(ep.pty_slave.get(), &tio) == 0) {
      cfmakeraw(&tio);
      tcsetattr(ep.pty_slave.get(), TCSANOW, &tio);
    }
    ep.fd = ep.pty_master.get();
    rec->device = path;
    return {};
  }

  void read_host() {
    char buf[4096];
    ssize_t n = ::read(in_->fd, buf, sizeof buf);
    if (n > 0) {
      input(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      kernel().remove_event_source(in_->fd);
      in_closed_ = true;
      waitq().wake_all();
    }
  }

  void resize(uint16_t rows, uint16_t cols) {
    if (rows == ws_.ws_row && cols == ws_.ws_col) return;
    ws_.ws_row = rows;
    ws_.ws_col = cols;
    signal_foreground(SIGWINCH);
  }

  std::string name_;  // "con1", "ssl0"
  std::shared_ptr<Endpoint> in_, out_;
  bool in_closed_ = true;
};

}  // namespace

bool plain_channel(const ChannelSpec& ch) {
  auto plain = [](const std::string& s) { return s == "null" || starts_with(s, "fd:"); };
  return plain(ch.in) && plain(ch.out);
}

Result<std::unique_ptr<Tty>> make_channel_tty(int tty_index, const ChannelSpec& ch, ConsoleRecord* record) {
  auto tty = std::make_unique<ChannelTty>(tty_index);
  UM_TRY(tty->setup(ch, record));
  return std::unique_ptr<Tty>(std::move(tty));
}

}  // namespace um::kernel::mgmt
