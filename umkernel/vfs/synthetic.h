// Building blocks for in-memory file systems (devfs, procfs): directories whose entries are
// fixed or computed, files whose content is generated when opened, and symlinks.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "umkernel/kernel/wait_queue.h"
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

class SyntheticSuperBlock : public SuperBlock {
 public:
  SyntheticSuperBlock(std::string type, uint64_t dev, uint32_t magic) : type_(std::move(type)), magic_(magic) { dev_id = dev; }
  std::string type() const override { return type_; }
  int64_t statfs(struct statfs& out) override;
  uint64_t next_ino() { return next_ino_++; }

 private:
  std::string type_;
  uint32_t magic_;
  uint64_t next_ino_ = 2;
};

// Common attributes of synthetic inodes.
class SyntheticInode : public Inode {
 public:
  SyntheticInode(SuperBlock* sb, uint64_t ino, uint32_t mode) : Inode(sb, ino), mode_(mode) {
    clock_gettime(CLOCK_REALTIME, &time_);
  }
  int64_t getattr(Stat& st) override;
  int64_t setattr(const AttrChange& c) override;
  uint32_t mode_;
  uint32_t uid_ = 0, gid_ = 0;
  uint64_t rdev_ = 0;
  timespec time_{};
  virtual int64_t size() { return 0; }
};

// A directory with a fixed set of children plus optionally computed ones.
class SyntheticDir : public SyntheticInode {
 public:
  using Lister = std::function<std::vector<std::pair<std::string, InodePtr>>()>;
  SyntheticDir(SuperBlock* sb, uint64_t ino, uint32_t perm = 0755)
      : SyntheticInode(sb, ino, S_IFDIR | perm) {}
  void add(const std::string& name, InodePtr child) { children_[name] = std::move(child); }
  void remove(std::string_view name) {
    if (auto it = children_.find(name); it != children_.end()) children_.erase(it);
  }
  // `numbered`: the computed entries are named by numbers in increasing order (fds, pids) and
  // their readdir cookies are those numbers, so a scan resumed while entries come and go
  // neither skips nor repeats one (as Linux's proc_readfd).
  void set_dynamic(Lister l, bool numbered = false) {
    dynamic_ = std::move(l);
    numbered_ = numbered;
  }
  int64_t lookup(std::string_view name, InodePtr& out) override;
  int64_t readdir(uint64_t pos, const DirFiller& fill) override;
  // For ".."; empty = self. Weak: a parent owns its children, and a strong link back made
  // every /proc/PID directory (PID -> fd -> PID) a cycle that was never freed.
  std::weak_ptr<Inode> parent;

 private:
  std::vector<std::pair<std::string, InodePtr>> entries();
  int64_t readdir_numbered(uint64_t pos, const DirFiller& fill);
  std::map<std::string, InodePtr, std::less<>> children_;
  Lister dynamic_;
  bool numbered_ = false;
};

// Something a generated file's readers can wait for: a count of changes and the queue woken
// at each (the mount table, /proc/swaps, a cgroup's cgroup.events).
struct ChangeSource {
  uint64_t count = 0;
  WaitQueue queue;
  void changed() {
    count++;
    queue.wake_all();
  }
};

// A read-only (or write-accepting) file whose content is generated at open time. Every one
// polls as Linux's procfs and kernfs files do (readable, writable); one with a ChangeSource
// polls POLLPRI|POLLERR once after each change since it was opened or the change was last
// reported, and its pollers wake at each change.
class GeneratedFile : public SyntheticInode {
 public:
  using Generator = std::function<std::string()>;
  GeneratedFile(SuperBlock* sb, uint64_t ino, Generator g, uint32_t perm = 0444)
      : SyntheticInode(sb, ino, S_IFREG | perm), gen_(std::move(g)) {}
  int64_t open(Task& t, int flags, FilePtr& out) override;
  std::string generate() { return gen_(); }
  // Where the change source is (the kernel state that owns it), looked up at each use.
  using ChangeSourceOf = ChangeSource& (*)();
  void set_changes(ChangeSourceOf c) { changes_ = c; }
  ChangeSource* changes() const { return changes_ ? &changes_() : nullptr; }

 private:
  Generator gen_;
  ChangeSourceOf changes_ = nullptr;
};

// A settable value (a /proc/sys knob): reads give the generated text, each write(2) hands its
// bytes to `set`, which answers 0 or -errno (-EINVAL for a value out of range).
class KnobFile : public GeneratedFile {
 public:
  using Setter = std::function<int64_t(Task&, std::string_view)>;  // the writing task, the bytes
  KnobFile(SuperBlock* sb, uint64_t ino, Generator g, Setter s, uint32_t perm = 0644)
      : GeneratedFile(sb, ino, std::move(g), perm), set_(std::move(s)) {}
  int64_t open(Task& t, int flags, FilePtr& out) override;
  int64_t set(Task& t, std::string_view v) { return set_(t, v); }

 private:
  Setter set_;
};

class SyntheticSymlink : public SyntheticInode {
 public:
  using Target = std::function<std::string(Task&)>;
  SyntheticSymlink(SuperBlock* sb, uint64_t ino, Target t)
      : SyntheticInode(sb, ino, S_IFLNK | 0777), target_(std::move(t)) {}
  int64_t readlink(std::string& out) override { return -EINVAL; }
  int64_t readlink_for(Task& t, std::string& out) override {
    out = target_(t);
    return out.empty() ? -ENOENT : 0;
  }

 private:
  Target target_;
};

// A symlink naming an open file (/proc/PID/fd/N): readlink gives the name, following it reaches
// the open file itself.
class FileSymlink : public SyntheticSymlink {
 public:
  FileSymlink(SuperBlock* sb, uint64_t ino, Target t, std::weak_ptr<File> f)
      : SyntheticSymlink(sb, ino, std::move(t)), file_(std::move(f)) {}
  FilePtr magic_target(Task&) override { return file_.lock(); }

 private:
  std::weak_ptr<File> file_;
};

// What following /proc/PID/fd/N reaches for an open file with no path (a pipe, a socket): an
// inode standing for that file, whose open() opens the same object again (File::reopen).
InodePtr anon_file_inode(FilePtr f, SuperBlock* sb, uint32_t uid, uint32_t gid);  // uid/gid: its creator

class DeviceNode : public SyntheticInode {
 public:
  DeviceNode(SuperBlock* sb, uint64_t ino, uint64_t rdev, uint32_t perm = 0666)
      : SyntheticInode(sb, ino, S_IFCHR | perm) { rdev_ = rdev; }
};

}  // namespace um::kernel
