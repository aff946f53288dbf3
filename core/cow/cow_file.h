// UML copy-on-write (COW) files, the format of UML's ubd driver and of uml_mkcow/uml_moo:
// a big-endian header naming a backing file, a bitmap with one bit per sector, then a sparse
// data area holding the sectors written through the COW. Writes v3; reads v1, v2, v3 and the
// "broken v3" layout of old unpacked 64-bit builds (spec: uml-interfaces.md section 3).
//
// Typical uses:
//   * libext2fs on a COW file:  if (um::cow::is_cow_file(p))
//                                  ext2fs_open(p, flags, 0, 0, um::cow::io_manager(), &fs);
//     An open failure returns an errcode whose error_message() is the detailed one-line reason
//     (e.g. "backing file /x/root.img changed since the COW file was made (...)"); the same text
//     is available as um::cow::last_error().
//   * umkernel's `ubdN=COW,BACKING`: call attach_backing(COW, BACKING) first (creates the COW
//     when absent, or points an existing one at BACKING as UML does), then open COW normally.
//   * sector-level access without libext2fs: CowImage.
// Host locking follows UML (whole-file fcntl locks: write lock on files opened read-write, read
// lock on read-only ones and on backing files), so a running UML and these tools exclude each
// other. Locks are open-file-description locks (F_OFD_SETLK): they conflict with UML's F_SETLK
// locks, survive fork() (umimage mount daemonizes) and are not dropped when some other fd on
// the same file is closed. Unlike UML's process-wide locks, two opens of one file within one
// process conflict too (e.g. the same image as two rw disks). Not thread-safe.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

struct struct_io_manager;  // libext2fs (ext2fs/ext2_io.h): typedef struct struct_io_manager* io_manager

namespace um::cow {

constexpr uint32_t kMagic = 0x4f4f4f4d;       // "MOOO"
constexpr uint32_t kVersion = 3;
constexpr uint32_t kSectorSize = 512;
constexpr uint32_t kAlignment = 4096;
constexpr size_t kHeaderV3Size = 4128;        // packed v3 header
constexpr size_t kBackingPathMax = 4096;      // including the NUL
constexpr uint64_t kMaxBitmapBytes = 1ull << 30;  // 4 TiB of 512-byte sectors

struct Header {
  uint32_t version = kVersion;   // 1, 2 or 3
  bool broken_v3 = false;        // v3 written with the unpacked 64-bit layout
  std::string backing_file;      // as stored (absolute for files made by uml_mkcow / create())
  uint32_t mtime = 0;            // backing file st_mtime when the COW was made
  uint64_t size = 0;             // backing file size in bytes
  uint32_t sector_size = kSectorSize;
  uint32_t alignment = kAlignment;
  uint32_t cow_format = 0;       // 0 = bitmap (the only format)
  // Derived layout, computed exactly as UML's cow_sizes() does for this version.
  uint64_t bitmap_offset = 0;
  uint64_t bitmap_len = 0;       // bytes
  uint64_t data_offset = 0;

  uint64_t sector_count() const { return (size + sector_size - 1) / sector_size; }
};

// True when `path` starts with the COW magic (either byte order). Never fails: unreadable or
// short files are simply not COW files.
bool is_cow_file(const std::string& path);

// Parses a header from the first bytes of a file (at least 280, ideally 4136 bytes).
Result<Header> parse_header(const void* data, size_t len);
Result<Header> read_header(const std::string& path);
// The packed big-endian v3 header (4128 bytes) for `h` (bitmap/data offsets are ignored).
std::vector<uint8_t> encode_v3_header(const Header& h);
// Counts the sectors whose bitmap bit is set (reads only the COW file; no backing checks).
Result<uint64_t> count_written_sectors(const std::string& cow_path);
// Fills in bitmap_offset/bitmap_len/data_offset from the other fields (UML's cow_sizes()).
void compute_layout(Header& h);

// Creates a v3 COW file over `backing_path` as uml_mkcow does: O_EXCL unless `force`, the
// backing path made absolute, backing mtime and size recorded, alignment 4096, sparse file of
// data_offset + size bytes.
Status create(const std::string& cow_path, const std::string& backing_path, bool force = false);

// Checks that `backing_path` still has the size and mtime recorded in `h`; otherwise fails
// with "backing file X changed since the COW file was made (...)".
Status check_backing(const Header& h, const std::string& backing_path);

// For `ubdN=COW,BACKING`: creates COW over BACKING when COW does not exist ("Creating ...");
// when it exists and BACKING names a different file than its header but with the recorded
// size and mtime, rewrites the header's backing path to BACKING (UML's "Switching backing
// file"); fails when BACKING does not match. `backing_path` empty = keep the header's.
Status attach_backing(const std::string& cow_path, const std::string& backing_path);

// Takes a whole-file lock like UML (write lock when `write`, else read lock) without waiting.
// Conflict: "PATH is locked by pid N (...)" (EAGAIN). Usable for plain images too. The lock
// lives as long as the open file description of `fd`. On file systems without lock support
// it succeeds without locking.
Status lock_file(int fd, bool write, const std::string& path);

// While one of these lives, io_manager() opens take no host locks: the caller holds them
// already (umkernel locks its disks at boot) or was asked not to lock (UML's `c` disk flag).
class IoManagerWithoutLocks {
 public:
  IoManagerWithoutLocks();
  ~IoManagerWithoutLocks();
  IoManagerWithoutLocks(const IoManagerWithoutLocks&) = delete;
  IoManagerWithoutLocks& operator=(const IoManagerWithoutLocks&) = delete;
};

// Processes (among those we may inspect) holding a lock taken by lock_file() on `path`.
std::vector<pid_t> lock_holders(const std::string& path);

// Sector-level access to the virtual disk a COW file presents.
class CowImage {
 public:
  struct Options {
    bool writable = false;                    // COW opened read-write (write-locked)
    std::optional<std::string> backing_path;  // use this instead of the header's path (uml_moo -b)
    bool lock = true;                         // take UML-style host locks
    bool backing_writable = false;            // only for merging into the backing in place
  };
  static Result<std::unique_ptr<CowImage>> open(const std::string& cow_path, const Options& opts);
  ~CowImage();

  const Header& header() const { return header_; }
  const std::string& cow_path() const { return cow_path_; }
  const std::string& backing_path() const { return backing_path_; }
  uint64_t size() const { return header_.size; }
  bool writable() const { return opts_.writable; }
  int cow_fd() const { return cow_fd_; }
  int backing_fd() const { return backing_fd_; }

  // Byte-granular; ranges must lie within [0, size()). Reads of sectors not written through the
  // COW come from the backing file (zeros past its end); writes go to the COW data area (read-
  // modify-write for partial sectors) and set the sectors' bitmap bits.
  Status read(uint64_t offset, void* buf, size_t len);
  Status write(uint64_t offset, const void* buf, size_t len);
  Status flush();  // fsync of the COW file

  bool sector_written(uint64_t sector) const;
  uint64_t sectors_written() const;

 private:
  CowImage() = default;
  Status read_run(bool from_cow, uint64_t offset, uint8_t* buf, size_t len);
  Status set_bits(uint64_t first_sector, uint64_t last_sector);
  bool bit_covered(uint64_t sector) const { return sector / 8 < bitmap_.size(); }

  std::string cow_path_, backing_path_;
  Options opts_;
  Header header_;
  int cow_fd_ = -1, backing_fd_ = -1;
  std::vector<uint8_t> bitmap_;
};

// The libext2fs I/O manager over CowImage (the channel name is the COW path; IO_FLAG_RW opens
// it read-write). Block size is whatever ext2fs sets; flush = fsync.
struct_io_manager* io_manager();
// Detailed message for the last failed io_manager() open in this process, without the leading
// "PATH: " ("" if none, or if the last open succeeded).
std::string last_error();

// Merges as uml_moo does. With `out_path`: writes a new sparse image (0644, fails if it
// exists). Without: writes the COW's sectors into the backing file in place (uml_moo -d; the
// COW no longer matches its backing afterwards). `backing_override` = uml_moo -b. Progress on
// stderr only when stderr is a terminal.
Status merge(const std::string& cow_path, const std::optional<std::string>& out_path,
             const std::optional<std::string>& backing_override = std::nullopt);

}  // namespace um::cow
