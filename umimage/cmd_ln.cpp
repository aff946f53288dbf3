// umimage ln [-s] IMG TARGET PATH: a symbolic (or hard) link inside an image.
#include <sys/stat.h>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

int run(const std::string& image, const std::string& target, const std::string& path, bool symbolic) {
  if (target.empty()) return cli::fail("TARGET must not be empty");
  auto fs = open_image(image, true);
  if (!fs.ok()) return cli::fail(fs.error());
  auto& f = **fs;
  auto p = resolve_parent(f, path);
  if (!p.ok()) return cli::fail(p.error());
  if (f.lookup(p->dir, p->name).ok()) return cli::fail(path + ": already exists");
  if (symbolic) {
    auto r = f.symlink(p->dir, p->name, target, 0, 0);
    if (!r.ok()) return cli::fail(path + ": " + r.error().message);
    return kExitOk;
  }
  auto t = resolve(f, target, false);
  if (!t.ok()) return cli::fail(t.error());
  auto st = f.link(p->dir, p->name, *t);
  if (!st) return cli::fail(path + ": " + st.error().message);
  return kExitOk;
}

Registrar reg("ln", "make a symbolic link (-s) or a hard link inside an image", 43, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  auto sym = std::make_shared<bool>(false);
  sub.add_flag("-s,--symbolic", *sym, "symbolic link (TARGET is stored as given)");
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("target", *target, "what the link points to (for a hard link: a path in the image)")->required();
  sub.add_option("path", *path, "the new link")->required();
  return [image, target, path, sym] { return run(*image, *target, *path, *sym); };
});

}  // namespace
}  // namespace um::image
