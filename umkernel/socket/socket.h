// What every socket is, whatever its family: an open file description (File) plus the socket
// calls, on host data. sys/socket.cpp reads and writes guest memory (addresses, iovecs,
// control messages, options) and parks blocking callers; the families implement this
// interface: AF_UNIX (vfs/unix_socket.*), AF_INET/AF_INET6, AF_NETLINK and AF_PACKET (net/).
// Addresses cross this interface as the raw bytes of a sockaddr, as the guest gave them.
// -EAGAIN always means "would block": the caller decides whether to park on wait_queue().
#pragma once
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

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
  std::string from;             // the sender's address, a sockaddr's bytes (empty: none)
  Ancillary anc;                // files and, when SO_PASSCRED is on, credentials
  int msg_flags = 0;            // MSG_TRUNC
  // A family's own control messages, put before the credentials and files (NETLINK_PKTINFO,
  // IPV6_HOPLIMIT, IPV6_TCLASS).
  struct Control {
    int level, type;
    std::string data;
  };
  std::vector<Control> controls;
};

// Copies bytes [off, off + n) of what is being sent into dst; 0 or -EFAULT.
using SendSource = std::function<int64_t(size_t off, char* dst, size_t n)>;

class Socket : public File {
 public:
  Socket(InodePtr inode, int flags, int family, int type, int protocol);
  // A fresh sockfs inode owned by the calling task (fstat: S_IFSOCK; /proc/PID/fd: socket:[N]).
  static InodePtr make_inode(Task& t);

  int family() const { return family_; }
  int type() const { return type_; }
  int protocol() const { return protocol_; }

  // --- the socket calls ---
  virtual int64_t bind(Task& t, const std::string& addr) = 0;
  // -EAGAIN: wait on `wait` and call again; -EINPROGRESS: a non-blocking connect goes on.
  virtual int64_t connect(Task& t, const std::string& addr, WaitQueue*& wait) = 0;
  virtual int64_t listen(Task& t, int backlog) { return -EOPNOTSUPP; }
  virtual int64_t accept(Task& t, std::shared_ptr<Socket>& out) { return -EOPNOTSUPP; }
  virtual int64_t shutdown(int how) = 0;
  // Sends `len` bytes from `src` (to `to`, a sockaddr's bytes, if given). Stream sockets may
  // send part: the result is the number of bytes taken, -EAGAIN if none could be. The caller
  // keeps t.progress.bytes_done, which decides whether EPIPE raises SIGPIPE.
  virtual int64_t send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to,
                       Ancillary* anc) = 0;
  // Receives at most `len` bytes: the byte count (the full datagram length with MSG_TRUNC),
  // 0 at end of file, -EAGAIN if nothing is there yet (MSG_DONTWAIT marks a non-blocking call).
  virtual int64_t recv(Task& t, size_t len, int flags, Received& out) = 0;
  virtual int64_t sockname(std::string& out) = 0;
  virtual int64_t peername(std::string& out) = 0;
  // Options: the base serves what SOL_SOCKET options have in common (buffers, timeouts,
  // linger, SO_TYPE/DOMAIN/PROTOCOL/ERROR...); families add theirs and fall back to it.
  virtual int64_t getsockopt(int level, int name, std::string& value);
  virtual int64_t setsockopt(Task& t, int level, int name, const std::string& value);
  // Whether data is a byte stream (partial sends and MSG_WAITALL loops) or messages.
  bool is_stream() const { return type_ == SOCK_STREAM; }
  int64_t recv_timeout_ns() const { return rcvtimeo_ns_; }  // -1: none
  int64_t send_timeout_ns() const { return sndtimeo_ns_; }
  int64_t block_timeout_ns(bool writing) const override { return writing ? sndtimeo_ns_ : rcvtimeo_ns_; }

  // --- File: read and write are recv and send without flags or addresses ---
  int64_t read(Task& t, void* buf, size_t n, int64_t* off) override;
  int64_t write(Task& t, const void* buf, size_t n, int64_t* off) override;
  int64_t seek(int64_t, int) override { return -ESPIPE; }
  bool seekable() const override { return false; }

 protected:
  // SO_ERROR: the pending error, cleared by reading it.
  virtual int take_error() { return 0; }
  virtual bool listening() const { return false; }
  virtual void buffers_changed() {}   // SO_SNDBUF/SO_RCVBUF were set
  // SIGPIPE for a stream socket whose call sent nothing (unless MSG_NOSIGNAL); returns -EPIPE.
  int64_t pipe_error(Task& t, int flags);
  bool option_flag(int name) const;   // a plain boolean option (SO_REUSEADDR, SO_KEEPALIVE...)

  int family_, type_, protocol_;
  int sndbuf_, rcvbuf_;
  int64_t rcvtimeo_ns_ = -1, sndtimeo_ns_ = -1;
  int linger_onoff_ = 0, linger_secs_ = 0;
  std::vector<std::pair<int, int>> plain_options_;  // kept and reported; families may act on them
};

using SocketPtr = std::shared_ptr<Socket>;

// Helpers for option values.
inline std::string int_option(int v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }
int64_t int_from_option(const std::string& value, int& out);  // -EINVAL if shorter than an int

}  // namespace um::kernel
