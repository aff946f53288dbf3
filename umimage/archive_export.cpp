#include "umimage/archive_export.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include "core/log.h"

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

namespace um::image {

using ext::Ino;

namespace {

struct Exporter {
  ext::ExtFs& fs;
  archive* a;
  std::map<Ino, std::string> seen;  // inode with several links -> first exported name
  std::vector<char> buf = std::vector<char>(1 << 20);

  Status fail() {
    const char* why = archive_error_string(a);
    return Error::make(EIO, std::string("writing the archive: ") + (why ? why : "error"));
  }

  Status entry(Ino ino, const std::string& name) {
    auto at = UM_TRY(fs.getattr(ino));
    if (S_ISSOCK(at.mode)) {
      UM_WARN("%s: socket not exported (tar cannot hold sockets)", name.c_str());
      return {};
    }
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    if (!S_ISDIR(at.mode) && at.nlink > 1) {
      auto [it, fresh] = seen.emplace(ino, name);
      if (!fresh) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        if (archive_write_header(a, e.get()) < ARCHIVE_WARN) return fail();
        return {};
      }
    }
    archive_entry_set_mode(e.get(), at.mode);
    archive_entry_set_uid(e.get(), at.uid);
    archive_entry_set_gid(e.get(), at.gid);
    archive_entry_set_mtime(e.get(), at.mtime.tv_sec, at.mtime.tv_nsec);
    archive_entry_set_atime(e.get(), at.atime.tv_sec, at.atime.tv_nsec);
    archive_entry_set_ctime(e.get(), at.ctime.tv_sec, at.ctime.tv_nsec);
    archive_entry_set_nlink(e.get(), at.nlink);
    if (S_ISCHR(at.mode) || S_ISBLK(at.mode)) archive_entry_set_rdev(e.get(), at.rdev);
    if (S_ISLNK(at.mode)) archive_entry_set_symlink(e.get(), UM_TRY(fs.readlink(ino)).c_str());
    archive_entry_set_size(e.get(), S_ISREG(at.mode) ? int64_t(at.size) : 0);
    auto names = fs.listxattr(ino);
    if (names.ok()) {
      for (auto& n : *names) {
        auto v = fs.getxattr(ino, n);
        if (v.ok()) archive_entry_xattr_add_entry(e.get(), n.c_str(), v->data(), v->size());
      }
    }
    if (archive_write_header(a, e.get()) < ARCHIVE_WARN) return fail();
    if (S_ISREG(at.mode)) {
      uint64_t off = 0;
      while (off < at.size) {
        size_t n = UM_TRY(fs.read(ino, off, buf.data(), buf.size()));
        if (n == 0) return Error::make(EIO, name + ": file shorter than its size");
        if (archive_write_data(a, buf.data(), n) < 0) return fail();
        off += n;
      }
    }
    if (S_ISDIR(at.mode)) {
      std::vector<std::pair<std::string, Ino>> kids;
      UM_TRY(fs.readdir(ino, 0, [&](const ext::DirEntry& d, uint64_t) {
        if (d.name != "." && d.name != "..") kids.emplace_back(std::string(d.name), d.ino);
        return true;
      }));
      std::sort(kids.begin(), kids.end());
      std::string prefix = name == "." ? "" : name + "/";
      for (auto& [n, k] : kids) UM_TRY(entry(k, prefix + n));
    }
    return {};
  }
};

}  // namespace

Status export_tree(ext::ExtFs& fs, Ino top, const std::string& file_name, int out_fd) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), out_fd) != ARCHIVE_OK)
    return Error::make(EIO, std::string("cannot write the archive: ") + archive_error_string(a.get()));
  Exporter x{fs, a.get(), {}};
  auto at = UM_TRY(fs.getattr(top));
  if (S_ISDIR(at.mode)) {
    UM_TRY(x.entry(top, "."));
  } else {
    UM_TRY(x.entry(top, file_name));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return x.fail();
  return {};
}

}  // namespace um::image
