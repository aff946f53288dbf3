#include "core/console/share_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/console/telnet.h"
#include "core/log.h"
#include "core/unix_socket.h"

namespace um::console {

struct ShareServer::Client {
  UniqueFd fd;
  bool greeted = false;            // hello accepted (telnet clients: at once)
  Mode mode = Mode::ReadWrite;
  std::string hello;               // the hello line so far
  InputDecoder attach;
  telnet::Decoder telnet;
  std::string out;                 // queued output, from out_off
  size_t out_off = 0;
  bool close_when_flushed = false;
  bool watching_writable = false;

  size_t queued() const { return out.size() - out_off; }
};

namespace {

Result<UniqueFd> make_epoll(int listener) {
  UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return Error::from_errno("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, listener, &ev) != 0) return Error::from_errno("epoll_ctl");
  return ep;
}

ShareOptions sane(ShareOptions o) {
  o.client_queue_bytes = std::max(o.client_queue_bytes, o.scrollback_bytes + 64 * 1024);
  o.max_clients = std::max<size_t>(o.max_clients, 1);
  return o;
}

}  // namespace

ShareServer::ShareServer(Transport t, UniqueFd listener, UniqueFd epoll, ShareOptions o, ShareCallbacks c)
    : transport_(t), listener_(std::move(listener)), epoll_(std::move(epoll)), options_(sane(o)),
      callbacks_(std::move(c)), scrollback_(options_.scrollback_bytes) {}

ShareServer::~ShareServer() {
  clients_.clear();
  if (!unix_path_.empty()) unlink(unix_path_.c_str());
}

Result<std::unique_ptr<ShareServer>> ShareServer::listen_unix(const std::string& path, ShareOptions options,
                                                              ShareCallbacks callbacks) {
  UniqueFd listener = UM_TRY(unix_socket::listen_stream(path));
  int flags = fcntl(listener.get(), F_GETFL);
  fcntl(listener.get(), F_SETFL, flags | O_NONBLOCK);
  UniqueFd ep = UM_TRY(make_epoll(listener.get()));
  std::unique_ptr<ShareServer> s(
      new ShareServer(Transport::Unix, std::move(listener), std::move(ep), options, std::move(callbacks)));
  s->unix_path_ = path;
  return s;
}

Result<std::unique_ptr<ShareServer>> ShareServer::listen_tcp(uint16_t port, ShareOptions options,
                                                             ShareCallbacks callbacks) {
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener) return Error::from_errno("socket");
  int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return Error::from_errno("cannot listen on 127.0.0.1:" + std::to_string(port));
  if (listen(listener.get(), 16) != 0) return Error::from_errno("listen");
  socklen_t len = sizeof a;
  getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len);
  UniqueFd ep = UM_TRY(make_epoll(listener.get()));
  std::unique_ptr<ShareServer> s(
      new ShareServer(Transport::Telnet, std::move(listener), std::move(ep), options, std::move(callbacks)));
  s->tcp_port_ = ntohs(a.sin_port);
  return s;
}

void ShareServer::on_readable() {
  in_event_ = true;
  epoll_event events[32];
  int n = epoll_wait(epoll_.get(), events, 32, 0);
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    if (fd == listener_.get()) accept_clients();
    else on_client_event(fd, events[i].events);
  }
  in_event_ = false;
  std::vector<int> doomed;
  doomed.swap(doomed_);
  for (int fd : doomed) drop(fd);
}

void ShareServer::accept_clients() {
  for (;;) {
    UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
        UM_WARN("console: accept: %s", strerror(errno));
      return;
    }
    if (clients_.size() >= options_.max_clients) {
      if (transport_ == Transport::Unix) {
        std::string no = encode_refusal("too many clients");
        (void)!send(fd.get(), no.data(), no.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      continue;  // closed by UniqueFd
    }
    int raw = fd.get();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = raw;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, raw, &ev) != 0) continue;
    auto c = std::make_unique<Client>();
    c->fd = std::move(fd);
    Client& client = *c;
    clients_[raw] = std::move(c);
    client.attach.on_input = [this, &client](std::string_view b) {
      if (mode_accepts_input(client.mode) && callbacks_.on_input) callbacks_.on_input(b);
    };
    client.attach.on_window_size = [this, &client](uint16_t r, uint16_t cols) {
      if (mode_accepts_input(client.mode) && callbacks_.on_window_size) callbacks_.on_window_size(r, cols);
    };
    client.telnet.on_input = client.attach.on_input;
    client.telnet.on_window_size = client.attach.on_window_size;
    if (transport_ == Transport::Telnet) {
      client.greeted = true;
      if (!send_to(client, telnet::greeting())) { doomed_.push_back(raw); continue; }
      start_output(client);
    }
  }
}

void ShareServer::on_client_event(int fd, uint32_t events) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (events & EPOLLOUT) {
    if (!flush(c)) { doomed_.push_back(fd); return; }
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    char buf[4096];
    for (int round = 0; round < 16; ++round) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        handle_client_bytes(c, std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      doomed_.push_back(fd);  // EOF or error: the client is gone
      return;
    }
  }
}

void ShareServer::handle_client_bytes(Client& c, std::string_view bytes) {
  if (c.close_when_flushed) return;
  if (transport_ == Transport::Telnet) {
    c.telnet.feed(bytes);
    return;
  }
  if (!c.greeted) {
    size_t nl = bytes.find('\n');
    c.hello.append(bytes.substr(0, nl));
    if (c.hello.size() > kMaxHelloLine) {
      doomed_.push_back(c.fd.get());
      return;
    }
    if (nl == std::string_view::npos) return;
    bytes.remove_prefix(nl + 1);
    auto mode = decode_hello(c.hello);
    if (!mode) {
      c.close_when_flushed = true;
      if (!send_to(c, encode_refusal(mode.error().message)) || !flush(c)) doomed_.push_back(c.fd.get());
      return;
    }
    c.greeted = true;
    c.mode = *mode;
    if (!send_to(c, encode_ok())) { doomed_.push_back(c.fd.get()); return; }
    start_output(c);
  }
  if (!bytes.empty() && !c.attach.feed(bytes).ok()) doomed_.push_back(c.fd.get());
}

void ShareServer::start_output(Client& c) {
  if (mode_reads_output(c.mode) && !send_to(c, transport_ == Transport::Telnet
                                                   ? telnet::escape_output(scrollback_.contents())
                                                   : scrollback_.contents())) {
    doomed_.push_back(c.fd.get());
    return;
  }
  if (c.mode == Mode::Dump) {
    c.close_when_flushed = true;
    if (!flush(c)) doomed_.push_back(c.fd.get());
  }
}

void ShareServer::write_output(std::string_view bytes) {
  if (bytes.empty()) return;
  scrollback_.append(bytes);
  std::string escaped;
  if (transport_ == Transport::Telnet) escaped = telnet::escape_output(bytes);
  std::string_view wire = transport_ == Transport::Telnet ? std::string_view(escaped) : bytes;
  for (auto& [fd, c] : clients_) {
    if (!c->greeted || c->close_when_flushed || !mode_reads_output(c->mode)) continue;
    if (!send_to(*c, wire)) doomed_.push_back(fd);
  }
  if (in_event_) return;  // called from on_input inside on_readable: it drops them at the end
  std::vector<int> doomed;
  doomed.swap(doomed_);
  for (int fd : doomed) drop(fd);
}

bool ShareServer::send_to(Client& c, std::string_view bytes) {
  if (c.queued() == 0) {
    c.out.clear();
    c.out_off = 0;
    while (!bytes.empty()) {
      ssize_t n = send(c.fd.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) { bytes.remove_prefix(static_cast<size_t>(n)); continue; }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
  }
  if (c.queued() + bytes.size() > options_.client_queue_bytes) {
    UM_DEBUG("console: dropping a client that fell %zu bytes behind", c.queued() + bytes.size());
    return false;
  }
  c.out.append(bytes);
  update_interest(c);
  return true;
}

bool ShareServer::flush(Client& c) {
  while (c.queued() > 0) {
    ssize_t n = send(c.fd.get(), c.out.data() + c.out_off, c.queued(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) { c.out_off += static_cast<size_t>(n); continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return false;
  }
  if (c.out_off > 0 && c.out_off * 2 >= c.out.size()) {
    c.out.erase(0, c.out_off);
    c.out_off = 0;
  }
  update_interest(c);
  return !(c.queued() == 0 && c.close_when_flushed);  // done: the caller closes it
}

void ShareServer::update_interest(Client& c) {
  bool want = c.queued() > 0;
  if (want == c.watching_writable) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want ? uint32_t{EPOLLOUT} : 0u);
  ev.data.fd = c.fd.get();
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) == 0) c.watching_writable = want;
}

void ShareServer::drop(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  clients_.erase(it);
}

// ---- FileLog ------------------------------------------------------------------------------

Result<FileLog> FileLog::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) return Error::from_errno("cannot open console log " + path);
  return FileLog(path, std::move(fd));
}

void FileLog::write_output(std::string_view bytes) {
  while (fd_ && !bytes.empty()) {
    ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n > 0) { bytes.remove_prefix(static_cast<size_t>(n)); continue; }
    if (n < 0 && errno == EINTR) continue;
    UM_WARN("console log %s: %s; no more output is logged there", path_.c_str(),
            n < 0 ? strerror(errno) : "short write");
    fd_.reset();
  }
}

}  // namespace um::console
