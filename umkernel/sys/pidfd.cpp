// pidfds: file descriptors that name a process (pidfd_open), readable when it has exited
// (poll/epoll), usable to signal it (pidfd_send_signal), to copy one of its fds
// (pidfd_getfd) and to wait for it (waitid(P_PIDFD)).
#include <poll.h>
#include <sys/syscall.h>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_ptr.h"

namespace um::kernel {

namespace {

constexpr int kPidfdNonblock = O_NONBLOCK;
constexpr int kPidfdThread = O_EXCL;  // PIDFD_THREAD (Linux 6.9)

class PidFile : public File {
 public:
  PidFile(std::shared_ptr<Process> p, int flags) : File(nullptr, O_RDWR | flags), proc_(std::move(p)) {
    path = "anon_inode:[pidfd]";
  }
  int64_t read(Task&, void*, size_t, int64_t*) override { return -EINVAL; }
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EINVAL; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }
  bool seekable() const override { return false; }
  // Readable once the process has exited (zombie or reaped).
  unsigned poll() override { return proc_->zombie || proc_->reaped ? POLLIN | POLLRDNORM : 0; }
  WaitQueue* wait_queue() override { return &proc_->exited; }
  const std::shared_ptr<Process>& process() const { return proc_; }

 private:
  std::shared_ptr<Process> proc_;
};

std::shared_ptr<Process> live(const std::shared_ptr<Process>& p) {
  return p && !p->zombie && !p->reaped ? p : nullptr;
}

}  // namespace

std::shared_ptr<Process> pidfd_process(Task& t, int fd) {
  FilePtr f = t.proc->fds->get(fd);
  auto* pf = dynamic_cast<PidFile*>(f.get());
  return pf ? pf->process() : nullptr;
}

int64_t sys_pidfd_open(Task& t) {
  int64_t pid = static_cast<int32_t>(t.arg(0));
  uint64_t flags = t.arg(1);
  if (flags & ~static_cast<uint64_t>(kPidfdNonblock | kPidfdThread)) return -EINVAL;
  if (pid <= 0) return -EINVAL;
  std::shared_ptr<Process> p;
  if (Task* target = kernel().task_by_tid(static_cast<int>(pid)); target && target->state != TaskState::Dead) {
    // Without PIDFD_THREAD the pid must be a thread-group leader.
    if (target->proc->pid != pid && !(flags & kPidfdThread)) return -ENOENT;
    p = target->proc;
  } else {
    p = kernel().process_by_pid(static_cast<int>(pid));
    if (!p || p->reaped) return -ESRCH;
  }
  return t.proc->fds->install(std::make_shared<PidFile>(p, static_cast<int>(flags & kPidfdNonblock)), true);
}

int64_t sys_pidfd_send_signal(Task& t) {
  int fd = t.int_arg(0);
  int sig = t.int_arg(1);
  auto info_addr = t.ptr_arg<siginfo_t>(2);
  if (t.arg(3) & ~7ull) return -EINVAL;  // PIDFD_SIGNAL_THREAD/THREAD_GROUP/PROCESS_GROUP
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  auto* pf = dynamic_cast<PidFile*>(f.get());
  if (!pf) return -EBADF;
  if (sig < 0 || sig > 64) return -EINVAL;
  // A zombie still takes signals (they are dropped); a reaped process is gone.
  auto p = pf->process();
  if (!p || p->reaped) return -ESRCH;
  siginfo_t si{};
  if (info_addr) {
    si = UM_TRY(info_addr.read(t));
    if (si.si_signo != sig) return -EINVAL;
    // Only the kernel may forge SI_USER/kernel codes for another process.
    if (p.get() != t.proc.get() && (si.si_code >= 0 || si.si_code == SI_TKILL)) return -EPERM;
  } else {
    si.si_signo = sig;
    si.si_code = SI_USER;
    si.si_pid = t.proc->pid;
    si.si_uid = t.proc->cred.uid;
  }
  const Credentials& c = t.proc->cred;
  const Credentials& d = p->cred;
  bool allowed = capable(t, CAP_KILL) || c.euid == d.uid || c.euid == d.suid || c.uid == d.uid ||
                 c.uid == d.suid || (sig == SIGCONT && p->sid == t.proc->sid);
  if (!allowed) return -EPERM;
  if (sig == 0 || p->zombie) return 0;
  kernel().send_signal_to_process(*p, sig, &si);
  return 0;
}

int64_t sys_pidfd_getfd(Task& t) {
  int fd = t.int_arg(0);
  int target_fd = t.int_arg(1);
  if (t.arg(2) != 0) return -EINVAL;
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  auto* pf = dynamic_cast<PidFile*>(f.get());
  if (!pf) return -EBADF;
  auto p = live(pf->process());
  if (!p) return -ESRCH;
  // ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS).
  const Credentials& c = t.proc->cred;
  const Credentials& d = p->cred;
  bool same = c.uid == d.uid && c.uid == d.euid && c.uid == d.suid && c.gid == d.gid &&
              c.gid == d.egid && c.gid == d.sgid;
  if (p.get() != t.proc.get() && !same && !capable(t, CAP_SYS_PTRACE)) return -EPERM;
  FilePtr got = p->fds ? p->fds->get(target_fd) : nullptr;
  if (!got) return -EBADF;
  return t.proc->fds->install(got, true);
}

namespace {
const SyscallRow kRows[] = {
    UM_PARTIAL(pidfd_open, "dx", "PIDFD_NONBLOCK and PIDFD_THREAD; poll/epoll report the exit"),
    UM_FULL(pidfd_send_signal, "ddpx"),
    UM_FULL(pidfd_getfd, "ddx"),
};
}  // namespace

std::span<const SyscallRow> pidfd_syscalls() { return kRows; }

}  // namespace um::kernel
