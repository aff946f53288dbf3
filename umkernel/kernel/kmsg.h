// The kernel log (printk's ring buffer): what umkernel says about itself — boot messages,
// its warnings and errors (every um::log line, whatever the quiet level) — as records with a
// level and a time since boot. syslog(2) (sys/syslog.cpp) reads it: dmesg shows it.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
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
  // One message as /dev/kmsg gives it: its sequence number, syslog prefix (facility << 3 |
  // level; the kernel's own messages have facility 0) and time since boot.
  struct Record {
    uint64_t seq;
    int prefix;
    int64_t ts_us;
    std::string text;
  };
  void add(int level, std::string_view text, int facility = 0);
  const std::deque<Record>& records() const { return records_; }
  uint64_t first_seq() const { return records_.empty() ? next_seq_ : records_.front().seq; }
  uint64_t next_seq() const { return next_seq_; }
  uint64_t clear_seq() const { return clear_seq_; }
  // The whole buffer as syslog(2) prints it: "<L>[ssss.uuuuuu] text\n" per record.
  const std::string& text() const { return text_; }
  // Bytes not yet consumed by SYSLOG_ACTION_READ.
  size_t unread() const { return text_.size() - read_pos_; }
  // Consumes up to n unread bytes (SYSLOG_ACTION_READ); whole lines as far as they fit.
  std::string consume(size_t n);
  void clear() {
    clear_pos_ = text_.size();
    clear_seq_ = next_seq_;
  }
  // What READ_ALL shows: the text since the last clear.
  std::string_view since_clear() const { return std::string_view(text_).substr(clear_pos_); }
  int console_level = 7;
  WaitQueue readers;

 private:
  std::string text_;
  size_t read_pos_ = 0, clear_pos_ = 0;
  std::deque<Record> records_;
  size_t record_bytes_ = 0;
  uint64_t next_seq_ = 0, clear_seq_ = 0;
};

KernelLog& kernel_log();

class Inode;
class File;
// /dev/kmsg (char 1:11) as Linux's devkmsg: each read(2) gives one record
// "PREFIX,SEQ,USEC,-;TEXT\n" (bytes below space, above '~' and '\\' escaped as \xNN), from the
// oldest record still kept; EAGAIN or a wait at the end, EPIPE once when records were lost
// under the reader, EINVAL for a buffer too small for the record. lseek(0, SEEK_SET / SEEK_DATA /
// SEEK_END) goes to the first record, the first after the last SYSLOG_ACTION_CLEAR, the end.
// Each write(2) is one record from user space: an optional "<N>" prefix gives its level and
// facility (facility 0 becomes LOG_USER, so the kernel's own records stay recognisable).
int64_t open_kmsg(std::shared_ptr<Inode> inode, int flags, std::shared_ptr<File>& out);

}  // namespace um::kernel
