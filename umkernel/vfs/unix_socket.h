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

#include "umkernel/vfs/vfs.h"

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

// The process on the other end, as SO_PEERCRED and SCM_CREDENTIALS report it (guest ids).
struct PeerCred {
  int pid = 0;
  uint32_t uid = ~0u, gid = ~0u;
};

// What a message carries besides its bytes.
struct Ancillary {
  std::vector<FilePtr> files;   // SCM_RIGHTS
  bool has_cred = false;        // SCM_CREDENTIALS (given by the sender or added by the kernel)
  PeerCred cred;
};

// The result of a receive.
struct Received {
  std::string data;             // the bytes copied (at most the length asked for)
  UnixAddress from;             // the sender's address (empty if it had none)
  Ancillary anc;                // files and, when SO_PASSCRED is on, credentials
  int msg_flags = 0;            // MSG_TRUNC
};

// Copies bytes [off, off + n) of what is being sent into dst; 0 or -EFAULT.
using SendSource = std::function<int64_t(size_t off, char* dst, size_t n)>;

class UnixSocket : public File {
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

  int type() const { return type_; }

  // --- the socket calls (on host data) ---
  int64_t bind(Task& t, const UnixAddress& addr);
  // -EAGAIN: the listener's backlog is full; wait on `wait` and retry.
  int64_t connect(Task& t, const UnixAddress& addr, WaitQueue*& wait);
  int64_t disconnect();  // datagram connect(AF_UNSPEC)
  int64_t listen(Task& t, int backlog);
  int64_t accept(std::shared_ptr<UnixSocket>& out);
  int64_t shutdown(int how);
  // Sends `len` bytes from `src` (to `to` if given). Stream sockets may send part of it: the
  // result is the number of bytes queued, or -EAGAIN if nothing could be; `anc` goes with the
  // first bytes. The caller keeps t.sys_progress, which decides whether EPIPE raises SIGPIPE.
  int64_t send(Task& t, const SendSource& src, size_t len, int flags, const UnixAddress* to,
               Ancillary* anc);
  // Receives at most `len` bytes: the byte count (the full datagram length with MSG_TRUNC),
  // 0 at end of file, -EAGAIN if nothing is there yet. MSG_DONTWAIT tells a non-blocking call.
  int64_t recv(size_t len, int flags, Received& out);
  const UnixAddress& local_address() const { return addr_; }
  int64_t peer_address(UnixAddress& out) const;

  // --- options (SOL_SOCKET) ---
  int64_t getsockopt(int name, std::string& value);  // value: the bytes of the option
  int64_t setsockopt(Task& t, int name, const std::string& value);
  int64_t recv_timeout_ns() const { return rcvtimeo_ns_; }  // -1: none
  int64_t send_timeout_ns() const { return sndtimeo_ns_; }

  // --- File ---
  int64_t read(Task& t, void* buf, size_t n, int64_t* off) override;
  int64_t write(Task& t, const void* buf, size_t n, int64_t* off) override;
  int64_t seek(int64_t, int) override { return -ESPIPE; }
  bool seekable() const override { return false; }
  unsigned poll() override;
  WaitQueue* wait_queue() override { return &wq_; }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override;

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

  std::shared_ptr<UnixSocket> self() { return std::static_pointer_cast<UnixSocket>(shared_from_this()); }
  bool connection_oriented() const { return type_ != SOCK_DGRAM; }
  int64_t lookup(Task& t, const UnixAddress& addr, std::shared_ptr<UnixSocket>& out);
  int64_t autobind();
  int64_t send_stream(Task& t, const SendSource& src, size_t len, int flags, Ancillary* anc);
  int64_t send_datagram(Task& t, const SendSource& src, size_t len, int flags,
                        const UnixAddress* to, Ancillary* anc);
  int64_t recv_stream(size_t len, int flags, Received& out);
  int64_t recv_datagram(size_t len, int flags, Received& out);
  int64_t pipe_error(Task& t, int flags);
  void enqueue(Message m, UnixSocket& sender);
  void finish_message(Message& m);  // un-charges the sender once a message is read or dropped
  void purge_queue();
  static void count_in_flight(const std::vector<FilePtr>& files, int delta);
  void wake_blocked_senders();
  void dgram_disconnected(const std::shared_ptr<UnixSocket>& old_peer);
  void set_peer(const std::shared_ptr<UnixSocket>& p);
  bool queue_full_for(const UnixSocket& sender) const;
  void add_blocked_sender(UnixSocket& sender);

  int type_;
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

  // options
  bool passcred_ = false;
  int sndbuf_, rcvbuf_;
  int64_t rcvtimeo_ns_ = -1, sndtimeo_ns_ = -1;
  int linger_onoff_ = 0, linger_secs_ = 0;
  std::vector<std::pair<int, int>> plain_options_;  // accepted and reported, no effect here
};

}  // namespace um::kernel
