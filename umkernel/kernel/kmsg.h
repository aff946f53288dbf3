// The kernel log (printk's ring buffer): what umkernel says about itself — boot messages,
// its warnings and errors (every um::log line, whatever the quiet level) — as records with a
// level and a time since boot. syslog(2) (sys/syslog.cpp) reads it: dmesg shows it.
#pragma once
#include <cstdint>
#include <string>

#include "umkernel/kernel/wait_queue.h"

namespace um::kernel {

// Levels as printk's: 0 emerg ... 3 err, 4 warning, 6 info, 7 debug.
void kmsg(int level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// Sends um::log's lines into the log too (called once at start).
void kmsg_capture_log();

class KernelLog {
 public:
  static constexpr size_t kBufferSize = 1 << 18;  // CONFIG_LOG_BUF_SHIFT=18, as Debian's
  void add(int level, std::string_view text);
  // The whole buffer as syslog(2) prints it: "<L>[ssss.uuuuuu] text\n" per record.
  const std::string& text() const { return text_; }
  // Bytes not yet consumed by SYSLOG_ACTION_READ.
  size_t unread() const { return text_.size() - read_pos_; }
  // Consumes up to n unread bytes (SYSLOG_ACTION_READ); whole lines as far as they fit.
  std::string consume(size_t n);
  void clear() { clear_pos_ = text_.size(); }
  // What READ_ALL shows: the text since the last clear.
  std::string_view since_clear() const { return std::string_view(text_).substr(clear_pos_); }
  int console_level = 7;
  WaitQueue readers;

 private:
  std::string text_;
  size_t read_pos_ = 0, clear_pos_ = 0;
};

KernelLog& kernel_log();

}  // namespace um::kernel
