#include "umkernel/vfs/devices.h"

#include <sys/random.h>
#include <sys/sysmacros.h>

#include <cstring>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/kmsg.h"
#include "umkernel/vfs/synthetic.h"
#include "umkernel/vfs/tmpfs.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel {

namespace {

enum class Kind { Null, Zero, Full, Random };

class MemDeviceFile : public File {
 public:
  MemDeviceFile(InodePtr inode, int flags, Kind k) : File(std::move(inode), flags), kind_(k) {}
  int64_t read(Task&, void* buf, size_t n, int64_t*) override {
    switch (kind_) {
      case Kind::Null: return 0;
      case Kind::Zero: case Kind::Full: memset(buf, 0, n); return static_cast<int64_t>(n);
      case Kind::Random: {
        size_t done = 0;
        while (done < n) {
          ssize_t r = getrandom(static_cast<char*>(buf) + done, n - done, 0);
          if (r <= 0) break;
          done += r;
        }
        return static_cast<int64_t>(done);
      }
    }
    return 0;
  }
  int64_t write(Task&, const void*, size_t n, int64_t*) override {
    return kind_ == Kind::Full ? -ENOSPC : static_cast<int64_t>(n);
  }
  int64_t seek(int64_t, int) override { return pos = 0; }

 private:
  Kind kind_;
};

}  // namespace

int64_t open_char_device(Task& t, InodePtr inode, uint64_t rdev, int flags, FilePtr& out) {
  unsigned maj = major(rdev), min = minor(rdev);
  if (maj == 1 && min == 11) return open_kmsg(std::move(inode), flags, out);
  if (maj == 1) {
    Kind k;
    switch (min) {
      case 3: k = Kind::Null; break;
      case 5: k = Kind::Zero; break;
      case 7: k = Kind::Full; break;
      case 8: case 9: k = Kind::Random; break;
      default: return -ENXIO;
    }
    out = std::make_shared<MemDeviceFile>(std::move(inode), flags, k);
    return 0;
  }
  return open_tty_device(t, std::move(inode), rdev, flags, out);  // vfs/pty.cpp: all tty majors
}

std::shared_ptr<Mount> make_devfs(uint64_t dev_id, int consoles, const std::vector<int>& disks) {
  // devtmpfs is a tmpfs populated with the device nodes: the guest may add its own nodes,
  // directories (/dev/shm, /dev/mqueue) and links, as on Linux.
  auto m = make_tmpfs(dev_id, 1ull << 20 /* device nodes only need inodes */, 0755, "devtmpfs");
  Inode& root = *m->root;
  InodePtr ignored;
  auto node = [&](const std::string& name, uint32_t type, unsigned maj, unsigned min, uint32_t perm) {
    root.mknod(name, type | perm, 0, 0, makedev(maj, min), ignored);
  };
  auto dev = [&](const std::string& name, unsigned maj, unsigned min, uint32_t perm) { node(name, S_IFCHR, maj, min, perm); };
  dev("null", 1, 3, 0666);
  dev("zero", 1, 5, 0666);
  dev("full", 1, 7, 0666);
  dev("random", 1, 8, 0666);
  dev("urandom", 1, 9, 0666);
  dev("kmsg", 1, 11, 0644);
  dev("tty", 5, 0, 0666);
  dev("console", 5, 1, 0600);
  dev("ptmx", 5, 2, 0666);
  root.mkdir("pts", 0755, 0, 0);   // devpts is mounted here
  root.mkdir("shm", 01777, 0, 0);  // POSIX shared memory and semaphores (mount a tmpfs or use as is)
  for (int i = 0; i < consoles; i++) dev("tty" + std::to_string(i), 4, i, 0620);
  for (int d : disks)  // ubd disks: block devices 98:16*N, mountable with mount(2)
    node("ubd" + std::string(1, static_cast<char>('a' + d)), S_IFBLK, 98, d * 16, 0660);
  root.symlink("fd", "/proc/self/fd", 0, 0);
  root.symlink("stdin", "/proc/self/fd/0", 0, 0);
  root.symlink("stdout", "/proc/self/fd/1", 0, 0);
  root.symlink("stderr", "/proc/self/fd/2", 0, 0);
  m->source = "devtmpfs";
  m->options = "rw,nosuid";
  return m;
}

}  // namespace um::kernel
