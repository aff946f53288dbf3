// The forwarding engine: owns the ports, the learning table and the counters, and moves one
// batch of frames at a time from an ingress port to the tx queues of the egress ports.
// No I/O of its own besides calling the ports (and the capture writer).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/error.h"
#include "umswitch/mac_table.h"
#include "umswitch/pcap_writer.h"
#include "umswitch/port.h"

namespace um::sw {

struct EngineConfig {
  bool hub = false;
  int max_ports = 32;
  uint32_t mac_age_seconds = 300;
};

class Engine {
 public:
  explicit Engine(EngineConfig config);
  ~Engine();

  void set_capture(PcapWriter* pcap) { pcap_ = pcap; }
  // Called when a port starts or stops needing writability notifications (its backlog).
  void on_backlog_change(std::function<void(Port&, bool)> fn) { backlog_change_ = std::move(fn); }

  // Takes the port and gives it the lowest free number (1..max_ports); EMFILE when full.
  Result<Port*> add_port(std::unique_ptr<Port> port);
  void remove_port(int id);
  Port* port(int id) const;
  const std::vector<Port*>& ports() const { return active_; }
  bool full() const { return static_cast<int>(active_.size()) >= config_.max_ports; }

  // Reads one batch from `ingress` and forwards it. Returns false when the port's descriptor
  // failed for good (the caller removes the port).
  bool pump(Port& ingress);
  // The port's socket turned writable: send its backlog.
  void drain(Port& port);

  // Ages the learning table; called periodically.
  void tick();

  uint64_t now() const;  // monotonic seconds
  const SwitchStats& stats() const { return stats_; }
  SwitchStats& stats() { return stats_; }
  const MacTable& macs() const { return macs_; }
  const EngineConfig& config() const { return config_; }

 private:
  void forward(Port& ingress, const uint8_t* frame, uint32_t len, uint64_t now);
  void enqueue(Port& egress, const uint8_t* frame, uint32_t len);
  void flood(Port& ingress, const uint8_t* frame, uint32_t len);
  void check_backlog(Port& port);

  EngineConfig config_;
  std::vector<std::unique_ptr<Port>> slots_;  // index = port number; 0 unused
  std::vector<Port*> active_;
  std::vector<Port*> pending_tx_;             // ports with a non-empty txq this batch
  MacTable macs_;
  SwitchStats stats_;
  uint64_t now_ms_ = 0;  // monotonic milliseconds at the current batch
  PcapWriter* pcap_ = nullptr;
  std::function<void(Port&, bool)> backlog_change_;
  std::unique_ptr<RxBatch> batch_;
};

}  // namespace um::sw
