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

static bool queue_full(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS; }

size_t DatagramPort::send_frames(std::span<const FrameRef> frames, SwitchStats& stats) {
  constexpr size_t kMax = 256;
  mmsghdr msgs[kMax];
  iovec iov[kMax];
  size_t done = 0;
  while (done < frames.size()) {
    size_t chunk = std::min(kMax, frames.size() - done);
    for (size_t i = 0; i < chunk; ++i) {
      const FrameRef& f = frames[done + i];
      iov[i] = {const_cast<uint8_t*>(f.data), f.len};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(fd_, msgs, static_cast<unsigned>(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (queue_full(err)) return done;
      if (err == ECONNREFUSED) {  // the client's socket is gone: nothing will get through
        for (; done < frames.size(); ++done) count_dropped(stats, err);
        return done;
      }
      count_dropped(stats, err);  // this frame failed; go on with the next
      ++done;
      continue;
    }
    for (int i = 0; i < n; ++i) count_sent(stats, frames[done + i]);
    done += static_cast<size_t>(n);
  }
  return done;
}

void DatagramPort::drain(SwitchStats& stats) {
  std::vector<FrameRef> refs;
  while (!backlog_.empty()) {
    refs.clear();
    for (size_t i = 0; i < backlog_.size() && i < 64; ++i)
      refs.push_back({backlog_[i].data(), static_cast<uint32_t>(backlog_[i].size())});
    size_t done = send_frames(refs, stats);
    backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<ptrdiff_t>(done));
    if (done < refs.size()) return;  // still full
  }
}

void DatagramPort::flush(SwitchStats& stats) {
  if (!backlog_.empty()) drain(stats);
  size_t done = backlog_.empty() ? send_frames(txq, stats) : 0;
  for (; done < txq.size(); ++done) {  // keep order: behind the backlog
    if (backlog_.size() >= kMaxBacklog) {
      count_dropped(stats, EAGAIN);
      continue;
    }
    backlog_.emplace_back(txq[done].data, txq[done].data + txq[done].len);
  }
  txq.clear();
}

}  // namespace um::sw
