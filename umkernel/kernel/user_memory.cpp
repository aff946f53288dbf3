#include "umkernel/kernel/user_memory.h"

#include <cerrno>
#include <cstring>
#include <vector>

namespace um::kernel {

int64_t copy_from_user(Task& t, void* dst, uint64_t src, size_t n) {
  if (!t.proc->memory) return -EFAULT;
  return t.proc->memory->read(dst, src, n);
}

int64_t copy_to_user(Task& t, uint64_t dst, const void* src, size_t n) {
  if (!t.proc->memory) return -EFAULT;
  return t.proc->memory->write(dst, src, n);
}

int64_t clear_user(Task& t, uint64_t dst, size_t n) {
  static const std::vector<char> zeros(65536, 0);
  while (n > 0) {
    size_t c = std::min(n, zeros.size());
    if (int64_t r = copy_to_user(t, dst, zeros.data(), c); r < 0) return r;
    dst += c; n -= c;
  }
  return 0;
}

int64_t string_from_user(Task& t, uint64_t src, std::string& out, size_t max) {
  out.clear();
  char buf[256];
  while (out.size() <= max) {
    // Never cross a page boundary in one read: the next page may be unmapped.
    size_t chunk = std::min<uint64_t>(sizeof buf, 4096 - (src & 4095));
    if (!t.proc->memory) return -EFAULT;
    size_t r = t.proc->memory->read_partial(buf, src, chunk);
    if (r == 0) return -EFAULT;
    if (void* z = memchr(buf, 0, r)) {
      out.append(buf, static_cast<char*>(z) - buf);
      return out.size() > max ? -ENAMETOOLONG : 0;
    }
    out.append(buf, r);
    src += r;
  }
  return -ENAMETOOLONG;
}

int64_t string_array_from_user(Task& t, uint64_t src, std::vector<std::string>& out) {
  out.clear();
  if (src == 0) return 0;
  size_t total = 0;
  for (int i = 0;; i++) {
    uint64_t p = 0;
    if (int64_t r = get_user(t, src + 8 * i, p); r < 0) return r;
    if (p == 0) return 0;
    std::string s;
    if (int64_t r = string_from_user(t, p, s, 128 * 1024); r < 0) return r == -ENAMETOOLONG ? -E2BIG : r;
    total += s.size() + 1;
    if (total > 2 * 1024 * 1024 || i > 65536) return -E2BIG;
    out.push_back(std::move(s));
  }
}

}  // namespace um::kernel
