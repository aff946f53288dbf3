// AF_UNIX sockets: stream, datagram and seqpacket sockets, connected in pairs (socketpair) or
// through names, either paths in the guest file system (an S_IFSOCK inode made by bind) or
// abstract names; messages carry SCM_RIGHTS files and SCM_CREDENTIALS. A socket is an open
// file description (File): read, write, poll and the wait queue work through that interface,
// and sys/socket.cpp adds the socket calls on top. Everything here works on host buffers;
// -EAGAIN means "would block" and the caller decides whether to park.
#pragma once
#include <sys/socket.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "umkernel/socket/socket.h"

namespace um::kernel {

// An address as Linux keeps it: the significant bytes of a sockaddr_un, family included.
// Path names end in one NUL (as getsockname shows them); abstract names are exactly as long as
// the caller said. Empty = unbound.
struct UnixAddress {
  std::string bytes;
  bool empty() const { return bytes.empty(); }
  bool abstract() const { return bytes.size() > 2 && bytes[2] == '\0'; }
  std::string path() const;  // the file name of a path address
};

// Parses a sockaddr_un of `len` bytes: -EINVAL for a wrong family or length. `len` == 2 (just
// the family) gives an empty address, which bind() takes as "pick an abstract name".
int64_t parse_unix_address(const void* addr, size_t len, UnixAddress& out);

class UnixSocket : public Socket {
 public:
  // A new unconnected socket; `type` is SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET and `flags`
  // may hold O_NONBLOCK.
  static std::shared_ptr<UnixSocket> create(Task& t, int type, int flags);
  // Two sockets connected to each other (socketpair).
  static void make_pair(Task& t, int type, int flags, std::shared_ptr<UnixSocket>& a,
                        std::shared_ptr<UnixSocket>& b);
  UnixSocket(InodePtr inode, int type, int flags);
  // Frees sockets that only queued messages still reach (cycles of sockets sent over sockets).
  static void collect_cycles();
  ~UnixSocket() override;  // the last reference is gone: close the connection, drop the name

  // --- Socket (addresses are sockaddr_un bytes) ---
  int64_t bind(Task& t, const std::string& addr) override;
  // -EAGAIN: the listener's backlog is full; wait on `wait` and retry. AF_UNSPEC disconnects
  // a datagram socket.
  int64_t connect(Task& t, const std::string& addr, WaitQueue*& wait) override;
  int64_t listen(Task& t, int backlog) override;
  int64_t accept(Task& t, std::shared_ptr<Socket>& out) override;
  int64_t shutdown(int how) override;
  int64_t send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to,
               Ancillary* anc) override;
  int64_t recv(Task& t, size_t len, int flags, Received& out) override;
  int64_t sockname(std::string& out) override;
  int64_t peername(std::string& out) override;
  // SOL_SOCKET only; adds SO_PASSCRED and SO_PEERCRED to what every socket has.
  int64_t getsockopt(int level, int name, std::string& value) override;
  int64_t setsockopt(Task& t, int level, int name, const std::string& value) override;

  // --- File ---
  unsigned poll() override;
  WaitQueue* wait_queue() override { return &wq_; }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override;

 protected:
  int take_error() override { return std::exchange(err_, 0); }
  bool listening() const override { return state_ == State::Listening; }
  void buffers_changed() override { wq_.wake_all(); }  // room to write may have changed

 private:
  enum class State { Unconnected, Listening, Connected };
  struct Message {
    std::string data;
    size_t consumed = 0;              // stream: bytes already read
    UnixAddress from;
    Ancillary anc;
    std::weak_ptr<UnixSocket> sender;  // charged `charge` bytes until the message is gone
    size_t charge = 0;
  };

  int64_t bind_name(Task& t, const UnixAddress& addr);
  int64_t connect_to(Task& t, const UnixAddress& addr, WaitQueue*& wait);
  int64_t disconnect();  // datagram connect(AF_UNSPEC)
  int64_t peer_address(UnixAddress& out) const;
  int64_t send_to(Task& t, const SendSource& src, size_t len, int flags, const UnixAddress* to, Ancillary* anc);
  std::shared_ptr<UnixSocket> self() { return std::static_pointer_cast<UnixSocket>(shared_from_this()); }
  bool connection_oriented() const { return type_ != SOCK_DGRAM; }
  int64_t lookup(Task& t, const UnixAddress& addr, std::shared_ptr<UnixSocket>& out);
  int64_t autobind();
  int64_t send_stream(Task& t, const SendSource& src, size_t len, int flags, Ancillary* anc);
  int64_t send_datagram(Task& t, const SendSource& src, size_t len, int flags,
                        const UnixAddress* to, Ancillary* anc);
  int64_t recv_stream(size_t len, int flags, Received& out);
  int64_t recv_datagram(size_t len, int flags, Received& out);
  bool enqueue(Message m, UnixSocket& sender);  // false: no memory left in the VM (mem=)
  void finish_message(Message& m);  // un-charges the sender once a message is read or dropped
  void purge_queue();
  static void count_in_flight(const std::vector<FilePtr>& files, int delta);
  void wake_blocked_senders();
  void dgram_disconnected(const std::shared_ptr<UnixSocket>& old_peer);
  void set_peer(const std::shared_ptr<UnixSocket>& p);
  bool queue_full_for(const UnixSocket& sender) const;
  void add_blocked_sender(UnixSocket& sender);

  State state_ = State::Unconnected;
  bool embryo_ = false;             // made by connect(), not yet accept()ed
  int shutdown_ = 0;                // RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2
  int err_ = 0;                     // SO_ERROR
  UnixAddress addr_;
  InodePtr bound_inode_;            // the S_IFSOCK inode of a path name (held while bound)
  std::shared_ptr<Mount> bound_mount_;  // ... and its mount, which owns the inode's file system
  std::weak_ptr<UnixSocket> peer_;
  UnixAddress peer_addr_;           // the peer's address when it went away
  bool has_peercred_ = false;
  PeerCred peercred_;
  std::deque<Message> queue_;       // received, not yet read
  size_t queue_bytes_ = 0;
  size_t wmem_ = 0;                 // bytes of ours waiting in receive queues
  std::deque<std::shared_ptr<UnixSocket>> backlog_;  // listening: connections not yet accepted
  int max_backlog_ = 0;
  std::vector<std::weak_ptr<UnixSocket>> blocked_senders_;  // datagram senders our full queue stopped
  WaitQueue wq_;
  long inflight_ = 0;               // queued messages that carry this socket
  bool passcred_ = false;           // SO_PASSCRED
};

}  // namespace um::kernel
