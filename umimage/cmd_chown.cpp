// umimage chown IMG UID[:GID] PATH (numeric ids: the image's users are not the host's)
#include <cstdio>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

int run(const std::string& image, const std::string& owner, const std::string& path) {
  unsigned uid = 0, gid = 0;
  char extra;
  int n = sscanf(owner.c_str(), "%u:%u%c", &uid, &gid, &extra);
  bool has_colon = owner.find(':') != std::string::npos;
  if (owner.empty() || !isdigit(static_cast<unsigned char>(owner[0])) ||
      !((n == 2) || (n == 1 && !has_colon)))
    return cli::fail("OWNER: expected numeric UID[:GID], got '" + owner + "'");
  auto fs = open_image(image, true);
  if (!fs.ok()) return cli::fail(fs.error());
  auto ino = resolve(**fs, path, false);
  if (!ino.ok()) return cli::fail(ino.error());
  ext::SetAttr sa;
  sa.uid = uid;
  if (n == 2) sa.gid = gid;
  if (auto st = (*fs)->setattr(*ino, sa); !st) return cli::fail(path + ": " + st.error().message);
  return kExitOk;
}

Registrar reg("chown", "change a file's owner (numeric UID[:GID]) inside an image", 45, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto owner = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("owner", *owner, "UID or UID:GID")->required();
  sub.add_option("path", *path, "path inside the image")->required();
  return [image, owner, path] { return run(*image, *owner, *path); };
});

}  // namespace
}  // namespace um::image
