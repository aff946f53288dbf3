#include "umkernel/vfs/inotify.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <cstring>
#include <deque>
#include <map>
#include <vector>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/namei.h"

namespace um::kernel {

namespace {

using Key = std::pair<const SuperBlock*, uint64_t>;
Key key_of(Inode& ino) { return {ino.sb(), ino.ino()}; }

constexpr size_t kMaxQueued = 16384;        // /proc/sys/fs/inotify/max_queued_events
constexpr size_t kMaxWatches = 8192;        // max_user_watches (per instance here)
constexpr uint32_t kEventBits = IN_ALL_EVENTS;

class InotifyFile;

struct Watch {
  std::weak_ptr<InotifyFile> owner;
  int wd;
};

struct DnotifyEntry {
  std::weak_ptr<Process> proc;
  const File* file;
  uint32_t mask;  // DN_* | DN_MULTISHOT
};

// Every inotify watch and dnotify request, by the inode they watch.
struct Watches {
  std::multimap<Key, Watch> inotify;
  std::multimap<Key, DnotifyEntry> dnotify;
};
std::multimap<Key, Watch>& watches() { return kernel().state<Watches>().inotify; }
std::multimap<Key, DnotifyEntry>& dnotify() { return kernel().state<Watches>().dnotify; }

class InotifyFile : public File {
 public:
  explicit InotifyFile(int flags) : File(nullptr, O_RDONLY | flags) { path = "anon_inode:inotify"; }
  ~InotifyFile() override {
    for (auto& [wd, w] : by_wd_) erase_registry(w.key, wd);
  }

  int64_t read(Task& t, void* buf, size_t n, int64_t* off) override {
    if (queue_.empty()) return -EAGAIN;
    size_t done = 0;
    while (!queue_.empty()) {
      const Event& e = queue_.front();
      size_t sz = sizeof(inotify_event) + e.len;
      if (sz > n - done) break;
      inotify_event h{e.wd, e.mask, e.cookie, e.len};
      memcpy(static_cast<char*>(buf) + done, &h, sizeof h);
      memset(static_cast<char*>(buf) + done + sizeof h, 0, e.len);
      memcpy(static_cast<char*>(buf) + done + sizeof h, e.name.data(), e.name.size());
      done += sz;
      queued_bytes_ -= sz;
      queue_.pop_front();
    }
    return done ? static_cast<int64_t>(done) : -EINVAL;  // the next event does not fit
  }
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EINVAL; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }
  bool seekable() const override { return false; }
  unsigned poll() override { return queue_.empty() ? 0 : POLLIN | POLLRDNORM; }
  WaitQueue* wait_queue() override { return &queue_wait_; }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override {
    if (req != FIONREAD) return -ENOTTY;
    int n = static_cast<int>(queued_bytes_);
    return put_user(t, arg, n);
  }

  int64_t add(const InodePtr& ino, uint32_t mask) {
    Key k = key_of(*ino);
    uint32_t events = mask & kEventBits;
    for (auto& [wd, w] : by_wd_) {
      if (w.key != k) continue;
      if (mask & IN_MASK_CREATE) return -EEXIST;
      w.mask = (mask & IN_MASK_ADD) ? (w.mask | events) : events;
      w.flags = mask & (IN_ONESHOT | IN_EXCL_UNLINK);
      return wd;
    }
    if (by_wd_.size() >= kMaxWatches) return -ENOSPC;
    int wd = next_wd_++;
    by_wd_[wd] = Entry{k, ino, events, mask & (IN_ONESHOT | IN_EXCL_UNLINK)};
    watches().insert({k, Watch{std::static_pointer_cast<InotifyFile>(shared_from_this()), wd}});
    return wd;
  }

  int64_t remove(int wd) {
    auto it = by_wd_.find(wd);
    if (it == by_wd_.end()) return -EINVAL;
    Key k = it->second.key;
    by_wd_.erase(it);
    erase_registry(k, wd);
    queue_event(wd, IN_IGNORED, 0, {});
    return 0;
  }

  // An event for watch `wd`; `is_dir` adds IN_ISDIR.
  void deliver(int wd, uint32_t mask, uint32_t cookie, std::string_view name) {
    auto it = by_wd_.find(wd);
    if (it == by_wd_.end()) return;
    uint32_t ev = mask & ~IN_ISDIR;
    if (!(it->second.mask & ev) && ev != IN_IGNORED) return;
    queue_event(wd, mask, cookie, name);
    if (it->second.flags & IN_ONESHOT) remove(wd);
  }

  // The watched inode is gone: IN_IGNORED and the watch ends.
  void drop(int wd) {
    if (by_wd_.count(wd)) remove(wd);
  }

 private:
  struct Entry {
    Key key;
    InodePtr inode;  // keeps the inode (as Linux's watch pins it) until the watch ends
    uint32_t mask;
    uint32_t flags;
  };
  struct Event {
    int wd;
    uint32_t mask, cookie, len;
    std::string name;
  };

  void queue_event(int wd, uint32_t mask, uint32_t cookie, std::string_view name) {
    uint32_t len = 0;
    if (!name.empty()) len = static_cast<uint32_t>((name.size() + 1 + 15) / 16 * 16);
    // An event equal to the last one queued (and not yet read) merges into it.
    if (!queue_.empty()) {
      const Event& last = queue_.back();
      if (last.wd == wd && last.mask == mask && last.cookie == cookie && last.name == name) return;
    }
    if (queue_.size() >= kMaxQueued) {
      if (queue_.back().mask != IN_Q_OVERFLOW) {
        queue_.push_back(Event{-1, IN_Q_OVERFLOW, 0, 0, {}});
        queued_bytes_ += sizeof(inotify_event);
      }
    } else {
      queue_.push_back(Event{wd, mask, cookie, len, std::string(name)});
      queued_bytes_ += sizeof(inotify_event) + len;
    }
    queue_wait_.wake_all();
  }

  void erase_registry(const Key& k, int wd) {
    auto [b, e] = watches().equal_range(k);
    for (auto it = b; it != e; ++it) {
      auto o = it->second.owner.lock();
      if ((!o || o.get() == this) && it->second.wd == wd) {
        watches().erase(it);
        return;
      }
    }
  }

  std::map<int, Entry> by_wd_;
  std::deque<Event> queue_;
  size_t queued_bytes_ = 0;
  int next_wd_ = 1;
  WaitQueue queue_wait_;
};

bool is_dir(Inode& ino) {
  Stat st;
  return ino.getattr(st) == 0 && S_ISDIR(st.mode);
}

// Sends `mask`'s events to the watches of `k`.
void send(const Key& k, uint32_t mask, uint32_t cookie, std::string_view name) {
  std::vector<std::pair<std::shared_ptr<InotifyFile>, int>> targets;
  auto [b, e] = watches().equal_range(k);
  for (auto it = b; it != e; ++it)
    if (auto o = it->second.owner.lock()) targets.emplace_back(o, it->second.wd);
  for (auto& [o, wd] : targets) o->deliver(wd, mask, cookie, name);
}

// dnotify: a signal (SIGIO) to each process watching directory `k` for these events.
void send_dnotify(const Key& k, uint32_t in_mask) {
  uint32_t dn = 0;
  if (in_mask & IN_ACCESS) dn |= DN_ACCESS;
  if (in_mask & (IN_MODIFY | IN_CLOSE_WRITE)) dn |= DN_MODIFY;
  if (in_mask & IN_CREATE) dn |= DN_CREATE;
  if (in_mask & IN_DELETE) dn |= DN_DELETE;
  if (in_mask & (IN_MOVED_FROM | IN_MOVED_TO)) dn |= DN_RENAME;
  if (in_mask & IN_ATTRIB) dn |= DN_ATTRIB;
  if (!dn) return;
  auto [b, e] = dnotify().equal_range(k);
  std::vector<std::shared_ptr<Process>> to_signal;
  for (auto it = b; it != e;) {
    auto p = it->second.proc.lock();
    if (!p || p->zombie) {
      it = dnotify().erase(it);
      continue;
    }
    if (it->second.mask & dn) {
      to_signal.push_back(p);
      if (!(it->second.mask & DN_MULTISHOT)) it->second.mask &= DN_MULTISHOT;
    }
    ++it;
  }
  for (auto& p : to_signal) {
    siginfo_t si{};
    si.si_signo = SIGIO;
    si.si_code = SI_SIGIO;
    kernel().send_signal_to_process(*p, SIGIO, &si);
  }
}

}  // namespace

namespace {
bool notify_parent_of(Task& t, Inode& ino, const std::string& path, uint32_t mask);
}

bool fsnotify_active() { return !watches().empty() || !dnotify().empty(); }

void fsnotify_inode(Inode& ino, uint32_t mask) {
  if (!fsnotify_active()) return;
  if (is_dir(ino) && !(mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))) mask |= IN_ISDIR;
  send(key_of(ino), mask, 0, {});
}

void fsnotify_child(Inode& dir, uint32_t mask, std::string_view name, uint32_t cookie) {
  if (!fsnotify_active()) return;
  send(key_of(dir), mask, cookie, name);
  send_dnotify(key_of(dir), mask);
}

void fsnotify_file(Task& t, File& f, uint32_t mask) {
  if (f.inode()) fsnotify_path(t, *f.inode(), f.path, mask);
}

void fsnotify_path(Task& t, Inode& ino, const std::string& path, uint32_t mask) {
  if (!fsnotify_active()) return;
  // The directory's view first, with the name (the path the file was reached by), then the
  // file's own, as Linux's fsnotify_parent() does.
  notify_parent_of(t, ino, path, mask);
  fsnotify_inode(ino, mask);
}

namespace {
bool notify_parent_of(Task& t, Inode& ino, const std::string& fpath, uint32_t mask) {
  if (fpath.empty() || fpath[0] != '/') return true;
  size_t slash = fpath.rfind('/');
  std::string dir = slash == 0 ? "/" : fpath.substr(0, slash);
  std::string name = fpath.substr(slash + 1);
  if (name.empty()) return true;
  PathRef parent;
  if (resolve(t, AT_FDCWD, dir, kFollow, parent) < 0 || !parent.inode) return true;
  InodePtr child;
  if (parent.inode->lookup(name, child) < 0 || !child || key_of(*child) != key_of(ino)) return true;
  uint32_t m = mask;
  if (is_dir(ino)) m |= IN_ISDIR;
  fsnotify_child(*parent.inode, m, name);
  return true;
}
}  // namespace

void fsnotify_closed(File& f) {
  if (!kernel_exists() || !fsnotify_active() || !f.inode() || (f.flags() & O_PATH)) return;
  uint32_t mask = f.writable() ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE;
  Task* init = kernel().task_by_tid(1);
  if (init && init->state != TaskState::Dead && init->proc && init->proc->fs) fsnotify_file(*init, f, mask);
  else fsnotify_inode(*f.inode(), mask);
}

void fsnotify_deleted(Inode& ino) {
  if (!fsnotify_active()) return;
  Key k = key_of(ino);
  send(k, IN_DELETE_SELF, 0, {});
  std::vector<std::pair<std::shared_ptr<InotifyFile>, int>> targets;
  auto [b, e] = watches().equal_range(k);
  for (auto it = b; it != e; ++it)
    if (auto o = it->second.owner.lock()) targets.emplace_back(o, it->second.wd);
  for (auto& [o, wd] : targets) o->drop(wd);
  dnotify().erase(k);
}

uint32_t fsnotify_next_cookie() {
  static uint32_t next = 1;
  return next++;
}

int64_t make_inotify(int flags, FilePtr& out) {
  out = std::make_shared<InotifyFile>(flags & O_NONBLOCK);
  return 0;
}

bool is_inotify(File& f) { return dynamic_cast<InotifyFile*>(&f) != nullptr; }

int64_t inotify_add(File& f, const InodePtr& ino, uint32_t mask) {
  return static_cast<InotifyFile&>(f).add(ino, mask);
}

int64_t inotify_remove(File& f, int wd) { return static_cast<InotifyFile&>(f).remove(wd); }

int64_t dnotify_set(Task& t, File& dir, uint64_t mask) {
  if (!dir.inode() || !is_dir(*dir.inode())) return -ENOTDIR;
  Key k = key_of(*dir.inode());
  auto [b, e] = dnotify().equal_range(k);
  for (auto it = b; it != e; ++it) {
    auto p = it->second.proc.lock();
    if (p.get() == t.proc.get() && it->second.file == &dir) {
      if (mask == 0) dnotify().erase(it);
      else it->second.mask = static_cast<uint32_t>(mask);
      return 0;
    }
  }
  if (mask == 0) return 0;
  dnotify().insert({k, DnotifyEntry{t.proc, &dir, static_cast<uint32_t>(mask)}});
  return 0;
}

}  // namespace um::kernel
