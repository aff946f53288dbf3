// umimage check IMG: read-only consistency check by e2fsck -fn.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "core/cli.h"
#include "core/cow/cow_file.h"
#include "umimage/command.h"
#include "umimage/host_tools.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

// e2fsck cannot read COW files: check a merged copy (sparse, removed afterwards).
struct MergedCopy {
  std::string path;
  ~MergedCopy() {
    if (!path.empty()) unlink(path.c_str());
  }
};

int run(const std::string& image, bool verbose) {
  auto fs = open_image(image, false);  // clear errors for missing / non-ext files first
  if (!fs.ok()) return cli::fail(fs.error());
  fs->reset();
  auto e2fsck = find_tool("e2fsck");
  if (!e2fsck.ok()) return cli::fail("cannot check: e2fsck not found (install e2fsprogs)");
  std::string target = image;
  MergedCopy merged;
  if (cow::is_cow_file(image)) {
    const char* tmp = getenv("TMPDIR");
    merged.path = std::string(tmp && *tmp ? tmp : "/tmp") + "/umimage-check-" + std::to_string(getpid()) + ".img";
    if (auto st = cow::merge(image, merged.path); !st) {
      merged.path.clear();
      return cli::fail(st.error());
    }
    target = merged.path;
  }
  auto r = run_tool(*e2fsck, {"-fn", target});
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
