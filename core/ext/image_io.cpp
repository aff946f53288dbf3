#include "core/ext/image_io.h"

#include "core/cow/cow_file.h"

namespace um::ext {

Result<ImageIo> image_io_for(const std::string& path) {
  ImageIo io;
  io.manager = unix_io_manager;
  if (um::cow::is_cow_file(path)) {
    io.manager = um::cow::io_manager();
    io.plain = false;
  }
  return io;
}

std::string image_io_error(const ImageIo& io) {
  return io.plain ? std::string() : um::cow::last_error();
}

}  // namespace um::ext
