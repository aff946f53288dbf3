// Processes: fork/vfork/clone, execve, exit, wait, ids, sessions and process groups.
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <asm/prctl.h>

#include <cstring>

#include "core/log.h"
#include "umkernel/ipc/sysv.h"
#include "umkernel/keys/keys.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/exec.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/ptrace.h"
#include "umkernel/kernel/strace.h"
#include "umkernel/kernel/task_limits.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/kernel/syscall_table.h"

namespace um::kernel {

namespace {

int64_t do_fork(Task& t, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls) {
  Kernel& k = kernel();
  Process& parent = *t.proc;
  bool thread = flags & CLONE_THREAD;
  if (thread && !(flags & CLONE_SIGHAND)) return -EINVAL;
  if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) return -EINVAL;
  // No namespaces: the optional kinds fail as on a kernel built without them (EINVAL); a new
  // mount namespace, which every Linux has, is refused (EPERM), so that callers take the path
  // they take in a container that may not make one (systemd: no /proc/PID/ns, no sandboxing).
  if (flags & (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)) {
    k.note_unimplemented(SYS_clone);
    return -EINVAL;
  }
  if (flags & CLONE_NEWNS) return -EPERM;
  bool vfork = flags & CLONE_VFORK;
  // vfork and other CLONE_VM process children get a copy of memory (they normally exec or
  // exit at once). Only threads share the address space: a CLONE_VM child that is a process
  // of its own could exec, and exec empties the whole address space (the parent's too).
  bool share_vm = (flags & CLONE_VM) && thread;
  if (int64_t r = check_task_limits(parent); r < 0) return r;
  int tid = k.alloc_pid();
  if (tid < 0) return tid;
  int64_t err = 0;
  std::unique_ptr<platform::Context> ctx =
      k.platform().clone(*t.ctx, share_vm ? platform::CloneKind::Thread : platform::CloneKind::Process, &err);
  if (!ctx) return err == -ENOMEM ? -ENOMEM : -EAGAIN;

  std::shared_ptr<Process> proc;
  if (thread) {
    proc = k.process_by_pid(parent.pid);
  } else {
    auto child = std::make_shared<Process>();
    child->pid = tid;
    child->pgid = parent.pgid;
    child->sid = parent.sid;
    child->parent = (flags & CLONE_PARENT) ? parent.parent : k.process_by_pid(parent.pid);
    child->memory = ctx->address_space();
    child->mm_id = share_vm ? parent.mm_id : new_mm_id();
    child->cred = parent.cred;
    child->fds = (flags & CLONE_FILES) ? parent.fds : std::make_shared<FdTable>(*parent.fds);
    child->fs = (flags & CLONE_FS) ? parent.fs : std::make_shared<FsContext>(*parent.fs);
    child->sighand = (flags & CLONE_SIGHAND) ? parent.sighand : std::make_shared<SignalHandlers>(*parent.sighand);
    child->brk_start = parent.brk_start;
    child->brk_cur = parent.brk_cur;
    child->brk_mapped = parent.brk_mapped;
    child->comm = parent.comm;
    child->exe_path = parent.exe_path;
    child->cmdline = parent.cmdline;
    child->environ = parent.environ;
    child->auxv = parent.auxv;
    child->tty_index = parent.tty_index;
    child->rlimits = parent.rlimits;
    child->oom_score_adj = parent.oom_score_adj;
    child->cgroup = parent.cgroup;
    child->nice = parent.nice;
    child->personality = parent.personality;
    child->exit_signal = static_cast<int>(flags & CSIGNAL);
    ipc_fork(parent, *child, flags & CLONE_SYSVSEM);  // attached segments, shared undo list
    key_table().fork(parent, *child);                 // the session keyring
    child->start_time_ns = monotonic_ns();
    child->vfork_child = vfork;
    child->vfork_released = !vfork;
    k.register_process(child);
    if (auto p = child->parent.lock()) p->children.push_back(child);
    proc = child;
  }
  Task* ct = k.add_task(tid, std::move(ctx), proc);
  platform::Regs regs = t.regs();
  regs.rax = 0;
  if (stack) regs.rsp = stack;
  if (flags & CLONE_SETTLS) regs.fs_base = tls;
  ct->ctx->set_regs(regs);
  ct->blocked = t.blocked;
  ct->sched = t.sched.forked();
  if (!share_vm) {  // threads start without an alternate signal stack
    ct->altstack_sp = t.altstack_sp;
    ct->altstack_size = t.altstack_size;
    ct->altstack_flags = t.altstack_flags;
  }
  // Faults writing the tids are ignored, as Linux's kernel_clone and schedule_tail do.
  if (flags & CLONE_CHILD_SETTID) (void)put_user(*ct, ctid, tid);
  if (flags & CLONE_CHILD_CLEARTID) ct->clear_child_tid = ctid;
  if (flags & CLONE_PARENT_SETTID) (void)put_user(t, ptid, tid);
  // A traced parent's tracer may take the child too (PTRACE_O_TRACEFORK/VFORK/CLONE): it then
  // starts in a stop its tracer sees, and the parent stops for the event.
  if (int event = ptrace_clone_event(t, flags)) {
    ptrace_attach_child(t, *ct);
    t.ptrace.pending_event = event;
    t.ptrace.pending_message = static_cast<uint64_t>(tid);
    k.resume_after_stop(*ct);
    return tid;
  }
  // The child starts on its own: it returns 0 from the call.
  ct->ctx->resume();
  return tid;
}

// Finishes vfork/clone(CLONE_VFORK): the parent sleeps until the child execs or exits.
int64_t fork_entry(Task& t, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls) {
  if (t.progress.vfork_child == 0) {
    int64_t pid = do_fork(t, flags, stack, ptid, ctid, tls);
    if (pid < 0 || !(flags & CLONE_VFORK)) return pid;
    t.progress.vfork_child = static_cast<int>(pid);
    if (t.ptrace.pending_event) return kBlock;  // PTRACE_EVENT_VFORK first, then the wait
  }
  int pid = t.progress.vfork_child;
  auto child = kernel().process_by_pid(pid);
  if (!child || child->vfork_released) {
    ptrace_vfork_done(t, pid);
    return pid;
  }
  t.uninterruptible = true;
  t.wait_on(child->vfork_done);
  return kBlock;
}

bool matches(const Process& parent, const Process& c, int64_t pid) {
  if (pid > 0) return c.pid == pid;
  if (pid == 0) return c.pgid == parent.pgid;
  if (pid == -1) return true;
  return c.pgid == -pid;
}

// Reaps or reports a child for wait4/waitid. Returns the child pid, 0 (WNOHANG, nothing), a
// negative errno, or kBlock.
int64_t do_wait(Task& t, int64_t pid, int options, int* status_out, siginfo_t* info, bool waitid) {
  Process& self = *t.proc;
  bool any = false;
  bool want_exited = waitid ? (options & WEXITED) : true;
  bool want_stopped = options & WUNTRACED;  // == WSTOPPED
  bool want_cont = options & WCONTINUED;
  bool nowait = waitid && (options & WNOWAIT);
  for (auto it = self.children.begin(); it != self.children.end(); ++it) {
    auto c = *it;
    if (!matches(self, *c, pid)) continue;
    // __WCLONE selects children that do not signal SIGCHLD; __WALL takes both.
    bool clone_child = c->exit_signal != SIGCHLD;
    if (!(options & __WALL) && (clone_child != static_cast<bool>(options & __WCLONE))) continue;
    any = true;
    if (c->zombie && c->parent_notify_deferred) continue;  // its tracer reports it first
    if (c->zombie && want_exited) {
      int st = c->exit_status;
      if (status_out) *status_out = st;
      if (info) {
        info->si_signo = SIGCHLD;
        info->si_pid = c->pid;
        info->si_uid = c->cred.uid;
        if (WIFEXITED(st)) { info->si_code = CLD_EXITED; info->si_status = WEXITSTATUS(st); }
        else { info->si_code = WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED; info->si_status = WTERMSIG(st); }
      }
      int cpid = c->pid;
      if (!nowait) {
        self.utime_ns += c->utime_ns;
        c->reaped = true;
        self.children.erase(it);
        kernel().reap_process(cpid);
      }
      return cpid;
    }
    // A child its parent traces reports ptrace-stops instead (ptrace_wait).
    if (want_stopped && c->stop_report && (c->stop_report & 0xff) == 0x7f && !ptrace_traced_by(*c, self)) {
      if (status_out) *status_out = c->stop_report;
      if (info) { info->si_signo = SIGCHLD; info->si_pid = c->pid; info->si_code = CLD_STOPPED; info->si_status = c->stop_report >> 8; }
      if (!nowait) c->stop_report = 0;
      return c->pid;
    }
    if (want_cont && c->stop_report == 0xffff) {
      if (status_out) *status_out = 0xffff;
      if (info) { info->si_signo = SIGCHLD; info->si_pid = c->pid; info->si_code = CLD_CONTINUED; info->si_status = SIGCONT; }
      if (!nowait) c->stop_report = 0;
      return c->pid;
    }
  }
  if (int64_t tid = ptrace_wait(t, pid, options, status_out, info, nowait, &any); tid > 0) return tid;
  if (!any) return -ECHILD;
  if (options & WNOHANG) return 0;
  t.wait_on(self.child_wait);
  return kBlock;
}

}  // namespace

int64_t sys_fork(Task& t) { return fork_entry(t, SIGCHLD, 0, 0, 0, 0); }
int64_t sys_vfork(Task& t) { return fork_entry(t, CLONE_VFORK | SIGCHLD, 0, 0, 0, 0); }
int64_t sys_clone(Task& t) {
  // x86-64 argument order: flags, stack, parent_tid, child_tid, tls
  return fork_entry(t, t.arg(0), t.arg(1), t.arg(2), t.arg(3), t.arg(4));
}
namespace {
// execve and execveat: the path, argv and envp arguments start at argument `first`.
int64_t execve_args(Task& t, int dirfd, int first, int flags) {
  std::string path;
  std::vector<std::string> argv, envp;
  if (int64_t r = string_from_user(t, t.arg(first), path); r < 0) return r;
  if (int64_t r = string_array_from_user(t, t.arg(first + 1), argv); r < 0) return r;
  if (int64_t r = string_array_from_user(t, t.arg(first + 2), envp); r < 0) return r;
  if (kernel().strace_on())
    t.strace_exec = strace_exec_args(t, first ? dirfd : INT32_MIN, path, argv, envp, t.arg(first + 2));
  int old_tid = t.tid;
  int64_t r = do_execve(t, dirfd, path, std::move(argv), std::move(envp), flags);
  if (r == 0) ptrace_exec_event(t, old_tid);
  return r == 0 ? kNoReturn : r;
}
}  // namespace

int64_t sys_execve(Task& t) { return execve_args(t, AT_FDCWD, 0, 0); }

int64_t sys_execveat(Task& t) {
  return execve_args(t, static_cast<int>(t.arg(0)), 1, static_cast<int>(t.arg(4)));
}

int64_t sys_exit(Task& t) {
  if (ptrace_exit_event(t, (static_cast<int>(t.arg(0)) & 0xff) << 8)) return kBlock;
  kernel().exit_task(t, (static_cast<int>(t.arg(0)) & 0xff) << 8);
  return kTaskGone;
}

int64_t sys_exit_group(Task& t) {
  if (ptrace_exit_event(t, (static_cast<int>(t.arg(0)) & 0xff) << 8)) return kBlock;
  kernel().exit_process(*t.proc, (static_cast<int>(t.arg(0)) & 0xff) << 8);
  return kTaskGone;
}

int64_t sys_wait4(Task& t) {
  int64_t pid = static_cast<int32_t>(t.arg(0));
  int options = static_cast<int>(t.arg(2));
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD)) return -EINVAL;
  int status = 0;
  int64_t r = do_wait(t, pid, options, &status, nullptr, false);
  if (r > 0) {
    if (t.arg(1) && put_user(t, t.arg(1), status) < 0) return -EFAULT;
    if (t.arg(3)) {
      struct rusage ru{};
      if (put_user(t, t.arg(3), ru) < 0) return -EFAULT;
    }
  }
  return r;
}

int64_t sys_waitid(Task& t) {
  int which = static_cast<int>(t.arg(0));
  int64_t id = static_cast<int32_t>(t.arg(1));
  int options = static_cast<int>(t.arg(3));
  int64_t pid;
  switch (which) {
    case P_ALL: pid = -1; break;
    case P_PID: if (id <= 0) return -EINVAL; pid = id; break;
    case P_PGID: pid = id == 0 ? 0 : -id; break;
    case P_PIDFD: {
      auto p = pidfd_process(t, static_cast<int>(id));
      if (!p) return -EBADF;
      pid = p->pid;
      break;
    }
    default: return -EINVAL;
  }
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return -EINVAL;
  siginfo_t info{};
  int64_t r = do_wait(t, pid, options, nullptr, &info, true);
  if (r >= 0 && t.arg(2)) {
    if (r == 0) memset(&info, 0, sizeof info);
    if (put_user(t, t.arg(2), info) < 0) return -EFAULT;
  }
  return r > 0 ? 0 : r;
}

int64_t sys_getpid(Task& t) { return t.proc->pid; }
int64_t sys_gettid(Task& t) { return t.tid; }
int64_t sys_getppid(Task& t) {
  auto p = t.proc->parent.lock();
  return p ? p->pid : 0;
}

int64_t sys_setpgid(Task& t) {
  int pid = static_cast<int>(t.arg(0)), pgid = static_cast<int>(t.arg(1));
  if (pgid < 0) return -EINVAL;
  Process& self = *t.proc;
  std::shared_ptr<Process> target = pid == 0 ? kernel().process_by_pid(self.pid) : kernel().process_by_pid(pid);
  if (!target || target->zombie) return -ESRCH;
  if (target.get() != &self) {
    auto par = target->parent.lock();
    if (par.get() != &self) return -ESRCH;
    if (target->sid != self.sid) return -EPERM;
  }
  if (target->sid == target->pid) return -EPERM;  // a session leader keeps its group
  if (pgid == 0) pgid = target->pid;
  if (pgid != target->pid) {
    bool ok = false;
    for (auto& [id, p] : kernel().processes())
      if (p->pgid == pgid && p->sid == self.sid && !p->zombie) ok = true;
    if (!ok) return -EPERM;
  }
  target->pgid = pgid;
  return 0;
}

int64_t sys_getpgid(Task& t) {
  int pid = static_cast<int>(t.arg(0));
  if (pid == 0) return t.proc->pgid;
  auto p = kernel().process_by_pid(pid);
  return p ? p->pgid : -ESRCH;
}
int64_t sys_getpgrp(Task& t) { return t.proc->pgid; }

int64_t sys_setsid(Task& t) {
  Process& p = *t.proc;
  for (auto& [id, q] : kernel().processes())
    if (q->pgid == p.pid && !q->zombie) return -EPERM;  // would lead an existing group
  p.sid = p.pgid = p.pid;
  p.tty_index = -1;
  return p.sid;
}

int64_t sys_getsid(Task& t) {
  int pid = static_cast<int>(t.arg(0));
  if (pid == 0) return t.proc->sid;
  auto p = kernel().process_by_pid(pid);
  return p ? p->sid : -ESRCH;
}

// --- credentials ---
int64_t sys_getuid(Task& t) { return t.proc->cred.uid; }
int64_t sys_geteuid(Task& t) { return t.proc->cred.euid; }
int64_t sys_getgid(Task& t) { return t.proc->cred.gid; }
int64_t sys_getegid(Task& t) { return t.proc->cred.egid; }

namespace {
constexpr uint32_t kNoChange = 0xffffffffu;
bool privileged(const Credentials& c, bool gid) { return has_cap(c, gid ? CAP_SETGID : CAP_SETUID); }
bool one_of(uint32_t v, const Credentials& c, bool gid) {
  return gid ? (v == c.gid || v == c.egid || v == c.sgid) : (v == c.uid || v == c.euid || v == c.suid);
}
int64_t set_res(Task& t, uint32_t r, uint32_t e, uint32_t s, bool gid) {
  Credentials& c = t.proc->cred;
  const Credentials old = c;
  if (!privileged(c, gid)) {
    if ((r != kNoChange && !one_of(r, c, gid)) || (e != kNoChange && !one_of(e, c, gid)) ||
        (s != kNoChange && !one_of(s, c, gid)))
      return -EPERM;
  }
  if (gid) {
    if (r != kNoChange) c.gid = r;
    if (e != kNoChange) c.egid = e;
    if (s != kNoChange) c.sgid = s;
    c.fsgid = c.egid;
  } else {
    if (r != kNoChange) c.uid = r;
    if (e != kNoChange) c.euid = e;
    if (s != kNoChange) c.suid = s;
    c.fsuid = c.euid;
    caps_after_setuid(c, old);
  }
  return 0;
}
}  // namespace

int64_t sys_setuid(Task& t) {
  uint32_t u = static_cast<uint32_t>(t.arg(0));
  if (privileged(t.proc->cred, false)) return set_res(t, u, u, u, false);
  return set_res(t, kNoChange, u, kNoChange, false);
}
int64_t sys_setgid(Task& t) {
  uint32_t g = static_cast<uint32_t>(t.arg(0));
  if (privileged(t.proc->cred, true)) return set_res(t, g, g, g, true);
  return set_res(t, kNoChange, g, kNoChange, true);
}
int64_t sys_setreuid(Task& t) {
  uint32_t r = static_cast<uint32_t>(t.arg(0)), e = static_cast<uint32_t>(t.arg(1));
  Credentials& c = t.proc->cred;
  uint32_t s = (r != kNoChange || (e != kNoChange && e != c.uid)) ? (e != kNoChange ? e : c.euid) : kNoChange;
  return set_res(t, r, e, s, false);
}
int64_t sys_setregid(Task& t) {
  uint32_t r = static_cast<uint32_t>(t.arg(0)), e = static_cast<uint32_t>(t.arg(1));
  Credentials& c = t.proc->cred;
  uint32_t s = (r != kNoChange || (e != kNoChange && e != c.gid)) ? (e != kNoChange ? e : c.egid) : kNoChange;
  return set_res(t, r, e, s, true);
}
int64_t sys_setresuid(Task& t) {
  return set_res(t, static_cast<uint32_t>(t.arg(0)), static_cast<uint32_t>(t.arg(1)), static_cast<uint32_t>(t.arg(2)), false);
}
int64_t sys_setresgid(Task& t) {
  return set_res(t, static_cast<uint32_t>(t.arg(0)), static_cast<uint32_t>(t.arg(1)), static_cast<uint32_t>(t.arg(2)), true);
}
int64_t sys_getresuid(Task& t) {
  Credentials& c = t.proc->cred;
  if (put_user(t, t.arg(0), c.uid) < 0 || put_user(t, t.arg(1), c.euid) < 0 || put_user(t, t.arg(2), c.suid) < 0) return -EFAULT;
  return 0;
}
int64_t sys_getresgid(Task& t) {
  Credentials& c = t.proc->cred;
  if (put_user(t, t.arg(0), c.gid) < 0 || put_user(t, t.arg(1), c.egid) < 0 || put_user(t, t.arg(2), c.sgid) < 0) return -EFAULT;
  return 0;
}
int64_t sys_setfsuid(Task& t) {
  Credentials& c = t.proc->cred;
  const Credentials before = c;
  uint32_t old = c.fsuid, u = static_cast<uint32_t>(t.arg(0));
  if (privileged(c, false) || one_of(u, c, false) || u == c.fsuid) c.fsuid = u;
  caps_after_setuid(c, before);
  return old;
}
int64_t sys_setfsgid(Task& t) {
  Credentials& c = t.proc->cred;
  uint32_t old = c.fsgid, g = static_cast<uint32_t>(t.arg(0));
  if (privileged(c, true) || one_of(g, c, true) || g == c.fsgid) c.fsgid = g;
  return old;
}
int64_t sys_getgroups(Task& t) {
  auto& g = t.proc->cred.groups;
  int size = static_cast<int>(t.arg(0));
  if (size < 0) return -EINVAL;
  if (size == 0) return static_cast<int64_t>(g.size());
  if (static_cast<size_t>(size) < g.size()) return -EINVAL;
  if (!g.empty() && copy_to_user(t, t.arg(1), g.data(), g.size() * 4) < 0) return -EFAULT;
  return static_cast<int64_t>(g.size());
}
int64_t sys_setgroups(Task& t) {
  if (!privileged(t.proc->cred, true)) return -EPERM;
  int64_t n = static_cast<int32_t>(t.arg(0));
  if (n < 0 || n > 65536) return -EINVAL;
  std::vector<uint32_t> g(static_cast<size_t>(n));
  if (n && copy_from_user(t, g.data(), t.arg(1), g.size() * 4) < 0) return -EFAULT;
  t.proc->cred.groups = std::move(g);
  return 0;
}

int64_t sys_umask(Task& t) {
  uint32_t old = t.proc->fs->umask;
  t.proc->fs->umask = static_cast<uint32_t>(t.arg(0)) & 0777;
  return old;
}

int64_t sys_prctl(Task& t) {
  int op = static_cast<int>(t.arg(0));
  bool handled = false;
  int64_t r = prctl_capability(t, op, &handled);
  if (handled) return r;
  switch (op) {
    case PR_SET_NAME: {
      char name[16] = {0};
      if (copy_from_user(t, name, t.arg(1), 15) < 0) {
        std::string s;
        if (string_from_user(t, t.arg(1), s, 4096) < 0) return -EFAULT;
        strncpy(name, s.c_str(), 15);
      }
      t.proc->comm = std::string(name, strnlen(name, 15));
      return 0;
    }
    case PR_GET_NAME: {
      char name[16] = {0};
      memcpy(name, t.proc->comm.data(), std::min<size_t>(15, t.proc->comm.size()));
      return copy_to_user(t, t.arg(1), name, 16);
    }
    case PR_SET_PDEATHSIG: case PR_SET_DUMPABLE: case PR_SET_NO_NEW_PRIVS:
    case PR_SET_CHILD_SUBREAPER:
      return 0;
    case PR_GET_DUMPABLE: return 1;
    case PR_GET_NO_NEW_PRIVS: return 0;
    case PR_GET_PDEATHSIG: { int z = 0; return put_user(t, t.arg(1), z); }
    default: return -EINVAL;
  }
}

int64_t sys_arch_prctl(Task& t) {
  // Linux refuses bases at or above TASK_SIZE_MAX ((1 << 47) - 4096): a non-canonical base
  // would fault on the next context switch.
  constexpr uint64_t kTaskSizeMax = (1ull << 47) - 4096;
  switch (t.arg(0)) {
    case ARCH_SET_FS:
      if (t.arg(1) >= kTaskSizeMax) return -EPERM;
      t.regs().fs_base = t.arg(1);
      return 0;
    case ARCH_SET_GS:
      if (t.arg(1) >= kTaskSizeMax) return -EPERM;
      t.regs().gs_base = t.arg(1);
      return 0;
    case ARCH_GET_FS: return put_user(t, t.arg(1), static_cast<uint64_t>(t.regs().fs_base));
    case ARCH_GET_GS: return put_user(t, t.arg(1), static_cast<uint64_t>(t.regs().gs_base));
    default: return -EINVAL;
  }
}

int64_t sys_set_tid_address(Task& t) {
  t.clear_child_tid = t.arg(0);
  return t.tid;
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(fork, ""),
    UM_PARTIAL(vfork, "", "the child gets a copy of memory; the parent waits for exec/exit"),
    UM_PARTIAL(clone, "xppxx",
               "threads and processes; a CLONE_VM child that is no thread gets a copy of memory; no "
               "namespaces (CLONE_NEWNS is EPERM, the other CLONE_NEW* EINVAL)"),
    UM_FULL(execve, "spp"), UM_FULL(execveat, "fsppx"), UM_FULL(exit, "d"),
    UM_FULL(exit_group, "d"), UM_FULL(wait4, "dpxp"), UM_FULL(waitid, "ddpxp"), UM_FULL(getpid, ""),
    UM_FULL(getppid, ""), UM_FULL(gettid, ""), UM_FULL(setpgid, "dd"), UM_FULL(getpgid, "d"),
    UM_FULL(getpgrp, ""), UM_FULL(setsid, ""), UM_FULL(getsid, "d"), UM_FULL(getuid, ""),
    UM_FULL(geteuid, ""), UM_FULL(getgid, ""), UM_FULL(getegid, ""), UM_FULL(setuid, "u"),
    UM_FULL(setgid, "u"), UM_FULL(setreuid, "uu"), UM_FULL(setregid, "uu"),
    UM_FULL(setresuid, "uuu"), UM_FULL(setresgid, "uuu"), UM_FULL(getresuid, "ppp"),
    UM_FULL(getresgid, "ppp"), UM_FULL(setfsuid, "u"), UM_FULL(setfsgid, "u"),
    UM_FULL(getgroups, "dp"), UM_FULL(setgroups, "dp"), UM_FULL(umask, "m"),
    UM_PARTIAL(prctl, "dxxxx",
               "PR_SET/GET_NAME, PR_CAPBSET_READ; PDEATHSIG, DUMPABLE, NO_NEW_PRIVS, CHILD_SUBREAPER "
               "and KEEPCAPS accepted without effect; other options EINVAL"),
    UM_FULL(arch_prctl, "xx"), UM_FULL(set_tid_address, "p"),
    UM_ENOSYS(rseq, "pudx", "libc runs without restartable sequences"),
    UM_ENOSYS(clone3, "pu", "libc falls back to clone"),
};

}  // namespace

std::span<const SyscallRow> process_syscalls() { return kRows; }

}  // namespace um::kernel
