// COW header parsing/encoding, creation and backing-file checks (UML cow_user.c semantics).
#include <endian.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "core/cow/cow_file.h"
#include "core/log.h"
#include "core/unique_fd.h"

namespace um::cow {
namespace {

// Packed layouts (byte offsets), see the spec.
constexpr size_t kV1Size = 280, kV2Size = 4120, kV3BrokenSize = 4136;
constexpr size_t kV1PathLen = 256;
constexpr size_t kReadSize = kV3BrokenSize;  // the largest layout

uint32_t host32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }
uint64_t host64(const uint8_t* p) { uint64_t v; memcpy(&v, p, 8); return v; }
uint32_t be32(const uint8_t* p) { return be32toh(host32(p)); }
uint64_t be64(const uint8_t* p) { return be64toh(host64(p)); }
void put_be32(uint8_t* p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
void put_be64(uint8_t* p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }

uint64_t div_round_up(uint64_t x, uint64_t d) { return (x + d - 1) / d; }
uint64_t round_up(uint64_t x, uint64_t a) { return div_round_up(x, a) * a; }

Result<std::string> path_field(const uint8_t* p, size_t max) {
  size_t n = strnlen(reinterpret_cast<const char*>(p), max);
  if (n == max) return Error::make(EINVAL, "invalid COW header: backing file name is not terminated");
  return std::string(reinterpret_cast<const char*>(p), n);
}

Result<std::string> absolute_path(const std::string& path) {
  std::string copy = path;
  std::string dir = dirname(copy.data());
  copy = path;
  std::string base = basename(copy.data());
  char resolved[PATH_MAX];
  if (!realpath(dir.c_str(), resolved)) return Error::from_errno("cannot resolve " + dir);
  std::string out = resolved;
  if (out != "/") out += "/";
  return out + base;
}

}  // namespace

void compute_layout(Header& h) {
  uint64_t ss = h.sector_size;
  if (h.version < 3) {
    h.bitmap_offset = h.version == 1 ? kV1Size : kV2Size;
    h.alignment = h.sector_size;
    // Old rounding (may leave the last few sectors without bits, as in UML).
    h.bitmap_len = (h.size + ss - 1) / (8 * ss);
    h.data_offset = round_up(h.bitmap_offset + h.bitmap_len, ss);
  } else {
    h.bitmap_offset = round_up(h.broken_v3 ? kV3BrokenSize : kHeaderV3Size, h.alignment);
    h.bitmap_len = div_round_up(div_round_up(h.size, ss), 8);
    h.data_offset = round_up(h.bitmap_offset + h.bitmap_len, h.alignment);
  }
}

Result<Header> parse_header(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (len < 8) return Error::make(EINVAL, "not a COW file (too short)");
  Header h;
  uint32_t magic = host32(p);
  if (magic == kMagic) h.version = host32(p + 4);
  else if (magic == htobe32(kMagic)) h.version = be32(p + 4);
  else return Error::make(EINVAL, "not a COW file (bad magic)");

  auto too_short = [&](size_t need) {
    return Error::make(EINVAL, "truncated COW v" + std::to_string(h.version) + " header (" +
                                   std::to_string(len) + " of " + std::to_string(need) + " bytes)");
  };
  if (h.version == 1) {
    if (len < kV1Size) return too_short(kV1Size);
    h.backing_file = UM_TRY(path_field(p + 8, kV1PathLen));
    h.mtime = host32(p + 264);
    h.size = host64(p + 268);
    h.sector_size = host32(p + 276);
  } else if (h.version == 2) {
    if (len < kV2Size) return too_short(kV2Size);
    h.backing_file = UM_TRY(path_field(p + 8, kBackingPathMax));
    h.mtime = be32(p + 4104);
    h.size = be64(p + 4108);
    h.sector_size = be32(p + 4116);
  } else if (h.version == 3 && host32(p + 32) != 0) {
    if (len < kHeaderV3Size) return too_short(kHeaderV3Size);
    h.mtime = be32(p + 8);
    h.size = be64(p + 12);
    h.sector_size = be32(p + 20);
    h.alignment = be32(p + 24);
    h.cow_format = be32(p + 28);
    h.backing_file = UM_TRY(path_field(p + 32, kBackingPathMax));
  } else if (h.version == 3) {
    // Unpacked 64-bit layout: cow_format (always 0) landed on the packed backing_file.
    if (len < kV3BrokenSize) return too_short(kV3BrokenSize);
    h.broken_v3 = true;
    h.mtime = be32(p + 8);  // UML reads it with ntohl() too (bug-compatible)
    h.size = be64(p + 16);
    h.sector_size = be32(p + 24);
    h.alignment = be32(p + 28);
    h.cow_format = be32(p + 32);
    h.backing_file = UM_TRY(path_field(p + 36, kBackingPathMax));
  } else {
    return Error::make(EINVAL, "unsupported COW version " + std::to_string(h.version));
  }
  if (h.sector_size == 0 || h.sector_size > (1u << 20))
    return Error::make(EINVAL, "invalid COW header: sector size " + std::to_string(h.sector_size));
  if (h.version == 3 && (h.alignment == 0 || h.alignment > (1u << 30)))
    return Error::make(EINVAL, "invalid COW header: alignment " + std::to_string(h.alignment));
  if (h.cow_format != 0)
    return Error::make(EINVAL, "unsupported COW format " + std::to_string(h.cow_format));
  if (h.size > (uint64_t{1} << 56))
    return Error::make(EINVAL, "invalid COW header: size " + std::to_string(h.size));
  if (h.backing_file.empty()) return Error::make(EINVAL, "invalid COW header: no backing file");
  compute_layout(h);
  return h;
}

bool is_cow_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  uint32_t magic = 0;
  if (pread(fd.get(), &magic, 4, 0) != 4) return false;
  return magic == kMagic || magic == htobe32(kMagic);
}

Result<Header> read_header(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno("cannot open " + path);
  std::vector<uint8_t> buf(kReadSize);
  ssize_t n = pread(fd.get(), buf.data(), buf.size(), 0);
  if (n < 0) return Error::from_errno("cannot read " + path);
  auto h = parse_header(buf.data(), static_cast<size_t>(n));
  if (!h) return Error::make(h.error().code, path + ": " + h.error().message);
  return h;
}

Result<uint64_t> count_written_sectors(const std::string& cow_path) {
  Header h = UM_TRY(read_header(cow_path));
  UniqueFd fd(::open(cow_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno("cannot open " + cow_path);
  if (h.bitmap_len > kMaxBitmapBytes)
    return Error::make(EFBIG, cow_path + ": COW device of " + std::to_string(h.size) + " bytes is too large");
  std::vector<uint8_t> bits(h.bitmap_len);
  ssize_t n = pread(fd.get(), bits.data(), bits.size(), static_cast<off_t>(h.bitmap_offset));
  if (n < 0) return Error::from_errno("cannot read the bitmap of " + cow_path);
  uint64_t total = 0, count = h.sector_count();
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    unsigned byte = bits[i];
    uint64_t first = uint64_t{i} * 8;
    if (first + 8 > count) byte &= (1u << (count > first ? count - first : 0)) - 1;
    total += static_cast<uint64_t>(__builtin_popcount(byte));
  }
  return total;
}

std::vector<uint8_t> encode_v3_header(const Header& h) {
  std::vector<uint8_t> out(kHeaderV3Size, 0);
  put_be32(&out[0], kMagic);
  put_be32(&out[4], kVersion);
  put_be32(&out[8], h.mtime);
  put_be64(&out[12], h.size);
  put_be32(&out[20], h.sector_size);
  put_be32(&out[24], h.alignment);
  put_be32(&out[28], h.cow_format);
  memcpy(&out[32], h.backing_file.data(), std::min(h.backing_file.size(), kBackingPathMax - 1));
  return out;
}

static Status check_stat(const Header& h, const std::string& backing, const struct stat& st) {
  const std::string what = "backing file " + backing + " changed since the COW file was made";
  if (static_cast<uint32_t>(st.st_mtime) != h.mtime)
    return Error::make(EINVAL, what + " (mtime " + std::to_string(st.st_mtime) +
                                   ", COW header says " + std::to_string(h.mtime) + ")");
  if (static_cast<uint64_t>(st.st_size) != h.size)
    return Error::make(EINVAL, what + " (size " + std::to_string(st.st_size) +
                                   " bytes, COW header says " + std::to_string(h.size) + ")");
  return {};
}

Status check_backing(const Header& h, const std::string& backing_path) {
  struct stat st;
  if (stat(backing_path.c_str(), &st) != 0)
    return Error::from_errno("cannot access backing file " + backing_path);
  return check_stat(h, backing_path, st);
}

// Shared with cow_image.cpp via a declaration there.
Status check_backing_fd(const Header& h, const std::string& backing_path, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Error::from_errno("cannot stat backing file " + backing_path);
  return check_stat(h, backing_path, st);
}

Status create(const std::string& cow_path, const std::string& backing_path, bool force) {
  std::string backing = UM_TRY(absolute_path(backing_path));
  if (backing.size() > kBackingPathMax - 1)
    return Error::make(ENAMETOOLONG, "backing file name is longer than 4095 bytes: " + backing);
  struct stat st;
  if (stat(backing.c_str(), &st) != 0) return Error::from_errno("cannot access backing file " + backing);
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    return Error::make(EINVAL, "backing file " + backing + " is not a regular file");
  if (access(backing.c_str(), R_OK) != 0) return Error::from_errno("cannot read backing file " + backing);
  if (is_cow_file(backing))
    return Error::make(EINVAL, "backing file " + backing + " is itself a COW file (UML cannot chain them)");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    UniqueFd b(::open(backing.c_str(), O_RDONLY | O_CLOEXEC));
    off_t end = b ? lseek(b.get(), 0, SEEK_END) : -1;
    if (end < 0) return Error::from_errno("cannot size backing device " + backing);
    size = static_cast<uint64_t>(end);
  }

  // With --force the old file is truncated only once we hold its lock.
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (force ? 0 : O_EXCL);
  UniqueFd fd(::open(cow_path.c_str(), flags, 0644));
  if (!fd) {
    if (errno == EEXIST) return Error::make(EEXIST, cow_path + " already exists (use --force to overwrite)");
    return Error::from_errno("cannot create " + cow_path);
  }
  UM_TRY(lock_file(fd.get(), true, cow_path));
  if (force && ftruncate(fd.get(), 0) != 0) return Error::from_errno("cannot truncate " + cow_path);

  Header h;
  h.backing_file = backing;
  h.mtime = static_cast<uint32_t>(st.st_mtime);
  h.size = size;
  compute_layout(h);
  auto bytes = encode_v3_header(h);
  if (pwrite(fd.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()) ||
      ftruncate(fd.get(), static_cast<off_t>(h.data_offset + h.size)) != 0) {
    Error e = Error::from_errno("cannot write " + cow_path);
    unlink(cow_path.c_str());
    return e;
  }
  if (fsync(fd.get()) != 0) return Error::from_errno("cannot sync " + cow_path);
  return {};
}

Status attach_backing(const std::string& cow_path, const std::string& backing_path) {
  struct stat cow_st;
  if (stat(cow_path.c_str(), &cow_st) != 0) {
    if (errno != ENOENT) return Error::from_errno("cannot access " + cow_path);
    if (backing_path.empty())
      return Error::make(ENOENT, "COW file " + cow_path + " does not exist and no backing file was given");
    UM_INFO("Creating \"%s\" as COW file for \"%s\"", cow_path.c_str(), backing_path.c_str());
    return create(cow_path, backing_path);
  }
  Header h = UM_TRY(read_header(cow_path));
  if (backing_path.empty()) return {};
  struct stat given, named;
  if (stat(backing_path.c_str(), &given) != 0)
    return Error::from_errno("cannot access backing file " + backing_path);
  if (stat(h.backing_file.c_str(), &named) == 0 && named.st_dev == given.st_dev &&
      named.st_ino == given.st_ino)
    return {};
  UM_TRY(check_backing(h, backing_path));
  if (h.version != 3 || h.broken_v3)
    return Error::make(EINVAL, cow_path + ": cannot switch the backing file of a legacy (" +
                                   (h.broken_v3 ? std::string("broken v3") : "v" + std::to_string(h.version)) +
                                   ") COW file");
  std::string abs = UM_TRY(absolute_path(backing_path));
  if (abs.size() > kBackingPathMax - 1)
    return Error::make(ENAMETOOLONG, "backing file name is longer than 4095 bytes: " + abs);
  UniqueFd fd(::open(cow_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return Error::from_errno("cannot open " + cow_path);
  UM_TRY(lock_file(fd.get(), true, cow_path));
  std::vector<char> field(kBackingPathMax, 0);
  memcpy(field.data(), abs.data(), abs.size());
  UM_INFO("Switching backing file of \"%s\" to \"%s\"", cow_path.c_str(), abs.c_str());
  if (pwrite(fd.get(), field.data(), field.size(), 32) != static_cast<ssize_t>(field.size()) ||
      fsync(fd.get()) != 0)
    return Error::from_errno("cannot update the header of " + cow_path);
  return {};
}

}  // namespace um::cow
