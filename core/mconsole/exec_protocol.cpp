#include "core/mconsole/exec_protocol.h"

#include <cstring>

namespace um::mconsole::exec {

namespace {
bool known(uint8_t t) { return (t >= 1 && t <= 6) || (t >= 16 && t <= 20); }
}  // namespace

std::string encode_frame(FrameType type, std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeader + payload.size());
  out.push_back(static_cast<char>(type));
  out.append(encode_u32(static_cast<uint32_t>(payload.size())));
  out.append(payload);
  return out;
}

Result<std::optional<Frame>> FrameDecoder::next() {
  if (buf_.size() - off_ < kFrameHeader) return std::optional<Frame>();
  uint8_t type = static_cast<uint8_t>(buf_[off_]);
  uint32_t len;
  memcpy(&len, buf_.data() + off_ + 1, 4);
  if (!known(type)) return Error::make(EPROTO, "um-exec: unknown frame type " + std::to_string(type));
  if (len > kMaxFramePayload) return Error::make(EPROTO, "um-exec: frame too large");
  if (buf_.size() - off_ - kFrameHeader < len) return std::optional<Frame>();
  Frame f{static_cast<FrameType>(type), buf_.substr(off_ + kFrameHeader, len)};
  off_ += kFrameHeader + len;
  if (off_ > 65536 && off_ * 2 > buf_.size()) {  // compact now and then
    buf_.erase(0, off_);
    off_ = 0;
  }
  return std::optional<Frame>(std::move(f));
}

std::string encode_strings(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    out.append(s);
    out.push_back('\0');
  }
  return out;
}

std::vector<std::string> decode_strings(std::string_view payload) {
  std::vector<std::string> out;
  while (!payload.empty()) {
    size_t nul = payload.find('\0');
    out.emplace_back(payload.substr(0, nul));
    if (nul == std::string_view::npos) break;
    payload.remove_prefix(nul + 1);
  }
  return out;
}

std::string encode_u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

Result<uint32_t> decode_u32(std::string_view payload) {
  if (payload.size() != 4) return Error::make(EPROTO, "um-exec: bad u32 payload");
  uint32_t v;
  memcpy(&v, payload.data(), 4);
  return v;
}

std::string encode_exit(ExitStatus s) {
  return encode_u32(s.signaled ? 1 : 0) + encode_u32(static_cast<uint32_t>(s.value));
}

Result<ExitStatus> decode_exit(std::string_view payload) {
  if (payload.size() != 8) return Error::make(EPROTO, "um-exec: bad exit frame");
  uint32_t kind = UM_TRY(decode_u32(payload.substr(0, 4)));
  uint32_t value = UM_TRY(decode_u32(payload.substr(4)));
  if (kind > 1 || value > 255) return Error::make(EPROTO, "um-exec: bad exit frame");
  return ExitStatus{kind == 1, static_cast<int>(value)};
}

Result<std::string> parse_reply(std::string_view text) {
  if (!text.starts_with(kReplyVersion) || text.size() == kReplyVersion.size())
    return Error::make(EPROTO, "unexpected um-exec reply '" + std::string(text.substr(0, 80)) + "'");
  return std::string(text.substr(kReplyVersion.size()));
}

std::string make_reply(const std::string& socket_path) { return std::string(kReplyVersion) + socket_path; }

}  // namespace um::mconsole::exec
