// Time: clocks read from the host (the guest runs on the host's CPUs and clock), sleeping as
// parked tasks with deadlines.
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>

#include <fstream>
#include <sstream>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/kernel/user_ptr.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/time_ns.h"

namespace um::kernel {

namespace {

// CPU time of the guest process, from its host process (clock ticks).
void host_times(const Process& p, uint64_t& utime, uint64_t& stime) {
  utime = stime = 0;
  if (!p.memory || p.zombie) return;
  platform::Usage u = p.memory->usage();
  utime = u.utime_ticks;
  stime = u.stime_ticks;
}

int64_t get_clock(Task& t, int clk, timespec& ts) {
  switch (clk) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME: case CLOCK_TAI:
      guest_clock_gettime(clk, &ts);
      return 0;
    case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID: {
      uint64_t u, s;
      host_times(*t.proc, u, s);
      int64_t ns = static_cast<int64_t>(u + s) * 10000000;
      ts = {ns / 1000000000, ns % 1000000000};
      return 0;
    }
    default:
      return -EINVAL;
  }
}

int64_t sleep_until(Task& t, int64_t deadline_mono) {
  if (monotonic_ns() >= deadline_mono) return 0;
  t.sys_deadline_ns = deadline_mono;
  t.sys_restartable = false;
  return kBlock;
}

}  // namespace

int64_t sys_clock_gettime(Task& t) {
  timespec ts;
  if (int64_t r = get_clock(t, t.int_arg(0), ts); r < 0) return r;
  UM_TRY(t.ptr_arg<timespec>(1).write(t, ts));
  return 0;
}

int64_t sys_clock_getres(Task& t) {
  timespec ts;
  if (int64_t r = get_clock(t, t.int_arg(0), ts); r < 0) return r;
  auto out = t.ptr_arg<timespec>(1);
  if (!out) return 0;
  timespec res{0, 1};
  int clk = t.int_arg(0);
  if (clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE) res = {0, 4000000};
  UM_TRY(out.write(t, res));
  return 0;
}

int64_t sys_gettimeofday(Task& t) {
  if (auto out = t.ptr_arg<timeval>(0)) {
    int64_t now = realtime_ns();
    UM_TRY(out.write(t, timeval{now / 1000000000, now % 1000000000 / 1000}));
  }
  if (auto out = t.ptr_arg<struct timezone>(1)) UM_TRY(out.write(t, guest_timezone()));
  return 0;
}

int64_t sys_time(Task& t) {
  time_t now = realtime_ns() / 1000000000;
  if (auto out = t.ptr_arg<time_t>(0)) UM_TRY(out.write(t, now));
  return now;
}

int64_t sys_nanosleep(Task& t) {
  if (t.sys_deadline_ns < 0) {
    timespec req = UM_TRY(t.ptr_arg<timespec>(0).read(t));
    if (!valid_timespec(req)) return -EINVAL;
    t.sys_deadline_ns = deadline_after(monotonic_ns(), timespec_to_ns(req));
  }
  t.sys_remaining_addr = t.arg(1);
  return sleep_until(t, t.sys_deadline_ns);
}

int64_t sys_clock_nanosleep(Task& t) {
  int clk = t.int_arg(0);
  int flags = t.int_arg(1);
  if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME && clk != CLOCK_TAI)
    return clk == CLOCK_THREAD_CPUTIME_ID ? -EINVAL : -ENOTSUP;
  if (t.sys_deadline_ns < 0) {
    timespec req = UM_TRY(t.ptr_arg<timespec>(2).read(t));
    if (!valid_timespec(req)) return -EINVAL;
    if (flags & TIMER_ABSTIME) {
      timespec now;
      guest_clock_gettime(clk, &now);
      t.sys_deadline_ns = deadline_after(monotonic_ns(), timespec_to_ns(req) - timespec_to_ns(now));
    } else {
      t.sys_deadline_ns = deadline_after(monotonic_ns(), timespec_to_ns(req));
    }
  }
  if (!(flags & TIMER_ABSTIME)) t.sys_remaining_addr = t.arg(3);
  return sleep_until(t, t.sys_deadline_ns);
}

int64_t sys_times(Task& t) {
  uint64_t u, s;
  host_times(*t.proc, u, s);
  if (auto out = t.ptr_arg<struct tms>(0)) {
    struct tms tm{static_cast<clock_t>(u), static_cast<clock_t>(s),
                  static_cast<clock_t>(t.proc->utime_ns / 10000000), 0};
    UM_TRY(out.write(t, tm));
  }
  return (monotonic_ns() - kernel().boot_time_ns()) / 10000000;
}

int64_t sys_getrusage(Task& t) {
  int who = t.int_arg(0);
  if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD) return -EINVAL;
  struct rusage ru{};
  if (who != RUSAGE_CHILDREN) {
    uint64_t u, s;
    host_times(*t.proc, u, s);
    ru.ru_utime = {static_cast<time_t>(u / 100), static_cast<suseconds_t>((u % 100) * 10000)};
    ru.ru_stime = {static_cast<time_t>(s / 100), static_cast<suseconds_t>((s % 100) * 10000)};
  } else {
    uint64_t ns = t.proc->utime_ns;
    ru.ru_utime = {static_cast<time_t>(ns / 1000000000), static_cast<suseconds_t>((ns % 1000000000) / 1000)};
  }
  UM_TRY(t.ptr_arg<struct rusage>(1).write(t, ru));
  return 0;
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(nanosleep, "pp"), UM_FULL(clock_nanosleep, "dxpp"), UM_FULL(clock_gettime, "dp"),
    UM_FULL(clock_getres, "dp"), UM_FULL(gettimeofday, "pp"), UM_FULL(time, "p"),
    UM_FULL(times, "p"), UM_FULL(getrusage, "dp"),
};

}  // namespace

std::span<const SyscallRow> time_syscalls() { return kRows; }

}  // namespace um::kernel
