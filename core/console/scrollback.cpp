#include "core/console/scrollback.h"

#include <algorithm>
#include <cstring>

namespace um::console {

void Scrollback::append(std::string_view bytes) {
  size_t cap = buf_.size();
  if (bytes.size() >= cap) {  // only the tail survives
    memcpy(buf_.data(), bytes.data() + bytes.size() - cap, cap);
    head_ = 0;
    size_ = cap;
    return;
  }
  size_t first = std::min(bytes.size(), cap - head_);
  memcpy(buf_.data() + head_, bytes.data(), first);
  memcpy(buf_.data(), bytes.data() + first, bytes.size() - first);
  head_ = (head_ + bytes.size()) % cap;
  size_ = std::min(cap, size_ + bytes.size());
}

std::string Scrollback::contents() const {
  size_t cap = buf_.size();
  size_t start = (head_ + cap - size_) % cap;
  std::string out;
  out.reserve(size_);
  size_t first = std::min(size_, cap - start);
  out.append(buf_.data() + start, first);
  out.append(buf_.data(), size_ - first);
  return out;
}

}  // namespace um::console
