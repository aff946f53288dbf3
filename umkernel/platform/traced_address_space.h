// What both platforms share for a guest address space: a host process whose threads umkernel
// traces, one of them stopped whenever umkernel needs the address space changed. Host system
// calls (mmap, munmap, mprotect, clone...) run in that stopped thread through the stub's
// "syscall; int3" with registers umkernel chooses (64-bit code segment, clean flags), never
// the guest's; a fault there kills the thread, never loops. Guest memory is read and written
// through /proc/PID/mem; mappings and usage come from the host's /proc/PID.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "core/unique_fd.h"
#include "umkernel/platform/platform.h"
#include "umkernel/platform/stub.h"

namespace um::kernel::platform {

constexpr uint64_t kUserCs = 0x33, kUserSs = 0x2b;  // x86-64 user code and stack segments

bool is_fault_signal(int sig);

// Runs host system call `nr` in the stopped, traced thread `tid` from the stub instruction at
// `rip`; the thread's int3 afterwards must leave it at `trap_rip`. The thread's registers are
// clobbered (the caller keeps what it needs). `child`: the pid a fork/clone event reports.
int64_t run_stub_syscall(pid_t tid, uint64_t fs_base, uint64_t gs_base, uint64_t rip, uint64_t trap_rip, long nr,
                         const uint64_t (&a)[6], pid_t* child);

class TracedAddressSpace : public AddressSpace {
 public:
  explicit TracedAddressSpace(pid_t leader);
  bool ok() const { return static_cast<bool>(mem_); }

  int64_t map_anonymous(uint64_t addr, uint64_t len, int prot, int flags) override;
  int64_t map_file(uint64_t addr, uint64_t len, int prot, int flags, int host_fd, uint64_t offset,
                   bool may_write) override;
  int64_t unmap(uint64_t addr, uint64_t len) override;
  int64_t protect(uint64_t addr, uint64_t len, int prot) override;
  int64_t remap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, uint64_t flags, uint64_t new_addr) override;
  int64_t advise(uint64_t addr, uint64_t len, int advice) override;
  int64_t memory_call(long nr, uint64_t a0, uint64_t a1, uint64_t a2) override;
  int64_t clear() override;
  int64_t read(void* dst, uint64_t src, size_t n) override;
  int64_t write(uint64_t dst, const void* src, size_t n) override;
  size_t read_partial(void* dst, uint64_t src, size_t n) override;
  std::vector<Mapping> mappings() override;
  Usage usage() override;
  uint64_t resident_bytes() override;
  uint64_t proportional_bytes() override;
  int64_t limit_data(uint64_t bytes) override;
  void release() override { mem_.reset(); }
  bool reserved(uint64_t addr, uint64_t len) const override {
    for (const Range& r : kept_ranges())
      if (addr < r.end && addr + len > r.start) return true;
    return false;
  }

  // Runs a host system call inside a stopped thread of this address space.
  virtual int64_t host_syscall(long nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                               uint64_t a4 = 0, uint64_t a5 = 0, pid_t* child = nullptr) = 0;
  // Gives the guest process a copy of umkernel's descriptor `host_fd` (pidfd_getfd: no path
  // is written where the guest could read it): its number there, or -errno.
  int64_t take_fd(int host_fd);

 protected:
  // The host threads of the address space (for usage) and one that is alive (for /proc).
  virtual std::vector<pid_t> thread_ids() const = 0;
  virtual pid_t any_live_thread() const = 0;
  // A host process of the address space that umkernel has not reaped (its pid cannot name
  // another process yet), for process_vm_readv/writev; 0: none.
  virtual pid_t vm_target() const = 0;
  // The ranges the platform keeps for itself, in address order (the stub pages at least).
  struct Range { uint64_t start, end; };
  virtual std::vector<Range> kept_ranges() const { return {{stub::kStubBase, stub::kStubBase + stub::kStubSize}}; }
  std::string read_proc(const char* name) const;
  pid_t leader_;
  UniqueFd mem_;

 private:
  bool in_user_range(uint64_t addr, size_t n) const;
  int64_t write_scratch(const std::string& text);
};

}  // namespace um::kernel::platform
