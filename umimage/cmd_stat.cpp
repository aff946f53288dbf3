// umimage stat IMG PATH: an inode's attributes (the symlink itself, as stat(1)).
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <ctime>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

const char* type_name(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "regular file";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symbolic link";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
  }
  return "unknown";
}

std::string when(const timespec& t) {
  char buf[64];
  struct tm tm;
  time_t s = t.tv_sec;
  gmtime_r(&s, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[96];
  snprintf(out, sizeof out, "%s.%09ld +0000", buf, t.tv_nsec);
  return out;
}

int run(const std::string& image, const std::string& path) {
  auto fs = open_image(image, false);
  if (!fs.ok()) return cli::fail(fs.error());
  auto& f = **fs;
  auto ino = resolve(f, path, false);
  if (!ino.ok()) return cli::fail(ino.error());
  auto a = f.getattr(*ino);
  if (!a.ok()) return cli::fail(a.error());
  printf("  File: %s", path.c_str());
  if (S_ISLNK(a->mode)) {
    auto t = f.readlink(*ino);
    if (t.ok()) printf(" -> %s", t->c_str());
  }
  printf("\n  Size: %-12llu Blocks: %-10llu %s\n", (unsigned long long)a->size,
         (unsigned long long)a->blocks, type_name(a->mode));
  printf(" Inode: %-12u Links: %-10u", a->ino, a->nlink);
  if (S_ISCHR(a->mode) || S_ISBLK(a->mode))
    printf(" Device: %u,%u", major(a->rdev), minor(a->rdev));
  printf("\nAccess: (%04o/%s)  Uid: %u  Gid: %u\n", a->mode & 07777, mode_string(a->mode).c_str(),
         a->uid, a->gid);
  printf("Access: %s\nModify: %s\nChange: %s\n Birth: %s\n", when(a->atime).c_str(),
         when(a->mtime).c_str(), when(a->ctime).c_str(),
         a->crtime.tv_sec ? when(a->crtime).c_str() : "-");
  auto names = f.listxattr(*ino);
  if (names.ok()) {
    for (auto& n : *names) {
      auto v = f.getxattr(*ino, n);
      printf(" Xattr: %s (%zu bytes)\n", n.c_str(), v.ok() ? v->size() : 0);
    }
  }
  return kExitOk;
}

Registrar reg("stat", "show a file's attributes inside an image", 32, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("path", *path, "path inside the image")->required();
  return [image, path] { return run(*image, *path); };
});

}  // namespace
}  // namespace um::image
