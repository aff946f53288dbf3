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
#include "umkernel/platform/traced_address_space.h"

// <sys/ptrace.h> and <linux/ptrace.h> clash; only the raw call is needed.
extern "C" long ptrace(int request, ...);

namespace um::kernel::platform {

namespace {

constexpr long kTraceOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                               PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;
constexpr int kInterruptSignal = SIGUSR2;

long pt(int req, pid_t tid, uint64_t addr, uint64_t data) {
  return ptrace(req, tid, reinterpret_cast<void*>(addr), reinterpret_cast<void*>(data));
}
bool get_regs(pid_t tid, Regs& r) { return pt(PTRACE_GETREGS, tid, 0, reinterpret_cast<uint64_t>(&r)) == 0; }
bool put_regs(pid_t tid, const Regs& r) { return pt(PTRACE_SETREGS, tid, 0, reinterpret_cast<uint64_t>(&r)) == 0; }

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

class PtraceAddressSpace final : public TracedAddressSpace {
 public:
  explicit PtraceAddressSpace(pid_t leader) : TracedAddressSpace(leader) {}
  int64_t host_syscall(long nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                       uint64_t a4 = 0, uint64_t a5 = 0, pid_t* child = nullptr) override;
  std::vector<PtraceContext*> members;

 protected:
  std::vector<pid_t> thread_ids() const override;
  pid_t any_live_thread() const override;
  pid_t vm_target() const override;
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

pid_t PtraceAddressSpace::any_live_thread() const {
  for (auto* c : members) return c->tid();
  return leader_;
}

pid_t PtraceAddressSpace::vm_target() const {
  if (!mem_) return 0;
  for (auto* c : members)
    if (c->registered()) return c->tid();
  return 0;
}

std::vector<pid_t> PtraceAddressSpace::thread_ids() const {
  std::vector<pid_t> out;
  for (auto* c : members) out.push_back(c->tid());
  return out;
}

int64_t PtraceAddressSpace::host_syscall(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                                         uint64_t a4, uint64_t a5, pid_t* child) {
  PtraceContext* ctx = nullptr;
  for (auto* c : members)
    if (c->stopped) { ctx = c; break; }
  if (!ctx || !ctx->save_guest_regs()) return -ESRCH;
  const uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
  return run_stub_syscall(ctx->tid(), ctx->guest_regs().fs_base, ctx->guest_regs().gs_base, stub::kStubSyscall,
                          stub::kStubTrapRip, nr, args, child);
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
    if ((status >> 16) != 0 || (sig != kInterruptSignal && !is_fault_signal(sig))) {
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
