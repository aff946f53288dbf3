#include "umkernel/socket/tcp_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <deque>
#include <memory>

#include "umkernel/kernel/kernel.h"
#include "umkernel/socket/inet_socket.h"

namespace um::kernel::net {

namespace {

constexpr int kSomaxconn = 4096;

// The lwIP side of one connection or listener: owned by its TcpSocket, or by a listener's
// accept queue until accept() gives it a socket. Touched only under the StackLock.
struct TcpConn {
  tcp_pcb* pcb = nullptr;
  Waker* owner = nullptr;          // whom to wake; null while queued for accept
  TcpConn* listener = nullptr;     // queued for accept: the listener holding us
  std::deque<pbuf*> rx;            // received, not yet read (rx_off bytes of the first are)
  size_t rx_off = 0, rx_bytes = 0;
  bool fin = false;                // the peer will send no more
  bool connecting = false, connected = false;
  int err = 0;                     // pending error for SO_ERROR and the next call
  ip_addr_t local_ip{}, remote_ip{};   // kept for getsockname/getpeername after the pcb is gone
  uint16_t local_port = 0, remote_port = 0;
  std::deque<std::unique_ptr<TcpConn>> accept_q;
  int backlog = 0;

  ~TcpConn() {
    for (pbuf* p : rx) pbuf_free(p);
  }
  void wake() {
    if (owner) notify(owner);
    else if (listener && listener->owner) notify(listener->owner);
  }
};

void detach(tcp_pcb* pcb) {
  tcp_arg(pcb, nullptr);
  tcp_recv(pcb, nullptr);  // lwIP's tcp_recv_null then takes data and FIN of a closing pcb
  tcp_sent(pcb, nullptr);
  tcp_err(pcb, nullptr);
  tcp_poll(pcb, nullptr, 0);
}

// Closes or resets a connection whose owner is gone; lwIP finishes a graceful close alone.
void release(TcpConn& c, bool reset) {
  for (auto& e : c.accept_q) release(*e, true);
  c.accept_q.clear();
  tcp_pcb* pcb = std::exchange(c.pcb, nullptr);
  if (!pcb) return;
  if (pcb->state == LISTEN) {
    tcp_arg(pcb, nullptr);
    tcp_accept(pcb, nullptr);
    tcp_close(pcb);
    return;
  }
  detach(pcb);
  if (reset || tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
}

void remember_addresses(TcpConn& c) {
  if (!c.pcb) return;
  c.local_ip = c.pcb->local_ip;
  c.local_port = c.pcb->local_port;
  c.remote_ip = c.pcb->remote_ip;
  c.remote_port = c.pcb->remote_port;
}

err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t) {
  auto* c = static_cast<TcpConn*>(arg);
  if (!c) return tcp_recv_null(nullptr, pcb, p, ERR_OK);
  if (!p) {
    c->fin = true;
    // Both FINs are out: a pcb in CLOSING or TIME_WAIT is lwIP's from now on (it frees it
    // after 2 MSL without telling anyone), so we let go of it here.
    if (pcb->state == CLOSING || pcb->state == TIME_WAIT) {
      detach(pcb);
      c->pcb = nullptr;
    }
  } else {
    c->rx.push_back(p);
    c->rx_bytes += p->tot_len;
  }
  c->wake();
  return ERR_OK;
}

err_t on_sent(void* arg, tcp_pcb*, u16_t) {
  if (auto* c = static_cast<TcpConn*>(arg)) c->wake();
  return ERR_OK;
}

// lwIP freed the pcb: a reset, a timeout, or our own abort.
void on_err(void* arg, err_t e) {
  auto* c = static_cast<TcpConn*>(arg);
  if (!c) return;
  c->pcb = nullptr;
  if (e == ERR_CLSD) c->fin = true;  // an orderly end (our FIN acknowledged after theirs): no error
  else if (c->connecting) c->err = e == ERR_RST ? ECONNREFUSED : ETIMEDOUT;
  else if (e == ERR_ABRT) c->err = ETIMEDOUT, c->fin = true;
  else c->err = c->fin ? EPIPE : ECONNRESET, c->fin = true;  // as Linux's tcp_reset: EPIPE in CLOSE_WAIT
  c->connecting = false;
  c->wake();
  if (TcpConn* l = c->listener) {  // never accepted: it leaves the queue (and is freed)
    std::erase_if(l->accept_q, [c](auto& q) { return q.get() == c; });
  }
}

err_t on_connected(void* arg, tcp_pcb* pcb, err_t) {
  auto* c = static_cast<TcpConn*>(arg);
  if (!c) {  // nobody wants this connection any more; ERR_ABRT promises lwIP we aborted it
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  c->connecting = false;
  c->connected = true;
  remember_addresses(*c);
  c->wake();
  return ERR_OK;
}

void attach(TcpConn& c, tcp_pcb* pcb) {
  c.pcb = pcb;
  tcp_arg(pcb, &c);
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_err);
}

err_t on_accept(void* arg, tcp_pcb* pcb, err_t err) {
  auto* l = static_cast<TcpConn*>(arg);
  if (err != ERR_OK || !pcb) return ERR_VAL;
  // A full backlog refuses the connection (lwIP resets it; Linux would drop the SYN).
  if (!l || static_cast<int>(l->accept_q.size()) > l->backlog) return ERR_MEM;
  auto c = std::make_unique<TcpConn>();
  attach(*c, pcb);
  c->connected = true;
  remember_addresses(*c);
  c->listener = l;
  l->accept_q.push_back(std::move(c));
  if (l->owner) notify(l->owner);
  return ERR_OK;
}

class TcpSocket : public InetSocket {
 public:
  TcpSocket(InodePtr inode, int flags, int family, std::unique_ptr<TcpConn> c)
      : InetSocket(std::move(inode), flags, family, SOCK_STREAM, IPPROTO_TCP), c_(std::move(c)) {
    StackLock lock;
    c_->owner = this;
  }

  ~TcpSocket() override {
    StackLock lock;
    c_->owner = nullptr;
    // Unread data or SO_LINGER with a zero timeout reset the connection, as on Linux.
    bool reset = c_->rx_bytes > 0 || (linger_onoff_ && linger_secs_ == 0);
    release(*c_, reset);
    c_.reset();  // its queued pbufs go back to lwIP under the lock
    forget(this);
  }

  int64_t bind(Task& t, const std::string& raw) override {
    ip_addr_t ip;
    uint16_t port;
    if (int64_t e = bind_address(t, raw, ip, port); e < 0) return e;
    StackLock lock;
    if (bound_ || c_->connected || c_->connecting) return -EINVAL;
    if (port && listener_conflict(ip, port)) return -EADDRINUSE;
    if (int64_t e = ensure_pcb(); e < 0) return e;
    if (int64_t e = errno_of(tcp_bind(c_->pcb, &ip, port)); e < 0) return e;
    bound_ = true;
    return 0;
  }

  int64_t listen(Task&, int backlog) override {
    StackLock lock;
    if (c_->connected || c_->connecting) return -EINVAL;
    unsigned b = std::min<unsigned>(static_cast<unsigned>(backlog), kSomaxconn);
    c_->backlog = static_cast<int>(b);
    if (listening_) return 0;
    if (int64_t e = ensure_pcb(); e < 0) return e;
    if (!bound_) {  // Linux binds an unbound listener to an ephemeral port
      if (int64_t e = errno_of(tcp_bind(c_->pcb, IP_ANY_TYPE, 0)); e < 0) return e;
      bound_ = true;
    }
    err_t err = ERR_OK;
    tcp_pcb* lpcb = tcp_listen_with_backlog_and_err(c_->pcb, 0xff, &err);
    if (!lpcb) return errno_of(err);
    c_->pcb = lpcb;  // lwIP freed the old pcb and made a smaller listening one
    tcp_arg(lpcb, c_.get());
    tcp_accept(lpcb, on_accept);
    listening_ = true;
    return 0;
  }

  int64_t accept(Task& t, SocketPtr& out) override {
    std::unique_ptr<TcpConn> c;
    {
      StackLock lock;
      if (!listening_) return -EINVAL;
      if (c_->accept_q.empty()) return -EAGAIN;
      c = std::move(c_->accept_q.front());
      c_->accept_q.pop_front();
      c->listener = nullptr;
    }
    auto s = std::make_shared<TcpSocket>(make_inode(t), O_RDWR, family_, std::move(c));
    s->bound_ = true;
    s->connect_reported_ = true;
    s->nodelay_ = nodelay_;
    s->plain_options_ = plain_options_;  // Linux copies the listener's socket options
    {
      StackLock lock;
      if (s->c_->pcb && nodelay_) tcp_nagle_disable(s->c_->pcb);
    }
    out = std::move(s);
    return 0;
  }

  int64_t connect(Task& t, const std::string& raw, WaitQueue*& wait) override {
    sa_family_t f = AF_UNSPEC;
    if (raw.size() >= sizeof f) memcpy(&f, raw.data(), sizeof f);
    StackLock lock;
    if (t.progress.connect_started) {  // a blocking connect we started: how did it go?
      if (c_->connecting) return wait = &wq_, -EAGAIN;
      if (c_->connected) return connect_reported_ = true, 0;
      return -std::exchange(c_->err, 0);
    }
    if (listening_) return -EISCONN;
    // The first connect() after a non-blocking one completed reports success (Linux).
    if (c_->connected && !connect_reported_) return connect_reported_ = true, 0;
    if (f == AF_UNSPEC && raw.size() >= sizeof f) {  // disconnect: Linux aborts the connection
      release(*c_, true);
      c_->connected = c_->connecting = c_->fin = false;
      bound_ = false;
      return 0;
    }
    if (c_->connected) return -EISCONN;
    if (c_->connecting) return -EALREADY;
    if (c_->err && !c_->connected) c_->err = 0;  // a failed earlier attempt: try again
    ip_addr_t ip;
    uint16_t port;
    if (int64_t e = parse_inet_address(family_, raw, ip, port); e < 0) return e;
    if (IP_IS_V4(&ip) && family_ == AF_INET6 && v6only_) return -ENETUNREACH;
    if (ip_addr_isany(&ip)) {  // connecting to "any" means this machine
      if (IP_IS_V4(&ip)) ip_addr_set_ip4_u32_val(ip, PP_HTONL(0x7f000001));
      else IP_ADDR6(&ip, 0, 0, 0, PP_HTONL(1));
    }
    c_->err = 0;
    if (int64_t e = ensure_pcb(); e < 0) return e;
    err_t err = tcp_connect(c_->pcb, &ip, port, on_connected);
    if (err != ERR_OK) return errno_of(err);
    bound_ = true;
    c_->connecting = true;
    if (nonblocking()) return -EINPROGRESS;
    t.progress.connect_started = true;
    wait = &wq_;
    return -EAGAIN;
  }

  int64_t shutdown(int how) override {
    if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
    StackLock lock;
    if (listening_ && how != SHUT_WR) {  // Linux: shutting a listener's reading stops it
      release(*c_, false);
      listening_ = false;
      notify(this);
      return 0;
    }
    if (!c_->connected) return -ENOTCONN;
    bool rd = how != SHUT_WR, wr = how != SHUT_RD;
    if (rd) shut_rd_ = true;
    if (wr && !shut_wr_) {
      shut_wr_ = true;
      if (c_->pcb) tcp_shutdown(c_->pcb, 0, 1);
    }
    notify(this);
    return 0;
  }

  int64_t send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to, Ancillary*) override {
    if (flags & MSG_OOB) return -EOPNOTSUPP;  // lwIP has no urgent data
    StackLock lock;
    if (c_->err) {
      int e = std::exchange(c_->err, 0);
      return e == EPIPE ? pipe_error(t, flags) : -e;
    }
    if (c_->connecting) return -EAGAIN;
    // Never connected, shut, or the connection is gone: EPIPE and SIGPIPE, as Linux.
    if (!c_->connected || shut_wr_ || !c_->pcb) return pipe_error(t, flags);
    if (len == 0) return 0;
    tcp_pcb* pcb = c_->pcb;
    size_t room = tcp_sndbuf(pcb);
    if (room == 0 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN) return -EAGAIN;
    size_t n = std::min(len, room);
    // Copy straight from the guest into a buffer lwIP copies from (TCP_WRITE_FLAG_COPY).
    buf_.resize(n);
    if (src(0, buf_.data(), n) < 0) return -EFAULT;
    u8_t wflags = TCP_WRITE_FLAG_COPY | ((flags & MSG_MORE) || n < len ? TCP_WRITE_FLAG_MORE : 0);
    err_t err = tcp_write(pcb, buf_.data(), static_cast<u16_t>(n), wflags);
    if (err == ERR_MEM) return -EAGAIN;
    if (err != ERR_OK) return errno_of(err);
    tcp_output(pcb);
    return static_cast<int64_t>(n);
  }

  int64_t recv(Task&, size_t len, int flags, Received& out) override {
    if (flags & MSG_OOB) return -EINVAL;  // no urgent data is ever there
    StackLock lock;
    if (listening_) return -ENOTCONN;
    if (c_->rx_bytes == 0) {
      if (c_->err) return -std::exchange(c_->err, 0);
      if (c_->fin || shut_rd_) return 0;
      if (!c_->connected) return c_->connecting ? -EAGAIN : -ENOTCONN;
      return -EAGAIN;
    }
    size_t n = std::min(len, c_->rx_bytes);
    bool peek = flags & MSG_PEEK, trunc = flags & MSG_TRUNC;
    if (!trunc) out.data.resize(n);
    size_t done = 0, off = c_->rx_off;
    for (size_t i = 0; i < c_->rx.size() && done < n; i++) {
      pbuf* p = c_->rx[i];
      size_t k = std::min<size_t>(p->tot_len - off, n - done);
      if (!trunc) pbuf_copy_partial(p, out.data.data() + done, static_cast<u16_t>(k), static_cast<u16_t>(off));
      done += k;
      off = 0;
    }
    if (!peek) consume(n);
    return static_cast<int64_t>(n);
  }

  int64_t sockname(std::string& out) override {
    StackLock lock;
    ip_addr_t ip;
    ip_addr_set_zero(&ip);
    uint16_t port = 0;
    if (c_->pcb) {
      ip_addr_copy(ip, c_->pcb->local_ip);
      port = c_->pcb->local_port;
    } else {
      ip = c_->local_ip;
      port = c_->local_port;
    }
    if (family_ == AF_INET6 && IP_IS_V4(&ip) && ip_addr_isany(&ip)) ip_addr_copy(ip, *IP_ANY_TYPE);
    out = inet_address(family_, ip, port);
    return 0;
  }

  int64_t peername(std::string& out) override {
    StackLock lock;
    if (!c_->connected || listening_) return -ENOTCONN;
    if (c_->pcb) remember_addresses(*c_);
    out = inet_address(family_, c_->remote_ip, c_->remote_port);
    return 0;
  }

  int64_t getsockopt(int level, int name, std::string& value) override {
    if (level != IPPROTO_TCP) return InetSocket::getsockopt(level, name, value);
    StackLock lock;
    tcp_pcb* pcb = c_->pcb && !listening_ ? c_->pcb : nullptr;
    switch (name) {
      case TCP_NODELAY: value = int_option(nodelay_); return 0;
      case TCP_MAXSEG: value = int_option(pcb ? pcb->mss : TCP_MSS); return 0;
      case TCP_KEEPIDLE: value = int_option(keep_idle_); return 0;
      case TCP_KEEPINTVL: value = int_option(keep_intvl_); return 0;
      case TCP_KEEPCNT: value = int_option(keep_cnt_); return 0;
      case TCP_CORK: value = int_option(cork_); return 0;
      case TCP_QUICKACK: value = int_option(1); return 0;
      case TCP_INFO: {
        tcp_info info{};
        info.tcpi_state = static_cast<uint8_t>(linux_state());
        if (pcb) {
          info.tcpi_snd_mss = pcb->mss;
          info.tcpi_rcv_mss = pcb->mss;
          info.tcpi_rto = pcb->rto * TCP_SLOW_INTERVAL * 1000u;
          info.tcpi_snd_cwnd = pcb->cwnd / std::max<u16_t>(pcb->mss, 1);
          info.tcpi_rtt = static_cast<uint32_t>(pcb->sa >> 3) * TCP_SLOW_INTERVAL * 1000u;
        }
        value.assign(reinterpret_cast<const char*>(&info), sizeof info);
        return 0;
      }
      default: return -ENOPROTOOPT;
    }
  }

  int64_t setsockopt(Task& t, int level, int name, const std::string& value) override {
    if (level != IPPROTO_TCP) {
      if (int64_t e = InetSocket::setsockopt(t, level, name, value); e < 0) return e;
      if (level == SOL_SOCKET && name == SO_KEEPALIVE) apply_keepalive();
      return 0;
    }
    int v;
    if (int64_t e = int_from_option(value, v); e < 0) return e;
    StackLock lock;
    switch (name) {
      case TCP_NODELAY:
        nodelay_ = v != 0;
        if (c_->pcb && !listening_) {
          if (nodelay_) tcp_nagle_disable(c_->pcb);
          else tcp_nagle_enable(c_->pcb);
        }
        return 0;
      case TCP_MAXSEG:
        if (v < 88 || v > 65535) return -EINVAL;
        return 0;  // lwIP negotiates its own MSS (TCP_MSS); Linux also treats this as a cap
      case TCP_KEEPIDLE: case TCP_KEEPINTVL: case TCP_KEEPCNT:
        if (v < 1 || v > 32767) return -EINVAL;
        (name == TCP_KEEPIDLE ? keep_idle_ : name == TCP_KEEPINTVL ? keep_intvl_ : keep_cnt_) = v;
        apply_keepalive();
        return 0;
      case TCP_CORK:
        cork_ = v != 0;
        if (!cork_ && c_->pcb && !listening_) tcp_output(c_->pcb);
        return 0;
      case TCP_QUICKACK: case TCP_DEFER_ACCEPT: case TCP_USER_TIMEOUT: case TCP_LINGER2:
        return 0;  // accepted; lwIP's own timing applies
      default: return -ENOPROTOOPT;
    }
  }

 protected:
  ip_pcb* ip() override { return c_->pcb ? reinterpret_cast<ip_pcb*>(c_->pcb) : nullptr; }
  bool has_port() override { return listening_ || (c_->pcb && c_->pcb->local_port != 0); }
  int take_error() override {
    StackLock lock;
    return std::exchange(c_->err, 0);
  }
  bool listening() const override { return listening_; }
  int64_t bytes_readable() override { return listening_ ? -EINVAL : static_cast<int64_t>(c_->rx_bytes); }
  int64_t bytes_unsent() override {
    if (!c_->pcb || listening_) return 0;
    return TCP_SND_BUF - tcp_sndbuf(c_->pcb);
  }

  unsigned readiness() override {
    unsigned m = 0;
    if (listening_) return c_->accept_q.empty() ? 0 : POLLIN | POLLRDNORM;
    if (c_->err) m |= POLLERR;
    if (c_->fin || shut_rd_) m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (c_->rx_bytes) m |= POLLIN | POLLRDNORM;
    bool closed = !c_->connecting && (!c_->connected || !c_->pcb);
    if (closed || (c_->fin && shut_wr_)) m |= POLLHUP;
    if (closed && c_->connected) m |= POLLIN | POLLRDNORM;  // reset: reads report it
    if (c_->connected && c_->pcb && !shut_wr_) {
      // Writable when a quarter of the send buffer is free (Linux wakes at a third).
      if (tcp_sndbuf(c_->pcb) >= TCP_SND_BUF / 4 && tcp_sndqueuelen(c_->pcb) < TCP_SND_QUEUELEN / 2)
        m |= POLLOUT | POLLWRNORM;
    } else if (!c_->connecting) {
      m |= POLLOUT | POLLWRNORM;  // unconnected or dead: a write does not block (it fails)
    }
    return m;
  }

 private:
  // SO_REUSEADDR never lets a second socket bind where one listens (lwIP would allow it when
  // both set the option; Linux does not). An IPv6-only listener ([::] with IPV6_V6ONLY) and
  // an IPv4 one share the port (sshd listens so).
  static bool listener_conflict(const ip_addr_t& ip, uint16_t port) {
    for (tcp_pcb_listen* l = tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
      if (l->local_port != port) continue;
      u8_t a = IP_GET_TYPE(&l->local_ip), b = IP_GET_TYPE(&ip);
      if (a != IPADDR_TYPE_ANY && b != IPADDR_TYPE_ANY && a != b) continue;
      if (ip_addr_isany(&l->local_ip) || ip_addr_isany(&ip) || ip_addr_cmp(&l->local_ip, &ip)) return true;
    }
    return false;
  }

  int64_t ensure_pcb() {
    if (c_->pcb) return 0;
    tcp_pcb* pcb = tcp_new_ip_type(ip_type());
    if (!pcb) return -ENOBUFS;
    attach(*c_, pcb);
    apply_options(reinterpret_cast<ip_pcb*>(pcb));
    if (nodelay_) tcp_nagle_disable(pcb);
    set_keepalive(pcb);
    return 0;
  }

  void apply_keepalive() {
    StackLock lock;
    if (c_->pcb && !listening_) set_keepalive(c_->pcb);
  }
  void set_keepalive(tcp_pcb* pcb) {
    pcb->keep_idle = static_cast<u32_t>(keep_idle_) * 1000;
    pcb->keep_intvl = static_cast<u32_t>(keep_intvl_) * 1000;
    pcb->keep_cnt = static_cast<u32_t>(keep_cnt_);
  }

  // Drops `n` read bytes and opens the window by as much.
  void consume(size_t n) {
    size_t left = n;
    while (left) {
      pbuf* p = c_->rx.front();
      size_t k = std::min<size_t>(p->tot_len - c_->rx_off, left);
      c_->rx_off += k;
      left -= k;
      if (c_->rx_off == p->tot_len) {
        pbuf_free(p);
        c_->rx.pop_front();
        c_->rx_off = 0;
      }
    }
    c_->rx_bytes -= n;
    if (c_->pcb) {
      for (size_t k = n; k;) {
        u16_t part = static_cast<u16_t>(std::min<size_t>(k, 0xffff));
        tcp_recved(c_->pcb, part);
        k -= part;
      }
    }
  }

  int linux_state() const {
    if (listening_) return 10;  // TCP_LISTEN
    if (!c_->pcb) return 7;     // TCP_CLOSE
    switch (c_->pcb->state) {
      case SYN_SENT: return 2;
      case SYN_RCVD: return 3;
      case ESTABLISHED: return 1;
      case FIN_WAIT_1: return 4;
      case FIN_WAIT_2: return 5;
      case TIME_WAIT: return 6;
      case CLOSE_WAIT: return 8;
      case LAST_ACK: return 9;
      case CLOSING: return 11;
      default: return 7;
    }
  }

  std::unique_ptr<TcpConn> c_;
  bool bound_ = false, listening_ = false;
  bool connect_reported_ = false;   // connect() has told the guest the connection is up
  bool shut_rd_ = false, shut_wr_ = false;
  bool nodelay_ = false, cork_ = false;
  int keep_idle_ = 7200, keep_intvl_ = 75, keep_cnt_ = 9;  // Linux's defaults
  std::string buf_;
};

}  // namespace

int64_t create_tcp_socket(Task& t, int family, int flags, SocketPtr& out) {
  out = std::make_shared<TcpSocket>(Socket::make_inode(t), O_RDWR | flags, family, std::make_unique<TcpConn>());
  return 0;
}

}  // namespace um::kernel::net
