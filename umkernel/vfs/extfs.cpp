#include "umkernel/vfs/extfs.h"

#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/ext/ext_blocks.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/memory_accounting.h"
#include "umkernel/vfs/page_cache.h"

namespace um::kernel {

int64_t errno_of(const Error& e) { return -(e.code > 0 ? e.code : EIO); }

namespace {

timespec guest_now() {
  timespec now;
  guest_clock_gettime(CLOCK_REALTIME, &now);
  return now;
}

// A file's bytes on the image, for its page cache: physical extents read in large pieces.
class ExtBacking : public CacheBacking {
 public:
  ExtBacking(ext::ExtFs& fs, ext::Ino ino) : fs_(fs), ino_(ino) {}

  void data_ranges(uint64_t off, uint64_t n, std::vector<std::pair<uint64_t, uint64_t>>& out) override {
    if (!runs_valid_) {
      runs_.clear();
      auto r = ext::data_runs(fs_, ino_);
      whole_ = !r;  // inline data (or an unreadable map): read() it all
      if (r) runs_ = std::move(*r);
      runs_valid_ = true;
    }
    if (whole_) {
      out.emplace_back(off, off + n);
      return;
    }
    uint64_t bs = ext::block_size(fs_), end = off + n;
    auto it = std::upper_bound(runs_.begin(), runs_.end(), off / bs,
                               [](uint64_t b, const ext::DataRun& r) { return b < r.lblk; });
    if (it != runs_.begin()) --it;
    for (; it != runs_.end() && it->lblk * bs < end; ++it) {
      uint64_t a = std::max(off, it->lblk * bs), b = std::min(end, (it->lblk + it->count) * bs);
      if (a < b) out.emplace_back(a, b);
    }
  }

  int64_t load(uint64_t off, void* buf, size_t n) override {
    if (whole_) {
      auto r = fs_.read(ino_, off, buf, n);
      return r ? static_cast<int64_t>(*r) : errno_of(r.error());
    }
    uint64_t bs = ext::block_size(fs_);
    auto it = std::upper_bound(runs_.begin(), runs_.end(), off / bs,
                               [](uint64_t b, const ext::DataRun& r) { return b < r.lblk; });
    if (it == runs_.begin()) return -EIO;
    --it;
    uint64_t rel = off / bs - it->lblk;
    if (rel >= it->count || off % bs) return -EIO;
    uint64_t blocks = std::min<uint64_t>(it->count - rel, n / bs);
    if (blocks == 0) {  // a partial last block
      std::vector<char> tmp(bs);
      if (auto r = ext::read_blocks(fs_, it->pblk + rel, 1, tmp.data()); !r) return errno_of(r.error());
      memcpy(buf, tmp.data(), n);
      return static_cast<int64_t>(n);
    }
    if (auto r = ext::read_blocks(fs_, it->pblk + rel, blocks, buf); !r) return errno_of(r.error());
    return static_cast<int64_t>(blocks * bs);
  }

  int64_t store(uint64_t off, const void* buf, size_t n) override {
    runs_valid_ = false;
    auto r = fs_.write(ino_, off, buf, n);
    return r ? static_cast<int64_t>(*r) : errno_of(r.error());
  }

  int64_t store_size(uint64_t size) override {
    runs_valid_ = false;
    auto r = fs_.truncate(ino_, size);
    return r ? 0 : errno_of(r.error());
  }

  // Writing back is not a change of the file: its mtime and ctime stay what the guest saw
  // (the time of its last write, or what it set since), not the time of the write-back.
  void write_back_begin() override {
    keep_times_ = false;
    if (times_pending) return;
    if (auto a = fs_.getattr(ino_)) {
      mtime_ = a->mtime;
      ctime_ = a->ctime;
      keep_times_ = true;
    }
  }
  void write_back_end(bool stored) override {
    if (!stored || (!times_pending && !keep_times_)) return;
    ext::SetAttr s;
    s.mtime = times_pending ? pending_mtime : mtime_;
    s.ctime = times_pending ? pending_mtime : ctime_;
    if (fs_.setattr(ino_, s)) times_pending = false;
  }

  bool times_pending = false;  // the guest wrote at pending_mtime; the image has not heard
  timespec pending_mtime{};

 private:
  ext::ExtFs& fs_;
  ext::Ino ino_;
  bool runs_valid_ = false, whole_ = false;
  std::vector<ext::DataRun> runs_;
  bool keep_times_ = false;
  timespec mtime_{}, ctime_{};
};

class ExtInode : public Inode {
 public:
  ExtInode(ExtSuperBlock* sb, ext::Ino ino) : Inode(sb, ino), esb_(sb) {}
  ~ExtInode() override { release_cache(); }

  ext::ExtFs& fs() { return esb_->fs(); }
  ext::Ino eino() const { return static_cast<ext::Ino>(ino_); }

  int64_t getattr(Stat& st) override {
    auto a = fs().getattr(eino());
    if (!a) return errno_of(a.error());
    st.dev = sb_->dev_id;
    st.ino = a->ino;
    st.mode = a->mode;
    st.nlink = a->nlink;
    st.uid = a->uid;
    st.gid = a->gid;
    st.rdev = a->rdev;
    st.size = static_cast<int64_t>(a->size);
    st.blocks = static_cast<int64_t>(a->blocks);
    st.blksize = 4096;
    st.atime = a->atime;
    st.mtime = a->mtime;
    st.ctime = a->ctime;
    st.btime = a->crtime;
    if (cache_) {  // the cache is the file's content; the image catches up on write-back
      st.size = static_cast<int64_t>(cache_->size());
      int64_t cached_blocks = static_cast<int64_t>((cache_->size() + 511) / 512);
      if (cache_->dirty() && st.blocks < cached_blocks) st.blocks = cached_blocks;
      if (backing_->times_pending) st.mtime = st.ctime = backing_->pending_mtime;
    }
    return 0;
  }

  int64_t setattr(const AttrChange& c) override {
    if (sb_->read_only) return -EROFS;
    if (c.set_size) {
      if (int64_t r = truncate(c.size); r < 0) return r;
    }
    ext::SetAttr s;
    if (c.set_mode) s.mode = c.mode & 07777;
    if (c.set_uid) s.uid = c.uid;
    if (c.set_gid) s.gid = c.gid;
    if (c.set_atime) s.atime = c.atime;
    if (c.set_mtime) s.mtime = c.mtime;
    timespec now = guest_now();
    s.ctime = now;
    if (c.set_size && !c.set_mtime) s.mtime = now;
    if (backing_ && backing_->times_pending) {
      if (!s.mtime) s.mtime = backing_->pending_mtime;
      backing_->times_pending = false;  // what the guest set (or the write's time) is on the image now
    }
    auto r = fs().setattr(eino(), s);
    return r ? 0 : errno_of(r.error());
  }

  int64_t lookup(std::string_view name, InodePtr& out) override {
    auto r = fs().lookup(eino(), name);
    if (!r) return errno_of(r.error());
    out = esb_->inode(*r);
    return 0;
  }

  int64_t mknod(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev,
                InodePtr& out) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().mknod(eino(), name, mode, uid, gid, rdev);
    if (!r) return errno_of(r.error());
    out = esb_->inode(*r);
    return 0;
  }

  int64_t mkdir(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().mkdir(eino(), name, mode, uid, gid);
    return r ? 0 : errno_of(r.error());
  }

  int64_t symlink(std::string_view name, std::string_view target, uint32_t uid, uint32_t gid) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().symlink(eino(), name, target, uid, gid);
    return r ? 0 : errno_of(r.error());
  }

  int64_t link(std::string_view name, Inode& target) override {
    if (sb_->read_only) return -EROFS;
    if (target.sb() != sb_) return -EXDEV;
    auto r = fs().link(eino(), name, static_cast<ext::Ino>(target.ino()));
    return r ? 0 : errno_of(r.error());
  }

  int64_t unlink(std::string_view name) override {
    if (sb_->read_only) return -EROFS;
    auto victim = fs().lookup(eino(), name);
    auto r = fs().unlink(eino(), name);
    if (r && victim) esb_->unlinked(*victim);
    return r ? 0 : errno_of(r.error());
  }

  int64_t rmdir(std::string_view name) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().rmdir(eino(), name);
    return r ? 0 : errno_of(r.error());
  }

  int64_t rename(std::string_view oldname, Inode& newdir, std::string_view newname,
                 unsigned flags) override {
    if (sb_->read_only) return -EROFS;
    if (newdir.sb() != sb_) return -EXDEV;
    auto victim = fs().lookup(static_cast<ext::Ino>(newdir.ino()), newname);
    auto r = fs().rename(eino(), oldname, static_cast<ext::Ino>(newdir.ino()), newname, flags);
    if (r && victim && !(flags & RENAME_EXCHANGE)) esb_->unlinked(*victim);
    return r ? 0 : errno_of(r.error());
  }

  int64_t readdir(uint64_t pos, const DirFiller& fill) override {
    auto r = fs().readdir(eino(), pos, [&](const ext::DirEntry& e, uint64_t next) {
      return fill(e.name, e.ino, e.type, next);
    });
    return r ? 0 : errno_of(r.error());
  }

  int64_t readlink(std::string& out) override {
    auto r = fs().readlink(eino());
    if (!r) return errno_of(r.error());
    out = std::move(*r);
    return 0;
  }

  // Regular file data goes through the page cache (vfs/page_cache.*).
  int64_t read(uint64_t off, void* buf, size_t n) override {
    if (PageCache* c = cache()) {
      int64_t r = c->read(off, buf, n);
      balance_cache();
      return r;
    }
    auto r = fs().read(eino(), off, buf, n);
    return r ? static_cast<int64_t>(*r) : errno_of(r.error());
  }

  int64_t write(uint64_t off, const void* buf, size_t n) override {
    if (sb_->read_only) return -EROFS;
    if (PageCache* c = cache()) {
      int64_t r = c->write(off, buf, n);
      if (r > 0) wrote();
      balance_cache();
      return r;
    }
    auto r = fs().write(eino(), off, buf, n);
    return r ? static_cast<int64_t>(*r) : errno_of(r.error());
  }

  int64_t cache_read_view(uint64_t off, size_t n, const char** out) override {
    PageCache* c = cache();
    if (!c) return -ENOSYS;
    // What earlier pieces charged is given back first (never the piece about to be copied).
    balance_cache();
    if (off >= c->size()) return 0;
    n = static_cast<size_t>(std::min<uint64_t>(n, c->size() - off));
    if (int64_t r = c->fill(off, n); r < 0) return r;
    *out = c->view(off);
    return static_cast<int64_t>(n);
  }

  int64_t cache_write_begin(uint64_t off, size_t n, char** out) override {
    if (sb_->read_only) return -EROFS;
    PageCache* c = cache();
    if (!c) return -ENOSYS;
    if (off + n < off || off + n > (1ull << 44)) return -EFBIG;
    size_before_ = c->size();
    if (int64_t r = c->prepare_write(off, n); r < 0) return r;
    *out = c->view_for_write(off);
    return 0;
  }

  void cache_write_end(uint64_t off, size_t n, bool ok) override {
    if (!cache_) return;
    if (!ok) {  // nothing was written: the size is what it was
      if (cache_->size() > size_before_) (void)cache_->truncate(size_before_);
      return;
    }
    cache_->wrote(off, n);
    wrote();
    balance_cache();
  }

  int64_t truncate(uint64_t size) override {
    if (sb_->read_only) return -EROFS;
    if (PageCache* c = cache()) {
      if (size >= (1ull << 44)) return -EFBIG;
      return c->truncate(size);
    }
    auto r = fs().truncate(eino(), size);
    return r ? 0 : errno_of(r.error());
  }

  int64_t fsync() override {
    if (int64_t e = write_back(); e < 0) return e;
    auto r = fs().flush();
    return r ? 0 : errno_of(r.error());
  }

  int host_fd() override {
    PageCache* c = cache();
    return c ? c->fd() : -1;
  }

  // mmap maps the page cache's memfd itself (MAP_SHARED and MAP_PRIVATE). The superblock
  // keeps a mapped inode (and so its cache) for the life of the mount: guest mappings may
  // outlive every open file.
  int map_fd(uint64_t off, uint64_t len, bool shared, bool shared_writable) override {
    PageCache* c = cache();
    if (!c) return -1;
    if (c->prepare_map(off, len, shared && shared_writable) < 0) return -1;
    esb_->keep_mapped(std::static_pointer_cast<ExtInode>(shared_from_this()));
    return c->fd();
  }
  int shared_mapping_fd() override { return host_fd(); }

  // Writes the cache back to the image (the file's times stay those the guest saw).
  int64_t write_back() {
    if (!cache_ || sb_->read_only) return 0;
    return cache_->write_back();
  }

  // Frees the cache after writing it back (an unlinked file's bytes are simply dropped).
  void release_cache() {
    if (!cache_) return;
    auto a = fs().getattr(eino());
    if (a && a->nlink > 0) {
      if (int64_t e = write_back(); e < 0)
        UM_WARN("ubd: writing inode %llu back to the image failed: %s", static_cast<unsigned long long>(ino_),
                strerror(static_cast<int>(-e)));
    }
    cache_.reset();
    backing_.reset();
    fs().close_ref(eino());
  }
  PageCache* page_cache() { return cache_.get(); }

  int64_t getxattr(std::string_view name, std::string& out) override {
    auto r = fs().getxattr(eino(), name);
    if (!r) return errno_of(r.error());
    out = std::move(*r);
    return 0;
  }
  int64_t setxattr(std::string_view name, std::string_view value, int flags) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().setxattr(eino(), name, value, flags);
    return r ? 0 : errno_of(r.error());
  }
  int64_t listxattr(std::string& out) override {
    auto r = fs().listxattr(eino());
    if (!r) return errno_of(r.error());
    out.clear();
    for (auto& n : *r) { out += n; out += '\0'; }
    return 0;
  }
  int64_t removexattr(std::string_view name) override {
    if (sb_->read_only) return -EROFS;
    auto r = fs().removexattr(eino(), name);
    return r ? 0 : errno_of(r.error());
  }

  void opened() override { fs().open_ref(eino()); }
  void closed() override { fs().close_ref(eino()); }

 private:
  // The cache of a regular file, made on first use. It holds an open reference, so that an
  // unlinked file stays allocated while its cache may still be written back.
  PageCache* cache() {
    if (cache_) return cache_.get();
    if (no_cache_) return nullptr;
    auto a = fs().getattr(eino());
    if (!a) return nullptr;
    if (!S_ISREG(a->mode)) {
      no_cache_ = true;
      return nullptr;
    }
    backing_ = std::make_unique<ExtBacking>(fs(), eino());
    int64_t err = 0;
    cache_ = PageCache::create(*backing_, a->size, &err);
    if (!cache_) {
      no_cache_ = true;  // no memfd: straight to the image
      backing_.reset();
      UM_WARN("ubd: no page cache for inode %llu: %s", static_cast<unsigned long long>(ino_),
              strerror(static_cast<int>(-err)));
      return nullptr;
    }
    fs().open_ref(eino());
    esb_->cached(std::static_pointer_cast<ExtInode>(shared_from_this()));
    return cache_.get();
  }

  void wrote() {
    backing_->pending_mtime = guest_now();
    backing_->times_pending = true;
  }

  ExtSuperBlock* esb_;
  std::unique_ptr<ExtBacking> backing_;
  std::unique_ptr<PageCache> cache_;
  bool no_cache_ = false;
  uint64_t size_before_ = 0;
};

ExtInode* ext_inode(const std::shared_ptr<Inode>& i) { return static_cast<ExtInode*>(i.get()); }

}  // namespace

ExtSuperBlock::ExtSuperBlock(std::unique_ptr<ext::ExtFs> fs, uint64_t dev) : fs_(std::move(fs)) {
  dev_id = dev;
  read_only = fs_->read_only();
  fs_type_ = fs_->info().type;
  if (fs_type_.empty()) fs_type_ = "ext2";
  // Changes not fsync'd reach the image (its journal) every few seconds, as Linux commits.
  if (!read_only && kernel_exists()) arm_timer();
}

InodePtr ExtSuperBlock::inode(ext::Ino ino) {
  auto& w = cache_[ino];
  if (auto p = w.lock()) return p;
  auto p = std::make_shared<ExtInode>(this, ino);
  w = p;
  if (cache_.size() > 4096) {  // drop dead entries now and then
    for (auto it = cache_.begin(); it != cache_.end();)
      it = it->second.expired() ? cache_.erase(it) : std::next(it);
  }
  return p;
}

int64_t ExtSuperBlock::statfs(struct statfs& out) {
  auto i = fs_->info();
  memset(&out, 0, sizeof out);
  out.f_type = 0xEF53;
  out.f_bsize = i.block_size;
  out.f_frsize = i.block_size;
  out.f_blocks = i.blocks_total;
  out.f_bfree = i.blocks_free;
  out.f_bavail = i.blocks_free > i.blocks_reserved ? i.blocks_free - i.blocks_reserved : 0;
  out.f_files = i.inodes_total;
  out.f_ffree = i.inodes_free;
  out.f_namelen = 255;
  out.f_fsid.__val[0] = static_cast<int>(dev_id);
  out.f_flags = read_only ? ST_RDONLY : 0;
  return 0;
}

ExtSuperBlock::~ExtSuperBlock() {
  write_back_all();
  if (timer_ && kernel_exists()) kernel().cancel_timer(timer_);
  // The inodes go (and their caches with them) while the file system is still here.
  mapped_.clear();
  cached_.clear();
}

void ExtSuperBlock::cached(std::shared_ptr<Inode> inode) {
  cached_[inode->ino()] = std::move(inode);
  if (!timer_) arm_timer();
  if (cached_.size() > kMaxCachedInodes) {
    // Too many caches (each a host descriptor): the least recently used clean ones go first.
    std::vector<std::pair<uint64_t, uint64_t>> order;  // last use, ino
    for (auto& [ino, i] : cached_)
      if (i.use_count() == 1 && !mapped_.count(ino))
        if (PageCache* c = ext_inode(i)->page_cache()) order.emplace_back(c->last_use(), ino);
    std::sort(order.begin(), order.end());
    for (size_t k = 0; k < order.size() && cached_.size() > kMaxCachedInodes * 3 / 4; k++) {
      auto it = cached_.find(order[k].second);
      ext_inode(it->second)->release_cache();
      cached_.erase(it);
    }
  }
}

void ExtSuperBlock::keep_mapped(std::shared_ptr<Inode> inode) {
  mapped_.emplace(inode->ino(), std::move(inode));
}

void ExtSuperBlock::unlinked(ext::Ino ino) {
  auto it = cached_.find(ino);
  if (it == cached_.end() || mapped_.count(ino)) return;
  auto a = fs_->getattr(ino);
  if (!a || a->nlink > 0) return;
  // Nobody can name it any more: its cache goes now, unless an open file still reads it.
  std::shared_ptr<Inode> keep = std::move(it->second);
  cached_.erase(it);
  if (keep.use_count() == 1) ext_inode(keep)->release_cache();
}

void ExtSuperBlock::arm_timer() {
  timer_ = kernel().add_timer(monotonic_ns() + PageCache::kDirtyExpireNs, [this] {
    timer_ = 0;
    // Data dirty for longer than the expiry reaches the image (Linux's dirty_expire).
    int64_t old = monotonic_ns() - PageCache::kDirtyExpireNs;
    int64_t err = 0;
    for (auto& [ino, i] : cached_) {
      PageCache* c = ext_inode(i)->page_cache();
      if (!c || !c->dirty() || (!c->mapped_writable() && c->dirty_since() > old)) continue;
      if (int64_t e = ext_inode(i)->write_back(); e < 0 && !err) err = e;
    }
    if (err) UM_WARN("ubd: writing cached data back to the image failed: %s", strerror(static_cast<int>(-err)));
    // Then the file system's changes reach the image (its journal), as Linux commits.
    if (!read_only)
      if (auto r = fs_->flush(); !r) UM_WARN("ubd: writing changes to the image failed: %s", r.error().message.c_str());
    arm_timer();
  });
}

int64_t ExtSuperBlock::write_back_all() {
  int64_t err = 0;
  for (auto& [ino, i] : cached_)
    if (int64_t e = ext_inode(i)->write_back(); e < 0 && !err) err = e;
  if (err) UM_WARN("ubd: writing cached data back to the image failed: %s", strerror(static_cast<int>(-err)));
  return err;
}

int64_t ExtSuperBlock::sync() {
  int64_t e = write_back_all();
  auto r = fs_->flush();
  if (!r) return errno_of(r.error());
  return e;
}

int64_t ExtSuperBlock::quiesce() {
  int64_t e = write_back_all();
  auto r = fs_->mark_clean();
  if (!r) return errno_of(r.error());
  return e;
}

}  // namespace um::kernel
