// umimage import IMG ARCHIVE [--at PATH]: unpack an archive into an existing image.
#include <sys/stat.h>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"
#include "umimage/sources.h"

namespace um::image {
namespace {

int run(const std::string& image, const std::string& archive, const std::string& at) {
  if (archive == "-") return cli::fail("import reads a file; for stdin use: umimage import IMG /dev/stdin");
  auto fs = open_image(image, true);
  if (!fs.ok()) return cli::fail(fs.error());
  auto& f = **fs;
  auto dir = resolve(f, at, true);
  if (!dir.ok()) return cli::fail(dir.error());
  auto a = f.getattr(*dir);
  if (!a.ok() || !S_ISDIR(a->mode)) return cli::fail(at + ": not a directory");
  // Read the whole archive once before changing anything: a truncated or corrupt archive
  // leaves the image untouched.
  auto stats = scan_archive(archive);
  if (!stats.ok()) return cli::fail(stats.error());
  auto info = f.info();
  if (stats->block_bytes > info.blocks_free * info.block_size)
    return cli::fail(image + ": not enough space for " + archive + ": No space left on device");
  TreeWriter w(f, *dir);
  Progress progress("importing " + archive, stats->data_bytes, stats->entries);
  Status st = copy_archive(archive, w, &progress);
  if (st) st = w.finish();
  progress.done();
  if (!st) return cli::fail(st.error());
  return kExitOk;
}

Registrar reg("import", "unpack an archive (tar, tar.gz, zip, cpio...) into an image", 46, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto archive = std::make_shared<std::string>();
  auto at = std::make_shared<std::string>("/");
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("archive", *archive, "archive file")->required();
  sub.add_option("--at", *at, "directory inside the image to unpack into (default /)");
  return [image, archive, at] { return run(*image, *archive, *at); };
});

}  // namespace
}  // namespace um::image
