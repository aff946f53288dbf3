// Typed guest memory and results for syscall handlers, on top of user_memory.h.
//
// UserPtr<T> is a guest address of a T: a distinct type, never dereferenced on the host, read
// and written only through read()/write(), whose results must be used (an ignored EFAULT does
// not compile: umkernel builds with -Werror=unused-result). KResult<T> is a value or an errno;
// UM_TRY (core/error.h) unwraps it and returns the errno from a handler returning int64_t as
// -errno, or from a helper returning another KResult:
//
//   int64_t sys_getitimer(Task& t) {
//     itimerval v = ...;
//     UM_TRY(t.ptr_arg<itimerval>(1).write(t, v));
//     return 0;
//   }
#pragma once
#include <cstdint>
#include <utility>

#include "core/error.h"
#include "umkernel/kernel/task.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

// An errno, as a handler returns it: converts to -errno (int64_t) and to any KResult.
struct Errno {
  int code;
  constexpr operator int64_t() const { return -code; }
};

template <class T>
class [[nodiscard]] KResult {
 public:
  KResult(T value) : value_(std::move(value)) {}
  KResult(Errno e) : err_(e.code) {}
  bool ok() const { return err_ == 0; }
  T& value() & { return value_; }
  T&& value() && { return std::move(value_); }
  Errno error() const { return Errno{err_}; }

 private:
  T value_{};
  int err_ = 0;
};

template <>
class [[nodiscard]] KResult<void> {
 public:
  KResult() = default;
  KResult(Errno e) : err_(e.code) {}
  bool ok() const { return err_ == 0; }
  void value() const {}
  Errno error() const { return Errno{err_}; }

 private:
  int err_ = 0;
};

// A 0-or--errno result of the older functions as a KResult<void>.
inline KResult<void> status_of(int64_t r) {
  if (r < 0) return Errno{static_cast<int>(-r)};
  return {};
}

template <class T>
class UserPtr {
 public:
  constexpr UserPtr() = default;
  constexpr explicit UserPtr(uint64_t addr) : addr_(addr) {}
  constexpr uint64_t addr() const { return addr_; }
  constexpr bool null() const { return addr_ == 0; }
  constexpr explicit operator bool() const { return addr_ != 0; }
  // The n-th T after this one (guest address arithmetic wraps as the guest's would).
  constexpr UserPtr operator+(uint64_t n) const { return UserPtr(addr_ + n * sizeof(T)); }

  KResult<T> read(Task& t) const {
    T v{};
    if (get_user(t, addr_, v) < 0) return Errno{EFAULT};
    return v;
  }
  KResult<void> write(Task& t, const T& v) const {
    if (put_user(t, addr_, v) < 0) return Errno{EFAULT};
    return {};
  }
  // n consecutive Ts (an array the guest passed).
  KResult<void> read_array(Task& t, T* out, size_t n) const {
    if (copy_from_user(t, out, addr_, n * sizeof(T)) < 0) return Errno{EFAULT};
    return {};
  }
  KResult<void> write_array(Task& t, const T* v, size_t n) const {
    if (copy_to_user(t, addr_, v, n * sizeof(T)) < 0) return Errno{EFAULT};
    return {};
  }

 private:
  uint64_t addr_ = 0;
};

template <class T>
UserPtr<T> Task::ptr_arg(int i) const {
  return UserPtr<T>(sys_args[i]);
}

}  // namespace um::kernel
