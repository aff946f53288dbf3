// Guest times as nanoseconds (int64_t), the one conversion every syscall uses. Conversions of
// guest-chosen timespec/timeval values saturate at ±kFarNs (~146 years), so that deadline
// arithmetic (now + timeout, one deadline minus another) can never overflow, as Linux
// saturates at KTIME_MAX (timespec64_to_ktime).
#pragma once
#include <sys/time.h>

#include <cstdint>
#include <ctime>

namespace um::kernel {

constexpr int64_t kNsPerSec = 1000000000;
constexpr int64_t kFarNs = INT64_MAX / 2;

constexpr int64_t saturating_ns(int64_t sec, int64_t sub_ns) {
  if (sec >= kFarNs / kNsPerSec) return kFarNs;
  if (sec <= -kFarNs / kNsPerSec) return -kFarNs;
  return sec * kNsPerSec + sub_ns;
}

constexpr int64_t timespec_to_ns(const timespec& ts) { return saturating_ns(ts.tv_sec, ts.tv_nsec); }
constexpr int64_t timeval_to_ns(const timeval& tv) { return saturating_ns(tv.tv_sec, tv.tv_usec * 1000); }
// Whole seconds (alarm(2)).
constexpr int64_t seconds_to_ns(int64_t sec) { return saturating_ns(sec, 0); }

// A timespec Linux accepts as a relative timeout or a time of day: tv_sec >= 0, tv_nsec in
// [0, 1e9) (timespec64_valid).
constexpr bool valid_timespec(const timespec& ts) {
  return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSec;
}

constexpr timespec ns_to_timespec(int64_t ns) {
  timespec ts{ns / kNsPerSec, ns % kNsPerSec};
  if (ts.tv_nsec < 0) {
    ts.tv_sec -= 1;
    ts.tv_nsec += kNsPerSec;
  }
  return ts;
}
constexpr timeval ns_to_timeval(int64_t ns) {
  timespec ts = ns_to_timespec(ns);
  return timeval{ts.tv_sec, ts.tv_nsec / 1000};
}

// now + ns, for deadlines: saturates at kFarNs (both are normally far below it).
constexpr int64_t deadline_after(int64_t now, int64_t ns) {
  if (ns >= kFarNs - now) return kFarNs;
  return now + ns;
}

}  // namespace um::kernel
