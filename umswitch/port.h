// A switch port: something frames come in from and go out to (a UML daemon client, a tap
// device, the NAT router). Frames received go into the engine's RxBatch; frames to send are
// queued as pointers into that batch and flushed once per batch, so sends are batched too.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/switchproto/switchproto.h"

namespace um::sw {

struct PortCounters {
  uint64_t rx_frames = 0, rx_bytes = 0, rx_drops = 0;  // rx_drops: malformed frames from it
  uint64_t tx_frames = 0, tx_bytes = 0, tx_drops = 0;  // tx_drops: peer queue full or gone
};

struct SwitchStats {
  uint64_t frames_in = 0, bytes_in = 0, frames_out = 0, bytes_out = 0;
  uint64_t drop_too_short = 0, drop_too_long = 0;  // malformed ingress frames
  uint64_t drop_tx_full = 0, drop_tx_error = 0;    // egress: receiver full / send failed
  uint64_t filtered = 0;                           // destination is on the ingress port
  uint64_t mac_table_full = 0;
  uint64_t ports_connected = 0, ports_disconnected = 0, ports_refused = 0;
  uint64_t bad_requests = 0;                       // garbage on control connections
};

// The receive buffers of one batch. A buffer is larger than any valid frame so an oversize
// datagram is seen as such rather than silently truncated.
struct RxBatch {
  static constexpr int kFrames = 64;
  static constexpr size_t kBufSize = 2048;
  uint8_t data[kFrames][kBufSize];
  uint32_t len[kFrames];
  bool truncated[kFrames];
};

struct FrameRef {
  const uint8_t* data;
  uint32_t len;
};

class Port {
 public:
  virtual ~Port() = default;
  virtual const char* kind() const = 0;     // "unix", "tap", "nat"
  virtual std::string peer() const = 0;     // client address, interface name, ...
  virtual int data_fd() const = 0;          // watched for incoming frames
  // Receives up to RxBatch::kFrames frames; returns the count (0 = nothing pending) or -1 when
  // the port's descriptor failed for good.
  virtual int receive(RxBatch& batch) = 0;
  // Sends txq, counts delivered and dropped frames, empties txq.
  virtual void flush(SwitchStats& stats) = 0;

  int id = 0;
  PortCounters counters;
  std::vector<FrameRef> txq;

 protected:
  void count_sent(SwitchStats& stats, const FrameRef& f) {
    ++counters.tx_frames;
    counters.tx_bytes += f.len;
    ++stats.frames_out;
    stats.bytes_out += f.len;
  }
  void count_dropped(SwitchStats& stats, int err);
};

// A port whose frames travel as datagrams on one connected socket: recvmmsg/sendmmsg.
class DatagramPort : public Port {
 public:
  explicit DatagramPort(int fd) : fd_(fd) {}
  ~DatagramPort() override;
  int data_fd() const override { return fd_; }
  int receive(RxBatch& batch) override;
  void flush(SwitchStats& stats) override;

 protected:
  int fd_;
};

}  // namespace um::sw
