#include "umkernel/socket/socket.h"

#include <signal.h>
#include <sys/sysmacros.h>

#include <climits>
#include <cstring>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/time_ns.h"
#include "umkernel/vfs/synthetic.h"

namespace um::kernel {

namespace {

// Linux's defaults: net.core.{w,r}mem_default and _max, and the SO_SNDBUF/SO_RCVBUF floors
// (2 * and 1 * (2048 + sizeof(struct sk_buff)) on x86-64).
constexpr int kDefaultBuf = 212992, kMaxBuf = 212992;
constexpr int kMinSndBuf = 4608, kMinRcvBuf = 2304;
// SO_RCVTIMEO and SO_SNDTIMEO, old and new numbers (the same struct timeval on x86-64).
constexpr int kRcvTimeoOld = 20, kSndTimeoOld = 21, kRcvTimeoNew = 66, kSndTimeoNew = 67;

// sockfs: where the inode of every socket lives.
SyntheticSuperBlock& sockfs() {
  static SyntheticSuperBlock sb("sockfs", makedev(0, 8), 0x534F434B);
  return sb;
}

int64_t ns_from_timeval(const std::string& v, int64_t& out) {
  timeval tv;
  if (v.size() < sizeof tv) return -EINVAL;
  memcpy(&tv, v.data(), sizeof tv);
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return -EDOM;
  if (tv.tv_sec < 0) out = 0;                                  // Linux: no waiting at all
  else if (tv.tv_sec == 0 && tv.tv_usec == 0) out = -1;        // no timeout
  else out = timeval_to_ns(tv);
  return 0;
}

std::string timeval_from_ns(int64_t ns) {
  timeval tv{};
  if (ns > 0) tv = {ns / 1000000000, (ns % 1000000000) / 1000};
  return std::string(reinterpret_cast<const char*>(&tv), sizeof tv);
}

// Options that are kept and reported here; families act on the ones that matter to them.
bool is_plain_option(int name) {
  switch (name) {
    case SO_DEBUG: case SO_REUSEADDR: case SO_DONTROUTE: case SO_BROADCAST: case SO_KEEPALIVE:
    case SO_OOBINLINE: case SO_NO_CHECK: case SO_PRIORITY: case SO_REUSEPORT: case SO_RCVLOWAT:
    case SO_PASSSEC: case SO_TIMESTAMP: case SO_TIMESTAMPNS: case SO_MARK:
      return true;
    default:
      return false;
  }
}

}  // namespace

int64_t int_from_option(const std::string& value, int& out) {
  if (value.size() < sizeof(int)) return -EINVAL;
  memcpy(&out, value.data(), sizeof out);
  return 0;
}

Socket::Socket(InodePtr inode, int flags, int family, int type, int protocol)
    : File(std::move(inode), flags), family_(family), type_(type), protocol_(protocol),
      sndbuf_(kDefaultBuf), rcvbuf_(kDefaultBuf) {
  path = "socket:[" + std::to_string(inode_->ino()) + "]";
}

InodePtr Socket::make_inode(Task& t) {
  auto inode = std::make_shared<SyntheticInode>(&sockfs(), sockfs().next_ino(), S_IFSOCK | 0777);
  inode->uid_ = t.proc->cred.fsuid;
  inode->gid_ = t.proc->cred.fsgid;
  return inode;
}

int64_t Socket::pipe_error(Task& t, int flags) {
  // Only stream sockets raise SIGPIPE, and only when nothing of the call went through.
  if (type_ == SOCK_STREAM && t.progress.bytes_done == 0 && !(flags & MSG_NOSIGNAL)) {
    siginfo_t si{};
    si.si_code = SI_USER;
    kernel().send_signal_to_task(t, SIGPIPE, &si);
  }
  return -EPIPE;
}

bool Socket::option_flag(int name) const {
  for (auto& [n, v] : plain_options_)
    if (n == name) return v != 0;
  return false;
}

int64_t Socket::getsockopt(int level, int name, std::string& value) {
  if (level != SOL_SOCKET) return -EOPNOTSUPP;
  auto put_int = [&](int v) {
    value = int_option(v);
    return 0;
  };
  switch (name) {
    case SO_TYPE: return put_int(type_);
    case SO_DOMAIN: return put_int(family_);
    case SO_PROTOCOL: return put_int(protocol_);
    case SO_ACCEPTCONN: return put_int(listening());
    case SO_ERROR: return put_int(take_error());
    case SO_SNDBUF: return put_int(sndbuf_);
    case SO_RCVBUF: return put_int(rcvbuf_);
    case SO_SNDLOWAT: return put_int(1);
    case SO_LINGER: {
      linger l{linger_onoff_, linger_secs_};
      value.assign(reinterpret_cast<const char*>(&l), sizeof l);
      return 0;
    }
    case kRcvTimeoOld: case kRcvTimeoNew: value = timeval_from_ns(rcvtimeo_ns_); return 0;
    case kSndTimeoOld: case kSndTimeoNew: value = timeval_from_ns(sndtimeo_ns_); return 0;
    default: break;
  }
  if (!is_plain_option(name)) return -ENOPROTOOPT;
  for (auto& [n, v] : plain_options_)
    if (n == name) return put_int(v);
  return put_int(name == SO_RCVLOWAT ? 1 : 0);
}

int64_t Socket::setsockopt(Task& t, int level, int name, const std::string& value) {
  if (level != SOL_SOCKET) return -EOPNOTSUPP;
  int v;
  if (int64_t e = int_from_option(value, v); e < 0) return e;
  bool privileged = t.proc->cred.euid == 0;
  auto set_buf = [&](int& buf, int floor, bool force) {
    unsigned u = static_cast<unsigned>(v);
    if (force) u = v < 0 ? 0 : u;
    else u = std::min<unsigned>(u, kMaxBuf);
    buf = static_cast<int>(std::max<uint64_t>(uint64_t{u} * 2, static_cast<uint64_t>(floor)));
    if (buf < 0) buf = INT_MAX;
    buffers_changed();
    return 0;
  };
  switch (name) {
    case SO_SNDBUF: return set_buf(sndbuf_, kMinSndBuf, false);
    case SO_RCVBUF: return set_buf(rcvbuf_, kMinRcvBuf, false);
    case SO_SNDBUFFORCE: return privileged ? set_buf(sndbuf_, kMinSndBuf, true) : -EPERM;
    case SO_RCVBUFFORCE: return privileged ? set_buf(rcvbuf_, kMinRcvBuf, true) : -EPERM;
    case kRcvTimeoOld: case kRcvTimeoNew: return ns_from_timeval(value, rcvtimeo_ns_);
    case kSndTimeoOld: case kSndTimeoNew: return ns_from_timeval(value, sndtimeo_ns_);
    case SO_LINGER: {
      linger l;
      if (value.size() < sizeof l) return -EINVAL;
      memcpy(&l, value.data(), sizeof l);
      linger_onoff_ = l.l_onoff != 0;
      linger_secs_ = l.l_linger;
      return 0;
    }
    default: break;
  }
  if (!is_plain_option(name)) return -ENOPROTOOPT;
  if (name == SO_MARK && !privileged) return -EPERM;
  if (name == SO_RCVLOWAT) v = v < 0 ? INT_MAX : (v ? v : 1);
  else if (name != SO_PRIORITY && name != SO_MARK) v = v != 0;
  for (auto& [n, old] : plain_options_)
    if (n == name) return old = v, 0;
  plain_options_.emplace_back(name, v);
  return 0;
}

int64_t Socket::read(Task& t, void* buf, size_t n, int64_t* off) {
  if (off) return -ESPIPE;
  Received r;
  int64_t got = recv(t, n, nonblocking() ? MSG_DONTWAIT : 0, r);  // files that came along are closed
  if (got > 0) memcpy(buf, r.data.data(), r.data.size());
  return got;
}

int64_t Socket::write(Task& t, const void* buf, size_t n, int64_t* off) {
  if (off) return -ESPIPE;
  const char* data = static_cast<const char*>(buf);
  return send(t, [data](size_t o, char* dst, size_t k) { memcpy(dst, data + o, k); return int64_t{0}; },
              n, 0, nullptr, nullptr);
}

}  // namespace um::kernel
