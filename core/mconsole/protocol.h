// The UML mconsole wire format (spec §2): requests, replies split into <=511-byte packets,
// and notification packets. All fields are host byte order (little endian on x86-64), as UML
// sends them. Pure codecs: no I/O here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace um::mconsole {

inline constexpr uint32_t kMagic = 0xcafebabe;
inline constexpr uint32_t kVersion = 2;
inline constexpr size_t kMaxRequestData = 512;     // request len must be < this
inline constexpr size_t kRequestHeader = 12;       // magic, version, len
inline constexpr size_t kRequestSize = kRequestHeader + kMaxRequestData;  // 524, what uml_mconsole sends
inline constexpr size_t kReplyHeader = 12;         // err, more, len
inline constexpr size_t kMaxReplyText = 511;       // + NUL = 512 data bytes per packet
inline constexpr size_t kMaxReplyPacket = kReplyHeader + kMaxReplyText + 1;

// What a version-0 (no magic) client gets back: bare text, not a reply struct.
inline constexpr std::string_view kVersion0Reply =
    "ERR Version 0 mconsole clients are not supported by this driver";

// ---- requests ----------------------------------------------------------------------------

// Encodes a request as the full 524-byte struct (like uml_mconsole). EINVAL if the command
// has 512 bytes or more.
Result<std::string> encode_request(std::string_view command);

struct Request {
  uint32_t version = kVersion;
  std::string command;  // the text, cut at len (and at an embedded NUL, as UML's C string)
};

// How the server must treat a received datagram.
enum class RequestProblem {
  None,
  NotMagic,         // version 0 client (or garbage): bare-text kVersion0Reply
  Truncated,        // magic present but header or data shorter than len says: error reply
  TooLarge,         // len >= 512: error reply "Request too large"
  WrongVersion,     // error reply, but the command is still executed (UML quirk)
};
struct DecodedRequest {
  RequestProblem problem = RequestProblem::None;
  Request request;  // valid for None and WrongVersion
};
DecodedRequest decode_request(std::string_view datagram);

// ---- replies -----------------------------------------------------------------------------

struct ReplyPacket {
  bool error = false;
  bool more = false;
  std::string text;  // without the trailing NUL
};

// One reply datagram: 12-byte header + text + NUL. `text` must be <= 511 bytes.
std::string encode_reply_packet(const ReplyPacket& p);
// Splits a complete reply into packets of <= 511 text bytes; the error flag goes on the first
// packet only, `more` on all but the last. An empty text gives one empty packet.
std::vector<std::string> encode_reply(bool error, std::string_view text);
// Decodes one reply datagram; EPROTO when it is not a well-formed reply packet.
Result<ReplyPacket> decode_reply_packet(std::string_view datagram);

// ---- notifications (mconsole=notify:PATH) --------------------------------------------------

enum class NotifyType : uint32_t { Socket = 0, Panic = 1, Hang = 2, UserNotify = 3 };
struct Notification {
  NotifyType type = NotifyType::Socket;
  std::string data;  // for Socket: the mconsole socket path (the trailing NUL is stripped)
};
inline constexpr size_t kMaxNotifyData = 512;
// 16-byte header (magic, version, type, len) + data (capped at 512). A Socket notification's
// data carries its trailing NUL, as UML sends it.
std::string encode_notification(const Notification& n);
Result<Notification> decode_notification(std::string_view datagram);

}  // namespace um::mconsole
