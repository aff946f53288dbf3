// POSIX message queues (Linux's ipc/mqueue.c): the mqueue file system, one per VM, whose
// files are the queues. mq_open and mq_unlink (sys/mqueue.cpp) name them in it; `mount -t
// mqueue` shows the same tree anywhere (Debian mounts it on /dev/mqueue). Reading a queue file
// gives its status line; the open files are pollable (readable with messages waiting, writable
// with room).
#pragma once
#include <signal.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "umkernel/kernel/wait_queue.h"
#include "umkernel/vfs/synthetic.h"

namespace um::kernel {

class Process;

// Limits (/proc/sys/fs/mqueue) and Linux's hard ceilings.
struct MqLimits {
  long msg_max = 10, msgsize_max = 8192, msg_default = 10, msgsize_default = 8192;
  int queues_max = 256;
};
constexpr long kMqHardMsgMax = 65536, kMqHardMsgSizeMax = 16 * 1024 * 1024;
constexpr unsigned kMqPrioMax = 32768;

// The messages of one queue: the highest priority first, FIFO within a priority.
class MqMessages {
 public:
  void push(std::string text, unsigned prio);
  // The next message (false if none).
  bool pop(std::string& text, unsigned& prio);
  size_t count() const { return count_; }
  uint64_t bytes() const { return bytes_; }

 private:
  std::map<unsigned, std::deque<std::string>, std::greater<unsigned>> by_prio_;
  size_t count_ = 0;
  uint64_t bytes_ = 0;
};

// What RLIMIT_MSGQUEUE counts for a queue (Linux's mq_bytes + tree size).
uint64_t mq_charge(long maxmsg, long msgsize);

class MqueueInode : public SyntheticInode {
 public:
  MqueueInode(SuperBlock* sb, uint64_t ino, uint32_t mode, uint32_t uid, uint32_t gid, long maxmsg, long msgsize);
  ~MqueueInode() override;
  int64_t open(Task& t, int flags, FilePtr& out) override;
  int64_t size() override { return 80; }  // FILENT_SIZE
  std::string status();                   // what reading the file gives

  long maxmsg, msgsize;
  MqMessages messages;
  uint64_t charged = 0;       // against the creator's RLIMIT_MSGQUEUE
  uint32_t charged_uid = 0;
  WaitQueue senders, receivers;
  WaitQueue changed;          // poll/epoll: woken on every change
  // mq_notify's registration: the process and what to do.
  std::weak_ptr<Process> notify_owner;
  int notify_pid = 0;
  sigevent notify{};
  std::weak_ptr<class File> notify_socket;  // SIGEV_THREAD: the netlink socket to write to
  std::string notify_cookie;                 // its 32 bytes
  std::weak_ptr<struct MqueueFs> fs;         // for the counts it holds
};

// The open queue (mq_open, or open(2) in the mqueue file system).
class MqueueFile : public File {
 public:
  MqueueFile(InodePtr inode, int flags) : File(std::move(inode), flags) {}
  MqueueInode& queue() { return static_cast<MqueueInode&>(*inode_); }
  int64_t read(Task& t, void* buf, size_t n, int64_t* off) override;
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EINVAL; }
  unsigned poll() override;
  WaitQueue* wait_queue() override { return &queue().changed; }
  // The notification's owner closing any descriptor of the queue drops its registration.
  void flush(Process& p) override;
};

// The VM's mqueue file system: its root and the mount `mount -t mqueue` makes of it.
struct MqueueFs {
  std::shared_ptr<SyntheticSuperBlock> sb;
  std::shared_ptr<class MqueueDir> root;
  MqLimits limits;
  int queues = 0;
  std::map<uint32_t, uint64_t> bytes_by_uid;  // RLIMIT_MSGQUEUE accounting
};
MqueueFs& mqueue_fs();
std::shared_ptr<struct Mount> make_mqueue_mount();

// Creates a queue named `name` in the root: -EEXIST, -ENOSPC (queues_max), -EMFILE
// (RLIMIT_MSGQUEUE) or 0 with `out`.
int64_t mq_create(Task& t, std::string_view name, uint32_t mode, long maxmsg, long msgsize, InodePtr& out);
// A queue by name (-ENOENT), and its removal (-ENOENT, -EACCES/-EPERM as unlink).
int64_t mq_lookup(std::string_view name, InodePtr& out);
int64_t mq_remove(Task& t, std::string_view name);

// A message was queued: notifies the registered process if the queue was empty and nobody
// waits to receive (Linux's __do_notify).
void mq_message_arrived(Task& sender, MqueueInode& q);
// Sends a SIGEV_THREAD registration's cookie with `why` (1 woken up, 2 removed).
void mq_notify_socket(MqueueInode& q, char why);

// /proc/sys/fs/mqueue (procfs_system.cpp calls it).
void add_proc_mqueue_entries(SyntheticSuperBlock* sb, const std::shared_ptr<SyntheticDir>& sys_fs);

}  // namespace um::kernel
