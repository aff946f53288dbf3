#include "umkernel/ipc/sysv.h"

#include <linux/ipc.h>
#include <linux/msg.h>
#include <linux/sem.h>
#include <linux/shm.h>

#include <algorithm>
#include <climits>
#include <cstdio>

#include "umkernel/kernel/kernel.h"
#include "umkernel/vfs/synthetic.h"

namespace um::kernel {

IpcNamespace& ipc_namespace() { return kernel().state<IpcNamespace>(); }

int64_t ipc_now() { return realtime_ns() / 1000000000; }

int64_t sem_apply(std::vector<Semaphore>& sems, std::vector<int>* adj, std::span<const SemBuf> sops, int pid,
                  size_t* blocking) {
  // Applied one by one to copies (an operation sees the earlier ones' results), kept only if
  // every one succeeds.
  std::vector<Semaphore> vals = sems;
  std::vector<int> undo = adj ? *adj : std::vector<int>();
  for (size_t i = 0; i < sops.size(); i++) {
    const SemBuf& s = sops[i];
    int cur = vals[s.num].val;
    if (s.op == 0 ? cur != 0 : cur + s.op < 0) {
      if (blocking) *blocking = i;
      return (s.flg & IPC_NOWAIT) ? -EAGAIN : kSemWouldBlock;
    }
    int result = cur + s.op;
    if (result > kSemVmx) return -ERANGE;
    if ((s.flg & SEM_UNDO) && adj) {
      int u = undo[s.num] - s.op;
      if (u < -kSemVmx - 1 || u > kSemVmx) return -ERANGE;
      undo[s.num] = u;
    }
    vals[s.num].val = result;
  }
  for (const SemBuf& s : sops) vals[s.num].pid = pid;
  sems = std::move(vals);
  if (adj) *adj = std::move(undo);
  return 0;
}

int64_t msg_select(const std::deque<Message>& q, int64_t msgtyp, int flags) {
  if (flags & MSG_COPY) return msgtyp >= 0 && static_cast<uint64_t>(msgtyp) < q.size() ? msgtyp : -1;
  if (msgtyp == 0) return q.empty() ? -1 : 0;
  if (msgtyp < 0) {
    int64_t limit = msgtyp == INT64_MIN ? INT64_MAX : -msgtyp;
    int64_t best = -1;
    for (size_t i = 0; i < q.size(); i++)
      if (q[i].type <= limit && (best < 0 || q[i].type < q[best].type)) best = static_cast<int64_t>(i);
    return best;
  }
  bool except = flags & MSG_EXCEPT;
  for (size_t i = 0; i < q.size(); i++)
    if ((q[i].type == msgtyp) != except) return static_cast<int64_t>(i);
  return -1;
}

bool sem_still_waiting(const SemSet& set, const SemPending& p) {
  const auto& w = set.waiters.waiters();
  return std::find(w.begin(), w.end(), p.task) != w.end();
}

void sem_update_queue(SemSet& set) {
  bool again = true;
  while (again) {
    again = false;
    for (auto it = set.pending.begin(); it != set.pending.end();) {
      if (!sem_still_waiting(set, *it)) {  // interrupted or gone
        it = set.pending.erase(it);
        continue;
      }
      std::vector<int>* adj = nullptr;
      if (it->undo) {
        auto& a = it->undo->adj[set.id];
        a.resize(set.sems.size(), 0);
        adj = &a;
      }
      int64_t r = sem_apply(set.sems, adj, it->sops, it->pid, nullptr);
      if (r == kSemWouldBlock) {
        ++it;
        continue;
      }
      // Done (or failed, e.g. ERANGE): the task gets the result when it runs again.
      Task* t = it->task;
      bool altered = false;
      for (auto& s : it->sops) altered |= s.op != 0;
      it = set.pending.erase(it);
      set.completed[t] = r;
      if (r == 0) {
        set.otime = ipc_now();
        if (altered) again = true;  // the values changed: earlier waiters may go now
      }
      set.waiters.wake_task(t);
    }
  }
}

// --- the process life cycle ---

namespace {

void detach(const std::shared_ptr<ShmSegment>& seg, int pid) {
  seg->nattch--;
  seg->lpid = pid;
  seg->dtime = ipc_now();
  shm_maybe_destroy(seg);
}

void detach_all(Process& p) {
  if (!p.shm_attached) return;
  auto list = std::move(p.shm_attached->list);
  p.shm_attached.reset();
  for (auto& a : list) detach(a.seg, p.pid);
}

// Linux's exit_sem: each adjustment is applied, the value kept within 0..SEMVMX.
void apply_undo(SemUndoList& undo, int pid) {
  IpcNamespace& ns = ipc_namespace();
  for (auto& [id, adj] : undo.adj) {
    auto set = ns.sem.find(id);
    if (!set) continue;
    bool changed = false;
    for (size_t i = 0; i < adj.size() && i < set->sems.size(); i++) {
      if (adj[i] == 0) continue;
      int v = set->sems[i].val + adj[i];
      set->sems[i].val = v < 0 ? 0 : v > kSemVmx ? kSemVmx : v;
      set->sems[i].pid = pid;
      changed = true;
    }
    if (changed) {
      set->otime = ipc_now();
      sem_update_queue(*set);
    }
  }
  undo.adj.clear();
}

}  // namespace

void shm_maybe_destroy(const std::shared_ptr<ShmSegment>& seg) {
  if (seg->nattch > 0 || !(seg->perm.mode & kShmDest) || !seg->file) return;
  IpcNamespace& ns = ipc_namespace();
  ns.shm.remove(seg->id);
  ns.shm_pages -= std::min(ns.shm_pages, (seg->size + 4095) / 4096);
  seg->file.reset();  // the memory goes now (the memfd's last user)
}

void ipc_fork(Process& parent, Process& child, bool share_sysvsem) {
  if (parent.shm_attached && !parent.shm_attached->list.empty()) {
    child.shm_attached = std::make_shared<ShmAttachments>(*parent.shm_attached);
    for (auto& a : child.shm_attached->list) {
      a.seg->nattch++;
      a.seg->atime = ipc_now();
      a.seg->lpid = parent.pid;
    }
  }
  if (share_sysvsem) {
    if (!parent.sem_undo) parent.sem_undo = std::make_shared<SemUndoList>();
    child.sem_undo = parent.sem_undo;
  }
}

void ipc_exec(Process& p) { detach_all(p); }

void ipc_exit(Process& p) {
  if (!kernel_exists()) return;
  detach_all(p);
  if (p.sem_undo) {
    if (p.sem_undo.use_count() == 1) apply_undo(*p.sem_undo, p.pid);
    p.sem_undo.reset();
  }
}

void shm_unmapped(Process& p, uint64_t start, uint64_t end) {
  if (!p.shm_attached) return;
  std::vector<ShmAttach> keep;
  std::vector<std::shared_ptr<ShmSegment>> gone;
  for (auto& a : p.shm_attached->list) {
    if (a.end <= start || a.start >= end) {
      keep.push_back(a);
      continue;
    }
    int pieces = 0;
    if (a.start < start) {
      keep.push_back({a.start, start, a.offset, a.seg});
      pieces++;
    }
    if (a.end > end) {
      keep.push_back({end, a.end, a.offset + (end - a.start), a.seg});
      pieces++;
    }
    if (pieces == 2) a.seg->nattch++;  // a split: two mappings now (Linux's shm_open)
    if (pieces == 0) gone.push_back(a.seg);
  }
  p.shm_attached->list = std::move(keep);
  for (auto& seg : gone) detach(seg, p.pid);
}

// --- /proc ---

void add_proc_ipc_entries(SyntheticSuperBlock* sb, const std::shared_ptr<SyntheticDir>& proc_root,
                          const std::shared_ptr<SyntheticDir>& sys_kernel) {
  auto dir = std::make_shared<SyntheticDir>(sb, sb->next_ino(), 0555);
  dir->parent = proc_root;
  proc_root->add("sysvipc", dir);
  auto file = [&](const std::string& name, GeneratedFile::Generator g) {
    dir->add(name, std::make_shared<GeneratedFile>(sb, sb->next_ino(), std::move(g)));
  };
  file("shm", [] {
    std::string out =
        "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime"
        "      dtime      ctime                   rss                  swap\n";
    char line[320];
    for (auto& [idx, s] : ipc_namespace().shm.all()) {
      Stat st;
      uint64_t rss = s->file && s->file->getattr(st) == 0 ? static_cast<uint64_t>(st.blocks) * 512 : 0;
      snprintf(line, sizeof line,
               "%10d %10d  %4o %21llu %5d %5d  %5llu %5u %5u %5u %5u %10lld %10lld %10lld %21llu %21d\n",
               s->perm.key, s->id, s->perm.mode, (unsigned long long)s->size, s->cpid, s->lpid,
               (unsigned long long)s->nattch, s->perm.uid, s->perm.gid, s->perm.cuid, s->perm.cgid,
               (long long)s->atime, (long long)s->dtime, (long long)s->ctime, (unsigned long long)rss, 0);
      out += line;
    }
    return out;
  });
  file("sem", [] {
    std::string out = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n";
    char line[200];
    for (auto& [idx, s] : ipc_namespace().sem.all()) {
      snprintf(line, sizeof line, "%10d %10d  %4o %10zu %5u %5u %5u %5u %10lld %10lld\n", s->perm.key, s->id,
               s->perm.mode & 0777, s->sems.size(), s->perm.uid, s->perm.gid, s->perm.cuid, s->perm.cgid,
               (long long)s->otime, (long long)s->ctime);
      out += line;
    }
    return out;
  });
  file("msg", [] {
    std::string out =
        "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime"
        "      ctime\n";
    char line[240];
    for (auto& [idx, q] : ipc_namespace().msg.all()) {
      snprintf(line, sizeof line, "%10d %10d  %4o  %10llu %10zu %5d %5d %5u %5u %5u %5u %10lld %10lld %10lld\n",
               q->perm.key, q->id, q->perm.mode & 0777, (unsigned long long)q->cbytes, q->messages.size(), q->lspid,
               q->lrpid, q->perm.uid, q->perm.gid, q->perm.cuid, q->perm.cgid, (long long)q->stime,
               (long long)q->rtime, (long long)q->ctime);
      out += line;
    }
    return out;
  });

  // The limits, as /proc/sys/kernel shows and sets them (proc_doulongvec / proc_dointvec).
  auto knob = [&](const std::string& name, std::function<std::string()> get,
                  std::function<int64_t(std::string_view)> set) {
    sys_kernel->add(name, std::make_shared<KnobFile>(sb, sb->next_ino(), std::move(get),
                                                     [set](Task&, std::string_view v) { return set(v); }));
  };
  auto parse = [](std::string_view v, std::vector<long long>& out, size_t n) -> bool {
    std::string s(v);
    const char* p = s.c_str();
    out.clear();
    while (out.size() < n) {
      while (*p == ' ' || *p == '\t' || *p == '\n') p++;
      if (!*p) break;
      char* end;
      errno = 0;
      long long x = strtoll(p, &end, 10);
      if (end == p || errno) return false;
      out.push_back(x);
      p = end;
    }
    return out.size() == n;
  };
  auto ulong_knob = [&](const std::string& name, uint64_t IpcLimits::*field) {
    knob(name, [field] { return std::to_string(ipc_namespace().limits.*field) + "\n"; },
         [field, parse](std::string_view v) -> int64_t {
           std::vector<long long> x;
           std::string s(v);
           while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
           char* end;
           errno = 0;
           unsigned long long u = strtoull(s.c_str(), &end, 10);
           if (s.empty() || *end || errno || s[0] == '-') return -EINVAL;
           ipc_namespace().limits.*field = u;
           return 0;
         });
  };
  auto int_knob = [&](const std::string& name, int IpcLimits::*field, int max) {
    knob(name, [field] { return std::to_string(ipc_namespace().limits.*field) + "\n"; },
         [field, parse, max](std::string_view v) -> int64_t {
           std::vector<long long> x;
           if (!parse(v, x, 1) || x[0] < 0 || x[0] > max) return -EINVAL;
           ipc_namespace().limits.*field = static_cast<int>(x[0]);
           return 0;
         });
  };
  ulong_knob("shmmax", &IpcLimits::shmmax);
  ulong_knob("shmall", &IpcLimits::shmall);
  int_knob("shmmni", &IpcLimits::shmmni, kIpcMni);
  int_knob("msgmax", &IpcLimits::msgmax, INT_MAX);
  int_knob("msgmnb", &IpcLimits::msgmnb, INT_MAX);
  int_knob("msgmni", &IpcLimits::msgmni, kIpcMni);
  knob("sem",
       [] {
         auto& l = ipc_namespace().limits;
         return std::to_string(l.semmsl) + "\t" + std::to_string(l.semmns) + "\t" + std::to_string(l.semopm) + "\t" +
                std::to_string(l.semmni) + "\n";
       },
       [parse](std::string_view v) -> int64_t {
         std::vector<long long> x;
         if (!parse(v, x, 4)) return -EINVAL;
         for (long long y : x)
           if (y < 0 || y > INT_MAX) return -EINVAL;
         if (x[3] > kIpcMni) return -EINVAL;
         auto& l = ipc_namespace().limits;
         l.semmsl = static_cast<int>(x[0]);
         l.semmns = static_cast<int>(x[1]);
         l.semopm = static_cast<int>(x[2]);
         l.semmni = static_cast<int>(x[3]);
         return 0;
       });
}

}  // namespace um::kernel
