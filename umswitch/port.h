// A switch port: something frames come in from and go out to (a UML daemon client, a tap
// device, the NAT router). Frames received go into the engine's RxBatch; frames to send are
// queued as pointers into that batch and flushed once per batch, so sends are batched too.
#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <span>
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
  uint64_t drop_storm = 0;                         // broadcast/multicast past a port's share
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
  // Frames waiting for the peer to read (see DatagramPort); the loop then watches for
  // writability and calls drain().
  virtual bool backlogged() const { return false; }
  virtual void drain(SwitchStats& stats) {}

  int id = 0;
  PortCounters counters;
  std::vector<FrameRef> txq;
  bool watching_writable = false;  // the event loop's bookkeeping

  // Each port's share of flooding: broadcast and multicast frames it may send, refilled at
  // kGroupFramesPerSecond up to kGroupBurst. A storm on one port (a loop, a flooder) is cut
  // there and cannot fill every other port's queue.
  static constexpr double kGroupFramesPerSecond = 5000, kGroupBurst = 5000;
  double group_tokens = kGroupBurst;
  uint64_t group_refilled_ms = 0;
  bool take_group_token(uint64_t now_ms) {
    if (now_ms > group_refilled_ms) {
      group_tokens = std::min(kGroupBurst, group_tokens + double(now_ms - group_refilled_ms) *
                                                              kGroupFramesPerSecond / 1000);
      group_refilled_ms = now_ms;
    }
    if (group_tokens < 1) return false;
    group_tokens -= 1;
    return true;
  }

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
// A UML's data socket is not connected back to us, so the kernel lets only
// net.unix.max_dgram_qlen (10) of our datagrams wait in it: a burst (say TCP from the NAT
// router) would mostly be dropped. Frames that meet a full queue are therefore copied to a
// bounded backlog and sent when the socket turns writable; only beyond that are they dropped.
class DatagramPort : public Port {
 public:
  static constexpr size_t kMaxBacklog = 256;  // frames

  explicit DatagramPort(int fd) : fd_(fd) {}
  ~DatagramPort() override;
  int data_fd() const override { return fd_; }
  int receive(RxBatch& batch) override;
  void flush(SwitchStats& stats) override;
  bool backlogged() const override { return !backlog_.empty(); }
  void drain(SwitchStats& stats) override;

 protected:
  int fd_;

 private:
  // Sends frames in order; returns how many were dealt with (sent or dropped) before the
  // peer's queue filled up.
  size_t send_frames(std::span<const FrameRef> frames, SwitchStats& stats);
  std::deque<std::vector<uint8_t>> backlog_;
};

}  // namespace um::sw
