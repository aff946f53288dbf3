// The mconsole server and client over real sockets in a temporary directory.
#include "core/mconsole/server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "core/mconsole/client.h"
#include "core/mconsole/protocol.h"
#include "core/unix_socket.h"

namespace um::mconsole {
namespace {

using namespace std::chrono_literals;

class MconsoleServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/um-mconsole-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/mconsole";
    auto s = Server::open(path_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(s.value());
  }
  void TearDown() override {
    server_.reset();
    rmdir(dir_.c_str());
  }

  // Runs the client on a thread while this thread plays the kernel's event loop.
  Result<Reply> call_pumped(const std::string& command, std::chrono::milliseconds timeout = 2000ms) {
    auto f = std::async(std::launch::async, [&] { return call(path_, command, timeout); });
    while (f.wait_for(0ms) != std::future_status::ready) pump(5ms);
    return f.get();
  }
  void pump(std::chrono::milliseconds wait) {
    pollfd p{server_->fd(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) > 0) server_->on_readable();
  }

  std::string dir_, path_;
  std::unique_ptr<Server> server_;
};

TEST_F(MconsoleServerTest, DispatchesByPrefixInRegistrationOrder) {
  std::string seen;
  server_->add_command("version", [](const std::string&, ReplyPtr r) { r->write("um 1.0"); });
  server_->add_command("sysrq", [&](const std::string& args, ReplyPtr r) { seen = args; r->write("ok"); });
  auto r = call_pumped("version");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->error);
  EXPECT_EQ(r->text, "um 1.0");
  r = call_pumped("versionXYZ");  // UML matches prefixes
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "um 1.0");
  r = call_pumped("sysrq   m");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(seen, "m");
}

TEST_F(MconsoleServerTest, UnknownCommandIsAnError) {
  auto r = call_pumped("frobnicate");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->error);
  EXPECT_EQ(r->text, "Unknown command");
}

TEST_F(MconsoleServerTest, ClientsThatNeverReadDoNotStarveOthers) {
  // A small send buffer so that the crowd fills it on any host (the default asks for 4 MiB).
  server_.reset();
  Server::Options o;
  o.send_buffer_bytes = 64 << 10;
  o.min_renew_interval = 0ms;
  o.stall_time = 20ms;
  auto s = Server::open(path_, o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  server_ = std::move(*s);
  std::string text(900, 'v');  // two packets per reply
  server_->add_command("version", [&](const std::string&, ReplyPtr r) { r->write(text); });

  // 150 clients connect, send requests and never read a reply (and reconnect when the
  // socket is renewed under them).
  std::vector<UniqueFd> crowd;
  auto addr = unix_socket::path_address(path_);
  ASSERT_TRUE(addr.ok());
  for (int i = 0; i < 150; ++i) {
    UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un autobind{};
    autobind.sun_family = AF_UNIX;
    ASSERT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&autobind), sizeof(sa_family_t)), 0);
    ASSERT_EQ(connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr), 0);
    crowd.push_back(std::move(fd));
  }
  auto req = encode_request("version");
  ASSERT_TRUE(req.ok());
  size_t sent = 0;
  for (int round = 0; round < 20; ++round) {
    for (auto& c : crowd) {
      if (send(c.get(), req->data(), req->size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
        ++sent;
      } else if (errno != EAGAIN) {
        // The socket they knew was renewed: they come back to the new one.
        (void)connect(c.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
      }
    }
    for (int i = 0; i < 100; ++i) pump(0ms);
    std::this_thread::sleep_for(5ms);  // past stall_time over the rounds: nobody reads
    pump(0ms);
  }
  EXPECT_GT(sent, 100u);  // they did get their requests in (past the send buffer)

  // Everyone else is still answered, whole and promptly.
  for (int i = 0; i < 3; ++i) {
    auto r = call_pumped("version", 2000ms);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->text, text);
  }
  EXPECT_GE(server_->renewals(), 1u);
}

TEST_F(MconsoleServerTest, LongReplyToAReaderThroughASmallSendBufferIsWholeWithoutRenewal) {
  // A client reading a reply far larger than the send buffer keeps the socket (it reads).
  server_.reset();
  Server::Options o;
  o.send_buffer_bytes = 16 << 10;
  auto s = Server::open(path_, o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  server_ = std::move(*s);
  std::string big;
  for (int i = 0; big.size() < 600 * 1024; ++i) big += "line " + std::to_string(i) + "\n";
  server_->add_command("proc", [&](const std::string&, ReplyPtr r) { r->write(big); });
  auto r = call_pumped("proc meminfo", 10000ms);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, big);
  EXPECT_EQ(server_->renewals(), 0u);
}

TEST_F(MconsoleServerTest, LongReplyArrivesCompleteAndInOrder) {
  // 200 KiB = ~400 packets, far past max_dgram_qlen: only a connected client gets them all.
  std::string big;
  for (int i = 0; big.size() < 200 * 1024; ++i) big += "line " + std::to_string(i) + "\n";
  server_->add_command("proc", [&](const std::string&, ReplyPtr r) { r->write(big); });
  auto r = call_pumped("proc meminfo");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, big);
  EXPECT_EQ(server_->queued_packets(), 0u);
}

TEST_F(MconsoleServerTest, LateStreamedReplyWithError) {
  ReplyPtr kept;
  server_->add_command("sysrq", [&](const std::string&, ReplyPtr r) { kept = r; });
  auto f = std::async(std::launch::async, [&] { return call(path_, "sysrq t", 2000ms); });
  while (!kept) pump(5ms);
  kept->set_error();
  for (int i = 0; i < 5; ++i) {
    kept->write(std::string(300, static_cast<char>('a' + i)));
    pump(1ms);
  }
  kept.reset();  // the last reference finishes the reply
  while (f.wait_for(0ms) != std::future_status::ready) pump(5ms);
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->error);
  EXPECT_EQ(r->text.size(), 1500u);
  EXPECT_EQ(r->text.substr(1200), std::string(300, 'e'));
}

TEST_F(MconsoleServerTest, FlushSendsPartialPacketsPromptly) {
  ReplyPtr kept;
  server_->add_command("sysrq", [&](const std::string&, ReplyPtr r) { kept = r; });
  auto f = std::async(std::launch::async, [&] { return call(path_, "sysrq m", 2000ms); });
  while (!kept) pump(5ms);
  kept->write("line 1\n");
  kept->flush();
  EXPECT_EQ(server_->queued_packets(), 0u);  // went out at once, not held for a full packet
  kept->write("line 2\n");
  kept.reset();
  while (f.wait_for(0ms) != std::future_status::ready) pump(5ms);
  auto r = f.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "line 1\nline 2\n");
}

TEST_F(MconsoleServerTest, HandlerExceptionBecomesErrorReply) {
  server_->add_command("boom", [](const std::string&, ReplyPtr) { throw std::runtime_error("bad"); });
  auto r = call_pumped("boom");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->error);
  EXPECT_NE(r->text.find("bad"), std::string::npos);
}

// A raw datagram client, to send malformed requests and read raw replies.
class RawClient {
 public:
  explicit RawClient(const std::string& server_path) {
    fd_ = UniqueFd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(sa_family_t)), 0);
    auto addr = unix_socket::path_address(server_path);
    EXPECT_EQ(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr.value()), sizeof(sockaddr_un)), 0);
  }
  // Never blocks (a test must not hang): the server's queue holds 10 datagrams, pump between.
  void send_raw(const std::string& d) {
    ASSERT_EQ(send(fd_.get(), d.data(), d.size(), MSG_DONTWAIT), (ssize_t)d.size());
  }
  // Empty when nothing came within the wait.
  std::string receive_raw(Server& s, std::chrono::milliseconds wait = 500ms) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      s.on_readable();
      char buf[2048];
      ssize_t n = recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n >= 0) return std::string(buf, n);
      std::this_thread::sleep_for(2ms);
    }
    return "";
  }

 private:
  UniqueFd fd_;
};

std::string header(uint32_t a, uint32_t b, uint32_t c) {
  std::string s(12, '\0');
  memcpy(s.data(), &a, 4);
  memcpy(s.data() + 4, &b, 4);
  memcpy(s.data() + 8, &c, 4);
  return s;
}

TEST_F(MconsoleServerTest, MalformedRequestsGetUmlsAnswers) {
  int runs = 0;
  server_->add_command("halt", [&](const std::string&, ReplyPtr) { ++runs; });
  RawClient c(path_);

  c.send_raw("halt");  // no magic: a version 0 client gets bare text
  EXPECT_EQ(c.receive_raw(*server_), std::string(kVersion0Reply));

  c.send_raw(header(0xcafebabe, 2, 600) + std::string(600, 'x'));
  auto p = decode_reply_packet(c.receive_raw(*server_));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->error);
  EXPECT_EQ(p->text, "Request too large");

  c.send_raw(header(0xcafebabe, 2, 0).substr(0, 6));
  p = decode_reply_packet(c.receive_raw(*server_));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->error);

  EXPECT_EQ(runs, 0);
  c.send_raw(header(0xcafebabe, 1, 4) + "halt");  // wrong version: error, yet executed
  p = decode_reply_packet(c.receive_raw(*server_));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->error);
  EXPECT_EQ(p->text, "This driver only supports version 2 clients");
  p = decode_reply_packet(c.receive_raw(*server_));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->error);
  EXPECT_EQ(runs, 1);
}

TEST_F(MconsoleServerTest, UnconnectedSlowClientIsQueuedNotBlocking) {
  // An uml_mconsole-style client (bound, not connected) that does not read: its receive queue
  // fills at max_dgram_qlen; the server must queue the rest, not block, and not lose order.
  std::string big(511 * 40, 'z');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i / 511) % 26);
  server_->add_command("big", [&](const std::string&, ReplyPtr r) { r->write(big); });
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(sa_family_t)), 0);
  auto srv = unix_socket::path_address(path_);
  std::string req = *encode_request("big");
  ASSERT_GT(sendto(fd.get(), req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&srv.value()), sizeof(sockaddr_un)), 0);
  auto t0 = std::chrono::steady_clock::now();
  server_->on_readable();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  EXPECT_GT(server_->queued_packets(), 0u);
  std::string got;
  bool more = true;
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (more && std::chrono::steady_clock::now() < deadline) {
    char buf[1024];
    ssize_t n = recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) { pump(5ms); continue; }
    auto p = decode_reply_packet(std::string_view(buf, n));
    ASSERT_TRUE(p.ok());
    got += p->text;
    more = p->more;
  }
  EXPECT_FALSE(more);
  EXPECT_EQ(got, big);
}

TEST_F(MconsoleServerTest, VanishedClientsRepliesAreDropped) {
  server_->add_command("big", [&](const std::string&, ReplyPtr r) { r->write(std::string(511 * 40, 'q')); });
  {
    RawClient c(path_);
    c.send_raw(*encode_request("big"));
    server_->on_readable();
  }  // the client is gone with its queue
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (server_->queued_packets() > 0 && std::chrono::steady_clock::now() < deadline) pump(5ms);
  EXPECT_EQ(server_->queued_packets(), 0u);
}

TEST_F(MconsoleServerTest, ClientTimesOutWhenNobodyAnswers) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = call(path_, "version", 200ms);  // nobody pumps the server
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ETIMEDOUT);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
}

TEST_F(MconsoleServerTest, ClientReportsStaleSocket) {
  std::string stale = dir_ + "/stale";
  {
    auto addr = unix_socket::path_address(stale);
    auto fd = unix_socket::bind(SOCK_DGRAM, addr.value());
    ASSERT_TRUE(fd.ok());
  }
  auto r = call(stale, "version", 500ms);
  unlink(stale.c_str());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ECONNREFUSED);
}

// Random garbage from many clients: the server answers or ignores each datagram, never
// crashes or stalls, and still serves a proper client afterwards.
TEST_F(MconsoleServerTest, RandomDatagramsNeverBreakTheServer) {
  server_->add_command("version", [](const std::string&, ReplyPtr r) { r->write("v"); });
  server_->add_command("big", [](const std::string&, ReplyPtr r) { r->write(std::string(3000, 'b')); });
  std::mt19937 rng(7);
  std::string valid = *encode_request("big");
  for (int round = 0; round < 50; ++round) {
    RawClient c(path_);
    for (int i = 0; i < 20; ++i) {
      std::string d;
      if (rng() % 2) {
        d.resize(rng() % 700);
        for (auto& ch : d) ch = static_cast<char>(rng());
      } else {
        d = valid.substr(0, rng() % (valid.size() + 1));
        if (!d.empty()) d[rng() % d.size()] = static_cast<char>(rng());
      }
      c.send_raw(d.empty() ? std::string("x") : d);
      server_->on_readable();
    }
  }  // every client vanished, some with unread replies
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (server_->queued_packets() > 0 && std::chrono::steady_clock::now() < deadline) pump(5ms);
  EXPECT_EQ(server_->queued_packets(), 0u);
  auto r = call_pumped("version");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, "v");
}

TEST(MconsoleClient, ResolveFallsBackToLiteralPathAndExplainsFailure) {
  auto r = resolve_socket("no-such-vm-xyz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().message.find("no-such-vm-xyz"), std::string::npos);
  auto c = candidate_sockets("vm1");
  ASSERT_GE(c.size(), 3u);
  EXPECT_TRUE(c[0].ends_with("/vm1/mconsole"));
  EXPECT_EQ(c[1], "/tmp/uml/vm1/mconsole");
}

}  // namespace
}  // namespace um::mconsole
