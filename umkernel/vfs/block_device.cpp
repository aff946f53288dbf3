#include "umkernel/vfs/block_device.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/hdreg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "core/cow/cow_file.h"
#include "umkernel/boot/config.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

constexpr uint32_t kSector = 512;

class BlockDeviceFile : public File {
 public:
  BlockDeviceFile(InodePtr inode, int flags, int index, int fd, std::unique_ptr<cow::CowImage> cow,
                  uint64_t size, bool read_only)
      : File(std::move(inode), flags), index_(index), fd_(fd), cow_(std::move(cow)), size_(size),
        read_only_(read_only) {}
  ~BlockDeviceFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  int64_t read(Task&, void* buf, size_t n, int64_t* off) override {
    int64_t& at = off ? *off : pos;
    if (at < 0) return -EINVAL;
    if (static_cast<uint64_t>(at) >= size_ || n == 0) return 0;
    n = std::min<uint64_t>(n, size_ - at);
    if (cow_) {
      if (auto s = cow_->read(at, buf, n); !s) return -EIO;
    } else {
      size_t done = 0;
      while (done < n) {
        ssize_t r = ::pread(fd_, static_cast<char*>(buf) + done, n - done, at + done);
        if (r < 0) return -EIO;
        if (r == 0) {  // a sparse image shorter than its disk: zeros
          memset(static_cast<char*>(buf) + done, 0, n - done);
          break;
        }
        done += r;
      }
    }
    at += static_cast<int64_t>(n);
    return static_cast<int64_t>(n);
  }

  int64_t write(Task&, const void* buf, size_t n, int64_t* off) override {
    int64_t& at = off ? *off : pos;
    if (at < 0) return -EINVAL;
    if (static_cast<uint64_t>(at) >= size_) return n ? -ENOSPC : 0;
    n = std::min<uint64_t>(n, size_ - at);
    if (cow_) {
      if (auto s = cow_->write(at, buf, n); !s) return -EIO;
    } else {
      size_t done = 0;
      while (done < n) {
        ssize_t r = ::pwrite(fd_, static_cast<const char*>(buf) + done, n - done, at + done);
        if (r <= 0) return done ? static_cast<int64_t>(done) : (errno == ENOSPC ? -ENOSPC : -EIO);
        done += r;
      }
    }
    at += static_cast<int64_t>(n);
    return static_cast<int64_t>(n);
  }

  int64_t seek(int64_t off, int whence) override {
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? pos : whence == SEEK_END ? static_cast<int64_t>(size_) : -1;
    if (base < 0) return -EINVAL;
    if (base + off < 0) return -EINVAL;
    return pos = base + off;
  }

  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override {
    switch (req) {
      case BLKGETSIZE64: return put_user(t, arg, static_cast<uint64_t>(size_));
      case BLKGETSIZE: return put_user(t, arg, static_cast<unsigned long>(size_ / kSector));
      case BLKSSZGET: case BLKPBSZGET: return put_user(t, arg, static_cast<int>(kSector));
      case BLKIOMIN: return put_user(t, arg, static_cast<unsigned>(kSector));
      case BLKIOOPT: case BLKALIGNOFF: return put_user(t, arg, 0u);
      case BLKBSZGET: return put_user(t, arg, 4096);
      case BLKROGET: return put_user(t, arg, read_only_ ? 1 : 0);
      case BLKROTATIONAL: return put_user(t, arg, static_cast<unsigned short>(0));
      case BLKDISCARDZEROES: return put_user(t, arg, 0u);
      case BLKFLSBUF:
        if (t.proc->cred.euid != 0) return -EACCES;
        kernel().disk_raw_access(index_, false);
        return flush();
      case BLKRRPART: return -EINVAL;  // no partition table support: the whole disk is one
      case BLKDISCARD: case BLKZEROOUT: {
        if (!writable()) return -EBADF;
        uint64_t range[2];
        if (int64_t r = copy_from_user(t, range, arg, sizeof range); r < 0) return r;
        if ((range[0] | range[1]) & (kSector - 1)) return -EINVAL;
        if (range[0] >= size_ || range[1] > size_ - range[0]) return -EINVAL;
        if (cow_) {
          if (req == BLKDISCARD) return -EOPNOTSUPP;
          std::string zeros(1 << 16, '\0');
          for (uint64_t o = 0; o < range[1]; o += zeros.size())
            if (!cow_->write(range[0] + o, zeros.data(), std::min<uint64_t>(zeros.size(), range[1] - o))) return -EIO;
          return 0;
        }
        // The image stays sparse: punching a hole reads back as zeros.
        if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, range[0], range[1]) != 0)
          return req == BLKDISCARD ? -EOPNOTSUPP : -EIO;
        return 0;
      }
      case HDIO_GETGEO: {
        // The geometry Linux's ubd driver reports: 128 heads, 32 sectors.
        hd_geometry g{};
        g.heads = 128;
        g.sectors = 32;
        g.cylinders = static_cast<unsigned short>(size_ / (128 * 32 * kSector));
        g.start = 0;
        return put_user(t, arg, g);
      }
      default: return -ENOTTY;
    }
  }

  int64_t flush() {
    if (cow_) return cow_->flush() ? 0 : -EIO;
    return ::fdatasync(fd_) == 0 ? 0 : -EIO;
  }

 private:
  int index_;
  int fd_;
  std::unique_ptr<cow::CowImage> cow_;
  uint64_t size_;
  bool read_only_;
};

}  // namespace

int64_t open_block_device(Task& t, InodePtr inode, uint64_t rdev, int flags, FilePtr& out) {
  if (major(rdev) != 98 || minor(rdev) % 16 != 0) return -ENXIO;  // partitions are not supported
  int index = static_cast<int>(minor(rdev) / 16);
  auto spec = kernel().disk_spec(index);
  if (!spec) return -ENXIO;
  bool write = (flags & O_ACCMODE) != O_RDONLY;
  if (write && spec->read_only) return -EROFS;
  // The mounted file system's changes reach the image before anyone reads it raw.
  kernel().disk_raw_access(index, write);
  if (!spec->backing.empty() || cow::is_cow_file(spec->file)) {
    cow::CowImage::Options o;
    o.writable = write;
    o.lock = false;  // umkernel's own mount of the disk holds the host lock
    if (!spec->backing.empty()) o.backing_path = spec->backing;
    auto img = cow::CowImage::open(spec->file, o);
    if (!img) return -EIO;
    uint64_t size = img.value()->size() & ~uint64_t{kSector - 1};
    out = std::make_shared<BlockDeviceFile>(std::move(inode), flags, index, -1, std::move(img.value()), size, spec->read_only);
    return 0;
  }
  int fd = ::open(spec->file.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return errno == EACCES || errno == EROFS ? -EROFS : -EIO;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return -EIO;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size) & ~uint64_t{kSector - 1};
  out = std::make_shared<BlockDeviceFile>(std::move(inode), flags, index, fd, nullptr, size, spec->read_only);
  return 0;
}

}  // namespace um::kernel
