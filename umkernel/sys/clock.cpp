// Setting the clock: clock_settime, settimeofday and adjtimex move the VM's CLOCK_REALTIME by
// an offset from the host's (kernel.h: guest_clock_gettime); the host clock is never
// touched and the clock's rate stays the host's. Needs CAP_SYS_TIME, as on Linux.
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_ptr.h"

namespace um::kernel {

namespace {

// What settimeofday and adjtimex keep: the timezone and the kernel's NTP state (the rate
// itself is the host's).
struct ClockState {
  struct timezone tz{0, 0};
  long freq = 0, maxerror = 16000000, esterror = 16000000, constant = 2, tick = 10000;
  int status = STA_UNSYNC;
  long offset = 0;
};
ClockState& clock_state() { return kernel().state<ClockState>(); }

// 64-bit seconds beyond which Linux refuses to set the clock (it must stay representable).
constexpr int64_t kMaxSettableSeconds = (INT64_MAX / 1000000000) - 30LL * 365 * 86400;

int64_t set_realtime(int64_t ns) {
  timespec host;
  clock_gettime(CLOCK_REALTIME, &host);
  set_realtime_offset_ns(ns - (host.tv_sec * 1000000000ll + host.tv_nsec));
  return 0;
}

}  // namespace

const struct timezone& guest_timezone() { return clock_state().tz; }

int64_t sys_clock_settime(Task& t) {
  int clk = t.int_arg(0);
  timespec ts = UM_TRY(t.ptr_arg<timespec>(1).read(t));
  if (clk != CLOCK_REALTIME) {
    // Known clocks that cannot be set answer EINVAL, unknown ones too.
    return -EINVAL;
  }
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000 || ts.tv_sec > kMaxSettableSeconds)
    return -EINVAL;
  if (!capable(t, CAP_SYS_TIME)) return -EPERM;
  return set_realtime(ts.tv_sec * 1000000000ll + ts.tv_nsec);
}

int64_t sys_settimeofday(Task& t) {
  timeval tv{};
  struct timezone tz{};
  auto tv_ptr = t.ptr_arg<timeval>(0);
  auto tz_ptr = t.ptr_arg<struct timezone>(1);
  bool has_tv = !tv_ptr.null(), has_tz = !tz_ptr.null();
  if (has_tv) {
    tv = UM_TRY(tv_ptr.read(t));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000 || tv.tv_sec < 0 || tv.tv_sec > kMaxSettableSeconds)
      return -EINVAL;
  }
  if (has_tz) {
    tz = UM_TRY(tz_ptr.read(t));
    if (tz.tz_minuteswest > 15 * 60 || tz.tz_minuteswest < -15 * 60) return -EINVAL;
  }
  if ((has_tv || has_tz) && !capable(t, CAP_SYS_TIME)) return -EPERM;
  if (has_tz) clock_state().tz = tz;
  if (has_tv) return set_realtime(tv.tv_sec * 1000000000ll + tv.tv_usec * 1000ll);
  return 0;
}

namespace {

int64_t adjtime(Task& t, UserPtr<struct timex> addr) {
  struct timex tx = UM_TRY(addr.read(t));
  ClockState& ntp = clock_state();
  unsigned modes = tx.modes;
  constexpr unsigned kReadOnlyModes[] = {0, ADJ_OFFSET_SS_READ};
  bool read_only = modes == kReadOnlyModes[0] || modes == kReadOnlyModes[1];
  if (!read_only && !capable(t, CAP_SYS_TIME)) return -EPERM;
  if (modes & ADJ_TICK && (tx.tick < 9000 || tx.tick > 11000)) return -EINVAL;
  if (modes & ADJ_SETOFFSET) {
    int64_t nsec = tx.time.tv_usec * ((modes & ADJ_NANO) ? 1 : 1000);
    if (tx.time.tv_usec < 0 || nsec >= 1000000000) return -EINVAL;
    set_realtime_offset_ns(realtime_offset_ns() + tx.time.tv_sec * 1000000000ll + nsec);
  }
  if (!read_only) {
    if (modes & ADJ_FREQUENCY) ntp.freq = std::clamp<long>(tx.freq, -32768000, 32768000);
    if (modes & ADJ_MAXERROR) ntp.maxerror = tx.maxerror;
    if (modes & ADJ_ESTERROR) ntp.esterror = tx.esterror;
    if (modes & ADJ_STATUS) ntp.status = (ntp.status & (STA_RONLY)) | (tx.status & ~STA_RONLY);
    if (modes & ADJ_TIMECONST) ntp.constant = std::clamp<long>(tx.constant, 0, 10);
    if (modes & ADJ_TICK) ntp.tick = tx.tick;
    if (modes & ADJ_OFFSET) ntp.offset = tx.offset;
  }
  struct timex out{};
  out.modes = 0;
  out.offset = ntp.offset;
  out.freq = ntp.freq;
  out.maxerror = ntp.maxerror;
  out.esterror = ntp.esterror;
  out.status = ntp.status;
  out.constant = ntp.constant;
  out.precision = 1;
  out.tolerance = 32768000;
  out.tick = ntp.tick;
  int64_t now = realtime_ns();
  out.time.tv_sec = now / 1000000000;
  out.time.tv_usec = (modes & ADJ_NANO) ? now % 1000000000 : now % 1000000000 / 1000;
  if (modes & ADJ_NANO) out.status |= STA_NANO;
  out.tai = 37;
  UM_TRY(addr.write(t, out));
  return (ntp.status & STA_UNSYNC) ? TIME_ERROR : TIME_OK;
}

}  // namespace

int64_t sys_adjtimex(Task& t) { return adjtime(t, t.ptr_arg<struct timex>(0)); }

int64_t sys_clock_adjtime(Task& t) {
  if (t.int_arg(0) != CLOCK_REALTIME) return -EOPNOTSUPP;
  return adjtime(t, t.ptr_arg<struct timex>(1));
}

namespace {
const SyscallRow kClockRows[] = {
    UM_PARTIAL(clock_settime, "dp", "CLOCK_REALTIME, as a per-VM offset from the host clock"),
    UM_PARTIAL(settimeofday, "pp", "a per-VM offset from the host clock"),
    UM_PARTIAL(adjtimex, "p", "ADJ_SETOFFSET moves the VM's clock; the rate stays the host's (other values are kept and reported)"),
    UM_PARTIAL(clock_adjtime, "dp", "CLOCK_REALTIME, as adjtimex"),
};
}  // namespace

std::span<const SyscallRow> clock_syscalls() { return kClockRows; }

}  // namespace um::kernel
