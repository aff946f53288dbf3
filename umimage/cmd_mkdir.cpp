// umimage mkdir [-p] IMG PATH
#include <sys/stat.h>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

struct MkdirArgs {
  std::string image, path, mode = "755";
  bool parents = false;
};

int run(const MkdirArgs& a) {
  char* end = nullptr;
  unsigned long mode = strtoul(a.mode.c_str(), &end, 8);
  if (a.mode.empty() || *end || mode > 07777) return cli::fail("--mode: expected an octal mode like 755");
  auto fs = open_image(a.image, true);
  if (!fs.ok()) return cli::fail(fs.error());
  auto& f = **fs;
  if (a.parents) {
    auto r = mkdir_p(f, a.path, mode, 0, 0);
    if (!r.ok()) return cli::fail(r.error());
    return kExitOk;
  }
  auto p = resolve_parent(f, a.path);
  if (!p.ok()) return cli::fail(p.error());
  auto r = f.mkdir(p->dir, p->name, mode, 0, 0);
  if (!r.ok()) {
    if (r.error().code == EEXIST) return cli::fail(a.path + ": already exists");
    return cli::fail(a.path + ": " + r.error().message);
  }
  return kExitOk;
}

Registrar reg("mkdir", "make a directory inside an image (owner root)", 41, [](CLI::App& sub) {
  auto a = std::make_shared<MkdirArgs>();
  sub.add_flag("-p,--parents", a->parents, "make parent directories as needed, no error if it exists");
  sub.add_option("-m,--mode", a->mode, "permission bits in octal")->capture_default_str();
  sub.add_option("image", a->image, "image or COW file")->required();
  sub.add_option("path", a->path, "directory to make")->required();
  return [a] { return run(*a); };
});

}  // namespace
}  // namespace um::image
