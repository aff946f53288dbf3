#include "umconsole/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <string>

namespace umconsole {
namespace {

// What a crash handler needs to put the terminal back (async-signal-safe use only).
termios g_saved;
int g_saved_fd = -1;

void restore_and_die(int sig) {
  if (g_saved_fd >= 0) tcsetattr(g_saved_fd, TCSAFLUSH, &g_saved);
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  termios t;
  if (!isatty(fd) || tcgetattr(fd, &t) != 0) return;
  g_saved = t;
  g_saved_fd = fd;
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) signal(sig, restore_and_die);
  cfmakeraw(&t);
  if (tcsetattr(fd, TCSAFLUSH, &t) == 0) active_ = true;
}

RawTerminal::~RawTerminal() { restore(); }

void RawTerminal::restore() {
  if (!active_) return;
  tcsetattr(fd_, TCSAFLUSH, &g_saved);
  g_saved_fd = -1;
  active_ = false;
}

std::optional<std::pair<uint16_t, uint16_t>> window_size(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return std::nullopt;
  return std::make_pair(ws.ws_row, ws.ws_col);
}

std::optional<int> parse_escape(const std::string& spec) {
  if (spec == "none") return -1;
  if (spec.size() == 1) return static_cast<unsigned char>(spec[0]);
  if (spec.size() == 2 && spec[0] == '^') {
    char c = spec[1];
    if (c == '?') return 0x7f;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c >= '@' && c <= '_') return c - '@';
  }
  return std::nullopt;
}

}  // namespace umconsole
