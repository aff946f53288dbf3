// Private state of ExtFs shared by the ext_fs_*.cpp files (not for other users).
#pragma once
#include <ext2fs/ext2fs.h>

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ext/ext_fs.h"
#include "core/ext/journal.h"

namespace um::ext {

// Error tables and a quiet com_err hook; called before any libext2fs use.
void setup_libext2fs();
// errno for a libext2fs error code (errno values pass through).
int errno_of(errcode_t err);
// "WHAT: libext2fs message" with the matching errno.
Error ext_error(errcode_t err, const std::string& what);

// A full (large) inode; works for 128-byte inode file systems too (extra part stays zero).
struct InodeBuf {
  ext2_inode_large in{};
  ext2_inode* base() { return reinterpret_cast<ext2_inode*>(&in); }
};

timespec now_ts();
// Nanosecond timestamps live in the *_extra fields when the inode has room for them.
timespec inode_time(const ext2_inode_large& in, int which);
void set_inode_time(ext2_inode_large& in, int which, timespec ts);
enum : int { kAtime, kMtime, kCtime, kCrtime };

uint32_t inode_uid_of(const ext2_inode_large& in);
uint32_t inode_gid_of(const ext2_inode_large& in);
void set_inode_uid(ext2_inode_large& in, uint32_t uid);
void set_inode_gid(ext2_inode_large& in, uint32_t gid);
uint8_t ext2_ft_of_mode(uint32_t mode);   // EXT2_FT_* for a mode
uint8_t dt_of_ext2_ft(int ft);            // DT_* for an EXT2_FT_*

// An ext2_file_t kept open across read/write calls. While cached, its in-memory inode is the
// authority for the inode's first 128 bytes; every other inode change first evicts it.
struct CachedFile {
  ext2_file_t file = nullptr;
  bool writable = false;
  bool times_dirty = false;   // mtime/ctime below still to be written
  timespec mtime{};
  uint64_t last_use = 0;
};

// A directory's entries in memory, for lookups and readdir without rescanning its blocks.
// Dropped whenever the directory changes (every change goes through FsCore's entry helpers).
struct CachedDir {
  struct Entry {
    std::string name;
    Ino ino;
    uint8_t type;
  };
  std::vector<Entry> entries;  // in on-disk order; readdir cookies index into it
  bool entries_valid = true;   // false after a change: by_name is kept current, entries not
  std::unordered_map<std::string, Ino> by_name;
};

struct FsCore {
  ext2_filsys fs = nullptr;
  std::string path;
  bool ro = true;
  bool was_valid = true;                  // s_state had EXT2_VALID_FS when opened
  bool dirtied = false;                   // first change made (image marked not clean)
  bool changed = false;                   // a change since the last commit()
  bool failure_reported = false;          // the journal's failure was logged
  int lock_fd = -1;                       // holds a plain image's host lock (closed last)
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();  // what reaches the image, when
  std::unordered_map<Ino, CachedFile> files;
  std::unordered_map<Ino, int> open_refs;
  std::unordered_set<Ino> orphans;        // nlink 0 but still referenced
  std::unordered_map<Ino, CachedDir> dirs;
  size_t cached_dir_entries = 0;
  static constexpr size_t kMaxCachedDirEntries = 400000;
  uint64_t use_clock = 0;
  uint32_t generation = 0;
  static constexpr size_t kMaxCachedFiles = 64;

  ~FsCore();
  Status close_fs();

  // Inode I/O (coherent with the file cache).
  Status read_inode(Ino ino, InodeBuf& b);
  Status write_inode(Ino ino, InodeBuf& b);
  Status evict_file(Ino ino);             // flush and close a cached handle
  Status evict_all_files();
  Result<CachedFile*> file_for(Ino ino, bool write);

  Status check_writable();                // EROFS, else marks the image in use on first call
  // check_writable() at the start of a public change; first commits what the journal holds
  // when it is enough for a transaction (no change is half done at that point).
  Status begin_change();
  // Everything changed so far into the image: cached files and libext2fs' bitmaps, group
  // descriptors and superblock written, then committed as one journal transaction.
  Status commit();
  // The journal emptied and the image marked not in use (needs_recovery cleared).
  Status stop_journal();
  Status check_ino(Ino ino);
  Result<InodeBuf> dir_inode(Ino dir);    // ENOTDIR unless a directory
  Status touch_dir(Ino dir);              // mtime = ctime = now
  Result<Ino> new_inode(Ino dir, uint32_t mode, uint32_t uid, uint32_t gid, InodeBuf& b);
  // by_name is always current; `with_entries` also makes `entries` current (for readdir).
  Result<const CachedDir*> cached_dir(Ino dir, bool with_entries = false);
  void forget_dir(Ino dir);
  void note_entry(Ino dir, std::string_view name, Ino ino);  // ino 0 = removed
  Status add_entry(Ino dir, std::string_view name, Ino ino, uint32_t mode);
  Status set_entry(Ino dir, std::string_view name, Ino ino, uint32_t mode);
  Status remove_entry(Ino dir, std::string_view name, Ino ino);
  Result<bool> dir_is_empty(Ino dir);
  Result<Ino> parent_of(Ino dir);
  Status drop_link(Ino ino, bool is_dir);  // nlink-- (to 0 for dirs), frees if unreferenced
  Status free_inode(Ino ino);
};

Status check_name(std::string_view name);
// Frees every block of an inode (the block_iterate way; see ext_fs_dir.cpp) and zeroes i_blocks
// in `b` (not written).
Status release_blocks(FsCore& im, Ino ino, InodeBuf& b);
// Gives the in-memory inode an empty extent tree on extent file systems.
Status init_extents(FsCore& im, Ino ino, InodeBuf& b);

struct ExtFs::Impl : FsCore {};

}  // namespace um::ext
