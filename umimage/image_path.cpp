#include "umimage/image_path.h"

#include <sys/stat.h>

#include <vector>

namespace um::image {

using ext::ExtFs;
using ext::Ino;

Result<std::unique_ptr<ExtFs>> open_image(const std::string& path, bool writable, ExtFs::HostLock lock) {
  auto r = ExtFs::open(path, writable ? ExtFs::Mode::ReadWrite : ExtFs::Mode::ReadOnly, lock);
  if (!r.ok()) {
    Error e = std::move(r).error();
    if (e.message.rfind(path, 0) != 0) e.message = path + ": " + e.message;
    return e;
  }
  return std::move(*r);
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

namespace {

// Walks `parts` from `start`; `links` counts symlinks followed so far (ELOOP after 40).
Result<Ino> walk(ExtFs& fs, Ino start, std::vector<std::string> parts, bool follow_last,
                 int& links, const std::string& whole) {
  Ino cur = start;
  // Directory stack to resolve ".." above a symlink target correctly.
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& name = parts[i];
    if (name == ".") continue;
    auto attr = UM_TRY(fs.getattr(cur));
    if (!S_ISDIR(attr.mode)) return Error::make(ENOTDIR, whole + ": not a directory");
    auto next = fs.lookup(cur, name);
    if (!next.ok()) {
      Error e = std::move(next).error();
      if (e.code == ENOENT) e.message = whole + ": no such file or directory";
      return e;
    }
    Ino ino = *next;
    bool last = i + 1 == parts.size();
    if (!last || follow_last) {
      auto a = UM_TRY(fs.getattr(ino));
      if (S_ISLNK(a.mode)) {
        if (++links > 40) return Error::make(ELOOP, whole + ": too many levels of symbolic links");
        std::string target = UM_TRY(fs.readlink(ino));
        Ino base = target.starts_with('/') ? fs.root() : cur;
        ino = UM_TRY(walk(fs, base, split_path(target), true, links, whole));
      }
    }
    cur = ino;
  }
  return cur;
}

}  // namespace

Result<Ino> resolve(ExtFs& fs, std::string_view path, bool follow_last) {
  int links = 0;
  return walk(fs, fs.root(), split_path(path), follow_last, links, std::string(path));
}

Result<ParentRef> resolve_parent(ExtFs& fs, std::string_view path) {
  auto parts = split_path(path);
  if (parts.empty()) return Error::make(EINVAL, std::string(path) + ": names the root directory");
  ParentRef p;
  p.name = parts.back();
  if (p.name == "." || p.name == "..")
    return Error::make(EINVAL, std::string(path) + ": must not end in '.' or '..'");
  if (p.name.size() > 255) return Error::make(ENAMETOOLONG, std::string(path) + ": name too long");
  parts.pop_back();
  int links = 0;
  p.dir = UM_TRY(walk(fs, fs.root(), parts, true, links, std::string(path)));
  auto a = UM_TRY(fs.getattr(p.dir));
  if (!S_ISDIR(a.mode)) return Error::make(ENOTDIR, std::string(path) + ": parent is not a directory");
  return p;
}

Result<Ino> mkdir_p(ExtFs& fs, std::string_view path, uint32_t mode, uint32_t uid, uint32_t gid) {
  Ino cur = fs.root();
  std::string sofar;
  for (auto& name : split_path(path)) {
    sofar += "/" + name;
    if (name == ".") continue;
    auto next = fs.lookup(cur, name);
    if (next.ok()) {
      int links = 0;
      Ino ino = UM_TRY(walk(fs, cur, {name}, true, links, sofar));
      auto a = UM_TRY(fs.getattr(ino));
      if (!S_ISDIR(a.mode)) return Error::make(ENOTDIR, sofar + ": exists and is not a directory");
      cur = ino;
      continue;
    }
    if (next.error().code != ENOENT) return std::move(next).error();
    auto made = fs.mkdir(cur, name, mode, uid, gid);
    if (!made.ok()) {
      Error e = std::move(made).error();
      e.message = sofar + ": " + e.message;
      return e;
    }
    cur = *made;
  }
  return cur;
}

Status remove_tree(ExtFs& fs, Ino dir, const std::string& name) {
  Ino ino = UM_TRY(fs.lookup(dir, name));
  auto a = UM_TRY(fs.getattr(ino));
  if (!S_ISDIR(a.mode)) return fs.unlink(dir, name);
  std::vector<std::string> children;
  UM_TRY(fs.readdir(ino, 0, [&](const ext::DirEntry& e, uint64_t) {
    if (e.name != "." && e.name != "..") children.emplace_back(e.name);
    return true;
  }));
  for (auto& c : children) UM_TRY(remove_tree(fs, ino, c));
  return fs.rmdir(dir, name);
}

std::string mode_string(uint32_t mode) {
  std::string s = "?---------";
  switch (mode & S_IFMT) {
    case S_IFREG: s[0] = '-'; break;
    case S_IFDIR: s[0] = 'd'; break;
    case S_IFLNK: s[0] = 'l'; break;
    case S_IFCHR: s[0] = 'c'; break;
    case S_IFBLK: s[0] = 'b'; break;
    case S_IFIFO: s[0] = 'p'; break;
    case S_IFSOCK: s[0] = 's'; break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (mode & (0400 >> i)) s[1 + i] = rwx[i];
  if (mode & S_ISUID) s[3] = (mode & 0100) ? 's' : 'S';
  if (mode & S_ISGID) s[6] = (mode & 0010) ? 's' : 'S';
  if (mode & S_ISVTX) s[9] = (mode & 0001) ? 't' : 'T';
  return s;
}

}  // namespace um::image
