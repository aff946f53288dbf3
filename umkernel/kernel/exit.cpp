// Process and task exit: zombies, reparenting to init, SIGCHLD and wait wake-ups, vfork
// release, and the end of the whole machine when init exits.
#include <sys/wait.h>

#include "core/log.h"
#include "umkernel/ipc/sysv.h"
#include "umkernel/keys/keys.h"
#include "umkernel/kernel/futex_queue.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/ptrace.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/locks.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel {

namespace {

void release_vfork_parent(Process& p) {
  if (p.vfork_child && !p.vfork_released) {
    p.vfork_released = true;
    p.vfork_done.wake_all();
  }
}

void notify_parent(Kernel& k, Process& p) {
  p.exited.wake_all();  // pidfds
  auto parent = p.parent.lock();
  if (!parent) return;
  siginfo_t si{};
  si.si_signo = SIGCHLD;
  si.si_pid = p.pid;
  si.si_uid = p.cred.uid;
  if (WIFEXITED(p.exit_status)) {
    si.si_code = CLD_EXITED;
    si.si_status = WEXITSTATUS(p.exit_status);
  } else {
    si.si_code = WCOREDUMP(p.exit_status) ? CLD_DUMPED : CLD_KILLED;
    si.si_status = WTERMSIG(p.exit_status);
  }
  const SigAction& act = parent->sighand->actions[SIGCHLD];
  bool autoreap = act.handler == reinterpret_cast<uint64_t>(SIG_IGN) || (act.flags & SA_NOCLDWAIT);
  if (p.exit_signal > 0) k.send_signal_to_process(*parent, p.exit_signal, &si);
  if (autoreap && parent->pid != 0) {
    p.reaped = true;
    std::erase_if(parent->children, [&](auto& c) { return c.get() == &p; });
  }
  parent->child_wait.wake_all();
}

}  // namespace

void Kernel::exit_task(Task& t, int wait_status) {
  Process& p = *t.proc;
  int live = 0;
  for (Task* th : p.threads) live += th->state != TaskState::Dead;
  if (live <= 1) {
    exit_process(p, wait_status);
    return;
  }
  // One thread of several: the others go on. Like Linux: robust futexes are released, and
  // clear_child_tid is zeroed and woken (pthread_join waits on it).
  release_robust_futexes(t);
  if (t.clear_child_tid) {
    uint32_t zero = 0;
    if (put_user(t, t.clear_child_tid, zero) == 0) futex_wake(futex_key(t, t.clear_child_tid, true), 1);
  }
  t.state = TaskState::Dead;
  ptrace_task_died(t, wait_status);
  t.stop_waiting();
  std::erase(runnable_, &t);
  t.in_runnable = false;
  for (auto it = deadlines_.begin(); it != deadlines_.end();)
    it = it->second == &t ? deadlines_.erase(it) : std::next(it);
  t.ctx->kill();
}

void Kernel::exit_process(Process& p, int wait_status) {
  if (p.zombie) return;
  auto keep = process_by_pid(p.pid);  // p must outlive this function
  p.zombie = true;
  p.exit_status = wait_status;
  for (Task* t : p.threads) {
    if (t->state == TaskState::Dead) continue;
    t->state = TaskState::Dead;
    ptrace_task_died(*t, wait_status);
    t->stop_waiting();
    std::erase(runnable_, t);
    t->in_runnable = false;
    for (auto it = deadlines_.begin(); it != deadlines_.end();)
      it = it->second == t ? deadlines_.erase(it) : std::next(it);
    t->ctx->kill();
  }
  ptrace_tracer_exiting(p);  // its tracees go free (or die, PTRACE_O_EXITKILL)
  release_posix_locks(p);
  if (p.fds) {
    auto fds = std::move(p.fds);  // closing may wake others (pipes); do it after marking dead
    if (fds.use_count() == 1) fds->close_all();
  }
  p.fs.reset();
  ipc_exit(p);  // segments detached, SEM_UNDO applied
  key_table().exit(p);
  if (p.memory) p.memory->release();
  release_vfork_parent(p);
  if (p.alarm_timer) cancel_timer(p.alarm_timer);
  // A session leader's exit hangs up its terminal (disassociate_ctty); groups this exit
  // orphans with stopped members get SIGHUP and SIGCONT (vfs/tty.cpp).
  tty_process_exiting(p);

  if (p.pid == 1) {
    init_exited_ = true;
    exit_code_ = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
    return;
  }
  // Orphans go to init; zombies among them are init's to reap.
  auto init = init_process();
  for (auto& c : p.children) {
    c->parent = init;
    if (init) {
      init->children.push_back(c);
      if (c->zombie) init->child_wait.wake_all();
    }
  }
  p.children.clear();
  if (p.parent_notify_deferred) return;  // its tracer's wait reports it first (notify_exit)
  notify_exit(p);
}

void Kernel::notify_exit(Process& p) {
  if (!p.zombie || p.reaped) return;
  auto keep = process_by_pid(p.pid);
  notify_parent(*this, p);
  if (p.reaped) processes_.erase(p.pid);
}

}  // namespace um::kernel
