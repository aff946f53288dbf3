// umimage chmod IMG MODE PATH
#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

int run(const std::string& image, const std::string& mode_text, const std::string& path) {
  char* end = nullptr;
  unsigned long mode = strtoul(mode_text.c_str(), &end, 8);
  if (mode_text.empty() || *end || mode > 07777)
    return cli::fail("MODE: expected an octal mode like 0755, got '" + mode_text + "'");
  auto fs = open_image(image, true);
  if (!fs.ok()) return cli::fail(fs.error());
  auto ino = resolve(**fs, path, true);
  if (!ino.ok()) return cli::fail(ino.error());
  ext::SetAttr sa;
  sa.mode = uint32_t(mode);
  if (auto st = (*fs)->setattr(*ino, sa); !st) return cli::fail(path + ": " + st.error().message);
  return kExitOk;
}

Registrar reg("chmod", "change a file's permission bits inside an image", 44, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto mode = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("mode", *mode, "octal mode, e.g. 0755 or 4755")->required();
  sub.add_option("path", *path, "path inside the image")->required();
  return [image, mode, path] { return run(*image, *mode, *path); };
});

}  // namespace
}  // namespace um::image
