#include "umkernel/kernel/user_memory.h"
#include "umkernel/platform/stub.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace um::kernel {

namespace {
constexpr uint64_t kUserTop = 0x800000000000ull;
// /proc/PID/mem writes ignore page protections, so the stub pages must be refused here: a
// guest that got umkernel to write its bytes there would run them as host syscalls.
bool range_ok(uint64_t addr, size_t n) {
  return addr < kUserTop && n <= kUserTop - addr && !stub::overlaps_stub(addr, n);
}
}  // namespace

int64_t copy_from_user(Task& t, void* dst, uint64_t src, size_t n) {
  if (n == 0) return 0;
  if (!range_ok(src, n)) return -EFAULT;
  auto* out = static_cast<char*>(dst);
  while (n > 0) {
    ssize_t r = pread(t.proc->mem.get(), out, n, static_cast<off_t>(src));
    if (r <= 0) return -EFAULT;
    out += r; src += r; n -= r;
  }
  return 0;
}

int64_t copy_to_user(Task& t, uint64_t dst, const void* src, size_t n) {
  if (n == 0) return 0;
  if (!range_ok(dst, n)) return -EFAULT;
  auto* in = static_cast<const char*>(src);
  while (n > 0) {
    ssize_t r = pwrite(t.proc->mem.get(), in, n, static_cast<off_t>(dst));
    if (r <= 0) return -EFAULT;
    in += r; dst += r; n -= r;
  }
  return 0;
}

int64_t write_stub_scratch(Task& t, const std::string& text) {
  if (text.size() + 1 > stub::kPageSize) return -ENAMETOOLONG;
  ssize_t r = pwrite(t.proc->mem.get(), text.c_str(), text.size() + 1, static_cast<off_t>(stub::kStubScratch));
  return r == static_cast<ssize_t>(text.size() + 1) ? 0 : -EFAULT;
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
    if (!range_ok(src, chunk)) return -EFAULT;
    ssize_t r = pread(t.proc->mem.get(), buf, chunk, static_cast<off_t>(src));
    if (r <= 0) return -EFAULT;
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
