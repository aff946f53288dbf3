// mem= as a limit. What a guest can make the host hold for it, and how each part is held:
//  - anonymous memory (heap, brk, stacks, private copies of files) lives in the guest's host
//    processes: each has the host RLIMIT_DATA = mem (a single process can never map more
//    private writable memory than the VM has: mmap/brk fail with ENOMEM), and the VM-wide
//    total is watched by an OOM killer (below);
//  - tmpfs and memfd data lives in memfds umkernel owns: every tmpfs' size= is at most mem,
//    and all of them together are charged here (writes past the limit fail with ENOSPC);
//  - pipe contents and unix socket queues live in umkernel's heap and are charged here too
//    (writes past the limit fail with ENOMEM / ENOBUFS).
// The OOM killer samples the guest's memory every kOomPeriodMs: when anonymous and shared
// memory of all guest processes (proportional set size, so that pages shared after fork
// count once) plus tmpfs data and kernel buffers exceed mem, it kills the guest process holding most, never
// init while another candidate exists (Linux's oom_kill_process), and never umkernel or the
// host. Past the limit the guest gets ENOMEM/ENOSPC where a call asks for the memory, and
// SIGKILL from the OOM killer where it merely touches memory it mapped.
#pragma once
#include <sys/types.h>

#include <cstdint>

#include "umkernel/platform/platform.h"

namespace um::kernel {

constexpr int kOomPeriodMs = 50;

// The VM's memory (mem=), set at boot before any guest process exists.
void set_memory_limit(uint64_t bytes);
uint64_t memory_limit();

// Host limits for a guest address space (RLIMIT_DATA = mem): call on every process the
// platform starts from umkernel itself (forks inherit them).
void limit_host_process(platform::AddressSpace& as);

// tmpfs/memfd data: reserve `bytes` more (false: the VM is out of memory, answer ENOSPC) or
// give them back.
bool charge_file_data(uint64_t bytes);
void uncharge_file_data(uint64_t bytes);
uint64_t file_data_charged();

// Kernel buffers held for the guest (pipe contents, unix socket queues): reserve `bytes` more
// (false: the VM is out of memory; the call that wanted them fails with ENOMEM/ENOBUFS, as
// Linux's do when a memory cgroup is at its limit) or give them back. Counted with tmpfs data.
bool charge_kernel_buffers(uint64_t bytes);
void uncharge_kernel_buffers(uint64_t bytes);
uint64_t kernel_buffers_charged();

// The page cache of image files (vfs/page_cache.*): counted with everything else, but it is
// memory the kernel can take back. Charging never fails; when the total passes mem=, clean
// cache is dropped (dirty cache written back first), oldest use first, before anything else
// fails or is killed.
void charge_cache(uint64_t bytes);
void uncharge_cache(uint64_t bytes);
uint64_t cache_charged();
// Drops cache until the total fits in mem= again (the page cache calls it after each piece
// of work, the OOM sampler periodically).
void balance_cache();

// Starts the OOM killer's periodic sampling (a kernel timer).
void start_oom_killer();

}  // namespace um::kernel
