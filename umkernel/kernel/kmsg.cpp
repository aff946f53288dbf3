#include "umkernel/kernel/kmsg.h"

#include <poll.h>
#include <unistd.h>

#include <cstdarg>
#include <cstring>
#include <cstdio>

#include "core/log.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

KernelLog& kernel_log() {
  static KernelLog log;
  return log;
}

void KernelLog::add(int level, std::string_view text, int facility) {
  int64_t since_boot = 0;
  if (kernel_exists()) since_boot = std::max<int64_t>(0, monotonic_ns() - kernel().boot_time_ns());
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  int prefix = facility << 3 | (level & 7);
  records_.push_back({next_seq_++, prefix, since_boot / 1000, std::string(text)});
  record_bytes_ += text.size() + 16;  // printk_info's share, roughly
  while (record_bytes_ > kBufferSize && records_.size() > 1) {
    record_bytes_ -= records_.front().text.size() + 16;
    records_.pop_front();
  }
  char head[48];
  snprintf(head, sizeof head, "<%d>[%5lld.%06lld] ", prefix, static_cast<long long>(since_boot / 1000000000),
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

namespace {

class KmsgFile : public File {
 public:
  KmsgFile(InodePtr inode, int flags) : File(std::move(inode), flags), seq_(kernel_log().first_seq()) {}

  int64_t read(Task&, void* buf, size_t n, int64_t*) override {
    KernelLog& log = kernel_log();
    if (seq_ < log.first_seq()) {  // overwritten under us: say so once, go on from the oldest
      seq_ = log.first_seq();
      return -EPIPE;
    }
    if (seq_ >= log.next_seq()) return -EAGAIN;
    const KernelLog::Record& r = log.records()[seq_ - log.first_seq()];
    std::string line = std::to_string(r.prefix) + ',' + std::to_string(r.seq) + ',' + std::to_string(r.ts_us) + ",-;";
    for (unsigned char c : r.text) {
      if (c < ' ' || c >= 127 || c == '\\') {
        char esc[5];
        snprintf(esc, sizeof esc, "\\x%02x", c);
        line += esc;
      } else {
        line += static_cast<char>(c);
      }
    }
    line += '\n';
    if (line.size() > n) return -EINVAL;
    memcpy(buf, line.data(), line.size());
    seq_++;
    return static_cast<int64_t>(line.size());
  }

  int64_t write(Task&, const void* buf, size_t n, int64_t*) override {
    constexpr size_t kLineMax = 1024 - 32;  // LOG_LINE_MAX
    if (n > kLineMax) return -EINVAL;
    std::string_view line(static_cast<const char*>(buf), n);
    int level = 4, facility = 1;  // default_message_loglevel, LOG_USER
    if (!line.empty() && line[0] == '<') {
      size_t i = 1;
      unsigned long u = 0;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9') u = u * 10 + static_cast<unsigned>(line[i++] - '0');
      if (i < line.size() && line[i] == '>') {
        level = static_cast<int>(u & 7);
        if (u >> 3) facility = static_cast<int>((u >> 3) & 0xff);
        line.remove_prefix(i + 1);
      }
    }
    kernel_log().add(level, line, facility);
    return static_cast<int64_t>(n);
  }

  int64_t seek(int64_t off, int whence) override {
    if (off) return -ESPIPE;
    KernelLog& log = kernel_log();
    switch (whence) {
      case SEEK_SET: seq_ = log.first_seq(); break;
      case SEEK_DATA: seq_ = std::max(log.clear_seq(), log.first_seq()); break;
      case SEEK_END: seq_ = log.next_seq(); break;
      default: return -EINVAL;
    }
    return 0;
  }

  unsigned poll() override {
    KernelLog& log = kernel_log();
    if (seq_ < log.first_seq()) return POLLIN | POLLRDNORM | POLLERR | POLLPRI;
    return seq_ < log.next_seq() ? POLLIN | POLLRDNORM : 0;
  }
  WaitQueue* wait_queue() override { return &kernel_log().readers; }

 private:
  uint64_t seq_;
};

}  // namespace

int64_t open_kmsg(InodePtr inode, int flags, FilePtr& out) {
  out = std::make_shared<KmsgFile>(std::move(inode), flags);
  return 0;
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
