// ethN=tuntap,TAP: the host's existing tap device. Opening one needs CAP_NET_ADMIN in the tap's
// network namespace, or a tap made for this user (`ip tuntap add TAP mode tap user USER`).
// umkernel never creates a device: a name that is not there is an error.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/unique_fd.h"
#include "umkernel/net/nic_transport.h"

namespace um::kernel::net {

namespace {

class TapTransport : public NicTransport {
 public:
  explicit TapTransport(UniqueFd fd) : fd_(std::move(fd)) {}
  int data_fd() const override { return fd_.get(); }

  int send(const uint8_t* frame, size_t len) override {
    ssize_t r = write(fd_.get(), frame, len);
    if (r < 0) return -errno;
    return r == static_cast<ssize_t>(len) ? 0 : -EMSGSIZE;
  }

  int receive(FrameBuf* bufs, size_t* lens, int n) override {
    int got = 0;
    while (got < n) {
      ssize_t r = read(fd_.get(), bufs[got].data(), bufs[got].size());
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR || got > 0) return got;
        return -errno;  // EBADFD: the device was deleted
      }
      // A tap hands over whole frames; one longer than the buffer arrives cut (and counts as an error).
      lens[got++] = static_cast<size_t>(r) >= bufs[0].size() ? kTruncated : static_cast<size_t>(r);
    }
    return got;
  }

 private:
  UniqueFd fd_;
};

}  // namespace

Result<std::unique_ptr<NicTransport>> open_tap_transport(const NicSpec& spec) {
  std::string where = "eth" + std::to_string(spec.index) + ": tap " + spec.tap;
  if (if_nametoindex(spec.tap.c_str()) == 0)
    return Error::make(ENODEV, where + ": no such device (create it first: ip tuntap add " + spec.tap + " mode tap)");
  UniqueFd fd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return Error::make(errno, where + ": cannot open /dev/net/tun: " + strerror(errno));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  memcpy(ifr.ifr_name, spec.tap.c_str(), spec.tap.size());
  if (ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    int e = errno;
    std::string why = e == EPERM  ? "permission denied (it needs CAP_NET_ADMIN, or a tap owned by this user)"
                      : e == EINVAL ? "not a tap device (or busy in another mode)"
                      : e == EBUSY  ? "already attached to another program"
                                    : strerror(e);
    return Error::make(e, where + ": " + why);
  }
  return std::unique_ptr<NicTransport>(std::make_unique<TapTransport>(std::move(fd)));
}

}  // namespace um::kernel::net
