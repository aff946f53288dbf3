// ptrace(2): the requests a tracer makes (kernel/ptrace.h has the tracee's side). Registers
// and memory of the tracee go through the platform (Context, AddressSpace), so this works on
// every platform.
#include <elf.h>
#include <linux/audit.h>
#include <linux/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include <cstddef>
#include <cstring>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/ptrace.h"
#include "umkernel/kernel/signal_delivery.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

constexpr uint32_t kOptionMask = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                                 PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEVFORKDONE |
                                 PTRACE_O_TRACEEXIT | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL |
                                 PTRACE_O_SUSPEND_SECCOMP;
constexpr uint64_t kFlagMask = 0x50DD5;  // CF PF AF ZF SF TF DF OF RF AC (Linux's FLAG_MASK)
constexpr size_t kDebugRegOffset = offsetof(struct user, u_debugreg);
// The kernel's struct user ends with error_code and fault_address after u_debugreg (glibc's not).
constexpr size_t kUserSize = sizeof(struct user) + 16;
constexpr size_t kXstateSize = 576;       // the legacy area and the XSAVE header (x87 + SSE)
constexpr size_t kXcr0Offset = 464;       // where Linux puts XCR0 in the legacy area's spare bytes

bool valid_signal(uint64_t sig) { return sig <= 64; }

// Linux's ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS).
bool may_attach(Task& t, const Process& target) {
  if (capable(t, CAP_SYS_PTRACE)) return true;
  const Credentials& c = t.proc->cred;
  const Credentials& d = target.cred;
  return c.uid == d.uid && c.uid == d.euid && c.uid == d.suid && c.gid == d.gid && c.gid == d.egid &&
         c.gid == d.sgid;
}

// Linux's putreg: what a tracer may write into one register.
int64_t put_reg(Task& tr, size_t off, uint64_t v) {
  auto& r = tr.regs();
  switch (off) {
    case offsetof(platform::Regs, cs):
      if (v != 0x33 && v != 0x23) return -EIO;  // user code segments only
      break;
    case offsetof(platform::Regs, ss):
      if (v != 0x2b) return -EIO;
      break;
    case offsetof(platform::Regs, ds):
    case offsetof(platform::Regs, es):
    case offsetof(platform::Regs, fs):
    case offsetof(platform::Regs, gs):
      if (v >= 0x10000 || (v && (v & 3) != 3)) return -EIO;
      break;
    case offsetof(platform::Regs, eflags):
      r.eflags = (r.eflags & ~kFlagMask) | (v & kFlagMask);
      if (v & kTrapFlag) tr.ptrace.forced_tf = false;  // the tracer's own TF stays
      return 0;
    case offsetof(platform::Regs, fs_base):
    case offsetof(platform::Regs, gs_base):
      if (v >= platform::kTaskSize) return -EIO;
      break;
    default:
      break;
  }
  memcpy(reinterpret_cast<char*>(&r) + off, &v, sizeof v);
  return 0;
}

int64_t set_regs(Task& tr, const platform::Regs& in) {
  for (size_t off = 0; off < sizeof in; off += 8) {
    uint64_t v;
    memcpy(&v, reinterpret_cast<const char*>(&in) + off, sizeof v);
    uint64_t cur;
    memcpy(&cur, reinterpret_cast<const char*>(&tr.regs()) + off, sizeof cur);
    if (v == cur) continue;
    if (int64_t r = put_reg(tr, off, v); r < 0) return r;
  }
  return 0;
}

int64_t set_debugreg(Task& tr, int n, uint64_t v) {
  if (n == 4 || n == 5) return -EIO;
  if (n < 4 && v >= platform::kTaskSize) return -EIO;
  if (n == 7) {
    // A length of 8 bytes or an I/O breakpoint is refused as Linux does (-EINVAL),
    // misaligned addresses too.
    for (int i = 0; i < 4; i++) {
      if (!((v >> (2 * i)) & 3)) continue;
      int rw = static_cast<int>((v >> (16 + 4 * i)) & 3);
      int len = static_cast<int>((v >> (18 + 4 * i)) & 3);
      if (rw == 2) return -EINVAL;
      if (rw == 0 && len != 0) return -EINVAL;
      uint64_t bytes = len == 0 ? 1 : len == 1 ? 2 : len == 2 ? 8 : 4;
      if (tr.ptrace.debugreg[i] & (bytes - 1)) return -EINVAL;
    }
  }
  tr.ptrace.debugreg[n] = v;
  return 0;
}

int64_t get_fp(Task& tr, platform::FpRegs& fp) {
  memset(&fp, 0, sizeof fp);
  return tr.ctx->get_fpregs(fp) ? 0 : -EIO;
}

int64_t set_fp(Task& tr, platform::FpRegs fp) {
  if (fp.mxcsr & ~0xffffu) return -EINVAL;
  return tr.ctx->set_fpregs(fp) ? 0 : -EIO;
}

// PTRACE_GETREGSET / SETREGSET: an iovec whose length says how much, and is updated.
int64_t regset(Task& t, Task& tr, bool get, uint64_t type, uint64_t iov_addr) {
  iovec iov;
  if (get_user(t, iov_addr, iov) < 0) return -EFAULT;
  uint64_t base = reinterpret_cast<uint64_t>(iov.iov_base);
  size_t len = iov.iov_len;
  if (len % 8) return -EINVAL;
  std::vector<uint8_t> buf;
  switch (type) {
    case NT_PRSTATUS: buf.resize(sizeof(platform::Regs)); memcpy(buf.data(), &tr.regs(), buf.size()); break;
    case NT_PRFPREG: {
      platform::FpRegs fp;
      if (int64_t r = get_fp(tr, fp); r < 0) return r;
      buf.assign(reinterpret_cast<uint8_t*>(&fp), reinterpret_cast<uint8_t*>(&fp) + sizeof fp);
      break;
    }
    case NT_X86_XSTATE: {
      // The XSAVE layout with the x87 and SSE state umkernel keeps (no AVX state).
      platform::FpRegs fp;
      if (int64_t r = get_fp(tr, fp); r < 0) return r;
      buf.assign(kXstateSize, 0);
      memcpy(buf.data(), &fp, sizeof fp);
      uint64_t xcr0 = 3, xstate_bv = 3;
      memcpy(buf.data() + kXcr0Offset, &xcr0, 8);
      memcpy(buf.data() + 512, &xstate_bv, 8);
      break;
    }
    default:
      return -EINVAL;
  }
  len = std::min(len, buf.size());
  if (get) {
    if (copy_to_user(t, base, buf.data(), len) < 0) return -EFAULT;
  } else {
    if (copy_from_user(t, buf.data(), base, len) < 0) return -EFAULT;
    if (type == NT_PRSTATUS) {
      platform::Regs r = tr.regs();
      memcpy(&r, buf.data(), len);
      if (int64_t e = set_regs(tr, r); e < 0) return e;
    } else {
      if (len < sizeof(platform::FpRegs)) return -EINVAL;
      platform::FpRegs fp;
      memcpy(&fp, buf.data(), sizeof fp);
      if (int64_t e = set_fp(tr, fp); e < 0) return e;
    }
  }
  iov.iov_len = len;
  if (put_user(t, iov_addr + offsetof(iovec, iov_len), iov.iov_len) < 0) return -EFAULT;
  return 0;
}

// PTRACE_GET_SYSCALL_INFO.
int64_t syscall_info(Task& t, Task& tr, uint64_t size, uint64_t addr) {
  ptrace_syscall_info info{};
  info.arch = AUDIT_ARCH_X86_64;
  const auto& r = tr.regs();
  info.instruction_pointer = r.rip;
  info.stack_pointer = r.rsp;
  size_t actual = offsetof(ptrace_syscall_info, entry);
  if (tr.ptrace.after == PtraceAfter::SyscallEntry) {
    info.op = PTRACE_SYSCALL_INFO_ENTRY;
    info.entry.nr = r.orig_rax;
    uint64_t args[6] = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
    memcpy(info.entry.args, args, sizeof args);
    actual = offsetof(ptrace_syscall_info, entry.args) + sizeof info.entry.args;
  } else if (tr.ptrace.after == PtraceAfter::SyscallExit) {
    info.op = PTRACE_SYSCALL_INFO_EXIT;
    info.exit.rval = static_cast<int64_t>(r.rax);
    info.exit.is_error = info.exit.rval < 0 && info.exit.rval >= -4095;
    actual = offsetof(ptrace_syscall_info, exit.is_error) + sizeof info.exit.is_error;
  }
  size_t n = std::min<uint64_t>(size, actual);
  if (n && copy_to_user(t, addr, &info, n) < 0) return -EFAULT;
  return static_cast<int64_t>(actual);
}

int64_t attach(Task& t, Task& tr, bool seize, uint64_t addr, uint64_t data) {
  if (seize) {
    if (addr != 0) return -EIO;
    if (data & ~static_cast<uint64_t>(kOptionMask)) return -EIO;
  }
  if (tr.proc == t.proc) return -EPERM;
  if (tr.ptrace.attached || tr.proc->zombie || tr.state == TaskState::Dead) return -EPERM;
  if (!may_attach(t, *tr.proc)) return -EPERM;
  auto self = kernel().process_by_pid(t.proc->pid);
  ptrace_link(tr, self, seize, seize ? static_cast<uint32_t>(data) : 0);
  if (!seize) ptrace_queue_signal(tr, SIGSTOP);
  else if (tr.state == TaskState::Stopped) ptrace_kick(tr);  // a stopped tracee traps at once
  return 0;
}

int64_t resume(Task& tr, long req, uint64_t data) {
  if (!valid_signal(data)) return -EIO;
  PtraceState& s = tr.ptrace;
  switch (req) {
    case PTRACE_SYSCALL: s.mode = PtraceMode::Syscall; break;
    case PTRACE_SYSEMU: s.mode = PtraceMode::Sysemu; break;
    case PTRACE_SINGLESTEP: s.mode = PtraceMode::SingleStep; break;
    case PTRACE_SYSEMU_SINGLESTEP: s.mode = PtraceMode::SysemuSingleStep; break;
    default: s.mode = PtraceMode::Cont; break;
  }
  int sig = static_cast<int>(data);
  if (s.after == PtraceAfter::Signal) {
    s.inject_sig = sig;
  } else if (sig && (s.after == PtraceAfter::SyscallEntry || s.after == PtraceAfter::SyscallExit)) {
    kernel().send_signal_to_task(tr, sig);  // Linux's quirk: a signal given at a syscall stop is sent
  }
  kernel().ptrace_queue_resume(tr);
  return 0;
}

}  // namespace

int64_t sys_ptrace(Task& t) {
  long req = static_cast<long>(t.arg(0));
  int pid = t.int_arg(1);
  uint64_t addr = t.arg(2), data = t.arg(3);
  Kernel& k = kernel();
  if (req == PTRACE_TRACEME) {
    auto parent = t.proc->parent.lock();
    if (t.ptrace.attached || !parent || parent->zombie) return -EPERM;
    ptrace_link(t, parent, false, 0);
    return 0;
  }
  Task* tr = pid > 0 ? k.task_by_tid(pid) : nullptr;
  if (!tr) return -ESRCH;
  if (req == PTRACE_ATTACH || req == PTRACE_SEIZE) return attach(t, *tr, req == PTRACE_SEIZE, addr, data);
  if (ptrace_tracer(*tr).get() != t.proc.get()) return -ESRCH;
  PtraceState& s = tr->ptrace;
  if (req == PTRACE_KILL) {
    k.send_signal_to_process(*tr->proc, SIGKILL);
    return 0;
  }
  if (req == PTRACE_INTERRUPT) {
    if (!s.seized) return -EIO;
    if (tr->state == TaskState::Traced && !s.resume_requested) {
      if (s.listening && s.after == PtraceAfter::Group) {  // traps again at once
        s.interrupt_pending = true;
        k.ptrace_queue_resume(*tr);
      }
      return 0;
    }
    s.interrupt_pending = true;
    ptrace_kick(*tr);
    return 0;
  }
  bool stopped = tr->state == TaskState::Traced && !s.resume_requested && !s.listening;
  if (!stopped) return -ESRCH;
  switch (req) {
    case PTRACE_PEEKTEXT:
    case PTRACE_PEEKDATA: {
      uint64_t word;
      if (tr->proc->memory->read(&word, addr, sizeof word) != 0) return -EIO;
      return put_user(t, data, word) < 0 ? -EFAULT : 0;
    }
    case PTRACE_POKETEXT:
    case PTRACE_POKEDATA:
      return tr->proc->memory->write(addr, &data, sizeof data) != 0 ? -EIO : 0;
    case PTRACE_PEEKUSR: {
      if ((addr & 7) || addr >= kUserSize) return -EIO;
      uint64_t v = 0;
      if (addr < sizeof(platform::Regs)) memcpy(&v, reinterpret_cast<const char*>(&tr->regs()) + addr, 8);
      else if (addr >= kDebugRegOffset && addr < kDebugRegOffset + 64) v = s.debugreg[(addr - kDebugRegOffset) / 8];
      return put_user(t, data, v) < 0 ? -EFAULT : 0;
    }
    case PTRACE_POKEUSR:
      if ((addr & 7) || addr >= kUserSize) return -EIO;
      if (addr < sizeof(platform::Regs)) return put_reg(*tr, addr, data);
      if (addr >= kDebugRegOffset && addr < kDebugRegOffset + 64)
        return set_debugreg(*tr, static_cast<int>((addr - kDebugRegOffset) / 8), data);
      return -EIO;
    case PTRACE_GETREGS:
      return copy_to_user(t, data, &tr->regs(), sizeof(platform::Regs)) < 0 ? -EFAULT : 0;
    case PTRACE_SETREGS: {
      platform::Regs r;
      if (copy_from_user(t, &r, data, sizeof r) < 0) return -EFAULT;
      return set_regs(*tr, r);
    }
    case PTRACE_GETFPREGS: {
      platform::FpRegs fp;
      if (int64_t r = get_fp(*tr, fp); r < 0) return r;
      return copy_to_user(t, data, &fp, sizeof fp) < 0 ? -EFAULT : 0;
    }
    case PTRACE_SETFPREGS: {
      platform::FpRegs fp;
      if (copy_from_user(t, &fp, data, sizeof fp) < 0) return -EFAULT;
      return set_fp(*tr, fp);
    }
    case PTRACE_GETREGSET:
    case PTRACE_SETREGSET:
      return regset(t, *tr, req == PTRACE_GETREGSET, addr, data);
    case PTRACE_GETSIGINFO:
      if (!s.has_siginfo) return -EINVAL;
      return put_user(t, data, s.siginfo) < 0 ? -EFAULT : 0;
    case PTRACE_SETSIGINFO: {
      if (!s.has_siginfo) return -EINVAL;
      siginfo_t si;
      if (get_user(t, data, si) < 0) return -EFAULT;
      s.siginfo = si;
      return 0;
    }
    case PTRACE_GETEVENTMSG:
      return put_user(t, data, static_cast<unsigned long>(s.message)) < 0 ? -EFAULT : 0;
    case PTRACE_SETOPTIONS:
      if (data & ~static_cast<uint64_t>(kOptionMask)) return -EINVAL;
      s.options = static_cast<uint32_t>(data);
      return 0;
    case PTRACE_GETSIGMASK:
      if (addr != sizeof(uint64_t)) return -EINVAL;
      return put_user(t, data, tr->blocked) < 0 ? -EFAULT : 0;
    case PTRACE_SETSIGMASK: {
      if (addr != sizeof(uint64_t)) return -EINVAL;
      uint64_t m;
      if (get_user(t, data, m) < 0) return -EFAULT;
      tr->blocked = m & ~kUnblockable;
      return 0;
    }
    case PTRACE_GET_SYSCALL_INFO:
      return syscall_info(t, *tr, addr, data);
    case PTRACE_ARCH_PRCTL: {
      auto& r = tr->regs();
      switch (static_cast<int>(addr)) {
        case 0x1001: return put_reg(*tr, offsetof(platform::Regs, gs_base), data);  // ARCH_SET_GS
        case 0x1002: return put_reg(*tr, offsetof(platform::Regs, fs_base), data);  // ARCH_SET_FS
        case 0x1003: return put_user(t, data, r.fs_base) < 0 ? -EFAULT : 0;        // ARCH_GET_FS
        case 0x1004: return put_user(t, data, r.gs_base) < 0 ? -EFAULT : 0;        // ARCH_GET_GS
        default: return -EINVAL;
      }
    }
    case PTRACE_LISTEN:
      if (!s.seized || s.after != PtraceAfter::Group) return -EIO;
      s.listening = true;
      if (s.interrupt_pending) k.ptrace_queue_resume(*tr);  // SIGCONT came meanwhile: trap again
      return 0;
    case PTRACE_CONT:
    case PTRACE_SYSCALL:
    case PTRACE_SYSEMU:
    case PTRACE_SINGLESTEP:
    case PTRACE_SYSEMU_SINGLESTEP:
      return resume(*tr, req, data);
    case PTRACE_DETACH:
      if (!valid_signal(data)) return -EIO;
      ptrace_detach(*tr, static_cast<int>(data));
      return 0;
    default:
      return -EIO;
  }
}

namespace {
const SyscallRow kRows[] = {
    UM_PARTIAL(ptrace, "dddx",
               "guest processes trace each other as on Linux (strace and gdb work): syscall, signal, "
               "group and event stops, registers (FP as FXSAVE; NT_X86_XSTATE without AVX state), "
               "single-step; hardware watchpoints are emulated by stepping (write/access watchpoints "
               "fire when the value changes); no PTRACE_PEEKSIGINFO, no seccomp events"),
};
}  // namespace

std::span<const SyscallRow> ptrace_syscalls() { return kRows; }

}  // namespace um::kernel
