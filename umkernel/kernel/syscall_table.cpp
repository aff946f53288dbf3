#include "umkernel/kernel/syscall_table.h"

#include <sys/syscall.h>

#include <array>

#include "umkernel/sys/syscalls.h"

namespace um::kernel {

namespace {

using S = Support;

using Row = SyscallRow;

#define F(name, args) {SYS_##name, {#name, sys_##name, args, S::Full, ""}}
#define P(name, args, note) {SYS_##name, {#name, sys_##name, args, S::Partial, note}}
#define N(name, args, note) {SYS_##name, {#name, nullptr, args, S::Stub, note}}

const Row kRows[] = {
    // processes
    F(fork, ""), P(vfork, "", "the child gets a copy of memory; the parent waits for exec/exit"),
    P(clone, "xppxx", "processes only (no CLONE_VM/CLONE_THREAD yet)"),
    P(clone3, "pu", "returns ENOSYS so that libc falls back to clone"),
    F(execve, "spp"), F(execveat, "fsppx"), F(exit, "d"), F(exit_group, "d"),
    F(wait4, "dpxp"), F(waitid, "ddpxp"), F(getpid, ""), F(getppid, ""), F(gettid, ""),
    F(setpgid, "dd"), F(getpgid, "d"), F(getpgrp, ""), F(setsid, ""), F(getsid, "d"),
    F(getuid, ""), F(geteuid, ""), F(getgid, ""), F(getegid, ""), F(setuid, "u"),
    F(setgid, "u"), F(setreuid, "uu"), F(setregid, "uu"), F(setresuid, "uuu"),
    F(setresgid, "uuu"), F(getresuid, "ppp"), F(getresgid, "ppp"), F(setfsuid, "u"),
    F(setfsgid, "u"), F(getgroups, "dp"), F(setgroups, "dp"), F(umask, "m"),
    P(prctl, "dxxxx", "PR_SET/GET_NAME, PDEATHSIG, DUMPABLE, NO_NEW_PRIVS, CHILD_SUBREAPER"),
    F(arch_prctl, "xx"), F(set_tid_address, "p"), P(rseq, "pudx", "returns ENOSYS (libc works without it)"),
    // signals
    F(rt_sigaction, "dppu"), F(rt_sigprocmask, "dppu"), F(rt_sigreturn, ""), F(kill, "dd"),
    F(tgkill, "ddd"), F(tkill, "dd"), F(rt_sigpending, "pu"), F(rt_sigsuspend, "pu"),
    F(sigaltstack, "pp"), F(pause, ""), F(rt_sigtimedwait, "pppu"), F(alarm, "u"),
    F(getitimer, "dp"), P(setitimer, "dpp", "ITIMER_REAL only"),
    // file descriptors
    F(read, "fBu"), F(write, "fbu"), F(readv, "fpd"), F(writev, "fpd"), F(pread64, "fBud"),
    F(pwrite64, "fbud"), F(preadv, "fpdd"), F(pwritev, "fpdd"), F(lseek, "fdd"), F(close, "f"),
    F(dup, "f"), F(dup2, "ff"), F(dup3, "ffo"), F(fcntl, "fdx"),
    F(pipe, "p"), F(pipe2, "po"), P(ioctl, "fxx", "terminals, FIONBIO, FIOCLEX, FIONREAD"),
    F(fsync, "f"), F(fdatasync, "f"), F(ftruncate, "fd"), F(getdents64, "fpu"),
    F(getdents, "fpu"), F(close_range, "ffx"), F(sendfile, "ffpu"), F(fadvise64, "fddd"), F(flock, "fd"), F(copy_file_range, "fpfpux"),
    P(fallocate, "fddd", "mode 0 and KEEP_SIZE; holes and zero ranges EOPNOTSUPP"),
    // file systems
    F(open, "som"), F(openat, "fsom"), F(creat, "sm"), F(stat, "sp"), F(lstat, "sp"),
    F(fstat, "fp"), F(newfstatat, "fspx"), F(statx, "fsxxp"), F(access, "sd"),
    F(faccessat, "fsd"), F(faccessat2, "fsdx"), F(mkdir, "sm"), F(mkdirat, "fsm"),
    F(rmdir, "s"), F(unlink, "s"), F(unlinkat, "fsx"), F(rename, "ss"), F(renameat, "fsfs"),
    F(renameat2, "fsfsx"), F(link, "ss"), F(linkat, "fsfsx"), F(symlink, "ss"),
    F(symlinkat, "sfs"), F(readlink, "sBu"), F(readlinkat, "fsBu"), F(chmod, "sm"),
    F(fchmod, "fm"), F(fchmodat, "fsm"), F(chown, "sdd"), F(fchown, "fdd"), F(lchown, "sdd"),
    F(fchownat, "fsddx"), F(utimensat, "fspx"), F(utimes, "sp"), F(utime, "sp"),
    F(truncate, "sd"), F(chdir, "s"), F(fchdir, "f"), F(getcwd, "Bu"), F(statfs, "sp"),
    F(fstatfs, "fp"), F(mknod, "smx"), F(mknodat, "fsmx"),
    P(mount, "sssxp", "ext2/3/4 ubd disks, proc, sysfs, tmpfs, devtmpfs, bind and remount"), F(umount2, "sx"),
    F(sync, ""), F(syncfs, "f"), F(chroot, "s"),
    F(getxattr, "sspu"), F(lgetxattr, "sspu"), F(fgetxattr, "fspu"), F(setxattr, "sspux"),
    F(lsetxattr, "sspux"), F(fsetxattr, "fspux"), F(listxattr, "spu"), F(llistxattr, "spu"),
    F(flistxattr, "fpu"), F(removexattr, "ss"), F(lremovexattr, "ss"), F(fremovexattr, "fs"),
    P(memfd_create, "sx", "no file seals"),
    // memory
    F(brk, "x"), P(mmap, "xuxxfx", "tmpfs/memfd files map shared; image files map as private copies, writable MAP_SHARED on them is ENODEV"),
    F(munmap, "xu"), F(mprotect, "xux"), F(mremap, "xuuxx"), F(madvise, "xud"),
    F(msync, "xux"),
    // time
    F(nanosleep, "pp"), F(clock_nanosleep, "dxpp"), F(clock_gettime, "dp"),
    F(clock_getres, "dp"), F(gettimeofday, "pp"), F(time, "p"), F(times, "p"),
    F(getrusage, "dp"),
    // polling
    F(poll, "pud"), F(ppoll, "pupp"), F(select, "dpppp"), F(pselect6, "dppppp"),
    // misc
    F(uname, "p"), F(sethostname, "su"), F(setdomainname, "su"), F(getrandom, "Bux"),
    F(sysinfo, "p"), F(getrlimit, "dp"), F(setrlimit, "dp"), F(prlimit64, "ddpp"),
    F(sched_yield, ""), F(reboot, "xxxp"), F(getcpu, "ppp"), F(sched_getaffinity, "dup"),
    F(getpriority, "dd"), F(setpriority, "ddd"),
};

#undef F
#undef P
#undef N

std::array<SyscallInfo, kMaxSyscall> build() {
  std::array<SyscallInfo, kMaxSyscall> t{};
  for (const Row& r : kRows) t[r.nr] = r.info;
  for (auto family : {socket_rows(), event_rows(), tty_rows(), futex_rows()})
    for (const Row& r : family) t[r.nr] = r.info;
  return t;
}

}  // namespace

const SyscallInfo* syscall_info(long nr) {
  static const std::array<SyscallInfo, kMaxSyscall> table = build();
  if (nr < 0 || nr >= kMaxSyscall) return nullptr;
  return &table[nr];
}

}  // namespace um::kernel
