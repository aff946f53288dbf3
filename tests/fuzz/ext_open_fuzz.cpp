// libFuzzer target over the image-opening path: ExtFs::open on arbitrary bytes, then a
// bounded walk of the tree (readdir, lookup, getattr, read, readlink, xattrs), all read-only.
// Inputs are image prefixes: the file is zero-extended to the size the superblock claims
// (capped), so seeds only need their non-zero head. Also replayed by ext_open_corpus_test.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/ext/ext_fs.h"

namespace {

struct Walker {
  um::ext::ExtFs& fs;
  int budget = 2000;  // operations, so that a directory loop cannot run forever
  char buf[65536];

  void walk(um::ext::Ino dir, int depth) {
    if (depth > 8 || budget <= 0) return;
    std::vector<std::pair<std::string, um::ext::Ino>> kids;
    (void)fs.readdir(dir, 0, [&](const um::ext::DirEntry& e, uint64_t) {
      if (--budget <= 0) return false;
      if (e.name != "." && e.name != "..") kids.emplace_back(std::string(e.name), e.ino);
      return kids.size() < 64;
    });
    for (auto& [name, ino] : kids) {
      if (--budget <= 0) return;
      (void)fs.lookup(dir, name);
      auto a = fs.getattr(ino);
      if (!a.ok()) continue;
      (void)fs.listxattr(ino);
      (void)fs.getxattr(ino, "user.x");
      if (S_ISDIR(a->mode)) {
        walk(ino, depth + 1);
      } else if (S_ISLNK(a->mode)) {
        (void)fs.readlink(ino);
      } else if (S_ISREG(a->mode)) {
        (void)fs.read(ino, 0, buf, sizeof buf);
        if (a->size > 8192) (void)fs.read(ino, a->size - 100, buf, 4096);
      }
    }
  }
};

std::string temp_path() {
  static std::string p = [] {
    const char* d = getenv("TMPDIR");
    return std::string(d && *d ? d : "/tmp") + "/ext_open_fuzz." + std::to_string(getpid()) + ".img";
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (4u << 20)) return 0;
  std::string path = temp_path();
  int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) abort();
  if (size && write(fd, data, size) != ssize_t(size)) abort();
  if (size >= 1024 + 32) {
    uint32_t blocks, log_bs;
    memcpy(&blocks, data + 1024 + 4, 4);
    memcpy(&log_bs, data + 1024 + 24, 4);
    if (log_bs <= 6) {
      uint64_t want = uint64_t(blocks) << (10 + log_bs);
      if (want > size && want <= (16u << 20)) (void)ftruncate(fd, off_t(want));
    }
  }
  close(fd);
  auto fs = um::ext::ExtFs::open(path, um::ext::ExtFs::Mode::ReadOnly);
  if (fs.ok()) {
    (void)(*fs)->info();
    Walker w{**fs};
    w.walk((*fs)->root(), 0);
  }
#ifdef UM_FUZZ_WRITE
  // Built as ext_write_fuzz: also change the (possibly corrupt) image as a guest would. The
  // read-only handle goes first: its host read lock would refuse the writer.
  if (fs.ok()) (*fs).reset();
  fs = um::ext::ExtFs::open(path, um::ext::ExtFs::Mode::ReadWrite);
  if (fs.ok()) {
    auto& f = **fs;
    um::ext::Ino root = f.root();
    std::vector<std::pair<std::string, um::ext::Ino>> kids;
    (void)f.readdir(root, 0, [&](const um::ext::DirEntry& e, uint64_t) {
      if (e.name != "." && e.name != "..") kids.emplace_back(std::string(e.name), e.ino);
      return kids.size() < 16;
    });
    static char data[20000];
    auto d = f.mkdir(root, "fz", 0755, 0, 0);
    auto n = f.mknod(d.ok() ? *d : root, "a", 0100644, 0, 0);
    if (n.ok()) {
      (void)f.write(*n, 0, data, sizeof data);
      (void)f.truncate(*n, 100);
      (void)f.setxattr(*n, "user.k", "v");
    }
    for (auto& [name, ino] : kids) {
      auto a = f.getattr(ino);
      if (!a.ok()) continue;
      if (S_ISREG(a->mode)) {
        (void)f.write(ino, 5, data, 5000);
        (void)f.truncate(ino, 1);
        (void)f.rename(root, name, root, "renamed-" + name);
        (void)f.unlink(root, "renamed-" + name);
      } else if (S_ISDIR(a->mode)) {
        (void)f.mknod(ino, "new", 0100644, 0, 0);
        (void)f.unlink(ino, "new");
        (void)f.rmdir(root, name);
      } else {
        (void)f.unlink(root, name);
      }
    }
    (void)f.flush();
  }
#endif
  fs = um::Error{};  // close before the file goes
  unlink(path.c_str());
  return 0;
}
