// CowImage: sector-level reads and writes through a COW file and its backing file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/cow/cow_file.h"
#include "core/unique_fd.h"

namespace um::cow {

Status check_backing_fd(const Header& h, const std::string& backing_path, int fd);  // cow_header.cpp

namespace {

Status pwrite_all(int fd, const uint8_t* buf, size_t len, uint64_t off, const std::string& path) {
  while (len > 0) {
    ssize_t n = pwrite(fd, buf, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("cannot write " + path, n < 0 ? errno : ENOSPC);
    buf += n, len -= static_cast<size_t>(n), off += static_cast<uint64_t>(n);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<CowImage>> CowImage::open(const std::string& cow_path, const Options& opts) {
  std::unique_ptr<CowImage> img(new CowImage());
  img->cow_path_ = cow_path;
  img->opts_ = opts;
  img->cow_fd_ = ::open(cow_path.c_str(), (opts.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (img->cow_fd_ < 0) return Error::from_errno("cannot open COW file " + cow_path);

  std::vector<uint8_t> raw(4136);
  ssize_t n = pread(img->cow_fd_, raw.data(), raw.size(), 0);
  if (n < 0) return Error::from_errno("cannot read " + cow_path);
  auto parsed = parse_header(raw.data(), static_cast<size_t>(n));
  if (!parsed) return Error::make(parsed.error().code, cow_path + ": " + parsed.error().message);
  img->header_ = std::move(parsed.value());
  const Header& h = img->header_;
  if (opts.lock) UM_TRY(lock_file(img->cow_fd_, opts.writable, cow_path));

  struct stat st;
  if (fstat(img->cow_fd_, &st) != 0) return Error::from_errno("cannot stat " + cow_path);
  if (h.bitmap_len > kMaxBitmapBytes)
    return Error::make(EFBIG, cow_path + ": COW device of " + std::to_string(h.size) + " bytes is too large");
  if (static_cast<uint64_t>(st.st_size) < h.bitmap_offset + h.bitmap_len)
    return Error::make(EINVAL, cow_path + ": truncated COW file (its bitmap ends at byte " +
                                   std::to_string(h.bitmap_offset + h.bitmap_len) + ")");
  img->bitmap_.assign(h.bitmap_len, 0);
  size_t got = 0;
  while (got < h.bitmap_len) {  // a short (truncated) file reads as clear bits
    ssize_t r = pread(img->cow_fd_, img->bitmap_.data() + got, h.bitmap_len - got,
                      static_cast<off_t>(h.bitmap_offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::from_errno("cannot read the bitmap of " + cow_path);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }

  img->backing_path_ = opts.backing_path.value_or(h.backing_file);
  const std::string& bp = img->backing_path_;
  img->backing_fd_ = ::open(bp.c_str(), (opts.backing_writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (img->backing_fd_ < 0)
    return Error::from_errno("cannot open backing file " + bp + " of COW file " + cow_path);
  UM_TRY(check_backing_fd(h, bp, img->backing_fd_));
  if (opts.lock) UM_TRY(lock_file(img->backing_fd_, opts.backing_writable, bp));
  return img;
}

CowImage::~CowImage() {
  if (cow_fd_ >= 0) ::close(cow_fd_);
  if (backing_fd_ >= 0) ::close(backing_fd_);
}

bool CowImage::sector_written(uint64_t sector) const {
  if (!bit_covered(sector)) return false;
  return bitmap_[sector / 8] & (1u << (sector % 8));
}

uint64_t CowImage::sectors_written() const {
  uint64_t total = 0, count = header_.sector_count();
  for (size_t i = 0; i < bitmap_.size(); ++i) {
    unsigned byte = bitmap_[i];
    uint64_t first = uint64_t{i} * 8;
    if (first + 8 > count) byte &= (1u << (count > first ? count - first : 0)) - 1;
    total += static_cast<uint64_t>(__builtin_popcount(byte));
  }
  return total;
}

Status CowImage::read_run(bool from_cow, uint64_t offset, uint8_t* buf, size_t len) {
  int fd = from_cow ? cow_fd_ : backing_fd_;
  uint64_t pos = from_cow ? header_.data_offset + offset : offset;
  while (len > 0) {
    ssize_t n = pread(fd, buf, len, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("cannot read " + (from_cow ? cow_path_ : backing_path_));
    if (n == 0) {  // past the end of the file: sparse tail reads as zeros
      memset(buf, 0, len);
      break;
    }
    buf += n, len -= static_cast<size_t>(n), pos += static_cast<uint64_t>(n);
  }
  return {};
}

Status CowImage::read(uint64_t offset, void* out, size_t len) {
  if (offset > size() || len > size() - offset)
    return Error::make(EINVAL, "read beyond the end of " + cow_path_);
  auto* buf = static_cast<uint8_t*>(out);
  const uint64_t ss = header_.sector_size, end = offset + len;
  uint64_t pos = offset;
  while (pos < end) {
    uint64_t sector = pos / ss;
    bool in_cow = sector_written(sector);
    uint64_t next = sector + 1;
    while (next * ss < end && sector_written(next) == in_cow) ++next;
    uint64_t run_end = std::min(end, next * ss);
    UM_TRY(read_run(in_cow, pos, buf + (pos - offset), run_end - pos));
    pos = run_end;
  }
  return {};
}

Status CowImage::set_bits(uint64_t first, uint64_t last) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint64_t s = first; s <= last; ++s) {
    uint8_t mask = static_cast<uint8_t>(1u << (s % 8));
    if (bitmap_[s / 8] & mask) continue;
    bitmap_[s / 8] |= mask;
    lo = std::min(lo, s / 8), hi = std::max(hi, s / 8);
  }
  if (lo > hi) return {};
  // Data first, then the bits (as UML does): a crash in between loses the write, never
  // exposes stale COW data.
  return pwrite_all(cow_fd_, bitmap_.data() + lo, hi - lo + 1, header_.bitmap_offset + lo, cow_path_);
}

Status CowImage::write(uint64_t offset, const void* data, size_t len) {
  if (!opts_.writable) return Error::make(EROFS, cow_path_ + " is open read-only");
  if (offset > size() || len > size() - offset)
    return Error::make(ENOSPC, "write beyond the end of " + cow_path_);
  if (len == 0) return {};
  const uint64_t ss = header_.sector_size, end = offset + len;
  const uint64_t first = offset / ss, last = (end - 1) / ss;
  if (!bit_covered(last))
    return Error::make(EIO, cow_path_ + ": sector " + std::to_string(last) +
                                " has no bit in this legacy COW file's bitmap");
  const uint64_t start_al = first * ss, end_al = std::min((last + 1) * ss, size());
  const auto* src = static_cast<const uint8_t*>(data);
  std::vector<uint8_t> merged;
  bool head_partial = start_al != offset, tail_partial = end_al != end;
  if (head_partial || tail_partial) {  // read-modify-write of partial sectors
    merged.resize(end_al - start_al);
    if (head_partial) UM_TRY(read(start_al, merged.data(), std::min<uint64_t>(ss, end_al - start_al)));
    if (tail_partial && !(head_partial && first == last))
      UM_TRY(read(last * ss, merged.data() + (last * ss - start_al), end_al - last * ss));
    memcpy(merged.data() + (offset - start_al), src, len);
    src = merged.data();
  }
  UM_TRY(pwrite_all(cow_fd_, src, end_al - start_al, header_.data_offset + start_al, cow_path_));
  return set_bits(first, last);
}

Status CowImage::flush() {
  if (opts_.writable && fsync(cow_fd_) != 0) return Error::from_errno("cannot sync " + cow_path_);
  if (opts_.backing_writable && fsync(backing_fd_) != 0)
    return Error::from_errno("cannot sync " + backing_path_);
  return {};
}

}  // namespace um::cow
