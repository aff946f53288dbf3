#include "umkernel/mgmt/management.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdlib>

#include "core/log.h"
#include "core/mconsole/notify.h"
#include "core/rundir.h"
#include "umkernel/mgmt/exec_session.h"

namespace um::kernel::mgmt {

namespace {
Management* g_management = nullptr;
// A reboot re-executes umkernel with the same arguments; a generated umid is passed on here
// so the machine keeps its name (and its mconsole path) across the reboot.
constexpr const char* kRestartUmidEnv = "UMKERNEL_RESTART_UMID";
}  // namespace

Management* management() { return g_management; }

Management::~Management() {
  execs_.clear();
  server_.reset();
  if (claimed_) {
    rundir::release(umid_);
    if (kernel().restart_requested()) setenv(kRestartUmidEnv, umid_.c_str(), 1);
  }
  if (g_management == this) g_management = nullptr;
}

void Management::add_exec(std::unique_ptr<ExecSession> s) { execs_.push_back(std::move(s)); }

void Management::reap_execs() {
  std::erase_if(execs_, [](const std::unique_ptr<ExecSession>& s) { return s->finished(); });
}

// SIGTERM, SIGINT and SIGHUP on the host halt the machine cleanly (file systems synced, run
// directory removed) instead of killing umkernel with its guest half done.
void Management::on_host_signal() {
  signalfd_siginfo si;
  int sig = 0;
  while (read(signal_fd_.get(), &si, sizeof si) == sizeof si) sig = static_cast<int>(si.ssi_signo);
  if (!sig) return;
  UM_INFO("host signal %d: halting", sig);
  kernel().halt(128 + sig);
}

bool start(Kernel& k, const BootConfig& cfg, std::string* error) {
  auto m = std::make_shared<Management>();
  m->cfg_ = cfg;
  m->disks_ = cfg.disks;
  if (!cfg.uml_dir.empty()) setenv("UML_DIR", cfg.uml_dir.c_str(), 1);  // rundir::root() reads it
  m->umid_ = cfg.umid;
  if (m->umid_.empty()) {
    const char* inherited = getenv(kRestartUmidEnv);
    m->umid_ = inherited && *inherited ? inherited : rundir::random_umid();
  }
  unsetenv(kRestartUmidEnv);  // guests never see it (init gets its own environment anyway)
  g_management = m.get();
  k.management = m;  // from here on the run directory is released with the Kernel
  m->watch_host_signals(k);
  if (auto r = rundir::claim(m->umid_); !r) {
    // A VM of that name runs: refuse. Anything else (an unwritable $HOME...) costs only the
    // host-side management: boot without mconsole and console sockets.
    if (r.error().code == EADDRINUSE || r.error().code == EINVAL) {
      *error = r.error().message;
      return false;
    }
    UM_WARN("%s: running without mconsole and console sockets", r.error().message.c_str());
    return true;
  }
  m->claimed_ = true;

  auto server = mconsole::Server::open(rundir::mconsole_path(m->umid_));
  if (!server) {
    *error = "mconsole: " + server.error().message;
    return false;
  }
  m->server_ = std::move(server.value());
  m->server_watch_.fn = [raw = m.get()] {
    raw->server_->on_readable();
    raw->reap_execs();
  };
  if (!k.add_event_source(m->server_->fd(), EPOLLIN, &m->server_watch_)) {
    *error = "mconsole: cannot watch the socket";
    return false;
  }
  register_commands(*m);
  UM_INFO("mconsole (version 2) initialized on %s", m->server_->path().c_str());
  if (!cfg.mconsole_notify.empty()) {
    auto r = mconsole::send_notification(cfg.mconsole_notify, {mconsole::NotifyType::Socket, m->server_->path()});
    if (!r) UM_WARN("mconsole notify %s: %s", cfg.mconsole_notify.c_str(), r.error().message.c_str());
  }
  return true;
}

void Management::watch_host_signals(Kernel& k) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal_fd_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  signal_watch_.fn = [this] { on_host_signal(); };
  if (signal_fd_) k.add_event_source(signal_fd_.get(), EPOLLIN, &signal_watch_);
}

std::unique_ptr<Tty> make_console(int n, const ChannelSpec& ch, std::string* error, bool serial) {
  Management* m = management();
  ConsoleRecord rec;
  rec.name = (serial ? "ssl" : "con") + std::to_string(n);
  rec.channel = ch.in == ch.out ? ch.in : ch.in + "," + ch.out;
  if (plain_channel(ch)) {
    if (m) m->consoles().push_back(rec);
    return nullptr;
  }
  if (!m || !m->has_run_dir()) {
    if (ch.in == "socket" && ch.out == "socket") return nullptr;  // no run directory: a null console
    *error = rec.name + ": channel '" + rec.channel + "' needs a run directory";
    return nullptr;
  }
  rec.socket = serial ? rundir::serial_path(m->umid(), n) : rundir::console_path(m->umid(), n);
  auto tty = make_channel_tty(serial ? kSerialTtyBase + n : n, ch, &rec);
  if (!tty) {
    *error = tty.error().message;
    return nullptr;
  }
  m->consoles().push_back(rec);
  return std::move(tty.value());
}

}  // namespace um::kernel::mgmt
