// The most recent console output, kept for clients that attach later: a byte ring buffer.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace um::console {

class Scrollback {
 public:
  explicit Scrollback(size_t capacity) : buf_(capacity ? capacity : 1) {}
  void append(std::string_view bytes);
  // The kept bytes, oldest first (at most capacity()).
  std::string contents() const;
  size_t size() const { return size_; }
  size_t capacity() const { return buf_.size(); }

 private:
  std::vector<char> buf_;
  size_t head_ = 0;  // where the next byte goes
  size_t size_ = 0;
};

}  // namespace um::console
