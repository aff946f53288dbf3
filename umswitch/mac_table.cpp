#include "umswitch/mac_table.h"

#include <algorithm>

namespace um::sw {

bool MacTable::learn(uint64_t mac, int port, uint64_t now) {
  auto it = map_.find(mac);
  if (it != map_.end()) {
    it->second = {port, now};
    return true;
  }
  if (map_.size() >= capacity_) {
    // Sweep at most once a second: a flood of new source MACs must not cost a full table
    // scan per frame.
    if (now != last_full_sweep_) {
      last_full_sweep_ = now;
      expire(now);
    }
    if (map_.size() >= capacity_) return false;
  }
  map_.emplace(mac, Slot{port, now});
  return true;
}

int MacTable::lookup(uint64_t mac, uint64_t now) const {
  auto it = map_.find(mac);
  if (it == map_.end() || now - it->second.last_seen > max_age_) return 0;
  return it->second.port;
}

void MacTable::forget_port(int port) {
  std::erase_if(map_, [port](const auto& kv) { return kv.second.port == port; });
}

void MacTable::expire(uint64_t now) {
  std::erase_if(map_, [&](const auto& kv) { return now - kv.second.last_seen > max_age_; });
}

std::vector<MacTable::Entry> MacTable::entries(uint64_t now) const {
  std::vector<Entry> out;
  out.reserve(map_.size());
  for (const auto& [mac, slot] : map_) out.push_back({mac, slot.port, now - slot.last_seen});
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.port != b.port ? a.port < b.port : a.mac < b.mac;
  });
  return out;
}

}  // namespace um::sw
