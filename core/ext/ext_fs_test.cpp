#include "core/ext/ext_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

namespace um::ext {
namespace {

namespace fsys = std::filesystem;

class ExtFsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ext_fs_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    img_ = dir_ + "/t.img";
    CreateOptions o;
    o.size_bytes = 64 << 20;
    o.type = GetParam();
    o.label = "testlabel";
    auto r = ExtFs::create(img_, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    fs_ = std::move(*r);
  }
  void TearDown() override {
    fs_.reset();
    fsys::remove_all(dir_);
  }
  void reopen() {
    fs_.reset();
    auto r = ExtFs::open(img_, ExtFs::Mode::ReadWrite);
    ASSERT_TRUE(r.ok()) << r.error().message;
    fs_ = std::move(*r);
  }
  // e2fsck -fn on the closed image; returns its exit status and output.
  int fsck(std::string* out = nullptr) {
    fs_.reset();
    std::string cmd = "e2fsck -fn " + img_ + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string text;
    char buf[512];
    while (p && fgets(buf, sizeof buf, p)) text += buf;
    int rc = p ? pclose(p) : -1;
    if (out) *out = text;
    return WEXITSTATUS(rc);
  }
  Ino must(Result<Ino> r) {
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : 0;
  }
  std::map<std::string, Ino> list(Ino dir) {
    std::map<std::string, Ino> m;
    auto st = fs_->readdir(dir, 0, [&](const DirEntry& e, uint64_t) {
      m[std::string(e.name)] = e.ino;
      return true;
    });
    EXPECT_TRUE(st.ok());
    return m;
  }
  std::string read_all(Ino ino) {
    auto a = fs_->getattr(ino);
    std::string s(a->size, '\0');
    auto n = fs_->read(ino, 0, s.data(), s.size());
    EXPECT_TRUE(n.ok());
    s.resize(n.ok() ? *n : 0);
    return s;
  }

  std::string dir_, img_;
  std::unique_ptr<ExtFs> fs_;
};

TEST_P(ExtFsTest, FreshImageIsCleanAndDescribed) {
  FsInfo i = fs_->info();
  EXPECT_EQ(i.type, GetParam());
  EXPECT_EQ(i.label, "testlabel");
  EXPECT_EQ(i.uuid.size(), 36u);
  auto root = fs_->getattr(fs_->root());
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(S_ISDIR(root->mode));
  EXPECT_EQ(root->nlink, 3u);  // ".", "..", lost+found/..
  EXPECT_TRUE(list(fs_->root()).count("lost+found"));
  struct stat st;
  ASSERT_EQ(stat(img_.c_str(), &st), 0);
  EXPECT_LT(uint64_t(st.st_blocks) * 512, uint64_t(st.st_size) / 2) << "image is not sparse";
  std::string out;
  EXPECT_EQ(fsck(&out), 0) << out;
}

TEST_P(ExtFsTest, FilesDirectoriesAndLinkCounts) {
  Ino d = must(fs_->mkdir(fs_->root(), "d", 0750, 1000, 100));
  EXPECT_EQ(fs_->getattr(fs_->root())->nlink, 4u);
  auto da = fs_->getattr(d);
  EXPECT_EQ(da->mode, S_IFDIR | 0750u);
  EXPECT_EQ(da->uid, 1000u);
  EXPECT_EQ(da->gid, 100u);
  EXPECT_EQ(da->nlink, 2u);
  EXPECT_EQ(fs_->mkdir(fs_->root(), "d", 0755, 0, 0).error().code, EEXIST);

  Ino f = must(fs_->mknod(d, "small", S_IFREG | 0644, 0, 0));
  EXPECT_EQ(*fs_->write(f, 0, "hello", 5), 5u);
  EXPECT_EQ(read_all(f), "hello");
  EXPECT_EQ(fs_->lookup(d, "small").value(), f);
  EXPECT_EQ(fs_->lookup(d, "nope").error().code, ENOENT);
  EXPECT_EQ(fs_->lookup(f, "x").error().code, ENOTDIR);

  // hard links
  ASSERT_TRUE(fs_->link(fs_->root(), "hard", f).ok());
  EXPECT_EQ(fs_->getattr(f)->nlink, 2u);
  EXPECT_EQ(fs_->link(fs_->root(), "dl", d).error().code, EPERM);
  ASSERT_TRUE(fs_->unlink(d, "small").ok());
  EXPECT_EQ(fs_->getattr(f)->nlink, 1u);
  EXPECT_EQ(read_all(f), "hello");

  // special files
  Ino fifo = must(fs_->mknod(d, "fifo", S_IFIFO | 0600, 0, 0));
  Ino dev = must(fs_->mknod(d, "dev", S_IFCHR | 0600, 0, 0, makedev(4, 1)));
  Ino bigdev = must(fs_->mknod(d, "bigdev", S_IFBLK | 0600, 0, 0, makedev(259, 70000)));
  EXPECT_TRUE(S_ISFIFO(fs_->getattr(fifo)->mode));
  EXPECT_EQ(fs_->getattr(dev)->rdev, makedev(4, 1));
  EXPECT_EQ(fs_->getattr(bigdev)->rdev, makedev(259, 70000));

  // rmdir
  EXPECT_EQ(fs_->rmdir(fs_->root(), "d").error().code, ENOTEMPTY);
  EXPECT_EQ(fs_->unlink(fs_->root(), "d").error().code, EISDIR);
  EXPECT_EQ(fs_->rmdir(fs_->root(), "hard").error().code, ENOTDIR);
  for (auto n : {"fifo", "dev", "bigdev"}) ASSERT_TRUE(fs_->unlink(d, n).ok());
  ASSERT_TRUE(fs_->rmdir(fs_->root(), "d").ok());
  EXPECT_EQ(fs_->getattr(fs_->root())->nlink, 3u);
  std::string out;
  EXPECT_EQ(fsck(&out), 0) << out;
}

TEST_P(ExtFsTest, BigFileRoundTripAndTruncate) {
  Ino f = must(fs_->mknod(fs_->root(), "big", S_IFREG | 0644, 0, 0));
  std::vector<char> data(20 << 20);
  std::mt19937 rng(42);
  for (auto& c : data) c = char(rng());
  // written in odd-sized pieces
  size_t off = 0;
  while (off < data.size()) {
    size_t n = std::min<size_t>(data.size() - off, 100003);
    ASSERT_EQ(*fs_->write(f, off, data.data() + off, n), n);
    off += n;
  }
  EXPECT_EQ(fs_->getattr(f)->size, data.size());
  reopen();
  std::vector<char> back(data.size());
  ASSERT_EQ(*fs_->read(f, 0, back.data(), back.size()), back.size());
  EXPECT_TRUE(back == data);
  char tail[10];
  EXPECT_EQ(*fs_->read(f, data.size() - 3, tail, 10), 3u);
  EXPECT_EQ(*fs_->read(f, data.size() + 5, tail, 10), 0u);

  // Truncate to the middle of a block, extend: the gap reads zeros.
  ASSERT_TRUE(fs_->truncate(f, 5000).ok());
  EXPECT_EQ(fs_->getattr(f)->size, 5000u);
  ASSERT_TRUE(fs_->truncate(f, 9000).ok());
  std::vector<char> part(9000);
  ASSERT_EQ(*fs_->read(f, 0, part.data(), part.size()), 9000u);
  EXPECT_TRUE(std::equal(part.begin(), part.begin() + 5000, data.begin()));
  EXPECT_TRUE(std::all_of(part.begin() + 5000, part.end(), [](char c) { return c == 0; }));

  // sparse write far out: a 64-bit offset
  uint64_t far = (uint64_t(5) << 30) + 7;
  ASSERT_EQ(*fs_->write(f, far, "x", 1), 1u);
  EXPECT_EQ(fs_->getattr(f)->size, far + 1);
  char c = 0;
  ASSERT_EQ(*fs_->read(f, far, &c, 1), 1u);
  EXPECT_EQ(c, 'x');
  std::string out;
  EXPECT_EQ(fsck(&out), 0) << out;
}

TEST_P(ExtFsTest, RenameCases) {
  Ino root = fs_->root();
  Ino a = must(fs_->mkdir(root, "a", 0755, 0, 0));
  Ino b = must(fs_->mkdir(root, "b", 0755, 0, 0));
  Ino f = must(fs_->mknod(a, "f", S_IFREG | 0644, 0, 0));
  Ino g = must(fs_->mknod(b, "g", S_IFREG | 0644, 0, 0));
  ASSERT_TRUE(fs_->write(f, 0, "F", 1).ok());

  // file across directories, replacing a file
  ASSERT_TRUE(fs_->rename(a, "f", b, "g").ok());
  EXPECT_EQ(fs_->lookup(b, "g").value(), f);
  EXPECT_EQ(fs_->lookup(a, "f").error().code, ENOENT);
  EXPECT_EQ(fs_->getattr(g).error().code, ESTALE);  // freed

  // NOREPLACE / EXCHANGE
  Ino h = must(fs_->mknod(a, "h", S_IFREG | 0644, 0, 0));
  EXPECT_EQ(fs_->rename(a, "h", b, "g", RENAME_NOREPLACE).error().code, EEXIST);
  ASSERT_TRUE(fs_->rename(a, "h", b, "g", RENAME_EXCHANGE).ok());
  EXPECT_EQ(fs_->lookup(b, "g").value(), h);
  EXPECT_EQ(fs_->lookup(a, "h").value(), f);
  EXPECT_EQ(fs_->rename(a, "h", b, "missing", RENAME_EXCHANGE).error().code, ENOENT);

  // directory moves keep link counts right
  Ino sub = must(fs_->mkdir(a, "sub", 0755, 0, 0));
  EXPECT_EQ(fs_->getattr(a)->nlink, 3u);
  ASSERT_TRUE(fs_->rename(a, "sub", b, "sub").ok());
  EXPECT_EQ(fs_->getattr(a)->nlink, 2u);
  EXPECT_EQ(fs_->getattr(b)->nlink, 3u);
  EXPECT_EQ(fs_->lookup(sub, "..").value(), b);
  // into itself
  EXPECT_EQ(fs_->rename(root, "b", sub, "x").error().code, EINVAL);
  // dir over non-empty dir / file over dir / dir over file
  Ino e = must(fs_->mkdir(root, "e", 0755, 0, 0));
  must(fs_->mknod(e, "x", S_IFREG | 0644, 0, 0));
  EXPECT_EQ(fs_->rename(root, "a", root, "e").error().code, ENOTEMPTY);
  EXPECT_EQ(fs_->rename(b, "g", root, "e").error().code, EISDIR);
  EXPECT_EQ(fs_->rename(root, "a", b, "g").error().code, ENOTDIR);
  // dir over empty dir in another parent
  Ino empty = must(fs_->mkdir(b, "empty", 0755, 0, 0));
  EXPECT_EQ(fs_->getattr(b)->nlink, 4u);
  ASSERT_TRUE(fs_->rename(root, "e", b, "empty").ok());
  EXPECT_EQ(fs_->getattr(empty).error().code, ESTALE);
  EXPECT_EQ(fs_->getattr(b)->nlink, 4u);
  EXPECT_EQ(fs_->getattr(root)->nlink, 5u);  // lost+found a b + . ..
  // exchange a directory with a file across parents
  ASSERT_TRUE(fs_->rename(root, "a", b, "g", RENAME_EXCHANGE).ok());
  EXPECT_EQ(fs_->lookup(a, "..").value(), b);
  EXPECT_EQ(fs_->getattr(b)->nlink, 5u);
  EXPECT_EQ(fs_->getattr(root)->nlink, 4u);
  // same inode: no-op
  ASSERT_TRUE(fs_->link(b, "g2", fs_->lookup(root, "a").value()).ok());
  ASSERT_TRUE(fs_->rename(root, "a", b, "g2").ok());
  EXPECT_TRUE(fs_->lookup(root, "a").ok());
  std::string out;
  EXPECT_EQ(fsck(&out), 0) << out;
}

TEST_P(ExtFsTest, UnlinkWhileOpenDefersFreeing) {
  Ino f = must(fs_->mknod(fs_->root(), "f", S_IFREG | 0644, 0, 0));
  std::string data(100000, 'z');
  ASSERT_TRUE(fs_->write(f, 0, data.data(), data.size()).ok());
  auto before = fs_->info().blocks_free;
  fs_->open_ref(f);
  ASSERT_TRUE(fs_->unlink(fs_->root(), "f").ok());
  EXPECT_EQ(fs_->getattr(f)->nlink, 0u);
  EXPECT_EQ(read_all(f), data);
  ASSERT_TRUE(fs_->write(f, 0, "y", 1).ok());
  EXPECT_EQ(fs_->info().blocks_free, before);
  fs_->close_ref(f);
  EXPECT_GT(fs_->info().blocks_free, before);
  EXPECT_EQ(fs_->getattr(f).error().code, ESTALE);
  // still open at close: freed then
  Ino g = must(fs_->mknod(fs_->root(), "g", S_IFREG | 0644, 0, 0));
  fs_->open_ref(g);
  ASSERT_TRUE(fs_->unlink(fs_->root(), "g").ok());
  std::string out;
  EXPECT_EQ(fsck(&out), 0) << out;
}

TEST_P(ExtFsTest, ReaddirCookiesResume) {
  Ino d = must(fs_->mkdir(fs_->root(), "many", 0755, 0, 0));
  for (int i = 0; i < 500; ++i)
    must(fs_->mknod(d, "file-with-a-longish-name-" + std::to_string(i), S_IFREG | 0644, 0, 0));
  std::map<std::string, uint8_t> seen;
  uint64_t pos = 0;
  for (int rounds = 0; rounds < 1000; ++rounds) {
    int n = 0;
    bool more = false;
    ASSERT_TRUE(fs_->readdir(d, pos, [&](const DirEntry& e, uint64_t next) {
                     if (n == 7) {
                       more = true;
                       return false;
                     }
                     EXPECT_FALSE(seen.count(std::string(e.name))) << e.name;
                     seen[std::string(e.name)] = e.type;
                     pos = next;
                     ++n;
                     return true;
                   }).ok());
    if (!more) break;
  }
  EXPECT_EQ(seen.size(), 502u);
  EXPECT_EQ(seen["."], DT_DIR);
  EXPECT_EQ(seen[".."], DT_DIR);
  EXPECT_EQ(seen["file-with-a-longish-name-499"], DT_REG);
  EXPECT_GT(fs_->getattr(d)->size, 4096u);
  std::string out;
  EXPECT_EQ(fsck(&out), 0) << out;
}

TEST_P(ExtFsTest, XattrsAndSymlinksAndTimes) {
  Ino f = must(fs_->mknod(fs_->root(), "f", S_IFREG | 0644, 0, 0));
  EXPECT_EQ(fs_->getxattr(f, "user.a").error().code, ENODATA);
  ASSERT_TRUE(fs_->setxattr(f, "user.a", "1").ok());
  ASSERT_TRUE(fs_->setxattr(f, "user.big", std::string(2000, 'b')).ok());
  EXPECT_EQ(fs_->setxattr(f, "user.a", "2", XATTR_CREATE).error().code, EEXIST);
  EXPECT_EQ(fs_->setxattr(f, "user.zz", "2", XATTR_REPLACE).error().code, ENODATA);
  EXPECT_EQ(fs_->getxattr(f, "user.a").value(), "1");
  EXPECT_EQ(fs_->getxattr(f, "user.big").value(), std::string(2000, 'b'));
  auto names = fs_->listxattr(f).value();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"user.a", "user.big"}));
  ASSERT_TRUE(fs_->removexattr(f, "user.a").ok());
  EXPECT_EQ(fs_->removexattr(f, "user.a").error().code, ENODATA);

  Ino fast = must(fs_->symlink(fs_->root(), "fast", "target/x", 5, 6));
  std::string longt(300, 'L');
  Ino slow = must(fs_->symlink(fs_->root(), "slow", longt, 0, 0));
  EXPECT_EQ(fs_->readlink(fast).value(), "target/x");
  EXPECT_EQ(fs_->readlink(slow).value(), longt);
  EXPECT_TRUE(S_ISLNK(fs_->getattr(slow)->mode));
  EXPECT_EQ(fs_->getattr(fast)->uid, 5u);
  EXPECT_EQ(fs_->readlink(f).error().code, EINVAL);

  SetAttr sa;
  sa.mode = 04711;
  sa.uid = 70000;
  sa.gid = 80000;
  sa.mtime = timespec{1700000000, 123456789};
  sa.atime = timespec{(int64_t(1) << 32) + 5, 42};  // past 2106
  ASSERT_TRUE(fs_->setattr(f, sa).ok());
  reopen();
  auto a = fs_->getattr(f).value();
  EXPECT_EQ(a.mode, S_IFREG | 04711u);
  EXPECT_EQ(a.uid, 70000u);
  EXPECT_EQ(a.gid, 80000u);
  EXPECT_EQ(a.mtime.tv_sec, 1700000000);
  EXPECT_EQ(a.mtime.tv_nsec, 123456789);
  if (GetParam() != "ext2") {
    EXPECT_EQ(a.atime.tv_sec, (int64_t(1) << 32) + 5);
  }
  EXPECT_EQ(fs_->getxattr(f, "user.big").value(), std::string(2000, 'b'));
  std::string out;
  EXPECT_EQ(fsck(&out), 0) << out;
}

TEST_P(ExtFsTest, ErrorsAndReadOnly) {
  EXPECT_EQ(fs_->mknod(fs_->root(), std::string(256, 'n'), S_IFREG, 0, 0).error().code,
            ENAMETOOLONG);
  EXPECT_EQ(fs_->getattr(999999999).error().code, ESTALE);
  Ino f = must(fs_->mknod(fs_->root(), "f", S_IFREG | 0644, 0, 0));
  fs_.reset();
  auto ro = ExtFs::open(img_, ExtFs::Mode::ReadOnly);
  ASSERT_TRUE(ro.ok());
  EXPECT_TRUE((*ro)->read_only());
  EXPECT_EQ((*ro)->write(f, 0, "x", 1).error().code, EROFS);
  EXPECT_EQ((*ro)->mkdir(kRootIno, "x", 0755, 0, 0).error().code, EROFS);
}

TEST_P(ExtFsTest, FullImageGivesEnospc) {
  Ino f = must(fs_->mknod(fs_->root(), "fill", S_IFREG | 0644, 0, 0));
  std::vector<char> chunk(1 << 20, 'q');
  uint64_t off = 0;
  int code = 0;
  bool short_write = false;
  for (int i = 0; i < 200; ++i) {
    auto r = fs_->write(f, off, chunk.data(), chunk.size());
    if (!r.ok()) {
      code = r.error().code;
      break;
    }
    if (*r < chunk.size()) short_write = true;
    off += *r;
  }
  EXPECT_EQ(code, ENOSPC);
  EXPECT_TRUE(short_write);  // the last write that got anything in reports a short count
  EXPECT_EQ(fs_->getattr(f)->size, off);
  std::vector<char> back(off);
  ASSERT_EQ(*fs_->read(f, 0, back.data(), back.size()), off);
  EXPECT_TRUE(std::all_of(back.begin(), back.end(), [](char c) { return c == 'q'; }));
  reopen();
  auto st = fs_->unlink(fs_->root(), "fill");
  ASSERT_TRUE(st.ok()) << st.error().message;
  std::string out;
  EXPECT_EQ(fsck(&out), 0) << out;
}

INSTANTIATE_TEST_SUITE_P(Types, ExtFsTest, ::testing::Values("ext2", "ext3", "ext4"));

TEST(ExtFsOpen, RejectsGarbageAndMissing) {
  char tmpl[] = "/tmp/ext_fs_open.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string d = tmpl;
  EXPECT_EQ(ExtFs::open(d + "/missing", ExtFs::Mode::ReadOnly).error().code, ENOENT);
  std::string junk = d + "/junk";
  FILE* f = fopen(junk.c_str(), "w");
  std::mt19937 rng(1);
  for (int i = 0; i < 1 << 20; ++i) fputc(int(rng() & 0xff), f);
  fclose(f);
  auto r = ExtFs::open(junk, ExtFs::Mode::ReadOnly);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not an ext2/3/4 image"), std::string::npos) << r.error().message;
  EXPECT_EQ(ExtFs::open(d, ExtFs::Mode::ReadOnly).error().code, EISDIR);
  CreateOptions o;
  o.size_bytes = 16 << 20;
  ASSERT_TRUE(ExtFs::create(d + "/x.img", o).ok());
  EXPECT_EQ(ExtFs::create(d + "/x.img", o).error().code, EEXIST);
  // truncated image
  ASSERT_EQ(truncate((d + "/x.img").c_str(), 4 << 20), 0);
  r = ExtFs::open(d + "/x.img", ExtFs::Mode::ReadOnly);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  std::filesystem::remove_all(d);
}

// UML's host locks: one writer or many readers per image, whoever opens it (another ExtFs,
// a UML kernel's F_SETLK); HostLock::None takes none.
TEST(ExtFsOpen, TakesUmlHostLocks) {
  char tmpl[] = "/tmp/ext_fs_lock.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string d = tmpl, img = d + "/l.img";
  CreateOptions o;
  o.size_bytes = 16 << 20;
  ASSERT_TRUE(ExtFs::create(img, o).ok());
  {
    auto w = ExtFs::open(img, ExtFs::Mode::ReadWrite);
    ASSERT_TRUE(w.ok()) << w.error().message;
    for (auto mode : {ExtFs::Mode::ReadWrite, ExtFs::Mode::ReadOnly}) {
      auto again = ExtFs::open(img, mode);
      ASSERT_FALSE(again.ok());
      EXPECT_EQ(again.error().code, EAGAIN);
      EXPECT_NE(again.error().message.find(img + " is locked by pid " + std::to_string(getpid())),
                std::string::npos) << again.error().message;
    }
    // A process-associated fcntl lock, as UML takes, is refused too.
    int fd = ::open(img.c_str(), O_RDONLY);
    struct flock fl {};
    fl.l_type = F_RDLCK;
    fl.l_whence = SEEK_SET;
    EXPECT_EQ(fcntl(fd, F_SETLK, &fl), -1);
    ::close(fd);
    EXPECT_TRUE(ExtFs::open(img, ExtFs::Mode::ReadOnly, ExtFs::HostLock::None).ok());
  }
  {
    auto r1 = ExtFs::open(img, ExtFs::Mode::ReadOnly);
    auto r2 = ExtFs::open(img, ExtFs::Mode::ReadOnly);
    EXPECT_TRUE(r1.ok() && r2.ok());
    EXPECT_FALSE(ExtFs::open(img, ExtFs::Mode::ReadWrite).ok());
  }
  EXPECT_TRUE(ExtFs::open(img, ExtFs::Mode::ReadWrite).ok());  // all released on close
  std::filesystem::remove_all(d);
}

}  // namespace
}  // namespace um::ext

namespace um::ext {
namespace {

// Images made by the system's mke2fs (default ext4 features, and inline_data) work too.
class ForeignImage : public ::testing::TestWithParam<std::string> {};

TEST_P(ForeignImage, EditsStayClean) {
  char tmpl[] = "/tmp/ext_fs_foreign.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string img = std::string(tmpl) + "/m.img";
  std::string cmd = "mke2fs -q -F -t ext4 " + GetParam() + " " + img + " 32M >/dev/null 2>&1";
  if (system(cmd.c_str()) != 0) GTEST_SKIP() << "mke2fs not available";
  {
    auto r = ExtFs::open(img, ExtFs::Mode::ReadWrite);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto& fs = **r;
    auto d = fs.mkdir(kRootIno, "d", 0755, 0, 0);
    ASSERT_TRUE(d.ok()) << d.error().message;
    for (int i = 0; i < 50; ++i) {
      auto f = fs.mknod(*d, "f" + std::to_string(i), S_IFREG | 0644, 0, 0);
      ASSERT_TRUE(f.ok()) << f.error().message;
      std::string data(size_t(i) * 97, char('a' + i % 26));
      ASSERT_TRUE(fs.write(*f, 0, data.data(), data.size()).ok());
      std::string back(data.size(), '\0');
      ASSERT_EQ(*fs.read(*f, 0, back.data(), back.size()), data.size());
      EXPECT_EQ(back, data);
    }
    ASSERT_TRUE(fs.symlink(*d, "s", "f1", 0, 0).ok());
    ASSERT_TRUE(fs.unlink(*d, "f3").ok());
    ASSERT_TRUE(fs.rename(*d, "f4", kRootIno, "moved").ok());
    auto f5 = fs.lookup(*d, "f5").value();
    ASSERT_TRUE(fs.truncate(f5, 0).ok());
    ASSERT_TRUE(fs.truncate(f5, 10000).ok());
    // a small (inline, where enabled) file shrunk and grown past the inline area
    auto t = fs.mknod(kRootIno, "tiny", S_IFREG | 0644, 0, 0).value();
    ASSERT_TRUE(fs.write(t, 0, "0123456789", 10).ok());
    ASSERT_TRUE(fs.truncate(t, 5).ok());
    auto st = fs.truncate(t, 5000);
    ASSERT_TRUE(st.ok()) << st.error().message;
    std::string back(5000, 'x');
    ASSERT_EQ(*fs.read(t, 0, back.data(), back.size()), 5000u);
    EXPECT_EQ(back.substr(0, 5), "01234");
    EXPECT_EQ(back.find_first_not_of('\0', 5), std::string::npos);
    ASSERT_TRUE(fs.write(t, 7000, "end", 3).ok());
    EXPECT_EQ(fs.getattr(t)->size, 7003u);
  }
  cmd = "e2fsck -fn " + img + " >/dev/null 2>&1";
  EXPECT_EQ(system(cmd.c_str()), 0) << "e2fsck found errors in " << img;
  std::filesystem::remove_all(tmpl);
}

INSTANTIATE_TEST_SUITE_P(Mke2fs, ForeignImage,
                         ::testing::Values("", "-O inline_data", "-O ^has_journal,^metadata_csum"));

}  // namespace
}  // namespace um::ext
