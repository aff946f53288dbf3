#include "core/mconsole/server.h"

#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <map>

#include "core/log.h"
#include "core/mconsole/protocol.h"
#include "core/unix_socket.h"

namespace um::mconsole {

using Clock = std::chrono::steady_clock;

// The socket plus the packets that could not be sent yet. Shared with ReplySinks (weakly) so
// that late replies work and outlive nothing.
class Outbox {
 public:
  Outbox(UniqueFd sock, UniqueFd timer, Server::Options o)
      : sock_(std::move(sock)), timer_(std::move(timer)), opt_(o) {}

  int sock() const { return sock_.get(); }
  int timer() const { return timer_.get(); }
  size_t queued() const { return queue_.size(); }
  // The send buffer is held by replies nobody reads: the socket should be renewed.
  bool starved() const { return starved_; }
  UniqueFd replace_socket(UniqueFd sock) {
    std::swap(sock_, sock);
    starved_ = false;
    unread_after_last_ = 0;
    read_at_ = Clock::now();
    return sock;
  }

  // Sends now, or queues behind earlier packets for the same peer to keep their order.
  void send(const sockaddr_un& peer, socklen_t len, std::string packet) {
    Peer key = make_peer(peer, len);
    auto queued = peer_bytes_.find(key);
    if (queued == peer_bytes_.end()) {
      switch (try_send(key, packet)) {
        case Sent::Done: return;
        case Sent::PeerGone: return;
        case Sent::Again: break;
      }
    } else if (queued->second + packet.size() > opt_.max_peer_queued_bytes) {
      // A client this far behind does not read: its replies go, nobody else's.
      UM_WARN("mconsole: a client is not reading its replies; dropping them");
      drop_peer(key);
      return;
    }
    peer_bytes_[key] += packet.size();
    queued_bytes_ += packet.size();
    queue_.push_back({key, std::move(packet), Clock::now() + opt_.max_queue_time});
    enforce_bound();
    arm_timer();
  }

  // Retries queued packets in order; a peer that is still full keeps its later packets.
  void flush() {
    uint64_t ticks;
    while (read(timer_.get(), &ticks, sizeof ticks) > 0) {
    }
    std::vector<Peer> blocked, dead;
    auto contains = [](const std::vector<Peer>& v, const Peer& p) {
      return std::find(v.begin(), v.end(), p) != v.end();
    };
    auto now = Clock::now();
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (contains(blocked, it->peer)) { ++it; continue; }
      bool drop = contains(dead, it->peer);
      if (!drop && now > it->deadline) {
        UM_WARN("mconsole: dropping a reply its client did not read in time");
        drop = true;
      }
      if (!drop) {
        Sent s = try_send(it->peer, it->packet);
        if (s == Sent::Again) { blocked.push_back(it->peer); ++it; continue; }
        drop = s == Sent::PeerGone;
      }
      if (drop && !contains(dead, it->peer)) dead.push_back(it->peer);
      unqueue(*it);
      it = queue_.erase(it);
    }
    arm_timer();
  }

 private:
  // Peers are compared by their raw address bytes (abstract names may contain NULs).
  using Peer = std::string;
  struct Pending {
    Peer peer;
    std::string packet;
    Clock::time_point deadline;
  };
  enum class Sent { Done, Again, PeerGone };

  static Peer make_peer(const sockaddr_un& a, socklen_t len) {
    return Peer(reinterpret_cast<const char*>(&a), std::min<size_t>(len, sizeof a));
  }

  // Replies not yet read by their clients hold the send buffer (SIOCOUTQ, which only a read
  // or a closing client lowers). Near full with nothing read for stall_time: sends to everyone
  // will fail, the socket is due for renewal. A client reading a long reply lowers it.
  int unread_bytes() const {
    int outq = 0;
    return ioctl(sock_.get(), SIOCOUTQ, &outq) == 0 ? outq : 0;
  }
  void watch_unread(int before, int after) {
    auto now = Clock::now();
    int sndbuf = 0;
    socklen_t l = sizeof sndbuf;
    if (getsockopt(sock_.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, &l) != 0) return;
    if (before < unread_after_last_ || int64_t(after) < int64_t(sndbuf) / 4 * 3) read_at_ = now;
    unread_after_last_ = after;
    if (now - read_at_ >= opt_.stall_time) starved_ = true;
  }

  Sent try_send(const Peer& peer, const std::string& packet) {
    int before = unread_bytes();
    ssize_t n = sendto(sock_.get(), packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(peer.data()), static_cast<socklen_t>(peer.size()));
    int err = errno;
    watch_unread(before, n >= 0 ? unread_bytes() : before);
    if (n >= 0) return Sent::Done;
    errno = err;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return Sent::Again;
    UM_DEBUG("mconsole: reply not delivered: %s", strerror(errno));
    return Sent::PeerGone;  // ECONNREFUSED/ENOENT: the client went away
  }

  void unqueue(const Pending& p) {
    queued_bytes_ -= p.packet.size();
    auto it = peer_bytes_.find(p.peer);
    if (it != peer_bytes_.end() && (it->second -= p.packet.size()) == 0) peer_bytes_.erase(it);
  }

  void drop_peer(const Peer& peer) {
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->peer == peer) {
        unqueue(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void enforce_bound() {
    while (queued_bytes_ > opt_.max_queued_bytes && !peer_bytes_.empty()) {
      // The client with the most waiting goes first (the one reading least).
      auto most = std::max_element(peer_bytes_.begin(), peer_bytes_.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
      UM_WARN("mconsole: reply queue full, dropping the replies of the client furthest behind");
      drop_peer(Peer(most->first));
    }
  }

  void arm_timer() {
    itimerspec its{};
    if (!queue_.empty()) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(opt_.retry_interval).count();
      its.it_value.tv_sec = ns / 1000000000;
      its.it_value.tv_nsec = ns % 1000000000;
      if (ns == 0) its.it_value.tv_nsec = 1;
    }
    timerfd_settime(timer_.get(), 0, &its, nullptr);
  }

  UniqueFd sock_;
  UniqueFd timer_;
  Server::Options opt_;
  std::list<Pending> queue_;
  size_t queued_bytes_ = 0;
  std::map<Peer, size_t> peer_bytes_;  // queued bytes per peer (peers with none absent)
  bool starved_ = false;
  int unread_after_last_ = 0;             // SIOCOUTQ after the last send
  Clock::time_point read_at_ = Clock::now();  // when a client was last seen reading
};

// ---- ReplySink ------------------------------------------------------------------------------

ReplySink::ReplySink(std::weak_ptr<Outbox> outbox, const sockaddr_un& peer, socklen_t peer_len)
    : outbox_(std::move(outbox)), peer_(peer), peer_len_(peer_len) {}

ReplySink::~ReplySink() { finish(); }

void ReplySink::set_error() {
  if (!started_) error_ = true;
}

void ReplySink::write(std::string_view text) {
  if (finished_) return;
  buffer_.append(text);
  // Keep the tail back so that finish() always has the final (more=0) packet to send.
  while (buffer_.size() > kMaxReplyText) {
    send_packet(std::string_view(buffer_).substr(0, kMaxReplyText), true);
    buffer_.erase(0, kMaxReplyText);
  }
}

void ReplySink::flush() {
  if (finished_ || buffer_.empty()) return;
  send_packet(buffer_, true);
  buffer_.clear();
}

void ReplySink::finish() {
  if (finished_) return;
  send_packet(buffer_, false);
  buffer_.clear();
  finished_ = true;
}

void ReplySink::fail(std::string_view message) {
  set_error();
  write(message);
  finish();
}

void ReplySink::send_packet(std::string_view text, bool more) {
  ReplyPacket p{error_ && !started_, more, std::string(text)};
  started_ = true;
  if (auto outbox = outbox_.lock()) outbox->send(peer_, peer_len_, encode_reply_packet(p));
}

// ---- Server -----------------------------------------------------------------------------------

Server::Server(std::string path, UniqueFd epoll, std::shared_ptr<Outbox> outbox)
    : path_(std::move(path)), epoll_(std::move(epoll)), outbox_(std::move(outbox)) {}

Server::~Server() {
  if (outbox_) unlink(path_.c_str());
}

Result<std::unique_ptr<Server>> Server::open(const std::string& socket_path) {
  return open(socket_path, Options{});
}

Result<std::unique_ptr<Server>> Server::open(const std::string& socket_path, Options options) {
  auto addr = UM_TRY(unix_socket::path_address(socket_path));
  UniqueFd sock = UM_TRY(unix_socket::bind(SOCK_DGRAM, addr, /*nonblocking=*/true));
  int sndbuf = int(std::min<size_t>(options.send_buffer_bytes, INT32_MAX / 2));
  (void)setsockopt(sock.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer) return Error::from_errno("timerfd_create");
  UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return Error::from_errno("epoll_create1");
  for (int fd : {sock.get(), timer.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return Error::from_errno("epoll_ctl");
  }
  auto outbox = std::make_shared<Outbox>(std::move(sock), std::move(timer), options);
  auto server = std::unique_ptr<Server>(new Server(socket_path, std::move(ep), std::move(outbox)));
  server->options_ = options;
  return server;
}

void Server::add_command(std::string name, Handler handler) {
  for (auto& c : commands_)
    if (c.name == name) { c.handler = std::move(handler); return; }
  commands_.push_back({std::move(name), std::move(handler)});
}

size_t Server::queued_packets() const { return outbox_->queued(); }
int Server::socket_fd() const { return outbox_->sock(); }

void Server::on_readable() {
  outbox_->flush();
  // Bounded per call so that a flood of requests cannot starve the rest of the kernel loop.
  read_requests(outbox_->sock(), 64);
  if (outbox_->starved() && Clock::now() - last_renewal_ >= options_.min_renew_interval) renew_socket();
}

void Server::read_requests(int sock, int max) {
  for (int i = 0; i < max; ++i) {
    char buf[kRequestSize + 64];
    sockaddr_un peer{};
    socklen_t peer_len = sizeof peer;
    ssize_t n = recvfrom(sock, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), &peer_len);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        UM_WARN("mconsole: recvfrom: %s", strerror(errno));
      return;
    }
    if (peer_len <= sizeof(sa_family_t)) {
      UM_DEBUG("mconsole: ignoring a request from an unbound socket (cannot reply)");
      continue;
    }
    handle_datagram(std::string_view(buf, static_cast<size_t>(n)), peer, peer_len);
  }
}

// A fresh socket at the same path: the old one's send buffer is held by replies clients do
// not read, and only closing it gives that memory back.
void Server::renew_socket() {
  last_renewal_ = Clock::now();
  std::string tmp = path_ + ".renew";
  auto addr = unix_socket::path_address(tmp);
  if (!addr) return;
  ::unlink(tmp.c_str());
  auto fresh = unix_socket::bind(SOCK_DGRAM, *addr, /*nonblocking=*/true);
  if (!fresh) {
    UM_WARN("mconsole: cannot renew the socket: %s", fresh.error().message.c_str());
    return;
  }
  int sndbuf = int(std::min<size_t>(options_.send_buffer_bytes, INT32_MAX / 2));
  (void)setsockopt(fresh->get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    UM_WARN("mconsole: cannot renew the socket: rename: %s", strerror(errno));
    ::unlink(tmp.c_str());
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fresh->get();
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fresh->get(), &ev);
  UniqueFd old = outbox_->replace_socket(std::move(*fresh));
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, old.get(), nullptr);
  // Requests that reached the old socket before the rename are still answered.
  read_requests(old.get(), 1024);
  ++renewals_;
  UM_WARN("mconsole: clients that do not read their replies filled the socket's send buffer; "
          "renewed the socket (%llu times so far)", static_cast<unsigned long long>(renewals_));
}

void Server::handle_datagram(std::string_view datagram, const sockaddr_un& peer, socklen_t peer_len) {
  DecodedRequest d = decode_request(datagram);
  if (d.problem == RequestProblem::NotMagic) {
    // Bare text, no reply struct: the whole answer.
    outbox_->send(peer, peer_len, std::string(kVersion0Reply));
    return;
  }
  auto reply = std::make_shared<ReplySink>(outbox_, peer, peer_len);
  switch (d.problem) {
    case RequestProblem::NotMagic:
      return;
    case RequestProblem::Truncated:
      reply->fail("Malformed request");
      return;
    case RequestProblem::TooLarge:
      reply->fail("Request too large");
      return;
    case RequestProblem::WrongVersion: {
      // UML's quirk: complain, then run the command anyway (with its own reply).
      ReplySink complaint(outbox_, peer, peer_len);
      complaint.fail("This driver only supports version 2 clients");
      break;
    }
    case RequestProblem::None:
      break;
  }
  dispatch(d.request.command, reply);
}

void Server::dispatch(const std::string& command, const ReplyPtr& reply) {
  for (const auto& c : commands_) {
    if (!command.starts_with(c.name)) continue;
    size_t start = c.name.size();
    while (start < command.size() && (command[start] == ' ' || command[start] == '\t')) ++start;
    try {
      c.handler(command.substr(start), reply);
    } catch (const std::exception& e) {
      UM_WARN("mconsole: command '%s' failed: %s", c.name.c_str(), e.what());
      reply->fail(std::string("Internal error: ") + e.what());
    }
    return;
  }
  reply->fail("Unknown command");
}

}  // namespace um::mconsole
