// The socket syscall family over every socket (vfs/socket.h): AF_UNIX (vfs/unix_socket.*),
// and the network families (net/: AF_INET, AF_INET6, AF_NETLINK, AF_PACKET). Here guest
// memory is read and written (addresses, msghdr, iovecs, control messages, options) and
// blocking calls park; the sockets themselves work on host data. Rows for the syscall table
// sit at the end.
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <climits>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "umkernel/kernel/blocking.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/socket/net_sockets.h"
#include "umkernel/socket/unix_socket.h"

namespace um::kernel {

namespace {

constexpr size_t kMaxIov = 1024;          // UIO_MAXIOV
constexpr int kMaxFdsPerMessage = 253;     // SCM_MAX_FD
constexpr size_t kMaxControl = 131072;     // net.core.optmem_max

int64_t get_socket(Task& t, uint64_t fd, SocketPtr& out) {
  FilePtr f = t.proc->fds->get(static_cast<int>(fd));
  if (!f) return -EBADF;
  out = std::dynamic_pointer_cast<Socket>(f);
  return out ? 0 : -ENOTSOCK;
}

// --- addresses ---

// The bytes of a sockaddr from the guest (Linux's move_addr_to_kernel).
int64_t sockaddr_from_user(Task& t, uint64_t addr, uint64_t len, std::string& out) {
  int ilen = static_cast<int>(len);
  if (ilen < 0 || ilen > static_cast<int>(sizeof(sockaddr_storage))) return -EINVAL;
  out.assign(static_cast<size_t>(ilen), '\0');
  if (ilen && copy_from_user(t, out.data(), addr, out.size()) < 0) return -EFAULT;
  return 0;
}

// Writes an address and its full length (Linux's move_addr_to_user: the bytes that fit).
int64_t address_to_user(Task& t, const std::string& bytes, uint64_t addr, uint64_t len_addr) {
  int len;
  if (get_user(t, len_addr, len) < 0) return -EFAULT;
  if (len < 0) return -EINVAL;
  size_t n = std::min(static_cast<size_t>(len), bytes.size());
  if (n && copy_to_user(t, addr, bytes.data(), n) < 0) return -EFAULT;
  int full = static_cast<int>(bytes.size());
  return put_user(t, len_addr, full);
}

// --- data buffers (iovecs) ---

struct IoVec {
  std::vector<iovec> v;
  size_t total = 0;
};

int64_t iovec_from_user(Task& t, uint64_t addr, uint64_t count, IoVec& out) {
  if (count > kMaxIov) return -EMSGSIZE;
  out.v.resize(count);
  if (count && copy_from_user(t, out.v.data(), addr, count * sizeof(iovec)) < 0) return -EFAULT;
  out.total = 0;
  for (auto& io : out.v) {
    if (static_cast<ssize_t>(io.iov_len) < 0) return -EINVAL;
    io.iov_len = std::min<size_t>(io.iov_len, INT_MAX - out.total);  // Linux caps a call at MAX_RW_COUNT
    out.total += io.iov_len;
  }
  return 0;
}

// Copies between guest iovecs, starting `off` bytes in, and a host buffer.
int64_t iovec_copy(Task& t, const IoVec& io, size_t off, char* host, size_t n, bool to_guest) {
  size_t done = 0;
  for (const auto& v : io.v) {
    if (done == n) break;
    if (off >= v.iov_len) {
      off -= v.iov_len;
      continue;
    }
    size_t k = std::min(v.iov_len - off, n - done);
    uint64_t guest = reinterpret_cast<uint64_t>(v.iov_base) + off;
    int64_t r = to_guest ? copy_to_user(t, guest, host + done, k) : copy_from_user(t, host + done, guest, k);
    if (r < 0) return -EFAULT;
    done += k;
    off = 0;
  }
  return 0;
}

// --- control messages ---

size_t cmsg_align(size_t n) { return (n + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1); }

// Reads SCM_RIGHTS and SCM_CREDENTIALS from a sendmsg control buffer (Linux's __scm_send).
int64_t parse_control(Task& t, const std::string& ctl, Ancillary& anc) {
  size_t off = 0;
  while (off + sizeof(cmsghdr) <= ctl.size()) {
    cmsghdr h;
    memcpy(&h, ctl.data() + off, sizeof h);
    if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > ctl.size() - off) return -EINVAL;
    const char* data = ctl.data() + off + sizeof(cmsghdr);
    size_t len = h.cmsg_len - sizeof(cmsghdr);
    off += cmsg_align(h.cmsg_len);
    if (h.cmsg_level != SOL_SOCKET) continue;
    if (h.cmsg_type == SCM_RIGHTS) {
      size_t n = len / sizeof(int);
      if (n == 0) continue;
      if (anc.files.size() + n > kMaxFdsPerMessage) return -EINVAL;
      for (size_t i = 0; i < n; i++) {
        int fd;
        memcpy(&fd, data + i * sizeof(int), sizeof fd);
        FilePtr f = t.proc->fds->get(fd);
        if (!f) return -EBADF;
        anc.files.push_back(std::move(f));
      }
    } else if (h.cmsg_type == SCM_CREDENTIALS) {
      ucred u;
      if (len != sizeof u) return -EINVAL;
      memcpy(&u, data, sizeof u);
      const Credentials& c = t.proc->cred;
      bool root = c.euid == 0;
      if (u.uid == ~0u || u.gid == ~0u) return -EINVAL;
      bool pid_ok = u.pid == t.proc->pid || root;
      bool uid_ok = u.uid == c.uid || u.uid == c.euid || u.uid == c.suid || root;
      bool gid_ok = u.gid == c.gid || u.gid == c.egid || u.gid == c.sgid || root;
      if (!pid_ok || !uid_ok || !gid_ok) return -EPERM;
      if (u.pid != t.proc->pid && !kernel().process_by_pid(u.pid)) return -ESRCH;
      anc.has_cred = true;
      anc.cred = {u.pid, u.uid, u.gid};
    } else {
      return -EINVAL;
    }
  }
  return 0;
}

// Writes recvmsg's control messages into the guest buffer, as Linux's put_cmsg and
// scm_detach_fds do: what does not fit is cut (MSG_CTRUNC) and files that get no fd close.
class ControlWriter {
 public:
  ControlWriter(Task& t, uint64_t addr, size_t cap) : t_(t), addr_(addr), cap_(addr ? cap : 0) {}

  void put(int type, const void* data, size_t len) { put(SOL_SOCKET, type, data, len); }
  void put(int level, int type, const void* data, size_t len) {
    size_t room = cap_ - used_;
    if (room < sizeof(cmsghdr)) {
      truncated = true;
      return;
    }
    size_t cmlen = sizeof(cmsghdr) + len;
    if (room < cmlen) {
      truncated = true;
      cmlen = room;
    }
    write(level, type, data, cmlen);
    used_ += std::min(cmsg_align(sizeof(cmsghdr) + len), room);
  }

  void put_files(std::vector<FilePtr>& files, bool cloexec) {
    if (files.empty()) return;
    size_t room = cap_ - used_;
    size_t max = room <= sizeof(cmsghdr) ? 0 : (room - sizeof(cmsghdr)) / sizeof(int);
    std::vector<int> fds;
    for (size_t i = 0; i < files.size() && i < max; i++) {
      int fd = t_.proc->fds->install(files[i], cloexec);
      if (fd < 0) break;
      fds.push_back(fd);
    }
    if (!fds.empty()) {
      size_t len = fds.size() * sizeof(int);
      write(SOL_SOCKET, SCM_RIGHTS, fds.data(), sizeof(cmsghdr) + len);
      used_ += std::min(cmsg_align(sizeof(cmsghdr) + len), room);
    }
    if (fds.size() < files.size()) truncated = true;
    files.clear();
  }

  size_t used() const { return used_; }
  bool truncated = false;

 private:
  void write(int level, int type, const void* data, size_t cmlen) {
    cmsghdr h{};
    h.cmsg_len = cmlen;
    h.cmsg_level = level;
    h.cmsg_type = type;
    std::string bytes(reinterpret_cast<const char*>(&h), sizeof h);
    bytes.append(static_cast<const char*>(data), cmlen - sizeof h);
    // A fault here is not reported, as Linux's put_cmsg in scm_recv (unlike Linux, file
    // descriptors passed with SCM_RIGHTS are already installed when their numbers fault).
    (void)copy_to_user(t_, addr_ + used_, bytes.data(), bytes.size());
  }

  Task& t_;
  uint64_t addr_;
  size_t cap_, used_ = 0;
};

// --- send and receive, shared by the plain and msghdr forms ---

int64_t do_send(Task& t, Socket& s, const IoVec& io, int flags, const std::string* to, Ancillary* anc) {
  bool nonblock = s.nonblocking() || (flags & MSG_DONTWAIT);
  // A stream send that blocked resumes after what it already queued (t.progress.bytes_done).
  size_t done = t.progress.bytes_done;
  for (;;) {
    size_t base = done;
    SendSource src = [&](size_t off, char* dst, size_t n) { return iovec_copy(t, io, base + off, dst, n, false); };
    int64_t r = s.send(t, src, io.total - done, flags, to, done == 0 ? anc : nullptr);
    if (r == -EAGAIN) {
      if (nonblock) return done ? static_cast<int64_t>(done) : -EAGAIN;
      t.progress.bytes_done = done;
      t.sys_partial = static_cast<int64_t>(done);
      r = park_on(t, *s.wait_queue(), s.send_timeout_ns());
      return r == -EAGAIN && done ? static_cast<int64_t>(done) : r;
    }
    if (r < 0) return done ? static_cast<int64_t>(done) : r;
    if (!s.is_stream()) return r;
    done += static_cast<size_t>(r);
    if (done >= io.total) return static_cast<int64_t>(done);
  }
}

int64_t do_recv(Task& t, Socket& s, const IoVec& io, int flags, Received& out) {
  bool nonblock = s.nonblocking() || (flags & MSG_DONTWAIT);
  int rflags = flags | (nonblock ? MSG_DONTWAIT : 0);
  bool stream = s.is_stream();
  // MSG_WAITALL on a stream: what earlier runs received is already in the guest buffer.
  size_t done = t.progress.bytes_done;
  for (;;) {
    Received part;
    // TCP data that cannot be copied to the guest (EFAULT) stays queued, as on Linux: peek,
    // copy, then drop what was copied.
    bool peek_first = s.family() != AF_UNIX && stream && !(flags & (MSG_PEEK | MSG_TRUNC));
    int64_t r = s.recv(t, io.total - done, rflags | (peek_first ? MSG_PEEK : 0), part);
    if (r == -EAGAIN) {
      if (done && nonblock) return static_cast<int64_t>(done);
      t.progress.bytes_done = done;
      t.sys_partial = static_cast<int64_t>(done);
      r = nonblock ? -EAGAIN : park_on(t, *s.wait_queue(), s.recv_timeout_ns());
      return r == -EAGAIN && done ? static_cast<int64_t>(done) : r;
    }
    if (r < 0 || (r == 0 && done)) return done ? static_cast<int64_t>(done) : r;
    if (!part.data.empty() && iovec_copy(t, io, done, part.data.data(), part.data.size(), true) < 0)
      return done ? static_cast<int64_t>(done) : -EFAULT;
    if (peek_first && r > 0) {
      Received dropped;
      s.recv(t, static_cast<size_t>(r), rflags | MSG_TRUNC, dropped);
    }
    if (done == 0) out.from = part.from;
    out.anc = std::move(part.anc);
    out.controls = std::move(part.controls);
    out.msg_flags = part.msg_flags;
    if (!stream) return r;
    done += part.data.size();
    // MSG_WAITALL waits for the rest, but not past files or credentials it must hand over.
    bool more = (flags & MSG_WAITALL) && !(flags & MSG_PEEK) && r > 0 && done < io.total &&
                out.anc.files.empty() && !out.anc.has_cred;
    if (!more) return static_cast<int64_t>(done);
  }
}

IoVec single_buffer(uint64_t buf, uint64_t len) {
  IoVec io;
  io.total = std::min<uint64_t>(len, INT_MAX);
  io.v.push_back({reinterpret_cast<void*>(buf), io.total});
  return io;
}

int socket_type(uint64_t arg, int& flags) {
  int type = static_cast<int>(arg);
  flags = type & ~0xf;
  return type & 0xf;
}

// Checks socket()/socketpair() arguments common to all families.
int64_t check_socket_args(uint64_t family_arg, uint64_t type_arg, int& family, int& type, int& flags) {
  type = socket_type(type_arg, flags);
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
  family = static_cast<int>(family_arg);
  if (family < 0 || family >= AF_MAX) return -EAFNOSUPPORT;
  if (type >= SOCK_PACKET + 1) return -EINVAL;  // SOCK_MAX
  return 0;
}

// The AF_UNIX type to make for socket()/socketpair().
int64_t unix_socket_type(uint64_t protocol_arg, int& type) {
  int protocol = static_cast<int>(protocol_arg);
  if (protocol != 0 && protocol != PF_UNIX) return -EPROTONOSUPPORT;
  switch (type) {
    case SOCK_STREAM: case SOCK_DGRAM: case SOCK_SEQPACKET: return 0;
    case SOCK_RAW: type = SOCK_DGRAM; return 0;  // as Linux
    default: return -ESOCKTNOSUPPORT;
  }
}

// --- the system calls ---

// Sockets closed while only in-flight messages reached them are collected when sockets are
// made or files are sent (Linux collects on close and on send); see UnixSocket::collect_cycles.
int64_t sys_socket(Task& t) {
  UnixSocket::collect_cycles();
  int family, type, flags;
  if (int64_t r = check_socket_args(t.arg(0), t.arg(1), family, type, flags); r < 0) return r;
  SocketPtr s;
  if (family == AF_UNIX) {
    if (int64_t r = unix_socket_type(t.arg(2), type); r < 0) return r;
    s = UnixSocket::create(t, type, flags & SOCK_NONBLOCK);
  } else if (int64_t r = net::create_socket(t, family, type, static_cast<int>(t.arg(2)), flags & SOCK_NONBLOCK, s); r < 0) {
    return r;
  }
  return t.proc->fds->install(s, flags & SOCK_CLOEXEC);
}

int64_t sys_socketpair(Task& t) {
  UnixSocket::collect_cycles();
  int family, type, flags;
  if (int64_t r = check_socket_args(t.arg(0), t.arg(1), family, type, flags); r < 0) return r;
  if (family != AF_UNIX) return family == AF_INET || family == AF_INET6 ? -EOPNOTSUPP : -EAFNOSUPPORT;
  if (int64_t r = unix_socket_type(t.arg(2), type); r < 0) return r;
  std::shared_ptr<UnixSocket> a, b;
  UnixSocket::make_pair(t, type, flags & SOCK_NONBLOCK, a, b);
  FdTable& fds = *t.proc->fds;
  int fa = fds.install(a, flags & SOCK_CLOEXEC);
  if (fa < 0) return fa;
  int fb = fds.install(b, flags & SOCK_CLOEXEC);
  if (fb < 0) {
    fds.close(fa);
    return fb;
  }
  int pair[2] = {fa, fb};
  if (copy_to_user(t, t.arg(3), pair, sizeof pair) < 0) {
    fds.close(fa);
    fds.close(fb);
    return -EFAULT;
  }
  return 0;
}

int64_t sys_bind(Task& t) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  std::string a;
  if (int64_t r = sockaddr_from_user(t, t.arg(1), t.arg(2), a); r < 0) return r;
  return s->bind(t, a);
}

int64_t sys_listen(Task& t) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  return s->listen(t, static_cast<int>(t.arg(1)));
}

int64_t do_accept(Task& t, int flags) {
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
  SocketPtr s, conn;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  int64_t r = s->accept(t, conn);
  if (r == -EAGAIN) return s->nonblocking() ? -EAGAIN : park_on(t, *s->wait_queue(), s->recv_timeout_ns());
  if (r < 0) return r;
  if (flags & SOCK_NONBLOCK) conn->set_status_flags(conn->flags() | O_NONBLOCK);
  if (t.arg(1)) {
    std::string peer;
    conn->peername(peer);
    if (int64_t e = address_to_user(t, peer, t.arg(1), t.arg(2)); e < 0) return e;
  }
  return t.proc->fds->install(conn, flags & SOCK_CLOEXEC);
}

int64_t sys_accept(Task& t) { return do_accept(t, 0); }
int64_t sys_accept4(Task& t) { return do_accept(t, static_cast<int>(t.arg(3))); }

int64_t sys_connect(Task& t) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  std::string raw;
  if (int64_t r = sockaddr_from_user(t, t.arg(1), t.arg(2), raw); r < 0) return r;
  WaitQueue* wait = s->wait_queue();
  int64_t r = s->connect(t, raw, wait);
  if (r == -EAGAIN) return s->nonblocking() ? -EAGAIN : park_on(t, *wait, s->send_timeout_ns());
  return r;
}

namespace {
// getsockname and getpeername: one of the socket's addresses to (addr, addrlen).
int64_t socket_address(Task& t, int64_t (Socket::*which)(std::string&)) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  std::string name;
  if (int64_t r = ((*s).*which)(name); r < 0) return r;
  return address_to_user(t, name, t.arg(1), t.arg(2));
}
}  // namespace

int64_t sys_getsockname(Task& t) { return socket_address(t, &Socket::sockname); }
int64_t sys_getpeername(Task& t) { return socket_address(t, &Socket::peername); }

int64_t sys_sendto(Task& t) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  std::string to;
  bool has_to = t.arg(4) && static_cast<int>(t.arg(5)) != 0;
  if (has_to) {
    if (int64_t r = sockaddr_from_user(t, t.arg(4), t.arg(5), to); r < 0) return r;
  }
  return do_send(t, *s, single_buffer(t.arg(1), t.arg(2)), static_cast<int>(t.arg(3)), has_to ? &to : nullptr, nullptr);
}

int64_t sys_recvfrom(Task& t) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  Received got;
  int64_t r = do_recv(t, *s, single_buffer(t.arg(1), t.arg(2)), static_cast<int>(t.arg(3)), got);
  if (r >= 0 && t.arg(4)) {
    if (int64_t e = address_to_user(t, got.from, t.arg(4), t.arg(5)); e < 0) return e;
  }
  return r;
}

int64_t send_msghdr(Task& t, uint64_t fd, uint64_t maddr, int flags) {
  SocketPtr s;
  if (int64_t r = get_socket(t, fd, s); r < 0) return r;
  msghdr m;
  if (get_user(t, maddr, m) < 0) return -EFAULT;
  IoVec io;
  if (int64_t r = iovec_from_user(t, reinterpret_cast<uint64_t>(m.msg_iov), m.msg_iovlen, io); r < 0) return r;
  std::string to;
  bool has_to = m.msg_name && m.msg_namelen;
  if (has_to) {
    uint64_t len = std::min<uint64_t>(m.msg_namelen, sizeof(sockaddr_storage));
    if (int64_t r = sockaddr_from_user(t, reinterpret_cast<uint64_t>(m.msg_name), len, to); r < 0) return r;
  }
  Ancillary anc;
  if (t.progress.bytes_done == 0 && m.msg_controllen >= sizeof(cmsghdr)) {  // a resumed send already sent them
    if (m.msg_controllen > kMaxControl) return -ENOBUFS;
    std::string ctl(m.msg_controllen, '\0');
    if (copy_from_user(t, ctl.data(), reinterpret_cast<uint64_t>(m.msg_control), ctl.size()) < 0) return -EFAULT;
    if (int64_t r = parse_control(t, ctl, anc); r < 0) return r;
  }
  return do_send(t, *s, io, flags, has_to ? &to : nullptr, &anc);
}

int64_t sys_sendmsg(Task& t) {
  UnixSocket::collect_cycles();
  return send_msghdr(t, t.arg(0), t.arg(1), static_cast<int>(t.arg(2)));
}

// sendmmsg/recvmmsg: `one` (send_msghdr or recv_msghdr) over each mmsghdr of the vector, its
// result stored in msg_len. Only the first message may block (a blocked call is run again
// from the start, so nothing may have been done before it parks); a later one that would
// block, or fails, ends the call with the count done, as Linux does when it returns early.
int64_t for_each_mmsghdr(Task& t, int flags, int64_t (*one)(Task&, uint64_t, uint64_t, int)) {
  unsigned vlen = std::min<unsigned>(static_cast<unsigned>(t.arg(2)), 1024);  // UIO_MAXIOV
  unsigned done = 0;
  for (; done < vlen; done++) {
    uint64_t h = t.arg(1) + done * sizeof(mmsghdr);
    int64_t r = one(t, t.arg(0), h, done ? flags | MSG_DONTWAIT : flags);
    if (r == kBlock) return r;
    if (r < 0) return done ? static_cast<int64_t>(done) : r;
    unsigned len = static_cast<unsigned>(r);
    if (put_user(t, h + offsetof(mmsghdr, msg_len), len) < 0) return done ? static_cast<int64_t>(done) : -EFAULT;
  }
  return done;
}

int64_t sys_sendmmsg(Task& t) {
  UnixSocket::collect_cycles();
  return for_each_mmsghdr(t, static_cast<int>(t.arg(3)), send_msghdr);
}

int64_t recv_msghdr(Task& t, uint64_t fd, uint64_t maddr, int flags) {
  SocketPtr s;
  if (int64_t r = get_socket(t, fd, s); r < 0) return r;
  msghdr m;
  if (get_user(t, maddr, m) < 0) return -EFAULT;
  if (static_cast<int>(m.msg_namelen) < 0) return -EINVAL;
  IoVec io;
  if (int64_t r = iovec_from_user(t, reinterpret_cast<uint64_t>(m.msg_iov), m.msg_iovlen, io); r < 0) return r;
  Received got;
  int64_t r = do_recv(t, *s, io, flags, got);
  if (r < 0) return r;
  if (m.msg_name) {
    size_t n = std::min<size_t>(m.msg_namelen, got.from.size());
    if (n && copy_to_user(t, reinterpret_cast<uint64_t>(m.msg_name), got.from.data(), n) < 0) return -EFAULT;
    socklen_t namelen = static_cast<socklen_t>(got.from.size());
    if (put_user(t, maddr + offsetof(msghdr, msg_namelen), namelen) < 0) return -EFAULT;
  }
  ControlWriter ctl(t, reinterpret_cast<uint64_t>(m.msg_control), m.msg_controllen);
  for (auto& c : got.controls) ctl.put(c.level, c.type, c.data.data(), c.data.size());
  if (got.anc.has_cred) {
    ucred u{got.anc.cred.pid, got.anc.cred.uid, got.anc.cred.gid};
    ctl.put(SCM_CREDENTIALS, &u, sizeof u);
  }
  ctl.put_files(got.anc.files, flags & MSG_CMSG_CLOEXEC);
  int msg_flags = got.msg_flags | (ctl.truncated ? MSG_CTRUNC : 0) | (flags & MSG_CMSG_CLOEXEC);
  size_t controllen = ctl.used();
  if (put_user(t, maddr + offsetof(msghdr, msg_controllen), controllen) < 0 ||
      put_user(t, maddr + offsetof(msghdr, msg_flags), msg_flags) < 0)
    return -EFAULT;
  return r;
}

int64_t sys_recvmsg(Task& t) { return recv_msghdr(t, t.arg(0), t.arg(1), static_cast<int>(t.arg(2))); }

// recvmmsg: after the first message, what is queued (MSG_WAITFORONE's behaviour; without it
// Linux would wait for all of them until the timeout, which is not served: it is ignored).
int64_t sys_recvmmsg(Task& t) {
  return for_each_mmsghdr(t, static_cast<int>(t.arg(3)) & ~MSG_WAITFORONE, recv_msghdr);
}

int64_t sys_shutdown(Task& t) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  return s->shutdown(static_cast<int>(t.arg(1)));
}

int64_t sys_setsockopt(Task& t) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  int len = static_cast<int>(t.arg(4));
  if (len < 0) return -EINVAL;
  std::string value(std::min(len, 512), '\0');
  if (!value.empty() && copy_from_user(t, value.data(), t.arg(3), value.size()) < 0) return -EFAULT;
  return s->setsockopt(t, static_cast<int>(t.arg(1)), static_cast<int>(t.arg(2)), value);
}

int64_t sys_getsockopt(Task& t) {
  SocketPtr s;
  if (int64_t r = get_socket(t, t.arg(0), s); r < 0) return r;
  int len;
  if (get_user(t, t.arg(4), len) < 0) return -EFAULT;
  if (len < 0) return -EINVAL;
  std::string value;
  if (int64_t r = s->getsockopt(static_cast<int>(t.arg(1)), static_cast<int>(t.arg(2)), value); r < 0) return r;
  int n = static_cast<int>(std::min<size_t>(static_cast<size_t>(len), value.size()));
  if (n && copy_to_user(t, t.arg(3), value.data(), static_cast<size_t>(n)) < 0) return -EFAULT;
  return put_user(t, t.arg(4), n);
}

const SyscallRow kSocketRows[] = {
    UM_PARTIAL(socket, "dxd",
               "AF_UNIX, AF_INET and AF_INET6 (TCP, UDP; ping and raw IPv4 only), AF_NETLINK "
               "(NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT), AF_PACKET; other families EAFNOSUPPORT"),
    UM_FULL(socketpair, "dxdp"),
    UM_FULL(bind, "fau"), UM_FULL(listen, "fd"), UM_FULL(accept, "fAp"), UM_FULL(accept4, "fApx"),
    UM_FULL(connect, "fau"),
    UM_FULL(getsockname, "fAp"), UM_FULL(getpeername, "fAp"),
    UM_PARTIAL(sendto, "fbuxau", "no MSG_OOB"), UM_PARTIAL(recvfrom, "fBuxAp", "no MSG_OOB"),
    UM_PARTIAL(sendmsg, "fpx", "SCM_RIGHTS, SCM_CREDENTIALS; no MSG_OOB"),
    UM_PARTIAL(recvmsg, "fpx", "SCM_RIGHTS, SCM_CREDENTIALS; no MSG_OOB"),
    UM_PARTIAL(sendmmsg, "fpux",
               "the first message may block, later ones end the call when they would"),
    UM_PARTIAL(recvmmsg, "fpuxp",
               "the first message may block, then what is queued (MSG_WAITFORONE); the timeout "
               "is ignored"),
    UM_FULL(shutdown, "fd"),
    UM_PARTIAL(setsockopt, "fddpu", "SOL_SOCKET and the families' levels"),
    UM_PARTIAL(getsockopt, "fddpp",
               "SOL_SOCKET and the families' levels; no SO_PEERSEC, SO_PEERGROUPS, SO_PEERPIDFD"),
};

}  // namespace

std::span<const SyscallRow> socket_syscalls() { return kSocketRows; }

}  // namespace um::kernel
