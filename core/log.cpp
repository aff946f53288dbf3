#include "core/log.h"

#include <cstdarg>

namespace um::log {
namespace {
std::string g_program = "um";
Level g_level = Level::Info;
Sink g_sink = nullptr;
}  // namespace

void set_program(std::string_view name) { g_program = name; }
const std::string& program() { return g_program; }
void set_level(Level l) { g_level = l; }
Level level() { return g_level; }
void set_sink(Sink sink) { g_sink = sink; }

void write(Level l, const char* fmt, ...) {
  if (l < g_level && !g_sink) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (g_sink) g_sink(l, buf);
  if (l < g_level) return;
  const char* tag = l == Level::Error ? "error: " : l == Level::Warn ? "warning: " : "";
  // One write(2) per line so that concurrent writers do not interleave within a line.
  std::string line = g_program + ": " + tag + buf;
  if (line.empty() || line.back() != '\n') line += '\n';
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace um::log
