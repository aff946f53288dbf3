// libext2fs io_manager over CowImage, so ext2fs_open() works directly on a COW file.
extern "C" {
#include <et/com_err.h>  // no extern "C" of its own
}
#include <ext2fs/ext2fs.h>

#include <cstdlib>
#include <cstring>

#include "core/cow/cow_file.h"

namespace um::cow {
namespace {

// A private com_err table with one entry whose text is the last open failure, so callers
// printing error_message(code) show the real reason. Table name "UMcw" (compile_et encoding).
constexpr long table_base() {
  const char* charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
  long num = 0;
  for (const char* c = "UMcw"; *c; ++c) {
    long idx = 0;
    while (charset[idx] != *c) ++idx;
    num = (num << 6) + idx + 1;
  }
  return num << 8;
}
constexpr errcode_t kOpenFailed = table_base();

char g_message[1024] = "COW file open failed";
const char* const g_messages[] = {g_message};
const error_table g_table = {g_messages, table_base(), 1};
std::string g_last_error;

// Callers name the image themselves, so a leading "NAME: " is dropped.
errcode_t open_failed(const char* name, const Error& e) {
  const std::string prefix = std::string(name) + ": ";
  g_last_error = e.message.starts_with(prefix) ? e.message.substr(prefix.size()) : e.message;
  snprintf(g_message, sizeof g_message, "%s", g_last_error.c_str());
  return kOpenFailed;
}

errcode_t errno_code(const Error& e) { return e.code > 0 ? e.code : EIO; }

struct Channel {
  std::unique_ptr<CowImage> image;
  struct_io_stats stats{};
};

Channel* data_of(io_channel ch) { return static_cast<Channel*>(ch->private_data); }

struct_io_manager g_manager;  // filled in by io_manager() (C struct, designated order)
int g_without_locks = 0;      // IoManagerWithoutLocks instances alive

errcode_t cow_open(const char* name, int flags, io_channel* out) {
  if (!name) return EXT2_ET_BAD_DEVICE_NAME;
  CowImage::Options opts;
  opts.writable = flags & IO_FLAG_RW;
  opts.lock = g_without_locks == 0;
  auto image = CowImage::open(name, opts);
  if (!image) return open_failed(name, image.error());
  g_last_error.clear();  // a later failure (bad superblock...) must not show a stale reason
  auto* ch = static_cast<io_channel>(calloc(1, sizeof(struct_io_channel)));
  if (!ch) return EXT2_ET_NO_MEMORY;
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = &g_manager;
  ch->name = strdup(name);
  ch->block_size = 1024;
  ch->refcount = 1;
  auto* data = new Channel{std::move(image.value())};
  data->stats.num_fields = 2;
  ch->private_data = data;
  *out = ch;
  return 0;
}

errcode_t cow_close(io_channel ch) {
  if (--ch->refcount > 0) return 0;
  delete data_of(ch);
  free(ch->name);
  free(ch);
  return 0;
}

errcode_t cow_set_blksize(io_channel ch, int blksize) {
  if (blksize <= 0) return EXT2_ET_INVALID_ARGUMENT;
  ch->block_size = blksize;
  return 0;
}

errcode_t cow_read_blk64(io_channel ch, unsigned long long block, int count, void* buf) {
  Channel* d = data_of(ch);
  uint64_t len = count < 0 ? static_cast<uint64_t>(-count) : uint64_t(count) * ch->block_size;
  uint64_t off = block * static_cast<uint64_t>(ch->block_size), size = d->image->size();
  uint64_t avail = off >= size ? 0 : std::min(len, size - off);
  errcode_t err = 0;
  if (avail > 0) {
    if (auto st = d->image->read(off, buf, avail); !st) err = errno_code(st.error());
  }
  if (!err && avail < len) {  // past the end of the device, as unix_io reports it
    memset(static_cast<char*>(buf) + avail, 0, len - avail);
    err = EXT2_ET_SHORT_READ;
  }
  d->stats.bytes_read += avail;
  if (err && ch->read_error)
    return ch->read_error(ch, block, count, buf, len, static_cast<int>(avail), err);
  return err;
}

errcode_t cow_write_blk64(io_channel ch, unsigned long long block, int count, const void* buf) {
  Channel* d = data_of(ch);
  uint64_t len = count < 0 ? static_cast<uint64_t>(-count) : uint64_t(count) * ch->block_size;
  uint64_t off = block * static_cast<uint64_t>(ch->block_size), size = d->image->size();
  errcode_t err = 0;
  if (off > size || len > size - off) err = EXT2_ET_SHORT_WRITE;
  else if (auto st = d->image->write(off, buf, len); !st) err = errno_code(st.error());
  else d->stats.bytes_written += len;
  if (err && ch->write_error) return ch->write_error(ch, block, count, buf, len, 0, err);
  return err;
}

errcode_t cow_read_blk(io_channel ch, unsigned long block, int count, void* buf) {
  return cow_read_blk64(ch, block, count, buf);
}

errcode_t cow_write_blk(io_channel ch, unsigned long block, int count, const void* buf) {
  return cow_write_blk64(ch, block, count, buf);
}

errcode_t cow_write_byte(io_channel ch, unsigned long offset, int count, const void* buf) {
  Channel* d = data_of(ch);
  if (count < 0 || offset > d->image->size() || uint64_t(count) > d->image->size() - offset)
    return EXT2_ET_SHORT_WRITE;
  if (auto st = d->image->write(offset, buf, static_cast<size_t>(count)); !st)
    return errno_code(st.error());
  d->stats.bytes_written += static_cast<uint64_t>(count);
  return 0;
}

errcode_t cow_flush(io_channel ch) {
  if (auto st = data_of(ch)->image->flush(); !st) return errno_code(st.error());
  return 0;
}

errcode_t cow_set_option(io_channel, const char*, const char*) { return EXT2_ET_INVALID_ARGUMENT; }

errcode_t cow_get_stats(io_channel ch, io_stats* stats) {
  if (stats) *stats = &data_of(ch)->stats;
  return 0;
}

}  // namespace

IoManagerWithoutLocks::IoManagerWithoutLocks() { ++g_without_locks; }
IoManagerWithoutLocks::~IoManagerWithoutLocks() { --g_without_locks; }

struct_io_manager* io_manager() {
  static bool ready = [] {
    add_error_table(&g_table);
    g_manager.magic = EXT2_ET_MAGIC_IO_MANAGER;
    g_manager.name = "UML COW I/O Manager";
    g_manager.open = cow_open;
    g_manager.close = cow_close;
    g_manager.set_blksize = cow_set_blksize;
    g_manager.read_blk = cow_read_blk;
    g_manager.write_blk = cow_write_blk;
    g_manager.flush = cow_flush;
    g_manager.write_byte = cow_write_byte;
    g_manager.set_option = cow_set_option;
    g_manager.get_stats = cow_get_stats;
    g_manager.read_blk64 = cow_read_blk64;
    g_manager.write_blk64 = cow_write_blk64;
    return true;
  }();
  (void)ready;
  return &g_manager;
}

std::string last_error() { return g_last_error; }

}  // namespace um::cow
