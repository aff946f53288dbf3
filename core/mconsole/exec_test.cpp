// um-exec: codec, and whole sessions between the client and ExecEndpoint behind a real
// mconsole Server, with host processes standing in for guest processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <filesystem>
#include <future>
#include <thread>

#include "core/mconsole/exec_client.h"
#include "core/mconsole/exec_endpoint.h"
#include "core/mconsole/exec_protocol.h"
#include "core/mconsole/server.h"
#include "core/unique_fd.h"
#include "core/unix_socket.h"

namespace um::mconsole::exec {
namespace {

using namespace std::chrono_literals;

TEST(ExecProtocol, FramesSurviveAnySplit) {
  std::string stream = encode_frame(FrameType::Argv, encode_strings({"ls", "-l", ""})) +
                       encode_frame(FrameType::StdinEof, "") +
                       encode_frame(FrameType::Exit, encode_exit({true, 9}));
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameDecoder d;
    std::vector<Frame> frames;
    for (auto part : {stream.substr(0, cut), stream.substr(cut)}) {
      d.feed(part);
      for (;;) {
        auto f = d.next();
        ASSERT_TRUE(f.ok());
        if (!f->has_value()) break;
        frames.push_back(**f);
      }
    }
    ASSERT_EQ(frames.size(), 3u) << cut;
    EXPECT_EQ(decode_strings(frames[0].payload), (std::vector<std::string>{"ls", "-l", ""}));
    EXPECT_EQ(frames[1].type, FrameType::StdinEof);
    auto st = decode_exit(frames[2].payload);
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->signaled);
    EXPECT_EQ(st->shell_code(), 137);
  }
}

TEST(ExecProtocol, RejectsUnknownAndHugeFrames) {
  FrameDecoder d;
  d.feed(std::string("\x63\0\0\0\0", 5));
  EXPECT_FALSE(d.next().ok());
  FrameDecoder h;
  h.feed(std::string("\x11\xff\xff\xff\x7f", 5));
  EXPECT_FALSE(h.next().ok());
  EXPECT_FALSE(decode_exit("short").ok());
  EXPECT_FALSE(parse_reply("Unknown command").ok());
  EXPECT_EQ(*parse_reply(make_reply("/r/vm/exec-1")), "/r/vm/exec-1");
}

// A host process run on behalf of an ExecEndpoint: the test's stand-in for a guest process.
struct HostCommand {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;

  bool start(const ExecRequest& r, std::string* why) {
    int i[2], o[2], e[2], status_pipe[2];
    if (pipe2(i, O_CLOEXEC) || pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC) || pipe2(status_pipe, O_CLOEXEC)) return false;
    pid = fork();
    if (pid == 0) {
      dup2(i[0], 0);
      dup2(o[1], 1);
      dup2(e[1], 2);
      for (const auto& kv : r.env) putenv(const_cast<char*>(kv.c_str()));
      if (!r.cwd.empty() && chdir(r.cwd.c_str()) != 0) _exit(126);
      std::vector<char*> argv;
      for (const auto& a : r.argv) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      int err = errno;
      (void)!write(status_pipe[1], &err, sizeof err);
      _exit(127);
    }
    close(i[0]); close(o[1]); close(e[1]); close(status_pipe[1]);
    in = i[1]; out = o[0]; err = e[0];
    int child_errno = 0;
    if (read(status_pipe[0], &child_errno, sizeof child_errno) == sizeof child_errno) {
      *why = strerror(child_errno);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
    close(status_pipe[0]);
    fcntl(out, F_SETFL, O_NONBLOCK);
    fcntl(err, F_SETFL, O_NONBLOCK);
    return pid > 0;
  }
};

class ExecSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/um-exec-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = Server::open(dir_ + "/mconsole");
    ASSERT_TRUE(s.ok());
    server_ = std::move(s.value());
    server_->add_command(kCommand, [this](const std::string&, ReplyPtr r) {
      EndpointCallbacks cb;
      cb.on_start = [this](const ExecRequest& req) {
        std::string why;
        if (!cmd_.start(req, &why)) return endpoint_->send_failed(why.empty() ? "cannot start" : why);
        endpoint_->send_started(cmd_.pid);
      };
      cb.on_stdin = [this](std::string_view b) { (void)!write(cmd_.in, b.data(), b.size()); };
      cb.on_stdin_eof = [this] { close(cmd_.in); cmd_.in = -1; };
      cb.on_signal = [this](int sig) { kill(cmd_.pid, sig); };
      cb.on_disconnect = [this] { if (cmd_.pid > 0) kill(cmd_.pid, SIGHUP); disconnected_ = true; };
      auto ep = ExecEndpoint::listen_in(dir_, cb, 2000ms);
      if (!ep) return r->fail(ep.error().message);
      endpoint_ = std::move(ep.value());
      r->write(make_reply(endpoint_->path()));
    });
  }
  void TearDown() override {
    endpoint_.reset();
    server_.reset();
    if (cmd_.pid > 0) { kill(cmd_.pid, SIGKILL); waitpid(cmd_.pid, nullptr, 0); }
    rmdir(dir_.c_str());
  }

  // The kernel's loop: mconsole, the endpoint, the command's output and its exit.
  void pump_once() {
    std::vector<pollfd> p{{server_->fd(), POLLIN, 0}};
    if (endpoint_) p.push_back({endpoint_->fd(), POLLIN, 0});
    poll(p.data(), p.size(), 5);
    server_->on_readable();
    if (!endpoint_) return;
    endpoint_->on_readable();
    char buf[4096];
    ssize_t n;
    while (cmd_.out >= 0 && endpoint_->queued_bytes() < ExecEndpoint::kHighWater &&
           (n = read(cmd_.out, buf, sizeof buf)) > 0)
      endpoint_->send_stdout(std::string_view(buf, n));
    while (cmd_.err >= 0 && (n = read(cmd_.err, buf, sizeof buf)) > 0) endpoint_->send_stderr(std::string_view(buf, n));
    int status;
    if (cmd_.pid > 0 && waitpid(cmd_.pid, &status, WNOHANG) == cmd_.pid) {
      while ((n = read(cmd_.out, buf, sizeof buf)) > 0) endpoint_->send_stdout(std::string_view(buf, n));
      while ((n = read(cmd_.err, buf, sizeof buf)) > 0) endpoint_->send_stderr(std::string_view(buf, n));
      cmd_.pid = -1;
      endpoint_->send_exit(WIFSIGNALED(status) ? ExitStatus{true, WTERMSIG(status)}
                                               : ExitStatus{false, WEXITSTATUS(status)});
    }
  }

  struct Outcome {
    Result<ExitStatus> status = Error{};
    std::string out, err;
  };
  Outcome run_client(std::vector<std::string> argv, std::string input, int signal_fd = -1,
                     std::function<void()> while_running = {}) {
    int in[2], out[2], err[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC) | pipe2(out, O_CLOEXEC) | pipe2(err, O_CLOEXEC), 0);
    ClientOptions o;
    o.argv = std::move(argv);
    o.stdin_fd = in[0];
    o.stdout_fd = out[1];
    o.stderr_fd = err[1];
    o.signal_fd = signal_fd;
    o.timeout = 2000ms;
    std::thread feeder([&] {
      (void)!write(in[1], input.data(), input.size());
      close(in[1]);
    });
    auto f = std::async(std::launch::async, [&] {
      auto r = run(dir_ + "/mconsole", o);
      close(out[1]);
      close(err[1]);
      return r;
    });
    Outcome res;
    auto readers = std::async(std::launch::async, [&] {
      char buf[4096];
      ssize_t n;
      while ((n = read(out[0], buf, sizeof buf)) > 0) res.out.append(buf, n);
      while ((n = read(err[0], buf, sizeof buf)) > 0) res.err.append(buf, n);
    });
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (f.wait_for(0ms) != std::future_status::ready && std::chrono::steady_clock::now() < deadline) {
      pump_once();
      if (while_running) while_running();
    }
    EXPECT_EQ(f.wait_for(0ms), std::future_status::ready) << "client did not finish";
    res.status = f.get();
    readers.get();
    feeder.join();
    close(in[0]);
    close(out[0]);
    close(err[0]);
    return res;
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<ExecEndpoint> endpoint_;
  HostCommand cmd_;
  bool disconnected_ = false;
};

TEST_F(ExecSessionTest, StreamsStdinStdoutStderrAndExitCode) {
  auto r = run_client({"sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"}, "hello exec\n");
  ASSERT_TRUE(r.status.ok()) << r.status.error().message;
  EXPECT_EQ(r.out, "HELLO EXEC\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_FALSE(r.status->signaled);
  EXPECT_EQ(r.status->shell_code(), 3);
  EXPECT_FALSE(std::filesystem::exists(endpoint_->path()));  // the one-shot socket is gone
}

TEST_F(ExecSessionTest, LargeOutputArrivesWhole) {
  auto r = run_client({"sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x"}, "");
  ASSERT_TRUE(r.status.ok()) << r.status.error().message;
  EXPECT_EQ(r.out.size(), 3000000u);
  EXPECT_EQ(r.out.find_first_not_of('x'), std::string::npos);
  EXPECT_EQ(r.status->shell_code(), 0);
}

TEST_F(ExecSessionTest, MissingCommandIsReported) {
  auto r = run_client({"/no/such/program"}, "");
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.error().code, ENOEXEC);
  EXPECT_NE(r.status.error().message.find("No such file"), std::string::npos);
}

TEST_F(ExecSessionTest, ForwardedSignalEndsTheCommand) {
  int sv[2];  // a socketpair stands in for the signalfd: the client reads signalfd_siginfo records
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  bool sent = false;
  auto r = run_client({"sleep", "30"}, "", sv[0], [&] {
    if (!sent && cmd_.pid > 0) {
      signalfd_siginfo si{};
      si.ssi_signo = SIGTERM;
      sent = write(sv[1], &si, sizeof si) == sizeof si;
    }
  });
  close(sv[0]);
  close(sv[1]);
  ASSERT_TRUE(r.status.ok()) << r.status.error().message;
  EXPECT_TRUE(r.status->signaled);
  EXPECT_EQ(r.status->shell_code(), 128 + SIGTERM);
}

TEST_F(ExecSessionTest, UnsupportedVmIsAClearError) {
  std::unique_ptr<Server> uml = std::move(Server::open(dir_ + "/uml-mconsole").value());
  ClientOptions o;
  o.argv = {"true"};
  o.timeout = 1000ms;
  auto f = std::async(std::launch::async, [&] { return run(dir_ + "/uml-mconsole", o); });
  while (f.wait_for(5ms) != std::future_status::ready) uml->on_readable();
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOTSUP);
}

TEST_F(ExecSessionTest, EndpointGivesUpWhenNobodyConnects) {
  EndpointCallbacks cb;
  bool gone = false;
  cb.on_disconnect = [&] { gone = true; };
  auto ep = ExecEndpoint::listen_in(dir_, cb, 50ms);
  ASSERT_TRUE(ep.ok());
  std::string path = (*ep)->path();
  EXPECT_TRUE(std::filesystem::exists(path));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // only the owner may run commands
  for (int i = 0; i < 100 && !gone; ++i) {
    pollfd p{(*ep)->fd(), POLLIN, 0};
    poll(&p, 1, 10);
    (*ep)->on_readable();
  }
  EXPECT_TRUE(gone);
  EXPECT_TRUE((*ep)->finished());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ExecSessionTest, EndpointGivesUpOnAClientThatSendsNothing) {
  EndpointCallbacks cb;
  bool gone = false, started = false;
  cb.on_disconnect = [&] { gone = true; };
  cb.on_start = [&](const ExecRequest&) { started = true; };
  auto ep = ExecEndpoint::listen_in(dir_, cb, 100ms);
  ASSERT_TRUE(ep.ok());
  auto addr = unix_socket::path_address((*ep)->path());
  ASSERT_TRUE(addr.ok());
  UniqueFd c(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(connect(c.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr), 0);
  for (int i = 0; i < 300 && !gone; ++i) {
    pollfd p{(*ep)->fd(), POLLIN, 0};
    poll(&p, 1, 10);
    (*ep)->on_readable();
  }
  EXPECT_TRUE(gone);
  EXPECT_FALSE(started);
  EXPECT_TRUE((*ep)->finished());
  char b;
  EXPECT_EQ(recv(c.get(), &b, 1, 0), 0);  // the session closed the connection
}

}  // namespace
}  // namespace um::mconsole::exec
