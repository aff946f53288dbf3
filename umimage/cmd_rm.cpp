// umimage rm [-r] IMG PATH
#include <sys/stat.h>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

int run(const std::string& image, const std::string& path, bool recursive) {
  auto fs = open_image(image, true);
  if (!fs.ok()) return cli::fail(fs.error());
  auto& f = **fs;
  auto p = resolve_parent(f, path);
  if (!p.ok()) return cli::fail(p.error());
  auto ino = f.lookup(p->dir, p->name);
  if (!ino.ok()) return cli::fail(path + ": no such file or directory");
  auto a = f.getattr(*ino);
  if (!a.ok()) return cli::fail(a.error());
  Status st;
  if (S_ISDIR(a->mode)) {
    if (!recursive) return cli::fail(path + ": is a directory (use -r)");
    st = remove_tree(f, p->dir, p->name);
  } else {
    st = f.unlink(p->dir, p->name);
  }
  if (!st) return cli::fail(path + ": " + st.error().message);
  return kExitOk;
}

Registrar reg("rm", "remove a file (or, with -r, a directory tree) inside an image", 42, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  auto rec = std::make_shared<bool>(false);
  sub.add_flag("-r,-R,--recursive", *rec, "remove directories and their contents");
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("path", *path, "path inside the image")->required();
  return [image, path, rec] { return run(*image, *path, *rec); };
});

}  // namespace
}  // namespace um::image
