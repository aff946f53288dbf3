// umimage put IMG SRC PATH: copy a host file or directory into an image.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"
#include "umimage/sources.h"

namespace um::image {
namespace {

struct PutArgs {
  std::string image, src, path, owner;
};

int run(const PutArgs& a) {
  struct stat st;
  if (lstat(a.src.c_str(), &st) != 0) return cli::fail(Error::from_errno(a.src));
  std::optional<std::pair<uint32_t, uint32_t>> owner;
  if (!a.owner.empty()) {
    unsigned u = 0, g = 0;
    char extra;
    int n = sscanf(a.owner.c_str(), "%u:%u%c", &u, &g, &extra);
    if (n != 2 && !(n == 1 && a.owner.find(':') == std::string::npos))
      return cli::fail("--owner: expected UID[:GID] (numbers)");
    owner = {u, n == 2 ? g : u};
  }
  auto fs = open_image(a.image, true);
  if (!fs.ok()) return cli::fail(fs.error());
  auto& f = **fs;
  // PATH naming an existing directory means "into it".
  std::string target = a.path;
  auto existing = resolve(f, a.path, true);
  if (existing.ok()) {
    auto at = f.getattr(*existing);
    if (at.ok() && S_ISDIR(at->mode) && !S_ISDIR(st.st_mode)) {
      std::string base = a.src.substr(a.src.rfind('/') + 1);
      target = (a.path.ends_with('/') ? a.path : a.path + "/") + base;
    } else if (at.ok() && S_ISDIR(at->mode) && S_ISDIR(st.st_mode)) {
      std::string base = split_path(a.src).empty() ? "" : split_path(a.src).back();
      target = (a.path.ends_with('/') ? a.path : a.path + "/") + base;
    }
  }
  auto parent = resolve_parent(f, target);
  if (!parent.ok()) return cli::fail(parent.error());
  if (auto old = f.lookup(parent->dir, parent->name); old.ok()) {
    auto at = f.getattr(*old);
    if (at.ok() && S_ISDIR(at->mode)) return cli::fail(target + ": a directory is in the way");
  }
  // Refuse up front what cannot fit, so the image is not touched.
  uint64_t need = 0;
  if (S_ISDIR(st.st_mode)) {
    auto s = scan_directory(a.src);
    if (!s.ok()) return cli::fail(s.error());
    need = s->block_bytes;
  } else if (S_ISREG(st.st_mode)) {
    need = (uint64_t(st.st_size) + 4095) & ~uint64_t(4095);
  }
  auto info = f.info();
  if (need > info.blocks_free * info.block_size)
    return cli::fail(a.image + ": not enough space for " + a.src + " (" + std::to_string(need >> 10) +
                     " KiB needed, " + std::to_string(info.blocks_free * info.block_size >> 10) +
                     " KiB free): No space left on device");

  // Copy with a TreeWriter rooted at the parent directory.
  TreeWriter w(f, parent->dir);
  Status s;
  if (S_ISDIR(st.st_mode)) {
    auto made = f.lookup(parent->dir, parent->name);
    ext::Ino dir;
    if (made.ok()) {
      dir = *made;
    } else {
      auto m = f.mkdir(parent->dir, parent->name, st.st_mode & 07777, st.st_uid, st.st_gid);
      if (!m.ok()) return cli::fail(m.error());
      dir = *m;
    }
    TreeWriter dw(f, dir);
    s = copy_directory(a.src, dw, nullptr);
    if (s) s = dw.finish();
  } else {
    // A one-entry copy: reuse the directory copier's logic through a temporary view.
    EntryMeta m;
    m.mode = st.st_mode;
    m.uid = st.st_uid;
    m.gid = st.st_gid;
    m.atime = st.st_atim;
    m.mtime = st.st_mtim;
    m.ctime = st.st_ctim;
    m.rdev = st.st_rdev;
    if (S_ISLNK(st.st_mode)) {
      std::string t(size_t(st.st_size) + 1, '\0');
      ssize_t n = readlink(a.src.c_str(), t.data(), t.size());
      if (n < 0) return cli::fail(Error::from_errno(a.src));
      t.resize(n);
      s = w.add(parent->name, m, {}, t);
    } else if (S_ISREG(st.st_mode)) {
      int fd = ::open(a.src.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return cli::fail(Error::from_errno(a.src));
      s = w.add(parent->name, m, [fd, &a](char* buf, size_t len) -> Result<size_t> {
        ssize_t n = ::read(fd, buf, len);
        if (n < 0) return Error::from_errno("reading " + a.src);
        return size_t(n);
      });
      ::close(fd);
    } else {
      s = w.add(parent->name, m);
    }
    if (s) s = w.finish();
  }
  if (s && owner) {
    auto ino = f.lookup(parent->dir, parent->name);
    if (ino.ok()) {
      ext::SetAttr sa;
      sa.uid = owner->first;
      sa.gid = owner->second;
      s = f.setattr(*ino, sa);
    }
  }
  if (!s) return cli::fail(s.error());
  if (auto fl = f.flush(); !fl) return cli::fail(fl.error());
  return kExitOk;
}

Registrar reg("put", "copy a host file or directory into an image", 40, [](CLI::App& sub) {
  auto a = std::make_shared<PutArgs>();
  sub.add_option("image", a->image, "image or COW file")->required();
  sub.add_option("src", a->src, "host file or directory")->required();
  sub.add_option("path", a->path, "destination inside the image (an existing directory: copied into it)")->required();
  sub.add_option("-o,--owner", a->owner, "owner UID[:GID] of the copy (default: the host file's)");
  return [a] { return run(*a); };
});

}  // namespace
}  // namespace um::image
