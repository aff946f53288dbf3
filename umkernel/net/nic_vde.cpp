// ethN=vde: a port on a VDE switch through libvdeplug (Debian's vdeplug4), which speaks
// vde_switch's protocol and its other plugins' (vxvde://, vxlan://, tap://, ...).
#include <fcntl.h>
#include <sys/socket.h>

extern "C" {  // libvdeplug.h is C without the guards
#include <libvdeplug.h>
}

#include <cerrno>
#include <cstring>

#include "umkernel/net/nic_transport.h"

namespace um::kernel::net {

namespace {

class VdeTransport : public NicTransport {
 public:
  explicit VdeTransport(VDECONN* conn) : conn_(conn) {}
  ~VdeTransport() override { vde_close(conn_); }

  int data_fd() const override { return vde_datafd(conn_); }
  int control_fd() const override { return vde_ctlfd(conn_); }

  int send(const uint8_t* frame, size_t len) override {
    ssize_t r = vde_send(conn_, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) return -errno;
    return r == static_cast<ssize_t>(len) ? 0 : -EMSGSIZE;
  }

  int receive(FrameBuf* bufs, size_t* lens, int n) override {
    int got = 0;
    while (got < n) {
      // The data socket is non-blocking (below): this never waits, whatever the plugin.
      ssize_t r = vde_recv(conn_, bufs[got].data(), bufs[got].size(), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR || got > 0) return got;
        return -errno;
      }
      if (r == 0) {
        if (got == 0) return -ECONNRESET;  // a stream plugin's end
        return got;
      }
      lens[got++] = static_cast<size_t>(r) >= bufs[0].size() ? kTruncated : static_cast<size_t>(r);
    }
    return got;
  }

 private:
  VDECONN* conn_;
};

}  // namespace

Result<std::unique_ptr<NicTransport>> open_vde_transport(const NicSpec& spec) {
  std::string name = "eth" + std::to_string(spec.index);
  std::string url = spec.vde_socket, descr = spec.vde_descr.empty() ? "umkernel " + name : spec.vde_descr;
  std::string group = spec.vde_group;
  vde_open_args args{};
  args.port = spec.vde_port;
  args.group = group.empty() ? nullptr : group.data();
  args.mode = spec.vde_mode;
  errno = 0;
  VDECONN* conn = vde_open(url.data(), descr.data(), &args);
  if (!conn) {
    int e = errno ? errno : ECONNREFUSED;
    return Error::make(e, name + ": cannot attach to the VDE switch at " + spec.vde_socket + ": " + strerror(e));
  }
  auto t = std::make_unique<VdeTransport>(conn);
  int fd = vde_datafd(conn);
  if (fd < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
    return Error::make(EIO, name + ": the VDE connection to " + spec.vde_socket + " has no usable data socket");
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (int c = vde_ctlfd(conn); c >= 0) fcntl(c, F_SETFD, FD_CLOEXEC);
  return std::unique_ptr<NicTransport>(std::move(t));
}

}  // namespace um::kernel::net
