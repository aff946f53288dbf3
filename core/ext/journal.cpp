// Journal: jbd2 transactions for every block written (see journal.h). The on-disk format is
// Linux's (fs/jbd2, include/linux/jbd2.h; e2fsprogs' e2fsck/recovery.c reads the same): a
// journal superblock, then per transaction descriptor blocks (tags naming each logged block's
// home), the logged blocks, and a commit block, all stamped with the transaction id.
#include "core/ext/journal.h"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "core/log.h"

namespace um::ext {
namespace {

constexpr uint32_t kMagic = 0xC03B3998;
enum : uint32_t { kDescriptor = 1, kCommit = 2, kSuperV1 = 3, kSuperV2 = 4, kRevoke = 5 };
constexpr uint32_t kIncompatRevoke = 0x1, kIncompat64 = 0x2, kIncompatAsync = 0x4,
                   kIncompatCsumV2 = 0x8, kIncompatCsumV3 = 0x10, kIncompatFastCommit = 0x20;
constexpr uint32_t kKnownIncompat = kIncompatRevoke | kIncompat64 | kIncompatAsync |
                                    kIncompatCsumV2 | kIncompatCsumV3 | kIncompatFastCommit;
constexpr uint32_t kTagEscape = 1, kTagSameUuid = 2, kTagLast = 8;
constexpr uint8_t kCrc32cChecksum = 4;
// Journal superblock fields (byte offsets; all big-endian).
enum : size_t {
  kSbBlocksize = 12, kSbMaxlen = 16, kSbFirst = 20, kSbSequence = 24, kSbStart = 28,
  kSbErrno = 32, kSbCompat = 36, kSbIncompat = 40, kSbRoCompat = 44, kSbUuid = 48,
  kSbChecksumType = 80, kSbChecksum = 252, kSbSize = 1024,
};
// Commit block: h_chksum[0] and the commit time.
enum : size_t { kCommitChecksum = 16, kCommitSec = 48, kCommitNsec = 56 };

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
void put_be32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
void put_be16(uint8_t* p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
void put_be64(uint8_t* p, uint64_t v) { put_be32(p, v >> 32); put_be32(p + 4, uint32_t(v)); }
void header(uint8_t* p, uint32_t type, uint32_t tid) {
  put_be32(p, kMagic); put_be32(p + 4, type); put_be32(p + 8, tid);
}

Error journal_error(errcode_t err, const std::string& what) {
  return Error::make(err > 0 && err < 4096 ? int(err) : EIO, what + ": " + error_message(err));
}

}  // namespace

Journal::~Journal() = default;

uint32_t Journal::csum(uint32_t seed, const void* p, size_t n) const {
  return ext2fs_crc32c_le(seed, static_cast<const unsigned char*>(p), n);
}

size_t Journal::tag_bytes() const {
  if (incompat_ & kIncompatCsumV3) return 16;
  size_t sz = 12;
  if (incompat_ & kIncompatCsumV2) sz += 2;
  return (incompat_ & kIncompat64) ? sz : sz - 4;
}

// Block I/O on the image underneath, in file-system blocks whatever the channel's block size.
errcode_t Journal::read_block(uint64_t blk, void* buf) {
  uint64_t ib = uint64_t(inner_->block_size);
  return io_channel_read_blk64(inner_, blk * bs_ / ib, ib == bs_ ? 1 : -int(bs_), buf);
}
errcode_t Journal::write_block(uint64_t blk, const void* buf) {
  uint64_t ib = uint64_t(inner_->block_size);
  return io_channel_write_blk64(inner_, blk * bs_ / ib, ib == bs_ ? 1 : -int(bs_), buf);
}
errcode_t Journal::inner_flush() { return io_channel_flush(inner_); }

Status Journal::attach(ext2_filsys fs) {
  mode_ = Mode::Off;
  auto off = [&](const std::string& why) -> Status {
    why_off_ = why;
    return {};
  };
  auto* sb = fs->super;
  if (!ext2fs_has_feature_journal(sb)) return off("no journal");
  if (sb->s_journal_inum == 0) return off("the journal is on another device");
  ext2_inode_large ji{};
  if (errcode_t err = ext2fs_read_inode2(fs, sb->s_journal_inum, reinterpret_cast<ext2_inode*>(&ji),
                                         sizeof ji, 0))
    return off(std::string("journal inode: ") + error_message(err));
  bs_ = fs->blocksize;
  uint64_t inode_blocks = EXT2_I_SIZE(&ji) / bs_;
  auto map = [&](uint64_t lblk, uint64_t* pblk) {
    blk64_t p = 0;
    errcode_t err = ext2fs_bmap2(fs, sb->s_journal_inum, reinterpret_cast<ext2_inode*>(&ji), nullptr,
                                 0, lblk, nullptr, &p);
    *pblk = p;
    return err == 0 && p != 0 && p < ext2fs_blocks_count(sb);
  };
  uint64_t sb_blk = 0;
  if (inode_blocks < 2 || !map(0, &sb_blk)) return off("the journal inode has no superblock");
  sb_.assign(bs_, 0);
  errcode_t err = io_channel_read_blk64(fs->io, sb_blk, 1, sb_.data());
  if (err) return off(std::string("reading the journal superblock: ") + error_message(err));
  const uint8_t* j = sb_.data();
  uint32_t type = be32(j + 4);
  if (be32(j) != kMagic || (type != kSuperV1 && type != kSuperV2))
    return off("the journal superblock is not a jbd2 superblock");
  if (type == kSuperV1) return off("a version 1 journal");
  if (be32(j + kSbBlocksize) != bs_) return off("the journal's block size is not the file system's");
  maxlen_ = be32(j + kSbMaxlen);
  first_ = be32(j + kSbFirst);
  sequence_ = be32(j + kSbSequence);
  start_ = be32(j + kSbStart);
  incompat_ = be32(j + kSbIncompat);
  if (maxlen_ > inode_blocks || first_ < 1 || first_ >= maxlen_ || maxlen_ < 64)
    return off("the journal superblock's geometry is wrong");
  if (incompat_ & ~kKnownIncompat) return off("the journal has features this code does not know");
  if ((incompat_ & kIncompatFastCommit) && start_ != 0)
    return off("the journal holds fast commits, which this code does not replay");
  if (start_ != 0 && (start_ < first_ || start_ >= maxlen_))
    return off("the journal superblock's start is outside the journal");
  map_.resize(maxlen_);
  map_[0] = sb_blk;
  for (uint32_t i = 1; i < maxlen_; ++i)
    if (!map(i, &map_[i])) return off("the journal inode has holes");
  blocks_count_ = ext2fs_blocks_count(sb);
  fs_64bit_ = ext2fs_has_feature_64bit(sb);
  fs_csum_ = ext2fs_has_feature_metadata_csum(sb);
  csum_seed_ = csum(~0u, j + kSbUuid, 16);
  // Commit often enough that a transaction always fits: a quarter of the journal, at most
  // 8 MiB of blocks held in memory.
  threshold_ = std::min<size_t>((maxlen_ - first_) / 4, (8u << 20) / bs_);
  mode_ = Mode::Direct;
  why_off_.clear();
  return {};
}

Status Journal::recover() {
  if (!needs_replay()) return {};
  struct Logged {
    uint64_t home;
    uint32_t pos;
    uint32_t tid;
    bool escaped;
  };
  std::vector<Logged> logged, cur;
  std::vector<uint64_t> cur_revokes;
  std::unordered_map<uint64_t, uint32_t> revoked;  // block -> newest transaction revoking it
  bool with_csum = incompat_ & (kIncompatCsumV2 | kIncompatCsumV3);
  bool b64 = incompat_ & kIncompat64;
  size_t tb = tag_bytes();
  auto next = [&](uint32_t p) { return p + 1 >= maxlen_ ? first_ : p + 1; };
  std::vector<uint8_t> b(bs_);
  uint32_t pos = start_, tid = sequence_;
  for (uint32_t steps = 0; steps < maxlen_; ++steps) {
    if (errcode_t err = read_block(jblock(pos), b.data()))
      return journal_error(err, "reading the journal");
    if (be32(b.data()) != kMagic || be32(b.data() + 8) != tid) break;
    uint32_t type = be32(b.data() + 4);
    pos = next(pos);
    if (type == kDescriptor) {
      size_t off = 12, end = bs_ - (with_csum ? 4 : 0);
      while (off + tb <= end) {
        const uint8_t* t = b.data() + off;
        uint64_t home = be32(t);
        uint32_t flags = (incompat_ & kIncompatCsumV3) ? be32(t + 4) : be16(t + 6);
        if (b64) home |= uint64_t(be32(t + 8)) << 32;
        off += tb;
        if (!(flags & kTagSameUuid)) off += 16;
        cur.push_back({home, pos, tid, bool(flags & kTagEscape)});
        pos = next(pos);
        ++steps;
        if (flags & kTagLast) break;
      }
    } else if (type == kRevoke) {
      size_t count = std::min<size_t>(be32(b.data() + 12), bs_);
      size_t rs = b64 ? 8 : 4;
      for (size_t off = 16; off + rs <= count; off += rs) {
        uint64_t blk = be32(b.data() + off);
        if (b64) blk = blk << 32 | be32(b.data() + off + 4);
        cur_revokes.push_back(blk);
      }
    } else if (type == kCommit) {
      if (with_csum) {
        uint32_t want = be32(b.data() + kCommitChecksum);
        put_be32(b.data() + kCommitChecksum, 0);
        if (csum(csum_seed_, b.data(), bs_) != want) break;  // a torn commit
      }
      logged.insert(logged.end(), cur.begin(), cur.end());
      for (uint64_t r : cur_revokes) {
        auto [it, fresh] = revoked.emplace(r, tid);
        if (!fresh) it->second = std::max(it->second, tid);
      }
      cur.clear();
      cur_revokes.clear();
      ++tid;
    } else {
      break;
    }
  }
  for (const Logged& l : logged) {
    if (auto it = revoked.find(l.home); it != revoked.end() && int32_t(it->second - l.tid) >= 0)
      continue;
    if (l.home >= blocks_count_) continue;  // a damaged tag: never write outside the image
    std::vector<uint8_t> data(bs_);
    if (errcode_t err = read_block(jblock(l.pos), data.data()))
      return journal_error(err, "reading the journal");
    if (l.escaped) put_be32(data.data(), kMagic);
    overlay_[l.home] = std::move(data);
  }
  sequence_ = tid;
  replayed_ = logged.size();
  return {};
}

Status Journal::finish_recovery() {
  for (auto& [blk, data] : overlay_)
    if (errcode_t err = write_block(blk, data.data())) return journal_error(err, "replaying the journal");
  if (errcode_t err = inner_flush()) return journal_error(err, "replaying the journal");
  overlay_.clear();
  if (errcode_t err = write_superblock(0, sequence_)) return journal_error(err, "writing the journal superblock");
  if (errcode_t err = inner_flush()) return journal_error(err, "writing the journal superblock");
  return {};
}

errcode_t Journal::write_superblock(uint32_t start, uint32_t sequence) {
  uint8_t* j = sb_.data();
  put_be32(j + kSbStart, start);
  put_be32(j + kSbSequence, sequence);
  put_be32(j + kSbErrno, 0);
  put_be32(j + kSbIncompat, incompat_);
  if (incompat_ & (kIncompatCsumV2 | kIncompatCsumV3)) {
    j[kSbChecksumType] = kCrc32cChecksum;
    put_be32(j + kSbChecksum, 0);
    put_be32(j + kSbChecksum, csum(~0u, j, kSbSize));
  }
  start_ = start;
  return write_block(jblock(0), j);
}

Status Journal::start_logging() {
  if (mode_ != Mode::Direct) return {};
  // The features of what this code writes, as Linux sets them for the file system: block
  // numbers of 64 bits on 64bit file systems, v3 checksums with metadata_csum. The journal is
  // empty here, so they may change (as jbd2_journal_set_features does).
  incompat_ = (incompat_ & kIncompatRevoke) | (fs_64bit_ ? kIncompat64 : 0) |
              (fs_csum_ ? kIncompatCsumV3 : 0);
  put_be32(sb_.data() + kSbCompat, 0);
  put_be32(sb_.data() + kSbRoCompat, 0);
  head_ = first_;
  if (errcode_t err = write_superblock(first_, sequence_)) return fail(err, "writing the journal superblock");
  if (errcode_t err = inner_flush()) return fail(err, "writing the journal superblock");
  home_synced_ = true;
  mode_ = Mode::Logging;
  return {};
}

Status Journal::fail(errcode_t err, const char* what) {
  failed_ = true;
  return journal_error(err, what);
}

Status Journal::write_home_unlogged(const char* why) {
  if (!warned_) {
    UM_WARN("%s: %s; written without the journal (not crash-safe)", inner_->name, why);
    warned_ = true;
  }
  for (auto& [blk, data] : overlay_)
    if (errcode_t err = write_block(blk, data.data())) return journal_error(err, "writing the image");
  overlay_.clear();
  if (errcode_t err = inner_flush()) return journal_error(err, "writing the image");
  return {};
}

Status Journal::commit() {
  if (failed_) return Error::make(EIO, "the journal stopped after a failed write");
  if (mode_ != Mode::Logging || overlay_.empty()) return {};
  // Blocks rewritten with what the image already holds need no logging (bitmaps and group
  // descriptor copies libext2fs writes whole).
  std::vector<uint8_t> cur(bs_);
  for (auto it = overlay_.begin(); it != overlay_.end();) {
    if (read_block(it->first, cur.data()) == 0 && cur == it->second)
      it = overlay_.erase(it);
    else
      ++it;
  }
  if (overlay_.empty()) return {};
  bool with_csum = incompat_ & (kIncompatCsumV2 | kIncompatCsumV3);
  size_t tb = tag_bytes();
  size_t per_desc = (bs_ - 12 - (with_csum ? 4 : 0) - 16) / tb;
  size_t n = overlay_.size();
  size_t total = n + (n + per_desc - 1) / per_desc + 1;
  if (total > maxlen_ - first_) {
    if (auto st = write_home_unlogged("a transaction larger than the journal"); !st) {
      failed_ = true;
      return st;
    }
    return {};
  }
  uint32_t tid = sequence_;
  if (head_ + total > maxlen_) {
    // Back to the journal's start: what it holds must be home for good first.
    if (!home_synced_)
      if (errcode_t err = inner_flush()) return fail(err, "writing the image");
    if (errcode_t err = write_superblock(first_, tid)) return fail(err, "writing the journal superblock");
    home_synced_ = true;
    head_ = first_;
  }
  uint32_t pos = head_;
  std::vector<uint8_t> desc(bs_), data(bs_);
  uint8_t seq_be[4];
  put_be32(seq_be, tid);
  uint32_t seq_csum = csum(csum_seed_, seq_be, 4);
  auto it = overlay_.begin();
  while (it != overlay_.end()) {
    std::fill(desc.begin(), desc.end(), 0);
    header(desc.data(), kDescriptor, tid);
    uint32_t desc_pos = pos++;
    size_t off = 12;
    for (size_t k = 0; k < per_desc && it != overlay_.end(); ++k, ++it) {
      const uint8_t* src = it->second.data();
      bool escape = be32(src) == kMagic;
      std::memcpy(data.data(), src, bs_);
      if (escape) put_be32(data.data(), 0);
      uint32_t flags = (k ? kTagSameUuid : 0) | (escape ? kTagEscape : 0);
      if (k + 1 == per_desc || std::next(it) == overlay_.end()) flags |= kTagLast;
      uint8_t* t = desc.data() + off;
      put_be32(t, uint32_t(it->first));
      uint32_t tag_csum = csum(seq_csum, data.data(), bs_);
      if (incompat_ & kIncompatCsumV3) {
        put_be32(t + 4, flags);
        put_be32(t + 12, tag_csum);
      } else {
        put_be16(t + 4, uint16_t(tag_csum));
        put_be16(t + 6, uint16_t(flags));
      }
      if (incompat_ & kIncompat64) put_be32(t + 8, uint32_t(it->first >> 32));
      off += tb;
      if (k == 0) {
        std::memcpy(desc.data() + off, sb_.data() + kSbUuid, 16);
        off += 16;
      }
      if (errcode_t err = write_block(jblock(pos++), data.data())) return fail(err, "writing the journal");
    }
    if (with_csum) put_be32(desc.data() + bs_ - 4, csum(csum_seed_, desc.data(), bs_));
    if (errcode_t err = write_block(jblock(desc_pos), desc.data())) return fail(err, "writing the journal");
  }
  // The logged blocks are in the journal before the commit block that makes them count.
  if (errcode_t err = inner_flush()) return fail(err, "writing the journal");
  std::fill(desc.begin(), desc.end(), 0);
  header(desc.data(), kCommit, tid);
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  put_be64(desc.data() + kCommitSec, uint64_t(now.tv_sec));
  put_be32(desc.data() + kCommitNsec, uint32_t(now.tv_nsec));
  if (with_csum) put_be32(desc.data() + kCommitChecksum, csum(csum_seed_, desc.data(), bs_));
  if (errcode_t err = write_block(jblock(pos++), desc.data())) return fail(err, "writing the journal");
  if (errcode_t err = inner_flush()) return fail(err, "committing to the journal");
  // Committed: a crash from here on is completed by replaying the journal. Now home.
  for (auto& [blk, d] : overlay_)
    if (errcode_t err = write_block(blk, d.data())) return fail(err, "writing the image");

  overlay_.clear();
  home_synced_ = false;
  head_ = pos;
  sequence_ = tid + 1;
  return {};
}

Status Journal::stop_logging() {
  if (mode_ != Mode::Logging) return {};
  if (failed_) return Error::make(EIO, "the journal stopped after a failed write");
  UM_TRY(commit());
  if (errcode_t err = inner_flush()) return fail(err, "writing the image");
  if (errcode_t err = write_superblock(0, sequence_)) return fail(err, "writing the journal superblock");
  if (errcode_t err = inner_flush()) return fail(err, "writing the journal superblock");
  home_synced_ = true;
  mode_ = Mode::Direct;
  return {};
}

// ---------------------------------------------------------------------------------------
// what the channel asks

void Journal::patch_read(uint64_t offset, void* buf, size_t len) const {
  if (overlay_.empty() || len == 0) return;
  uint64_t first = offset / bs_, last = (offset + len - 1) / bs_;
  for (auto it = overlay_.lower_bound(first); it != overlay_.end() && it->first <= last; ++it) {
    uint64_t bstart = it->first * bs_;
    uint64_t from = std::max(bstart, offset), to = std::min(bstart + bs_, offset + len);
    std::memcpy(static_cast<uint8_t*>(buf) + (from - offset), it->second.data() + (from - bstart), to - from);
  }
}

errcode_t Journal::log_write(uint64_t offset, const void* buf, size_t len) {
  if (len == 0) return 0;
  uint64_t first = offset / bs_, last = (offset + len - 1) / bs_;
  for (uint64_t b = first; b <= last; ++b) {
    uint64_t bstart = b * bs_;
    uint64_t from = std::max(bstart, offset), to = std::min(bstart + bs_, offset + len);
    auto it = overlay_.find(b);
    if (it == overlay_.end()) {
      std::vector<uint8_t> blk(bs_);
      if (to - from != bs_)
        if (errcode_t err = read_block(b, blk.data())) return err;
      it = overlay_.emplace(b, std::move(blk)).first;
    }
    std::memcpy(it->second.data() + (from - bstart), static_cast<const uint8_t*>(buf) + (from - offset), to - from);
  }
  return 0;
}

void Journal::note_direct_write(uint64_t offset, const void* buf, size_t len) {
  if (overlay_.empty() || len == 0) return;
  uint64_t first = offset / bs_, last = (offset + len - 1) / bs_;
  for (auto it = overlay_.lower_bound(first); it != overlay_.end() && it->first <= last; ++it) {
    uint64_t bstart = it->first * bs_;
    uint64_t from = std::max(bstart, offset), to = std::min(bstart + bs_, offset + len);
    std::memcpy(it->second.data() + (from - bstart), static_cast<const uint8_t*>(buf) + (from - offset), to - from);
  }
}

}  // namespace um::ext
