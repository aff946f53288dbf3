#include "umkernel/socket/unix_socket.h"
#include "umkernel/kernel/memory_accounting.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include <climits>
#include <cstring>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/socket/net_sockets.h"
#include "umkernel/vfs/namei.h"
#include "umkernel/vfs/synthetic.h"

namespace um::kernel {

namespace {

constexpr int kRcvShutdown = 1, kSendShutdown = 2, kShutdownMask = 3;
// Linux's net.unix.max_dgram_qlen and net.core.somaxconn.
constexpr size_t kMaxDgramQueue = 10;
constexpr int kSomaxconn = 4096;
// What a queued message costs its sender beyond its bytes (Linux charges skb truesize).
constexpr size_t kMessageOverhead = 512;
constexpr size_t kMaxStreamChunk = 65536;

// Bound names. Path names are found by the identity of their inode, abstract names by their
// bytes; Linux keeps a separate abstract namespace per socket type.
struct Registry {
  std::map<std::pair<const SuperBlock*, uint64_t>, UnixSocket*> by_inode;
  std::map<std::pair<int, std::string>, UnixSocket*> abstract;
  uint32_t next_autobind = 0;
};
Registry& registry() { return kernel().state<Registry>(); }

// Sockets whose files sit in some receive queue (SCM_RIGHTS), for the cycle collector.
struct InFlight {
  std::unordered_set<UnixSocket*> sockets;
};
std::unordered_set<UnixSocket*>& in_flight() { return kernel().state<InFlight>().sockets; }

PeerCred peer_cred_of(Task& t) {  // SO_PEERCRED: effective ids
  return {t.proc->pid, t.proc->cred.euid, t.proc->cred.egid};
}
PeerCred scm_cred_of(Task& t) {   // SCM_CREDENTIALS the kernel adds: real ids
  return {t.proc->pid, t.proc->cred.uid, t.proc->cred.gid};
}
// What a receiver with SO_PASSCRED sees for a message sent without credentials.
constexpr PeerCred kNoCred{0, 65534, 65534};
bool same_cred(const PeerCred& a, const PeerCred& b) { return a.pid == b.pid && a.uid == b.uid && a.gid == b.gid; }

std::string family_bytes() {
  sa_family_t f = AF_UNIX;
  return std::string(reinterpret_cast<const char*>(&f), sizeof f);
}

}  // namespace

std::string UnixAddress::path() const {
  return bytes.size() > 3 ? bytes.substr(2, bytes.size() - 3) : std::string();
}

int64_t parse_unix_address(const void* addr, size_t len, UnixAddress& out) {
  out.bytes.clear();
  if (len < sizeof(sa_family_t) || len > sizeof(sockaddr_un)) return -EINVAL;
  const char* raw = static_cast<const char*>(addr);
  sa_family_t family;
  memcpy(&family, raw, sizeof family);
  if (family != AF_UNIX) return -EINVAL;
  if (len == sizeof family) return 0;
  const char* name = raw + sizeof family;
  size_t name_len = len - sizeof family;
  if (name[0] == '\0') {
    out.bytes.assign(raw, len);  // abstract: every byte counts
  } else {
    out.bytes = family_bytes();
    out.bytes.append(name, strnlen(name, name_len));
    out.bytes += '\0';
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Life cycle

UnixSocket::UnixSocket(InodePtr inode, int type, int flags) : Socket(std::move(inode), flags, AF_UNIX, type, 0) {}

std::shared_ptr<UnixSocket> UnixSocket::create(Task& t, int type, int flags) {
  return std::make_shared<UnixSocket>(make_inode(t), type, O_RDWR | (flags & O_NONBLOCK));
}

void UnixSocket::make_pair(Task& t, int type, int flags, std::shared_ptr<UnixSocket>& a,
                           std::shared_ptr<UnixSocket>& b) {
  a = create(t, type, flags);
  b = create(t, type, flags);
  for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
    x->set_peer(y);
    x->state_ = State::Connected;
    x->has_peercred_ = true;
    x->peercred_ = peer_cred_of(t);
  }
}

UnixSocket::~UnixSocket() {
  wq_.wake_all();  // tasks parked on our queue (a connect waiting for room) try again and fail
  Registry& r = registry();
  if (bound_inode_) {
    auto it = r.by_inode.find({bound_inode_->sb(), bound_inode_->ino()});
    if (it != r.by_inode.end() && it->second == this) r.by_inode.erase(it);
    bound_inode_->closed();
    bound_inode_.reset();
    bound_mount_.reset();
  } else if (addr_.abstract()) {
    auto it = r.abstract.find({type_, addr_.bytes});
    if (it != r.abstract.end() && it->second == this) r.abstract.erase(it);
  }
  if (auto peer = peer_.lock()) {
    if (connection_oriented()) {
      // The peer reads what is left and then end of file; it learns of data we never read,
      // or of a connection never accepted, as a reset.
      peer->shutdown_ = kShutdownMask;
      if (!queue_.empty() || embryo_) peer->err_ = ECONNRESET;
    }
    peer->wq_.wake_all();
  }
  purge_queue();
  auto backlog = std::move(backlog_);
  backlog.clear();  // unaccepted connections: their connectors see a reset
  in_flight().erase(this);
}

void UnixSocket::set_peer(const std::shared_ptr<UnixSocket>& p) {
  peer_ = p;
  peer_addr_ = p ? p->addr_ : UnixAddress{};
}

// ---------------------------------------------------------------------------------------
// Queues

bool UnixSocket::enqueue(Message m, UnixSocket& sender) {
  size_t charge = m.data.size() + kMessageOverhead;
  if (!charge_kernel_buffers(charge)) return false;  // the VM's memory (mem=) is used up
  count_in_flight(m.anc.files, +1);
  m.sender = sender.self();
  m.charge = charge;
  sender.wmem_ += m.charge;
  queue_bytes_ += m.data.size() - m.consumed;
  queue_.push_back(std::move(m));
  wq_.wake_all();
  return true;
}

void UnixSocket::finish_message(Message& m) {
  uncharge_kernel_buffers(m.charge);
  if (auto s = m.sender.lock()) {
    s->wmem_ -= std::min(s->wmem_, m.charge);
    s->wq_.wake_all();
  }
  m.charge = 0;
}

void UnixSocket::wake_blocked_senders() {
  auto senders = std::move(blocked_senders_);
  blocked_senders_.clear();
  for (auto& w : senders)
    if (auto s = w.lock()) s->wq_.wake_all();
}

void UnixSocket::purge_queue() {
  // Dropping messages may close files they carry, and with them other sockets: work on a
  // detached queue.
  auto q = std::move(queue_);
  queue_.clear();
  queue_bytes_ = 0;
  for (auto& m : q) {
    count_in_flight(m.anc.files, -1);
    finish_message(m);
  }
  wake_blocked_senders();
}

void UnixSocket::count_in_flight(const std::vector<FilePtr>& files, int delta) {
  for (auto& f : files) {
    auto* s = dynamic_cast<UnixSocket*>(f.get());
    if (!s) continue;
    s->inflight_ += delta;
    if (s->inflight_ > 0) in_flight().insert(s);
    else in_flight().erase(s);
  }
}

// Sockets sent over sockets can form cycles (a socket in its own queue, two sockets in each
// other's) that no fd reaches any more: Linux's unix_gc finds them, and so does this. A
// candidate is a socket whose every reference is a queued message; it stays if a message in a
// socket that is not a candidate holds it, or one in a candidate that stays. The queues of the
// rest are dropped, which frees them.
void UnixSocket::collect_cycles() {
  std::vector<UnixSocket*> candidates;
  for (UnixSocket* s : in_flight())
    if (s->weak_from_this().use_count() == s->inflight_) candidates.push_back(s);
  if (candidates.empty()) return;
  std::unordered_set<UnixSocket*> is_candidate(candidates.begin(), candidates.end());
  auto each_child = [&](UnixSocket* s, auto&& fn) {
    auto scan = [&](const std::deque<Message>& q) {
      for (auto& m : q)
        for (auto& f : m.anc.files)
          if (auto* c = dynamic_cast<UnixSocket*>(f.get()); c && is_candidate.count(c)) fn(c);
    };
    scan(s->queue_);
    for (auto& embryo : s->backlog_) scan(embryo->queue_);  // a listener's pending connections
  };
  std::unordered_map<UnixSocket*, int> held_by_candidates;
  for (UnixSocket* s : candidates) each_child(s, [&](UnixSocket* c) { held_by_candidates[c]++; });
  std::unordered_set<UnixSocket*> live;
  std::vector<UnixSocket*> work;
  for (UnixSocket* s : candidates)
    if (s->inflight_ > held_by_candidates[s]) live.insert(s), work.push_back(s);
  while (!work.empty()) {
    UnixSocket* s = work.back();
    work.pop_back();
    each_child(s, [&](UnixSocket* c) {
      if (live.insert(c).second) work.push_back(c);
    });
  }
  std::vector<std::shared_ptr<UnixSocket>> garbage;  // kept alive until every queue is empty
  for (UnixSocket* s : candidates)
    if (!live.count(s)) garbage.push_back(s->self());
  std::deque<std::shared_ptr<UnixSocket>> embryos;
  for (auto& g : garbage) {
    g->purge_queue();
    for (auto& e : g->backlog_) embryos.push_back(std::move(e));
    g->backlog_.clear();
  }
  embryos.clear();
  garbage.clear();
}

void UnixSocket::add_blocked_sender(UnixSocket& sender) {
  for (auto& w : blocked_senders_)
    if (w.lock().get() == &sender) return;
  blocked_senders_.push_back(sender.self());
}

bool UnixSocket::queue_full_for(const UnixSocket& sender) const {
  // A datagram receiver takes at most max_dgram_qlen + 1 messages, except from its own peer.
  return type_ == SOCK_DGRAM && peer_.lock().get() != &sender && queue_.size() > kMaxDgramQueue;
}

// A datagram socket lost its peer (connect elsewhere, AF_UNSPEC, or the peer closed): as
// Linux, what it had received is dropped, and a peer connected back learns of it.
void UnixSocket::dgram_disconnected(const std::shared_ptr<UnixSocket>& old_peer) {
  if (queue_.empty()) return;
  purge_queue();
  if (old_peer && old_peer->state_ == State::Connected && old_peer->peer_.lock().get() == this) {
    old_peer->err_ = ECONNRESET;
    old_peer->wq_.wake_all();
  }
}

// ---------------------------------------------------------------------------------------
// Names

int64_t UnixSocket::autobind() {
  Registry& r = registry();
  for (int tries = 0; tries < 0x100000; tries++) {
    char name[8];
    snprintf(name, sizeof name, "%05x", r.next_autobind++ & 0xfffff);
    UnixAddress a;
    a.bytes = family_bytes() + '\0' + name;
    if (r.abstract.emplace(std::pair{type_, a.bytes}, this).second) {
      addr_ = std::move(a);
      return 0;
    }
  }
  return -ENOSPC;
}

int64_t UnixSocket::bind(Task& t, const std::string& raw) {
  UnixAddress a;
  if (int64_t r = parse_unix_address(raw.data(), raw.size(), a); r < 0) return r;
  return bind_name(t, a);
}

int64_t UnixSocket::bind_name(Task& t, const UnixAddress& addr) {
  // Linux's order: asking for a name once bound is fine; a taken path wins over "already
  // bound" (EINVAL).
  if (addr.empty()) return addr_.empty() ? autobind() : 0;
  Registry& r = registry();
  if (addr.abstract()) {
    if (!addr_.empty()) return -EINVAL;
    if (!r.abstract.emplace(std::pair{type_, addr.bytes}, this).second) return -EADDRINUSE;
    addr_ = addr;
    return 0;
  }
  // A path: a new S_IFSOCK inode in the guest file system.
  PathRef parent;
  std::string last;
  if (int64_t e = resolve_parent(t, AT_FDCWD, addr.path(), parent, last); e < 0) return e;
  if (last.empty() || last == "." || last == "..") return -EADDRINUSE;
  InodePtr inode;
  if (parent.inode->lookup(last, inode) == 0) return -EADDRINUSE;
  if (int64_t e = check_permission(t, *parent.inode, 2 | 1); e < 0) return e;
  if (!addr_.empty()) return -EINVAL;
  Stat ps;
  uint32_t gid = t.proc->cred.fsgid;
  if (parent.inode->getattr(ps) == 0 && (ps.mode & S_ISGID)) gid = ps.gid;
  uint32_t mode = S_IFSOCK | (0777 & ~t.proc->fs->umask);
  int64_t e = parent.inode->mknod(last, mode, t.proc->cred.fsuid, gid, 0, inode);
  if (e == -EEXIST) return -EADDRINUSE;
  if (e < 0) return e;
  if (!inode && parent.inode->lookup(last, inode) < 0) return -ENOENT;
  // Held while bound, as Linux holds the path: the inode outlives an unlink, so its number
  // is not reused while the registry has it.
  inode->opened();
  bound_inode_ = inode;
  bound_mount_ = parent.mnt;
  r.by_inode[{inode->sb(), inode->ino()}] = this;
  addr_ = addr;
  return 0;
}

int64_t UnixSocket::lookup(Task& t, const UnixAddress& addr, std::shared_ptr<UnixSocket>& out) {
  Registry& r = registry();
  if (addr.abstract()) {
    auto it = r.abstract.find({type_, addr.bytes});
    if (it == r.abstract.end()) return -ECONNREFUSED;
    out = it->second->self();
    return 0;
  }
  PathRef ref;
  if (int64_t e = resolve(t, AT_FDCWD, addr.path(), kFollow, ref); e < 0) return e;
  if (int64_t e = check_permission(t, *ref.inode, 2); e < 0) return e;
  Stat st;
  if (int64_t e = ref.inode->getattr(st); e < 0) return e;
  if (!S_ISSOCK(st.mode)) return -ECONNREFUSED;
  auto it = r.by_inode.find({ref.inode->sb(), ref.inode->ino()});
  if (it == r.by_inode.end()) return -ECONNREFUSED;
  if (it->second->type_ != type_) return -EPROTOTYPE;
  out = it->second->self();
  return 0;
}

int64_t UnixSocket::peer_address(UnixAddress& out) const {
  if (state_ != State::Connected) return -ENOTCONN;
  auto p = peer_.lock();
  out = p ? p->addr_ : peer_addr_;
  return 0;
}

// ---------------------------------------------------------------------------------------
// Connections

int64_t UnixSocket::connect(Task& t, const std::string& raw, WaitQueue*& wait) {
  sa_family_t family = AF_UNSPEC;
  if (raw.size() >= sizeof family) memcpy(&family, raw.data(), sizeof family);
  if (family == AF_UNSPEC && raw.size() >= sizeof family && type_ == SOCK_DGRAM) return disconnect();
  UnixAddress a;
  if (int64_t r = parse_unix_address(raw.data(), raw.size(), a); r < 0) return r;
  return connect_to(t, a, wait);
}

int64_t UnixSocket::connect_to(Task& t, const UnixAddress& addr, WaitQueue*& wait) {
  if (addr.empty()) return -EINVAL;
  if (type_ == SOCK_DGRAM) {
    if (passcred_ && addr_.empty()) {
      if (int64_t e = autobind(); e < 0) return e;
    }
    std::shared_ptr<UnixSocket> target;
    if (int64_t e = lookup(t, addr, target); e < 0) return e;
    // A socket connected elsewhere takes datagrams only from its peer.
    if (target->state_ == State::Connected && target->peer_.lock().get() != this) return -EPERM;
    auto old = peer_.lock();
    bool had_peer = state_ == State::Connected;
    set_peer(target);
    state_ = State::Connected;
    if (had_peer && old != target) dgram_disconnected(old);
    return 0;
  }
  // Linux's order: the listener is looked up and waited for before our own state counts.
  if (passcred_ && addr_.empty()) {
    if (int64_t e = autobind(); e < 0) return e;
  }
  std::shared_ptr<UnixSocket> listener;
  if (int64_t e = lookup(t, addr, listener); e < 0) return e;
  if (listener->state_ != State::Listening || (listener->shutdown_ & kRcvShutdown)) return -ECONNREFUSED;
  if (listener->backlog_.size() > static_cast<size_t>(listener->max_backlog_)) {
    wait = &listener->wq_;
    return -EAGAIN;
  }
  if (state_ == State::Connected) return -EISCONN;
  if (state_ != State::Unconnected) return -EINVAL;
  // The server side exists at once (Linux's embryo): data sent now waits in it for accept().
  auto server = create(t, type_, 0);
  server->embryo_ = true;
  server->state_ = State::Connected;
  server->addr_ = listener->addr_;
  server->set_peer(self());
  server->has_peercred_ = true;
  server->peercred_ = peer_cred_of(t);
  set_peer(server);
  state_ = State::Connected;
  has_peercred_ = listener->has_peercred_;
  peercred_ = listener->peercred_;
  listener->backlog_.push_back(std::move(server));
  listener->wq_.wake_all();
  return 0;
}

int64_t UnixSocket::disconnect() {
  if (type_ != SOCK_DGRAM) return -EINVAL;
  if (state_ != State::Connected) return 0;
  auto old = peer_.lock();
  state_ = State::Unconnected;
  set_peer(nullptr);
  dgram_disconnected(old);
  return 0;
}

int64_t UnixSocket::listen(Task& t, int backlog) {
  if (type_ == SOCK_DGRAM) return -EOPNOTSUPP;
  if (addr_.empty()) return -EINVAL;
  if (state_ == State::Connected) return -EINVAL;
  unsigned b = static_cast<unsigned>(backlog);
  if (b > static_cast<unsigned>(kSomaxconn)) b = kSomaxconn;
  if (static_cast<int>(b) > max_backlog_) wq_.wake_all();  // connectors waiting for room
  max_backlog_ = static_cast<int>(b);
  state_ = State::Listening;
  has_peercred_ = true;
  peercred_ = peer_cred_of(t);
  return 0;
}

int64_t UnixSocket::accept(Task&, std::shared_ptr<Socket>& out) {
  if (type_ == SOCK_DGRAM) return -EOPNOTSUPP;
  if (state_ != State::Listening) return -EINVAL;
  if (backlog_.empty()) return -EAGAIN;
  auto conn = std::move(backlog_.front());
  backlog_.pop_front();
  conn->embryo_ = false;
  conn->passcred_ = passcred_;
  out = std::move(conn);  // Linux copies SO_PASSCRED from the listener
  wq_.wake_all();
  return 0;
}

int64_t UnixSocket::shutdown(int how) {
  if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
  int mode = how + 1;  // SHUT_RD -> RCV, SHUT_WR -> SEND, SHUT_RDWR -> both
  shutdown_ |= mode;
  wq_.wake_all();
  if (connection_oriented()) {
    if (auto peer = peer_.lock()) {
      peer->shutdown_ |= ((mode & kRcvShutdown) ? kSendShutdown : 0) | ((mode & kSendShutdown) ? kRcvShutdown : 0);
      peer->wq_.wake_all();
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Sending

int64_t UnixSocket::send(Task& t, const SendSource& src, size_t len, int flags, const std::string* raw_to,
                         Ancillary* anc) {
  // Only datagram sockets read the address: a stream socket refuses any (EISCONN/EOPNOTSUPP)
  // and a seqpacket socket ignores it, unchecked, as Linux.
  UnixAddress to;
  if (raw_to && type_ == SOCK_DGRAM) {
    if (int64_t r = parse_unix_address(raw_to->data(), raw_to->size(), to); r < 0) return r;
    if (to.empty()) return -EINVAL;
  }
  return send_to(t, src, len, flags, raw_to ? &to : nullptr, anc);
}

int64_t UnixSocket::send_to(Task& t, const SendSource& src, size_t len, int flags,
                            const UnixAddress* to, Ancillary* anc) {
  if (flags & MSG_OOB) return -EOPNOTSUPP;
  if (type_ == SOCK_STREAM) {
    if (to) return state_ == State::Connected ? -EISCONN : -EOPNOTSUPP;
    return send_stream(t, src, len, flags, anc);
  }
  if (type_ == SOCK_SEQPACKET) {
    if (state_ != State::Connected) return -ENOTCONN;
    to = nullptr;  // the address of a connected seqpacket socket is ignored
  }
  return send_datagram(t, src, len, flags, to, anc);
}

int64_t UnixSocket::send_stream(Task& t, const SendSource& src, size_t len, int flags, Ancillary* anc) {
  if (state_ != State::Connected) return -ENOTCONN;
  if (shutdown_ & kSendShutdown) return pipe_error(t, flags);
  auto peer = peer_.lock();
  if (!peer || (peer->shutdown_ & kRcvShutdown)) return pipe_error(t, flags);
  size_t sent = 0;
  bool add_cred = passcred_ || peer->passcred_;
  while (sent < len && wmem_ < static_cast<size_t>(sndbuf_)) {
    size_t chunk = std::min({len - sent, static_cast<size_t>(sndbuf_ / 2 - 64), kMaxStreamChunk});
    Message m;
    m.data.resize(chunk);
    if (src(sent, m.data.data(), chunk) < 0) return sent ? static_cast<int64_t>(sent) : -EFAULT;
    m.from = addr_;
    if (anc) {
      if (sent == 0) m.anc.files = std::move(anc->files);  // files go with the first bytes
      m.anc.has_cred = anc->has_cred;
      m.anc.cred = anc->cred;
    }
    if (!m.anc.has_cred && add_cred) {
      m.anc.has_cred = true;
      m.anc.cred = scm_cred_of(t);
    }
    if (!peer->enqueue(std::move(m), *this)) return sent ? static_cast<int64_t>(sent) : -ENOBUFS;
    sent += chunk;
  }
  if (len == 0) return 0;
  return sent ? static_cast<int64_t>(sent) : -EAGAIN;
}

int64_t UnixSocket::send_datagram(Task& t, const SendSource& src, size_t len, int flags,
                                  const UnixAddress* to, Ancillary* anc) {
  if (!to && state_ != State::Connected) return -ENOTCONN;
  if (passcred_ && addr_.empty()) {
    if (int64_t e = autobind(); e < 0) return e;
  }
  if (len > static_cast<size_t>(sndbuf_ - 32)) return -EMSGSIZE;
  if (shutdown_ & kSendShutdown) return -EPIPE;
  if (wmem_ >= static_cast<size_t>(sndbuf_)) return -EAGAIN;
  std::shared_ptr<UnixSocket> target;
  if (to) {
    if (int64_t e = lookup(t, *to, target); e < 0) return e;
  } else if (!(target = peer_.lock())) {
    if (type_ == SOCK_SEQPACKET) return -EPIPE;
    // The peer closed: the first send learns it and forgets the peer (Linux).
    state_ = State::Unconnected;
    set_peer(nullptr);
    dgram_disconnected(nullptr);
    return -ECONNREFUSED;
  }
  if (target->state_ == State::Connected && target->peer_.lock().get() != this) return -EPERM;
  if (target->shutdown_ & kRcvShutdown) return -EPIPE;
  if (target->queue_full_for(*this)) {
    target->add_blocked_sender(*this);
    return -EAGAIN;
  }
  Message m;
  m.data.resize(len);
  if (len && src(0, m.data.data(), len) < 0) return -EFAULT;
  m.from = addr_;
  if (anc) m.anc = std::move(*anc);
  if (!m.anc.has_cred && (passcred_ || target->passcred_)) {
    m.anc.has_cred = true;
    m.anc.cred = scm_cred_of(t);
  }
  if (!target->enqueue(std::move(m), *this)) return -ENOBUFS;
  return static_cast<int64_t>(len);
}

// ---------------------------------------------------------------------------------------
// Receiving

int64_t UnixSocket::recv(Task&, size_t len, int flags, Received& out) {
  if (flags & MSG_OOB) return -EOPNOTSUPP;
  if (type_ == SOCK_STREAM) return recv_stream(len, flags, out);
  if (type_ == SOCK_SEQPACKET && state_ != State::Connected) return -ENOTCONN;
  return recv_datagram(len, flags, out);
}

int64_t UnixSocket::recv_stream(size_t len, int flags, Received& out) {
  if (state_ != State::Connected) return -EINVAL;
  if (queue_.empty()) {
    if (err_) return -std::exchange(err_, 0);
    if (shutdown_ & kRcvShutdown) return 0;
    return -EAGAIN;
  }
  bool peek = flags & MSG_PEEK;
  size_t copied = 0;
  PeerCred cred;
  // Bytes of several sends are read together, except that a read ends after bytes that
  // carried files and, with SO_PASSCRED, never joins bytes of different senders.
  for (size_t i = 0; i < queue_.size();) {
    Message& m = queue_[i];
    const PeerCred& mc = m.anc.has_cred ? m.anc.cred : kNoCred;
    if (passcred_) {
      if (!out.anc.has_cred) {
        out.anc.has_cred = true;
        out.anc.cred = cred = mc;
      } else if (!same_cred(cred, mc)) {
        break;
      }
    }
    if (copied == 0) out.from = m.from.bytes;
    size_t chunk = std::min(len - copied, m.data.size() - m.consumed);
    out.data.append(m.data, m.consumed, chunk);
    copied += chunk;
    bool had_files = !m.anc.files.empty();
    if (peek) {
      if (had_files) {
        out.anc.files = m.anc.files;
        break;
      }
      i++;
    } else {
      m.consumed += chunk;
      queue_bytes_ -= chunk;
      if (had_files) {
        out.anc.files = std::move(m.anc.files);
        m.anc.files.clear();
        count_in_flight(out.anc.files, -1);
      }
      if (m.consumed < m.data.size()) break;
      Message done = std::move(m);
      queue_.pop_front();
      finish_message(done);
      if (had_files) break;
    }
    if (copied == len) break;
  }
  return static_cast<int64_t>(copied);
}

int64_t UnixSocket::recv_datagram(size_t len, int flags, Received& out) {
  if (queue_.empty()) {
    if (err_) return -std::exchange(err_, 0);
    // After shutdown: end of file, except that a non-blocking datagram read says EAGAIN.
    if ((shutdown_ & kRcvShutdown) && (type_ == SOCK_SEQPACKET || !(flags & MSG_DONTWAIT))) return 0;
    return -EAGAIN;
  }
  Message& m = queue_.front();
  size_t full = m.data.size();
  size_t n = std::min(len, full);
  out.data.assign(m.data, 0, n);
  if (full > len) out.msg_flags |= MSG_TRUNC;
  out.from = m.from.bytes;
  if (passcred_) {
    out.anc.has_cred = true;
    out.anc.cred = m.anc.has_cred ? m.anc.cred : kNoCred;
  }
  if (flags & MSG_PEEK) {
    out.anc.files = m.anc.files;
  } else {
    out.anc.files = std::move(m.anc.files);
    count_in_flight(out.anc.files, -1);
    Message done = std::move(m);
    queue_.pop_front();
    queue_bytes_ -= full;
    finish_message(done);
    wake_blocked_senders();
  }
  return static_cast<int64_t>((flags & MSG_TRUNC) ? full : n);
}

// ---------------------------------------------------------------------------------------
// Options

int64_t UnixSocket::sockname(std::string& out) {
  out = addr_.empty() ? family_bytes() : addr_.bytes;  // unbound: just the family
  return 0;
}

int64_t UnixSocket::peername(std::string& out) {
  UnixAddress peer;
  if (int64_t r = peer_address(peer); r < 0) return r;
  out = peer.empty() ? family_bytes() : peer.bytes;
  return 0;
}

int64_t UnixSocket::getsockopt(int level, int name, std::string& value) {
  if (level != SOL_SOCKET) return -EOPNOTSUPP;
  switch (name) {
    case SO_PASSCRED: value = int_option(passcred_); return 0;
    case SO_PEERCRED: {
      ucred u{0, ~0u, ~0u};
      if (has_peercred_) u = {peercred_.pid, peercred_.uid, peercred_.gid};
      value.assign(reinterpret_cast<const char*>(&u), sizeof u);
      return 0;
    }
    default: return Socket::getsockopt(level, name, value);
  }
}

int64_t UnixSocket::setsockopt(Task& t, int level, int name, const std::string& value) {
  if (level == SOL_SOCKET && name == SO_PASSCRED) {
    int v;
    if (int64_t e = int_from_option(value, v); e < 0) return e;
    passcred_ = v != 0;
    return 0;
  }
  return Socket::setsockopt(t, level, name, value);
}

unsigned UnixSocket::poll() {
  unsigned mask = 0;
  if (err_) mask |= POLLERR;
  if (shutdown_ == kShutdownMask) mask |= POLLHUP;
  if (shutdown_ & kRcvShutdown) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
  if (!queue_.empty() || !backlog_.empty()) mask |= POLLIN | POLLRDNORM;
  if (connection_oriented() && state_ == State::Unconnected) mask |= POLLHUP;
  // Writable while what we have in flight is at most a quarter of the send buffer (Linux).
  bool writable = state_ != State::Listening && wmem_ * 4 <= static_cast<size_t>(sndbuf_);
  if (writable && type_ == SOCK_DGRAM && state_ == State::Connected) {
    auto p = peer_.lock();
    if (p && p->queue_full_for(*this)) {
      writable = false;
      p->add_blocked_sender(*this);  // to hear when there is room again
    }
  }
  if (writable) mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
  return mask;
}

int64_t UnixSocket::ioctl(Task& t, unsigned long req, uint64_t arg) {
  int n;
  switch (req) {
    case FIONREAD:  // SIOCINQ
      if (state_ == State::Listening) return -EINVAL;
      if (type_ == SOCK_DGRAM) n = queue_.empty() ? 0 : static_cast<int>(queue_.front().data.size());
      else n = static_cast<int>(std::min<size_t>(queue_bytes_, INT_MAX));
      return put_user(t, arg, n);
    case TIOCOUTQ:  // SIOCOUTQ: bytes sent and not yet read
      n = static_cast<int>(std::min<size_t>(wmem_, INT_MAX));
      return put_user(t, arg, n);
    default:
      return net::interface_ioctl(t, req, arg);  // ifconfig's ioctls work on any socket
  }
}

}  // namespace um::kernel
