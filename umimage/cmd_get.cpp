// umimage get IMG PATH DEST: copy a file (or a directory tree) out of an image.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "core/cli.h"
#include "core/log.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

Status copy_out(ext::ExtFs& fs, ext::Ino ino, const std::string& dest, std::vector<char>& buf) {
  auto a = UM_TRY(fs.getattr(ino));
  if (S_ISDIR(a.mode)) {
    if (::mkdir(dest.c_str(), 0700) != 0 && errno != EEXIST) return Error::from_errno(dest);
    std::vector<std::pair<std::string, ext::Ino>> kids;
    UM_TRY(fs.readdir(ino, 0, [&](const ext::DirEntry& e, uint64_t) {
      if (e.name != "." && e.name != "..") kids.emplace_back(std::string(e.name), e.ino);
      return true;
    }));
    for (auto& [n, k] : kids) UM_TRY(copy_out(fs, k, dest + "/" + n, buf));
    ::chmod(dest.c_str(), a.mode & 07777);
  } else if (S_ISLNK(a.mode)) {
    std::string t = UM_TRY(fs.readlink(ino));
    if (::symlink(t.c_str(), dest.c_str()) != 0) return Error::from_errno(dest);
    return {};
  } else if (S_ISREG(a.mode)) {
    int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, a.mode & 0777);
    if (fd < 0) return Error::from_errno(dest);
    uint64_t off = 0;
    while (off < a.size) {
      auto n = fs.read(ino, off, buf.data(), buf.size());
      if (!n.ok() || *n == 0) {
        ::close(fd);
        return n.ok() ? Error::make(EIO, "short read") : std::move(n).error();
      }
      for (size_t done = 0; done < *n;) {
        ssize_t w = ::write(fd, buf.data() + done, *n - done);
        if (w < 0) {
          int e = errno;
          ::close(fd);
          return Error::from_errno(dest, e);
        }
        done += w;
      }
      off += *n;
    }
    if (::close(fd) != 0) return Error::from_errno(dest);
  } else {
    UM_WARN("skipping %s: special file", dest.c_str());
    return {};
  }
  timespec times[2] = {a.atime, a.mtime};
  utimensat(AT_FDCWD, dest.c_str(), times, AT_SYMLINK_NOFOLLOW);
  return {};
}

int run(const std::string& image, const std::string& path, std::string dest) {
  auto fs = open_image(image, false);
  if (!fs.ok()) return cli::fail(fs.error());
  auto ino = resolve(**fs, path, true);
  if (!ino.ok()) return cli::fail(ino.error());
  struct stat st;
  if (stat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    auto parts = split_path(path);
    dest += "/" + (parts.empty() ? std::string("root") : parts.back());
  }
  std::vector<char> buf(1 << 20);
  if (auto s = copy_out(**fs, *ino, dest, buf); !s) return cli::fail(s.error());
  return kExitOk;
}

Registrar reg("get", "copy a file or directory out of an image to the host", 33, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  auto dest = std::make_shared<std::string>();
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_option("path", *path, "file or directory inside the image")->required();
  sub.add_option("dest", *dest, "host destination (a directory: copied into it)")->required();
  return [image, path, dest] { return run(*image, *path, *dest); };
});

}  // namespace
}  // namespace um::image
