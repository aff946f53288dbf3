#include "umimage/tree_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "umimage/image_path.h"

namespace um::image {
namespace {

class TreeWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tree_writer_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ext::CreateOptions o;
    o.size_bytes = 16 << 20;
    o.type = "ext2";
    auto r = ext::ExtFs::create(dir_ + "/t.img", o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    fs_ = std::move(*r);
  }
  void TearDown() override {
    fs_.reset();
    std::filesystem::remove_all(dir_);
  }
  EntryMeta meta(uint32_t mode) {
    EntryMeta m;
    m.mode = mode;
    m.uid = 7;
    m.gid = 8;
    m.mtime = m.atime = m.ctime = timespec{1000000000, 5};
    return m;
  }
  std::string dir_;
  std::unique_ptr<ext::ExtFs> fs_;
};

// A reader that produces `n` bytes of 'x'.
DataReader bytes(uint64_t n) {
  auto left = std::make_shared<uint64_t>(n);
  return [left](char* buf, size_t len) -> Result<size_t> {
    size_t k = std::min<uint64_t>(len, *left);
    memset(buf, 'x', k);
    *left -= k;
    return k;
  };
}

TEST_F(TreeWriterTest, MakesParentsKeepsMetaAndDirTimes) {
  TreeWriter w(*fs_, fs_->root());
  ASSERT_TRUE(w.add("a/b/c.txt", meta(S_IFREG | 0640), bytes(10000)).ok());
  ASSERT_TRUE(w.add("a", meta(S_IFDIR | 0700)).ok());
  ASSERT_TRUE(w.add_hardlink("a/h", "a/b/c.txt").ok());
  ASSERT_TRUE(w.add("a/s", meta(S_IFLNK | 0777), {}, "b/c.txt").ok());
  ASSERT_TRUE(w.finish().ok());
  auto ino = resolve(*fs_, "/a/s", true);
  ASSERT_TRUE(ino.ok());
  auto at = fs_->getattr(*ino).value();
  EXPECT_EQ(at.size, 10000u);
  EXPECT_EQ(at.mode, S_IFREG | 0640u);
  EXPECT_EQ(at.uid, 7u);
  EXPECT_EQ(at.nlink, 2u);
  EXPECT_EQ(at.mtime.tv_sec, 1000000000);
  auto a = fs_->getattr(resolve(*fs_, "/a").value()).value();
  EXPECT_EQ(a.mode, S_IFDIR | 0700u);
  EXPECT_EQ(a.mtime.tv_sec, 1000000000);  // set after its children were added
  EXPECT_EQ(TreeWriter::clean_relative("./x/../y").error().code, EINVAL);
  EXPECT_EQ(TreeWriter::clean_relative("/./x//y/").value(), "x/y");
}

TEST_F(TreeWriterTest, EnospcMidFileRemovesThePartialFile) {
  TreeWriter w(*fs_, fs_->root());
  auto before = fs_->info();
  auto st = w.add("huge", meta(S_IFREG | 0644), bytes(64 << 20));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ENOSPC);
  EXPECT_EQ(fs_->lookup(fs_->root(), "huge").error().code, ENOENT);
  auto after = fs_->info();
  EXPECT_EQ(after.blocks_free, before.blocks_free);
  EXPECT_EQ(after.inodes_free, before.inodes_free);
  fs_.reset();
  std::string cmd = "e2fsck -fn " + dir_ + "/t.img >/dev/null 2>&1";
  EXPECT_EQ(system(cmd.c_str()), 0);
}

TEST_F(TreeWriterTest, ReplacesFilesButNotDirectories) {
  TreeWriter w(*fs_, fs_->root());
  ASSERT_TRUE(w.add("f", meta(S_IFREG | 0644), bytes(3)).ok());
  ASSERT_TRUE(w.add("f", meta(S_IFREG | 0644), bytes(5)).ok());
  EXPECT_EQ(fs_->getattr(resolve(*fs_, "f").value())->size, 5u);
  ASSERT_TRUE(w.add("d", meta(S_IFDIR | 0755)).ok());
  EXPECT_EQ(w.add("d", meta(S_IFREG | 0644), bytes(1)).error().code, EEXIST);
}

}  // namespace
}  // namespace um::image
