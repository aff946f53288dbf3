// umimage cat IMG PATH: a file's contents to stdout.
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

int run(const std::string& image, const std::string& path) {
  auto fs = open_image(image, false);
  if (!fs.ok()) return cli::fail(fs.error());
  auto ino = resolve(**fs, path, true);
  if (!ino.ok()) return cli::fail(ino.error());
  auto a = (*fs)->getattr(*ino);
  if (!a.ok()) return cli::fail(a.error());
  if (S_ISDIR(a->mode)) return cli::fail(path + ": is a directory");
  if (!S_ISREG(a->mode)) return cli::fail(path + ": not a regular file");
  std::vector<char> buf(1 << 20);
  uint64_t off = 0;
  while (off < a->size) {
    auto n = (*fs)->read(*ino, off, buf.data(), buf.size());
    if (!n.ok()) return cli::fail(n.error());
    if (*n == 0) break;
    for (size_t done = 0; done < *n;) {
      ssize_t w = write(1, buf.data() + done, *n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno == EPIPE ? kExitFailure : cli::fail(Error::from_errno("writing stdout"));
      done += w;
    }
    off += *n;
  }
  return kExitOk;
}

Registrar reg("cat", "print a file inside an image", 31, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("path", *path, "file inside the image")->required();
  return [image, path] { return run(*image, *path); };
});

}  // namespace
}  // namespace um::image
