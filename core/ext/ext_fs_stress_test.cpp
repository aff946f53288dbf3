// Random operation sequences against a simple model; the image must stay e2fsck-clean and
// agree with the model (names, types, contents, link counts).
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "core/ext/ext_fs.h"

namespace um::ext {
namespace {

struct Node {
  bool dir = false;
  bool link = false;
  std::string data;
  std::map<std::string, Ino> kids;  // for dirs
};

class Stress : public ::testing::TestWithParam<std::string> {};

TEST_P(Stress, RandomOperationsStayConsistent) {
  char tmpl[] = "/tmp/ext_fs_stress.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string img = std::string(tmpl) + "/s.img";
  CreateOptions o;
  o.size_bytes = 32 << 20;
  o.type = GetParam();
  std::unique_ptr<ExtFs> fs;
  if (GetParam() == "ext4-inline") {
    // made by the system's mke2fs, with small files and directories stored in the inode
    std::string cmd = "mke2fs -q -F -t ext4 -O inline_data " + img + " 32M >/dev/null 2>&1";
    if (system(cmd.c_str()) != 0) GTEST_SKIP() << "mke2fs not available";
    fs = std::move(*ExtFs::open(img, ExtFs::Mode::ReadWrite));
  } else {
    fs = std::move(*ExtFs::create(img, o));
  }
  std::map<Ino, Node> model;  // inode -> node
  std::map<Ino, int> nlink;
  model[kRootIno].dir = true;
  std::mt19937 rng(1234);
  auto pick = [&](auto& m) { auto it = m.begin(); std::advance(it, rng() % m.size()); return it; };
  auto dirs = [&] {
    std::vector<Ino> v;
    for (auto& [i, n] : model) if (n.dir) v.push_back(i);
    return v;
  };
  auto name = [&] { return "n" + std::to_string(rng() % 40); };
  for (int step = 0; step < 3000; ++step) {
    auto ds = dirs();
    Ino d = ds[rng() % ds.size()];
    Node& dn = model[d];
    std::string nm = name();
    bool exists = dn.kids.count(nm);
    switch (rng() % 9) {
      case 0: {  // create file
        auto r = fs->mknod(d, nm, S_IFREG | 0644, 0, 0);
        ASSERT_EQ(r.ok(), !exists) << step;
        if (r.ok()) { dn.kids[nm] = *r; model[*r] = Node{}; nlink[*r] = 1; }
        break;
      }
      case 1: {  // mkdir
        auto r = fs->mkdir(d, nm, 0755, 0, 0);
        ASSERT_EQ(r.ok(), !exists) << step;
        if (r.ok()) { dn.kids[nm] = *r; model[*r].dir = true; }
        break;
      }
      case 2: {  // write somewhere in a file
        if (!exists || model[dn.kids[nm]].dir || model[dn.kids[nm]].link) break;
        Ino f = dn.kids[nm];
        size_t off = rng() % 20000, len = rng() % 9000;
        std::string bytes(len, char('a' + rng() % 26));
        ASSERT_EQ(*fs->write(f, off, bytes.data(), len), len);
        auto& data = model[f].data;
        if (len) { if (data.size() < off + len) data.resize(off + len, '\0'); data.replace(off, len, bytes); }
        break;
      }
      case 3: {  // truncate
        if (!exists || model[dn.kids[nm]].dir || model[dn.kids[nm]].link) break;
        Ino f = dn.kids[nm];
        size_t sz = rng() % 3 == 0 ? 0 : rng() % 30000;
        auto ts = fs->truncate(f, sz);
        ASSERT_TRUE(ts.ok()) << ts.error().message;
        model[f].data.resize(sz, '\0');
        break;
      }
      case 4: {  // unlink / rmdir
        if (!exists) break;
        Ino t = dn.kids[nm];
        if (model[t].dir) {
          bool empty = model[t].kids.empty();
          ASSERT_EQ(fs->rmdir(d, nm).ok(), empty) << step;
          if (empty) { dn.kids.erase(nm); model.erase(t); }
        } else {
          ASSERT_TRUE(fs->unlink(d, nm).ok());
          dn.kids.erase(nm);
          if (--nlink[t] == 0) model.erase(t);
        }
        break;
      }
      case 5: {  // hard link
        std::vector<Ino> files;
        for (auto& [i, n] : model) if (!n.dir && !n.link) files.push_back(i);
        if (files.empty()) break;
        Ino f = files[rng() % files.size()];
        ASSERT_EQ(fs->link(d, nm, f).ok(), !exists);
        if (!exists) { dn.kids[nm] = f; ++nlink[f]; }
        break;
      }
      case 6: case 7: {  // rename (plain, noreplace, exchange) between random dirs
        if (dn.kids.empty()) break;
        auto [src_name, src] = *pick(dn.kids);
        Ino d2 = ds[rng() % ds.size()];
        std::string nm2 = name();
        unsigned flags = rng() % 3 == 0 ? RENAME_NOREPLACE : rng() % 3 == 0 ? RENAME_EXCHANGE : 0;
        Status st = fs->rename(d, src_name, d2, nm2, flags);
        if (!st.ok()) break;  // the model only follows successful renames
        Node& dn2 = model[d2];
        auto it2 = dn2.kids.find(nm2);
        Ino dst = it2 == dn2.kids.end() ? 0 : it2->second;
        if (flags == RENAME_EXCHANGE) {
          dn.kids[src_name] = dst;
          dn2.kids[nm2] = src;
        } else if (dst != src) {
          model[d].kids.erase(src_name);
          model[d2].kids[nm2] = src;
          if (dst) {
            if (model[dst].dir) model.erase(dst);
            else if (--nlink[dst] == 0) model.erase(dst);
          }
        }
        break;
      }
      case 8: {  // symlink
        auto r = fs->symlink(d, nm, std::string(rng() % 100 + 1, 's'), 0, 0);
        ASSERT_EQ(r.ok(), !exists);
        if (r.ok()) { dn.kids[nm] = *r; model[*r] = Node{}; model[*r].link = true; nlink[*r] = 1; }
        break;
      }
    }
  }
  // Compare with the model.
  for (auto& [ino, n] : model) {
    auto a = fs->getattr(ino);
    ASSERT_TRUE(a.ok()) << ino;
    if (n.dir) {
      EXPECT_TRUE(S_ISDIR(a->mode));
      size_t subdirs = 0;
      std::set<std::string> names;
      ASSERT_TRUE(fs->readdir(ino, 0, [&](const DirEntry& e, uint64_t) {
        if (e.name != "." && e.name != "..") names.insert(std::string(e.name));
        return true;
      }).ok());
      if (ino == kRootIno) names.erase("lost+found"), subdirs = 1;
      std::set<std::string> want;
      for (auto& [k, v] : n.kids) { want.insert(k); if (model[v].dir) ++subdirs; }
      EXPECT_EQ(names, want) << ino;
      EXPECT_EQ(a->nlink, 2 + subdirs) << ino;
    } else if (S_ISREG(a->mode)) {
      std::string back(a->size, '\0');
      ASSERT_EQ(*fs->read(ino, 0, back.data(), back.size()), back.size());
      EXPECT_EQ(back == n.data, true) << ino;
      EXPECT_EQ(int(a->nlink), nlink[ino]);
    }
  }
  fs.reset();
  std::string cmd = "e2fsck -fn " + img + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  EXPECT_EQ(WEXITSTATUS(pclose(p)), 0) << out;
  std::filesystem::remove_all(tmpl);
}

INSTANTIATE_TEST_SUITE_P(Types, Stress, ::testing::Values("ext2", "ext4", "ext4-inline"));

}  // namespace
}  // namespace um::ext
