// --from ARCHIVE / import: anything libarchive reads (tar with any compression, zip, cpio...),
// "-" for stdin.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>

#include "umimage/sources.h"

namespace um::image {

namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

std::string display(const std::string& path) { return path == "-" ? "stdin" : path; }

Result<ArchivePtr> open_archive(const std::string& path) {
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  // Real archive formats only: "all" would include mtree, which takes any text file.
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_format_cpio(a.get());
  archive_read_support_format_zip(a.get());
  archive_read_support_format_7zip(a.get());
  archive_read_support_format_iso9660(a.get());
  archive_read_support_format_xar(a.get());
  archive_read_support_format_ar(a.get());
  archive_read_support_format_rar(a.get());
  archive_read_support_format_rar5(a.get());
  archive_read_support_format_cab(a.get());
  archive_read_support_format_lha(a.get());
  int r = path == "-" ? archive_read_open_fd(a.get(), 0, 1 << 16)
                      : archive_read_open_filename(a.get(), path.c_str(), 1 << 16);
  if (r != ARCHIVE_OK) {
    const char* why = archive_error_string(a.get());
    return Error::make(EINVAL, display(path) + ": cannot read archive: " + (why ? why : "unknown format"));
  }
  return a;
}

Error archive_failure(archive* a, const std::string& path) {
  const char* why = archive_error_string(a);
  std::string w = why ? why : "read error";
  if (w.find("runcated") != std::string::npos || w.find("EOF") != std::string::npos)
    return Error::make(EIO, display(path) + ": truncated archive (" + w + ")");
  return Error::make(EIO, display(path) + ": corrupt archive (" + w + ")");
}

// Next header; false at the end. Warnings are not errors.
Result<bool> next(archive* a, archive_entry** e, const std::string& path) {
  int r = archive_read_next_header(a, e);
  if (r == ARCHIVE_EOF) return false;
  if (r == ARCHIVE_OK || r == ARCHIVE_WARN) return true;
  return archive_failure(a, path);
}

timespec ts(time_t s, long ns) { return timespec{s, ns}; }

}  // namespace

Result<SourceStats> scan_archive(const std::string& path) {
  ArchivePtr a = UM_TRY(open_archive(path));
  SourceStats s;
  archive_entry* e;
  while (UM_TRY(next(a.get(), &e, path))) {
    ++s.entries;
    uint64_t size = archive_entry_size_is_set(e) ? uint64_t(archive_entry_size(e)) : 0;
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFREG || type == 0) {
      s.data_bytes += size;
      s.block_bytes += (size + 4095) & ~uint64_t(4095);
    } else if (type == AE_IFDIR) {
      s.block_bytes += 4096;
    } else if (type == AE_IFLNK) {
      const char* t = archive_entry_symlink(e);
      if (t && strlen(t) >= 60) s.block_bytes += 4096;
    }
    if (archive_read_data_skip(a.get()) != ARCHIVE_OK) return archive_failure(a.get(), path);
  }
  return s;
}

Status copy_archive(const std::string& path, TreeWriter& w, Progress* progress) {
  ArchivePtr a = UM_TRY(open_archive(path));
  archive_entry* e;
  while (UM_TRY(next(a.get(), &e, path))) {
    const char* name = archive_entry_pathname(e);
    if (!name) return Error::make(EINVAL, display(path) + ": archive member without a name");
    std::string rel = UM_TRY(TreeWriter::clean_relative(name));
    if (const char* hl = archive_entry_hardlink(e)) {
      std::string target = UM_TRY(TreeWriter::clean_relative(hl));
      UM_TRY(w.add_hardlink(rel, target));
      continue;
    }
    EntryMeta m;
    mode_t type = archive_entry_filetype(e);
    if (type == 0) type = AE_IFREG;
    m.mode = type | (archive_entry_perm(e) & 07777);
    m.uid = static_cast<uint32_t>(archive_entry_uid(e));
    m.gid = static_cast<uint32_t>(archive_entry_gid(e));
    m.mtime = ts(archive_entry_mtime(e), archive_entry_mtime_nsec(e));
    m.atime = archive_entry_atime_is_set(e) ? ts(archive_entry_atime(e), archive_entry_atime_nsec(e))
                                            : m.mtime;
    m.ctime = archive_entry_ctime_is_set(e) ? ts(archive_entry_ctime(e), archive_entry_ctime_nsec(e))
                                            : m.mtime;
    m.rdev = archive_entry_rdev(e);
    archive_entry_xattr_reset(e);
    const char* xname;
    const void* xval;
    size_t xlen;
    while (archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK)
      m.xattrs.emplace_back(xname, std::string(static_cast<const char*>(xval), xlen));
    if (type == AE_IFLNK) {
      const char* t = archive_entry_symlink(e);
      if (!t || !*t) return Error::make(EINVAL, rel + ": symlink without a target");
      UM_TRY(w.add(rel, m, {}, t));
    } else if (type == AE_IFREG) {
      archive* raw = a.get();
      UM_TRY(w.add(rel, m, [raw, &path](char* buf, size_t len) -> Result<size_t> {
        la_ssize_t n = archive_read_data(raw, buf, len);
        if (n < 0) return archive_failure(raw, path);
        return size_t(n);
      }));
    } else {
      UM_TRY(w.add(rel, m));
    }
    if (progress) progress->update(w.bytes(), w.files());
  }
  return {};
}

}  // namespace um::image
