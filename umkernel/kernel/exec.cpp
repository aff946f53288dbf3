#include "umkernel/kernel/exec.h"

#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>

#include <cstring>

#include "core/log.h"
#include "umkernel/ipc/sysv.h"
#include "umkernel/keys/keys.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/platform/stub.h"
#include "umkernel/vfs/namei.h"

namespace um::kernel {

namespace {

constexpr uint64_t kPage = 4096;
uint64_t page_down(uint64_t v) { return v & ~(kPage - 1); }
uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

struct ElfImage {
  InodePtr inode;
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> phdrs;
  std::string interp;
  uint64_t min_vaddr = UINT64_MAX, max_vaddr = 0;
};

int64_t read_exact(Inode& ino, uint64_t off, void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    int64_t r = ino.read(off + done, static_cast<char*>(buf) + done, n - done);
    if (r < 0) return r;
    if (r == 0) return -ENOEXEC;
    done += r;
  }
  return 0;
}

int64_t parse_elf(InodePtr inode, ElfImage& img) {
  img.inode = inode;
  if (int64_t r = read_exact(*inode, 0, &img.eh, sizeof img.eh); r < 0) return -ENOEXEC;
  const auto& eh = img.eh;
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return -ENOEXEC;
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) return -ENOEXEC;
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return -ENOEXEC;
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 128) return -ENOEXEC;
  img.phdrs.resize(eh.e_phnum);
  if (read_exact(*inode, eh.e_phoff, img.phdrs.data(), eh.e_phnum * sizeof(Elf64_Phdr)) < 0)
    return -ENOEXEC;
  for (auto& ph : img.phdrs) {
    if (ph.p_type == PT_LOAD) {
      if (ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr) return -ENOEXEC;
      if (ph.p_vaddr + ph.p_memsz > platform::kTaskSize) return -ENOEXEC;
      img.min_vaddr = std::min(img.min_vaddr, page_down(ph.p_vaddr));
      img.max_vaddr = std::max(img.max_vaddr, page_up(ph.p_vaddr + ph.p_memsz));
    } else if (ph.p_type == PT_INTERP) {
      if (ph.p_filesz == 0 || ph.p_filesz > 4096) return -ENOEXEC;
      std::string s(ph.p_filesz, '\0');
      if (read_exact(*inode, ph.p_offset, s.data(), s.size()) < 0) return -ENOEXEC;
      s.resize(strnlen(s.data(), s.size()));
      img.interp = s;
    }
  }
  if (img.min_vaddr == UINT64_MAX) return -ENOEXEC;
  return 0;
}

int prot_of(uint32_t pf) {
  return ((pf & PF_R) ? PROT_READ : 0) | ((pf & PF_W) ? PROT_WRITE : 0) | ((pf & PF_X) ? PROT_EXEC : 0);
}

// A segment of a file with a host descriptor (the page cache of an image file, a tmpfs
// memfd): its file pages mapped privately from it, as Linux maps them, the rest of its last
// file page cleared when bss follows, and anonymous memory for the rest. -ENOSYS: copy it in.
int64_t map_segment(Task& t, ElfImage& img, const Elf64_Phdr& ph, uint64_t base, uint64_t start, uint64_t end) {
  if (ph.p_filesz == 0 || (ph.p_offset % kPage) != (ph.p_vaddr % kPage)) return -ENOSYS;
  Stat st;
  if (img.inode->getattr(st) < 0 || ph.p_offset + ph.p_filesz < ph.p_offset ||
      ph.p_offset + ph.p_filesz > static_cast<uint64_t>(st.size))
    return -ENOSYS;  // the copy path reports what is wrong with it
  uint64_t file_end = base + ph.p_vaddr + ph.p_filesz;
  uint64_t map_end = std::min(end, page_up(file_end));
  uint64_t foff = page_down(ph.p_offset);
  int hfd = img.inode->map_fd(foff, map_end - start, false, false);
  if (hfd < 0) return -ENOSYS;
  int prot = prot_of(ph.p_flags);
  int64_t r = t.proc->memory->map_file(start, map_end - start, prot, MAP_PRIVATE | MAP_FIXED, hfd, foff, false);
  if (r < 0) return r;
  if (ph.p_memsz > ph.p_filesz && file_end < map_end)
    if (int64_t e = clear_user(t, file_end, map_end - file_end); e < 0) return e;
  if (end > map_end) {
    r = t.proc->memory->map_anonymous(map_end, end - map_end, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    if (r < 0) return r;
  }
  return 0;
}

// Maps the PT_LOAD segments at `base` and copies the file data in.
int64_t load_segments(Task& t, ElfImage& img, uint64_t base, const std::string& path) {
  std::vector<char> buf;
  for (auto& ph : img.phdrs) {
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    uint64_t start = page_down(base + ph.p_vaddr);
    uint64_t end = page_up(base + ph.p_vaddr + ph.p_memsz);
    if (int64_t r = map_segment(t, img, ph, base, start, end); r != -ENOSYS) {
      if (r < 0) return r;
      t.proc->note_mapping(start, end, path);
      continue;
    }
    int64_t r = t.proc->memory->map_anonymous(start, end - start, prot_of(ph.p_flags),
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    if (r < 0) return r;
    t.proc->note_mapping(start, end, path);
    uint64_t done = 0;
    while (done < ph.p_filesz) {
      size_t chunk = std::min<uint64_t>(ph.p_filesz - done, 1 << 20);
      buf.resize(chunk);
      if (int64_t e = read_exact(*img.inode, ph.p_offset + done, buf.data(), chunk); e < 0) return e;
      if (int64_t e = copy_to_user(t, base + ph.p_vaddr + done, buf.data(), chunk); e < 0) return e;
      done += chunk;
    }
  }
  return 0;
}

uint64_t phdr_address(const ElfImage& img, uint64_t base) {
  for (auto& ph : img.phdrs)
    if (ph.p_type == PT_PHDR) return base + ph.p_vaddr;
  for (auto& ph : img.phdrs)
    if (ph.p_type == PT_LOAD && img.eh.e_phoff >= ph.p_offset &&
        img.eh.e_phoff < ph.p_offset + ph.p_filesz)
      return base + ph.p_vaddr + (img.eh.e_phoff - ph.p_offset);
  return 0;
}

int64_t open_executable(Task& t, int dirfd, const std::string& path, int at_flags, PathRef& ref) {
  int flags = (at_flags & AT_SYMLINK_NOFOLLOW) ? 0 : kFollow;
  if (at_flags & AT_EMPTY_PATH) flags |= kEmptyPathOk;
  if (int64_t r = resolve(t, dirfd, path, flags, ref); r < 0) return r;
  Stat st;
  if (int64_t r = ref.inode->getattr(st); r < 0) return r;
  if (S_ISLNK(st.mode)) return -ELOOP;
  if (!S_ISREG(st.mode)) return -EACCES;
  return check_permission(t, *ref.inode, 1);
}

// Builds the initial stack; returns the stack pointer or -errno.
int64_t build_stack(Task& t, const std::vector<std::string>& argv, const std::vector<std::string>& envp,
                    const std::string& execfn, std::vector<std::pair<uint64_t, uint64_t>> auxv) {
  int64_t r = t.proc->memory->map_anonymous(kStackTop - kStackSize, kStackSize, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  if (r < 0) return r;
  // Strings go at the top; lay them out in a host buffer first.
  std::string strings;
  auto add = [&](const std::string& s) {
    uint64_t off = strings.size();
    strings += s;
    strings += '\0';
    return off;
  };
  std::vector<uint64_t> argv_off, envp_off;
  for (auto& a : argv) argv_off.push_back(add(a));
  for (auto& e : envp) envp_off.push_back(add(e));
  uint64_t execfn_off = add(execfn);
  uint64_t platform_off = add("x86_64");
  uint64_t random_off = strings.size();
  char rnd[16];
  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) memset(rnd, 0x5a, sizeof rnd);
  strings.append(rnd, sizeof rnd);
  if (strings.size() > kStackSize / 4) return -E2BIG;
  uint64_t str_base = (kStackTop - 16 - strings.size()) & ~15ull;

  auxv.push_back({AT_EXECFN, str_base + execfn_off});
  auxv.push_back({AT_PLATFORM, str_base + platform_off});
  auxv.push_back({AT_RANDOM, str_base + random_off});
  auxv.push_back({AT_NULL, 0});
  std::vector<uint64_t> words;
  words.push_back(argv.size());
  for (auto o : argv_off) words.push_back(str_base + o);
  words.push_back(0);
  for (auto o : envp_off) words.push_back(str_base + o);
  words.push_back(0);
  for (auto& [k, v] : auxv) { words.push_back(k); words.push_back(v); }
  t.proc->auxv.clear();
  for (auto& [k, v] : auxv) { t.proc->auxv.push_back(k); t.proc->auxv.push_back(v); }
  uint64_t sp = (str_base - words.size() * 8) & ~15ull;
  if (copy_to_user(t, str_base, strings.data(), strings.size()) < 0) return -EFAULT;
  if (copy_to_user(t, sp, words.data(), words.size() * 8) < 0) return -EFAULT;
  return static_cast<int64_t>(sp);
}

std::string basename_of(const std::string& p) {
  size_t k = p.rfind('/');
  return k == std::string::npos ? p : p.substr(k + 1);
}

}  // namespace

int64_t do_execve(Task& t, int dirfd, const std::string& path, std::vector<std::string> argv,
                  std::vector<std::string> envp, int at_flags) {
  PathRef ref;
  std::string exec_path = path;
  if (int64_t r = open_executable(t, dirfd, path, at_flags, ref); r < 0) return r;
  // #! scripts, nested up to 4 levels as Linux allows.
  for (int depth = 0;; depth++) {
    char head[256] = {0};
    int64_t n = ref.inode->read(0, head, sizeof head - 1);
    if (n < 0) return n;
    if (n < 2 || head[0] != '#' || head[1] != '!') break;
    if (depth >= 4) return -ELOOP;
    std::string line(head + 2, static_cast<size_t>(n - 2));
    size_t nl = line.find('\n');
    if (nl == std::string::npos && n == sizeof head - 1) return -ENOEXEC;
    if (nl != std::string::npos) line.resize(nl);
    auto trim = [](std::string s) {
      size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t\r");
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    line = trim(line);
    if (line.empty()) return -ENOEXEC;
    size_t sp = line.find_first_of(" \t");
    std::string interp = line.substr(0, sp);
    std::string arg = sp == std::string::npos ? "" : trim(line.substr(sp));
    std::vector<std::string> nargv{interp};
    if (!arg.empty()) nargv.push_back(arg);
    nargv.push_back(exec_path);
    for (size_t i = 1; i < argv.size(); i++) nargv.push_back(argv[i]);
    argv = std::move(nargv);
    exec_path = interp;
    if (int64_t r = open_executable(t, AT_FDCWD, interp, 0, ref); r < 0) return r == -EACCES ? -EACCES : r;
  }
  ElfImage main_img;
  if (int64_t r = parse_elf(ref.inode, main_img); r < 0) return r;
  ElfImage interp_img;
  bool has_interp = !main_img.interp.empty();
  if (has_interp) {
    PathRef iref;
    if (int64_t r = open_executable(t, AT_FDCWD, main_img.interp, 0, iref); r < 0) return r;
    if (int64_t r = parse_elf(iref.inode, interp_img); r < 0) return r;
    if (!interp_img.interp.empty()) return -ELIBBAD;
  }

  // Point of no return: the old image goes.
  Process& p = *t.proc;
  auto fail = [&](int64_t err) {
    UM_DEBUG("execve of %s failed after the point of no return (%ld)", exec_path.c_str(), (long)err);
    kernel().exit_process(p, SIGSEGV);
    return kTaskGone;
  };
  kernel().become_sole_thread(t);
  p.mm_id = new_mm_id();
  if (p.memory->clear() != 0) return fail(-EFAULT);
  uint64_t base = main_img.eh.e_type == ET_DYN ? kPieBase - main_img.min_vaddr : 0;
  p.mapped_files.clear();
  ipc_exec(p);  // System V segments are detached
  key_table().exec(p);  // the thread and process keyrings go
  if (int64_t r = load_segments(t, main_img, base, ref.path); r < 0) return fail(r);
  uint64_t entry = base + main_img.eh.e_entry;
  uint64_t interp_base = 0;
  if (has_interp) {
    // Let the host pick a free range for the interpreter, then fill it.
    uint64_t span = interp_img.max_vaddr - interp_img.min_vaddr;
    int64_t r = t.proc->memory->map_anonymous(0, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (r < 0) return fail(r);
    interp_base = static_cast<uint64_t>(r) - interp_img.min_vaddr;
    if (int64_t e = load_segments(t, interp_img, interp_base, main_img.interp); e < 0) return fail(e);
  }
  p.brk_start = p.brk_cur = p.brk_mapped = page_up(base + main_img.max_vaddr);

  std::vector<std::pair<uint64_t, uint64_t>> auxv = {
      {AT_PHDR, phdr_address(main_img, base)},
      {AT_PHENT, sizeof(Elf64_Phdr)},
      {AT_PHNUM, main_img.eh.e_phnum},
      {AT_PAGESZ, kPage},
      {AT_BASE, has_interp ? interp_base : 0},
      {AT_FLAGS, 0},
      {AT_ENTRY, entry},
      {AT_UID, p.cred.uid},
      {AT_EUID, p.cred.euid},
      {AT_GID, p.cred.gid},
      {AT_EGID, p.cred.egid},
      {AT_SECURE, 0},
      {AT_HWCAP, getauxval(AT_HWCAP)},
      {AT_HWCAP2, getauxval(AT_HWCAP2)},
      {AT_CLKTCK, 100},
      {AT_MINSIGSTKSZ, 2048},
  };
  int64_t sp = build_stack(t, argv, envp, exec_path, auxv);
  if (sp < 0) return fail(sp);

  // A fresh 64-bit register set: nothing of the old program (a 32-bit code segment, the
  // trap flag) carries over.
  platform::Regs regs{};
  regs.cs = 0x33;
  regs.ss = 0x2b;
  regs.eflags = 0x202;
  regs.rip = has_interp ? interp_base + interp_img.eh.e_entry : entry;
  regs.rsp = static_cast<uint64_t>(sp);
  regs.orig_rax = ~0ull;
  t.ctx->set_regs(regs);
  platform::FpRegs fp{};
  fp.cwd = 0x37f;
  fp.mxcsr = 0x1f80;
  t.ctx->set_fpregs(fp);

  // The rest of the process switches to the new image. Tables shared with other processes
  // (CLONE_FILES, CLONE_SIGHAND) are unshared first, as Linux does at exec.
  if (p.fds.use_count() > 1) p.fds = std::make_shared<FdTable>(*p.fds);
  if (p.sighand.use_count() > 1) p.sighand = std::make_shared<SignalHandlers>(*p.sighand);
  p.fds->close_on_exec();
  p.posix_timers.reset();  // timer_create timers do not survive exec
  for (int s = 1; s <= 64; s++) {
    SigAction& a = p.sighand->actions[s];
    if (a.handler != reinterpret_cast<uint64_t>(SIG_IGN)) a = SigAction{};
    else a.flags = 0;
  }
  t.altstack_flags = SS_DISABLE;
  t.altstack_sp = t.altstack_size = 0;
  t.clear_child_tid = 0;
  p.comm = basename_of(exec_path).substr(0, 15);
  p.exe_path = ref.path;
  p.cmdline = argv;
  p.environ = envp;
  caps_on_exec(p.cred);
  if (p.vfork_child && !p.vfork_released) {
    p.vfork_released = true;
    p.vfork_done.wake_all();
  }
  return 0;
}

}  // namespace um::kernel
