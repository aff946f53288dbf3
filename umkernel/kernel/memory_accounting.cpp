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
#include "umkernel/vfs/page_cache.h"

namespace um::kernel {

namespace {

uint64_t g_limit = 256ull << 20;
uint64_t g_file_data = 0;     // tmpfs and memfd bytes (file sizes: sparse files count fully)
uint64_t g_buffers = 0;       // pipe contents and socket queues
uint64_t g_guest_memory = 0;  // the last sample of the guest processes' memory
uint64_t g_cache = 0;         // the page cache (reclaimable)
bool g_balancing = false;

bool live(const Process& p) { return !p.zombie && p.memory; }

void oom_kill(uint64_t total) {
  Kernel& k = kernel();
  std::shared_ptr<Process> victim;
  uint64_t most = 0;
  for (auto& [pid, p] : k.processes()) {
    if (!live(*p)) continue;
    uint64_t b = p->memory->proportional_bytes();
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
  balance_cache();
  uint64_t held = g_file_data + g_buffers;
  uint64_t total = held;
  for (auto& [pid, p] : k.processes())
    if (live(*p)) total += p->memory->resident_bytes();
  if (total > g_limit) {
    // Over on the cheap count: count again fairly before killing anything.
    total = held;
    for (auto& [pid, p] : k.processes())
      if (live(*p)) total += p->memory->proportional_bytes();
    if (total > g_limit) oom_kill(total);
  }
  g_guest_memory = total > held ? total - held : 0;
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

void limit_host_process(platform::AddressSpace& as) {
  if (int64_t r = as.limit_data(g_limit); r < 0)
    UM_WARN("cannot limit a guest's host process to mem=: %s", strerror(static_cast<int>(-r)));
}

bool charge_file_data(uint64_t bytes) {
  uint64_t others = g_file_data + g_buffers + g_guest_memory;
  if (others + bytes + g_cache > g_limit) {
    // The page cache gives way to tmpfs data as Linux's does.
    if (others + bytes <= g_limit) PageCache::reclaim(others + bytes + g_cache - g_limit);
    if (others + bytes + g_cache > g_limit) return false;
  }
  g_file_data += bytes;
  return true;
}

bool charge_kernel_buffers(uint64_t bytes) {
  uint64_t others = g_file_data + g_buffers + g_guest_memory;
  if (others + bytes + g_cache > g_limit) {
    if (others + bytes <= g_limit) PageCache::reclaim(others + bytes + g_cache - g_limit);
    if (others + bytes + g_cache > g_limit) return false;
  }
  g_buffers += bytes;
  return true;
}

void uncharge_kernel_buffers(uint64_t bytes) { g_buffers -= std::min(g_buffers, bytes); }
uint64_t kernel_buffers_charged() { return g_buffers; }

void uncharge_file_data(uint64_t bytes) { g_file_data -= std::min(g_file_data, bytes); }
uint64_t file_data_charged() { return g_file_data; }

void start_oom_killer() { arm(); }

void charge_cache(uint64_t bytes) { g_cache += bytes; }
void uncharge_cache(uint64_t bytes) { g_cache -= std::min(g_cache, bytes); }
uint64_t cache_charged() { return g_cache; }

void balance_cache() {
  if (g_balancing) return;
  uint64_t total = g_file_data + g_buffers + g_guest_memory + g_cache;
  if (total <= g_limit) return;
  g_balancing = true;
  PageCache::reclaim(total - g_limit);
  g_balancing = false;
}

}  // namespace um::kernel
