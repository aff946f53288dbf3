// Miscellany: uname, hostname, randomness, sysinfo, resource limits, scheduling, reboot.
#include <linux/reboot.h>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/vfs/procfs.h"
#include "umkernel/vfs/procfs_system.h"

namespace um::kernel {

int64_t sys_uname(Task& t) {
  struct utsname u;
  memset(&u, 0, sizeof u);
  strcpy(u.sysname, "Linux");
  strncpy(u.nodename, hostname().c_str(), sizeof u.nodename - 1);
  strcpy(u.release, "6.1.0-um");
  strcpy(u.version, "#1 SMP umkernel");
  strcpy(u.machine, "x86_64");
  strncpy(u.domainname, domainname().c_str(), sizeof u.domainname - 1);
  return put_user(t, t.arg(0), u);
}

static int64_t set_name(Task& t, bool host) {
  if (t.proc->cred.euid != 0) return -EPERM;
  uint64_t len = t.arg(1);
  if (len > 64) return -EINVAL;
  std::string s(len, '\0');
  if (len && copy_from_user(t, s.data(), t.arg(0), len) < 0) return -EFAULT;
  if (host) set_hostname(s);
  else set_domainname(s);
  return 0;
}
int64_t sys_sethostname(Task& t) { return set_name(t, true); }
int64_t sys_setdomainname(Task& t) { return set_name(t, false); }

int64_t sys_getrandom(Task& t) {
  uint64_t len = std::min<uint64_t>(t.arg(1), 1 << 25);
  if (t.arg(2) & ~(GRND_NONBLOCK | GRND_RANDOM | 0x4 /* GRND_INSECURE */)) return -EINVAL;
  std::vector<char> buf(len);
  size_t done = 0;
  while (done < len) {
    ssize_t r = getrandom(buf.data() + done, len - done, 0);
    if (r <= 0) break;
    done += r;
  }
  if (done && copy_to_user(t, t.arg(0), buf.data(), done) < 0) return -EFAULT;
  return static_cast<int64_t>(done);
}

int64_t sys_sysinfo(Task& t) {
  struct sysinfo si;
  memset(&si, 0, sizeof si);
  si.uptime = (monotonic_ns() - kernel().boot_time_ns()) / 1000000000;
  si.totalram = proc_memory_total();
  si.freeram = si.totalram;
  int n = 0;
  for (auto& [pid, p] : kernel().processes()) n += !p->zombie;
  si.procs = static_cast<unsigned short>(n);
  si.mem_unit = 1;
  return put_user(t, t.arg(0), si);
}

namespace {
int64_t do_prlimit(Task& t, int pid, unsigned res, uint64_t new_addr, uint64_t old_addr) {
  if (res >= RLIM_NLIMITS) return -EINVAL;
  std::shared_ptr<Process> p = pid == 0 ? kernel().process_by_pid(t.proc->pid) : kernel().process_by_pid(pid);
  if (!p) return -ESRCH;
  rlimit& cur = p->rlimits[res];
  rlimit old = cur;
  if (new_addr) {
    rlimit n;
    if (get_user(t, new_addr, n) < 0) return -EFAULT;
    if (n.rlim_cur > n.rlim_max) return -EINVAL;
    if (n.rlim_max > cur.rlim_max && t.proc->cred.euid != 0) return -EPERM;
    if (res == RLIMIT_NOFILE && n.rlim_max > static_cast<rlim_t>(FdTable::kMaxFds)) return -EPERM;
    cur = n;
  }
  if (old_addr && put_user(t, old_addr, old) < 0) return -EFAULT;
  return 0;
}
}  // namespace

int64_t sys_getrlimit(Task& t) { return do_prlimit(t, 0, static_cast<unsigned>(t.arg(0)), 0, t.arg(1)); }
int64_t sys_setrlimit(Task& t) { return do_prlimit(t, 0, static_cast<unsigned>(t.arg(0)), t.arg(1), 0); }
int64_t sys_prlimit64(Task& t) {
  return do_prlimit(t, static_cast<int>(t.arg(0)), static_cast<unsigned>(t.arg(1)), t.arg(2), t.arg(3));
}

int64_t sys_sched_yield(Task& t) { return 0; }

int64_t sys_reboot(Task& t) {
  if (t.proc->cred.euid != 0) return -EPERM;
  uint32_t m1 = static_cast<uint32_t>(t.arg(0)), m2 = static_cast<uint32_t>(t.arg(1));
  if (m1 != LINUX_REBOOT_MAGIC1 || (m2 != LINUX_REBOOT_MAGIC2 && m2 != LINUX_REBOOT_MAGIC2A &&
                                    m2 != LINUX_REBOOT_MAGIC2B && m2 != LINUX_REBOOT_MAGIC2C))
    return -EINVAL;
  switch (static_cast<uint32_t>(t.arg(2))) {
    case LINUX_REBOOT_CMD_CAD_ON: case LINUX_REBOOT_CMD_CAD_OFF:
      return 0;
    case LINUX_REBOOT_CMD_HALT: case LINUX_REBOOT_CMD_POWER_OFF:
      kernel().halt(0);
      return 0;
    case LINUX_REBOOT_CMD_RESTART: case LINUX_REBOOT_CMD_RESTART2:
      kernel().request_restart();
      return 0;
    default:
      return -EINVAL;
  }
}

int64_t sys_getcpu(Task& t) {
  unsigned z = 0;
  if (t.arg(0) && put_user(t, t.arg(0), z) < 0) return -EFAULT;
  if (t.arg(1) && put_user(t, t.arg(1), z) < 0) return -EFAULT;
  return 0;
}

int64_t sys_getpriority(Task& t) {
  int which = static_cast<int>(t.arg(0)), who = static_cast<int>(t.arg(1));
  if (which != PRIO_PROCESS) return -EINVAL;
  auto p = who == 0 ? kernel().process_by_pid(t.proc->pid) : kernel().process_by_pid(who);
  if (!p) return -ESRCH;
  return 20 - p->nice;
}

int64_t sys_setpriority(Task& t) {
  int which = static_cast<int>(t.arg(0)), who = static_cast<int>(t.arg(1));
  int nice = std::clamp(static_cast<int>(t.arg(2)), -20, 19);
  if (which != PRIO_PROCESS) return -EINVAL;
  auto p = who == 0 ? kernel().process_by_pid(t.proc->pid) : kernel().process_by_pid(who);
  if (!p) return -ESRCH;
  if (nice < p->nice && t.proc->cred.euid != 0) return -EACCES;
  p->nice = nice;
  return 0;
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(uname, "p"), UM_FULL(sethostname, "su"), UM_FULL(setdomainname, "su"),
    UM_FULL(getrandom, "Bux"), UM_FULL(sysinfo, "p"), UM_FULL(getrlimit, "dp"),
    UM_FULL(setrlimit, "dp"), UM_FULL(prlimit64, "ddpp"), UM_FULL(sched_yield, ""),
    UM_FULL(reboot, "xxxp"), UM_FULL(getcpu, "ppp"),
    UM_FULL(getpriority, "dd"), UM_FULL(setpriority, "ddd"),
};

}  // namespace

std::span<const SyscallRow> misc_syscalls() { return kRows; }

}  // namespace um::kernel
