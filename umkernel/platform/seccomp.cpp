#include "umkernel/platform/seccomp.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/ptrace.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/log.h"
#include "core/unique_fd.h"
#include "umkernel/platform/seccomp_filter.h"
#include "umkernel/platform/seccomp_layout.h"
#include "umkernel/platform/stub.h"
#include "umkernel/platform/traced_address_space.h"

extern "C" long ptrace(int request, ...);

namespace um::kernel::platform {

namespace {

constexpr int kInterruptSignal = SIGUSR2;
constexpr uint64_t kAreaSize = uint64_t{SC_SLOTS} * SC_SLOT_SIZE;
static_assert(SC_STUB_BASE == stub::kStubBase);
static_assert(SC_GLOBAL_PAGE + 0x1000 == stub::kStubBase + stub::kStubSize);

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::atomic_ref<uint32_t> word(uint8_t* page, size_t off) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(page + off));
}

// In the forked child, before exec: only async-signal-safe calls.
[[noreturn]] void become_t0(int stub_fd, int wake_fd) {
  // Every signal but SIGTRAP (exec's stop for the tracer) blocked: the guest threads cloned
  // from T0 inherit the mask until their handlers are in place (the stub unblocks them).
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGTRAP);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  setpgid(0, 0);  // away from the host terminal's signals (not setsid: see ptrace.cpp)
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);  // lets the threads install their filter
  if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(126);
  if (wake_fd != SC_WAKE_FD) {
    if (dup2(wake_fd, SC_WAKE_FD) != SC_WAKE_FD) _exit(125);
  } else {
    fcntl(SC_WAKE_FD, F_SETFD, 0);
  }
  syscall(SYS_close_range, 0, SC_WAKE_FD - 1, 4 /* CLOSE_RANGE_CLOEXEC */);
  syscall(SYS_close_range, SC_WAKE_FD + 1, ~0U, 4);
  char name[] = "um-guest";
  char* argv[] = {name, nullptr};
  char* envp[] = {nullptr};
  syscall(SYS_execveat, stub_fd, "", argv, envp, AT_EMPTY_PATH);
  _exit(127);
}

// ucontext gregs (REG_R8 .. REG_CR2) <-> ptrace's user_regs_struct.
void gregs_to_regs(const uint64_t* g, Regs& r) {
  r.r8 = g[0]; r.r9 = g[1]; r.r10 = g[2]; r.r11 = g[3]; r.r12 = g[4]; r.r13 = g[5]; r.r14 = g[6]; r.r15 = g[7];
  r.rdi = g[8]; r.rsi = g[9]; r.rbp = g[10]; r.rbx = g[11]; r.rdx = g[12]; r.rax = g[13]; r.rcx = g[14];
  r.rsp = g[15]; r.rip = g[16]; r.eflags = g[17];
  r.cs = g[18] & 0xffff;
  r.ss = (g[18] >> 48) & 0xffff;
  r.orig_rax = ~0ull;
  r.ds = r.es = r.fs = r.gs = 0;
}

void regs_to_gregs(const Regs& r, uint64_t* g) {
  g[0] = r.r8; g[1] = r.r9; g[2] = r.r10; g[3] = r.r11; g[4] = r.r12; g[5] = r.r13; g[6] = r.r14; g[7] = r.r15;
  g[8] = r.rdi; g[9] = r.rsi; g[10] = r.rbp; g[11] = r.rbx; g[12] = r.rdx; g[13] = r.rax; g[14] = r.rcx;
  g[15] = r.rsp; g[16] = r.rip; g[17] = r.eflags;
  g[18] = (r.cs & 0xffff) | (g[18] & 0x0000ffffffff0000ull) | ((r.ss & 0xffff) << 48);
}

class SeccompContext;
class SeccompAddressSpace;

// What the platform's objects share.
struct Shared {
  std::unordered_map<pid_t, SeccompContext*> by_tid;
  std::vector<SeccompContext*> running;  // resumed: their slots are watched for posts
  uint8_t* global = nullptr;             // the VM-wide page (umkernel's mapping)
};

class SeccompAddressSpace final : public TracedAddressSpace,
                                  public std::enable_shared_from_this<SeccompAddressSpace> {
 public:
  SeccompAddressSpace(pid_t t0, std::shared_ptr<Shared> shared) : TracedAddressSpace(t0), shared_(std::move(shared)) {
    // T0 is ended through a pidfd: its pid may have been reaped (and reused) by then.
    t0_pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, t0, 0)));
  }
  ~SeccompAddressSpace() override {
    stop_t0();
    if (area_) munmap(area_, kAreaSize);
  }

  // Maps the thread area (a new memfd, shared with umkernel) and the VM-wide page.
  bool setup(int global_fd, std::string* error);
  // Starts a guest thread in a free slot, stopped at its first post.
  std::unique_ptr<SeccompContext> spawn(int64_t* err);
  void free_slot(int idx) { if (idx >= 0 && idx < SC_SLOTS) used_[idx] = false; }
  uint8_t* slot(int idx) const { return area_ + uint64_t(idx) * SC_SLOT_SIZE; }

  int64_t host_syscall(long nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                       uint64_t a4 = 0, uint64_t a5 = 0, pid_t* child = nullptr) override {
    if (!mem_ || t0_dead_) return -ESRCH;
    const uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
    int64_t r = run_stub_syscall(leader_, 0, 0, stub::kStubSyscall, stub::kStubTrapRip, nr, args, child);
    if (r == -ESRCH) t0_dead_ = true;  // T0 is gone: the address space cannot change any more
    return r;
  }
  int64_t clone_thread(uint64_t stack) {
    if (!mem_ || t0_dead_) return -ESRCH;
    const uint64_t args[6] = {CLONE_VM | CLONE_PARENT | SIGCHLD, stack, 0, 0, 0, 0};
    return run_stub_syscall(leader_, 0, 0, seccomp_clone_site(), seccomp_clone_trap(), SYS_clone, args, nullptr);
  }
  void release() override {
    TracedAddressSpace::release();
    stop_t0();
  }
  pid_t t0() const { return leader_; }
  std::vector<SeccompContext*> members;

 protected:
  std::vector<pid_t> thread_ids() const override;
  pid_t any_live_thread() const override { return leader_; }
  pid_t vm_target() const override;
  std::vector<Range> kept_ranges() const override {
    return {{SC_THREAD_AREA, SC_THREAD_AREA + kAreaSize}, {stub::kStubBase, stub::kStubBase + stub::kStubSize}};
  }

 private:
  void stop_t0() {
    if (!t0_pidfd_) return;
    ::syscall(SYS_pidfd_send_signal, t0_pidfd_.get(), SIGKILL, nullptr, 0);
    siginfo_t info;
    waitid(static_cast<idtype_t>(3) /* P_PIDFD */, static_cast<id_t>(t0_pidfd_.get()), &info, WEXITED | __WALL);
    t0_pidfd_.reset();
  }
  std::shared_ptr<Shared> shared_;
  uint8_t* area_ = nullptr;
  std::vector<bool> used_ = std::vector<bool>(SC_SLOTS, false);
  std::vector<bool> opened_ = std::vector<bool>(SC_SLOTS, false);  // made readable and writable
  bool t0_dead_ = false;
  UniqueFd t0_pidfd_;
};

class SeccompContext final : public Context {
 public:
  SeccompContext(pid_t tid, int idx, std::shared_ptr<SeccompAddressSpace> as, std::shared_ptr<Shared> shared)
      : tid_(tid), idx_(idx), as_(std::move(as)), shared_(std::move(shared)), page_(as_->slot(idx)) {
    shared_->by_tid[tid_] = this;
    as_->members.push_back(this);
  }
  ~SeccompContext() override {
    auto it = shared_->by_tid.find(tid_);
    if (it != shared_->by_tid.end() && it->second == this) shared_->by_tid.erase(it);
    std::erase(shared_->running, this);
    std::erase(as_->members, this);
    as_->free_slot(idx_);
  }

  const SyscallArgs& syscall() const override { return sc_; }
  Regs& regs() override { return regs_; }
  void set_regs(const Regs& r) override { regs_ = r; }
  void set_result(int64_t rax) override { regs_.rax = static_cast<uint64_t>(rax); }
  int64_t result() const override { return static_cast<int64_t>(regs_.rax); }
  bool get_fpregs(FpRegs& fp) override {
    memcpy(&fp, page_ + SCM_FPREGS, sizeof fp);
    return true;
  }
  bool set_fpregs(const FpRegs& fp) override {
    if (running_) return false;
    memcpy(page_ + SCM_FPREGS, &fp, sizeof fp);
    fp_dirty_ = true;
    return true;
  }
  bool resume() override;
  void interrupt() override { ::syscall(SYS_tgkill, tid_, tid_, kInterruptSignal); }
  void kill() override { ::kill(tid_, SIGKILL); }
  std::shared_ptr<AddressSpace> address_space() const override { return as_; }
  pid_t host_id() const override { return tid_; }

  // --- for the platform ---
  bool posted() const { return word(page_, SCM_STATE).load(std::memory_order_acquire) == SC_POSTED; }
  // Takes the posted state into the context and says what it is.
  void collect(Stop& stop);
  void mark_gone() { running_ = false; }
  bool running() const { return running_; }
  // Not yet reaped: its pid still names this host process.
  bool registered() const {
    auto it = shared_->by_tid.find(tid_);
    return it != shared_->by_tid.end() && it->second == this;
  }

 private:
  pid_t tid_;
  int idx_;
  std::shared_ptr<SeccompAddressSpace> as_;
  std::shared_ptr<Shared> shared_;
  uint8_t* page_;
  SyscallArgs sc_;
  Regs regs_{};
  bool running_ = false;
  bool fp_dirty_ = false;
};

pid_t SeccompAddressSpace::vm_target() const {
  if (!mem_) return 0;
  for (auto* c : members)
    if (c->registered()) return c->host_id();
  return 0;
}

std::vector<pid_t> SeccompAddressSpace::thread_ids() const {
  std::vector<pid_t> out;
  for (auto* c : members) out.push_back(c->host_id());
  return out;
}

void SeccompContext::collect(Stop& stop) {
  running_ = false;
  fp_dirty_ = false;
  uint64_t g[23];
  memcpy(g, page_ + SCM_GREGS, sizeof g);
  gregs_to_regs(g, regs_);
  memcpy(&regs_.fs_base, page_ + SCM_FSBASE, 8);
  memcpy(&regs_.gs_base, page_ + SCM_GSBASE, 8);
  siginfo_t info;
  memcpy(&info, page_ + SCM_SIGINFO, sizeof info);
  uint32_t kind = word(page_, SCM_KIND).load(std::memory_order_relaxed);
  if (kind == SIGSYS && info.si_code == 1 /* SYS_SECCOMP */) {
    // The filter trapped a system call: rax holds its number (the host rolled it back).
    uint32_t arch = info.si_arch;
    sc_.nr = static_cast<long>(regs_.rax);
    sc_.args[0] = regs_.rdi; sc_.args[1] = regs_.rsi; sc_.args[2] = regs_.rdx;
    sc_.args[3] = regs_.r10; sc_.args[4] = regs_.r8; sc_.args[5] = regs_.r9;
    regs_.orig_rax = regs_.rax;
    regs_.rax = static_cast<uint64_t>(-ENOSYS);
    stop.kind = arch == AUDIT_ARCH_X86_64 ? StopKind::Syscall : StopKind::BadSyscall;
    return;
  }
  if (kind != kInterruptSignal && is_fault_signal(static_cast<int>(kind))) {
    stop.kind = StopKind::Fault;
    stop.info = info;
    stop.info.si_signo = static_cast<int>(kind);
    return;
  }
  // SIGUSR2 (our interrupt), or a slot the guest scribbled on: nothing to serve.
  stop.kind = StopKind::Interrupted;
}

bool SeccompContext::resume() {
  if (running_) return true;
  uint64_t g[23];
  memcpy(g, page_ + SCM_GREGS, sizeof g);
  regs_to_gregs(regs_, g);
  memcpy(page_ + SCM_GREGS, g, sizeof g);
  memcpy(page_ + SCM_FSBASE, &regs_.fs_base, 8);
  memcpy(page_ + SCM_GSBASE, &regs_.gs_base, 8);
  word(page_, SCM_FLAGS).store(fp_dirty_ ? SCF_FPREGS : 0, std::memory_order_relaxed);
  fp_dirty_ = false;
  running_ = true;
  shared_->running.push_back(this);
  // Dekker with the stub: the answer is published before the waiting flag is read.
  word(page_, SCM_STATE).store(SC_ANSWERED, std::memory_order_seq_cst);
  if (word(page_, SCM_WAITING).load(std::memory_order_seq_cst))
    ::syscall(SYS_futex, page_ + SCM_STATE, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  return true;
}

bool SeccompAddressSpace::setup(int global_fd, std::string* error) {
  // The slots are inaccessible until a thread uses one (so a guest's mlockall does not
  // fault in all of them).
  int fd = memfd_create("um-threads", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(kAreaSize)) != 0) {
    *error = std::string("cannot make the thread slots: ") + strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  UniqueFd area_fd(fd);
  void* p = mmap(nullptr, kAreaSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    *error = std::string("cannot map the thread slots: ") + strerror(errno);
    return false;
  }
  area_ = static_cast<uint8_t*>(p);
  int64_t gfd = take_fd(fd);
  int64_t r = gfd < 0 ? gfd
            : host_syscall(SYS_mmap, SC_THREAD_AREA, kAreaSize, PROT_NONE,
                           MAP_SHARED | MAP_FIXED | MAP_NORESERVE, static_cast<uint64_t>(gfd), 0);
  if (gfd >= 0) host_syscall(SYS_close, static_cast<uint64_t>(gfd));
  int64_t gg = r < 0 ? r : take_fd(global_fd);
  int64_t r2 = gg < 0 ? gg
             : host_syscall(SYS_mmap, SC_GLOBAL_PAGE, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED,
                            static_cast<uint64_t>(gg), 0);
  if (gg >= 0) host_syscall(SYS_close, static_cast<uint64_t>(gg));
  if (r < 0 || r2 < 0) {
    *error = std::string("cannot map the platform pages into the guest: ") + strerror(static_cast<int>(-(r < 0 ? r : r2)));
    return false;
  }
  return true;
}

std::unique_ptr<SeccompContext> SeccompAddressSpace::spawn(int64_t* err) {
  int idx = -1;
  for (int i = 0; i < SC_SLOTS; i++)
    if (!used_[i]) { idx = i; break; }
  if (idx < 0) {
    *err = -EAGAIN;
    return nullptr;
  }
  uint8_t* page = slot(idx);
  if (!opened_[idx]) {
    int64_t r = host_syscall(SYS_mprotect, SC_THREAD_AREA + uint64_t(idx) * SC_SLOT_SIZE, SC_SLOT_SIZE,
                             PROT_READ | PROT_WRITE);
    if (r < 0) {
      *err = r == -ENOMEM ? -ENOMEM : -EAGAIN;
      return nullptr;
    }
    opened_[idx] = true;
  }
  memset(page, 0, SC_MSG_SIZE);
  used_[idx] = true;
  uint64_t stack = SC_THREAD_AREA + uint64_t(idx) * SC_SLOT_SIZE + SC_SLOT_SIZE - 64;
  int64_t tid = clone_thread(stack);
  if (tid <= 0) {
    used_[idx] = false;
    *err = tid < 0 ? tid : -EAGAIN;
    return nullptr;
  }
  // The new thread sets itself up and stops at its first post (well under a millisecond;
  // a thread that died or hangs is given up after 5 s).
  uint64_t deadline = now_ns() + 5000000000ull;
  for (unsigned spins = 0;; spins++) {
    if (word(page, SCM_STATE).load(std::memory_order_acquire) == SC_POSTED) break;
    int status = 0;
    if (waitpid(static_cast<pid_t>(tid), &status, __WALL | WNOHANG) == tid || now_ns() > deadline) {
      UM_WARN("a new guest thread (host %ld) did not start (status %#x)", static_cast<long>(tid), status);
      ::kill(static_cast<pid_t>(tid), SIGKILL);
      waitpid(static_cast<pid_t>(tid), nullptr, __WALL);
      used_[idx] = false;
      *err = -EAGAIN;
      return nullptr;
    }
    if (spins > 100) sched_yield();
  }
  uint64_t rip;
  memcpy(&rip, page + SCM_GREGS + 16 * 8, 8);
  if (rip != seccomp_start_site()) {
    UM_WARN("a new guest thread (host %ld) stopped at %#lx, not at its start", static_cast<long>(tid),
            static_cast<unsigned long>(rip));
    ::kill(static_cast<pid_t>(tid), SIGKILL);
    waitpid(static_cast<pid_t>(tid), nullptr, __WALL);
    used_[idx] = false;
    *err = -EAGAIN;
    return nullptr;
  }
  auto ctx = std::make_unique<SeccompContext>(static_cast<pid_t>(tid), idx, shared_from_this(), shared_);
  Stop ignored;
  ctx->collect(ignored);
  return ctx;
}

class SeccompPlatform final : public Platform {
 public:
  bool init(std::string* error);
  const char* name() const override { return "seccomp"; }
  std::unique_ptr<Context> new_process(std::string* error) override;
  std::unique_ptr<Context> clone(Context& parent, CloneKind kind, int64_t* err) override;
  Context* next_stop(Stop& stop) override;
  bool wait_briefly() override;
  int wait_fd() const override { return epoll_.get(); }
  void drain_wait_fd() override;
  void shutdown() override;

 private:
  SeccompContext* find_post() {
    auto& run = shared_->running;
    for (size_t i = 0; i < run.size(); i++) {
      if (run[i]->posted()) {
        SeccompContext* c = run[i];
        run[i] = run.back();
        run.pop_back();
        return c;
      }
    }
    return nullptr;
  }
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  UniqueFd sigchld_, wake_, global_fd_, epoll_;
  bool children_ = true;      // SIGCHLD arrived: look for exits
  unsigned calls_ = 0;
  // How long wait_briefly() spins for a post: a guest thread that was just answered posts
  // again within microseconds unless its call blocks or it computes.
  static constexpr uint64_t kSpinMinNs = 2000, kSpinMaxNs = 50000;
  uint64_t spin_ns_ = kSpinMaxNs;
  uint64_t slept_at_ = 0;  // when wait_briefly() last gave up
  void check_load();
  UniqueFd loadavg_{open("/proc/loadavg", O_RDONLY | O_CLOEXEC)};
  int cpus_ = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  uint64_t load_checked_ = 0;
  bool nospin_ = false;
};

bool SeccompPlatform::init(std::string* error) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sigchld_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  wake_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  global_fd_.reset(memfd_create("um-global", MFD_CLOEXEC));
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!sigchld_ || !wake_ || !global_fd_ || !epoll_ || ftruncate(global_fd_.get(), 0x1000) != 0) {
    *error = std::string("seccomp platform: ") + strerror(errno);
    return false;
  }
  void* g = mmap(nullptr, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, global_fd_.get(), 0);
  if (g == MAP_FAILED) {
    *error = std::string("seccomp platform: ") + strerror(errno);
    return false;
  }
  shared_->global = static_cast<uint8_t*>(g);
  for (int fd : {sigchld_.get(), wake_.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  return true;
}

std::unique_ptr<Context> SeccompPlatform::new_process(std::string* error) {
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
  if (pid == 0) become_t0(fd, wake_.get());
  int status = 0;
  if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
    *error = "the stub process did not start (status " + std::to_string(status) + ")";
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, __WALL);
    return nullptr;
  }
  if (ptrace(PTRACE_SETOPTIONS, pid, nullptr, reinterpret_cast<void*>(PTRACE_O_EXITKILL)) != 0) {
    *error = std::string("PTRACE_SETOPTIONS: ") + strerror(errno);
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, __WALL);
    return nullptr;
  }
  auto as = std::make_shared<SeccompAddressSpace>(pid, shared_);
  if (!as->ok()) {
    *error = std::string("cannot open the guest's memory: ") + strerror(errno);
    return nullptr;  // the address space's destructor ends T0
  }
  // Everything but the stub pages goes (exec'd stack, vdso, vvar), then the slots come.
  if (as->clear() != 0) {
    *error = "cannot clear the stub's address space";
    return nullptr;
  }
  if (!as->setup(global_fd_.get(), error)) return nullptr;
  int64_t err = 0;
  auto ctx = as->spawn(&err);
  if (!ctx) {
    *error = std::string("cannot start a guest thread: ") + strerror(static_cast<int>(-err));
    return nullptr;
  }
  return ctx;
}

std::unique_ptr<Context> SeccompPlatform::clone(Context& parent_ctx, CloneKind kind, int64_t* err) {
  auto& parent = static_cast<SeccompContext&>(parent_ctx);
  auto pas = std::static_pointer_cast<SeccompAddressSpace>(parent.address_space());
  std::shared_ptr<SeccompAddressSpace> as = pas;
  if (kind == CloneKind::Process) {
    // T0 forks (traced, CLONE_PARENT: umkernel reaps it); the child's T0 gets its own slots.
    pid_t child = 0;
    int64_t r = pas->host_syscall(SYS_clone, CLONE_PARENT | CLONE_PTRACE | SIGCHLD, 0, 0, 0, 0, 0, &child);
    if (r <= 0) {
      *err = r < 0 ? r : -EAGAIN;
      return nullptr;
    }
    child = static_cast<pid_t>(r);
    int status = 0;
    if (waitpid(child, &status, __WALL) != child || !WIFSTOPPED(status)) {
      *err = -EAGAIN;
      return nullptr;
    }
    as = std::make_shared<SeccompAddressSpace>(child, shared_);
    std::string error;
    if (!as->ok() || !as->setup(global_fd_.get(), &error)) {
      UM_WARN("fork: %s", error.c_str());
      *err = -EAGAIN;
      return nullptr;
    }
  }
  auto ctx = as->spawn(err);
  if (!ctx) return nullptr;
  FpRegs fp;
  parent.get_fpregs(fp);
  ctx->set_fpregs(fp);
  return ctx;
}

Context* SeccompPlatform::next_stop(Stop& stop) {
  word(shared_->global, SCG_SLEEPING).store(0, std::memory_order_relaxed);
  if (SeccompContext* c = find_post()) {
    if (slept_at_) {
      // The first post after a sleep: had the spin lasted that long, it would have caught it.
      uint64_t waited = now_ns() - slept_at_;
      if (waited < kSpinMaxNs) spin_ns_ = std::max(spin_ns_, waited + waited / 2);
      slept_at_ = 0;
    }
    c->collect(stop);
    return c;
  }
  // Exits come as SIGCHLD (the wait fd); now and then look anyway.
  if (!children_ && (++calls_ & 1023) != 0) return nullptr;
  children_ = false;
  for (;;) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
    if (tid <= 0) return nullptr;
    children_ = true;  // there may be more
    auto it = shared_->by_tid.find(tid);
    // Not a guest thread: a T0 stopped by a stray signal stays stopped (its next host
    // syscall resumes it without the signal), or one that was ended.
    if (it == shared_->by_tid.end()) continue;
    if (!WIFEXITED(status) && !WIFSIGNALED(status)) continue;
    SeccompContext* c = it->second;
    shared_->by_tid.erase(it);
    std::erase(shared_->running, c);
    c->mark_gone();
    stop.kind = StopKind::Exited;
    stop.status = status;
    return c;
  }
}

void SeccompPlatform::check_load() {
  // The fourth field of /proc/loadavg counts the host's runnable tasks now. More of them than
  // CPUs: a spinning side keeps the other off a CPU (measured: 2-4x slower than sleeping at
  // once), so neither umkernel nor the stubs spin until the host is quieter.
  uint64_t now = now_ns();
  if (now - load_checked_ < 10000000) return;
  load_checked_ = now;
  char buf[128];
  ssize_t n = loadavg_ ? pread(loadavg_.get(), buf, sizeof buf - 1, 0) : -1;
  if (n <= 0) return;
  buf[n] = 0;
  unsigned running = 0;
  if (sscanf(buf, "%*s %*s %*s %u/", &running) != 1) return;
  // umkernel itself is one of them; a guest thread that computes is another.
  nospin_ = running > static_cast<unsigned>(cpus_) + 1;
  word(shared_->global, SCG_NOSPIN).store(nospin_ ? 1 : 0, std::memory_order_relaxed);
}

bool SeccompPlatform::wait_briefly() {
  if (shared_->running.empty()) return false;
  check_load();
  // The spin adapts as the stub's does: it doubles when a post came while spinning, halves
  // when none came (a loaded host, or guests that compute or block: spinning then only
  // takes a CPU from them).
  uint64_t start = now_ns();
  for (unsigned i = 0; spin_ns_ && !nospin_; i++) {
    for (SeccompContext* c : shared_->running)
      if (c->posted()) {
        spin_ns_ = std::min<uint64_t>(spin_ns_ * 2, kSpinMaxNs);
        return true;
      }
    if ((i & 15) == 15 && now_ns() - start > spin_ns_) break;
    __builtin_ia32_pause();
  }
  if (!nospin_) spin_ns_ = std::max<uint64_t>(spin_ns_ / 2, kSpinMinNs);
  // Dekker with the stub: the flag is set before the slots are looked at again.
  word(shared_->global, SCG_SLEEPING).store(1, std::memory_order_seq_cst);
  for (SeccompContext* c : shared_->running)
    if (c->posted()) return true;
  slept_at_ = now_ns();
  return false;
}

void SeccompPlatform::drain_wait_fd() {
  uint64_t v;
  while (::read(wake_.get(), &v, sizeof v) == sizeof v) {
  }
  signalfd_siginfo si;
  while (::read(sigchld_.get(), &si, sizeof si) == sizeof si) children_ = true;
}

void SeccompPlatform::shutdown() {
  std::vector<pid_t> tids;
  for (auto& [tid, c] : shared_->by_tid) tids.push_back(tid);
  for (pid_t tid : tids) ::kill(tid, SIGKILL);
  for (pid_t tid : tids) waitpid(tid, nullptr, __WALL);
  for (auto& [tid, c] : shared_->by_tid) c->mark_gone();
  shared_->by_tid.clear();
  shared_->running.clear();
}

}  // namespace

bool seccomp_supported() {
  // The stub switches TLS bases with wrfsbase/wrgsbase (HWCAP2_FSGSBASE, Linux 5.9+), and
  // the filter needs seccomp with SECCOMP_RET_TRAP.
  static const bool ok = [] {
    uint32_t action = SECCOMP_RET_TRAP;
    return (getauxval(AT_HWCAP2) & 2) != 0 && ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
  }();
  return ok;
}

std::unique_ptr<Platform> make_seccomp_platform(std::string* error) {
  if (!seccomp_supported()) {
    *error = "platform=seccomp: this host lacks FSGSBASE or seccomp's SECCOMP_RET_TRAP";
    return nullptr;
  }
  auto p = std::make_unique<SeccompPlatform>();
  if (!p->init(error)) return nullptr;
  return p;
}

}  // namespace um::kernel::platform
