// System V shared memory: shmget, shmat, shmdt, shmctl (Linux's ipc/shm.c). A segment is an
// unlinked tmpfs file whose memfd every attaching process maps MAP_SHARED, so the memory is
// really shared (across fork too); its size is charged to the VM's memory like tmpfs data.
#include <linux/ipc.h>
#include <linux/shm.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <algorithm>

#include "umkernel/ipc/sysv.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/tmpfs.h"

namespace um::kernel {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kShmLba = kPage;  // SHMLBA on x86
uint64_t pages_of(uint64_t size) { return (size + kPage - 1) / kPage; }

bool permitted(Task& t, const IpcPerm& p, int flag) {
  return ipc_permitted(t.proc->cred, p, flag, capable(t, CAP_IPC_OWNER));
}

void fill_perm(ipc64_perm& out, const IpcPerm& p) {
  out.key = p.key;
  out.uid = p.uid;
  out.gid = p.gid;
  out.cuid = p.cuid;
  out.cgid = p.cgid;
  out.mode = p.mode;
  out.seq = static_cast<unsigned short>(p.seq);
}

shmid64_ds stat_of(const ShmSegment& s) {
  shmid64_ds ds{};
  fill_perm(ds.shm_perm, s.perm);
  ds.shm_segsz = s.size;
  ds.shm_atime = s.atime;
  ds.shm_dtime = s.dtime;
  ds.shm_ctime = s.ctime;
  ds.shm_cpid = s.cpid;
  ds.shm_lpid = s.lpid;
  ds.shm_nattch = s.nattch;
  return ds;
}

void destroy(const std::shared_ptr<ShmSegment>& seg) {
  seg->perm.mode |= kShmDest;
  shm_maybe_destroy(seg);
}

}  // namespace

int64_t sys_shmget(Task& t) {
  int32_t key = static_cast<int32_t>(t.arg(0));
  uint64_t size = t.arg(1);
  int flg = t.int_arg(2);
  IpcNamespace& ns = ipc_namespace();
  if (key != IPC_PRIVATE) {
    if (auto seg = ns.shm.by_key(key)) {
      if ((flg & IPC_CREAT) && (flg & IPC_EXCL)) return -EEXIST;
      if (!permitted(t, seg->perm, flg & 0777)) return -EACCES;
      if (seg->size < size) return -EINVAL;
      return seg->id;
    }
    if (!(flg & IPC_CREAT)) return -ENOENT;
  }
  if (size < 1 || size > ns.limits.shmmax) return -EINVAL;
  uint64_t pages = pages_of(size);
  if (ns.shm_pages + pages < ns.shm_pages || ns.shm_pages + pages > ns.limits.shmall) return -ENOSPC;
  if (ns.shm.count() >= ns.limits.shmmni) return -ENOSPC;
  auto seg = std::make_shared<ShmSegment>();
  seg->perm = ipc_new_perm(t.proc->cred, key, flg);
  seg->file = make_anonymous_tmpfs_file(0600);
  // The data is charged to the VM's memory (mem=) as tmpfs data is.
  if (seg->file->truncate(size) < 0 || seg->file->shared_mapping_fd() < 0) return -ENOMEM;
  seg->size = size;
  seg->cpid = t.proc->pid;
  seg->ctime = ipc_now();
  int id = ns.shm.add(seg, ns.limits.shmmni);
  if (id < 0) return id;
  seg->id = id;
  ns.shm_pages += pages;
  return id;
}

int64_t sys_shmat(Task& t) {
  int shmid = t.int_arg(0);
  uint64_t addr = t.arg(1);
  int flg = t.int_arg(2);
  if (shmid < 0) return -EINVAL;
  if (addr) {
    if (addr & (kShmLba - 1)) {
      if (!(flg & SHM_RND)) return -EINVAL;
      addr &= ~(kShmLba - 1);
      if (!addr && (flg & SHM_REMAP)) return -EINVAL;
    }
  } else if (flg & SHM_REMAP) {
    return -EINVAL;
  }
  int prot = PROT_READ, acc = 0444;
  if (!(flg & SHM_RDONLY)) {
    prot |= PROT_WRITE;
    acc |= 0222;
  }
  if (flg & SHM_EXEC) {
    prot |= PROT_EXEC;
    acc |= 0111;
  }
  auto seg = ipc_namespace().shm.find(shmid);
  if (!seg) return -EINVAL;
  if (!permitted(t, seg->perm, acc)) return -EACCES;
  if (!seg->file) return -EIDRM;
  uint64_t len = pages_of(seg->size) * kPage;
  int flags = MAP_SHARED;
  if (addr) {
    if (addr + len < addr || addr + len > platform::kTaskSize || t.proc->memory->reserved(addr, len)) return -EINVAL;
    flags |= (flg & SHM_REMAP) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
  }
  int64_t r = t.proc->memory->map_file(addr, len, prot, flags, seg->file->shared_mapping_fd(), 0,
                                       !(flg & SHM_RDONLY));
  if (r == -EEXIST) return -EINVAL;  // something is mapped there and SHM_REMAP was not given
  if (r < 0) return r;
  uint64_t at = static_cast<uint64_t>(r);
  Process& p = *t.proc;
  shm_unmapped(p, at, at + len);  // SHM_REMAP replaced whatever was there
  p.forget_mappings(at, at + len);
  if (!p.shm_attached) p.shm_attached = std::make_shared<ShmAttachments>();
  p.shm_attached->list.push_back({at, at + len, 0, seg});
  seg->nattch++;
  seg->atime = ipc_now();
  seg->lpid = p.pid;
  return r;
}

int64_t sys_shmdt(Task& t) {
  uint64_t addr = t.arg(0);
  Process& p = *t.proc;
  if ((addr & (kPage - 1)) || !p.shm_attached) return -EINVAL;
  // Linux's shmdt: the first piece of a segment mapped from `addr` (its offset says so) names
  // the segment; every piece of it within the segment's size from `addr` goes.
  auto list = p.shm_attached->list;
  std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.start < b.start; });
  std::shared_ptr<ShmSegment> seg;
  for (auto& a : list)
    if (a.start >= addr && a.start - addr == a.offset) {
      seg = a.seg;
      break;
    }
  if (!seg) return -EINVAL;
  uint64_t end = addr + pages_of(seg->size) * kPage;
  for (auto& a : list) {
    if (a.seg != seg || a.start < addr || a.end > end) continue;
    (void)p.memory->unmap(a.start, a.end - a.start);
    shm_unmapped(p, a.start, a.end);
  }
  return 0;
}

int64_t sys_shmctl(Task& t) {
  int shmid = t.int_arg(0), cmd = t.int_arg(1);
  uint64_t buf = t.arg(2);
  IpcNamespace& ns = ipc_namespace();
  if (cmd < 0 || shmid < 0) return -EINVAL;
  switch (cmd) {
    case IPC_INFO: {
      shminfo64 info{};
      info.shmmax = ns.limits.shmmax;
      info.shmmin = 1;
      info.shmmni = static_cast<unsigned long>(ns.limits.shmmni);
      info.shmseg = static_cast<unsigned long>(ns.limits.shmmni);
      info.shmall = ns.limits.shmall;
      if (copy_to_user(t, buf, &info, sizeof info) < 0) return -EFAULT;
      return ns.shm.highest_slot();
    }
    case SHM_INFO: {
      struct shm_info info{};
      info.used_ids = ns.shm.count();
      info.shm_tot = ns.shm_pages;
      info.shm_rss = ns.shm_pages;
      if (copy_to_user(t, buf, &info, sizeof info) < 0) return -EFAULT;
      return ns.shm.highest_slot();
    }
    case SHM_STAT:
    case SHM_STAT_ANY:
    case IPC_STAT: {
      auto seg = cmd == IPC_STAT ? ns.shm.find(shmid) : ns.shm.at(shmid);
      if (!seg) return -EINVAL;
      if (cmd != SHM_STAT_ANY && !permitted(t, seg->perm, 0444)) return -EACCES;
      shmid64_ds ds = stat_of(*seg);
      if (copy_to_user(t, buf, &ds, sizeof ds) < 0) return -EFAULT;
      return cmd == IPC_STAT ? 0 : seg->id;
    }
    case IPC_SET: {
      shmid64_ds in;
      if (copy_from_user(t, &in, buf, sizeof in) < 0) return -EFAULT;
      auto seg = ns.shm.find(shmid);
      if (!seg) return -EINVAL;
      if (!ipc_may_control(t.proc->cred, seg->perm, capable(t, CAP_SYS_ADMIN))) return -EPERM;
      seg->perm.uid = in.shm_perm.uid;
      seg->perm.gid = in.shm_perm.gid;
      seg->perm.mode = (seg->perm.mode & ~0777u) | (in.shm_perm.mode & 0777);
      seg->ctime = ipc_now();
      return 0;
    }
    case IPC_RMID: {
      auto seg = ns.shm.find(shmid);
      if (!seg) return -EINVAL;
      if (!ipc_may_control(t.proc->cred, seg->perm, capable(t, CAP_SYS_ADMIN))) return -EPERM;
      // Attached: marked, its key made private; the last detach destroys it (Linux still lets
      // processes attach it by id until then).
      seg->perm.key = IPC_PRIVATE;
      destroy(seg);
      return 0;
    }
    case SHM_LOCK:
    case SHM_UNLOCK: {
      auto seg = ns.shm.find(shmid);
      if (!seg) return -EINVAL;
      if (!capable(t, CAP_IPC_LOCK)) {
        const Credentials& c = t.proc->cred;
        if (c.euid != seg->perm.uid && c.euid != seg->perm.cuid) return -EPERM;
        if (cmd == SHM_LOCK && t.proc->rlimits[RLIMIT_MEMLOCK].rlim_cur == 0) return -EPERM;
      }
      if (cmd == SHM_LOCK) seg->perm.mode |= kShmLocked;
      else seg->perm.mode &= ~kShmLocked;
      return 0;
    }
    default:
      return -EINVAL;
  }
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(shmget, "xux"),
    UM_FULL(shmat, "dxx"),
    UM_FULL(shmdt, "x"),
    UM_PARTIAL(shmctl, "ddp", "SHM_LOCK marks the segment (SHM_LOCKED) without pinning host pages"),
};

}  // namespace

std::span<const SyscallRow> sysv_shm_syscalls() { return kRows; }

}  // namespace um::kernel
