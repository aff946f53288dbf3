// umimage check IMG: read-only consistency check by e2fsck -fn. An image whose journal a
// crash left in use is checked as the next mount sees it: replayed (by e2fsck) on a copy.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/unique_fd.h"

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

// A sparse copy of a plain image (its zero-filled 64 KiB runs left as holes).
Status sparse_copy(const std::string& from, const std::string& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return Error::from_errno(from);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) return Error::from_errno(to);
  struct stat st;
  if (fstat(in.get(), &st) != 0) return Error::from_errno(from);
  std::vector<char> buf(1 << 16);
  for (off_t off = 0; off < st.st_size;) {
    ssize_t n = pread(in.get(), buf.data(), buf.size(), off);
    if (n < 0) return Error::from_errno(from);
    if (n == 0) break;
    if (std::any_of(buf.begin(), buf.begin() + n, [](char c) { return c != 0; }) &&
        pwrite(out.get(), buf.data(), size_t(n), off) != n)
      return Error::from_errno(to);
    off += n;
  }
  if (ftruncate(out.get(), st.st_size) != 0) return Error::from_errno(to);
  return {};
}

int run(const std::string& image, bool verbose) {
  auto fs = open_image(image, false);  // clear errors for missing / non-ext files first
  if (!fs.ok()) return cli::fail(fs.error());
  auto features = (*fs)->info().features;
  bool replay = std::find(features.begin(), features.end(), "needs_recovery") != features.end();
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
  if (replay) {
    // e2fsck -n would check the image without its journal: replay it on a copy first.
    if (merged.path.empty()) {
      const char* tmp = getenv("TMPDIR");
      merged.path = std::string(tmp && *tmp ? tmp : "/tmp") + "/umimage-check-" + std::to_string(getpid()) + ".img";
      if (auto st = sparse_copy(image, merged.path); !st) {
        unlink(merged.path.c_str());
        merged.path.clear();
        return cli::fail(st.error());
      }
      target = merged.path;
    }
    auto j = run_tool(*e2fsck, {"-fy", "-E", "journal_only", target});
    if (!j.ok()) return cli::fail(j.error());
    if (j->exit_code > 1) {
      fputs(j->output.c_str(), stdout);
      return cli::fail(image + ": its journal cannot be replayed (e2fsck exit code " +
                       std::to_string(j->exit_code) + ")");
    }
    printf("%s: in use or not closed cleanly: checking it with its journal replayed (on a copy)\n",
           image.c_str());
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
