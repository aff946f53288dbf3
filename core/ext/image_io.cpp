#include "core/ext/image_io.h"

#include "core/cow/cow_file.h"

// Referenced weakly so the ext layer links even in a binary that leaves out the COW code.
namespace um::cow {
bool is_cow_file(const std::string& path) __attribute__((weak));
struct_io_manager* io_manager() __attribute__((weak));
}  // namespace um::cow

namespace um::ext {

Result<ImageIo> image_io_for(const std::string& path) {
  ImageIo io;
  io.manager = unix_io_manager;
  if (&um::cow::is_cow_file && um::cow::is_cow_file(path)) {
    if (!&um::cow::io_manager)
      return Error::make(ENOTSUP, path + ": UML COW files are not supported in this build");
    io.manager = um::cow::io_manager();
    io.plain = false;
  }
  return io;
}

}  // namespace um::ext
