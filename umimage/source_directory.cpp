// --from DIR: a host directory tree copied into the image.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <vector>

#include "core/unique_fd.h"
#include "umimage/sources.h"

namespace um::image {

namespace {

Result<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (!d) return Error::from_errno("cannot read directory " + path);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

uint64_t round4k(uint64_t n) { return (n + 4095) & ~uint64_t(4095); }

Status scan(const std::string& path, SourceStats& s) {
  for (auto& n : UM_TRY(list_dir(path))) {
    std::string p = path + "/" + n;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) return Error::from_errno("cannot stat " + p);
    ++s.entries;
    if (S_ISREG(st.st_mode)) {
      s.data_bytes += st.st_size;
      s.block_bytes += std::min<uint64_t>(round4k(st.st_size), uint64_t(st.st_blocks) * 512 + 4096);
    } else if (S_ISLNK(st.st_mode) && st.st_size >= 60) {
      s.block_bytes += 4096;
    } else if (S_ISDIR(st.st_mode)) {
      s.block_bytes += 4096;
      UM_TRY(scan(p, s));
    }
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> read_xattrs(const std::string& p) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t n = llistxattr(p.c_str(), nullptr, 0);
  if (n <= 0) return out;
  std::string names(n, '\0');
  n = llistxattr(p.c_str(), names.data(), names.size());
  if (n <= 0) return out;
  names.resize(n);
  for (size_t i = 0; i < names.size();) {
    std::string key = names.c_str() + i;
    i += key.size() + 1;
    ssize_t vl = lgetxattr(p.c_str(), key.c_str(), nullptr, 0);
    if (vl < 0) continue;
    std::string v(vl, '\0');
    vl = lgetxattr(p.c_str(), key.c_str(), v.data(), v.size());
    if (vl < 0) continue;
    v.resize(vl);
    out.emplace_back(key, v);
  }
  return out;
}

struct Copier {
  TreeWriter& w;
  Progress* progress;
  std::map<std::pair<dev_t, ino_t>, std::string> links;

  Status copy(const std::string& host, const std::string& rel) {
    for (auto& n : UM_TRY(list_dir(host))) {
      std::string p = host + "/" + n;
      std::string r = rel.empty() ? n : rel + "/" + n;
      struct stat st;
      if (lstat(p.c_str(), &st) != 0) return Error::from_errno("cannot stat " + p);
      if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
        auto [it, fresh] = links.emplace(std::make_pair(st.st_dev, st.st_ino), r);
        if (!fresh) {
          UM_TRY(w.add_hardlink(r, it->second));
          continue;
        }
      }
      EntryMeta m;
      m.mode = st.st_mode;
      m.uid = st.st_uid;
      m.gid = st.st_gid;
      m.atime = st.st_atim;
      m.mtime = st.st_mtim;
      m.ctime = st.st_ctim;
      m.rdev = st.st_rdev;
      m.xattrs = read_xattrs(p);
      if (S_ISREG(st.st_mode)) {
        UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (fd.get() < 0) return Error::from_errno("cannot read " + p);
        int raw = fd.get();
        UM_TRY(w.add(r, m, [raw, p](char* buf, size_t len) -> Result<size_t> {
          for (;;) {
            ssize_t n = ::read(raw, buf, len);
            if (n >= 0) return size_t(n);
            if (errno != EINTR) return Error::from_errno("reading " + p);
          }
        }));
      } else if (S_ISLNK(st.st_mode)) {
        std::string target(size_t(st.st_size) + 1, '\0');
        ssize_t n = readlink(p.c_str(), target.data(), target.size());
        if (n < 0) return Error::from_errno("cannot read link " + p);
        target.resize(n);
        UM_TRY(w.add(r, m, {}, target));
      } else {
        UM_TRY(w.add(r, m));
        if (S_ISDIR(st.st_mode)) UM_TRY(copy(p, r));
      }
      if (progress) progress->update(w.bytes(), w.files());
    }
    return {};
  }
};

}  // namespace

Result<SourceStats> scan_directory(const std::string& dir) {
  SourceStats s;
  UM_TRY(scan(dir, s));
  return s;
}

Status copy_directory(const std::string& dir, TreeWriter& w, Progress* progress) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return Error::from_errno(dir);
  // The directory itself becomes the base (its mode, owner and times).
  EntryMeta m;
  m.mode = st.st_mode;
  m.uid = st.st_uid;
  m.gid = st.st_gid;
  m.atime = st.st_atim;
  m.mtime = st.st_mtim;
  m.ctime = st.st_ctim;
  Copier c{w, progress, {}};
  UM_TRY(c.copy(dir, ""));
  UM_TRY(w.add("", m));
  return {};
}

}  // namespace um::image
