#include "core/mconsole/protocol.h"

#include <algorithm>
#include <cstring>

namespace um::mconsole {
namespace {

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

uint32_t get_u32(std::string_view in, size_t off) {
  uint32_t v;
  memcpy(&v, in.data() + off, 4);
  return v;
}

// Strings from C structs end at the first NUL.
std::string_view until_nul(std::string_view s) {
  size_t nul = s.find('\0');
  return nul == std::string_view::npos ? s : s.substr(0, nul);
}

// Notification types whose data UML sends as a C string (with its NUL).
bool is_c_string_type(NotifyType t) { return t != NotifyType::UserNotify; }

}  // namespace

Result<std::string> encode_request(std::string_view command) {
  if (command.size() >= kMaxRequestData)
    return Error::make(EINVAL, "mconsole command is too long (" + std::to_string(command.size()) +
                                   " bytes, the limit is 511)");
  std::string out;
  out.reserve(kRequestSize);
  put_u32(out, kMagic);
  put_u32(out, kVersion);
  put_u32(out, static_cast<uint32_t>(command.size()));
  out.append(command);
  out.resize(kRequestSize, '\0');
  return out;
}

DecodedRequest decode_request(std::string_view datagram) {
  DecodedRequest d;
  if (datagram.size() < 4 || get_u32(datagram, 0) != kMagic) {
    d.problem = RequestProblem::NotMagic;
    return d;
  }
  if (datagram.size() < kRequestHeader) {
    d.problem = RequestProblem::Truncated;
    return d;
  }
  uint32_t version = get_u32(datagram, 4);
  uint32_t len = get_u32(datagram, 8);
  if (len >= kMaxRequestData) {
    d.problem = RequestProblem::TooLarge;
    return d;
  }
  if (datagram.size() - kRequestHeader < len) {
    d.problem = RequestProblem::Truncated;
    return d;
  }
  d.request.version = version;
  d.request.command = std::string(until_nul(datagram.substr(kRequestHeader, len)));
  d.problem = version == kVersion ? RequestProblem::None : RequestProblem::WrongVersion;
  return d;
}

std::string encode_reply_packet(const ReplyPacket& p) {
  std::string_view text = std::string_view(p.text).substr(0, kMaxReplyText);
  std::string out;
  out.reserve(kReplyHeader + text.size() + 1);
  put_u32(out, p.error ? 1 : 0);
  put_u32(out, p.more ? 1 : 0);
  put_u32(out, static_cast<uint32_t>(text.size() + 1));
  out.append(text);
  out.push_back('\0');
  return out;
}

std::vector<std::string> encode_reply(bool error, std::string_view text) {
  std::vector<std::string> packets;
  size_t off = 0;
  do {
    size_t n = std::min(kMaxReplyText, text.size() - off);
    ReplyPacket p{error && off == 0, off + n < text.size(), std::string(text.substr(off, n))};
    packets.push_back(encode_reply_packet(p));
    off += n;
  } while (off < text.size());
  return packets;
}

Result<ReplyPacket> decode_reply_packet(std::string_view datagram) {
  if (datagram.size() < kReplyHeader)
    return Error::make(EPROTO, "short mconsole reply (" + std::to_string(datagram.size()) + " bytes)");
  uint32_t err = get_u32(datagram, 0), more = get_u32(datagram, 4), len = get_u32(datagram, 8);
  if (more > 1 || len > kMaxReplyText + 1 || datagram.size() - kReplyHeader < len)
    return Error::make(EPROTO, "malformed mconsole reply packet");
  ReplyPacket p;
  p.error = err != 0;
  p.more = more != 0;
  p.text = std::string(until_nul(datagram.substr(kReplyHeader, len)));
  return p;
}

std::string encode_notification(const Notification& n) {
  std::string data = n.data;
  if (is_c_string_type(n.type)) data.push_back('\0');
  if (data.size() > kMaxNotifyData) data.resize(kMaxNotifyData);
  std::string out;
  put_u32(out, kMagic);
  put_u32(out, kVersion);
  put_u32(out, static_cast<uint32_t>(n.type));
  put_u32(out, static_cast<uint32_t>(data.size()));
  out.append(data);
  return out;
}

Result<Notification> decode_notification(std::string_view datagram) {
  if (datagram.size() < 16 || get_u32(datagram, 0) != kMagic)
    return Error::make(EPROTO, "not an mconsole notification");
  uint32_t type = get_u32(datagram, 8), len = get_u32(datagram, 12);
  if (type > static_cast<uint32_t>(NotifyType::UserNotify) || len > kMaxNotifyData ||
      datagram.size() - 16 < len)
    return Error::make(EPROTO, "malformed mconsole notification");
  Notification n;
  n.type = static_cast<NotifyType>(type);
  std::string_view data = datagram.substr(16, len);
  n.data = std::string(is_c_string_type(n.type) ? until_nul(data) : data);
  return n;
}

}  // namespace um::mconsole
