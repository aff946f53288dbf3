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
  ~ExtSuperBlock() override;  // writes shared mappings back
  std::string type() const override { return fs_type_; }
  int64_t statfs(struct statfs& out) override;
  int64_t sync() override;
  int64_t quiesce() override;
  InodePtr inode(ext::Ino ino);  // the one shared Inode object for `ino`
  ext::ExtFs& fs() { return *fs_; }
  // An inode whose shared mapping copy must be written back: kept for the life of the mount
  // (which mappings still use it is not known).
  void keep_shared(std::shared_ptr<Inode> inode);
  int64_t write_back_shared();

 private:
  std::unique_ptr<ext::ExtFs> fs_;
  std::unordered_map<ext::Ino, std::weak_ptr<Inode>> cache_;
  std::string fs_type_;
  std::vector<std::shared_ptr<Inode>> shared_;
  uint64_t timer_ = 0;
  void arm_timer();
};

int64_t errno_of(const Error& e);

}  // namespace um::kernel
