// umimage check IMG: read-only consistency check by e2fsck -fn.
#include <cstdio>

#include "core/cli.h"
#include "core/cow/cow_file.h"
#include "umimage/command.h"
#include "umimage/host_tools.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

int run(const std::string& image, bool verbose) {
  if (cow::is_cow_file(image))
    return cli::fail(image + ": is a COW file; check its merged image (umimage cow merge -o OUT)");
  auto fs = open_image(image, false);  // clear errors for missing / non-ext files first
  if (!fs.ok()) return cli::fail(fs.error());
  fs->reset();
  auto e2fsck = find_tool("e2fsck");
  if (!e2fsck.ok()) return cli::fail("cannot check: e2fsck not found (install e2fsprogs)");
  auto r = run_tool(*e2fsck, {"-fn", image});
  if (!r.ok()) return cli::fail(r.error());
  if (r->exit_code == 0) {
    if (verbose) fputs(r->output.c_str(), stdout);
    printf("%s: clean\n", image.c_str());
    return kExitOk;
  }
  fputs(r->output.c_str(), stdout);
  return cli::fail(image + ": file system has errors (e2fsck exit code " +
                   std::to_string(r->exit_code) + "); repair with: e2fsck -fy " + image);
}

Registrar reg("check", "check an image's consistency (e2fsck -fn, changes nothing)", 21, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto details = std::make_shared<bool>(false);
  sub.add_option("image", *image, "image file")->required();
  sub.add_flag("-d,--details", *details, "show e2fsck's report also when clean");
  return [image, details] { return run(*image, *details); };
});

}  // namespace
}  // namespace um::image
