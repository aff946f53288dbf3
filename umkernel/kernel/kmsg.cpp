#include "umkernel/kernel/kmsg.h"

#include <cstdarg>
#include <cstdio>

#include "core/log.h"
#include "umkernel/kernel/kernel.h"

namespace um::kernel {

KernelLog& kernel_log() {
  static KernelLog log;
  return log;
}

void KernelLog::add(int level, std::string_view text) {
  int64_t since_boot = 0;
  if (kernel_exists()) since_boot = std::max<int64_t>(0, monotonic_ns() - kernel().boot_time_ns());
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  char head[48];
  snprintf(head, sizeof head, "<%d>[%5lld.%06lld] ", level, static_cast<long long>(since_boot / 1000000000),
           static_cast<long long>(since_boot % 1000000000 / 1000));
  text_ += head;
  text_.append(text);
  text_ += '\n';
  // Drop the oldest whole records once the buffer is full.
  if (text_.size() > kBufferSize) {
    size_t cut = text_.find('\n', text_.size() - kBufferSize);
    cut = cut == std::string::npos ? text_.size() : cut + 1;
    text_.erase(0, cut);
    read_pos_ = read_pos_ > cut ? read_pos_ - cut : 0;
    clear_pos_ = clear_pos_ > cut ? clear_pos_ - cut : 0;
  }
  readers.wake_all();
}

std::string KernelLog::consume(size_t n) {
  std::string out = text_.substr(read_pos_, n);
  read_pos_ += out.size();
  return out;
}

void kmsg(int level, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  kernel_log().add(level, buf);
}

void kmsg_capture_log() {
  log::set_sink([](log::Level l, const char* line) {
    int level = l == log::Level::Error ? 3 : l == log::Level::Warn ? 4 : l == log::Level::Info ? 6 : 7;
    if (l != log::Level::Debug) kernel_log().add(level, line);
  });
}

}  // namespace um::kernel
