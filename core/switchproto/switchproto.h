// The uml_switch "daemon" transport (spec §1): the connect request a client writes on the
// switch's control stream, the 110-byte reply, and Ethernet frame helpers. Shared by umswitch
// (server side) and umkernel's daemon NIC (client side). Everything is host byte order.
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace um::switchproto {

inline constexpr uint32_t kMagic = 0xfeedface;
inline constexpr uint32_t kReqNewControl = 0;  // the only type UML sends
inline constexpr uint32_t kReqNewPort0 = 1;    // vde2: "new port, number in bits 8.."
inline constexpr size_t kAddrSize = sizeof(sockaddr_un);  // 110: the reply is exactly this

static_assert(kAddrSize == 110);

// C layouts as UML and uml_switch compile them (not packed).
struct RequestV0 {
  uint32_t type;
  uint8_t mac[6];
  sockaddr_un sock;
};
struct RequestV1 {
  uint32_t magic;
  uint32_t type;
  uint8_t mac[6];
  sockaddr_un sock;
};
struct RequestV3 {
  uint32_t magic;
  uint32_t version;
  uint32_t type;
  sockaddr_un sock;
};
static_assert(sizeof(RequestV0) == 120 && sizeof(RequestV1) == 124 && sizeof(RequestV3) == 124);
inline constexpr size_t kV3MinSize = offsetof(RequestV3, sock) + kAddrSize;  // 122

// The largest request we wait for: v3 header plus vde2's description (128 bytes).
inline constexpr size_t kMaxRequestSize = kV3MinSize + 128;

struct ConnectRequest {
  uint32_t version = 3;      // 0, 1 or 3
  uint32_t type = kReqNewControl;
  sockaddr_un data_addr{};   // the client's data socket, as it registered it
  std::string description;   // vde2 clients send "user=... PID=..." after a v3 request
};

enum class ParseStatus { NeedMore, Ok, Invalid };

struct ParseResult {
  ParseStatus status = ParseStatus::NeedMore;
  ConnectRequest request;    // valid when status == Ok
  std::string error;         // why, when status == Invalid
};

// Parses the bytes received so far on a new control connection. NeedMore until a whole
// request of the version announced by the first bytes has arrived; bytes beyond a v3 request
// are taken as vde2's NUL-terminated description, beyond v0/v1 they are ignored.
ParseResult parse_request(std::span<const uint8_t> bytes);

// A v3 REQ_NEW_CONTROL request for `data_addr`, 124 bytes as UML sends it.
std::vector<uint8_t> encode_request_v3(const sockaddr_un& data_addr, uint32_t type = kReqNewControl);

// Length to use with bind()/connect()/sendto() for an address taken from the wire: full 110
// bytes for abstract names (UML binds them that way), path length + 1 for pathnames.
socklen_t address_length(const sockaddr_un& addr);
bool is_abstract(const sockaddr_un& addr);
// Printable form: the path, "@name" for printable abstract names, else "@0x" + hex of the
// leading bytes.
std::string describe_address(const sockaddr_un& addr);

// ---- Ethernet frames ----------------------------------------------------------------------
inline constexpr size_t kEthHeaderSize = 14;
inline constexpr size_t kMaxFrameSize = 1518;  // 1500 MTU + header + one 802.1Q tag

using Mac = std::array<uint8_t, 6>;

enum class FrameCheck { Ok, TooShort, TooLong };
inline FrameCheck check_frame(size_t len) {
  if (len < kEthHeaderSize) return FrameCheck::TooShort;
  if (len > kMaxFrameSize) return FrameCheck::TooLong;
  return FrameCheck::Ok;
}

// A MAC packed into the low 48 bits (byte 0 most significant), handy as a hash key.
inline uint64_t mac_key(const uint8_t* p) {
  return (uint64_t(p[0]) << 40) | (uint64_t(p[1]) << 32) | (uint64_t(p[2]) << 24) |
         (uint64_t(p[3]) << 16) | (uint64_t(p[4]) << 8) | uint64_t(p[5]);
}
inline const uint8_t* frame_dst(const uint8_t* frame) { return frame; }
inline const uint8_t* frame_src(const uint8_t* frame) { return frame + 6; }
// Broadcast and multicast destinations have the group bit (bit 0 of byte 0) set.
inline bool is_group(const uint8_t* mac) { return mac[0] & 1; }

std::string format_mac(uint64_t key);
std::string format_mac(const uint8_t* mac);
// "aa:bb:cc:dd:ee:ff" (also '-' separated); false when malformed.
bool parse_mac(const std::string& text, Mac& out);

}  // namespace um::switchproto
