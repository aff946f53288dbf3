#include "umkernel/kernel/strace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

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

// Open flags as strace prints them: O_RDONLY|O_CREAT|O_CLOEXEC.
std::string open_flags(uint64_t f) {
  static const std::pair<uint64_t, const char*> kNames[] = {
      {O_SYNC, "O_SYNC"}, {O_TMPFILE, "O_TMPFILE"}, {O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_NOCTTY, "O_NOCTTY"}, {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_DSYNC, "O_DSYNC"}, {O_ASYNC, "O_ASYNC"},
      {O_DIRECT, "O_DIRECT"}, {O_LARGEFILE, "O_LARGEFILE"}, {O_DIRECTORY, "O_DIRECTORY"},
      {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"}, {O_CLOEXEC, "O_CLOEXEC"},
      {O_PATH, "O_PATH"}};
  std::string o;
  uint64_t acc = f & O_ACCMODE;
  o = acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : acc == O_RDWR ? "O_RDWR" : "O_ACCMODE";
  f &= ~static_cast<uint64_t>(O_ACCMODE);
  for (auto [bit, name] : kNames)
    if ((f & bit) == bit) { o += '|'; o += name; f &= ~bit; }
  if (f) { char b[32]; snprintf(b, sizeof b, "|%#lx", static_cast<unsigned long>(f)); o += b; }
  return o;
}

// A socket address of `len` bytes at `addr`, decoded as strace does.
std::string sockaddr_text(Task& t, uint64_t addr, int64_t len) {
  char b[160];
  if (!addr) return "NULL";
  if (len <= 0 || len > 4096) { snprintf(b, sizeof b, "%#lx", static_cast<unsigned long>(addr)); return b; }
  sockaddr_storage ss{};
  size_t n = std::min<size_t>(static_cast<size_t>(len), sizeof ss);
  if (copy_from_user(t, &ss, addr, n) < 0) { snprintf(b, sizeof b, "%#lx", static_cast<unsigned long>(addr)); return b; }
  if (n < sizeof(sa_family_t)) return "{sa_family=?}";
  switch (ss.ss_family) {
    case AF_INET: {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
      snprintf(b, sizeof b, "{sa_family=AF_INET, sin_port=htons(%u), sin_addr=inet_addr(\"%s\")}", ntohs(in->sin_port), ip);
      return b;
    }
    case AF_INET6: {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      char ip[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
      snprintf(b, sizeof b,
               "{sa_family=AF_INET6, sin6_port=htons(%u), sin6_flowinfo=htonl(%u), inet_pton(AF_INET6, \"%s\", "
               "&sin6_addr), sin6_scope_id=%u}",
               ntohs(in6->sin6_port), ntohl(in6->sin6_flowinfo), ip, in6->sin6_scope_id);
      return b;
    }
    case AF_UNIX: {
      auto* un = reinterpret_cast<sockaddr_un*>(&ss);
      size_t plen = n - offsetof(sockaddr_un, sun_path);
      if (plen == 0) return "{sa_family=AF_UNIX}";
      if (un->sun_path[0] == 0)  // abstract: strace's @"name"
        return "{sa_family=AF_UNIX, sun_path=@" + quote(std::string(un->sun_path + 1, plen - 1), 108) + "}";
      return "{sa_family=AF_UNIX, sun_path=" + quote(std::string(un->sun_path, strnlen(un->sun_path, plen)), 108) + "}";
    }
    case AF_NETLINK: {
      auto* nl = reinterpret_cast<sockaddr_nl*>(&ss);
      snprintf(b, sizeof b, "{sa_family=AF_NETLINK, nl_pid=%u, nl_groups=%08x}", nl->nl_pid, nl->nl_groups);
      return b;
    }
    default:
      snprintf(b, sizeof b, "{sa_family=%u, sa_data=...}", ss.ss_family);
      return b;
  }
}

}  // namespace

std::string strace_exec_args(Task& t, int dirfd_arg, const std::string& path, const std::vector<std::string>& argv,
                             const std::vector<std::string>& envp, uint64_t envp_addr) {
  std::string o;
  if (dirfd_arg != INT32_MIN) {
    o += dirfd_arg == AT_FDCWD ? "AT_FDCWD" : std::to_string(dirfd_arg);
    o += ", ";
  }
  o += quote(path, 256) + ", [";
  for (size_t i = 0; i < argv.size(); i++) {
    if (i == 32) { o += ", ..."; break; }
    if (i) o += ", ";
    o += quote(argv[i], 64);
  }
  char b[64];
  snprintf(b, sizeof b, "], %#lx /* %zu var%s */", static_cast<unsigned long>(envp_addr), envp.size(),
           envp.size() == 1 ? "" : "s");
  return o + b;
}

void strace_syscall(FILE* out, Task& t, int64_t result) {
  const SyscallRow* info = syscall_info(t.sys_nr);
  std::string line = "[pid " + std::to_string(t.tid) + "] ";
  const char* nm = syscall_name(t.sys_nr);
  line += nm ? nm : "syscall_" + std::to_string(t.sys_nr);
  line += '(';
  const char* fmt = info && info->name ? info->args : "xxxxxx";
  int first = 0;
  if (!t.strace_exec.empty()) {  // execve's path and argv, read before the exec replaced them
    line += t.strace_exec;
    t.strace_exec.clear();
    first = t.sys_nr == SYS_execveat ? 4 : 3;
    for (int i = first; fmt[i] && i < 6; i++) {
      char buf[32];
      snprintf(buf, sizeof buf, ", %#lx", static_cast<unsigned long>(t.sys_args[i]));
      line += buf;
    }
    fmt = "";
  }
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
      case 'o': line += open_flags(a); break;
      case 'a': line += sockaddr_text(t, a, static_cast<int64_t>(static_cast<uint32_t>(t.sys_args[i + 1]))); break;
      case 'A': {  // filled by the kernel: its length is in the socklen_t the next argument points to
        uint32_t len = 0;
        if (result < 0 || !a || get_user(t, t.sys_args[i + 1], len) < 0) {
          if (!a) line += "NULL";
          else { snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(a)); line += buf; }
        } else {
          line += sockaddr_text(t, a, len);
        }
        break;
      }
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
