// umimage export IMG [PATH] > out.tar: a pax tar stream of the image (or a subtree).
#include <unistd.h>

#include "core/cli.h"
#include "umimage/archive_export.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

int run(const std::string& image, const std::string& path) {
  if (isatty(1)) return cli::fail("refusing to write a tar stream to a terminal (redirect stdout)");
  auto fs = open_image(image, false);
  if (!fs.ok()) return cli::fail(fs.error());
  auto ino = resolve(**fs, path, true);
  if (!ino.ok()) return cli::fail(ino.error());
  auto parts = split_path(path);
  if (auto s = export_tree(**fs, *ino, parts.empty() ? "root" : parts.back(), 1); !s)
    return cli::fail(s.error());
  return kExitOk;
}

Registrar reg("export", "write the image (or PATH in it) to stdout as a pax tar archive", 34, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>("/");
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("path", *path, "directory or file to export (default /)");
  return [image, path] { return run(*image, *path); };
});

}  // namespace
}  // namespace um::image
