#include "umswitch/engine.h"

#include <time.h>

#include <algorithm>

namespace um::sw {

using namespace um::switchproto;

Engine::Engine(EngineConfig config)
    : config_(config), slots_(config.max_ports + 1), macs_(config.mac_age_seconds),
      batch_(std::make_unique<RxBatch>()) {}

Engine::~Engine() = default;

uint64_t Engine::now() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec);
}

Result<Port*> Engine::add_port(std::unique_ptr<Port> port) {
  for (int id = 1; id <= config_.max_ports; ++id) {
    if (slots_[id]) continue;
    port->id = id;
    slots_[id] = std::move(port);
    active_.push_back(slots_[id].get());
    ++stats_.ports_connected;
    return slots_[id].get();
  }
  ++stats_.ports_refused;
  return Error::make(EMFILE, "all " + std::to_string(config_.max_ports) + " ports are in use");
}

void Engine::remove_port(int id) {
  if (id <= 0 || id >= static_cast<int>(slots_.size()) || !slots_[id]) return;
  Port* p = slots_[id].get();
  std::erase(active_, p);
  std::erase(pending_tx_, p);
  macs_.forget_port(id);
  slots_[id].reset();
  ++stats_.ports_disconnected;
}

Port* Engine::port(int id) const {
  if (id <= 0 || id >= static_cast<int>(slots_.size())) return nullptr;
  return slots_[id].get();
}

void Engine::tick() { macs_.expire(now()); }

bool Engine::pump(Port& ingress) {
  RxBatch& b = *batch_;
  int n = ingress.receive(b);
  if (n < 0) return false;
  uint64_t t = now();
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  now_ms_ = uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
  for (int i = 0; i < n; ++i) {
    uint32_t len = b.len[i];
    FrameCheck check = b.truncated[i] ? FrameCheck::TooLong : check_frame(len);
    if (check != FrameCheck::Ok) {
      ++ingress.counters.rx_drops;
      ++(check == FrameCheck::TooShort ? stats_.drop_too_short : stats_.drop_too_long);
      continue;
    }
    ++ingress.counters.rx_frames;
    ingress.counters.rx_bytes += len;
    ++stats_.frames_in;
    stats_.bytes_in += len;
    if (pcap_) pcap_->record(b.data[i], len);
    forward(ingress, b.data[i], len, t);
  }
  // The frames live in the batch buffers: send everything before the next receive.
  for (Port* p : pending_tx_) {
    p->flush(stats_);
    check_backlog(*p);
  }
  pending_tx_.clear();
  return true;
}

void Engine::drain(Port& port) {
  port.drain(stats_);
  check_backlog(port);
}

void Engine::check_backlog(Port& port) {
  bool want = port.backlogged();
  if (want != port.watching_writable && backlog_change_) backlog_change_(port, want);
  port.watching_writable = want;
}

void Engine::enqueue(Port& egress, const uint8_t* frame, uint32_t len) {
  if (egress.txq.empty()) pending_tx_.push_back(&egress);
  egress.txq.push_back({frame, len});
}

void Engine::flood(Port& ingress, const uint8_t* frame, uint32_t len) {
  for (Port* p : active_)
    if (p != &ingress) enqueue(*p, frame, len);
}

void Engine::forward(Port& ingress, const uint8_t* frame, uint32_t len, uint64_t t) {
  const uint8_t* src = frame_src(frame);
  if (!is_group(src) && !macs_.learn(mac_key(src), ingress.id, t)) ++stats_.mac_table_full;
  const uint8_t* dst = frame_dst(frame);
  if (is_group(dst) && !ingress.take_group_token(now_ms_)) {
    ++stats_.drop_storm;
    ++ingress.counters.rx_drops;
    return;
  }
  if (config_.hub || is_group(dst)) return flood(ingress, frame, len);
  int out = macs_.lookup(mac_key(dst), t);
  if (out == 0) return flood(ingress, frame, len);
  if (out == ingress.id) {  // both ends behind the same port: never send a frame back
    ++stats_.filtered;
    return;
  }
  if (Port* p = port(out)) enqueue(*p, frame, len);
  else flood(ingress, frame, len);
}

}  // namespace um::sw
