#include "umkernel/platform/traced_address_space.h"

#include <fcntl.h>
#include <linux/ptrace.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/log.h"

// <sys/ptrace.h> and <linux/ptrace.h> clash; only the raw call is needed.
extern "C" long ptrace(int request, ...);

namespace um::kernel::platform {

namespace {

constexpr size_t kVmCopyMin = 16 << 10;

long pt(int req, pid_t tid, uint64_t addr, uint64_t data) {
  return ptrace(req, tid, reinterpret_cast<void*>(addr), reinterpret_cast<void*>(data));
}

uint64_t field_kb(const std::string& text, const char* key) {
  size_t at = text.find(key);
  if (at == std::string::npos) return 0;
  return strtoull(text.c_str() + at + strlen(key), nullptr, 10);
}

}  // namespace

bool is_fault_signal(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

int64_t run_stub_syscall(pid_t tid, uint64_t fs_base, uint64_t gs_base, uint64_t rip, uint64_t trap_rip, long nr,
                         const uint64_t (&a)[6], pid_t* child) {
  // Registers umkernel chooses: the guest's code segment or flags (32-bit mode, the trap
  // flag...) never reach the stub. Only the TLS bases are the guest's (unused by the stub).
  Regs r{};
  r.fs_base = fs_base;
  r.gs_base = gs_base;
  r.cs = kUserCs;
  r.ss = kUserSs;
  r.eflags = 0x202;
  r.rip = rip;
  r.rax = static_cast<uint64_t>(nr);
  r.orig_rax = ~0ull;  // not inside a syscall: no restart logic on the way back
  r.rdi = a[0]; r.rsi = a[1]; r.rdx = a[2]; r.r10 = a[3]; r.r8 = a[4]; r.r9 = a[5];
  if (pt(PTRACE_SETREGS, tid, 0, reinterpret_cast<uint64_t>(&r)) != 0) return -ESRCH;
  if (pt(PTRACE_CONT, tid, 0, 0) != 0) return -ESRCH;
  for (;;) {
    int status = 0;
    if (waitpid(tid, &status, __WALL) != tid) return -ESRCH;
    if (!WIFSTOPPED(status)) return -ESRCH;  // the thread died; its exit is reported later
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
      unsigned long msg = 0;
      pt(PTRACE_GETEVENTMSG, tid, 0, reinterpret_cast<uint64_t>(&msg));
      if (child) *child = static_cast<pid_t>(msg);
    } else if (sig == SIGTRAP && event == 0) {
      Regs out;
      if (pt(PTRACE_GETREGS, tid, 0, reinterpret_cast<uint64_t>(&out)) != 0) return -ESRCH;
      if (out.rip == trap_rip) return static_cast<int64_t>(out.rax);
      UM_WARN("host syscall %ld in host task %d trapped at %#llx: the task is killed", nr, tid, out.rip);
      ::kill(tid, SIGKILL);
      return -EFAULT;
    } else if (event == 0 && is_fault_signal(sig)) {
      // The stub itself faulted: never retry it (it would fault forever), end the task.
      UM_WARN("host syscall %ld in host task %d faulted (signal %d): the task is killed", nr, tid, sig);
      ::kill(tid, SIGKILL);
      return -EFAULT;
    }
    // Any other stop (an interrupt signal, a stray signal) is swallowed: guest signals
    // are emulated, never delivered by the host.
    if (pt(PTRACE_CONT, tid, 0, 0) != 0) return -ESRCH;
  }
}

TracedAddressSpace::TracedAddressSpace(pid_t leader) : leader_(leader) {
  mem_.reset(open(("/proc/" + std::to_string(leader) + "/mem").c_str(), O_RDWR | O_CLOEXEC));
}

bool TracedAddressSpace::in_user_range(uint64_t addr, size_t n) const {
  constexpr uint64_t kUserTop = 0x800000000000ull;
  // /proc/PID/mem writes ignore page protections, so the platform's pages are refused here: a
  // guest that got umkernel to write its bytes there would run them as host syscalls.
  return addr < kUserTop && n <= kUserTop - addr && !reserved(addr, n);
}

std::string TracedAddressSpace::read_proc(const char* name) const {
  std::string out;
  if (!mem_) return out;
  int fd = open(("/proc/" + std::to_string(any_live_thread()) + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

int64_t TracedAddressSpace::write_scratch(const std::string& text) {
  if (text.size() + 1 > stub::kPageSize) return -ENAMETOOLONG;
  ssize_t r = pwrite(mem_.get(), text.c_str(), text.size() + 1, static_cast<off_t>(stub::kStubScratch));
  return r == static_cast<ssize_t>(text.size() + 1) ? 0 : -EFAULT;
}

int64_t TracedAddressSpace::unmap(uint64_t addr, uint64_t len) { return host_syscall(SYS_munmap, addr, len); }

int64_t TracedAddressSpace::protect(uint64_t addr, uint64_t len, int prot) {
  return host_syscall(SYS_mprotect, addr, len, static_cast<uint64_t>(prot));
}

int64_t TracedAddressSpace::advise(uint64_t addr, uint64_t len, int advice) {
  return host_syscall(SYS_madvise, addr, len, static_cast<uint64_t>(advice));
}

int64_t TracedAddressSpace::memory_call(long nr, uint64_t a0, uint64_t a1, uint64_t a2) {
  switch (nr) {
    case SYS_mlock: case SYS_mlock2: case SYS_munlock: case SYS_mlockall: case SYS_munlockall:
    case SYS_mincore: case SYS_membarrier:
      return host_syscall(nr, a0, a1, a2);
    default:
      return -ENOSYS;
  }
}

uint64_t TracedAddressSpace::resident_bytes() {
  std::string s = read_proc("status");
  return (field_kb(s, "RssAnon:") + field_kb(s, "RssShmem:")) * 1024;
}

uint64_t TracedAddressSpace::proportional_bytes() {
  std::string s = read_proc("smaps_rollup");
  return (field_kb(s, "Pss_Anon:") + field_kb(s, "Pss_Shmem:")) * 1024;
}

int64_t TracedAddressSpace::limit_data(uint64_t bytes) {
  rlimit data{static_cast<rlim_t>(bytes), static_cast<rlim_t>(bytes)};
  return prlimit(leader_, RLIMIT_DATA, &data, nullptr) == 0 ? 0 : -errno;
}

int64_t TracedAddressSpace::map_anonymous(uint64_t addr, uint64_t len, int prot, int flags) {
  if ((flags & MAP_FIXED) && reserved(addr, len)) return -ENOMEM;
  int64_t r = host_syscall(SYS_mmap, addr, len, static_cast<uint64_t>(prot), static_cast<uint64_t>(flags),
                           static_cast<uint64_t>(-1), 0);
  if (r >= 0 && reserved(static_cast<uint64_t>(r), len)) {
    host_syscall(SYS_munmap, static_cast<uint64_t>(r), len);
    return -ENOMEM;
  }
  return r;
}

int64_t TracedAddressSpace::take_fd(int host_fd) {
  // Under Yama's ptrace_scope=1 the guest may take a descriptor from umkernel only when
  // named as its tracer; harmless otherwise (and refused without Yama).
  prctl(PR_SET_PTRACER, static_cast<unsigned long>(leader_), 0, 0, 0);
  int64_t pidfd = host_syscall(SYS_pidfd_open, static_cast<uint64_t>(getpid()), 0);
  int64_t fd = pidfd < 0 ? pidfd : host_syscall(SYS_pidfd_getfd, static_cast<uint64_t>(pidfd), static_cast<uint64_t>(host_fd), 0);
  if (pidfd >= 0) host_syscall(SYS_close, static_cast<uint64_t>(pidfd));
  prctl(PR_SET_PTRACER, 0, 0, 0, 0);
  return fd;
}

int64_t TracedAddressSpace::map_file(uint64_t addr, uint64_t len, int prot, int flags, int host_fd, uint64_t offset,
                                     bool may_write) {
  if ((flags & MAP_FIXED) && reserved(addr, len)) return -ENOMEM;
  int64_t fd = take_fd(host_fd);
  if (fd < 0) {
    UM_DEBUG("mapping a file into host task %d: %s", leader_, strerror(static_cast<int>(-fd)));
    return fd == -ENOMEM || fd == -EMFILE ? -ENOMEM : -EACCES;
  }
  if ((flags & MAP_TYPE) != MAP_PRIVATE && !may_write) {
    // A shared mapping of a file the guest may not write must never become writable
    // (mprotect): reopen the guest process's own copy read-only. The path names only the
    // guest process's descriptor, nothing of the host.
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    int64_t ro = write_scratch(path) < 0 ? -EFAULT
               : host_syscall(SYS_openat, static_cast<uint64_t>(AT_FDCWD), stub::kStubScratch, O_RDONLY | O_CLOEXEC);
    host_syscall(SYS_close, static_cast<uint64_t>(fd));
    if (ro < 0) return -EACCES;
    fd = ro;
  }
  int64_t r = host_syscall(SYS_mmap, addr, len, static_cast<uint64_t>(prot), static_cast<uint64_t>(flags),
                           static_cast<uint64_t>(fd), offset);
  host_syscall(SYS_close, static_cast<uint64_t>(fd));
  if (r >= 0 && reserved(static_cast<uint64_t>(r), len)) {
    host_syscall(SYS_munmap, static_cast<uint64_t>(r), len);
    return -ENOMEM;
  }
  return r;
}

int64_t TracedAddressSpace::remap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, uint64_t flags, uint64_t new_addr) {
  int64_t r = host_syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr);
  if (r >= 0 && reserved(static_cast<uint64_t>(r), new_len)) {
    host_syscall(SYS_munmap, static_cast<uint64_t>(r), new_len);
    return -ENOMEM;
  }
  return r;
}

int64_t TracedAddressSpace::clear() {
  uint64_t from = 0;
  for (const Range& r : kept_ranges()) {
    if (r.start > from && host_syscall(SYS_munmap, from, r.start - from) != 0) return -EFAULT;
    from = r.end;
  }
  if (from < stub::kTaskSize && host_syscall(SYS_munmap, from, stub::kTaskSize - from) != 0) return -EFAULT;
  return 0;
}

int64_t TracedAddressSpace::read(void* dst, uint64_t src, size_t n) {
  if (n == 0) return 0;
  if (!in_user_range(src, n)) return -EFAULT;
  auto* out = static_cast<char*>(dst);
  // Large copies go through process_vm_readv/writev (one copy, pages pinned in batches: about
  // twice /proc/PID/mem's speed, which bounces each page through a kernel buffer). What they
  // cannot do (read-only pages for writes) falls back to /proc/PID/mem.
  if (n >= kVmCopyMin) {
    if (pid_t p = vm_target()) {
      iovec local{out, n}, remote{reinterpret_cast<void*>(src), n};
      ssize_t r = process_vm_readv(p, &local, 1, &remote, 1, 0);
      if (r > 0) { out += r; src += r; n -= r; }
      if (n == 0) return 0;
    }
  }
  while (n > 0) {
    ssize_t r = pread(mem_.get(), out, n, static_cast<off_t>(src));
    if (r <= 0) return -EFAULT;
    out += r; src += r; n -= r;
  }
  return 0;
}

int64_t TracedAddressSpace::write(uint64_t dst, const void* src, size_t n) {
  if (n == 0) return 0;
  if (!in_user_range(dst, n)) return -EFAULT;
  auto* in = static_cast<const char*>(src);
  if (n >= kVmCopyMin) {
    if (pid_t p = vm_target()) {
      iovec local{const_cast<char*>(in), n}, remote{reinterpret_cast<void*>(dst), n};
      ssize_t r = process_vm_writev(p, &local, 1, &remote, 1, 0);
      if (r > 0) { in += r; dst += r; n -= r; }
      if (n == 0) return 0;
    }
  }
  while (n > 0) {
    ssize_t r = pwrite(mem_.get(), in, n, static_cast<off_t>(dst));
    if (r <= 0) return -EFAULT;
    in += r; dst += r; n -= r;
  }
  return 0;
}

size_t TracedAddressSpace::read_partial(void* dst, uint64_t src, size_t n) {
  if (n == 0 || !in_user_range(src, n)) return 0;
  ssize_t r = pread(mem_.get(), dst, n, static_cast<off_t>(src));
  return r > 0 ? static_cast<size_t>(r) : 0;
}

std::vector<Mapping> TracedAddressSpace::mappings() {
  std::vector<Mapping> out;
  if (!mem_) return out;
  std::ifstream in("/proc/" + std::to_string(any_live_thread()) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    unsigned long start, end, off, ino;
    unsigned dmaj, dmin;
    if (sscanf(line.c_str(), "%lx-%lx %4s %lx %x:%x %lu", &start, &end, m.perms, &off, &dmaj, &dmin, &ino) != 7)
      continue;
    if (reserved(start, end - start)) continue;  // the platform's own pages
    m.start = start; m.end = end; m.offset = off;
    m.dev_major = dmaj; m.dev_minor = dmin; m.inode = ino;
    out.push_back(m);
  }
  return out;
}

Usage TracedAddressSpace::usage() {
  Usage u;
  if (!mem_) return u;
  for (pid_t tid : thread_ids()) {  // every thread is a host process of its own
    std::ifstream f("/proc/" + std::to_string(tid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), {});
    size_t k = s.rfind(')');
    if (k == std::string::npos) continue;
    std::istringstream in(s.substr(k + 2));
    std::string field;
    for (int i = 3; i <= 15 && in >> field; i++) {
      if (i == 14) u.utime_ticks += std::stoull(field);
      if (i == 15) u.stime_ticks += std::stoull(field);
    }
  }
  std::ifstream f("/proc/" + std::to_string(any_live_thread()) + "/statm");
  f >> u.vsize_pages >> u.rss_pages;
  return u;
}

}  // namespace um::kernel::platform
