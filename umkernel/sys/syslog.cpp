// syslog(2) (klogctl): reads and clears the kernel log (kernel/kmsg.h). As on Debian
// (kernel.dmesg_restrict=1), every action needs CAP_SYSLOG (or CAP_SYS_ADMIN).
#include <sys/syscall.h>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/kmsg.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_ptr.h"

namespace um::kernel {

namespace {
enum {
  kClose = 0, kOpen = 1, kRead = 2, kReadAll = 3, kReadClear = 4, kClear = 5, kConsoleOff = 6,
  kConsoleOn = 7, kConsoleLevel = 8, kSizeUnread = 9, kSizeBuffer = 10,
};
// The console level console-off saved, for console-on.
struct SyslogState {
  int saved_console_level = -1;
};
}  // namespace

int64_t sys_syslog(Task& t) {
  int type = t.int_arg(0);
  auto buf = t.ptr_arg<char>(1);
  int len = t.int_arg(2);
  int& saved_console_level = kernel().state<SyslogState>().saved_console_level;
  if (type < kClose || type > kSizeBuffer) return -EINVAL;
  if (!capable(t, CAP_SYSLOG) && !capable(t, CAP_SYS_ADMIN)) return -EPERM;
  KernelLog& log = kernel_log();
  switch (type) {
    case kClose: case kOpen: return 0;
    case kRead: {
      if (!buf || len < 0) return -EINVAL;
      if (len == 0) return 0;
      if (log.unread() == 0) {
        t.wait_on(log.readers);
        return kBlock;
      }
      std::string s = log.consume(static_cast<size_t>(len));
      UM_TRY(buf.write_array(t, s.data(), s.size()));
      return static_cast<int64_t>(s.size());
    }
    case kReadAll: case kReadClear: {
      if (!buf || len < 0) return -EINVAL;
      if (len == 0) return 0;
      std::string_view all = log.since_clear();
      // The newest records that fit, from a record's start.
      size_t start = 0;
      while (all.size() - start > static_cast<size_t>(len)) {
        size_t nl = all.find('\n', start);
        if (nl == std::string_view::npos) { start = all.size(); break; }
        start = nl + 1;
      }
      std::string_view s = all.substr(start);
      if (!s.empty()) UM_TRY(buf.write_array(t, s.data(), s.size()));
      if (type == kReadClear) log.clear();
      return static_cast<int64_t>(s.size());
    }
    case kClear: log.clear(); return 0;
    case kConsoleOff:
      if (saved_console_level < 0) saved_console_level = log.console_level;
      log.console_level = 1;  // minimum_console_loglevel
      return 0;
    case kConsoleOn:
      if (saved_console_level >= 0) log.console_level = saved_console_level;
      saved_console_level = -1;
      return 0;
    case kConsoleLevel:
      if (len < 1 || len > 8) return -EINVAL;
      log.console_level = len;
      saved_console_level = -1;
      return 0;
    case kSizeUnread: return static_cast<int64_t>(log.unread());
    case kSizeBuffer: return static_cast<int64_t>(KernelLog::kBufferSize);
  }
  return -EINVAL;
}

namespace {
const SyscallRow kSyslogRows[] = {
    UM_FULL(syslog, "dBd"),
};
}  // namespace

std::span<const SyscallRow> syslog_syscalls() { return kSyslogRows; }

}  // namespace um::kernel
