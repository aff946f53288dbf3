#include "umimage/progress.h"

#include <unistd.h>

#include <cstdio>

namespace um::image {

Progress::Progress(std::string what, uint64_t total_bytes, uint64_t total_entries)
    : what_(std::move(what)), total_bytes_(total_bytes), total_entries_(total_entries),
      enabled_(isatty(STDERR_FILENO) == 1) {}

void Progress::update(uint64_t bytes, uint64_t entries) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  drawn_ = true;
  double frac = 0;
  if (total_bytes_ > 0) frac = double(bytes) / double(total_bytes_);
  else if (total_entries_ > 0) frac = double(entries) / double(total_entries_);
  if (frac > 1) frac = 1;
  constexpr int kWidth = 30;
  int fill = int(frac * kWidth);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < fill ? '#' : ' ';
  bar[kWidth] = 0;
  if (total_bytes_ || total_entries_)
    fprintf(stderr, "\r%s [%s] %3d%%  %llu files  %.1f MiB", what_.c_str(), bar, int(frac * 100),
            (unsigned long long)entries, double(bytes) / (1 << 20));
  else
    fprintf(stderr, "\r%s  %llu files  %.1f MiB", what_.c_str(), (unsigned long long)entries,
            double(bytes) / (1 << 20));
  fflush(stderr);
}

void Progress::done() {
  if (!enabled_ || !drawn_) return;
  fprintf(stderr, "\r\033[K");
  fflush(stderr);
  drawn_ = false;
}

}  // namespace um::image
