#include "umkernel/vfs/page_cache.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>
#include <string>

namespace um::kernel {
namespace {

TEST(RangeSet, MergesAndSplits) {
  RangeSet s;
  s.add(4096, 8192);
  s.add(12288, 16384);
  EXPECT_EQ(s.total(), 8192u);
  s.add(8192, 12288);  // joins both
  EXPECT_EQ(s.ranges().size(), 1u);
  EXPECT_TRUE(s.covers(4096, 16384));
  EXPECT_FALSE(s.covers(0, 8192));
  s.remove(8192, 12288);
  EXPECT_EQ(s.ranges().size(), 2u);
  EXPECT_EQ(s.total(), 8192u);
  auto m = s.missing(0, 20480);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], std::make_pair(uint64_t{0}, uint64_t{4096}));
  EXPECT_EQ(m[1], std::make_pair(uint64_t{8192}, uint64_t{12288}));
  EXPECT_EQ(m[2], std::make_pair(uint64_t{16384}, uint64_t{20480}));
  auto p = s.present(6000, 14000);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], std::make_pair(uint64_t{6000}, uint64_t{8192}));
  EXPECT_EQ(p[1], std::make_pair(uint64_t{12288}, uint64_t{14000}));
  s.remove(0, UINT64_MAX);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.total(), 0u);
}

// A file in a string; `holes` are byte ranges with no data (they read as zeros).
class MemBacking : public CacheBacking {
 public:
  std::string data;
  std::vector<std::pair<uint64_t, uint64_t>> holes;
  int loads = 0, stores = 0;
  int64_t load(uint64_t off, void* buf, size_t n) override {
    loads++;
    if (off >= data.size()) return 0;
    n = std::min<size_t>(n, data.size() - off);
    memcpy(buf, data.data() + off, n);
    return static_cast<int64_t>(n);
  }
  int64_t store(uint64_t off, const void* buf, size_t n) override {
    stores++;
    if (data.size() < off + n) data.resize(off + n);
    memcpy(data.data() + off, buf, n);
    return static_cast<int64_t>(n);
  }
  int64_t store_size(uint64_t size) override {
    data.resize(size);
    return 0;
  }
  void data_ranges(uint64_t off, uint64_t n, std::vector<std::pair<uint64_t, uint64_t>>& out) override {
    uint64_t at = off, end = off + n;
    for (auto [a, b] : holes) {
      if (b <= at || a >= end) continue;
      if (a > at) out.emplace_back(at, a);
      at = std::max(at, b);
    }
    if (at < end) out.emplace_back(at, end);
  }
};

std::unique_ptr<PageCache> make(MemBacking& b) {
  int64_t err = 0;
  auto c = PageCache::create(b, b.data.size(), &err);
  EXPECT_TRUE(c) << err;
  return c;
}

TEST(PageCache, ReadsTheBackingOnceAndWritesBackOnlyWhenAsked) {
  MemBacking b;
  b.data.assign(3 << 20, 'a');
  auto c = make(b);
  char buf[10];
  ASSERT_EQ(c->read(5000, buf, 10), 10);
  EXPECT_EQ(std::string(buf, 10), std::string(10, 'a'));
  int loads = b.loads;
  ASSERT_EQ(c->read(6000, buf, 10), 10);
  EXPECT_EQ(b.loads, loads);  // cached now
  ASSERT_EQ(c->write(100, "hello", 5), 5);
  EXPECT_EQ(b.data.substr(100, 5), "aaaaa");  // not yet on the backing
  EXPECT_TRUE(c->dirty());
  EXPECT_EQ(c->dirty_bytes(), 4096u);
  ASSERT_EQ(c->write_back(), 0);
  EXPECT_EQ(b.data.substr(98, 9), "aahelloaa");
  EXPECT_FALSE(c->dirty());
  EXPECT_EQ(b.stores, 1);
}

TEST(PageCache, GrowsAndShrinks) {
  MemBacking b;
  b.data = std::string(10000, 'x');
  auto c = make(b);
  ASSERT_EQ(c->write(20000, "end", 3), 3);
  EXPECT_EQ(c->size(), 20003u);
  char buf[16];
  ASSERT_EQ(c->read(12000, buf, 4), 4);  // the gap reads as zeros
  EXPECT_EQ(std::string(buf, 4), std::string(4, '\0'));
  // Shrinking and growing again before write-back: the old bytes do not come back.
  ASSERT_EQ(c->truncate(100), 0);
  ASSERT_EQ(c->truncate(9000), 0);
  ASSERT_EQ(c->read(98, buf, 4), 4);
  EXPECT_EQ(std::string(buf, 4), std::string("xx\0\0", 4));
  ASSERT_EQ(c->read(8000, buf, 4), 4);
  EXPECT_EQ(std::string(buf, 4), std::string(4, '\0'));
  ASSERT_EQ(c->write_back(), 0);
  ASSERT_EQ(b.data.size(), 9000u);
  EXPECT_EQ(b.data.substr(0, 100), std::string(100, 'x'));
  EXPECT_EQ(b.data.substr(100), std::string(8900, '\0'));
}

TEST(PageCache, HolesStayHoles) {
  MemBacking b;
  b.data.assign(64 << 20, '\0');
  b.data[0] = 'a';
  b.data[(64 << 20) - 1] = 'z';
  b.holes = {{4096, (64 << 20) - 4096}};
  auto c = make(b);
  ASSERT_EQ(c->prepare_map(0, 64 << 20, true), 0);
  struct stat st;
  ASSERT_EQ(fstat(c->fd(), &st), 0);
  EXPECT_LE(st.st_blocks * 512, 64 * 1024);  // two pages of data, not 64 MiB
  char x;
  ASSERT_EQ(c->read((64 << 20) - 1, &x, 1), 1);
  EXPECT_EQ(x, 'z');
}

TEST(PageCache, StoresThroughASharedMappingAreWrittenBack) {
  MemBacking b;
  b.data.assign(5 * 4096, 'm');
  auto c = make(b);
  ASSERT_EQ(c->prepare_map(0, b.data.size(), true), 0);
  EXPECT_TRUE(c->mapped());
  void* m = mmap(nullptr, b.data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, c->fd(), 0);
  ASSERT_NE(m, MAP_FAILED);
  static_cast<char*>(m)[3 * 4096 + 7] = 'W';
  ASSERT_EQ(c->write_back(), 0);
  EXPECT_EQ(b.data[3 * 4096 + 7], 'W');
  EXPECT_EQ(b.stores, 1);  // only the changed page
  // A write() is seen by the mapping, and the next write-back stores nothing twice.
  ASSERT_EQ(c->write(10, "R", 1), 1);
  EXPECT_EQ(static_cast<char*>(m)[10], 'R');
  ASSERT_EQ(c->write_back(), 0);
  EXPECT_EQ(b.data[10], 'R');
  int stores = b.stores;
  ASSERT_EQ(c->write_back(), 0);
  EXPECT_EQ(b.stores, stores);
  munmap(m, b.data.size());
  EXPECT_EQ(c->drop(), 0u);  // mapped once: its pages stay
}

TEST(PageCache, DropWritesBackAndFrees) {
  MemBacking b;
  b.data.assign(1 << 20, 'd');
  auto c = make(b);
  ASSERT_EQ(c->write(0, "Q", 1), 1);
  EXPECT_GT(c->cached_bytes(), 0u);
  EXPECT_GT(c->drop(), 0u);
  EXPECT_EQ(c->cached_bytes(), 0u);
  EXPECT_EQ(b.data[0], 'Q');
  char x;
  ASSERT_EQ(c->read(0, &x, 1), 1);
  EXPECT_EQ(x, 'Q');
}

}  // namespace
}  // namespace um::kernel
