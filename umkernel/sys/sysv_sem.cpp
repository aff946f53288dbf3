// System V semaphores: semget, semop, semtimedop, semctl (Linux's ipc/sem.c). semop is all or
// nothing (ipc/sysv.cpp's sem_apply); a task that must wait parks on its set's queue and tries
// again whenever the set changes. SEM_UNDO adjustments live in the process (shared by its
// threads) and are applied when it exits.
#include <linux/ipc.h>
#include <linux/sem.h>
#include <sys/syscall.h>

#include <vector>

#include "umkernel/ipc/sysv.h"
#include "umkernel/kernel/blocking.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/time_ns.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

bool permitted(Task& t, const IpcPerm& p, int flag) {
  return ipc_permitted(t.proc->cred, p, flag, capable(t, CAP_IPC_OWNER));
}

semid64_ds stat_of(const SemSet& s) {
  semid64_ds ds{};
  ds.sem_perm.key = s.perm.key;
  ds.sem_perm.uid = s.perm.uid;
  ds.sem_perm.gid = s.perm.gid;
  ds.sem_perm.cuid = s.perm.cuid;
  ds.sem_perm.cgid = s.perm.cgid;
  ds.sem_perm.mode = s.perm.mode;
  ds.sem_perm.seq = static_cast<unsigned short>(s.perm.seq);
  ds.sem_otime = s.otime;
  ds.sem_ctime = s.ctime;
  ds.sem_nsems = s.sems.size();
  return ds;
}

// SETVAL/SETALL: every process's adjustment for the semaphore(s) is reset.
void clear_undo(SemSet& set, int semnum) {
  std::erase_if(set.undo_lists, [](auto& w) { return w.expired(); });
  for (auto& w : set.undo_lists) {
    auto u = w.lock();
    auto it = u->adj.find(set.id);
    if (it == u->adj.end()) continue;
    for (size_t i = 0; i < it->second.size(); i++)
      if (semnum < 0 || static_cast<int>(i) == semnum) it->second[i] = 0;
  }
}

// How many tasks wait for semaphore `num` to grow (zero = false) or to be zero, by the
// operation each one waits on (Linux's count_semcnt).
int count_waiters(const SemSet& set, int num, bool zero) {
  int n = 0;
  for (const SemPending& p : set.pending) {
    if (!sem_still_waiting(set, p)) continue;
    const SemBuf& b = p.sops[p.blocking];
    if (b.num != num) continue;
    if (zero ? b.op == 0 : b.op < 0) n++;
  }
  return n;
}

void remove_set(IpcNamespace& ns, const std::shared_ptr<SemSet>& set) {
  for (auto& w : set->undo_lists)
    if (auto u = w.lock()) u->adj.erase(set->id);
  ns.sem_total -= static_cast<int>(set->sems.size());
  ns.sem.remove(set->id);
  set->waiters.wake_all();  // they find the set gone: EIDRM
}

int64_t do_semop(Task& t, int semid, uint64_t sops_addr, uint64_t nsops, uint64_t timeout_addr) {
  IpcNamespace& ns = ipc_namespace();
  if (nsops < 1 || semid < 0) return -EINVAL;
  if (nsops > static_cast<uint64_t>(ns.limits.semopm)) return -E2BIG;
  std::vector<SemBuf> sops(nsops);
  if (copy_from_user(t, sops.data(), sops_addr, nsops * sizeof(SemBuf)) < 0) return -EFAULT;
  int64_t timeout_ns = -1;
  if (timeout_addr) {
    timespec ts;
    if (get_user(t, timeout_addr, ts) < 0) return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L) return -EINVAL;
    timeout_ns = timespec_to_ns(ts);
  }
  unsigned max = 0;
  bool undo = false, alter = false;
  for (const SemBuf& s : sops) {
    max = std::max<unsigned>(max, s.num);
    if (s.flg & SEM_UNDO) undo = true;
    if (s.op != 0) alter = true;
  }
  auto set = ns.sem.find(semid);
  // Parked once on a set that has gone since: EIDRM, as Linux wakes its waiters with.
  if (!set) return t.progress.ipc_waited ? -EIDRM : -EINVAL;
  // Woken because the operation was performed for it (sem_update_queue).
  if (auto done = set->completed.find(&t); done != set->completed.end()) {
    int64_t r = done->second;
    set->completed.erase(done);
    if (t.progress.ipc_waited) return r;
  }
  std::erase_if(set->pending, [&](const SemPending& p) { return p.task == &t; });
  if (max >= set->sems.size()) return -EFBIG;
  if (!permitted(t, set->perm, alter ? 0222 : 0444)) return -EACCES;
  std::vector<int>* adj = nullptr;
  if (undo) {
    Process& p = *t.proc;
    if (!p.sem_undo) p.sem_undo = std::make_shared<SemUndoList>();
    auto [it, added] = p.sem_undo->adj.try_emplace(semid, set->sems.size(), 0);
    if (added) set->undo_lists.push_back(p.sem_undo);
    adj = &it->second;
  }
  size_t blocking = 0;
  int64_t r = sem_apply(set->sems, adj, sops, t.proc->pid, &blocking);
  if (r == 0) {
    set->otime = ipc_now();
    if (alter) sem_update_queue(*set);
    return 0;
  }
  if (r != kSemWouldBlock) return r;
  if (deadline_passed(t, timeout_ns)) return -EAGAIN;
  t.sys_restartable = false;  // System V IPC calls are never restarted (signal(7))
  t.progress.ipc_waited = true;
  SemPending p;
  p.task = &t;
  p.sops = std::move(sops);
  p.blocking = blocking;
  p.pid = t.proc->pid;
  if (undo) p.undo = t.proc->sem_undo;
  set->pending.push_back(std::move(p));
  t.wait_on(set->waiters);
  return kBlock;
}

}  // namespace

int64_t sys_semget(Task& t) {
  int32_t key = static_cast<int32_t>(t.arg(0));
  int nsems = t.int_arg(1), flg = t.int_arg(2);
  IpcNamespace& ns = ipc_namespace();
  if (nsems < 0 || nsems > ns.limits.semmsl) return -EINVAL;
  if (key != IPC_PRIVATE) {
    if (auto set = ns.sem.by_key(key)) {
      if ((flg & IPC_CREAT) && (flg & IPC_EXCL)) return -EEXIST;
      if (!permitted(t, set->perm, flg & 0777)) return -EACCES;
      if (static_cast<size_t>(nsems) > set->sems.size()) return -EINVAL;
      return set->id;
    }
    if (!(flg & IPC_CREAT)) return -ENOENT;
  }
  if (nsems == 0) return -EINVAL;
  if (ns.sem_total + nsems > ns.limits.semmns) return -ENOSPC;
  auto set = std::make_shared<SemSet>();
  set->perm = ipc_new_perm(t.proc->cred, key, flg);
  set->sems.resize(static_cast<size_t>(nsems));
  set->ctime = ipc_now();
  int id = ns.sem.add(set, ns.limits.semmni);
  if (id < 0) return id;
  set->id = id;
  ns.sem_total += nsems;
  return id;
}

int64_t sys_semop(Task& t) { return do_semop(t, t.int_arg(0), t.arg(1), t.arg(2), 0); }
int64_t sys_semtimedop(Task& t) { return do_semop(t, t.int_arg(0), t.arg(1), t.arg(2), t.arg(3)); }

int64_t sys_semctl(Task& t) {
  int semid = t.int_arg(0), semnum = t.int_arg(1), cmd = t.int_arg(2);
  uint64_t arg = t.arg(3);
  IpcNamespace& ns = ipc_namespace();
  if (semid < 0) return -EINVAL;
  switch (cmd) {
    case IPC_INFO:
    case SEM_INFO: {
      seminfo info{};
      info.semmni = ns.limits.semmni;
      info.semmns = ns.limits.semmns;
      info.semmsl = ns.limits.semmsl;
      info.semopm = ns.limits.semopm;
      info.semvmx = SEMVMX;
      info.semmnu = SEMMNU;
      info.semmap = SEMMAP;
      info.semume = SEMUME;
      if (cmd == SEM_INFO) {
        info.semusz = ns.sem.count();
        info.semaem = ns.sem_total;
      } else {
        info.semusz = SEMUSZ;
        info.semaem = SEMAEM;
      }
      if (copy_to_user(t, arg, &info, sizeof info) < 0) return -EFAULT;
      return ns.sem.highest_slot();
    }
    case SEM_STAT:
    case SEM_STAT_ANY:
    case IPC_STAT: {
      auto set = cmd == IPC_STAT ? ns.sem.find(semid) : ns.sem.at(semid);
      if (!set) return -EINVAL;
      if (cmd != SEM_STAT_ANY && !permitted(t, set->perm, 0444)) return -EACCES;
      semid64_ds ds = stat_of(*set);
      if (copy_to_user(t, arg, &ds, sizeof ds) < 0) return -EFAULT;
      return cmd == IPC_STAT ? 0 : set->id;
    }
    case IPC_SET: {
      semid64_ds in;
      if (copy_from_user(t, &in, arg, sizeof in) < 0) return -EFAULT;
      auto set = ns.sem.find(semid);
      if (!set) return -EINVAL;
      if (!ipc_may_control(t.proc->cred, set->perm, capable(t, CAP_SYS_ADMIN))) return -EPERM;
      set->perm.uid = in.sem_perm.uid;
      set->perm.gid = in.sem_perm.gid;
      set->perm.mode = (set->perm.mode & ~0777u) | (in.sem_perm.mode & 0777);
      set->ctime = ipc_now();
      return 0;
    }
    case IPC_RMID: {
      auto set = ns.sem.find(semid);
      if (!set) return -EINVAL;
      if (!ipc_may_control(t.proc->cred, set->perm, capable(t, CAP_SYS_ADMIN))) return -EPERM;
      remove_set(ns, set);
      return 0;
    }
    case SETVAL: {
      int val = static_cast<int>(arg);
      if (val > SEMVMX || val < 0) return -ERANGE;
      auto set = ns.sem.find(semid);
      if (!set) return -EINVAL;
      if (semnum < 0 || static_cast<size_t>(semnum) >= set->sems.size()) return -EINVAL;
      if (!permitted(t, set->perm, 0222)) return -EACCES;
      clear_undo(*set, semnum);
      set->sems[semnum] = {val, t.proc->pid};
      set->ctime = ipc_now();
      sem_update_queue(*set);
      return 0;
    }
    case GETALL:
    case SETALL:
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT: {
      auto set = ns.sem.find(semid);
      if (!set) return -EINVAL;
      size_t n = set->sems.size();
      if (!permitted(t, set->perm, cmd == SETALL ? 0222 : 0444)) return -EACCES;
      if (cmd == GETALL) {
        std::vector<uint16_t> vals(n);
        for (size_t i = 0; i < n; i++) vals[i] = static_cast<uint16_t>(set->sems[i].val);
        if (copy_to_user(t, arg, vals.data(), n * sizeof(uint16_t)) < 0) return -EFAULT;
        return 0;
      }
      if (cmd == SETALL) {
        std::vector<uint16_t> vals(n);
        if (copy_from_user(t, vals.data(), arg, n * sizeof(uint16_t)) < 0) return -EFAULT;
        for (uint16_t v : vals)
          if (v > SEMVMX) return -ERANGE;
        clear_undo(*set, -1);
        for (size_t i = 0; i < n; i++) set->sems[i] = {vals[i], t.proc->pid};
        set->ctime = ipc_now();
        sem_update_queue(*set);
        return 0;
      }
      if (semnum < 0 || static_cast<size_t>(semnum) >= n) return -EINVAL;
      switch (cmd) {
        case GETVAL: return set->sems[semnum].val;
        case GETPID: return set->sems[semnum].pid;
        case GETNCNT: return count_waiters(*set, semnum, false);
        default: return count_waiters(*set, semnum, true);
      }
    }
    default:
      return -EINVAL;
  }
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(semget, "xdx"),
    UM_FULL(semop, "dpu"),
    UM_FULL(semtimedop, "dpup"),
    UM_FULL(semctl, "ddxx"),
};

}  // namespace

std::span<const SyscallRow> sysv_sem_syscalls() { return kRows; }

}  // namespace um::kernel
