// Lets Debian's UML kernel (6.1) run on hosts whose XSAVE area is larger than UML's buffer.
//
// UML saves and restores a guest process's FPU state with PTRACE_GETREGSET/SETREGSET
// (NT_X86_XSTATE) on a fixed-size buffer. Since Linux 5.14 the host refuses a SETREGSET whose
// length is not exactly the full user XSAVE size (arch/x86/kernel/fpu/regset.c,
// xstateregs_set: "count != fpu_user_cfg.max_size" -> EFAULT). On a CPU with AMX the full size
// is about 11 KiB, UML's buffer is smaller, and every UML boot dies at its first user process
// ("userspace - ptrace set fp regs failed, errno = 14", then "Attempted to kill init!").
//
// Loaded into UML with LD_PRELOAD (tests/tools/uml runs it so), this wrapper of libc's ptrace()
// gives the host a full-size buffer: a GETREGSET reads the whole area and hands UML the part
// that fits; a SETREGSET (one host call, as UML's own) sends UML's part with every component
// that does not fit in UML's buffer marked as in its initial state (its XSTATE_BV bit
// cleared), which is what UML could have kept of it anyway. Every other request goes to libc's ptrace() unchanged.
//
// This is test tooling for a real peer, not part of um: umkernel does not use it.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

enum { kLegacyArea = 512, kHeaderSize = 64, kMaxXsave = 64 * 1024 };

// One buffer is enough: UML's tracer side is single-threaded around these calls.
static unsigned char full[kMaxXsave] __attribute__((aligned(64)));

typedef long (*ptrace_fn)(int, pid_t, void*, void*);

static ptrace_fn real_ptrace(void) {
  static ptrace_fn fn;
  if (!fn) fn = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  return fn;
}

static void cpuid_count(unsigned leaf, unsigned sub, unsigned* a, unsigned* b, unsigned* c,
                        unsigned* d) {
  __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

// Clears the XSTATE_BV bit of every extended component that does not fit in `len` bytes of a
// standard-format XSAVE image (offsets from CPUID leaf 0xD).
static void drop_components_beyond(unsigned char* xsave, size_t len) {
  uint64_t bv;
  memcpy(&bv, xsave + kLegacyArea, sizeof bv);
  for (unsigned i = 2; i < 64; i++) {
    if (!(bv & (1ull << i))) continue;
    unsigned size, offset, ecx, edx;
    cpuid_count(0xD, i, &size, &offset, &ecx, &edx);
    if (size == 0 || (size_t)offset + size > len) bv &= ~(1ull << i);
  }
  memcpy(xsave + kLegacyArea, &bv, sizeof bv);
}

long ptrace(enum __ptrace_request request, ...) {
  va_list ap;
  va_start(ap, request);
  pid_t pid = va_arg(ap, pid_t);
  void* addr = va_arg(ap, void*);
  void* data = va_arg(ap, void*);
  va_end(ap);

  ptrace_fn next = real_ptrace();
  if ((request != PTRACE_GETREGSET && request != PTRACE_SETREGSET) ||
      (uintptr_t)addr != NT_X86_XSTATE || data == NULL)
    return next(request, pid, addr, data);

  struct iovec* uml = (struct iovec*)data;
  // The host's full XSAVE size, learnt once: a GETREGSET truncates iov_len to it.
  static size_t host_size;
  if (!host_size) {
    struct iovec probe = {full, sizeof full};
    if (next(PTRACE_GETREGSET, pid, (void*)NT_X86_XSTATE, &probe) < 0)
      return next(request, pid, addr, data);
    host_size = probe.iov_len;
  }
  if (host_size <= uml->iov_len || uml->iov_len < kLegacyArea + kHeaderSize)
    return next(request, pid, addr, data);  // the buffer fits (or is odd): nothing to mend

  struct iovec host = {full, host_size};
  if (request == PTRACE_GETREGSET) {
    long r = next(PTRACE_GETREGSET, pid, (void*)NT_X86_XSTATE, &host);
    if (r < 0) return r;
    memcpy(uml->iov_base, full, uml->iov_len);
    drop_components_beyond((unsigned char*)uml->iov_base, uml->iov_len);
    return 0;
  }
  // SETREGSET: UML's part, and every component beyond it marked initial (so what the rest of
  // the buffer holds is never read by the host).
  memcpy(full, uml->iov_base, uml->iov_len);
  memset(full + uml->iov_len, 0, host_size - uml->iov_len);
  drop_components_beyond(full, uml->iov_len);
  return next(PTRACE_SETREGSET, pid, (void*)NT_X86_XSTATE, &host);
}
