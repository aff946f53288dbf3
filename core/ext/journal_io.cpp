// The io_manager through which ExtFs opens images: a channel wrapping the image's own
// (unix_io, or the UML COW manager) that routes writes through a Journal (journal.h): held
// for the next transaction while the journal is logging, straight to the image otherwise.
// Reads see held blocks over the image's.
#include <ext2fs/ext2fs.h>

#include <cstring>

#include "core/ext/journal.h"

namespace um::ext {
namespace {

struct Opening {
  io_manager inner = nullptr;
  std::shared_ptr<Journal> journal;
};
thread_local Opening* g_opening = nullptr;

struct Priv {
  io_channel inner;
  std::shared_ptr<Journal> journal;
};

Priv* priv(io_channel ch) { return static_cast<Priv*>(ch->private_data); }

// A block/count request as bytes: count < 0 means -count bytes (libext2fs' convention).
uint64_t byte_len(io_channel ch, int count) {
  return count < 0 ? uint64_t(-int64_t(count)) : uint64_t(count) * uint64_t(ch->block_size);
}

errcode_t j_close(io_channel ch) {
  if (--ch->refcount > 0) return 0;
  Priv* p = priv(ch);
  errcode_t err = 0;
  if (p->journal->mode() == Journal::Mode::Logging) {
    // ExtFs stops logging before it closes; anything still held is committed here.
    if (auto s = p->journal->stop_logging(); !s) err = EIO;
  }
  p->journal->set_inner(nullptr);
  errcode_t err2 = io_channel_close(p->inner);
  delete p;
  ext2fs_free_mem(&ch->name);
  ext2fs_free_mem(&ch);
  return err ? err : err2;
}

errcode_t j_set_blksize(io_channel ch, int blksize) {
  errcode_t err = io_channel_set_blksize(priv(ch)->inner, blksize);
  if (!err) ch->block_size = blksize;
  return err;
}

errcode_t j_read_blk64(io_channel ch, unsigned long long block, int count, void* data) {
  Priv* p = priv(ch);
  errcode_t err = io_channel_read_blk64(p->inner, block, count, data);
  if (err) return err;
  p->journal->patch_read(block * uint64_t(ch->block_size), data, byte_len(ch, count));
  return 0;
}

errcode_t j_read_blk(io_channel ch, unsigned long block, int count, void* data) {
  return j_read_blk64(ch, block, count, data);
}

errcode_t j_write_blk64(io_channel ch, unsigned long long block, int count, const void* data) {
  Priv* p = priv(ch);
  uint64_t off = block * uint64_t(ch->block_size), len = byte_len(ch, count);
  if (p->journal->mode() == Journal::Mode::Logging) return p->journal->log_write(off, data, len);
  errcode_t err = io_channel_write_blk64(p->inner, block, count, data);
  if (!err) p->journal->note_direct_write(off, data, len);
  return err;
}

errcode_t j_write_blk(io_channel ch, unsigned long block, int count, const void* data) {
  return j_write_blk64(ch, block, count, data);
}

errcode_t j_write_byte(io_channel ch, unsigned long offset, int size, const void* data) {
  Priv* p = priv(ch);
  if (size <= 0) return 0;
  if (p->journal->mode() == Journal::Mode::Logging) return p->journal->log_write(offset, data, size);
  if (!p->inner->manager->write_byte) return EXT2_ET_UNIMPLEMENTED;
  errcode_t err = io_channel_write_byte(p->inner, offset, size, data);
  if (!err) p->journal->note_direct_write(offset, data, size);
  return err;
}

errcode_t j_flush(io_channel ch) {
  Priv* p = priv(ch);
  // While logging, what reaches the image and when is the journal's (Journal::commit).
  if (p->journal->mode() == Journal::Mode::Logging) return 0;
  return io_channel_flush(p->inner);
}

errcode_t j_set_option(io_channel ch, const char* option, const char* arg) {
  io_channel in = priv(ch)->inner;
  if (!in->manager->set_option) return EXT2_ET_INVALID_ARGUMENT;
  return in->manager->set_option(in, option, arg);
}

errcode_t j_get_stats(io_channel ch, io_stats* stats) {
  io_channel in = priv(ch)->inner;
  if (!in->manager->get_stats) return EXT2_ET_UNIMPLEMENTED;
  return in->manager->get_stats(in, stats);
}

errcode_t j_discard(io_channel ch, unsigned long long block, unsigned long long count) {
  Priv* p = priv(ch);
  // Discarded blocks would change under the journal: not while logging (none is needed).
  if (p->journal->mode() == Journal::Mode::Logging || p->journal->pending_blocks())
    return EXT2_ET_UNIMPLEMENTED;
  return io_channel_discard(p->inner, block, count);
}

errcode_t j_cache_readahead(io_channel ch, unsigned long long block, unsigned long long count) {
  io_channel in = priv(ch)->inner;
  if (!in->manager->cache_readahead) return EXT2_ET_UNIMPLEMENTED;
  return in->manager->cache_readahead(in, block, count);
}

errcode_t j_zeroout(io_channel, unsigned long long, unsigned long long) {
  // libext2fs then writes zero blocks, which go through write_blk64 like any other.
  return EXT2_ET_UNIMPLEMENTED;
}

errcode_t j_open(const char* name, int flags, io_channel* out);

struct struct_io_manager g_manager = [] {
  struct struct_io_manager m{};
  m.magic = EXT2_ET_MAGIC_IO_MANAGER;
  m.name = "um journaling I/O manager";
  m.open = j_open;
  m.close = j_close;
  m.set_blksize = j_set_blksize;
  m.read_blk = j_read_blk;
  m.write_blk = j_write_blk;
  m.flush = j_flush;
  m.write_byte = j_write_byte;
  m.set_option = j_set_option;
  m.get_stats = j_get_stats;
  m.read_blk64 = j_read_blk64;
  m.write_blk64 = j_write_blk64;
  m.discard = j_discard;
  m.cache_readahead = j_cache_readahead;
  m.zeroout = j_zeroout;
  return m;
}();

errcode_t j_open(const char* name, int flags, io_channel* out) {
  if (!g_opening || !g_opening->inner || !g_opening->journal) return EXT2_ET_BAD_DEVICE_NAME;
  io_channel inner = nullptr;
  if (errcode_t err = g_opening->inner->open(name, flags, &inner)) return err;
  // unix_io's small block cache would be a second copy beside the journal's: off (the
  // host's page cache serves repeated reads).
  if (inner->manager == unix_io_manager) (void)io_channel_set_options(inner, "cache=off");
  io_channel ch = nullptr;
  if (errcode_t err = ext2fs_get_memzero(sizeof *ch, &ch)) {
    io_channel_close(inner);
    return err;
  }
  size_t n = strlen(name) + 1;
  if (errcode_t err = ext2fs_get_mem(n, &ch->name)) {
    ext2fs_free_mem(&ch);
    io_channel_close(inner);
    return err;
  }
  std::memcpy(ch->name, name, n);
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = &g_manager;
  ch->block_size = inner->block_size;
  ch->refcount = 1;
  ch->flags = inner->flags;
  ch->align = inner->align;
  ch->private_data = new Priv{inner, g_opening->journal};
  g_opening->journal->set_inner(inner);
  *out = ch;
  return 0;
}

}  // namespace

io_manager journal_io_manager() { return &g_manager; }

JournalIoOpen::JournalIoOpen(io_manager inner, std::shared_ptr<Journal> journal) {
  g_opening = new Opening{inner, std::move(journal)};
}

JournalIoOpen::~JournalIoOpen() {
  delete g_opening;
  g_opening = nullptr;
}

}  // namespace um::ext
