#include "umimage/image_path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace um::image {
namespace {

TEST(ImagePath, ResolvesInsideTheImageWithSymlinks) {
  char tmpl[] = "/tmp/image_path_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  ext::CreateOptions o;
  o.size_bytes = 16 << 20;
  o.type = "ext2";
  auto fs = std::move(*ext::ExtFs::create(std::string(tmpl) + "/p.img", o));
  auto c = mkdir_p(*fs, "/a/b/c", 0755, 0, 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(mkdir_p(*fs, "a/b/c/", 0755, 0, 0).value(), *c);  // existing: fine
  auto b = resolve(*fs, "/a/b").value();
  ASSERT_TRUE(fs->symlink(fs->root(), "abs", "/a/b", 0, 0).ok());
  ASSERT_TRUE(fs->symlink(b, "up", "../..", 0, 0).ok());
  ASSERT_TRUE(fs->symlink(fs->root(), "loop", "loop", 0, 0).ok());
  auto f = fs->mknod(*c, "file", S_IFREG | 0644, 0, 0).value();
  EXPECT_EQ(resolve(*fs, "abs/c/file").value(), f);
  EXPECT_EQ(resolve(*fs, "/abs/up/a/b/c/./file").value(), f);
  EXPECT_EQ(resolve(*fs, "/a/b/c/file/x").error().code, ENOTDIR);
  EXPECT_EQ(resolve(*fs, "/nope").error().code, ENOENT);
  EXPECT_EQ(resolve(*fs, "/loop", true).error().code, ELOOP);
  EXPECT_NE(resolve(*fs, "/loop", false).value(), fs->root());
  auto p = resolve_parent(*fs, "/abs/c/new").value();
  EXPECT_EQ(p.dir, *c);
  EXPECT_EQ(p.name, "new");
  EXPECT_EQ(resolve_parent(*fs, "/").error().code, EINVAL);
  EXPECT_EQ(mkdir_p(*fs, "/a/b/c/file/z", 0755, 0, 0).error().code, ENOTDIR);
  ASSERT_TRUE(remove_tree(*fs, fs->root(), "a").ok());
  EXPECT_EQ(resolve(*fs, "/a").error().code, ENOENT);
  EXPECT_EQ(mode_string(S_IFDIR | 01777), "drwxrwxrwt");
  EXPECT_EQ(mode_string(S_IFREG | 04755), "-rwsr-xr-x");
  fs.reset();
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace um::image
