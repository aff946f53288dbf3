// Errors shared by every tool: an errno-like code plus a one-line human message.
// Result<T> carries either a value or an Error; UM_TRY propagates errors (GNU statement
// expression, as SerenityOS's TRY).
#pragma once
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace um {

struct Error {
  int code = EIO;        // errno value best describing the failure
  std::string message;   // one line, no trailing newline, meant for the user

  static Error from_errno(std::string what, int err = errno) {
    return Error{err, std::move(what) + ": " + std::strerror(err)};
  }
  static Error make(int err, std::string what) { return Error{err, std::move(what)}; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  void value() const {}
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_;
  bool failed_ = false;
};

using Status = Result<void>;

// Process exit codes used by all four tools.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // the operation failed (bad image, missing path, ...)
  kExitUsage = 2,    // the command line was wrong
};

}  // namespace um

#define UM_TRY(expr)                                   \
  ({                                                   \
    auto _um_try_r = (expr);                           \
    if (!_um_try_r.ok()) return std::move(_um_try_r).error(); \
    std::move(_um_try_r).value();                      \
  })
