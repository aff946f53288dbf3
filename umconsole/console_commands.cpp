// Shared consoles: `attach`, `send`, `log` (the attach protocol of core/console).
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "core/cli.h"
#include "core/console/attach_client.h"
#include "core/rundir.h"
#include "umconsole/app.h"
#include "umconsole/target.h"
#include "umconsole/terminal.h"

namespace umconsole {
namespace {

using um::console::Mode;

// "1" → con1; "con1", "ssl0" as given.
um::Result<std::string> console_name(const std::string& spec) {
  std::string digits = spec;
  std::string kind = "con";
  if (spec.starts_with("con") || spec.starts_with("ssl")) {
    kind = spec.substr(0, 3);
    digits = spec.substr(3);
  }
  bool ok = !digits.empty() && digits.size() <= 2 &&
            digits.find_first_not_of("0123456789") == std::string::npos;
  if (!ok) return um::Error::make(EINVAL, "'" + spec + "' is not a console (use N, conN or sslN)");
  return kind + std::to_string(std::stoi(digits));
}

// The console socket lives next to the VM's mconsole socket.
um::Result<std::string> console_socket(const std::string& vm, const std::string& console) {
  auto target = UM_TRY(resolve_target(vm));
  std::string name = UM_TRY(console_name(console));
  std::string dir = target.mconsole.substr(0, target.mconsole.rfind('/'));
  return dir + "/" + name;
}

bool write_fd(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Signals that end a session cleanly arrive through a signalfd, so the terminal is restored
// by the normal return path.
struct SignalFd {
  int fd = -1;
  sigset_t old;
  explicit SignalFd(std::initializer_list<int> sigs) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : sigs) sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, &old);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~SignalFd() {
    if (fd >= 0) close(fd);
    sigprocmask(SIG_SETMASK, &old, nullptr);
  }
  int next() {
    signalfd_siginfo si;
    return read(fd, &si, sizeof si) == sizeof si ? static_cast<int>(si.ssi_signo) : 0;
  }
};

constexpr int kLingerMillis = 1000;

struct AttachOptions {
  std::vector<std::string> args;  // [UMID] N
  bool read_only = false;
  std::string escape = "^]";
};

// A malformed console argument is a usage error (exit 2), found before touching any VM.
bool bad_console(const std::string& console) {
  auto name = console_name(console);
  if (name) return false;
  fprintf(stderr, "umconsole: error: %s\n", name.error().message.c_str());
  return true;
}

int run_attach(const Globals& g, const AttachOptions& o) {
  auto escape = parse_escape(o.escape);
  if (!escape) {
    fprintf(stderr, "umconsole: error: invalid --escape '%s' (use ^X, one character or none)\n", o.escape.c_str());
    return um::kExitUsage;
  }
  std::string vm, console;
  if (o.args.size() == 2) {
    vm = o.args[0];
    console = o.args[1];
  } else {
    auto only = only_running_umid();
    if (!only) return um::cli::fail(only.error());
    vm = *only;
    console = o.args[0];
  }
  if (bad_console(console)) return um::kExitUsage;
  auto path = console_socket(vm, console);
  if (!path) return um::cli::fail(path.error());
  auto sock = um::console::attach(*path, o.read_only ? Mode::ReadOnly : Mode::ReadWrite, g.timeout());
  if (!sock) return um::cli::fail(vm + ": " + sock.error().message);
  int s = sock->get();

  SignalFd signals{SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT};
  bool tty = isatty(STDIN_FILENO);
  if (tty && *escape >= 0)
    fprintf(stderr, "[attached to %s %s; detach with %s]\r\n", vm.c_str(), console.c_str(), o.escape.c_str());
  RawTerminal raw(STDIN_FILENO);
  auto send_size = [&] {
    if (o.read_only) return um::Status{};
    if (auto ws = window_size(STDIN_FILENO))
      return um::console::write_all(s, um::console::encode_window_size(ws->first, ws->second), g.timeout());
    return um::Status{};
  };
  if (auto st = send_size(); !st) return um::cli::fail(st.error());

  bool stdin_open = true;
  std::string why = "";
  int code = um::kExitOk;
  for (;;) {
    pollfd p[3] = {{s, POLLIN, 0}, {signals.fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    // Once a non-terminal stdin of a rw session ends, linger only until the output goes
    // quiet: `printf 'cmd\n' | umconsole attach vm 1` shows the answer and ends.
    bool lingering = !stdin_open && !o.read_only;
    int n = poll(p, stdin_open ? 3 : 2, lingering ? kLingerMillis : -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { why = "poll failed"; code = um::kExitFailure; break; }
    if (n == 0) { why = "end of input"; break; }
    if (p[1].revents & POLLIN) {
      int sig = signals.next();
      if (sig == SIGWINCH) {
        if (auto st = send_size(); !st) { why = st.error().message; code = um::kExitFailure; break; }
      } else if (sig) {
        why = std::string("terminated by ") + strsignal(sig);
        code = um::kExitFailure;
        break;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t r = recv(s, buf, sizeof buf, 0);
      if (r <= 0) { why = "the VM closed the console"; break; }
      if (!write_fd(STDOUT_FILENO, buf, static_cast<size_t>(r))) { why = "cannot write to stdout"; code = um::kExitFailure; break; }
    }
    if (stdin_open && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[4096];
      ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
      if (r <= 0) { stdin_open = false; continue; }  // keep showing output until detached
      std::string_view typed(buf, static_cast<size_t>(r));
      size_t esc = *escape >= 0 ? typed.find(static_cast<char>(*escape)) : std::string_view::npos;
      if (o.read_only && esc == std::string_view::npos) esc = typed.find('\x03');  // Ctrl-C leaves a watcher
      std::string_view forward = typed.substr(0, esc);
      if (!o.read_only && !forward.empty()) {
        if (auto st = um::console::write_all(s, um::console::encode_input(forward), g.timeout()); !st) {
          why = st.error().message;
          code = um::kExitFailure;
          break;
        }
      }
      if (esc != std::string_view::npos) { why = "detached"; break; }
    }
  }
  raw.restore();  // before printing the last words
  if (tty || code != um::kExitOk) fprintf(stderr, "\r\n[%s]\n", why.c_str());
  return code;
}

int run_send(const Globals& g, const std::string& vm, const std::string& console, const std::string& text,
             bool no_newline) {
  if (bad_console(console)) return um::kExitUsage;
  std::string data;
  if (text == "-") {
    char buf[65536];
    ssize_t n;
    while ((n = read(STDIN_FILENO, buf, sizeof buf)) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return um::cli::fail(um::Error::from_errno("reading stdin"));
      data.append(buf, static_cast<size_t>(n));
    }
  } else {
    data = text;
    if (!no_newline) data += '\n';
  }
  auto path = console_socket(vm, console);
  if (!path) return um::cli::fail(path.error());
  auto sock = um::console::attach(*path, Mode::InputOnly, g.timeout());
  if (!sock) return um::cli::fail(vm + ": " + sock.error().message);
  if (auto st = um::console::write_all(sock->get(), um::console::encode_input(data), g.timeout()); !st)
    return um::cli::fail(vm + ": " + st.error().message);
  // Half-close and wait for the server's close: then the VM has consumed everything we sent.
  shutdown(sock->get(), SHUT_WR);
  pollfd p{sock->get(), POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(g.timeout().count())) <= 0)
    return um::cli::fail(vm + ": the console did not confirm the input in time");
  return um::kExitOk;
}

int run_log(const Globals& g, const std::string& vm, const std::string& console, bool follow) {
  if (bad_console(console)) return um::kExitUsage;
  auto path = console_socket(vm, console);
  if (!path) return um::cli::fail(path.error());
  auto sock = um::console::attach(*path, follow ? Mode::ReadOnly : Mode::Dump, g.timeout());
  if (!sock) return um::cli::fail(vm + ": " + sock.error().message);
  SignalFd signals{SIGTERM, SIGHUP, SIGINT};
  for (;;) {
    pollfd p[2] = {{sock->get(), POLLIN, 0}, {signals.fd, POLLIN, 0}};
    // Without -f the server sends the scrollback and closes; the timeout guards a hung VM.
    int n = poll(p, 2, follow ? -1 : static_cast<int>(g.timeout().count()));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return um::cli::fail(vm + ": the console stopped answering");
    if (p[1].revents & POLLIN) return signals.next() == SIGINT ? um::kExitOk : um::kExitFailure;
    char buf[16384];
    ssize_t r = recv(sock->get(), buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return um::cli::fail(um::Error::from_errno("reading the console"));
    if (r == 0) return um::kExitOk;
    if (!write_fd(STDOUT_FILENO, buf, static_cast<size_t>(r))) return um::kExitFailure;
  }
}

}  // namespace

void add_console_commands(App& app) {
  {
    auto o = std::make_shared<AttachOptions>();
    CLI::App* sub = app.cli.add_subcommand(
        "attach", "attach the terminal to a VM console (shared with other clients)");
    sub->add_option("UMID_N", o->args, "[UMID] N: the VM (optional when only one runs) and the console "
                                       "(N or conN, sslN)")
        ->expected(1, 2)
        ->type_name("")
        ->required();
    sub->add_flag("--ro", o->read_only, "watch only: typing is not sent to the VM");
    sub->add_option("--escape", o->escape, "detach character: ^X notation, one character or 'none' (default ^])");
    sub->callback([&app, o] { app.run = [&app, o] { return run_attach(app.globals, *o); }; });
  }
  {
    struct SendArgs {
      std::string vm, console, text;
      bool no_newline = false;
    };
    auto a = std::make_shared<SendArgs>();
    CLI::App* sub = app.cli.add_subcommand("send", "type TEXT (and Enter) into a VM console; '-' sends stdin as is");
    sub->add_option("UMID", a->vm, "the VM")->required();
    sub->add_option("N", a->console, "the console (N or conN, sslN)")->required();
    sub->add_option("TEXT", a->text, "the text, or - for stdin")->required();
    sub->add_flag("-n,--no-newline", a->no_newline, "do not add a newline after TEXT");
    sub->callback([&app, a] {
      app.run = [&app, a] { return run_send(app.globals, a->vm, a->console, a->text, a->no_newline); };
    });
  }
  {
    struct LogArgs {
      std::string vm, console;
      bool follow = false;
    };
    auto a = std::make_shared<LogArgs>();
    CLI::App* sub = app.cli.add_subcommand("log", "print a VM console's recent output (its scrollback)");
    sub->add_option("UMID", a->vm, "the VM")->required();
    sub->add_option("N", a->console, "the console (N or conN, sslN)")->required();
    sub->add_flag("-f,--follow", a->follow, "keep printing new output until interrupted");
    sub->callback([&app, a] { app.run = [&app, a] { return run_log(app.globals, a->vm, a->console, a->follow); }; });
  }
}

}  // namespace umconsole
