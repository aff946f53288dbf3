#include "umkernel/vfs/locks.h"

#include <sys/file.h>
#include <sys/syscall.h>

#include <algorithm>
#include <list>
#include <vector>
#include <map>

#include "umkernel/kernel/kernel.h"
#include "umkernel/vfs/hostfs.h"
#include "umkernel/vfs/lock_list.h"

namespace um::kernel {

namespace {

struct InodeLocks {
  LockList list;
  WaitQueue waiters;
};

// POSIX-lock owners (processes) parked in F_SETLKW, and what they wait for: the wait-for
// graph Linux walks to answer EDEADLK instead of letting two processes wait for each other.
struct Waiting {
  int tid;
  const Inode* inode;
  bool write;
  uint64_t start, end;
};

// Every inode with locks or lock waiters.
struct FileLockState {
  std::map<const Inode*, InodeLocks> table;
  std::map<const void*, Waiting> waiting;
};
std::map<const Inode*, InodeLocks>& table() { return kernel().state<FileLockState>().table; }
std::map<const void*, Waiting>& waiting() { return kernel().state<FileLockState>().waiting; }

// Files whose locks host processes see too (hostfs): what the guest holds is mirrored there.
HostLockable* host_side(const Inode* ino) {
  return ino ? dynamic_cast<HostLockable*>(const_cast<Inode*>(ino)) : nullptr;
}
// How often a task blocked on a host process's lock looks again (the host tells no one).
constexpr int64_t kHostLockRetryNs = 20'000'000;

// Whether waiting for `blocker` would close a cycle back to `owner`.
bool would_deadlock(const void* owner, const void* blocker) {
  for (int depth = 0; depth < 64 && blocker; depth++) {  // Linux's MAX_DEADLK_ITERATIONS is 10
    if (blocker == owner) return true;
    auto it = waiting().find(blocker);
    if (it == waiting().end()) return false;
    Task* bt = kernel().task_by_tid(it->second.tid);
    if (!bt || bt->state != TaskState::Blocked || bt->sys_nr != SYS_fcntl) {  // left that wait
      waiting().erase(it);
      return false;
    }
    auto li = table().find(it->second.inode);
    if (li == table().end()) return false;
    const RangeLock* c = li->second.list.conflict(blocker, it->second.write, it->second.start, it->second.end, false);
    blocker = c ? c->owner : nullptr;
  }
  return false;
}

// Makes the host's view of [s, e] the union of the guest's record locks there (after a lock
// went away or got weaker; taking one is asked of the host first).
void sync_host_range(const Inode* ino, InodeLocks& il, uint64_t s, uint64_t e) {
  HostLockable* h = host_side(ino);
  if (!h) return;
  for (const LockRun& run : il.list.coverage(s, e)) h->host_range_lock(run.type, run.start, run.end);
}

// The host's flock: the strongest the guest holds.
void sync_host_flock(const Inode* ino, InodeLocks& il) {
  if (HostLockable* h = host_side(ino)) h->host_flock(il.list.flock_strength());
}

void forget_if_empty(const Inode* ino) {
  auto it = table().find(ino);
  if (it != table().end() && it->second.list.empty() && it->second.waiters.empty()) table().erase(it);
}

}  // namespace

int64_t flock_file(Task& t, File& f, int op) {
  bool nb = op & LOCK_NB;
  op &= ~LOCK_NB;
  if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN) return -EINVAL;
  if (!f.inode()) return -EINVAL;
  InodeLocks& il = table()[f.inode()];
  if (op == LOCK_UN) {
    il.list.unlock(&f, 0, UINT64_MAX, true);
    sync_host_flock(f.inode(), il);
    il.waiters.wake_all();
    forget_if_empty(f.inode());
    return 0;
  }
  bool write = op == LOCK_EX;
  if (il.list.conflict(&f, write, 0, UINT64_MAX, true)) {
    if (nb) return -EWOULDBLOCK;
    t.wait_on(il.waiters);
    return kBlock;
  }
  if (HostLockable* h = host_side(f.inode()); h && write) {
    // No guest process holds it: a host process may. Shared requests need no new host lock
    // unless this is the first (the host's shared lock covers every guest reader).
    if (int64_t r = h->host_flock(LOCK_EX); r < 0) {
      sync_host_flock(f.inode(), il);  // a failed conversion drops the shared lock: take it back
      if (r != -EWOULDBLOCK && r != -EAGAIN) return r;
      if (nb) return -EWOULDBLOCK;
      t.wait_on(il.waiters);
      t.sys_deadline_ns = monotonic_ns() + kHostLockRetryNs;
      return kBlock;
    }
  } else if (h) {
    if (!il.list.flock_held_by_other(&f)) {
      if (int64_t r = h->host_flock(LOCK_SH); r < 0) {
        if (r != -EWOULDBLOCK && r != -EAGAIN) return r;
        if (nb) return -EWOULDBLOCK;
        t.wait_on(il.waiters);
        t.sys_deadline_ns = monotonic_ns() + kHostLockRetryNs;
        return kBlock;
      }
    }
  }
  il.list.lock({&f, t.proc->pid, write, 0, UINT64_MAX, true});  // a conversion replaces the old lock
  il.waiters.wake_all();  // a downgrade may let others in
  return 0;
}

int64_t posix_lock(Task& t, File& f, int cmd, struct flock& fl) {
  if (!f.inode()) return -EINVAL;
  bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
  if (ofd && fl.l_pid != 0) return -EINVAL;
  const void* owner = ofd ? static_cast<const void*>(&f) : static_cast<const void*>(t.proc.get());
  int64_t base;
  switch (fl.l_whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = f.pos; break;
    case SEEK_END: {
      Stat st;
      if (int64_t r = f.inode()->getattr(st); r < 0) return r;
      base = st.size;
      break;
    }
    default: return -EINVAL;
  }
  int64_t start = base + fl.l_start;
  uint64_t s, e;
  if (fl.l_len > 0) { s = start; e = start + fl.l_len - 1; }
  else if (fl.l_len < 0) { s = start + fl.l_len; e = start - 1; }
  else { s = start; e = UINT64_MAX; }
  if (static_cast<int64_t>(s) < 0 || (fl.l_len < 0 && start + fl.l_len < 0)) return -EINVAL;
  if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK) return -EINVAL;
  InodeLocks& il = table()[f.inode()];
  bool write = fl.l_type == F_WRLCK;
  if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
    const RangeLock* c = fl.l_type == F_UNLCK ? nullptr : il.list.conflict(owner, write, s, e, false);
    struct flock host {};
    HostLockable* h = host_side(f.inode());
    if (!c && h && fl.l_type != F_UNLCK && h->host_range_conflict(fl.l_type, s, e, host)) {
      fl = host;
      fl.l_pid = -1;  // a host process: no pid the guest could name
    } else if (!c) {
      fl.l_type = F_UNLCK;
    } else {
      fl.l_type = c->write ? F_WRLCK : F_RDLCK;
      fl.l_whence = SEEK_SET;
      fl.l_start = static_cast<off_t>(c->start);
      fl.l_len = c->end == UINT64_MAX ? 0 : static_cast<off_t>(c->end - c->start + 1);
      fl.l_pid = c->pid;
    }
    forget_if_empty(f.inode());
    return 0;
  }
  if (fl.l_type == F_UNLCK) {
    il.list.unlock(owner, s, e, false);
    sync_host_range(f.inode(), il, s, e);
    il.waiters.wake_all();
    forget_if_empty(f.inode());
    return 0;
  }
  if (write ? !f.writable() : (f.flags() & O_ACCMODE) == O_WRONLY) return -EBADF;
  if (const RangeLock* c = il.list.conflict(owner, write, s, e, false)) {
    if (cmd == F_SETLK || cmd == F_OFD_SETLK) return -EAGAIN;
    if (!ofd) {
      if (would_deadlock(owner, c->owner)) {
        waiting().erase(owner);
        return -EDEADLK;
      }
      waiting()[owner] = {t.tid, f.inode(), write, s, e};
    }
    t.wait_on(il.waiters);
    return kBlock;
  }
  if (HostLockable* h = host_side(f.inode())) {
    // No guest owner conflicts; a host process may. The host range becomes this lock's type
    // (another guest owner overlapping it can only hold a read lock, and this one is read too).
    if (int64_t r = h->host_range_lock(write ? F_WRLCK : F_RDLCK, s, e); r < 0) {
      if (r != -EAGAIN) return r;
      if (cmd == F_SETLK || cmd == F_OFD_SETLK) return -EAGAIN;
      t.wait_on(il.waiters);
      t.sys_deadline_ns = monotonic_ns() + kHostLockRetryNs;
      return kBlock;
    }
  }
  if (!ofd) waiting().erase(owner);
  il.list.lock({owner, ofd ? -1 : t.proc->pid, write, s, e, false});
  if (!write) sync_host_range(f.inode(), il, s, e);  // a downgrade: other readers keep theirs
  il.waiters.wake_all();
  return 0;
}

void release_posix_locks(Process& p, Inode* inode) {
  for (auto it = table().begin(); it != table().end();) {
    if (inode && it->first != inode) { ++it; continue; }
    auto& il = it->second;
    if (il.list.release(&p, true, false)) {
      sync_host_range(it->first, il, 0, UINT64_MAX);
      il.waiters.wake_all();
    }
    it = il.list.empty() && il.waiters.empty() ? table().erase(it) : std::next(it);
  }
}

void release_file_locks(File& f) {
  if (!f.inode()) return;
  auto it = table().find(f.inode());
  if (it == table().end()) return;
  auto& il = it->second;
  if (il.list.release(&f, true, true)) {
    sync_host_range(f.inode(), il, 0, UINT64_MAX);
    sync_host_flock(f.inode(), il);
    il.waiters.wake_all();
  }
  if (il.list.empty() && il.waiters.empty()) table().erase(it);
}

}  // namespace um::kernel
