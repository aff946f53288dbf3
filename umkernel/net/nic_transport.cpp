#include "umkernel/net/nic_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/nat/nat_router.h"
#include "core/switchproto/client.h"
#include "core/unique_fd.h"

namespace um::kernel::net {

namespace {

// A datagram socket carrying one frame per datagram: to a fixed peer (send), or to `to` (sendto).
class DatagramTransport : public NicTransport {
 public:
  int data_fd() const override { return fd_; }
  int control_fd() const override { return control_ ? control_.get() : -1; }

  int send(const uint8_t* frame, size_t len) override {
    ssize_t r = to_len_ ? sendto(fd_, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to_), to_len_)
                        : ::send(fd_, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) return -errno;
    return r == static_cast<ssize_t>(len) ? 0 : -EMSGSIZE;
  }

  int receive(FrameBuf* bufs, size_t* lens, int n) override {
    mmsghdr msgs[n];
    iovec iov[n];
    for (int i = 0; i < n; i++) {
      iov[i] = {bufs[i].data(), bufs[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(fd_, msgs, n, MSG_DONTWAIT, nullptr);
    if (got < 0) return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    for (int i = 0; i < got; i++) lens[i] = msgs[i].msg_hdr.msg_flags & MSG_TRUNC ? kTruncated : msgs[i].msg_len;
    return got;
  }

  UniqueFd control_, data_;
  std::unique_ptr<nat::NatRouter> router_;
  int fd_ = -1;
  sockaddr_in to_{};
  socklen_t to_len_ = 0;
};

std::string nic_name(const NicSpec& spec) { return "eth" + std::to_string(spec.index); }

Result<std::unique_ptr<NicTransport>> open_daemon(const NicSpec& spec) {
  auto conn = switchproto::connect_to_switch(spec.ctl_path);
  if (!conn)
    return Error::make(conn.error().code,
                       nic_name(spec) + ": cannot attach to the switch at " + spec.ctl_path + ": " + conn.error().message);
  auto t = std::make_unique<DatagramTransport>();
  t->control_ = std::move(conn->control);
  t->data_ = std::move(conn->data);
  t->fd_ = t->data_.get();
  return std::unique_ptr<NicTransport>(std::move(t));
}

Result<std::unique_ptr<NicTransport>> open_slirp(const NicSpec& spec) {
  nat::NatOptions opts;
  opts.restricted = spec.restricted;
  for (const std::string& f : spec.hostfwd) {
    auto fwd = nat::parse_hostfwd(f);
    if (!fwd) return Error::make(EINVAL, nic_name(spec) + ": " + fwd.error().message);
    opts.forwards.push_back(*fwd);
  }
  auto router = nat::NatRouter::start(opts);
  if (!router) return Error::make(router.error().code, nic_name(spec) + ": slirp: " + router.error().message);
  auto t = std::make_unique<DatagramTransport>();
  t->router_ = std::move(*router);
  t->fd_ = t->router_->frame_fd();
  return std::unique_ptr<NicTransport>(std::move(t));
}

}  // namespace

// UML's mcast transport, byte for byte on the wire: every frame is one UDP datagram to
// GROUP:PORT; each VM binds GROUP:PORT (SO_REUSEADDR, so all VMs of a host share it), joins the
// group on the host's multicast interface, and loops its own datagrams back (IP_MULTICAST_LOOP:
// the other VMs on this host need them). The NIC drops the copies of its own frames.
Result<std::unique_ptr<NicTransport>> open_mcast_transport(const NicSpec& spec) {
  std::string where = nic_name(spec) + ": mcast " + spec.mcast_addr + ":" + std::to_string(spec.mcast_port);
  auto fail = [&](const char* what) { return Error::make(errno, where + ": " + what + ": " + strerror(errno)); };
  auto t = std::make_unique<DatagramTransport>();
  t->data_ = UniqueFd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int fd = t->data_.get();
  if (fd < 0) return fail("socket");
  int yes = 1, ttl = spec.mcast_ttl;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) < 0) return fail("SO_REUSEADDR");
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0) return fail("IP_MULTICAST_TTL");
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &yes, sizeof yes) < 0) return fail("IP_MULTICAST_LOOP");
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(static_cast<uint16_t>(spec.mcast_port));
  inet_pton(AF_INET, spec.mcast_addr.c_str(), &group.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&group), sizeof group) < 0) return fail("bind");
  ip_mreqn mreq{};
  mreq.imr_multiaddr = group.sin_addr;
  if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0)
    return Error::make(errno, where + ": cannot join the group (" + strerror(errno) +
                                  "): the host needs a multicast route (a default route, or 224.0.0.0/4)");
  t->fd_ = fd;
  t->to_ = group;
  t->to_len_ = sizeof group;
  return std::unique_ptr<NicTransport>(std::move(t));
}

Result<std::unique_ptr<NicTransport>> open_nic_transport(const NicSpec& spec) {
  if (spec.transport == "daemon") return open_daemon(spec);
  if (spec.transport == "slirp") return open_slirp(spec);
  if (spec.transport == "mcast") return open_mcast_transport(spec);
  if (spec.transport == "vde") return open_vde_transport(spec);
  if (spec.transport == "tuntap") return open_tap_transport(spec);
  return Error::make(ENOTSUP, nic_name(spec) + ": transport '" + spec.transport + "' is not supported");
}

}  // namespace um::kernel::net
