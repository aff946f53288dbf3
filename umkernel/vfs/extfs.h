// The ext2/3/4 file system of a ubd disk, served through core's libext2fs layer.
#pragma once
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/ext/ext_fs.h"
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

class ExtSuperBlock : public SuperBlock {
 public:
  explicit ExtSuperBlock(std::unique_ptr<ext::ExtFs> fs, uint64_t dev);
  ~ExtSuperBlock() override;  // writes the page caches back
  std::string type() const override { return fs_type_; }
  int64_t statfs(struct statfs& out) override;
  int64_t sync() override;
  int64_t quiesce() override;
  InodePtr inode(ext::Ino ino);  // the one shared Inode object for `ino`
  ext::ExtFs& fs() { return *fs_; }
  // An inode that now has a page cache: kept (with its cache) while the cache is worth
  // keeping - at most kMaxCachedInodes, least recently used clean ones released first.
  void cached(std::shared_ptr<Inode> inode);
  // An inode a guest mapped: kept for the life of the mount (which mappings still use its
  // cache is not known).
  void keep_mapped(std::shared_ptr<Inode> inode);
  // A name of `ino` went away: its cache is dropped if that was the last link.
  void unlinked(ext::Ino ino);
  // Every cache's dirty data to the image (not flushed). 0 or the first -errno.
  int64_t write_back_all();
  static constexpr size_t kMaxCachedInodes = 1024;

 private:
  std::unique_ptr<ext::ExtFs> fs_;
  std::unordered_map<ext::Ino, std::weak_ptr<Inode>> cache_;
  std::string fs_type_;
  std::unordered_map<uint64_t, std::shared_ptr<Inode>> cached_;
  std::unordered_map<uint64_t, std::shared_ptr<Inode>> mapped_;
  uint64_t timer_ = 0;
  void arm_timer();
};

int64_t errno_of(const Error& e);

}  // namespace um::kernel
