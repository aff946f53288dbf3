// VXLAN (RFC 7348) for umswitch: --vxlan REMOTE[:PORT] --vni N stretches the switch's segment
// to other VTEPs (other umswitches, Linux vxlan devices, Open vSwitch, VDE's vxvde) over UDP.
// The remotes are one port of the switch (kind "vxlan"): the engine learns which MACs are
// behind it; the port itself learns behind which remote each MAC is (from the outer source
// address of what arrives) and sends a frame for a learned MAC to that remote only. Frames for
// unknown MACs, broadcast and multicast go to every remote (head-end replication) or to the
// multicast group. Only IPv4 underlays.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "umswitch/port.h"

namespace um::sw {

constexpr uint16_t kVxlanPort = 4789;  // IANA
constexpr size_t kVxlanHeader = 8;
constexpr uint32_t kMaxVni = (1u << 24) - 1;

// "ADDR" or "ADDR:PORT" (IPv4, numeric); port defaults to `default_port`.
Result<sockaddr_in> parse_vxlan_endpoint(const std::string& text, uint16_t default_port);

// The 8-byte VXLAN header: flags 0x08 (a valid VNI), reserved zero, the VNI.
void vxlan_header(uint32_t vni, uint8_t out[kVxlanHeader]);
// The VNI of a received header; false when the I flag is clear (reserved bits are ignored,
// as RFC 7348 says).
bool vxlan_vni(const uint8_t hdr[kVxlanHeader], uint32_t* vni);

// Which remote VTEP each MAC was last seen behind; bounded and aged.
class VtepTable {
 public:
  VtepTable(size_t capacity, uint64_t age_seconds) : capacity_(capacity), age_(age_seconds) {}
  // Returns false when the table is full and `mac` is new (the frame is still forwarded).
  bool learn(const uint8_t mac[6], const sockaddr_in& vtep, uint64_t now);
  const sockaddr_in* lookup(const uint8_t mac[6], uint64_t now) const;
  void age(uint64_t now);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    sockaddr_in vtep;
    uint64_t seen;
  };
  std::unordered_map<uint64_t, Entry> entries_;
  size_t capacity_;
  uint64_t age_;
};

struct VxlanOptions {
  std::vector<sockaddr_in> remotes;  // unicast VTEPs and/or multicast groups
  uint32_t vni = 0;
  sockaddr_in local{};               // where to listen (default 0.0.0.0:4789)
  int ttl = 0;                       // 0: 1 for multicast groups, the host's default otherwise
  uint64_t mac_age_seconds = 300;
};

class VxlanPort : public Port {
 public:
  static constexpr size_t kMaxLearned = 4096;
  static Result<std::unique_ptr<VxlanPort>> open(const VxlanOptions& options);
  const char* kind() const override { return "vxlan"; }
  std::string peer() const override;
  int data_fd() const override { return fd_.get(); }
  int receive(RxBatch& batch) override;
  void flush(SwitchStats& stats) override;

  const VtepTable& vteps() const { return vteps_; }
  uint64_t rx_foreign = 0;  // datagrams from no configured remote (unicast-only setups)
  uint64_t rx_bad = 0;      // not VXLAN, another VNI, or no Ethernet frame inside

 private:
  explicit VxlanPort(const VxlanOptions& options);
  bool accepted_source(const sockaddr_in& from) const;
  sockaddr_in reply_address(const sockaddr_in& from) const;

  VxlanOptions opt_;
  UniqueFd fd_;
  uint8_t header_[kVxlanHeader];
  VtepTable vteps_;
  bool has_group_ = false;
};

}  // namespace um::sw
