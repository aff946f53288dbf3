#include "core/console/attach_protocol.h"

namespace um::console {

namespace {
const char* mode_word(Mode m) {
  switch (m) {
    case Mode::ReadWrite: return "rw";
    case Mode::ReadOnly: return "ro";
    case Mode::Dump: return "dump";
    case Mode::InputOnly: return "input";
  }
  return "rw";
}
}  // namespace

std::string encode_hello(Mode mode) { return std::string(kHelloPrefix) + mode_word(mode) + "\n"; }

Result<Mode> decode_hello(std::string_view line) {
  if (!line.starts_with(kHelloPrefix))
    return Error::make(EPROTO, "not a umconsole attach request");
  std::string_view word = line.substr(kHelloPrefix.size());
  for (Mode m : {Mode::ReadWrite, Mode::ReadOnly, Mode::Dump, Mode::InputOnly})
    if (word == mode_word(m)) return m;
  return Error::make(EPROTO, "unknown attach mode '" + std::string(word) + "'");
}

std::string encode_ok() { return std::string(kHelloPrefix) + "OK\n"; }
std::string encode_refusal(std::string_view reason) {
  return std::string(kHelloPrefix) + "ERR " + std::string(reason) + "\n";
}

Status decode_answer(std::string_view line) {
  if (line == std::string(kHelloPrefix) + "OK") return {};
  std::string err = std::string(kHelloPrefix) + "ERR ";
  if (line.starts_with(err)) return Error::make(ECONNREFUSED, std::string(line.substr(err.size())));
  return Error::make(EPROTO, "the console socket does not speak the umconsole attach protocol");
}

bool mode_reads_output(Mode m) { return m == Mode::ReadWrite || m == Mode::ReadOnly || m == Mode::Dump; }
bool mode_accepts_input(Mode m) { return m == Mode::ReadWrite || m == Mode::InputOnly; }

std::string encode_input(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    out += c;
    if (static_cast<unsigned char>(c) == kEscape) out += c;
  }
  return out;
}

std::string encode_window_size(uint16_t rows, uint16_t cols) {
  return {static_cast<char>(kEscape), static_cast<char>(kWindowSize), static_cast<char>(rows >> 8),
          static_cast<char>(rows & 0xff), static_cast<char>(cols >> 8), static_cast<char>(cols & 0xff)};
}

Status InputDecoder::feed(std::string_view bytes) {
  std::string data;
  auto flush = [&] {
    if (!data.empty() && on_input) on_input(data);
    data.clear();
  };
  std::string buf = std::move(pending_);
  pending_.clear();
  buf.append(bytes);
  size_t i = 0;
  while (i < buf.size()) {
    unsigned char c = static_cast<unsigned char>(buf[i]);
    if (c != kEscape) { data += buf[i++]; continue; }
    if (i + 1 >= buf.size()) break;  // wait for the rest
    unsigned char kind = static_cast<unsigned char>(buf[i + 1]);
    if (kind == kEscape) { data += buf[i]; i += 2; continue; }
    if (kind != kWindowSize) {
      flush();
      return Error::make(EPROTO, "malformed escape in console input");
    }
    if (i + 6 > buf.size()) break;
    flush();
    auto u16 = [&](size_t at) {
      return static_cast<uint16_t>(static_cast<unsigned char>(buf[at]) << 8 | static_cast<unsigned char>(buf[at + 1]));
    };
    if (on_window_size) on_window_size(u16(i + 2), u16(i + 4));
    i += 6;
  }
  flush();
  pending_ = buf.substr(i);
  return {};
}

}  // namespace um::console
