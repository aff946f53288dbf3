#include "umkernel/platform/ptrace.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/ptrace.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "core/log.h"
#include "core/unique_fd.h"
#include "umkernel/platform/stub.h"

// <sys/ptrace.h> and <linux/ptrace.h> clash; only the raw call is needed.
extern "C" long ptrace(int request, ...);

namespace um::kernel::platform {

namespace {

constexpr long kTraceOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                               PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;
constexpr int kInterruptSignal = SIGUSR2;
constexpr uint64_t kUserCs = 0x33, kUserSs = 0x2b;  // x86-64 user code and stack segments

long pt(int req, pid_t tid, uint64_t addr, uint64_t data) {
  return ptrace(req, tid, reinterpret_cast<void*>(addr), reinterpret_cast<void*>(data));
}
bool get_regs(pid_t tid, Regs& r) { return pt(PTRACE_GETREGS, tid, 0, reinterpret_cast<uint64_t>(&r)) == 0; }
bool put_regs(pid_t tid, const Regs& r) { return pt(PTRACE_SETREGS, tid, 0, reinterpret_cast<uint64_t>(&r)) == 0; }

bool is_fault(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

// In the forked child, before exec: only async-signal-safe calls.
[[noreturn]] void become_stub(int stub_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Its own process group keeps it away from the host terminal's signals; a new session
  // (setsid) would also put it in its own scheduler autogroup, which made every guest system
  // call 2-5x slower (tests/bench/README.md).
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(126);
  syscall(SYS_close_range, 0, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  char name[] = "um-guest";
  char* argv[] = {name, nullptr};
  char* envp[] = {nullptr};
  syscall(SYS_execveat, stub_fd, "", argv, envp, AT_EMPTY_PATH);
  _exit(127);
}

class PtraceContext;
using Registry = std::unordered_map<pid_t, PtraceContext*>;

class PtraceAddressSpace final : public AddressSpace, public std::enable_shared_from_this<PtraceAddressSpace> {
 public:
  explicit PtraceAddressSpace(pid_t leader) : leader_(leader) {
    mem_.reset(open(("/proc/" + std::to_string(leader) + "/mem").c_str(), O_RDWR | O_CLOEXEC));
  }
  bool ok() const { return static_cast<bool>(mem_); }

  int64_t map_anonymous(uint64_t addr, uint64_t len, int prot, int flags) override;
  int64_t map_file(uint64_t addr, uint64_t len, int prot, int flags, int host_fd, uint64_t offset,
                   bool may_write) override;
  int64_t unmap(uint64_t addr, uint64_t len) override { return host_syscall(SYS_munmap, addr, len); }
  int64_t protect(uint64_t addr, uint64_t len, int prot) override {
    return host_syscall(SYS_mprotect, addr, len, static_cast<uint64_t>(prot));
  }
  int64_t remap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, uint64_t flags, uint64_t new_addr) override;
  int64_t advise(uint64_t addr, uint64_t len, int advice) override {
    return host_syscall(SYS_madvise, addr, len, static_cast<uint64_t>(advice));
  }
  int64_t memory_call(long nr, uint64_t a0, uint64_t a1, uint64_t a2) override {
    switch (nr) {
      case SYS_mlock: case SYS_mlock2: case SYS_munlock: case SYS_mlockall: case SYS_munlockall:
      case SYS_mincore: case SYS_membarrier:
        return host_syscall(nr, a0, a1, a2);
      default:
        return -ENOSYS;
    }
  }
  int64_t clear() override;
  int64_t read(void* dst, uint64_t src, size_t n) override;
  int64_t write(uint64_t dst, const void* src, size_t n) override;
  size_t read_partial(void* dst, uint64_t src, size_t n) override;
  std::vector<Mapping> mappings() override;
  Usage usage() override;
  uint64_t resident_bytes() override {
    std::string s = read_proc("status");
    return (field_kb(s, "RssAnon:") + field_kb(s, "RssShmem:")) * 1024;
  }
  uint64_t proportional_bytes() override {
    std::string s = read_proc("smaps_rollup");
    return (field_kb(s, "Pss_Anon:") + field_kb(s, "Pss_Shmem:")) * 1024;
  }
  int64_t limit_data(uint64_t bytes) override {
    rlimit data{static_cast<rlim_t>(bytes), static_cast<rlim_t>(bytes)};
    return prlimit(leader_, RLIMIT_DATA, &data, nullptr) == 0 ? 0 : -errno;
  }
  void release() override { mem_.reset(); }
  bool reserved(uint64_t addr, uint64_t len) const override { return stub::overlaps_stub(addr, len); }

  // Runs a host system call inside a stopped thread of this address space.
  int64_t host_syscall(long nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                       uint64_t a4 = 0, uint64_t a5 = 0, pid_t* child = nullptr);

  std::vector<PtraceContext*> members;

 private:
  // Large copies go through process_vm_readv/writev (one copy, pages pinned in batches: about
  // twice /proc/PID/mem's speed, which bounces each page through a kernel buffer), to a member
  // host process umkernel has not reaped, so its pid cannot name another process yet. What
  // they cannot do (read-only pages for writes) falls back to /proc/PID/mem.
  static constexpr size_t kVmCopyMin = 16 << 10;
  pid_t vm_target() const;
  bool in_user_range(uint64_t addr, size_t n) const {
    constexpr uint64_t kUserTop = 0x800000000000ull;
    // /proc/PID/mem writes ignore page protections, so the stub pages are refused here: a
    // guest that got umkernel to write its bytes there would run them as host syscalls.
    return addr < kUserTop && n <= kUserTop - addr && !stub::overlaps_stub(addr, n);
  }
  pid_t any_live_member() const;
  // A small /proc file of the host process ("" once it is gone).
  std::string read_proc(const char* name) const {
    std::string out;
    if (!mem_) return out;
    int fd = open(("/proc/" + std::to_string(any_live_member()) + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
  }
  static uint64_t field_kb(const std::string& text, const char* key) {
    size_t at = text.find(key);
    if (at == std::string::npos) return 0;
    return strtoull(text.c_str() + at + strlen(key), nullptr, 10);
  }
  // Puts a NUL-terminated string on the stub's read-only scratch page, for a host syscall.
  int64_t write_scratch(const std::string& text) {
    if (text.size() + 1 > stub::kPageSize) return -ENAMETOOLONG;
    ssize_t r = pwrite(mem_.get(), text.c_str(), text.size() + 1, static_cast<off_t>(stub::kStubScratch));
    return r == static_cast<ssize_t>(text.size() + 1) ? 0 : -EFAULT;
  }

  pid_t leader_;
  UniqueFd mem_;
};

class PtraceContext final : public Context {
 public:
  PtraceContext(pid_t tid, std::shared_ptr<PtraceAddressSpace> as, std::shared_ptr<Registry> reg)
      : tid_(tid), as_(std::move(as)), registry_(std::move(reg)) {
    (*registry_)[tid_] = this;
    as_->members.push_back(this);
  }
  // Not yet reaped: its pid still names this host process.
  bool registered() const {
    auto it = registry_->find(tid_);
    return it != registry_->end() && it->second == this;
  }
  ~PtraceContext() override {
    auto it = registry_->find(tid_);
    if (it != registry_->end() && it->second == this) registry_->erase(it);
    std::erase(as_->members, this);
  }

  const SyscallArgs& syscall() const override { return sc_; }
  Regs& regs() override {
    fetch();
    return regs_;
  }
  void set_regs(const Regs& r) override {
    regs_ = r;
    regs_valid_ = true;
    result_pending_ = false;
  }
  void set_result(int64_t rax) override {
    if (regs_valid_) regs_.rax = static_cast<uint64_t>(rax);
    else { result_ = rax; result_pending_ = true; }
  }
  int64_t result() const override {
    if (regs_valid_) return static_cast<int64_t>(regs_.rax);
    return result_pending_ ? result_ : -ENOSYS;
  }
  bool get_fpregs(FpRegs& fp) override { return pt(PTRACE_GETFPREGS, tid_, 0, reinterpret_cast<uint64_t>(&fp)) == 0; }
  bool set_fpregs(const FpRegs& fp) override { return pt(PTRACE_SETFPREGS, tid_, 0, reinterpret_cast<uint64_t>(&fp)) == 0; }
  bool resume() override;
  void interrupt() override { ::syscall(SYS_tgkill, tid_, tid_, kInterruptSignal); }
  void kill() override { ::kill(tid_, SIGKILL); }
  std::shared_ptr<AddressSpace> address_space() const override { return as_; }
  pid_t host_id() const override { return tid_; }

  // --- for the platform ---
  pid_t tid() const { return tid_; }
  bool stopped = true;  // in a ptrace stop: registers may be read and written
  // A stop was reported: what the host holds now is the guest's state.
  void on_stop() {
    regs_valid_ = false;
    host_matches_ = false;
    result_pending_ = false;
    stopped = true;
  }
  void set_syscall(const SyscallArgs& sc) { sc_ = sc; }
  // Before umkernel clobbers the host registers (a host syscall): keep the guest's.
  bool save_guest_regs() {
    if (!fetch()) return false;
    host_matches_ = false;
    return true;
  }
  const Regs& guest_regs() const { return regs_; }

 private:
  bool fetch() {
    if (regs_valid_) return true;
    if (!get_regs(tid_, regs_)) return false;
    host_ = regs_;
    host_matches_ = true;
    regs_valid_ = true;
    if (result_pending_) regs_.rax = static_cast<uint64_t>(result_);
    result_pending_ = false;
    return true;
  }

  pid_t tid_;
  std::shared_ptr<PtraceAddressSpace> as_;
  std::shared_ptr<Registry> registry_;
  SyscallArgs sc_;
  Regs regs_{};            // the guest's registers, once fetched
  Regs host_{};            // what the host held when they were fetched
  bool regs_valid_ = false;
  bool host_matches_ = false;  // host_ is what the host holds now
  bool result_pending_ = false;
  int64_t result_ = 0;
};

bool PtraceContext::resume() {
  bool ok = true;
  if (regs_valid_) {
    // Only rax changed (the common syscall result): one POKEUSER instead of SETREGS.
    Regs r = regs_;
    r.rax = host_.rax;
    if (host_matches_ && memcmp(&r, &host_, sizeof r) == 0) {
      if (regs_.rax != host_.rax) ok = pt(PTRACE_POKEUSR, tid_, offsetof(Regs, rax), regs_.rax) == 0;
    } else {
      ok = put_regs(tid_, regs_);
    }
  } else if (result_pending_) {
    ok = pt(PTRACE_POKEUSR, tid_, offsetof(Regs, rax), static_cast<uint64_t>(result_)) == 0;
  }
  regs_valid_ = false;
  host_matches_ = false;
  result_pending_ = false;
  stopped = false;
  return ok && pt(PTRACE_SYSEMU, tid_, 0, 0) == 0;
}

pid_t PtraceAddressSpace::any_live_member() const {
  for (auto* c : members) return c->tid();
  return leader_;
}

int64_t PtraceAddressSpace::host_syscall(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                                         uint64_t a4, uint64_t a5, pid_t* child) {
  PtraceContext* ctx = nullptr;
  for (auto* c : members)
    if (c->stopped) { ctx = c; break; }
  if (!ctx || !ctx->save_guest_regs()) return -ESRCH;
  pid_t tid = ctx->tid();
  // Registers umkernel chooses: the guest's code segment or flags (32-bit mode, the trap
  // flag...) never reach the stub. Only the TLS bases are the guest's (unused by the stub).
  Regs r{};
  r.fs_base = ctx->guest_regs().fs_base;
  r.gs_base = ctx->guest_regs().gs_base;
  r.cs = kUserCs;
  r.ss = kUserSs;
  r.eflags = 0x202;
  r.rip = stub::kStubSyscall;
  r.rax = static_cast<uint64_t>(nr);
  r.orig_rax = ~0ull;  // not inside a syscall: no restart logic on the way back
  r.rdi = a0; r.rsi = a1; r.rdx = a2; r.r10 = a3; r.r8 = a4; r.r9 = a5;
  if (!put_regs(tid, r)) return -ESRCH;
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
      if (!get_regs(tid, out)) return -ESRCH;
      if (out.rip == stub::kStubTrapRip) return static_cast<int64_t>(out.rax);
      UM_WARN("host syscall %ld in host task %d trapped at %#llx: the task is killed", nr, tid, out.rip);
      ::kill(tid, SIGKILL);
      return -EFAULT;
    } else if (event == 0 && is_fault(sig)) {
      // The stub itself faulted: never retry it (it would fault forever), end the task.
      UM_WARN("host syscall %ld in host task %d faulted (signal %d): the task is killed", nr, tid, sig);
      ::kill(tid, SIGKILL);
      return -EFAULT;
    }
    // Any other stop (our interrupt signal, a stray signal) is swallowed: guest signals
    // are emulated, never delivered by the host.
    if (pt(PTRACE_CONT, tid, 0, 0) != 0) return -ESRCH;
  }
}

int64_t PtraceAddressSpace::map_anonymous(uint64_t addr, uint64_t len, int prot, int flags) {
  if ((flags & MAP_FIXED) && stub::overlaps_stub(addr, len)) return -ENOMEM;
  int64_t r = host_syscall(SYS_mmap, addr, len, static_cast<uint64_t>(prot), static_cast<uint64_t>(flags),
                           static_cast<uint64_t>(-1), 0);
  if (r >= 0 && stub::overlaps_stub(static_cast<uint64_t>(r), len)) {
    host_syscall(SYS_munmap, static_cast<uint64_t>(r), len);
    return -ENOMEM;
  }
  return r;
}

// The guest process takes a copy of umkernel's descriptor with pidfd_getfd (no path, so
// nothing of the host is written where the guest could read it), maps it and closes it.
int64_t PtraceAddressSpace::map_file(uint64_t addr, uint64_t len, int prot, int flags, int host_fd, uint64_t offset,
                                     bool may_write) {
  if ((flags & MAP_FIXED) && stub::overlaps_stub(addr, len)) return -ENOMEM;
  // Under Yama's ptrace_scope=1 the guest may take a descriptor from umkernel only when
  // named as its tracer; harmless otherwise (and refused without Yama).
  prctl(PR_SET_PTRACER, static_cast<unsigned long>(leader_), 0, 0, 0);
  int64_t pidfd = host_syscall(SYS_pidfd_open, static_cast<uint64_t>(getpid()), 0);
  int64_t fd = pidfd < 0 ? pidfd : host_syscall(SYS_pidfd_getfd, static_cast<uint64_t>(pidfd), static_cast<uint64_t>(host_fd), 0);
  if (pidfd >= 0) host_syscall(SYS_close, static_cast<uint64_t>(pidfd));
  prctl(PR_SET_PTRACER, 0, 0, 0, 0);
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
  if (r >= 0 && stub::overlaps_stub(static_cast<uint64_t>(r), len)) {
    host_syscall(SYS_munmap, static_cast<uint64_t>(r), len);
    return -ENOMEM;
  }
  return r;
}

int64_t PtraceAddressSpace::remap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, uint64_t flags, uint64_t new_addr) {
  int64_t r = host_syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr);
  if (r >= 0 && stub::overlaps_stub(static_cast<uint64_t>(r), new_len)) {
    host_syscall(SYS_munmap, static_cast<uint64_t>(r), new_len);
    return -ENOMEM;
  }
  return r;
}

int64_t PtraceAddressSpace::clear() {
  if (host_syscall(SYS_munmap, 0, stub::kStubBase) != 0 ||
      host_syscall(SYS_munmap, stub::kStubBase + stub::kStubSize,
                   stub::kTaskSize - stub::kStubBase - stub::kStubSize) != 0)
    return -EFAULT;
  return 0;
}

pid_t PtraceAddressSpace::vm_target() const {
  if (!mem_) return 0;
  for (auto* c : members)
    if (c->registered()) return c->tid();
  return 0;
}

int64_t PtraceAddressSpace::read(void* dst, uint64_t src, size_t n) {
  if (n == 0) return 0;
  if (!in_user_range(src, n)) return -EFAULT;
  auto* out = static_cast<char*>(dst);
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

int64_t PtraceAddressSpace::write(uint64_t dst, const void* src, size_t n) {
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

size_t PtraceAddressSpace::read_partial(void* dst, uint64_t src, size_t n) {
  if (n == 0 || !in_user_range(src, n)) return 0;
  ssize_t r = pread(mem_.get(), dst, n, static_cast<off_t>(src));
  return r > 0 ? static_cast<size_t>(r) : 0;
}

std::vector<Mapping> PtraceAddressSpace::mappings() {
  std::vector<Mapping> out;
  if (!mem_) return out;
  std::ifstream in("/proc/" + std::to_string(any_live_member()) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    unsigned long start, end, off, ino;
    unsigned dmaj, dmin;
    if (sscanf(line.c_str(), "%lx-%lx %4s %lx %x:%x %lu", &start, &end, m.perms, &off, &dmaj, &dmin, &ino) != 7)
      continue;
    if (stub::overlaps_stub(start, end - start)) continue;  // the platform's own pages
    m.start = start; m.end = end; m.offset = off;
    m.dev_major = dmaj; m.dev_minor = dmin; m.inode = ino;
    out.push_back(m);
  }
  return out;
}

Usage PtraceAddressSpace::usage() {
  Usage u;
  if (!mem_) return u;
  for (auto* c : members) {  // every thread is a host process of its own
    std::ifstream f("/proc/" + std::to_string(c->tid()) + "/stat");
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
  std::ifstream f("/proc/" + std::to_string(any_live_member()) + "/statm");
  f >> u.vsize_pages >> u.rss_pages;
  return u;
}

bool wait_new_child(pid_t child) {
  int status = 0;
  if (waitpid(child, &status, __WALL) != child) return false;
  return WIFSTOPPED(status);
}

class PtracePlatform final : public Platform {
 public:
  PtracePlatform() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    sigchld_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  }
  const char* name() const override { return "ptrace"; }
  std::unique_ptr<Context> new_process(std::string* error) override;
  std::unique_ptr<Context> clone(Context& parent, CloneKind kind, int64_t* err) override;
  Context* next_stop(Stop& stop) override;
  int wait_fd() const override { return sigchld_.get(); }
  void drain_wait_fd() override {
    signalfd_siginfo si;
    while (::read(sigchld_.get(), &si, sizeof si) == sizeof si) {
    }
  }
  void shutdown() override;

 private:
  std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();
  UniqueFd sigchld_;
};

std::unique_ptr<Context> PtracePlatform::new_process(std::string* error) {
  int fd = stub::memfd();
  if (fd < 0) {
    *error = std::string("cannot create the stub: ") + strerror(errno);
    return nullptr;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    return nullptr;
  }
  if (pid == 0) become_stub(fd);
  int status = 0;
  if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
    *error = "the stub process did not start (status " + std::to_string(status) + ")";
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, __WALL);
    return nullptr;
  }
  if (pt(PTRACE_SETOPTIONS, pid, 0, kTraceOptions) != 0) {
    *error = std::string("PTRACE_SETOPTIONS: ") + strerror(errno);
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, __WALL);
    return nullptr;
  }
  auto as = std::make_shared<PtraceAddressSpace>(pid);
  auto ctx = std::make_unique<PtraceContext>(pid, as, registry_);
  if (!as->ok()) {
    *error = std::string("cannot open the guest's memory: ") + strerror(errno);
    ctx->kill();
    return nullptr;  // its exit is collected by the loop (or shutdown)
  }
  // Clear the address space: everything but the stub page goes (exec'd stack, vdso, vvar).
  if (as->clear() != 0) {
    *error = "cannot clear the stub's address space";
    ctx->kill();
    return nullptr;
  }
  return ctx;
}

std::unique_ptr<Context> PtracePlatform::clone(Context& parent_ctx, CloneKind kind, int64_t* err) {
  auto& parent = static_cast<PtraceContext&>(parent_ctx);
  auto pas = std::static_pointer_cast<PtraceAddressSpace>(parent.address_space());
  // CLONE_PARENT makes every guest host process a child of umkernel, which is what reaps
  // it. Threads share the host address space (a host process of their own with CLONE_VM).
  uint64_t flags = CLONE_PARENT | SIGCHLD | (kind == CloneKind::Thread ? CLONE_VM : 0);
  pid_t child = 0;
  int64_t r = pas->host_syscall(SYS_clone, flags, 0, 0, 0, 0, 0, &child);
  if (r < 0) {
    *err = r;
    return nullptr;
  }
  if (child <= 0) child = static_cast<pid_t>(r);
  if (!wait_new_child(child)) {
    *err = -EAGAIN;
    return nullptr;
  }
  std::shared_ptr<PtraceAddressSpace> as = pas;
  if (kind == CloneKind::Process) {
    as = std::make_shared<PtraceAddressSpace>(child);
    if (!as->ok()) {
      ::kill(child, SIGKILL);
      waitpid(child, nullptr, __WALL);
      *err = -EAGAIN;
      return nullptr;
    }
  }
  return std::make_unique<PtraceContext>(child, as, registry_);
}

Context* PtracePlatform::next_stop(Stop& stop) {
  for (;;) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
    if (tid <= 0) return nullptr;
    auto it = registry_->find(tid);
    if (it == registry_->end()) continue;  // a host thread umkernel already forgot
    PtraceContext* c = it->second;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      registry_->erase(it);
      c->stopped = false;
      stop.kind = StopKind::Exited;
      stop.status = status;
      return c;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    if (sig == (SIGTRAP | 0x80)) {
      ptrace_syscall_info info{};
      long n = pt(PTRACE_GET_SYSCALL_INFO, tid, sizeof info, reinterpret_cast<uint64_t>(&info));
      SyscallArgs sc;
      if (n > 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        sc.nr = static_cast<long>(info.entry.nr);
        for (int i = 0; i < 6; i++) sc.args[i] = info.entry.args[i];
        c->on_stop();
        c->set_syscall(sc);
        stop.kind = info.arch == AUDIT_ARCH_X86_64 ? StopKind::Syscall : StopKind::BadSyscall;
        return c;
      }
      // Without PTRACE_GET_SYSCALL_INFO: from the registers (64-bit calls only are possible
      // to tell; a 32-bit code segment means a 32-bit call).
      c->on_stop();
      Regs& r = c->regs();
      sc.nr = static_cast<long>(r.orig_rax);
      sc.args[0] = r.rdi; sc.args[1] = r.rsi; sc.args[2] = r.rdx;
      sc.args[3] = r.r10; sc.args[4] = r.r8; sc.args[5] = r.r9;
      c->set_syscall(sc);
      stop.kind = r.cs == kUserCs ? StopKind::Syscall : StopKind::BadSyscall;
      return c;
    }
    c->on_stop();
    if ((status >> 16) != 0 || (sig != kInterruptSignal && !is_fault(sig))) {
      // A ptrace event outside a host syscall, or a host signal that is not the guest's
      // business (guest signals are emulated): carry on.
      c->resume();
      continue;
    }
    if (sig == kInterruptSignal) {
      stop.kind = StopKind::Interrupted;
      return c;
    }
    stop.kind = StopKind::Fault;
    memset(&stop.info, 0, sizeof stop.info);
    pt(PTRACE_GETSIGINFO, tid, 0, reinterpret_cast<uint64_t>(&stop.info));
    stop.info.si_signo = sig;
    return c;
  }
}

void PtracePlatform::shutdown() {
  std::vector<pid_t> tids;
  for (auto& [tid, c] : *registry_) tids.push_back(tid);
  for (pid_t tid : tids) ::kill(tid, SIGKILL);
  for (pid_t tid : tids) waitpid(tid, nullptr, __WALL);
  registry_->clear();
}

}  // namespace

std::unique_ptr<Platform> make_ptrace_platform(std::string*) { return std::make_unique<PtracePlatform>(); }

}  // namespace um::kernel::platform
