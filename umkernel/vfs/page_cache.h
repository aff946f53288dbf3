// The page cache of disk-backed regular files (ext2/3/4 images): each cached inode's data lives
// in a sparse host memfd that umkernel owns and keeps mapped in its own address space, so that
//  - read() and write() move data between the guest and the cache with one copy
//    (AddressSpace::read/write straight from or into the mapping: `view()`);
//  - mmap of the file maps the memfd itself (MAP_SHARED and MAP_PRIVATE), coherent with
//    read() and write() and shared by every process;
//  - the image is read in large extent-sized pieces (only where the file has blocks: holes
//    stay holes in the memfd) and written back from dirty ranges.
// Which pages hold the file's bytes (`cached`) and which differ from the image (`dirty`) are
// page-aligned range sets. Pages a guest may write through a shared writable mapping cannot be
// seen being written: write_back() compares each allocated page of such ranges with a hash of
// what the image holds and writes those that changed.
// Write-back happens on fsync/fdatasync/msync/sync, unmount and halt (the file system's
// sync), every few seconds for data dirty longer than kDirtyExpireNs, and when memory is short
// (reclaim(), called by memory_accounting): clean, unmapped caches are then dropped, oldest use
// first. Cached bytes count against mem= (memory_accounting: cache_charged()).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace um::kernel {

// Page-aligned [start, end) ranges, merged.
class RangeSet {
 public:
  void add(uint64_t start, uint64_t end);
  void remove(uint64_t start, uint64_t end);
  // The parts of [start, end) not in the set.
  std::vector<std::pair<uint64_t, uint64_t>> missing(uint64_t start, uint64_t end) const;
  // The parts of [start, end) in the set.
  std::vector<std::pair<uint64_t, uint64_t>> present(uint64_t start, uint64_t end) const;
  bool covers(uint64_t start, uint64_t end) const;
  bool empty() const { return r_.empty(); }
  uint64_t total() const { return total_; }
  void clear() { r_.clear(); total_ = 0; }
  const std::map<uint64_t, uint64_t>& ranges() const { return r_; }

 private:
  std::map<uint64_t, uint64_t> r_;  // start -> end
  uint64_t total_ = 0;
};

// Where a cached file's bytes live (the image, through the file system).
class CacheBacking {
 public:
  virtual ~CacheBacking() = default;
  // Reads [off, off+n) of the stored file: bytes read (short at its end) or -errno.
  virtual int64_t load(uint64_t off, void* buf, size_t n) = 0;
  // Writes them: bytes written or -errno.
  virtual int64_t store(uint64_t off, const void* buf, size_t n) = 0;
  // Sets the stored file's size.
  virtual int64_t store_size(uint64_t size) = 0;
  // Around the stores of one write-back (`stored`: any store or store_size happened).
  virtual void write_back_begin() {}
  virtual void write_back_end(bool stored) {}
  // The parts of [off, off+n) that hold data (the rest reads as zeros). The default: all.
  virtual void data_ranges(uint64_t off, uint64_t n, std::vector<std::pair<uint64_t, uint64_t>>& out) {
    out.emplace_back(off, off + n);
  }
};

class PageCache {
 public:
  static constexpr uint64_t kPage = 4096;
  static constexpr int64_t kDirtyExpireNs = 5'000'000'000;  // Linux's dirty_expire_centisecs is 30 s

  // A cache for a file of `size` bytes stored in `backing` (which must outlive it).
  // nullptr and -errno in *err when the host has no memfd for it.
  static std::unique_ptr<PageCache> create(CacheBacking& backing, uint64_t size, int64_t* err);
  ~PageCache();
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  int fd() const { return fd_; }
  uint64_t size() const { return size_; }

  // Makes [off, off+n) (clipped to the size) hold the file's bytes. 0 or -errno.
  int64_t fill(uint64_t off, uint64_t n);
  // Host memory of the cached bytes at `off` (fill() them first; valid until the next call
  // that may change the size).
  const char* view(uint64_t off) const { return base_ + off; }
  char* view_for_write(uint64_t off) { return base_ + off; }

  // Host-buffer reads and writes (a write grows the file). Counts or -errno.
  int64_t read(uint64_t off, void* buf, size_t n);
  int64_t write(uint64_t off, const void* buf, size_t n);
  // The caller wrote [off, off+n) through view_for_write() (after prepare_write()).
  int64_t prepare_write(uint64_t off, size_t n);  // fills partial edge pages, grows the size
  void wrote(uint64_t off, size_t n);
  int64_t truncate(uint64_t size);

  // A guest maps [off, off+len): fills it; `shared_writable` ranges are compared on write-back.
  int64_t prepare_map(uint64_t off, uint64_t len, bool shared_writable);

  // Writes dirty ranges (and changed pages of shared writable mappings) to the backing and
  // its size. 0 or the first -errno (what failed stays dirty).
  int64_t write_back();
  bool dirty() const { return !dirty_.empty() || size_dirty_ || !mapped_writable_.empty(); }
  // monotonic ns when the oldest dirty data was written (0: clean).
  int64_t dirty_since() const { return dirty_since_; }
  uint64_t cached_bytes() const { return charged_; }
  uint64_t dirty_bytes() const { return dirty_.total(); }
  bool mapped() const { return mapped_; }
  bool mapped_writable() const { return !mapped_writable_.empty(); }
  uint64_t last_use() const { return last_use_; }

  // Drops every cached page (after writing dirty ones back) unless a guest maps the file:
  // the bytes given back.
  uint64_t drop();

  // Every live cache, for reclaim and write-back.
  static const std::vector<PageCache*>& all();
  // Frees at least `bytes` of cache if it can (oldest use first): the bytes freed.
  static uint64_t reclaim(uint64_t bytes);
  // Writes back every cache dirty since before `older_than_ns` (0: all). First -errno or 0.
  static int64_t write_back_all(int64_t older_than_ns = 0);
  static uint64_t total_dirty();

 private:
  PageCache(CacheBacking& backing, int fd, uint64_t size);
  int64_t ensure_mapped(uint64_t size);
  int64_t load(uint64_t start, uint64_t end);
  int64_t store_dirty();
  void hash_pages(uint64_t start, uint64_t end);
  void mark_dirty(uint64_t start, uint64_t end);
  void recount();
  void charge(uint64_t bytes);
  void uncharge(uint64_t bytes);
  void touch();

  CacheBacking& backing_;
  int fd_;
  char* base_ = nullptr;     // umkernel's shared mapping of the memfd
  uint64_t mapped_len_ = 0;  // its length (reserved beyond the size)
  uint64_t size_;
  uint64_t stored_size_;     // the size the backing has
  uint64_t image_limit_;     // below this the backing holds the file's bytes (shrinks cut it)
  bool size_dirty_ = false;
  RangeSet cached_;           // pages holding the file's bytes (loaded or written)
  RangeSet dirty_;            // pages that differ from the backing
  RangeSet mapped_writable_;  // all or nothing: a guest may write the file through a shared mapping
  std::unordered_map<uint64_t, uint64_t> page_hash_;  // page index -> hash of what the image holds
  bool mapped_ = false;       // a guest mapped it: its pages can never be dropped
  uint64_t charged_ = 0;      // cached_.total() as charged to mem=
  int64_t dirty_since_ = 0;
  uint64_t last_use_ = 0;
};

}  // namespace um::kernel
