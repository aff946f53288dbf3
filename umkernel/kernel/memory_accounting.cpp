#include "umkernel/kernel/memory_accounting.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/log.h"
#include "umkernel/kernel/kernel.h"

namespace um::kernel {

namespace {

uint64_t g_limit = 256ull << 20;
uint64_t g_file_data = 0;     // tmpfs and memfd bytes (file sizes: sparse files count fully)
uint64_t g_guest_memory = 0;  // the last sample of the guest processes' memory

// Reads a small /proc file of a host process.
bool read_proc(pid_t pid, const char* name, std::string& out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return true;
}

uint64_t field_kb(const std::string& text, const char* key) {
  size_t at = text.find(key);
  if (at == std::string::npos) return 0;
  return strtoull(text.c_str() + at + strlen(key), nullptr, 10);
}

// Resident anonymous and shared memory of a host process, counted in full (cheap: /proc/PID/
// status). Pages shared with a fork's parent count in both.
uint64_t resident_bytes(pid_t pid) {
  std::string s;
  if (!read_proc(pid, "status", s)) return 0;
  return (field_kb(s, "RssAnon:") + field_kb(s, "RssShmem:")) * 1024;
}

// The same, proportional: shared pages are divided among their sharers (walks page tables).
uint64_t proportional_bytes(pid_t pid) {
  std::string s;
  if (!read_proc(pid, "smaps_rollup", s)) return 0;
  return (field_kb(s, "Pss_Anon:") + field_kb(s, "Pss_Shmem:")) * 1024;
}

bool live(const Process& p) { return !p.zombie && p.host_pid > 0; }

void oom_kill(uint64_t total) {
  Kernel& k = kernel();
  std::shared_ptr<Process> victim;
  uint64_t most = 0;
  for (auto& [pid, p] : k.processes()) {
    if (!live(*p)) continue;
    uint64_t b = proportional_bytes(p->host_pid);
    // init only if nothing else holds memory (Linux panics then; the VM ends).
    if (p->pid == 1) b /= 1024;
    if (!victim || b > most) {
      victim = p;
      most = b;
    }
  }
  if (!victim) return;
  UM_WARN("Out of memory (mem=%lluM, in use %lluM): killed process %d (%s), %llu kB",
          static_cast<unsigned long long>(g_limit >> 20), static_cast<unsigned long long>(total >> 20),
          victim->pid, victim->comm.c_str(), static_cast<unsigned long long>(most >> 10));
  k.exit_process(*victim, SIGKILL);
}

void sample() {
  Kernel& k = kernel();
  uint64_t total = g_file_data;
  for (auto& [pid, p] : k.processes())
    if (live(*p)) total += resident_bytes(p->host_pid);
  if (total > g_limit) {
    // Over on the cheap count: count again fairly before killing anything.
    total = g_file_data;
    for (auto& [pid, p] : k.processes())
      if (live(*p)) total += proportional_bytes(p->host_pid);
    if (total > g_limit) oom_kill(total);
  }
  g_guest_memory = total > g_file_data ? total - g_file_data : 0;
}

void arm() {
  // Sampling costs a /proc read per process: with many processes, sample less often.
  int64_t period_ms = std::max<int64_t>(kOomPeriodMs, static_cast<int64_t>(kernel().processes().size() / 4));
  kernel().add_timer(monotonic_ns() + period_ms * 1000000ll, [] {
    if (kernel().halting()) return;
    sample();
    arm();
  });
}

}  // namespace

void set_memory_limit(uint64_t bytes) { g_limit = bytes; }
uint64_t memory_limit() { return g_limit; }

void limit_host_process(pid_t host_pid) {
  rlimit data{static_cast<rlim_t>(g_limit), static_cast<rlim_t>(g_limit)};
  if (prlimit(host_pid, RLIMIT_DATA, &data, nullptr) != 0)
    UM_WARN("cannot limit the guest's host process %d to mem=: %s", host_pid, strerror(errno));
}

bool charge_file_data(uint64_t bytes) {
  if (g_file_data + bytes + g_guest_memory > g_limit) return false;
  g_file_data += bytes;
  return true;
}

void uncharge_file_data(uint64_t bytes) { g_file_data -= std::min(g_file_data, bytes); }
uint64_t file_data_charged() { return g_file_data; }

void start_oom_killer() { arm(); }

}  // namespace um::kernel
