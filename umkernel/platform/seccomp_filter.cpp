#include "umkernel/platform/seccomp_filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "umkernel/platform/seccomp_layout.h"

extern "C" const uint8_t um_sc_stub_begin[], um_sc_stub_end[], um_sc_clone_site[], um_sc_clone_trap[],
    um_sc_site_write[], um_sc_site_futex[], um_sc_site_sigreturn[], um_sc_site_die[], um_sc_start_site[];

namespace um::kernel::platform {

namespace {

uint64_t guest_addr(const uint8_t* label) {
  return SC_STUB_BASE + SC_CODE_OFFSET + static_cast<uint64_t>(label - um_sc_stub_begin);
}

// The filter: every system call traps (SIGSYS), except these, each allowed only from its one
// instruction in the stub (the address after its syscall) and only in 64-bit mode:
//   futex(addr, FUTEX_WAIT, ...)        the stub sleeps until umkernel answers (two sites:
//                                       the hand-off, and a stub that gives up for good)
//   write(SC_WAKE_FD, ...)              the stub wakes umkernel
//   rt_sigreturn()                      the handler returns
// A guest that jumps to one of them gets only that call with its arguments checked: it can
// sleep on its own memory, wake umkernel, or set its own registers.
std::vector<sock_filter> build_filter() {
  std::vector<sock_filter> f;
  auto stmt = [&](uint16_t code, uint32_t k) { f.push_back(BPF_STMT(code, k)); };
  auto jeq = [&](uint32_t k, uint8_t jt, uint8_t jf) { f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf)); };
  constexpr uint32_t kNr = offsetof(seccomp_data, nr), kArch = offsetof(seccomp_data, arch);
  constexpr uint32_t kIpLo = offsetof(seccomp_data, instruction_pointer), kIpHi = kIpLo + 4;
  constexpr uint32_t kArg0 = offsetof(seccomp_data, args), kArg1 = kArg0 + 8;
  struct Site { uint64_t ip; uint32_t nr; bool check_arg; uint32_t arg_off; uint32_t arg; };
  const Site sites[] = {
      {guest_addr(um_sc_site_futex), SYS_futex, true, kArg1, FUTEX_WAIT},
      {guest_addr(um_sc_site_write), SYS_write, true, kArg0, SC_WAKE_FD},
      {guest_addr(um_sc_site_sigreturn), SYS_rt_sigreturn, false, 0, 0},
      {guest_addr(um_sc_site_die), SYS_futex, true, kArg1, FUTEX_WAIT},
  };
  // Layout: checks, then one block per site, then TRAP, ALLOW. Jumps are forward offsets,
  // so the blocks are emitted and the offsets patched.
  stmt(BPF_LD | BPF_W | BPF_ABS, kArch);
  size_t arch_jump = f.size();
  jeq(AUDIT_ARCH_X86_64, 0, 0);  // jf -> trap
  stmt(BPF_LD | BPF_W | BPF_ABS, kIpHi);
  size_t hi_jump = f.size();
  jeq(static_cast<uint32_t>(SC_STUB_BASE >> 32), 0, 0);  // jf -> trap
  stmt(BPF_LD | BPF_W | BPF_ABS, kIpLo);
  std::vector<size_t> site_jumps;
  for (const Site& s : sites) {
    site_jumps.push_back(f.size());
    jeq(static_cast<uint32_t>(s.ip), 0, 0);  // jt -> the site's block
  }
  std::vector<size_t> to_trap = {arch_jump, hi_jump}, to_allow;
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);  // no site matched
  std::vector<size_t> blocks;
  for (const Site& s : sites) {
    blocks.push_back(f.size());
    stmt(BPF_LD | BPF_W | BPF_ABS, kNr);
    to_trap.push_back(f.size());
    jeq(s.nr, 0, 0);  // jf -> trap
    if (s.check_arg) {
      stmt(BPF_LD | BPF_W | BPF_ABS, s.arg_off);
      to_trap.push_back(f.size());
      jeq(s.arg, 0, 0);
    }
    to_allow.push_back(f.size());
    stmt(BPF_JMP | BPF_JA, 0);
  }
  size_t trap = f.size();
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  size_t allow = f.size();
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  for (size_t i = 0; i < site_jumps.size(); i++)
    f[site_jumps[i]].jt = static_cast<uint8_t>(blocks[i] - site_jumps[i] - 1);
  for (size_t j : to_trap) f[j].jf = static_cast<uint8_t>(trap - j - 1);
  // Conditional jumps in a block: jt falls through (0) to the next instruction.
  for (size_t j : to_allow) f[j].k = static_cast<uint32_t>(allow - j - 1);
  return f;
}

}  // namespace

std::vector<sock_filter> seccomp_filter_program() { return build_filter(); }
size_t seccomp_stub_code_size() { return static_cast<size_t>(um_sc_stub_end - um_sc_stub_begin); }

void seccomp_stub_fill(uint8_t* code_page, uint8_t* filter_page) {
  size_t n = seccomp_stub_code_size();
  memcpy(code_page + SC_CODE_OFFSET, um_sc_stub_begin, n);
  std::vector<sock_filter> f = build_filter();
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(f.size());
  prog.filter = reinterpret_cast<sock_filter*>(SC_FILTER_PAGE + 16);
  memcpy(filter_page, &prog, sizeof prog);
  memcpy(filter_page + 16, f.data(), f.size() * sizeof(sock_filter));
}

uint64_t seccomp_clone_site() { return guest_addr(um_sc_clone_site); }
uint64_t seccomp_clone_trap() { return guest_addr(um_sc_clone_trap); }
uint64_t seccomp_start_site() { return guest_addr(um_sc_start_site); }
bool seccomp_in_stub_code(uint64_t rip) {
  return rip >= SC_STUB_BASE && rip < SC_STUB_BASE + 0x1000;
}

}  // namespace um::kernel::platform
