// The platform: how guest code runs on the host. The kernel above speaks only this interface
// (in the spirit of gVisor's platform.Platform / AddressSpace / Context):
//   - an AddressSpace per guest process: map anonymous memory or a host fd, unmap, protect,
//     read and write guest memory, fork a copy, release;
//   - a Context per guest thread: run until it stops and say why (system call, fault with its
//     siginfo, interrupted, exited), registers fetched and stored lazily;
//   - a Platform that makes them and collects stops for the event loop.
// Implementations: ptrace (platform/ptrace.*), seccomp (platform/seccomp.*). Nothing outside platform/ calls ptrace, opens
// /proc/PID/mem or reads the host's /proc/PID.
#pragma once
#include <signal.h>
#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace um::kernel::platform {

using Regs = user_regs_struct;
constexpr uint64_t kTaskSize = 0x7ffffffff000ull;  // top of x86-64 user space
using FpRegs = user_fpregs_struct;

class AddressSpace;

// Why a context stopped.
enum class StopKind {
  Syscall,      // it made a 64-bit system call: see Context::syscall()
  BadSyscall,   // a system call through a 32-bit entry (int 0x80, sysenter, 32-bit code)
  Fault,        // a synchronous fault: `info` holds the host's siginfo (SEGV, BUS, FPE, ILL, TRAP)
  Interrupted,  // Context::interrupt() took effect
  Exited,       // its host thread is gone; `status` is the host wait status
};

struct Stop {
  StopKind kind = StopKind::Syscall;
  siginfo_t info{};
  int status = 0;
};

// The system call a context stopped for (valid after a Syscall stop).
struct SyscallArgs {
  long nr = -1;
  uint64_t args[6]{};
};

// One host mapping of a guest address space (for /proc/PID/maps and shared futexes).
struct Mapping {
  uint64_t start = 0, end = 0, offset = 0;
  char perms[5] = "---p";
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t inode = 0;
};

// What the host says a guest process uses.
struct Usage {
  uint64_t utime_ticks = 0, stime_ticks = 0;  // USER_HZ ticks
  uint64_t rss_pages = 0, vsize_pages = 0;
};

class AddressSpace {
 public:
  virtual ~AddressSpace() = default;
  // Host mmap semantics (flags are host MAP_* flags); return the address or -errno.
  // Never maps over the platform's own pages.
  virtual int64_t map_anonymous(uint64_t addr, uint64_t len, int prot, int flags) = 0;
  // Maps umkernel's host descriptor `host_fd` (a file umkernel owns) into the guest.
  // `may_write`: the guest's file is open for writing (else a shared mapping can never
  // become writable, as Linux's VM_MAYWRITE).
  virtual int64_t map_file(uint64_t addr, uint64_t len, int prot, int flags, int host_fd, uint64_t offset,
                           bool may_write) = 0;
  virtual int64_t unmap(uint64_t addr, uint64_t len) = 0;
  virtual int64_t protect(uint64_t addr, uint64_t len, int prot) = 0;
  virtual int64_t remap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, uint64_t flags, uint64_t new_addr) = 0;
  virtual int64_t advise(uint64_t addr, uint64_t len, int advice) = 0;
  // One of the memory calls that act on the address space as the host sees it: mlock,
  // mlock2, munlock, mlockall, munlockall, mincore, membarrier (others: -ENOSYS).
  virtual int64_t memory_call(long nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0) = 0;
  // Empties the address space (execve): only the platform's own pages stay.
  virtual int64_t clear() = 0;
  // Guest memory. Return 0 or -EFAULT; writes ignore page protections (the ELF loader and
  // ptrace-like pokes need that), never the platform's own pages.
  virtual int64_t read(void* dst, uint64_t src, size_t n) = 0;
  virtual int64_t write(uint64_t dst, const void* src, size_t n) = 0;
  // Reads up to n bytes, stopping early at an unreadable page: the count read (0: none).
  virtual size_t read_partial(void* dst, uint64_t src, size_t n) = 0;
  virtual std::vector<Mapping> mappings() = 0;
  virtual Usage usage() = 0;
  // Resident anonymous + shared memory: counted in full (cheap), or proportionally to the
  // sharers (pages shared after fork count once; walks page tables).
  virtual uint64_t resident_bytes() = 0;
  virtual uint64_t proportional_bytes() = 0;
  // Caps the private writable memory the host lets this address space map (0 or -errno).
  virtual int64_t limit_data(uint64_t bytes) = 0;
  // Lets go of the host resources (after the process died).
  virtual void release() = 0;
  // True when [addr, addr+len) touches pages the platform keeps for itself.
  virtual bool reserved(uint64_t addr, uint64_t len) const = 0;
};

class Context {
 public:
  virtual ~Context() = default;
  // The stop being handled (set when the platform reported it).
  virtual const SyscallArgs& syscall() const = 0;
  // Registers, fetched on first use after a stop; changes are stored when it resumes.
  virtual Regs& regs() = 0;
  // Replaces all registers (a new thread, execve, sigreturn...).
  virtual void set_regs(const Regs& r) = 0;
  // The system call's result (rax) without fetching all registers; result() reads it back.
  virtual void set_result(int64_t rax) = 0;
  virtual int64_t result() const = 0;
  virtual bool get_fpregs(FpRegs& fp) = 0;
  virtual bool set_fpregs(const FpRegs& fp) = 0;
  // Lets the guest thread run again with the registers as they now are.
  virtual bool resume() = 0;
  // Makes a running context stop soon with StopKind::Interrupted (a computing task too).
  virtual void interrupt() = 0;
  // Ends its host thread; an Exited stop follows.
  virtual void kill() = 0;
  virtual std::shared_ptr<AddressSpace> address_space() const = 0;
  // The host id of its thread, for umkernel's own logs and the host-side management only.
  virtual pid_t host_id() const = 0;
  void* owner = nullptr;  // the kernel's Task
};

enum class CloneKind {
  Thread,   // a new thread in the same address space
  Process,  // a new process with a copy of the address space (fork, vfork, clone)
};

class Platform {
 public:
  virtual ~Platform() = default;
  virtual const char* name() const = 0;
  // A fresh guest process holding nothing but the platform's pages, stopped.
  virtual std::unique_ptr<Context> new_process(std::string* error) = 0;
  // A new context from a stopped one; it stays stopped until resume(). nullptr + *err on failure.
  virtual std::unique_ptr<Context> clone(Context& parent, CloneKind kind, int64_t* err) = 0;
  // The next stopped context without waiting, or nullptr. Stops that are the platform's own
  // business are handled inside.
  virtual Context* next_stop(Stop& stop) = 0;
  // The loop has nothing to do and would sleep: a platform whose guests hand over through
  // memory may spin briefly for a stop. True: call next_stop() again instead of sleeping.
  virtual bool wait_briefly() { return false; }
  // Readable when next_stop() may have something; drain_wait_fd() clears it.
  virtual int wait_fd() const = 0;
  virtual void drain_wait_fd() = 0;
  // Kills every context and waits until their host threads are gone.
  virtual void shutdown() = 0;
};

// platform=ptrace|seccomp|auto. auto picks the fastest this host supports.
std::unique_ptr<Platform> create(const std::string& kind, std::string* error);
// The names create() accepts (for --help) and the default it would pick.
const char* default_kind();

}  // namespace um::kernel::platform
