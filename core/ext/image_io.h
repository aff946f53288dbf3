// Which libext2fs I/O manager serves an image file: unix_io for plain images, the UML COW
// manager (core/cow) for COW files.
#pragma once
#include <ext2fs/ext2fs.h>

#include <string>

#include "core/error.h"

namespace um::ext {

struct ImageIo {
  io_manager manager = nullptr;
  bool plain = true;  // false for a COW file (its size is not the file system's)
};

Result<ImageIo> image_io_for(const std::string& path);
// The detailed reason of the last failed open through `io` ("" when there is none).
std::string image_io_error(const ImageIo& io);

}  // namespace um::ext
