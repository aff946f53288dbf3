// The FUSE low-level operations that present an ExtFs as a host directory (umimage mount).
// Single-threaded by design: ExtFs is not thread-safe, so the session runs fuse_session_loop.
#pragma once
#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>

#include <unordered_map>

#include "core/ext/ext_fs.h"

namespace um::image::fusefs {

struct MountState {
  ext::ExtFs* fs = nullptr;
  double timeout = 1.0;  // attribute/entry cache seconds; only this mount changes the image
  // Kernel lookup counts. Each counted inode holds an ExtFs open reference, so a file that is
  // unlinked while the kernel still knows it (open, cwd, ...) survives until its last forget.
  std::unordered_map<ext::Ino, uint64_t> lookups;
};

const fuse_lowlevel_ops& operations();

// Drops the references still held for kernel lookups (at unmount the kernel forgets nothing),
// then flushes the file system.
Status finish(MountState& state);

}  // namespace um::image::fusefs
