// umimage resize IMG SIZE: grow (or shrink) an image and its file system with resize2fs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "core/cli.h"
#include "core/cow/cow_file.h"
#include "core/unique_fd.h"
#include "umimage/command.h"
#include "umimage/host_tools.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

int run(const std::string& image, const std::string& size_text) {
  auto size = cli::parse_size(size_text);
  if (!size.ok()) return cli::fail("SIZE: " + size.error().message);
  if (cow::is_cow_file(image)) return cli::fail(image + ": cannot resize a COW file");
  // The write lock is held through e2fsck and resize2fs, which know nothing of it.
  UniqueFd lock(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!lock) return cli::fail(Error::from_errno(image));
  if (auto st = cow::lock_file(lock.get(), true, image); !st) return cli::fail(st.error());
  uint64_t old_fs_bytes;
  {
    auto fs = open_image(image, true, ext::ExtFs::HostLock::None);
    if (!fs.ok()) return cli::fail(fs.error());
    auto i = (*fs)->info();
    old_fs_bytes = i.blocks_total * i.block_size;
    if (*size % i.block_size) *size -= *size % i.block_size;
  }
  if (*size == old_fs_bytes) {
    printf("%s: already %llu bytes\n", image.c_str(), (unsigned long long)old_fs_bytes);
    return kExitOk;
  }
  if (*size < (8u << 20)) return cli::fail("SIZE: at least 8 MiB");
  auto e2fsck = find_tool("e2fsck");
  auto resize2fs = find_tool("resize2fs");
  if (!e2fsck.ok() || !resize2fs.ok()) return cli::fail("cannot resize: e2fsck/resize2fs not found (install e2fsprogs)");
  auto chk = run_tool(*e2fsck, {"-fn", image});
  if (!chk.ok()) return cli::fail(chk.error());
  if (chk->exit_code != 0)
    return cli::fail(image + ": file system has errors; repair with e2fsck -fy first");
  struct stat st;
  if (stat(image.c_str(), &st) != 0) return cli::fail(Error::from_errno(image));
  off_t old_file = st.st_size;
  bool grow = *size > old_fs_bytes;
  if (grow && off_t(*size) > old_file && truncate(image.c_str(), off_t(*size)) != 0)
    return cli::fail(Error::from_errno(image + ": growing the file"));
  auto r = run_tool(*resize2fs, {"-f", image, std::to_string(*size / 1024) + "K"});
  if (!r.ok() || r->exit_code != 0) {
    if (grow && truncate(image.c_str(), old_file) != 0) {
    }
    std::string out = r.ok() ? r->output : r.error().message;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    size_t nl = out.rfind('\n');
    return cli::fail(image + ": resize2fs failed: " + (nl == std::string::npos ? out : out.substr(nl + 1)));
  }
  if (!grow && truncate(image.c_str(), off_t(*size)) != 0)
    return cli::fail(Error::from_errno(image + ": shrinking the file"));
  printf("%s: resized from %llu to %llu bytes\n", image.c_str(), (unsigned long long)old_fs_bytes,
         (unsigned long long)*size);
  return kExitOk;
}

Registrar reg("resize", "grow or shrink an image and its file system (resize2fs)", 22, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto size = std::make_shared<std::string>();
  sub.add_option("image", *image, "image file")->required();
  sub.add_option("size", *size, "new size (e.g. 2G)")->required();
  return [image, size] { return run(*image, *size); };
});

}  // namespace
}  // namespace um::image
