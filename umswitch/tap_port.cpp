#include "umswitch/tap_port.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

namespace um::sw {

static Error tap_error(const std::string& ifname, const std::string& what, int err) {
  std::string msg = "cannot attach tap device " + ifname + ": " + what + ": " + strerror(err);
  if (err == EPERM || err == EACCES)
    msg += " (needs CAP_NET_ADMIN, or a tap device you own: ip tuntap add " + ifname +
           " mode tap user $USER)";
  return Error::make(err, msg);
}

Result<std::unique_ptr<TapPort>> TapPort::open(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ)
    return Error::make(EINVAL, "tap interface name '" + ifname + "' must be 1 to 15 characters");
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return tap_error(ifname, "open /dev/net/tun", errno);
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    close(fd);
    return tap_error(ifname, "TUNSETIFF", err);
  }
  return std::unique_ptr<TapPort>(new TapPort(fd, ifname));
}

TapPort::~TapPort() { close(fd_); }

int TapPort::receive(RxBatch& batch) {
  int n = 0;
  while (n < RxBatch::kFrames) {
    ssize_t r = read(fd_, batch.data[n], RxBatch::kBufSize);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return n > 0 ? n : -1;
    }
    batch.len[n] = static_cast<uint32_t>(r);
    batch.truncated[n] = false;
    ++n;
  }
  return n;
}

void TapPort::flush(SwitchStats& stats) {
  for (const FrameRef& f : txq) {
    ssize_t r;
    do r = write(fd_, f.data, f.len); while (r < 0 && errno == EINTR);
    if (r == static_cast<ssize_t>(f.len)) count_sent(stats, f);
    else count_dropped(stats, r < 0 ? errno : EIO);
  }
  txq.clear();
}

}  // namespace um::sw
