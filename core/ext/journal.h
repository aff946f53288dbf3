// Crash safety for images with an ext3/4 journal: every block libext2fs writes while an image
// is open read-write is held in memory and reaches the image only as part of a jbd2
// transaction (the journal inode's format, as Linux writes it in data=journal mode): the
// blocks go to the journal, then a commit block, then (after an fsync barrier each) to their
// home locations. A SIGKILL (or a host crash) at any moment leaves either the state before a
// transaction or, once its commit block is written, one that replaying the journal completes
// — as e2fsck and Linux do on the next mount, and as ExtFs::open does (journal_io below).
//
// The Journal sits below libext2fs as an io_manager wrapping the image's own (unix_io or
// the UML COW manager): see journal_io_manager(). It holds no file-system knowledge beyond
// the journal inode's block map, which ExtFs hands it (attach) after opening.
#pragma once
#include <ext2fs/ext2fs.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace um::ext {

class Journal {
 public:
  enum class Mode {
    Off,      // no (usable) journal: writes go straight to the image, as libext2fs does
    Direct,   // journal known, nothing logged: writes go straight to the image
    Logging,  // writes are held until commit()
  };

  // The journal of `fs` (its internal journal inode), read through fs->io. Leaves the
  // journal Off (with `why` set) when the image has none or it is not one this code writes.
  Status attach(ext2_filsys fs);
  bool attached() const { return mode_ != Mode::Off; }
  const std::string& unusable_reason() const { return why_off_; }

  // True when the journal holds transactions a crash left (its superblock's s_start).
  bool needs_replay() const { return attached() && start_ != 0; }
  // Reads every committed transaction into the in-memory block overlay: reads then see the
  // replayed file system without anything being written (read-only opens).
  Status recover();
  // After recover(), on a writable image: writes the blocks home and empties the journal.
  Status finish_recovery();

  // Logging on: the journal superblock is set up for transactions (features this code
  // writes, s_start at the first block) before any is written.
  Status start_logging();
  // Commits what was written since the last commit as one transaction and writes it home.
  Status commit();
  // commit(), then the journal marked empty (s_start 0): what a clean unmount leaves.
  Status stop_logging();
  Mode mode() const { return mode_; }
  // A commit that could not write (the host's disk full, an I/O error) stops the journal for
  // good, as jbd2 aborts: nothing more is written, what was committed stays replayable, and
  // the file system refuses changes (EIO) until it is opened again.
  bool failed() const { return failed_; }

  // Blocks held for the next transaction; commit well before the journal would overflow.
  size_t pending_blocks() const { return overlay_.size(); }
  size_t commit_threshold() const { return threshold_; }

  // The io channel (journal_io.cpp) calls these.
  void set_inner(io_channel inner) { inner_ = inner; }
  io_channel inner() const { return inner_; }
  // Copies held blocks over what was read from the image at byte `offset`.
  void patch_read(uint64_t offset, void* buf, size_t len) const;
  // Logging: holds the bytes for the next transaction.
  errcode_t log_write(uint64_t offset, const void* buf, size_t len);
  // A write that went straight to the image: held copies of its blocks follow it.
  void note_direct_write(uint64_t offset, const void* buf, size_t len);
  size_t replayed_blocks() const { return replayed_; }
  ~Journal();

 private:
  uint64_t jblock(uint32_t pos) const { return map_[pos]; }
  errcode_t read_block(uint64_t blk, void* buf);
  errcode_t write_block(uint64_t blk, const void* buf);
  errcode_t inner_flush();
  errcode_t write_superblock(uint32_t start, uint32_t sequence);
  size_t tag_bytes() const;
  uint32_t csum(uint32_t seed, const void* p, size_t n) const;
  Status write_home_unlogged(const char* why);

  Mode mode_ = Mode::Off;
  std::string why_off_ = "no journal";
  io_channel inner_ = nullptr;
  uint32_t bs_ = 0;                  // file-system (and journal) block size
  std::vector<uint64_t> map_;        // journal block -> image block
  std::vector<uint8_t> sb_;          // the journal superblock as last written
  uint32_t first_ = 0, maxlen_ = 0, start_ = 0, sequence_ = 0;
  uint32_t head_ = 0;                // where the next transaction goes
  uint32_t tail_tid_ = 0;            // the transaction s_start points at
  uint32_t incompat_ = 0;
  uint32_t csum_seed_ = 0;
  uint64_t blocks_count_ = 0;
  bool fs_64bit_ = false, fs_csum_ = false;
  size_t replayed_ = 0;
  bool home_synced_ = true;          // checkpointed blocks fsync'd since their last write
  bool warned_ = false;
  bool failed_ = false;
  Status fail(errcode_t err, const char* what);
  size_t threshold_ = 0;
  std::map<uint64_t, std::vector<uint8_t>> overlay_;  // image block -> newest contents
};

// Opens images through a Journal. Before ext2fs_open2(..., journal_io_manager(), ...), set
// the inner manager and the Journal for the channel it opens (one thread at a time).
io_manager journal_io_manager();
struct JournalIoOpen {
  JournalIoOpen(io_manager inner, std::shared_ptr<Journal> journal);
  ~JournalIoOpen();
};

}  // namespace um::ext
