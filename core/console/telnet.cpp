#include "core/console/telnet.h"

namespace um::console::telnet {

std::string greeting() {
  return {char(IAC), char(WILL), char(ECHO), char(IAC), char(WILL), char(SGA),
          char(IAC), char(DO),   char(SGA),  char(IAC), char(DO),   char(NAWS)};
}

std::string escape_output(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    out += c;
    if (static_cast<unsigned char>(c) == IAC) out += c;
  }
  return out;
}

void Decoder::feed(std::string_view bytes) {
  std::string data;
  for (char ch : bytes) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (state_) {
      case State::Cr:
        state_ = State::Data;
        if (c == 0 || c == '\n') continue;  // NVT end of line "CR NUL"/"CR LF" → the CR already sent
        [[fallthrough]];
      case State::Data:
        if (c == IAC) { state_ = State::Iac; continue; }
        data += ch;
        if (c == '\r') state_ = State::Cr;
        continue;
      case State::Iac:
        if (c == IAC) { data += ch; state_ = State::Data; }
        else if (c == SB) { sub_.clear(); state_ = State::Sub; }
        else if (c >= WILL) state_ = State::Option;  // WILL/WONT/DO/DONT take one option byte
        else state_ = State::Data;                    // NOP, GA, ... : ignored
        continue;
      case State::Option:
        state_ = State::Data;
        continue;
      case State::Sub:
        if (c == IAC) state_ = State::SubIac;
        else if (sub_.size() < 64) sub_ += ch;
        continue;
      case State::SubIac:
        if (c == IAC) { if (sub_.size() < 64) sub_ += ch; state_ = State::Sub; continue; }
        state_ = State::Data;  // IAC SE (or anything else) ends the subnegotiation
        if (sub_.size() == 5 && static_cast<unsigned char>(sub_[0]) == NAWS && on_window_size) {
          auto u = [&](int i) { return static_cast<unsigned char>(sub_[i]); };
          uint16_t cols = static_cast<uint16_t>(u(1) << 8 | u(2)), rows = static_cast<uint16_t>(u(3) << 8 | u(4));
          if (!data.empty() && on_input) on_input(data);
          data.clear();
          on_window_size(rows, cols);
        }
        continue;
    }
  }
  if (!data.empty() && on_input) on_input(data);
}

}  // namespace um::console::telnet
