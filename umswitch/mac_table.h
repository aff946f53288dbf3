// The learning table: source MAC → port, with ageing. Broadcast/multicast sources are never
// learned; a MAC seen on another port moves there. Bounded so a flood of random source
// addresses cannot grow memory without limit (new MACs are then just not learned).
#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace um::sw {

class MacTable {
 public:
  static constexpr size_t kDefaultCapacity = 65536;

  MacTable(uint32_t max_age_seconds, size_t capacity = kDefaultCapacity)
      : max_age_(max_age_seconds), capacity_(capacity) {}

  // Records that `mac` was seen on `port` at `now`; false when the table is full.
  bool learn(uint64_t mac, int port, uint64_t now);
  // The port `mac` lives on, or 0 when unknown or aged out.
  int lookup(uint64_t mac, uint64_t now) const;
  void forget_port(int port);
  // Drops entries older than the maximum age.
  void expire(uint64_t now);

  struct Entry {
    uint64_t mac;
    int port;
    uint64_t age;  // seconds since last seen
  };
  std::vector<Entry> entries(uint64_t now) const;
  size_t size() const { return map_.size(); }
  uint32_t max_age() const { return max_age_; }

 private:
  struct Slot {
    int port;
    uint64_t last_seen;
  };
  std::unordered_map<uint64_t, Slot> map_;
  uint32_t max_age_;
  size_t capacity_;
  uint64_t last_full_sweep_ = UINT64_MAX;
};

}  // namespace um::sw
