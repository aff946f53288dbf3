// The journal against crashes: a child process edits an image through ExtFs and is killed
// (SIGKILL) at a random moment; after each kill the image, replayed by ExtFs::open and by
// e2fsprogs' own e2fsck (two independent readers of the jbd2 format), must be consistent
// (e2fsck -fn clean) and hold every file the child had flushed.
#include "core/ext/journal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "core/ext/ext_fs.h"
#include "core/log.h"

namespace um::ext {
namespace {

namespace fsys = std::filesystem;

std::string run(const std::string& cmd, int* rc) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string text;
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) text += buf;
  int st = p ? pclose(p) : -1;
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return text;
}

std::string content(int i, size_t n) {
  std::string s(n, '\0');
  for (size_t k = 0; k < n; ++k) s[k] = char(i * 31 + k * 7 + (k >> 8));
  return s;
}

class JournalTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/journal_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    base_ = dir_ + "/base.img";
    if (GetParam() == "mke2fs") {
      // A Linux-style image: mke2fs's defaults (metadata_csum, 64bit: v3 journal checksums).
      int rc = 0;
      run("mke2fs -q -F -t ext4 -b 4096 " + base_ + " 32M", &rc);
      if (rc != 0) GTEST_SKIP() << "mke2fs not available";
    } else {
      CreateOptions o;
      o.size_bytes = 32 << 20;  // small: each kill copies it twice
      o.type = GetParam();
      auto r = ExtFs::create(base_, o);
      ASSERT_TRUE(r.ok()) << r.error().message;
    }
  }
  void TearDown() override { fsys::remove_all(dir_); }

  // In a child: creates files, flushing after each and reporting it on `fd`; churns others
  // without flushing. Never returns.
  [[noreturn]] static void workload(const std::string& img, int fd, unsigned seed) {
    auto r = ExtFs::open(img, ExtFs::Mode::ReadWrite);
    if (!r.ok()) _exit(3);
    auto& fs = **r;
    std::mt19937 rnd(seed);
    auto dir = fs.mkdir(fs.root(), "d" + std::to_string(seed), 0755, 0, 0);
    if (!dir.ok()) _exit(4);
    for (int i = 0;; ++i) {
      size_t n = 1 + rnd() % (i % 5 == 0 ? 300000 : 9000);
      std::string tmp = "t." + std::to_string(i), name = "f." + std::to_string(i);
      auto ino = fs.mknod(*dir, tmp, S_IFREG | 0644, 0, 0);
      if (!ino.ok()) _exit(5);
      std::string data = content(i, n);
      if (!fs.write(*ino, 0, data.data(), n).ok()) _exit(6);
      if (!fs.rename(*dir, tmp, *dir, name).ok()) _exit(7);
      if (!fs.flush().ok()) _exit(8);
      std::string line = name + " " + std::to_string(n) + "\n";
      if (write(fd, line.data(), line.size()) < 0) _exit(9);
      // Unflushed churn: scratch files written, renamed over each other, removed.
      std::string s = "s." + std::to_string(i % 4);
      auto si = fs.lookup(*dir, s);
      Ino sino = si.ok() ? *si : 0;
      if (!sino) {
        auto c = fs.mknod(*dir, s, S_IFREG | 0644, 0, 0);
        if (!c.ok()) {
          fprintf(stderr, "scratch %s: %s\n", s.c_str(), c.error().message.c_str());
          _exit(10);
        }
        sino = *c;
      }
      (void)fs.truncate(sino, 0);
      std::string junk = content(i + 7, rnd() % 70000);
      (void)fs.write(sino, 0, junk.data(), junk.size());
      if (i % 3 == 0) (void)fs.unlink(*dir, s);
      else if (i % 4 == 0) (void)fs.rename(*dir, s, *dir, "s." + std::to_string((i + 1) % 4));
    }
  }

  std::string dir_, base_;
};

TEST_P(JournalTest, SigkillAtRandomMomentsLosesNothingFlushed) {
  std::mt19937 rnd(12345);
  int kills = getenv("JOURNAL_KILLS") ? atoi(getenv("JOURNAL_KILLS")) : 6;
  int checked = 0, replayed = 0;
  for (int k = 0; k < kills; ++k) {
    std::string img = dir_ + "/run.img";
    fsys::copy_file(base_, img, fsys::copy_options::overwrite_existing);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(p[0]);
      workload(img, p[1], unsigned(k + 1));
    }
    close(p[1]);
    usleep(20000 + rnd() % 400000);
    kill(child, SIGKILL);
    int st = 0;
    waitpid(child, &st, 0);
    ASSERT_TRUE(WIFSIGNALED(st)) << "the workload stopped by itself with " << WEXITSTATUS(st);
    std::string flushed;
    char buf[4096];
    for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) flushed.append(buf, size_t(n));
    close(p[0]);

    // e2fsprogs replays the journal on a copy (as a mount would), then checks it.
    std::string copy = dir_ + "/copy.img";
    fsys::copy_file(img, copy, fsys::copy_options::overwrite_existing);
    int rc = 0;
    std::string out = run("e2fsck -fy -E journal_only " + copy, &rc);
    ASSERT_LE(rc, 1) << "kill " << k << ": e2fsck could not replay:\n" << out;
    if (out.find("recovering journal") != std::string::npos) ++replayed;
    out = run("e2fsck -fn " + copy, &rc);
    EXPECT_EQ(rc, 0) << "kill " << k << ": after e2fsprogs' replay:\n" << out;

    // ExtFs replays it too: read-only in memory (the image unchanged), then for good.
    auto verify = [&](ExtFs& fs) {
      auto dir = fs.lookup(fs.root(), "d" + std::to_string(k + 1));
      std::istringstream lines(flushed);
      std::string name;
      size_t n = 0;
      int files = 0;
      while (lines >> name >> n) {
        EXPECT_TRUE(dir.ok()) << "kill " << k << ": the directory is lost";
        if (!dir.ok()) return files;
        auto ino = fs.lookup(*dir, name);
        EXPECT_TRUE(ino.ok()) << "kill " << k << ": flushed file " << name << " lost";
        if (!ino.ok()) continue;
        std::string got(n + 1, '\0');
        auto rd = fs.read(*ino, 0, got.data(), n + 1);
        EXPECT_TRUE(rd.ok());
        got.resize(rd.ok() ? *rd : 0);
        EXPECT_EQ(got, content(std::stoi(name.substr(2)), n)) << "kill " << k << ": " << name << " damaged";
        ++files;
      }
      return files;
    };
    auto bytes = [](const std::string& f) {
      std::ifstream in(f, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    std::string before = bytes(img);
    {
      auto r = ExtFs::open(img, ExtFs::Mode::ReadOnly);
      ASSERT_TRUE(r.ok()) << r.error().message;
      verify(**r);
    }
    EXPECT_TRUE(bytes(img) == before) << "kill " << k << ": a read-only open changed the image";
    {
      auto r = ExtFs::open(img, ExtFs::Mode::ReadWrite);
      ASSERT_TRUE(r.ok()) << r.error().message;
      checked += verify(**r);
    }
    out = run("e2fsck -fn " + img, &rc);
    EXPECT_EQ(rc, 0) << "kill " << k << ": after ExtFs's replay:\n" << out;
  }
  EXPECT_GT(checked, kills) << "the workload did run";
  printf("kills: %d, journals replayed: %d, flushed files checked: %d\n", kills, replayed, checked);
}

TEST_P(JournalTest, InUseWhileOpenCleanWhenClosed) {
  std::string img = base_;
  {
    auto r = ExtFs::open(img, ExtFs::Mode::ReadWrite);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto ino = (*r)->mknod((*r)->root(), "hello", S_IFREG | 0644, 0, 0);
    ASSERT_TRUE(ino.ok());
    ASSERT_TRUE((*r)->write(*ino, 0, "world", 5).ok());
    ASSERT_TRUE((*r)->flush().ok());
    // While open, the image is in use: needs_recovery as Linux leaves a mounted ext4.
    int rc = 0;
    std::string out = run("dumpe2fs -h " + img, &rc);
    EXPECT_NE(out.find("needs_recovery"), std::string::npos) << out;
  }
  int rc = 0;
  std::string out = run("e2fsck -fn " + img, &rc);
  EXPECT_EQ(rc, 0) << out;
  out = run("dumpe2fs -h " + img, &rc);
  EXPECT_EQ(out.find("needs_recovery"), std::string::npos) << out;
}

std::vector<std::string> g_log;

TEST(JournalSmall, LargeWritesOnASmallJournalStayJournaled) {
  char tmpl[] = "/tmp/journal_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, img = dir + "/small.img";
  int rc = 0;
  run("mke2fs -q -F -t ext4 -b 1024 -J size=1 " + img + " 16M", &rc);
  if (rc != 0) GTEST_SKIP() << "mke2fs not available";
  g_log.clear();
  um::log::set_sink([](um::log::Level, const char* line) { g_log.emplace_back(line); });
  std::string data = content(3, 5 << 20);
  {
    auto r = ExtFs::open(img, ExtFs::Mode::ReadWrite);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto ino = (*r)->mknod((*r)->root(), "big", S_IFREG | 0644, 0, 0);
    ASSERT_TRUE(ino.ok());
    auto w = (*r)->write(*ino, 0, data.data(), data.size());
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_EQ(*w, data.size());
  }
  um::log::set_sink(nullptr);
  for (auto& l : g_log) EXPECT_EQ(l.find("without the journal"), std::string::npos) << l;
  std::string out = run("e2fsck -fn " + img, &rc);
  EXPECT_EQ(rc, 0) << out;
  auto r = ExtFs::open(img, ExtFs::Mode::ReadOnly);
  ASSERT_TRUE(r.ok());
  auto ino = (*r)->lookup((*r)->root(), "big");
  ASSERT_TRUE(ino.ok());
  std::string got(data.size(), '\0');
  auto rd = (*r)->read(*ino, 0, got.data(), got.size());
  ASSERT_TRUE(rd.ok());
  EXPECT_TRUE(got == data);
  fsys::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Images, JournalTest, ::testing::Values("ext4", "ext3", "mke2fs"));

}  // namespace
}  // namespace um::ext
