#include "umkernel/ipc/mqueue.h"

#include <fcntl.h>
#include <dirent.h>
#include <poll.h>

#include <climits>
#include <cstdio>
#include <cstring>

#include "umkernel/ipc/sysv.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/memory_accounting.h"
#include "umkernel/socket/netlink/kernel_message.h"
#include "umkernel/vfs/namei.h"

namespace um::kernel {

void MqMessages::push(std::string text, unsigned prio) {
  bytes_ += text.size();
  count_++;
  by_prio_[prio].push_back(std::move(text));
}

bool MqMessages::pop(std::string& text, unsigned& prio) {
  if (by_prio_.empty()) return false;
  auto it = by_prio_.begin();
  prio = it->first;
  text = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) by_prio_.erase(it);
  bytes_ -= text.size();
  count_--;
  return true;
}

uint64_t mq_charge(long maxmsg, long msgsize) {
  constexpr uint64_t kMsgMsg = 48, kTreeNode = 48;  // sizeof(struct msg_msg), posix_msg_tree_node
  uint64_t n = static_cast<uint64_t>(maxmsg);
  return n * static_cast<uint64_t>(msgsize) + n * kMsgMsg + std::min<uint64_t>(n, kMqPrioMax) * kTreeNode;
}

// --- the queue ---

MqueueInode::MqueueInode(SuperBlock* sb, uint64_t ino, uint32_t mode, uint32_t uid, uint32_t gid, long maxmsg_,
                         long msgsize_)
    : SyntheticInode(sb, ino, S_IFREG | (mode & 0777)), maxmsg(maxmsg_), msgsize(msgsize_) {
  uid_ = uid;
  gid_ = gid;
}

MqueueInode::~MqueueInode() {
  // Tasks still parked here (another thread closed the last descriptor) try again: EBADF.
  if (kernel_exists()) {
    senders.wake_all();
    receivers.wake_all();
  }
  uncharge_kernel_buffers(messages.bytes());
  if (auto f = fs.lock()) {
    f->queues--;
    auto& b = f->bytes_by_uid[charged_uid];
    b -= std::min(b, charged);
  }
}

std::string MqueueInode::status() {
  char line[128];
  auto owner = notify_owner.lock();
  if (owner && owner->zombie) owner = nullptr;  // its exit closed its descriptors
  snprintf(line, sizeof line, "QSIZE:%-10llu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n",
           (unsigned long long)messages.bytes(), owner ? notify.sigev_notify : 0,
           owner && notify.sigev_notify == SIGEV_SIGNAL ? notify.sigev_signo : 0, owner ? notify_pid : 0);
  return line;
}

int64_t MqueueInode::open(Task& t, int flags, FilePtr& out) {
  out = std::make_shared<MqueueFile>(shared_from_this(), flags & (O_ACCMODE | O_NONBLOCK));
  return 0;
}

int64_t MqueueFile::read(Task& t, void* buf, size_t n, int64_t* off) {
  std::string s = queue().status();
  int64_t& p = off ? *off : pos;
  if (p < 0) return -EINVAL;
  if (static_cast<uint64_t>(p) >= s.size()) return 0;
  size_t c = std::min(n, s.size() - static_cast<size_t>(p));
  memcpy(buf, s.data() + p, c);
  p += static_cast<int64_t>(c);
  return static_cast<int64_t>(c);
}

unsigned MqueueFile::poll() {
  MqueueInode& q = queue();
  unsigned r = 0;
  if (q.messages.count()) r |= POLLIN | POLLRDNORM;
  if (q.messages.count() < static_cast<size_t>(q.maxmsg)) r |= POLLOUT | POLLWRNORM;
  return r;
}

void MqueueFile::flush(Process& p) {
  MqueueInode& q = queue();
  if (q.notify_owner.lock().get() != &p) return;
  if (q.notify.sigev_notify == SIGEV_THREAD) mq_notify_socket(q, 2);
  q.notify_owner.reset();
  q.notify_socket.reset();
  q.changed.wake_all();
}

// --- the file system ---

class MqueueDir : public SyntheticInode {
 public:
  MqueueDir(SuperBlock* sb, uint64_t ino) : SyntheticInode(sb, ino, S_IFDIR | 01777) {}
  int64_t lookup(std::string_view name, InodePtr& out) override {
    if (name == ".") {
      out = shared_from_this();
      return 0;
    }
    auto it = queues.find(name);
    if (it == queues.end()) return -ENOENT;
    out = it->second;
    return 0;
  }
  int64_t readdir(uint64_t pos, const DirFiller& fill) override {
    uint64_t i = pos;
    if (i == 0) {
      if (!fill(".", ino_, DT_DIR, 1)) return 0;
      i = 1;
    }
    if (i == 1) {
      if (!fill("..", ino_, DT_DIR, 2)) return 0;
      i = 2;
    }
    auto it = queues.begin();
    std::advance(it, std::min<uint64_t>(i - 2, queues.size()));
    for (; it != queues.end(); ++it, ++i)
      if (!fill(it->first, it->second->ino(), DT_REG, i + 1)) return 0;
    return 0;
  }
  // open(O_CREAT) in the file system: a queue with the default attributes.
  int64_t mknod(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev,
                InodePtr& out) override {
    if (!S_ISREG(mode)) return -EINVAL;
    auto& fs = mqueue_fs();
    return add(name, mode, uid, gid, std::min(fs.limits.msg_default, fs.limits.msg_max),
               std::min(fs.limits.msgsize_default, fs.limits.msgsize_max), out, true);
  }
  int64_t mkdir(std::string_view, uint32_t, uint32_t, uint32_t) override { return -EPERM; }
  int64_t unlink(std::string_view name) override {
    auto it = queues.find(name);
    if (it == queues.end()) return -ENOENT;
    queues.erase(it);
    time_ = now();
    return 0;
  }
  int64_t add(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid, long maxmsg, long msgsize,
              InodePtr& out, bool privileged) {
    auto& fs = mqueue_fs();
    if (queues.count(name)) return -EEXIST;
    if (fs.queues >= fs.limits.queues_max && !privileged) return -ENOSPC;
    auto q = std::make_shared<MqueueInode>(sb_, static_cast<SyntheticSuperBlock*>(sb_)->next_ino(), mode, uid, gid,
                                           maxmsg, msgsize);
    q->fs = ipc_namespace().mqueue;
    fs.queues++;  // until the queue's last open file goes (Linux's mq_queues_count)
    queues.emplace(std::string(name), q);
    time_ = now();
    out = q;
    return 0;
  }
  static timespec now() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
  }
  std::map<std::string, std::shared_ptr<MqueueInode>, std::less<>> queues;
};

MqueueFs& mqueue_fs() {
  IpcNamespace& ns = ipc_namespace();
  if (!ns.mqueue) {
    ns.mqueue = std::make_shared<MqueueFs>();
    ns.mqueue->sb = std::make_shared<SyntheticSuperBlock>("mqueue", 0x13, 0x19800202);  // MQUEUE_MAGIC
    ns.mqueue->root = std::make_shared<MqueueDir>(ns.mqueue->sb.get(), ns.mqueue->sb->next_ino());
  }
  return *ns.mqueue;
}

std::shared_ptr<Mount> make_mqueue_mount() {
  auto& fs = mqueue_fs();
  auto m = std::make_shared<Mount>();
  m->sb = fs.sb;
  m->root = fs.root;
  m->source = "mqueue";
  m->options = "rw,nosuid,nodev,noexec,relatime";
  return m;
}

int64_t mq_create(Task& t, std::string_view name, uint32_t mode, long maxmsg, long msgsize, InodePtr& out) {
  auto& fs = mqueue_fs();
  if (int64_t r = check_permission(t, *fs.root, 2 | 1); r < 0) return r;
  if (fs.root->queues.count(name)) return -EEXIST;
  bool privileged = capable(t, CAP_SYS_RESOURCE);
  if (fs.queues >= fs.limits.queues_max && !privileged) return -ENOSPC;
  // RLIMIT_MSGQUEUE: what the creator's queues may hold together, for root too.
  const Credentials& c = t.proc->cred;
  uint64_t charge = mq_charge(maxmsg, msgsize);
  uint64_t& used = fs.bytes_by_uid[c.euid];
  if (used + charge < used || used + charge > t.proc->rlimits[RLIMIT_MSGQUEUE].rlim_cur) return -EMFILE;
  InodePtr q;
  if (int64_t r = fs.root->add(name, mode, c.fsuid, c.fsgid, maxmsg, msgsize, q, true); r < 0) return r;
  auto& mq = static_cast<MqueueInode&>(*q);
  mq.charged = charge;
  mq.charged_uid = c.euid;
  used += charge;
  out = q;
  return 0;
}

int64_t mq_lookup(std::string_view name, InodePtr& out) { return mqueue_fs().root->lookup(name, out); }

int64_t mq_remove(Task& t, std::string_view name) {
  auto& fs = mqueue_fs();
  InodePtr q;
  if (int64_t r = fs.root->lookup(name, q); r < 0) return r;
  if (int64_t r = check_permission(t, *fs.root, 2 | 1); r < 0) return r;
  Stat ds, qs;
  fs.root->getattr(ds);
  q->getattr(qs);
  uint32_t u = t.proc->cred.fsuid;
  if ((ds.mode & S_ISVTX) && u != ds.uid && u != qs.uid && !capable(t, CAP_FOWNER)) return -EPERM;
  return fs.root->unlink(name);
}

// SIGEV_THREAD: glibc's helper thread reads the cookie from its netlink socket; the last byte
// says why (NOTIFY_WOKENUP 1, NOTIFY_REMOVED 2).
void mq_notify_socket(MqueueInode& q, char why) {
  auto sock = q.notify_socket.lock();
  if (!sock) return;
  std::string cookie = q.notify_cookie;
  cookie.back() = why;
  (void)net::netlink::send_kernel_message(sock, std::move(cookie));
}

void mq_message_arrived(Task& sender, MqueueInode& q) {
  q.changed.wake_all();
  q.receivers.wake_all();
  auto owner = q.notify_owner.lock();
  if (!owner || owner->zombie || q.messages.count() != 1 || !q.receivers.empty()) return;
  // The registration is used up by this notification.
  q.notify_owner.reset();
  if (q.notify.sigev_notify == SIGEV_SIGNAL && q.notify.sigev_signo) {
    siginfo_t info{};
    info.si_signo = q.notify.sigev_signo;
    info.si_code = SI_MESGQ;
    info.si_value = q.notify.sigev_value;
    info.si_pid = sender.proc->pid;
    info.si_uid = sender.proc->cred.uid;
    kernel().send_signal_to_process(*owner, q.notify.sigev_signo, &info);
  } else if (q.notify.sigev_notify == SIGEV_THREAD) {
    mq_notify_socket(q, 1);
  }
  q.changed.wake_all();
}

void add_proc_mqueue_entries(SyntheticSuperBlock* sb, const std::shared_ptr<SyntheticDir>& sys_fs) {
  auto dir = std::make_shared<SyntheticDir>(sb, sb->next_ino(), 0555);
  dir->parent = sys_fs;
  sys_fs->add("mqueue", dir);
  auto knob = [&](const std::string& name, auto getter, long min, long max) {
    dir->add(name, std::make_shared<KnobFile>(
                       sb, sb->next_ino(), [getter] { return std::to_string(getter(mqueue_fs().limits)) + "\n"; },
                       [getter, min, max](Task&, std::string_view v) -> int64_t {
                         std::string s(v);
                         while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
                         char* end;
                         errno = 0;
                         long long x = strtoll(s.c_str(), &end, 10);
                         if (s.empty() || *end || errno || x < min || x > max) return -EINVAL;
                         getter(mqueue_fs().limits) = x;
                         return 0;
                       }));
  };
  knob("msg_max", [](MqLimits& l) -> long& { return l.msg_max; }, 1, kMqHardMsgMax);
  knob("msgsize_max", [](MqLimits& l) -> long& { return l.msgsize_max; }, 128, kMqHardMsgSizeMax);
  knob("msg_default", [](MqLimits& l) -> long& { return l.msg_default; }, 1, kMqHardMsgMax);
  knob("msgsize_default", [](MqLimits& l) -> long& { return l.msgsize_default; }, 128, kMqHardMsgSizeMax);
  dir->add("queues_max", std::make_shared<KnobFile>(
                             sb, sb->next_ino(), [] { return std::to_string(mqueue_fs().limits.queues_max) + "\n"; },
                             [](Task&, std::string_view v) -> int64_t {
                               std::string s(v);
                               while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
                               char* end;
                               errno = 0;
                               long long x = strtoll(s.c_str(), &end, 10);
                               if (s.empty() || *end || errno || x < 0 || x > INT_MAX) return -EINVAL;
                               mqueue_fs().limits.queues_max = static_cast<int>(x);
                               return 0;
                             }));
}

}  // namespace um::kernel
