// Handlers, one per system call, grouped by family (one .cpp per family).
#pragma once
#include <cstdint>

namespace um::kernel {
class Task;

#define UM_SYSCALLS(X)                                                                          \
  /* process.cpp */                                                                             \
  X(fork) X(vfork) X(clone) X(execve) X(execveat) X(exit) X(exit_group) X(wait4) X(waitid)     \
  X(getpid) X(getppid) X(gettid) X(setpgid) X(getpgid) X(getpgrp) X(setsid) X(getsid)          \
  X(getuid) X(geteuid) X(getgid) X(getegid) X(setuid) X(setgid) X(setreuid) X(setregid)        \
  X(setresuid) X(setresgid) X(getresuid) X(getresgid) X(setfsuid) X(setfsgid) X(getgroups)     \
  X(setgroups) X(umask) X(prctl) X(arch_prctl) X(set_tid_address) X(rseq) X(clone3)                                                          \
  /* signal.cpp */                                                                              \
  X(rt_sigaction) X(rt_sigprocmask) X(rt_sigreturn) X(kill) X(tgkill) X(tkill)                \
  X(rt_sigpending) X(rt_sigsuspend) X(sigaltstack) X(pause) X(rt_sigtimedwait) X(alarm)        \
  X(getitimer) X(setitimer)                                     \
  /* file.cpp */                                                                                \
  X(read) X(write) X(readv) X(writev) X(pread64) X(pwrite64) X(preadv) X(pwritev) X(lseek)     \
  X(close) X(dup) X(dup2) X(dup3) X(fcntl) X(pipe) X(pipe2) X(ioctl) X(fsync) X(fdatasync)     \
  X(ftruncate) X(getdents64) X(getdents) X(close_range) X(sendfile) X(fadvise64) X(flock) \
  X(copy_file_range) X(fallocate)                               \
  /* fs.cpp */                                                                                  \
  X(open) X(openat) X(creat) X(stat) X(lstat) X(fstat) X(newfstatat) X(statx) X(access)       \
  X(faccessat) X(faccessat2) X(mkdir) X(mkdirat) X(rmdir) X(unlink) X(unlinkat) X(rename)     \
  X(renameat) X(renameat2) X(link) X(linkat) X(symlink) X(symlinkat) X(readlink)              \
  X(readlinkat) X(chmod) X(fchmod) X(fchmodat) X(chown) X(fchown) X(lchown) X(fchownat)       \
  X(utimensat) X(utimes) X(utime) X(truncate) X(chdir) X(fchdir) X(getcwd) X(statfs)          \
  X(fstatfs) X(mknod) X(mknodat) X(mount) X(umount2) X(sync) X(syncfs) X(chroot)               \
  X(getxattr) X(lgetxattr) X(fgetxattr) X(setxattr) X(lsetxattr) X(fsetxattr) X(listxattr)    \
  X(llistxattr) X(flistxattr) X(removexattr) X(lremovexattr) X(fremovexattr) X(memfd_create)               \
  /* mm.cpp */                                                                                  \
  X(brk) X(mmap) X(munmap) X(mprotect) X(mremap) X(madvise) X(msync)                           \
  /* time.cpp */                                                                                \
  X(nanosleep) X(clock_nanosleep) X(clock_gettime) X(clock_getres) X(gettimeofday) X(time)   \
  X(times) X(getrusage)                                                                         \
  /* poll.cpp */                                                                                \
  X(poll) X(ppoll) X(select) X(pselect6)                                                        \
  /* misc.cpp */                                                                                \
  X(uname) X(sethostname) X(setdomainname) X(getrandom) X(sysinfo) X(getrlimit) X(setrlimit)  \
  X(prlimit64) X(sched_yield) X(reboot) X(getcpu) X(sched_getaffinity) X(getpriority)         \
  X(setpriority)

#define UM_DECLARE_SYSCALL(name) int64_t sys_##name(Task& t);
UM_SYSCALLS(UM_DECLARE_SYSCALL)
#undef UM_DECLARE_SYSCALL

}  // namespace um::kernel
