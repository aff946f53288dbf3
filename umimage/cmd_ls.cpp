// umimage ls [-l] [-R] IMG [PATH]
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

struct LsArgs {
  std::string image, path = "/";
  bool longfmt = false, recursive = false;
};

std::string when(const timespec& t) {
  char buf[32];
  struct tm tm;
  time_t s = t.tv_sec;
  gmtime_r(&s, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

Status print_entry(ext::ExtFs& fs, ext::Ino ino, const std::string& name, bool longfmt) {
  if (!longfmt) {
    printf("%s\n", name.c_str());
    return {};
  }
  auto a = UM_TRY(fs.getattr(ino));
  std::string size = std::to_string(a.size);
  if (S_ISCHR(a.mode) || S_ISBLK(a.mode))
    size = std::to_string(major(a.rdev)) + ", " + std::to_string(minor(a.rdev));
  std::string extra;
  if (S_ISLNK(a.mode)) extra = " -> " + UM_TRY(fs.readlink(ino));
  printf("%s %3u %5u %5u %10s %s %s%s\n", mode_string(a.mode).c_str(), a.nlink, a.uid, a.gid,
         size.c_str(), when(a.mtime).c_str(), name.c_str(), extra.c_str());
  return {};
}

Status list_dir(ext::ExtFs& fs, ext::Ino dir, const std::string& shown, const LsArgs& a, bool header) {
  std::vector<std::pair<std::string, ext::DirEntry>> kids;
  std::vector<std::pair<std::string, ext::Ino>> entries;
  UM_TRY(fs.readdir(dir, 0, [&](const ext::DirEntry& e, uint64_t) {
    if (e.name != "." && e.name != "..") entries.emplace_back(std::string(e.name), e.ino);
    return true;
  }));
  std::sort(entries.begin(), entries.end());
  if (header) printf("%s:\n", shown.c_str());
  for (auto& [n, ino] : entries) UM_TRY(print_entry(fs, ino, n, a.longfmt));
  if (a.recursive) {
    for (auto& [n, ino] : entries) {
      auto at = UM_TRY(fs.getattr(ino));
      if (!S_ISDIR(at.mode)) continue;
      printf("\n");
      UM_TRY(list_dir(fs, ino, (shown == "/" ? "" : shown) + "/" + n, a, true));
    }
  }
  return {};
}

int run(const LsArgs& a) {
  auto fs = open_image(a.image, false);
  if (!fs.ok()) return cli::fail(fs.error());
  auto& f = **fs;
  auto ino = resolve(f, a.path, true);
  if (!ino.ok()) return cli::fail(ino.error());
  auto at = f.getattr(*ino);
  if (!at.ok()) return cli::fail(at.error());
  Status st;
  if (S_ISDIR(at->mode)) {
    std::string shown = "/";
    for (auto& p : split_path(a.path)) shown += (shown == "/" ? "" : "/") + p;
    st = list_dir(f, *ino, shown, a, a.recursive);
  } else {
    auto lino = resolve(f, a.path, false);
    st = print_entry(f, lino.ok() ? *lino : *ino, a.path, a.longfmt);
  }
  if (!st) return cli::fail(st.error());
  return kExitOk;
}

Registrar reg("ls", "list a directory inside an image", 30, [](CLI::App& sub) {
  auto a = std::make_shared<LsArgs>();
  sub.add_flag("-l", a->longfmt, "long format: mode, links, owner, size, time");
  sub.add_flag("-R", a->recursive, "list subdirectories recursively");
  sub.add_option("image", a->image, "image or COW file")->required();
  sub.add_option("path", a->path, "directory or file inside the image (default /)");
  return [a] { return run(*a); };
});

}  // namespace
}  // namespace um::image
