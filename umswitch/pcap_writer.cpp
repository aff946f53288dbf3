#include "umswitch/pcap_writer.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/log.h"

namespace um::sw {

namespace {
struct GlobalHeader {
  uint32_t magic = 0xa1b2c3d4;  // microsecond timestamps, host byte order
  uint16_t version_major = 2, version_minor = 4;
  int32_t thiszone = 0;
  uint32_t sigfigs = 0;
  uint32_t snaplen = 65535;
  uint32_t linktype = 1;  // Ethernet
};
struct RecordHeader {
  uint32_t ts_sec, ts_usec, incl_len, orig_len;
};
static_assert(sizeof(GlobalHeader) == 24 && sizeof(RecordHeader) == 16);
}  // namespace

Result<PcapWriter> PcapWriter::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return Error::from_errno("cannot create capture file " + path);
  GlobalHeader h;
  if (write(fd.get(), &h, sizeof h) != sizeof h) return Error::from_errno("cannot write " + path);
  return PcapWriter(std::move(fd), path);
}

void PcapWriter::record(const uint8_t* frame, uint32_t len) {
  if (failed_) return;
  timeval tv;
  gettimeofday(&tv, nullptr);
  RecordHeader r{uint32_t(tv.tv_sec), uint32_t(tv.tv_usec), len, len};
  buffer_.append(reinterpret_cast<const char*>(&r), sizeof r);
  buffer_.append(reinterpret_cast<const char*>(frame), len);
}

void PcapWriter::flush() {
  size_t off = 0;
  while (off < buffer_.size() && !failed_) {
    ssize_t n = write(fd_.get(), buffer_.data() + off, buffer_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      UM_ERROR("capture to %s stopped: %s", path_.c_str(), strerror(n < 0 ? errno : ENOSPC));
      failed_ = true;
    } else {
      off += static_cast<size_t>(n);
    }
  }
  buffer_.clear();
}

}  // namespace um::sw
