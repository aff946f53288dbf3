// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace um::image {

class Progress {
 public:
  Progress(std::string what, uint64_t total_bytes, uint64_t total_entries);
  ~Progress() { done(); }
  void update(uint64_t bytes, uint64_t entries);
  void done();

 private:
  std::string what_;
  uint64_t total_bytes_, total_entries_;
  bool enabled_, drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace um::image
