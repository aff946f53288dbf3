// Just enough telnet for `port:PORT` consoles: the server asks the client for character mode
// (server echoes, go-ahead suppressed) and window sizes (NAWS), strips negotiation from the
// input, and doubles 0xFF in the output.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace um::console::telnet {

inline constexpr unsigned char IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250,
                               SE = 240, ECHO = 1, SGA = 3, NAWS = 31;

// Sent once when a client connects: IAC WILL ECHO, IAC WILL SGA, IAC DO SGA, IAC DO NAWS.
std::string greeting();
std::string escape_output(std::string_view bytes);

class Decoder {
 public:
  std::function<void(std::string_view)> on_input;
  std::function<void(uint16_t rows, uint16_t cols)> on_window_size;
  void feed(std::string_view bytes);

 private:
  enum class State { Data, Iac, Option, Sub, SubIac, Cr } state_ = State::Data;
  std::string sub_;  // subnegotiation bytes
};

}  // namespace um::console::telnet
