// Writes a tree of entries (from a host directory, an archive or the busybox root) into an
// image below a base directory: creates missing parents, keeps modes, owners, times, xattrs,
// hard links, device nodes, fifos and sockets; directory times are applied at finish().
#pragma once
#include <time.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/ext/ext_fs.h"

namespace um::image {

struct EntryMeta {
  uint32_t mode = 0;  // type and permission bits
  uint32_t uid = 0, gid = 0;
  timespec atime{}, mtime{}, ctime{};
  uint64_t rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// Fills `buf` with up to `len` bytes of file data; 0 = end.
using DataReader = std::function<Result<size_t>(char* buf, size_t len)>;

class TreeWriter {
 public:
  TreeWriter(ext::ExtFs& fs, ext::Ino base) : fs_(fs), base_(base) {}

  // `rel` is relative to the base ("a/b"; "" or "." = the base itself, whose attributes are
  // then updated). An existing non-directory at `rel` is replaced; an existing directory is
  // kept and gets the new attributes. Regular files read their data from `data`.
  Status add(const std::string& rel, const EntryMeta& m, const DataReader& data = {},
             const std::string& symlink_target = {});
  // A hard link `rel` to the earlier entry `target_rel`.
  Status add_hardlink(const std::string& rel, const std::string& target_rel);
  // Sets directory times (their mtimes change while children are added).
  Status finish();

  // Path cleanup for archive member names: strips "/" and "./", rejects "..".
  static Result<std::string> clean_relative(const std::string& name);

  // All entries added from now on get this owner (e.g. 0:0 for a root image made by a user).
  void force_owner(uint32_t uid, uint32_t gid) {
    force_owner_ = true;
    uid_ = uid;
    gid_ = gid;
  }

  uint64_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }

 private:
  Result<ext::Ino> dir_for(const std::string& rel_dir);
  Status write_data(ext::Ino ino, const DataReader& data, const std::string& rel);
  Status apply_meta(ext::Ino ino, const EntryMeta& m, bool times);

  ext::ExtFs& fs_;
  ext::Ino base_;
  std::unordered_map<std::string, ext::Ino> dirs_;   // rel dir -> inode
  std::unordered_map<std::string, ext::Ino> nodes_;  // rel non-dir -> inode (hard links)
  std::vector<std::pair<ext::Ino, EntryMeta>> dir_meta_;
  std::vector<char> buf_;
  uint64_t files_ = 0, bytes_ = 0;
  bool force_owner_ = false;
  uint32_t uid_ = 0, gid_ = 0;
};

}  // namespace um::image
