// Path resolution on a tmpfs tree: components, "." and "..", the root as a ceiling, symlinks
// (relative, absolute, loops), trailing slashes, mount crossings and search permission.
#include "umkernel/vfs/namei.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>

#include "umkernel/kernel/kernel.h"
#include "umkernel/vfs/tmpfs.h"

namespace um::kernel {
namespace {

struct NameiTest : ::testing::Test {
  Kernel k;
  std::shared_ptr<Process> proc = std::make_shared<Process>();
  Task t{1, nullptr, proc};
  std::shared_ptr<Mount> root = make_tmpfs(1, 0, 0755);

  void SetUp() override {
    proc->pid = 1;
    proc->fds = std::make_shared<FdTable>();
    proc->fs = std::make_shared<FsContext>();
    PathRef r{root, root->root, "/"};
    proc->fs->root = r;
    proc->fs->cwd = r;
    k.mounts().push_back(root);
    // /a/b/file, /a/up -> .., /abs -> /a/b, /loop1 <-> /loop2, /a/dangling -> nowhere
    mkdir("/", "a");
    mkdir("/a", "b");
    InodePtr b = at("/a/b");
    InodePtr file;
    ASSERT_EQ(b->mknod("file", S_IFREG | 0644, 0, 0, 0, file), 0);
    symlink("/a", "up", "..");
    symlink("/", "abs", "/a/b");
    symlink("/", "loop1", "loop2");
    symlink("/", "loop2", "loop1");
    symlink("/a", "dangling", "nowhere");
  }

  InodePtr at(const std::string& path) {
    PathRef out;
    EXPECT_EQ(resolve(t, AT_FDCWD, path, kFollow, out), 0) << path;
    return out.inode;
  }
  void mkdir(const std::string& dir, const std::string& name, uint32_t mode = 0755) {
    ASSERT_EQ(at(dir)->mkdir(name, S_IFDIR | mode, 0, 0), 0);
  }
  void symlink(const std::string& dir, const std::string& name, const std::string& target) {
    ASSERT_EQ(at(dir)->symlink(name, target, 0, 0), 0);
  }
  static uint32_t mode_of(const InodePtr& i) {
    Stat st;
    EXPECT_EQ(i->getattr(st), 0);
    return st.mode;
  }
  int64_t lookup(const std::string& path, int flags, PathRef* out = nullptr) {
    PathRef r;
    int64_t rc = resolve(t, AT_FDCWD, path, flags, r);
    if (out) *out = r;
    return rc;
  }
};

TEST_F(NameiTest, ComponentsDotsAndRepeatedSlashes) {
  PathRef r;
  ASSERT_EQ(lookup("/a/./b//file", kFollow, &r), 0);
  EXPECT_EQ(r.inode, at("/a/b/file"));
  EXPECT_EQ(r.path, "/a/b/file");
  ASSERT_EQ(lookup("a/b/../b/file", kFollow, &r), 0);  // relative to the cwd (/)
  EXPECT_EQ(r.inode, at("/a/b/file"));
}

TEST_F(NameiTest, TheRootIsACeiling) {
  PathRef r;
  ASSERT_EQ(lookup("/../../a", kFollow, &r), 0);
  EXPECT_EQ(r.inode, at("/a"));
  // A chroot-like root: ".." above it stays in it.
  proc->fs->root = PathRef{root, at("/a"), "/"};
  ASSERT_EQ(lookup("/../b", kFollow, &r), 0);
  EXPECT_EQ(r.inode, at("/b"));
}

TEST_F(NameiTest, MissingAndNotADirectory) {
  EXPECT_EQ(lookup("/a/missing", kFollow), -ENOENT);
  EXPECT_EQ(lookup("/a/missing/x", kFollow), -ENOENT);
  EXPECT_EQ(lookup("/a/b/file/x", kFollow), -ENOTDIR);
  EXPECT_EQ(lookup("/a/b/file/", kFollow), -ENOTDIR);  // a trailing slash asks for a directory
  EXPECT_EQ(lookup("/a/b/file", kFollow | kMustBeDir), -ENOTDIR);
  EXPECT_EQ(lookup("", kFollow), -ENOENT);
}

TEST_F(NameiTest, SymlinksRelativeAbsoluteAndTheLastComponent) {
  PathRef r;
  ASSERT_EQ(lookup("/a/up/a/b/file", kFollow, &r), 0);  // up -> .. (relative to /a)
  EXPECT_EQ(r.inode, at("/a/b/file"));
  ASSERT_EQ(lookup("/abs/file", kFollow, &r), 0);
  EXPECT_EQ(r.inode, at("/a/b/file"));
  ASSERT_EQ(lookup("/abs", 0, &r), 0);  // not followed when last without kFollow
  EXPECT_TRUE(S_ISLNK(mode_of(r.inode)));
  ASSERT_EQ(lookup("/abs/", 0, &r), 0);  // but a trailing slash follows it
  EXPECT_TRUE(S_ISDIR(mode_of(r.inode)));
  EXPECT_EQ(lookup("/a/dangling", kFollow), -ENOENT);
  EXPECT_EQ(lookup("/a/dangling", 0), 0);
}

TEST_F(NameiTest, SymlinkLoopsEndWithEloop) {
  EXPECT_EQ(lookup("/loop1", kFollow), -ELOOP);
  EXPECT_EQ(lookup("/loop1/x", 0), -ELOOP);
  // A long chain: 40 links resolve, the 41st does not (Linux's MAXSYMLINKS).
  for (int i = 1; i <= 41; i++) symlink("/", "c" + std::to_string(i), i == 41 ? "a" : "c" + std::to_string(i + 1));
  EXPECT_EQ(lookup("/c2", kFollow), 0);
  EXPECT_EQ(lookup("/c1", kFollow), -ELOOP);
}

TEST_F(NameiTest, LongNames) {
  EXPECT_EQ(lookup("/" + std::string(256, 'x'), kFollow), -ENAMETOOLONG);
  EXPECT_EQ(lookup("/" + std::string(255, 'x'), kFollow), -ENOENT);
}

TEST_F(NameiTest, MountsAreCrossedBothWays) {
  mkdir("/", "mnt");
  auto sub = make_tmpfs(2, 0, 0755);
  sub->parent = root;
  sub->mountpoint = at("/mnt");
  sub->path = "/mnt";
  k.mounts().push_back(sub);
  ASSERT_EQ(sub->root->mkdir("inside", S_IFDIR | 0755, 0, 0), 0);
  PathRef r;
  ASSERT_EQ(lookup("/mnt/inside", kFollow, &r), 0);
  EXPECT_EQ(r.mnt, sub);
  ASSERT_EQ(lookup("/mnt/inside/../..", kFollow, &r), 0);  // ".." at the mount's root leaves it
  EXPECT_EQ(r.mnt, root);
  EXPECT_EQ(r.inode, root->root);
}

TEST_F(NameiTest, SearchPermissionOnEveryDirectory) {
  mkdir("/", "private", 0700);
  ASSERT_EQ(at("/private")->mkdir("x", S_IFDIR | 0755, 0, 0), 0);
  proc->cred.uid = proc->cred.euid = proc->cred.fsuid = 1000;
  proc->cred.gid = proc->cred.egid = proc->cred.fsgid = 1000;
  proc->cred.cap_effective = proc->cred.cap_permitted = 0;
  EXPECT_EQ(lookup("/private/x", kFollow), -EACCES);
  EXPECT_EQ(lookup("/private", kFollow), 0);  // the last component needs no search right
  PathRef p;
  std::string last;
  EXPECT_EQ(resolve_parent(t, AT_FDCWD, "/private/x/new", p, last), -EACCES);
}

TEST_F(NameiTest, ResolveParentGivesTheLastComponent) {
  PathRef p;
  std::string last;
  bool slash = false;
  ASSERT_EQ(resolve_parent(t, AT_FDCWD, "/a/b/newname/", p, last, &slash), 0);
  EXPECT_EQ(p.inode, at("/a/b"));
  EXPECT_EQ(last, "newname");
  EXPECT_TRUE(slash);
  ASSERT_EQ(resolve_parent(t, AT_FDCWD, "/", p, last), 0);
  EXPECT_EQ(last, "");
}

}  // namespace
}  // namespace um::kernel
