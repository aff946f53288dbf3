#include "umkernel/kernel/strace.h"

#include <fcntl.h>

#include <cstring>
#include <string>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

std::string quote(const std::string& s, size_t max = 32) {
  std::string o = "\"";
  for (size_t i = 0; i < s.size() && i < max; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') { o += '\\'; o += static_cast<char>(c); }
    else if (c == '\n') o += "\\n";
    else if (c == '\t') o += "\\t";
    else if (c < 32 || c >= 127) { char b[8]; snprintf(b, sizeof b, "\\%o", c); o += b; }
    else o += static_cast<char>(c);
  }
  o += '"';
  if (s.size() > max) o += "...";
  return o;
}

std::string user_buffer(Task& t, uint64_t addr, int64_t len) {
  if (!addr) return "NULL";
  if (len < 0) return "0x" + std::to_string(addr);
  std::string s(std::min<int64_t>(len, 32), '\0');
  if (copy_from_user(t, s.data(), addr, s.size()) < 0) return "0x?";
  std::string q = quote(s);
  if (len > 32) q += "...";
  return q;
}

}  // namespace

void strace_syscall(FILE* out, Task& t, int64_t result) {
  const SyscallRow* info = syscall_info(t.sys_nr);
  std::string line = "[pid " + std::to_string(t.tid) + "] ";
  const char* nm = syscall_name(t.sys_nr);
  line += nm ? nm : "syscall_" + std::to_string(t.sys_nr);
  line += '(';
  const char* fmt = info && info->name ? info->args : "xxxxxx";
  for (int i = 0; fmt[i] && i < 6; i++) {
    if (i) line += ", ";
    uint64_t a = t.sys_args[i];
    char buf[64];
    switch (fmt[i]) {
      case 'd': snprintf(buf, sizeof buf, "%ld", static_cast<long>(a)); line += buf; break;
      case 'u': snprintf(buf, sizeof buf, "%lu", static_cast<unsigned long>(a)); line += buf; break;
      case 'f':
        if (static_cast<int>(a) == AT_FDCWD) line += "AT_FDCWD";
        else { snprintf(buf, sizeof buf, "%d", static_cast<int>(a)); line += buf; }
        break;
      case 'm': snprintf(buf, sizeof buf, "0%lo", static_cast<unsigned long>(a)); line += buf; break;
      case 's': {
        std::string s;
        if (!a) line += "NULL";
        else if (string_from_user(t, a, s, 4096) < 0) line += "0x?";
        else line += quote(s, 64);
        break;
      }
      case 'b': line += user_buffer(t, a, static_cast<int64_t>(t.sys_args[i + 1])); break;
      case 'B': line += result >= 0 && result < (1 << 30) ? user_buffer(t, a, result) : (snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(a)), std::string(buf)); break;
      case 'p': if (!a) { line += "NULL"; break; } [[fallthrough]];
      default: snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(a)); line += buf; break;
    }
  }
  line += ") = ";
  if (result == kNoReturn) {
    line += "0";
  } else if (result == kERestartSys) {
    line += "? ERESTARTSYS (To be restarted if SA_RESTART is set)";
  } else if (result < 0 && result >= -4095) {
    const char* name = strerrorname_np(static_cast<int>(-result));
    line += "-1 ";
    line += name ? name : "E?";
    line += " (";
    line += strerror(static_cast<int>(-result));
    line += ")";
  } else {
    char buf[32];
    if (info && info->name && (!strcmp(info->name, "mmap") || !strcmp(info->name, "brk")))
      snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(result));
    else
      snprintf(buf, sizeof buf, "%ld", static_cast<long>(result));
    line += buf;
  }
  line += '\n';
  fwrite(line.data(), 1, line.size(), out);
  fflush(out);
}

}  // namespace um::kernel
