// Shared console server, attach protocol, telnet and scrollback, over real sockets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/console/attach_protocol.h"
#include "core/console/scrollback.h"
#include "core/console/share_server.h"
#include "core/console/telnet.h"
#include "core/unix_socket.h"

namespace um::console {
namespace {

using namespace std::chrono_literals;

TEST(Scrollback, KeepsTheNewestBytes) {
  Scrollback s(8);
  s.append("abc");
  EXPECT_EQ(s.contents(), "abc");
  s.append("defgh");
  EXPECT_EQ(s.contents(), "abcdefgh");
  s.append("ij");
  EXPECT_EQ(s.contents(), "cdefghij");
  s.append("0123456789xyz");
  EXPECT_EQ(s.contents(), "56789xyz");
  s.append("Q");
  EXPECT_EQ(s.contents(), "6789xyzQ");
  EXPECT_EQ(s.size(), 8u);
}

TEST(AttachProtocol, HelloAndAnswer) {
  for (Mode m : {Mode::ReadWrite, Mode::ReadOnly, Mode::Dump, Mode::InputOnly}) {
    std::string h = encode_hello(m);
    ASSERT_EQ(h.back(), '\n');
    auto d = decode_hello(std::string_view(h).substr(0, h.size() - 1));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, m);
  }
  EXPECT_FALSE(decode_hello("GET / HTTP/1.0").ok());
  EXPECT_FALSE(decode_hello("UMCONSOLE 1 fly").ok());
  EXPECT_TRUE(decode_answer("UMCONSOLE 1 OK").ok());
  auto no = decode_answer("UMCONSOLE 1 ERR too many clients");
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.error().message, "too many clients");
  EXPECT_FALSE(decode_answer("SSH-2.0-OpenSSH").ok());
}

TEST(AttachProtocol, InputEscapesSurviveAnySplit) {
  std::string stream = encode_input(std::string("a\xff" "b", 3)) + encode_window_size(40, 132) +
                       encode_input("\xff\xff") + "z";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    InputDecoder d;
    std::string input;
    std::vector<std::pair<int, int>> sizes;
    d.on_input = [&](std::string_view b) { input += b; };
    d.on_window_size = [&](uint16_t r, uint16_t c) { sizes.push_back({r, c}); };
    ASSERT_TRUE(d.feed(stream.substr(0, cut)).ok());
    ASSERT_TRUE(d.feed(stream.substr(cut)).ok());
    EXPECT_EQ(input, std::string("a\xff" "b\xff\xffz", 6)) << cut;
    ASSERT_EQ(sizes.size(), 1u);
    EXPECT_EQ(sizes[0], std::make_pair(40, 132));
  }
  InputDecoder bad;
  EXPECT_FALSE(bad.feed("\xff?").ok());
}

TEST(Telnet, StripsNegotiationAndDecodesNaws) {
  telnet::Decoder d;
  std::string input;
  std::pair<int, int> size{0, 0};
  d.on_input = [&](std::string_view b) { input += b; };
  d.on_window_size = [&](uint16_t r, uint16_t c) { size = {r, c}; };
  const unsigned char wire[] = {'l', 's', '\r', 0, 255, 251, 31,  255, 250, 31, 0, 80, 0, 24, 255, 240,
                                'x', 255, 255, '\r', '\n', 255, 241, 'y'};
  std::string s(reinterpret_cast<const char*>(wire), sizeof wire);
  for (char c : s) d.feed(std::string_view(&c, 1));  // byte by byte: state survives splits
  EXPECT_EQ(input, std::string("ls\rx\xff\ry", 7));
  EXPECT_EQ(size, std::make_pair(24, 80));
  EXPECT_EQ(telnet::escape_output("a\xff"), std::string("a\xff\xff", 3));
}

// ---- the server over real sockets ---------------------------------------------------------------

class ShareServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/um-console-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    server_.reset();
    rmdir(dir_.c_str());
  }
  void start(ShareOptions o = {}) {
    ShareCallbacks cb;
    cb.on_input = [this](std::string_view b) { input_ += b; };
    cb.on_window_size = [this](uint16_t r, uint16_t c) { winsize_ = {r, c}; };
    auto s = ShareServer::listen_unix(dir_ + "/con1", o, cb);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(s.value());
  }
  void pump(std::chrono::milliseconds wait = 0ms) {
    pollfd p{server_->fd(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) > 0) server_->on_readable();
  }
  UniqueFd attach(Mode mode) {
    auto fd = unix_socket::connect(SOCK_STREAM, dir_ + "/con1");
    EXPECT_TRUE(fd.ok());
    std::string h = encode_hello(mode);
    EXPECT_EQ(send(fd->get(), h.data(), h.size(), 0), static_cast<ssize_t>(h.size()));
    return std::move(fd.value());
  }
  // Reads until `needle` shows up (pumping the server), or 2 s pass; returns all read so far.
  std::string read_until(int fd, std::string_view needle, std::string* acc) {
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (acc->find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pump();
      char buf[65536];
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) acc->append(buf, n);
      else if (n == 0) break;
      else std::this_thread::sleep_for(1ms);
    }
    return *acc;
  }
  bool wait_closed(int fd) {
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < deadline) {
      pump();
      char buf[65536];
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n < 0) std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  std::string dir_;
  std::unique_ptr<ShareServer> server_;
  std::string input_;
  std::pair<int, int> winsize_{0, 0};
};

TEST_F(ShareServerTest, AllClientsSeeOutputLateOnesGetScrollbackAndRwMayType) {
  start();
  server_->write_output("boot line 1\n");
  UniqueFd a = attach(Mode::ReadWrite);
  std::string got_a;
  read_until(a.get(), "boot line 1\n", &got_a);
  EXPECT_EQ(got_a, "UMCONSOLE 1 OK\nboot line 1\n");

  UniqueFd r = attach(Mode::ReadOnly);
  std::string got_r;
  read_until(r.get(), "boot line 1\n", &got_r);
  server_->write_output("login: ");
  read_until(a.get(), "login: ", &got_a);
  read_until(r.get(), "login: ", &got_r);
  EXPECT_EQ(got_r, "UMCONSOLE 1 OK\nboot line 1\nlogin: ");
  EXPECT_EQ(server_->client_count(), 2u);

  std::string typed = encode_input("root\n") + encode_window_size(50, 160);
  send(a.get(), typed.data(), typed.size(), 0);
  std::string ignored = encode_input("evil\n") + encode_window_size(1, 1);
  send(r.get(), ignored.data(), ignored.size(), 0);
  for (int i = 0; i < 100 && (input_.size() < 5 || winsize_.first == 0); ++i) pump(10ms);
  for (int i = 0; i < 5; ++i) pump(5ms);
  EXPECT_EQ(input_, "root\n");
  EXPECT_EQ(winsize_, std::make_pair(50, 160));
}

TEST_F(ShareServerTest, DumpGetsScrollbackThenClose_InputGetsNothing) {
  ShareOptions o;
  o.scrollback_bytes = 64 * 1024;
  start(o);
  std::string big;
  for (int i = 0; big.size() < 100 * 1024; ++i) big += "line " + std::to_string(i) + "\n";
  server_->write_output(big);
  UniqueFd d = attach(Mode::Dump);
  std::string got;
  EXPECT_TRUE(wait_closed(d.get()));  // reads (and discards) the dump until the server closes
  UniqueFd d2 = attach(Mode::Dump);
  auto deadline = std::chrono::steady_clock::now() + 2s;
  for (;;) {
    pump();
    char buf[65536];
    ssize_t n = recv(d2.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) { got.append(buf, n); continue; }
    if (n == 0) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "dump client was not closed";
    std::this_thread::sleep_for(1ms);
  }
  std::string expect = "UMCONSOLE 1 OK\n" + big.substr(big.size() - 64 * 1024);
  EXPECT_EQ(got, expect);

  UniqueFd in = attach(Mode::InputOnly);
  std::string t = encode_input("echo hi\n");
  send(in.get(), t.data(), t.size(), 0);
  std::string got_in;
  read_until(in.get(), "OK\n", &got_in);
  server_->write_output("more output\n");
  for (int i = 0; i < 10; ++i) pump(5ms);
  char buf[256];
  ssize_t n = recv(in.get(), buf, sizeof buf, MSG_DONTWAIT);
  EXPECT_EQ(got_in, "UMCONSOLE 1 OK\n");
  EXPECT_LT(n, 0);  // nothing beyond the answer
  EXPECT_EQ(input_, "echo hi\n");
}

TEST_F(ShareServerTest, BadHelloIsRefused) {
  start();
  auto fd = unix_socket::connect(SOCK_STREAM, dir_ + "/con1");
  ASSERT_TRUE(fd.ok());
  send(fd->get(), "hello there\n", 12, 0);
  std::string got;
  read_until(fd->get(), "\n", &got);
  EXPECT_TRUE(got.starts_with("UMCONSOLE 1 ERR ")) << got;
  EXPECT_TRUE(wait_closed(fd->get()));
}

TEST_F(ShareServerTest, StalledClientIsDroppedOthersAndKernelNeverWait) {
  ShareOptions o;
  o.scrollback_bytes = 4096;
  o.client_queue_bytes = 0;  // raised to scrollback + 64 KiB
  start(o);
  UniqueFd stalled = attach(Mode::ReadOnly);
  UniqueFd live = attach(Mode::ReadOnly);
  std::string got;
  read_until(live.get(), "OK\n", &got);
  pump(5ms);
  std::string chunk(16 * 1024, 'x');
  auto t0 = std::chrono::steady_clock::now();
  size_t sent = 0;
  for (int i = 0; i < 200; ++i) {  // 3.2 MB; `live` keeps reading, `stalled` never does
    server_->write_output(chunk);
    sent += chunk.size();
    char buf[65536];
    while (recv(live.get(), buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    pump();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(server_->client_count(), 1u);
  EXPECT_TRUE(wait_closed(stalled.get()));
}

TEST_F(ShareServerTest, VanishedClientsAreForgotten) {
  start();
  {
    UniqueFd a = attach(Mode::ReadWrite);
    std::string got;
    read_until(a.get(), "OK\n", &got);
    EXPECT_EQ(server_->client_count(), 1u);
  }
  for (int i = 0; i < 50 && server_->client_count() > 0; ++i) pump(10ms);
  EXPECT_EQ(server_->client_count(), 0u);
  server_->write_output("nobody listens\n");  // must not fail or block
}

TEST_F(ShareServerTest, ClientLimitIsEnforced) {
  ShareOptions o;
  o.max_clients = 2;
  start(o);
  UniqueFd a = attach(Mode::ReadOnly), b = attach(Mode::ReadOnly);
  std::string ga, gb;
  read_until(a.get(), "OK\n", &ga);
  read_until(b.get(), "OK\n", &gb);
  UniqueFd c = attach(Mode::ReadOnly);
  std::string gc;
  read_until(c.get(), "\n", &gc);
  EXPECT_EQ(gc, "UMCONSOLE 1 ERR too many clients\n");
}

TEST(ShareServerTcp, TelnetClientGetsNegotiationScrollbackAndTypes) {
  std::string input;
  std::pair<int, int> ws{0, 0};
  ShareCallbacks cb;
  cb.on_input = [&](std::string_view b) { input += b; };
  cb.on_window_size = [&](uint16_t r, uint16_t c) { ws = {r, c}; };
  auto s = ShareServer::listen_tcp(0, {}, cb);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto& srv = *s.value();
  ASSERT_NE(srv.tcp_port(), 0);
  srv.write_output("hello \xff world\n");
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(srv.tcp_port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  std::string want = telnet::greeting() + "hello \xff\xff world\n";
  while (got.size() < want.size() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{srv.fd(), POLLIN, 0};
    if (poll(&p, 1, 5) > 0) srv.on_readable();
    char buf[512];
    ssize_t n = recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, n);
  }
  EXPECT_EQ(got, want);
  const unsigned char typed[] = {255, 250, 31, 0, 100, 0, 30, 255, 240, 'i', 'd', '\r', 0};
  send(fd.get(), typed, sizeof typed, 0);
  for (int i = 0; i < 100 && input.size() < 3; ++i) {
    pollfd p{srv.fd(), POLLIN, 0};
    if (poll(&p, 1, 10) > 0) srv.on_readable();
  }
  EXPECT_EQ(input, "id\r");
  EXPECT_EQ(ws, std::make_pair(30, 100));
}

TEST(FileLog, AppendsOutput) {
  char tmpl[] = "/tmp/um-filelog.XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  auto log = FileLog::open(tmpl);
  ASSERT_TRUE(log.ok());
  log->write_output("one\n");
  log->write_output("two\n");
  std::ifstream in(tmpl);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  unlink(tmpl);
  EXPECT_EQ(all, "one\ntwo\n");
  EXPECT_FALSE(FileLog::open("/nonexistent-dir/x.log").ok());
}

}  // namespace
}  // namespace um::console
