// umconsole-testhost: a stand-in "VM" for testing umconsole without a kernel. It serves the
// same pieces umkernel embeds, from core/: a run directory, an mconsole Server (version, halt,
// log, um-info, um-exec), and console 1 as a ShareServer backed by a real shell on a pty.
// um-exec runs host processes. Test-only: built into <build>/tests, never installed.
//
//   umconsole-testhost UMID [--shell PROGRAM] [--port PORT]
// --port also shares console 1 on 127.0.0.1:PORT (telnet, like a port: console; 0 = any free
// port, printed as "port N"). Stop with `umconsole halt UMID` or SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "core/console/share_server.h"
#include "core/mconsole/exec_endpoint.h"
#include "core/mconsole/server.h"
#include "core/mconsole/um_info.h"
#include "core/rundir.h"

using namespace um;
using mconsole::exec::ExecEndpoint;

namespace {

struct ExecSession {
  std::unique_ptr<ExecEndpoint> endpoint;
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
};

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Starts the request as a host process with pipes; false (and `why`) when exec fails.
bool spawn(ExecSession& s, const mconsole::exec::ExecRequest& r, std::string& why) {
  int i[2], o[2], e[2], st[2];
  if (pipe2(i, O_CLOEXEC) || pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC) || pipe2(st, O_CLOEXEC)) {
    why = strerror(errno);
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;  // we block TERM/INT for our signalfd; the command must not inherit that
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setsid();
    dup2(i[0], 0);
    dup2(o[1], 1);
    dup2(e[1], 2);
    for (const auto& kv : r.env) putenv(const_cast<char*>(kv.c_str()));
    int err = 0;
    if (!r.cwd.empty() && chdir(r.cwd.c_str()) != 0) err = errno;
    if (!err) {
      std::vector<char*> argv;
      for (const auto& a : r.argv) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      err = errno;
    }
    (void)!write(st[1], &err, sizeof err);
    _exit(127);
  }
  close(i[0]); close(o[1]); close(e[1]); close(st[1]);
  int child_errno = 0;
  bool failed = read(st[0], &child_errno, sizeof child_errno) == sizeof child_errno;
  close(st[0]);
  if (failed) {
    waitpid(pid, nullptr, 0);
    close(i[1]); close(o[0]); close(e[0]);
    why = strerror(child_errno);
    return false;
  }
  s.pid = pid;
  s.in = i[1];
  s.out = o[0];
  s.err = e[0];
  fcntl(s.out, F_SETFL, O_NONBLOCK);
  fcntl(s.err, F_SETFL, O_NONBLOCK);
  return true;
}

// Reads what a pipe has; -1 at EOF.
ssize_t drain(int& fd, const std::function<void(std::string_view)>& sink) {
  char buf[16384];
  ssize_t total = 0;
  while (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) { sink(std::string_view(buf, n)); total += n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) { close_fd(fd); return -1; }
    break;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: umconsole-testhost UMID [--shell PROGRAM]\n");
    return 2;
  }
  std::string umid = argv[1];
  std::string shell = "/bin/sh";
  int port = -1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string opt = argv[i];
    if (opt == "--shell") shell = argv[i + 1];
    else if (opt == "--port") port = atoi(argv[i + 1]);
  }
  signal(SIGPIPE, SIG_IGN);
  if (auto st = rundir::claim(umid); !st) {
    fprintf(stderr, "umconsole-testhost: %s\n", st.error().message.c_str());
    return 1;
  }

  // Console 1: a shell on a pty, shared.
  int master = -1;
  pid_t shell_pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (shell_pid == 0) {
    setenv("PS1", "testhost$ ", 1);
    execl(shell.c_str(), shell.c_str(), "-i", static_cast<char*>(nullptr));
    _exit(127);
  }
  fcntl(master, F_SETFL, O_NONBLOCK);
  console::ShareCallbacks cb;
  cb.on_input = [&](std::string_view b) { (void)!write(master, b.data(), b.size()); };
  cb.on_window_size = [&](uint16_t rows, uint16_t cols) {
    winsize ws{rows, cols, 0, 0};
    ioctl(master, TIOCSWINSZ, &ws);
  };
  auto con1 = console::ShareServer::listen_unix(rundir::console_path(umid, 1), {}, cb);
  auto mc = mconsole::Server::open(rundir::mconsole_path(umid));
  if (!con1 || !mc) {
    fprintf(stderr, "umconsole-testhost: %s\n", (!con1 ? con1.error() : mc.error()).message.c_str());
    rundir::release(umid);
    return 1;
  }
  auto& server = *mc.value();
  std::unique_ptr<console::ShareServer> tcp;
  if (port >= 0) {
    auto t = console::ShareServer::listen_tcp(static_cast<uint16_t>(port), {}, cb);
    if (!t) {
      fprintf(stderr, "umconsole-testhost: %s\n", t.error().message.c_str());
      rundir::release(umid);
      return 1;
    }
    tcp = std::move(t.value());
    printf("port %u\n", tcp->tcp_port());
  }
  // Console 1 output goes to both the unix socket clients and the telnet clients.
  struct Fanout {
    console::ShareServer& unix_side;
    console::ShareServer* tcp_side;
    void write_output(std::string_view b) {
      unix_side.write_output(b);
      if (tcp_side) tcp_side->write_output(b);
    }
  } console{*con1.value(), tcp.get()};

  bool running = true;
  std::list<ExecSession> sessions;
  server.add_command("version", [](const std::string&, mconsole::ReplyPtr r) {
    utsname u;
    uname(&u);
    r->write(std::string("umconsole-testhost ") + u.sysname + " " + u.release);
  });
  server.add_command("halt", [&](const std::string&, mconsole::ReplyPtr r) { running = false; });
  server.add_command("log", [&](const std::string& text, mconsole::ReplyPtr) { console.write_output(text); });
  server.add_command(mconsole::kInfoCommand, [&](const std::string&, mconsole::ReplyPtr r) {
    mconsole::VmInfo info;
    info.umid = umid;
    info.pid = getpid();
    info.kernel = "umconsole-testhost";
    info.consoles = {{"con1", "socket", rundir::console_path(umid, 1)}};
    r->write(mconsole::encode_info(info));
  });
  server.add_command(mconsole::exec::kCommand, [&](const std::string&, mconsole::ReplyPtr r) {
    ExecSession& s = sessions.emplace_back();
    mconsole::exec::EndpointCallbacks ecb;
    ecb.on_start = [&s](const mconsole::exec::ExecRequest& req) {
      std::string why;
      if (spawn(s, req, why)) s.endpoint->send_started(s.pid);
      else s.endpoint->send_failed(why);
    };
    ecb.on_stdin = [&s](std::string_view b) { if (s.in >= 0) (void)!write(s.in, b.data(), b.size()); };
    ecb.on_stdin_eof = [&s] { close_fd(s.in); };
    ecb.on_signal = [&s](int sig) { if (s.pid > 0) kill(-s.pid, sig); };
    ecb.on_disconnect = [&s] { if (s.pid > 0) kill(-s.pid, SIGHUP); };
    auto ep = ExecEndpoint::listen_in(rundir::vm_dir(umid), ecb);
    if (!ep) {
      sessions.pop_back();
      return r->fail(ep.error().message);
    }
    s.endpoint = std::move(ep.value());
    r->write(mconsole::exec::make_reply(s.endpoint->path()));
  });

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  printf("testhost %s ready\n", umid.c_str());
  fflush(stdout);

  while (running) {
    std::vector<pollfd> fds{{server.fd(), POLLIN, 0}, {console.unix_side.fd(), POLLIN, 0}, {master, POLLIN, 0},
                            {sfd, POLLIN, 0}, {tcp ? tcp->fd() : -1, POLLIN, 0}};
    for (auto& s : sessions) {
      fds.push_back({s.endpoint->fd(), POLLIN, 0});
      bool room = s.endpoint->queued_bytes() < ExecEndpoint::kHighWater;  // backpressure
      fds.push_back({room ? s.out : -1, POLLIN, 0});
      fds.push_back({room ? s.err : -1, POLLIN, 0});
    }
    poll(fds.data(), fds.size(), 50);
    if (fds[3].revents & POLLIN) break;
    server.on_readable();
    console.unix_side.on_readable();
    if (tcp) tcp->on_readable();
    if (master >= 0 && drain(master, [&](std::string_view b) { console.write_output(b); }) < 0)
      console.write_output("\r\n[shell exited]\r\n");
    for (auto it = sessions.begin(); it != sessions.end();) {
      ExecSession& s = *it;
      s.endpoint->on_readable();
      auto out = [&](std::string_view b) { s.endpoint->send_stdout(b); };
      auto err = [&](std::string_view b) { s.endpoint->send_stderr(b); };
      if (s.endpoint->queued_bytes() < ExecEndpoint::kHighWater) drain(s.out, out);
      drain(s.err, err);
      int status;
      if (s.pid > 0 && s.out < 0 && s.err < 0 && waitpid(s.pid, &status, WNOHANG) == s.pid) {
        s.pid = -1;
        s.endpoint->send_exit(WIFSIGNALED(status) ? mconsole::exec::ExitStatus{true, WTERMSIG(status)}
                                                  : mconsole::exec::ExitStatus{false, WEXITSTATUS(status)});
      }
      if (s.endpoint->finished()) {
        if (s.pid > 0) { kill(-s.pid, SIGKILL); waitpid(s.pid, nullptr, 0); }
        close_fd(s.in); close_fd(s.out); close_fd(s.err);
        it = sessions.erase(it);
      } else {
        ++it;
      }
    }
  }
  kill(shell_pid, SIGKILL);
  waitpid(shell_pid, nullptr, 0);
  for (auto& s : sessions)
    if (s.pid > 0) kill(-s.pid, SIGKILL);
  tcp.reset();
  con1.value().reset();
  mc.value().reset();
  rundir::release(umid);
  return 0;
}
