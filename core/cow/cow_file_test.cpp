#include "core/cow/cow_file.h"

#include <endian.h>
extern "C" {
#include <et/com_err.h>  // no extern "C" of its own
}
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>

#include "core/unique_fd.h"

namespace um::cow {
namespace {

class CowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cow_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    backing_ = dir_ + "/backing.img";
    cow_ = dir_ + "/vm.cow";
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  // A backing file of `size` bytes with a recognizable pattern; an old fixed mtime.
  std::vector<uint8_t> make_backing(uint64_t size, const std::string& path = "") {
    std::vector<uint8_t> data(size);
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>((i * 7 + i / 512) & 0xff);
    write_file(path.empty() ? backing_ : path, data);
    set_mtime(path.empty() ? backing_ : path, 1600000000);
    return data;
  }
  static void write_file(const std::string& path, const std::vector<uint8_t>& data) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data.data()),
                                                static_cast<std::streamsize>(data.size()));
  }
  static std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static void set_mtime(const std::string& path, time_t t) {
    timespec ts[2] = {{t, 0}, {t, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, 0), 0);
  }
  static uint32_t be32_at(const std::vector<uint8_t>& b, size_t off) {
    uint32_t v;
    memcpy(&v, &b[off], 4);
    return be32toh(v);
  }
  static uint64_t be64_at(const std::vector<uint8_t>& b, size_t off) {
    uint64_t v;
    memcpy(&v, &b[off], 8);
    return be64toh(v);
  }
  std::unique_ptr<CowImage> open_cow(bool writable) {
    CowImage::Options o;
    o.writable = writable;
    auto r = CowImage::open(cow_, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r.value()) : nullptr;
  }

  std::string dir_, backing_, cow_;
};

TEST_F(CowTest, V3LayoutMatchesTheSpecExample) {
  std::system(("truncate -s 64M '" + backing_ + "'").c_str());
  set_mtime(backing_, 1700000123);
  ASSERT_TRUE(create(cow_, backing_).ok());
  struct stat st;
  ASSERT_EQ(stat(cow_.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 67133440);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "COW file must be sparse";

  auto bytes = read_file(cow_);
  EXPECT_EQ(be32_at(bytes, 0), 0x4f4f4f4du);
  EXPECT_EQ(memcmp(&bytes[0], "OOOM", 4), 0);
  EXPECT_EQ(be32_at(bytes, 4), 3u);
  EXPECT_EQ(be32_at(bytes, 8), 1700000123u);
  EXPECT_EQ(be64_at(bytes, 12), 64ull << 20);
  EXPECT_EQ(be32_at(bytes, 20), 512u);
  EXPECT_EQ(be32_at(bytes, 24), 4096u);
  EXPECT_EQ(be32_at(bytes, 28), 0u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&bytes[32])), backing_);
  for (size_t i = 32 + backing_.size(); i < 8192 + 16384; ++i) ASSERT_EQ(bytes[i], 0) << i;

  auto h = read_header(cow_);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->bitmap_offset, 8192u);
  EXPECT_EQ(h->bitmap_len, 16384u);
  EXPECT_EQ(h->data_offset, 24576u);
  EXPECT_FALSE(h->broken_v3);
  EXPECT_TRUE(is_cow_file(cow_));
  EXPECT_FALSE(is_cow_file(backing_));
  EXPECT_FALSE(is_cow_file(dir_ + "/missing"));
}

TEST_F(CowTest, HeaderIsByteIdenticalToUmlMkcow) {
  if (access("/usr/bin/uml_mkcow", X_OK) != 0) GTEST_SKIP() << "uml_mkcow not installed";
  make_backing(3 << 20);
  std::string theirs = dir_ + "/theirs.cow";
  ASSERT_EQ(std::system(("/usr/bin/uml_mkcow '" + theirs + "' '" + backing_ + "' >/dev/null").c_str()), 0);
  ASSERT_TRUE(create(cow_, backing_).ok());
  EXPECT_EQ(read_file(cow_), read_file(theirs));
}

TEST_F(CowTest, CreateRefusesExistingFileUnlessForced) {
  make_backing(1 << 20);
  ASSERT_TRUE(create(cow_, backing_).ok());
  auto again = create(cow_, backing_);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos);
  EXPECT_TRUE(create(cow_, backing_, true).ok());
  EXPECT_FALSE(create(dir_ + "/x.cow", dir_ + "/missing.img").ok());
  EXPECT_FALSE(create(dir_ + "/y.cow", cow_).ok()) << "a COW over a COW is refused";
}

TEST_F(CowTest, RandomWritesReadBackAndNeverTouchTheBacking) {
  const uint64_t size = (1 << 20) + 1000;  // not a multiple of the sector size
  auto model = make_backing(size);
  auto original = model;
  ASSERT_TRUE(create(cow_, backing_).ok());
  std::mt19937_64 rng(42);
  {
    auto cow = open_cow(true);
    ASSERT_TRUE(cow);
    for (int i = 0; i < 300; ++i) {
      uint64_t off = rng() % size;
      size_t len = static_cast<size_t>(std::min<uint64_t>(1 + rng() % 5000, size - off));
      std::vector<uint8_t> data(len);
      for (auto& b : data) b = static_cast<uint8_t>(rng());
      ASSERT_TRUE(cow->write(off, data.data(), len).ok());
      memcpy(&model[off], data.data(), len);
    }
    // the very last (partial) sector
    uint8_t tail[3] = {1, 2, 3};
    ASSERT_TRUE(cow->write(size - 3, tail, 3).ok());
    memcpy(&model[size - 3], tail, 3);
    ASSERT_TRUE(cow->flush().ok());
    std::vector<uint8_t> back(size);
    ASSERT_TRUE(cow->read(0, back.data(), size).ok());
    EXPECT_EQ(back, model);
    EXPECT_FALSE(cow->write(size - 1, tail, 2).ok()) << "writes past the end fail";
  }
  auto cow = open_cow(false);  // reopened: bitmap came from the file
  ASSERT_TRUE(cow);
  std::vector<uint8_t> back(size);
  ASSERT_TRUE(cow->read(0, back.data(), size).ok());
  EXPECT_EQ(back, model);
  EXPECT_GT(cow->sectors_written(), 0u);
  EXPECT_FALSE(cow->write(0, back.data(), 1).ok()) << "read-only open refuses writes";
  EXPECT_EQ(read_file(backing_), original);
}

TEST_F(CowTest, PartialSectorWriteKeepsTheRestOfTheSector) {
  auto model = make_backing(8192);
  ASSERT_TRUE(create(cow_, backing_).ok());
  auto cow = open_cow(true);
  ASSERT_TRUE(cow);
  uint8_t x[4] = {0xaa, 0xbb, 0xcc, 0xdd};
  ASSERT_TRUE(cow->write(510, x, 4).ok());  // straddles sectors 0 and 1
  EXPECT_TRUE(cow->sector_written(0));
  EXPECT_TRUE(cow->sector_written(1));
  EXPECT_FALSE(cow->sector_written(2));
  EXPECT_EQ(cow->sectors_written(), 2u);
  memcpy(&model[510], x, 4);
  std::vector<uint8_t> back(8192);
  ASSERT_TRUE(cow->read(0, back.data(), back.size()).ok());
  EXPECT_EQ(back, model);
  // The COW data area holds both whole sectors; the bitmap byte has bits 0 and 1.
  auto bytes = read_file(cow_);
  auto h = read_header(cow_).value();
  EXPECT_EQ(bytes[h.bitmap_offset], 0x03);
  EXPECT_EQ(memcmp(&bytes[h.data_offset], model.data(), 1024), 0);
}

TEST_F(CowTest, ChangedBackingIsRefusedWithAClearError) {
  make_backing(1 << 20);
  ASSERT_TRUE(create(cow_, backing_).ok());
  set_mtime(backing_, 1600000999);
  CowImage::Options o;
  auto r = CowImage::open(cow_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("backing file " + backing_ + " changed since the COW file was made (mtime 1600000999"),
            std::string::npos)
      << r.error().message;
  set_mtime(backing_, 1600000000);
  std::system(("truncate -s 2M '" + backing_ + "'").c_str());
  set_mtime(backing_, 1600000000);
  r = CowImage::open(cow_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("(size 2097152 bytes"), std::string::npos) << r.error().message;
}

TEST_F(CowTest, SecondWriterIsToldWhoHoldsTheLock) {
  make_backing(1 << 20);
  ASSERT_TRUE(create(cow_, backing_).ok());
  auto first = open_cow(true);
  ASSERT_TRUE(first);
  CowImage::Options o;
  o.writable = true;
  auto second = CowImage::open(cow_, o);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("is locked by pid " + std::to_string(getpid())),
            std::string::npos)
      << second.error().message;
  // Readers of the backing coexist; a writer of the backing does not.
  UniqueFd b(::open(backing_.c_str(), O_RDWR));
  EXPECT_TRUE(lock_file(b.get(), false, backing_).ok());
  UniqueFd w(::open(backing_.c_str(), O_RDWR));
  EXPECT_FALSE(lock_file(w.get(), true, backing_).ok());
}

TEST_F(CowTest, LegacyHeadersParse) {
  // v1: host order, 280 bytes.
  std::vector<uint8_t> v1(280, 0);
  uint32_t magic = kMagic, version = 1, mtime = 123, ss = 512;
  uint64_t size = 10 * 512 + 100;
  memcpy(&v1[0], &magic, 4);
  memcpy(&v1[4], &version, 4);
  memcpy(&v1[8], "/img/v1", 7);
  memcpy(&v1[264], &mtime, 4);
  memcpy(&v1[268], &size, 8);
  memcpy(&v1[276], &ss, 4);
  auto h1 = parse_header(v1.data(), v1.size());
  ASSERT_TRUE(h1.ok()) << h1.error().message;
  EXPECT_EQ(h1->version, 1u);
  EXPECT_EQ(h1->backing_file, "/img/v1");
  EXPECT_EQ(h1->mtime, 123u);
  EXPECT_EQ(h1->size, size);
  EXPECT_EQ(h1->bitmap_offset, 280u);
  EXPECT_EQ(h1->bitmap_len, 1u);    // old rounding: (size + 511) / 4096
  EXPECT_EQ(h1->data_offset, 512u);
  EXPECT_EQ(h1->alignment, 512u);
  EXPECT_FALSE(parse_header(v1.data(), 279).ok());

  // v2: big endian, 4120 bytes.
  std::vector<uint8_t> v2(4120, 0);
  auto put32 = [](std::vector<uint8_t>& b, size_t off, uint32_t v) { v = htobe32(v); memcpy(&b[off], &v, 4); };
  auto put64 = [](std::vector<uint8_t>& b, size_t off, uint64_t v) { v = htobe64(v); memcpy(&b[off], &v, 8); };
  put32(v2, 0, kMagic);
  put32(v2, 4, 2);
  memcpy(&v2[8], "/img/v2", 7);
  put32(v2, 4104, 456);
  put64(v2, 4108, 1 << 20);
  put32(v2, 4116, 512);
  auto h2 = parse_header(v2.data(), v2.size());
  ASSERT_TRUE(h2.ok()) << h2.error().message;
  EXPECT_EQ(h2->version, 2u);
  EXPECT_EQ(h2->backing_file, "/img/v2");
  EXPECT_EQ(h2->mtime, 456u);
  EXPECT_EQ(h2->size, 1u << 20);
  EXPECT_EQ(h2->bitmap_offset, 4120u);
  EXPECT_EQ(h2->bitmap_len, 256u);
  EXPECT_EQ(h2->data_offset, 4608u);

  // broken v3: unpacked 64-bit layout, 4136 bytes; cow_format (0) where the path would be.
  std::vector<uint8_t> b3(4136, 0);
  put32(b3, 0, kMagic);
  put32(b3, 4, 3);
  put32(b3, 8, 789);
  put64(b3, 16, 64 << 20);
  put32(b3, 24, 512);
  put32(b3, 28, 4096);
  put32(b3, 32, 0);
  memcpy(&b3[36], "/img/b3", 7);
  auto hb = parse_header(b3.data(), b3.size());
  ASSERT_TRUE(hb.ok()) << hb.error().message;
  EXPECT_TRUE(hb->broken_v3);
  EXPECT_EQ(hb->backing_file, "/img/b3");
  EXPECT_EQ(hb->mtime, 789u);
  EXPECT_EQ(hb->size, 64ull << 20);
  EXPECT_EQ(hb->bitmap_offset, 8192u);
  EXPECT_EQ(hb->data_offset, 24576u);

  // garbage
  std::vector<uint8_t> junk(4136, 0x5a);
  EXPECT_FALSE(parse_header(junk.data(), junk.size()).ok());
  put32(b3, 4, 9);
  EXPECT_FALSE(parse_header(b3.data(), b3.size()).ok());
  put32(b3, 4, 3);
  put32(b3, 24, 0);
  EXPECT_FALSE(parse_header(b3.data(), b3.size()).ok()) << "sector size 0 is rejected";
}

TEST_F(CowTest, LegacyV2FileReadsFromItsDataArea) {
  auto model = make_backing(1 << 20);
  std::vector<uint8_t> file(4608 + (1 << 20), 0);
  auto put32 = [&](size_t off, uint32_t v) { v = htobe32(v); memcpy(&file[off], &v, 4); };
  put32(0, kMagic);
  put32(4, 2);
  memcpy(&file[8], backing_.data(), backing_.size());
  put32(4104, 1600000000);
  uint64_t size = htobe64(1 << 20);
  memcpy(&file[4108], &size, 8);
  put32(4116, 512);
  file[4120] = 0x04;                       // sector 2 lives in the COW
  memset(&file[4608 + 2 * 512], 0xee, 512);
  write_file(cow_, file);
  auto cow = open_cow(false);
  ASSERT_TRUE(cow);
  std::vector<uint8_t> back(4 * 512);
  ASSERT_TRUE(cow->read(0, back.data(), back.size()).ok());
  memset(&model[1024], 0xee, 512);
  EXPECT_EQ(0, memcmp(back.data(), model.data(), back.size()));
}

TEST_F(CowTest, CorruptOrTruncatedCowFilesFailCleanly) {
  make_backing(1 << 20);
  ASSERT_TRUE(create(cow_, backing_).ok());
  auto good = read_file(cow_);
  auto expect_error = [&](std::vector<uint8_t> bytes, const char* what) {
    write_file(cow_, bytes);
    auto r = CowImage::open(cow_, {});
    EXPECT_FALSE(r.ok()) << what;
    EXPECT_FALSE(r.ok() ? false : r.error().message.empty()) << what;
  };
  auto huge = good;
  uint64_t big = htobe64(uint64_t{1} << 55);
  memcpy(&huge[12], &big, 8);
  expect_error(huge, "size of 32 PiB");
  expect_error(std::vector<uint8_t>(good.begin(), good.begin() + 8300), "truncated bitmap");
  expect_error(std::vector<uint8_t>(good.begin(), good.begin() + 100), "truncated header");
  auto noalign = good;
  memset(&noalign[24], 0, 4);
  expect_error(noalign, "alignment 0");
  auto nopath = good;
  memset(&nopath[32], 'x', 4096);
  expect_error(nopath, "unterminated backing path");
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {  // random header bytes after a valid magic/version
    auto junk = good;
    for (size_t j = 8; j < 64; ++j) junk[j] = static_cast<uint8_t>(rng());
    write_file(cow_, junk);
    auto r = CowImage::open(cow_, {});  // must not crash or allocate absurdly
    (void)r;
    (void)count_written_sectors(cow_);
  }
}

TEST_F(CowTest, BrokenV3FileReadsFromItsDataArea) {
  auto model = make_backing(1 << 20);
  // unpacked 64-bit layout: bitmap at roundup(4136, 4096) = 8192, 256 bytes; data at 12288
  std::vector<uint8_t> file(12288 + (1 << 20), 0);
  auto put32 = [&](size_t off, uint32_t v) { v = htobe32(v); memcpy(&file[off], &v, 4); };
  put32(0, kMagic);
  put32(4, 3);
  put32(8, 1600000000);
  uint64_t size = htobe64(1 << 20);
  memcpy(&file[16], &size, 8);
  put32(24, 512);
  put32(28, 4096);
  memcpy(&file[36], backing_.data(), backing_.size());
  file[8192] = 0x01;  // sector 0 lives in the COW
  memset(&file[12288], 0x77, 512);
  write_file(cow_, file);
  auto cow = open_cow(true);
  ASSERT_TRUE(cow);
  EXPECT_TRUE(cow->header().broken_v3);
  EXPECT_EQ(cow->header().data_offset, 12288u);
  std::vector<uint8_t> back(1024);
  ASSERT_TRUE(cow->read(0, back.data(), back.size()).ok());
  memset(model.data(), 0x77, 512);
  EXPECT_EQ(0, memcmp(back.data(), model.data(), back.size()));
  uint8_t x = 0x99;
  ASSERT_TRUE(cow->write(600, &x, 1).ok());  // sector 1 copied up into the broken layout
  cow.reset();
  auto bytes = read_file(cow_);
  EXPECT_EQ(bytes[8192], 0x03);
  EXPECT_EQ(bytes[12288 + 600], 0x99);
  EXPECT_EQ(bytes[12288 + 601], model[601]);
  std::string copy = dir_ + "/copy.img";
  write_file(copy, read_file(backing_));
  set_mtime(copy, 1600000000);
  auto sw = attach_backing(cow_, copy);
  ASSERT_FALSE(sw.ok());
  EXPECT_NE(sw.error().message.find("cannot switch the backing file of a legacy"), std::string::npos)
      << sw.error().message;
}

TEST_F(CowTest, IoManagerBlocksBytesAndErrors) {
  auto model = make_backing(1 << 20);
  ASSERT_TRUE(create(cow_, backing_).ok());
  ::io_manager mgr = um::cow::io_manager();
  io_channel ch = nullptr;
  ASSERT_EQ(mgr->open(cow_.c_str(), IO_FLAG_RW, &ch), 0);
  ASSERT_EQ(io_channel_set_blksize(ch, 4096), 0);
  std::vector<uint8_t> block(4096, 0x11);
  ASSERT_EQ(io_channel_write_blk64(ch, 3, 1, block.data()), 0);
  memcpy(&model[3 * 4096], block.data(), 4096);
  ASSERT_EQ(io_channel_write_byte(ch, 100, 2, "zz"), 0);
  memcpy(&model[100], "zz", 2);
  std::vector<uint8_t> small(700, 0x22);
  ASSERT_EQ(io_channel_write_blk64(ch, 1, -700, small.data()), 0);  // negative count = bytes
  memcpy(&model[4096], small.data(), 700);
  std::vector<uint8_t> back(2 * 4096);
  ASSERT_EQ(io_channel_read_blk64(ch, 0, 2, back.data()), 0);
  EXPECT_EQ(0, memcmp(back.data(), model.data(), back.size()));
  EXPECT_EQ(io_channel_read_blk64(ch, 256, 1, back.data()), EXT2_ET_SHORT_READ);
  EXPECT_NE(io_channel_write_blk64(ch, 256, 1, block.data()), 0);
  ASSERT_EQ(io_channel_flush(ch), 0);
  ASSERT_EQ(io_channel_close(ch), 0);

  auto cow = open_cow(false);
  std::vector<uint8_t> all(1 << 20);
  ASSERT_TRUE(cow->read(0, all.data(), all.size()).ok());
  EXPECT_EQ(all, model);
  cow.reset();

  set_mtime(backing_, 1600000777);
  errcode_t err = mgr->open(cow_.c_str(), 0, &ch);
  ASSERT_NE(err, 0);
  EXPECT_NE(std::string(error_message(err)).find("changed since the COW file was made"), std::string::npos)
      << error_message(err);
  EXPECT_EQ(last_error(), error_message(err));
  set_mtime(backing_, 1600000000);
  ASSERT_EQ(mgr->open(cow_.c_str(), 0, &ch), 0);
  EXPECT_EQ(last_error(), "") << "a successful open clears the last failure";
  io_channel_close(ch);
}

TEST_F(CowTest, Ext2fsOpensAFileSystemThroughTheCow) {
  if (std::system(("mke2fs -q -F -t ext4 '" + backing_ + "' 8M >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "mke2fs not available";
  set_mtime(backing_, 1600000000);
  auto original = read_file(backing_);
  ASSERT_TRUE(create(cow_, backing_).ok());
  ext2_filsys fs = nullptr;
  ASSERT_EQ(ext2fs_open(cow_.c_str(), EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, io_manager(), &fs), 0);
  ASSERT_EQ(ext2fs_read_bitmaps(fs), 0);
  ext2_ino_t ino = 0;
  ASSERT_EQ(ext2fs_new_inode(fs, EXT2_ROOT_INO, LINUX_S_IFDIR | 0755, nullptr, &ino), 0);
  ASSERT_EQ(ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "made-through-cow"), 0);
  ASSERT_EQ(ext2fs_close_free(&fs), 0);
  EXPECT_EQ(read_file(backing_), original);

  ASSERT_EQ(ext2fs_open(cow_.c_str(), EXT2_FLAG_64BITS, 0, 0, io_manager(), &fs), 0);
  ext2_ino_t found = 0;
  EXPECT_EQ(ext2fs_lookup(fs, EXT2_ROOT_INO, "made-through-cow", 16, nullptr, &found), 0);
  EXPECT_NE(found, 0u);
  ext2fs_close_free(&fs);

  // Merged result carries the directory and is a clean file system.
  std::string merged = dir_ + "/merged.img";
  ASSERT_TRUE(merge(cow_, merged).ok());
  EXPECT_EQ(std::system(("e2fsck -fn '" + merged + "' >/dev/null 2>&1").c_str()), 0);
  EXPECT_FALSE(merge(cow_, merged).ok()) << "an existing output is not overwritten";
}

TEST_F(CowTest, MergeOutOfPlaceAndInPlaceAgree) {
  auto model = make_backing(300 * 1024);
  ASSERT_TRUE(create(cow_, backing_).ok());
  {
    auto cow = open_cow(true);
    std::vector<uint8_t> zeros(8192, 0), ones(1000, 0x5c);
    ASSERT_TRUE(cow->write(4096, zeros.data(), zeros.size()).ok());
    ASSERT_TRUE(cow->write(100000, ones.data(), ones.size()).ok());
    memcpy(&model[4096], zeros.data(), zeros.size());
    memcpy(&model[100000], ones.data(), ones.size());
  }
  std::string out = dir_ + "/out.img";
  ASSERT_TRUE(merge(cow_, out).ok());
  EXPECT_EQ(read_file(out), model);
  ASSERT_TRUE(merge(cow_, std::nullopt).ok());
  EXPECT_EQ(read_file(backing_), model);
  EXPECT_FALSE(CowImage::open(cow_, {}).ok()) << "the backing changed under the COW";
}

TEST_F(CowTest, AttachBackingCreatesOrSwitches) {
  auto model = make_backing(1 << 20);
  ASSERT_TRUE(attach_backing(cow_, backing_).ok());
  EXPECT_TRUE(is_cow_file(cow_));
  EXPECT_FALSE(attach_backing(dir_ + "/none.cow", "").ok());
  // A copy with the same size and mtime (cp -p) is accepted and recorded.
  std::string copy = dir_ + "/copy.img";
  write_file(copy, model);
  set_mtime(copy, 1600000000);
  ASSERT_TRUE(attach_backing(cow_, copy).ok());
  EXPECT_EQ(read_header(cow_)->backing_file, copy);
  ASSERT_TRUE(attach_backing(cow_, copy).ok());
  set_mtime(backing_, 1600000001);
  auto bad = attach_backing(cow_, backing_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("changed since"), std::string::npos);
  EXPECT_EQ(read_header(cow_)->backing_file, copy);
}

}  // namespace
}  // namespace um::cow
