// The local terminal during `attach`: raw mode while attached, restored on every way out
// (normal return, error, SIGTERM/SIGHUP/SIGINT through the caller's signalfd, and crashes
// through a handler that restores it before dying).
#pragma once
#include <termios.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace umconsole {

class RawTerminal {
 public:
  // Switches `fd` to raw mode if it is a terminal; otherwise does nothing.
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool active() const { return active_; }
  // Puts the terminal back now (the destructor then does nothing).
  void restore();

 private:
  int fd_;
  bool active_ = false;
};

// The window size of terminal `fd`, if it is one.
std::optional<std::pair<uint16_t, uint16_t>> window_size(int fd);

// Parses an escape character spec: "^]" style control notation, a single character, or
// "none" (no escape character; returns -1). Empty optional when invalid.
std::optional<int> parse_escape(const std::string& spec);

}  // namespace umconsole
