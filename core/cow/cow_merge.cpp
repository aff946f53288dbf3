// Merging a COW file with its backing file, as uml_moo does.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/cow/cow_file.h"
#include "core/log.h"
#include "core/unique_fd.h"

namespace um::cow {
namespace {

constexpr size_t kChunk = 1 << 20;

// "\r<label> NN%" on stderr, only when stderr is a terminal and the percentage changed.
class Progress {
 public:
  Progress(const char* label, uint64_t total)
      : label_(label), total_(total), enabled_(isatty(STDERR_FILENO) && total > 0) {}
  void update(uint64_t done) {
    if (!enabled_) return;
    int pct = static_cast<int>(done * 100 / total_);
    if (pct == last_) return;
    last_ = pct;
    fprintf(stderr, "\r%s %3d%%", label_, pct);
    if (pct == 100) fputc('\n', stderr);
  }

 private:
  const char* label_;
  uint64_t total_;
  bool enabled_;
  int last_ = -1;
};

Status write_all(int fd, const uint8_t* buf, size_t len, uint64_t off, const std::string& path) {
  while (len > 0) {
    ssize_t n = pwrite(fd, buf, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("cannot write " + path, n < 0 ? errno : ENOSPC);
    buf += n, len -= static_cast<size_t>(n), off += static_cast<uint64_t>(n);
  }
  return {};
}

bool all_zero(const uint8_t* p, size_t n) { return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1)); }

// True when [pos, pos+len) has no COW sectors and is a hole in the backing file: nothing to
// read or write (a big sparse image merges in the time its data takes).
bool chunk_is_hole(CowImage& cow, uint64_t pos, uint64_t len) {
  const uint64_t ss = cow.header().sector_size;
  for (uint64_t s = pos / ss; s * ss < pos + len; ++s)
    if (cow.sector_written(s)) return false;
  off_t data = lseek(cow.backing_fd(), static_cast<off_t>(pos), SEEK_DATA);
  if (data < 0) return errno == ENXIO;  // no data after pos at all
  return static_cast<uint64_t>(data) >= pos + len;
}

// Writes the whole virtual disk to `out`, leaving all-zero sectors as holes (except the last,
// which fixes the length, like uml_moo).
Status write_merged(CowImage& cow, int out, const std::string& out_path) {
  const uint64_t size = cow.size(), ss = cow.header().sector_size;
  std::vector<uint8_t> buf(kChunk);
  Progress progress("merging", size);
  for (uint64_t pos = 0; pos < size; pos += kChunk) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(kChunk, size - pos));
    if (pos + len < size && chunk_is_hole(cow, pos, len)) {
      progress.update(pos + len);
      continue;
    }
    UM_TRY(cow.read(pos, buf.data(), len));
    size_t i = 0;
    while (i < len) {
      size_t n = std::min<size_t>(ss, len - i);
      bool last_sector = pos + i + n == size;
      if (all_zero(&buf[i], n) && !last_sector) { i += n; continue; }
      size_t j = i + n;  // extend over the following non-zero sectors
      while (j < len) {
        size_t m = std::min<size_t>(ss, len - j);
        if (all_zero(&buf[j], m) && pos + j + m != size) break;
        j += m;
      }
      UM_TRY(write_all(out, &buf[i], j - i, pos + i, out_path));
      i = j;
    }
    progress.update(pos + len);
  }
  if (ftruncate(out, static_cast<off_t>(size)) != 0) return Error::from_errno("cannot size " + out_path);
  if (fsync(out) != 0) return Error::from_errno("cannot sync " + out_path);
  return {};
}

// Copies only the sectors present in the COW into the backing file.
Status write_in_place(CowImage& cow) {
  const Header& h = cow.header();
  const uint64_t count = h.sector_count(), ss = h.sector_size;
  std::vector<uint8_t> buf;
  Progress progress("merging", count);
  for (uint64_t s = 0; s < count;) {
    if (!cow.sector_written(s)) { ++s; continue; }
    uint64_t e = s + 1;
    while (e < count && cow.sector_written(e) && (e - s) * ss < kChunk) ++e;
    uint64_t off = s * ss, len = std::min(e * ss, h.size) - off;
    buf.resize(len);
    UM_TRY(cow.read(off, buf.data(), len));
    UM_TRY(write_all(cow.backing_fd(), buf.data(), len, off, cow.backing_path()));
    s = e;
    progress.update(s);
  }
  progress.update(count);
  return cow.flush();
}

}  // namespace

Status merge(const std::string& cow_path, const std::optional<std::string>& out_path,
             const std::optional<std::string>& backing_override) {
  CowImage::Options opts;
  opts.backing_path = backing_override;
  opts.backing_writable = !out_path;
  auto cow = UM_TRY(CowImage::open(cow_path, opts));
  if (!out_path) {
    UM_TRY(write_in_place(*cow));
    UM_INFO("merged %llu sectors into %s; %s no longer matches it",
            static_cast<unsigned long long>(cow->sectors_written()), cow->backing_path().c_str(),
            cow_path.c_str());
    return {};
  }
  UniqueFd out(::open(out_path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out) {
    if (errno == EEXIST) return Error::make(EEXIST, *out_path + " already exists");
    return Error::from_errno("cannot create " + *out_path);
  }
  if (auto st = write_merged(*cow, out.get(), *out_path); !st) {
    unlink(out_path->c_str());
    return st;
  }
  return {};
}

}  // namespace um::cow
