#include "umkernel/kernel/syscall_table.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>


namespace um::kernel {

namespace {

std::string where(const SyscallRow& r, const char* file) {
  return std::string(r.name ? r.name : "?") + " (" + std::to_string(r.nr) + ", " + file + ")";
}

// The row's own faults, or "".
std::string check_row(const SyscallRow& r) {
  if (r.nr < 0 || r.nr >= kMaxSyscall) return "number out of range";
  const char* linux_name = syscall_name(r.nr);
  if (!r.name || !linux_name || strcmp(r.name, linux_name) != 0)
    return std::string("Linux calls number ") + std::to_string(r.nr) + " " + (linux_name ? linux_name : "nothing");
  if (!r.args) return "no argument letters";
  if (strlen(r.args) > 6) return "more than 6 argument letters";
  for (const char* c = r.args; *c; c++)
    if (!strchr(kSyscallArgLetters, *c)) return std::string("unknown argument letter '") + *c + "'";
  if (!r.note) return "no note";
  if (r.support == Support::Enosys) {
    if (r.handler) return "an ENOSYS row has a handler";
  } else if (!r.handler) {
    return "no handler (a refused syscall is an UM_ENOSYS row)";
  }
  if (r.support != Support::Full && !*r.note) return std::string("a ") + support_name(r.support) + " row needs a note";
  return "";
}

std::string json_string(const char* s) {
  std::string out = "\"";
  for (; *s; s++) {
    unsigned char c = static_cast<unsigned char>(*s);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

const char* support_name(Support s) {
  switch (s) {
    case Support::Full: return "full";
    case Support::Partial: return "partial";
    case Support::Enosys: return "enosys";
  }
  return "?";
}

Result<SyscallTable> SyscallTable::build(std::span<const SyscallFamily> families) {
  SyscallTable t;
  std::vector<const char*> file_of(kMaxSyscall, nullptr);
  for (const SyscallFamily& f : families) {
    for (const SyscallRow& r : f.rows) {
      if (std::string e = check_row(r); !e.empty())
        return Error::make(EINVAL, "syscall table: " + where(r, f.file) + ": " + e);
      size_t i = static_cast<size_t>(r.nr);
      if (file_of[i])
        return Error::make(EEXIST, "syscall table: " + where(r, f.file) + " has a second row (the first is in " +
                                       file_of[i] + ")");
      t.rows_[i] = r;
      file_of[i] = f.file;
    }
  }
  return t;
}

std::vector<const SyscallRow*> SyscallTable::rows() const {
  std::vector<const SyscallRow*> out;
  for (const SyscallRow& r : rows_)
    if (r.name) out.push_back(&r);
  return out;
}

std::span<const SyscallFamily> syscall_families() {
  static const SyscallFamily families[] = {
      {"sys/process.cpp", process_syscalls()}, {"sys/signal.cpp", signal_syscalls()},
      {"sys/file.cpp", file_syscalls()},       {"sys/fs.cpp", fs_syscalls()},
      {"sys/mount.cpp", mount_syscalls()},     {"sys/xattr.cpp", xattr_syscalls()},
      {"sys/mm.cpp", mm_syscalls()},           {"sys/time.cpp", time_syscalls()},
      {"sys/poll.cpp", poll_syscalls()},       {"sys/misc.cpp", misc_syscalls()},
      {"sys/socket.cpp", socket_syscalls()},   {"sys/event.cpp", event_syscalls()},
      {"sys/tty.cpp", tty_syscalls()},         {"sys/futex.cpp", futex_syscalls()},
      {"sys/sched.cpp", sched_syscalls()},     {"sys/capability.cpp", capability_syscalls()},
      {"sys/syslog.cpp", syslog_syscalls()},   {"sys/clock.cpp", clock_syscalls()},
      {"sys/memlock.cpp", memlock_syscalls()}, {"sys/kcmp.cpp", kcmp_syscalls()},
      {"sys/pidfd.cpp", pidfd_syscalls()},     {"sys/splice.cpp", splice_syscalls()},
      {"sys/inotify.cpp", inotify_syscalls()}, {"sys/process_vm.cpp", process_vm_syscalls()},
      {"sys/ptrace.cpp", ptrace_syscalls()},
      {"sys/sysv_shm.cpp", sysv_shm_syscalls()}, {"sys/sysv_sem.cpp", sysv_sem_syscalls()},
      {"sys/sysv_msg.cpp", sysv_msg_syscalls()}, {"sys/mqueue.cpp", mqueue_syscalls()},
      {"sys/keyctl.cpp", keyctl_syscalls()},   {"sys/handle.cpp", handle_syscalls()},
  };
  return families;
}

const SyscallTable& syscall_table() {
  static const SyscallTable table = [] {
    auto t = SyscallTable::build(syscall_families());
    if (!t) {
      fprintf(stderr, "umkernel: error: %s\n", t.error().message.c_str());
      std::exit(1);
    }
    return std::move(t).value();
  }();
  return table;
}

std::string format_syscall_table(const SyscallTable& table, bool json) {
  int counts[3] = {}, not_served = 0;
  std::string out = json ? "{\n  \"syscalls\": [\n" : "";
  if (!json) {
    char line[160];
    snprintf(line, sizeof line, "%-4s %-24s %-11s %-6s %s\n", "NR", "NAME", "SUPPORT", "ARGS", "NOTE");
    out += line;
  }
  bool first = true;
  for (long nr = 0; nr < kMaxSyscall; nr++) {
    const char* name = syscall_name(nr);
    if (!name) continue;
    const SyscallRow* r = table.row(nr);
    const char* support = r ? support_name(r->support) : "not served";
    if (r) counts[static_cast<int>(r->support)]++;
    else not_served++;
    if (json) {
      out += first ? "" : ",\n";
      out += "    {\"nr\": " + std::to_string(nr) + ", \"name\": " + json_string(name) + ", \"support\": " +
             json_string(support) + ", \"args\": " + json_string(r ? r->args : "") +
             ", \"note\": " + json_string(r ? r->note : "") + "}";
      first = false;
    } else {
      char line[80];
      snprintf(line, sizeof line, "%-4ld %-24s %-11s %-6s ", nr, name, support, r ? r->args : "");
      out += line;
      out += r ? r->note : "";
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += '\n';
    }
  }
  int served = counts[0] + counts[1];
  if (json) {
    out += "\n  ],\n  \"counts\": {\"full\": " + std::to_string(counts[0]) + ", \"partial\": " +
           std::to_string(counts[1]) + ", \"enosys\": " + std::to_string(counts[2]) +
           ", \"not served\": " + std::to_string(not_served) + "}\n}\n";
  } else {
    out += std::to_string(served) + " of " + std::to_string(served + counts[2] + not_served) +
           " x86-64 syscalls served: " + std::to_string(counts[0]) + " full, " + std::to_string(counts[1]) +
           " partial; " + std::to_string(counts[2]) + " enosys (deliberately refused), " +
           std::to_string(not_served) + " not served (ENOSYS, logged once)\n";
  }
  return out;
}

}  // namespace um::kernel
