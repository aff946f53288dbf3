// Minimal leveled logging to stderr, prefixed with the tool's name.
#pragma once
#include <cstdio>
#include <string>
#include <string_view>

namespace um::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Quiet = 4 };

void set_program(std::string_view name);     // "umimage", "umkernel", ...
const std::string& program();
void set_level(Level l);
Level level();
void write(Level l, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// Receives every line written (whatever the level), before the level filter: umkernel keeps
// them in its kernel log. nullptr: none.
using Sink = void (*)(Level l, const char* line);
void set_sink(Sink sink);

}  // namespace um::log

#define UM_DEBUG(...) do { if (::um::log::level() <= ::um::log::Level::Debug) ::um::log::write(::um::log::Level::Debug, __VA_ARGS__); } while (0)
#define UM_INFO(...)  ::um::log::write(::um::log::Level::Info, __VA_ARGS__)
#define UM_WARN(...)  ::um::log::write(::um::log::Level::Warn, __VA_ARGS__)
#define UM_ERROR(...) ::um::log::write(::um::log::Level::Error, __VA_ARGS__)
