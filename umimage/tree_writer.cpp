#include "umimage/tree_writer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "umimage/image_path.h"

namespace um::image {

using ext::Ino;

Result<std::string> TreeWriter::clean_relative(const std::string& name) {
  std::string out;
  for (auto& part : split_path(name)) {
    if (part == ".") continue;
    if (part == "..")
      return Error::make(EINVAL, name + ": archive member name contains '..'");
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

Result<Ino> TreeWriter::dir_for(const std::string& rel_dir) {
  if (rel_dir.empty()) return base_;
  auto it = dirs_.find(rel_dir);
  if (it != dirs_.end()) return it->second;
  size_t slash = rel_dir.rfind('/');
  std::string parent = slash == std::string::npos ? "" : rel_dir.substr(0, slash);
  std::string name = slash == std::string::npos ? rel_dir : rel_dir.substr(slash + 1);
  Ino p = UM_TRY(dir_for(parent));
  Ino ino;
  auto found = fs_.lookup(p, name);
  if (found.ok()) {
    auto a = UM_TRY(fs_.getattr(*found));
    if (!S_ISDIR(a.mode)) return Error::make(ENOTDIR, rel_dir + ": exists and is not a directory");
    ino = *found;
  } else if (found.error().code == ENOENT) {
    auto made = fs_.mkdir(p, name, 0755, 0, 0);
    if (!made.ok()) return Error::make(made.error().code, rel_dir + ": " + made.error().message);
    ino = *made;
  } else {
    return std::move(found).error();
  }
  dirs_[rel_dir] = ino;
  return ino;
}

Status TreeWriter::apply_meta(Ino ino, const EntryMeta& m, bool times) {
  for (auto& [k, v] : m.xattrs) {
    auto st = fs_.setxattr(ino, k, v);
    if (!st.ok() && st.error().code != ENOTSUP && st.error().code != EPERM)
      return Error::make(st.error().code, "xattr " + k + ": " + st.error().message);
  }
  ext::SetAttr sa;
  sa.mode = m.mode & 07777;
  sa.uid = m.uid;
  sa.gid = m.gid;
  if (times) {
    sa.atime = m.atime;
    sa.mtime = m.mtime;
    sa.ctime = m.ctime.tv_sec ? m.ctime : m.mtime;
  }
  return fs_.setattr(ino, sa);
}

Status TreeWriter::write_data(Ino ino, const DataReader& data, const std::string& rel) {
  if (!data) return {};
  if (buf_.empty()) buf_.resize(1 << 20);
  uint64_t off = 0, written_end = 0;
  for (;;) {
    size_t n = UM_TRY(data(buf_.data(), buf_.size()));
    if (n == 0) break;
    // Blocks of zeros are left as holes (sparse files stay sparse).
    size_t i = 0;
    while (i < n) {
      size_t chunk = std::min<size_t>(4096 - (off + i) % 4096, n - i);
      const char* p = buf_.data() + i;
      bool zero = chunk == 4096 && p[0] == 0 && std::memcmp(p, p + 1, chunk - 1) == 0;
      if (!zero) {
        size_t j = i + chunk;
        // extend over following non-zero blocks to write in one call
        while (j < n) {
          size_t c2 = std::min<size_t>(4096, n - j);
          const char* q = buf_.data() + j;
          if (c2 == 4096 && q[0] == 0 && std::memcmp(q, q + 1, c2 - 1) == 0) break;
          j += c2;
        }
        auto w = fs_.write(ino, off + i, p, j - i);
        if (!w.ok()) return Error::make(w.error().code, rel + ": " + w.error().message);
        if (*w != j - i) return Error::make(ENOSPC, rel + ": No space left on device");
        written_end = off + j;
        chunk = j - i;
      }
      i += chunk;
    }
    off += n;
    bytes_ += n;
  }
  if (off > written_end) UM_TRY(fs_.truncate(ino, off));
  return {};
}

Status TreeWriter::add(const std::string& rel, const EntryMeta& meta, const DataReader& data,
                       const std::string& symlink_target) {
  ++files_;
  EntryMeta owned;
  if (force_owner_) {
    owned = meta;
    owned.uid = uid_;
    owned.gid = gid_;
  }
  const EntryMeta& m = force_owner_ ? owned : meta;
  if (rel.empty()) {
    dir_meta_.emplace_back(base_, m);
    return apply_meta(base_, m, false);
  }
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  Ino dir = UM_TRY(dir_for(parent));
  uint32_t type = m.mode & S_IFMT;

  auto existing = fs_.lookup(dir, name);
  if (existing.ok()) {
    auto a = UM_TRY(fs_.getattr(*existing));
    if (S_ISDIR(a.mode)) {
      if (type != S_IFDIR) return Error::make(EEXIST, rel + ": a directory is in the way");
      dirs_[rel] = *existing;
      dir_meta_.emplace_back(*existing, m);
      return apply_meta(*existing, m, false);
    }
    UM_TRY(fs_.unlink(dir, name));
    nodes_.erase(rel);
  } else if (existing.error().code != ENOENT) {
    return std::move(existing).error();
  }

  auto annotate = [&](Error e) { return Error::make(e.code, rel + ": " + e.message); };
  Ino ino = 0;
  if (type == S_IFDIR) {
    auto r = fs_.mkdir(dir, name, m.mode & 07777, m.uid, m.gid);
    if (!r.ok()) return annotate(std::move(r).error());
    ino = *r;
    dirs_[rel] = ino;
    dir_meta_.emplace_back(ino, m);
    return apply_meta(ino, m, false);
  }
  if (type == S_IFLNK) {
    auto r = fs_.symlink(dir, name, symlink_target, m.uid, m.gid);
    if (!r.ok()) return annotate(std::move(r).error());
    ino = *r;
    nodes_[rel] = ino;
    ext::SetAttr sa;
    sa.atime = m.atime;
    sa.mtime = m.mtime;
    sa.ctime = m.ctime.tv_sec ? m.ctime : m.mtime;
    for (auto& [k, v] : m.xattrs) (void)fs_.setxattr(ino, k, v);
    return fs_.setattr(ino, sa);
  }
  auto r = fs_.mknod(dir, name, m.mode, m.uid, m.gid, m.rdev);
  if (!r.ok()) return annotate(std::move(r).error());
  ino = *r;
  if (type == S_IFREG || type == 0) {
    Status st = write_data(ino, data, rel);
    if (!st.ok()) {
      (void)fs_.unlink(dir, name);  // no partial file left behind
      return st;
    }
  }
  nodes_[rel] = ino;
  return apply_meta(ino, m, true);
}

Status TreeWriter::add_hardlink(const std::string& rel, const std::string& target_rel) {
  ++files_;
  Ino target = 0;
  auto it = nodes_.find(target_rel);
  if (it != nodes_.end()) {
    target = it->second;
  } else {
    auto r = resolve(fs_, target_rel.empty() ? "." : target_rel, false);
    if (!r.ok()) return Error::make(r.error().code, rel + ": hard link target " + target_rel + " not found");
    target = *r;
  }
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  Ino dir = UM_TRY(dir_for(parent));
  auto existing = fs_.lookup(dir, name);
  if (existing.ok()) {
    if (*existing == target) return {};
    auto a = UM_TRY(fs_.getattr(*existing));
    if (S_ISDIR(a.mode)) return Error::make(EEXIST, rel + ": a directory is in the way");
    UM_TRY(fs_.unlink(dir, name));
  }
  // link() changes ctime only; keep the target's times as they were.
  auto a = UM_TRY(fs_.getattr(target));
  auto st = fs_.link(dir, name, target);
  if (!st.ok()) return Error::make(st.error().code, rel + ": " + st.error().message);
  nodes_[rel] = target;
  ext::SetAttr sa;
  sa.atime = a.atime;
  sa.mtime = a.mtime;
  sa.ctime = a.ctime;
  return fs_.setattr(target, sa);
}

Status TreeWriter::finish() {
  // Deepest first does not matter: setting a directory's times changes no other directory.
  for (auto& [ino, m] : dir_meta_) {
    ext::SetAttr sa;
    sa.atime = m.atime;
    sa.mtime = m.mtime;
    sa.ctime = m.ctime.tv_sec ? m.ctime : m.mtime;
    UM_TRY(fs_.setattr(ino, sa));
  }
  dir_meta_.clear();
  return fs_.flush();
}

}  // namespace um::image
