// Memory: the guest's address space belongs to the platform (platform::AddressSpace); umkernel
// checks every request (nothing may touch the platform's own pages) and applies it there.
// File mappings are host files mapped straight in, or anonymous copies filled from the
// guest's file systems.
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "core/log.h"
#include "umkernel/ipc/sysv.h"
#include "umkernel/kernel/exec.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/kernel/syscall_table.h"

namespace um::kernel {

namespace {
constexpr uint64_t kPage = 4096;
uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }
bool bad_range(Task& t, uint64_t addr, uint64_t len) {
  return len == 0 || addr + len < addr || addr + len > platform::kTaskSize || t.proc->memory->reserved(addr, len);
}
}  // namespace

int64_t sys_brk(Task& t) {
  Process& p = *t.proc;
  uint64_t want = t.arg(0);
  if (want < p.brk_start || want > p.brk_start + (1ull << 40)) return static_cast<int64_t>(p.brk_cur);
  uint64_t end = page_up(want);
  if (end > p.brk_mapped) {
    int64_t r = t.proc->memory->map_anonymous(p.brk_mapped, end - p.brk_mapped, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    if (r < 0 || static_cast<uint64_t>(r) != p.brk_mapped) return static_cast<int64_t>(p.brk_cur);
    p.brk_mapped = end;
  } else if (end < p.brk_mapped) {
    p.memory->unmap(end, p.brk_mapped - end);
    p.brk_mapped = end;
  }
  p.brk_cur = want;
  return static_cast<int64_t>(want);
}

namespace {
int64_t do_mmap(Task& t) {
  uint64_t addr = t.arg(0), len = t.arg(1);
  int prot = static_cast<int>(t.arg(2)), flags = static_cast<int>(t.arg(3));
  int fd = static_cast<int>(t.arg(4));
  uint64_t off = t.arg(5);
  if (len == 0 || (off & (kPage - 1)) || page_up(len) == 0) return -EINVAL;
  int type = flags & MAP_TYPE;
  if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE) return -EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
  if (fixed && bad_range(t, addr, page_up(len))) return addr & (kPage - 1) ? -EINVAL : -ENOMEM;
  // Only flags that mean the same thing for an anonymous host mapping pass through.
  int host_flags = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_GROWSDOWN | MAP_NORESERVE |
                            MAP_POPULATE | MAP_STACK | MAP_32BIT);
  if (flags & MAP_ANONYMOUS) {
    host_flags |= MAP_ANONYMOUS | (type == MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED);
    return t.proc->memory->map_anonymous(addr, len, prot, host_flags);
  }
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  if (!f->readable() || !f->inode()) return -EACCES;
  Stat st;
  if (int64_t r = f->inode()->getattr(st); r < 0) return r;
  if (S_ISCHR(st.mode)) {  // /dev/zero and friends: anonymous memory
    host_flags |= MAP_ANONYMOUS | (type == MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED);
    return t.proc->memory->map_anonymous(addr, len, prot, host_flags);
  }
  if (!S_ISREG(st.mode)) return -ENODEV;
  if (type != MAP_PRIVATE && (prot & PROT_WRITE) && !f->writable()) return -EACCES;
  // Page-cached files (image files) fill the range and map the cache's memfd itself.
  bool shared = type != MAP_PRIVATE;
  int hfd = f->inode()->map_fd(off, page_up(len), shared, shared && f->writable());
  if (hfd >= 0)
    return t.proc->memory->map_file(addr, len, prot, host_flags | (type == MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED), hfd, off,
                                     f->writable());
  if (type != MAP_PRIVATE) return -ENODEV;
  int64_t r = t.proc->memory->map_anonymous(addr, len, prot, host_flags | MAP_PRIVATE | MAP_ANONYMOUS);
  if (r < 0) return r;
  uint64_t base = static_cast<uint64_t>(r);
  t.proc->note_mapping(base, base + page_up(len), f->path);
  if (static_cast<int64_t>(off) < st.size) {
    uint64_t n = std::min<uint64_t>(len, static_cast<uint64_t>(st.size) - off);
    std::vector<char> buf(std::min<uint64_t>(n, 1 << 20));
    uint64_t done = 0;
    while (done < n) {
      size_t c = std::min<uint64_t>(n - done, buf.size());
      int64_t got = f->inode()->read(off + done, buf.data(), c);
      if (got <= 0) break;
      if (copy_to_user(t, base + done, buf.data(), got) < 0) break;
      done += got;
    }
  }
  return r;
}
}  // namespace

int64_t sys_mmap(Task& t) {
  int64_t r = do_mmap(t);
  // A fixed mapping replaces what was there: attached System V segments in the range shrink.
  if (r >= 0 && (t.arg(3) & MAP_FIXED)) shm_unmapped(*t.proc, static_cast<uint64_t>(r), static_cast<uint64_t>(r) + page_up(t.arg(1)));
  return r;
}

int64_t sys_munmap(Task& t) {
  uint64_t addr = t.arg(0), len = t.arg(1);
  if ((addr & (kPage - 1)) || bad_range(t, addr, page_up(len))) return -EINVAL;
  t.proc->forget_mappings(addr, addr + page_up(len));
  int64_t r = t.proc->memory->unmap(addr, len);
  if (r == 0) shm_unmapped(*t.proc, addr, addr + page_up(len));
  return r;
}

int64_t sys_mprotect(Task& t) {
  uint64_t addr = t.arg(0), len = t.arg(1);
  if (addr & (kPage - 1)) return -EINVAL;
  if (len == 0) return 0;
  if (bad_range(t, addr, page_up(len))) return -ENOMEM;
  return t.proc->memory->protect(addr, len, static_cast<int>(t.arg(2)));
}

int64_t sys_mremap(Task& t) {
  uint64_t old_addr = t.arg(0), old_len = t.arg(1), new_len = t.arg(2), flags = t.arg(3), new_addr = t.arg(4);
  if (t.proc->memory->reserved(old_addr, page_up(old_len))) return -EINVAL;
  if ((flags & MREMAP_FIXED) && bad_range(t, new_addr, page_up(new_len))) return -EINVAL;
  return t.proc->memory->remap(old_addr, old_len, new_len, flags, new_addr);
}

int64_t sys_madvise(Task& t) {
  uint64_t addr = t.arg(0), len = t.arg(1);
  if (len && t.proc->memory->reserved(addr, page_up(len))) return -EINVAL;
  return t.proc->memory->advise(addr, len, static_cast<int>(t.arg(2)));
}

int64_t sys_msync(Task& t) {
  if (t.arg(0) & (kPage - 1)) return -EINVAL;
  int flags = static_cast<int>(t.arg(2));
  if ((flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) || ((flags & MS_ASYNC) && (flags & MS_SYNC))) return -EINVAL;
  // Shared mappings of image files map their page cache (vfs/page_cache.h): MS_SYNC writes it back.
  // Which file a range maps is not tracked, so every mounted file system writes back its own.
  if (flags & MS_SYNC)
    for (auto& m : kernel().mounts()) m->sb->sync();
  return 0;
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(brk, "x"),
    UM_PARTIAL(mmap, "xuxxfx",
               "tmpfs/memfd files and image files (their page cache) map shared and private; "
               "files of other file systems map as private copies (MAP_SHARED of them is ENODEV)"),
    UM_FULL(munmap, "xu"), UM_FULL(mprotect, "xux"), UM_FULL(mremap, "xuuxx"),
    UM_FULL(madvise, "xud"), UM_FULL(msync, "xux"),
};

}  // namespace

std::span<const SyscallRow> mm_syscalls() { return kRows; }

}  // namespace um::kernel
