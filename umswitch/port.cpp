#include "umswitch/port.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace um::sw {

void Port::count_dropped(SwitchStats& stats, int err) {
  ++counters.tx_drops;
  if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) ++stats.drop_tx_full;
  else ++stats.drop_tx_error;
}

DatagramPort::~DatagramPort() {
  if (fd_ >= 0) close(fd_);
}

int DatagramPort::receive(RxBatch& batch) {
  mmsghdr msgs[RxBatch::kFrames];
  iovec iov[RxBatch::kFrames];
  for (int i = 0; i < RxBatch::kFrames; ++i) {
    iov[i] = {batch.data[i], RxBatch::kBufSize};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(fd_, msgs, RxBatch::kFrames, MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    // A connected datagram socket reports the peer's death as ECONNREFUSED once; not fatal.
    if (errno == ECONNREFUSED) return 0;
    return -1;
  }
  for (int i = 0; i < n; ++i) {
    batch.len[i] = msgs[i].msg_len;
    batch.truncated[i] = msgs[i].msg_hdr.msg_flags & MSG_TRUNC;
  }
  return n;
}

void DatagramPort::flush(SwitchStats& stats) {
  constexpr size_t kMax = 256;
  mmsghdr msgs[kMax];
  iovec iov[kMax];
  size_t done = 0;
  while (done < txq.size()) {
    size_t chunk = std::min(kMax, txq.size() - done);
    for (size_t i = 0; i < chunk; ++i) {
      const FrameRef& f = txq[done + i];
      iov[i] = {const_cast<uint8_t*>(f.data), f.len};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(fd_, msgs, static_cast<unsigned>(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      count_dropped(stats, err);  // the first frame of the chunk failed; skip it
      ++done;
      // A full receiver stays full for the rest of this batch: drop the rest without retrying.
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ECONNREFUSED) {
        while (done < txq.size()) { count_dropped(stats, err); ++done; }
      }
      continue;
    }
    for (int i = 0; i < n; ++i) count_sent(stats, txq[done + i]);
    done += n;
  }
  txq.clear();
}

}  // namespace um::sw
